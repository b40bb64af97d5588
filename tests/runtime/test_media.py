"""Simulated media: playback and recording events at realistic times, players, recorders."""

from __future__ import annotations

import asyncio

from voxsim.runtime import Runtime
from voxsim.runtime.media import tts_duration_ms

from .conftest import FAST, logged, start, user_lines

CONNECTED = """
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  const call = e.call;
  call.addEventListener(CallEvents.Connected, () => { %s });
  for (const n of ['PlaybackStarted', 'PlaybackFinished', 'RecordStarted', 'RecordStopped', 'Disconnected']) {
    call.addEventListener(CallEvents[n], (ev) =>
      Logger.write(n + ' ' + JSON.stringify(ev.duration === undefined ? {} : {d: ev.duration})));
  }
  call.answer();
});
"""


def names(session) -> list[str]:
    return [line.split(" ")[0] for line in user_lines(session)]


async def connected_session(runtime: Runtime, body: str):
    session = await start(runtime, CONNECTED % body)
    caller = await runtime.simulate_call(session, callerid="1", destination="2")
    await session.wait_for_event("Call.Connected")
    return session, caller


def test_tts_estimate():
    assert tts_duration_ms("x" * 100, FAST) == 100.0
    assert tts_duration_ms("hi", FAST) == FAST.tts_min_ms


async def test_stop_playback_suppresses_finished(runtime: Runtime):
    body = "call.say('a long sentence ' + 'x'.repeat(200)); call.stopPlayback();"
    session, _ = await connected_session(runtime, body)
    await asyncio.sleep(0.3)
    assert names(session) == ["PlaybackStarted"]


async def test_new_playback_replaces_the_current_one(runtime: Runtime):
    body = "call.say('x'.repeat(500)); call.startPlayback('http://x/a.mp3');"
    session, _ = await connected_session(runtime, body)
    await session.wait_until(lambda: "PlaybackFinished" in names(session))
    assert names(session) == ["PlaybackStarted", "PlaybackStarted", "PlaybackFinished"]
    assert f"PlaybackStarted {{\"d\":{FAST.url_playback_ms:g}}}" in user_lines(session)


async def test_looped_playback_never_finishes(runtime: Runtime):
    session, _ = await connected_session(runtime, "call.startPlayback('http://x/a.mp3', {loop: true});")
    await asyncio.sleep(FAST.url_playback_ms / 1000 * 3)
    assert names(session) == ["PlaybackStarted"]


async def test_record_events(runtime: Runtime):
    session, caller = await connected_session(runtime, "call.record({stereo: true});")
    started = await session.wait_for_event("Call.RecordStarted")
    assert started["data"]["url"].startswith(FAST.record_url_base + f"/{session.session_id}/")
    caller.hangup()
    stopped = await session.wait_for_event("Call.RecordStopped")
    assert stopped["data"]["url"] == started["data"]["url"] and stopped["data"]["cost"] == "0"
    assert names(session) == ["RecordStarted", "Disconnected", "RecordStopped"]


PLAYERS = """
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  e.call.answer();
  const log = (p) => (ev) =>
    Logger.write(p + ' ' + ev.name + (ev.offset !== undefined ? ' ' + ev.offset : ''));
  const tts = VoxEngine.createTTSPlayer('x'.repeat(60), {voice: VoiceList.Amazon.en_US_Joanna});
  for (const n of Object.keys(PlayerEvents)) tts.addEventListener(PlayerEvents[n], log('tts'));
  tts.addMarker(-20);
  tts.sendMediaTo(e.call);
  const url = VoxEngine.createURLPlayer('http://x/hold.mp3', {onPause: true});
  for (const n of Object.keys(PlayerEvents)) url.addEventListener(PlayerEvents[n], log('url'));
  setTimeout(() => url.resume(), 10);
  const stopped = VoxEngine.createToneScriptPlayer('440@-10;1(*/0/1)');
  for (const n of Object.keys(PlayerEvents)) stopped.addEventListener(PlayerEvents[n], log('tone'));
  stopped.stop();
  const rec = VoxEngine.createRecorder();
  rec.addEventListener(RecorderEvents.Started, (ev) => { Logger.write('rec started'); rec.stop(); });
  rec.addEventListener(RecorderEvents.Stopped, (ev) => Logger.write('rec stopped ' + ev.cost));
  e.call.sendMediaTo(rec);
});
"""


async def test_players_and_recorder(runtime: Runtime):
    session = await start(runtime, PLAYERS)
    await runtime.simulate_call(session, callerid="1", destination="2")
    done = ("url Player.PlaybackFinished", "tts Player.PlaybackFinished")
    await session.wait_until(lambda: all(logged(session, line) for line in done), timeout=3)
    lines = user_lines(session)
    tts = [line for line in lines if line.startswith("tts ")]
    assert tts == ["tts Player.Created", "tts Player.Started", "tts Player.PlaybackMarkerReached 40",
                   "tts Player.PlaybackFinished"]
    assert [line for line in lines if line.startswith("url ")] == [
        "url Player.Created", "url Player.Started", "url Player.PlaybackFinished",
    ]
    assert [line for line in lines if line.startswith("tone ")] == [
        "tone Player.Created", "tone Player.Started", "tone Player.Stopped",
    ]
    assert "rec started" in lines and "rec stopped 0" in lines
    assert any(src.startswith("call:") and dst.startswith("recorder:") for src, dst in session.media.links)
