"""SIP, SIPS and tel URIs (RFC 3261 section 19.1 and section 25.1, RFC 3966).

Sans-IO and standalone: this module imports nothing but the standard library.

`SipURI.parse` accepts what RFC 3261 allows (escaped characters in the user part, IPv6
references, any parameter or header) and raises `URIError`, a `ValueError`, on anything else.
Components are kept unescaped; `str()` escapes what must be escaped, so that
`SipURI.parse(str(uri)) == uri` holds for every parsed URI.
"""

from __future__ import annotations

import ipaddress
import re
import string
from dataclasses import dataclass, field

__all__ = ["SipURI", "URIError", "escape", "unescape"]


class URIError(ValueError):
    """The text is not a valid URI of a kind we understand."""


# RFC 3261 section 25.1: characters that may appear unescaped in each URI component.
_ALNUM = string.ascii_letters + string.digits
_UNRESERVED = _ALNUM + "-_.!~*'()"
_USER_SAFE = frozenset(_UNRESERVED + "&=+$,;?/")
_PASSWORD_SAFE = frozenset(_UNRESERVED + "&=+$,")
_PARAM_SAFE = frozenset(_UNRESERVED + "[]/:&+$")
_HEADER_SAFE = frozenset(_UNRESERVED + "[]/?:+$")
# tel URIs (RFC 3966) allow a few more characters in the number and parameters.
_TEL_SAFE = frozenset(_UNRESERVED + "[]/:&+$=")

_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*")
# Labels may hold "_" although RFC 1123 says no: real networks have such names and nothing breaks.
_LABEL = r"[A-Za-z0-9_]([A-Za-z0-9_\-]*[A-Za-z0-9_])?"
_HOSTNAME_RE = re.compile(rf"{_LABEL}(\.{_LABEL})*\.?")
_TOKEN_RE = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")
_BAD_CHARS_RE = re.compile(r'[\s\x00-\x20\x7f<>"\\{}|^`]')
_ESCAPE_RE = re.compile(r"%(?![0-9A-Fa-f]{2})")
# What may appear in the opaque part of a URI whose scheme we do not know (RFC 3986 characters).
_OPAQUE_RE = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")

_DEFAULT_PORTS = {"sip": 5060, "sips": 5061}


def unescape(text: str) -> str:
    """Turns %-escapes into characters (UTF-8); raises URIError on a broken escape."""
    if "%" not in text:
        return text
    if _ESCAPE_RE.search(text):
        raise URIError(f"bad %-escape in {text!r}")
    try:
        raw = bytes(_unescape_bytes(text))
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise URIError(f"escaped bytes are not UTF-8 in {text!r}") from exc


def _unescape_bytes(text: str) -> bytearray:
    out = bytearray()
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "%":
            out.append(int(text[i + 1 : i + 3], 16))
            i += 3
        else:
            out += ch.encode("utf-8")
            i += 1
    return out


def escape(text: str, safe: frozenset[str]) -> str:
    """Escapes every character not in `safe` as %XX of its UTF-8 bytes."""
    return "".join(ch if ch in safe else "".join(f"%{b:02X}" for b in ch.encode("utf-8")) for ch in text)


def _check_chars(text: str, what: str) -> None:
    # Whitespace, controls and the delimiters of the enclosing header never belong in a URI.
    bad = _BAD_CHARS_RE.search(text)
    if bad is not None:
        raise URIError(f"character {bad.group()!r} not allowed in {what}")


def parse_host(text: str) -> str:
    """Validates a host (hostname, IPv4 or a bracketed IPv6 reference); IPv6 comes back bare."""
    if text.startswith("["):
        if not text.endswith("]"):
            raise URIError(f"unterminated IPv6 reference {text[:60]!r}")
        if "%" in text:  # no zone ids: '%' is an escape in a URI
            raise URIError(f"zone id in IPv6 reference {text[:60]!r}")
        try:
            return str(ipaddress.IPv6Address(text[1:-1]))
        except ipaddress.AddressValueError as exc:
            raise URIError(f"bad IPv6 reference {text!r}") from exc
    if not text or not _HOSTNAME_RE.fullmatch(text):
        raise URIError(f"bad host {text!r}")
    return text


def format_host(host: str) -> str:
    """Brackets an IPv6 address so that it can be followed by a port."""
    return f"[{host}]" if ":" in host else host


def split_hostport(text: str) -> tuple[str, int | None]:
    """Splits `host[:port]`, with IPv6 references in brackets; validates both."""
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise URIError(f"unterminated IPv6 reference {text!r}")
        host_text, rest = text[: end + 1], text[end + 1 :]
    else:
        host_text, _, port_text = text.partition(":")
        rest = ":" + port_text if _ else ""
    port: int | None = None
    if rest:
        digits = rest[1:]
        if not rest.startswith(":") or not digits.isascii() or not digits.isdigit():
            raise URIError(f"bad port in {text[:60]!r}")
        port = int(digits.lstrip("0")[:6] or "0")  # [:6]: a 5000-digit port must not reach int()
        if port > 65535:
            raise URIError(f"port out of range in {text[:60]!r}")
    return parse_host(host_text), port


def _parse_uri_params(text: str) -> dict[str, str | None]:
    """`;name[=value]...` as found in URIs: names lower-cased, values unescaped."""
    params: dict[str, str | None] = {}
    if not text:
        return params
    for item in text[1:].split(";"):
        name, eq, value = item.partition("=")
        name = unescape(name)
        if not name or not _TOKEN_RE.fullmatch(name):
            raise URIError(f"bad URI parameter {item!r}")
        if eq and not value:
            raise URIError(f"empty value for URI parameter {name!r}")
        # A parameter given twice is ambiguous; the first one wins, as in most stacks.
        params.setdefault(name.lower(), unescape(value) if eq else None)
    return params


def _parse_uri_headers(text: str) -> dict[str, str]:
    headers: dict[str, str] = {}
    if not text:
        return headers
    for item in text.split("&"):
        name, eq, value = item.partition("=")
        name = unescape(name)
        if not eq or not name or not _TOKEN_RE.fullmatch(name):
            raise URIError(f"bad URI header {item!r}")
        headers[name] = unescape(value)
    return headers


@dataclass
class SipURI:
    """A SIP, SIPS or tel URI; other schemes keep their text in `opaque`.

    - `host` is bare (an IPv6 address has no brackets; `str()` adds them back).
    - `user` and `password` are unescaped; for a tel URI `user` holds the number and `host` is "".
    - parameter names are lower-cased (they are case-insensitive); values are unescaped.
    - a URI of another scheme (`mailto:`, `urn:`, ... allowed in To/From/Contact) has
      `opaque` set to everything after the colon and nothing else.
    """

    scheme: str
    user: str | None = None
    password: str | None = None
    host: str = ""
    port: int | None = None
    params: dict[str, str | None] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    opaque: str | None = None

    @classmethod
    def parse(cls, text: str, *, any_scheme: bool = False) -> SipURI:
        """Parses a URI; with `any_scheme`, URIs of unknown schemes are kept opaque instead of refused."""
        if not isinstance(text, str):
            raise URIError("URI must be text")
        _check_chars(text, "URI")
        scheme, colon, rest = text.partition(":")
        if not colon or not _SCHEME_RE.fullmatch(scheme):
            raise URIError(f"no scheme in {text!r}")
        scheme = scheme.lower()
        if scheme in ("sip", "sips"):
            return cls._parse_sip(scheme, rest)
        if scheme == "tel":
            return cls._parse_tel(rest)
        if any_scheme and rest and _OPAQUE_RE.fullmatch(rest):
            return cls(scheme=scheme, opaque=rest)
        raise URIError(f"unsupported URI scheme {scheme!r}")

    @classmethod
    def _parse_sip(cls, scheme: str, rest: str) -> SipURI:
        # '@' cannot appear unescaped anywhere but between userinfo and host (RFC 3261 25.1).
        userinfo, at, hostpart = rest.partition("@")
        if not at:
            userinfo, hostpart = "", rest
        user: str | None = None
        password: str | None = None
        if at:
            user_text, colon, pw_text = userinfo.partition(":")
            user = unescape(user_text)
            password = unescape(pw_text) if colon else None
            if not user:
                raise URIError("empty user part before '@'")
        hostpart, qmark, header_text = hostpart.partition("?")
        if qmark and not header_text:
            raise URIError("empty URI headers after '?'")
        hostport, semi, param_text = hostpart.partition(";")
        host, port = split_hostport(hostport)
        return cls(
            scheme=scheme,
            user=user,
            password=password,
            host=host,
            port=port,
            params=_parse_uri_params(semi + param_text),
            headers=_parse_uri_headers(header_text),
        )

    @classmethod
    def _parse_tel(cls, rest: str) -> SipURI:
        number, semi, param_text = rest.partition(";")
        number = unescape(number)
        if not number or not re.fullmatch(r"\+?[0-9A-Fa-f*#().\-]+", number):
            raise URIError(f"bad telephone number {number!r}")
        return cls(scheme="tel", user=number, params=_parse_uri_params(semi + param_text))

    def __str__(self) -> str:
        if self.opaque is not None:
            return f"{self.scheme}:{self.opaque}"
        if self.scheme == "tel":
            return f"tel:{escape(self.user or '', _TEL_SAFE)}{self._params_text(_TEL_SAFE)}"
        out = [self.scheme, ":"]
        if self.user is not None:
            out.append(escape(self.user, _USER_SAFE))
            if self.password is not None:
                out += [":", escape(self.password, _PASSWORD_SAFE)]
            out.append("@")
        out.append(format_host(self.host))
        if self.port is not None:
            out.append(f":{self.port}")
        out.append(self._params_text(_PARAM_SAFE))
        if self.headers:
            pairs = (f"{escape(k, _HEADER_SAFE)}={escape(v, _HEADER_SAFE)}" for k, v in self.headers.items())
            out.append("?" + "&".join(pairs))
        return "".join(out)

    def _params_text(self, safe: frozenset[str]) -> str:
        return "".join(
            f";{escape(name, safe)}" + ("" if value is None else f"={escape(value, safe)}")
            for name, value in self.params.items()
        )

    @property
    def transport(self) -> str:
        """"udp", "tcp" or "tls" (lower case): sips means TLS, else `;transport=`, default UDP."""
        if self.scheme == "sips":
            return "tls"
        value = (self.params.get("transport") or "udp").lower()
        return value

    @property
    def default_port(self) -> int:
        """The port to use when `port` is None: 5061 for sips or TLS, else 5060."""
        if self.port is not None:
            return self.port
        return 5061 if self.transport == "tls" else _DEFAULT_PORTS.get(self.scheme, 5060)

    @property
    def is_sip(self) -> bool:
        """True for sip: and sips: URIs (those that have a host to send to)."""
        return self.scheme in ("sip", "sips")

    @property
    def aor(self) -> str:
        """The address of record: scheme, user and host only, as a registrar keys bindings (RFC 3261 10.3)."""
        if not self.is_sip:
            return str(self)
        user = f"{escape(self.user, _USER_SAFE)}@" if self.user is not None else ""
        return f"{self.scheme}:{user}{format_host(self.host).lower()}"

    def copy(self) -> SipURI:
        return SipURI(
            self.scheme, self.user, self.password, self.host, self.port, dict(self.params),
            dict(self.headers), self.opaque,
        )
