"""The inbound router (`voxsim.edge.router`) in the running emulator: naming a SIP registration lets no one past
the white list (issue 9).

The PBX is our UserAgent on 127.0.0.1 answering REGISTERs (200, or 403 for users it refuses); the attacker calls
from 127.0.0.2 (loopback too on Linux). The account's white list is emptied, so neither address is trusted as a
trunk: only a registration that is registered takes calls, and only from its proxy's address.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sip_edge.message import Request, Response, make_response
from sip_edge.transaction import TimerConfig
from sip_edge.transport import Address
from sip_edge.ua import CallFailed, UserAgent
from voxsim.app import Emulator
from voxsim.model import Application
from voxsim.runtime import RuntimeSettings, Session
from voxsim.store.sip_registrations import BindRequest

from .conftest import start_edge_emulator

FAST = RuntimeSettings(pool_size=1, alerting_timeout=5.0, session_idle_timeout=5.0, outbound_answer_timeout=5.0)

ANSWER_THEN_HANG_UP = r"""
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  e.call.addEventListener(CallEvents.Connected, () => setTimeout(() => e.call.hangup(), 100));
  e.call.addEventListener(CallEvents.Disconnected, () => VoxEngine.terminate());
  e.call.answer();
});
"""


def refusing(*users: str) -> Callable[[Request, Address], Response | None]:
    """A PBX's REGISTER hook: 403 for `users`, the UserAgent's own registrar (200) for the others."""

    def hook(request: Request, source: Address) -> Response | None:
        if request.method == "REGISTER" and request.to.uri.user in users:
            return make_response(request, 403, to_tag="pbx")
        return None

    return hook


@dataclass
class World:
    emulator: Emulator
    app: Application
    pbx: UserAgent  # the registrar, on 127.0.0.1
    attacker: UserAgent  # on 127.0.0.2
    never: int  # registration "pbxuser": the PBX refuses it
    registered: int  # registration "100": registered

    def contact(self, reg_id: int) -> str:
        manager = self.emulator.sip_registrations
        assert manager is not None
        return str(manager.registrations[reg_id]["contact"]).strip("<>")

    def sessions(self) -> list[Session]:
        runtime = self.emulator.runtime
        assert runtime is not None
        return [*runtime.live_sessions(), *runtime._finished.values()]

    async def refused(self, ua: UserAgent, uri: str) -> Response:
        with pytest.raises(CallFailed) as failure:
            await ua.invite(uri, dest=Address("udp", "127.0.0.1", self.emulator.listeners["sip_udp"]["port"]))
        return failure.value.response


async def until(predicate: Callable[[], Any], timeout: float = 3.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    emulator = await start_edge_emulator(tmp_path, FAST)
    timers = TimerConfig(trying_delay=0)
    pbx = UserAgent(user="pbx", timers=timers, on_request=refusing("pbxuser"))
    attacker = UserAgent("127.0.0.2", user="attacker", timers=timers)
    await pbx.start(tcp=None)
    await attacker.start(tcp=None)
    try:
        store, account_id = emulator.store, emulator.account.account_id
        for item in store.list_whitelist(account_id):
            store.del_whitelist_item(account_id, item.sip_whitelist_id)
        app = store.add_application(account_id, "ext")
        scenario = store.add_scenario(account_id, "answer", ANSWER_THEN_HANG_UP, application_id=app.application_id)
        rule = store.add_rule(account_id, app.application_id, "all", ".*", scenario_ids=[scenario.scenario_id])
        bind = BindRequest(application_id=app.application_id, rule_id=rule.rule_id)
        proxy = f"127.0.0.1:{pbx.ports['udp']}"
        never = store.create_sip_registration(account_id, "pbxuser", proxy, bind=bind).sip_registration_id
        registered = store.create_sip_registration(account_id, "100", proxy, bind=bind).sip_registration_id
        await emulator.sip_registrations_changed()
        manager = emulator.sip_registrations
        assert manager is not None
        await until(lambda: manager.registrations[never]["status_code"] == 403
                    and manager.registrations[registered]["registered"])
        yield World(emulator, app, pbx, attacker, never, registered)
    finally:
        await attacker.stop()
        await pbx.stop()
        await emulator.stop()


async def test_the_issues_probes_from_elsewhere_are_refused(world: World) -> None:
    never, registered, domain = world.never, world.registered, world.app.domain
    for reg_id in (never, registered):
        assert (await world.refused(world.attacker, "sip:pbxuser@10.0.0.1")).status == 404
        assert (await world.refused(world.attacker, f"sip:x@127.0.0.1;voxsim-reg={reg_id}")).status == 404
        trunk = await world.refused(world.attacker, f"sip:100@{domain};voxsim-reg={reg_id}")
        assert trunk.status == 403 and "white list" in trunk.reason
        assert (await world.refused(world.attacker, world.contact(reg_id))).status == 404
    assert world.sessions() == []


async def test_a_registration_that_never_registered_takes_no_call_even_from_its_proxy(world: World) -> None:
    assert (await world.refused(world.pbx, world.contact(world.never))).status == 404
    assert (await world.refused(world.pbx, "sip:pbxuser@10.0.0.1")).status == 404
    trunk = await world.refused(world.pbx, f"sip:100@{world.app.domain};voxsim-reg={world.never}")
    assert trunk.status == 403  # the PBX's address is not white-listed: an ordinary trunk call
    assert world.sessions() == []


async def test_the_registered_registration_takes_calls_from_its_proxy_on_any_port(world: World) -> None:
    caller = UserAgent(user="pbx-trunk", timers=TimerConfig(trying_delay=0))  # 127.0.0.1, another port
    await caller.start(tcp=None)
    try:
        call = await caller.invite(world.contact(world.registered),
                                   dest=Address("udp", "127.0.0.1", world.emulator.listeners["sip_udp"]["port"]))
        assert await call.wait_ended(3) == "remote BYE"
    finally:
        await caller.stop()
    session, = world.sessions()
    alerting = (await session.wait_for_event("Application.CallAlerting"))["data"]
    assert alerting["destination"] == "100"


async def test_once_white_listed_the_probe_is_an_ordinary_trunk_call(world: World) -> None:
    store, account_id = world.emulator.store, world.emulator.account.account_id
    store.add_whitelist_item(account_id, "127.0.0.2/32")
    call = await world.attacker.invite(f"sip:555@{world.app.domain};voxsim-reg={world.registered}",
                                       dest=Address("udp", "127.0.0.1", world.emulator.listeners["sip_udp"]["port"]))
    assert await call.wait_ended(3) == "remote BYE"
    session, = world.sessions()
    alerting = (await session.wait_for_event("Application.CallAlerting"))["data"]
    assert alerting["destination"] == "555"  # the dialed user, as a trunk call: not the registration's
