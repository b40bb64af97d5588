"""The user registrar: digest REGISTER for application users, bindings, expiry; also through the edge."""

from __future__ import annotations

from pathlib import Path

import pytest

from sip_edge.auth import DigestClient
from sip_edge.dialog import build_request
from sip_edge.message import Response
from sip_edge.transport import Address
from sip_edge.ua import UserAgent
from voxsim.app import Emulator
from voxsim.edge.user_registrar import UserRegistrar
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
