"""RTP from voxsim: an answered call gets 20 ms G.711 packets on the media clock, sent symmetric, until it ends.

The phone is our own UserAgent for signalling and plain UDP sockets for its media, so the test reads every
packet voxsim sends."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from sip_edge.rtp import RtpPacket, build_rtp, parse_rtp
from sip_edge.sdp import direction_of, parse_sdp
from sip_edge.transaction import TimerConfig
from sip_edge.transport import Address
from sip_edge.ua import UserAgent
from voxsim.app import Emulator
from voxsim.runtime import RuntimeSettings

from .conftest import start_edge_emulator

ANSWER_AND_HOLD = r"""
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  e.call.addEventListener(CallEvents.OnHold, () => Logger.write('held'));
  e.call.addEventListener(CallEvents.OffHold, () => Logger.write('resumed'));
  e.call.addEventListener(CallEvents.Disconnected, () => VoxEngine.terminate());
  e.call.answer();
});
"""


def offer(port: int, payloads: str = "8 0 101", direction: str = "sendrecv", version: int = 1) -> bytes:
    return (f"v=0\r\no=- 1 {version} IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP {payloads}\r\na=rtpmap:101 telephone-event/8000\r\na={direction}\r\n").encode()


def udp_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    return sock


async def receive(sock: socket.socket, seconds: float) -> list[RtpPacket]:
    loop, packets = asyncio.get_running_loop(), []
    deadline = loop.time() + seconds
    while (remaining := deadline - loop.time()) > 0:
        try:
            data = await asyncio.wait_for(loop.sock_recv(sock, 2048), remaining)
        except TimeoutError:
            break
        packet = parse_rtp(data)
        assert packet is not None, data
        packets.append(packet)
    return packets


@pytest.fixture
async def emulator(tmp_path: Path) -> AsyncIterator[Emulator]:
    em = await start_edge_emulator(tmp_path, RuntimeSettings(pool_size=1, session_idle_timeout=5.0))
    store, account_id = em.store, em.account.account_id
    app = store.add_application(account_id, "media")
    scenario = store.add_scenario(account_id, "answer", ANSWER_AND_HOLD, application_id=app.application_id)
    store.add_rule(account_id, app.application_id, "all", ".*", scenario_ids=[scenario.scenario_id])
    yield em
    await em.stop()


@pytest.fixture
def media() -> Iterator[tuple[socket.socket, socket.socket]]:
    first, second = udp_socket(), udp_socket()
    yield first, second
    first.close()
    second.close()


async def test_an_answered_call_hears_g711_every_20_ms_symmetric_until_the_end(
        emulator: Emulator, media: tuple[socket.socket, socket.socket]) -> None:
    first, second = media
    phone = UserAgent(user="phone", timers=TimerConfig(trying_delay=0))
    await phone.start(tcp=None)
    try:
        edge = Address("udp", "127.0.0.1", emulator.listeners["sip_udp"]["port"])
        call = await phone.invite("sip:100@media.voxsim.voximplant.com", dest=edge,
                                  sdp=offer(first.getsockname()[1]))
        answer = parse_sdp(call.remote_sdp or b"")
        assert answer is not None and answer.g711() == [(8, "PCMA")]

        packets = await receive(first, 0.5)
        assert len(packets) >= 15  # 25 in half a second, less what the loop's scheduling costs
        assert {p.payload_type for p in packets} == {8} and packets[0].marker
        assert all(p.payload == b"\xd5" * 160 for p in packets)  # A-law silence
        for before, after in zip(packets, packets[1:], strict=False):
            assert (after.sequence - before.sequence) % 65536 == 1
            assert (after.timestamp - before.timestamp) % 2**32 == 160
            assert after.ssrc == before.ssrc

        # The phone's own RTP comes from another port: voxsim answers there from now on.
        second.sendto(build_rtp(8, 1, 0, 1234, b"\xd5" * 160), ("127.0.0.1", answer.port))
        await asyncio.sleep(0.1)
        assert len(await receive(second, 0.3)) >= 8

        await call.bye()
        await asyncio.sleep(0.1)
        await receive(second, 0.05)  # what was already on its way
        assert await receive(second, 0.2) == []
        assert emulator.media_clock.senders == set()
    finally:
        await phone.stop()


async def test_a_hold_by_re_invite_is_answered_recvonly_stops_rtp_and_fires_on_hold_then_off_hold(
        emulator: Emulator, media: tuple[socket.socket, socket.socket]) -> None:
    first, _ = media
    port = first.getsockname()[1]
    phone = UserAgent(user="phone", timers=TimerConfig(trying_delay=0))
    await phone.start(tcp=None)
    try:
        edge = Address("udp", "127.0.0.1", emulator.listeners["sip_udp"]["port"])
        call = await phone.invite("sip:100@media.voxsim.voximplant.com", dest=edge, sdp=offer(port))
        assert len(await receive(first, 0.2)) >= 5
        assert emulator.runtime is not None
        (session,) = emulator.runtime.live_sessions()

        held = await call.request("INVITE", body=offer(port, direction="sendonly", version=2),
                                  content_type="application/sdp")
        assert held.status == 200 and direction_of(held.body) == "recvonly"
        await session.wait_for_event("Call.OnHold")
        await receive(first, 0.05)  # what was already on its way
        assert await receive(first, 0.2) == []

        resumed = await call.request("INVITE", body=offer(port, version=3), content_type="application/sdp")
        assert resumed.status == 200 and direction_of(resumed.body) == "sendrecv"
        await session.wait_for_event("Call.OffHold")
        assert len(await receive(first, 0.2)) >= 5
        said = [line.rsplit(" ", 1)[-1] for line in session.log.text().splitlines()
                if line.endswith((" held", " resumed"))]
        assert said == ["held", "resumed"]
        await call.bye()
    finally:
        await phone.stop()


async def test_after_a_hundred_calls_every_rtp_port_is_free_again(tmp_path: Path) -> None:
    """Ten RTP ports (even numbers of a 20-port range) serve a hundred calls one after another: each call's
    port comes back when it ends, or the eleventh call would find none (503)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    low = probe.getsockname()[1] // 2 * 2  # an even port that is free now (likely its neighbours too)
    probe.close()
    em = await start_edge_emulator(tmp_path, RuntimeSettings(pool_size=1, session_idle_timeout=5.0))
    assert em.sip is not None
    em.sip.media_ports.ports = (low, low + 20)
    app = em.store.add_application(em.account.account_id, "media")
    scenario = em.store.add_scenario(em.account.account_id, "answer", ANSWER_AND_HOLD,
                                     application_id=app.application_id)
    em.store.add_rule(em.account.account_id, app.application_id, "all", ".*", scenario_ids=[scenario.scenario_id])
    phone = UserAgent(user="phone", timers=TimerConfig(trying_delay=0))
    await phone.start(tcp=None)
    sock = udp_socket()
    try:
        edge = Address("udp", "127.0.0.1", em.listeners["sip_udp"]["port"])
        used = set()
        for _ in range(100):
            call = await phone.invite("sip:100@media.voxsim.voximplant.com", dest=edge,
                                      sdp=offer(sock.getsockname()[1]))
            answer = parse_sdp(call.remote_sdp or b"")
            assert answer is not None and low <= answer.port < low + 20
            used.add(answer.port)
            await call.bye()
        assert em.runtime is not None
        for session in em.runtime.live_sessions():
            await session.wait_finished(5)
        assert em.media_clock.senders == set() and not em.media_clock.graph.units
        assert len(used) <= 10
    finally:
        sock.close()
        await phone.stop()
        await em.stop()
