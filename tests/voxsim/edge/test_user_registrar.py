"""The user registrar: digest REGISTER for application users, bindings, expiry; also through the edge."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from sip_edge.auth import DigestClient, pick_challenge
from sip_edge.dialog import build_request
from sip_edge.message import Request, Response
from sip_edge.transport import Address
from sip_edge.ua import UserAgent
from voxsim.app import Emulator
from voxsim.edge.router import InboundRouter
from voxsim.edge.settings import EdgeSettings
from voxsim.edge.user_registrar import UserRegistrar
from voxsim.routing import Refusal
from voxsim.runtime import RuntimeSettings
from voxsim.store import Store
from voxsim.testing import ephemeral_settings

SOURCE = Address("udp", "127.0.0.1", 5099)
PASSWORD = "Secret123"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store() -> Store:
    store = Store(":memory:")
    store.create_account(1, "acc", "a@example.org", "key")
    app = store.add_application(1, "app")
    store.add_user(1, app.application_id, "alice", "Alice", PASSWORD)
    store.add_user(1, app.application_id, "bob", "Bob", PASSWORD)
    store.add_user(1, app.application_id, "carol", "Carol", PASSWORD, user_active=False)
    return store


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def registrar(store: Store, clock: Clock) -> UserRegistrar:
    return UserRegistrar(store, min_expires=60, max_expires=3600, clock=clock)


DOMAIN = "app.acc.voximplant.com"


def register(registrar: UserRegistrar, contacts: tuple[str, ...] = ("<sip:alice@10.0.0.1:5062>",), *,
             user: str = "alice", expires: int | None = None, password: str | None = PASSWORD,
             auth_user: str | None = None, call_id: str = "reg-1", cseq: int = 1, domain: str = DOMAIN) -> Response:
    """Sends a REGISTER; answers a 401 once with the credentials given (None: does not)."""

    def build(number: int, extra: list[tuple[str, str]]):
        headers = [("Contact", c) for c in contacts] + extra
        if expires is not None:
            headers.append(("Expires", str(expires)))
        return build_request("REGISTER", f"sip:{domain}", from_addr=f"<sip:{user}@{domain}>",
                             to_addr=f"<sip:{user}@{domain}>", call_id=call_id, cseq=number, headers=headers,
                             sent_by="127.0.0.1:5099")

    first = registrar.handle(build(cseq, []), SOURCE)
    if first.status != 401 or password is None:
        return first
    value = DigestClient(auth_user or user, password).answer(first.headers.get_lines("WWW-Authenticate"),
                                                             "REGISTER", f"sip:{domain}")
    return registrar.handle(build(cseq + 1, [("Authorization", value)]), SOURCE)


def contacts(registrar: UserRegistrar, store: Store, user: str = "alice") -> dict[str, int]:
    app = store.find_application_by_domain(DOMAIN)
    return {b.contact: b.remaining(registrar.clock()) for b in registrar.contacts(app.application_id, user)}


def test_no_credentials_get_a_401_for_the_application_realm(registrar: UserRegistrar) -> None:
    response = register(registrar, password=None)
    assert response.status == 401
    challenge = response.headers.get("WWW-Authenticate")
    assert f'realm="{DOMAIN}"' in challenge and "algorithm=MD5" in challenge


def test_a_user_registers_and_is_found(registrar: UserRegistrar, store: Store) -> None:
    response = register(registrar, expires=600)
    assert response.status == 200
    assert response.headers.get("Contact") == "<sip:alice@10.0.0.1:5062>;expires=600"
    assert contacts(registrar, store) == {"sip:alice@10.0.0.1:5062": 600}
    binding = registrar.contacts(store.find_application_by_domain(DOMAIN).application_id, "alice")[0]
    assert binding.flow == SOURCE


def test_the_digest_user_may_carry_the_domain(registrar: UserRegistrar) -> None:
    assert register(registrar, auth_user=f"alice@{DOMAIN}").status == 200
    assert register(registrar, auth_user="alice@other.acc.voximplant.com").status == 403


@pytest.mark.parametrize(("user", "password", "auth_user"), [
    ("alice", "wrong", None),  # wrong password
    ("dave", PASSWORD, None),  # no such user
    ("carol", PASSWORD, None),  # inactive
    ("bob", PASSWORD, "alice"),  # alice's credentials for bob's address
])
def test_refused_with_403(registrar: UserRegistrar, user: str, password: str, auth_user: str | None) -> None:
    assert register(registrar, user=user, password=password, auth_user=auth_user).status == 403


def test_an_unknown_domain_is_404(registrar: UserRegistrar) -> None:
    assert register(registrar, domain="nope.acc.voximplant.com").status == 404
    assert register(registrar, domain="127.0.0.1").status == 404


def test_expiry_limits(registrar: UserRegistrar, store: Store) -> None:
    brief = register(registrar, expires=10)
    assert brief.status == 423 and brief.headers.get("Min-Expires") == "60"
    assert register(registrar, expires=99999).status == 200
    assert contacts(registrar, store) == {"sip:alice@10.0.0.1:5062": 3600}
    assert register(registrar, ("<sip:alice@10.0.0.1:5062>;expires=120",), call_id="x").status == 200
    assert contacts(registrar, store) == {"sip:alice@10.0.0.1:5062": 120}


def test_several_contacts_refresh_expire_and_unregister(registrar: UserRegistrar, store: Store, clock: Clock) -> None:
    register(registrar, ("<sip:alice@10.0.0.1:5062>", "<sip:alice@10.0.0.2:5062>;expires=100"), expires=300)
    assert contacts(registrar, store) == {"sip:alice@10.0.0.1:5062": 300, "sip:alice@10.0.0.2:5062": 100}
    clock.now += 150
    assert contacts(registrar, store) == {"sip:alice@10.0.0.1:5062": 150}
    response = register(registrar, ("<sip:alice@10.0.0.1:5062>",), expires=300, cseq=5)  # a refresh
    assert response.status == 200 and contacts(registrar, store) == {"sip:alice@10.0.0.1:5062": 300}
    register(registrar, ("<sip:alice@10.0.0.1:5062>",), expires=0, cseq=2)  # older than the refresh: ignored
    assert contacts(registrar, store) == {"sip:alice@10.0.0.1:5062": 300}
    register(registrar, ("<sip:alice@10.0.0.1:5062>",), expires=0, cseq=9)
    assert contacts(registrar, store) == {}


def test_wildcard_removes_every_binding(registrar: UserRegistrar, store: Store) -> None:
    register(registrar, ("<sip:alice@10.0.0.1:5062>", "<sip:alice@10.0.0.3:5062>"))
    assert register(registrar, ("*",), expires=60, call_id="w").status == 400
    assert register(registrar, ("*",), expires=0, call_id="w").status == 200
    assert contacts(registrar, store) == {} and registrar.bindings == {}


def test_bindings_of_a_deactivated_user_are_not_used(registrar: UserRegistrar, store: Store) -> None:
    register(registrar)
    user = store.find_user(store.find_application_by_domain(DOMAIN).application_id, "alice")
    store.set_user_info(1, user, {"user_active": False})
    assert contacts(registrar, store) == {}


def test_a_stale_nonce_is_challenged_again_with_stale(registrar: UserRegistrar, clock: Clock) -> None:
    first = register(registrar, password=None)
    value = DigestClient("alice", PASSWORD).answer(first.headers.get_lines("WWW-Authenticate"), "REGISTER",
                                                   f"sip:{DOMAIN}")
    clock.now += 3600
    request = build_request("REGISTER", f"sip:{DOMAIN}", from_addr=f"<sip:alice@{DOMAIN}>",
                            to_addr=f"<sip:alice@{DOMAIN}>", contact="<sip:alice@10.0.0.1>",
                            headers=[("Authorization", value)], sent_by="127.0.0.1:5099")
    again = registrar.handle(request, SOURCE)
    assert again.status == 401 and "stale=true" in again.headers.get("WWW-Authenticate")


def test_a_client_answering_the_stale_challenge_registers(registrar: UserRegistrar, clock: Clock) -> None:
    client = DigestClient("alice", PASSWORD)
    first = register(registrar, password=None)
    value = client.answer(first.headers.get_lines("WWW-Authenticate"), "REGISTER", f"sip:{DOMAIN}")
    clock.now += registrar.nonce_ttl + 1
    again = registrar.handle(register_request("<sip:alice@10.0.0.1>", value, cseq=2), SOURCE)
    assert again.status == 401 and "stale=true" in again.headers.get("WWW-Authenticate")
    fresh = client.answer(again.headers.get_lines("WWW-Authenticate"), "REGISTER", f"sip:{DOMAIN}")
    assert registrar.handle(register_request("<sip:alice@10.0.0.1>", fresh, cseq=3), SOURCE).status == 200


def test_a_configured_realm_and_algorithms(store: Store) -> None:
    registrar = UserRegistrar(store, realm="voxsim", algorithms=("SHA-256", "MD5"))
    response = register(registrar, password=None)
    assert [v.split("algorithm=")[1].split(",")[0] for v in response.headers.get_lines("WWW-Authenticate")] == [
        "SHA-256", "MD5"]
    assert 'realm="voxsim"' in response.headers.get("WWW-Authenticate")
    assert register(registrar).status == 200


async def test_register_through_the_running_edge(tmp_path: Path) -> None:
    emulator = Emulator(ephemeral_settings(tmp_path / "state", runtime=RuntimeSettings(pool_size=1)))
    await emulator.start()
    phone = UserAgent(user="alice")
    await phone.start(tcp=None)
    try:
        store, account = emulator.store, emulator.account
        app = store.add_application(account.account_id, "app")
        store.add_user(account.account_id, app.application_id, "alice", "Alice", PASSWORD)
        registrar_uri = f"sip:127.0.0.1:{emulator.listeners['sip_udp']['port']}"
        aor = f"sip:alice@{app.domain}"
        assert (await phone.register(registrar_uri, aor)).status == 401
        assert (await phone.register(registrar_uri, aor, auth=("alice", "wrong"))).status == 403
        ok = await phone.register(registrar_uri, aor, auth=("alice", PASSWORD), expires=120)
        assert ok.status == 200 and ok.contacts[0].expires == 120
        assert emulator.sip.registrar.contacts(app.application_id, "alice")[0].contact == phone.uri()
        gone = await phone.register(registrar_uri, aor, auth=("alice", PASSWORD), expires=0)
        assert gone.status == 200 and emulator.sip.registrar.contacts(app.application_id, "alice") == []
        allow = (await phone.request("OPTIONS", registrar_uri)).headers.get("Allow")
        assert "REGISTER" in allow and "INFO" in allow
    finally:
        await phone.stop()
        await emulator.stop()


# ------------------------------------------------------------------ replay, digest uri, password guessing

ATTACKER = Address("udp", "10.9.9.9", 5060)


def register_request(contact: str, authorization: str | None = None, *, user: str = "alice", call_id: str = "reg-1",
                     cseq: int = 1, uri: str = f"sip:{DOMAIN}") -> Request:
    headers = [("Authorization", authorization)] if authorization else []
    return build_request("REGISTER", uri, from_addr=f"<sip:{user}@{DOMAIN}>", to_addr=f"<sip:{user}@{DOMAIN}>",
                         contact=contact, call_id=call_id, cseq=cseq, headers=headers, sent_by="127.0.0.1:5099")


def www_challenge(registrar: UserRegistrar, source: Address = SOURCE) -> list[str]:
    response = registrar.handle(register_request("<sip:alice@10.0.0.1:5062>", call_id="probe"), source)
    assert response.status == 401
    return response.headers.get_lines("WWW-Authenticate")


def test_a_captured_register_replayed_with_another_contact_is_challenged_again(
        registrar: UserRegistrar, store: Store) -> None:
    phone = DigestClient("alice", PASSWORD)
    challenge = pick_challenge(www_challenge(registrar))
    captured = phone.authorization(challenge, "REGISTER", f"sip:{DOMAIN}")
    assert registrar.handle(register_request("<sip:alice@10.0.0.1:5062>", captured, cseq=2), SOURCE).status == 200
    replay = registrar.handle(register_request("<sip:evil@10.9.9.9>", captured, call_id="evil", cseq=7), ATTACKER)
    assert replay.status == 401 and "stale=true" in replay.headers.get("WWW-Authenticate")
    assert contacts(registrar, store) == {"sip:alice@10.0.0.1:5062": 3600}
    # the phone itself reuses the nonce with the next nc (RFC 7616 3.4): accepted
    refresh = phone.authorization(challenge, "REGISTER", f"sip:{DOMAIN}")
    assert "nc=00000002" in refresh
    assert registrar.handle(register_request("<sip:alice@10.0.0.1:5062>", refresh, cseq=3), SOURCE).status == 200


def test_a_digest_uri_for_another_request_uri_is_403(registrar: UserRegistrar, store: Store) -> None:
    value = DigestClient("alice", PASSWORD).answer(www_challenge(registrar), "REGISTER", "sip:other.acc.voximplant.com")
    response = registrar.handle(register_request("<sip:alice@10.0.0.1>", value, cseq=2), SOURCE)
    assert response.status == 403 and "digest uri" in response.reason
    assert contacts(registrar, store) == {}


def test_sipp_address_uri_is_accepted_unless_switched_off(store: Store) -> None:
    address = "sip:127.0.0.1:5060"  # SIPp's [authentication] writes the address it sends to
    for accept, expected in ((True, 200), (False, 403)):
        registrar = UserRegistrar(store, accept_address_uri=accept)
        value = DigestClient("alice", PASSWORD).answer(www_challenge(registrar), "REGISTER", address)
        assert registrar.handle(register_request("<sip:alice@10.0.0.1>", value, cseq=2), SOURCE).status == expected


class CountingStore:
    """The store, counting user look-ups: a password check looks the user up, a back-off refusal does not."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.lookups = 0

    def find_application_by_domain(self, domain: str) -> Any:
        return self.store.find_application_by_domain(domain)

    def find_user(self, application_id: int, user_name: str) -> Any:
        self.lookups += 1
        return self.store.find_user(application_id, user_name)


def attempt(registrar: UserRegistrar, source: Address, password: str, user: str = "alice") -> Response:
    # A blocked source gets no challenge either; nonces are not bound to an address, so the nonce comes from
    # elsewhere (as an attacker would keep one from before the block).
    challenge = www_challenge(registrar, Address("udp", "192.0.2.1", 5060))
    value = DigestClient(user, password).answer(challenge, "REGISTER", f"sip:{DOMAIN}")
    return registrar.handle(register_request(f"<sip:{user}@{source.host}>", value, user=user, cseq=2), source)


def test_twenty_wrong_passwords_block_the_source_until_the_window_ends(
        store: Store, clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    counting = CountingStore(store)
    registrar = UserRegistrar(counting, failures_per_source=5, failures_per_user=25, failure_window=30, clock=clock)
    caplog.set_level(logging.WARNING, logger="voxsim.edge.user_registrar")
    answers = [attempt(registrar, ATTACKER, f"guess{n}") for n in range(20)]
    assert [a.reason for a in answers[:5]] == ["Forbidden - wrong user name or password"] * 5
    assert all(a.status == 403 and "too many failed attempts" in a.reason for a in answers[5:])
    assert counting.lookups == 5  # the last 15 were refused without a look at the password
    clock.now += 29
    right = attempt(registrar, ATTACKER, PASSWORD)
    assert right.status == 403 and "try again in 1 s" in right.reason
    assert counting.lookups == 5
    assert attempt(registrar, SOURCE, PASSWORD).status == 200  # another source (alice's phone) is unaffected
    refusals = [r for r in caplog.records if "refusing" in r.getMessage()]
    assert len(refusals) == 1 and "source 10.9.9.9" in refusals[0].getMessage()
    clock.now += 1  # the window has passed
    assert attempt(registrar, ATTACKER, PASSWORD).status == 200


def test_unknown_users_count_against_the_source(store: Store, clock: Clock) -> None:
    registrar = UserRegistrar(store, failures_per_source=3, clock=clock)
    for name in ("mallory", "trent", "eve"):
        assert attempt(registrar, ATTACKER, "x", user=name).reason == "Forbidden - wrong user name or password"
    assert "too many" in attempt(registrar, ATTACKER, PASSWORD).reason
    # a request without credentials from the blocked source is refused as well, not challenged
    assert registrar.handle(register_request("<sip:alice@10.9.9.9>"), ATTACKER).status == 403


def test_wrong_passwords_from_many_sources_block_the_user(store: Store, clock: Clock) -> None:
    registrar = UserRegistrar(store, failures_per_source=0, failures_per_user=3, failure_window=60, clock=clock)
    sources = [Address("udp", f"10.0.1.{n}", 5060) for n in range(1, 5)]
    attempt(registrar, sources[0], "a")
    attempt(registrar, sources[1], "b")
    assert attempt(registrar, sources[2], PASSWORD).status == 200  # a success clears the user's count
    for source in sources[:3]:
        assert attempt(registrar, source, "wrong").reason == "Forbidden - wrong user name or password"
    blocked = attempt(registrar, sources[3], PASSWORD)
    assert blocked.status == 403 and "too many failed attempts" in blocked.reason
    assert attempt(registrar, sources[3], PASSWORD, user="bob").status == 200  # bob is another user
    clock.now += 60
    assert attempt(registrar, sources[3], PASSWORD).status == 200


# ------------------------------------------------------------------ a user's INVITE (through the router)

@pytest.fixture
def router(store: Store, registrar: UserRegistrar) -> InboundRouter:
    app = store.find_application_by_domain(DOMAIN)
    scenario = store.add_scenario(1, "s", "VoxEngine.terminate();", application_id=app.application_id)
    store.add_rule(1, app.application_id, "all", ".*", scenario_ids=[scenario.scenario_id])
    return InboundRouter(store, registrar, EdgeSettings())


def invite(dialed: str, authorization: str | None = None, *, call_id: str = "call-1", cseq: int = 1) -> Request:
    headers = [("Proxy-Authorization", authorization)] if authorization else []
    return build_request("INVITE", f"sip:{dialed}@{DOMAIN}", from_addr=f"<sip:alice@{DOMAIN}>;tag=a",
                         to_addr=f"<sip:{dialed}@{DOMAIN}>", contact="<sip:alice@10.0.0.1>", call_id=call_id,
                         cseq=cseq, headers=headers, sent_by="10.0.0.1:5060")


def refusal(router: InboundRouter, request: Request, source: Address = SOURCE) -> Refusal:
    with pytest.raises(Refusal) as refused:
        router.classify(request, source)
    return refused.value


def proxy_challenge(router: InboundRouter, source: Address = SOURCE) -> list[str]:
    challenge = refusal(router, invite("5000", call_id="probe"), source)
    assert challenge.status == 407
    return [value for name, value in challenge.headers if name == "Proxy-Authenticate"]


def test_a_captured_invite_authorization_places_no_other_call(router: InboundRouter) -> None:
    captured = DigestClient("alice", PASSWORD).answer(proxy_challenge(router), "INVITE", f"sip:5000@{DOMAIN}")
    assert router.classify(invite("5000", captured), SOURCE).destination == "5000"
    elsewhere = refusal(router, invite("6000", captured, call_id="evil"), ATTACKER)
    assert elsewhere.status == 403 and "digest uri" in elsewhere.reason
    again = refusal(router, invite("5000", captured, call_id="evil-2"), ATTACKER)  # same destination, new Call-ID
    assert again.status == 407
    assert any("stale=true" in value for name, value in again.headers if name == "Proxy-Authenticate")


def test_an_intercepted_invite_answer_cannot_be_redirected(router: InboundRouter) -> None:
    """The uri check on its own: an answer never delivered (nc unused) sent with another Request-URI."""
    intercepted = DigestClient("alice", PASSWORD).answer(proxy_challenge(router), "INVITE", f"sip:5000@{DOMAIN}")
    assert refusal(router, invite("6000", intercepted), ATTACKER).status == 403
    assert router.classify(invite("5000", intercepted), SOURCE).destination == "5000"


def test_wrong_invite_passwords_block_the_source(store: Store, clock: Clock) -> None:
    registrar = UserRegistrar(store, failures_per_source=2, clock=clock)
    app = store.find_application_by_domain(DOMAIN)
    scenario = store.add_scenario(1, "s", "VoxEngine.terminate();", application_id=app.application_id)
    store.add_rule(1, app.application_id, "all", ".*", scenario_ids=[scenario.scenario_id])
    router = InboundRouter(store, registrar, EdgeSettings())

    def call(password: str, source: Address) -> Refusal | None:
        value = DigestClient("alice", password).answer(proxy_challenge(router, source), "INVITE",
                                                       f"sip:5000@{DOMAIN}")
        try:
            router.classify(invite("5000", value), source)
        except Refusal as refused:
            return refused
        return None

    assert [call("x", ATTACKER).reason for _ in range(2)] == ["Forbidden - wrong user name or password"] * 2
    blocked = refusal(router, invite("5000", call_id="probe"), ATTACKER)
    assert blocked.status == 403 and "too many failed attempts" in blocked.reason
    assert call(PASSWORD, SOURCE) is None


async def test_a_replayed_register_through_the_running_edge(tmp_path: Path) -> None:
    emulator = Emulator(ephemeral_settings(tmp_path / "state", runtime=RuntimeSettings(pool_size=1)))
    await emulator.start()
    phone = UserAgent(user="alice")
    await phone.start(tcp=None)
    try:
        store, account = emulator.store, emulator.account
        app = store.add_application(account.account_id, "app")
        store.add_user(account.account_id, app.application_id, "alice", "Alice", PASSWORD)
        edge = Address("udp", "127.0.0.1", emulator.listeners["sip_udp"]["port"])
        local = phone.transport.local_address("udp")
        assert local is not None
        uri = f"sip:{app.domain}"

        def request(contact: str, authorization: str | None, call_id: str, cseq: int) -> Request:
            headers = [("Authorization", authorization)] if authorization else []
            return build_request("REGISTER", uri, from_addr=f"<sip:alice@{app.domain}>;tag=t",
                                 to_addr=f"<sip:alice@{app.domain}>", contact=contact, call_id=call_id, cseq=cseq,
                                 headers=headers, sent_by=f"127.0.0.1:{local[1]}")

        first = await phone.transact(request(phone.contact(), None, "r1", 1), edge)
        value = DigestClient("alice", PASSWORD).answer(first.headers.get_lines("WWW-Authenticate"), "REGISTER", uri)
        assert (await phone.transact(request(phone.contact(), value, "r1", 2), edge)).status == 200
        replay = await phone.transact(request("<sip:evil@10.9.9.9>", value, "evil", 1), edge)
        assert replay.status == 401 and "stale=true" in replay.headers.get("WWW-Authenticate")
        assert [b.contact for b in emulator.sip.registrar.contacts(app.application_id, "alice")] == [phone.uri()]
    finally:
        await phone.stop()
        await emulator.stop()


def test_the_registrar_the_settings_describe(store: Store, clock: Clock) -> None:
    settings = EdgeSettings(digest_nonce_ttl=5, auth_failures_per_source=1, auth_failure_window=9,
                            digest_accept_address_uri=False)
    registrar = UserRegistrar.from_settings(store, settings, clock=clock)
    assert (registrar.nonce_ttl, registrar.accept_address_uri, registrar.max_contacts) == (5, False, 10)
    attempt(registrar, ATTACKER, "wrong")
    assert "try again in 9 s" in attempt(registrar, ATTACKER, PASSWORD).reason


# ------------------------------------------------------------------------------------------ contacts per user


def phones(*hosts: int, expires: int | None = None) -> tuple[str, ...]:
    suffix = f";expires={expires}" if expires is not None else ""
    return tuple(f"<sip:alice@10.0.1.{host}:5062>{suffix}" for host in hosts)


def test_a_register_beyond_the_cap_replaces_the_bindings_closest_to_expiry(store: Store, clock: Clock) -> None:
    registrar = UserRegistrar(store, max_contacts=3, clock=clock)
    register(registrar, phones(1), expires=600, call_id="p1")
    register(registrar, phones(2), expires=300, call_id="p2")
    register(registrar, phones(3), expires=900, call_id="p3")
    response = register(registrar, phones(4), expires=600, call_id="p4")
    assert response.status == 200 and len(response.headers.get_all("Contact")) == 3
    assert set(contacts(registrar, store)) == {"sip:alice@10.0.1.1:5062", "sip:alice@10.0.1.3:5062",
                                               "sip:alice@10.0.1.4:5062"}  # 10.0.1.2 expired soonest
    # A refresh of a binding it holds replaces nothing; two new ones in one REGISTER replace two.
    register(registrar, phones(1), expires=600, call_id="p1", cseq=5)
    assert len(contacts(registrar, store)) == 3
    register(registrar, phones(5, 6), expires=600, call_id="p5")
    assert set(contacts(registrar, store)) == {"sip:alice@10.0.1.5:5062", "sip:alice@10.0.1.6:5062",
                                               "sip:alice@10.0.1.3:5062"}  # the 900 s one outlived 1 and 4


def test_a_register_asking_more_contacts_than_the_cap_is_403(store: Store, clock: Clock) -> None:
    registrar = UserRegistrar(store, max_contacts=3, clock=clock)
    register(registrar, phones(1))
    response = register(registrar, phones(2, 3, 4, 5), call_id="many")
    assert response.status == 403 and "more than 3 contacts" in response.reason
    assert list(contacts(registrar, store)) == ["sip:alice@10.0.1.1:5062"]  # nothing changed
    # Removing (expires=0) does not count against the cap.
    assert register(registrar, phones(1, expires=0) + phones(2, 3, 4), call_id="swap").status == 200
    assert sorted(contacts(registrar, store)) == ["sip:alice@10.0.1.2:5062", "sip:alice@10.0.1.3:5062",
                                                  "sip:alice@10.0.1.4:5062"]


def test_a_flood_of_contacts_keeps_the_default_cap_and_a_small_answer(store: Store, clock: Clock) -> None:
    registrar = UserRegistrar(store, clock=clock)  # 1,200 were accepted before the cap; the 200 OK reached 60 KB
    for host in range(200):
        response = register(registrar, (f"<sip:alice@10.0.{host // 250}.{host % 250}:5062>",), call_id=f"f{host}")
        assert response.status == 200
        clock.now += 1
    assert len(contacts(registrar, store)) == EdgeSettings.max_contacts_per_user == 10
    assert len(response.headers.get_all("Contact")) == 10 and len(response.to_bytes()) < 2000
    assert "sip:alice@10.0.0.199:5062" in contacts(registrar, store)  # the newest phone is among them


def test_no_cap_with_zero(store: Store, clock: Clock) -> None:
    registrar = UserRegistrar(store, max_contacts=0, clock=clock)
    assert register(registrar, phones(*range(1, 31))).status == 200
    assert len(contacts(registrar, store)) == 30
