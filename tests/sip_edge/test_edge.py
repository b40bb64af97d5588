"""SipEdge, the emulator's SIP listener, on ephemeral ports: honest answers to everything."""

from __future__ import annotations

import asyncio
import socket

import pytest

from sip_edge.edge import SipEdge
from sip_edge.message import parse_message
from sip_edge.transport import Address, free_port_pair
from sip_edge.ua import Call, CallFailed, UserAgent


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
    assert unknown.status == 501 and unknown.headers.get("Allow") == "INVITE, ACK, CANCEL, BYE, OPTIONS"
    assert (await phone.request("MESSAGE", udp, body=b"hi", content_type="text/plain")).status == 501
    assert (await phone.request("INFO", udp)).status == 481


async def test_cancel_without_a_matching_invite_gets_481(edge: SipEdge, phone: UserAgent) -> None:
    assert (await phone.request("CANCEL", url(edge, "sip_udp"))).status == 481


async def test_a_handler_takes_the_calls(tls_files, phone: UserAgent) -> None:
    calls: list[Call] = []

    async def handler(call: Call) -> None:
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

