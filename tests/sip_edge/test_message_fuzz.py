"""Property tests: nothing a peer sends raises anything but SipParseError, and what parses round-trips.

Mutations are the kinds a broken peer or a lossy network produces: flipped bytes, truncation,
inserted bytes, and lines duplicated, dropped or swapped.
"""

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sip_edge.headers import CSeq, NameAddr, Via, parse_params
from sip_edge.message import (
    Message,
    Request,
    SipParseError,
    StreamFramer,
    make_response,
    parse_message,
    serialize,
)
from sip_edge.uri import SipURI

CORPUS = Path(__file__).parent / "corpus"
SEEDS = [p.read_bytes() for p in sorted((CORPUS / "valid").glob("*.sip"))]
ALL_SEEDS = SEEDS + [p.read_bytes() for p in sorted((CORPUS / "invalid").glob("*.sip"))]
# Bytes that matter to the grammar, so that mutations hit delimiters more often than chance.
INTERESTING = list(b'\r\n \t:;,<>"\\@%[]?=/') + [0, 0x7F, 0x80, 0xFF, ord("0"), ord("9")]

# SIP_FUZZ_EXAMPLES=20000 for a long run; the default keeps the suite fast.
MUTATIONS = ["flip", "insert", "delete", "truncate", "dup_line", "drop_line", "swap"]
HEADER_NAMES = ["To", "From", "Via", "Contact", "CSeq", "Route", "Content-Length", "Call-ID", "Max-Forwards"]
FUZZ = settings(
    max_examples=int(os.environ.get("SIP_FUZZ_EXAMPLES", "400")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _round_trips(msg: Message) -> None:
    wire = serialize(msg)
    again = parse_message(wire)
    assert serialize(again) == wire
    assert type(again) is type(msg)


def _check(data: bytes) -> None:
    try:
        msg = parse_message(data)
    except SipParseError as exc:
        assert exc.status in (None, 400, 413, 414, 505)
        assert isinstance(exc.reason, str) and exc.reason
        if exc.status is not None:
            assert exc.request is not None
            make_response(exc.request, exc.status, exc.reason).to_bytes()
        return
    _round_trips(msg)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(ALL_SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(MUTATIONS))
        data = _mutate(draw, kind, data)
    return bytes(data)


def _mutate(draw: st.DrawFn, kind: str, data: bytearray) -> bytearray:
    if not data:
        return data
    pos = draw(st.integers(0, len(data) - 1))
    byte = draw(st.one_of(st.sampled_from(INTERESTING), st.integers(0, 255)))
    if kind == "flip":
        data[pos] = byte
    elif kind == "insert":
        data[pos:pos] = bytes([byte]) * draw(st.integers(1, 3))
    elif kind == "delete":
        del data[pos : pos + draw(st.integers(1, 8))]
    elif kind == "truncate":
        del data[pos:]
    else:
        lines = bytes(data).split(b"\r\n")
        i = draw(st.integers(0, len(lines) - 1))
        j = draw(st.integers(0, len(lines) - 1))
        if kind == "dup_line":
            lines.insert(j, lines[i])
        elif kind == "drop_line":
            del lines[i]
        else:
            lines[i], lines[j] = lines[j], lines[i]
        data = bytearray(b"\r\n".join(lines))
    return data


@pytest.mark.parametrize("seed", SEEDS, ids=range(len(SEEDS)))
def test_valid_seeds_round_trip(seed: bytes) -> None:
    msg = parse_message(seed)
    _round_trips(msg)
    _round_trips(parse_message(serialize(msg)))
    if isinstance(msg, Request):
        _round_trips(make_response(msg, 200, to_tag="fuzz1"))


@FUZZ
@given(mutated())
def test_mutated_messages_only_raise_sip_parse_error(data: bytes) -> None:
    _check(data)


@FUZZ
@given(st.binary(max_size=600))
def test_random_bytes_only_raise_sip_parse_error(data: bytes) -> None:
    _check(data)


@FUZZ
@given(st.sampled_from(SEEDS), st.text(max_size=80), st.sampled_from(HEADER_NAMES))
def test_random_header_values(seed: bytes, value: str, name: str) -> None:
    head, _, body = seed.partition(b"\r\n\r\n")
    _check(head + f"\r\n{name}: {value}".encode("utf-8", "surrogatepass") + b"\r\n\r\n" + body)


@FUZZ
@given(st.lists(st.sampled_from(SEEDS), min_size=1, max_size=4), st.data())
def test_framer_any_chunking_gives_the_same_messages(messages: list[bytes], data: st.DataObject) -> None:
    # Frames carry their own Content-Length, so give each message an exact one first.
    framed = [serialize(parse_message(m)) for m in messages]
    stream = b"\r\n".join(framed)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    framer = StreamFramer()
    out: list[bytes] = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        out += framer.feed(stream[start:end])
    assert out == framed


@FUZZ
@given(st.lists(st.one_of(st.sampled_from(ALL_SEEDS), st.binary(max_size=200)), max_size=4))
def test_framer_only_raises_sip_parse_error(chunks: list[bytes]) -> None:
    framer = StreamFramer()
    try:
        for chunk in chunks:
            for message in framer.feed(chunk):
                _check(message)
    except SipParseError:
        pass


@FUZZ
@given(st.text(max_size=120))
def test_structured_parsers_only_raise_value_error(text: str) -> None:
    for parse in (SipURI.parse, NameAddr.parse, Via.parse, CSeq.parse, parse_params):
        try:
            parse(text)
        except ValueError:
            pass


@FUZZ
@given(
    st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=30),
    st.text(st.characters(codec="utf-8"), max_size=20),
)
def test_name_addr_round_trips_any_display_name_and_user(display: str, user: str) -> None:
    addr = NameAddr(display or None, SipURI("sip", user or None, None, "example.com"), {"tag": "x"})
    parsed = NameAddr.parse(str(addr))
    assert parsed.uri == addr.uri and parsed.tag == "x"
    # A display name of tokens only may come back with its spaces normalised; anything else is exact.
    assert (parsed.display_name or "") == (addr.display_name or "")
