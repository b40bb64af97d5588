"""The running emulator answers SIP on UDP, TCP and TLS (PBXs send OPTIONS as a keep-alive)."""

from __future__ import annotations

import asyncio
import socket
import ssl

from sip_edge.message import parse_message


def options(port: int, transport: str, branch: str) -> bytes:
    return (f"OPTIONS sip:voxsim@127.0.0.1:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/{transport} 127.0.0.1:5999;branch=z9hG4bK{branch};rport\r\n"
            "Max-Forwards: 70\r\nFrom: <sip:pbx@127.0.0.1>;tag=1\r\nTo: <sip:voxsim@127.0.0.1>\r\n"
            f"Call-ID: {branch}@test\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n").encode()


async def udp_exchange(port: int, payload: bytes) -> bytes:
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    sock.connect(("127.0.0.1", port))
    try:
        await loop.sock_sendall(sock, payload)
        return await asyncio.wait_for(loop.sock_recv(sock, 65535), 5)
    finally:
        sock.close()


async def stream_exchange(port: int, payload: bytes, ssl_context: ssl.SSLContext | None = None) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ssl_context)
    writer.write(payload)
    await writer.drain()
    data = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    writer.close()
    return data


async def test_options_over_udp_tcp_and_tls(voxsim_emulator):
    listeners = voxsim_emulator.listeners
    udp = parse_message(await udp_exchange(listeners["sip_udp"]["port"], options(1, "UDP", "a1")))
    assert udp.status == 200
    tcp = parse_message(await stream_exchange(listeners["sip_tcp"]["port"], options(1, "TCP", "a2")))
    assert tcp.status == 200
    context = ssl.create_default_context(cafile=str(voxsim_emulator.files.ca))
    tls = parse_message(await stream_exchange(listeners["sip_tls"]["port"], options(1, "TLS", "a3"), context))
    assert tls.status == 200
    assert listeners["sip_udp"]["port"] == listeners["sip_tcp"]["port"]


async def test_malformed_datagram_gets_400_and_the_edge_keeps_serving(voxsim_emulator):
    port = voxsim_emulator.listeners["sip_udp"]["port"]
    bad = options(port, "UDP", "b1").replace(b"CSeq: 1 OPTIONS", b"CSeq: 1 INVITE")
    reply = parse_message(await udp_exchange(port, bad))
    assert reply.status == 400
    again = parse_message(await udp_exchange(port, options(port, "UDP", "b2")))
    assert again.status == 200


async def test_health_lists_the_sip_listeners(voxsim_emulator):
    assert {"sip_udp", "sip_tcp", "sip_tls"} <= set(voxsim_emulator.health()["listeners"])
