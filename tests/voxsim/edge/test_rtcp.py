"""RTCP on a call's media port and the media-inactivity timeout, over real sockets on loopback.

The phone is our own UserAgent for signalling and plain UDP sockets for its RTP and RTCP, so the test reads
every packet voxsim sends: SR + SDES CNAME on the RTP port + 1 (or where `a=rtcp:` / `a=rtcp-mux` say), a
BYE at the end; what the phone reports is parsed into the port's `rtcp_received`. With `media_timeout` on, a
silent phone's call is hung up and the scenario hears Disconnected 408.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from sip_edge.rtcp import (
    Bye,
    ReceiverReport,
    ReportBlock,
    RtcpPacket,
    SenderReport,
    SourceDescription,
    build_rtcp,
    is_rtcp,
    parse_rtcp,
)
from sip_edge.rtp import build_rtp, parse_rtp
from sip_edge.sdp import parse_sdp
from sip_edge.transaction import TimerConfig
from sip_edge.transport import Address
from sip_edge.ua import InviteDialog, UserAgent
from voxsim.app import Emulator
from voxsim.edge.legs import SipLeg
from voxsim.edge.media_port import MediaPort
from voxsim.media.clock import MediaClock
from voxsim.runtime import RuntimeSettings
from voxsim.runtime.session import Session

from .conftest import start_edge_emulator

SCENARIO = r"""
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  e.call.addEventListener(CallEvents.Disconnected, (d) => {
    Logger.write('disconnected ' + d.internalCode + ' ' + d.reason);
    VoxEngine.terminate();
  });
  e.call.answer();
});
"""
INTERVAL = 0.06  # rtcp_interval for these tests (5 s in earnest)


def offer(port: int, extra: str = "") -> bytes:
    return (f"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP 0\r\n{extra}a=sendrecv\r\n").encode()


def udp_pair() -> tuple[socket.socket, socket.socket]:
    """The phone's RTP socket on an even port and its RTCP socket on the next."""
    for _ in range(50):
        rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rtp.bind(("127.0.0.1", 0))
        port = rtp.getsockname()[1]
        rtcp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            if port % 2:
                raise OSError("odd")
            rtcp.bind(("127.0.0.1", port + 1))
        except OSError:
            rtp.close()
            rtcp.close()
            continue
        rtp.setblocking(False)
        rtcp.setblocking(False)
        return rtp, rtcp
    raise OSError("no free port pair")


async def datagrams(sock: socket.socket, seconds: float) -> list[tuple[bytes, tuple[str, int]]]:
    loop, out = asyncio.get_running_loop(), []
    deadline = loop.time() + seconds
    while (remaining := deadline - loop.time()) > 0:
        try:
            out.append(await asyncio.wait_for(loop.sock_recvfrom(sock, 2048), remaining))
        except TimeoutError:
            break
    return out


async def rtcp_on(sock: socket.socket, seconds: float) -> list[list[RtcpPacket]]:
    """The RTCP compounds arriving on `sock` within `seconds` (RTP on a muxed socket left out)."""
    compounds = []
    for data, _ in await datagrams(sock, seconds):
        if is_rtcp(data):
            packets = parse_rtcp(data)
            assert packets is not None, data
            compounds.append(packets)
    return compounds


async def first_rtcp(sock: socket.socket, want: type, seconds: float = 3.0) -> list[RtcpPacket]:
    """The first RTCP compound arriving on `sock` with a packet of type `want`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (remaining := deadline - loop.time()) > 0:
        data, _ = await asyncio.wait_for(loop.sock_recvfrom(sock, 2048), remaining)
        compound = parse_rtcp(data) if is_rtcp(data) else None
        if compound is not None and any(isinstance(packet, want) for packet in compound):
            return compound
    raise AssertionError(f"no {want.__name__} within {seconds} s")


async def until(predicate: Any, seconds: float = 3.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met")


async def start(tmp_path: Path, **edge: Any) -> Emulator:
    edge.setdefault("rtcp_interval", INTERVAL)
    em = await start_edge_emulator(tmp_path, RuntimeSettings(pool_size=1, session_idle_timeout=5.0), **edge)
    assert em.sip is not None
    assert em.sip.media_ports.rtcp_interval == edge["rtcp_interval"]  # the settings reach the media ports
    store, account_id = em.store, em.account.account_id
    app = store.add_application(account_id, "media")
    scenario = store.add_scenario(account_id, "answer", SCENARIO, application_id=app.application_id)
    store.add_rule(account_id, app.application_id, "all", ".*", scenario_ids=[scenario.scenario_id])
    return em


@pytest.fixture
async def emulator(tmp_path: Path) -> AsyncIterator[Emulator]:
    em = await start(tmp_path)
    yield em
    await em.stop()


@pytest.fixture
async def phone() -> AsyncIterator[UserAgent]:
    ua = UserAgent(user="phone", timers=TimerConfig(trying_delay=0))
    await ua.start(tcp=None)
    yield ua
    await ua.stop()


@pytest.fixture
def media() -> Iterator[tuple[socket.socket, socket.socket]]:
    rtp, rtcp = udp_pair()
    yield rtp, rtcp
    rtp.close()
    rtcp.close()


async def call(em: Emulator, phone: UserAgent, sdp: bytes) -> tuple[InviteDialog, MediaPort, Session]:
    edge = Address("udp", "127.0.0.1", em.listeners["sip_udp"]["port"])
    dialog = await phone.invite("sip:100@media.voxsim.voximplant.com", dest=edge, sdp=sdp)
    assert em.sip is not None and em.runtime is not None
    (leg,) = [leg for leg in em.sip.legs if isinstance(leg, SipLeg)]
    assert leg.media is not None
    (session,) = em.runtime.live_sessions()
    return dialog, leg.media, session


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


# ------------------------------------------------------------------------------------------ reports


async def test_an_answered_call_gets_sender_reports_on_rtp_port_plus_one(
        emulator: Emulator, phone: UserAgent, media: tuple[socket.socket, socket.socket]) -> None:
    rtp, rtcp = media
    dialog, port, _ = await call(emulator, phone, offer(rtp.getsockname()[1]))
    answer = parse_sdp(dialog.remote_sdp or b"")
    assert answer is not None and b"rtcp" not in (dialog.remote_sdp or b"")  # RFC 3605: P+1 needs no attribute
    assert port.rtcp_port == answer.port + 1 and answer.port % 2 == 0

    # The phone's stream, with sequence 5 lost, heard in the report blocks.
    for seq in [1, 2, 3, 4, 6, 7, 8, 9, 10]:
        rtp.sendto(build_rtp(0, seq, 160 * seq, 0xFACE, b"\xff" * 160), ("127.0.0.1", answer.port))
    received = await datagrams(rtcp, 0.2)
    assert len(received) >= 2 and {source for _, source in received} == {("127.0.0.1", port.rtcp_port)}
    ssrcs = {packet.ssrc for data, _ in await datagrams(rtp, 0.1) if (packet := parse_rtp(data)) is not None}
    reports: list[SenderReport] = []
    cnames = set()
    for data, _ in received:
        sr, sdes = parse_rtcp(data) or []
        assert isinstance(sr, SenderReport) and isinstance(sdes, SourceDescription)
        assert {sr.ssrc} == ssrcs and sdes.chunks[0].ssrc == sr.ssrc
        assert sr.octet_count == 160 * sr.packet_count and sr.packet_count > 0  # G.711, 160 octets a packet
        reports.append(sr)
        cnames.add(sdes.chunks[0].cname)
    assert len(cnames) == 1 and "@" in str(cnames.pop())
    first_sr, last_sr = reports[0], reports[-1]
    assert last_sr.packet_count > first_sr.packet_count and last_sr.ntp_timestamp > first_sr.ntp_timestamp
    sent_between = last_sr.packet_count - first_sr.packet_count
    assert (last_sr.rtp_timestamp - first_sr.rtp_timestamp) % 2**32 == 160 * sent_between
    (block,) = last_sr.blocks
    assert (block.ssrc, block.highest_sequence, block.cumulative_lost) == (0xFACE, 10, 1)
    await dialog.bye()


async def test_the_peers_reports_are_parsed_and_its_sr_comes_back_as_lsr_and_garbage_is_dropped(
        emulator: Emulator, phone: UserAgent, media: tuple[socket.socket, socket.socket]) -> None:
    rtp, rtcp = media
    dialog, port, _ = await call(emulator, phone, offer(rtp.getsockname()[1]))
    ours = await first_rtcp(rtcp, SenderReport)
    assert isinstance(ours[0], SenderReport)
    voxsim_ssrc = ours[0].ssrc
    rtp.sendto(build_rtp(0, 1, 0, 0xFACE, b"\xff" * 160), ("127.0.0.1", port.port))

    block = ReportBlock(voxsim_ssrc, 0, 0, 12345, 7, 0, 0)
    rr: list[RtcpPacket] = [ReceiverReport(0xFACE, (block,)), SourceDescription.cname_of(0xFACE, "phone@127.0.0.1")]
    rtcp.sendto(b"\x80\xc9garbage", ("127.0.0.1", port.rtcp_port))
    rtcp.sendto(build_rtcp(rr), ("127.0.0.1", port.rtcp_port))
    await until(lambda: port.peer_report is not None)
    assert port.peer_report == rr[0] and list(port.rtcp_received)[-2:] == rr and port.rtcp_malformed == 1

    sr = SenderReport(0xFACE, 0x0123_4567_89AB_CDEF, 0, 1, 160)
    rtcp.sendto(build_rtcp([sr, rr[1]]), ("127.0.0.1", port.rtcp_port))
    await until(lambda: port.peer_report == sr)
    await rtcp_on(rtcp, 0.01)  # a report already on its way
    compound = await first_rtcp(rtcp, SenderReport)
    assert isinstance(compound[0], SenderReport)
    (ours_block,) = compound[0].blocks
    assert ours_block.lsr == 0x4567_89AB and ours_block.dlsr > 0
    assert len(await datagrams(rtp, 0.1)) >= 2  # RTP still flows
    await dialog.bye()


async def test_rtcp_mux_sends_and_accepts_rtcp_on_the_rtp_port(
        emulator: Emulator, phone: UserAgent, media: tuple[socket.socket, socket.socket]) -> None:
    rtp, rtcp = media
    dialog, port, _ = await call(emulator, phone, offer(rtp.getsockname()[1], "a=rtcp-mux\r\n"))
    assert b"a=rtcp-mux" in (dialog.remote_sdp or b"")  # RFC 5761: the answer agrees to mux
    received = await datagrams(rtp, 0.2)
    assert any(is_rtcp(data) for data, _ in received) and any(not is_rtcp(data) for data, _ in received)
    assert {source for data, source in received if is_rtcp(data)} == {("127.0.0.1", port.port)}
    assert await rtcp_on(rtcp, 0.01) == []

    packets = port.packets
    rr = ReceiverReport(0xFACE)
    rtp.sendto(build_rtcp([rr, SourceDescription.cname_of(0xFACE, "p@h")]), ("127.0.0.1", port.port))
    await until(lambda: port.peer_report == rr)
    assert port.packets == packets  # RTCP is not an RTP packet of the call
    await dialog.bye()
    compound = await first_rtcp(rtp, Bye)
    assert isinstance(compound[-1], Bye)


async def test_a_rtcp_attribute_redirects_rtcp_hanging_up_sends_bye_and_releases_both_ports(
        emulator: Emulator, phone: UserAgent, media: tuple[socket.socket, socket.socket]) -> None:
    """Also: media_timeout 0 (the default) leaves a silent phone's call alone, as SIPp's calls without RTP."""
    rtp, rtcp = media
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as elsewhere:
        elsewhere.bind(("127.0.0.1", 0))
        elsewhere.setblocking(False)
        attribute = f"a=rtcp:{elsewhere.getsockname()[1]} IN IP4 127.0.0.1\r\n"
        dialog, port, session = await call(emulator, phone, offer(rtp.getsockname()[1], attribute))
        reports = await rtcp_on(elsewhere, 0.25)
        assert len(reports) >= 2 and all(isinstance(compound[0], SenderReport) for compound in reports)
        assert await rtcp_on(rtcp, 0.01) == []
        assert not dialog.ended.is_set() and port.heard_at is None

        await dialog.bye()
        sr, _, bye = await first_rtcp(elsewhere, Bye)
        assert isinstance(sr, SenderReport) and bye == Bye((sr.ssrc,))
    await session.wait_finished(5)
    await asyncio.sleep(0)  # the sockets go on the loop's next turn
    assert port.closed and port_is_free(port.port) and port_is_free(port.rtcp_port)


async def test_media_port_pairs_are_even_with_their_neighbour_reserved() -> None:
    ports = [await MediaPort.open("127.0.0.1") for _ in range(5)]
    try:
        for port in ports:
            assert port.port % 2 == 0 and not port_is_free(port.port) and not port_is_free(port.port + 1)
    finally:
        for port in ports:
            port.close()
    await asyncio.sleep(0)
    assert all(port_is_free(port.port) and port_is_free(port.rtcp_port) for port in ports)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:  # P+1 in use: that P is not offered
        taken.bind(("127.0.0.1", ports[0].port + 1))
        with pytest.raises(OSError):
            await MediaPort.open("127.0.0.1", (ports[0].port, ports[0].port + 1), attempts=3)


# ------------------------------------------------------------------------------------------ media timeout


async def test_a_silent_peer_is_hung_up_after_media_timeout(
        tmp_path: Path, phone: UserAgent, media: tuple[socket.socket, socket.socket]) -> None:
    rtp, _ = media
    em = await start(tmp_path, media_timeout=0.2)
    try:
        dialog, _, session = await call(em, phone, offer(rtp.getsockname()[1]))
        assert await dialog.wait_ended(5) == "remote BYE"
        await session.wait_until(lambda: "disconnected 408 Request Timeout - media timeout" in session.log.text())
        event = await session.wait_for_event("Call.Disconnected")
        assert "408" in repr(event)
    finally:
        await em.stop()


async def test_rtcp_alone_keeps_a_call_alive(tmp_path: Path, phone: UserAgent,
                                            media: tuple[socket.socket, socket.socket]) -> None:
    rtp, rtcp = media
    em = await start(tmp_path, media_timeout=0.2)
    try:
        dialog, port, _ = await call(em, phone, offer(rtp.getsockname()[1]))
        for _ in range(8):  # 0.4 s of RTCP every 0.05 s, no RTP
            rtcp.sendto(build_rtcp([ReceiverReport(0xFACE)]), ("127.0.0.1", port.rtcp_port))
            await asyncio.sleep(0.05)
        assert not dialog.ended.is_set()
        await dialog.bye()
    finally:
        await em.stop()


async def test_a_held_call_sends_receiver_reports_and_its_silence_does_not_time_out(
        media: tuple[socket.socket, socket.socket]) -> None:
    """The port alone on a clock ticked by hand: one report a tick (rtcp_interval = one ptime)."""
    rtp, rtcp = media
    clock = MediaClock()
    port = await MediaPort.open("127.0.0.1", clock=clock, rtcp_interval=clock.ptime, media_timeout=0.01)
    timed_out: list[bool] = []
    try:
        port.start_sending(("127.0.0.1", rtp.getsockname()[1]), 0, "PCMU")
        port.watch_inactivity(lambda: timed_out.append(True))
        port.pause_sending(True)
        await asyncio.sleep(0.03)  # longer than media_timeout, but on hold
        clock.tick()
        assert isinstance((await first_rtcp(rtcp, ReceiverReport))[0], ReceiverReport) and timed_out == []

        port.pause_sending(False)
        clock.tick()  # RTP again: an SR, and the timeout counts from the end of the hold
        assert isinstance((await first_rtcp(rtcp, SenderReport))[0], SenderReport) and timed_out == []
        await asyncio.sleep(0.03)
        clock.tick()
        clock.tick()
        assert timed_out == [True]  # once
    finally:
        port.close()
