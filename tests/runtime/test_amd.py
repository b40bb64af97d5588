"""Answering machine detection (voxsim/runtime/amd.py, shim/amd.js): AMD.create and the `amd` parameter report what
the PSTN simulator's number is configured to be, with the typings' event names and payloads."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.runtime.conftest import FAST, start, user_lines
from tests.runtime.test_session import FakeDialer
from voxsim.pstn import PstnDialer, PstnSettings
from voxsim.runtime import InMemoryRecorder, Runtime, Session
from voxsim.runtime.session import FINISH_NORMAL

# As the platform's voicemail detection guide writes it: the detector as the amd parameter of callPSTN.
DETECTS = """
VoxEngine.addEventListener(AppEvents.Started, () => {
  const amd = AMD.create({ model: AMD.Model.US, timeout: %(timeout)s });
  const call = VoxEngine.callPSTN(VoxEngine.customData(), '+15550001', { amd: amd });
  amd.addEventListener(AMD.Events.DetectionComplete, (e) => {
    Logger.write('amd ' + e.name + ' ' + e.resultClass + ' ' + e.resultSubtype + ' ' + e.confidence);
    Logger.write('same ' + (e.call === call) + ' ' + (e.callId === call.id()) + ' ' + (e.amd === amd) + ' ' +
      (amd.call === call));
    if (e.resultClass === AMD.ResultClass.VOICEMAIL) call.say('Please call us back');
    else if (e.resultClass !== AMD.ResultClass.CALL_ENDED) call.hangup();
  });
  amd.addEventListener(AMD.Events.DetectionError, (e) => Logger.write('amd error ' + e.message));
  call.addEventListener(CallEvents.AudioIdentificationStarted, () => Logger.write('identification started'));
  call.addEventListener(CallEvents.AudioIdentificationResult, (e) => Logger.write('identified ' + e.audioType));
  call.addEventListener(CallEvents.AudioIdentificationStopped, () => Logger.write('identification stopped'));
  call.addEventListener(CallEvents.Disconnected, () => { Logger.write('disconnected'); VoxEngine.terminate(); });
});
"""

ATTACHES = """
VoxEngine.addEventListener(AppEvents.Started, () => {
  const amd = AMD.create({ model: AMD.Model.EU_GENERAL });
  const call = VoxEngine.callPSTN(VoxEngine.customData(), '+15550001');
  call.addEventListener(CallEvents.Connected, async () => {
    call.sendMediaTo(amd);
    const e = await amd.detect();
    Logger.write('detected ' + e.name + ' ' + e.resultClass + ' ' + amd.model + ' ' + amd.timeout);
    VoxEngine.terminate();
  });
});
"""

NUMBERS: list[dict[str, Any]] = [
    {"pattern": "+15550170", "answer_after": 0, "answering_machine": True, "amd_after": 0.1,
     "say": "Leave a message after the tone"},
    {"pattern": "+15550171", "answer_after": 0, "amd_result": "voicemail", "amd_subtype": "mimic",
     "amd_confidence": 60, "amd_after": 0.1},
    {"pattern": "+15550172", "answer_after": 0, "amd_after": 5},
    {"pattern": "+15550173", "answer_after": 0, "amd_result": "timeout"},
    {"pattern": "+15550174", "answer_after": 0, "hangup_after": 0.1, "amd_after": 2},
    {"pattern": "+15550175", "behaviour": "busy"},
]


@pytest.fixture
async def runtime() -> AsyncIterator[Runtime]:
    rt = Runtime(dataclasses.replace(FAST, outbound_answer_timeout=2.0), recorder=InMemoryRecorder())
    await rt.start()
    rt.dialer = PstnDialer(PstnSettings(numbers=NUMBERS, answer_after=0), rt.media.speech, FakeDialer)
    yield rt
    await rt.shutdown(grace=1.0)


async def detect(runtime: Runtime, number: str, *wanted: str, timeout: int = 6500,
                 script: str = DETECTS) -> Session:
    session = await start(runtime, script % {"timeout": timeout} if script is DETECTS else script,
                          custom_data=number)
    await session.wait_until(lambda: all(line in user_lines(session) for line in wanted))
    return session


async def test_an_answering_machine_is_voicemail(runtime: Runtime) -> None:
    session = await detect(runtime, "+15550170", "amd AMD.Events.DetectionComplete VOICEMAIL NONE 95",
                           "identification stopped")
    lines = [line for line in user_lines(session) if line.startswith(("identif", "amd", "same"))]
    assert lines == ["identification started", "identified VOICEMAIL",
                     "amd AMD.Events.DetectionComplete VOICEMAIL NONE 95", "same true true true true",
                     "identification stopped"]


async def test_a_number_that_is_a_person_is_human(runtime: Runtime) -> None:
    session = await detect(runtime, "+15550999", "amd AMD.Events.DetectionComplete HUMAN NONE 95", "disconnected")
    await session.wait_finished(3)


async def test_the_configured_result_subtype_and_confidence(runtime: Runtime) -> None:
    await detect(runtime, "+15550171", "amd AMD.Events.DetectionComplete VOICEMAIL MIMIC 60")


async def test_a_verdict_slower_than_the_timeout_is_a_timeout(runtime: Runtime) -> None:
    await detect(runtime, "+15550172", "amd AMD.Events.DetectionComplete TIMEOUT NONE undefined", timeout=200)
    await detect(runtime, "+15550173", "amd AMD.Events.DetectionComplete TIMEOUT NONE undefined", timeout=100)


async def test_a_call_that_ends_first_is_call_ended(runtime: Runtime) -> None:
    session = await detect(runtime, "+15550174", "disconnected", "amd AMD.Events.DetectionComplete CALL_ENDED NONE "
                                                                 "undefined")
    await session.wait_finished(3)
    assert not [line for line in user_lines(session) if line.startswith("identified")]


async def test_send_media_to_then_detect_resolves_with_the_event(runtime: Runtime) -> None:
    await detect(runtime, "+15550170", "detected AMD.Events.DetectionComplete VOICEMAIL eu_general 6500",
                 script=ATTACHES)


async def test_a_sip_call_gets_a_detection_error(runtime: Runtime) -> None:
    script = """
    VoxEngine.addEventListener(AppEvents.Started, () => {
      const amd = AMD.create({ model: AMD.Model.RU });
      const call = VoxEngine.callSIP('sip:bob@example.org', { callerid: 'alice', amd: amd });
      amd.addEventListener(AMD.Events.DetectionError, (e) => {
        Logger.write('error ' + (e.callId === call.id()) + ' ' + e.message);
        VoxEngine.terminate();
      });
    });
    """
    session = await start(runtime, script)
    await session.wait_until(lambda: any(line.startswith("error ") for line in user_lines(session)))
    [line] = [line for line in user_lines(session) if line.startswith("error ")]
    assert line.startswith("error true answering machine detection on ") and "is not emulated by voxsim" in line


async def test_bad_parameters_throw_clear_errors(runtime: Runtime) -> None:
    script = """
    VoxEngine.addEventListener(AppEvents.Started, async () => {
      const tries = [() => AMD.create(), () => AMD.create({ model: 'martian' }),
        () => AMD.create({ model: AMD.Model.RU, timeout: 30000 }),
        () => VoxEngine.callPSTN('+15550170', '+15550001', { amd: {} })];
      for (const t of tries) {
        try { t(); Logger.write('no error'); } catch (e) { Logger.write(e.name + ': ' + e.message); }
      }
      const e = await AMD.create({ model: AMD.Model.RU }).detect();
      Logger.write('alone ' + e.name + ' ' + e.message);
      VoxEngine.terminate();
    });
    """
    session = await start(runtime, script)
    await session.wait_finished(3)
    lines = user_lines(session)
    assert lines[0] == "TypeError: AMD.create: parameters must be an object (AMD.AMDParameters)"
    assert lines[1].startswith("TypeError: AMD.create: model must be one of AMD.Model (br, cl, colombia")
    assert lines[2] == "RangeError: AMD.create: timeout must be 0 to 20000 ms, not 30000"
    assert lines[3] == "TypeError: VoxEngine.callPSTN: amd must be an AMD.AnsweringMachineDetector (AMD.create)"
    assert lines[4].startswith("alone AMD.Events.DetectionError AMD: no call to listen to")
    assert session.finish_reason == FINISH_NORMAL


async def test_a_call_that_fails_settles_detect_with_an_error(runtime: Runtime) -> None:
    script = """
    VoxEngine.addEventListener(AppEvents.Started, async () => {
      const amd = AMD.create({ model: AMD.Model.MX });
      const call = VoxEngine.callPSTN(VoxEngine.customData(), '+15550001', { amd: amd });
      call.addEventListener(CallEvents.Failed, (e) => Logger.write('failed ' + e.code));
      const e = await amd.detect();
      Logger.write('settled ' + e.name + ' ' + e.message);
      VoxEngine.terminate();
    });
    """
    session = await detect(runtime, "+15550175", "failed 486",
                           "settled AMD.Events.DetectionError AMD: the call ended before it was answered",
                           script=script)
    await session.wait_finished(3)
