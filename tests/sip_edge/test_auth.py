"""Digest authentication: RFC worked examples, both sides, and round trips."""

from __future__ import annotations

import base64

import pytest

from sip_edge.auth import (
    AuthStatus,
    Challenge,
    DigestClient,
    DigestParseError,
    DigestServer,
    FailureLimiter,
    NonceCounts,
    Secret,
    compute_ha1,
    compute_response,
    digest_username,
    header_names,
    parse_auth_header,
    pick_challenge,
    same_uri,
)

RFC2617_CHALLENGE = (
    'Digest realm="testrealm@host.com", qop="auth,auth-int", '
    'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
)
RFC7616_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"


def rfc7616_challenge(algorithm: str) -> str:
    return (
        f'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm={algorithm}, '
        'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", '
        'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"'
    )


NOW = 1_700_000_000.0
URI = "sip:alice@voxsim.local"
USERS = {"alice": "s3cret", "bob": "hunter2"}


def lookup(username: str) -> str | None:
    return USERS.get(username)


def server(**kwargs) -> DigestServer:
    kwargs.setdefault("secret", b"k" * 32)
    return DigestServer("voxsim.local", **kwargs)


# ----------------------------------------------------------------------------- RFC examples

def test_rfc2617_section_3_5_example():
    client = DigestClient("Mufasa", "Circle Of Life", cnonce=lambda: "0a4f113b")
    value = client.answer([RFC2617_CHALLENGE], "GET", "/dir/index.html")
    _, params = parse_auth_header(value)
    assert params["response"] == "6629fae49393a05397450978507c4ef1"
    assert params["nc"] == "00000001"
    assert params["qop"] == "auth"
    assert params["opaque"] == "5ccc069c403ebaf9f0171e9517f40e41"


@pytest.mark.parametrize(
    "algorithm, expected",
    [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_rfc7616_section_3_9_1_examples(algorithm, expected):
    client = DigestClient("Mufasa", "Circle of Life", cnonce=lambda: RFC7616_CNONCE)
    value = client.answer([rfc7616_challenge(algorithm)], "GET", "/dir/index.html")
    _, params = parse_auth_header(value)
    assert params["response"] == expected
    assert params["algorithm"] == algorithm


def test_rfc7616_example_by_the_pure_functions():
    ha1 = compute_ha1("SHA-256", "Mufasa", "http-auth@example.org", "Circle of Life")
    response = compute_response(
        "SHA-256", ha1, method="GET", uri="/dir/index.html",
        nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", qop="auth", nc="00000001",
        cnonce=RFC7616_CNONCE,
    )
    assert response == "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"


def test_rfc2069_response_without_qop():
    # RFC 2069 §2.4's example: response = MD5(HA1:nonce:HA2) with no qop, cnonce or nc.
    ha1 = compute_ha1("MD5", "Mufasa", "testrealm@host.com", "CircleOfLife")
    response = compute_response(
        "MD5", ha1, method="GET", uri="/dir/index.html", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093"
    )
    assert response == "1949323746fe6a43ef61f9606e7febea"


# ----------------------------------------------------------------------------- param parser

def test_parser_handles_quotes_escapes_spacing_and_case():
    scheme, params = parse_auth_header(
        'Digest  Realm = "a \\"quoted\\" realm, with comma" ,, nonce=abc,'
        'uri="sip:x@y;transport=tcp", stale=TRUE ,opaque="back\\\\slash"'
    )
    assert scheme == "Digest"
    assert params == {
        "realm": 'a "quoted" realm, with comma',
        "nonce": "abc",
        "uri": "sip:x@y;transport=tcp",
        "stale": "TRUE",
        "opaque": "back\\slash",
    }


def test_parser_accepts_sloppy_unquoted_values():
    _, params = parse_auth_header("Digest uri=sip:bob@example.com:5060, nonce=YWJj==")
    assert params == {"uri": "sip:bob@example.com:5060", "nonce": "YWJj=="}


@pytest.mark.parametrize(
    "value",
    [
        "",
        '"Digest" realm="x"',
        'Digest realm="unterminated',
        'Digest realm="x" nonce="y"',  # missing comma
        "Digest realm",  # no '='
        "Digest realm=",  # empty value
        'Digest realm="x", realm="y"',  # duplicate
        'Digest realm="x\\',  # trailing backslash
        "Digest =x",
        'Digest, realm="x"',
        'Digest realm=x"y"',
    ],
)
def test_parser_rejects_malformed_values(value):
    with pytest.raises(DigestParseError):
        parse_auth_header(value)


def test_scheme_only_is_allowed_by_the_parser_but_not_as_a_challenge():
    assert parse_auth_header("Digest") == ("Digest", {})
    with pytest.raises(DigestParseError):
        Challenge.parse("Digest")
    with pytest.raises(DigestParseError):
        Challenge.parse('Basic realm="x"')


def test_header_names():
    assert header_names(401) == ("WWW-Authenticate", "Authorization")
    assert header_names(407) == ("Proxy-Authenticate", "Proxy-Authorization")
    with pytest.raises(ValueError):
        header_names(403)


# ----------------------------------------------------------------------------- server challenges

def test_challenges_offer_each_algorithm_in_configured_order():
    values = server(algorithms=("SHA-256", "MD5")).challenges(NOW)
    parsed = [Challenge.parse(v) for v in values]
    assert [c.algorithm for c in parsed] == ["SHA-256", "MD5"]
    assert all(c.qop == ("auth",) and c.realm == "voxsim.local" and not c.stale for c in parsed)
    assert parsed[0].nonce == parsed[1].nonce
    values = server(algorithms=("MD5", "SHA-256")).challenges(NOW)
    assert [Challenge.parse(v).algorithm for v in values] == ["MD5", "SHA-256"]


def test_challenge_headers_for_401_and_407_with_stale_and_opaque():
    headers = server(opaque="op4que", algorithms=("MD5",)).challenge_headers(NOW, proxy=True, stale=True)
    assert [name for name, _ in headers] == ["Proxy-Authenticate"]
    challenge = Challenge.parse(headers[0][1])
    assert challenge.stale and challenge.opaque == "op4que"
    assert server().challenge_headers(NOW)[0][0] == "WWW-Authenticate"


def test_unknown_algorithm_in_configuration_fails_fast():
    with pytest.raises(DigestParseError):
        server(algorithms=("SHA-1",))


def test_nonce_carries_expiry_and_is_verified_without_state():
    srv = server(nonce_ttl=30)
    nonce = srv.make_nonce(NOW)
    assert srv.nonce_expiry(nonce) == pytest.approx(NOW + 30)
    # another instance with the same secret (a restart, a second worker) accepts it
    assert server(nonce_ttl=30).nonce_expiry(nonce) == pytest.approx(NOW + 30)
    assert server(secret=b"x" * 32).nonce_expiry(nonce) is None
    assert DigestServer("other.realm", secret=b"k" * 32).nonce_expiry(nonce) is None
    assert srv.nonce_expiry("not base64 !!") is None
    assert srv.nonce_expiry("AAAA") is None


# ----------------------------------------------------------------------------- round trips

def answer(srv: DigestServer, client: DigestClient, *, now: float = NOW, method: str = "INVITE") -> str:
    return client.answer(srv.challenges(now), method, URI)


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256", "SHA-512-256", "MD5-sess", "SHA-256-sess"])
def test_round_trip_each_algorithm(algorithm):
    srv = server(algorithms=(algorithm,))
    value = answer(srv, DigestClient("alice", "s3cret"))
    result = srv.verify(value, method="INVITE", uri=URI, now=NOW + 1, credentials=lookup)
    assert result.ok, result
    assert result.username == "alice"
    assert result.algorithm == algorithm
    assert result.nonce_count == 1


def test_client_picks_the_strongest_offered_algorithm():
    srv = server(algorithms=("MD5", "SHA-256"))
    value = answer(srv, DigestClient("alice", "s3cret"))
    assert parse_auth_header(value)[1]["algorithm"] == "SHA-256"
    assert srv.verify(value, method="INVITE", uri=URI, now=NOW, credentials=lookup).ok


def test_pick_challenge_skips_unusable_offers():
    offers = [
        'Basic realm="r"',
        'Digest realm="r", nonce="n1", algorithm=SHA-1',
        "Digest broken=",
        'Digest realm="r", nonce="n2", algorithm=MD5, qop="auth-conf"',
        'Digest realm="r", nonce="n3", algorithm=MD5',
    ]
    assert pick_challenge(offers).nonce == "n3"
    with pytest.raises(DigestParseError):
        pick_challenge(offers[:4])


def test_nonce_count_increments_when_a_nonce_is_reused():
    srv = server()
    client = DigestClient("alice", "s3cret")
    challenge = pick_challenge(srv.challenges(NOW))
    counts = []
    for _ in range(3):
        value = client.authorization(challenge, "REGISTER", URI)
        result = srv.verify(value, method="REGISTER", uri=URI, now=NOW, credentials=lookup)
        assert result.ok
        counts.append(result.nonce_count)
    assert counts == [1, 2, 3]
    fresh = pick_challenge(srv.challenges(NOW + 5))
    assert parse_auth_header(client.authorization(fresh, "REGISTER", URI))[1]["nc"] == "00000001"


def test_cnonce_differs_per_request():
    client = DigestClient("alice", "s3cret")
    challenge = pick_challenge(server().challenges(NOW))
    first = parse_auth_header(client.authorization(challenge, "INVITE", URI))[1]["cnonce"]
    second = parse_auth_header(client.authorization(challenge, "INVITE", URI))[1]["cnonce"]
    assert first != second


def test_rfc2069_answer_accepted_unless_disabled():
    srv = server(qop=())
    value = answer(srv, DigestClient("alice", "s3cret"))
    params = parse_auth_header(value)[1]
    assert "qop" not in params and "nc" not in params and "cnonce" not in params
    assert srv.verify(value, method="INVITE", uri=URI, now=NOW, credentials=lookup).ok
    strict = server(allow_rfc2069=False)
    result = strict.verify(value, method="INVITE", uri=URI, now=NOW, credentials=lookup)
    assert result.status is AuthStatus.MALFORMED


def test_auth_int_covers_the_body():
    srv = server(qop=("auth-int",))
    body = b"v=0\r\n"
    value = DigestClient("alice", "s3cret").answer(srv.challenges(NOW), "INVITE", URI, body)
    assert parse_auth_header(value)[1]["qop"] == "auth-int"
    assert srv.verify(value, method="INVITE", uri=URI, now=NOW, credentials=lookup, body=body).ok
    tampered = srv.verify(value, method="INVITE", uri=URI, now=NOW, credentials=lookup, body=b"x")
    assert tampered.status is AuthStatus.WRONG_CREDENTIALS


def test_userhash_challenge_is_answered_by_the_client():
    challenge = Challenge(realm="r", nonce="n", algorithm="SHA-256", qop=("auth",), userhash=True)
    params = parse_auth_header(DigestClient("alice", "pw").authorization(challenge, "INVITE", URI))[1]
    assert params["userhash"] == "true"
    assert params["username"] != "alice" and len(params["username"]) == 64


def test_opaque_is_echoed_and_checked():
    srv = server(opaque="op4que")
    value = answer(srv, DigestClient("alice", "s3cret"))
    assert parse_auth_header(value)[1]["opaque"] == "op4que"
    assert srv.verify(value, method="INVITE", uri=URI, now=NOW, credentials=lookup).ok
    forged = value.replace('opaque="op4que"', 'opaque="other"')
    result = srv.verify(forged, method="INVITE", uri=URI, now=NOW, credentials=lookup)
    assert result.status is AuthStatus.WRONG_CREDENTIALS


def test_stored_ha1_instead_of_password():
    srv = server(algorithms=("MD5", "SHA-256"))
    secret = Secret(ha1={"md5": compute_ha1("MD5", "alice", "voxsim.local", "s3cret")})
    md5_only = DigestClient("alice", "s3cret").answer([srv.challenges(NOW)[0]], "INVITE", URI)
    assert srv.verify(md5_only, method="INVITE", uri=URI, now=NOW, credentials=lambda u: secret).ok
    sha = answer(srv, DigestClient("alice", "s3cret"))
    result = srv.verify(sha, method="INVITE", uri=URI, now=NOW, credentials=lambda u: secret)
    assert result.status is AuthStatus.WRONG_CREDENTIALS  # no SHA-256 HA1 stored


# ----------------------------------------------------------------------------- failures

def test_stale_nonce_only_for_a_correct_answer():
    srv = server(nonce_ttl=60)
    good = answer(srv, DigestClient("alice", "s3cret"))
    bad = answer(srv, DigestClient("alice", "wrong"))
    later = NOW + 61
    assert srv.verify(good, method="INVITE", uri=URI, now=later, credentials=lookup).status is (
        AuthStatus.STALE_NONCE
    )
    assert srv.verify(bad, method="INVITE", uri=URI, now=later, credentials=lookup).status is (
        AuthStatus.WRONG_CREDENTIALS
    )
    assert srv.verify(good, method="INVITE", uri=URI, now=NOW + 59, credentials=lookup).ok


def test_client_answers_a_stale_rechallenge():
    srv = server(nonce_ttl=60)
    client = DigestClient("alice", "s3cret")
    rechallenge = srv.challenges(NOW + 61, stale=True)
    assert pick_challenge(rechallenge).stale
    value = client.answer(rechallenge, "INVITE", URI)
    assert srv.verify(value, method="INVITE", uri=URI, now=NOW + 62, credentials=lookup).ok


def test_wrong_password():
    srv = server()
    value = answer(srv, DigestClient("alice", "guess"))
    result = srv.verify(value, method="INVITE", uri=URI, now=NOW, credentials=lookup)
    assert result.status is AuthStatus.WRONG_CREDENTIALS
    assert result.username == "alice"


def test_unknown_user():
    srv = server()
    value = answer(srv, DigestClient("mallory", "x"))
    result = srv.verify(value, method="INVITE", uri=URI, now=NOW, credentials=lookup)
    assert result.status is AuthStatus.UNKNOWN_USER
    assert result.username == "mallory"


def test_tampered_nonce_is_rejected_even_with_a_matching_response():
    srv = server()
    nonce = srv.make_nonce(NOW)
    # Flip a bit of the expiry and keep the MAC: the client computes a valid response for the
    # forged nonce, but the MAC no longer matches.
    raw = bytearray(base64.urlsafe_b64decode(nonce + "=" * (-len(nonce) % 4)))
    raw[3] ^= 0x01
    forged = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    challenge = Challenge(realm="voxsim.local", nonce=forged, algorithm="MD5", qop=("auth",))
    value = DigestClient("alice", "s3cret").authorization(challenge, "INVITE", URI)
    result = srv.verify(value, method="INVITE", uri=URI, now=NOW, credentials=lookup)
    assert result.status is AuthStatus.WRONG_CREDENTIALS
    assert "nonce" in result.reason


def test_nonce_from_another_server_secret():
    value = answer(server(secret=b"z" * 32), DigestClient("alice", "s3cret"))
    result = server().verify(value, method="INVITE", uri=URI, now=NOW, credentials=lookup)
    assert result.status is AuthStatus.WRONG_CREDENTIALS


@pytest.mark.parametrize(
    "method, uri, status, reason_word",
    [("BYE", URI, AuthStatus.WRONG_CREDENTIALS, "response"),
     ("INVITE", "sip:bob@voxsim.local", AuthStatus.WRONG_URI, "uri")],
)
def test_answer_bound_to_method_and_uri(method, uri, status, reason_word):
    srv = server()
    value = answer(srv, DigestClient("alice", "s3cret"))
    result = srv.verify(value, method=method, uri=uri, now=NOW, credentials=lookup)
    assert result.status is status
    assert reason_word in result.reason


def test_uri_check_can_be_disabled_for_peers_that_rewrite_it():
    srv = server(check_uri=False)
    value = answer(srv, DigestClient("alice", "s3cret"))
    # the digest itself still covers the uri the client used, so it verifies
    assert srv.verify(value, method="INVITE", uri="sip:other", now=NOW, credentials=lookup).ok


def test_realm_and_algorithm_must_be_ours():
    srv = server(algorithms=("SHA-256",))
    other_realm = DigestServer("elsewhere", secret=b"k" * 32, algorithms=("SHA-256",))
    value = answer(other_realm, DigestClient("alice", "s3cret"))
    assert srv.verify(value, method="INVITE", uri=URI, now=NOW, credentials=lookup).status is (
        AuthStatus.WRONG_CREDENTIALS
    )
    md5 = answer(server(algorithms=("MD5",)), DigestClient("alice", "s3cret"))
    result = srv.verify(md5, method="INVITE", uri=URI, now=NOW, credentials=lookup)
    assert result.status is AuthStatus.WRONG_CREDENTIALS
    assert "algorithm" in result.reason


@pytest.mark.parametrize(
    "value",
    [
        'Basic YWxhZGRpbjpvcGVuc2VzYW1l',
        'Digest username="alice", realm="voxsim.local", nonce="n", uri="sip:x"',  # no response
        'Digest realm="voxsim.local", nonce="n", uri="sip:x", response="00"',  # no username
        'Digest username="alice", realm="voxsim.local", nonce="n", uri="sip:x", response="0", '
        "qop=auth",  # qop without nc/cnonce
        'Digest username="alice", realm="voxsim.local", nonce="n", uri="sip:x", response="0", '
        'qop=auth, cnonce="c", nc=1',  # nc not 8 hex digits
        'Digest username="alice", realm="voxsim.local", nonce="n", uri="sip:x", response="0", '
        'qop=auth-conf, cnonce="c", nc=00000001',  # qop not offered
        'Digest username="alice", realm="voxsim.local", nonce="n", uri="sip:x", response="0", '
        "algorithm=SHA-1",
        'Digest username="alice", realm="voxsim.local", nonce="n", uri="sip:x", response="0", '
        "userhash=true",
        'Digest username="alice, realm="voxsim.local"',
    ],
)
def test_malformed_credentials(value):
    result = server().verify(value, method="INVITE", uri="sip:x", now=NOW, credentials=lookup)
    assert result.status is AuthStatus.MALFORMED
    assert result.reason


def test_username_star_ext_value():
    srv = server(algorithms=("MD5",))
    users = {"Jäsøn": "pw"}
    value = DigestClient("Jäsøn", "pw").answer(srv.challenges(NOW), "INVITE", URI)
    value = value.replace('username="Jäsøn"', "username*=UTF-8''J%C3%A4s%C3%B8n")
    result = srv.verify(value, method="INVITE", uri=URI, now=NOW, credentials=users.get)
    assert result.ok and result.username == "Jäsøn"


def test_a_first_nc_of_any_value_is_accepted():
    srv = server(algorithms=("MD5",))
    challenge = pick_challenge(srv.challenges(NOW))
    client = DigestClient("alice", "s3cret")
    for _ in range(0x2A - 1):  # the nonce reused for 41 earlier requests
        client.authorization(challenge, "OPTIONS", URI)
    value = client.authorization(challenge, "OPTIONS", URI)
    result = srv.verify(value, method="OPTIONS", uri=URI, now=NOW, credentials=lookup)
    assert result.ok and result.nonce_count == 0x2A


# ----------------------------------------------------------------------------- replay

def test_the_same_answer_twice_is_a_replay_and_only_after_a_correct_response():
    srv = server()
    value = answer(srv, DigestClient("alice", "s3cret"))
    assert srv.verify(value, method="INVITE", uri=URI, now=NOW, credentials=lookup).ok
    again = srv.verify(value, method="INVITE", uri=URI, now=NOW + 1, credentials=lookup)
    assert again.status is AuthStatus.REPLAYED and "00000001" in again.reason
    assert not again.failed_guess  # the password was right: not a guess


def test_forged_answers_do_not_use_up_a_nonce_count():
    srv = server()
    challenge = pick_challenge(srv.challenges(NOW))
    forged = DigestClient("alice", "guess").authorization(challenge, "INVITE", URI)
    assert srv.verify(forged, method="INVITE", uri=URI, now=NOW, credentials=lookup).failed_guess
    real = DigestClient("alice", "s3cret").authorization(challenge, "INVITE", URI)  # nc 00000001 as well
    assert srv.verify(real, method="INVITE", uri=URI, now=NOW, credentials=lookup).ok


def test_nc_must_grow_per_nonce_and_counts_are_per_nonce():
    srv = server()
    challenge = pick_challenge(srv.challenges(NOW))
    client = DigestClient("alice", "s3cret")
    first, second, third = (client.authorization(challenge, "REGISTER", URI) for _ in range(3))
    assert srv.verify(third, method="REGISTER", uri=URI, now=NOW, credentials=lookup).ok
    # nc 1 and 2 arrive after 3 (out of order, or replayed): below the last accepted
    for late in (first, second):
        assert srv.verify(late, method="REGISTER", uri=URI, now=NOW, credentials=lookup).status is (
            AuthStatus.REPLAYED)
    other = client.answer(srv.challenges(NOW + 1), "REGISTER", URI)
    assert srv.verify(other, method="REGISTER", uri=URI, now=NOW + 1, credentials=lookup).ok


def test_an_answer_without_qop_is_good_once():
    srv = server(qop=())
    value = answer(srv, DigestClient("alice", "s3cret"))
    assert srv.verify(value, method="INVITE", uri=URI, now=NOW, credentials=lookup).ok
    assert srv.verify(value, method="INVITE", uri=URI, now=NOW, credentials=lookup).status is AuthStatus.REPLAYED


def test_without_a_table_nonces_are_reusable():
    srv = server(nonce_counts=None)
    value = answer(srv, DigestClient("alice", "s3cret"))
    for _ in range(2):
        assert srv.verify(value, method="INVITE", uri=URI, now=NOW, credentials=lookup).ok


def test_a_stale_answer_is_not_recorded():
    srv = server(nonce_ttl=60)
    value = answer(srv, DigestClient("alice", "s3cret"))
    assert srv.verify(value, method="INVITE", uri=URI, now=NOW + 61, credentials=lookup).status is (
        AuthStatus.STALE_NONCE)
    assert len(srv.nonce_counts or ()) == 0


def test_nonce_counts_are_bounded_and_refuse_what_they_had_to_forget():
    counts = NonceCounts(capacity=2)
    assert counts.accept("a", 1, expiry=NOW + 10, now=NOW)
    assert counts.accept("b", 1, expiry=NOW + 20, now=NOW)
    assert counts.accept("a", 2, expiry=NOW + 10, now=NOW)  # a is now the most recently used
    assert counts.accept("c", 1, expiry=NOW + 30, now=NOW)  # b leaves while still good
    assert len(counts) == 2
    assert not counts.accept("b", 2, expiry=NOW + 20, now=NOW)  # forgotten: no replay slips through
    assert not counts.accept("old", 1, expiry=NOW + 15, now=NOW)  # expires before b: refused as well
    assert counts.accept("new", 1, expiry=NOW + 25, now=NOW)  # issued after b: fine
    assert not counts.accept("a", 2, expiry=NOW + 10, now=NOW + 1)


def test_nonce_counts_expire_with_their_nonce():
    counts = NonceCounts(capacity=2)
    counts.accept("a", 1, expiry=NOW + 10, now=NOW)
    counts.accept("b", 1, expiry=NOW + 20, now=NOW)
    assert counts.accept("c", 1, expiry=NOW + 30, now=NOW + 15)  # a has expired: it leaves, not b
    assert len(counts) == 2
    assert not counts.accept("b", 1, expiry=NOW + 20, now=NOW + 15)  # b is still known: its nc 1 is used
    assert counts.accept("b", 2, expiry=NOW + 20, now=NOW + 15)


# ----------------------------------------------------------------------------- digest uri

@pytest.mark.parametrize("digest_uri, request_uri", [
    ("sip:alice@voxsim.local", "sip:alice@VOXSIM.local"),
    ("SIP:alice@voxsim.local", "sip:alice@voxsim.local"),
    ("sip:%61lice@voxsim.local", "sip:alice@voxsim.local"),
    ("sip:alice@voxsim.local;transport=tcp", "sip:alice@voxsim.local"),
    ("sip:alice@voxsim.local;Transport=TCP", "sip:alice@voxsim.local;transport=tcp"),
    (" sip:alice@voxsim.local ", "sip:alice@voxsim.local"),
    ("tel:+15551234", "tel:+15551234"),
])
def test_uris_that_are_the_same(digest_uri, request_uri):
    assert same_uri(digest_uri, request_uri)


@pytest.mark.parametrize("digest_uri, request_uri", [
    ("sip:Alice@voxsim.local", "sip:alice@voxsim.local"),  # the user part has case
    ("sip:alice@voxsim.local:5060", "sip:alice@voxsim.local"),  # an explicit default port differs
    ("sip:alice@voxsim.local", "sips:alice@voxsim.local"),
    ("sip:alice@voxsim.local;transport=tcp", "sip:alice@voxsim.local;transport=udp"),
    ("sip:alice@voxsim.local;maddr=10.0.0.1", "sip:alice@voxsim.local"),
    ("sip:alice@voxsim.local;user=phone", "sip:alice@voxsim.local"),
    ("sip:alice@voxsim.local?subject=x", "sip:alice@voxsim.local"),
    ("sip:voxsim.local", "sip:alice@voxsim.local"),
    ("/index.html", "/other.html"),
])
def test_uris_that_differ(digest_uri, request_uri):
    assert not same_uri(digest_uri, request_uri)


def test_a_digest_uri_written_differently_passes():
    srv = server()
    value = DigestClient("alice", "s3cret").answer(srv.challenges(NOW), "INVITE", "sip:alice@VoxSim.Local")
    assert srv.verify(value, method="INVITE", uri=URI, now=NOW, credentials=lookup).ok


def test_an_address_uri_passes_only_when_allowed():
    address = "sip:127.0.0.1:5060"  # what SIPp's [authentication] writes: where it sends to
    strict, lenient = server(), server(accept_address_uri=True)
    for srv, expected in ((strict, AuthStatus.WRONG_URI), (lenient, AuthStatus.OK)):
        value = DigestClient("alice", "s3cret").answer(srv.challenges(NOW), "INVITE", address)
        assert srv.verify(value, method="INVITE", uri=URI, now=NOW, credentials=lookup).status is expected
    # a digest uri naming a user, a host name or with parameters is no address: refused either way
    for other in ("sip:bob@voxsim.local", "sip:voxsim.local", "sip:127.0.0.1:5060;transport=tcp"):
        value = DigestClient("alice", "s3cret").answer(lenient.challenges(NOW), "INVITE", other)
        assert lenient.verify(value, method="INVITE", uri=URI, now=NOW, credentials=lookup).status is (
            AuthStatus.WRONG_URI)


def test_digest_username_reads_an_answer_unverified():
    value = DigestClient("alice@voxsim.local", "x").answer(server().challenges(NOW), "INVITE", URI)
    assert digest_username(value) == "alice@voxsim.local"
    assert digest_username("Digest username*=UTF-8''J%C3%A4s%C3%B8n, realm=\"r\"") == "Jäsøn"
    with pytest.raises(DigestParseError):
        digest_username('Basic YWxhZGRpbjpvcGVuc2VzYW1l')


# ----------------------------------------------------------------------------- failure limiter

def test_failure_limiter_blocks_after_the_limit_until_the_window_ends():
    limiter = FailureLimiter(limit=3, window=10)
    for offset in range(3):
        assert limiter.blocked_for("10.0.0.9", NOW + offset) == 0
        limiter.fail("10.0.0.9", NOW + offset)
    assert limiter.blocked_for("10.0.0.9", NOW + 4) == pytest.approx(6)
    assert limiter.blocked_for("10.0.0.8", NOW + 4) == 0  # another key
    assert limiter.first_refusal("10.0.0.9") and not limiter.first_refusal("10.0.0.9")
    assert limiter.blocked_for("10.0.0.9", NOW + 10) == 0  # the window has passed
    limiter.fail("10.0.0.9", NOW + 10)  # a new window: one failure so far
    assert limiter.blocked_for("10.0.0.9", NOW + 11) == 0


def test_failure_limiter_reset_zero_limit_and_capacity():
    limiter = FailureLimiter(limit=2, window=10, capacity=2)
    limiter.fail("alice", NOW)
    limiter.reset("alice")
    limiter.fail("alice", NOW)
    assert limiter.blocked_for("alice", NOW) == 0
    for key in ("bob", "carol"):  # alice is the least recently failed: dropped for room
        limiter.fail(key, NOW)
    limiter.fail("alice", NOW)
    assert limiter.blocked_for("alice", NOW) == 0
    unlimited = FailureLimiter(limit=0, window=10)
    for _ in range(100):
        unlimited.fail("x", NOW)
    assert unlimited.blocked_for("x", NOW) == 0
