"""The emulator's SIP edge: listeners (UDP and TCP on `sip_port`, TLS on `sips_port`), who is calling,
routing to scenario sessions, the user registrar, and the call legs the sessions drive.

With `services` (store, sessions, runtime; the composition root gives them), an INVITE goes:

1. 100 Trying at once; a Max-Forwards of 0 gets 483 (voxsim's own call loops end there).
2. Through a SIP registration: a Request-URI that is not a voxsim address (or carries our
   `voxsim-reg` Contact parameter) and that `RegistrationManager.match_inbound` maps to one of the
   SIP registrations runs the registration's bound rule, `destination` = the Request-URI user part.
   A registration bound to a user instead reaches that user: a session of the registration's
   application runs the built-in `VoxEngine.forwardCallToUser();` (`sessions.FORWARD_TO_USER`, no
   rule) with `destination` = the user's name, so the call is forked to the user's registered
   contacts and bridged (480 when the user is not registered). No white list applies. A
   registration bound to nothing: 404.
3. From a user: the From host is an application domain and the From user one of its users, or the
   caller is not in the white list but sent Proxy-Authorization. The INVITE is challenged (407,
   realm = the application's domain), then routed through the user's application's rules with the
   dialed destination (the Request-URI's, or its user part when the Request-URI is not a voxsim
   address); `clientType()` "user", `callerid` the user name.
4. A trunk: the Request-URI is `dest@app.account.voximplant.com` or
   `app_id#account_id#dest@sip.voximplant.com` (else 404), the source address is in the account's
   SIP white list (else 403; the edge's own UDP socket, used by callSIP to a voxsim address, is
   trusted), a rule matches (else 404); `clientType()` "sip".
5. A new session (`Sessions.start_for_call`, or `Sessions.start_builtin` for a user-bound
   registration), then `Runtime.inbound_call` with `callerid` (From user),
   `displayName` (From display name), `destination`, `fromURI`/`toURI` (From and To URIs, with
   `sip:`) and the `X-`/`User-to-User` headers; a `legs.SipInboundLeg` carries the scenario's answer,
   ring, reject... The runtime answers 500 for a scenario that fails before answering and 480 for
   one that does not answer within its alerting timeout.

REGISTER goes to `registrar.Registrar` (users of applications). Without `services` the edge keeps
its older, honest answers: INVITE gets "404 Not Found - call routing is not emulated yet" (or goes
to `handler`, which then owns each new incoming `sip_edge.ua.Call`), REGISTER 501.

Always: OPTIONS 200 with Allow/Accept/Supported (PBXs use it as a keep-alive); MESSAGE, SUBSCRIBE,
PUBLISH, NOTIFY, REFER outside a dialog 501 with a Warning; ACK absorbed; CANCEL 200 and 487 for
the INVITE when it matches one still pending, else 481; BYE, INFO, UPDATE, PRACK outside a dialog
481; other methods 405 (known) or 501, with Allow. A malformed request gets 400 (or 413/505...)
when it can be answered at all; the listeners keep serving whatever arrives next.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sip_edge.dialog import new_tag
from sip_edge.headers import HeaderError, NameAddr
from sip_edge.legs import MediaPort, SipInboundLeg, SipLeg, SipOutboundLeg, scenario_headers_of
from sip_edge.message import Request, Response, make_response
from sip_edge.registrar import Registrar
from sip_edge.registration import CONTACT_PARAM
from sip_edge.transport import Address
from sip_edge.ua import InviteDialog, UserAgent
from sip_edge.uri import SipURI, format_host
from voxsim.errors import VoxError
from voxsim.sessions import FORWARD_TO_USER, Route, RouteError

if TYPE_CHECKING:
    from sip_edge.registration import RegistrationManager
    from voxsim.model import Account, Application, User
    from voxsim.runtime import Runtime
    from voxsim.sessions import Sessions

__all__ = ["EDGE_ALLOW", "NOT_EMULATED_WARNING", "EdgeServices", "EdgeSettings", "Inbound", "Refusal", "SipEdge"]

log = logging.getLogger(__name__)

EDGE_ALLOW = ("INVITE", "ACK", "CANCEL", "BYE", "OPTIONS")
ROUTING_ALLOW = (*EDGE_ALLOW, "INFO", "MESSAGE", "REGISTER")
NOT_EMULATED = frozenset({"REGISTER", "MESSAGE", "SUBSCRIBE", "PUBLISH", "NOTIFY", "REFER"})
NOT_EMULATED_WARNING = '399 voxsim "{what} is not emulated yet"'
_PORT_ATTEMPTS = 20

CallHandler = Callable[[InviteDialog], Awaitable[None] | None]


@dataclass
class EdgeSettings:
    """The edge's choices where the platform documents none (reference §5), and its resources."""

    realm: str = ""
    """Digest realm for users (REGISTER and INVITE); empty: the application's domain."""
    digest_algorithms: tuple[str, ...] = ("MD5",)
    """Offered to users, preferred first (SIPp and most phones answer MD5 only)."""
    registration_min_expires: int = 60
    registration_max_expires: int = 3600
    registration_default_expires: int = 3600
    unknown_address_code: int = 404
    """Request-URI that is not a voxsim application address (or an unknown application)."""
    no_rule_code: int = 404
    """Known application, no rule matches the destination."""
    not_whitelisted_code: int = 403
    """Source address outside the account's SIP white list, and no user credentials."""
    user_offline_code: int = 480
    """callUser / callSIP to a user with no registered contact."""
    rtp_ports: tuple[int, int] = (10000, 20000)
    """Even UDP ports reserved for calls' RTP; (0, 0) lets the system pick any."""
    request_timeout: float = 2.0
    """How long a leg waits for the answer to its BYE/INFO/MESSAGE (bounds shutdown too)."""
    default_callerid: str = "voxsim"
    """The From user of callSIP when the scenario gives no callerid."""
    pstn_gateway: str = ""
    """host[:port][;transport=] that callPSTN sends `number@gateway` to; empty: callPSTN fails 501."""
    tls_verify: bool = True
    """Check the certificates of TLS peers callSIP reaches."""
    tls_ca_file: str = ""
    """Extra CA file trusted for those peers (a local PBX's self-signed certificate)."""


@dataclass
class EdgeServices:
    """The core the edge routes calls into (given by the composition root)."""

    store: Any  # voxsim.store.Store
    sessions: Sessions
    runtime: Runtime
    registrations: RegistrationManager | None = None


class Refusal(Exception):
    """An INVITE the edge answers with a final response instead of a session."""

    def __init__(self, status: int, reason: str, headers: list[tuple[str, str]] | None = None) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason
        self.headers = headers or []


@dataclass(frozen=True)
class ToUser:
    """A call for a user with no rule: it came through SIP registration `reg_id`, bound to `user`."""

    account: Account
    application: Application
    user: User
    reg_id: int

    @property
    def scenario_name(self) -> str:
        """What the session's log calls the built-in script."""
        return f"(registration {self.reg_id} to user {self.user.user_name})"


@dataclass
class Inbound:
    """Who is calling and where the call goes: a rule (`route`), or a user without a rule (`to_user`)."""

    route: Route | None
    client_type: str
    callerid: str
    display_name: str
    user: User | None = None  # the calling user (an INVITE proven by digest)
    extra: dict[str, Any] = field(default_factory=dict)
    to_user: ToUser | None = None

    @property
    def destination(self) -> str:
        if self.to_user is not None:
            return self.to_user.user.user_name
        assert self.route is not None
        return self.route.destination


class SipEdge:
    """SIP listeners of the running emulator; see the module docstring for what they answer.

    `sip_port` 0 picks a free port for UDP and binds TCP to the same number (retrying with another
    port when TCP's is taken); `sips_port` 0 picks any free port. Without `ssl_context` there is no
    TLS listener. `advertised_host` is the address written in Contact headers and SDP (default:
    `host`). `client_ssl` is the context for TLS connections callSIP opens (default: from settings).
    """

    def __init__(self, host: str, sip_port: int, sips_port: int, ssl_context: ssl.SSLContext | None, *,
                 handler: CallHandler | None = None, advertised_host: str | None = None,
                 settings: EdgeSettings | None = None, services: EdgeServices | None = None,
                 client_ssl: ssl.SSLContext | None = None) -> None:
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
        self.registrar: Registrar | None = None
        self.legs: set[SipLeg] = set()
        self.session_legs: dict[int, SipInboundLeg] = {}  # session id -> its first inbound leg
        if services is not None:
            self.serve(services)

    def serve(self, services: EdgeServices) -> None:
        """Routes calls to scenario sessions and answers REGISTER for users (call before `start`)."""
        settings = self.settings
        self.services = services
        self.registrar = Registrar(services.store, realm=settings.realm, algorithms=settings.digest_algorithms,
                                   min_expires=settings.registration_min_expires,
                                   max_expires=settings.registration_max_expires,
                                   default_expires=settings.registration_default_expires)

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
                         advertised_host=self.advertised_host, client_ssl=self.client_ssl or self._client_ssl())

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

    async def open_media(self) -> MediaPort:
        """Reserves a UDP port for one call's RTP on the edge's address."""
        return await MediaPort.open(self.host, self.settings.rtp_ports)

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

    def forget(self, leg: SipLeg) -> None:
        self.legs.discard(leg)
        for session_id, inbound in list(self.session_legs.items()):
            if inbound is leg:
                del self.session_legs[session_id]

    def is_own_address(self, source: Address) -> bool:
        """The edge's own UDP socket: callSIP to a voxsim address comes back in through it."""
        if self.ua is None or source.transport != "udp" or source.port != self.ua.ports.get("udp"):
            return False
        return _normal_host(source.host) in {_normal_host(h) for h in (self.host, self.advertised_host,
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
        allow = ROUTING_ALLOW if self.services is not None else EDGE_ALLOW
        return make_response(
            request, 501, f"Not Implemented - {what} is not emulated yet", to_tag=new_tag(),
            headers=[("Warning", NOT_EMULATED_WARNING.format(what=what)), ("Allow", ", ".join(allow))],
        )

    # ------------------------------------------------------------------ routing an INVITE

    async def _route(self, call: InviteDialog) -> None:
        services = self.services
        assert services is not None and self.ua is not None
        request, source = call.invite, call.flow
        call.ring(100)
        try:
            if request.max_forwards == 0:
                raise Refusal(483, "Too Many Hops")
            inbound = self.classify(request, source)
            session = await self._start_session(inbound, source)
        except Refusal as refusal:
            log.info("INVITE %s from %s: %s %s", request.uri, source, refusal.status, refusal.reason)
            call.reject(refusal.status, refusal.reason, headers=refusal.headers)
            return
        leg = SipInboundLeg(self.ua, call, advertised_host=self.advertised_host, open_media=self.open_media,
                            on_closed=self.forget, request_timeout=self.settings.request_timeout,
                            ack_timeout=self.ua.layer.timers.timeout)
        leg.max_forwards = request.max_forwards if request.max_forwards is not None else 70
        if not leg.closed:
            self.track(leg)
            self.session_legs.setdefault(session.session_id, leg)
        from_, to = request.from_, request.to
        await session.inbound_call(
            leg, callerid=inbound.callerid, display_name=inbound.display_name,
            destination=inbound.destination, from_uri=str(from_.uri), to_uri=str(to.uri),
            headers=scenario_headers_of(request), client_type=inbound.client_type)

    def classify(self, request: Request, source: Address) -> Inbound:
        """Who is calling (registration, user, trunk) and the route; raises Refusal."""
        services = self.services
        assert services is not None
        try:
            from_ = request.from_
            request_uri = request.request_uri
        except (HeaderError, ValueError) as exc:
            raise Refusal(400, f"Bad Request - {exc}") from exc
        try:
            account, app, destination = services.sessions.resolve(request.uri)
            unknown: RouteError | None = None
        except RouteError as error:
            account = app = None
            destination, unknown = "", error
        if (app is None or CONTACT_PARAM in request.uri) and services.registrations is not None:
            reg_id = services.registrations.match_inbound(request.uri, source.host)
            if reg_id is not None:
                return self._through_registration(reg_id, request_uri, from_)
        user_app = self._user_application(from_)
        whitelisted = account is not None and (
            self.is_own_address(source) or services.store.is_whitelisted(account.account_id, _normal_host(source.host)))
        has_credentials = bool(request.headers.get("Proxy-Authorization") or request.headers.get("Authorization"))
        if user_app is None and app is not None and not whitelisted and has_credentials:
            user_app = app
        if user_app is not None:
            dialed = destination if app is not None else _user_part(request_uri)
            return self._from_user(request, user_app, dialed, from_)
        if app is None or account is None:
            assert unknown is not None
            raise Refusal(self.settings.unknown_address_code, unknown.reason)
        if not whitelisted:
            raise Refusal(self.settings.not_whitelisted_code,
                          f"Forbidden - {source.host} is not in the SIP white list of the account")
        route = self._match(account, app, destination)
        return Inbound(route, "sip", from_.uri.user or "", from_.display_name or "")

    def _user_application(self, from_: NameAddr) -> Any:
        """The application whose user the From names (its host an application domain, its user a user)."""
        store = self.services.store if self.services else None
        host = from_.uri.host if from_.uri.is_sip else ""
        app = store.find_application_by_domain(host) if store is not None and host else None
        if app is None or store.find_user(app.application_id, from_.uri.user or "") is None:
            return None
        return app

    def _from_user(self, request: Request, app: Any, dialed: str, from_: NameAddr) -> Inbound:
        services = self.services
        assert services is not None and self.registrar is not None
        auth = self.registrar.authenticate(request, app, proxy=True)
        if not auth.ok:
            raise Refusal(auth.status, auth.reason, auth.headers)
        user = auth.user
        assert user is not None
        if not dialed:
            raise Refusal(self.settings.unknown_address_code, "Not Found - nothing dialed")
        account = services.store.get_account(app.account_id)
        route = self._match(account, app, dialed)
        display = from_.display_name or user.user_display_name or user.user_name
        return Inbound(route, "user", user.user_name, display, user=user)

    def _through_registration(self, reg_id: int, request_uri: SipURI, from_: NameAddr) -> Inbound:
        services = self.services
        assert services is not None
        store = services.store
        reg = next((r for r in store.active_sip_registrations() if r.sip_registration_id == reg_id), None)
        if reg is None:
            raise Refusal(404, f"Not Found - SIP registration {reg_id} is gone")
        if reg.application_id is None or (reg.rule_id is None and reg.user_id is None):
            raise Refusal(404, f"Not Found - SIP registration {reg_id} is not bound to a rule or a user")
        callerid, display = from_.uri.user or "", from_.display_name or ""
        try:
            account = store.get_account(reg.account_id)
            app = store.find_application(reg.account_id, application_id=reg.application_id)
            if app is None:
                raise Refusal(404, f"Not Found - SIP registration {reg_id}: no application")
            if reg.rule_id is None:  # bound to a user: the call goes to that user (forwardCallToUser)
                user = store.get_user(reg.account_id, user_id=reg.user_id, application_id=app.application_id)
                return Inbound(None, "sip", callerid, display, extra={"reg_id": reg_id},
                               to_user=ToUser(account, app, user, reg_id))
            rule = store.get_rule(reg.account_id, rule_id=reg.rule_id)
        except (KeyError, VoxError) as exc:
            raise Refusal(404, f"Not Found - SIP registration {reg_id}: {exc}") from exc
        route = Route(account, app, rule, _user_part(request_uri))
        return Inbound(route, "sip", callerid, display, extra={"reg_id": reg_id})

    def _match(self, account: Any, app: Any, destination: str) -> Route:
        assert self.services is not None
        try:
            return self.services.sessions.match(account, app, destination)
        except RouteError as error:
            raise Refusal(self.settings.no_rule_code, error.reason) from error

    async def _start_session(self, inbound: Inbound, source: Address) -> Any:
        sessions = self.services.sessions if self.services else None
        assert sessions is not None
        route, to_user = inbound.route, inbound.to_user
        if to_user is not None:
            return await sessions.start_builtin(to_user.account, to_user.application, to_user.scenario_name,
                                                FORWARD_TO_USER, initiator_address=source.host)
        assert route is not None
        try:
            if inbound.user is not None:
                return await sessions.start(route.account, route.application, route.rule,
                                            user_id=inbound.user.user_id, initiator_address=source.host)
            return await sessions.start_for_call(route, source.host)
        except RouteError as error:
            raise Refusal(error.status, error.reason) from error
        except VoxError as error:
            reason = f"Not Found - rule {route.rule.rule_name}: {error.msg}"
            raise Refusal(self.settings.no_rule_code, reason) from error


def _user_part(uri: SipURI) -> str:
    """The Request-URI's user, without `;params` some PBXs put inside it."""
    return (uri.user or "").split(";", 1)[0]


def _normal_host(host: str) -> str:
    text = host.strip().strip("[]")
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return text.lower()
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)

