"""SIP, SIPS and tel URIs (RFC 3261 19.1, 25.1; RFC 4475 URI cases)."""

import pytest

from sip_edge.uri import SipURI, URIError


def test_full_sip_uri() -> None:
    uri = SipURI.parse(
        "sip:alice:secret@Atlanta.example.com:5070;transport=TCP;lr;maddr=239.255.255.1"
        "?subject=project&priority=urgent"
    )
    assert (uri.scheme, uri.user, uri.password, uri.host, uri.port) == (
        "sip", "alice", "secret", "Atlanta.example.com", 5070,
    )
    assert uri.params == {"transport": "TCP", "lr": None, "maddr": "239.255.255.1"}
    assert uri.headers == {"subject": "project", "priority": "urgent"}
    assert uri.transport == "tcp"


def test_minimal_uri_defaults() -> None:
    uri = SipURI.parse("sip:example.com")
    assert uri.user is None and uri.port is None and uri.params == {} and uri.headers == {}
    assert uri.transport == "udp"
    assert uri.default_port == 5060
    assert str(uri) == "sip:example.com"


def test_sips_means_tls() -> None:
    uri = SipURI.parse("SIPS:bob@example.com")
    assert uri.scheme == "sips" and uri.transport == "tls" and uri.default_port == 5061


@pytest.mark.parametrize(
    ("text", "host", "port"),
    [
        ("sip:[2001:db8::10]", "2001:db8::10", None),
        ("sip:user@[2001:db8::10]:5070;transport=tcp", "2001:db8::10", 5070),
        ("sip:[::1]:5060", "::1", 5060),
        ("sip:192.0.2.1:05060", "192.0.2.1", 5060),
    ],
)
def test_hosts_and_ports(text: str, host: str, port: int | None) -> None:
    uri = SipURI.parse(text)
    assert (uri.host, uri.port) == (host, port)
    assert SipURI.parse(str(uri)) == uri


def test_ipv6_host_is_bracketed_again() -> None:
    assert str(SipURI.parse("sip:u@[2001:db8::1]:5061")) == "sip:u@[2001:db8::1]:5061"


def test_escapes_are_unescaped_and_reescaped() -> None:
    uri = SipURI.parse("sip:sips%3Auser%40example.com@example.net")
    assert uri.user == "sips:user@example.com"
    assert str(uri) == "sip:sips%3Auser%40example.com@example.net"
    assert SipURI.parse("sip:%61lice@example.com").user == "alice"
    assert str(SipURI.parse("sip:%61lice@example.com")) == "sip:alice@example.com"


def test_escaped_null_in_user() -> None:
    uri = SipURI.parse("sip:null-%00-null@example.com")
    assert uri.user == "null-\x00-null"
    assert str(uri) == "sip:null-%00-null@example.com"


def test_escaped_params_and_headers() -> None:
    uri = SipURI.parse("sip:u@h;%6C%72;n%61me=v%61lue%25%34%31?Route=%3Csip:example.com%3E")
    assert uri.params == {"lr": None, "name": "value%41"}
    assert uri.headers == {"Route": "<sip:example.com>"}
    assert SipURI.parse(str(uri)) == uri


def test_semicolon_and_question_mark_in_user_part() -> None:
    uri = SipURI.parse("sip:user;par=u%40example.net@example.com")
    assert uri.user == "user;par=u@example.net" and uri.host == "example.com" and uri.params == {}
    odd = (
        "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
        ":&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com"
    )
    uri = SipURI.parse(odd)
    assert uri.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
    assert uri.password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
    assert SipURI.parse(str(uri)) == uri


def test_param_names_case_insensitive_and_first_wins() -> None:
    uri = SipURI.parse("sip:h;Transport=TLS;transport=udp")
    assert uri.params == {"transport": "TLS"}
    assert uri.transport == "tls"


def test_tel_uri() -> None:
    uri = SipURI.parse("tel:+1-212-555-0101;phone-context=example.com")
    assert uri.scheme == "tel" and uri.user == "+1-212-555-0101" and uri.host == ""
    assert uri.params == {"phone-context": "example.com"}
    assert str(uri) == "tel:+1-212-555-0101;phone-context=example.com"


def test_other_schemes_only_when_asked() -> None:
    with pytest.raises(URIError):
        SipURI.parse("mailto:someone@example.com")
    uri = SipURI.parse("urn:uuid:00000000-0000-1000-8000-000A95A0E128", any_scheme=True)
    assert uri.scheme == "urn" and uri.opaque == "uuid:00000000-0000-1000-8000-000A95A0E128"
    assert str(uri) == "urn:uuid:00000000-0000-1000-8000-000A95A0E128"
    assert not uri.is_sip


def test_aor_drops_params_and_port() -> None:
    assert SipURI.parse("sip:bob@Example.COM:5070;transport=tcp").aor == "sip:bob@example.com"


def test_copy_is_independent() -> None:
    uri = SipURI.parse("sip:a@b;x=1")
    other = uri.copy()
    other.params["x"] = "2"
    assert uri.params["x"] == "1"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "example.com",
        "sip:",
        "sip:@example.com",
        "sip:user@",
        "sip:user@exa mple.com",
        "sip:user@example.com:99999",
        "sip:user@example.com:5x",
        "sip:user@[2001:db8::1",
        "sip:user@[not-ipv6]",
        "sip:%zzuser@example.com",
        "sip:%E9@example.com",
        "sip:user@example.com;=x",
        "sip:user@example.com;a=",
        "sip:user@example.com?",
        "sip:user@example.com?novalue",
        "sip:<user>@example.com",
        "sip:user@host_with,comma",
        "tel:",
        "tel:call me",
        "http://example.com",
        "1sip:user@example.com",
    ],
)
def test_malformed_uris_raise_uri_error(text: str) -> None:
    with pytest.raises(URIError):
        SipURI.parse(text)


def test_uri_error_is_value_error() -> None:
    assert issubclass(URIError, ValueError)


@pytest.mark.parametrize("text", ["sip:h:" + "9" * 5000, "sip:[fe80::1%25eth0]", "sip:[2001:db8:::1]"])
def test_hostile_hosts_and_ports(text: str) -> None:
    with pytest.raises(URIError):
        SipURI.parse(text)


def test_ipv4_mapped_and_leading_zero_port() -> None:
    uri = SipURI.parse("sip:[::ffff:192.0.2.1]:0005060")
    assert uri.host == "::ffff:c000:201" or uri.host == "::ffff:192.0.2.1"
    assert uri.port == 5060
