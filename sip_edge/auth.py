"""HTTP digest authentication for SIP (RFC 2617, RFC 7616, RFC 8760), sans-IO.

Server side: :class:`DigestServer` builds 401/407 challenges and verifies the client's
answer. Its nonces carry their own expiry and an HMAC over it keyed by a server secret, so
any process holding the secret can tell a nonce it issued and when it expires without storing
it. What a nonce cannot carry is its use: :class:`NonceCounts` remembers the highest nonce-count
accepted per nonce (bounded, least recently used first out), so a captured answer replayed
with the same nc is refused (:attr:`AuthStatus.REPLAYED`) while a client that reuses a nonce
with a higher nc, as RFC 7616 §3.4 asks, is accepted. The digest ``uri`` must name the
Request-URI (compared as SIP URIs, RFC 3261 §19.1.4).

:class:`FailureLimiter` counts failed answers per key (a source address, a user) in fixed
windows, so a registrar can stop checking passwords for a guesser until the window ends.

Client side: :class:`DigestClient` answers a challenge (or the strongest of several) for a
method and request-URI, counting nc per nonce.

Time is an input (``now``), never read here; randomness comes from :mod:`secrets`.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import ipaddress
import secrets
import struct
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote as percent_unquote

from sip_edge.uri import SipURI

__all__ = [
    "ALGORITHMS",
    "AuthResult",
    "AuthStatus",
    "Challenge",
    "CredentialLookup",
    "DigestClient",
    "DigestParseError",
    "DigestServer",
    "FailureLimiter",
    "NonceCounts",
    "Secret",
    "compute_ha1",
    "compute_response",
    "digest_username",
    "format_auth_params",
    "header_names",
    "parse_auth_header",
    "pick_challenge",
    "same_uri",
]


# ----------------------------------------------------------------------------- algorithms

def _sha512_256(data: bytes) -> str:
    return hashlib.new("sha512_256", data).hexdigest()


# Ordered weakest to strongest: pick_challenge uses this order to prefer the strongest.
_HASHES: dict[str, Callable[[bytes], str]] = {
    "MD5": lambda data: hashlib.md5(data).hexdigest(),
    "SHA-256": lambda data: hashlib.sha256(data).hexdigest(),
    "SHA-512-256": _sha512_256,
}
ALGORITHMS: tuple[str, ...] = tuple(_HASHES) + tuple(f"{name}-sess" for name in _HASHES)


def _base_algorithm(algorithm: str) -> tuple[str, bool]:
    """Split 'SHA-256-sess' into ('SHA-256', True); names are case-insensitive on the wire."""
    upper = algorithm.upper()
    sess = upper.endswith("-SESS")
    base = upper[: -len("-SESS")] if sess else upper
    if base not in _HASHES:
        raise DigestParseError(f"unsupported algorithm {algorithm!r}")
    return base, sess


def _strength(algorithm: str) -> int:
    base, _ = _base_algorithm(algorithm)
    return list(_HASHES).index(base)


def _hash(algorithm: str, text: str) -> str:
    base, _ = _base_algorithm(algorithm)
    return _HASHES[base](text.encode("utf-8"))


def compute_ha1(
    algorithm: str, username: str, realm: str, password: str, *, nonce: str = "", cnonce: str = ""
) -> str:
    """HA1 = H(username:realm:password), re-hashed with nonce and cnonce for '-sess' variants."""
    ha1 = _hash(algorithm, f"{username}:{realm}:{password}")
    return _sess_ha1(algorithm, ha1, nonce, cnonce)


def _sess_ha1(algorithm: str, ha1: str, nonce: str, cnonce: str) -> str:
    _, sess = _base_algorithm(algorithm)
    return _hash(algorithm, f"{ha1}:{nonce}:{cnonce}") if sess else ha1


def compute_response(
    algorithm: str,
    ha1: str,
    *,
    method: str,
    uri: str,
    nonce: str,
    qop: str | None = None,
    nc: str = "",
    cnonce: str = "",
    body: bytes = b"",
) -> str:
    """The request-digest of RFC 7616 §3.4.1 (qop auth / auth-int) or RFC 2069 (qop absent).

    ``ha1`` is the final HA1 (already session-hashed for '-sess' algorithms).
    """
    if qop == "auth-int":
        base, _ = _base_algorithm(algorithm)
        ha2 = _hash(algorithm, f"{method}:{uri}:{_HASHES[base](body)}")
    else:
        ha2 = _hash(algorithm, f"{method}:{uri}")
    if qop is None:
        return _hash(algorithm, f"{ha1}:{nonce}:{ha2}")
    return _hash(algorithm, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")


# ----------------------------------------------------------------------------- header params

class DigestParseError(ValueError):
    """A WWW-/Proxy-Authenticate or (Proxy-)Authorization value that is not well formed."""


_TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~")
_SPACE = " \t\r\n"


def parse_auth_header(value: str) -> tuple[str, dict[str, str]]:
    """Split 'Digest a=b, c="d"' into ('Digest', {'a': 'b', 'c': 'd'}).

    Parameter names are lower-cased; quoted values are unescaped. Raises DigestParseError on
    anything malformed: no scheme, a parameter without '=', an unterminated quote, a missing
    comma between parameters, an empty value, or the same parameter twice.
    """
    text = value.strip(_SPACE)
    pos = _skip_token(text, 0)
    if pos == 0:
        raise DigestParseError("missing auth scheme")
    scheme = text[:pos]
    if pos < len(text) and text[pos] not in _SPACE:
        raise DigestParseError(f"unexpected {text[pos]!r} after auth scheme")
    params: dict[str, str] = {}
    pos = _skip(text, pos, _SPACE)
    while pos < len(text):
        if text[pos] == ",":  # empty list elements are allowed (RFC 7230 #rule)
            pos = _skip(text, pos + 1, _SPACE)
            continue
        name, val, pos = _parse_param(text, pos)
        if name in params:
            raise DigestParseError(f"duplicate parameter {name!r}")
        params[name] = val
        pos = _skip(text, pos, _SPACE)
        if pos < len(text) and text[pos] != ",":
            raise DigestParseError(f"expected ',' at offset {pos}")
    return scheme, params


def _skip(text: str, pos: int, chars: str) -> int:
    while pos < len(text) and text[pos] in chars:
        pos += 1
    return pos


def _skip_token(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _TOKEN_CHARS:
        pos += 1
    return pos


def _parse_param(text: str, pos: int) -> tuple[str, str, int]:
    end = _skip_token(text, pos)
    if end == pos:
        raise DigestParseError(f"expected a parameter name at offset {pos}")
    if end < len(text) and text[end] == "*":  # RFC 7616 username*: an RFC 5987 ext-value
        end += 1
    name = text[pos:end].lower()
    pos = _skip(text, end, _SPACE)
    if pos >= len(text) or text[pos] != "=":
        raise DigestParseError(f"parameter {name!r} has no value")
    pos = _skip(text, pos + 1, _SPACE)
    if pos < len(text) and text[pos] == '"':
        val, pos = _parse_quoted(text, pos)
        return name, val, pos
    start = pos
    # Unquoted values should be tokens; we also accept '/', ':', '@', '=' and friends that
    # sloppy peers leave unquoted, stopping only where the value plainly ends.
    while pos < len(text) and text[pos] not in _SPACE and text[pos] not in ',"\\':
        pos += 1
    if pos == start:
        raise DigestParseError(f"parameter {name!r} has an empty value")
    return name, text[start:pos], pos


def _parse_quoted(text: str, pos: int) -> tuple[str, int]:
    out: list[str] = []
    pos += 1
    while pos < len(text):
        char = text[pos]
        if char == '"':
            return "".join(out), pos + 1
        if char == "\\":
            if pos + 1 >= len(text):
                raise DigestParseError("backslash at end of quoted string")
            char = text[pos + 1]
            pos += 1
        out.append(char)
        pos += 1
    raise DigestParseError("unterminated quoted string")


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_auth_params(scheme: str, params: Iterable[tuple[str, str, bool]]) -> str:
    """Build 'Scheme a="b", c=d' from (name, value, quoted) triples, escaping quoted values."""
    parts = [f"{name}={_quote(value) if quoted else value}" for name, value, quoted in params]
    return f"{scheme} " + ", ".join(parts)


def _require_digest(value: str) -> dict[str, str]:
    scheme, params = parse_auth_header(value)
    if scheme.lower() != "digest":
        raise DigestParseError(f"not a Digest credential/challenge: scheme {scheme!r}")
    return params


def header_names(status: int) -> tuple[str, str]:
    """(challenge header, answer header) for a 401 or 407 response."""
    if status == 407:
        return "Proxy-Authenticate", "Proxy-Authorization"
    if status == 401:
        return "WWW-Authenticate", "Authorization"
    raise ValueError(f"status {status} carries no digest challenge")


# ----------------------------------------------------------------------------- server side

class AuthStatus(enum.Enum):
    OK = "ok"
    WRONG_CREDENTIALS = "wrong_credentials"  # also: tampered nonce, realm/algorithm/opaque mismatch
    STALE_NONCE = "stale_nonce"  # right password, expired nonce: rechallenge with stale=true
    REPLAYED = "replayed"  # right answer, but its nc was used already for this nonce: rechallenge
    WRONG_URI = "wrong_uri"  # the digest uri is not this request's Request-URI
    MALFORMED = "malformed"  # answer with 400
    UNKNOWN_USER = "unknown_user"


@dataclass(frozen=True)
class AuthResult:
    status: AuthStatus
    username: str | None = None
    reason: str = ""
    algorithm: str | None = None
    nonce_count: int | None = None
    response_checked: bool = False  # the response was compared with the user's secret

    @property
    def ok(self) -> bool:
        return self.status is AuthStatus.OK

    @property
    def failed_guess(self) -> bool:
        """A wrong password or an unknown user: what a password guesser produces (and is counted)."""
        if self.status is AuthStatus.UNKNOWN_USER:
            return True
        return self.status is AuthStatus.WRONG_CREDENTIALS and self.response_checked


@dataclass(frozen=True)
class Secret:
    """What the server knows about a user: the plain password, or HA1 per algorithm.

    Storing HA1 instead of the password works only for the algorithms it is stored for
    (HA1 for MD5 is useless for SHA-256) and only for the realm it was computed with.
    """

    password: str | None = None
    ha1: Mapping[str, str] = field(default_factory=dict)

    def ha1_for(self, algorithm: str, username: str, realm: str) -> str | None:
        base, _ = _base_algorithm(algorithm)
        if self.password is not None:
            return _hash(base, f"{username}:{realm}:{self.password}")
        for name, value in self.ha1.items():
            if name.upper() == base:
                return value.lower()
        return None


# A lookup returns the user's plain password, a Secret, or None for an unknown user.
CredentialLookup = Callable[[str], "str | Secret | None"]

class NonceCounts:
    """The highest nonce-count accepted per nonce: each (nonce, nc) passes once, in increasing order.

    RFC 7616 §3.4 has the client count up each time it reuses a nonce; a count not above the last
    one accepted is a replay. At most ``capacity`` nonces are remembered, the least recently used
    leaving first, and expired ones are dropped as they reach the front (an expired nonce is
    answered stale before its count matters). A nonce dropped while still good cannot be told from
    a fresh one, so every nonce expiring no later than it is refused from then on: its client gets a
    new challenge instead of the table letting a replay through.
    """

    def __init__(self, capacity: int = 10_000) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._last: OrderedDict[str, tuple[int, float]] = OrderedDict()  # nonce -> (nc, expiry)
        self._forgotten_until = float("-inf")  # expiry of the latest live nonce dropped for room

    def __len__(self) -> int:
        return len(self._last)

    def accept(self, nonce: str, nc: int, expiry: float, now: float) -> bool:
        """True (and ``nc`` recorded) when ``nc`` is above every count accepted for ``nonce``."""
        self._expire(now)
        entry = self._last.get(nonce)
        if entry is None and expiry <= self._forgotten_until:
            return False
        if entry is not None and nc <= entry[0]:
            return False
        self._last[nonce] = (nc, expiry)
        self._last.move_to_end(nonce)
        while len(self._last) > self.capacity:
            _, (_, dropped_expiry) = self._last.popitem(last=False)
            if dropped_expiry > now:
                self._forgotten_until = max(self._forgotten_until, dropped_expiry)
        return True

    def _expire(self, now: float) -> None:
        while self._last:
            nonce, (_, expiry) = next(iter(self._last.items()))
            if expiry > now:
                return
            del self._last[nonce]


@dataclass
class _Failures:
    start: float  # when the window opened: the first failure after the previous window
    count: int = 0
    logged: bool = False  # a refusal in this window was reported


class FailureLimiter:
    """Failed answers per key (a source address, a user) in fixed windows of ``window`` seconds.

    After ``limit`` failures in one window the key is blocked until that window ends: its
    requests are refused without checking a password, so guessing costs a window per ``limit``
    tries. ``limit`` 0 never blocks. At most ``capacity`` keys are kept, the least recently failed
    leaving first. Time is an input, as elsewhere in this module.
    """

    def __init__(self, limit: int, window: float, capacity: int = 10_000) -> None:
        self.limit = limit
        self.window = window
        self.capacity = capacity
        self._keys: OrderedDict[str, _Failures] = OrderedDict()

    def blocked_for(self, key: str, now: float) -> float:
        """Seconds left of the key's block; 0.0 when it may be checked."""
        entry = self._current(key, now)
        if entry is None or self.limit <= 0 or entry.count < self.limit:
            return 0.0
        return entry.start + self.window - now

    def fail(self, key: str, now: float) -> None:
        entry = self._current(key, now)
        if entry is None:
            entry = self._keys[key] = _Failures(now)
        entry.count += 1
        self._keys.move_to_end(key)
        while len(self._keys) > self.capacity:
            self._keys.popitem(last=False)

    def reset(self, key: str) -> None:
        self._keys.pop(key, None)

    def first_refusal(self, key: str) -> bool:
        """True once per window of a blocked key: when its refusal is worth a log line."""
        entry = self._keys.get(key)
        if entry is None or entry.logged:
            return False
        entry.logged = True
        return True

    def _current(self, key: str, now: float) -> _Failures | None:
        entry = self._keys.get(key)
        if entry is not None and now >= entry.start + self.window:
            del self._keys[key]
            return None
        return entry


_NONCE_MAC_BYTES = 16
_NONCE_RANDOM_BYTES = 8


@dataclass(frozen=True)
class DigestServer:
    """Challenges and verifies digest credentials for one realm.

    ``algorithms`` is the offer, one challenge header per algorithm in this order (RFC 8760
    §2.4 advises the preferred one first). ``qop`` empty means RFC 2069-style challenges.
    ``nonce_counts`` tracks nc per nonce (None: nonces are reusable with any nc, as before RFC
    7616's replay advice); an answer without qop has no nc and counts as 0, so its nonce is good
    once. ``accept_address_uri`` also takes a digest uri that is only an IP address
    (``sip:192.0.2.1:5060``: no user, parameters or headers) in place of the Request-URI: SIPp's
    ``[authentication]`` puts the address it sends to there.
    """

    realm: str
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    algorithms: tuple[str, ...] = ("SHA-256", "MD5")
    qop: tuple[str, ...] = ("auth",)
    nonce_ttl: float = 300.0
    opaque: str | None = None
    allow_rfc2069: bool = True  # accept answers without qop even when we offered qop
    check_uri: bool = True
    accept_address_uri: bool = False
    nonce_counts: NonceCounts | None = field(default_factory=NonceCounts, compare=False)

    def __post_init__(self) -> None:
        for algorithm in self.algorithms:
            _base_algorithm(algorithm)  # fail fast on a typo in configuration
        if not self.algorithms:
            raise ValueError("offer at least one algorithm")

    # -- nonces

    def make_nonce(self, now: float) -> str:
        expires_ms = int((now + self.nonce_ttl) * 1000)
        payload = struct.pack(">Q", expires_ms) + secrets.token_bytes(_NONCE_RANDOM_BYTES)
        raw = payload + self._mac(payload)
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")

    def nonce_expiry(self, nonce: str) -> float | None:
        """The expiry carried by a nonce we issued, or None if we did not issue it."""
        try:
            raw = base64.urlsafe_b64decode(nonce + "=" * (-len(nonce) % 4))
        except (binascii.Error, ValueError):
            return None
        if len(raw) != 8 + _NONCE_RANDOM_BYTES + _NONCE_MAC_BYTES:
            return None
        payload, mac = raw[:-_NONCE_MAC_BYTES], raw[-_NONCE_MAC_BYTES:]
        if not hmac.compare_digest(mac, self._mac(payload)):
            return None
        expires_ms: int = struct.unpack(">Q", payload[:8])[0]
        return expires_ms / 1000

    def _mac(self, payload: bytes) -> bytes:
        # The realm is in the MAC so one secret shared by several realms cannot cross them.
        message = self.realm.encode("utf-8") + b"\0" + payload
        return hmac.new(self.secret, message, hashlib.sha256).digest()[:_NONCE_MAC_BYTES]

    # -- challenges

    def challenges(self, now: float, *, stale: bool = False) -> list[str]:
        """One challenge value per offered algorithm, sharing a fresh nonce."""
        nonce = self.make_nonce(now)
        return [self._challenge(algorithm, nonce, stale) for algorithm in self.algorithms]

    def challenge_headers(self, now: float, *, proxy: bool = False, stale: bool = False) -> list[
        tuple[str, str]
    ]:
        """(name, value) pairs ready for a 401 (or 407 when ``proxy``) response."""
        name = header_names(407 if proxy else 401)[0]
        return [(name, value) for value in self.challenges(now, stale=stale)]

    def _challenge(self, algorithm: str, nonce: str, stale: bool) -> str:
        params: list[tuple[str, str, bool]] = [("realm", self.realm, True), ("nonce", nonce, True)]
        if self.opaque is not None:
            params.append(("opaque", self.opaque, True))
        if stale:
            params.append(("stale", "true", False))
        params.append(("algorithm", algorithm, False))
        if self.qop:
            params.append(("qop", ",".join(self.qop), True))
        return format_auth_params("Digest", params)

    # -- verification

    def verify(
        self,
        value: str,
        *,
        method: str,
        uri: str,
        now: float,
        credentials: CredentialLookup,
        body: bytes = b"",
    ) -> AuthResult:
        """Check an Authorization / Proxy-Authorization value against a request.

        ``uri`` is the request's Request-URI as sent; ``body`` matters only for qop=auth-int.
        """
        try:
            answer = _Answer.parse(value)
            self._check_offer(answer)
        except DigestParseError as exc:
            return AuthResult(AuthStatus.MALFORMED, reason=str(exc))
        failure = self._check_binding(answer)
        if failure:
            return AuthResult(AuthStatus.WRONG_CREDENTIALS, answer.username, failure, answer.algorithm)
        if self.check_uri and not self._uri_matches(answer.uri, uri):
            return AuthResult(AuthStatus.WRONG_URI, answer.username, "digest uri does not match the request-uri",
                              answer.algorithm)
        expiry = self.nonce_expiry(answer.nonce)
        if expiry is None:
            return AuthResult(
                AuthStatus.WRONG_CREDENTIALS, answer.username, "nonce not issued here", answer.algorithm
            )
        found = credentials(answer.username)
        if found is None:
            return AuthResult(AuthStatus.UNKNOWN_USER, answer.username, "no such user", answer.algorithm)
        secret = Secret(password=found) if isinstance(found, str) else found
        ha1 = secret.ha1_for(answer.algorithm, answer.username, self.realm)
        if ha1 is None or not answer.matches(ha1, method, body):
            return AuthResult(AuthStatus.WRONG_CREDENTIALS, answer.username, "response mismatch", answer.algorithm,
                              response_checked=True)
        status, reason = self._freshness(answer, expiry, now)
        return AuthResult(status, answer.username, reason, answer.algorithm, answer.nonce_count,
                          response_checked=True)

    def _freshness(self, answer: _Answer, expiry: float, now: float) -> tuple[AuthStatus, str]:
        """OK, or why a correct answer must be challenged again (stale nonce, nc used already)."""
        # Only a correct answer gets here: otherwise stale=true would let a client that does not
        # know the password keep retrying without prompting the user. Its nc is recorded only now,
        # so forged answers cannot use up counts of a real client's nonce.
        if now >= expiry:
            return AuthStatus.STALE_NONCE, "nonce expired"
        counts = self.nonce_counts
        if counts is not None and not counts.accept(answer.nonce, answer.nonce_count or 0, expiry, now):
            return AuthStatus.REPLAYED, f"nonce count {answer.nc or '(none)'} already used for this nonce"
        return AuthStatus.OK, ""

    def _check_offer(self, answer: _Answer) -> None:
        if answer.qop is None:
            if self.qop and not self.allow_rfc2069:
                raise DigestParseError("qop missing")
        elif answer.qop not in self.qop:
            raise DigestParseError(f"qop {answer.qop!r} not offered")

    def _check_binding(self, answer: _Answer) -> str:
        """Why the answer does not belong to our challenge ('' if it does)."""
        if answer.realm != self.realm:
            return f"realm {answer.realm!r} is not ours"
        if answer.algorithm.upper() not in {a.upper() for a in self.algorithms}:
            return f"algorithm {answer.algorithm} not offered"
        if self.opaque is not None and answer.opaque != self.opaque:
            return "opaque mismatch"
        return ""

    def _uri_matches(self, digest_uri: str, request_uri: str) -> bool:
        if same_uri(digest_uri, request_uri):
            return True
        return self.accept_address_uri and _is_address_uri(digest_uri)


# RFC 3261 §19.1.4: these parameters must match even when only one URI has them.
_URI_PARAMS_IN_BOTH = frozenset({"user", "ttl", "method", "maddr"})


def same_uri(first: str, second: str) -> bool:
    """Two SIP(S) URIs equal by RFC 3261 §19.1.4; any other text must be the same once stripped.

    User and password compare case-sensitively (unescaped), scheme and host without case, a
    missing port is not the default port; a parameter present in both must match (values without
    case), user/ttl/method/maddr must be in both or neither, and URI headers must all match.
    """
    try:
        one, two = SipURI.parse(first.strip()), SipURI.parse(second.strip())
    except ValueError:
        return first.strip() == second.strip()
    if not (one.is_sip and two.is_sip):
        return first.strip() == second.strip()
    if (one.scheme, one.user, one.password, one.host.lower(), one.port) != (
        two.scheme, two.user, two.password, two.host.lower(), two.port
    ):
        return False
    for name in one.params.keys() | two.params.keys():
        if name in one.params and name in two.params:
            if (one.params[name] or "").lower() != (two.params[name] or "").lower():
                return False
        elif name in _URI_PARAMS_IN_BOTH:
            return False
    return {k.lower(): v for k, v in one.headers.items()} == {k.lower(): v for k, v in two.headers.items()}


def _is_address_uri(text: str) -> bool:
    """``sip:<IP address>[:port]`` and nothing else: the next hop, as SIPp writes the digest uri."""
    try:
        uri = SipURI.parse(text.strip())
        ipaddress.ip_address(uri.host)
    except ValueError:
        return False
    return uri.is_sip and uri.user is None and not uri.params and not uri.headers


@dataclass(frozen=True)
class _Answer:
    """A parsed and form-checked Authorization value."""

    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    algorithm: str
    qop: str | None
    cnonce: str
    nc: str
    opaque: str | None

    @property
    def nonce_count(self) -> int | None:
        return int(self.nc, 16) if self.nc else None

    @classmethod
    def parse(cls, value: str) -> _Answer:
        params = _require_digest(value)
        missing = [name for name in ("realm", "nonce", "uri", "response") if name not in params]
        if missing:
            raise DigestParseError(f"missing {', '.join(missing)}")
        algorithm = params.get("algorithm", "MD5")
        _base_algorithm(algorithm)
        qop = params.get("qop")
        cnonce, nc = params.get("cnonce", ""), params.get("nc", "")
        if qop is not None and (not cnonce or not _is_nc(nc)):
            raise DigestParseError("qop given without cnonce and an 8-hex-digit nc")
        if params.get("userhash", "false").lower() == "true":
            raise DigestParseError("userhash is not supported")
        return cls(
            username=_username(params),
            realm=params["realm"],
            nonce=params["nonce"],
            uri=params["uri"],
            response=params["response"].lower(),
            algorithm=algorithm,
            qop=qop.lower() if qop is not None else None,
            cnonce=cnonce,
            nc=nc,
            opaque=params.get("opaque"),
        )

    def matches(self, ha1: str, method: str, body: bytes) -> bool:
        final_ha1 = _sess_ha1(self.algorithm, ha1, self.nonce, self.cnonce)
        expected = compute_response(
            self.algorithm, final_ha1, method=method, uri=self.uri, nonce=self.nonce,
            qop=self.qop, nc=self.nc, cnonce=self.cnonce, body=body,
        )
        return hmac.compare_digest(expected, self.response)


def _is_nc(nc: str) -> bool:
    return len(nc) == 8 and all(c in "0123456789abcdefABCDEF" for c in nc)


def digest_username(value: str) -> str:
    """The username an Authorization / Proxy-Authorization value claims, unverified (username* decoded).

    Raises DigestParseError when the value is not a Digest answer with a username."""
    return _username(_require_digest(value))


def _username(params: Mapping[str, str]) -> str:
    """username, or RFC 7616's username* (ext-value: charset'lang'percent-encoded)."""
    if "username" in params and "username*" in params:
        raise DigestParseError("both username and username* given")
    if "username" in params:
        return params["username"]
    if "username*" not in params:
        raise DigestParseError("missing username")
    charset, sep1, rest = params["username*"].partition("'")
    _language, sep2, encoded = rest.partition("'")
    if not (sep1 and sep2) or charset.upper() not in ("UTF-8", "ISO-8859-1"):
        raise DigestParseError("malformed username*")
    try:
        return percent_unquote(encoded, encoding=charset, errors="strict")
    except (UnicodeDecodeError, LookupError) as exc:
        raise DigestParseError("malformed username*") from exc


# ----------------------------------------------------------------------------- client side

@dataclass(frozen=True)
class Challenge:
    """A parsed Digest challenge (WWW-Authenticate or Proxy-Authenticate value)."""

    realm: str
    nonce: str
    algorithm: str = "MD5"
    qop: tuple[str, ...] = ()
    opaque: str | None = None
    stale: bool = False
    userhash: bool = False

    @classmethod
    def parse(cls, value: str) -> Challenge:
        params = _require_digest(value)
        if "realm" not in params or "nonce" not in params:
            raise DigestParseError("challenge without realm or nonce")
        qop = tuple(q.strip().lower() for q in params.get("qop", "").split(",") if q.strip())
        return cls(
            realm=params["realm"],
            nonce=params["nonce"],
            algorithm=params.get("algorithm", "MD5"),
            qop=qop,
            opaque=params.get("opaque"),
            stale=params.get("stale", "false").lower() == "true",
            userhash=params.get("userhash", "false").lower() == "true",
        )

    @property
    def supported(self) -> bool:
        try:
            _base_algorithm(self.algorithm)
        except DigestParseError:
            return False
        return not self.qop or bool({"auth", "auth-int"} & set(self.qop))


def pick_challenge(values: Iterable[str]) -> Challenge:
    """The strongest supported Digest challenge among several header values (RFC 8760 §2.4).

    Non-Digest schemes, malformed values and unknown algorithms are skipped; ties keep the
    server's order. Raises DigestParseError when nothing usable remains.
    """
    best: Challenge | None = None
    for value in values:
        try:
            challenge = Challenge.parse(value)
        except DigestParseError:
            continue
        if not challenge.supported:
            continue
        if best is None or _strength(challenge.algorithm) > _strength(best.algorithm):
            best = challenge
    if best is None:
        raise DigestParseError("no supported Digest challenge offered")
    return best


def _default_cnonce() -> str:
    return secrets.token_hex(16)


class DigestClient:
    """Answers digest challenges for one username/password.

    nc counts per (realm, nonce) so a nonce can be reused for later requests (RFC 7616
    §3.4: the client MUST increase nc each time it reuses a nonce).
    """

    def __init__(self, username: str, password: str, *, cnonce: Callable[[], str] = _default_cnonce):
        self.username = username
        self.password = password
        self._cnonce = cnonce
        self._counts: dict[tuple[str, str], int] = {}

    def answer(self, values: Iterable[str], method: str, uri: str, body: bytes = b"") -> str:
        """Pick the strongest challenge among ``values`` and answer it."""
        return self.authorization(pick_challenge(values), method, uri, body)

    def authorization(self, challenge: Challenge, method: str, uri: str, body: bytes = b"") -> str:
        """The Authorization / Proxy-Authorization value answering ``challenge``."""
        if not challenge.supported:
            raise DigestParseError(f"cannot answer algorithm {challenge.algorithm} qop {challenge.qop}")
        qop = _choose_qop(challenge.qop)
        cnonce = self._cnonce() if qop or challenge.algorithm.upper().endswith("-SESS") else ""
        nc = self._next_nc(challenge) if qop else ""
        ha1 = compute_ha1(
            challenge.algorithm, self.username, challenge.realm, self.password,
            nonce=challenge.nonce, cnonce=cnonce,
        )
        response = compute_response(
            challenge.algorithm, ha1, method=method, uri=uri, nonce=challenge.nonce,
            qop=qop, nc=nc, cnonce=cnonce, body=body,
        )
        return format_auth_params("Digest", self._params(challenge, uri, response, qop, nc, cnonce))

    def _next_nc(self, challenge: Challenge) -> str:
        key = (challenge.realm, challenge.nonce)
        self._counts[key] = self._counts.get(key, 0) + 1
        return f"{self._counts[key]:08x}"

    def _params(
        self, challenge: Challenge, uri: str, response: str, qop: str | None, nc: str, cnonce: str
    ) -> list[tuple[str, str, bool]]:
        username = self.username
        if challenge.userhash:
            username = _hash(challenge.algorithm, f"{self.username}:{challenge.realm}")
        params = [
            ("username", username, True),
            ("realm", challenge.realm, True),
            ("nonce", challenge.nonce, True),
            ("uri", uri, True),
            ("response", response, True),
            ("algorithm", challenge.algorithm, False),
        ]
        if cnonce:
            params.append(("cnonce", cnonce, True))
        if challenge.opaque is not None:
            params.append(("opaque", challenge.opaque, True))
        if qop:
            params += [("qop", qop, False), ("nc", nc, False)]
        if challenge.userhash:
            params.append(("userhash", "true", False))
        return params


def _choose_qop(offered: tuple[str, ...]) -> str | None:
    # auth before auth-int: auth-int needs the body and adds nothing once TLS is in play.
    for qop in ("auth", "auth-int"):
        if qop in offered:
            return qop
    return None
