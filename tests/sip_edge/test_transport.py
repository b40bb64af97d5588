"""The asyncio transports: UDP, TCP and TLS on loopback, framing, connection reuse, rport and bad input."""

from __future__ import annotations

import asyncio
import socket

import pytest

from sip_edge.dialog import build_request
from sip_edge.message import Request, Response, make_response, parse_message
from sip_edge.transport import Address, SipTransport, SipTransportError, free_port_pair, stamp_received


def options(dest: Address, local: tuple[str, int], *, rport: bool = True, call_id: str = "c1@test") -> Request:
    request = build_request("OPTIONS", f"sip:{dest.host}:{dest.port}", from_addr="<sip:a@test>",
                            to_addr="<sip:b@test>", call_id=call_id, sent_by=f"{local[0]}:{local[1]}",
                            transport=dest.transport.upper())
    if not rport:
        request.headers.set("Via", request.headers.get("Via").replace(";rport", ""))
    return request


def raw_request(via: str, *, call_id: str = "raw@test", extra: str = "") -> bytes:
    return (
        f"OPTIONS sip:b@127.0.0.1 SIP/2.0\r\nVia: {via}\r\nFrom: <sip:a@test>;tag=1\r\nTo: <sip:b@test>\r\n"
        f"Call-ID: {call_id}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n{extra}Content-Length: 0\r\n\r\n"
    ).encode()


class RawUdp:
    """A plain UDP socket on loopback, to send bytes our transport would never produce."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]

    def send(self, data: bytes, port: int) -> None:
        self.sock.sendto(data, ("127.0.0.1", port))

    async def recv(self, timeout: float = 2.0) -> bytes:
        return await asyncio.wait_for(asyncio.get_running_loop().sock_recv(self.sock, 65535), timeout)

    async def nothing(self, wait: float = 0.2) -> bool:
        try:
            await self.recv(wait)
        except TimeoutError:
            return True
        return False

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def raw_udp():
    sock = RawUdp()
    yield sock
    sock.close()


# ------------------------------------------------------------------------------------------ round trips


@pytest.mark.parametrize("transport", ["udp", "tcp", "tls"])
async def test_request_and_response_round_trip(transport: str, tls_files, make_peer) -> None:
    server = await make_peer(tls_context=tls_files.server_context())
    client = await make_peer(client_ssl=tls_files.client_context())
    dest = Address(transport, "127.0.0.1", server.transport.ports[transport])
    local = client.transport.local_address(transport) or ("127.0.0.1", 0)
    await client.transport.send(options(dest, local), dest)
    request, source = await server.next()
    assert isinstance(request, Request) and request.method == "OPTIONS"
    assert source.transport == transport and source.host == "127.0.0.1"
    assert request.top_via.received == "127.0.0.1" and request.top_via.rport == source.port

    await server.transport.send(make_response(request, 200, to_tag="t"), source)
    response, _ = await client.next()
    assert isinstance(response, Response) and response.status == 200
    assert response.call_id == "c1@test"


async def test_ports_are_exposed_and_port_zero_picks_free_ones(sip_peer) -> None:
    ports = sip_peer.transport.ports
    assert set(ports) == {"udp", "tcp"} and all(port > 0 for port in ports.values())
    assert sip_peer.transport.local_address("UDP") == ("127.0.0.1", ports["udp"])
    assert sip_peer.transport.local_address("tls") is None


async def test_a_chosen_port_is_used_for_udp_and_tcp() -> None:
    port = free_port_pair()
    transport = SipTransport(lambda message, source: None)
    try:
        assert await transport.listen_udp("127.0.0.1", port) == port
        assert await transport.listen_tcp("127.0.0.1", port) == port
    finally:
        await transport.close()


# ------------------------------------------------------------------------------------------ streams


async def test_tcp_framing_survives_odd_chunks_and_keepalives(sip_peer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", sip_peer.transport.ports["tcp"])
    try:
        first = raw_request("SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bK1", call_id="one@test")
        body = b"v=0\r\n"
        second = raw_request("SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bK2", call_id="two@test",
                             extra="Content-Type: application/sdp\r\n").replace(b"Content-Length: 0",
                                                                                 b"Content-Length: 5") + body
        third = raw_request("SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bK3", call_id="three@test")
        stream = b"\r\n\r\n" + first + b"\r\n" + second + third
        for start in range(0, len(stream), 7):  # 7-byte chunks cut lines, headers and the body apart
            writer.write(stream[start:start + 7])
            await writer.drain()
            await asyncio.sleep(0)
        received = [await sip_peer.next() for _ in range(3)]
        assert [m.call_id for m, _ in received] == ["one@test", "two@test", "three@test"]
        assert received[1][0].body == body
        assert len({source for _, source in received}) == 1  # one connection, one source

        # The leading CRLFCRLF was a keep-alive ping: RFC 5626 wants a CRLF pong back.
        assert await asyncio.wait_for(reader.readexactly(2), 2) == b"\r\n"
        # Responses go back on the same connection.
        request, source = received[0]
        await sip_peer.transport.send(make_response(request, 200, to_tag="x"), source)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
        assert head.startswith(b"SIP/2.0 200 OK") and b"one@test" in head
    finally:
        writer.close()


async def test_connections_are_reused_both_ways(make_peer) -> None:
    server = await make_peer()
    client = await make_peer()
    dest = Address("tcp", "127.0.0.1", server.transport.ports["tcp"])
    local = client.transport.local_address("tcp")
    for n in range(3):
        await client.transport.send(options(dest, local, call_id=f"reuse{n}@test"), dest)
    sources = {(await server.next())[1] for _ in range(3)}
    assert len(sources) == 1 and len(client.transport.connections) == 1
    (source,) = sources

    # A new request from the server to the client's address reuses the connection it accepted.
    back = Address("tcp", "127.0.0.1", source.port)
    await server.transport.send(options(back, server.transport.local_address("tcp"), call_id="back@test"), back)
    message, came_from = await client.next()
    assert message.call_id == "back@test" and came_from == dest
    assert len(client.transport.connections) == 1 and len(server.transport.connections) == 1


async def test_via_alias_lets_new_requests_reuse_an_accepted_connection(sip_peer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", sip_peer.transport.ports["tcp"])
    try:
        writer.write(raw_request("SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bKal;alias"))
        _, source = await sip_peer.next()
        alias = Address("tcp", "127.0.0.1", 5999)  # nobody listens there: only the alias reaches the peer
        assert sip_peer.transport.connections[alias] is sip_peer.transport.connections[source]
        await sip_peer.transport.send(options(alias, sip_peer.transport.local_address("tcp"), call_id="al@x"), alias)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
        assert head.startswith(b"OPTIONS sip:127.0.0.1:5999 SIP/2.0") and b"al@x" in head
    finally:
        writer.close()


async def test_idle_connections_are_closed(make_peer) -> None:
    server = await make_peer(idle_timeout=0.2)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.transport.ports["tcp"])
    writer.write(raw_request("SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bKidle"))
    await server.next()
    assert len(server.transport.connections) == 1
    assert await asyncio.wait_for(reader.read(), 2) == b""  # closed by the server after 0.2 s idle
    assert server.transport.connections == {}
    writer.close()


async def test_response_routed_by_via_when_the_connection_is_gone(sip_peer, make_peer) -> None:
    # The client's listener is where a response goes once its connection has closed (RFC 3261 18.2.2).
    listener = await make_peer()
    reader, writer = await asyncio.open_connection("127.0.0.1", sip_peer.transport.ports["tcp"])
    via = f"SIP/2.0/TCP 127.0.0.1:{listener.transport.ports['tcp']};branch=z9hG4bKgone"
    writer.write(raw_request(via))
    request, source = await sip_peer.next()
    writer.close()
    await asyncio.sleep(0.1)
    assert source not in sip_peer.transport.connections
    sent_to = await sip_peer.transport.send(make_response(request, 200, to_tag="y"), source)
    assert sent_to == Address("tcp", "127.0.0.1", listener.transport.ports["tcp"])
    response, _ = await listener.next()
    assert response.status == 200


async def test_send_to_a_closed_port_raises() -> None:
    transport = SipTransport(lambda message, source: None, connect_timeout=2)
    try:
        with pytest.raises(SipTransportError):
            await transport.send_bytes(b"x", Address("tcp", "127.0.0.1", free_port_pair()))
        with pytest.raises(SipTransportError):
            await transport.send_bytes(b"x", Address("udp", "127.0.0.1", 9))  # no UDP listener
    finally:
        await transport.close()


# ------------------------------------------------------------------------------------------ rport and received


async def test_rport_and_received_are_stamped_and_used(sip_peer, raw_udp) -> None:
    port = sip_peer.transport.ports["udp"]
    # sent-by names a port nobody listens on; ;rport asks for the response to go to the source port.
    raw_udp.send(raw_request("SIP/2.0/UDP 192.0.2.1:9;branch=z9hG4bKr1;rport"), port)
    request, source = await sip_peer.next()
    via = request.top_via
    assert (via.received, via.rport) == ("127.0.0.1", raw_udp.port)
    assert sip_peer.transport.response_destination(make_response(request, 200), source) == source
    await sip_peer.transport.send(make_response(request, 200, to_tag="r"), source)
    response = parse_message(await raw_udp.recv())
    assert response.status == 200 and f"rport={raw_udp.port}" in response.headers.get("Via")


async def test_without_rport_responses_go_to_the_sent_by_port(sip_peer, raw_udp) -> None:
    listener = RawUdp()
    try:
        via = f"SIP/2.0/UDP 127.0.0.1:{listener.port};branch=z9hG4bKr2"
        raw_udp.send(raw_request(via), sip_peer.transport.ports["udp"])
        request, source = await sip_peer.next()
        assert request.top_via.received is None  # same host as sent-by, no rport asked: nothing added
        await sip_peer.transport.send(make_response(request, 200, to_tag="s"), source)
        assert parse_message(await listener.recv()).status == 200
        assert await raw_udp.nothing()
    finally:
        listener.close()


async def test_a_received_the_peer_wrote_itself_does_not_redirect_the_response(sip_peer, raw_udp) -> None:
    victim = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    victim.bind(("127.0.0.2", raw_udp.port))  # where the forged received= points (same port as the sender)
    victim.setblocking(False)
    try:
        via = f"SIP/2.0/UDP 127.0.0.1:{raw_udp.port};branch=z9hG4bKr3;received=127.0.0.2"
        raw_udp.send(raw_request(via), sip_peer.transport.ports["udp"])
        request, source = await sip_peer.next()
        assert request.top_via.received is None
        await sip_peer.transport.send(make_response(request, 200, to_tag="t"), source)
        assert parse_message(await raw_udp.recv()).status == 200
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.get_running_loop().sock_recv(victim, 65535), 0.2)
    finally:
        victim.close()


async def test_a_forged_rport_is_replaced_by_the_source_port(sip_peer, raw_udp) -> None:
    listener = RawUdp()
    try:
        via = f"SIP/2.0/UDP 127.0.0.1:{listener.port};branch=z9hG4bKr4;received=127.0.0.1;rport={listener.port}"
        raw_udp.send(raw_request(via), sip_peer.transport.ports["udp"])
        request, source = await sip_peer.next()
        await sip_peer.transport.send(make_response(request, 200, to_tag="u"), source)
        assert parse_message(await raw_udp.recv()).status == 200
        assert await listener.nothing()
    finally:
        listener.close()


def test_stamp_received_touches_only_the_top_via() -> None:
    request = parse_message(raw_request("SIP/2.0/UDP h1:5060;branch=z9hG4bKa;rport, SIP/2.0/UDP h2;branch=z9hG4bKb"))
    stamp_received(request, "10.0.0.9", 4242)
    vias = request.vias
    assert (vias[0].received, vias[0].rport) == ("10.0.0.9", 4242)
    assert vias[1].received is None and vias[1].host == "h2"


# ------------------------------------------------------------------------------------------ bad input


async def test_malformed_datagram_is_answered_400_and_the_next_one_served(sip_peer, raw_udp) -> None:
    port = sip_peer.transport.ports["udp"]
    broken = raw_request("SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKbad;rport").replace(b"Call-ID: raw@test\r\n", b"")
    raw_udp.send(broken, port)
    answer = await raw_udp.recv()
    # The 400 echoes what could be salvaged (no Call-ID here) and says what is wrong.
    assert answer.startswith(b"SIP/2.0 400 Bad Request - missing Call-ID header\r\n")
    assert b"branch=z9hG4bKbad" in answer and b"To: <sip:b@test>;tag=" in answer

    raw_udp.send(raw_request("SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKgood;rport"), port)
    request, _ = await sip_peer.next()
    assert request.top_via.branch == "z9hG4bKgood"


VIA = "SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKv;rport"


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (raw_request(VIA).replace(b" SIP/2.0\r\n", b" SIP/7.0\r\n", 1), 505),
        (raw_request(VIA, extra="Content-Length: 4\r\n"), 400),
        (raw_request(VIA).replace(b"CSeq: 1 OPTIONS", b"CSeq: 1 INVITE"), 400),
    ],
    ids=["version", "duplicate-content-length", "cseq-method"],
)
async def test_bad_requests_get_the_right_status(sip_peer, raw_udp, data: bytes, status: int) -> None:
    raw_udp.send(data, sip_peer.transport.ports["udp"])
    assert parse_message(await raw_udp.recv()).status == status
    assert sip_peer.inbox.empty()


@pytest.mark.parametrize(
    "data",
    [b"\x00\xff garbage", b"SIP/2.0 200 OK\r\nVia: broken\r\n\r\n", b"\r\n\r\n",
     raw_request("x").replace(b"Via: x\r\n", b"")],
    ids=["garbage", "bad-response", "keepalive", "no-via"],
)
async def test_unanswerable_input_is_dropped_silently(sip_peer, raw_udp, data: bytes) -> None:
    port = sip_peer.transport.ports["udp"]
    raw_udp.send(data, port)
    assert await raw_udp.nothing()
    raw_udp.send(raw_request("SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKafter"), port)
    assert (await sip_peer.next())[0].top_via.branch == "z9hG4bKafter"


async def test_broken_tcp_framing_is_answered_then_the_connection_closed(sip_peer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", sip_peer.transport.ports["tcp"])
    try:
        no_length = raw_request("SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bKnl").replace(b"Content-Length: 0\r\n", b"")
        writer.write(no_length)
        data = await asyncio.wait_for(reader.read(), 2)  # everything up to the close
        response = parse_message(data)
        assert response.status == 400 and "Content-Length" in response.reason
    finally:
        writer.close()
    # The listener still takes new connections.
    reader, writer = await asyncio.open_connection("127.0.0.1", sip_peer.transport.ports["tcp"])
    writer.write(raw_request("SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bKok"))
    assert (await sip_peer.next())[0].top_via.branch == "z9hG4bKok"
    writer.close()


async def test_a_failing_handler_does_not_stop_the_listener(raw_udp) -> None:
    seen: list[str] = []

    def handler(message, source) -> None:
        seen.append(message.top_via.branch)
        raise RuntimeError("boom")

    transport = SipTransport(handler)
    try:
        port = await transport.listen_udp("127.0.0.1", 0)
        for branch in ("z9hG4bKf1", "z9hG4bKf2"):
            raw_udp.send(raw_request(f"SIP/2.0/UDP 127.0.0.1:9;branch={branch}"), port)
        for _ in range(50):
            if len(seen) == 2:
                break
            await asyncio.sleep(0.01)
        assert seen == ["z9hG4bKf1", "z9hG4bKf2"]
    finally:
        await transport.close()


async def test_tls_rejects_a_client_that_does_not_trust_the_certificate(tls_files, make_peer) -> None:
    server = await make_peer(tls_context=tls_files.server_context())
    client = SipTransport(lambda message, source: None)  # system trust store: our test CA is unknown
    try:
        with pytest.raises(SipTransportError):
            await client.send_bytes(b"OPTIONS", Address("tls", "127.0.0.1", server.transport.ports["tls"]))
        assert server.inbox.empty()
    finally:
        await client.close()


async def test_connections_beyond_the_per_source_limit_are_closed_at_once(make_peer) -> None:
    server = await make_peer(max_connections_per_source=3)
    port = server.transport.ports["tcp"]
    kept = [await asyncio.open_connection("127.0.0.1", port) for _ in range(3)]
    await asyncio.sleep(0.05)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)  # the fourth
    assert await asyncio.wait_for(reader.read(), 2) == b""  # closed by the server straight away
    assert server.transport.refused == 1
    first_reader, first_writer = kept[0]
    first_writer.write(raw_request("SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bKkept"))
    await server.next()  # the ones within the limit are served
    for _, w in [*kept, (reader, writer)]:
        w.close()


async def test_a_total_limit_counts_every_source(make_peer) -> None:
    server = await make_peer(max_connections=2)
    port = server.transport.ports["tcp"]
    kept = [await asyncio.open_connection("127.0.0.1", port) for _ in range(2)]
    await asyncio.sleep(0.05)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    assert await asyncio.wait_for(reader.read(), 2) == b""
    for _, w in [*kept, (reader, writer)]:
        w.close()


async def test_a_message_trickled_a_byte_at_a_time_is_cut_off(make_peer) -> None:
    """A slow client: each byte keeps the connection from being idle, but its message must be whole within
    head_timeout of its first byte."""
    server = await make_peer(head_timeout=0.3, idle_timeout=60)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.transport.ports["tcp"])
    request = raw_request("SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bKslow")
    closed = asyncio.ensure_future(reader.read())
    for byte in request[:40]:
        if closed.done():
            break
        writer.write(bytes([byte]))
        await asyncio.sleep(0.02)
    assert await asyncio.wait_for(closed, 2) == b""
    assert server.inbox.empty()
    writer.close()


async def test_a_whole_message_in_time_resets_the_head_clock(make_peer) -> None:
    server = await make_peer(head_timeout=0.3, idle_timeout=60)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.transport.ports["tcp"])
    for n in range(4):  # 4 messages over ~0.8 s, each whole within 0.3 s
        request = raw_request("SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bKok" + str(n), call_id=f"ok{n}@test")
        writer.write(request[:20])
        await asyncio.sleep(0.1)
        writer.write(request[20:])
        await server.next()
        await asyncio.sleep(0.1)
    writer.close()
