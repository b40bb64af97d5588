"""RTCP (RFC 3550 6): sender and receiver reports, SDES CNAME, BYE; what a report block says about a stream.

Sans-IO: it builds and parses bytes; the caller supplies the clocks (arrival times in seconds of any
monotonic clock, wall-clock time for NTP timestamps) and imports nothing of voxsim.

- `build_rtcp(packets)` -> a compound packet; `parse_rtcp(data)` -> its packets, or None when the datagram is
  not well-formed RTCP (a bad length, version or item anywhere: RFC 3550 A.2 drops the whole compound).
- `SenderReport`, `ReceiverReport` (with `ReportBlock`s), `SourceDescription` (`SdesChunk`s, CNAME and the
  other items), `Bye`; `OtherRtcp` keeps what voxsim does not read (APP, feedback, XR).
- `is_rtcp(data)` tells RTCP from RTP on one port (RFC 5761 4: packet types 200-204).
- `ReceptionStats` follows one incoming RTP stream for the report block: extended highest sequence
  (A.1), packets lost cumulative and as the fraction since the last report (A.3), interarrival jitter
  (A.8, in timestamp units), LSR/DLSR from the last SR heard.
- `RtcpAttributes`/`parse_rtcp_attributes(sdp)`: where the peer wants RTCP (`a=rtcp:` of RFC 3605,
  `a=rtcp-mux` of RFC 5761; without either, the RTP port + 1); `with_rtcp_mux(sdp)` adds the attribute to an
  answer.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["BYE", "NTP_EPOCH_OFFSET", "RR", "SDES", "SDES_CNAME", "SR", "Bye", "OtherRtcp", "ReceiverReport",
           "ReceptionStats", "ReportBlock", "RtcpAttributes", "RtcpPacket", "SdesChunk", "SenderReport",
           "SourceDescription", "build_rtcp", "is_rtcp", "ntp_timestamp", "parse_rtcp", "parse_rtcp_attributes",
           "with_rtcp_mux"]

SR, RR, SDES, BYE, APP = 200, 201, 202, 203, 204
SDES_CNAME = 1
NTP_EPOCH_OFFSET = 2208988800
"""Seconds from the NTP epoch (1900) to the Unix epoch (1970)."""

_HEADER = struct.Struct("!BBH")
_SENDER_INFO = struct.Struct("!IQIII")  # SSRC, NTP timestamp, RTP timestamp, packet count, octet count
_BLOCK = struct.Struct("!IB3sIIII")  # SSRC, fraction lost, cumulative lost (24-bit signed), ...
_MAX_DROPOUT = 3000  # RFC 3550 A.1: a jump ahead this large is a restart, not loss
_MAX_MISORDER = 100
_SEQ_MOD = 1 << 16


@dataclass(frozen=True)
class ReportBlock:
    """What a receiver says about one source (RFC 3550 6.4.1)."""

    ssrc: int
    fraction_lost: int  # lost since the previous report, in 1/256
    cumulative_lost: int  # may be negative (duplicates); 24-bit signed on the wire
    highest_sequence: int  # extended: cycles << 16 | highest sequence number
    jitter: int  # interarrival jitter in timestamp units
    lsr: int  # middle 32 bits of the NTP timestamp of the last SR heard from the source, 0 if none
    dlsr: int  # delay since that SR in 1/65536 s, 0 if none

    def to_bytes(self) -> bytes:
        lost = max(-0x800000, min(0x7FFFFF, self.cumulative_lost)) & 0xFFFFFF
        return _BLOCK.pack(self.ssrc & 0xFFFFFFFF, self.fraction_lost & 0xFF, lost.to_bytes(3, "big"),
                           self.highest_sequence & 0xFFFFFFFF, self.jitter & 0xFFFFFFFF, self.lsr & 0xFFFFFFFF,
                           self.dlsr & 0xFFFFFFFF)

    @classmethod
    def from_bytes(cls, data: bytes, offset: int) -> ReportBlock:
        ssrc, fraction, lost, highest, jitter, lsr, dlsr = _BLOCK.unpack_from(data, offset)
        cumulative = int.from_bytes(lost, "big", signed=True)
        return cls(ssrc, fraction, cumulative, highest, jitter, lsr, dlsr)


@dataclass(frozen=True)
class SenderReport:
    """SR (PT 200): what the sender sent so far, and what it received (RFC 3550 6.4.1)."""

    ssrc: int
    ntp_timestamp: int  # 64-bit fixed point, seconds since 1900 (`ntp_timestamp`)
    rtp_timestamp: int  # the same instant on the stream's RTP clock
    packet_count: int
    octet_count: int  # payload octets
    blocks: tuple[ReportBlock, ...] = ()

    def to_bytes(self) -> bytes:
        body = _SENDER_INFO.pack(self.ssrc & 0xFFFFFFFF, self.ntp_timestamp & 0xFFFFFFFFFFFFFFFF,
                                 self.rtp_timestamp & 0xFFFFFFFF, self.packet_count & 0xFFFFFFFF,
                                 self.octet_count & 0xFFFFFFFF)
        return _packet(SR, len(self.blocks), body + b"".join(block.to_bytes() for block in self.blocks))


@dataclass(frozen=True)
class ReceiverReport:
    """RR (PT 201): what a participant that sends nothing received (RFC 3550 6.4.2)."""

    ssrc: int
    blocks: tuple[ReportBlock, ...] = ()

    def to_bytes(self) -> bytes:
        body = struct.pack("!I", self.ssrc & 0xFFFFFFFF) + b"".join(block.to_bytes() for block in self.blocks)
        return _packet(RR, len(self.blocks), body)


@dataclass(frozen=True)
class SdesChunk:
    """One source's SDES items: (type, text) pairs, CNAME being type 1 (RFC 3550 6.5)."""

    ssrc: int
    items: tuple[tuple[int, str], ...]

    @property
    def cname(self) -> str | None:
        return next((text for kind, text in self.items if kind == SDES_CNAME), None)

    def to_bytes(self) -> bytes:
        out = bytearray(struct.pack("!I", self.ssrc & 0xFFFFFFFF))
        for kind, text in self.items:
            value = text.encode()[:255]
            out += bytes((kind, len(value))) + value
        out += b"\x00" * (4 - len(out) % 4)  # the null item ending the list, padded to 32 bits
        return bytes(out)


@dataclass(frozen=True)
class SourceDescription:
    """SDES (PT 202)."""

    chunks: tuple[SdesChunk, ...]

    def to_bytes(self) -> bytes:
        return _packet(SDES, len(self.chunks), b"".join(chunk.to_bytes() for chunk in self.chunks))

    @classmethod
    def cname_of(cls, ssrc: int, cname: str) -> SourceDescription:
        return cls((SdesChunk(ssrc, ((SDES_CNAME, cname),)),))


@dataclass(frozen=True)
class Bye:
    """BYE (PT 203): these sources leave, with an optional reason (RFC 3550 6.6)."""

    ssrcs: tuple[int, ...]
    reason: str = ""

    def to_bytes(self) -> bytes:
        body = b"".join(struct.pack("!I", ssrc & 0xFFFFFFFF) for ssrc in self.ssrcs)
        if self.reason:
            text = self.reason.encode()[:255]
            body += _padded(bytes((len(text),)) + text)
        return _packet(BYE, len(self.ssrcs), body)


@dataclass(frozen=True)
class OtherRtcp:
    """A packet voxsim does not read (APP, RTPFB, PSFB, XR...), kept as it came (padding removed)."""

    packet_type: int
    count: int
    body: bytes

    def to_bytes(self) -> bytes:
        return _packet(self.packet_type, self.count, self.body)


RtcpPacket = SenderReport | ReceiverReport | SourceDescription | Bye | OtherRtcp


def _padded(data: bytes) -> bytes:
    return data + b"\x00" * (-len(data) % 4)


def _packet(packet_type: int, count: int, body: bytes) -> bytes:
    if count > 31:
        raise ValueError(f"an RTCP packet carries 31 items at most, not {count}")
    body = _padded(body)
    return _HEADER.pack(0x80 | count, packet_type, len(body) // 4) + body


def build_rtcp(packets: Iterable[RtcpPacket]) -> bytes:
    """A compound packet; RFC 3550 6.1 wants an SR or RR first and an SDES with a CNAME in it."""
    return b"".join(packet.to_bytes() for packet in packets)


def is_rtcp(data: bytes) -> bool:
    """RTCP rather than RTP on a multiplexed port (RFC 5761 4): version 2 and packet type 200-204."""
    return len(data) >= 8 and data[0] >> 6 == 2 and SR <= data[1] <= APP


def parse_rtcp(data: bytes) -> list[RtcpPacket] | None:
    """The packets of a compound RTCP datagram, or None when any part is malformed."""
    packets: list[RtcpPacket] = []
    offset = 0
    while offset < len(data):
        if len(data) - offset < _HEADER.size:
            return None
        first, packet_type, words = _HEADER.unpack_from(data, offset)
        end = offset + 4 * (words + 1)
        if first >> 6 != 2 or end > len(data):
            return None
        body = data[offset + 4:end]
        if first & 0x20:  # padding: its last octet counts the octets to drop
            if not body or body[-1] == 0 or body[-1] > len(body):
                return None
            body = body[:-body[-1]]
        packet = _parse_one(packet_type, first & 0x1F, body)
        if packet is None:
            return None
        packets.append(packet)
        offset = end
    return packets or None


def _parse_one(packet_type: int, count: int, body: bytes) -> RtcpPacket | None:
    if packet_type == SR:
        if len(body) < _SENDER_INFO.size + count * _BLOCK.size:
            return None
        ssrc, ntp, rtp, packets, octets = _SENDER_INFO.unpack_from(body)
        return SenderReport(ssrc, ntp, rtp, packets, octets, _blocks(body, _SENDER_INFO.size, count))
    if packet_type == RR:
        if len(body) < 4 + count * _BLOCK.size:
            return None
        return ReceiverReport(struct.unpack_from("!I", body)[0], _blocks(body, 4, count))
    if packet_type == SDES:
        return _parse_sdes(body, count)
    if packet_type == BYE:
        return _parse_bye(body, count)
    return OtherRtcp(packet_type, count, bytes(body))


def _blocks(body: bytes, offset: int, count: int) -> tuple[ReportBlock, ...]:
    return tuple(ReportBlock.from_bytes(body, offset + i * _BLOCK.size) for i in range(count))


def _parse_sdes(body: bytes, count: int) -> SourceDescription | None:
    chunks: list[SdesChunk] = []
    offset = 0
    for _ in range(count):
        if offset + 4 > len(body):
            return None
        ssrc = struct.unpack_from("!I", body, offset)[0]
        offset += 4
        items: list[tuple[int, str]] = []
        while True:
            if offset >= len(body):
                return None
            kind = body[offset]
            if kind == 0:  # the list's end: skip the null octets up to the next 32-bit boundary
                offset += 4 - offset % 4
                break
            if offset + 2 > len(body) or offset + 2 + body[offset + 1] > len(body):
                return None
            length = body[offset + 1]
            items.append((kind, body[offset + 2:offset + 2 + length].decode("utf-8", "replace")))
            offset += 2 + length
        chunks.append(SdesChunk(ssrc, tuple(items)))
    return SourceDescription(tuple(chunks))


def _parse_bye(body: bytes, count: int) -> Bye | None:
    if len(body) < 4 * count:
        return None
    ssrcs = struct.unpack_from(f"!{count}I", body)
    rest = body[4 * count:]
    reason = ""
    if rest:
        if 1 + rest[0] > len(rest):
            return None
        reason = rest[1:1 + rest[0]].decode("utf-8", "replace")
    return Bye(tuple(ssrcs), reason)


def ntp_timestamp(unix_time: float) -> int:
    """A Unix time as a 64-bit NTP timestamp: 32 bits of seconds since 1900, 32 of fraction."""
    seconds = int(unix_time // 1)
    fraction = int((unix_time - seconds) * (1 << 32))
    return ((seconds + NTP_EPOCH_OFFSET) & 0xFFFFFFFF) << 32 | fraction


def _signed32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


class ReceptionStats:
    """One incoming RTP stream, as a report block sees it (RFC 3550 A.1, A.3, A.8).

    `received` takes each RTP packet with its arrival time (seconds); `sender_report` each SR of the
    source; `report_block(now)` what the next RR or SR says (and starts the next interval of the fraction
    lost). A new SSRC starts over: the peer restarted its stream. No probation (A.1's MIN_SEQUENTIAL):
    the first packet starts the stream.
    """

    def __init__(self, clock_rate: int = 8000) -> None:
        self.clock_rate = clock_rate
        self.ssrc: int | None = None
        self.received_count = 0
        self._base = self._max = self._cycles = 0
        self._bad = _SEQ_MOD + 1
        self._expected_prior = self._received_prior = 0
        self._transit: int | None = None
        self._jitter = 0  # times 16, as in A.8
        self._sr: tuple[int, int, float] | None = None  # the last SR: SSRC, middle 32 bits of its NTP time, arrival

    def received_packet(self, data: bytes, arrival: float) -> bool:
        """An RTP datagram (only its fixed header is read); False when it is not RTP version 2."""
        if len(data) < 12 or data[0] >> 6 != 2:
            return False
        sequence, timestamp, ssrc = struct.unpack_from("!HII", data, 2)
        self.received(ssrc, sequence, timestamp, arrival)
        return True

    def received(self, ssrc: int, sequence: int, timestamp: int, arrival: float) -> None:
        if ssrc != self.ssrc:  # a new source (the peer restarted its stream): everything starts over
            self.ssrc = ssrc
            self._restart(sequence)
            self._transit, self._jitter = None, 0
        elif not self._update_sequence(sequence):
            return
        self.received_count += 1
        self._update_jitter(timestamp, arrival)

    def _restart(self, sequence: int) -> None:
        self._base = self._max = sequence
        self._cycles = 0
        self._bad = _SEQ_MOD + 1
        self.received_count = self._expected_prior = self._received_prior = 0

    def _update_sequence(self, sequence: int) -> bool:
        """A.1's update_seq: False for a packet that does not count (a first jump far from the stream)."""
        delta = (sequence - self._max) % _SEQ_MOD
        if delta < _MAX_DROPOUT:
            if sequence < self._max:
                self._cycles += _SEQ_MOD
            self._max = sequence
        elif delta <= _SEQ_MOD - _MAX_MISORDER:
            if sequence != self._bad:
                self._bad = (sequence + 1) % _SEQ_MOD
                return False
            self._restart(sequence)  # two packets in sequence after the jump: the source restarted
        return True  # in order, a duplicate or a late one: each counts as received (A.3)

    def _update_jitter(self, timestamp: int, arrival: float) -> None:
        transit = (round(arrival * self.clock_rate) - timestamp) & 0xFFFFFFFF
        if self._transit is not None:
            d = abs(_signed32(transit - self._transit))
            self._jitter += d - ((self._jitter + 8) >> 4)
        self._transit = transit

    def sender_report(self, ssrc: int, ntp: int, arrival: float) -> None:
        """An SR of the source arrived at `arrival`: the next report blocks carry its LSR and DLSR."""
        if self.ssrc is None or ssrc == self.ssrc:  # another source's SR says nothing about this stream
            self._sr = (ssrc, (ntp >> 16) & 0xFFFFFFFF, arrival)

    @property
    def extended_highest(self) -> int:
        return self._cycles + self._max

    @property
    def expected(self) -> int:
        return self.extended_highest - self._base + 1

    @property
    def lost(self) -> int:
        return self.expected - self.received_count

    @property
    def jitter(self) -> int:
        return self._jitter >> 4

    def report_block(self, now: float) -> ReportBlock | None:
        """The report block on this stream (None before its first packet); the fraction lost covers the
        packets since the previous call."""
        if self.ssrc is None:
            return None
        expected, received = self.expected, self.received_count
        expected_interval = expected - self._expected_prior
        lost_interval = expected_interval - (received - self._received_prior)
        self._expected_prior, self._received_prior = expected, received
        fraction = 0 if expected_interval <= 0 or lost_interval <= 0 else (lost_interval << 8) // expected_interval
        lsr, dlsr = 0, 0
        if self._sr is not None and self._sr[0] == self.ssrc:
            lsr = self._sr[1]
            dlsr = min(0xFFFFFFFF, max(0, int((now - self._sr[2]) * 65536)))
        return ReportBlock(self.ssrc, min(fraction, 255), self.lost, self.extended_highest & 0xFFFFFFFF,
                           self.jitter, lsr, dlsr)


@dataclass(frozen=True)
class RtcpAttributes:
    """Where a peer's SDP asks for RTCP: `a=rtcp:<port> [IN IP4 <address>]` (RFC 3605), `a=rtcp-mux`
    (RFC 5761); neither: the RTP port + 1 (RFC 3550 11)."""

    port: int | None = None
    host: str | None = None
    mux: bool = False

    def destination(self, rtp: tuple[str, int]) -> tuple[str, int]:
        """Where RTCP goes for a peer whose RTP goes to `rtp`."""
        if self.mux:
            return rtp
        if self.port is not None:
            return (self.host or rtp[0], self.port)
        return (rtp[0], rtp[1] + 1)


def parse_rtcp_attributes(sdp: bytes | None) -> RtcpAttributes:
    """The RTCP attributes of an SDP's first `m=audio` (or of its session part before it)."""
    port, host, mux, section = None, None, False, "session"
    for raw in (sdp or b"").decode("utf-8", "replace").splitlines():
        line = raw.strip()
        if line.startswith("m="):
            if section == "audio":
                break
            section = "audio" if line[2:].startswith("audio ") else "other"
        elif section == "other":
            continue
        elif line == "a=rtcp-mux":
            mux = True
        elif line.startswith("a=rtcp:"):
            parts = line[len("a=rtcp:"):].split()
            if parts and parts[0].isdigit() and 0 < int(parts[0]) < 65536:
                port = int(parts[0])
                host = parts[3] if len(parts) >= 4 and parts[1] == "IN" else None
    return RtcpAttributes(port, host, mux)


def with_rtcp_mux(sdp: bytes) -> bytes:
    """An SDP with one audio stream (voxsim's own) with `a=rtcp-mux` added: an answer that agrees to mux."""
    text = sdp.decode("utf-8", "replace")
    if "a=rtcp-mux" in text:
        return sdp
    ending = "" if not text or text.endswith("\r\n") else "\r\n"
    return (text + ending + "a=rtcp-mux\r\n").encode()
