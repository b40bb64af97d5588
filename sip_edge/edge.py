"""The emulator's SIP listener: UDP and TCP on `sip_port`, TLS on `sips_port`.

Until call routing is emulated (a later issue), `SipEdge` answers every request honestly and
never leaves a peer waiting:

- OPTIONS: 200 with Allow, Accept and Supported (PBXs and trunks use it as a keep-alive).
- INVITE: 100 Trying, then "404 Not Found - call routing is not emulated yet" with a Warning
  header saying the same, unless a `handler` is given: it then receives each new incoming call
  as a `sip_edge.ua.Call` to ring, answer or reject (it may be a coroutine function).
- REGISTER (and MESSAGE, SUBSCRIBE, PUBLISH, NOTIFY, REFER outside a dialog): "501 Not
  Implemented - ... is not emulated yet", with a Warning.
- ACK: absorbed. CANCEL: 200 and 487 for the INVITE when it matches one still pending, else 481.
  BYE, INFO, UPDATE, PRACK outside a dialog: 481. Other methods: 405 (known) or 501, with Allow.
- A malformed request gets 400 (or 413/505...) with a reason saying what is wrong, when it can be
  answered at all; the listeners keep serving whatever arrives next.
"""

from __future__ import annotations

import errno
import logging
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

from sip_edge.dialog import new_tag
from sip_edge.message import Request, Response, make_response
from sip_edge.transport import Address
from sip_edge.ua import Call, UserAgent
from sip_edge.uri import format_host

__all__ = ["EDGE_ALLOW", "NOT_EMULATED_WARNING", "SipEdge"]

log = logging.getLogger(__name__)

EDGE_ALLOW = ("INVITE", "ACK", "CANCEL", "BYE", "OPTIONS")
NOT_EMULATED = frozenset({"REGISTER", "MESSAGE", "SUBSCRIBE", "PUBLISH", "NOTIFY", "REFER"})
NOT_EMULATED_WARNING = '399 voxsim "{what} is not emulated yet"'
_PORT_ATTEMPTS = 20

CallHandler = Callable[[Call], Awaitable[None] | None]


class SipEdge:
    """SIP listeners of the running emulator; see the module docstring for what they answer.

    `sip_port` 0 picks a free port for UDP and binds TCP to the same number (retrying with another
    port when TCP's is taken); `sips_port` 0 picks any free port. Without `ssl_context` there is no
    TLS listener. `advertised_host` is the address written in Contact headers (default: `host`).
    """

    def __init__(self, host: str, sip_port: int, sips_port: int, ssl_context: ssl.SSLContext | None, *,
                 handler: CallHandler | None = None, advertised_host: str | None = None) -> None:
        self.host = host
        self.sip_port = sip_port
        self.sips_port = sips_port
        self.ssl_context = ssl_context
        self.handler = handler
        self.advertised_host = advertised_host or host
        self.ua: UserAgent | None = None
        self.listeners: dict[str, dict[str, Any]] = {}

    async def start(self) -> dict[str, dict[str, Any]]:
        """Binds the listeners; returns {"sip_udp": {"host", "port", "url"}, "sip_tcp": ..., "sip_tls": ...}."""
        for attempt in range(_PORT_ATTEMPTS):
            ua = self._make_ua()
            port = (await ua.start(udp=self.sip_port, tcp=None))["udp"]
            try:
                await ua.transport.listen_tcp(self.host, port)
            except OSError as exc:
                await ua.stop()
                if self.sip_port or exc.errno != errno.EADDRINUSE or attempt == _PORT_ATTEMPTS - 1:
                    raise
                continue
            break
        try:
            if self.ssl_context is not None:
                await ua.transport.listen_tls(self.host, self.sips_port, self.ssl_context)
        except OSError:
            await ua.stop()
            raise
        self.ua = ua
        self.listeners = self._describe(ua.ports)
        log.info("SIP edge listening: %s", ", ".join(v["url"] for v in self.listeners.values()))
        return self.listeners

    async def stop(self) -> None:
        if self.ua is not None:
            await self.ua.stop()
            self.ua = None

    def _make_ua(self) -> UserAgent:
        return UserAgent(self.host, user="voxsim", on_invite=self._on_invite, on_request=self._on_request,
                         allow=EDGE_ALLOW, advertised_host=self.advertised_host)

    def _describe(self, ports: dict[str, int]) -> dict[str, dict[str, Any]]:
        host = format_host(self.advertised_host)
        out = {
            "sip_udp": {"host": self.host, "port": ports["udp"], "url": f"sip:{host}:{ports['udp']};transport=udp"},
            "sip_tcp": {"host": self.host, "port": ports["tcp"], "url": f"sip:{host}:{ports['tcp']};transport=tcp"},
        }
        if "tls" in ports:
            out["sip_tls"] = {"host": self.host, "port": ports["tls"], "url": f"sips:{host}:{ports['tls']}"}
        return out

    def _on_invite(self, call: Call) -> Awaitable[None] | None:
        if self.handler is not None:
            return self.handler(call)
        call.ring(100)
        call.reject(404, "Not Found - call routing is not emulated yet",
                    headers=[("Warning", NOT_EMULATED_WARNING.format(what="call routing"))])
        return None

    def _on_request(self, request: Request, source: Address) -> Response | None:
        if request.method not in NOT_EMULATED:
            return None  # OPTIONS and the rest: the user agent's defaults
        what = "registration" if request.method == "REGISTER" else request.method
        return make_response(
            request, 501, f"Not Implemented - {what} is not emulated yet", to_tag=new_tag(),
            headers=[("Warning", NOT_EMULATED_WARNING.format(what=what)), ("Allow", ", ".join(EDGE_ALLOW))],
        )
