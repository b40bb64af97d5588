"""UPDATE (RFC 3311) inside a call: confirmed dialogs between two UserAgents, the early dialog of a
ringing call with a bare transport as the caller, and hold by UPDATE at the edge's call leg."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sip_edge.dialog import build_request
from sip_edge.message import Request, Response
from sip_edge.sdp import direction_of
from sip_edge.transport import Address
from sip_edge.ua import DEFAULT_SDP, InviteDialog, UserAgent
from tests.sip_edge.conftest import QueueSession, target
from voxsim.edge.legs import SipInboundLeg
from voxsim.edge.media_port import MediaPort

OFFER = (b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
         b"m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n")


def offer(direction: str, version: int) -> bytes:
    return OFFER.replace(b"a=sendrecv", f"a={direction}".encode()).replace(b"- 1 1", f"- 1 {version}".encode())




# ------------------------------------------------------------------------------------------ confirmed dialogs


async def test_allow_lists_update(agents) -> None:
    uas, uac = await agents(), await agents()
    call = await uac.invite(target(uas))
    assert call.response is not None and "UPDATE" in call.response.headers.get_all("Allow")
    assert "UPDATE" in call.peer_allow
    options = await uac.request("OPTIONS", target(uas))
    assert "UPDATE" in options.headers.get_all("Allow")


async def test_update_with_an_offer_gets_200_with_an_answer(agents) -> None:
    uas, uac = await agents(), await agents()
    call = await uac.invite(target(uas), sdp=OFFER)
    incoming = next(iter(uas.calls.values()))
    seen: list[Request] = []
    incoming.on_request = seen.append
    answered = await call.request("UPDATE", body=offer("sendrecv", 2), content_type="application/sdp")
    assert answered.status == 200 and answered.headers.get("Content-Type") == "application/sdp"
    assert b"m=audio" in answered.body and direction_of(answered.body) == "sendrecv"
    assert answered.headers.get("Contact") is not None
    assert [r.method for r in seen] == ["UPDATE"] and incoming.remote_sdp == offer("sendrecv", 2)


async def test_update_without_sdp_gets_200_without_sdp(agents) -> None:
    uas, uac = await agents(), await agents()
    call = await uac.invite(target(uas))
    answered = await call.request("UPDATE")
    assert answered.status == 200 and answered.body == b"" and "Content-Type" not in answered.headers


async def test_hold_and_resume_by_update_mirror_the_direction(agents) -> None:
    uas, uac = await agents(), await agents()
    call = await uac.invite(target(uas), sdp=OFFER)
    held = await call.request("UPDATE", body=offer("sendonly", 2), content_type="application/sdp")
    assert direction_of(held.body) == "recvonly" and b"voxsim 1 2 IN" in held.body  # the next o= version
    quiet = await call.request("UPDATE", body=offer("inactive", 3), content_type="application/sdp")
    assert direction_of(quiet.body) == "inactive"
    resumed = await call.request("UPDATE", body=offer("sendrecv", 4), content_type="application/sdp")
    assert direction_of(resumed.body) == "sendrecv" and b"voxsim 1 4 IN" in resumed.body


async def test_voxsim_sends_update_in_a_call(agents) -> None:
    uas, uac = await agents(), await agents()
    await uac.invite(target(uas))
    incoming = next(iter(uas.calls.values()))
    answered = await incoming.request("UPDATE", body=offer("sendonly", 2), content_type="application/sdp")
    assert answered.status == 200 and direction_of(answered.body) == "recvonly"


async def test_update_outside_a_dialog_gets_481(agents) -> None:
    uas, uac = await agents(), await agents()
    assert (await uac.request("UPDATE", target(uas))).status == 481


# ------------------------------------------------------------------------------------------ the early dialog


def peer_request(peer: Any, method: str, uri: str, *, cseq: int, to: str = "<sip:bob@test>",
                 body: bytes = b"") -> Request:
    host, port = peer.transport.local_address("udp")
    return build_request(method, uri, from_addr="<sip:peer@test>;tag=peer", to_addr=to, call_id="early@test",
                         cseq=cseq, contact=f"<sip:peer@{host}:{port}>", sent_by=f"{host}:{port}",
                         body=body, content_type="application/sdp" if body else None)


async def next_response(peer: Any, method: str) -> Response:
    while True:
        message, _ = await peer.next(3)
        if isinstance(message, Response) and message.cseq.method == method and message.status > 100:
            return message


async def ringing(agents: Any, sip_peer: Any, sdp: bytes | None) -> tuple[UserAgent, Address, Response]:
    """A call from the bare peer that voxsim rings (183 with `sdp`, or 180): its early dialog."""
    uas = await agents(on_invite=lambda call: call.ring(183, sdp=sdp) if sdp else call.ring(180))
    dest = Address("udp", "127.0.0.1", uas.ports["udp"])
    await sip_peer.transport.send(peer_request(sip_peer, "INVITE", target(uas), cseq=1, body=OFFER), dest)
    provisional = await next_response(sip_peer, "INVITE")
    assert provisional.to.tag and "UPDATE" in provisional.headers.get_all("Allow")
    return uas, dest, provisional


async def test_update_in_the_early_dialog_is_answered_with_our_early_sdp(agents, sip_peer) -> None:
    uas, dest, provisional = await ringing(agents, sip_peer, DEFAULT_SDP)
    update = peer_request(sip_peer, "UPDATE", target(uas), cseq=2, to=provisional.headers.get("To", ""),
                          body=offer("sendonly", 2))
    await sip_peer.transport.send(update, dest)
    answered = await next_response(sip_peer, "UPDATE")
    assert answered.status == 200 and direction_of(answered.body) == "recvonly"
    call = next(iter(uas.calls.values()))
    assert not call.answered and call.remote_sdp == offer("sendonly", 2)
    with pytest.raises(RuntimeError):
        await call.bye()  # a callee sends no BYE in an early dialog


async def test_an_early_update_before_our_answer_gets_500_with_retry_after(agents, sip_peer) -> None:
    uas, dest, provisional = await ringing(agents, sip_peer, None)
    update = peer_request(sip_peer, "UPDATE", target(uas), cseq=2, to=provisional.headers.get("To", ""),
                          body=offer("sendrecv", 2))
    await sip_peer.transport.send(update, dest)
    refused = await next_response(sip_peer, "UPDATE")
    assert refused.status == 500 and 0 <= int(refused.headers.get("Retry-After", "")) <= 10
    plain = peer_request(sip_peer, "UPDATE", target(uas), cseq=3, to=provisional.headers.get("To", ""))
    await sip_peer.transport.send(plain, dest)
    assert (await next_response(sip_peer, "UPDATE")).status == 200  # no offer: nothing waits for it


async def test_a_bye_in_the_early_dialog_ends_the_call_like_a_cancel(agents, sip_peer) -> None:
    uas, dest, provisional = await ringing(agents, sip_peer, None)
    call = next(iter(uas.calls.values()))
    bye = peer_request(sip_peer, "BYE", target(uas), cseq=2, to=provisional.headers.get("To", ""))
    await sip_peer.transport.send(bye, dest)
    responses = {(await next_response(sip_peer, m)).status for m in ("BYE", "INVITE")}
    assert responses == {200, 487}
    assert call.cancelled and call.ended.is_set() and not uas.calls


# ------------------------------------------------------------------------------------------ the edge's leg




async def test_update_offering_sendonly_holds_the_leg(agents) -> None:
    incoming: asyncio.Queue[InviteDialog] = asyncio.Queue()
    edge, phone = await agents(user="edge", on_invite=incoming.put_nowait), await agents(user="phone")
    task = asyncio.ensure_future(phone.invite(target(edge), sdp=OFFER))
    leg = SipInboundLeg(edge, await asyncio.wait_for(incoming.get(), 3), advertised_host="127.0.0.1",
                        open_media=lambda: MediaPort.open("127.0.0.1", (0, 0)), request_timeout=1)
    session = QueueSession()
    leg.bind(session, "c1")
    await leg.answer({}, {})
    call = await task
    await session.wait("Call.Connected")

    held = await call.request("UPDATE", body=offer("sendonly", 2), content_type="application/sdp",
                              headers=[("X-Why", "music")])
    assert held.status == 200 and direction_of(held.body) == "recvonly"
    assert await session.wait("Call.OnHold") == {"headers": {"X-Why": "music"}}
    assert leg.on_hold

    resumed = await call.request("UPDATE", body=offer("sendrecv", 3), content_type="application/sdp")
    assert direction_of(resumed.body) == "sendrecv"
    await session.wait("Call.OffHold")
    assert not leg.on_hold
    await call.bye()
    leg.close()
