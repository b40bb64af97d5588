"""The sans-IO message layer: parsing, validation, serialization, responses and stream framing."""

from pathlib import Path

import pytest

from sip_edge.headers import CSeq
from sip_edge.message import (
    MAX_HEADER_LINE,
    MAX_MESSAGE,
    Headers,
    Request,
    Response,
    SipParseError,
    StreamFramer,
    check_proxy_require,
    check_require,
    make_response,
    parse_message,
    serialize,
)

CORPUS = Path(__file__).parent / "corpus"
VALID = sorted((CORPUS / "valid").glob("*.sip"))
INVALID = sorted((CORPUS / "invalid").glob("*.sip"))


def sip(text: str) -> bytes:
    """Test messages are written with \\n; the wire wants CRLF."""
    return text.replace("\n", "\r\n").encode()


OPTIONS = sip(
    "OPTIONS sip:carol@chicago.example.com SIP/2.0\n"
    "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKhjhs8ass877\n"
    "Max-Forwards: 70\n"
    "To: <sip:carol@chicago.example.com>\n"
    "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\n"
    "Call-ID: a84b4c76e66710\n"
    "CSeq: 63104 OPTIONS\n"
    "Contact: <sip:alice@pc33.atlanta.example.com>\n"
    "Accept: application/sdp\n"
    "Content-Length: 0\n"
    "\n"
)


def with_header(raw: bytes, line: str) -> bytes:
    head, _, body = raw.partition(b"\r\n\r\n")
    return head + b"\r\n" + line.encode() + b"\r\n\r\n" + body


def expect_error(raw: bytes) -> SipParseError:
    with pytest.raises(SipParseError) as info:
        parse_message(raw)
    return info.value


# --- corpus -------------------------------------------------------------------------------------


def test_corpus_is_there() -> None:
    assert len(VALID) >= 25 and len(INVALID) >= 40


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_valid_corpus_parses_and_round_trips(path: Path) -> None:
    msg = parse_message(path.read_bytes())
    wire = serialize(msg)
    again = parse_message(wire)
    assert serialize(again) == wire
    assert again.headers.items() == [(n, v) for n, v in msg.headers.items() if n != "Content-Length"] + [
        ("Content-Length", str(len(msg.body)))
    ]
    assert again.body == msg.body


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_invalid_corpus_is_rejected_with_expected_status(path: Path) -> None:
    expected = path.name.split(".")[-2]
    err = expect_error(path.read_bytes())
    assert err.status == (None if expected == "none" else int(expected)), err.reason
    if err.status is None:
        assert err.request is None
    else:
        assert err.reason and err.request is not None
        # Every answerable error can really be answered.
        response = make_response(err.request, err.status, err.reason)
        assert response.to_bytes().startswith(f"SIP/2.0 {err.status} ".encode())


# --- start lines and headers --------------------------------------------------------------------


def test_parse_request_basics() -> None:
    req = parse_message(OPTIONS)
    assert isinstance(req, Request)
    assert (req.method, req.uri, req.version) == ("OPTIONS", "sip:carol@chicago.example.com", "SIP/2.0")
    assert req.body == b""
    assert req.request_uri.user == "carol"
    assert req.call_id == "a84b4c76e66710"
    assert req.cseq == CSeq(63104, "OPTIONS")
    assert req.top_via.branch == "z9hG4bKhjhs8ass877"
    assert req.from_.tag == "1928301774" and req.from_.display_name == "Alice"
    assert req.to.tag is None
    assert [c.uri.host for c in req.contacts] == ["pc33.atlanta.example.com"]
    assert req.max_forwards == 70


def test_parse_response_basics() -> None:
    resp = parse_message(serialize(make_response(parse_message(OPTIONS), 200, to_tag="xyz")))
    assert isinstance(resp, Response)
    assert (resp.status, resp.reason) == (200, "OK")
    assert resp.to.tag == "xyz"


def test_compact_forms_expand_to_canonical_names() -> None:
    raw = sip(
        "MESSAGE sip:a@b SIP/2.0\n"
        "v: SIP/2.0/UDP h;branch=z9hG4bK1\nf: <sip:c@d>;tag=1\nt: <sip:a@b>\ni: x@y\n"
        "CSeq: 1 MESSAGE\nc: text/plain\nk: 100rel\nm: <sip:c@h>\ns: hello\no: presence\n"
        "u: dialog\nr: <sip:z@z>\nb: <sip:y@y>\nx: 1800\ny: abc\ne: gzip\nl: 2\n\nhi"
    )
    msg = parse_message(raw)
    names = [n for n, _ in msg.headers.items()]
    assert names == [
        "Via", "From", "To", "Call-ID", "CSeq", "Content-Type", "Supported", "Contact", "Subject", "Event",
        "Allow-Events", "Refer-To", "Referred-By", "Session-Expires", "Identity", "Content-Encoding",
        "Content-Length",
    ]
    assert msg.body == b"hi" and msg.content_type == "text/plain"


def test_header_names_case_insensitive() -> None:
    msg = parse_message(OPTIONS.replace(b"Call-ID", b"cALL-iD").replace(b"Max-Forwards", b"MAX-FORWARDS"))
    assert msg.headers.get("call-id") == "a84b4c76e66710"
    assert msg.headers.get("i") == "a84b4c76e66710"
    assert ("Call-ID", "a84b4c76e66710") in msg.headers.items()
    assert "max-forwards" in msg.headers


def test_folded_lines_are_joined_with_one_space() -> None:
    raw = with_header(OPTIONS, "Subject: first part\r\n   second\r\n\tthird")
    assert parse_message(raw).headers.get("Subject") == "first part second third"


def test_bare_lf_line_endings_are_tolerated() -> None:
    msg = parse_message(OPTIONS.replace(b"\r\n", b"\n"))
    assert msg.call_id == "a84b4c76e66710"


def test_leading_crlf_skipped() -> None:
    assert isinstance(parse_message(b"\r\n\r\n" + OPTIONS), Request)


def test_unknown_method_and_headers_are_kept() -> None:
    raw = OPTIONS.replace(b"OPTIONS", b"FOOBAR").replace(b"Accept:", b"X-Weird-Header:")
    msg = parse_message(raw)
    assert msg.method == "FOOBAR" and msg.headers.get("x-weird-header") == "application/sdp"


def test_repeated_and_comma_separated_values() -> None:
    raw = with_header(
        OPTIONS,
        'Route: <sip:p1;lr>, "Proxy, Two" <sip:p2;lr>\r\nRoute: <sip:p3;lr>\r\n'
        'Authorization: Digest username="a", realm="b"\r\nDate: Sat, 13 Nov 2010 23:29:00 GMT',
    )
    msg = parse_message(raw)
    assert msg.headers.get_all("Route") == ["<sip:p1;lr>", '"Proxy, Two" <sip:p2;lr>', "<sip:p3;lr>"]
    assert msg.headers.get("route") == '<sip:p1;lr>, "Proxy, Two" <sip:p2;lr>'
    assert msg.headers.get_all("Authorization") == ['Digest username="a", realm="b"']
    assert msg.headers.get_all("Date") == ["Sat, 13 Nov 2010 23:29:00 GMT"]


def test_body_cut_to_content_length_and_taken_whole_without_it() -> None:
    raw = OPTIONS.replace(b"Content-Length: 0", b"Content-Length: 3") + b"abcdef"
    assert parse_message(raw).body == b"abc"
    raw = OPTIONS.replace(b"Content-Length: 0\r\n", b"") + b"abcdef"
    assert parse_message(raw).body == b"abcdef"


def test_max_forwards_may_be_missing() -> None:
    msg = parse_message(OPTIONS.replace(b"Max-Forwards: 70\r\n", b""))
    assert msg.max_forwards is None


def test_unknown_request_uri_scheme_is_left_to_the_core() -> None:
    msg = parse_message(OPTIONS.replace(b"sip:carol@chicago.example.com SIP", b"im:carol@example.com SIP"))
    assert msg.uri == "im:carol@example.com"


# --- rejections ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "status", "words"),
    [
        (b"SIP/2.0\r\n", b"SIP/3.0\r\n", 505, "Version"),
        (b"CSeq: 63104 OPTIONS", b"CSeq: 63104 INVITE", 400, "CSeq method"),
        (b"CSeq: 63104 OPTIONS", b"CSeq: 2147483648 OPTIONS", 400, "out of range"),
        (b"Content-Length: 0", b"Content-Length: -1", 400, "Content-Length"),
        (b"Content-Length: 0", b"Content-Length: 0\r\nl: 1", 400, "conflicting Content-Length"),
        (b"Content-Length: 0", b"Content-Length: 0\r\nContent-Length: 0", 400, "duplicate Content-Length"),
        (b"Call-ID: a84b4c76e66710\r\n", b"", 400, "missing Call-ID"),
        (b"Max-Forwards: 70", b"Max-Forwards: 70000", 400, "Max-Forwards"),
        (b"To: <sip:carol@chicago.example.com>", b'To: "Carol <sip:carol@chicago.example.com>', 400, "To"),
        (b"sip:carol@chicago.example.com SIP", b"sip:carol@chicago .example.com SIP", 400, "request line"),
        (b"Accept: application/sdp", b"Expires: 99999999999999", 400, "Expires"),
    ],
)
def test_rejections_say_what_is_wrong(old: bytes, new: bytes, status: int, words: str) -> None:
    assert old in OPTIONS
    err = expect_error(OPTIONS.replace(old, new, 1))
    assert err.status == status
    assert words in err.reason


def test_header_line_limit() -> None:
    ok = with_header(OPTIONS, "X-Pad: " + "a" * (MAX_HEADER_LINE - len("X-Pad: ")))
    assert parse_message(ok).headers.get("X-Pad")
    err = expect_error(with_header(OPTIONS, "X-Pad: " + "a" * (MAX_HEADER_LINE + 1 - len("X-Pad: "))))
    assert err.status == 400 and "4095" in err.reason


def test_message_size_limit() -> None:
    body = b"x" * (MAX_MESSAGE - len(OPTIONS))
    raw = OPTIONS.replace(b"Content-Length: 0", f"Content-Length: {len(body)}".encode()) + body
    assert len(raw) > MAX_MESSAGE
    err = expect_error(raw)
    assert err.status == 413 and str(MAX_MESSAGE) in err.reason
    assert make_response(err.request, err.status, err.reason).status == 413


def test_malformed_response_is_never_answered() -> None:
    resp = serialize(make_response(parse_message(OPTIONS), 200))
    err = expect_error(resp.replace(b"CSeq: 63104 OPTIONS", b"CSeq: x OPTIONS"))
    assert err.status is None and err.request is None


@pytest.mark.parametrize("raw", [b"", b"\r\n\r\n", b"hello", b"\x00\xff" * 40, b"GET / HTTP/1.1\r\n\r\n"])
def test_garbage_cannot_be_answered(raw: bytes) -> None:
    assert expect_error(raw).status is None


# --- Headers ------------------------------------------------------------------------------------


def test_headers_multimap_operations() -> None:
    h = Headers([("via", "a"), ("From", "f"), ("v", "b"), ("X-Custom", "1")])
    assert h.items() == [("Via", "a"), ("From", "f"), ("Via", "b"), ("X-Custom", "1")]
    assert h.get("VIA") == "a" and h.get_all("via") == ["a", "b"]
    assert h.get("Nope") is None and h.get("Nope", "d") == "d" and h.get_all("Nope") == []
    h.set("Via", "c")
    assert h.items() == [("Via", "c"), ("From", "f"), ("X-Custom", "1")]
    h.insert_first("Via", "top")
    assert h.get_all("Via") == ["top", "c"]
    h.add("x-custom", "2")
    assert h.items()[-1] == ("X-Custom", "2")
    copy = h.copy()
    h.remove("x-CUSTOM")
    assert "X-Custom" not in h and "X-Custom" in copy
    assert len(copy) == 5 and copy != h


def test_headers_refuse_injection() -> None:
    with pytest.raises(ValueError):
        Headers().add("Subject", "a\r\nVia: forged")
    with pytest.raises(ValueError):
        Headers().add("Bad Name", "x")


# --- serialization and responses ----------------------------------------------------------------


def test_serialize_canonical_crlf_and_content_length() -> None:
    headers = Headers([("i", "1@x"), ("content-length", "99")])
    req = Request("MESSAGE", "sip:bob@example.com", headers, b"hello")
    wire = serialize(req)
    assert wire == b"MESSAGE sip:bob@example.com SIP/2.0\r\nCall-ID: 1@x\r\nContent-Length: 5\r\n\r\nhello"
    assert req.to_bytes() == wire


def test_serialize_refuses_bad_start_lines() -> None:
    with pytest.raises(ValueError):
        serialize(Request("INVITE", "sip:a b@c", Headers()))
    with pytest.raises(ValueError):
        serialize(Response(1000, "Nope", Headers()))


def test_make_response_copies_rfc3261_headers() -> None:
    raw = with_header(OPTIONS, "Via: SIP/2.0/UDP second.example.com;branch=z9hG4bK2\r\nTimestamp: 54")
    req = parse_message(raw)
    resp = make_response(req, 486, to_tag="t1", headers=[("Retry-After", "30")])
    assert resp.reason == "Busy Here"
    assert resp.headers.get_all("Via") == [
        "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKhjhs8ass877",
        "SIP/2.0/UDP second.example.com;branch=z9hG4bK2",
    ]
    assert resp.headers.get("To") == "<sip:carol@chicago.example.com>;tag=t1"
    assert resp.headers.get("From") == req.headers.get("From")
    assert resp.call_id == req.call_id and resp.cseq == req.cseq
    assert resp.headers.get("Retry-After") == "30" and "Timestamp" not in resp.headers
    assert make_response(req, 100).headers.get("Timestamp") == "54"


def test_make_response_keeps_existing_to_tag() -> None:
    to = b"<sip:carol@chicago.example.com>"
    req = parse_message(OPTIONS.replace(to, to + b";tag=old"))
    assert make_response(req, 200, to_tag="new").to.tag == "old"


def test_make_response_reason_defaults() -> None:
    req = parse_message(OPTIONS)
    assert make_response(req, 420).reason == "Bad Extension"
    assert make_response(req, 499).reason == "Client Error"
    assert make_response(req, 404, "Nobody Here").reason == "Nobody Here"


def test_proxy_require_and_require() -> None:
    req = parse_message(with_header(OPTIONS, "Proxy-Require: sec-agree, foo\r\nRequire: 100rel, bar"))
    assert check_proxy_require(req, {"sec-agree"}) == ["foo"]
    assert check_require(req, {"100rel"}) == ["bar"]
    assert check_proxy_require(parse_message(OPTIONS), set()) == []


def test_parse_error_request_answers_with_400() -> None:
    err = expect_error(OPTIONS.replace(b"CSeq: 63104 OPTIONS", b"CSeq: 63104 INVITE"))
    resp = make_response(err.request, err.status, err.reason, to_tag="e1")
    wire = resp.to_bytes()
    assert wire.startswith(b"SIP/2.0 400 Bad Request - CSeq method")
    assert parse_message(wire).headers.get("Call-ID") == "a84b4c76e66710"


# --- stream framing -----------------------------------------------------------------------------

INVITE_WITH_BODY = OPTIONS.replace(b"OPTIONS", b"INVITE").replace(b"Content-Length: 0", b"Content-Length: 4")


def test_framer_byte_by_byte_with_keepalives() -> None:
    stream = b"\r\n\r\n" + INVITE_WITH_BODY + b"v=0\n" + b"\r\n" + OPTIONS
    framer = StreamFramer()
    out: list[bytes] = []
    for i in range(len(stream)):
        out += framer.feed(stream[i : i + 1])
    assert out == [INVITE_WITH_BODY + b"v=0\n", OPTIONS]
    assert framer.buffered == 0
    assert parse_message(out[0]).body == b"v=0\n"


def test_framer_many_at_once_and_partial_tail() -> None:
    framer = StreamFramer()
    assert framer.feed(OPTIONS * 3 + OPTIONS[:10]) == [OPTIONS] * 3
    assert framer.buffered == 10
    assert framer.feed(OPTIONS[10:]) == [OPTIONS]


def test_framer_needs_content_length() -> None:
    framer = StreamFramer()
    with pytest.raises(SipParseError) as info:
        framer.feed(OPTIONS.replace(b"Content-Length: 0\r\n", b""))
    assert info.value.status == 400 and "Content-Length" in info.value.reason
    assert info.value.request is not None
    with pytest.raises(SipParseError):  # the stream is broken for good
        framer.feed(OPTIONS)


@pytest.mark.parametrize(
    ("new", "status"),
    [
        (b"Content-Length: abc", 400),
        (b"Content-Length: -4", 400),
        (b"Content-Length: 1\r\nl: 2", 400),
        (f"Content-Length: {MAX_MESSAGE}".encode(), 413),
    ],
)
def test_framer_rejects_bad_content_length(new: bytes, status: int) -> None:
    with pytest.raises(SipParseError) as info:
        StreamFramer().feed(OPTIONS.replace(b"Content-Length: 0", new))
    assert info.value.status == status


def test_framer_rejects_endless_head() -> None:
    framer = StreamFramer()
    framer.feed(b"INVITE sip:a@b SIP/2.0\r\n")
    with pytest.raises(SipParseError) as info:
        framer.feed(b"X-Junk: " + b"a" * MAX_MESSAGE)
    assert info.value.status == 413


def test_framer_response_errors_are_not_answerable() -> None:
    resp = serialize(make_response(parse_message(OPTIONS), 200))
    resp = resp.replace(b"Content-Length: 0", b"Content-Length: x")
    with pytest.raises(SipParseError) as info:
        StreamFramer().feed(resp)
    assert info.value.status is None


def test_framer_reads_folded_and_compact_content_length() -> None:
    folded = INVITE_WITH_BODY.replace(b"Content-Length: 4", b"Content-Length:\r\n  4")
    assert StreamFramer().feed(folded + b"v=0\n") == [folded + b"v=0\n"]
    compact = INVITE_WITH_BODY.replace(b"Content-Length: 4", b"l :4")
    assert StreamFramer().feed(compact + b"v=0\nEXTRA") == [compact + b"v=0\n"]


def test_request_uri_of_other_scheme_must_still_be_well_formed() -> None:
    err = expect_error(OPTIONS.replace(b"sip:carol@chicago.example.com SIP", b"im:car\x01ol SIP"))
    assert err.status == 400 and "Request-URI" in err.reason


def test_date_and_content_length_details() -> None:
    assert parse_message(with_header(OPTIONS, "Date: Sat, 3 Nov 2010 23:29:00 GMT")).headers.get("Date")
    err = expect_error(OPTIONS.replace(b"Content-Length: 0", b"Content-Length: 9999999999"))
    assert err.status == 400 and "larger than the body" in err.reason


def test_unknown_header_keeps_first_spelling() -> None:
    h = Headers([("x-custom", "1"), ("X-CUSTOM", "2")])
    assert h.items() == [("x-custom", "1"), ("x-custom", "2")]


def test_sip_parse_error_fields() -> None:
    err = SipParseError(400, "Bad Request - test")
    assert (err.status, err.reason, err.request) == (400, "Bad Request - test", None)
    assert "400" in str(err)


def test_reason_is_one_short_line_whatever_the_peer_sent() -> None:
    err = expect_error(with_header(OPTIONS, "Route: <sip:" + "a" * 3000 + " >"))
    assert err.status == 400 and len(err.reason) <= 200
    assert "\r" not in SipParseError(400, "a\r\nb").reason
