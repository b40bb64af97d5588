"""RTP, just enough to hear DTMF: the fixed header (RFC 3550 5.1) and telephone-events (RFC 4733, ex RFC 2833).

Sans-IO: it parses bytes and imports nothing of voxsim.

- `build_rtp(payload_type, sequence, timestamp, ssrc, payload, marker=False)` -> the datagram (no CSRCs,
  no extension, no padding).
- `parse_rtp(data)` -> `RtpPacket` (version 2 only; CSRCs, header extension and padding removed from the
  payload) or None for anything malformed.
- `parse_telephone_event(payload)` -> `TelephoneEvent` (event, end bit, volume, duration) or None.
- `DtmfDetector.feed(data, payload_type)` -> the key pressed ("0"-"9", "*", "#", "A"-"D") or None.

A sender repeats an event's packets every 50 ms or so while the key is held (same RTP timestamp, growing
duration) and sends its end packet three times. The detector reports a key on the *first* packet it sees
of an event (the earliest moment, and it still works when the end packets are lost) and never again for
the same event: an event is identified by (SSRC, RTP timestamp, event code), remembered for the last
`memory` events. Two presses of the same key are two events with different timestamps, so both count.
A sender that replays the very same packets (same SSRC and timestamp) is heard once.
"""

from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass

__all__ = ["DTMF_EVENTS", "DtmfDetector", "RtpPacket", "TelephoneEvent", "build_rtp", "parse_rtp",
           "parse_telephone_event"]

DTMF_EVENTS = "0123456789*#ABCD"  # RFC 4733 3.2: events 0-15
_HEADER = struct.Struct("!BBHII")
_EVENT = struct.Struct("!BBH")


@dataclass(frozen=True)
class RtpPacket:
    version: int
    padding: bool
    extension: bool
    csrc_count: int
    marker: bool
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    csrcs: tuple[int, ...]
    payload: bytes


@dataclass(frozen=True)
class TelephoneEvent:
    event: int
    end: bool
    volume: int  # 0..63, in -dBm0
    duration: int  # in timestamp units

    @property
    def key(self) -> str | None:
        """The DTMF key of events 0-15, None for other events (tones, trunk signals)."""
        return DTMF_EVENTS[self.event] if self.event < len(DTMF_EVENTS) else None


def build_rtp(payload_type: int, sequence: int, timestamp: int, ssrc: int, payload: bytes, *,
              marker: bool = False) -> bytes:
    """An RTP version 2 packet (RFC 3550 5.1); sequence and timestamp wrap at 16 and 32 bits."""
    second = (0x80 if marker else 0) | (payload_type & 0x7F)
    return _HEADER.pack(0x80, second, sequence & 0xFFFF, timestamp & 0xFFFFFFFF, ssrc & 0xFFFFFFFF) + payload


def parse_rtp(data: bytes) -> RtpPacket | None:
    """The RTP packet in a datagram, or None when it is not a well-formed RTP version 2 packet."""
    if len(data) < _HEADER.size:
        return None
    first, second, sequence, timestamp, ssrc = _HEADER.unpack_from(data)
    version, padding, extension, csrc_count = first >> 6, bool(first & 0x20), bool(first & 0x10), first & 0x0F
    if version != 2:
        return None
    offset = _HEADER.size + 4 * csrc_count
    end = len(data)
    if offset > end:
        return None
    csrcs = struct.unpack_from(f"!{csrc_count}I", data, _HEADER.size)
    if extension:
        if offset + 4 > end:
            return None
        (words,) = struct.unpack_from("!H", data, offset + 2)
        offset += 4 + 4 * words
        if offset > end:
            return None
    if padding:
        count = data[-1]
        if count == 0 or offset + count > end:
            return None
        end -= count
    return RtpPacket(version, padding, extension, csrc_count, bool(second & 0x80), second & 0x7F, sequence,
                     timestamp, ssrc, csrcs, bytes(data[offset:end]))


def parse_telephone_event(payload: bytes) -> TelephoneEvent | None:
    """The first (newest) event of a telephone-event payload (RFC 4733 2.3), None when it is too short."""
    if len(payload) < _EVENT.size:
        return None
    event, flags, duration = _EVENT.unpack_from(payload)
    return TelephoneEvent(event, bool(flags & 0x80), flags & 0x3F, duration)


class DtmfDetector:
    """Turns the RTP packets of one call into key presses, each reported once (see the module docstring)."""

    def __init__(self, memory: int = 64) -> None:
        self._seen: set[tuple[int, int, int]] = set()
        self._order: deque[tuple[int, int, int]] = deque()
        self._memory = memory

    def feed(self, data: bytes, payload_type: int) -> str | None:
        """The key a packet starts, or None: not RTP, another payload type, not a DTMF event, already heard."""
        try:
            packet = parse_rtp(data)
            if packet is None or packet.payload_type != payload_type:
                return None
            event = parse_telephone_event(packet.payload)
        except (struct.error, IndexError, TypeError):  # defensive: malformed input never raises
            return None
        if event is None or event.key is None:
            return None
        identity = (packet.ssrc, packet.timestamp, event.event)
        if identity in self._seen:
            return None
        self._seen.add(identity)
        self._order.append(identity)
        if len(self._order) > self._memory:
            self._seen.discard(self._order.popleft())
        return event.key
