"""Structured header values: name-addr, Via, CSeq, parameters, quoting (RFC 3261 20, 25.1)."""

import pytest

from sip_edge.headers import (
    CSeq,
    HeaderError,
    NameAddr,
    Via,
    bounded_int,
    format_params,
    parse_params,
    quote,
    split_commas,
    unquote,
)

# --- quoting and parameters ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["plain", 'say "hi"', "back\\slash", "", "tab\there", "ctl\x00\x07\x7f", "ünïcödé"]
)
def test_quote_round_trips(text: str) -> None:
    assert unquote(quote(text)) == text


def test_unquote_escapes() -> None:
    assert unquote(r'"J Rosenberg \\\""') == 'J Rosenberg \\"'
    assert unquote("token") == "token"


@pytest.mark.parametrize("text", ['"open', '"a" b', 'a"b', '"ends with escape\\"'])
def test_unquote_rejects_unbalanced(text: str) -> None:
    with pytest.raises(HeaderError):
        unquote(text)


def test_quote_refuses_line_breaks() -> None:
    with pytest.raises(ValueError):
        quote("a\r\nb")


def test_parse_params() -> None:
    assert parse_params(';a=b;C ; d = "x; y, z" ;e=[2001:db8::1]') == {
        "a": "b", "c": None, "d": "x; y, z", "e": "[2001:db8::1]",
    }
    assert parse_params("a=1;a=2") == {"a": "1"}
    assert parse_params("") == {}


@pytest.mark.parametrize("text", [";;", ";a=", ";=b", ";a b=c", ';a="open', ";a=<x>"])
def test_parse_params_rejects(text: str) -> None:
    with pytest.raises(HeaderError):
        parse_params(text)


def test_format_params_quotes_when_needed() -> None:
    assert format_params({"a": "b", "c": None, "d": "x y"}) == ';a=b;c;d="x y"'
    assert format_params({"a": "b"}, quoted={"a"}) == ';a="b"'


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("a, b,c", ["a", "b", "c"]),
        ('"Smith, John" <sip:js@x>, <sip:b@y;p=1,2>', ['"Smith, John" <sip:js@x>', "<sip:b@y;p=1,2>"]),
        ('"esc \\", still" <sip:a@b>', ['"esc \\", still" <sip:a@b>']),
        ("a,,b, ", ["a", "b"]),
    ],
)
def test_split_commas(text: str, parts: list[str]) -> None:
    assert split_commas(text) == parts


@pytest.mark.parametrize("text", ['"open, b', "<sip:a@b, c", "a>, b"])
def test_split_commas_rejects_unbalanced(text: str) -> None:
    with pytest.raises(HeaderError):
        split_commas(text)


def test_bounded_int() -> None:
    assert bounded_int("0070", 255) == 70
    assert bounded_int("256", 255) is None
    assert bounded_int("-1", 255) is None
    assert bounded_int("9" * 5000, 255) is None
    assert bounded_int("", 255) is None
    assert bounded_int("１２", 255) is None  # fullwidth digits are not SIP digits


# --- name-addr ----------------------------------------------------------------------------------


def test_name_addr_with_quoted_display_and_tag() -> None:
    addr = NameAddr.parse('"Alice \\"A\\" Smith" <sip:alice@example.com;transport=tcp>;tag=1928301774;x')
    assert addr.display_name == 'Alice "A" Smith'
    assert addr.uri.user == "alice" and addr.uri.params == {"transport": "tcp"}
    assert addr.params == {"tag": "1928301774", "x": None}
    assert addr.tag == "1928301774"
    assert NameAddr.parse(str(addr)) == addr


def test_name_addr_token_display_and_no_space() -> None:
    assert NameAddr.parse("Bob  Smith <sip:bob@b>").display_name == "Bob Smith"
    addr = NameAddr.parse("caller<sip:caller@example.com>;tag=141334")
    assert addr.display_name == "caller" and addr.tag == "141334"


def test_addr_spec_params_belong_to_header() -> None:
    # RFC 3261 20.10: without angle brackets, ';...' after the URI are header parameters.
    addr = NameAddr.parse("sip:+19725552222@gw1.example.net;unknownparam;expires=3600")
    assert addr.uri.params == {}
    assert addr.params == {"unknownparam": None, "expires": "3600"}
    assert addr.expires == 3600
    assert addr.display_name is None


def test_addr_spec_with_spaces_around_params() -> None:
    addr = NameAddr.parse(" sip:vivekg@chair.example.com ;   tag    = 1918181833n")
    assert addr.uri.host == "chair.example.com" and addr.tag == "1918181833n"


def test_name_addr_other_scheme() -> None:
    addr = NameAddr.parse("<urn:service:sos>")
    assert addr.uri.scheme == "urn" and addr.uri.opaque == "service:sos"


def test_name_addr_tag_setter() -> None:
    addr = NameAddr.parse("<sip:a@b>")
    addr.tag = "xyz"
    assert str(addr) == "<sip:a@b>;tag=xyz"
    addr.tag = None
    assert addr.tag is None


def test_name_addr_keeps_quoted_params_quoted() -> None:
    text = '<sip:a@b>;+sip.instance="<urn:uuid:1234>";reg-id=1;note="plain"'
    addr = NameAddr.parse(text)
    assert addr.params["+sip.instance"] == "<urn:uuid:1234>"
    assert str(addr) == text


@pytest.mark.parametrize(
    "text",
    [
        '"Mr. J. User <sip:j.user@example.com>',
        "<sip:a@b",
        "sip:a@b>",
        "< sip:t.watson@example.org >",
        "Bell, Alexander <sip:a.g.bell@example.com>",
        "sip:user@example.com?Route=%3Csip:sip.example.com%3E",
        "<sip:a@b> garbage",
        "<sip:a@b>;;",
        "<sip:a@b><sip:c@d>",
        "",
        "<>",
    ],
)
def test_name_addr_rejects(text: str) -> None:
    with pytest.raises(HeaderError):
        NameAddr.parse(text)


# --- Via ----------------------------------------------------------------------------------------


def test_via_basic() -> None:
    via = Via.parse("SIP/2.0/UDP pc33.example.com:5060;branch=z9hG4bK776asdhds;rport")
    assert (via.transport, via.host, via.port) == ("UDP", "pc33.example.com", 5060)
    assert via.branch == "z9hG4bK776asdhds" and via.is_rfc3261_branch
    assert via.wants_rport and via.rport is None
    assert str(via) == "SIP/2.0/UDP pc33.example.com:5060;branch=z9hG4bK776asdhds;rport"


def test_via_tortuous_spacing_and_case() -> None:
    via = Via.parse("SIP  /   2.0 /udp    192.0.2.2   ;  branch  =   390skdjuw")
    assert (via.protocol, via.transport, via.host, via.port, via.branch) == (
        "SIP/2.0", "UDP", "192.0.2.2", None, "390skdjuw",
    )
    assert not via.is_rfc3261_branch


def test_via_ipv6_and_received() -> None:
    via = Via.parse("SIP/2.0/TCP [2001:db8::9:1]:5070;branch=z9hG4bKa;received=2001:db8::9:255")
    assert via.host == "2001:db8::9:1" and via.port == 5070 and via.received == "2001:db8::9:255"
    assert Via.parse(str(via)) == via


def test_via_stamp_received_and_rport() -> None:
    via = Via.parse("SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKx;rport")
    via.stamp_received("203.0.113.7", 40123)
    assert via.received == "203.0.113.7" and via.rport == 40123
    assert via.response_address() == ("203.0.113.7", 40123)
    plain = Via.parse("SIP/2.0/UDP 10.0.0.5;branch=z9hG4bKx")
    plain.stamp_received("10.0.0.5", 5060)
    assert plain.received is None
    assert plain.response_address() == ("10.0.0.5", 5060)


@pytest.mark.parametrize(
    "text",
    [
        "SIP/2.0/UDP",
        "SIP/2.0 host.example.com",
        "SIP/2.0/UDP ;branch=x",
        "SIP/2.0/UDP host:99999",
        "SIP/2.0/UDP host;;",
        "SIP/2.0/UDP host;ttl=300",
        "SIP/2.0/UDP host;rport=abc",
        "SIP/2.0/UDP [::1",
        "SIP/2.0/UDP host extra",
    ],
)
def test_via_rejects(text: str) -> None:
    with pytest.raises(HeaderError):
        Via.parse(text)


# --- CSeq ---------------------------------------------------------------------------------------


def test_cseq() -> None:
    assert CSeq.parse("0009\t INVITE ") == CSeq(9, "INVITE")
    assert str(CSeq(314159, "INVITE")) == "314159 INVITE"
    assert CSeq.parse(f"{2**31 - 1} ACK").seq == 2**31 - 1


@pytest.mark.parametrize(
    "text", ["INVITE", "1", "-1 INVITE", f"{2**31} INVITE", "1 IN VITE", "x INVITE", "9" * 5000 + " A"]
)
def test_cseq_rejects(text: str) -> None:
    with pytest.raises(HeaderError):
        CSeq.parse(text)


# --- leniency that real peers need --------------------------------------------------------------


def test_unquoted_param_values_beyond_tokens_are_accepted_and_echoed() -> None:
    params = parse_params(";nonce=abc==;x=a@b/c;ip=[::1]")
    assert params == {"nonce": "abc==", "x": "a@b/c", "ip": "[::1]"}
    assert format_params(params) == ";nonce=abc==;x=a@b/c;ip=[::1]"


def test_unquoted_utf8_display_name_is_accepted() -> None:
    assert NameAddr.parse("Иван Петров <sip:ivan@example.com>").display_name == "Иван Петров"


def test_a_peer_supplied_received_is_not_kept() -> None:
    # Only the server writes received/rport: a peer's own values would aim our responses elsewhere.
    via = Via.parse("SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bKx;received=198.51.100.9")
    via.stamp_received("10.0.0.5", 40000)
    assert via.received is None and via.response_address() == ("10.0.0.5", 5070)
    filled = Via.parse("SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bKx;received=198.51.100.9;rport=9")
    filled.stamp_received("203.0.113.7", 40123)
    assert filled.response_address() == ("203.0.113.7", 40123)


def test_maddr_takes_the_sent_by_port_not_rport() -> None:
    via = Via.parse("SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bKx;maddr=239.1.1.1;ttl=1;rport")
    via.stamp_received("203.0.113.7", 40123)
    assert via.response_address() == ("239.1.1.1", 5070)  # RFC 3261 18.2.2
