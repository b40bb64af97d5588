"""SDP offer/answer for one audio stream (RFC 4566 syntax, RFC 3264 offer/answer), sans-IO.

`parse_sdp` reads the first `m=audio` of a body (address, port, payload types and their rtpmap
names); `build_sdp` writes an offer or answer with G.711 codecs and, optionally, RFC 4733
telephone-event. Nothing else of SDP is understood: enough for a PBX, SIPp or a softphone to
agree on PCMU/PCMA and send DTMF as RTP events.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["DIRECTIONS", "G711", "TELEPHONE_EVENT_PT", "MediaDescription", "answer_direction", "build_sdp",
           "direction_of", "parse_sdp", "with_direction"]

G711 = {0: "PCMU", 8: "PCMA"}
"""The static payload types of G.711 (RFC 3551 6)."""
TELEPHONE_EVENT_PT = 101
"""The dynamic payload type we offer for telephone-event."""
DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
"""The direction attributes of RFC 4566 6 (RFC 3264 5.1); sendrecv when none is given."""
_ANSWER = {"sendrecv": "sendrecv", "sendonly": "recvonly", "recvonly": "sendonly", "inactive": "inactive"}



@dataclass
class MediaDescription:
    """The first audio stream of an SDP: where it goes and which payload types it offers."""

    host: str
    port: int
    payloads: list[int]
    names: dict[int, str] = field(default_factory=dict)  # payload type -> encoding name (upper case)
    rates: dict[int, int] = field(default_factory=dict)  # payload type -> clock rate of its rtpmap

    def name_of(self, pt: int) -> str:
        return self.names.get(pt) or G711.get(pt, "")

    def g711(self) -> list[tuple[int, str]]:
        """PCMU/PCMA payload types in the offer's order of preference."""
        return [(pt, self.name_of(pt)) for pt in self.payloads if self.name_of(pt) in ("PCMU", "PCMA")]

    def telephone_event(self, rate: int = 8000) -> int | None:
        """The telephone-event payload type at `rate`, the clock rate of G.711 (RFC 4733 2.1: events use the
        clock of the audio codec; an offer may list one per rate)."""
        return next((pt for pt in self.payloads
                     if self.name_of(pt) == "TELEPHONE-EVENT" and self.rates.get(pt, 8000) == rate), None)


def parse_sdp(body: bytes) -> MediaDescription | None:
    """The first `m=audio` of an SDP body (None when there is none or the body is not SDP)."""
    session_host, media, in_audio = "", None, False
    for raw in body.decode("utf-8", "replace").splitlines():
        line = raw.strip()
        if line.startswith("m="):
            if media is not None:
                break
            parts = line[2:].split()
            in_audio = len(parts) >= 3 and parts[0] == "audio" and parts[1].isdigit()
            if in_audio:
                media = MediaDescription(session_host, int(parts[1]), [int(p) for p in parts[3:] if p.isdigit()])
        elif line.startswith("c="):
            parts = line[2:].split()
            host = parts[2].split("/")[0] if len(parts) >= 3 else ""
            if media is None and not in_audio:
                session_host = host
            elif media is not None:
                media.host = host
        elif line.startswith("a=rtpmap:") and media is not None:
            pt, _, rest = line[len("a=rtpmap:"):].partition(" ")
            if pt.isdigit():
                encoding = rest.strip().split("/")
                media.names[int(pt)] = encoding[0].strip().upper()
                if len(encoding) > 1 and encoding[1].strip().isdigit():
                    media.rates[int(pt)] = int(encoding[1])
    return media


def build_sdp(host: str, port: int, codecs: Iterable[tuple[int, str]], telephone_event: int | None, *,
              session_id: int, version: int = 1) -> bytes:
    """An SDP with one audio stream (G.711 codecs, optionally telephone-event), `sendrecv`."""
    family = "IP6" if _is_ipv6(host) else "IP4"
    codecs = list(codecs)
    payloads = [pt for pt, _ in codecs] + ([telephone_event] if telephone_event is not None else [])
    lines = [
        "v=0", f"o=voxsim {session_id} {version} IN {family} {host}", "s=voxsim", f"c=IN {family} {host}",
        "t=0 0", f"m=audio {port} RTP/AVP {' '.join(str(pt) for pt in payloads)}",
        *[f"a=rtpmap:{pt} {name}/8000" for pt, name in codecs],
    ]
    if telephone_event is not None:
        lines += [f"a=rtpmap:{telephone_event} telephone-event/8000", f"a=fmtp:{telephone_event} 0-16"]
    lines += ["a=ptime:20", "a=sendrecv"]
    return ("\r\n".join(lines) + "\r\n").encode()


def _is_ipv6(host: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(host.strip("[]")), ipaddress.IPv6Address)
    except ValueError:
        return False


def direction_of(body: bytes) -> str:
    """The direction of an SDP's first audio stream: its own attribute, else the session's, else sendrecv."""
    session, media, section = "sendrecv", None, "session"
    for raw in body.decode("utf-8", "replace").splitlines():
        line = raw.strip()
        if line.startswith("m="):
            if section == "audio":
                break
            section = "audio" if line[2:].startswith("audio ") else "other"
        elif line.startswith("a=") and line[2:] in DIRECTIONS:
            if section == "audio":
                media = line[2:]
            elif section == "session":
                session = line[2:]
    return media or session


def answer_direction(offered: str) -> str:
    """What an answer says to an offer's direction (RFC 3264 6.1): a hold (sendonly) is received only."""
    return _ANSWER.get(offered, "sendrecv")


def with_direction(body: bytes, direction: str, version: int) -> bytes:
    """`body` (an SDP voxsim wrote) with `direction` and the `o=` session version `version` (RFC 3264 8:
    a changed SDP carries a higher version)."""
    lines = []
    for line in body.decode("utf-8", "replace").split("\r\n"):
        if line.startswith("a=") and line[2:] in DIRECTIONS:
            line = f"a={direction}"
        elif line.startswith("o="):
            parts = line.split(" ")
            if len(parts) >= 3:
                parts[2] = str(version)
                line = " ".join(parts)
        lines.append(line)
    return "\r\n".join(lines).encode()

