"""The user-agent core: our UAC against our UAS, and against a bare transport playing the peer."""

from __future__ import annotations

import asyncio

import pytest

from sip_edge.auth import DigestServer
from sip_edge.dialog import build_request
from sip_edge.message import Request, Response, make_response
from sip_edge.transaction import TimerConfig, build_cancel
from sip_edge.transport import Address, free_port_pair
from sip_edge.ua import CallFailed, InviteDialog, UserAgent

FAST = TimerConfig(t1=0.02, t2=0.2, t4=0.2, timer_d=0.2)
USERS = {"alice": "secret"}


@pytest.fixture
async def agents():
    """`await agents(**UserAgent kwargs)` starts a UserAgent on 127.0.0.1 (UDP+TCP), stopped afterwards."""
    started: list[UserAgent] = []

    async def make(**kwargs) -> UserAgent:
        ua = UserAgent(**kwargs)
        started.append(ua)
        await ua.start()
        return ua

    yield make
    for ua in started:
        await ua.stop()


def target(ua: UserAgent, transport: str = "udp", user: str = "bob") -> str:
    suffix = "" if transport == "udp" else f";transport={transport}"
    return f"sip:{user}@127.0.0.1:{ua.ports[transport]}{suffix}"


def peer_request(peer, method: str, uri: str, *, transport: str = "udp", call_id: str = "peer@test",
                 cseq: int = 1, to: str = "<sip:bob@test>", body: bytes = b"") -> Request:
    host, port = peer.transport.local_address(transport)
    return build_request(
        method, uri, from_addr="<sip:peer@test>", to_addr=to, call_id=call_id, cseq=cseq,
        contact=f"<sip:peer@{host}:{port}>", sent_by=f"{host}:{port}", transport=transport.upper(),
        body=body, content_type="application/sdp" if body else None,
    )


async def next_response(peer, status: int | None = None, timeout: float = 3.0) -> Response:
    while True:
        message, _ = await peer.next(timeout)
        if isinstance(message, Response) and (status is None or message.status == status):
            return message


# ------------------------------------------------------------------------------------------ calls


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_call_answer_ack_and_bye(agents, transport: str) -> None:
    uas, uac = await agents(), await agents()
    call = await uac.invite(target(uas, transport))
    assert call.response.status == 200 and b"m=audio" in call.remote_sdp
    incoming = next(iter(uas.calls.values()))
    await asyncio.wait_for(incoming.confirmed.wait(), 2)
    assert incoming.direction == "incoming" and b"m=audio" in incoming.remote_sdp
    assert incoming.flow.transport == transport

    assert (await call.bye()).status == 200
    assert await incoming.wait_ended(2) == "remote BYE"
    assert call.end_reason == "local BYE" and not uas.calls and not uac.calls


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_the_callee_hangs_up(agents, transport: str) -> None:
    uas, uac = await agents(), await agents()
    call = await uac.invite(target(uas, transport))
    incoming = next(iter(uas.calls.values()))
    assert (await incoming.bye()).status == 200
    assert await call.wait_ended(2) == "remote BYE"
    if transport == "tcp":  # the BYE came back over the connection the INVITE opened
        assert len(uac.transport.connections) == 1 and len(uas.transport.connections) == 1


async def test_hook_rings_then_rejects(agents) -> None:
    def on_invite(call: InviteDialog) -> None:
        call.ring(180)
        call.reject(486)

    uas, uac = await agents(on_invite=on_invite), await agents()
    seen: list[int] = []
    with pytest.raises(CallFailed) as failure:
        await uac.invite(target(uas), on_provisional=lambda r: seen.append(r.status))
    assert failure.value.response.status == 486 and seen == [180]
    assert not uas.calls


async def test_100_trying_carries_no_contact_and_no_tag_but_180_does(agents) -> None:
    def on_invite(call: InviteDialog) -> None:
        call.ring(100)
        call.ring(180)
        call.reject(486)

    uas, uac = await agents(on_invite=on_invite), await agents()
    seen: list[Response] = []
    with pytest.raises(CallFailed):
        await uac.invite(target(uas), on_provisional=seen.append)
    trying, ringing = seen
    assert trying.status == 100 and "Contact" not in trying.headers and not trying.to.tag
    assert ringing.status == 180 and "Contact" in ringing.headers and ringing.to.tag


async def test_async_hook_answers_later_and_100_trying_goes_first(agents) -> None:
    async def on_invite(call: InviteDialog) -> None:
        await asyncio.sleep(0.3)  # longer than the 200 ms after which the transaction sends 100 Trying
        call.answer(b"v=0\r\n")

    uas, uac = await agents(on_invite=on_invite), await agents()
    seen: list[int] = []
    call = await uac.invite(target(uas), on_provisional=lambda r: seen.append(r.status))
    assert seen == [100] and call.remote_sdp == b"v=0\r\n"
    await call.bye()


async def test_failing_hook_gets_500(agents) -> None:
    async def on_invite(call: InviteDialog) -> None:
        raise RuntimeError("scenario crashed")

    uas, uac = await agents(on_invite=on_invite), await agents()
    with pytest.raises(CallFailed) as failure:
        await uac.invite(target(uas))
    assert failure.value.response.status == 500


async def test_in_dialog_requests(agents) -> None:
    uas, uac = await agents(), await agents()
    call = await uac.invite(target(uas))
    incoming = next(iter(uas.calls.values()))
    for method in ("INFO", "OPTIONS", "MESSAGE"):
        assert (await call.request(method)).status == 200
    response = await call.request("INVITE", body=b"v=0\r\ns=re\r\n", content_type="application/sdp")
    assert response.status == 200 and b"m=audio" in response.body
    assert incoming.remote_sdp == b"v=0\r\ns=re\r\n"
    assert (await incoming.request("INFO", body=b"x", content_type="text/plain")).status == 200  # callee to caller
    await call.bye()
    with pytest.raises(RuntimeError):
        await call.request("INFO")


async def test_invite_timeout_and_refused_connection(agents) -> None:
    uac = await agents(timers=FAST)
    with pytest.raises(CallFailed) as timeout:
        await uac.invite(f"sip:nobody@127.0.0.1:{free_port_pair()}")
    assert timeout.value.response.status == 408
    with pytest.raises(CallFailed) as refused:
        await uac.invite(f"sip:nobody@127.0.0.1:{free_port_pair()};transport=tcp")
    assert refused.value.response.status == 503


# ------------------------------------------------------------------------------------------ digest


async def test_invite_with_proxy_digest(agents) -> None:
    uas = await agents(digest=DigestServer("voxsim.test"), credentials=USERS.get, auth_methods=("INVITE",),
                       proxy_auth=True)
    uac = await agents()
    call = await uac.invite(target(uas), auth=("alice", "secret"))
    assert call.invite.headers.get("Proxy-Authorization").startswith("Digest username=\"alice\"")
    assert "algorithm=SHA-256" in call.invite.headers.get("Proxy-Authorization")  # the strongest offered
    await call.bye()
    for auth in (None, ("alice", "wrong"), ("mallory", "secret")):
        with pytest.raises(CallFailed) as failure:
            await uac.invite(target(uas), auth=auth)
        assert failure.value.response.status == 407


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_register_with_digest(agents, transport: str) -> None:
    uas = await agents(digest=DigestServer("voxsim.test"), credentials=USERS.get)
    uac = await agents()
    registrar = f"sip:127.0.0.1:{uas.ports[transport]}" + ("" if transport == "udp" else ";transport=tcp")
    aor = "sip:alice@voxsim.test"
    response = await uac.register(registrar, aor, auth=("alice", "secret"), expires=600)
    assert response.status == 200 and response.cseq.seq == 2
    assert list(uas.bindings[aor]) == [uac.uri(transport)]
    assert response.contacts[0].expires in (599, 600)

    # A refresh reuses the Call-ID and counts CSeq on (RFC 3261 10.2.4); expires=0 removes the binding.
    refresh = await uac.register(registrar, aor, auth=("alice", "secret"), expires=0)
    assert refresh.status == 200 and refresh.call_id == response.call_id and refresh.cseq.seq == 4
    assert uas.bindings[aor] == {}

    assert (await uac.register(registrar, "sip:alice@x", auth=("alice", "bad"))).status == 401
    assert (await uac.register(registrar, "sip:alice@x")).status == 401


async def test_register_with_an_expired_nonce_is_rechallenged_stale(agents) -> None:
    uas = await agents(digest=DigestServer("voxsim.test", nonce_ttl=0), credentials=USERS.get)
    uac = await agents()
    response = await uac.register(f"sip:127.0.0.1:{uas.ports['udp']}", "sip:alice@x", auth=("alice", "secret"))
    # Every nonce is born stale: the client retries on stale=true, then gives up.
    assert response.status == 401 and "stale=true" in response.headers.get("WWW-Authenticate")
    assert response.cseq.seq == 3


async def test_register_without_a_digest_server_is_accepted(agents) -> None:
    uas, uac = await agents(), await agents()
    response = await uac.register(f"sip:127.0.0.1:{uas.ports['udp']}", "sip:carol@x")
    assert response.status == 200 and "sip:carol@x" in uas.bindings


# ------------------------------------------------------------------------------------------ other requests


async def test_options_and_method_handling(agents) -> None:
    uas, uac = await agents(), await agents()
    response = await uac.request("OPTIONS", target(uas, "tcp"))
    assert response.status == 200
    assert "INVITE" in response.headers.get("Allow") and response.headers.get("Accept") == "application/sdp"
    assert "Supported" in response.headers
    assert (await uac.request("FOO", target(uas))).status == 501
    not_allowed = await uac.request("SUBSCRIBE", target(uas))
    assert not_allowed.status == 405 and "OPTIONS" in not_allowed.headers.get("Allow")
    assert (await uac.request("BYE", target(uas))).status == 481
    assert (await uac.request("MESSAGE", target(uas), body=b"hi", content_type="text/plain")).status == 200
    unsupported = await uac.request("OPTIONS", target(uas), headers=[("Require", "100rel")])
    assert unsupported.status == 420 and unsupported.headers.get("Unsupported") == "100rel"


def allow_of(message: Request | Response) -> list[str]:
    return [method.strip() for method in message.headers.get("Allow", "").split(",") if method.strip()]


async def test_allow_lists_what_its_context_accepts(agents) -> None:
    uas, uac = await agents(), await agents()
    everything = list(uas.allow)
    # Outside a dialog: OPTIONS asks for all; a refusal lists only what is served there (BYE & co. get 481 there).
    assert allow_of(await uac.request("OPTIONS", target(uas))) == everything
    outside = allow_of(await uac.request("SUBSCRIBE", target(uas)))
    assert outside == ["INVITE", "ACK", "CANCEL", "OPTIONS", "REGISTER", "MESSAGE"]
    assert (await uac.request("BYE", target(uas))).status == 481
    # In a call: what its dialog takes (no REGISTER), in the INVITE, the 2xx and in-dialog answers.
    in_dialog = ["INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "INFO", "MESSAGE", "UPDATE", "PRACK", "REFER", "NOTIFY"]
    call = await uac.invite(target(uas))
    incoming = next(iter(uas.calls.values()))
    assert allow_of(incoming.invite) == allow_of(call.response) == in_dialog
    options = await call.request("OPTIONS")
    assert options.status == 200 and allow_of(options) == in_dialog and options.headers.get("Accept")
    register = await call.request("REGISTER")
    assert register.status == 405 and allow_of(register) == in_dialog  # never lists what it refuses
    await call.bye()


async def test_a_user_agent_told_what_it_serves_outside_dialogs_says_so(agents) -> None:
    uas, uac = await agents(outside_allow=("INVITE", "ACK", "CANCEL", "OPTIONS")), await agents()
    assert allow_of(await uac.request("SUBSCRIBE", target(uas))) == ["INVITE", "ACK", "CANCEL", "OPTIONS"]
    assert uas.dialog_allow == tuple(m for m in uas.allow if m != "REGISTER")


async def test_cancel_before_the_answer(agents, sip_peer) -> None:
    uas = await agents(on_invite=lambda call: call.ring(180))
    invite = peer_request(sip_peer, "INVITE", target(uas), body=b"v=0\r\n")
    dest = Address("udp", "127.0.0.1", uas.ports["udp"])
    await sip_peer.transport.send(invite, dest)
    await next_response(sip_peer, 180)
    await sip_peer.transport.send(build_cancel(invite), dest)
    cancelled = await next_response(sip_peer)
    assert (cancelled.status, cancelled.cseq.method) == (200, "CANCEL")
    terminated = await next_response(sip_peer)
    assert (terminated.status, terminated.cseq.method) == (487, "INVITE")
    assert not uas.calls

    stray = build_cancel(peer_request(sip_peer, "INVITE", target(uas), call_id="other@test"))
    await sip_peer.transport.send(stray, dest)
    assert (await next_response(sip_peer)).status == 481


async def test_uas_retransmits_2xx_until_ack_then_gives_up_with_bye(agents, sip_peer) -> None:
    uas = await agents(timers=FAST)  # 64*T1 = 1.28 s
    invite = peer_request(sip_peer, "INVITE", target(uas), body=b"v=0\r\n")
    await sip_peer.transport.send(invite, Address("udp", "127.0.0.1", uas.ports["udp"]))
    oks, bye = 0, None
    while bye is None:
        message, _ = await sip_peer.next(3)
        if isinstance(message, Response):
            oks += message.status == 200
        elif message.method == "BYE":
            bye = message
    assert oks >= 4  # T1, 2*T1, 4*T1... until the ACK that never comes
    assert bye.call_id == invite.call_id


async def test_uac_acks_again_when_the_2xx_is_retransmitted(agents, sip_peer) -> None:
    uac = await agents()
    host, port = sip_peer.transport.local_address("udp")
    task = asyncio.ensure_future(uac.invite(f"sip:peer@{host}:{port}"))
    invite, source = await sip_peer.next()
    ok = make_response(invite, 200, to_tag="peer-tag", headers=[("Contact", f"<sip:peer@{host}:{port}>")])
    await sip_peer.transport.send(ok, source)
    first_ack, _ = await sip_peer.next()
    await sip_peer.transport.send(ok, source)  # as if the ACK were lost
    second_ack, _ = await sip_peer.next()
    assert first_ack.method == second_ack.method == "ACK"
    assert first_ack.cseq.seq == second_ack.cseq.seq == invite.cseq.seq
    call = await task
    assert call.dialog.remote.tag == "peer-tag"
