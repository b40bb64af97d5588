"""Sessions as users write them: lifecycle, calls, timers, custom data, HTTP requests, log."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from collections.abc import Mapping
from typing import Any

import pytest

from voxsim.runtime import (
    FINISH_ADMIN,
    FINISH_JS_ERROR,
    FINISH_NORMAL,
    Call,
    DialError,
    Runtime,
    RuntimeSettings,
    SessionLimitReached,
    SessionPort,
    VirtualLeg,
)
from voxsim.runtime.bridge import CLOSING

from .conftest import FAST, logged, start, user_lines

ANSWER_AND_SAY = """
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  Logger.write('call from ' + e.callerid + ' to ' + e.destination);
  e.call.addEventListener(CallEvents.Connected, () => e.call.say('Hello, this is voxsim'));
  e.call.addEventListener(CallEvents.PlaybackFinished, () => e.call.hangup());
  e.call.addEventListener(CallEvents.Disconnected, () => VoxEngine.terminate());
  e.call.answer();
});
"""


ANSWER = "VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => e.call.answer());"


def event_names(session) -> list[str]:
    return [e["name"] for e in session.events]


async def test_answer_and_say(runtime: Runtime):
    session = await start(runtime, ANSWER_AND_SAY)
    caller = await runtime.simulate_call(session, callerid="100", destination="200")
    await session.wait_finished(3)
    assert event_names(session) == [
        "Application.Started", "Application.CallAlerting", "Call.Connected", "Call.PlaybackStarted",
        "Call.PlaybackFinished", "Call.Disconnected", "Application.Terminating", "Application.Terminated",
    ]
    assert [c["op"] for c in session.commands] == ["call.answer", "call.say", "call.hangup", "terminate"]
    assert [name for name, _ in caller.leg.actions] == ["answer", "hangup"]
    assert logged(session, "call from 100 to 200")
    assert session.finish_reason == FINISH_NORMAL
    record = runtime.recorder.sessions[session.session_id]
    (call,) = record.calls.values()
    assert call.successful and call.incoming and call.remote_number == "100" and call.local_number == "200"


async def test_playback_takes_the_time_of_the_speech(runtime: Runtime):
    session = await start(runtime, ANSWER_AND_SAY)
    await runtime.simulate_call(session, callerid="100", destination="200")
    started = await session.wait_for_event("Call.PlaybackStarted")
    finished = await session.wait_for_event("Call.PlaybackFinished")
    assert 500 < started["data"]["duration"] < 4000  # espeak-ng's "Hello, this is voxsim"
    assert started["ts"] <= finished["ts"]


async def test_started_and_alerting_payloads(runtime: Runtime):
    script = """
    VoxEngine.addEventListener(AppEvents.Started, (e) => Logger.write('started ' + JSON.stringify(e)));
    VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
      const f = Object.assign({}, e, {call: e.call.id()});
      Logger.write('alerting ' + JSON.stringify(f));
    });
    """
    session = await start(runtime, script)
    started = json.loads(next(line for line in user_lines(session) if line.startswith("started "))[8:])
    assert started == {
        "name": "Application.Started", "accessURL": session.info.access_url,
        "accessSecureURL": session.info.access_secure_url, "accountId": 1, "applicationId": 2,
        "logURL": session.info.log_url, "sessionId": session.session_id,
    }
    caller = await runtime.simulate_call(
        session, callerid="alice", display_name="Alice A", destination="5551234",
        from_uri="sip:alice@pbx.local", to_uri="sip:5551234@app.acc.voximplant.com",
        headers={"X-Order": "42", "User-to-User": "abc", "Via": "SIP/2.0/UDP x", "Contact": "<sip:a@b>"},
    )
    alerting = json.loads(next(line for line in user_lines(session) if line.startswith("alerting "))[9:])
    assert alerting == {
        "name": "Application.CallAlerting", "callerid": "alice", "displayName": "Alice A",
        "destination": "5551234", "fromURI": "sip:alice@pbx.local",
        "toURI": "sip:5551234@app.acc.voximplant.com", "headers": {"X-Order": "42", "User-to-User": "abc"},
        "scheme": {}, "customData": "", "call": caller.call_id,
    }


IVR = """
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  const call = e.call;
  call.addEventListener(CallEvents.Connected, () => {
    call.say('Press 1 for sales, 2 for support, pound to leave');
    call.handleTones(true);
  });
  call.addEventListener(CallEvents.ToneReceived, (ev) => {
    Logger.write('pressed ' + ev.tone + ' type ' + ev.type);
    if (ev.tone === '1') call.say('Sales');
    else if (ev.tone === '2') call.say('Support');
    else if (ev.tone === '#') call.hangup();
  });
  call.addEventListener(CallEvents.Disconnected, () => VoxEngine.terminate());
  call.answer();
});
"""


async def test_ivr_on_dtmf(runtime: Runtime):
    session = await start(runtime, IVR)
    caller = await runtime.simulate_call(session, callerid="1", destination="2")
    await session.wait_for_event("Call.Connected")
    await session.wait_until(lambda: any(c["op"] == "call.handleTones" for c in session.commands))
    caller.dtmf("12#")
    await session.wait_finished(3)
    assert [line for line in user_lines(session) if line.startswith("pressed")] == [
        "pressed 1 type 1", "pressed 2 type 1", "pressed # type 1",
    ]
    says = [c["text"] for c in session.commands if c["op"] == "call.say"]
    assert says[1:] == ["Sales", "Support"]
    assert caller.leg.hung_up


async def test_tones_are_ignored_until_handle_tones(runtime: Runtime):
    script = """
    VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
      e.call.addEventListener(CallEvents.ToneReceived, (ev) => Logger.write('tone ' + ev.tone));
      e.call.answer();
    });
    """
    session = await start(runtime, script)
    caller = await runtime.simulate_call(session, callerid="1", destination="2")
    await session.wait_for_event("Call.Connected")
    caller.dtmf("5")
    await asyncio.sleep(0.05)
    assert "Call.ToneReceived" not in event_names(session)


TIMERS = """
let n = 0;
const every = setInterval(() => {
  n += 1;
  Logger.write('interval ' + n);
  if (n === 3) clearInterval(every);
}, 15);
const never = setTimeout(() => Logger.write('never'), 20);
clearTimeout(never);
setTimeout((a, b) => Logger.write('once ' + a + b), 30, 'x', 'y');
setTimeout(() => VoxEngine.terminate(), 150);
"""


async def test_timers(runtime: Runtime):
    session = await start(runtime, TIMERS)
    await session.wait_finished(3)
    lines = user_lines(session)
    intervals = [line for line in lines if line.startswith("interval")]
    assert intervals == ["interval 1", "interval 2", "interval 3"]
    assert "once xy" in lines and "never" not in lines


async def test_custom_data_round_trip(runtime: Runtime):
    script = """
    VoxEngine.addEventListener(AppEvents.Started, () => {
      const data = JSON.parse(VoxEngine.customData());
      Logger.write('got ' + data.order);
      VoxEngine.customData(JSON.stringify({order: data.order, status: 'done'}));
      VoxEngine.terminate();
    });
    """
    session = await start(runtime, script, custom_data='{"order": 7}')
    await session.wait_finished(2)
    assert logged(session, "got 7")
    assert runtime.recorder.sessions[session.session_id].custom_data == '{"order":7,"status":"done"}'


async def test_several_scenarios_share_one_context_in_order(runtime: Runtime):
    lib = (
        "const greeting = 'hi from lib';\n"
        "function greet(call) { call.say(greeting); }\n"
        "Logger.write('lib loaded');"
    )
    main = """
    Logger.write('main loaded, lib says ' + greeting);
    VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
      greet(e.call);
      Logger.write('main handler');
    });
    """
    extra = "VoxEngine.addEventListener(AppEvents.CallAlerting, () => Logger.write('extra handler'));"
    session = await start(runtime, lib, main, extra, names=["lib", "main", "extra"])
    await runtime.simulate_call(session, callerid="1", destination="2")
    assert user_lines(session) == [
        "lib loaded", "main loaded, lib says hi from lib", "main handler", "extra handler",
    ]
    assert [c["text"] for c in session.commands if c["op"] == "call.say"] == ["hi from lib"]


async def test_async_handlers_and_promises(runtime: Runtime):
    script = """
    const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
    VoxEngine.addEventListener(AppEvents.CallAlerting, async (e) => {
      await sleep(20);
      e.call.answer();
      Promise.resolve().then(() => Logger.write('microtask ran'));
    });
    """
    session = await start(runtime, script)
    caller = await runtime.simulate_call(session, callerid="1", destination="2")
    await session.wait_for_event("Call.Connected")
    assert caller.leg.answered and logged(session, "microtask ran")


async def test_reject_and_hangup_of_an_unanswered_call(runtime: Runtime):
    script = """
    VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
      e.call.addEventListener(CallEvents.Disconnected, (ev) => Logger.write('gone ' + ev.internalCode));
      if (e.destination === 'busy') e.call.reject(486); else e.call.hangup();
    });
    """
    session = await start(runtime, script)
    busy = await runtime.simulate_call(session, callerid="1", destination="busy")
    await session.wait_until(lambda: logged(session, "gone 486"))
    declined = await runtime.simulate_call(session, callerid="1", destination="other")
    await session.wait_until(lambda: logged(session, "gone 603"))
    await session.settled()
    assert busy.leg.rejected_code == 486 and declined.leg.rejected_code == 603


async def test_remote_hangup_fires_disconnected(runtime: Runtime):
    script = """
    VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
      e.call.addEventListener(CallEvents.Disconnected,
        (ev) => Logger.write('bye ' + ev.internalCode + ' ' + ev.reason));
      e.call.answer();
    });
    """
    session = await start(runtime, script)
    caller = await runtime.simulate_call(session, callerid="1", destination="2")
    await session.wait_for_event("Call.Connected")
    caller.hangup()
    caller.hangup()  # a second report for an ended call is dropped
    await session.wait_until(lambda: logged(session, "bye 200 Normal call clearing"))
    assert event_names(session).count("Call.Disconnected") == 1


async def test_terminate_hangs_up_without_disconnected(runtime: Runtime):
    script = """
    VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
      e.call.addEventListener(CallEvents.Connected, () => { VoxEngine.terminate(); e.call.say('too late'); });
      e.call.addEventListener(CallEvents.Disconnected, () => Logger.write('disconnected'));
      e.call.answer();
    });
    VoxEngine.addEventListener(AppEvents.Terminating, () => Logger.write('terminating'));
    VoxEngine.addEventListener(AppEvents.Terminated, () => Logger.write('terminated'));
    """
    session = await start(runtime, script)
    caller = await runtime.simulate_call(session, callerid="1", destination="2")
    await session.wait_finished(2)
    await session.settled()
    assert user_lines(session) == ["terminating", "terminated"]
    assert caller.leg.hung_up and "Call.PlaybackStarted" not in event_names(session)
    assert logged(session, "[voxsim] call.say after VoxEngine.terminate(): ignored")


async def test_session_ends_after_idle_timeout():
    settings = dataclasses.replace(FAST, session_idle_timeout=0.1)
    rt = Runtime(settings)
    await rt.start()
    try:
        session = await start(rt, ANSWER)
        caller = await rt.simulate_call(session, callerid="1", destination="2")
        await session.wait_for_event("Call.Connected")
        await asyncio.sleep(0.2)
        assert session.state == "running"  # a live call keeps it going
        caller.hangup()
        await session.wait_finished(2)
        assert session.finish_reason == FINISH_NORMAL
        assert event_names(session)[-2:] == ["Application.Terminating", "Application.Terminated"]
    finally:
        await rt.shutdown()


async def test_unanswered_call_is_dropped_after_alerting_timeout():
    settings = dataclasses.replace(FAST, alerting_timeout=0.1)
    rt = Runtime(settings)
    await rt.start()
    try:
        session = await start(rt, "VoxEngine.addEventListener(AppEvents.CallAlerting, () => {});")
        caller = await rt.simulate_call(session, callerid="1", destination="2")
        event = await session.wait_for_event("Call.Disconnected")
        await session.settled()
        assert event["data"]["internalCode"] == 480 and caller.leg.rejected_code == 480
    finally:
        await rt.shutdown()


async def test_outbound_calls_fail_clearly_without_a_dialer(runtime: Runtime):
    script = """
    VoxEngine.addEventListener(AppEvents.Started, () => {
      const call = VoxEngine.callSIP('sip:bob@example.org', {callerid: 'alice'});
      call.addEventListener(CallEvents.Failed, (e) => Logger.write('failed ' + e.code + ': ' + e.reason));
    });
    """
    session = await start(runtime, script)
    await session.wait_until(lambda: any(line.startswith("failed ") for line in user_lines(session)))
    assert logged(session, "failed 501: outbound calls (sip) are not emulated yet by voxsim")


class FakeDialer:
    """Answers every outbound call: Ringing, then Connected."""

    def __init__(self, fail_with: int | None = None) -> None:
        self.placed: list[tuple[str, str, dict[str, Any]]] = []
        self.legs: list[VirtualLeg] = []
        self.fail_with = fail_with

    async def place_call(
        self, session: SessionPort, call: Call, kind: str, params: Mapping[str, Any]
    ) -> VirtualLeg:
        self.placed.append((kind, call.number, dict(params)))
        if self.fail_with:
            raise DialError(self.fail_with, "Busy Here")
        leg = VirtualLeg()
        leg.bind(session, call.id)
        self.legs.append(leg)
        leg.report("Call.Ringing", {"headers": {}})
        leg.report("Call.Connected", {"headers": {"X-Answered": "yes"}})
        return leg


async def test_forward_call_to_sip_with_easy_process(runtime: Runtime):
    runtime.dialer = dialer = FakeDialer()
    script = "VoxEngine.forwardCallToSIP((c1, c2) => Logger.write('established ' + c2.number()));"
    session = await start(runtime, script)
    caller = await runtime.simulate_call(
        session, callerid="alice", display_name="Alice", destination="bob", to_uri="sip:bob@pbx.example.org"
    )
    await session.wait_until(lambda: logged(session, "established sip:bob@pbx.example.org"))
    (kind, to, params), = dialer.placed
    assert (kind, to) == ("sip", "sip:bob@pbx.example.org")
    assert (params["callerid"], params["displayName"]) == ("alice", "Alice")
    assert [name for name, _ in caller.leg.actions] == ["ring", "answer"]
    assert caller.leg.did("answer")[0]["headers"] == {"X-Answered": "yes"}
    assert len(session.media.links) == 2
    dialer.legs[0].report("Call.Disconnected", {"internalCode": 200})
    await session.wait_finished(2)
    await session.settled()
    assert caller.leg.hung_up and session.finish_reason == FINISH_NORMAL


async def test_dial_error_becomes_failed(runtime: Runtime):
    runtime.dialer = FakeDialer(fail_with=486)
    script = """
    VoxEngine.addEventListener(AppEvents.Started, () => {
      VoxEngine.callUser({username: 'joe', callerid: '1'})
        .addEventListener(CallEvents.Failed, (e) => Logger.write('failed ' + e.code + ' ' + e.reason));
    });
    """
    session = await start(runtime, script)
    await session.wait_until(lambda: logged(session, "failed 486 Busy Here"))


async def test_hangup_of_an_unanswered_outbound_call_is_failed_487(runtime: Runtime):
    script = """
    VoxEngine.addEventListener(AppEvents.Started, () => {
      const call = VoxEngine.callPSTN('+15551234', '+15550000');
      call.addEventListener(CallEvents.Failed, (e) => Logger.write('failed ' + e.code));
      call.hangup();
    });
    """
    session = await start(runtime, script)
    await session.wait_until(lambda: logged(session, "failed 487"))


async def test_http_request_to_the_session(runtime: Runtime):
    script = """
    VoxEngine.addEventListener(AppEvents.HttpRequest, (e) => {
      if (e.path.endsWith('/json')) return {method: e.method, content: e.content, headers: e.headers};
      if (e.path.endsWith('/async')) return new Promise((r) => setTimeout(() => r('later'), 10));
      if (e.path.endsWith('/stop')) { VoxEngine.terminate(); return 'bye'; }
      return 'plain ' + e.content;
    });
    """
    session = await start(runtime, script)
    sid = session.session_id
    assert await runtime.http_request(sid, "POST", "/x/text", "abc") == (200, "text/plain", "plain abc")
    headers = {"X-Token": "t", "Cookie": "c"}
    status, ctype, body = await runtime.http_request(sid, "PUT", "/x/json", "{}", headers)
    assert (status, ctype) == (200, "application/json")
    x_headers = [{"key": "X-Token", "value": "t"}]
    assert json.loads(body) == {"method": "PUT", "content": "{}", "headers": x_headers}
    assert await runtime.http_request(sid, "GET", "/x/async", "") == (200, "text/plain", "later")
    assert await runtime.http_request(sid, "GET", "/x/stop", "") == (200, "text/plain", "bye")
    await session.wait_finished(2)
    assert (await runtime.http_request(sid, "GET", "/x", ""))[0] == 404


async def test_log_lines_are_timestamped_and_complete(runtime: Runtime):
    session = await start(runtime, ANSWER_AND_SAY)
    await runtime.simulate_call(session, callerid="100", destination="200")
    await session.wait_finished(3)
    stamp = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} ")
    assert all(stamp.match(line) for line in session.log.lines)
    text = session.log.text()
    for needle in ("[event] Application.CallAlerting", "[command] call.answer", "[command] call.say",
                   "[event] Call.PlaybackFinished", "call from 100 to 200",
                   "[session] finished: Normal termination"):
        assert needle in text
    recorded = [text for _, text in runtime.recorder.sessions[session.session_id].log]
    assert len(recorded) == len(session.log.lines)


async def test_snapshot_and_lookups(runtime: Runtime):
    session = await start(runtime, ANSWER)
    caller = await runtime.simulate_call(session, callerid="1", destination="2")
    await session.wait_for_event("Call.Connected")
    snap = session.snapshot()
    assert snap["state"] == "running" and snap["calls"][0]["state"] == "CONNECTED"
    assert [e["name"] for e in snap["events"]][:2] == ["Application.Started", "Application.CallAlerting"]
    assert runtime.find_call(caller.call_id) == (session, session.calls[caller.call_id])
    assert runtime.virtual_caller(caller.call_id).leg is caller.leg
    assert runtime.session(session.session_id) is session and session in runtime.live_sessions()
    json.dumps(snap)


async def test_shutdown_terminates_administratively():
    rt = Runtime(FAST)
    await rt.start()
    session = await start(rt, ANSWER)
    caller = await rt.simulate_call(session, callerid="1", destination="2")
    await session.wait_for_event("Call.Connected")
    await rt.shutdown()
    assert session.finish_reason == FINISH_ADMIN and caller.leg.hung_up
    assert rt.session(session.session_id) is session and not rt.live_sessions()


async def test_duplicate_session_id_is_refused(runtime: Runtime):
    session = await start(runtime, "")
    with pytest.raises(ValueError):
        await runtime.start_session(
            account_id=1, application_id=2, application_name="a", rule_id=None, rule_name="r",
            scenarios=[("s", "")], session_id=session.session_id,
        )


def test_settings_defaults_follow_the_platform():
    s = RuntimeSettings()
    assert (s.handler_timeout, s.max_timers, s.max_scenario_chars) == (1.0, 100, 256 * 1024)
    assert (s.session_idle_timeout, s.alerting_timeout, s.outbound_answer_timeout) == (60.0, 60.0, 60.0)
    assert (s.http_max_concurrent, s.http_max_pending) == (3, 35)
    assert (s.http_connect_timeout, s.http_total_timeout) == (6.0, 90.0)
    assert s.http_max_response_bytes == 2 * 1024 * 1024 and s.memory_limit == 64 * 1024 * 1024


async def test_live_sessions_are_capped_in_all_and_per_account():
    runtime = Runtime(dataclasses.replace(FAST, max_sessions=2, max_sessions_per_account=1))
    await runtime.start()
    try:
        await start(runtime, "Logger.write('one');")
        with pytest.raises(SessionLimitReached, match="max_sessions_per_account"):
            await start(runtime, "Logger.write('two');")
        runtime.check_capacity(account_id=99)  # another account still has room
        for session in runtime.live_sessions():
            session.terminate()
            await session.wait_finished(5)
        runtime.check_capacity(account_id=1)
    finally:
        await runtime.shutdown()


async def test_a_log_flood_is_truncated_once_and_the_session_goes_on():
    runtime = Runtime(dataclasses.replace(FAST, max_log_bytes=2000))
    await runtime.start()
    try:
        session = await start(runtime, """
        VoxEngine.addEventListener(AppEvents.Started, () => {
          for (let i = 0; i < 1000; i++) Logger.write('spam ' + i);
          setTimeout(() => { Logger.write('still here'); VoxEngine.terminate(); }, 10);
        });""")
        await session.wait_finished(5)
        assert session.log.truncated and session.log.size > 2000
        assert len(session.log.lines) < 60 and "log truncated" in session.log.lines[-1]
        assert not any("still here" in line for line in session.log.lines)  # dropped, but the timer still ran
        assert session.finish_reason == FINISH_NORMAL
        stored = runtime.recorder.sessions[session.session_id].log
        assert len(stored) == len(session.log.lines)  # the store got no more than the cap either
    finally:
        await runtime.shutdown()


async def test_intervals_faster_than_the_session_coalesce_instead_of_flooding_its_queue(runtime: Runtime):
    session = await start(runtime, """
    VoxEngine.addEventListener(AppEvents.Started, () => {
      for (let i = 0; i < 99; i++) setInterval(() => { for (let j = 0; j < 20000; j++); }, 0);
      setTimeout(() => VoxEngine.terminate(), 400);
    });""")
    depths = []
    for _ in range(20):
        await asyncio.sleep(0.02)
        depths.append(session._queue.qsize())
    assert max(depths) <= 100  # at most one firing of each timer waits
    await session.wait_finished(5)


BUSY = """
VoxEngine.addEventListener(AppEvents.Started, () => {
  setInterval(() => { const end = Date.now() + 300; while (Date.now() < end); }, 20);
});
"""


async def test_shutdown_with_handlers_running_frees_every_isolate_in_bounded_time():
    """Sessions busy in a handler when the runtime shuts down past its grace: each eval is cancelled and its
    isolate freed only once V8 stopped (freeing it under a running eval crashed the process)."""
    for _ in range(3):
        runtime = Runtime(dataclasses.replace(FAST, handler_timeout=2.0, pool_size=1))
        await runtime.start()
        sessions = [await start(runtime, BUSY) for _ in range(8)]
        await asyncio.sleep(0.1)  # every interval is mid-handler now, or about to be
        loop = asyncio.get_running_loop()
        started = loop.time()
        await runtime.shutdown(grace=0.05)
        assert loop.time() - started < 10
        assert all(s.finished for s in sessions)
        assert not CLOSING


async def test_array_buffers_count_against_a_limit_of_their_own(runtime: Runtime):
    """ArrayBuffer contents live outside the V8 heap, where the heap limit does not reach: a scenario keeping
    16 MB buffers ends with a clear error; one dropping them (the GC gives them back) runs on."""
    hoarder = await start(runtime, """
    const keep = [];
    VoxEngine.addEventListener(AppEvents.Started, () => {
      setInterval(() => keep.push(new ArrayBuffer(16 * 1024 * 1024)), 20);
    });""")
    await hoarder.wait_finished(5)
    assert hoarder.finish_reason == "JS session error"
    assert any("exhausted the memory limit (256 MB of ArrayBuffers)" in line for line in hoarder.log.lines)
    thrifty = await start(runtime, """
    VoxEngine.addEventListener(AppEvents.Started, () => {
      let n = 0;
      const t = setInterval(() => {
        const a = new Uint8Array(16 * 1024 * 1024); a[0] = 1;
        if (++n === 60) {
          clearInterval(t);
          Logger.write('typed ' + (a instanceof Uint8Array) + ' ' + (a.buffer instanceof ArrayBuffer));
          VoxEngine.terminate();
        }
      }, 5);
    });""")
    await thrifty.wait_finished(8)
    assert thrifty.finish_reason == FINISH_NORMAL
    assert logged(thrifty, "typed true true")  # instanceof still works through the wrapped constructors


async def test_a_session_whose_handlers_cannot_keep_up_ends_alone():
    runtime = Runtime(dataclasses.replace(FAST, max_queued_events=50))
    await runtime.start()
    try:
        healthy = await start(runtime, "VoxEngine.addEventListener(AppEvents.HttpRequest, () => 'fine');")
        slow = await start(runtime, """
        VoxEngine.addEventListener(AppEvents.HttpRequest, () => {
          const until = Date.now() + 20; while (Date.now() < until) {}
          return 'slow';
        });""")
        replies = []
        for i in range(200):  # arriving while a handler runs: the session ends under it
            replies.append(asyncio.ensure_future(runtime.http_request(slow.session_id, "POST", "/", "x")))
            if i == 30:
                call = asyncio.ensure_future(runtime.simulate_call(slow, callerid="1", destination="2"))
            await asyncio.sleep(0.002)
        await slow.wait_finished(5)
        caller = await asyncio.wait_for(call, 5)  # its CallAlerting was queued: the caller is answered, not left
        assert caller.leg.rejected_code is not None or caller.leg.hung_up
        assert slow.finish_reason == FINISH_JS_ERROR
        assert any("events wait for the scenario's handlers (max_queued_events)" in line for line in slow.log.lines)
        statuses = [status for status, _, _ in await asyncio.gather(*replies)]
        assert len(statuses) == 200 and set(statuses) <= {200, 404, 500}  # every caller got an answer
        assert await runtime.http_request(healthy.session_id, "POST", "/", "") == (200, "text/plain", "fine")
    finally:
        await runtime.shutdown()
