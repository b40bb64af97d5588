"""Inbound REGISTER and the location service for the users of voxsim's applications.

A user `alice` of application `app` in account `acc` registers as `alice@app.acc.voximplant.com`
(the To URI; the Request-URI's host is used when To's is not an application domain) with digest:

- realm: `realm` when set, else the application's domain (the platform's realm is not documented);
  algorithms `algorithms` (MD5 by default: what SIPp and most phones answer). The digest username
  is `alice` or `alice@app.acc.voximplant.com`, and must be the To user.
- no credentials: 401 with a challenge (407 for an INVITE, see `authenticate`); a stale nonce (older
  than `nonce_ttl`) or a replayed one (its nonce-count not above the last accepted for that nonce)
  with the right password: a new challenge with `stale=true`; unknown user, wrong password, an
  inactive user, or credentials of another user: 403; a digest `uri` that is not the Request-URI
  (compared as SIP URIs; a bare `sip:<IP address>:port`, SIPp's next-hop form, passes while
  `accept_address_uri`): 403; an unknown application domain: 404.
- password guessing: wrong passwords and unknown users count per source IP, wrong passwords also
  per user; after `failures_per_source` (`failures_per_user`) in `failure_window` seconds that
  source's requests (that user's answers) get 403 without a password check until the window ends,
  logged once per window. A success clears the user's count, not the source's: one known account
  must not buy more guesses at the others.
- bindings: each Contact's `expires` parameter, else the Expires header, else `default_expires`;
  0 < expires < `min_expires` gets 423 with Min-Expires; more than `max_expires` is cut down.
  `Contact: *` with `Expires: 0` removes every binding of the user. A REGISTER with the same
  Call-ID and a CSeq not above the binding's is ignored for that binding (RFC 3261 10.3 step 7).
  Several contacts per user are kept, at most `max_contacts` (0: no limit): a REGISTER that would
  go beyond replaces the user's other bindings closest to expiry (the least recently refreshed, when
  the phones ask the same expiry), and one that itself asks more than `max_contacts` gets 403. The
  200 lists them all with their remaining expiry.

`contacts(application_id, user_name)` gives the live bindings (expired ones are dropped, and none
for a user that is gone or inactive). Bindings live in memory: after a restart phones register
again, as they do after a real registrar restarts.
"""

from __future__ import annotations

import logging
import math
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from sip_edge.auth import (
    AuthResult,
    AuthStatus,
    DigestParseError,
    DigestServer,
    FailureLimiter,
    NonceCounts,
    digest_username,
    header_names,
)
from sip_edge.dialog import new_tag
from sip_edge.headers import HeaderError, NameAddr
from sip_edge.message import Request, Response, make_response
from sip_edge.transport import Address
from voxsim.edge.outbound_registrations import normal_host
from voxsim.edge.settings import EdgeSettings

if TYPE_CHECKING:
    from voxsim.model import Application, User

__all__ = ["Binding", "UserAuth", "UserDirectory", "UserRegistrar"]

log = logging.getLogger(__name__)


class UserDirectory(Protocol):
    """What the registrar needs of `voxsim.store.Store`."""

    def find_application_by_domain(self, domain: str) -> Application | None: ...

    def find_user(self, application_id: int, user_name: str) -> User | None: ...


@dataclass
class Binding:
    """One registered contact of a user."""

    contact: str  # the Contact URI
    expires_at: float  # time.time() of expiry
    flow: Address  # where the REGISTER came from (a TCP/TLS connection is reused to reach the phone)
    call_id: str
    cseq: int
    user_agent: str = ""

    def remaining(self, now: float) -> int:
        return max(int(self.expires_at - now), 0)


@dataclass
class UserAuth:
    """The outcome of a digest check: `user` when proven, else the response to send (`status`)."""

    user: User | None = None
    status: int = 0
    reason: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.user is not None


class UserRegistrar:
    """Digest-authenticated REGISTER for application users, and their bindings; see the module docstring."""

    def __init__(self, store: UserDirectory, *, realm: str = "", algorithms: Iterable[str] = ("MD5",),
                 min_expires: int = 60, max_expires: int = 3600, default_expires: int = 3600,
                 nonce_ttl: float = EdgeSettings.digest_nonce_ttl,
                 accept_address_uri: bool = EdgeSettings.digest_accept_address_uri,
                 failure_window: float = EdgeSettings.auth_failure_window,
                 failures_per_source: int = EdgeSettings.auth_failures_per_source,
                 failures_per_user: int = EdgeSettings.auth_failures_per_user,
                 max_contacts: int = EdgeSettings.max_contacts_per_user,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.realm = realm
        self.algorithms = tuple(algorithms)
        self.min_expires = min_expires
        self.max_expires = max_expires
        self.default_expires = default_expires
        self.nonce_ttl = nonce_ttl
        self.accept_address_uri = accept_address_uri
        self.max_contacts = max_contacts
        self.clock = clock
        self._secret = secrets.token_bytes(32)
        self._nonce_counts = NonceCounts()  # shared by the realms: a nonce's MAC already names its realm
        self._sources = FailureLimiter(failures_per_source, failure_window)
        self._users = FailureLimiter(failures_per_user, failure_window)
        self._servers: dict[str, DigestServer] = {}
        self._table: dict[tuple[int, str], dict[str, Binding]] = {}

    @classmethod
    def from_settings(cls, store: UserDirectory, settings: EdgeSettings, *,
                      clock: Callable[[], float] = time.time) -> UserRegistrar:
        """The registrar the edge's settings describe."""
        return cls(store, realm=settings.realm, algorithms=settings.digest_algorithms,
                   min_expires=settings.registration_min_expires, max_expires=settings.registration_max_expires,
                   default_expires=settings.registration_default_expires, nonce_ttl=settings.digest_nonce_ttl,
                   accept_address_uri=settings.digest_accept_address_uri,
                   failure_window=settings.auth_failure_window,
                   failures_per_source=settings.auth_failures_per_source,
                   failures_per_user=settings.auth_failures_per_user,
                   max_contacts=settings.max_contacts_per_user, clock=clock)

    # ------------------------------------------------------------------ digest

    def realm_of(self, app: Application) -> str:
        return self.realm or app.domain

    def _server(self, realm: str) -> DigestServer:
        server = self._servers.get(realm)
        if server is None:
            server = self._servers[realm] = DigestServer(
                realm, secret=self._secret, algorithms=self.algorithms, nonce_ttl=self.nonce_ttl,
                accept_address_uri=self.accept_address_uri, nonce_counts=self._nonce_counts)
        return server

    def authenticate(self, request: Request, app: Application, *, proxy: bool = False,
                     source: Address | None = None) -> UserAuth:
        """Checks the request's digest answer against the users of `app` (401/407 challenge when absent).

        `source` (where the request came from) is what failures count against; None counts none."""
        status = 407 if proxy else 401
        answer_name = header_names(status)[1]
        server = self._server(self.realm_of(app))
        now = self.clock()
        where = normal_host(source.host) if source is not None else ""
        refused = self._backed_off(self._sources, where, now, f"source {where}")
        if refused is not None:
            return refused
        found: dict[str, User] = {}
        stale = False
        for value in request.headers.get_lines(answer_name):
            user_key = _user_key(app, value)
            refused = self._backed_off(self._users, user_key, now, f"user {user_key}")
            if refused is not None:
                return refused
            result = server.verify(value, method=request.method, uri=request.uri, now=now,
                                   credentials=self._lookup(app, found))
            auth = self._judge(result, app, found, where, user_key, now)
            if auth is None:
                stale = True
                continue
            return auth
        return UserAuth(status=status, reason="Proxy Authentication Required" if proxy else "Unauthorized",
                        headers=server.challenge_headers(now, proxy=proxy, stale=stale))

    def _lookup(self, app: Application, found: dict[str, User]) -> Callable[[str], str | None]:
        """The digest server's credentials lookup: `alice` or `alice@<app domain>` (found users kept in `found`)."""
        domain = app.domain.lower()

        def lookup(username: str) -> str | None:
            name, at, host = username.partition("@")
            if at and host.lower() != domain:
                return None
            user = self.store.find_user(app.application_id, name)
            if user is None:
                return None
            found[username] = user
            return user.user_password

        return lookup

    def _judge(self, result: AuthResult, app: Application, found: dict[str, User], where: str, user_key: str,
               now: float) -> UserAuth | None:
        """What one verified answer earns: the user, a refusal, or None for a new challenge with stale=true."""
        if result.status is AuthStatus.MALFORMED:
            return UserAuth(status=400, reason=f"Bad Request - {result.reason}")
        if result.status in (AuthStatus.STALE_NONCE, AuthStatus.REPLAYED):
            if result.status is AuthStatus.REPLAYED:
                log.info("digest for %s from %s challenged again: %s (%s)", app.domain, where or "?", result.reason,
                         result.username)
            return None
        if result.status is AuthStatus.WRONG_URI:
            log.info("digest for %s from %s refused: %s (%s)", app.domain, where or "?", result.reason,
                     result.username)
            return UserAuth(status=403, reason="Forbidden - digest uri does not match the Request-URI")
        if not result.ok:
            if result.failed_guess:
                self._count_failure(where, user_key if result.response_checked else "", now)
            log.info("digest for %s from %s refused: %s (%s)", app.domain, where or "?", result.reason,
                     result.username)
            return UserAuth(status=403, reason="Forbidden - wrong user name or password")
        self._users.reset(user_key)
        user = found[result.username or ""]
        if not user.user_active:
            return UserAuth(status=403, reason=f"Forbidden - user {user.user_name} is not active")
        return UserAuth(user=user)

    def _count_failure(self, where: str, user_key: str, now: float) -> None:
        if where:
            self._sources.fail(where, now)
        if user_key:  # a user that exists: unknown names would only fill the table
            self._users.fail(user_key, now)

    @staticmethod
    def _backed_off(limiter: FailureLimiter, key: str, now: float, what: str) -> UserAuth | None:
        """403 for a key that failed too often in this window (logged once per window), else None."""
        left = limiter.blocked_for(key, now) if key else 0.0
        if left <= 0:
            return None
        if limiter.first_refusal(key):
            log.warning("digest: %s failed %d times within %g s: refusing it for %d s without checking passwords",
                        what, limiter.limit, limiter.window, math.ceil(left))
        return UserAuth(status=403, reason=f"Forbidden - too many failed attempts, try again in {math.ceil(left)} s")

    # ------------------------------------------------------------------ REGISTER

    def application_of(self, request: Request) -> Application | None:
        """The application a REGISTER (or a user's request) is for: the To (or From) host, else the Request-URI's."""
        hosts = []
        for name in ("To", "From"):
            try:
                hosts.append(NameAddr.parse(request.headers.get(name) or "").uri.host)
            except (HeaderError, ValueError):
                pass
        try:
            hosts.append(request.request_uri.host)
        except ValueError:
            pass
        for host in hosts:
            app = self.store.find_application_by_domain(host) if host else None
            if app is not None:
                return app
        return None

    def handle(self, request: Request, source: Address) -> Response:
        """The answer to a REGISTER."""
        try:
            to = request.to
            contacts = request.contacts
        except (HeaderError, ValueError) as exc:
            return self._reply(request, 400, f"Bad Request - {exc}")
        app = self.application_of(request)
        if app is None:
            return self._reply(request, 404, "Not Found - register as user@<application>.<account>.voximplant.com")
        auth = self.authenticate(request, app, source=source)
        if not auth.ok:
            return self._reply(request, auth.status, auth.reason, auth.headers)
        user = auth.user
        assert user is not None
        if (to.uri.user or "") != user.user_name:
            return self._reply(request, 403, f"Forbidden - {user.user_name} cannot register {to.uri.user}")
        wildcard = any(value.strip() == "*" for value in request.headers.get_all("Contact"))
        default = request.expires if request.expires is not None else self.default_expires
        if wildcard and (contacts or request.expires != 0):
            return self._reply(request, 400, "Bad Request - Contact: * needs Expires: 0 and no other Contact")
        asked = [(contact, contact.expires if contact.expires is not None else default) for contact in contacts]
        if any(0 < expires < self.min_expires for _, expires in asked):
            return self._reply(request, 423, "Interval Too Brief", [("Min-Expires", str(self.min_expires))])
        fresh = {str(contact.uri) for contact, expires in asked if expires != 0}
        if self.max_contacts and len(fresh) > self.max_contacts:
            return self._reply(request, 403, f"Forbidden - more than {self.max_contacts} contacts in one REGISTER")
        key = (app.application_id, user.user_name)
        table = self._table.setdefault(key, {})
        now = self.clock()
        self._purge(table, now)
        call_id, cseq = request.call_id, request.cseq.seq
        if wildcard:
            table.clear()
        for contact, expires in asked:
            uri = str(contact.uri)
            previous = table.get(uri)
            if previous is not None and previous.call_id == call_id and previous.cseq >= cseq:
                continue  # an old REGISTER overtaken by a newer one
            if expires == 0:
                table.pop(uri, None)
            else:
                table[uri] = Binding(uri, now + min(expires, self.max_expires), source, call_id, cseq,
                                     request.headers.get("User-Agent") or "")
        self._cap(table, fresh, f"{user.user_name}@{app.domain}")
        if not table:
            self._table.pop(key, None)
        log.info("REGISTER %s@%s from %s: %d binding(s)", user.user_name, app.domain, source, len(table))
        headers = [("Contact", f"<{b.contact}>;expires={b.remaining(now)}") for b in table.values()]
        headers.append(("Date", time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())))
        return self._reply(request, 200, "OK", headers)

    def _cap(self, table: dict[str, Binding], fresh: set[str], who: str) -> None:
        """Drops the bindings beyond `max_contacts`, closest to expiry first, never one this REGISTER just made
        (`fresh`, already checked to fit): a phone that moves keeps registering, a flood cannot grow the table."""
        excess = len(table) - self.max_contacts
        if not self.max_contacts or excess <= 0:
            return
        older = sorted((b for uri, b in table.items() if uri not in fresh), key=lambda b: b.expires_at)
        for binding in older[:excess]:
            del table[binding.contact]
        log.info("REGISTER %s: %d binding(s) closest to expiry replaced (at most %d contacts per user)",
                 who, min(excess, len(older)), self.max_contacts)

    @staticmethod
    def _reply(request: Request, status: int, reason: str,
               headers: Iterable[tuple[str, str]] = ()) -> Response:
        return make_response(request, status, reason, to_tag=new_tag(), headers=headers)

    # ------------------------------------------------------------------ location service

    def contacts(self, application_id: int, user_name: str) -> list[Binding]:
        """The user's live bindings, oldest first (none when the user is gone or inactive)."""
        key = (application_id, user_name)
        table = self._table.get(key)
        if not table:
            return []
        user = self.store.find_user(application_id, user_name)
        if user is None or not user.user_active:
            return []
        self._purge(table, self.clock())
        return list(table.values())

    @property
    def bindings(self) -> dict[tuple[int, str], list[Binding]]:
        """Every user's bindings (expired ones included until next touched), for diagnostics."""
        return {key: list(table.values()) for key, table in self._table.items() if table}

    def clear(self) -> None:
        self._table.clear()

    @staticmethod
    def _purge(table: dict[str, Binding], now: float) -> None:
        for uri in [uri for uri, binding in table.items() if binding.expires_at <= now]:
            del table[uri]


def _user_key(app: Application, value: str) -> str:
    """Whose failures an answer counts as, read before verifying it: `<application id>/<user>` ('' if unreadable)."""
    try:
        username = digest_username(value)
    except DigestParseError:
        return ""
    return f"{app.application_id}/{username.partition('@')[0]}"
