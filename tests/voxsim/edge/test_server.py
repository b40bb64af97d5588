"""SipEdge on ephemeral ports: the bare edge's honest answers, then routing INVITEs to scenario sessions (trunks,
users, SIP registrations) in the running emulator, with our UserAgent as the PBX or phone."""

from __future__ import annotations

import asyncio
import itertools
import socket
from pathlib import Path
from typing import Any

import pytest

from sip_edge.auth import DigestClient
from sip_edge.message import parse_message
from sip_edge.transaction import TimerConfig
from sip_edge.transport import Address, free_port_pair
from sip_edge.ua import CallFailed, InviteDialog, InviteHandle, UserAgent
from voxsim.app import Emulator
from voxsim.edge.server import SipEdge
from voxsim.runtime import RuntimeSettings, Session
from voxsim.store.sip_registrations import BindRequest

from .conftest import start_edge_emulator


@pytest.fixture
async def edge(tls_files):
    sip_edge = SipEdge("127.0.0.1", 0, 0, tls_files.server_context())
    await sip_edge.start()
    yield sip_edge
    await sip_edge.stop()


@pytest.fixture
async def phone(tls_files):
    ua = UserAgent(client_ssl=tls_files.client_context(), user="phone")
    await ua.start()
    yield ua
    await ua.stop()


def url(edge: SipEdge, listener: str) -> str:
    return edge.listeners[listener]["url"]


async def test_start_reports_the_listeners(edge: SipEdge) -> None:
    udp, tcp, tls = (edge.listeners[name] for name in ("sip_udp", "sip_tcp", "sip_tls"))
    assert udp["port"] == tcp["port"] > 0 and tls["port"] > 0
    assert udp["url"] == f"sip:127.0.0.1:{udp['port']};transport=udp"
    assert tcp["url"] == f"sip:127.0.0.1:{tcp['port']};transport=tcp"
    assert tls["url"] == f"sips:127.0.0.1:{tls['port']}"
    assert udp["host"] == "127.0.0.1"


@pytest.mark.parametrize("listener", ["sip_udp", "sip_tcp", "sip_tls"])
async def test_options_answered_200(edge: SipEdge, phone: UserAgent, listener: str) -> None:
    response = await phone.request("OPTIONS", url(edge, listener))
    assert response.status == 200
    assert "OPTIONS" in response.headers.get("Allow") and "INVITE" in response.headers.get("Allow")
    assert response.headers.get("Accept") == "application/sdp"
    assert "Supported" in response.headers


async def test_malformed_datagram_gets_400_and_the_edge_keeps_serving(edge: SipEdge, phone: UserAgent) -> None:
    port = edge.listeners["sip_udp"]["port"]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        bad = (
            b"OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKx;rport\r\n"
            b"From: <sip:a@test>;tag=1\r\nTo: <sip:b@test>\r\nCall-ID: bad@test\r\nCSeq: 1 OPTIONS\r\n"
            b"Max-Forwards: many\r\nContent-Length: 0\r\n\r\n"
        )
        sock.sendto(bad, ("127.0.0.1", port))
        answer = parse_message(await asyncio.wait_for(asyncio.get_running_loop().sock_recv(sock, 65535), 2))
        assert answer.status == 400 and "Max-Forwards" in answer.reason
        assert answer.call_id == "bad@test" and answer.top_via.rport == sock.getsockname()[1]
        sock.sendto(b"\x16\x03\x01 not sip at all", ("127.0.0.1", port))  # dropped: nothing to answer
    assert (await phone.request("OPTIONS", url(edge, "sip_udp"))).status == 200


@pytest.mark.parametrize("listener", ["sip_udp", "sip_tcp", "sip_tls"])
async def test_invite_gets_100_then_404_saying_routing_is_not_emulated(
    edge: SipEdge, phone: UserAgent, listener: str
) -> None:
    seen: list[int] = []
    target = url(edge, listener).replace("sip:", "sip:alice@", 1).replace("sips:", "sips:alice@", 1)
    with pytest.raises(CallFailed) as failure:
        await phone.invite(target, on_provisional=lambda response: seen.append(response.status))
    response = failure.value.response
    assert seen == [100]
    assert response.status == 404 and "not emulated" in response.reason
    assert "call routing is not emulated yet" in response.headers.get("Warning")


async def test_other_requests_get_honest_final_responses(edge: SipEdge, phone: UserAgent) -> None:
    udp = url(edge, "sip_udp")
    register = await phone.register(udp, "sip:alice@127.0.0.1")
    assert register.status == 501 and "registration is not emulated" in register.reason
    assert (await phone.request("BYE", udp)).status == 481
    unknown = await phone.request("FROB", udp)
    # Outside a dialog the Allow says what is served there (BYE, UPDATE get 481 there: they are a call's).
    assert unknown.status == 501 and unknown.headers.get("Allow") == "INVITE, ACK, CANCEL, OPTIONS"
    message = await phone.request("MESSAGE", udp, body=b"hi", content_type="text/plain")
    assert message.status == 501 and "MESSAGE" not in message.headers.get("Allow")
    assert (await phone.request("INFO", udp)).status == 481


async def test_cancel_without_a_matching_invite_gets_481(edge: SipEdge, phone: UserAgent) -> None:
    assert (await phone.request("CANCEL", url(edge, "sip_udp"))).status == 481


async def test_a_handler_takes_the_calls(tls_files, phone: UserAgent) -> None:
    calls: list[InviteDialog] = []

    async def handler(call: InviteDialog) -> None:
        calls.append(call)
        call.ring()
        call.answer()

    edge = SipEdge("127.0.0.1", 0, 0, tls_files.server_context(), handler=handler)
    await edge.start()
    try:
        call = await phone.invite(url(edge, "sip_tcp").replace("sip:", "sip:bob@", 1))
        assert call.response.status == 200 and len(calls) == 1
        assert (await call.bye()).status == 200
        assert await calls[0].wait_ended(2) == "remote BYE"
    finally:
        await edge.stop()


async def test_fixed_ports_without_tls() -> None:
    port = free_port_pair()
    edge = SipEdge("127.0.0.1", port, 0, None)
    listeners = await edge.start()
    try:
        assert set(listeners) == {"sip_udp", "sip_tcp"}
        assert listeners["sip_udp"]["port"] == listeners["sip_tcp"]["port"] == port
    finally:
        await edge.stop()
    # stop() released the ports: a second edge can bind them again.
    again = SipEdge("127.0.0.1", port, 0, None)
    await again.start()
    await again.stop()


async def test_port_zero_retries_when_tcp_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    from sip_edge import transport as transport_module

    taken: list[int] = []
    squatter = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    real_listen_udp = transport_module.SipTransport.listen_udp

    async def listen_udp_then_squat_tcp(self, host: str, port: int = 0) -> int:
        bound = await real_listen_udp(self, host, port)
        if not taken:  # the first time, someone else holds the same TCP port
            taken.append(bound)
            try:
                squatter.bind(("127.0.0.1", bound))
                squatter.listen()
            except OSError:
                pass  # already taken by some other TCP socket: just as good
        return bound

    monkeypatch.setattr(transport_module.SipTransport, "listen_udp", listen_udp_then_squat_tcp)
    edge = SipEdge("127.0.0.1", 0, 0, None)
    try:
        listeners = await edge.start()
        assert listeners["sip_udp"]["port"] == listeners["sip_tcp"]["port"] != taken[0]
    finally:
        await edge.stop()
        squatter.close()


async def test_a_fixed_port_in_use_is_an_error() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        edge = SipEdge("127.0.0.1", port, 0, None)
        with pytest.raises(OSError):
            await edge.start()
        assert edge.ua is None


async def test_requests_reach_the_edge_over_tls_with_the_connection_reused(edge: SipEdge, phone: UserAgent) -> None:
    for _ in range(3):
        assert (await phone.request("OPTIONS", url(edge, "sip_tls"))).status == 200
    tls = [address for address in phone.transport.connections if address.transport == "tls"]
    assert tls == [Address("tls", "127.0.0.1", edge.listeners["sip_tls"]["port"])]



# ------------------------------------------------------------------------------------------ routing to sessions
# The running emulator (store, runtime, sessions) with our UserAgent as the PBX, trunk or phone.

FAST = RuntimeSettings(pool_size=1, alerting_timeout=5.0, session_idle_timeout=5.0, outbound_answer_timeout=5.0)
_names = itertools.count(1)

ANSWER_THEN_HANG_UP = r"""
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  e.call.addEventListener(CallEvents.Connected, () => setTimeout(() => e.call.hangup({"X-Bye": "1"}), 200));
  e.call.addEventListener(CallEvents.Disconnected, () => VoxEngine.terminate());
  e.call.answer();
});
"""


async def start_emulator(tmp_path: Path, runtime: RuntimeSettings = FAST, **edge: Any) -> Emulator:
    return await start_edge_emulator(tmp_path, runtime, **edge)


@pytest.fixture
async def emulator(tmp_path: Path):
    em = await start_emulator(tmp_path)
    yield em
    await em.stop()


@pytest.fixture
async def pbx():
    ua = UserAgent(user="pbx", timers=TimerConfig(trying_delay=0))
    await ua.start(tcp=None)
    yield ua
    await ua.stop()


def provision(em: Emulator, script: str | None = ANSWER_THEN_HANG_UP, *, pattern: str = ".*",
              app_name: str = "app") -> tuple[Any, Any]:
    store, account_id = em.store, em.account.account_id
    app = store.find_application(account_id, application_name=app_name) or store.add_application(account_id, app_name)
    ids = []
    if script is not None:
        scenario = store.add_scenario(account_id, f"s{next(_names)}", script, application_id=app.application_id)
        ids = [scenario.scenario_id]
    rule = store.add_rule(account_id, app.application_id, f"rule{next(_names)}", pattern, scenario_ids=ids)
    return app, rule


def edge_address(em: Emulator, transport: str = "udp") -> Address:
    return Address(transport, "127.0.0.1", em.listeners[f"sip_{transport}"]["port"])


def all_sessions(em: Emulator) -> list[Session]:
    assert em.runtime is not None
    found = {s.session_id: s for s in em.runtime.live_sessions()}
    found.update(em.runtime._finished)
    return [found[k] for k in sorted(found)]


async def last_session(em: Emulator, timeout: float = 3.0) -> Session:
    for _ in range(int(timeout / 0.02)):
        sessions = all_sessions(em)
        if sessions:
            return sessions[-1]
        await asyncio.sleep(0.02)
    raise AssertionError("no session started")


async def call_edge(em: Emulator, ua: UserAgent, uri: str, transport: str = "udp", **kwargs: Any) -> InviteDialog:
    return await ua.invite(uri, dest=edge_address(em, transport), **kwargs)


async def refused(em: Emulator, ua: UserAgent, uri: str, **kwargs: Any):
    with pytest.raises(CallFailed) as failure:
        await call_edge(em, ua, uri, **kwargs)
    return failure.value.response


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_trunk_call_runs_the_rule_and_the_scenario_hangs_up(emulator: Emulator, pbx: UserAgent,
                                                                   transport: str) -> None:
    app, _ = provision(emulator, pattern=r"\+?1\d+")
    if transport == "tcp":
        await pbx.transport.listen_tcp("127.0.0.1", 0)
    call = await call_edge(emulator, pbx, f"sip:+15550001@{app.domain}", transport,
                           from_addr='"Big PBX" <sip:+15557654321@pbx.example;user=phone>',
                           headers=[("X-Trunk", "a"), ("User-to-User", "0102"), ("P-Private", "no")])
    assert await call.wait_ended(3) == "remote BYE"
    session = await last_session(emulator)
    alerting = await session.wait_for_event("Application.CallAlerting")
    assert alerting["data"] | {"scheme": None} == {
        "callerid": "+15557654321", "displayName": "Big PBX", "destination": "+15550001",
        "fromURI": "sip:+15557654321@pbx.example;user=phone", "toURI": f"sip:+15550001@{app.domain}",
        "headers": {"X-Trunk": "a", "User-to-User": "0102"}, "scheme": None, "customData": ""}
    snapshot = session.snapshot()["calls"][0]
    assert snapshot["client_type"] == "sip" and snapshot["code"] == 200
    await session.wait_finished(3)


async def test_allow_says_what_each_context_accepts(emulator: Emulator, pbx: UserAgent) -> None:
    app, _ = provision(emulator)
    call = await call_edge(emulator, pbx, f"sip:1@{app.domain}")
    in_call = call.response.headers.get("Allow")
    assert "REFER" in in_call and "PRACK" in in_call and "REGISTER" not in in_call  # a call's methods only
    await call.wait_ended(3)
    edge_uri = f"sip:127.0.0.1:{emulator.listeners['sip_udp']['port']}"
    outside = await pbx.request("SUBSCRIBE", edge_uri)
    assert outside.status == 501 and outside.headers.get("Allow") == "INVITE, ACK, CANCEL, OPTIONS, REGISTER"
    everything = (await pbx.request("OPTIONS", edge_uri)).headers.get("Allow")
    assert "REGISTER" in everything and "UPDATE" in everything


async def test_the_id_form_of_the_request_uri_routes_too(emulator: Emulator, pbx: UserAgent) -> None:
    app, _ = provision(emulator)
    call = await call_edge(emulator, pbx, f"sip:{app.application_id}%23{emulator.account.account_id}%23777"
                                          "@sip.voximplant.com")
    await call.wait_ended(3)
    alerting = await (await last_session(emulator)).wait_for_event("Application.CallAlerting")
    assert alerting["data"]["destination"] == "777"


async def test_unknown_address_no_rule_and_no_scenario_are_404(emulator: Emulator, pbx: UserAgent) -> None:
    app, _ = provision(emulator, pattern="1.*")
    assert (await refused(emulator, pbx, "sip:1@nowhere.voxsim.voximplant.com")).status == 404
    assert (await refused(emulator, pbx, "sip:1@127.0.0.1")).status == 404
    huge = "99999999999999999999999"  # beyond SQLite's integers: an unknown id like any other
    assert (await refused(emulator, pbx, f"sip:{huge}#{huge}#100@sip.voximplant.com")).status == 404
    no_rule = await refused(emulator, pbx, f"sip:2@{app.domain}")
    assert no_rule.status == 404 and "no rule" in no_rule.reason
    provision(emulator, None, pattern="3.*")
    assert (await refused(emulator, pbx, f"sip:3@{app.domain}")).status == 404
    assert all_sessions(emulator) == []


async def test_a_source_outside_the_white_list_is_403(emulator: Emulator, pbx: UserAgent) -> None:
    app, _ = provision(emulator)
    account_id = emulator.account.account_id
    for item in emulator.store.list_whitelist(account_id):
        emulator.store.del_whitelist_item(account_id, item.sip_whitelist_id)
    response = await refused(emulator, pbx, f"sip:1@{app.domain}")
    assert response.status == 403 and "white list" in response.reason
    emulator.store.add_whitelist_item(account_id, "127.0.0.1/32")
    call = await call_edge(emulator, pbx, f"sip:1@{app.domain}")
    await call.wait_ended(3)


async def test_a_scenario_failing_before_answer_is_500(emulator: Emulator, pbx: UserAgent) -> None:
    app, _ = provision(emulator, "VoxEngine.addEventListener(AppEvents.CallAlerting, () => { throw new Error('x'); });")
    assert (await refused(emulator, pbx, f"sip:1@{app.domain}")).status == 500
    app2, _ = provision(emulator, "this is not javascript", app_name="broken")
    assert (await refused(emulator, pbx, f"sip:1@{app2.domain}")).status == 500


async def test_not_answered_in_time_is_480(tmp_path: Path, pbx: UserAgent) -> None:
    em = await start_emulator(tmp_path, RuntimeSettings(pool_size=1, alerting_timeout=0.4))
    try:
        app, _ = provision(em, "VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => e.call.ring());")
        provisional: list[int] = []
        response = await refused(em, pbx, f"sip:1@{app.domain}",
                                 on_provisional=lambda r: provisional.append(r.status))
        assert response.status == 480 and 180 in provisional
    finally:
        await em.stop()


async def test_reject_sends_the_code_with_x_headers(emulator: Emulator, pbx: UserAgent) -> None:
    app, _ = provision(emulator, 'VoxEngine.addEventListener(AppEvents.CallAlerting, '
                                 '(e) => e.call.reject(486, {"X-Reason": "busy", "Server": "no"}));')
    response = await refused(emulator, pbx, f"sip:1@{app.domain}")
    assert response.status == 486 and response.headers.get("X-Reason") == "busy"
    assert response.headers.get("Server") is None


async def test_cancel_before_answer_is_disconnected_487(emulator: Emulator, pbx: UserAgent) -> None:
    app, _ = provision(emulator, r"""
      VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
        e.call.addEventListener(CallEvents.Disconnected,
                                (d) => Logger.write("gone " + d.internalCode + " " + d.reason));
        e.call.ring();
      });""")
    handle = InviteHandle()
    task = asyncio.ensure_future(call_edge(emulator, pbx, f"sip:1@{app.domain}", handle=handle,
                                           on_provisional=lambda r: r.status == 180 and handle.cancel()))
    with pytest.raises(CallFailed) as failure:
        await task
    assert failure.value.response.status == 487
    session = await last_session(emulator)
    await session.wait_until(lambda: any("gone 487 Request Terminated" in line for line in session.log.lines))


async def test_messages_between_caller_and_scenario(emulator: Emulator, pbx: UserAgent) -> None:
    app, _ = provision(emulator, r"""
      VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
        e.call.handleTones(true);
        e.call.addEventListener(CallEvents.MessageReceived, (m) => e.call.sendMessage("echo " + m.text));
        e.call.addEventListener(CallEvents.InfoReceived, (i) => e.call.sendInfo(i.mimeType, i.body, {"X-Echo": "1"}));
        e.call.addEventListener(CallEvents.ToneReceived, (t) => e.call.sendMessage("tone " + t.tone + " " + t.type));
        e.call.answer();
      });""")
    call = await call_edge(emulator, pbx, f"sip:1@{app.domain}")
    seen: list[Any] = []
    call.on_request = seen.append
    await call.request("MESSAGE", body=b"hi", content_type="text/plain")
    await call.request("INFO", body=b"x=1", content_type="application/x-test")
    await call.request("INFO", body=b"Signal=9\r\nDuration=100\r\n", content_type="application/dtmf-relay")
    for _ in range(100):
        if len(seen) >= 3:
            break
        await asyncio.sleep(0.02)
    assert [(r.method, r.body) for r in seen] == [("MESSAGE", b"echo hi"), ("INFO", b"x=1"), ("MESSAGE", b"tone 9 3")]
    assert seen[1].headers.get("X-Echo") == "1" and seen[1].content_type == "application/x-test"
    await call.bye()


async def test_max_forwards_zero_is_483(emulator: Emulator, pbx: UserAgent) -> None:
    app, _ = provision(emulator)
    assert (await refused(emulator, pbx, f"sip:1@{app.domain}", max_forwards=0)).status == 483


async def test_a_request_uri_of_another_scheme_is_416(emulator: Emulator, pbx: UserAgent) -> None:
    provision(emulator)
    assert (await refused(emulator, pbx, "mailto:sales@example.com")).status == 416


async def test_stop_hangs_up_established_calls(tmp_path: Path, pbx: UserAgent) -> None:
    em = await start_emulator(tmp_path)
    app, _ = provision(em, "VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => e.call.answer());")
    call = await call_edge(em, pbx, f"sip:1@{app.domain}")
    await em.stop()
    assert await call.wait_ended(2) == "remote BYE"


# ------------------------------------------------------------------------------------------ users


async def test_a_user_is_challenged_407_then_routed_as_a_user(emulator: Emulator, pbx: UserAgent) -> None:
    app, _ = provision(emulator)
    user = emulator.store.add_user(emulator.account.account_id, app.application_id, "alice", "Alice A", "Secret123")
    from_addr = f"<sip:alice@{app.domain}>"
    challenge = await refused(emulator, pbx, f"sip:5000@{app.domain}", from_addr=from_addr)
    assert challenge.status == 407
    assert f'realm="{app.domain}"' in challenge.headers.get("Proxy-Authenticate")
    wrong = await refused(emulator, pbx, f"sip:5000@{app.domain}", from_addr=from_addr, auth=("alice", "nope"))
    assert wrong.status == 403
    call = await call_edge(emulator, pbx, "sip:5000@127.0.0.1", from_addr=from_addr, auth=("alice", "Secret123"))
    await call.wait_ended(3)
    session = await last_session(emulator)
    alerting = (await session.wait_for_event("Application.CallAlerting"))["data"]
    assert (alerting["callerid"], alerting["destination"], alerting["displayName"]) == ("alice", "5000", "Alice A")
    assert session.snapshot()["calls"][0]["client_type"] == "user"
    assert emulator.store.get_session(session.session_id).user_id == user.user_id


async def test_credentials_from_outside_the_white_list_prove_a_user(emulator: Emulator, pbx: UserAgent) -> None:
    app, _ = provision(emulator)
    account_id = emulator.account.account_id
    emulator.store.add_user(account_id, app.application_id, "bob", "Bob", "Secret123")
    for item in emulator.store.list_whitelist(account_id):
        emulator.store.del_whitelist_item(account_id, item.sip_whitelist_id)
    assert (await refused(emulator, pbx, f"sip:1@{app.domain}")).status == 403
    challenge = await refused(emulator, pbx, f"sip:1@{app.domain}", from_addr=f"<sip:bob@{app.domain}>")
    client = DigestClient("bob", "Secret123")
    value = client.answer(challenge.headers.get_lines("Proxy-Authenticate"), "INVITE", f"sip:1@{app.domain}")
    call = await call_edge(emulator, pbx, f"sip:1@{app.domain}", headers=[("Proxy-Authorization", value)])
    await call.wait_ended(3)


# ------------------------------------------------------------------------------------------ SIP registrations


async def test_a_call_through_a_sip_registration_runs_its_rule(emulator: Emulator, pbx: UserAgent) -> None:
    app, rule = provision(emulator, pattern="never")
    registrar = UserAgent(user="registrar")
    await registrar.start(tcp=None)
    try:
        store, account_id = emulator.store, emulator.account.account_id
        bind = BindRequest(application_id=app.application_id, rule_id=rule.rule_id)
        reg = store.create_sip_registration(account_id, "200", f"127.0.0.1:{registrar.ports['udp']}", bind=bind)
        await emulator.sip_registrations_changed()
        manager = emulator.sip_registrations
        for _ in range(100):
            if manager.registrations.get(reg.sip_registration_id, {}).get("successful"):
                break
            await asyncio.sleep(0.02)
        contact = manager.registrations[reg.sip_registration_id]["contact"].strip("<>")
        call = await call_edge(emulator, pbx, contact)  # what the PBX does with the registered Contact
        await call.wait_ended(3)
        alerting = (await (await last_session(emulator)).wait_for_event("Application.CallAlerting"))["data"]
        assert alerting["destination"] == "200"
    finally:
        await registrar.stop()


async def test_a_trunk_call_over_tls(emulator: Emulator) -> None:
    import ssl

    app, _ = provision(emulator)
    pbx = UserAgent(user="pbx", client_ssl=ssl.create_default_context(cafile=str(emulator.files.ca)))
    await pbx.start(udp=0, tcp=None)
    try:
        call = await call_edge(emulator, pbx, f"sips:1@{app.domain}", "tls")
        assert call.flow.transport == "tls" and b"m=audio" in call.remote_sdp
        assert await call.wait_ended(3) == "remote BYE"  # the scenario's BYE came back on the connection
    finally:
        await pbx.stop()


# ---------------------------------------------------------------------------------------- registrations bound to users


class Phone:
    """Our UserAgent as a phone (or callee) that answers every INVITE; REGISTERs it receives get 200."""

    def __init__(self, user: str = "phone") -> None:
        self.calls: list[InviteDialog] = []
        self.ua = UserAgent(user=user, on_invite=self.on_invite, timers=TimerConfig(trying_delay=0))

    def on_invite(self, call: InviteDialog) -> None:
        self.calls.append(call)
        call.ring()
        call.answer()

    async def register(self, em: Emulator, aor: str, password: str) -> None:
        user = aor.split(":", 1)[1].split("@", 1)[0]
        response = await self.ua.register(f"sip:127.0.0.1:{em.listeners['sip_udp']['port']}", aor,
                                          auth=(user, password))
        assert response.status == 200


async def registered(em: Emulator, reg_id: int) -> str:
    """Waits until SIP registration `reg_id` is registered; its Contact URI (where the PBX sends calls)."""
    await em.sip_registrations_changed()
    manager = em.sip_registrations
    assert manager is not None
    for _ in range(100):
        if manager.registrations.get(reg_id, {}).get("successful"):
            break
        await asyncio.sleep(0.02)
    return manager.registrations[reg_id]["contact"].strip("<>")


async def test_a_registration_bound_to_a_user_forwards_the_call_to_the_user(emulator: Emulator, pbx: UserAgent) -> None:
    app, _ = provision(emulator, pattern="never")  # the application's rules play no part
    store, account_id = emulator.store, emulator.account.account_id
    user = store.add_user(account_id, app.application_id, "carol", "Carol", "Secret123")
    registrar, phone = Phone("registrar"), Phone("carol")
    await registrar.ua.start(tcp=None)
    await phone.ua.start(tcp=None)
    try:
        bind = BindRequest(application_id=app.application_id, user_id=user.user_id)
        reg = store.create_sip_registration(account_id, "300", f"127.0.0.1:{registrar.ua.ports['udp']}", bind=bind)
        contact = await registered(emulator, reg.sip_registration_id)
        offline = await refused(emulator, pbx, contact)
        assert offline.status == 480  # carol has not registered: callUser fails, the caller gets 480
        await phone.register(emulator, f"sip:carol@{app.domain}", "Secret123")
        call = await call_edge(emulator, pbx, contact, from_addr='"Front Desk" <sip:+15550001@pbx.example>',
                               headers=[("X-Ticket", "7")])
        assert call.response.status == 200 and len(phone.calls) == 1
        invite = phone.calls[0].invite
        assert (invite.to.uri.user, invite.to.uri.host) == ("carol", app.domain)
        assert (invite.from_.uri.user, invite.from_.display_name) == ("+15550001", "Front Desk")
        session = all_sessions(emulator)[-1]
        # Both legs connected before the BYE (an ACK and a BYE in the same instant leave the call unconnected).
        await session.wait_until(lambda: [c.state for c in session.calls.values()] == ["CONNECTED"] * 2)
        await call.bye()
        assert await phone.calls[0].wait_ended(3) == "remote BYE"
        await session.wait_finished(3)
        alerting = (await session.wait_for_event("Application.CallAlerting"))["data"]
        assert (alerting["destination"], alerting["callerid"], alerting["headers"]) == (
            "carol", "+15550001", {"X-Ticket": "7"})
        assert any(f"(registration {reg.sip_registration_id} to user carol)" in line for line in session.log.lines)
        row = store.get_session(session.session_id)
        assert (row.rule_id, row.rule_name, row.application_id) == (None, "", app.application_id)
        legs = sorted(store.calls_of([session.session_id])[session.session_id], key=lambda c: not c.incoming)
        assert [(c.incoming, c.local_number, c.remote_number, c.successful) for c in legs] == [
            (True, "carol", "+15550001", True), (False, "+15550001", "carol", True)]
    finally:
        await phone.ua.stop()
        await registrar.ua.stop()


async def test_a_registration_bound_to_neither_rule_nor_user_is_404(emulator: Emulator, pbx: UserAgent) -> None:
    app, _ = provision(emulator)
    registrar = Phone("registrar")
    await registrar.ua.start(tcp=None)
    try:
        bind = BindRequest(application_id=app.application_id)
        store, account_id = emulator.store, emulator.account.account_id
        reg = store.create_sip_registration(account_id, "301", f"127.0.0.1:{registrar.ua.ports['udp']}", bind=bind)
        response = await refused(emulator, pbx, await registered(emulator, reg.sip_registration_id))
        assert response.status == 404 and "not bound" in response.reason
        assert all_sessions(emulator) == []
    finally:
        await registrar.ua.stop()


# ------------------------------------------------------------------------------------------ history of calls out


CALL_ON_START = r"""
VoxEngine.addEventListener(AppEvents.Started, () => {
  const call = VoxEngine.callSIP(%s);
  call.addEventListener(CallEvents.Connected, () => call.hangup());
  call.addEventListener(CallEvents.Failed, () => VoxEngine.terminate());
  call.addEventListener(CallEvents.Disconnected, () => VoxEngine.terminate());
});
"""


async def test_outbound_history_records_the_from_user_the_edge_sends(emulator: Emulator) -> None:
    far = Phone("far")
    await far.ua.start(tcp=None)
    try:
        store, account_id = emulator.store, emulator.account.account_id
        reg = store.create_sip_registration(account_id, "200", f"127.0.0.1:{far.ua.ports['udp']}")
        await registered(emulator, reg.sip_registration_id)
        cases = [(f"'{far.ua.uri(user='bob')}'", "voxsim"), (f"'{far.ua.uri(user='bob')}', {{callerid: '+1999'}}",
                                                             "+1999"),
                 (f"'sip:1001', {{regId: {reg.sip_registration_id}}}", "200")]
        for args, from_user in cases:
            app, rule = provision(emulator, CALL_ON_START % args, app_name=f"out{next(_names)}")
            session = await emulator.session_starter.start(emulator.account, app, rule)
            await session.wait_finished(3)
            assert far.calls[-1].invite.from_.uri.user == from_user
            record, = store.calls_of([session.session_id])[session.session_id]
            assert (record.incoming, record.local_number, record.successful) == (False, from_user, True)
    finally:
        await far.ua.stop()


async def test_the_edge_registrar_takes_the_digest_settings(tmp_path: Path) -> None:
    em = await start_emulator(tmp_path, digest_nonce_ttl=42.0, auth_failures_per_source=3)
    try:
        assert em.sip is not None and em.sip.registrar is not None
        assert em.sip.registrar.nonce_ttl == 42.0 and em.sip.registrar._sources.limit == 3
    finally:
        await em.stop()


async def test_the_edge_takes_its_session_timer_settings_and_allows_update(tmp_path: Path) -> None:
    em = await start_emulator(tmp_path, session_min_se=120, session_expires=1800)
    try:
        assert em.sip is not None and em.sip.ua is not None
        assert (em.sip.ua.min_se, em.sip.ua.session_expires) == (120, 1800)
        assert "UPDATE" in em.sip.ua.allow
    finally:
        await em.stop()
