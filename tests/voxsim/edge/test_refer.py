"""Transfers over SIP at the edge (RFC 3515): a scenario's call.transferTo sends REFER and follows the far end's
NOTIFYs to TransferComplete or TransferFailed; a far end's REFER is a blind transfer request the scenario answers
with notifyBlindTransferSuccess/Failed (the final NOTIFY), or is declined when the scenario does not handle it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from sip_edge.dialog import TransferProgress
from sip_edge.headers import NameAddr
from sip_edge.message import Request
from sip_edge.transaction import TimerConfig
from sip_edge.ua import DEFAULT_ALLOW, InviteDialog, UserAgent
from voxsim.app import Emulator
from voxsim.runtime import RuntimeSettings, Session

from .test_server import call_edge, last_session, provision, start_emulator

FAST = RuntimeSettings(pool_size=1, alerting_timeout=5.0, session_idle_timeout=5.0, outbound_answer_timeout=5.0)

TRANSFER_ON_CONNECT = r"""
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  e.call.addEventListener(CallEvents.Connected, () =>
    e.call.transferTo({to: 'carol@example.org', headers: {'X-Why': 'vip', 'P-Hidden': 'no'}}));
  e.call.addEventListener(CallEvents.TransferComplete, (t) => Logger.write('complete ' + t.role));
  e.call.addEventListener(CallEvents.TransferFailed, (t) => {
    Logger.write('failed ' + t.code + ' ' + t.reason);
    e.call.hangup();
  });
  e.call.addEventListener(CallEvents.Disconnected, () => VoxEngine.terminate());
  e.call.answer();
});
"""

BLIND_TRANSFER = r"""
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  e.call.handleBlindTransfer(true);
  e.call.addEventListener(CallEvents.BlindTransferRequested, (b) => {
    Logger.write('asked ' + b.transferTo + ' ' + JSON.stringify(b.headers));
    if (b.transferTo === 'busy') e.call.notifyBlindTransferFailed(486, 'Busy Here');
    else e.call.notifyBlindTransferSuccess();
  });
  e.call.answer();
});
"""


@pytest.fixture
async def emulator(tmp_path: Path):
    em = await start_emulator(tmp_path, FAST)
    yield em
    await em.stop()


class Transferee:
    """The PBX, transferred by the scenario: accepts the REFER (the UA sends NOTIFY 100) and then reports `final`."""

    def __init__(self, final: int) -> None:
        self.final = final
        self.refers: list[Request] = []
        self.requests: list[str] = []

    def watch(self, call: InviteDialog) -> None:
        call.on_refer = lambda request: self.on_refer(call, request)
        call.on_request = lambda request: self.requests.append(request.method)

    def on_refer(self, call: InviteDialog, request: Request) -> int:
        self.refers.append(request)
        asyncio.get_running_loop().call_soon(lambda: call.ua.spawn(call.notify_refer(self.final)))
        return 202


@pytest.fixture
async def pbx():
    ua = UserAgent(user="pbx", timers=TimerConfig(trying_delay=0), refer_replaces=True)  # it does attended transfers
    await ua.start(tcp=None)
    yield ua
    await ua.stop()


def log_line(session: Session, start: str) -> Any:
    return session.wait_until(lambda: next((line for line in session.log.lines if start in line), None))


async def test_transfer_to_sends_refer_and_a_200_sipfrag_completes_it_and_ends_the_call(
        emulator: Emulator, pbx: UserAgent) -> None:
    app, _ = provision(emulator, TRANSFER_ON_CONNECT)
    far = Transferee(final=200)
    call = await call_edge(emulator, pbx, f"sip:1@{app.domain}", on_call=far.watch)
    assert await call.wait_ended(5) == "remote BYE"  # voxsim let go of the call
    session = await last_session(emulator)
    await log_line(session, "complete transferor")
    [refer] = far.refers
    refer_to = NameAddr.parse(refer.headers.get("Refer-To", ""))
    assert str(refer_to.uri) == "sip:carol@example.org?X-Why=vip"  # sip: added, only X- headers go
    assert refer.headers.get("Referred-By") and far.requests == ["REFER", "BYE"]
    disconnected = await session.wait_for_event("Call.Disconnected")
    assert disconnected["data"]["internalCode"] == 200
    names = [event["name"] for event in session.events if event["name"].startswith("Call.")]
    assert names[-2:] == ["Call.TransferComplete", "Call.Disconnected"]
    await session.wait_finished(3)


async def test_a_603_sipfrag_fires_transfer_failed_603_and_the_call_goes_on(emulator: Emulator,
                                                                            pbx: UserAgent) -> None:
    app, _ = provision(emulator, TRANSFER_ON_CONNECT)
    call = await call_edge(emulator, pbx, f"sip:1@{app.domain}", on_call=Transferee(final=603).watch)
    session = await last_session(emulator)
    await log_line(session, "failed 603 Decline")
    failed = await session.wait_for_event("Call.TransferFailed")
    assert failed["data"] | {"headers": None} == {"code": 603, "reason": "Decline", "role": "transferor",
                                                  "headers": None}
    assert await call.wait_ended(5) == "remote BYE"  # the scenario hung up itself


async def test_a_refer_refused_405_fires_transfer_failed_405(emulator: Emulator) -> None:
    pbx = UserAgent(user="pbx", timers=TimerConfig(trying_delay=0), allow=[m for m in DEFAULT_ALLOW if m != "REFER"])
    await pbx.start(tcp=None)
    try:
        app, _ = provision(emulator, TRANSFER_ON_CONNECT)
        call = await call_edge(emulator, pbx, f"sip:1@{app.domain}")
        await log_line(await last_session(emulator), "failed 405 Method Not Allowed")
        await call.wait_ended(5)
    finally:
        await pbx.stop()


async def blind_transfer(call: InviteDialog, to: str) -> tuple[int, list[TransferProgress]]:
    progress: list[TransferProgress] = []
    finished = asyncio.Event()

    def heard(update: TransferProgress) -> None:
        progress.append(update)
        if update.final:
            finished.set()

    response, _ = await call.refer(f"<{to}>", on_progress=heard, headers=[("X-Desk", "7")])
    if response.status < 300:
        await asyncio.wait_for(finished.wait(), 5)
    return response.status, progress


async def test_a_refer_from_the_far_end_is_a_blind_transfer_request_the_scenario_answers(
        emulator: Emulator, pbx: UserAgent) -> None:
    app, _ = provision(emulator, BLIND_TRANSFER)
    call = await call_edge(emulator, pbx, f"sip:1@{app.domain}")
    status, progress = await blind_transfer(call, "sip:alice@example.org")
    assert status == 202
    assert progress == [TransferProgress(100, "Trying", False), TransferProgress(200, "OK", True)]
    session = await last_session(emulator)
    await log_line(session, 'asked alice {"X-Desk":"7"}')
    status, progress = await blind_transfer(call, "sip:busy@example.org")  # the first one is over: a new one
    assert status == 202 and progress[-1] == TransferProgress(486, "Busy Here", True)
    await call.bye()


async def test_an_attended_transfer_the_far_end_asks_for_is_refused_not_emulated(
        emulator: Emulator, pbx: UserAgent) -> None:
    app, _ = provision(emulator, BLIND_TRANSFER)
    call = await call_edge(emulator, pbx, f"sip:1@{app.domain}")
    status, progress = await blind_transfer(call, "sip:alice@example.org?Replaces=x%40y%3Bto-tag%3Da%3Bfrom-tag%3Db")
    assert status == 501 and progress == []  # not offered to the scenario as a blind transfer
    session = await last_session(emulator)
    assert not any(event["name"] == "Call.BlindTransferRequested" for event in session.events)
    assert (await blind_transfer(call, "sip:alice@example.org"))[0] == 202  # the call goes on; blind ones work
    await call.bye()


async def test_without_handle_blind_transfer_a_refer_is_declined(emulator: Emulator, pbx: UserAgent) -> None:
    app, _ = provision(emulator, TRANSFER_ON_CONNECT.replace("e.call.transferTo", "void"))
    call = await call_edge(emulator, pbx, f"sip:1@{app.domain}")
    status, progress = await blind_transfer(call, "sip:alice@example.org")
    assert status == 603 and progress == []
    session = await last_session(emulator)
    assert not any(event["name"] == "Call.BlindTransferRequested" for event in session.events)
    await call.bye()


async def test_an_attended_transfer_refers_to_the_other_call_with_replaces(emulator: Emulator, pbx: UserAgent) -> None:
    answered: list[InviteDialog] = []
    target = UserAgent(user="target", timers=TimerConfig(trying_delay=0),
                       on_invite=lambda call: (answered.append(call), call.answer())[-1])
    await target.start(tcp=None)
    try:
        app, _ = provision(emulator, r"""
          VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
            e.call.addEventListener(CallEvents.Connected, () => {
              const other = VoxEngine.callSIP('sip:target@127.0.0.1:PORT');
              other.addEventListener(CallEvents.Connected, () => e.call.transferTo({call: other}));
            });
            e.call.addEventListener(CallEvents.TransferComplete, () => Logger.write('attended done'));
            e.call.addEventListener(CallEvents.Disconnected, () => VoxEngine.terminate());
            e.call.answer();
          });""".replace("PORT", str(target.ports["udp"])))
        far = Transferee(final=200)
        call = await call_edge(emulator, pbx, f"sip:1@{app.domain}", on_call=far.watch)
        assert await call.wait_ended(5) == "remote BYE"
        await log_line(await last_session(emulator), "attended done")
        [refer], [other] = far.refers, answered
        uri = NameAddr.parse(refer.headers.get("Refer-To", "")).uri
        assert other.dialog is not None and (uri.host, uri.port) == ("127.0.0.1", target.ports["udp"])
        ids = other.dialog.id  # the target's view: its own tag is the Replaces to-tag (RFC 3891 3)
        assert uri.headers == {"Replaces": f"{ids.call_id};to-tag={ids.local_tag};from-tag={ids.remote_tag}"}
    finally:
        await target.stop()
