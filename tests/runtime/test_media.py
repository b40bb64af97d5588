"""A session's real media: speech, file playback, tones, recording, players, recorders and in-band DTMF, heard
through a simulated caller's audio."""

from __future__ import annotations

import asyncio
from pathlib import Path

import miniaudio
import numpy as np

from voxsim.media.decode import wav_bytes
from voxsim.media.graph import FRAME_SAMPLES
from voxsim.rtp_peer import energy, non_silent_ms
from voxsim.runtime import Runtime

from .conftest import logged, start, user_lines

CONNECTED = """
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  const call = e.call;
  call.addEventListener(CallEvents.Connected, () => { %s });
  for (const n of ['PlaybackStarted', 'PlaybackFinished', 'RecordStarted', 'RecordStopped', 'Disconnected',
                   'ToneReceived']) {
    call.addEventListener(CallEvents[n], (ev) => Logger.write(n + ' ' + JSON.stringify(
      {d: ev.duration, error: ev.error, url: ev.url, tone: ev.tone, type: ev.type})));
  }
  call.answer();
});
"""


def mp3_channels(path) -> np.ndarray:
    """A recording's two channels, decoded at 8 kHz (shape (n, 2))."""
    decoded = miniaudio.decode(path.read_bytes(), nchannels=2, sample_rate=8000)
    return np.asarray(decoded.samples, dtype=np.int16).reshape(-1, 2)


def names(session) -> list[str]:
    return [line.split(" ")[0] for line in user_lines(session)]


async def connected_session(runtime: Runtime, body: str):
    session = await start(runtime, CONNECTED % body)
    caller = await runtime.simulate_call(session, callerid="1", destination="2")
    await session.wait_for_event("Call.Connected")
    return session, caller


def sweep(tmp_path: Path, seconds: float = 0.5) -> tuple[str, np.ndarray]:
    """A WAV file (8 kHz) of a rising tone, and its samples."""
    t = np.arange(int(8000 * seconds)) / 8000
    pcm = (8000 * np.sin(2 * np.pi * (300 + 600 * t) * t)).astype(np.int16)
    path = tmp_path / "sweep.wav"
    path.write_bytes(wav_bytes(pcm))
    return path.as_uri(), pcm


async def test_say_speaks_real_audio_that_the_caller_hears(runtime: Runtime):
    session, caller = await connected_session(runtime, "call.say('Hello, this is voxsim');")
    started = await session.wait_for_event("Call.PlaybackStarted")
    await session.wait_for_event("Call.PlaybackFinished", timeout=8)
    audio = runtime.call_audio(caller.call_id)
    assert audio is not None
    heard = audio.heard_audio()
    assert non_silent_ms(heard) > 400 and energy(heard) > 300
    assert abs(len(heard) / 8 - started["data"]["duration"]) < 200  # what played is what was announced
    (prompt,) = [p.as_dict() for p in audio.prompts]
    assert prompt["kind"] == "tts" and prompt["text"] == "Hello, this is voxsim" and prompt["end_ms"] > 400


async def test_stop_playback_suppresses_finished(runtime: Runtime):
    session, _ = await connected_session(runtime, "call.say('a long sentence that goes on and on'); "
                                                   "setTimeout(() => call.stopPlayback(), 300);")
    await asyncio.sleep(1.5)
    assert names(session) == ["PlaybackStarted"]


async def test_a_file_plays_as_it_is_and_a_new_playback_replaces_the_current_one(runtime: Runtime, tmp_path):
    url, pcm = sweep(tmp_path)
    session, caller = await connected_session(runtime, f"call.say('one two three four five six'); "
                                                       f"setTimeout(() => call.startPlayback('{url}'), 100);")
    await session.wait_until(lambda: "PlaybackFinished" in names(session), timeout=8)
    assert names(session) == ["PlaybackStarted", "PlaybackStarted", "PlaybackFinished"]
    assert '"d":500' in user_lines(session)[1]
    audio = runtime.call_audio(caller.call_id)
    tts, played = audio.prompts
    assert (tts.kind, played.kind, played.url) == ("tts", "url", url)
    assert tts.end == played.start and played.end - played.start == 500
    heard = audio.heard_audio()[int(played.start * 8):int(played.end * 8)]
    assert np.array_equal(heard, pcm)  # sample for sample: 8 kHz PCM needs no resampling


async def test_a_file_that_cannot_be_had_finishes_with_an_error(runtime: Runtime, tmp_path):
    session, _ = await connected_session(runtime, f"call.startPlayback('{(tmp_path / 'none.wav').as_uri()}');")
    finished = await session.wait_for_event("Call.PlaybackFinished")
    assert "none.wav" in finished["data"]["error"]
    assert any("[voxsim] playback of" in line for line in session.log.lines)


async def test_looped_playback_never_finishes(runtime: Runtime, tmp_path):
    url, _ = sweep(tmp_path, 0.1)
    session, _ = await connected_session(runtime, f"call.startPlayback('{url}', {{loop: true}});")
    await asyncio.sleep(0.6)
    assert names(session) == ["PlaybackStarted"]


async def test_record_writes_what_was_played_and_heard(runtime: Runtime, tmp_path):
    url, pcm = sweep(tmp_path, 0.3)
    body = f"call.record({{stereo: true}}); call.startPlayback('{url}');"
    session, caller = await connected_session(runtime, body)
    started = await session.wait_for_event("Call.RecordStarted")
    await session.wait_for_event("Call.PlaybackFinished")
    caller.hangup()
    stopped = await session.wait_for_event("Call.RecordStopped")
    assert stopped["data"]["url"] == started["data"]["url"] and stopped["data"]["cost"] == "0"
    assert stopped["data"]["url"].endswith(".mp3") and f"/records/{session.session_id}/" in stopped["data"]["url"]
    assert 0.3 <= stopped["data"]["duration"] < 2
    name = stopped["data"]["url"].rsplit("/", 1)[1]
    path = runtime.media.records.find(str(session.session_id), name)
    assert path is not None
    data = mp3_channels(path)
    # left: what voxsim sent the caller (the sweep), right: what the caller sent (silence)
    assert non_silent_ms(data[:, 0]) >= 250 and energy(data[:, 1]) < 50
    assert names(session)[-3:] == ["PlaybackFinished", "Disconnected", "RecordStopped"]


async def test_inband_dtmf_from_the_caller_reaches_tone_received(runtime: Runtime):
    session, caller = await connected_session(runtime, "call.handleTones(true);")
    assert caller.press_inband("19#")
    await session.wait_until(lambda: names(session).count("ToneReceived") == 3, timeout=3)
    assert [line for line in user_lines(session) if line.startswith("ToneReceived")] == [
        f'ToneReceived {{"tone":"{d}","type":"2"}}' for d in "19#"]


async def test_inband_dtmf_is_not_heard_without_handle_tones_or_for_another_type(runtime: Runtime):
    session, caller = await connected_session(runtime, "call.handleTones(true, DTMFType.TELEPHONE_EVENT);")
    caller.press_inband("5")
    await asyncio.sleep(0.5)
    assert "ToneReceived" not in names(session)


async def test_progress_tone_plays_the_country_cadence(runtime: Runtime):
    session, caller = await connected_session(runtime, "call.playProgressTone('RU');")
    await asyncio.sleep(1.2)
    heard = runtime.call_audio(caller.call_id).heard_audio()
    frames = heard[: len(heard) // FRAME_SAMPLES * FRAME_SAMPLES].reshape(-1, FRAME_SAMPLES)
    loud = [energy(f) > 500 for f in frames]
    assert 35 <= sum(loud[:50]) <= 42  # RU ringback: 425 Hz, 0.8 s on of the first second
    assert runtime.call_audio(caller.call_id).prompts[0].kind == "tone"


PLAYERS = """
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  e.call.answer();
  const log = (p) => (ev) =>
    Logger.write(p + ' ' + ev.name + (ev.offset !== undefined ? ' ' + ev.offset : ''));
  const tts = VoxEngine.createTTSPlayer('hello', {voice: VoiceList.Amazon.en_US_Joanna});
  for (const n of Object.keys(PlayerEvents)) tts.addEventListener(PlayerEvents[n], log('tts'));
  tts.addMarker(-20);
  tts.sendMediaTo(e.call);
  const url = VoxEngine.createURLPlayer('%s', {onPause: true});
  for (const n of Object.keys(PlayerEvents)) url.addEventListener(PlayerEvents[n], log('url'));
  setTimeout(() => url.resume(), 10);
  const stopped = VoxEngine.createToneScriptPlayer('440@-10;1(*/0/1)');
  for (const n of Object.keys(PlayerEvents)) stopped.addEventListener(PlayerEvents[n], log('tone'));
  setTimeout(() => stopped.stop(), 100);
  const bad = VoxEngine.createToneScriptPlayer('440@-10;(');
  bad.addEventListener(PlayerEvents.Error, (ev) => Logger.write('bad ' + ev.name));
  const rec = VoxEngine.createRecorder();
  rec.addEventListener(RecorderEvents.Started, (ev) => { Logger.write('rec started'); rec.stop(); });
  rec.addEventListener(RecorderEvents.Stopped, (ev) => Logger.write('rec stopped ' + ev.cost));
  e.call.sendMediaTo(rec);
});
"""


async def test_players_and_recorder(runtime: Runtime, tmp_path):
    url, _ = sweep(tmp_path, 0.2)
    session = await start(runtime, PLAYERS % url)
    caller = await runtime.simulate_call(session, callerid="1", destination="2")
    done = ("url Player.PlaybackFinished", "tts Player.PlaybackFinished", "tone Player.Stopped")
    await session.wait_until(lambda: all(logged(session, line) for line in done), timeout=5)
    lines = user_lines(session)
    tts = [line for line in lines if line.startswith("tts ")]
    assert tts == ["tts Player.Created", "tts Player.Started", "tts Player.PlaybackMarkerReached -20",
                   "tts Player.PlaybackFinished"]
    assert [line for line in lines if line.startswith("url ")] == [
        "url Player.Created", "url Player.Started", "url Player.PlaybackFinished",
    ]
    assert [line for line in lines if line.startswith("tone ")] == [
        "tone Player.Created", "tone Player.Started", "tone Player.Stopped",
    ]
    assert "bad Player.Error" in lines
    assert "rec started" in lines and "rec stopped 0" in lines
    assert any(src.startswith("call:") and dst.startswith("recorder:") for src, dst in session.media.links)
    heard = runtime.call_audio(caller.call_id)
    assert heard is not None and [p.kind for p in heard.prompts] == ["tts"]  # the TTS player went to the call


CONFERENCE = """
let conf, rec;
VoxEngine.addEventListener(AppEvents.Started, () => {
  conf = VoxEngine.createConference({hd_audio: false});
  rec = VoxEngine.createRecorder();
  rec.setConference(conf);
  rec.addEventListener(RecorderEvents.Stopped, (ev) => Logger.write('mix recorded ' + ev.url));
  setTimeout(() => rec.stop(), 1500);
  for (const n of Object.keys(ConferenceEvents)) {
    conf.addEventListener(ConferenceEvents[n], (ev) => Logger.write('conf ' + ev.name +
      (ev.endpoint ? ' ' + ev.endpoint.getMode() + ' ' + ev.endpoint.getDirection() +
                     ' ' + (ev.endpoint.getCall() === undefined ? '-' : ev.endpoint.getCall().callerid()) : '') +
      (ev.conference === conf ? ' same' : '')));
  }
});
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  e.call.answer();
  const endpoint = conf.add({call: e.call, mode: 'MIX', direction: 'BOTH', displayName: e.callerid});
  Logger.write('endpoints ' + conf.getList().length + ' ' + (conf.get(endpoint.id()) === endpoint));
});
"""


def tone(hz: int, seconds: float = 1.0) -> np.ndarray:
    return (6000 * np.sin(2 * np.pi * hz * np.arange(int(8000 * seconds)) / 8000)).astype(np.int16)


def strength(pcm: np.ndarray, hz: int) -> float:
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64)))
    return float(spectrum[int(round(hz * len(pcm) / 8000))] / len(pcm))


async def test_three_callers_in_a_conference_each_hear_the_other_two(runtime: Runtime):
    session = await start(runtime, CONFERENCE)
    frequencies = {"alice": 500, "bob": 1000, "carol": 1500}
    callers = {}
    for name in frequencies:
        callers[name] = await runtime.simulate_call(session, callerid=name, destination="conf")
    await session.wait_until(lambda: sum("EndpointAdded" in line for line in user_lines(session)) == 3)
    for name, hz in frequencies.items():
        assert callers[name].speak(tone(hz))
    await asyncio.sleep(1.3)
    for name, caller in callers.items():
        heard = runtime.call_audio(caller.call_id).heard_audio()[-8000:]
        for other, hz in frequencies.items():
            if other == name:
                assert strength(heard, hz) < 50, (name, "hears itself")
            else:
                assert strength(heard, hz) > 1000, (name, "does not hear", other)
    callers["bob"].hangup()
    await session.wait_until(lambda: logged(session, "conf Conference.EndpointRemoved MIX BOTH bob same"))
    await session.wait_until(lambda: any("mix recorded" in line for line in user_lines(session)))
    url = next(line for line in user_lines(session) if "mix recorded" in line).rsplit("/", 1)[1]
    path = runtime.media.records.find(str(session.session_id), url)
    mix = mp3_channels(path)[-8000:, 0]
    assert all(strength(mix, hz) > 1000 for hz in frequencies.values())  # the recorder hears everyone
    lines = user_lines(session)
    assert lines[0] == "conf Conference.Started same"
    assert "conf Conference.EndpointAdded MIX BOTH alice same" in lines
    assert "endpoints 3 true" in lines


SEQUENCE = """
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  e.call.answer();
  const seq = VoxEngine.createSequencePlayer({segments: [
    {text: 'Your call is important', parameters: {language: VoiceList.Amazon.en_US_Joanna}},
    {url: '%s'},
  ]});
  for (const n of Object.keys(SequencePlayerEvents)) {
    seq.addEventListener(SequencePlayerEvents[n], (ev) => Logger.write('seq ' + ev.name));
  }
  seq.sendMediaTo(e.call);
  const bad = VoxEngine.createSequencePlayer({segments: [{url: 'file:///nonexistent/x.wav'}]});
  bad.addEventListener(SequencePlayerEvents.Error, (ev) => Logger.write('bad ' + ev.name));
  try { VoxEngine.createSequencePlayer({segments: [{}]}); } catch (err) { Logger.write('refused ' + err.message); }
});
"""


async def test_a_sequence_player_plays_its_segments_in_order(runtime: Runtime, tmp_path):
    url, pcm = sweep(tmp_path, 0.3)
    session = await start(runtime, SEQUENCE % url)
    caller = await runtime.simulate_call(session, callerid="1", destination="2")
    await session.wait_until(lambda: logged(session, "seq SequencePlayer.PlaybackFinished"), timeout=8)
    lines = user_lines(session)
    assert [line for line in lines if line.startswith("seq ")] == [
        "seq SequencePlayer.Created", "seq SequencePlayer.Started", "seq SequencePlayer.PlaybackFinished"]
    assert "bad SequencePlayer.Error" in lines
    assert "refused createSequencePlayer: segment 0 needs a text or a url" in lines
    audio = runtime.call_audio(caller.call_id)
    (prompt,) = audio.prompts
    assert prompt.kind == "sequence" and prompt.text == "Your call is important"
    heard = audio.heard_audio()[int(prompt.start * 8):int(prompt.end * 8)]
    pad = next(n for n in range(FRAME_SAMPLES) if np.array_equal(heard[len(heard) - n - len(pcm):len(heard) - n],
                                                                    pcm))  # the last frame is padded
    assert non_silent_ms(heard[:len(heard) - pad - len(pcm)]) > 500  # the speech came first


TWO_CALLERS = """
let first;
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  e.call.answer();
  if (!first) { first = e.call; first.handleTones(true); return; }
  VoxEngine.sendMediaBetween(first, e.call);
});
"""


async def test_handled_tones_are_taken_out_of_what_the_other_side_hears(runtime: Runtime):
    session = await start(runtime, TWO_CALLERS)
    presser = await runtime.simulate_call(session, callerid="1", destination="x")
    listener = await runtime.simulate_call(session, callerid="2", destination="x")
    await session.wait_until(lambda: len(session.media.links) == 2)
    assert presser.press_inband("5555")
    await asyncio.sleep(1.2)
    heard = runtime.call_audio(listener.call_id).heard_audio()
    tone_ms = 4 * 100
    assert non_silent_ms(heard) < tone_ms / 3  # at most the first block of each key leaks
    assert presser.speak((6000 * np.sin(np.arange(8000) / 4)).astype(np.int16))  # a second of not-DTMF
    await asyncio.sleep(1.2)
    assert non_silent_ms(runtime.call_audio(listener.call_id).heard_audio()) > 800  # it passes
