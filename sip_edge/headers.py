"""Structured SIP header values: name-addr, Via, CSeq and generic parameters (RFC 3261 section 20, 25.1),
the session timer's Session-Expires and Min-SE (RFC 4028 4, 5), and the RSeq and RAck of reliable provisional
responses (RFC 3262 7).

Sans-IO and standalone: imports only `sip_edge.uri` and the standard library. Every `parse`
raises `HeaderError` (a `ValueError`) on malformed text, so the message layer can turn it into
a 400 with a reason.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from sip_edge.uri import SipURI, URIError, format_host, split_hostport

__all__ = [
    "CSeq",
    "HeaderError",
    "bounded_int",
    "NameAddr",
    "RAck",
    "SessionExpires",
    "Via",
    "format_params",
    "is_token",
    "parse_min_se",
    "parse_params",
    "parse_rseq",
    "quote",
    "split_commas",
    "unquote",
]

MAX_CSEQ = 2**31 - 1  # RFC 3261 8.1.1.5: the sequence number MUST be less than 2**31
MAX_RSEQ = 2**32 - 1  # RFC 3262 7.1: RSeq is 1 to 2**32 - 1
MAX_DELTA_SECONDS = 2**32 - 1  # RFC 3261 25.1 delta-seconds: values beyond are read as this much (at most)

_TOKEN_RE = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")
# Unquoted parameter values. RFC 3261 allows a token or a host (so ':' and brackets for IPv6);
# peers in the wild also send '/', '@' and the like, which are harmless once ';' ',' '"' '<' '>'
# and whitespace are excluded, so those are accepted and echoed as they came.
_BARE_VALUE_RE = re.compile(r"[^\s\x00-\x1f\x7f;,\"<>\\]+")
# Display-name words: tokens, and (leniently) UTF-8 letters some phones send unquoted.
_DISPLAY_WORD_RE = re.compile(r"(?:[A-Za-z0-9\-.!%*_+`'~]|[^\x00-\x7f])+")
_LWS = " \t"
# quoted-string = DQUOTE *(qdtext / quoted-pair) DQUOTE; unambiguous, so matching is linear.
_QUOTED_STRING_RE = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NEEDS_BACKSLASH_RE = re.compile(r'["\\\x00-\x08\x0b\x0c\x0e-\x1f\x7f]')


class HeaderError(ValueError):
    """A header value does not follow its grammar."""


def is_token(text: str) -> bool:
    return bool(_TOKEN_RE.fullmatch(text))


def quote(s: str) -> str:
    """Makes a quoted-string: backslash-escapes '"', '\\' and control characters (RFC 3261 25.1).

    CR and LF cannot be carried in a quoted-string at all: ValueError.
    """
    if "\r" in s or "\n" in s:
        raise ValueError("CR and LF cannot be quoted")
    return '"' + _NEEDS_BACKSLASH_RE.sub(r"\\\g<0>", s) + '"'


def unquote(s: str) -> str:
    """Undoes `quote`; text that is not a quoted-string is returned unchanged.

    Raises HeaderError when the quotes are unbalanced or the closing quote is escaped.
    """
    if not s.startswith('"'):
        if '"' in s:
            raise HeaderError(f"stray quote in {s!r}")
        return s
    end = _quoted_end(s, 0)
    if end != len(s):
        raise HeaderError(f"text after quoted string in {s!r}")
    return _unescape_quoted(s[1 : end - 1])


def _unescape_quoted(inner: str) -> str:
    out: list[str] = []
    chars = iter(inner)
    for ch in chars:
        out.append(next(chars, "") if ch == "\\" else ch)
    return "".join(out)


def _quoted_end(text: str, start: int) -> int:
    """Index just past the quoted-string that opens at `start`; raises on an unterminated one."""
    match = _QUOTED_STRING_RE.match(text, start)
    if match is None:
        raise HeaderError(f"unterminated quoted string in {text[:60]!r}")
    return match.end()


@functools.lru_cache(maxsize=16)
def _delimiters(chars: str) -> re.Pattern[str]:
    return re.compile('["<>' + re.escape(chars) + "]")


def _scan(text: str, separators: str) -> Iterator[tuple[int, str]]:
    """Yields (index, char) of each separator outside quoted strings and <...>; checks the balance.

    Jumps from delimiter to delimiter with a regex: header values are scanned many times per
    message, and a character loop in Python was the parser's hot spot.
    """
    pattern = _delimiters(separators)
    depth = 0
    pos = 0
    while (match := pattern.search(text, pos)) is not None:
        ch, i = match.group(), match.start()
        pos = i + 1
        if ch == '"':
            pos = _quoted_end(text, i)
        elif ch == "<":
            if depth:
                raise HeaderError(f"nested '<' in {text[:60]!r}")
            depth = 1
        elif ch == ">":
            if not depth:
                raise HeaderError(f"unbalanced '>' in {text[:60]!r}")
            depth = 0
        elif not depth:
            yield i, ch
    if depth:
        raise HeaderError(f"unbalanced '<' in {text[:60]!r}")


def _find_unquoted(text: str, char: str) -> int:
    """Index of the first `char` outside quoted strings, or -1."""
    pattern = _delimiters(char)
    pos = 0
    while (match := pattern.search(text, pos)) is not None:
        if match.group() == '"':
            pos = _quoted_end(text, match.start())
        elif match.group() == char:
            return match.start()
        else:
            pos = match.end()
    return -1


def bounded_int(text: str, limit: int) -> int | None:
    """The decimal number in `text` if it is all ASCII digits and at most `limit`, else None.

    Leading zeros are fine; the length check comes first so a peer's thousand-digit number costs nothing.
    """
    if not text or not text.isascii() or not text.isdigit():
        return None
    digits = text.lstrip("0") or "0"
    if len(digits) > len(str(limit)):
        return None
    value = int(digits)
    return value if value <= limit else None


def split_outside(text: str, separator: str) -> list[str]:
    """Splits on `separator`, never inside quoted strings or <...>; parts are stripped of LWS."""
    parts: list[str] = []
    start = 0
    for i, _ in _scan(text, separator):
        parts.append(text[start:i].strip(_LWS))
        start = i + 1
    parts.append(text[start:].strip(_LWS))
    return parts


def split_commas(text: str) -> list[str]:
    """Splits a header line holding several values (RFC 3261 7.3.1); empty items are dropped."""
    return [part for part in split_outside(text, ",") if part]


def _parse_params_quoted(text: str) -> tuple[dict[str, str | None], set[str]]:
    """Parses `;a=b;c=\"d\"` (leading ';' optional); returns the params and the names that were quoted."""
    params: dict[str, str | None] = {}
    quoted: set[str] = set()
    text = text.strip(_LWS)
    if not text:
        return params, quoted
    if text.startswith(";"):
        text = text[1:]
    for item in split_outside(text, ";"):
        name, eq, value = item.partition("=")
        name, value = name.strip(_LWS), value.strip(_LWS)
        if not is_token(name):
            raise HeaderError(f"bad parameter {item!r}")
        if eq and not value:
            raise HeaderError(f"empty value for parameter {name!r}")
        if value.startswith('"'):
            quoted.add(name.lower())
            value = unquote(value)
        elif eq and not _is_gen_value(value):
            raise HeaderError(f"bad value for parameter {name!r}")
        params.setdefault(name.lower(), value if eq else None)
    return params, quoted


def _is_gen_value(value: str) -> bool:
    # gen-value = token / host / quoted-string, leniently widened (see _BARE_VALUE_RE).
    return bool(_BARE_VALUE_RE.fullmatch(value))


def parse_params(text: str) -> dict[str, str | None]:
    """Parses generic parameters `;a=b;c;d="q v"`: names lower-cased, quoted values unquoted.

    A parameter that appears twice keeps its first value. Raises HeaderError on empty
    parameters (`;;`), bad names or unbalanced quotes.
    """
    return _parse_params_quoted(text)[0]


def format_params(params: dict[str, str | None], quoted: set[str] | frozenset[str] = frozenset()) -> str:
    """Serializes parameters as `;a=b;c`; values are quoted when they must be or their name is in `quoted`."""
    out = []
    for name, value in params.items():
        if value is None:
            out.append(f";{name}")
        elif name in quoted or not _BARE_VALUE_RE.fullmatch(value):
            out.append(f";{name}={quote(value)}")
        else:
            out.append(f";{name}={value}")
    return "".join(out)


@dataclass
class NameAddr:
    """A From, To, Contact, Route, Record-Route, Reply-To... value: display name, URI and header params.

    Following RFC 3261 section 20.10, in the addr-spec form (no angle brackets) everything after
    the first ';' is a header parameter, never a URI parameter. `uri` is a SipURI; URIs of other
    schemes (legal in To/From/Contact) come back with `uri.opaque` set. `str()` always writes the
    name-addr form with angle brackets, which is valid wherever either form is.
    """

    display_name: str | None
    uri: SipURI
    params: dict[str, str | None] = field(default_factory=dict)
    _quoted: set[str] = field(default_factory=set, repr=False, compare=False)

    @classmethod
    def parse(cls, text: str) -> NameAddr:
        text = text.strip(_LWS)
        for _ in _scan(text, ""):  # only checks that quotes and angle brackets balance
            pass
        angle = _find_unquoted(text, "<")
        if angle >= 0:
            display = _parse_display_name(text[:angle])
            close = text.find(">", angle)
            uri_text, rest = text[angle + 1 : close], text[close + 1 :]
        else:
            display = None
            uri_text, semi, rest = text.partition(";")
            uri_text, rest = uri_text.strip(_LWS), semi + rest
            if "?" in uri_text or "," in uri_text:
                raise HeaderError(f"URI with '?' or ',' must be in angle brackets: {text!r}")
        rest = rest.strip(_LWS)
        if rest and not rest.startswith(";"):
            raise HeaderError(f"unexpected text after address: {rest!r}")
        try:
            uri = SipURI.parse(uri_text, any_scheme=True)
        except URIError as exc:
            raise HeaderError(f"bad URI in address {text!r}: {exc}") from exc
        params, quoted = _parse_params_quoted(rest)
        return cls(display, uri, params, quoted)

    def __str__(self) -> str:
        display = "" if self.display_name is None else quote(self.display_name) + " "
        return f"{display}<{self.uri}>{format_params(self.params, self._quoted)}"

    @property
    def tag(self) -> str | None:
        """The `tag` parameter (dialog identification, RFC 3261 19.3), or None."""
        return self.params.get("tag")

    @tag.setter
    def tag(self, value: str | None) -> None:
        if value is None:
            self.params.pop("tag", None)
        else:
            self.params["tag"] = value

    @property
    def expires(self) -> int | None:
        """The Contact `expires` parameter as an int, or None when absent or not a number."""
        value = self.params.get("expires")
        return bounded_int(value, 2**32 - 1) if value is not None else None

    def copy(self) -> NameAddr:
        return NameAddr(self.display_name, self.uri.copy(), dict(self.params), set(self._quoted))


def _parse_display_name(text: str) -> str | None:
    """The display name before '<': a quoted-string or tokens separated by LWS (RFC 3261 25.1)."""
    text = text.strip(_LWS)
    if not text:
        return None
    if text.startswith('"'):
        return unquote(text)
    words = text.split()
    for word in words:
        if not _DISPLAY_WORD_RE.fullmatch(word):
            raise HeaderError(f"display name must be quoted: {text!r}")
    return " ".join(words)


@dataclass
class Via:
    """One Via value: `SIP/2.0/UDP host:port;branch=...` (RFC 3261 20.42, RFC 3581 for rport).

    `transport` is upper case ("UDP", "TCP", "TLS", or any token); `host` is bare (IPv6
    without brackets). `protocol` keeps the protocol name and version, "SIP/2.0" normally.
    """

    transport: str
    host: str
    port: int | None = None
    params: dict[str, str | None] = field(default_factory=dict)
    protocol: str = "SIP/2.0"
    _quoted: set[str] = field(default_factory=set, repr=False, compare=False)

    @classmethod
    def parse(cls, text: str) -> Via:
        # Split by hand rather than with one regex: a regex over LWS-laden peer text can backtrack
        # quadratically, and a message may hold hundreds of Via values.
        semi = _find_unquoted(text, ";")
        head, param_text = (text, "") if semi < 0 else (text[:semi], text[semi:])
        parts = head.split("/", 2)
        if len(parts) != 3:
            raise HeaderError(f"malformed Via {text!r}")
        name, version = parts[0].strip(_LWS), parts[1].strip(_LWS)
        rest = parts[2].strip(_LWS).split(None, 1)
        if len(rest) != 2:
            raise HeaderError(f"Via without sent-by: {text!r}")
        transport, sent_by = rest
        if not (is_token(name) and is_token(version) and is_token(transport)):
            raise HeaderError(f"malformed Via protocol in {text!r}")
        host_text, colon, port_text = sent_by.rpartition(":") if not sent_by.endswith("]") else ("", "", "")
        if colon and (host_text.endswith("]") or ":" not in host_text):
            sent_by = host_text.rstrip(_LWS) + ":" + port_text.lstrip(_LWS)  # "host : 5060" is legal LWS
        try:
            host, port = split_hostport(sent_by)
        except URIError as exc:
            raise HeaderError(f"bad Via sent-by {sent_by!r}: {exc}") from exc
        params, quoted = _parse_params_quoted(param_text)
        via = cls(transport.upper(), host, port, params, f"{name.upper()}/{version}", quoted)
        via._check_params()
        return via

    def _check_params(self) -> None:
        for name, limit in (("ttl", 255), ("rport", 65535)):
            value = self.params.get(name)
            if value is not None and bounded_int(value, limit) is None:
                raise HeaderError(f"Via {name} out of range: {value!r}")

    def __str__(self) -> str:
        port = "" if self.port is None else f":{self.port}"
        params = format_params(self.params, self._quoted)
        return f"{self.protocol}/{self.transport} {format_host(self.host)}{port}{params}"

    @property
    def branch(self) -> str | None:
        return self.params.get("branch")

    @property
    def is_rfc3261_branch(self) -> bool:
        """True when the branch has the RFC 3261 magic cookie, so transactions can match on it (17.2.3)."""
        return bool(self.branch and self.branch.startswith("z9hG4bK"))

    @property
    def received(self) -> str | None:
        return self.params.get("received")

    @property
    def rport(self) -> int | None:
        """The rport value filled in by a server, or None (absent, or requested but not yet filled)."""
        value = self.params.get("rport")
        return bounded_int(value, 65535) if value else None

    @property
    def wants_rport(self) -> bool:
        """True when the client asked for symmetric response routing (RFC 3581): `;rport` is present."""
        return "rport" in self.params

    def stamp_received(self, host: str, port: int) -> None:
        """Server side of RFC 3261 18.2.1 and RFC 3581: records where the request really came from.

        `received` and a filled-in `rport` are the server's to write: whatever the peer put there is
        replaced or removed, so that it cannot point our responses at another address.
        """
        if self.wants_rport:
            self.params["received"] = host
            self.params["rport"] = str(port)
        elif host != self.host:
            self.params["received"] = host
        else:
            self.params.pop("received", None)

    def response_address(self, default_port: int = 5060) -> tuple[str, int]:
        """Where a response goes over an unreliable transport (RFC 3261 18.2.2 and RFC 3581 4): `maddr` with the
        sent-by port; else `received` with `rport` (both stamped from the packet's source), or the sent-by port."""
        maddr = self.params.get("maddr")
        if maddr:
            return maddr, self.port or default_port
        return self.received or self.host, self.rport or self.port or default_port

    def copy(self) -> Via:
        return Via(self.transport, self.host, self.port, dict(self.params), self.protocol, set(self._quoted))


@dataclass
class CSeq:
    """`CSeq: 4711 INVITE`; `seq` is checked to be below 2**31 (RFC 3261 8.1.1.5)."""

    seq: int
    method: str

    @classmethod
    def parse(cls, text: str) -> CSeq:
        match = re.fullmatch(r"[ \t]*([0-9]+)[ \t]+([^ \t]+)[ \t]*", text)
        if not match or not is_token(match.group(2)):
            raise HeaderError(f"malformed CSeq {text!r}")
        seq = bounded_int(match.group(1), MAX_CSEQ)
        if seq is None:
            raise HeaderError(f"CSeq number out of range: {match.group(1)[:20]}")
        return cls(seq, match.group(2))

    def __str__(self) -> str:
        return f"{self.seq} {self.method}"


@dataclass
class SessionExpires:
    """`Session-Expires: 1800;refresher=uac` (RFC 4028 4): the session interval in seconds and who refreshes
    the session, `uac` or `uas` of the transaction carrying it (None: the sender leaves the choice open)."""

    interval: int
    refresher: str | None = None

    @classmethod
    def parse(cls, text: str) -> SessionExpires:
        value, semi, rest = text.strip(_LWS).partition(";")
        interval = _delta_seconds(value, "Session-Expires")
        if interval < 1:
            raise HeaderError("Session-Expires must be at least 1 second")
        refresher = parse_params(rest).get("refresher") if semi else None
        if refresher is not None:
            refresher = refresher.lower()
            if refresher not in ("uac", "uas"):
                raise HeaderError(f"refresher must be uac or uas, not {refresher[:20]!r}")
        return cls(interval, refresher)

    def __str__(self) -> str:
        return f"{self.interval};refresher={self.refresher}" if self.refresher else str(self.interval)


def parse_min_se(text: str) -> int:
    """`Min-SE: 90` (RFC 4028 5): delta-seconds, perhaps followed by parameters (ignored)."""
    value, semi, rest = text.strip(_LWS).partition(";")
    if semi:
        parse_params(rest)  # only checked
    return _delta_seconds(value, "Min-SE")


def _delta_seconds(text: str, name: str) -> int:
    digits = text.strip(_LWS)
    if not digits.isascii() or not digits.isdigit():
        raise HeaderError(f"malformed {name} {text[:40]!r}")
    value = bounded_int(digits, MAX_DELTA_SECONDS)
    return MAX_DELTA_SECONDS if value is None else value


def parse_rseq(text: str) -> int:
    """`RSeq: 988789` (RFC 3262 7.1): the sequence number of a reliable provisional response, 1 to 2**32 - 1."""
    value = bounded_int(text.strip(_LWS), MAX_RSEQ)
    if not value:
        raise HeaderError(f"malformed RSeq {text[:40]!r}")
    return value


@dataclass(frozen=True)
class RAck:
    """`RAck: 776656 1 INVITE` (RFC 3262 7.2): which reliable provisional response a PRACK acknowledges, by
    its RSeq and the CSeq number and method of the request it answered."""

    rseq: int
    cseq: int
    method: str

    @classmethod
    def parse(cls, text: str) -> RAck:
        match = re.fullmatch(r"[ \t]*([0-9]+)[ \t]+([0-9]+)[ \t]+([^ \t]+)[ \t]*", text)
        if not match or not is_token(match.group(3)):
            raise HeaderError(f"malformed RAck {text[:60]!r}")
        rseq, cseq = bounded_int(match.group(1), MAX_RSEQ), bounded_int(match.group(2), MAX_CSEQ)
        if not rseq or cseq is None:
            raise HeaderError(f"RAck numbers out of range: {text[:60]!r}")
        return cls(rseq, cseq, match.group(3))

    def __str__(self) -> str:
        return f"{self.rseq} {self.cseq} {self.method}"
