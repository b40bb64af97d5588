"""The emulator's SIP edge: listeners (UDP and TCP on `sip_port`, TLS on `sips_port`), INVITEs routed to
scenario sessions, REGISTER for users, and the call legs the sessions drive.

With `services` (the store, the session starter; the composition root gives them), an INVITE goes:

1. 100 Trying at once; a Max-Forwards of 0 gets 483 (voxsim's own call loops end there).
2. `router.InboundRouter.classify` decides who is calling and where the call goes (a registration's
   bound rule or user, a user of an application, a white-listed trunk); a `voxsim.routing.Refusal`
   it raises is the final response.
3. A new session: `SessionStarter.start_for_call` for a rule, or `start_builtin` with
   `session_starter.FORWARD_TO_USER` for a registration bound to a user (the call is forked to the
   user's registered contacts and bridged; 480 when the user is not registered).
4. `Session.inbound_call` offers it to the scenario with `callerid` (From user), `displayName` (From
   display name), `destination`, `fromURI`/`toURI` (From and To URIs, with `sip:`) and the
   `X-`/`User-to-User` headers; a `legs.SipInboundLeg` carries the scenario's answer, ring, reject...
   The session answers 500 for a scenario that fails before answering and 480 for one that does not
   answer within its alerting timeout.

REGISTER goes to `user_registrar.UserRegistrar` (users of applications). Without `services` the edge
keeps its older, honest answers: INVITE gets "404 Not Found - call routing is not emulated yet" (or
goes to `handler`, which then owns each new incoming `sip_edge.ua.InviteDialog`), REGISTER 501.

Always: OPTIONS 200 with Allow/Accept/Supported (PBXs use it as a keep-alive); MESSAGE, SUBSCRIBE,
PUBLISH, NOTIFY outside a dialog 501 with a Warning; ACK absorbed; CANCEL 200 and 487 for
the INVITE when it matches one still pending, else 481; BYE, INFO, UPDATE, PRACK, REFER outside a dialog
481; other methods 405 (known) or 501, with Allow. Inside a call REFER and NOTIFY are the legs' transfers
(`legs.SipLeg.transfer_to`, blind transfer requests; RFC 3515). A malformed request gets 400 (or 413/505...)
when it can be answered at all; the listeners keep serving whatever arrives next. An INVITE with `Require:
100rel` is served like any other: the user agent sends its 18x reliably until the caller PRACKs them (RFC 3262);
routed calls list PRACK in Allow.
"""

from __future__ import annotations

import errno
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from sip_edge.dialog import new_tag
from sip_edge.headers import HeaderError, NameAddr
from sip_edge.message import Request, Response, make_response
from sip_edge.transport import Address
from sip_edge.ua import InviteDialog, UserAgent
from sip_edge.uri import format_host
from voxsim.edge.legs import SipInboundLeg, SipLeg, SipOutboundLeg, scenario_headers_of
from voxsim.edge.media_port import MediaPorts
from voxsim.edge.outbound_registrations import normal_host
from voxsim.edge.router import Inbound, InboundRouter, RegistrationMatcher, RouterStore
from voxsim.edge.settings import EdgeSettings
from voxsim.edge.sip_trace import SipMessageSink, SipTracer
from voxsim.edge.user_registrar import UserDirectory, UserRegistrar
from voxsim.errors import VoxError
from voxsim.media.clock import MediaClock
from voxsim.routing import Refusal
from voxsim.session_starter import FORWARD_TO_USER, SessionStarter

if TYPE_CHECKING:
    from voxsim.model import SipRegistration
    from voxsim.runtime import Session

__all__ = ["EDGE_ALLOW", "NOT_EMULATED_WARNING", "EdgeServices", "EdgeStore", "SipEdge"]

_ROUTED_SCHEMES = frozenset({"sip", "sips", "tel"})

log = logging.getLogger(__name__)

EDGE_ALLOW = ("INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "UPDATE")
ROUTING_ALLOW = (*EDGE_ALLOW, "INFO", "MESSAGE", "REGISTER", "PRACK", "REFER", "NOTIFY")
# Outside a dialog; inside one, REFER transfers the call and NOTIFY reports on our REFER (the legs, docs/sip.md).
NOT_EMULATED = frozenset({"REGISTER", "MESSAGE", "SUBSCRIBE", "PUBLISH", "NOTIFY"})
# What the Allow of an answer outside any dialog lists: what is served there (REGISTER by the user registrar).
EDGE_OUTSIDE_ALLOW = ("INVITE", "ACK", "CANCEL", "OPTIONS")
ROUTING_OUTSIDE_ALLOW = (*EDGE_OUTSIDE_ALLOW, "REGISTER")
NOT_EMULATED_WARNING = '399 voxsim "{what} is not emulated yet"'
_PORT_ATTEMPTS = 20

CallHandler = Callable[[InviteDialog], Awaitable[None] | None]


class EdgeStore(RouterStore, UserDirectory, Protocol):
    """What the edge reads from the store: the router's, the user registrar's and the dialer's needs."""

    def get_sip_registration(self, account_id: int, reg_id: int) -> SipRegistration: ...


@dataclass
class EdgeServices:
    """The core the edge routes calls into (given by the composition root); `sip_journal` keeps each session's
    SIP messages (`sip_trace.SipTracer` tells whose they are)."""

    store: EdgeStore
    starter: SessionStarter
    sip_journal: SipMessageSink | None = None


class SipEdge:
    """SIP listeners of the running emulator; see the module docstring for what they answer.

    `sip_port` 0 picks a free port for UDP and binds TCP to the same number (retrying with another
    port when TCP's is taken); `sips_port` 0 picks any free port. Without `ssl_context` there is no
    TLS listener. `advertised_host` is the address written in Contact headers and SDP (default:
    `host`). `client_ssl` is the context for TLS connections callSIP opens (default: from settings).
    `media_clock` sends the calls' RTP (without one, calls receive RTP but send none).
    """

    def __init__(self, host: str, sip_port: int, sips_port: int, ssl_context: ssl.SSLContext | None, *,
                 handler: CallHandler | None = None, advertised_host: str | None = None,
                 settings: EdgeSettings | None = None, services: EdgeServices | None = None,
                 client_ssl: ssl.SSLContext | None = None, media_clock: MediaClock | None = None) -> None:
        self.host = host
        self.sip_port = sip_port
        self.sips_port = sips_port
        self.ssl_context = ssl_context
        self.handler = handler
        self.advertised_host = advertised_host or host
        self.settings = settings or EdgeSettings()
        self.client_ssl = client_ssl
        self.ua: UserAgent | None = None
        self.listeners: dict[str, dict[str, Any]] = {}
        self.services: EdgeServices | None = None
        self.registrar: UserRegistrar | None = None
        self.router: InboundRouter | None = None
        self.media_ports = MediaPorts(host, self.settings.rtp_ports, media_clock,
                                      rtcp_interval=self.settings.rtcp_interval,
                                      media_timeout=self.settings.media_timeout)
        self.legs: set[SipLeg] = set()
        self.session_legs: dict[int, SipInboundLeg] = {}  # session id -> its first inbound leg
        self.tracer: SipTracer | None = None
        if services is not None:
            self.serve(services)

    def serve(self, services: EdgeServices) -> None:
        """Routes calls to scenario sessions and answers REGISTER for users (call before `start`)."""
        settings = self.settings
        self.services = services
        self.registrar = UserRegistrar.from_settings(services.store, settings)
        self.router = InboundRouter(services.store, self.registrar, settings, is_own_address=self.is_own_address)
        if services.sip_journal is not None:
            self.tracer = SipTracer(services.sip_journal, self._session_of_dialog)

    def route_registrations(self, registrations: RegistrationMatcher) -> None:
        """Calls arriving through our outbound SIP registrations run their bound rule or reach their user."""
        if self.router is not None:
            self.router.registrations = registrations

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
        if self.tracer is not None:
            ua.transport.on_trace = self.tracer.trace
        self.listeners = self._describe(ua.ports)
        log.info("SIP edge listening: %s", ", ".join(v["url"] for v in self.listeners.values()))
        return self.listeners

    async def stop(self) -> None:
        for leg in list(self.legs):
            leg.abort()
        self.legs.clear()
        self.session_legs.clear()
        if self.ua is not None:
            await self.ua.stop()
            self.ua = None

    def _make_ua(self) -> UserAgent:
        return UserAgent(self.host, user="voxsim", on_invite=self._on_invite, on_request=self._on_request,
                         allow=ROUTING_ALLOW if self.services is not None else EDGE_ALLOW,
                         outside_allow=ROUTING_OUTSIDE_ALLOW if self.services is not None else EDGE_OUTSIDE_ALLOW,
                         advertised_host=self.advertised_host, client_ssl=self.client_ssl or self._client_ssl(),
                         min_se=self.settings.session_min_se, session_expires=self.settings.session_expires)

    def _client_ssl(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.settings.tls_ca_file or None)
        if self.settings.tls_ca_file:
            context.load_default_certs()
        if not self.settings.tls_verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def _describe(self, ports: dict[str, int]) -> dict[str, dict[str, Any]]:
        host = format_host(self.advertised_host)
        out = {
            "sip_udp": {"host": self.host, "port": ports["udp"], "url": f"sip:{host}:{ports['udp']};transport=udp"},
            "sip_tcp": {"host": self.host, "port": ports["tcp"], "url": f"sip:{host}:{ports['tcp']};transport=tcp"},
        }
        if "tls" in ports:
            out["sip_tls"] = {"host": self.host, "port": ports["tls"], "url": f"sips:{host}:{ports['tls']}"}
        return out

    # ------------------------------------------------------------------ legs and media

    def track(self, leg: SipLeg) -> None:
        self.legs.add(leg)
        if isinstance(leg, SipOutboundLeg):
            self._report_callerid(leg)

    @staticmethod
    def _report_callerid(leg: SipOutboundLeg) -> None:
        """Tells the session the From user its outbound call goes out with (the history's `local_number`):
        the scenario's callerid, else `default_callerid`, or a registration's `sip_username` (regId)."""
        if leg.session is None or not leg.targets:
            return
        try:
            user = NameAddr.parse(leg.targets[0].from_addr).uri.user
        except (HeaderError, ValueError):
            return
        if user:
            leg.session.outbound_callerid(leg.call_id, user)

    def _session_of_dialog(self, sip_call_id: str) -> int | None:
        """The session whose outbound leg sent the INVITE of `sip_call_id` (inbound calls are attributed when
        their session starts, in `_route`)."""
        for leg in self.legs:
            if not isinstance(leg, SipOutboundLeg) or leg.session is None:
                continue
            dialogs = [h.request.call_id for h in leg.handles if h.request is not None]
            if sip_call_id in dialogs or (leg.sip is not None and leg.sip.call_id == sip_call_id):
                return leg.session.session_id
        return None

    def forget(self, leg: SipLeg) -> None:
        self.legs.discard(leg)
        for session_id, inbound in list(self.session_legs.items()):
            if inbound is leg:
                del self.session_legs[session_id]

    def is_own_address(self, source: Address) -> bool:
        """The edge's own UDP socket: callSIP to a voxsim address comes back in through it."""
        if self.ua is None or source.transport != "udp" or source.port != self.ua.ports.get("udp"):
            return False
        return normal_host(source.host) in {normal_host(h) for h in (self.host, self.advertised_host,
                                                                      "127.0.0.1", "::1")}

    # ------------------------------------------------------------------ requests

    def _on_invite(self, call: InviteDialog) -> Awaitable[None] | None:
        if self.handler is not None:
            return self.handler(call)
        if self.services is not None:
            return self._route(call)
        call.ring(100)
        call.reject(404, "Not Found - call routing is not emulated yet",
                    headers=[("Warning", NOT_EMULATED_WARNING.format(what="call routing"))])
        return None

    def _on_request(self, request: Request, source: Address) -> Response | None:
        if request.method == "REGISTER" and self.registrar is not None:
            return self.registrar.handle(request, source)
        if request.method not in NOT_EMULATED:
            return None  # OPTIONS and the rest: the user agent's defaults
        what = "registration" if request.method == "REGISTER" else request.method
        allow = ROUTING_OUTSIDE_ALLOW if self.services is not None else EDGE_OUTSIDE_ALLOW
        return make_response(
            request, 501, f"Not Implemented - {what} is not emulated yet", to_tag=new_tag(),
            headers=[("Warning", NOT_EMULATED_WARNING.format(what=what)), ("Allow", ", ".join(allow))],
        )

    # ------------------------------------------------------------------ routing an INVITE

    async def _route(self, call: InviteDialog) -> None:
        assert self.router is not None and self.ua is not None
        request, source = call.invite, call.flow
        call.ring(100)
        try:
            if request.max_forwards == 0:
                raise Refusal(483, "Too Many Hops")
            if request.uri.partition(":")[0].lower() not in _ROUTED_SCHEMES:  # mailto:, im:, ... (RFC 3261 8.2.2.1)
                raise Refusal(416, "Unsupported URI Scheme")
            inbound = self.router.classify(request, source)
            session = await self._start_session(inbound, source)
            if self.tracer is not None:
                self.tracer.attribute(call.call_id, session.session_id)
        except Refusal as refusal:
            log.info("INVITE %s from %s: %s %s", request.uri, source, refusal.status, refusal.reason)
            call.reject(refusal.status, refusal.reason, headers=refusal.headers)
            return
        leg = SipInboundLeg(self.ua, call, advertised_host=self.advertised_host, open_media=self.media_ports.open,
                            on_closed=self.forget, request_timeout=self.settings.request_timeout,
                            ack_timeout=self.ua.layer.timers.timeout, dtmf_send=self.settings.dtmf_send)
        leg.max_forwards = request.max_forwards if request.max_forwards is not None else 70
        if not leg.closed:
            self.track(leg)
            self.session_legs.setdefault(session.session_id, leg)
        from_, to = request.from_, request.to
        await session.inbound_call(
            leg, callerid=inbound.callerid, display_name=inbound.display_name,
            destination=inbound.destination, from_uri=str(from_.uri), to_uri=str(to.uri),
            headers=scenario_headers_of(request), client_type=inbound.client_type)

    async def _start_session(self, inbound: Inbound, source: Address) -> Session:
        assert self.services is not None
        starter = self.services.starter
        route, to_user = inbound.route, inbound.to_user
        if to_user is not None:
            try:
                return await starter.start_builtin(to_user.account, to_user.application, to_user.scenario_name,
                                                   FORWARD_TO_USER, initiator_address=source.host)
            except VoxError as error:
                raise starter.refusal_for(error, 500, "forwarding to a user") from error
        assert route is not None
        user_id = inbound.user.user_id if inbound.user is not None else None
        return await starter.start_for_call(route, user_id=user_id, initiator_address=source.host,
                                            refusal_status=self.settings.no_rule_code)
