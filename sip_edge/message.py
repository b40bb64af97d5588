"""Sans-IO SIP messages: parse, validate, serialize and frame (RFC 3261 sections 7, 18.3, 20, 25).

In the style of h11: this module owns no sockets and no clock. Bytes go in, `Request` or
`Response` objects come out; objects go in, bytes come out. Two kinds of error are kept apart:

- the peer broke the protocol: `SipParseError`, carrying the status to answer with (400, 413,
  505...) or None when the message must be dropped silently (garbage, or a broken response,
  which can never be answered). Nothing a peer sends raises anything else.
- the caller misused the API (a header value with a line break, say): `ValueError`/`TypeError`.

What `parse_message` answers (the reason phrase always says what is wrong):

- 400: a malformed request line (extra or trailing spaces, a space or <> in the Request-URI,
  URI headers in it), a header line without a name, control characters, a head that is not
  UTF-8 or is cut short, a missing Via/From/To/Call-ID/CSeq, a second From/To/Call-ID/CSeq/
  Max-Forwards/Content-Length/Content-Type/Expires, a bad or too large Content-Length, a CSeq
  above 2**31-1 or whose method differs from the request's, Max-Forwards above 255, Expires
  above 2**32-1, a malformed address, Via, Call-ID or Date, a header line over 4095 bytes.
- 413: a message over 307200 bytes; 414: a request line over 4095 bytes; 505: not SIP/2.0.
- None: not SIP at all (no `METHOD uri SIP/x.y` line), or any malformed response.

Leniencies, because real peers need them: bare LF line endings, CRLFs before the start line, a
datagram without the final empty line, a missing Max-Forwards, unquoted UTF-8 display names,
unquoted parameter values beyond tokens. 420 is the caller's decision: `check_proxy_require`.

Imports only `sip_edge.uri`, `sip_edge.headers` and the standard library.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import overload

from sip_edge.headers import CSeq, HeaderError, NameAddr, Via, bounded_int, is_token, split_commas
from sip_edge.uri import SipURI, URIError

__all__ = [
    "MAX_HEADER_LINE",
    "MAX_MESSAGE",
    "REASON_PHRASES",
    "Headers",
    "Message",
    "Request",
    "Response",
    "SipParseError",
    "StreamFramer",
    "canonical_name",
    "check_proxy_require",
    "check_require",
    "make_response",
    "parse_message",
    "serialize",
]

# Voximplant's limits: "SIP header <= 4095 B; SIP packet <= 307200 B".
MAX_HEADER_LINE = 4095
MAX_MESSAGE = 307200
MAX_EXPIRES = 2**32 - 1  # RFC 3261 20.19: delta-seconds beyond this are not meaningful
MAX_REASON = 200  # longest reason phrase we put in a SipParseError (and so on the wire)


class SipParseError(Exception):
    """The peer sent something that is not valid SIP.

    `status` is the response to send (400, 413, 420, 505...) or None when the message cannot
    be answered (not even a start line, or a response). `reason` is the reason phrase to send,
    saying what is wrong (e.g. "Bad Request - duplicate Content-Length"). `request` is the
    request as far as it could be read, so that `make_response(err.request, err.status,
    err.reason)` can answer it; it is None when `status` is None.
    """

    def __init__(self, status: int | None, reason: str, request: Request | None = None) -> None:
        # The reason goes on a status line: one line, and short, however much peer text it quotes.
        reason = " ".join(reason.split())[:MAX_REASON]
        super().__init__(f"{status} {reason}" if status else reason)
        self.status = status
        self.reason = reason
        self.request = request


# --- header names --------------------------------------------------------------------------------

# RFC 3261 7.3.3 and later RFCs: single-letter compact forms.
COMPACT_FORMS = {
    "a": "Accept-Contact",
    "b": "Referred-By",
    "c": "Content-Type",
    "d": "Request-Disposition",
    "e": "Content-Encoding",
    "f": "From",
    "i": "Call-ID",
    "j": "Reject-Contact",
    "k": "Supported",
    "l": "Content-Length",
    "m": "Contact",
    "n": "Identity-Info",
    "o": "Event",
    "r": "Refer-To",
    "s": "Subject",
    "t": "To",
    "u": "Allow-Events",
    "v": "Via",
    "x": "Session-Expires",
    "y": "Identity",
}

# Names whose canonical spelling is not plain Title-Case-With-Hyphens, plus the common ones.
_CANONICAL = {
    name.lower(): name
    for name in (
        "Accept", "Accept-Contact", "Accept-Encoding", "Accept-Language", "Alert-Info", "Allow",
        "Allow-Events", "Authentication-Info", "Authorization", "Call-ID", "Call-Info", "Contact",
        "Content-Disposition", "Content-Encoding", "Content-Language", "Content-Length", "Content-Type",
        "CSeq", "Date", "Error-Info", "Event", "Expires", "From", "Identity", "Identity-Info",
        "In-Reply-To", "Max-Forwards", "MIME-Version", "Min-Expires", "Min-SE", "Organization",
        "P-Asserted-Identity", "P-Preferred-Identity", "Path", "Priority", "Privacy", "Proxy-Authenticate",
        "Proxy-Authorization", "Proxy-Require", "RAck", "Reason", "Record-Route", "Refer-To", "Referred-By",
        "Reject-Contact", "Replaces", "Reply-To", "Request-Disposition", "Require", "Retry-After", "Route",
        "RSeq", "Server", "Service-Route", "Session-Expires", "SIP-ETag", "SIP-If-Match", "Subject",
        "Subscription-State", "Supported", "Timestamp", "To", "Unsupported", "User-Agent", "User-to-User",
        "Via", "Warning", "WWW-Authenticate",
    )
}

# Headers whose values legally hold unquoted commas, or that are single-valued free text:
# get_all() returns their lines whole instead of splitting them (RFC 3261 7.3.1).
_NOT_COMMA_LISTS = frozenset(
    name.lower()
    for name in (
        "Authorization", "Proxy-Authorization", "WWW-Authenticate", "Proxy-Authenticate",
        "Authentication-Info", "Date", "Subject", "Organization", "User-Agent", "Server", "Call-ID",
        "CSeq", "Content-Type", "Content-Length", "Max-Forwards", "Retry-After", "Timestamp",
        "MIME-Version", "Priority", "Reply-To", "From", "To", "Identity", "Identity-Info",
        "Content-Disposition", "In-Reply-To", "Expires", "Min-Expires", "Refer-To", "Referred-By",
        "Replaces", "Event", "Subscription-State", "Session-Expires", "Min-SE", "RAck", "RSeq",
    )
)

# Headers that may appear once only: a second one makes the request ambiguous (RFC 4475 3.1.2.19).
_SINGLE_VALUED = (
    "From", "To", "Call-ID", "CSeq", "Max-Forwards", "Content-Length", "Content-Type", "Expires",
)
_MANDATORY = ("Via", "From", "To", "Call-ID", "CSeq")


def canonical_name(name: str) -> str:
    """The canonical spelling of a header name: compact forms expanded, known names as in the RFCs."""
    lower = name.lower()
    if len(lower) == 1 and lower in COMPACT_FORMS:
        return COMPACT_FORMS[lower]
    return _CANONICAL.get(lower, name)


@functools.lru_cache(maxsize=1024)
def _key(name: str) -> str:
    """The lookup key of a header name: canonical and lower-cased (cached: names repeat a lot)."""
    return canonical_name(name).lower()


def _check_header(name: str, value: str) -> None:
    # API misuse, not peer input: a line break in a value would let one header forge others.
    if not is_token(name):
        raise ValueError(f"invalid header name {name!r}")
    if "\r" in value or "\n" in value:
        raise ValueError(f"header value of {name} contains a line break")


class Headers:
    """An ordered, case-insensitive multimap of header fields.

    Names are stored canonically (compact forms expanded, `call-id` -> `Call-ID`); unknown names
    keep the spelling of their first appearance. `get` returns the first raw line value;
    `get_all` returns every value, splitting comma-separated lists outside quotes and <...>
    except for headers that legally carry commas (Authorization, Date, ...).
    """

    __slots__ = ("_items", "_keys", "_spelling")

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: list[tuple[str, str]] = []
        self._keys: list[str] = []  # lower-case canonical name of each item, for fast lookups
        # lower-case name -> the spelling in use; a dict so that adding stays O(1) when a peer
        # sends tens of thousands of distinct header names.
        self._spelling: dict[str, str] = {}
        for name, value in items:
            self.add(name, value)

    @overload
    def get(self, name: str) -> str | None: ...

    @overload
    def get(self, name: str, default: str) -> str: ...

    @overload
    def get(self, name: str, default: str | None) -> str | None: ...

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first line of header `name`, or `default` when there is none."""
        key = _key(name)
        for k, (_, value) in zip(self._keys, self._items, strict=True):
            if k == key:
                return value
        return default

    def get_lines(self, name: str) -> list[str]:
        """Every line of header `name`, unsplit, in order."""
        key = _key(name)
        return [v for k, (_, v) in zip(self._keys, self._items, strict=True) if k == key]

    def get_all(self, name: str) -> list[str]:
        lines = self.get_lines(name)
        if _key(name) in _NOT_COMMA_LISTS:
            return lines
        values: list[str] = []
        for line in lines:
            try:
                values += split_commas(line)
            except HeaderError:
                # Unbalanced quotes or brackets: no split is right, so hand back the line whole and
                # let the value's own parser say what is wrong with it.
                values.append(line)
        return values

    def add(self, name: str, value: str) -> None:
        _check_header(name, value)
        key = _key(name)
        self._items.append((self._spelling.setdefault(key, canonical_name(name)), value))
        self._keys.append(key)

    def set(self, name: str, value: str) -> None:
        """Replaces every `name` header with one, at the place of the first (or at the end)."""
        _check_header(name, value)
        key = _key(name)
        if key not in self._keys:
            self.add(name, value)
            return
        first = self._keys.index(key)
        self._items[first] = (self._items[first][0], value)
        keep = [i for i, k in enumerate(self._keys) if i == first or k != key]
        self._items = [self._items[i] for i in keep]
        self._keys = [self._keys[i] for i in keep]

    def insert_first(self, name: str, value: str) -> None:
        """Adds a header before all others of its name (a proxy's Via, a Record-Route)."""
        _check_header(name, value)
        key = _key(name)
        index = self._keys.index(key) if key in self._keys else len(self._keys)
        self._items.insert(index, (self._spelling.setdefault(key, canonical_name(name)), value))
        self._keys.insert(index, key)

    def remove(self, name: str) -> None:
        key = _key(name)
        keep = [i for i, k in enumerate(self._keys) if k != key]
        self._items = [self._items[i] for i in keep]
        self._keys = [self._keys[i] for i in keep]
        self._spelling.pop(key, None)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and _key(name) in self._keys

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Headers) and self._items == other._items

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)

    def copy(self) -> Headers:
        new = Headers()
        new._items = list(self._items)
        new._keys = list(self._keys)
        new._spelling = dict(self._spelling)
        return new


# --- messages ------------------------------------------------------------------------------------


class _HeaderAccess:
    """Typed views of the common headers, shared by Request and Response.

    Each property parses on access and raises `HeaderError` (a ValueError) if the header is
    missing or malformed; messages from `parse_message` have these headers validated already.
    """

    headers: Headers

    def _required(self, name: str) -> str:
        value = self.headers.get(name)
        if value is None:
            raise HeaderError(f"no {name} header")
        return value

    @property
    def call_id(self) -> str:
        """The Call-ID value, stripped."""
        return self._required("Call-ID").strip()

    @property
    def cseq(self) -> CSeq:
        return CSeq.parse(self._required("CSeq"))

    @property
    def vias(self) -> list[Via]:
        """Every Via value, topmost first."""
        return [Via.parse(v) for v in self.headers.get_all("Via")]

    @property
    def top_via(self) -> Via:
        values = self.headers.get_all("Via")
        if not values:
            raise HeaderError("no Via header")
        return Via.parse(values[0])

    @property
    def from_(self) -> NameAddr:
        return NameAddr.parse(self._required("From"))

    @property
    def to(self) -> NameAddr:
        return NameAddr.parse(self._required("To"))

    @property
    def contacts(self) -> list[NameAddr]:
        """Contact values as NameAddr; a `Contact: *` (REGISTER wildcard) gives an empty list."""
        return [NameAddr.parse(v) for v in self.headers.get_all("Contact") if v.strip() != "*"]

    @property
    def content_type(self) -> str | None:
        """The media type, lower-cased, without parameters (e.g. "application/sdp"), or None."""
        value = self.headers.get("Content-Type")
        return value.split(";", 1)[0].strip().lower() if value else None

    @property
    def expires(self) -> int | None:
        value = self.headers.get("Expires")
        return bounded_int(value.strip(), MAX_EXPIRES) if value is not None else None

    @property
    def max_forwards(self) -> int | None:
        value = self.headers.get("Max-Forwards")
        return bounded_int(value.strip(), 255) if value is not None else None

    def to_bytes(self) -> bytes:
        """Same as serialize(self)."""
        if not isinstance(self, Request | Response):
            raise TypeError(f"{type(self).__name__} is not a SIP message")
        return serialize(self)


@dataclass(eq=True)
class Request(_HeaderAccess):
    """A SIP request. `uri` is the Request-URI text; `SipURI.parse(req.uri)` gives its parts."""

    method: str
    uri: str
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""
    version: str = "SIP/2.0"

    @property
    def request_uri(self) -> SipURI:
        """The Request-URI parsed; raises URIError for schemes other than sip, sips and tel."""
        return SipURI.parse(self.uri)


@dataclass(eq=True)
class Response(_HeaderAccess):
    """A SIP response."""

    status: int
    reason: str
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""
    version: str = "SIP/2.0"


Message = Request | Response


# --- serialization -------------------------------------------------------------------------------


def serialize(msg: Message) -> bytes:
    """The wire form: CRLF line endings, canonical names, Content-Length set from the body."""
    if isinstance(msg, Request):
        if not is_token(msg.method) or not msg.uri or any(c.isspace() for c in msg.uri):
            raise ValueError(f"invalid request line {msg.method!r} {msg.uri!r}")
        start = f"{msg.method} {msg.uri} {msg.version}"
    else:
        if not 100 <= msg.status <= 699 or "\r" in msg.reason or "\n" in msg.reason:
            raise ValueError(f"invalid status line {msg.status!r} {msg.reason!r}")
        start = f"{msg.version} {msg.status} {msg.reason}"
    lines = [start]
    lines += [f"{name}: {value}" for name, value in msg.headers.items() if name.lower() != "content-length"]
    lines.append(f"Content-Length: {len(msg.body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + msg.body


# --- responses -----------------------------------------------------------------------------------

REASON_PHRASES: dict[int, str] = {
    100: "Trying", 180: "Ringing", 181: "Call Is Being Forwarded", 182: "Queued",
    183: "Session Progress", 199: "Early Dialog Terminated",
    200: "OK", 202: "Accepted", 204: "No Notification",
    300: "Multiple Choices", 301: "Moved Permanently", 302: "Moved Temporarily", 305: "Use Proxy",
    380: "Alternative Service",
    400: "Bad Request", 401: "Unauthorized", 402: "Payment Required", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 406: "Not Acceptable", 407: "Proxy Authentication Required",
    408: "Request Timeout", 410: "Gone", 412: "Conditional Request Failed", 413: "Request Entity Too Large",
    414: "Request-URI Too Long", 415: "Unsupported Media Type", 416: "Unsupported URI Scheme",
    417: "Unknown Resource-Priority", 420: "Bad Extension", 421: "Extension Required",
    422: "Session Interval Too Small", 423: "Interval Too Brief", 428: "Use Identity Header",
    429: "Provide Referrer Identity", 433: "Anonymity Disallowed", 436: "Bad Identity-Info",
    437: "Unsupported Certificate", 438: "Invalid Identity Header", 439: "First Hop Lacks Outbound Support",
    440: "Max-Breadth Exceeded", 469: "Bad Info Package", 470: "Consent Needed",
    480: "Temporarily Unavailable", 481: "Call/Transaction Does Not Exist", 482: "Loop Detected",
    483: "Too Many Hops", 484: "Address Incomplete", 485: "Ambiguous", 486: "Busy Here",
    487: "Request Terminated", 488: "Not Acceptable Here", 489: "Bad Event", 491: "Request Pending",
    493: "Undecipherable", 494: "Security Agreement Required",
    500: "Server Internal Error", 501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
    504: "Server Time-out", 505: "Version Not Supported", 513: "Message Too Large",
    555: "Push Notification Service Not Supported", 580: "Precondition Failure",
    600: "Busy Everywhere", 603: "Decline", 604: "Does Not Exist Anywhere", 606: "Not Acceptable",
    607: "Unwanted", 608: "Rejected",
}
_CLASS_REASONS = {
    1: "Trying", 2: "OK", 3: "Redirection", 4: "Client Error", 5: "Server Error", 6: "Global Failure",
}


def make_response(
    req: Request,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
) -> Response:
    """A response to `req` per RFC 3261 8.2.6: Via (all, in order), From, To, Call-ID and CSeq copied.

    `to_tag` is added to To unless To already has a tag (a request inside a dialog). The other
    `headers` are appended after the copied ones. The reason defaults to the RFC phrase.
    """
    if not 100 <= status <= 699:
        raise ValueError(f"status {status} out of range")
    if reason is None:
        reason = REASON_PHRASES.get(status, _CLASS_REASONS[status // 100])
    out = Headers()
    for name in ("Via", "From", "To", "Call-ID", "CSeq"):
        for value in req.headers.get_lines(name):
            out.add(name, _with_to_tag(value, to_tag) if name == "To" else value)
    if status == 100:
        # RFC 3261 8.2.6.1: a 100 echoes Timestamp so the client can measure the round trip.
        for value in req.headers.get_lines("Timestamp"):
            out.add("Timestamp", value)
    for name, value in headers:
        out.add(name, value)
    return Response(status, reason, out, body)


def _with_to_tag(value: str, to_tag: str | None) -> str:
    if to_tag is None:
        return value
    try:
        if NameAddr.parse(value).tag is not None:
            return value
    except ValueError:
        pass  # keep a To we cannot read as it is: the peer's problem, not ours
    return f"{value};tag={to_tag}"


def check_proxy_require(req: Request, supported: set[str]) -> list[str]:
    """Option tags in Proxy-Require that are not in `supported`, for a 420 Bad Extension (RFC 3261 8.2.2.3).

    The caller answers 420 with these in an Unsupported header when the list is not empty.
    Tags are compared exactly, as RFC 3261 19.2 defines them as tokens compared by identity.
    """
    return [tag for tag in req.headers.get_all("Proxy-Require") if tag and tag not in supported]


def check_require(req: Request, supported: set[str]) -> list[str]:
    """Option tags in Require that are not in `supported` (a UAS answers 420 with them, RFC 3261 8.2.2.3)."""
    if req.method in ("ACK", "CANCEL"):
        return []  # RFC 3261 8.2.2.3: never reject an ACK or CANCEL for its Require
    return [tag for tag in req.headers.get_all("Require") if tag and tag not in supported]


# --- parsing -------------------------------------------------------------------------------------

_HEAD_END_RE = re.compile(rb"\r?\n\r?\n")
_VERSION_RE = re.compile(r"SIP/[0-9]+\.[0-9]+", re.IGNORECASE)
# The reason phrase may be empty (RFC 4475 3.1.1.13); a missing SP before it is tolerated.
_STATUS_LINE_RE = re.compile(r"(SIP/[0-9]+\.[0-9]+) ([1-6][0-9][0-9])(?: (.*))?", re.IGNORECASE)
_HEADER_NAME_RE = re.compile(r"([^: \t]+)[ \t]*:")
_BAD_CHARS_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# RFC 3261 25.1: a quoted-pair may escape any ASCII character but CR and LF, controls included.
_QUOTED_PAIR_RE = re.compile(r"\\[\x00-\x09\x0b\x0c\x0e-\x7f]")


def parse_message(data: bytes) -> Message:
    """Parses one complete message: a UDP datagram, or one frame from `StreamFramer`.

    Leading CRLFs are skipped (RFC 3261 7.5). With Content-Length the body is cut to it (extra
    octets are ignored, RFC 3261 18.3); without one the body is the rest of the data. Raises
    SipParseError only.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError("parse_message takes bytes")
    data = bytes(data).lstrip(b"\r\n")
    if not data:
        raise SipParseError(None, "empty message")
    head, body, truncated = _split_head(data)
    start, lines, bad_encoding = _split_lines(head)
    is_response = start[:4].upper() == "SIP/"
    if not is_response and not _looks_like_request(start):
        raise SipParseError(None, "not a SIP message")
    problems = ["message truncated: no empty line after the headers"] if truncated else []
    if bad_encoding:
        problems.append("head is not valid UTF-8")
    try:
        return _parse_checked(data, start, lines, body, is_response, problems)
    except SipParseError as exc:
        if is_response:
            # Responses are never answered (RFC 3261 18.1.2): the caller just drops them.
            reason = exc.reason.removeprefix("Bad Request - ")
            raise SipParseError(None, f"malformed response: {reason}") from None
        raise


def _parse_checked(
    data: bytes, start: str, lines: list[str], body: bytes, is_response: bool, problems: list[str]
) -> Message:
    headers, line_problems = _parse_headers(lines)
    problems += line_problems
    if is_response:
        msg: Message = _parse_status_line(start, headers)
    else:
        msg = _partial_request(start, headers)
    msg.body = body
    partial = msg if isinstance(msg, Request) else None
    if len(data) > MAX_MESSAGE:
        raise SipParseError(413, f"Request Entity Too Large - message exceeds {MAX_MESSAGE} bytes", partial)
    if isinstance(msg, Request):
        _check_request_line(msg, start)
    for problem in problems:
        raise SipParseError(400, f"Bad Request - {problem}", partial)
    _check_headers(msg)
    msg.body = _cut_body(msg, body)
    return msg


def _split_head(data: bytes) -> tuple[bytes, bytes, bool]:
    """Head and body; the flag is True when the head never ends (a truncated datagram)."""
    match = _HEAD_END_RE.search(data)
    if match is None:
        # A datagram is a whole message, so a missing empty line after the last header's CRLF is
        # harmless and tolerated; a datagram cut inside a line is not.
        if data.endswith(b"\n"):
            return data.rstrip(b"\r\n"), b"", False
        return data, b"", True
    return data[: match.start()], data[match.end() :], False


def _split_lines(head: bytes) -> tuple[str, list[str], bool]:
    """Decodes the head and unfolds continuation lines (RFC 3261 7.3.1: folding is one SP).

    The third item is True when the head was not UTF-8 (it is then decoded with replacement
    characters, only so that the request can be answered).
    """
    try:
        text, bad_encoding = head.decode("utf-8"), False
    except UnicodeDecodeError:
        text, bad_encoding = head.decode("utf-8", "replace"), True
    raw_lines = re.split(r"\r?\n", text)
    start = raw_lines[0]
    lines: list[str] = []
    for raw in raw_lines[1:]:
        if raw[:1] in (" ", "\t") and lines:
            lines[-1] = lines[-1].rstrip(" \t") + " " + raw.strip(" \t")
        else:
            lines.append(raw)
    return start, lines, bad_encoding


def _looks_like_request(start: str) -> bool:
    # Enough of a request line that the sender expects a SIP answer: METHOD ... SIP/x.y
    # (an HTTP request or a port scanner's probe gets silence).
    parts = start.split()
    return len(parts) >= 3 and is_token(parts[0]) and bool(_VERSION_RE.fullmatch(parts[-1]))


def _partial_request(start: str, headers: Headers) -> Request:
    parts = start.split()
    return Request(parts[0], parts[1] if len(parts) == 3 else " ".join(parts[1:-1]), headers, b"", parts[-1])


def _parse_status_line(start: str, headers: Headers) -> Response:
    match = _STATUS_LINE_RE.fullmatch(start) if len(start.encode("utf-8")) <= MAX_HEADER_LINE else None
    if not match:
        raise SipParseError(None, f"malformed status line {start[:80]!r}")
    version, status, reason = match.groups(default="")
    if version.upper() != "SIP/2.0":
        raise SipParseError(None, f"unsupported version {version}")
    if _BAD_CHARS_RE.search(reason):
        raise SipParseError(None, "control character in reason phrase")
    return Response(int(status), reason, headers, b"", "SIP/2.0")


def _parse_headers(lines: list[str]) -> tuple[Headers, list[str]]:
    """Reads header lines; unreadable ones are reported, not fatal, so that a 400 can still be built."""
    headers = Headers()
    problems: list[str] = []
    for line in lines:
        match = _HEADER_NAME_RE.match(line)
        if match is None or not is_token(match.group(1)):
            if not line.strip():
                problems.append("empty line inside headers")
            else:
                problems.append(f"malformed header line {line[:40]!r}")
            continue
        value = line[match.end() :].strip(" \t")
        if _BAD_CHARS_RE.search(_QUOTED_PAIR_RE.sub("", value)):
            problems.append(f"control character in {canonical_name(match.group(1))} header")
            continue
        if len(line.encode("utf-8")) > MAX_HEADER_LINE:
            problems.append(f"{canonical_name(match.group(1))} header longer than {MAX_HEADER_LINE} bytes")
        headers.add(match.group(1), value)
    return headers, problems


def _check_request_line(req: Request, start: str) -> None:
    parts = start.split(" ")
    if len(start.encode("utf-8")) > MAX_HEADER_LINE:
        raise SipParseError(414, "Request-URI Too Long", req)
    if len(parts) != 3 or not all(parts):
        problem = "malformed request line (extra spaces or spaces in the URI)"
        raise SipParseError(400, f"Bad Request - {problem}", req)
    if req.version.upper() != "SIP/2.0":
        raise SipParseError(505, "Version Not Supported", req)
    req.version = "SIP/2.0"
    _check_request_uri(req)


def _check_request_uri(req: Request) -> None:
    uri = req.uri
    if uri.startswith("<") or uri.endswith(">"):
        raise SipParseError(400, "Bad Request - Request-URI must not be in angle brackets", req)
    try:
        # Other schemes are accepted when well-formed: the core answers 416 Unsupported URI Scheme.
        parsed = SipURI.parse(uri, any_scheme=True)
    except URIError as exc:
        raise SipParseError(400, f"Bad Request - malformed Request-URI: {exc}", req) from None
    if parsed.headers:
        # RFC 4475 3.1.2.11: headers are not allowed in a Request-URI.
        raise SipParseError(400, "Bad Request - headers in Request-URI", req)


def _check_headers(msg: Message) -> None:
    request = msg if isinstance(msg, Request) else None
    for name in _MANDATORY:
        if name not in msg.headers:
            raise SipParseError(400, f"Bad Request - missing {name} header", request)
    for name in _SINGLE_VALUED:
        lines = msg.headers.get_lines(name)
        if len(lines) > 1:
            what = "conflicting" if len(set(lines)) > 1 else "duplicate"
            raise SipParseError(400, f"Bad Request - {what} {name} headers", request)
    for check in _HEADER_CHECKS:
        problem = check(msg)
        if problem:
            raise SipParseError(400, f"Bad Request - {problem}", request)


def _check_addresses(msg: Message) -> str | None:
    for name in ("From", "To", "Contact", "Route", "Record-Route", "Reply-To"):
        for value in msg.headers.get_all(name):
            if name == "Contact" and value.strip() == "*":
                continue
            try:
                NameAddr.parse(value)
            except ValueError as exc:
                return f"malformed {name} header: {exc}"
    return None


def _check_vias(msg: Message) -> str | None:
    try:
        vias = msg.vias
    except ValueError as exc:
        return f"malformed Via header: {exc}"
    return None if vias else "empty Via header"


def _check_cseq(msg: Message) -> str | None:
    try:
        cseq = msg.cseq
    except ValueError as exc:
        return str(exc)
    if isinstance(msg, Request) and cseq.method != msg.method:
        return f"CSeq method {cseq.method} does not match request method {msg.method}"
    return None


def _check_numbers(msg: Message) -> str | None:
    checks = (("Max-Forwards", 255), ("Expires", MAX_EXPIRES), ("Min-Expires", MAX_EXPIRES))
    for name, limit in checks:
        value = msg.headers.get(name)
        if value is not None and bounded_int(value.strip(), limit) is None:
            return f"{name} value {value[:20]!r} is not a number up to {limit}"
    for value in msg.headers.get_all("Contact"):
        if value.strip() != "*":
            expires = NameAddr.parse(value).params.get("expires")
            if expires is not None and bounded_int(expires, MAX_EXPIRES) is None:
                return f"Contact expires {expires[:20]!r} out of range"
    return None


def _check_call_id(msg: Message) -> str | None:
    value = msg.call_id
    # Call-ID = word [ "@" word ]: no whitespace, at most one '@'.
    if not value or any(c.isspace() for c in value) or value.count("@") > 1:
        return f"malformed Call-ID {value[:40]!r}"
    return None


_DATE_RE = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"[0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT"
)


def _check_date(msg: Message) -> str | None:
    value = msg.headers.get("Date")
    # RFC 3261 20.17: an RFC 1123 date, always in GMT (RFC 4475 3.1.2.12 rejects other zones).
    if value is not None and not _DATE_RE.fullmatch(value.strip()):
        return f"malformed Date {value[:40]!r}"
    return None


def _check_content_length(msg: Message) -> str | None:
    value = msg.headers.get("Content-Length")
    if value is None:
        return None
    length = bounded_int(value.strip(), 2**63)
    if length is None:
        return f"bad Content-Length {value[:20]!r}"
    if length > len(msg.body):
        return f"Content-Length {length} is larger than the body ({len(msg.body)} bytes)"
    return None


_HEADER_CHECKS = (
    _check_content_length, _check_cseq, _check_call_id, _check_vias, _check_addresses, _check_numbers,
    _check_date,
)


def _cut_body(msg: Message, body: bytes) -> bytes:
    value = msg.headers.get("Content-Length")
    if value is None:
        return body
    return body[: int(value.strip())]


# --- stream framing ------------------------------------------------------------------------------


class StreamFramer:
    """Cuts a TCP/TLS byte stream into messages (RFC 3261 18.3): head up to the empty line, then
    exactly Content-Length bytes of body. CRLF keep-alives between messages (RFC 5626) are skipped.

    Like wsproto's receive buffer, nothing is consumed until a whole message is there. After
    `feed` raises, the stream cannot be resynchronised: close the connection (after sending
    the 400 when the error has a status and a request).
    """

    def __init__(self, max_message: int = MAX_MESSAGE) -> None:
        self._buffer = bytearray()
        self._max_message = max_message
        self._broken: SipParseError | None = None
        # Where to resume looking for the end of the head: rescanning the whole buffer on every
        # small read would make a slow sender cost quadratic time.
        self._scanned = 0
        self._total: int | None = None  # length of the message being received, once its head is in

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as a message."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[bytes]:
        if self._broken is not None:
            raise self._broken
        self._buffer += data
        messages: list[bytes] = []
        try:
            while (message := self._next()) is not None:
                messages.append(message)
        except SipParseError as exc:
            self._broken = exc
            raise
        return messages

    def _next(self) -> bytes | None:
        if self._total is None:
            self._total = self._find_total()
            if self._total is None:
                return None
        if len(self._buffer) < self._total:
            return None
        message = bytes(self._buffer[: self._total])
        del self._buffer[: self._total]
        self._total, self._scanned = None, 0
        return message

    def _find_total(self) -> int | None:
        """Length of the message at the head of the buffer, once its head is complete."""
        if self._scanned == 0:
            # Keep-alive CRLFs (and stray ones before a start line, RFC 3261 7.5) carry nothing.
            skip = 0
            while skip < len(self._buffer) and self._buffer[skip] in b"\r\n":
                skip += 1
            del self._buffer[:skip]
        match = _HEAD_END_RE.search(self._buffer, max(self._scanned - 3, 0))
        if match is None:
            self._scanned = len(self._buffer)
            if len(self._buffer) > self._max_message:
                raise self._error(bytes(self._buffer), 413, "headers exceed the message size limit")
            return None
        head = bytes(self._buffer[: match.start()])
        total = match.end() + self._content_length(head)
        if total > self._max_message:
            raise self._error(head, 413, f"message exceeds {self._max_message} bytes")
        return total

    def _content_length(self, head: bytes) -> int:
        # RFC 3261 18.3: on a stream, Content-Length is the only way to find the next message.
        _, lines, _ = _split_lines(head)
        values = [
            line[match.end() :].strip(" \t")
            for line in lines
            if (match := _HEADER_NAME_RE.match(line)) and canonical_name(match.group(1)) == "Content-Length"
        ]
        if not values:
            raise self._error(head, 400, "Content-Length is mandatory on stream transports")
        if len(set(values)) > 1:
            raise self._error(head, 400, "conflicting Content-Length headers")
        length = bounded_int(values[0], 2**63)
        if length is None:
            raise self._error(head, 400, f"bad Content-Length {values[0][:20]!r}")
        return length

    def _error(self, head: bytes, status: int, problem: str) -> SipParseError:
        """An error carrying the request as far as it could be read, so that it can be answered."""
        request = _best_effort_request(head)
        if request is None:
            return SipParseError(None, problem)
        phrase = "Request Entity Too Large" if status == 413 else "Bad Request"
        return SipParseError(status, f"{phrase} - {problem}", request)


def _best_effort_request(head: bytes) -> Request | None:
    start, lines, _ = _split_lines(head[:MAX_MESSAGE])
    if start[:4].upper() == "SIP/" or not _looks_like_request(start):
        return None
    return _partial_request(start, _parse_headers(lines)[0])
