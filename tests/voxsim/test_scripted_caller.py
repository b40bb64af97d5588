"""Scripted callers: a conversation with a scripted OpenAI agent (the transcript's turns, latencies, tool calls and
barge-ins), an IVR with no connector, and scripts that are wrong."""

from __future__ import annotations

import aiohttp
import pytest

from examples.pytest.test_voice_agent import AGENT, CALLER
from examples.pytest.test_voice_agent import SCENARIO as BOOKING_SCENARIO
from tests.runtime.conftest import start
from tests.voice_ai.conftest import runtime, script, voice_ai  # noqa: F401 (fixtures)
from tests.voice_ai.test_openai import BELLA, SCENARIO
from tests.voxsim.test_testing import provision
from voxsim.runtime import Runtime
from voxsim.scripted_caller import CallerScriptError, ScriptedCaller, parse_caller_script
from voxsim.voice_ai import VoiceAI

BOOKING = {"name": "booking", "steps": [
    {"wait_for_agent": True},
    {"say": "I would like a table please"},
    {"wait_for_agent": True},
    {"say": "thanks, bye"},
    {"wait_for_agent": {"timeout": 10}},
]}


async def converse(rt: Runtime, agents: VoiceAI, scenario: str, steps: dict) -> dict:
    session = await start(rt, scenario)
    caller = await rt.simulate_call(session, callerid="100", destination="200")
    scripted = ScriptedCaller(rt, caller.call_id, parse_caller_script(steps),
                              lambda: agents.transcripts(session.session_id))
    return (await scripted.run()).as_dict()


async def test_a_conversation_with_a_scripted_agent_gives_its_transcript(runtime: Runtime,  # noqa: F811
                                                                        voice_ai: VoiceAI):  # noqa: F811
    script(voice_ai, BELLA)
    got = await converse(runtime, voice_ai, SCENARIO % {"barge_in": "client.clearMediaBuffer();"}, BOOKING)
    assert got["done"] and got["error"] == ""
    said = [(t["who"], t.get("text")) for t in got["turns"]]
    assert said == [("agent", "Hi, this is Bella."), ("caller", "I would like a table please"),
                    ("agent", 'Booked: {"booked":2}'), ("caller", "thanks, bye"), ("agent", "Goodbye")]
    for turn in got["turns"]:
        assert turn["end_ms"] is not None and turn["end_ms"] > turn["start_ms"]
    latency = got["latency_ms"]
    assert len(latency["samples"]) == 2 and all(0 <= ms < 2000 for ms in latency["samples"])
    assert latency["p50"] in latency["samples"] and latency["p95"] == max(latency["samples"])
    assert got["tool_calls"] == [{"name": "book_table", "arguments": {"people": 2}, "call_id": "call_0001",
                                  "result": '{"booked":2}'}]
    assert got["barge_ins"] == []


async def test_a_barge_in_is_in_the_transcript_and_cuts_the_agent(runtime: Runtime,  # noqa: F811
                                                                  voice_ai: VoiceAI):  # noqa: F811
    script(voice_ai, {**BELLA, "greeting": "Welcome to Bella's. " * 6})
    steps = {"steps": [{"barge_in": {"after_ms": 600, "say": "hello"}}, {"wait_for_agent": True}]}
    got = await converse(runtime, voice_ai, SCENARIO % {"barge_in": "client.clearMediaBuffer();"}, steps)
    assert len(got["barge_ins"]) == 1 and got["barge_ins"][0]["text"] == "hello"
    greeting = got["turns"][0]
    assert greeting["who"] == "agent" and greeting["end_ms"] - greeting["start_ms"] < 3000  # ~8 s when not cut


IVR = """
VoxEngine.addEventListener(AppEvents.CallAlerting, ({call}) => {
  call.answer();
  call.handleTones(true);
  call.addEventListener(CallEvents.Connected, () => call.say('Press one for sales.'));
  call.addEventListener(CallEvents.ToneReceived, (e) => call.say('You pressed ' + e.tone));
});
"""


async def test_a_caller_presses_keys_in_an_ivr_with_no_connector(runtime: Runtime):  # noqa: F811
    steps = {"steps": [{"wait_for_agent": True}, {"press": "1"}, {"wait_for_agent": True}, {"hangup": True}]}
    session = await start(runtime, IVR)
    caller = await runtime.simulate_call(session, callerid="100", destination="200")
    got = (await ScriptedCaller(runtime, caller.call_id, parse_caller_script(steps)).run()).as_dict()
    assert got["error"] == ""
    kinds = [(t["who"], "digits" in t) for t in got["turns"] if "hangup" not in t]
    assert kinds == [("agent", False), ("caller", True), ("agent", False)]
    assert got["latency_ms"]["samples"] == []  # keys are not speech


@pytest.mark.parametrize(("raw", "message"), [
    ({"steps": [{"sing": "la"}]}, r"caller.yaml: steps\[0\]: a step is a mapping with one of say"),
    ({"steps": [{"press": "x"}]}, "press takes digits"),
    ({"steps": [{"wait": "soon"}]}, "wait is a number of seconds"),
    ({"steps": "say hi"}, "a mapping with a list of steps"),
])
def test_a_wrong_caller_script_says_where(raw: dict, message: str):
    with pytest.raises(CallerScriptError, match=message):
        parse_caller_script(raw, "caller.yaml")


async def test_a_conversation_in_virtual_time_gives_the_same_transcript(voxsim_api, voxsim_conversation):
    """speed=20: the session's media and timers run 20 times faster; the transcript's times are the call's own."""
    await provision(voxsim_api, BOOKING_SCENARIO, "fast")
    got = await voxsim_conversation("100", "fast", caller=CALLER, agent=AGENT, speed=20)
    assert got["error"] == ""
    assert [t["who"] for t in got["turns"]] == ["agent", "caller", "agent", "caller", "agent"]
    assert got["turns"][-1]["text"] == "Goodbye!"
    caller_turn = got["turns"][1]
    assert caller_turn["end_ms"] - caller_turn["start_ms"] > 1000  # a second of speech on the call's timeline


async def test_a_speed_out_of_range_is_refused(voxsim_emulator):
    base = voxsim_emulator.listeners["api_http"]["url"]
    async with aiohttp.ClientSession() as http:
        for speed in (0, 1001, "fast", True):
            async with http.post(f"{base}/_voxsim/simulate/call", json={"to": "sip:1@x.voxsim.voximplant.com",
                                                                       "speed": speed}) as resp:
                assert resp.status == 400 and "'speed'" in (await resp.json())["error"]
