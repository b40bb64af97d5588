"""Who is calling, and where an INVITE goes: the SIP edge's inbound router.

`InboundRouter.classify(request, source)` returns an `Inbound` or raises `voxsim.routing.Refusal`
(the SIP final response to answer with). In order:

1. Through a SIP registration: a Request-URI that is not a voxsim address (or carries our
   `voxsim-reg` Contact parameter), sent from the proxy or outbound proxy of a registration that is
   registered now, and that the outbound registrations map to it (`RegistrationMatcher.match_inbound`)
   runs the registration's bound rule, `destination` = the Request-URI user part. A registration bound
   to a user reaches that user (`Inbound.to_user`: the edge runs the built-in forward to the user).
   No white list applies: the PBX's address and our live binding there vouch for the call. Bound to
   nothing: 404. From anywhere else, or while the registration is not registered, the INVITE is
   classified as below, as if no registration existed (a trunk call needs the white list).
2. From a user: the From host is an application domain and the From user one of its users, or the
   caller is not in the white list but sent credentials. The INVITE is challenged (407, realm of
   the user registrar, with its replay checks and back-off per source and user), then routed
   through the user's application's rules with the dialed destination (the Request-URI's, or its
   user part when the Request-URI is not a voxsim address);
   `clientType()` "user", `callerid` the user name.
3. A call from the PSTN: the Request-URI is `sip:<number>@pstn.voximplant.com` (the carrier entry point) for a
   phone number an account attached (`routing.number_route`), from a source in that account's SIP white list
   (else `not_whitelisted_code`); it runs the number's rule with `destination` the number, `callerid` the From
   user without `+`; `clientType()` "pstn".
4. A trunk: the Request-URI is `dest@app.account.voximplant.com` or
   `app_id#account_id#dest@sip.voximplant.com` (else `unknown_address_code`), the source address is
   in the account's SIP white list (else `not_whitelisted_code`; the edge's own UDP socket, used by
   callSIP to a voxsim address, is trusted), a rule matches (else `no_rule_code`); `clientType()` "sip".

It reads the store through `RouterStore` and knows nothing of sockets, sessions or legs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from sip_edge.headers import HeaderError, NameAddr
from sip_edge.message import Request
from sip_edge.transport import Address
from sip_edge.uri import SipURI
from voxsim import routing
from voxsim.edge.outbound_registrations import CONTACT_PARAM, normal_host
from voxsim.edge.settings import EdgeSettings
from voxsim.errors import VoxError
from voxsim.routing import Refusal, Route, RouteDirectory

if TYPE_CHECKING:
    from voxsim.edge.user_registrar import UserAuth
    from voxsim.model import Account, Application, Rule, SipRegistration, User

__all__ = ["Inbound", "InboundRouter", "RegistrationMatcher", "RouterStore", "ToUser", "UserAuthenticator"]


class RouterStore(RouteDirectory, Protocol):
    """What the router reads (implemented by `voxsim.store.Store`)."""

    def find_application_by_domain(self, domain: str) -> Application | None: ...
    def find_user(self, application_id: int, user_name: str) -> User | None: ...
    def is_whitelisted(self, account_id: int, address: str) -> bool: ...
    def get_account(self, account_id: int) -> Account: ...
    def active_sip_registrations(self, account_id: int | None = None) -> list[SipRegistration]: ...
    def get_user(self, account_id: int, *, user_id: int | None = None, user_name: str | None = None,
                 application_id: int | None = None) -> User: ...
    def get_rule(self, account_id: int, *, rule_id: int | None = None, rule_name: str | None = None,
                 application_id: int | None = None) -> Rule: ...


class UserAuthenticator(Protocol):
    """Digest authentication of an application's users (`voxsim.edge.user_registrar.UserRegistrar`)."""

    def authenticate(self, request: Request, app: Application, *, proxy: bool = False,
                     source: Address | None = None) -> UserAuth: ...


class RegistrationMatcher(Protocol):
    """Which of our outbound SIP registrations an INVITE from `source_host` came through (`RegistrationManager`):
    only a registered one whose proxy is that address, so that naming a registration lets no one past the white list."""

    def match_inbound(self, request_uri: str, source_host: str) -> int | None: ...


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


class InboundRouter:
    """Classifies INVITEs; see the module docstring. `registrations` may be set after construction (the
    outbound registrations start after the edge listens); `is_own_address` tells the edge's own socket."""

    def __init__(self, store: RouterStore, users: UserAuthenticator, settings: EdgeSettings, *,
                 is_own_address: Callable[[Address], bool] = lambda source: False,
                 registrations: RegistrationMatcher | None = None, domain: str = routing.DEFAULT_DOMAIN) -> None:
        self.store = store
        self.users = users
        self.settings = settings
        self.is_own_address = is_own_address
        self.registrations = registrations
        self.domain = domain

    def classify(self, request: Request, source: Address) -> Inbound:
        """Who is calling (registration, user, trunk) and the route; raises Refusal."""
        try:
            from_ = request.from_
            request_uri = request.request_uri
        except (HeaderError, ValueError) as exc:
            raise Refusal(400, f"Bad Request - {exc}") from exc
        by_number = routing.number_route(self.store, request.uri, self.domain,
                                         refusal_status=self.settings.unknown_address_code)
        if by_number is not None:
            return self._from_pstn(by_number, from_, source)
        account: Account | None
        app: Application | None
        try:
            account, app, destination = routing.resolve(self.store, request.uri, self.domain,
                                                        refusal_status=self.settings.unknown_address_code)
            unknown: Refusal | None = None
        except Refusal as refusal:
            account = app = None
            destination, unknown = "", refusal
        if (app is None or CONTACT_PARAM in request.uri) and self.registrations is not None:
            reg_id = self.registrations.match_inbound(request.uri, source.host)
            if reg_id is not None:
                return self._through_registration(reg_id, request_uri, from_)
        user_app = self._user_application(from_)
        whitelisted = account is not None and (
            self.is_own_address(source) or self.store.is_whitelisted(account.account_id, normal_host(source.host)))
        has_credentials = bool(request.headers.get("Proxy-Authorization") or request.headers.get("Authorization"))
        if user_app is None and app is not None and not whitelisted and has_credentials:
            user_app = app
        if user_app is not None:
            dialed = destination if app is not None else _user_part(request_uri)
            return self._from_user(request, user_app, dialed, from_, source)
        if app is None or account is None:
            assert unknown is not None
            raise unknown
        if not whitelisted:
            raise Refusal(self.settings.not_whitelisted_code,
                          f"Forbidden - {source.host} is not in the SIP white list of the account")
        route = self._match(account, app, destination)
        return Inbound(route, "sip", from_.uri.user or "", from_.display_name or "")

    def _from_pstn(self, route: Route, from_: NameAddr, source: Address) -> Inbound:
        """A call to one of the account's phone numbers, through voxsim's carrier entry point."""
        if not (self.is_own_address(source)
                or self.store.is_whitelisted(route.account.account_id, normal_host(source.host))):
            raise Refusal(self.settings.not_whitelisted_code,
                          f"Forbidden - {source.host} is not in the SIP white list of the number's account")
        return Inbound(route, "pstn", routing.caller_number(str(from_.uri)), from_.display_name or "")

    def _user_application(self, from_: NameAddr) -> Application | None:
        """The application whose user the From names (its host an application domain, its user a user)."""
        host = from_.uri.host if from_.uri.is_sip else ""
        app = self.store.find_application_by_domain(host) if host else None
        if app is None or self.store.find_user(app.application_id, from_.uri.user or "") is None:
            return None
        return app

    def _from_user(self, request: Request, app: Application, dialed: str, from_: NameAddr,
                   source: Address) -> Inbound:
        # `source` is what failed answers count against (the registrar's back-off for password guessing).
        auth = self.users.authenticate(request, app, proxy=True, source=source)
        if not auth.ok:
            raise Refusal(auth.status, auth.reason, auth.headers)
        user = auth.user
        assert user is not None
        if not dialed:
            raise Refusal(self.settings.unknown_address_code, "Not Found - nothing dialed")
        account = self.store.get_account(app.account_id)
        route = self._match(account, app, dialed)
        display = from_.display_name or user.user_display_name or user.user_name
        return Inbound(route, "user", user.user_name, display, user=user)

    def _through_registration(self, reg_id: int, request_uri: SipURI, from_: NameAddr) -> Inbound:
        store = self.store
        reg = next((r for r in store.active_sip_registrations() if r.sip_registration_id == reg_id), None)
        if reg is None:
            raise Refusal(404, f"Not Found - SIP registration {reg_id} is gone")
        bound = reg.binding
        if bound.application_id is None or (bound.rule_id is None and bound.user_id is None):
            raise Refusal(404, f"Not Found - SIP registration {reg_id} is not bound to a rule or a user")
        callerid, display = from_.uri.user or "", from_.display_name or ""
        try:
            account = store.get_account(reg.account_id)
            app = store.find_application(reg.account_id, application_id=bound.application_id)
            if app is None:
                raise Refusal(404, f"Not Found - SIP registration {reg_id}: no application")
            if bound.rule_id is None:  # bound to a user: the call goes to that user (forwardCallToUser)
                user = store.get_user(reg.account_id, user_id=bound.user_id, application_id=app.application_id)
                return Inbound(None, "sip", callerid, display, extra={"reg_id": reg_id},
                               to_user=ToUser(account, app, user, reg_id))
            rule = store.get_rule(reg.account_id, rule_id=bound.rule_id)
        except (KeyError, VoxError) as exc:
            raise Refusal(404, f"Not Found - SIP registration {reg_id}: {exc}") from exc
        route = Route(account, app, rule, _user_part(request_uri))
        return Inbound(route, "sip", callerid, display, extra={"reg_id": reg_id})

    def _match(self, account: Account, app: Application, destination: str) -> Route:
        return routing.match(self.store, account, app, destination, refusal_status=self.settings.no_rule_code)


def _user_part(uri: SipURI) -> str:
    """The Request-URI's user, without `;params` some PBXs put inside it."""
    return (uri.user or "").split(";", 1)[0]
