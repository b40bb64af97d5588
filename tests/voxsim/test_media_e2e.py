"""Real audio over SIP and RTP: a phone (our UA with a Python RTP peer) hears what scenarios play, say, send as
digits and bridge; what it sends is recorded, detected as in-band DTMF, and served at the record URL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import miniaudio
import numpy as np

from tests.voxsim.test_testing import provision
from voxsim.media.decode import wav_bytes
from voxsim.media.g711 import CODECS
from voxsim.rtp_peer import energy, non_silent_ms


def sweep_file(tmp_path: Path, seconds: float = 0.6) -> tuple[str, np.ndarray]:
    t = np.arange(int(8000 * seconds)) / 8000
    pcm = (9000 * np.sin(2 * np.pi * (300 + 500 * t) * t)).astype(np.int16)
    path = tmp_path / "prompt.wav"
    path.write_bytes(wav_bytes(pcm))
    return path.as_uri(), pcm


PLAY_THEN_SAY = """
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  const call = e.call;
  call.addEventListener(CallEvents.Connected, () => call.startPlayback('%s'));
  call.addEventListener(CallEvents.PlaybackFinished, () => {
    if (!call.said) { call.said = true; call.say('Thank you for calling'); } else call.sendDigits('15#');
  });
  call.addEventListener(CallEvents.Disconnected, () => VoxEngine.terminate());
  call.answer();
});
"""


async def test_the_phone_hears_a_file_speech_and_digits(voxsim_emulator, voxsim_api, voxsim_phone, tmp_path):
    url, pcm = sweep_file(tmp_path)
    await provision(voxsim_api, PLAY_THEN_SAY % url, "media")
    phone = await voxsim_phone()
    call = await phone.call("100", "media")
    peer = phone.media_of(call)
    events = await peer.wait_for_events(3, timeout=10)
    assert events == ["1", "5", "#"]  # sendDigits: RFC 4733 telephone-events, once each
    heard = peer.heard()
    codec = CODECS[peer.encoding]
    expected = codec[1](codec[0](pcm))  # what the file becomes after G.711
    loud = np.flatnonzero(np.abs(heard) > 2000)
    start = max(0, int(loud[0]) - 200)
    window = heard[start:start + len(expected) + 400]
    best = max(float(np.corrcoef(window[i:i + len(expected)], expected)[0, 1]) for i in range(0, 400, 1))
    assert best > 0.99
    speech = heard[start + len(expected) + 400:]
    assert non_silent_ms(speech) > 500 and energy(speech) > 200  # "Thank you for calling"
    await call.bye()


BRIDGE_AND_RECORD = """
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  const inbound = e.call;
  inbound.addEventListener(CallEvents.Connected, () => {
    inbound.record({stereo: true});
    inbound.handleTones(true);
    const out = VoxEngine.callUser({username: 'bob', callerid: 'voxsim'});
    out.addEventListener(CallEvents.Connected, () => VoxEngine.sendMediaBetween(inbound, out));
    out.addEventListener(CallEvents.Disconnected, () => inbound.hangup());
  });
  inbound.addEventListener(CallEvents.RecordStarted, (ev) => Logger.write('record ' + ev.url));
  inbound.addEventListener(CallEvents.ToneReceived, (ev) => Logger.write('tone ' + ev.tone + ' ' + ev.type));
  inbound.addEventListener(CallEvents.RecordStopped, () => VoxEngine.terminate());
  inbound.answer();
});
"""


async def test_a_bridge_carries_audio_both_ways_and_the_recording_holds_it(voxsim_emulator, voxsim_api,
                                                                           voxsim_phone, tmp_path):
    app_id, _ = await provision(voxsim_api, BRIDGE_AND_RECORD, "bridge")
    await voxsim_api("add_user", application_id=app_id, user_name="bob", user_display_name="Bob",
                     user_password="Secret123")
    bob = await voxsim_phone("bob")
    assert (await bob.register("bob", "Secret123", "bridge")).status == 200
    alice = await voxsim_phone("alice")
    call = await alice.call("100", "bridge", codecs="8")  # A-law only: the bridge transcodes to bob's µ-law
    bob_call = await asyncio.wait_for(bob.incoming.get(), 5)
    alice_media, bob_media = alice.media_of(call), bob.media_of(bob_call)
    assert (alice_media.encoding, bob_media.encoding) == ("PCMA", "PCMU")
    await asyncio.sleep(0.3)  # the bridge is up once bob's call connected
    tone = (8000 * np.sin(2 * np.pi * 440 * np.arange(4000) / 8000)).astype(np.int16)
    alice_media.send_audio(tone)
    bob_media.send_audio((4000 * np.sin(2 * np.pi * 880 * np.arange(4000) / 8000)).astype(np.int16))
    await alice_media.wait_for_audio(0.3, timeout=5)
    await bob_media.wait_for_audio(0.3, timeout=5)
    assert energy(bob_media.heard()) > 1000 and energy(alice_media.heard()) > 500
    bob_heard = bob_media.heard()
    loud = bob_heard[np.flatnonzero(np.abs(bob_heard) > 1000)[0]:][:2000]
    reference = tone[:4000]
    best = max(float(np.corrcoef(loud, reference[i:i + 2000])[0, 1]) for i in range(0, 40))
    assert best > 0.98  # alice's A-law tone reaches bob as µ-law, intact
    alice_media.send_inband("4")
    session, = voxsim_emulator.runtime.live_sessions()
    await session.wait_until(lambda: "tone 4 2" in session.log.text(), timeout=5)
    await bob_call.bye()
    await session.wait_finished(5)
    record_url = next(line.split("record ", 1)[1] for line in session.log.lines if " record http" in line)
    port = voxsim_emulator.listeners["api_http"]["port"]
    assert record_url.startswith(f"http://127.0.0.1:{port}/records/{session.session_id}/")
    async with aiohttp.ClientSession() as http, http.get(record_url) as response:
        assert response.status == 200 and response.content_type == "audio/mpeg"
        body = await response.read()
    info = miniaudio.mp3_get_info(body)
    assert (info.sample_rate, info.nchannels) == (8000, 2)  # the platform's 8 kHz MP3
    data = np.asarray(miniaudio.decode(body, nchannels=2, sample_rate=8000).samples, dtype=np.int16)
    left, right = data[0::2], data[1::2]
    assert energy(right) > 500 and energy(left) > 200  # alice's voice right, bob's (what we sent her) left
    assert strength(right, 440) > 5 * strength(left, 440) and strength(left, 880) > 5 * strength(right, 880)
    history = await voxsim_api("get_call_history", call_session_history_id=session.session_id,
                               with_records=True)
    (record,) = history["result"][0]["records"]
    assert record["record_url"] == record_url and record["file_size"] == len(body) and record["duration"] >= 1


CONFERENCE_OF_USERS = """
VoxEngine.addEventListener(AppEvents.Started, () => {
  const conf = VoxEngine.createConference({hd_audio: false});
  conf.addEventListener(ConferenceEvents.EndpointAdded, () => Logger.write('added ' + conf.getList().length));
  for (const user of ['alice', 'bob', 'carol']) {
    const call = VoxEngine.callUser({username: user, callerid: 'conference'});
    call.addEventListener(CallEvents.Connected, () => conf.add({call: call, mode: 'MIX', direction: 'BOTH'}));
  }
});
"""


def strength(pcm: np.ndarray, hz: int) -> float:
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64)))
    return float(spectrum[int(round(hz * len(pcm) / 8000))] / len(pcm))


async def test_three_phones_in_a_conference_each_hear_the_other_two(voxsim_emulator, voxsim_api, voxsim_phone):
    app_id, rule_id = await provision(voxsim_api, CONFERENCE_OF_USERS, "conf")
    frequencies = {"alice": 500, "bob": 1000, "carol": 1500}
    phones = {}
    for user in frequencies:
        await voxsim_api("add_user", application_id=app_id, user_name=user, user_display_name=user,
                         user_password="Secret123")
        phones[user] = await voxsim_phone(user)
        assert (await phones[user].register(user, "Secret123", "conf")).status == 200
    started = await voxsim_api("start_scenarios", rule_id=rule_id)
    calls = {user: await asyncio.wait_for(phone.incoming.get(), 5) for user, phone in phones.items()}
    session = voxsim_emulator.runtime.session(started["call_session_history_id"])
    await session.wait_until(lambda: "added 3" in session.log.text(), timeout=5)
    for user, hz in frequencies.items():
        t = np.arange(8000 * 2) / 8000
        phones[user].media_of(calls[user]).send_audio((5000 * np.sin(2 * np.pi * hz * t)).astype(np.int16))
    await asyncio.sleep(1.5)
    for user, phone in phones.items():
        heard = phone.media_of(calls[user]).heard()[-8000:]
        for other, hz in frequencies.items():
            if other == user:
                assert strength(heard, hz) < 100, (user, "hears itself")
            else:
                assert strength(heard, hz) > 800, (user, "does not hear", other)
    for user in phones:
        await calls[user].bye()


TO_THE_ROOM = """
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  const inbound = e.call;
  inbound.answer();
  inbound.addEventListener(CallEvents.Connected, () => {
    const room = VoxEngine.callConference('room-7', inbound.callerid(), 'Caller', {'X-Seat': inbound.callerid()});
    room.addEventListener(CallEvents.Connected, () => Logger.write('in the room'));
    VoxEngine.sendMediaBetween(inbound, room);
    room.addEventListener(CallEvents.Disconnected, () => inbound.hangup());
    inbound.addEventListener(CallEvents.Disconnected, () => { room.hangup(); VoxEngine.terminate(); });
  });
});
"""

THE_ROOM = """
let conf;
VoxEngine.addEventListener(AppEvents.Started, (e) => {
  Logger.write('conference ' + e.conference_name);
  conf = VoxEngine.createConference({hd_audio: false});
});
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  Logger.write('joined ' + e.callerid + ' ' + e.destination + ' ' + e.headers['X-Seat']);
  e.call.answer();
  conf.add({call: e.call, mode: 'MIX', direction: 'BOTH'});
});
"""


async def test_two_callers_meet_in_a_conference_session_through_call_conference(voxsim_emulator, voxsim_api,
                                                                               voxsim_phone):
    app_id = (await voxsim_api("add_application", application_name="meet"))["application_id"]
    for name, script, pattern in (("room", THE_ROOM, r"room-\d+"), ("front", TO_THE_ROOM, r"\d+")):
        sid = (await voxsim_api("add_scenario", scenario_name=name, scenario_script=script,
                                application_id=app_id))["scenario_id"]
        await voxsim_api("add_rule", application_id=app_id, rule_name=name, rule_pattern=pattern, scenario_id=sid)
    alice, bob = await voxsim_phone("alice"), await voxsim_phone("bob")
    alice_call = await alice.call("100", "meet")
    bob_call = await bob.call("200", "meet")
    runtime = voxsim_emulator.runtime
    await asyncio.sleep(0.5)
    rooms = [s for s in runtime.live_sessions() if s.info.conference_name]
    assert len(rooms) == 1, "one session for the conference, whoever calls it"
    room = rooms[0]
    await room.wait_until(lambda: room.log.text().count("joined") == 2, timeout=5)
    assert "conference room-7" in room.log.text()
    t = np.arange(8000 * 2) / 8000
    alice.media_of(alice_call).send_audio((5000 * np.sin(2 * np.pi * 700 * t)).astype(np.int16))
    bob.media_of(bob_call).send_audio((5000 * np.sin(2 * np.pi * 1300 * t)).astype(np.int16))
    await asyncio.sleep(1.5)
    alice_heard, bob_heard = alice.media_of(alice_call).heard()[-8000:], bob.media_of(bob_call).heard()[-8000:]
    assert strength(alice_heard, 1300) > 800 and strength(alice_heard, 700) < 100
    assert strength(bob_heard, 700) > 800 and strength(bob_heard, 1300) < 100
    await alice_call.bye()
    await room.wait_until(lambda: len([c for c in room.calls.values() if c.live]) == 1, timeout=5)
    await bob_call.bye()
