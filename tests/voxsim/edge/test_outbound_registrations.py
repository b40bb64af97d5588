"""The SIP registration client (`voxsim.edge.outbound_registrations`) against our own UserAgent as a registrar.

A fake store holds the registrations and records every status write; the registrar is a
`UserAgent` with digest whose `on_request` hook sees (and may refuse) each REGISTER.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_asyncio

from sip_edge.auth import DigestServer
from sip_edge.message import Request, Response, make_response
from sip_edge.transaction import TimerConfig
from sip_edge.transport import Address, free_port_pair
from sip_edge.ua import UserAgent
from voxsim.edge import outbound_registrations
from voxsim.edge.outbound_registrations import (
    CONTACT_PARAM,
    STOPPED,
    RegistrationManager,
    RegistrationTimers,
    TargetError,
    target_of,
)
from voxsim.model import SipRegistration

FAST = TimerConfig(t1=0.02, t2=0.2, t4=0.2, timer_d=0.2)


def make_reg(reg_id: int, proxy: str, **fields: Any) -> SipRegistration:
    values: dict[str, Any] = {"sip_registration_id": reg_id, "account_id": 7, "sip_username": "100",
                              "proxy": proxy, "password": "pw", "purchase_date": "2024-01-01 00:00:00",
                              "next_subscription_renewal": "2024-02-01"}
    values.update(fields)
    return SipRegistration(**values)


@dataclass
class FakeStore:
    regs: dict[int, SipRegistration] = field(default_factory=dict)
    writes: list[tuple[int, bool, int | None, str, bool]] = field(default_factory=list)

    def active_sip_registrations(self, account_id: int | None = None) -> list[SipRegistration]:
        return [r for r in self.regs.values() if not r.deactivated]

    def update_sip_registration_status(self, reg_id: int, successful: bool, status_code: int | None,
                                       error_message: str = "", in_progress: bool = False) -> None:
        self.writes.append((reg_id, successful, status_code, error_message, in_progress))

    def last(self, reg_id: int) -> tuple[bool, int | None, str, bool] | None:
        mine = [w[1:] for w in self.writes if w[0] == reg_id]
        return mine[-1] if mine else None


class Registrar:
    """A UserAgent registrar with digest; `refuse` answers the next REGISTERs with a status instead."""

    def __init__(self, users: dict[str, str], **kwargs: Any) -> None:
        self.users = users
        self.seen: list[tuple[float, Request]] = []
        self.refuse: list[int] = []  # statuses for the next REGISTERs, one each
        self.hook: Callable[[Request], Response | None] | None = None
        self.ua = UserAgent(digest=DigestServer("pbx.test", algorithms=("MD5",)), credentials=users.get,
                            on_request=self._on_request, **kwargs)

    def _on_request(self, request: Request, source: Address) -> Response | None:
        if request.method != "REGISTER":
            return None
        self.seen.append((time.monotonic(), request))
        if self.hook is not None:
            reply = self.hook(request)
            if reply is not None:
                return reply
        if self.refuse:
            return make_response(request, self.refuse.pop(0), to_tag="r1")
        return None

    @property
    def authorized(self) -> list[Request]:
        return [r for _, r in self.seen if r.headers.get("Authorization")]

    def contacts(self, aor: str = "sip:100@127.0.0.1") -> list[str]:
        now = time.time()
        return [uri for uri, expiry in self.ua.bindings.get(aor, {}).items() if expiry > now]

    def proxy(self, transport: str = "udp") -> str:
        port = self.ua.ports[transport]
        return f"127.0.0.1:{port}" + ("" if transport == "udp" else f";transport={transport}")


async def until(predicate: Callable[[], Any], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


@dataclass
class World:
    registrar: Registrar
    client: UserAgent
    store: FakeStore
    transitions: list[tuple[int, str, list[dict[str, Any]]]]
    managers: list[RegistrationManager]

    def manager(self, clock: Callable[[], float] = time.monotonic, **timers: Any) -> RegistrationManager:
        values: dict[str, Any] = {"retry_initial": 0.1, "retry_max": 0.4, "batch_window": 0.02,
                                  "unregister_timeout": 1.0}
        values.update(timers)

        def on_transition(account_id: int, kind: str, items: list[dict[str, Any]]) -> None:
            self.transitions.append((account_id, kind, items))

        manager = RegistrationManager(self.client, self.store, on_transition,
                                      timers=RegistrationTimers(**values), clock=clock)
        self.managers.append(manager)
        return manager


@pytest_asyncio.fixture
async def world(tls_files) -> AsyncIterator[World]:
    registrar = Registrar({"100": "pw", "auth100": "pw2", "200": "pw"}, timers=FAST,
                          server_ssl=tls_files.server_context())
    await registrar.ua.start(udp=0, tcp=0, tls=0)
    client = UserAgent(timers=FAST, client_ssl=tls_files.client_context(), server_ssl=tls_files.server_context())
    await client.start(udp=0, tcp=0, tls=0)
    state = World(registrar, client, FakeStore(), [], [])
    try:
        yield state
    finally:
        for manager in state.managers:
            await manager.stop()
        await client.stop()
        await registrar.ua.stop()


# ------------------------------------------------------------------------------------------ registering


async def test_registers_with_digest_and_writes_status(world: World) -> None:
    world.store.regs[1] = make_reg(1, world.registrar.proxy())
    manager = world.manager()
    await manager.start()
    await until(lambda: world.store.last(1) == (True, 200, "", False))
    first, request = world.registrar.seen[0][1], world.registrar.authorized[0]
    assert first.uri == "sip:" + world.registrar.proxy()
    assert first.method == "REGISTER" and str(first.to.uri) == "sip:100@127.0.0.1"
    assert str(first.from_.uri) == "sip:100@127.0.0.1" and first.expires == 300
    assert 'username="100"' in (request.headers.get("Authorization") or "")
    contact = f"sip:100@127.0.0.1:{world.client.ports['udp']};{CONTACT_PARAM}=1"
    assert world.registrar.contacts() == [contact]
    assert world.store.writes[0] == (1, False, None, "registration in progress", True)
    assert world.transitions == []  # the first success is no transition
    assert manager.registrations[1]["successful"] is True


async def test_auth_user_and_tcp_contact(world: World) -> None:
    world.store.regs[1] = make_reg(1, world.registrar.proxy("tcp"), auth_user="auth100", password="pw2")
    await world.manager().start()
    await until(lambda: world.store.last(1) == (True, 200, "", False))
    assert 'username="auth100"' in (world.registrar.authorized[0].headers.get("Authorization") or "")
    assert world.registrar.seen[0][1].uri.endswith(";transport=tcp")
    port = world.client.ports["tcp"]
    assert world.registrar.contacts() == [f"sip:100@127.0.0.1:{port};transport=tcp;{CONTACT_PARAM}=1"]


async def test_sips_proxy_registers_over_tls_with_a_sips_contact(world: World) -> None:
    port = world.registrar.ua.ports["tls"]
    world.store.regs[1] = make_reg(1, f"sips:127.0.0.1:{port}")
    await world.manager().start()
    await until(lambda: world.store.last(1) == (True, 200, "", False))
    assert world.registrar.seen[0][1].uri == f"sips:127.0.0.1:{port}"
    tls = world.client.ports["tls"]
    assert world.registrar.contacts("sips:100@127.0.0.1") == [f"sips:100@127.0.0.1:{tls};{CONTACT_PARAM}=1"]


async def test_outbound_proxy_is_the_next_hop(world: World) -> None:
    # The proxy's name is never resolved: the REGISTER goes to the outbound proxy.
    world.store.regs[1] = make_reg(1, "pbx.invalid:5999", outbound_proxy=world.registrar.proxy())
    await world.manager().start()
    await until(lambda: world.store.last(1) == (True, 200, "", False))
    assert world.registrar.seen[0][1].uri == "sip:pbx.invalid:5999"
    assert world.registrar.contacts("sip:100@pbx.invalid") != []


async def test_refreshes_before_expiry_on_the_same_call_id(world: World) -> None:
    world.store.regs[1] = make_reg(1, world.registrar.proxy())
    await world.manager(expires=1, refresh_margin=30).start()  # granted 1 s: refresh at half of it
    await until(lambda: len(world.registrar.authorized) >= 3, timeout=3)
    registers = world.registrar.authorized
    assert len({r.call_id for r in registers}) == 1
    seqs = [r.cseq.seq for r in registers]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert world.transitions == []


async def test_interval_too_brief_asks_again_with_min_expires(world: World) -> None:
    def too_brief(request: Request) -> Response | None:
        if (request.expires or 0) < 600:
            return make_response(request, 423, to_tag="r1", headers=[("Min-Expires", "600")])
        return None

    world.registrar.hook = too_brief
    world.store.regs[1] = make_reg(1, world.registrar.proxy())
    await world.manager().start()
    await until(lambda: world.store.last(1) == (True, 200, "", False))
    assert [r.expires for _, r in world.registrar.seen] == [300, 600, 600]


# ------------------------------------------------------------------------------------------ failures


async def test_retries_with_backoff_and_reports_fail_then_recovered(world: World) -> None:
    world.registrar.refuse = [403, 403, 403]
    world.store.regs[1] = make_reg(1, world.registrar.proxy())
    await world.manager(retry_initial=0.1, retry_max=0.15).start()
    await until(lambda: world.store.last(1) == (True, 200, "", False), timeout=3)
    times = [t for t, _ in world.registrar.seen]
    gaps = [round(b - a, 2) for a, b in zip(times, times[1:], strict=False)][:3]
    assert gaps[0] >= 0.09 and gaps[1] >= 0.14 and gaps[2] >= 0.14  # 0.1, then doubled but capped
    assert gaps[2] < 0.5
    failures = [w for w in world.store.writes if w[0] == 1 and not w[4] and not w[1]]
    assert failures == [(1, False, 403, "Forbidden", False)] * 3
    await until(lambda: len(world.transitions) == 2)
    assert world.transitions == [
        (7, "sip_registration_fail", [{"sip_registration_id": 1, "status_code": "403", "error_message": "Forbidden"}]),
        (7, "sip_registration_recovered", [{"sip_registration_id": 1}]),
    ]


async def test_success_then_failure_is_a_transition_too(world: World) -> None:
    world.store.regs[1] = make_reg(1, world.registrar.proxy())
    await world.manager(expires=1).start()
    await until(lambda: world.store.last(1) == (True, 200, "", False))
    world.registrar.refuse = [500]
    await until(lambda: len(world.transitions) == 1, timeout=3)
    assert world.transitions[0][1] == "sip_registration_fail"
    assert world.transitions[0][2][0]["status_code"] == "500"
    await until(lambda: len(world.transitions) == 2, timeout=3)
    assert world.transitions[1] == (7, "sip_registration_recovered", [{"sip_registration_id": 1}])


async def test_wrong_password_fails_with_the_registrars_challenge(world: World) -> None:
    world.store.regs[1] = make_reg(1, world.registrar.proxy(), password="wrong")
    await world.manager().start()
    await until(lambda: world.store.last(1) is not None and world.store.last(1)[1] == 401)
    assert world.store.last(1) == (False, 401, "Unauthorized", False)
    await until(lambda: world.transitions)
    assert world.transitions[0][2] == [{"sip_registration_id": 1, "status_code": "401",
                                        "error_message": "Unauthorized"}]


async def test_no_answer_is_a_failure_and_says_where(world: World) -> None:
    port = free_port_pair()  # nobody listens there
    world.store.regs[1] = make_reg(1, f"127.0.0.1:{port}")
    await world.manager().start()
    await until(lambda: world.store.last(1) is not None and not world.store.last(1)[3], timeout=4)
    successful, status, message, _ = world.store.last(1)
    assert not successful and status in (408, 503)
    assert f"127.0.0.1:{port}" in message


async def test_unresolvable_proxy_is_a_failure(world: World) -> None:
    world.store.regs[1] = make_reg(1, "pbx.invalid")
    await world.manager().start()
    await until(lambda: world.store.last(1) is not None and not world.store.last(1)[3], timeout=10)
    successful, status, message, _ = world.store.last(1)
    assert (successful, status) == (False, 503) and "cannot resolve pbx.invalid" in message


async def test_registrations_of_one_account_failing_together_are_one_callback(world: World) -> None:
    world.registrar.refuse = [403, 403]
    world.store.regs[1] = make_reg(1, world.registrar.proxy())
    world.store.regs[2] = make_reg(2, world.registrar.proxy(), sip_username="200")
    await world.manager(batch_window=0.2, retry_initial=5).start()
    await until(lambda: world.transitions, timeout=2)
    await asyncio.sleep(0.05)
    assert len(world.transitions) == 1
    account, kind, items = world.transitions[0]
    assert (account, kind) == (7, "sip_registration_fail")
    assert sorted(item["sip_registration_id"] for item in items) == [1, 2]


# ------------------------------------------------------------------------------------------ letting go


async def test_delete_unregisters_and_change_registers_again(world: World) -> None:
    world.store.regs[1] = make_reg(1, world.registrar.proxy())
    world.store.regs[2] = make_reg(2, world.registrar.proxy(), sip_username="200")
    manager = world.manager()
    await manager.start()
    await until(lambda: world.registrar.contacts() and world.registrar.contacts("sip:200@127.0.0.1"))
    del world.store.regs[2]
    await manager.sync()
    await until(lambda: not world.registrar.contacts("sip:200@127.0.0.1"))
    assert any(r.expires == 0 for _, r in world.registrar.seen if r.to.uri.user == "200")
    assert manager.match_inbound("sip:200@127.0.0.1", "127.0.0.1") is None

    # A new sip_username: the old binding goes, the new one comes.
    world.store.regs[1] = make_reg(1, world.registrar.proxy(), sip_username="200")
    await manager.sync()
    await until(lambda: world.registrar.contacts("sip:200@127.0.0.1") and not world.registrar.contacts())
    assert world.store.last(1) == (True, 200, "", False)


async def test_deactivated_is_let_go(world: World) -> None:
    world.store.regs[1] = make_reg(1, world.registrar.proxy())
    manager = world.manager()
    await manager.start()
    await until(lambda: world.registrar.contacts())
    world.store.regs[1] = make_reg(1, world.registrar.proxy(), deactivated=True)
    await manager.sync()
    await until(lambda: not world.registrar.contacts())
    await until(lambda: world.store.last(1) == (False, None, "not registered: the registration is deactivated",
                                                 False))


async def test_non_persistent_registrations_are_left_alone(world: World) -> None:
    world.store.regs[1] = make_reg(1, world.registrar.proxy(), is_persistent=False)
    manager = world.manager()
    await manager.start()
    await asyncio.sleep(0.1)
    assert world.registrar.seen == [] and world.store.writes == []


async def test_stop_unregisters_everything(world: World) -> None:
    world.store.regs[1] = make_reg(1, world.registrar.proxy())
    world.store.regs[2] = make_reg(2, world.registrar.proxy("tcp"), sip_username="200")
    manager = world.manager()
    await manager.start()
    await until(lambda: world.registrar.contacts() and world.registrar.contacts("sip:200@127.0.0.1"))
    await manager.stop()
    assert world.registrar.contacts() == [] and world.registrar.contacts("sip:200@127.0.0.1") == []
    assert world.store.last(1) == world.store.last(2) == (False, None, STOPPED, False)
    await manager.sync()  # a stopped manager ignores changes
    assert manager.registrations == {}

    # Started again (a restart), it registers again.
    await manager.start()
    await until(lambda: world.registrar.contacts() and world.registrar.contacts("sip:200@127.0.0.1"))


# ------------------------------------------------------------------------------------------ inbound matching


def refuse_user(user: str) -> Callable[[Request], Response | None]:
    """A registrar hook answering 403 to every REGISTER of `user`."""
    return lambda request: make_response(request, 403, to_tag="r1") if request.to.uri.user == user else None


def settled(store: FakeStore, *reg_ids: int) -> Callable[[], bool]:
    """True once every registration's first attempt has an outcome."""
    return lambda: all((last := store.last(i)) is not None and last[1] is not None and not last[3] for i in reg_ids)


async def test_match_inbound_takes_registered_registrations_from_their_proxy_only(world: World) -> None:
    proxy = world.registrar.proxy()
    world.registrar.hook = refuse_user("300")
    world.store.regs.update({
        1: make_reg(1, proxy),
        2: make_reg(2, proxy, sip_username="200"),
        3: make_reg(3, proxy, sip_username="100"),
        4: make_reg(4, proxy, sip_username="300"),  # exists, never registered (403)
    })
    manager = world.manager(retry_initial=30)
    await manager.start()
    await until(settled(world.store, 1, 2, 3, 4))
    assert world.store.last(4) == (False, 403, "Forbidden", False)
    pbx = "127.0.0.1"
    assert manager.match_inbound(f"sip:100@127.0.0.1:5060;{CONTACT_PARAM}=3", pbx) == 3
    assert manager.match_inbound(f"sip:100;{CONTACT_PARAM}=3@127.0.0.1", pbx) == 3  # inside the user part
    assert manager.match_inbound("sip:100@127.0.0.1", pbx) == 1  # the lowest id of that sip_username
    assert manager.match_inbound("<sip:200@anything>", "::ffff:127.0.0.1") == 2
    # Not from the proxy: no registration, whatever the URI says.
    for uri in (f"sip:100@127.0.0.1;{CONTACT_PARAM}=1", "sip:100@127.0.0.1", "sip:200@anything"):
        assert manager.match_inbound(uri, "127.0.0.2") is None
        assert manager.match_inbound(uri, "10.0.0.1") is None
    # Never registered: nothing, not even from the proxy.
    assert manager.match_inbound(f"sip:300@127.0.0.1;{CONTACT_PARAM}=4", pbx) is None
    assert manager.match_inbound("sip:300@127.0.0.1", pbx) is None
    # A voxsim-reg naming another registration (or none) matches nothing, not the user part's one.
    assert manager.match_inbound(f"sip:100@127.0.0.1;{CONTACT_PARAM}=4", pbx) is None
    assert manager.match_inbound(f"sip:100@127.0.0.1;{CONTACT_PARAM}=99", pbx) is None
    assert manager.match_inbound("not a uri", pbx) is None
    assert manager.registrations[1]["registered"] is True and manager.registrations[4]["registered"] is False
    assert manager.registrations[1]["sources"] == ["127.0.0.1"]


async def test_a_binding_that_expired_takes_no_calls(world: World) -> None:
    now = [1000.0]
    world.store.regs[1] = make_reg(1, world.registrar.proxy())
    manager = world.manager(clock=lambda: now[0])
    await manager.start()
    await until(lambda: world.store.last(1) == (True, 200, "", False))
    contact = manager.registrations[1]["contact"].strip("<>")
    assert manager.match_inbound(contact, "127.0.0.1") == 1
    now[0] += 299  # within the expiry granted (300 s, counted from before the REGISTER was sent)
    assert manager.match_inbound(contact, "127.0.0.1") == 1
    now[0] += 2  # past it, and no refresh came (the manager's refresh timer runs on the loop's time)
    assert manager.match_inbound(contact, "127.0.0.1") is None


async def test_a_failed_refresh_takes_no_more_calls(world: World) -> None:
    world.store.regs[1] = make_reg(1, world.registrar.proxy())
    manager = world.manager(clock=lambda: 1000.0, expires=1, retry_initial=30)  # refreshed at 0.5 s; time stands
    await manager.start()
    await until(lambda: world.store.last(1) == (True, 200, "", False))
    contact = manager.registrations[1]["contact"].strip("<>")
    assert manager.match_inbound(contact, "127.0.0.1") == 1
    world.registrar.hook = refuse_user("100")
    await until(lambda: world.store.last(1) == (False, 403, "Forbidden", False))
    assert manager.match_inbound(contact, "127.0.0.1") is None


async def test_proxy_names_are_resolved_at_each_attempt(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    resolved: list[str] = []
    real = outbound_registrations._resolve

    async def counting(host: str, port: int) -> list[Any]:
        resolved.append(host)
        return await real(host, port)

    monkeypatch.setattr(outbound_registrations, "_resolve", counting)
    port = world.registrar.ua.ports["udp"]
    world.store.regs[1] = make_reg(1, f"localhost:{port}")
    world.store.regs[2] = make_reg(2, "localhost", sip_username="200", outbound_proxy=f"127.0.0.1:{port}")
    world.registrar.refuse = [403, 403]  # the first attempt of each fails; the retry resolves again
    manager = world.manager(retry_initial=0.02)
    await manager.start()
    await until(lambda: manager.registrations[1]["registered"] and manager.registrations[2]["registered"])
    assert resolved.count("localhost") == 4 and resolved.count("127.0.0.1") == 2  # two attempts of each
    assert "127.0.0.1" in manager.registrations[1]["sources"]
    assert manager.match_inbound("sip:100@x", "127.0.0.1") == 1
    assert manager.match_inbound("sip:200@x", "127.0.0.1") == 2  # the outbound proxy's address


# ------------------------------------------------------------------------------------------ targets


@pytest.mark.parametrize(("proxy", "outbound", "expected"), [
    ("pbx.example.com", "", ("sip:pbx.example.com", "sip:100@pbx.example.com", "udp", "pbx.example.com", 5060)),
    ("sip:10.0.0.1:5070;transport=tcp", "", ("sip:10.0.0.1:5070;transport=tcp", "sip:100@10.0.0.1", "tcp",
                                             "10.0.0.1", 5070)),
    ("sips:pbx.example.com", "", ("sips:pbx.example.com", "sips:100@pbx.example.com", "tls", "pbx.example.com",
                                  5061)),
    ("pbx.example.com;transport=TLS", "", ("sip:pbx.example.com;transport=tls", "sip:100@pbx.example.com",
                                           "tls", "pbx.example.com", 5061)),
    ("pbx.example.com", "10.0.0.2:5080", ("sip:pbx.example.com", "sip:100@pbx.example.com", "udp", "10.0.0.2",
                                          5080)),
    ("pbx.example.com;transport=tcp", "10.0.0.2", ("sip:pbx.example.com;transport=tcp",
                                                   "sip:100@pbx.example.com", "tcp", "10.0.0.2", 5060)),
    ("[2001:db8::1]:5062", "", ("sip:[2001:db8::1]:5062", "sip:100@[2001:db8::1]", "udp", "2001:db8::1", 5062)),
])
def test_target_of(proxy: str, outbound: str, expected: tuple[str, str, str, str, int]) -> None:
    target = target_of(make_reg(1, proxy, outbound_proxy=outbound, auth_user="a"))
    assert (target.request_uri, target.aor, target.transport, target.next_hop_host,
            target.next_hop_port) == expected
    assert target.auth == ("a", "pw")


def test_target_of_refuses_transports_without_a_client() -> None:
    with pytest.raises(TargetError):
        target_of(make_reg(1, "pbx.example.com;transport=ws"))
