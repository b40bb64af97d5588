"""100rel / PRACK (RFC 3262) at the edge's call legs: voxsim's callSIP PRACKs a carrier's reliable 183, and an
incoming call that requires 100rel rings, gets early media and connects, or ends when the caller never PRACKs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from sip_edge.dialog import build_request
from sip_edge.message import Message, Request, Response
from sip_edge.transaction import TimerConfig
from sip_edge.transport import Address
from sip_edge.ua import InviteDialog, UserAgent
from tests.sip_edge.conftest import QueueSession
from voxsim.edge.legs import DialTarget, SipInboundLeg, SipOutboundLeg
from voxsim.edge.media_port import MediaPort

CARRIER_SDP = (b"v=0\r\no=carrier 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
               b"m=audio 4000 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\na=sendrecv\r\n")




async def open_media() -> MediaPort:
    return await MediaPort.open("127.0.0.1", (0, 0))




def tap(ua: UserAgent, lose: Callable[[Message], bool] = lambda message: False) -> list[Message]:
    """Records what `ua` sends, less what `lose` says is lost on the way."""
    sent: list[Message] = []
    send = ua.transport.send

    async def tapped(message: Message, dest: Address) -> Any:
        if lose(message):
            return None
        sent.append(message)
        return await send(message, dest)

    ua.transport.send = tapped  # type: ignore[method-assign]
    return sent


def sent_183s(messages: list[Message]) -> list[Response]:
    return [m for m in messages if isinstance(m, Response) and m.status == 183]


async def test_callsip_pracks_a_carriers_reliable_183_and_connects(agents) -> None:
    far_requests: list[str] = []

    def carrier_answers(call: InviteDialog) -> None:
        call.on_request = lambda request: far_requests.append(request.method)
        call.ring(183, "Session Progress", sdp=CARRIER_SDP)  # reliable: voxsim's INVITE says Supported: 100rel
        call.answer(CARRIER_SDP)  # goes once the 183 is PRACKed

    carrier, edge = await agents(on_invite=carrier_answers), await agents(user="edge")
    carrier_sent = tap(carrier)
    # PRACKs are lost until the carrier has sent its 183 twice; the PRACK's own retransmission gets through.
    edge_sent = tap(edge, lose=lambda m: isinstance(m, Request) and m.method == "PRACK"
                    and len(sent_183s(carrier_sent)) < 2)
    session = QueueSession()
    port = carrier.ports["udp"]
    leg = SipOutboundLeg(edge, [DialTarget(f"sip:1001@127.0.0.1:{port}", Address("udp", "127.0.0.1", port),
                                           "<sip:voxsim@127.0.0.1>", f"<sip:1001@127.0.0.1:{port}>")],
                         advertised_host="127.0.0.1", open_media=open_media, request_timeout=1)
    leg.bind(session, "o1")
    await leg.start()
    await session.wait("Call.Connected")
    assert session.names == ["Call.Ringing", "Call.AudioStarted", "Call.Connected"]  # each once
    progress = sent_183s(carrier_sent)
    assert len(progress) >= 2 and progress[0].headers.get("Require") == "100rel"
    # One PRACK transaction (its retransmissions share the Via): the 183's copy was not PRACKed as new.
    [prack] = {m.headers.get("Via"): m for m in edge_sent if isinstance(m, Request) and m.method == "PRACK"}.values()
    assert prack.headers.get("RAck") == f"{progress[0].headers.get('RSeq')} {prack.cseq.seq - 1} INVITE"
    assert far_requests == ["PRACK"]
    invite = next(m for m in edge_sent if isinstance(m, Request) and m.method == "INVITE")
    assert "100rel" in invite.headers.get_all("Supported")
    await leg.hangup({})
    assert far_requests == ["PRACK", "BYE"]


async def test_an_incoming_call_requiring_100rel_rings_gets_early_media_and_connects(agents) -> None:
    incoming: asyncio.Queue[InviteDialog] = asyncio.Queue()
    edge, phone = await agents(user="edge", on_invite=incoming.put_nowait), await agents(user="phone")
    seen: list[Response] = []
    task = asyncio.ensure_future(phone.invite(f"sip:1001@127.0.0.1:{edge.ports['udp']}", sdp=CARRIER_SDP,
                                              headers=[("Require", "100rel")], on_provisional=seen.append))
    leg = SipInboundLeg(edge, await asyncio.wait_for(incoming.get(), 3), advertised_host="127.0.0.1",
                        open_media=open_media, request_timeout=1, ack_timeout=3)
    session = QueueSession()
    leg.bind(session, "c1")
    await leg.ring({"X-Ring": "1"})
    await leg.start_early_media({})
    await leg.answer({}, {})
    call = await task
    await session.wait("Call.Connected")
    ringing, progress = [r for r in seen if r.status > 100]
    assert (ringing.status, progress.status) == (180, 183) and ringing.headers.get("X-Ring") == "1"
    assert int(progress.headers.get("RSeq", "0")) == int(ringing.headers.get("RSeq", "0")) + 1
    assert b"m=audio" in progress.body and call.remote_sdp == progress.body
    await call.bye()
    assert (await session.wait("Call.Disconnected"))["internalCode"] == 200


async def test_an_incoming_call_whose_caller_never_pracks_ends_408(agents, sip_peer) -> None:
    incoming: asyncio.Queue[InviteDialog] = asyncio.Queue()
    edge = await agents(timers=TimerConfig(t1=0.02, t2=0.08, trying_delay=0), user="edge",
                        on_invite=incoming.put_nowait)
    host, port = sip_peer.transport.local_address("udp")
    request = build_request("INVITE", f"sip:1001@127.0.0.1:{edge.ports['udp']}", from_addr="<sip:peer@test>;tag=p",
                            to_addr="<sip:1001@test>", call_id="noprack-leg@test", cseq=1,
                            contact=f"<sip:peer@{host}:{port}>", sent_by=f"{host}:{port}",
                            headers=[("Require", "100rel")], body=CARRIER_SDP, content_type="application/sdp")
    await sip_peer.transport.send(request, Address("udp", "127.0.0.1", edge.ports["udp"]))
    leg = SipInboundLeg(edge, await asyncio.wait_for(incoming.get(), 3), advertised_host="127.0.0.1",
                        open_media=open_media, request_timeout=1, ack_timeout=3)
    session = QueueSession()
    leg.bind(session, "c1")
    await leg.ring({})
    await leg.answer({}, {})  # waits for a PRACK that never comes
    disconnected = await session.wait("Call.Disconnected")
    assert disconnected == {"internalCode": 408, "reason": "Request Timeout - no PRACK", "headers": {}}
    assert "Call.Connected" not in session.names and leg.closed
    statuses: list[int] = []
    while not statuses or statuses[-1] < 200:
        message, _ = await sip_peer.next(3)
        if isinstance(message, Response):
            statuses.append(message.status)
    assert statuses[-1] == 500 and statuses.count(180) >= 2
