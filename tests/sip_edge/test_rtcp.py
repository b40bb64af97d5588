"""RTCP packets against hand-computed bytes (RFC 3550 6.4-6.6), ReceptionStats against the RFC's formulas
(A.1 sequence, A.3 loss, A.8 jitter, LSR/DLSR), and the SDP attributes that say where RTCP goes (sans-IO)."""

from __future__ import annotations

import random

import pytest

from sip_edge.rtcp import (
    NTP_EPOCH_OFFSET,
    Bye,
    OtherRtcp,
    ReceiverReport,
    ReceptionStats,
    ReportBlock,
    RtcpAttributes,
    SdesChunk,
    SenderReport,
    SourceDescription,
    build_rtcp,
    is_rtcp,
    ntp_timestamp,
    parse_rtcp,
    parse_rtcp_attributes,
    with_rtcp_mux,
)
from sip_edge.rtp import build_rtp

BLOCK = ReportBlock(ssrc=0x55667788, fraction_lost=64, cumulative_lost=3, highest_sequence=0x00010005, jitter=12,
                    lsr=0xAABBCCDD, dlsr=0x00010000)
BLOCK_BYTES = bytes.fromhex("55667788 40000003 00010005 0000000c aabbccdd 00010000")
SR_BYTES = bytes.fromhex("81c8000c 11223344 83aa7e80 80000000 00000640 0000000a 00000640") + BLOCK_BYTES


# ------------------------------------------------------------------------------------------ packets


def test_ntp_timestamp_counts_from_1900_in_32_32_fixed_point() -> None:
    assert NTP_EPOCH_OFFSET == 0x83AA7E80
    assert ntp_timestamp(0.5) == 0x83AA7E80_80000000
    assert ntp_timestamp(1.25) == 0x83AA7E81_40000000


def test_sender_report_with_one_block_bytes() -> None:
    report = SenderReport(0x11223344, 0x83AA7E80_80000000, 1600, 10, 1600, (BLOCK,))
    assert report.to_bytes() == SR_BYTES
    assert parse_rtcp(SR_BYTES) == [report]


def test_receiver_report_and_a_negative_cumulative_loss() -> None:
    assert ReceiverReport(0x01020304).to_bytes() == bytes.fromhex("80c90001 01020304")
    block = ReportBlock(1, 0, -1, 0, 0, 0, 0)
    data = ReceiverReport(0x01020304, (block,)).to_bytes()
    assert data[:4] == bytes.fromhex("81c90007") and data[12:16] == bytes.fromhex("00ffffff")
    assert parse_rtcp(data) == [ReceiverReport(0x01020304, (block,))]


@pytest.mark.parametrize(("cname", "hex_bytes"), [
    ("ab", "81ca0003 01020304 01026162 00000000"),  # items end on a boundary: a whole word of nulls
    ("abc", "81ca0003 01020304 01036162 63000000"),
])
def test_sdes_cname_is_null_terminated_and_padded_to_32_bits(cname: str, hex_bytes: str) -> None:
    sdes = SourceDescription.cname_of(0x01020304, cname)
    assert sdes.to_bytes() == bytes.fromhex(hex_bytes)
    (parsed,) = parse_rtcp(bytes.fromhex(hex_bytes)) or []
    assert isinstance(parsed, SourceDescription) and parsed.chunks[0].cname == cname


def test_sdes_with_several_chunks_and_items() -> None:
    sdes = SourceDescription((SdesChunk(1, ((1, "a@b"), (6, "voxsim"))), SdesChunk(2, ())))
    assert parse_rtcp(sdes.to_bytes()) == [sdes]
    assert sdes.chunks[1].cname is None


def test_bye_with_and_without_a_reason() -> None:
    assert Bye((0x01020304,)).to_bytes() == bytes.fromhex("81cb0001 01020304")
    assert Bye((0x01020304,), "bye").to_bytes() == bytes.fromhex("81cb0002 01020304 03627965")
    assert parse_rtcp(bytes.fromhex("81cb0002 01020304 03627965")) == [Bye((0x01020304,), "bye")]


def test_a_compound_packet_parses_in_order_and_keeps_what_it_does_not_read() -> None:
    app = OtherRtcp(204, 1, b"\x00\x00\x00\x07name")
    packets = [SenderReport(7, 1, 2, 3, 4), SourceDescription.cname_of(7, "x@y"), app, Bye((7,))]
    assert parse_rtcp(build_rtcp(packets)) == packets


def test_padding_of_the_last_packet_is_removed() -> None:
    padded = bytes.fromhex("a0c90002 01020304 00000004")
    assert parse_rtcp(padded) == [ReceiverReport(0x01020304)]


@pytest.mark.parametrize("data", [
    b"", b"\x81", bytes.fromhex("40c90001 01020304"),  # empty, short, version 1
    bytes.fromhex("81c90001 01020304"),  # says one block, has none
    bytes.fromhex("80c90005 01020304"),  # length beyond the datagram
    bytes.fromhex("a0c90001 01020300"),  # padding count 0
    bytes.fromhex("81ca0002 01020304 01056162"),  # an SDES item longer than the packet
    bytes.fromhex("81cb0002 01020304 09627965"),  # a BYE reason longer than the packet
    bytes.fromhex("80c90001 01020304 ff"),  # a stray byte after a good packet
])
def test_malformed_rtcp_is_none(data: bytes) -> None:
    assert parse_rtcp(data) is None


def test_random_bytes_never_raise() -> None:
    rng = random.Random(3550)
    good = build_rtcp([SenderReport(7, 1, 2, 3, 4, (BLOCK,)), SourceDescription.cname_of(7, "x@y"), Bye((7,), "r")])
    for _ in range(3000):
        data = bytearray(good)
        for _ in range(rng.randrange(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        parse_rtcp(bytes(data[:rng.randrange(len(data) + 1)]))
        parse_rtcp(rng.randbytes(rng.randrange(40)))


def test_is_rtcp_tells_rtcp_from_rtp_on_a_muxed_port() -> None:
    assert is_rtcp(ReceiverReport(1).to_bytes()) and is_rtcp(Bye((1,)).to_bytes())
    assert not is_rtcp(build_rtp(0, 1, 2, 3, b"\xff" * 160))
    assert not is_rtcp(build_rtp(101, 1, 2, 3, b"\x01\x0a\x00\xa0", marker=True))
    assert not is_rtcp(b"junk junk")


def test_too_many_items_for_one_packet_is_an_error() -> None:
    with pytest.raises(ValueError):
        Bye(tuple(range(32))).to_bytes()


# ------------------------------------------------------------------------------------------ reception


def feed(stats: ReceptionStats, sequences: list[int], *, ssrc: int = 9, start: float = 0.0) -> None:
    for i, sequence in enumerate(sequences):
        stats.received(ssrc, sequence, 160 * i, start + 0.02 * i)


def test_the_extended_highest_sequence_counts_wraps() -> None:
    stats = ReceptionStats()
    feed(stats, [65534, 65535, 0, 1])
    block = stats.report_block(0.0)
    assert block is not None and block.highest_sequence == 65536 + 1
    assert block.cumulative_lost == 0 and block.fraction_lost == 0 and block.ssrc == 9


def test_loss_cumulative_and_as_the_fraction_since_the_last_report() -> None:
    stats = ReceptionStats()
    feed(stats, [100, 101, 102, 104, 106, 107, 108, 109])  # 103 and 105 lost: 2 of 10
    first = stats.report_block(1.0)
    assert first is not None and (first.cumulative_lost, first.fraction_lost) == (2, (2 << 8) // 10)  # 51
    feed(stats, list(range(110, 120)), start=1.0)
    second = stats.report_block(2.0)
    assert second is not None and (second.cumulative_lost, second.fraction_lost) == (2, 0)
    feed(stats, [121, 122, 123], start=2.0)  # 120 lost: 1 of 4
    third = stats.report_block(3.0)
    assert third is not None and (third.cumulative_lost, third.fraction_lost) == (3, 64)


def test_duplicates_make_the_loss_negative_and_late_packets_count() -> None:
    stats = ReceptionStats()
    feed(stats, [1, 2, 2, 3, 5, 4])
    assert (stats.expected, stats.received_count, stats.lost) == (5, 6, -1)


def test_a_large_jump_counts_only_once_two_packets_follow_it() -> None:
    stats = ReceptionStats()
    feed(stats, [10, 11, 5000])
    assert (stats.extended_highest, stats.received_count) == (11, 2)
    feed(stats, [5001, 5002])  # the source restarted its numbering: start over from here
    assert (stats.extended_highest, stats.expected, stats.received_count) == (5002, 2, 2)


def test_a_new_ssrc_starts_over() -> None:
    stats = ReceptionStats()
    feed(stats, [1, 2, 4])
    feed(stats, [700, 701], ssrc=10)
    block = stats.report_block(0.0)
    assert block is not None and (block.ssrc, block.highest_sequence, block.cumulative_lost) == (10, 701, 0)


def test_jitter_is_zero_for_a_steady_stream_and_follows_rfc_3550_a8() -> None:
    steady = ReceptionStats()
    feed(steady, list(range(50)))
    assert steady.jitter == 0
    stats = ReceptionStats()
    stats.received(1, 0, 0, 0.0)
    stats.received(1, 1, 160, 0.03)  # 10 ms late: D = 80 units; J = 80/16 = 5
    assert stats.jitter == 5
    stats.received(1, 2, 320, 0.04)  # on time again: D = 80; J = 5 + (80 - 5)/16 = 9.6875
    assert stats.jitter == 9


def test_jitter_tracks_the_float_formula_over_a_noisy_stream() -> None:
    rng = random.Random(8)
    stats, expected, previous = ReceptionStats(), 0.0, None
    for i in range(500):
        arrival = 0.02 * i + rng.uniform(0, 0.015)
        timestamp = (160 * i + 0xFFFFF000) & 0xFFFFFFFF  # wraps the 32-bit timestamp on the way
        stats.received(1, i, timestamp, arrival)
        transit = round(arrival * 8000) - 160 * i
        if previous is not None:
            expected += (abs(transit - previous) - expected) / 16
        previous = transit
    assert abs(stats.jitter - expected) <= 1 and stats.jitter > 10


def test_lsr_and_dlsr_come_from_the_last_sender_report() -> None:
    stats = ReceptionStats()
    feed(stats, [1])
    block = stats.report_block(1.0)
    assert block is not None and (block.lsr, block.dlsr) == (0, 0)
    stats.sender_report(9, 0x83AA7E80_80000000, 10.0)
    block = stats.report_block(10.5)
    assert block is not None and (block.lsr, block.dlsr) == (0x7E808000, 32768)
    stats.sender_report(77, 0x1_00000000, 11.0)  # another source's SR says nothing about this stream
    block = stats.report_block(11.0)
    assert block is not None and block.lsr == 0x7E808000


def test_received_packet_reads_the_rtp_header() -> None:
    stats = ReceptionStats()
    assert stats.received_packet(build_rtp(0, 42, 8000, 0xABC, b"\xff" * 160), 0.0)
    assert not stats.received_packet(b"junk", 0.0)
    assert stats.ssrc == 0xABC and stats.extended_highest == 42
    assert ReceptionStats().report_block(0.0) is None


# ------------------------------------------------------------------------------------------ SDP


SDP = "v=0\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n{}m=video 5000 RTP/AVP 96\r\na=rtcp:9\r\n"


@pytest.mark.parametrize(("attributes", "parsed", "destination"), [
    ("", RtcpAttributes(), ("10.0.0.1", 4001)),
    ("a=rtcp:53020\r\n", RtcpAttributes(53020), ("10.0.0.1", 53020)),
    ("a=rtcp:53020 IN IP4 126.16.64.4\r\n", RtcpAttributes(53020, "126.16.64.4"), ("126.16.64.4", 53020)),
    ("a=rtcp-mux\r\n", RtcpAttributes(mux=True), ("10.0.0.1", 4000)),
    ("a=rtcp:x\r\n", RtcpAttributes(), ("10.0.0.1", 4001)),
])
def test_rtcp_attributes_of_the_audio_stream(attributes: str, parsed: RtcpAttributes,
                                             destination: tuple[str, int]) -> None:
    found = parse_rtcp_attributes(SDP.format(attributes).encode())
    assert found == parsed
    assert found.destination(("10.0.0.1", 4000)) == destination


def test_with_rtcp_mux_adds_the_attribute_once() -> None:
    sdp = b"v=0\r\nm=audio 4000 RTP/AVP 0\r\na=sendrecv\r\n"
    muxed = with_rtcp_mux(sdp)
    assert muxed == sdp + b"a=rtcp-mux\r\n" and with_rtcp_mux(muxed) == muxed
    assert parse_rtcp_attributes(muxed).mux and parse_rtcp_attributes(None) == RtcpAttributes()
