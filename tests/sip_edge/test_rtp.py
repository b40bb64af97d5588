"""RTP header and RFC 4733 telephone-event parsing, and the DTMF detector's once-per-press reporting (sans-IO)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from sip_edge.rtp import DtmfDetector, RtpPacket, TelephoneEvent, build_rtp, parse_rtp, parse_telephone_event


def rtp(payload: bytes, *, pt: int = 101, seq: int = 1, ts: int = 1000, ssrc: int = 0x1234, marker: bool = False,
        csrcs: tuple[int, ...] = (), extension: bytes | None = None, padding: int = 0, version: int = 2) -> bytes:
    first = version << 6 | (0x20 if padding else 0) | (0x10 if extension is not None else 0) | len(csrcs)
    data = struct.pack("!BBHII", first, (0x80 if marker else 0) | pt, seq, ts, ssrc)
    data += b"".join(struct.pack("!I", c) for c in csrcs)
    if extension is not None:
        data += struct.pack("!HH", 0xBEDE, len(extension) // 4) + extension
    data += payload
    if padding:
        data += b"\0" * (padding - 1) + bytes([padding])
    return data


def event(code: int, *, end: bool = False, volume: int = 10, duration: int = 0) -> bytes:
    return struct.pack("!BBH", code, (0x80 if end else 0) | volume, duration)


def press(code: int, *, ts: int, seq: int = 100, ssrc: int = 0x1234, pt: int = 101) -> list[bytes]:
    """What a phone sends for one key press: a start (marker), updates, three end packets (as SIPp's pcaps)."""
    packets = [rtp(event(code, duration=320 * i), pt=pt, seq=seq + i, ts=ts, ssrc=ssrc, marker=i == 0)
               for i in range(7)]
    return packets + [rtp(event(code, end=True, duration=2240), pt=pt, seq=seq + 7, ts=ts, ssrc=ssrc)] * 3


def test_parse_rtp_reads_the_fixed_header() -> None:
    packet = parse_rtp(rtp(b"abcd", pt=101, seq=7984, ts=13280, ssrc=0xDEADBEEF, marker=True))
    assert packet == RtpPacket(version=2, padding=False, extension=False, csrc_count=0, marker=True,
                               payload_type=101, sequence=7984, timestamp=13280, ssrc=0xDEADBEEF, csrcs=(),
                               payload=b"abcd")


def test_parse_rtp_skips_csrcs_extension_and_padding() -> None:
    packet = parse_rtp(rtp(b"\x05\x8a\x00\xa0", csrcs=(1, 2), extension=b"\x10\xff\x00\x00", padding=4))
    assert packet is not None
    assert (packet.csrc_count, packet.csrcs, packet.extension, packet.padding) == (2, (1, 2), True, True)
    assert packet.payload == b"\x05\x8a\x00\xa0"


def test_parse_telephone_event() -> None:
    assert parse_telephone_event(event(11, end=True, volume=10, duration=2240)) == TelephoneEvent(11, True, 10, 2240)
    assert parse_telephone_event(event(1)).key == "1"
    assert [parse_telephone_event(event(c)).key for c in (10, 11, 12, 15, 16)] == ["*", "#", "A", "D", None]
    assert parse_telephone_event(b"\x01\x0a") is None


@pytest.mark.parametrize("data", [
    b"",
    b"\x80",
    b"\x80\x65\x00\x01\x00\x00",  # shorter than the fixed header
    rtp(event(1), version=1),  # not version 2
    rtp(event(1), version=0),
    rtp(event(1))[:12].replace(b"\x80", b"\x8f", 1),  # 15 CSRCs announced, none there
    bytes([0x90]) + rtp(event(1))[1:12] + b"\xbe\xde\x00\x09",  # extension longer than the packet
    bytes([0xa0]) + rtp(event(1))[1:15] + b"\xff",  # padding longer than the packet
    bytes([0xa0]) + rtp(event(1))[1:15] + b"\x00",  # padding count 0
])
def test_malformed_packets_are_none_and_never_raise(data: bytes) -> None:
    assert parse_rtp(data) is None
    assert DtmfDetector().feed(data, 101) is None


def test_a_press_is_reported_once_on_its_first_packet() -> None:
    detector = DtmfDetector()
    heard = [detector.feed(packet, 101) for packet in press(1, ts=13280)]
    assert heard == ["1"] + [None] * 9


def test_end_packets_alone_report_the_press_once() -> None:
    """The start and updates were lost: the (thrice sent) end still counts, once."""
    detector = DtmfDetector()
    assert [detector.feed(packet, 101) for packet in press(11, ts=92640)[-3:]] == ["#", None, None]


def test_two_presses_of_the_same_key_in_a_row_count_twice() -> None:
    detector = DtmfDetector()
    packets = press(5, ts=8000, seq=10) + press(5, ts=9600, seq=20)
    assert [k for k in (detector.feed(p, 101) for p in packets) if k] == ["5", "5"]


def test_different_keys_and_sources_are_separate_events() -> None:
    detector = DtmfDetector()
    packets = press(1, ts=8000) + press(11, ts=9600) + press(1, ts=8000, ssrc=99)
    assert [k for k in (detector.feed(p, 101) for p in packets) if k] == ["1", "#", "1"]


def test_other_payload_types_and_events_are_ignored() -> None:
    detector = DtmfDetector()
    assert detector.feed(rtp(event(1), pt=0), 101) is None  # audio (PCMU)
    assert detector.feed(rtp(event(1), pt=96), 101) is None  # events of another payload type
    assert detector.feed(rtp(event(1), pt=96), 96) == "1"
    assert detector.feed(rtp(event(32), ts=5), 101) is None  # a tone (not DTMF)
    assert detector.feed(rtp(b"\x01", ts=6), 101) is None  # payload too short


def test_memory_is_bounded() -> None:
    detector = DtmfDetector(memory=4)
    for ts in range(0, 100 * 160, 160):
        assert detector.feed(rtp(event(2), ts=ts), 101) == "2"
    assert len(detector._seen) == 4


CAPTURES = Path("/usr/share/sip-tester")


def capture_rtp(path: Path) -> list[bytes]:
    """The UDP payloads of a classic pcap of Ethernet/IPv4/UDP frames (SIPp's captures)."""
    data, packets, offset = path.read_bytes(), [], 24
    while offset + 16 <= len(data):
        length = struct.unpack_from("<I", data, offset + 8)[0]
        frame = data[offset + 16:offset + 16 + length]
        offset += 16 + length
        packets.append(frame[14 + (frame[14] & 0x0F) * 4 + 8:])
    return packets


@pytest.mark.parametrize(("name", "key"), [("1", "1"), ("0", "0"), ("9", "9"), ("star", "*"), ("pound", "#")])
def test_sipp_captures_are_one_press_each(name: str, key: str) -> None:
    packets = capture_rtp(CAPTURES / f"dtmf_2833_{name}.pcap")
    assert len(packets) == 10  # start, six updates, the end three times
    detector = DtmfDetector()
    assert [k for k in (detector.feed(p, 101) for p in packets) if k] == [key]


def test_build_rtp_round_trips_and_wraps() -> None:
    data = build_rtp(8, 65537, 2**32 + 160, 0xDEADBEEF, b"\xd5" * 160, marker=True)
    packet = parse_rtp(data)
    assert packet is not None and len(data) == 172
    assert (packet.payload_type, packet.sequence, packet.timestamp, packet.ssrc, packet.marker) == (
        8, 1, 160, 0xDEADBEEF, True)
    assert packet.payload == b"\xd5" * 160
