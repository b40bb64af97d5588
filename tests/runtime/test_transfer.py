"""Transfers in the runtime: call.transferTo, handleBlindTransfer and notifyBlindTransfer* with simulated callers
(their legs succeed at once and record what was asked), the checks the dispatcher makes itself, and the 501 of a
conference call."""

from __future__ import annotations

from typing import Any

from voxsim.conference_calls import InternalCall
from voxsim.media.call_audio import CallAudio
from voxsim.runtime import Runtime

from .conftest import logged, start
from .test_session import FakeDialer

LOG_TRANSFERS = """
  call.addEventListener(CallEvents.TransferComplete, (t) => Logger.write('complete ' + t.role));
  call.addEventListener(CallEvents.TransferFailed, (t) => Logger.write('failed ' + t.code + ' ' + t.reason));
  call.addEventListener(CallEvents.Disconnected, (d) => Logger.write('gone ' + call.id() + ' ' + d.internalCode));
"""


def script(on_connected: str, *, answer: bool = True) -> str:
    return f"""
    VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {{
      const call = e.call;
      {LOG_TRANSFERS}
      call.addEventListener(CallEvents.Connected, () => {{ {on_connected} }});
      {"call.answer();" if answer else on_connected}
    }});
    """


def names(session: Any) -> list[str]:
    return [event["name"] for event in session.events if event["name"].startswith("Call.")]


async def test_a_blind_transfer_of_a_simulated_call_completes_and_the_call_ends(runtime: Runtime) -> None:
    session = await start(runtime, script("call.transferTo({to: 'sip:carol@example.org', headers: {'X-A': '1'}});"))
    caller = await runtime.simulate_call(session, callerid="1", destination="2")
    await session.wait_until(lambda: logged(session, f"gone {caller.call_id} 200"))
    assert logged(session, "complete transferor")
    assert names(session) == ["Call.Connected", "Call.TransferComplete", "Call.Disconnected"]
    assert caller.leg.did("transfer_to") == [{"to": "sip:carol@example.org", "target": None, "headers": {"X-A": "1"}}]


async def test_what_cannot_be_transferred_fails_in_the_dispatcher(runtime: Runtime) -> None:
    unanswered = await start(runtime, script("call.transferTo({to: 'sip:carol@example.org'});", answer=False))
    await runtime.simulate_call(unanswered, callerid="1", destination="2")
    await unanswered.wait_until(lambda: logged(
        unanswered, "failed 481 Call/Transaction Does Not Exist - only a connected call transfers"))
    nowhere = await start(runtime, script("call.transferTo({});"))
    caller = await runtime.simulate_call(nowhere, callerid="1", destination="2")
    await nowhere.wait_until(lambda: logged(nowhere, "failed 400 Bad Request - transferTo needs to or call"))
    assert caller.leg.did("transfer_to") == [] and names(nowhere)[-1] == "Call.TransferFailed"


async def test_an_attended_transfer_to_another_simulated_call_ends_both(runtime: Runtime) -> None:
    runtime.dialer = dialer = FakeDialer()
    session = await start(runtime, """
    VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
      const call = e.call;
      """ + LOG_TRANSFERS + """
      call.addEventListener(CallEvents.Connected, () => {
        const other = VoxEngine.callSIP('sip:target@example.org');
        other.addEventListener(CallEvents.Disconnected, (d) => Logger.write('target gone ' + d.internalCode));
        other.addEventListener(CallEvents.Connected, () => call.transferTo({call: other}));
      });
      call.answer();
    });
    """)
    caller = await runtime.simulate_call(session, callerid="1", destination="2")
    await session.wait_until(lambda: logged(session, "target gone 200"))
    await session.wait_until(lambda: logged(session, f"gone {caller.call_id} 200"))
    [target] = dialer.legs
    assert caller.leg.did("transfer_to") == [{"to": None, "target": target.call_id, "headers": {}}]


async def test_a_blind_transfer_request_reaches_a_scenario_that_handles_it(runtime: Runtime) -> None:
    session = await start(runtime, script("""
      call.handleBlindTransfer(true);
      call.addEventListener(CallEvents.BlindTransferRequested, (b) => {
        Logger.write('asked ' + b.transferTo + ' ' + b.headers['X-Desk']);
        if (b.transferTo === 'busy') call.notifyBlindTransferFailed(486, 'Busy Here');
        else call.notifyBlindTransferSuccess();
      });
      Logger.write('ready');
    """))
    caller = await runtime.simulate_call(session, callerid="1", destination="2")
    await session.wait_until(lambda: logged(session, "ready"))
    await session.settled()
    assert caller.transfer("busy", {"X-Desk": "7"})
    await session.wait_until(lambda: logged(session, "asked busy 7"))
    assert caller.transfer("bob")
    await session.wait_until(lambda: logged(session, "asked bob undefined"))
    await session.settled()  # the leg has carried out the scenario's answers
    assert caller.leg.did("notify_blind_transfer") == [
        {"code": 486, "reason": "Busy Here", "headers": {}}, {"code": 200, "reason": "OK", "headers": {}}]


async def test_without_handle_blind_transfer_a_simulated_caller_cannot_ask(runtime: Runtime) -> None:
    session = await start(runtime, script("Logger.write('ready');"))
    caller = await runtime.simulate_call(session, callerid="1", destination="2")
    await session.wait_until(lambda: logged(session, "ready"))
    assert not caller.transfer("bob") and "Call.BlindTransferRequested" not in names(session)


class Port:
    session_id, account_id, application_id = 1, 2, 3

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def call_event(self, call_id: str, name: str, payload: Any = None) -> None:
        self.events.append((name, dict(payload or {})))

    def outbound_callerid(self, call_id: str, callerid: str) -> None:
        pass

    def call_audio(self, call_id: str) -> CallAudio | None:
        return None


async def test_a_conference_call_cannot_be_transferred() -> None:
    port, internal = Port(), InternalCall()
    internal.caller.bind(port, "c1")
    await internal.caller.transfer_to("sip:carol@example.org", None, {})
    [(name, payload)] = port.events
    assert name == "Call.TransferFailed" and payload["code"] == 501 and payload["role"] == "transferor"
