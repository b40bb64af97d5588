"""Users registered over TCP or TLS are called on their own connection: a phone without a listener (most
softphones over TCP/TLS) gets voxsim's INVITE, ACK and BYE on the connection it registered on, each in-dialog
request addressed to the Contact of its 2xx (RFC 3261 12.2.1.1), not to whatever host that Contact names."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from sip_edge.message import Request
from sip_edge.transaction import TimerConfig
from sip_edge.transport import Address
from sip_edge.ua import InviteDialog, UserAgent
from voxsim.app import Emulator
from voxsim.runtime import RuntimeSettings

from .conftest import start_edge_emulator

PASSWORD = "Secret123"
UNREACHABLE = "198.51.100.7"  # TEST-NET-2: what the phone advertises; nothing sent there would arrive


@pytest.fixture
async def emulator(tmp_path: Path) -> AsyncIterator[Emulator]:
    em = await start_edge_emulator(tmp_path, RuntimeSettings(pool_size=1, session_idle_timeout=5.0))
    yield em
    await em.stop()


class Phone:
    """A softphone over a stream: no listener of its own, an address in its Contact nobody can reach."""

    def __init__(self, em: Emulator) -> None:
        self.calls: list[InviteDialog] = []
        self.requests: list[Request] = []
        self.ua = UserAgent(user="dave", advertised_host=UNREACHABLE, on_invite=self.on_invite,
                            timers=TimerConfig(trying_delay=0),
                            client_ssl=ssl.create_default_context(cafile=str(em.files.ca)))

    async def on_invite(self, call: InviteDialog) -> None:
        self.calls.append(call)
        call.on_request = self.requests.append
        call.answer()


def edge_address(em: Emulator, transport: str) -> Address:
    listener = {"tcp": "sip_tcp", "tls": "sip_tls"}[transport]
    return Address(transport, "127.0.0.1", em.listeners[listener]["port"])


async def until(predicate: Any, timeout: float = 3.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met")


@pytest.mark.parametrize("transport", ["tcp", "tls"])
async def test_voxsim_hangs_up_a_user_on_the_connection_it_registered_on(emulator: Emulator, transport: str) -> None:
    store, account_id = emulator.store, emulator.account.account_id
    app = store.add_application(account_id, "stream")
    script = """
      VoxEngine.addEventListener(AppEvents.Started, () => {
        const call = VoxEngine.callUser({username: 'dave', callerid: 'robot'});
        call.addEventListener(CallEvents.Connected, () => setTimeout(() => call.hangup(), 100));
        call.addEventListener(CallEvents.Disconnected, () => VoxEngine.terminate());
        call.addEventListener(CallEvents.Failed, () => VoxEngine.terminate());
      });"""
    scenario = store.add_scenario(account_id, "s", script, application_id=app.application_id)
    rule = store.add_rule(account_id, app.application_id, "r", ".*", scenario_ids=[scenario.scenario_id])
    store.add_user(account_id, app.application_id, "dave", "Dave", PASSWORD)
    phone = Phone(emulator)
    await phone.ua.start(udp=None, tcp=None)
    try:
        edge = edge_address(emulator, transport)
        scheme = "sips" if transport == "tls" else "sip"
        response = await phone.ua.register(f"{scheme}:127.0.0.1:{edge.port};transport={transport}",
                                           f"sip:dave@{app.domain}", dest=edge, auth=("dave", PASSWORD))
        assert response.status == 200
        contact = response.headers.get("Contact")
        assert UNREACHABLE in contact and f"transport={transport}" in contact
        phone.ua.user = "dave-in-call"  # the 2xx's Contact differs from the registered one
        session = await emulator.session_starter.start(emulator.account, app, rule)
        await session.wait_for_event("Call.Connected")
        call = phone.calls[0]
        assert call.invite.uri.startswith(f"sip:dave@{UNREACHABLE}")
        assert await call.wait_ended(3) == "remote BYE"
        bye = next(r for r in phone.requests if r.method == "BYE")
        assert str(bye.uri) == phone.ua.uri(transport)  # the 2xx's Contact, reached on the registered connection
        assert bye.top_via.transport == transport.upper()
        await session.wait_finished(3)
        assert session.finish_reason == "Normal termination"
    finally:
        await phone.ua.stop()
