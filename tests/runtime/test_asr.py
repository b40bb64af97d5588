"""VoxEngine.createASR with simulated callers: the exact text a caller said (espeak speech with its text), two
utterances in order, speech with no text (a tone, SIPp's own A-law capture) found by voice activity, a configured
transcript, singleUtterance, stop(), an IVR that branches on the Result, and the typings' enums."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.e2e.test_media_sipp import CAPTURES, capture_rtp
from voxsim.media.clock import MediaClock
from voxsim.media.g711 import CODECS
from voxsim.runtime import InMemoryRecorder, Runtime, RuntimeSettings, Session
from voxsim.runtime.media import MediaServices

from .conftest import FAST, start, user_lines

TYPINGS = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "voxengine.d.ts"


@pytest.fixture
async def runtime(settings: RuntimeSettings) -> AsyncIterator[Runtime]:
    """A runtime whose media clock ticks every 2.5 ms: the audio timeline (and so every ASR event) is the same as in
    real time, eight times sooner."""
    clock = MediaClock(ptime=0.0025)
    rt = Runtime(settings, recorder=InMemoryRecorder(), media=MediaServices(clock=clock))
    await rt.start()
    yield rt
    await rt.shutdown(grace=1.0)
    await clock.stop()


LISTEN = """
require(Modules.ASR);
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  const call = e.call;
  call.addEventListener(CallEvents.Connected, () => {
    const asr = VoxEngine.createASR(Object.assign({profile: ASRProfileList.Google.en_US}, %(params)s));
    for (const n of Object.keys(ASREvents)) {
      asr.addEventListener(ASREvents[n], (ev) => {
        const rest = Object.assign({}, ev);
        delete rest.asr;
        delete rest.name;
        Logger.write(ev.name + (ev.asr === asr ? ' ' : ' (another asr) ') + JSON.stringify(rest));
      });
    }
    call.sendMediaTo(asr);
    globalThis.asr = asr;
    %(then)s
  });
  call.answer();
});
"""


def listen(params: str = "{}", then: str = "") -> str:
    return LISTEN % {"params": params, "then": then}


def asr_lines(session: Session) -> list[str]:
    return [line for line in user_lines(session) if line.startswith("ASR.")]


def results(session: Session) -> list[dict[str, Any]]:
    return [json.loads(line.split(" ", 1)[1]) for line in asr_lines(session) if line.startswith("ASR.Result ")]


async def listening(runtime: Runtime, script: str) -> tuple[Session, str]:
    """A session running `script`, a simulated caller connected to it, once the ASR started: (session, call id)."""
    session = await start(runtime, script)
    caller = await runtime.simulate_call(session, callerid="1", destination="2")
    await session.wait_until(lambda: "ASR.Started {}" in asr_lines(session), timeout=3)
    return session, caller.call_id


async def played_out(runtime: Runtime, call_id: str) -> None:
    """Until what the caller said has all passed on the call's audio timeline (polled: no event says it)."""
    audio = runtime.call_audio(call_id)
    assert audio is not None
    while (audio.said[-1].end or 0.0) > audio.ticks * 20:
        await asyncio.sleep(0.01)


def tone(seconds: float, level: int = 6000) -> np.ndarray:
    t = np.arange(int(8000 * seconds)) / 8000
    return (level * np.sin(2 * np.pi * 440 * t)).astype(np.int16)


async def test_the_asr_recognises_what_a_simulated_caller_says(runtime: Runtime):
    session, call_id = await listening(runtime, listen())
    assert await runtime.caller_says(call_id, "I want to pay my bill")
    await session.wait_until(lambda: results(session), timeout=4)
    assert asr_lines(session) == [
        "ASR.Started {}", "ASR.CaptureStarted {}", "ASR.SpeechCaptured {}",
        'ASR.Result {"text":"I want to pay my bill","confidence":1}',
    ]
    event = next(e for e in session.events if e["name"] == "ASR.Result")
    assert event["kind"] == "asr" and event["data"] == {"text": "I want to pay my bill", "confidence": 1.0}


async def test_two_utterances_give_two_results_in_order_with_interim_results(runtime: Runtime):
    session, call_id = await listening(runtime, listen("{interimResults: true}"))
    await runtime.caller_says(call_id, "I want to pay my bill")
    await runtime.caller_says(call_id, "my account number is four")
    await session.wait_until(lambda: len(results(session)) == 2, timeout=5)
    assert [r["text"] for r in results(session)] == ["I want to pay my bill", "my account number is four"]
    interim = [line for line in asr_lines(session) if line.startswith("ASR.InterimResult")]
    assert interim == ['ASR.InterimResult {"text":"I want to"}', 'ASR.InterimResult {"text":"my account"}']
    names = [line.split(" ")[0] for line in asr_lines(session)]
    assert names[1:] == ["ASR.CaptureStarted", "ASR.InterimResult", "ASR.SpeechCaptured", "ASR.Result"] * 2


async def test_audio_with_no_text_gives_speech_events_and_an_empty_result(runtime: Runtime):
    session, call_id = await listening(runtime, listen())
    caller = runtime.virtual_caller(call_id)
    assert caller is not None and caller.speak(tone(0.6), None)
    await session.wait_until(lambda: results(session), timeout=4)
    assert asr_lines(session) == [
        "ASR.Started {}", "ASR.CaptureStarted {}", "ASR.SpeechCaptured {}", 'ASR.Result {"text":"","confidence":0}',
    ]


async def test_speech_from_a_sipp_capture_is_reported_with_no_text(runtime: Runtime):
    """The A-law speech SIPp ships (`g711a.pcap`, what `play_pcap_audio` sends) carries no text: voice activity."""
    decode = CODECS["PCMA"][1]
    speech = np.concatenate([decode(p.payload) for p in capture_rtp(CAPTURES / "g711a.pcap")])
    session, call_id = await listening(runtime, listen())
    caller = runtime.virtual_caller(call_id)
    assert caller is not None and caller.speak(speech[: 8000 * 3], None)  # its first 3 s
    await session.wait_until(lambda: results(session), timeout=5)
    assert asr_lines(session)[1:4] == ["ASR.CaptureStarted {}", "ASR.SpeechCaptured {}",
                                       'ASR.Result {"text":"","confidence":0}']


@pytest.mark.parametrize("settings", [replace(FAST, asr_default_transcript="yes please")])
async def test_a_configured_transcript_for_speech_with_no_text(runtime: Runtime):
    session, call_id = await listening(runtime, listen())
    caller = runtime.virtual_caller(call_id)
    assert caller is not None and caller.speak(tone(0.3), None)
    await session.wait_until(lambda: results(session), timeout=4)
    assert results(session) == [{"text": "yes please", "confidence": 1}]


async def test_single_utterance_stops_after_the_first_result(runtime: Runtime):
    session, call_id = await listening(runtime, listen("{singleUtterance: true}"))
    await runtime.caller_says(call_id, "first")
    await runtime.caller_says(call_id, "second")
    await session.wait_until(lambda: any(line.startswith("ASR.Stopped") for line in asr_lines(session)), timeout=4)
    assert asr_lines(session)[-2] == 'ASR.Result {"text":"first","confidence":1}'
    assert asr_lines(session)[-1].startswith('ASR.Stopped {"cost":"0","duration":')
    await asyncio.wait_for(played_out(runtime, call_id), 4)  # the second utterance reached a stopped ASR
    assert [r["text"] for r in results(session)] == ["first"]


async def test_stop_fires_stopped_and_recognition_ends(runtime: Runtime):
    script = listen(then="setTimeout(() => { asr.stop(); asr.stop(); Logger.write('stopped it'); }, 100);")
    session, call_id = await listening(runtime, script)
    await session.wait_until(lambda: any(line.startswith("ASR.Stopped") for line in asr_lines(session)), timeout=3)
    (stopped,) = [json.loads(line.split(" ", 1)[1]) for line in asr_lines(session) if line.startswith("ASR.Stopped")]
    assert stopped["cost"] == "0" and 0 < stopped["duration"] < 1
    assert sum(1 for c in session.commands if c.get("op") == "asr.stop") == 1  # the second stop() does nothing
    await runtime.caller_says(call_id, "nobody listens")
    await asyncio.wait_for(played_out(runtime, call_id), 4)
    assert results(session) == []


async def test_an_asr_without_a_profile_reports_an_error(runtime: Runtime):
    session = await start(runtime, """
      require(Modules.ASR);
      VoxEngine.addEventListener(AppEvents.Started, () => {
        const asr = VoxEngine.createASR({});
        asr.addEventListener(ASREvents.ASRError, (e) => Logger.write('error ' + e.error));
      });
    """)
    await session.wait_until(lambda: user_lines(session), timeout=3)
    assert user_lines(session) == ["error ASRParameters.profile is required (an ASRProfileList value)"]


IVR = """
require(Modules.ASR);
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  const call = e.call;
  let asr = null;
  call.addEventListener(CallEvents.Connected, () => call.say('Say payments or support.'));
  call.addEventListener(CallEvents.PlaybackFinished, () => {
    if (asr !== null) return;
    asr = VoxEngine.createASR({profile: ASRProfileList.Google.en_US, singleUtterance: true});
    asr.addEventListener(ASREvents.Started, () => Logger.write('listening'));
    asr.addEventListener(ASREvents.Result, (r) => {
      if (/pay/i.test(r.text)) { Logger.write('branch payments'); call.say('Connecting you to payments.'); }
      else if (/support/i.test(r.text)) Logger.write('branch support');
      else Logger.write('branch unknown: ' + r.text);
    });
    asr.addEventListener(ASREvents.Stopped, () => Logger.write('asr stopped'));
    call.sendMediaTo(asr);
  });
  call.answer();
});
"""


async def test_an_ivr_branches_on_what_the_caller_said(runtime: Runtime):
    session = await start(runtime, IVR)
    caller = await runtime.simulate_call(session, callerid="1", destination="2")
    await session.wait_until(lambda: "listening" in user_lines(session), timeout=5)
    await runtime.caller_says(caller.call_id, "I want to pay my bill")
    await session.wait_until(lambda: "asr stopped" in user_lines(session), timeout=5)
    assert user_lines(session) == ["listening", "branch payments", "asr stopped"]
    await session.wait_until(lambda: len(runtime.call_audio(caller.call_id).prompts) == 2, timeout=5)
    prompts = [p.text for p in runtime.call_audio(caller.call_id).prompts]
    assert prompts == ["Say payments or support.", "Connecting you to payments."]


ENUM_PROBE = """
require(Modules.ASR);
const enums = {events: ASREvents, profiles: ASRProfileList, models: ASRModelList, language: ASRLanguage,
               model: ASRModel, dictionary: ASRDictionary};
for (const key of Object.keys(enums)) Logger.write(key + ' ' + JSON.stringify(enums[key]));  // a line has 15000 chars
const asr = VoxEngine.createASR({profile: ASRProfileList.Deepgram.en_US, dictionary: ASRDictionary.NOTES});
Logger.write(asr.language() + ' ' + JSON.stringify(asr.dictionary()) + ' ' + String(asr) + ' ' + typeof asr.id());
"""


def _typings_enums() -> dict[str, dict[str, Any]]:
    """The ASR enums as voxengine.d.ts declares them (members of the namespaces' enums; values of the others)."""
    text = re.sub(r"/\*\*.*?\*/", "", TYPINGS.read_text(encoding="utf-8"), flags=re.S)
    found: dict[str, dict[str, Any]] = {"profiles": {}, "models": {}}
    for key, namespace in (("profiles", "ASRProfileList"), ("models", "ASRModelList")):
        for vendor, body in re.findall(rf"declare module {namespace} \{{\s*enum (\w+) \{{(.*?)\n  \}}", text, re.S):
            found[key][vendor] = {name: f"{namespace}.{vendor}.{name}" for name in re.findall(r"(\w+),", body)}
    for key, enum in (("language", "ASRLanguage"), ("model", "ASRModel"), ("dictionary", "ASRDictionary")):
        body = re.search(rf"declare enum {enum} \{{(.*?)\n\}}", text, re.S)
        assert body is not None
        found[key] = dict(re.findall(r"(\w+) = '([^']*)'", body.group(1)))
    return found


async def test_the_enums_are_the_typings(runtime: Runtime):
    session = await start(runtime, ENUM_PROBE)
    await session.wait_until(lambda: len(user_lines(session)) == 7, timeout=3)
    enums = {line.split(" ", 1)[0]: json.loads(line.split(" ", 1)[1]) for line in user_lines(session)[:6]}
    assert enums["events"] == {
        "ASRError": "ASR.Error", "Started": "ASR.Started", "CaptureStarted": "ASR.CaptureStarted",
        "SpeechCaptured": "ASR.SpeechCaptured", "Result": "ASR.Result", "InterimResult": "ASR.InterimResult",
        "Stopped": "ASR.Stopped",
    }
    assert enums["profiles"]["Google"]["en_US"] == "ASRProfileList.Google.en_US"
    assert enums["models"]["Deepgram"]["nova2_phonecall"] == "ASRModelList.Deepgram.nova2_phonecall"
    assert enums["language"]["ENGLISH_US"] == "en-US" and enums["model"]["PHONE_CALL"] == "phone_call"
    assert user_lines(session)[6].startswith('ASRProfileList.Deepgram.en_US ["asr-dict-yand-notes"] ASR(')
    if TYPINGS.exists():  # beside the repository in development and CI: every member, no more
        expected = _typings_enums()
        assert sum(len(v) for v in expected["profiles"].values()) > 300
        for key in ("profiles", "models", "language", "model", "dictionary"):
            assert enums[key] == expected[key], key


@pytest.fixture
async def recognising(request) -> AsyncIterator[Runtime]:
    """A fast runtime whose ASR sends speech with no text to the recogniser the test names."""
    clock = MediaClock(ptime=0.0025)
    rt = Runtime(replace(FAST, **request.param), recorder=InMemoryRecorder(), media=MediaServices(clock=clock))
    await rt.start()
    yield rt
    await rt.shutdown(grace=1.0)
    await clock.stop()


HEARD = ("import sys, wave; w = wave.open(sys.stdin.buffer); "
         "print('heard', w.getframerate(), 'Hz', w.getnframes() // 800, 'tenths')")


@pytest.mark.parametrize("recognising", [{"asr_command": f'{sys.executable} -c "{HEARD}"'}], indirect=True)
async def test_a_configured_command_recognises_speech_with_no_text(recognising: Runtime):
    session, call_id = await listening(recognising, listen())
    caller = recognising.virtual_caller(call_id)
    assert caller is not None and caller.speak(tone(0.6), None)
    await session.wait_until(lambda: results(session), timeout=10)
    [result] = results(session)
    assert result["text"].startswith("heard 8000 Hz") and result["confidence"] == 1
    assert 6 <= int(result["text"].split()[3]) <= 14  # the utterance: ~0.6 s of tone and the VAD's hangover


@pytest.mark.parametrize("recognising", [{"asr_command": "exit 3", "asr_default_transcript": "fallback"}],
                         indirect=True)
async def test_a_failing_recogniser_gives_the_default_transcript_and_says_why(recognising: Runtime):
    session, call_id = await listening(recognising, listen())
    caller = recognising.virtual_caller(call_id)
    assert caller is not None and caller.speak(tone(0.6), None)
    await session.wait_until(lambda: results(session), timeout=10)
    assert results(session)[0]["text"] == "fallback"
    assert any("the recogniser failed" in line and "exited with 3" in line for line in session.log.lines)


async def test_an_http_endpoint_recognises_like_a_whisper_server(unused_tcp_port: int):
    from aiohttp import web

    got: list[tuple[str, int]] = []

    async def inference(request: web.Request) -> web.Response:
        form = await request.post()
        audio = form["file"]
        got.append((str(form["response_format"]), len(audio.file.read())))  # type: ignore[union-attr]
        return web.json_response({"text": " book a table "})

    app = web.Application()
    app.router.add_post("/inference", inference)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", unused_tcp_port).start()
    clock = MediaClock(ptime=0.0025)
    rt = Runtime(replace(FAST, asr_endpoint=f"http://127.0.0.1:{unused_tcp_port}/inference"),
                 recorder=InMemoryRecorder(), media=MediaServices(clock=clock))
    await rt.start()
    try:
        session, call_id = await listening(rt, listen())
        caller = rt.virtual_caller(call_id)
        assert caller is not None and caller.speak(tone(0.6), None)
        await session.wait_until(lambda: results(session), timeout=10)
        assert results(session)[0]["text"] == "book a table"
        assert got[0][0] == "json" and got[0][1] > 8000  # a WAV of the utterance
    finally:
        await rt.shutdown(grace=1.0)
        await clock.stop()
        await runner.cleanup()
