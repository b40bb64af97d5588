"""`voxsim.session_starter.SessionStarter` over a real store and runtime, without SIP: rule sessions, built-in sessions
(`start_builtin`, the forward of a SIP registration bound to a user), and the history row of outbound calls
(the callerid a dialer reports through `Session.outbound_callerid`)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest

from voxsim.errors import NO_SCENARIO_BOUND, VoxError
from voxsim.recording import StoreRecorder
from voxsim.runtime import Runtime, RuntimeSettings
from voxsim.runtime.host import CallLeg, DialError, SessionPort
from voxsim.runtime.virtual import VirtualLeg
from voxsim.session_starter import FORWARD_TO_USER, SessionStarter
from voxsim.store import Store

ANSWER = """
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  Logger.write('to ' + e.destination);
  e.call.addEventListener(CallEvents.Disconnected, () => VoxEngine.terminate());
  e.call.answer();
});"""
_apps = itertools.count(1)


class Dialer:
    """An OutboundDialer that reports `callerid` as the one it used (as the SIP edge does) and whose far end
    answers at once, or that fails every call with `fail`."""

    def __init__(self, callerid: str = "", fail: int | None = None, delay: float = 0.0) -> None:
        self.callerid = callerid
        self.fail = fail
        self.delay = delay
        self.placed: list[tuple[str, dict[str, Any]]] = []

    async def place_call(self, session: SessionPort, call: Any, kind: str, params: Mapping[str, Any]) -> CallLeg:
        self.placed.append((kind, dict(params)))
        if self.callerid:
            session.outbound_callerid(call.id, self.callerid)
        await asyncio.sleep(self.delay)  # resolving names, reserving the RTP port...
        if self.fail is not None:
            raise DialError(self.fail, "Temporarily Unavailable")
        leg = VirtualLeg()
        leg.bind(session, call.id)
        asyncio.get_running_loop().call_soon(leg.report, "Call.Connected", {"headers": {}})  # the far end answers
        return leg


@pytest.fixture
async def core() -> AsyncIterator[tuple[Store, Runtime, SessionStarter]]:
    store = Store()
    store.create_account(1, "acc", "a@example.com", "key")
    recorder = StoreRecorder(store, flush_interval=0.01)
    runtime = Runtime(RuntimeSettings(pool_size=1, session_idle_timeout=5.0), recorder=recorder)
    await runtime.start()
    sessions = SessionStarter(store, runtime, http_base=lambda: "http://127.0.0.1:1", https_base=lambda: "https://127.0.0.1:2",
                        log_url=lambda sid: f"http://127.0.0.1:1/_voxsim/sessions/{sid}/log")
    try:
        yield store, runtime, sessions
    finally:
        await runtime.shutdown(grace=2)
        recorder.close()
        store.close()


def application(store: Store, name: str = "app") -> Any:
    return store.add_application(1, name)


async def test_a_builtin_session_has_no_rule_in_its_history_row(core) -> None:
    store, runtime, sessions = core
    app = application(store)
    session = await sessions.start_builtin(store.get_account(1), app, "(builtin)", ANSWER,
                                           initiator_address="10.0.0.7")
    caller = await runtime.simulate_call(session, callerid="100", destination="carol")
    assert caller.leg.answered
    caller.hangup()
    await session.wait_finished(3)
    row = store.get_session(session.session_id)
    assert (row.application_id, row.rule_id, row.rule_name) == (app.application_id, None, "")
    assert (row.initiator_address, row.finish_reason) == ("10.0.0.7", "Normal termination")
    assert session.info.rule_id is None and session.info.rule_name == ""
    assert any(line.endswith("to carol") for line in session.log.lines)
    assert any("scenario '(builtin)' loaded" in line for line in session.log.lines)
    assert sessions.access_urls(session.session_id)[0].startswith("http://127.0.0.1:1/request/")


async def test_a_builtin_session_may_name_its_rule_and_user(core) -> None:
    store, _, sessions = core
    app = application(store)
    user = store.add_user(1, app.application_id, "carol", "Carol", "Secret123")
    session = await sessions.start_builtin(store.get_account(1), app, "x", "// nothing", rule_name="(marker)",
                                           user_id=user.user_id, custom_data="cd")
    row = store.get_session(session.session_id)
    assert (row.rule_name, row.user_id, row.custom_data) == ("(marker)", user.user_id, "cd")
    session.terminate()
    await session.wait_finished(3)


async def test_forward_to_user_calls_the_destination_user_and_bridges(core) -> None:
    store, runtime, sessions = core
    dialer = runtime.dialer = Dialer()
    session = await sessions.start_builtin(store.get_account(1), application(store), "fwd", FORWARD_TO_USER)
    caller = await runtime.simulate_call(session, callerid="+1555", display_name="Pat", destination="carol")
    await session.wait_for_event("Call.Connected")
    assert dialer.placed[0][0] == "user"
    assert (dialer.placed[0][1]["username"], dialer.placed[0][1]["callerid"]) == ("carol", "+1555")
    assert caller.leg.answered  # answered once the user's leg connected
    caller.hangup()
    await session.wait_finished(3)


async def test_forward_to_an_offline_user_rejects_the_caller_480(core) -> None:
    store, runtime, sessions = core
    runtime.dialer = Dialer(fail=480)
    session = await sessions.start_builtin(store.get_account(1), application(store), "fwd", FORWARD_TO_USER)
    caller = await runtime.simulate_call(session, callerid="+1555", destination="carol")
    await session.wait_finished(3)
    assert caller.leg.rejected_code == 480 and not caller.leg.answered


async def test_start_still_needs_a_scenario_bound_to_the_rule(core) -> None:
    store, _, sessions = core
    app = application(store)
    rule = store.add_rule(1, app.application_id, "empty", ".*", scenario_ids=[])
    with pytest.raises(VoxError) as error:
        await sessions.start(store.get_account(1), app, rule)
    assert error.value.code == NO_SCENARIO_BOUND


def dialing(expr: str) -> str:
    return f"""
      VoxEngine.addEventListener(AppEvents.Started, () => {{
        const call = {expr};
        call.addEventListener(CallEvents.Connected, () => call.hangup());
        call.addEventListener(CallEvents.Failed, () => VoxEngine.terminate());
        call.addEventListener(CallEvents.Disconnected, () => VoxEngine.terminate());
      }});"""


async def outbound_row(core: Any, script: str, dialer: Dialer) -> Any:
    store, runtime, sessions = core
    runtime.dialer = dialer
    app = application(store, f"dial{next(_apps)}")
    session = await sessions.start_builtin(store.get_account(1), app, "dial", script)
    await session.wait_finished(3)
    calls = store.calls_of([session.session_id])[session.session_id]
    assert len(calls) == 1
    return calls[0]


async def test_an_outbound_call_records_the_callerid_the_dialer_reports(core) -> None:
    row = await outbound_row(core, dialing("VoxEngine.callSIP('sip:1@example.org')"), Dialer(callerid="voxsim"))
    assert (row.incoming, row.local_number, row.remote_number, row.successful) == (
        False, "voxsim", "sip:1@example.org", True)


async def test_an_outbound_call_keeps_the_scenarios_callerid_without_a_report(core) -> None:
    row = await outbound_row(core, dialing("VoxEngine.callSIP('sip:1@example.org', {callerid: '+1999'})"),
                             Dialer())
    assert row.local_number == "+1999"


async def test_a_failed_dial_is_recorded_with_the_reported_callerid(core) -> None:
    row = await outbound_row(core, dialing("VoxEngine.callUser('nobody')"), Dialer(callerid="voxsim", fail=480))
    assert (row.local_number, row.remote_number, row.successful, row.end_code) == ("voxsim", "nobody", False, 480)



async def test_a_call_that_ends_before_the_dialer_placed_it_is_recorded_when_it_ends(core) -> None:
    script = """
      VoxEngine.addEventListener(AppEvents.Started, () => {
        const call = VoxEngine.callSIP('sip:1@example.org', {callerid: '+1777'});
        call.addEventListener(CallEvents.Failed, () => VoxEngine.terminate());
        call.hangup();
      });"""
    dialer = Dialer(callerid="from-dialer", delay=0.1)
    row = await outbound_row(core, script, dialer)  # read as soon as the session finished
    # The hangup came before the dialer ran: the row was written then, and its later report did not count.
    assert (row.local_number, row.successful, row.end_code) == ("+1777", False, 487)


async def test_access_tokens_of_sessions_gone_from_the_runtime_are_forgotten(core) -> None:
    _, _, sessions = core
    for session_id in range(1, 600):  # none of these is a session the runtime holds
        sessions.access_urls(session_id)
    assert len(sessions._access) < 256
    http, _ = sessions.access_urls(5000)
    token, secret = http.split("/request/")[1].split("/")
    assert sessions.session_for_access(token, secret) == 5000  # a fresh one still resolves
