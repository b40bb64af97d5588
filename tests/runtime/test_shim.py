"""The VoxEngine shim on its own: globals, argument forms, helpers, limits (no session)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from py_mini_racer import MiniRacer

from voxsim.runtime.bridge import SHIM_SOURCE
from voxsim.runtime.protocol import AppEvent, CallInfo, Event, Kind, TimerFired, UnitEvent


class Shim:
    def __init__(self) -> None:
        self.ctx = MiniRacer()
        self.ctx.eval(SHIM_SOURCE)
        self.ctx.eval("__vox.init({limits: {idPrefix: 't-'}, customData: 'initial'})")

    def run(self, code: str) -> Any:
        return self.ctx.eval(code)

    def json(self, expr: str) -> Any:
        return json.loads(self.ctx.eval(f"JSON.stringify({expr})"))

    def deliver(self, event: Event) -> dict[str, Any]:
        return json.loads(self.ctx.eval(f"__vox.deliver({json.dumps(event.encode())})"))

    def drain(self) -> list[dict[str, Any]]:
        return json.loads(self.ctx.eval("__vox.drain()"))["commands"]

    def alert(self, call_id: str = "in1", **data: Any) -> dict[str, Any]:
        info = CallInfo(id=call_id, incoming=True, callerid="100", display_name="", number="200",
                        client_type="sip", custom_data="")
        return self.deliver(AppEvent("Application.CallAlerting", data, call=info))


@pytest.fixture
def shim() -> Shim:
    s = Shim()
    yield s
    s.ctx.close()


def test_call_sip_object_form_with_extra_headers_alias(shim: Shim):
    shim.run("VoxEngine.callSIP('sip:bob@example.org',"
             " {callerid: 'alice', extraHeaders: {'X-A': 1}, regId: 7})")
    (cmd,) = shim.drain()
    assert cmd["op"] == "dial" and cmd["kind"] == "sip" and cmd["to"] == "sip:bob@example.org"
    assert cmd["params"]["headers"] == {"X-A": "1"}
    assert cmd["params"]["regId"] == 7 and cmd["params"]["callerid"] == "alice"


def test_call_sip_positional_form_tolerates_nulls(shim: Shim):
    shim.run("VoxEngine.callSIP('bob@example.org', 'alice', 'Alice', null, null, {'X-B': 'b'}, true, null)")
    (cmd,) = shim.drain()
    p = cmd["params"]
    assert (p["callerid"], p["displayName"], p["password"], p["authUser"]) == ("alice", "Alice", None, None)
    assert p["headers"] == {"X-B": "b"} and p["video"] is True and p["outProxy"] is None


def test_call_user_both_forms_and_pstn_conference(shim: Shim):
    shim.run(
        "VoxEngine.callUser({username: 'joe', callerid: '1', extraHeaders: {'VI-CallTimeout': '20'}});"
        "VoxEngine.callUser('ann', '2', 'Ann', null, false, {codec: 1});"
        "VoxEngine.callPSTN('+15551234', '+15550000', {followDiversion: true});"
        "VoxEngine.callConference('conf1', 'me', 'Me');"
    )
    user1, user2, pstn, conf = shim.drain()
    assert user1["to"] == "joe" and user1["params"]["headers"] == {"VI-CallTimeout": "20"}
    assert user2["to"] == "ann" and user2["params"]["scheme"] == {"codec": 1}
    assert pstn["kind"] == "pstn" and pstn["params"]["followDiversion"] is True
    assert conf["kind"] == "conference"
    assert shim.run("VoxEngine.callConference('c2', 'x', 'y').is_conf") is True


def test_call_queries(shim: Shim):
    shim.run(
        "var seen; VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => { seen = e.call; });"
    )
    shim.alert(callerid="100", destination="200")
    q = shim.json(
        "[seen.id(), seen.state(), seen.incoming(), seen.callerid(), seen.number(), seen.clientType(),"
        " seen.vad(), String(seen), seen.customData()]"
    )
    assert q == ["in1", "ALERTING", True, "100", "200", "sip", False, "Call(in1)", ""]
    shim.deliver(UnitEvent(Kind.CALL, "in1", "Call.Connected"))
    assert shim.run("seen.state()") == "CONNECTED"


def test_control_methods_push_commands(shim: Shim):
    shim.run(
        "VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => { const c = e.call;"
        " c.ring({'X-R': '1'}); c.startEarlyMedia(); c.answer();"
        " c.say('hi', {voice: VoiceList.Google.en_US_Neural2_C});"
        " c.startPlayback('http://x/a.mp3', true); c.stopPlayback(); c.sendDigits('12'); c.handleTones(true);"
        " c.sendMessage('m'); c.sendInfo('text/plain', 'b'); c.record({stereo: true}); c.hangup();"
        " c.reject(486);"
        " c.decline(603); c.transferTo({to: 'sip:x@y'}); });"
    )
    ops = [c["op"] for c in shim.alert()["commands"]]
    assert ops == [
        "call.ring", "call.startEarlyMedia", "call.answer", "call.say", "call.startPlayback",
        "call.stopPlayback", "call.sendDigits", "call.handleTones", "call.sendMessage", "call.sendInfo",
        "call.record", "call.hangup", "call.reject", "call.reject", "call.transferTo",
    ]


def test_legacy_say_and_playback_forms(shim: Shim):
    shim.run("VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {"
             " e.call.say('hi', Language.US_ENGLISH_FEMALE);"
             " e.call.startPlayback('u', true); });")
    say, play = shim.alert()["commands"]
    assert say["params"]["voice"] == "Language.US_ENGLISH_FEMALE"
    assert play["params"] == {"loop": True}


def test_custom_data_round_trip(shim: Shim):
    assert shim.run("VoxEngine.customData()") == "initial"
    assert shim.run("VoxEngine.customData('next')") == "next"
    assert shim.drain() == [{"op": "customData", "data": "next"}]


def test_handlers_fire_in_order_and_remove(shim: Shim):
    shim.run(
        "var order = []; const f = () => order.push('f');"
        "VoxEngine.addEventListener(AppEvents.Started, () => order.push('a'));"
        "VoxEngine.addEventListener(AppEvents.Started, f);"
        "VoxEngine.addEventListener(AppEvents.Started, () => order.push('c'));"
        "VoxEngine.removeEventListener(AppEvents.Started, f);"
    )
    shim.deliver(AppEvent("Application.Started"))
    assert shim.json("order") == ["a", "c"]
    shim.run("VoxEngine.removeEventListener(AppEvents.Started)")
    shim.deliver(AppEvent("Application.Started"))
    assert shim.json("order") == ["a", "c"]


def test_non_function_handler_is_fatal_when_called(shim: Shim):
    shim.run("VoxEngine.addEventListener(AppEvents.Started, 42)")
    assert "fatal" not in shim.deliver(AppEvent("Application.HttpRequest"))
    result = shim.deliver(AppEvent("Application.Started"))
    assert result["fatal"]["name"] == "TypeError"


def test_timers_limit_and_clear(shim: Shim):
    shim.run("for (let i = 0; i < 100; i++) setTimeout(() => {}, 1000)")
    with pytest.raises(Exception, match="Too many active timers"):
        shim.run("setTimeout(() => {}, 1)")
    shim.run("clearTimeout(1)")
    shim.drain()
    shim.run("setInterval(() => Logger.write('tick'), 5)")
    (cmd,) = shim.drain()
    assert cmd == {"op": "timer.set", "id": 101, "ms": 5, "repeat": True}
    assert shim.deliver(TimerFired(101))["commands"] == [{"op": "log", "text": "tick"}]
    assert shim.deliver(TimerFired(101))["commands"] == [{"op": "log", "text": "tick"}]


def test_http_pending_limit_throws_the_platform_message(shim: Shim):
    shim.run("for (let i = 0; i < 35; i++) Net.httpRequest('http://127.0.0.1/', () => {})")
    with pytest.raises(Exception, match="Exceeded the HTTP connection count limit!"):
        shim.run("Net.httpRequestAsync('http://127.0.0.1/')")
    commands = shim.drain()
    assert len(commands) == 35 and commands[0]["options"]["method"] == "GET"


def test_http_options_are_normalised(shim: Shim):
    shim.run("Net.httpRequestAsync('http://h/p', {method: 'post', postData: str2bytes('hé'),"
             " headers: {A: 1},"
             " params: {q: 'x'}, rawOutput: true, timeout: 5})")
    (cmd,) = shim.drain()
    assert cmd["options"]["method"] == "POST"
    assert cmd["options"]["postData"] == {"bytes": [104, 195, 169]}
    assert cmd["options"]["headers"] == {"A": "1"} and cmd["options"]["params"] == {"q": "x"}


def test_helpers(shim: Shim):
    assert shim.run("base64_encode('hello')") == "aGVsbG8="
    assert shim.run("base64_encode([0, 255, 16])") == "AP8Q"
    assert shim.json("base64_decode('aGVsbG8=')") == list(b"hello")
    assert shim.run("bytes2str(base64_decode(base64_encode('привет €')))") == "привет €"
    assert shim.json("str2bytes('é')") == [0xC3, 0xA9]
    assert shim.run("bytes2hex([1, 171, 255])") == "01abff"
    assert shim.run("bytes2hex([171], true)") == "AB"
    assert shim.json("hex2bytes('01abff')") == [1, 171, 255]
    assert len(shim.run("uuidgen()")) == 36
    assert shim.run("getLocalTime('Europe/Moscow', new Date(0)).toISOString()") == "1970-01-01T03:00:00.000Z"
    assert shim.run("levenshtein_distance('kitten', 'sitting')") == 3


def test_console_log_goes_to_the_session_log(shim: Shim):
    shim.run("console.log('a', 1, {b: 2}); Logger.write('x'.repeat(20000))")
    first, second = shim.drain()
    assert first == {"op": "log", "text": 'a 1 {"b":2}'}
    assert len(second["text"]) == 15000


def test_require_not_emulated_throws_only_when_used(shim: Shim):
    shim.run("require(Modules.AI); require(Modules.OpenAI); require(Modules.Recorder); "
             "require(Modules.ACD); require(Modules.ASR); require(Modules.ApplicationStorage)")
    assert shim.run("typeof AI") == "function"
    assert shim.run("ACDEvents.Queued") == "ACD.Queued"
    assert shim.run("ASREvents.Result") == "ASR.Result"  # emulated (tests/runtime/test_asr.py)
    assert shim.run("typeof ApplicationStorage.get") == "function"  # emulated (tests/runtime/test_storage.py)
    ai = r"Modules\.AI is not emulated by voxsim \(used: "
    with pytest.raises(Exception, match=ai + r"AI\.createDialogflow\)"):
        shim.run("AI.createDialogflow({})")
    assert shim.run("typeof OpenAI.createRealtimeAPIClient") == "function"  # emulated (tests/voice_ai)
    acd = r"Modules\.ACD is not emulated by voxsim \(used: VoxEngine\.enqueueACDRequest\)"
    with pytest.raises(Exception, match=acd):
        shim.run("VoxEngine.enqueueACDRequest('queue', 'caller')")
    assert shim.run("typeof VoxEngine.createRecorder()") == "object"


def test_conferences_and_their_recorder(shim: Shim):
    shim.run("require(Modules.Conference)")
    assert shim.run("ConferenceEvents.EndpointAdded") == "Conference.EndpointAdded"
    assert shim.run("typeof VoxEngine.createConference({}).add") == "function"
    assert shim.run("const r = new ConferenceRecorder(); r instanceof Recorder && typeof r.setConference") == \
        "function"


def test_mini_racer_timer_polyfill_is_gone(shim: Shim):
    assert shim.run("typeof Atomics.waitAsync") == "undefined"
    assert shim.run("typeof __vox") == "object"
    shim.run("__vox = null")  # scenarios cannot replace the bridge
    assert shim.run("typeof __vox.deliver") == "function"


def test_http_request_reply_bodies(shim: Shim):
    shim.run("var v; VoxEngine.addEventListener(AppEvents.HttpRequest, () => v)")
    cases = [
        ("'text'", "text", "text/plain"),
        ("42", "42", "text/plain"),
        ("({a: 1})", '{"a":1}', "application/json"),
        ("undefined", "", "text/plain"),
    ]
    for i, (value, body, ctype) in enumerate(cases):
        shim.run(f"v = {value}")
        (reply,) = shim.deliver(AppEvent("Application.HttpRequest", reply=i))["commands"]
        assert (reply["body"], reply["type"], reply["req"]) == (body, ctype, i)


def test_custom_data_the_scenario_sets_is_at_most_200_bytes(shim: Shim):
    assert shim.run("VoxEngine.customData('é'.repeat(100))") == "é" * 100
    with pytest.raises(Exception, match=r"RangeError: VoxEngine.customData: the data is 201 bytes long"):
        shim.run("VoxEngine.customData('x'.repeat(201))")
    assert shim.run("VoxEngine.customData()") == "é" * 100
    with pytest.raises(Exception, match=r"RangeError: Call.customData: the data is 300 bytes long"):
        shim.run("new Call({id: 'x'}).customData('y'.repeat(300))")


def test_modules_call_list_exists_as_scenarios_of_the_call_list_guides_use_it(shim: Shim):
    shim.run("require(Modules.CallList)")
    assert shim.drain() == []  # no "unknown module" line
    assert shim.run("Modules.CallList") == "calllist"
    assert shim.run("typeof CallList.reportResult") == "function"
