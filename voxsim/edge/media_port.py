"""The UDP ports of one call's media: RTP on an even port P, RTCP on P+1; what arrives, and what voxsim sends.

`MediaPorts` reserves them (an even port from the `rtp_ports` range whose neighbour is free too, or any free
pair); a leg asks it for its ports when it first needs them (answer, early media, an outbound offer). What
arrives on the RTP port goes to the port's `on_datagram` (the leg: DTMF events, audio into the call's
`CallAudio`). Once the SDPs agree on a codec the leg calls `start_sending`: an `RtpSender` on the emulator's
one `MediaClock` sends 20 ms G.711 packets of what the call's audio gives (silence when nothing plays), to
where the peer's packets come from once they do.

RTCP (RFC 3550, `sip_edge.rtcp`) rides on the same tick, with no timer or task per call: every
`rtcp_interval` seconds of the call's stream the port sends an SR (an RR while on hold) with a report block on
the peer's stream and an SDES CNAME, and on close a BYE. It goes to the RTP port + 1 of the peer's SDP, to its
`a=rtcp:` port (RFC 3605), or, with `a=rtcp-mux` (RFC 5761), to the RTP destination from the RTP port; once
the peer's RTCP arrives, to where it comes from (symmetric, as RTP). RTCP is accepted on both ports (on the
RTP port told apart by its packet type, 200-204), parsed and kept (`rtcp_received`, `peer_report`); garbage is
counted and dropped. `watch_inactivity` (an answered call, `media_timeout` > 0) calls back once when nothing
arrived on either port for that long, checked on the same tick (a timestamp compare).
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from sip_edge.rtcp import (
    Bye,
    ReceiverReport,
    ReceptionStats,
    RtcpAttributes,
    RtcpPacket,
    SenderReport,
    SourceDescription,
    build_rtcp,
    is_rtcp,
    ntp_timestamp,
    parse_rtcp,
    parse_rtcp_attributes,
)
from voxsim.media.clock import FRAME_SAMPLES, PTIME, MediaClock, RtpSender
from voxsim.media.dtmf import TelephoneEvents
from voxsim.media.graph import Frame

__all__ = ["MediaPort", "MediaPorts"]

log = logging.getLogger(__name__)

RTCP_KEPT = 64
"""How many received RTCP packets a port keeps (the newest)."""
_RTP_HEADER = 12  # voxsim's packets carry no CSRC or extension: the rest is payload (the SR's octet count)

class _RtpSink(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.packets = 0
        self.last_source: tuple[str, int] | None = None
        self.on_datagram: Callable[[bytes], None] | None = None
        self.sender: RtpSender | None = None
        self.port: MediaPort | None = None

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        source = (str(addr[0]), int(addr[1]))
        port = self.port
        if port is not None:
            arrival = port.heard()
            if is_rtcp(data):  # RTCP multiplexed on the RTP port (RFC 5761 4)
                port.rtcp_in(data, source, muxed=True)
                return
            port.reception.received_packet(data, arrival)
        self.packets += 1
        if source != self.last_source and self.sender is not None:
            self.sender.heard_from(source)
        self.last_source = source
        if self.on_datagram is not None:
            try:
                self.on_datagram(data)
            except Exception:  # one bad packet must not take the port down
                log.exception("RTP packet from %s dropped", self.last_source)


class _RtcpSink(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.port: MediaPort | None = None

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        if self.port is not None:
            self.port.heard()
            self.port.rtcp_in(data, (str(addr[0]), int(addr[1])), muxed=False)


class _PortSender(RtpSender):
    """The call's RtpSender, which hands each of its ticks to its port too (RTCP, the inactivity check)."""

    def __init__(self, port: MediaPort, remote: tuple[str, int], payload_type: int, encoding: str,
                 source: Callable[[], Frame | None] | None) -> None:
        super().__init__(port.send_rtp, remote, payload_type, encoding, source)
        self.port = port

    def tick(self) -> None:
        super().tick()
        self.port.tick()


class MediaPort:
    """The UDP ports reserved for one call's media: RTP on `port` (even), RTCP on `rtcp_port` (`port` + 1).

    It counts what arrives and hands each RTP datagram to `on_datagram` when set (else drops it); RTCP is
    parsed into `rtcp_received`; `close()` sends an RTCP BYE and releases both ports.
    """

    def __init__(self, transport: asyncio.DatagramTransport, sink: _RtpSink, host: str, port: int,
                 clock: MediaClock | None = None, *, rtcp_transport: asyncio.DatagramTransport | None = None,
                 rtcp_interval: float = 5.0, media_timeout: float = 0.0) -> None:
        self.transport = transport
        self.sink = sink
        self.host = host
        self.port = port
        self.clock = clock
        self.rtcp_transport = rtcp_transport
        self.rtcp_port = port + 1
        self.rtcp_interval = rtcp_interval
        self.media_timeout = media_timeout
        self.cname = f"voxsim-{secrets.token_hex(6)}@{host}"  # random per call (RFC 7022)
        self.reception = ReceptionStats()  # the peer's RTP stream, for our report blocks
        self.rtcp_received: deque[RtcpPacket] = deque(maxlen=RTCP_KEPT)
        self.peer_report: SenderReport | ReceiverReport | None = None  # the peer's last SR or RR
        self.rtcp_malformed = 0
        self.rtcp_sent = 0  # compound packets
        self.sent_packets = 0  # RTP, for the SR's sender info
        self.sent_octets = 0
        self.heard_at: float | None = None  # time.monotonic() of the last datagram on either port
        self._peer_rtcp = RtcpAttributes()
        self._rtcp_remote: tuple[str, int] | None = None  # from the peer's SDP
        self._rtcp_source: tuple[str, int] | None = None  # where the peer's RTCP comes from (symmetric)
        self._ticks = 0
        self._report_ticks = 1
        self._alive_at = 0.0  # the inactivity timer's start: armed, last heard, or last on hold
        self._on_inactive: Callable[[], None] | None = None
        sink.port = self
        rtcp_sink = rtcp_transport.get_protocol() if rtcp_transport is not None else None
        if isinstance(rtcp_sink, _RtcpSink):
            rtcp_sink.port = self

    @classmethod
    async def open(cls, host: str, ports: tuple[int, int] = (0, 0), attempts: int = 50,
                   clock: MediaClock | None = None, *, rtcp_interval: float = 5.0,
                   media_timeout: float = 0.0) -> MediaPort:
        """Reserves an even port P whose P+1 is free too: from `ports`, or any free pair for (0, 0)."""
        low, high = ports
        candidates = [0] * attempts if not low else [random.randrange(low + low % 2, max(high, low + 2), 2)
                                                     for _ in range(attempts)]
        error: OSError | None = None
        for candidate in candidates:
            try:
                transport, sink, rtcp_transport = await _bind_pair(host, candidate)
            except OSError as exc:
                error = exc
                continue
            port = transport.get_extra_info("sockname")[1]
            return cls(transport, sink, host, port, clock, rtcp_transport=rtcp_transport,
                       rtcp_interval=rtcp_interval, media_timeout=media_timeout)
        raise OSError(f"no free RTP/RTCP port pair in {low}-{high} on {host}: {error}")

    @property
    def packets(self) -> int:
        return self.sink.packets

    @property
    def on_datagram(self) -> Callable[[bytes], None] | None:
        return self.sink.on_datagram

    @on_datagram.setter
    def on_datagram(self, callback: Callable[[bytes], None] | None) -> None:
        self.sink.on_datagram = callback

    def start_sending(self, remote: tuple[str, int], payload_type: int, encoding: str,
                      source: Callable[[], Frame | None] | None = None, sdp: bytes | None = None) -> None:
        """RTP out to `remote` (from the peer's SDP) with the negotiated codec, on the media clock; once. Each
        tick sends what `source` gives (silence for None). RTCP goes where `sdp` (the peer's) says. A port
        without a clock (a leg tested alone) sends nothing."""
        if self.clock is None or self.sink.sender is not None or self.closed or not remote[1]:
            return
        self._peer_rtcp = parse_rtcp_attributes(sdp)
        self._rtcp_remote = self._peer_rtcp.destination(remote)
        self._report_ticks = max(1, round(self.rtcp_interval / (self.clock.ptime or PTIME)))
        sender = _PortSender(self, self.sink.last_source or remote, payload_type, encoding, source)
        self.sink.sender = sender
        self.clock.add(sender)

    def send_digits(self, digits: str, payload_type: int) -> float | None:
        """Sends `digits` as RFC 4733 telephone-events of `payload_type` in the call's RTP; returns how many
        seconds that takes, or None when this port sends no RTP (yet)."""
        sender = self.sink.sender
        if sender is None or self.closed:
            return None
        events = TelephoneEvents(digits, payload_type)
        sender.send_digits(events)
        return events.duration_ms / 1000.0

    def pause_sending(self, paused: bool) -> None:
        """Hold: no RTP out while `paused` (the stream keeps its clock; RTCP goes on, as RR). The inactivity
        timer starts over when the hold ends."""
        sender = self.sink.sender
        if sender is not None:
            if sender.paused and not paused:
                self._alive_at = time.monotonic()
            sender.paused = paused

    def send_rtp(self, packet: bytes, remote: tuple[str, int]) -> None:
        if not self.transport.is_closing():
            self.transport.sendto(packet, remote)
            self.sent_packets += 1
            self.sent_octets += len(packet) - _RTP_HEADER

    # -- what arrives

    def heard(self) -> float:
        """A datagram arrived on either port: the media is alive. Returns the arrival time."""
        now = time.monotonic()
        self.heard_at = self._alive_at = now
        return now

    def rtcp_in(self, data: bytes, source: tuple[str, int], *, muxed: bool) -> None:
        """An RTCP datagram from `source`, on the RTP port when `muxed`: kept, malformed ones counted."""
        try:
            packets = parse_rtcp(data)
        except Exception:  # parse_rtcp returns None for garbage; a port must outlive any packet regardless
            log.exception("RTCP packet from %s dropped", source)
            packets = None
        if packets is None:
            self.rtcp_malformed += 1
            return
        if not muxed:
            self._rtcp_source = source
        for packet in packets:
            self.rtcp_received.append(packet)
            if isinstance(packet, SenderReport | ReceiverReport):
                self.peer_report = packet
            if isinstance(packet, SenderReport):
                self.reception.sender_report(packet.ssrc, packet.ntp_timestamp, self.heard_at or time.monotonic())

    # -- on the media clock

    def tick(self) -> None:
        """One tick of the call's stream: an RTCP report every `rtcp_interval`, the inactivity check."""
        self._ticks += 1
        if self._ticks >= self._report_ticks:
            self._ticks = 0
            self.send_rtcp()
        if self._on_inactive is not None:
            self._check_inactivity()

    def send_rtcp(self, *, bye: bool = False) -> None:
        """SR (RR while on hold or before any RTP went out) + SDES CNAME, and BYE when `bye`."""
        sender = self.sink.sender
        destination = self._rtcp_destination()
        transport = self.transport if self._peer_rtcp.mux else self.rtcp_transport
        if sender is None or destination is None or transport is None or transport.is_closing():
            return
        block = self.reception.report_block(time.monotonic())
        blocks = (block,) if block is not None else ()
        report: SenderReport | ReceiverReport
        if self.sent_packets and not sender.paused:
            report = SenderReport(sender.ssrc, ntp_timestamp(time.time()), sender.timestamp - FRAME_SAMPLES,
                                  self.sent_packets, self.sent_octets, blocks)
        else:
            report = ReceiverReport(sender.ssrc, blocks)
        packets: list[RtcpPacket] = [report, SourceDescription.cname_of(sender.ssrc, self.cname)]
        if bye:
            packets.append(Bye((sender.ssrc,)))
        transport.sendto(build_rtcp(packets), destination)
        self.rtcp_sent += 1

    def _rtcp_destination(self) -> tuple[str, int] | None:
        sender = self.sink.sender
        if self._peer_rtcp.mux:
            return sender.remote if sender is not None else None
        return self._rtcp_source or self._rtcp_remote

    def watch_inactivity(self, on_inactive: Callable[[], None]) -> None:
        """From now on (the call is answered), `on_inactive()` is called once when neither RTP nor RTCP arrived
        for `media_timeout` seconds; never when that is 0. Checked on the ticks of the call's RTP stream; the
        time on hold does not count."""
        if self.media_timeout > 0 and not self.closed:
            self._alive_at = time.monotonic()
            self._on_inactive = on_inactive

    def _check_inactivity(self) -> None:
        now = time.monotonic()
        sender = self.sink.sender
        if sender is not None and sender.paused:  # on hold the peer may well send nothing
            self._alive_at = now
            return
        if now - self._alive_at >= self.media_timeout and self._on_inactive is not None:
            on_inactive, self._on_inactive = self._on_inactive, None
            on_inactive()

    # -- the end

    @property
    def closed(self) -> bool:
        return self.transport.is_closing()

    def close(self) -> None:
        """RTCP BYE (when the call sent RTP), then both ports go; idempotent."""
        if self.closed:
            return
        self._on_inactive = None
        self.send_rtcp(bye=True)
        if self.sink.sender is not None and self.clock is not None:
            self.clock.remove(self.sink.sender)
        self.transport.close()
        if self.rtcp_transport is not None and not self.rtcp_transport.is_closing():
            self.rtcp_transport.close()


async def _bind_pair(host: str, candidate: int) -> tuple[asyncio.DatagramTransport, _RtpSink,
                                                         asyncio.DatagramTransport]:
    """RTP on `candidate` (0: any port) and RTCP on the next; OSError when the RTP port is odd or either is
    taken (nothing stays bound then)."""
    loop = asyncio.get_running_loop()
    transport, sink = await loop.create_datagram_endpoint(_RtpSink, local_addr=(host, candidate))
    port = transport.get_extra_info("sockname")[1]
    try:
        if port % 2:
            raise OSError(f"the system gave the odd port {port}")
        rtcp_transport, _ = await loop.create_datagram_endpoint(_RtcpSink, local_addr=(host, port + 1))
    except OSError:
        transport.close()
        raise
    return transport, sink, rtcp_transport


class MediaPorts:
    """Reserves RTP/RTCP port pairs for calls on `host`, from `ports` (even numbers; (0, 0): any free pair);
    `rtcp_interval` and `media_timeout` as in `EdgeSettings`."""

    def __init__(self, host: str, ports: tuple[int, int] = (0, 0), clock: MediaClock | None = None, *,
                 rtcp_interval: float = 5.0, media_timeout: float = 0.0) -> None:
        self.host = host
        self.ports = ports
        self.clock = clock
        self.rtcp_interval = rtcp_interval
        self.media_timeout = media_timeout

    async def open(self) -> MediaPort:
        return await MediaPort.open(self.host, self.ports, clock=self.clock, rtcp_interval=self.rtcp_interval,
                                    media_timeout=self.media_timeout)
