"""The PSTN simulator: callPSTN in a scenario reaches virtual phones that behave as their numbers are configured."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.runtime.conftest import FAST, start, user_lines
from voxsim import config
from voxsim.media.decode import wav_bytes
from voxsim.pstn import PstnDialer, PstnLeg, PstnSettings
from voxsim.runtime import InMemoryRecorder, Runtime, RuntimeSettings, Session
from voxsim.runtime.host import NoDialer
from voxsim.settings_sources import SettingError

CALLER = """
VoxEngine.addEventListener(AppEvents.Started, () => {
  const call = VoxEngine.callPSTN(VoxEngine.customData(), '+15550001');
  call.addEventListener(CallEvents.Ringing, () => Logger.write('ringing'));
  call.addEventListener(CallEvents.Connected, () => {
    Logger.write('connected');
    call.handleTones(true);
    call.sendDigits('42');
  });
  call.addEventListener(CallEvents.ToneReceived, (e) => Logger.write('tone ' + e.tone));
  call.addEventListener(CallEvents.Failed, (e) => Logger.write('failed ' + e.code + ' ' + e.reason));
  call.addEventListener(CallEvents.Disconnected, (e) => Logger.write('disconnected ' + e.internalCode));
});
"""

HANGS_UP_ON_RINGING = """
VoxEngine.addEventListener(AppEvents.Started, () => {
  const call = VoxEngine.callPSTN(VoxEngine.customData(), '+15550001');
  call.addEventListener(CallEvents.Ringing, () => { Logger.write('ringing'); call.hangup(); });
});
"""

NUMBERS: list[dict[str, Any]] = [
    {"pattern": "+15550186", "behaviour": "busy"},
    {"pattern": "+15550187", "behaviour": "reject"},
    {"pattern": r"\+1555099\d", "behaviour": "unreachable"},
    {"pattern": "+15550120", "behaviour": "ring_out", "ring_time": 0.2},
    {"pattern": "+15550121", "behaviour": "ring_out"},
    {"pattern": "+15550130", "answer_after": 0, "hangup_after": 0.3},
    {"pattern": "+15550140", "answer_after": 0, "say": ["Hello from the PSTN", "Goodbye"]},
    {"pattern": "+15550150", "answer_after": 0, "digits": "1#", "digits_after": 0.2},
]


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    settings = dataclasses.replace(FAST, outbound_answer_timeout=0.5)
    rt = Runtime(settings, recorder=InMemoryRecorder())
    await rt.start()
    numbers = [*NUMBERS, {"pattern": "+15550160", "answer_after": 0, "play": str(tone_file(tmp_path))}]
    rt.dialer = PstnDialer(PstnSettings(numbers=numbers, answer_after=0.1), rt.media.speech, NoDialer)
    yield rt
    await rt.shutdown(grace=1.0)


def tone_file(folder: Path) -> Path:
    t = np.arange(8000 // 2) / 8000
    path = folder / "tone.wav"
    path.write_bytes(wav_bytes((np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16)))
    return path


async def call(runtime: Runtime, number: str, *wanted: str, script: str = CALLER) -> Session:
    session = await start(runtime, script, custom_data=number)
    await session.wait_until(lambda: all(line in user_lines(session) for line in wanted))
    return session


async def eventually(predicate: Callable[[], Any], timeout: float = 5.0) -> None:
    """Waits for what no session event announces (the phone's side, the media clock's ticks)."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


def the_call(runtime: Runtime, session: Session) -> Any:
    [record] = runtime.recorder.sessions[session.session_id].calls.values()  # type: ignore[attr-defined]
    return record


async def test_a_number_no_entry_names_rings_then_answers_and_stays(runtime: Runtime):
    session = await call(runtime, "+15550100", "connected")
    assert user_lines(session)[:2] == ["ringing", "connected"]
    [live] = session.calls.values()
    leg = live.leg
    assert isinstance(leg, PstnLeg) and leg.answered and not leg.ended
    await eventually(lambda: leg.heard_digits == "42")  # what the scenario sent the phone
    assert not any(line.startswith("disconnected") for line in user_lines(session))
    record = the_call(runtime, session)
    assert (record.client_type, record.remote_number, record.local_number) == ("pstn", "+15550100", "+15550001")


@pytest.mark.parametrize(("number", "failure"), [
    ("+15550186", "failed 486 Busy Here"),
    ("+15550187", "failed 603 Decline"),
    ("+15550993", "failed 404 Not Found"),
    ("+15550120", "failed 480 Temporarily Unavailable"),
    ("+15550121", "failed 408 Request Timeout"),  # no ring time: the session's answer timeout ends it
])
async def test_phones_that_do_not_answer_fail_the_call_as_the_platform_does(runtime: Runtime, number: str,
                                                                           failure: str):
    session = await call(runtime, number, failure)
    assert "connected" not in user_lines(session)
    ringing = number in ("+15550120", "+15550121")
    assert ("ringing" in user_lines(session)) == ringing, "only a phone that rings out rings first"
    record = the_call(runtime, session)
    assert record.client_type == "pstn" and record.code == int(failure.split()[1]) and not record.successful


async def test_a_phone_hangs_up_after_its_time(runtime: Runtime):
    session = await call(runtime, "+15550130", "connected", "disconnected 200")
    assert the_call(runtime, session).successful


async def test_the_scenario_hanging_up_stops_the_phone(runtime: Runtime):
    session = await call(runtime, "+15550121", "ringing", script=HANGS_UP_ON_RINGING)
    [live] = session.calls.values()
    await eventually(lambda: isinstance(live.leg, PstnLeg) and live.leg.ended)
    await session.settled()
    assert not live.live


async def test_a_phone_speaks_its_lines_into_the_call(runtime: Runtime):
    session = await call(runtime, "+15550140", "connected")
    [live] = session.calls.values()
    audio = runtime.call_audio(live.id)
    assert audio is not None
    await eventually(lambda: len(audio.said) == 2)
    first, second = audio.said
    assert (first.kind, first.text, second.text) == ("tts", "Hello from the PSTN", "Goodbye")
    assert first.end is not None and second.start >= first.end, "the lines follow each other on the timeline"
    await eventually(lambda: any(frame is not None and frame.any() for frame in audio.received))


async def test_a_phone_plays_its_file(runtime: Runtime):
    session = await call(runtime, "+15550160", "connected")
    [live] = session.calls.values()
    audio = runtime.call_audio(live.id)
    assert audio is not None
    await eventually(lambda: bool(audio.said))
    assert audio.said[0].kind == "url" and audio.said[0].end == pytest.approx(500.0)


async def test_a_phone_presses_its_digits(runtime: Runtime):
    session = await call(runtime, "+15550150", "tone 1", "tone #")
    assert user_lines(session).index("connected") < user_lines(session).index("tone 1")


async def test_other_kinds_go_to_the_wrapped_dialer(runtime: Runtime):
    script = """
    VoxEngine.addEventListener(AppEvents.Started, () => {
      VoxEngine.callSIP('sip:bob@example.org').addEventListener(CallEvents.Failed, (e) => Logger.write('' + e.code));
    });
    """
    session = await call(runtime, "", "501", script=script)
    assert the_call(runtime, session).client_type == "sip"


# ---------------------------------------------------------------- settings


def test_the_first_entry_that_matches_wins():
    settings = PstnSettings(numbers=[{"pattern": r"\+1555.*", "behaviour": "busy"},
                                     {"pattern": "+15550100", "behaviour": "reject"}])
    assert settings.behaviour_for("+15550100").behaviour == "busy"
    assert settings.behaviour_for("+4930123").behaviour == "answer"
    assert settings.behaviour_for("+4930123").answer_after == 1.0
    assert PstnSettings(numbers=[{"pattern": "2+"}], answer_after=3).behaviour_for("222").answer_after == 3.0


@pytest.mark.parametrize(("entry", "message"), [
    ({"pattern": "1", "behavior": "busy"}, "behavior is not a key of a number"),
    ({"pattern": "1", "behaviour": "engaged"}, "behaviour 'engaged' is not one of"),
    ({"pattern": "+1(555"}, "neither a number nor a regular expression"),
    ({"pattern": "1", "hangup_after": "soon"}, "hangup_after must be a number of seconds"),
    ({"pattern": "1", "say": [1, 2]}, "say must be a line or a list of lines"),
    ("busy", "is not a table"),
    ({"pattern": "1", "answering_machine": "yes"}, "answering_machine must be true or false"),
    ({"pattern": "1", "amd_result": "fax"}, "amd_result 'fax' is not one of human, voicemail, timeout"),
    ({"pattern": "1", "amd_subtype": "robot"}, "amd_subtype 'robot' is not one of none, mimic"),
    ({"pattern": "1", "amd_confidence": 101}, "amd_confidence must be a whole number from 0 to 100"),
    ({"pattern": "1", "amd_after": -1}, "amd_after must be a number of seconds"),
])
def test_a_bad_entry_is_a_setting_error_naming_it(entry: Any, message: str):
    with pytest.raises(SettingError, match=r"pstn\.numbers\[1\]") as error:
        PstnSettings(numbers=[{"pattern": "0"}, entry])
    assert message in str(error.value)


def test_numbers_come_from_voxsim_toml_as_an_array_of_tables(tmp_path: Path):
    path = tmp_path / "voxsim.toml"
    path.write_text('[pstn]\nanswer_after = 2\n\n[[pstn.numbers]]\npattern = "+15550186"\nbehaviour = "busy"\n\n'
                    '[[pstn.numbers]]\npattern = "\\\\+1555\\\\d+"\nsay = ["Hello"]\nhangup_after = 5\n')
    settings = config.load({}, {}, path)
    assert settings.pstn.behaviour_for("+15550186").behaviour == "busy"
    speaking = settings.pstn.behaviour_for("+15550199")
    assert (speaking.say, speaking.hangup_after, speaking.answer_after) == (("Hello",), 5.0, 2.0)


def test_an_answering_machine_from_voxsim_toml(tmp_path: Path):
    path = tmp_path / "voxsim.toml"
    path.write_text('[[pstn.numbers]]\npattern = "+15550170"\nanswering_machine = true\namd_after = 2.5\n')
    settings = config.load({}, {}, path)
    verdict = settings.pstn.behaviour_for("+15550170").amd_verdict()
    assert (verdict.result_class, verdict.subtype, verdict.confidence, verdict.after) == ("VOICEMAIL", "NONE", 95, 2.5)
    assert settings.pstn.behaviour_for("+15550171").amd_verdict().result_class == "HUMAN"
    override = PstnSettings(numbers=[{"answering_machine": True, "amd_result": "human", "amd_subtype": "mimic"}])
    assert (override.behaviour_for("1").amd_verdict().result_class,
            override.behaviour_for("1").amd_verdict().subtype) == ("HUMAN", "MIMIC")


def test_numbers_come_from_the_environment_as_json():
    numbers = json.dumps([{"pattern": "+15550187", "behaviour": "reject"}])
    settings = config.load({}, {"VOXSIM_PSTN_NUMBERS": numbers}, cwd=Path("/nonexistent"))
    assert settings.pstn.behaviour_for("+15550187").behaviour == "reject"
    assert config.load({}, {}, cwd=Path("/nonexistent")).pstn.behaviour_for("+15550187").behaviour == "answer"


def test_a_bad_number_in_the_file_stops_voxsim_up(tmp_path: Path):
    path = tmp_path / "voxsim.toml"
    path.write_text('[[pstn.numbers]]\npattern = "1"\nring = 3\n')
    with pytest.raises(SettingError, match=r"pstn\.numbers\[0\]: ring is not a key"):
        config.load({}, {}, path)


def test_runtime_settings_keep_the_platform_answer_timeout():
    assert RuntimeSettings().outbound_answer_timeout == 60.0  # what a ring_out phone with no ring_time meets
