"""Outbound calls from scenarios (callSIP, callUser, easyProcess...) through the running emulator, with our
own UserAgent as the far end (UAS, registrar, TLS peer)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from sip_edge.auth import DigestServer
from sip_edge.message import Request
from sip_edge.transaction import TimerConfig
from sip_edge.transport import Address
from sip_edge.ua import CallFailed, InviteDialog, UserAgent
from voxsim.app import Emulator
from voxsim.runtime import RuntimeSettings, Session

from .conftest import start_edge_emulator

FAST = RuntimeSettings(pool_size=1, session_idle_timeout=5.0, outbound_answer_timeout=5.0)
PASSWORD = "Secret123"
_n = itertools.count(1)


def dial_script(expr: str, *, hangup_after: int | None = None) -> str:
    """A scenario that places `expr` at start and logs every event of the call as `ev <name> <json>`."""
    hang = f"setTimeout(() => call.hangup({{'X-Bye': 'scenario'}}), {hangup_after});" if hangup_after else ""
    return f"""
      VoxEngine.addEventListener(AppEvents.Started, () => {{
        const call = {expr};
        const log = (e) => Logger.write('ev ' + e.name + ' ' +
                                        JSON.stringify(Object.assign({{}}, e, {{call: undefined}})));
        for (const name of ['Ringing', 'AudioStarted', 'Connected', 'Failed', 'Disconnected', 'MessageReceived',
                            'InfoReceived']) call.addEventListener(CallEvents[name], log);
        call.addEventListener(CallEvents.Connected, () => {{ {hang} }});
        call.addEventListener(CallEvents.Failed, () => VoxEngine.terminate());
        call.addEventListener(CallEvents.Disconnected, () => VoxEngine.terminate());
      }});"""


async def start_emulator(tmp_path: Path, runtime: RuntimeSettings = FAST, **edge: Any) -> Emulator:
    return await start_edge_emulator(tmp_path, runtime, **edge)


@pytest.fixture
async def emulator(tmp_path: Path) -> AsyncIterator[Emulator]:
    em = await start_emulator(tmp_path)
    yield em
    await em.stop()


class Far:
    """Our UserAgent as the called party: records INVITEs and what it received in the dialog."""

    def __init__(self, answer: str = "answer", **kwargs: Any) -> None:
        self.calls: list[InviteDialog] = []
        self.requests: list[Request] = []
        self.answer = answer
        self.ua = UserAgent(user="far", on_invite=self.on_invite, timers=TimerConfig(trying_delay=0), **kwargs)

    async def on_invite(self, call: InviteDialog) -> None:
        self.calls.append(call)
        call.on_request = self.requests.append
        if self.answer == "answer":
            call.ring()
            call.answer(headers=[("X-Far", "hello")])
        elif self.answer == "ring":
            call.ring()
        else:
            call.reject(int(self.answer))

    def uri(self, user: str = "bob", transport: str = "udp") -> str:
        return self.ua.uri(transport, user=user)

    async def wait_call(self, timeout: float = 3.0) -> InviteDialog:
        for _ in range(int(timeout / 0.02)):
            if self.calls:
                return self.calls[-1]
            await asyncio.sleep(0.02)
        raise AssertionError("no INVITE arrived")


@pytest.fixture
async def far() -> AsyncIterator[Far]:
    peer = Far()
    await peer.ua.start(tcp=0)
    yield peer
    await peer.ua.stop()


def provision(em: Emulator, script: str, *, pattern: str = ".*", app_name: str = "app") -> tuple[Any, Any]:
    store, account_id = em.store, em.account.account_id
    app = store.find_application(account_id, application_name=app_name) or store.add_application(account_id, app_name)
    scenario = store.add_scenario(account_id, f"s{next(_n)}", script, application_id=app.application_id)
    rule = store.add_rule(account_id, app.application_id, f"rule{next(_n)}", pattern,
                          scenario_ids=[scenario.scenario_id])
    return app, rule


async def run(em: Emulator, expr: str, **kwargs: Any) -> Session:
    app, rule = provision(em, dial_script(expr, **kwargs), app_name=f"out{next(_n)}")
    return await em.session_starter.start(em.account, app, rule)


def events(session: Session) -> list[str]:
    return [line.split(" ", 4)[3] for line in session.log.lines if line[24:].startswith("ev ")]


def event(session: Session, name: str) -> str:
    return next(line[24:] for line in session.log.lines if line[24:].startswith(f"ev {name} "))


async def test_callsip_object_form_connects_and_the_far_end_hangs_up(emulator: Emulator, far: Far) -> None:
    session = await run(emulator, f"VoxEngine.callSIP('{far.uri()}', {{callerid: '+15557654321', "
                                  "displayName: 'Vox Sim', headers: {'X-Job': '7', 'Via': 'no'}})")
    await session.wait_for_event("Call.Connected")
    assert events(session) == ["Call.Ringing", "Call.AudioStarted", "Call.Connected"]
    assert '"headers":{"X-Far":"hello"}' in event(session, "Call.Connected")
    invite = far.calls[0].invite
    assert invite.from_.display_name == "Vox Sim" and invite.from_.uri.user == "+15557654321"
    assert invite.headers.get("X-Job") == "7" and len(invite.headers.get_all("Via")) == 1
    assert invite.uri == far.uri() and b"m=audio" in invite.body
    await far.calls[0].bye()
    await session.wait_for_event("Call.Disconnected")
    assert '"internalCode":200' in event(session, "Call.Disconnected")
    await session.wait_finished(3)
    calls = emulator.store.calls_of([session.session_id])[session.session_id]
    assert len(calls) == 1 and not calls[0].incoming and calls[0].successful
    assert (calls[0].local_number, calls[0].remote_number, calls[0].end_code) == ("+15557654321", far.uri(), 200)


async def test_callsip_positional_form_with_nulls_and_scenario_hangup(emulator: Emulator, far: Far) -> None:
    session = await run(emulator, f"VoxEngine.callSIP('{far.uri()}', 'cid', null, null, null, {{'X-P': '1'}})",
                        hangup_after=100)
    call = await far.wait_call()
    assert await call.wait_ended(3) == "remote BYE"
    assert far.requests[-1].method == "BYE" and far.requests[-1].headers.get("X-Bye") == "scenario"
    assert call.invite.from_.uri.user == "cid" and call.invite.from_.display_name is None
    assert call.invite.headers.get("X-P") == "1"
    await session.wait_finished(3)


@pytest.mark.parametrize("code", [486, 603, 404])
async def test_callsip_failure_codes(emulator: Emulator, far: Far, code: int) -> None:
    far.answer = str(code)
    session = await run(emulator, f"VoxEngine.callSIP('{far.uri()}')")
    failed = await session.wait_for_event("Call.Failed")
    assert failed["data"]["code"] == code
    await session.wait_finished(3)
    call = emulator.store.calls_of([session.session_id])[session.session_id][0]
    assert (call.successful, call.end_code) == (False, code)


async def test_callsip_unanswered_fails_408_and_is_cancelled(tmp_path: Path, far: Far) -> None:
    em = await start_emulator(tmp_path, RuntimeSettings(pool_size=1, outbound_answer_timeout=0.5))
    try:
        far.answer = "ring"
        session = await run(em, f"VoxEngine.callSIP('{far.uri()}')")
        failed = await session.wait_for_event("Call.Failed")
        assert failed["data"]["code"] == 408
        call = await far.wait_call()
        assert await call.wait_ended(3) == "rejected 487" and call.cancelled
    finally:
        await em.stop()


async def test_hangup_while_ringing_sends_cancel(emulator: Emulator, far: Far) -> None:
    far.answer = "ring"
    app, rule = provision(emulator, f"""
      VoxEngine.addEventListener(AppEvents.Started, () => {{
        const call = VoxEngine.callSIP('{far.uri()}');
        call.addEventListener(CallEvents.Ringing, () => call.hangup());
        call.addEventListener(CallEvents.Failed, (e) => Logger.write('failed ' + e.code));
      }});""", app_name="cancel")
    session = await emulator.session_starter.start(emulator.account, app, rule)
    call = await far.wait_call()
    assert await call.wait_ended(3) == "rejected 487"
    await session.wait_until(lambda: any(line.endswith("failed 487") for line in session.log.lines))


async def test_digest_with_auth_user_and_password(emulator: Emulator, far: Far) -> None:
    far.ua.digest = DigestServer("pbx", algorithms=("MD5",))
    far.ua.credentials = {"trunkuser": "pw"}.get
    far.ua.auth_methods = frozenset({"INVITE"})
    far.ua.proxy_auth = True
    session = await run(emulator, f"VoxEngine.callSIP('{far.uri()}', {{callerid: '100', authUser: 'trunkuser', "
                                  "password: 'pw'})", hangup_after=50)
    await session.wait_for_event("Call.Connected")
    assert "Proxy-Authorization" in far.calls[0].invite.headers
    bad = await run(emulator, f"VoxEngine.callSIP('{far.uri()}', 'trunkuser', '', 'wrong')")
    assert (await bad.wait_for_event("Call.Failed"))["data"]["code"] == 407


async def test_out_proxy_is_the_next_hop(emulator: Emulator, far: Far) -> None:
    port = far.ua.ports["udp"]
    session = await run(emulator, f"VoxEngine.callSIP('sip:bob@pbx.invalid', {{outProxy: '127.0.0.1:{port}', "
                                  "extraHeaders: {'X-Legacy': 'yes'}})", hangup_after=50)
    await session.wait_for_event("Call.Connected")
    assert far.calls[0].invite.uri == "sip:bob@pbx.invalid"
    assert far.calls[0].invite.headers.get("X-Legacy") == "yes"  # the older spelling of `headers`


async def test_tcp_by_transport_parameter(emulator: Emulator, far: Far) -> None:
    session = await run(emulator, f"VoxEngine.callSIP('{far.uri(transport='tcp')}')", hangup_after=50)
    await session.wait_for_event("Call.Connected")
    assert far.calls[0].flow.transport == "tcp"


async def test_tls_by_sips(tmp_path: Path, tls_files) -> None:
    em = await start_emulator(tmp_path, tls_ca_file=str(tls_files.cert))
    peer = Far(server_ssl=tls_files.server_context())
    await peer.ua.start(tcp=None, tls=0)
    try:
        port = peer.ua.ports["tls"]
        session = await run(em, f"VoxEngine.callSIP('sips:bob@127.0.0.1:{port}')", hangup_after=50)
        await session.wait_for_event("Call.Connected")
        assert peer.calls[0].flow.transport == "tls"
        other = await run(em, f"VoxEngine.callSIP('bob@127.0.0.1:{port};transport=tls')", hangup_after=50)
        await other.wait_for_event("Call.Connected")
    finally:
        await peer.ua.stop()
        await em.stop()


async def test_messages_both_ways_on_an_outbound_call(emulator: Emulator, far: Far) -> None:
    app, rule = provision(emulator, f"""
      VoxEngine.addEventListener(AppEvents.Started, () => {{
        const call = VoxEngine.callSIP('{far.uri()}');
        call.addEventListener(CallEvents.Connected, () => call.sendInfo('application/x-a', 'body', {{'X-I': '1'}}));
        call.addEventListener(CallEvents.MessageReceived, (e) => call.sendMessage('got ' + e.text));
      }});""", app_name="msgs")
    await emulator.session_starter.start(emulator.account, app, rule)
    call = await far.wait_call()
    await call.confirmed.wait()
    await call.request("MESSAGE", body=b"ping", content_type="text/plain")
    for _ in range(100):
        if len(far.requests) >= 2:
            break
        await asyncio.sleep(0.02)
    assert [(r.method, r.body) for r in far.requests[:2]] == [("INFO", b"body"), ("MESSAGE", b"got ping")]
    await call.bye()


def verified_caller_id(emulator: Emulator, number: str) -> None:
    """callPSTN's callerid must be the account's number or verified caller ID (voxsim/pstn/callerid.py)."""
    store, account_id = emulator.store, emulator.account.account_id
    code = store.verify_caller_id(store.add_caller_id(account_id, number))
    store.activate_caller_id(store.get_caller_id(account_id, callerid_number=number), code)


async def test_pstn_without_a_gateway_reaches_the_simulator_and_a_conference_needs_a_rule(emulator: Emulator,
                                                                                             far: Far) -> None:
    verified_caller_id(emulator, "+15557654321")
    session = await run(emulator, "VoxEngine.callPSTN('+15551234567', '+15557654321')")
    await session.wait_for_event("Call.Connected", timeout=5)  # a virtual phone answers (docs/pstn.md)
    assert not far.calls  # nothing went out over SIP
    app, rule = provision(emulator, dial_script("VoxEngine.callConference('room', 'a', 'b')"), pattern="caller",
                          app_name="noroom")
    conference = await emulator.session_starter.start(emulator.account, app, rule)
    failed = (await conference.wait_for_event("Call.Failed"))["data"]
    assert failed["code"] == 404 and "no rule of" in failed["reason"]


async def test_pstn_through_a_configured_gateway(tmp_path: Path, far: Far) -> None:
    em = await start_emulator(tmp_path, pstn_gateway=f"127.0.0.1:{far.ua.ports['udp']}")
    try:
        verified_caller_id(em, "+15557654321")
        session = await run(em, "VoxEngine.callPSTN('+15551234567', '+15557654321')", hangup_after=50)
        await session.wait_for_event("Call.Connected")
        invite = far.calls[0].invite
        assert invite.request_uri.user == "+15551234567" and invite.from_.uri.user == "+15557654321"
    finally:
        await em.stop()


# ------------------------------------------------------------------------------------------ regId


async def test_callsip_with_reg_id_goes_through_the_registration(emulator: Emulator, far: Far) -> None:
    far.ua.digest = DigestServer("pbx.test", algorithms=("MD5",))
    far.ua.credentials = {"200": "regpw"}.get
    far.ua.auth_methods = frozenset({"REGISTER", "INVITE"})
    proxy = f"127.0.0.1:{far.ua.ports['udp']}"
    reg = emulator.store.create_sip_registration(emulator.account.account_id, "200", proxy, password="regpw")
    await emulator.sip_registrations_changed()
    for _ in range(100):
        if emulator.sip_registrations.registrations[reg.sip_registration_id]["successful"]:
            break
        await asyncio.sleep(0.02)
    session = await run(emulator, f"VoxEngine.callSIP('sip:1001', {{regId: {reg.sip_registration_id}, "
                                  "displayName: 'Vox'})", hangup_after=50)
    await session.wait_for_event("Call.Connected")
    invite = far.calls[0].invite
    assert invite.uri == "sip:1001@127.0.0.1" and invite.to.uri.host == "127.0.0.1"
    assert str(invite.from_.uri) == "sip:200@127.0.0.1" and invite.from_.display_name == "Vox"
    assert "Authorization" in invite.headers
    missing = await run(emulator, "VoxEngine.callSIP('sip:1001', {regId: 99999})")
    assert (await missing.wait_for_event("Call.Failed"))["data"]["code"] == 404


# ------------------------------------------------------------------------------------------ users


async def register_phone(em: Emulator, app: Any, user: str) -> Far:
    phone = Far()
    await phone.ua.start(tcp=None)
    registrar = f"sip:127.0.0.1:{em.listeners['sip_udp']['port']}"
    response = await phone.ua.register(registrar, f"sip:{user}@{app.domain}", auth=(user, PASSWORD))
    assert response.status == 200
    return phone


async def test_call_user_forks_to_every_contact(emulator: Emulator) -> None:
    store, account_id = emulator.store, emulator.account.account_id
    app, rule = provision(emulator, dial_script("VoxEngine.callUser({username: 'alice', callerid: 'robot', "
                                                "displayName: 'Robot'})"), app_name="users")
    store.add_user(account_id, app.application_id, "alice", "Alice", PASSWORD)
    ringing, answering = await register_phone(emulator, app, "alice"), await register_phone(emulator, app, "alice")
    ringing.answer = "ring"

    async def answer_later(call: InviteDialog) -> None:
        answering.calls.append(call)
        call.ring()
        await asyncio.sleep(0.2)
        call.answer()

    answering.ua.on_invite = answer_later
    try:
        session = await emulator.session_starter.start(emulator.account, app, rule)
        await session.wait_for_event("Call.Connected")
        assert await ringing.calls[0].wait_ended(3) == "rejected 487"
        invite = answering.calls[0].invite
        assert invite.to.uri.user == "alice" and invite.to.uri.host == app.domain
        assert invite.from_.display_name == "Robot" and invite.from_.uri.user == "robot"
        await answering.calls[0].bye()
        await session.wait_finished(3)
        record = emulator.store.calls_of([session.session_id])[session.session_id][0]
        assert (record.remote_number, record.remote_number_type) == ("alice", "user")
    finally:
        await ringing.ua.stop()
        await answering.ua.stop()


async def test_callsip_to_a_user_address_and_offline_users(emulator: Emulator) -> None:
    store, account_id = emulator.store, emulator.account.account_id
    app, _ = provision(emulator, "// nothing", app_name="people")
    store.add_user(account_id, app.application_id, "bob", "Bob", PASSWORD)
    offline = await run(emulator, f"VoxEngine.callSIP('bob@{app.domain}')")
    assert (await offline.wait_for_event("Call.Failed"))["data"]["code"] == 480
    phone = await register_phone(emulator, app, "bob")
    try:
        session = await run(emulator, f"VoxEngine.callSIP('sip:bob@{app.domain}')", hangup_after=50)
        await session.wait_for_event("Call.Connected")
        nobody = await run(emulator, "VoxEngine.callUser('nobody', 'x')")
        assert (await nobody.wait_for_event("Call.Failed"))["data"]["code"] == 404
    finally:
        await phone.ua.stop()


async def test_callsip_to_another_application_comes_back_through_the_edge(emulator: Emulator) -> None:
    target, _ = provision(emulator, """
      VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
        Logger.write('reached ' + e.destination + ' from ' + e.callerid);
        e.call.answer();
        e.call.addEventListener(CallEvents.Disconnected, () => VoxEngine.terminate());
      });""", app_name="target")
    session = await run(emulator, f"VoxEngine.callSIP('4321@{target.domain}', 'caller1')", hangup_after=100)
    await session.wait_for_event("Call.Connected")
    await session.wait_finished(3)
    runtime = emulator.runtime
    reached = [s for s in [*runtime.live_sessions(), *runtime._finished.values()]
               if s.info.application_name == target.application_name]
    assert reached and any(line.endswith("reached 4321 from caller1") for line in reached[0].log.lines)
    await reached[0].wait_finished(3)


# ------------------------------------------------------------------------------------------ easyProcess


async def test_forward_call_to_sip_bridges_and_ends_both_legs(emulator: Emulator, far: Far) -> None:
    app, _ = provision(emulator, "VoxEngine.forwardCallToSIP();", app_name="fwd")
    caller = UserAgent(user="caller")
    await caller.start(tcp=None)
    try:
        edge = Address("udp", "127.0.0.1", emulator.listeners["sip_udp"]["port"])
        provisional: list[int] = []
        call = await caller.invite(f"sip:1001@{app.domain}", dest=edge, to=f"<{far.uri('1001')}>",
                                   from_addr='"Carl" <sip:+15550000@pbx.example>',
                                   on_provisional=lambda r: provisional.append(r.status))
        assert 180 in provisional and call.response.headers.get("X-Far") == "hello"
        forwarded = far.calls[0]
        assert forwarded.invite.uri == far.uri("1001") and forwarded.invite.from_.uri.user == "+15550000"
        assert forwarded.invite.from_.display_name == "Carl"
        assert int(forwarded.invite.headers.get("Max-Forwards")) == 69
        await forwarded.bye()
        assert await call.wait_ended(3) == "remote BYE"
    finally:
        await caller.stop()


async def test_forward_call_to_user_and_a_failing_callee(emulator: Emulator) -> None:
    store, account_id = emulator.store, emulator.account.account_id
    app, _ = provision(emulator, "VoxEngine.forwardCallToUser();", app_name="pbx")
    store.add_user(account_id, app.application_id, "carol", "Carol", PASSWORD)
    phone = await register_phone(emulator, app, "carol")
    caller = UserAgent(user="caller")
    await caller.start(tcp=None)
    try:
        edge = Address("udp", "127.0.0.1", emulator.listeners["sip_udp"]["port"])
        call = await caller.invite(f"sip:carol@{app.domain}", dest=edge)
        await phone.calls[0].confirmed.wait()
        await call.bye()
        assert await phone.calls[0].wait_ended(3) == "remote BYE"
        phone.answer = "486"
        with pytest.raises(CallFailed) as failure:
            await caller.invite(f"sip:carol@{app.domain}", dest=edge)
        assert failure.value.response.status == 480  # the session ends: the unanswered caller gets 480
    finally:
        await caller.stop()
        await phone.ua.stop()


async def test_a_loop_through_voxsim_ends_with_483(emulator: Emulator) -> None:
    app, _ = provision(emulator, "VoxEngine.forwardCallToSIP();", app_name="loop")
    caller = UserAgent(user="caller")
    await caller.start(tcp=None)
    try:
        edge = Address("udp", "127.0.0.1", emulator.listeners["sip_udp"]["port"])
        with pytest.raises(CallFailed) as failure:
            await caller.invite(f"sip:1@{app.domain}", dest=edge, max_forwards=3)
        assert failure.value.response.status == 480
        assert len(emulator.runtime._finished) + len(emulator.runtime.live_sessions()) == 3
    finally:
        await caller.stop()




async def test_stop_cancels_pending_calls_and_hangs_up_connected_ones(tmp_path: Path) -> None:
    em = await start_emulator(tmp_path)
    ringing, answering = Far(answer="ring"), Far()
    for peer in (ringing, answering):
        await peer.ua.start(tcp=None)
    try:
        pending = await run(em, f"VoxEngine.callSIP('{ringing.uri()}')")
        connected = await run(em, f"VoxEngine.callSIP('{answering.uri()}')")
        await connected.wait_for_event("Call.Connected")
        await pending.wait_for_event("Call.Ringing")
        await em.stop()
        assert await ringing.calls[0].wait_ended(2) == "rejected 487"
        assert await answering.calls[0].wait_ended(2) == "remote BYE"
        assert pending.finish_reason == connected.finish_reason == "Terminated administratively"
    finally:
        for peer in (ringing, answering):
            await peer.ua.stop()
