"""Starting VoxEngine sessions: from StartScenarios, from an inbound call, from a simulated caller.

The core's side of the life of a call (docs/architecture.md): once `voxsim.routing` has found the
rule, the store allocates the `call_session_history_id` and the runtime starts the rule's
scenarios in one context. The SIP edge and the Management API both come through here; neither
knows the other. A call the platform handles without a rule (one arriving through a SIP
registration bound to a user) runs a built-in script instead (`start_builtin` with
`FORWARD_TO_USER`). It also keeps the secret parts of each session's media_session_access_url.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from voxsim import routing
from voxsim.errors import NO_SCENARIO_BOUND, RATE_LIMIT_EXCEEDED, VoxError
from voxsim.model import Account, Application, Rule
from voxsim.routing import Refusal, Route
from voxsim.runtime import Runtime, Session, SessionLimitReached, SessionState
from voxsim.store import Store

# The built-in scenario of a call that reaches a user without a rule (a SIP registration bound to a
# user: the platform forwards such calls to the user): the call is offered with `destination` = the
# user's name, and the shim's forwardCallToUser calls that user (forked to the user's registered
# contacts) and bridges the two.
FORWARD_TO_USER = "VoxEngine.forwardCallToUser();"

_PRUNE_EVERY = 256  # new access tokens between two sweeps of the tables

SESSION_LIMIT_RETRY_AFTER = 5
"""Seconds a caller refused at the session cap (503) is told to wait (Retry-After)."""


@dataclass(frozen=True)
class AccessToken:
    """The two secret path parts of a media_session_access_url."""

    token: str
    secret: str


class SessionStarter:
    """Starts sessions for rules (StartScenarios, calls) and built-in scripts; see the module docstring."""

    def __init__(self, store: Store, runtime: Runtime, *, http_base: Callable[[], str],
                 https_base: Callable[[], str], log_url: Callable[[int], str],
                 advertised_host: str = "127.0.0.1", domain: str = routing.DEFAULT_DOMAIN) -> None:
        self.store = store
        self.runtime = runtime
        self.http_base = http_base
        self.https_base = https_base
        self.log_url = log_url
        self.advertised_host = advertised_host
        self.domain = domain
        self._access: dict[int, AccessToken] = {}
        self._conferences: dict[tuple[int, str], int] = {}  # (application id, conference name) -> session id
        self._conference_locks: dict[tuple[int, str], asyncio.Lock] = {}

    def route(self, request_uri: str) -> Route:
        """The rule a request URI reaches (`voxsim.routing.route` over the store); raises Refusal."""
        return routing.route(self.store, request_uri, self.domain)

    # -- sessions -----------------------------------------------------------------------------
    async def start(self, account: Account, application: Application, rule: Rule, *, custom_data: str = "",
                    user_id: int | None = None, initiator_address: str = "127.0.0.1",
                    conference_name: str = "", time_scale: float = 1.0) -> Session:
        scenarios = self.store.rule_scenarios(rule.rule_id)
        if not scenarios:
            raise VoxError(NO_SCENARIO_BOUND, "No scenario is bound to the rule")
        return await self._launch(account, application, rule.rule_id, rule.rule_name,
                                  [(s.scenario_name, s.scenario_script) for s in scenarios],
                                  custom_data=custom_data, user_id=user_id, initiator_address=initiator_address,
                                  conference_name=conference_name, time_scale=time_scale)

    async def conference(self, account: Account, application: Application, rule: Rule, name: str, *,
                         custom_data: str = "", user_id: int | None = None,
                         initiator_address: str = "127.0.0.1") -> Session:
        """The session of conference `name` in the application: the running one, else a new session of the
        rule with `conference_name` in its Started event (StartConference, callConference). Starts are
        serialised per name, so that two calls at once make one conference."""
        key = (application.application_id, name)
        lock = self._conference_locks.setdefault(key, asyncio.Lock())
        async with lock:
            session_id = self._conferences.get(key)
            session = self.runtime.session(session_id) if session_id is not None else None
            if session is not None and session.state == SessionState.RUNNING:
                return session
            session = await self.start(account, application, rule, custom_data=custom_data, user_id=user_id,
                                       initiator_address=initiator_address, conference_name=name)
            self._conferences[key] = session.session_id
            return session

    async def start_builtin(self, account: Account, application: Application, scenario_name: str, script: str, *,
                            rule_name: str = "", custom_data: str = "", user_id: int | None = None,
                            initiator_address: str = "127.0.0.1") -> Session:
        """A session of the application that runs voxsim's own `script` instead of a rule's scenarios.

        For what the platform does without a rule, such as a call arriving through a SIP registration
        bound to a user (`FORWARD_TO_USER`). The history row has no `rule_id` and `rule_name` (default
        ""); `scenario_name` names the script in the session's log.
        """
        return await self._launch(account, application, None, rule_name, [(scenario_name, script)],
                                  custom_data=custom_data, user_id=user_id, initiator_address=initiator_address)

    async def _launch(self, account: Account, application: Application, rule_id: int | None, rule_name: str,
                      scenarios: list[tuple[str, str]], *, custom_data: str, user_id: int | None,
                      initiator_address: str, conference_name: str = "", time_scale: float = 1.0) -> Session:
        try:  # before the history row exists: a session refused at the cap leaves no trace
            self.runtime.check_capacity(account.account_id)
        except SessionLimitReached as exc:
            raise VoxError(RATE_LIMIT_EXCEEDED, f"Rate limit exceed: {exc}") from exc
        row = self.store.create_session(account.account_id, application.application_id,
                                        application.application_name, rule_id, rule_name,
                                        user_id=user_id, custom_data=custom_data,
                                        initiator_address=initiator_address)
        session_id = row.call_session_history_id
        http_url, https_url = self.access_urls(session_id)
        return await self.runtime.start_session(
            account_id=account.account_id, application_id=application.application_id,
            application_name=application.application_name, rule_id=rule_id, rule_name=rule_name,
            scenarios=scenarios, session_id=session_id, custom_data=custom_data, access_url=http_url,
            access_secure_url=https_url, log_url=self.log_url(session_id), conference_name=conference_name,
            time_scale=time_scale)

    async def start_for_call(self, route: Route, *, user_id: int | None = None,
                             initiator_address: str = "127.0.0.1", refusal_status: int = 404,
                             time_scale: float = 1.0) -> Session:
        """A new session for one inbound call (one session per call, as on the platform); `user_id` is
        the calling user's. A rule that cannot start (no scenario bound) is a Refusal with
        `refusal_status`. `time_scale` > 1: the session runs in virtual time (simulated callers only)."""
        try:
            return await self.start(route.account, route.application, route.rule, user_id=user_id,
                                    initiator_address=initiator_address, time_scale=time_scale)
        except VoxError as error:
            raise self.refusal_for(error, refusal_status, f"rule {route.rule.rule_name}") from error

    @staticmethod
    def refusal_for(error: VoxError, status: int = 404, what: str = "session") -> Refusal:
        """The SIP answer to a call whose session could not start: 503 with Retry-After at the session cap (come
        back later, as an overloaded server says), else `status`."""
        if error.code == RATE_LIMIT_EXCEEDED:
            return Refusal(503, "Service Unavailable - too many sessions",
                           [("Retry-After", str(SESSION_LIMIT_RETRY_AFTER))])
        return Refusal(status, f"Not Found - {what}: {error.msg}")

    # -- media_session_access_url --------------------------------------------------------------
    def access_urls(self, session_id: int) -> tuple[str, str]:
        """`<base>/request/<HEX16>.<unix-ts>.<session>_<ip>/<HEX16>`, the platform's shape."""
        access = self._access.get(session_id)
        if access is None:
            token = f"{secrets.token_hex(8).upper()}.{int(time.time())}.{session_id}_{self.advertised_host}"
            access = self._access[session_id] = AccessToken(token, secrets.token_hex(8).upper())
            if len(self._access) % _PRUNE_EVERY == 0:
                self._prune()
        path = f"/request/{access.token}/{access.secret}"
        return self.http_base() + path, self.https_base() + path

    def _prune(self) -> None:
        """Forgets the access tokens (and conference names) of sessions the runtime no longer holds: nobody can
        reach those anyway, and the tables must not grow with every session ever run."""
        gone = [sid for sid in self._access if self.runtime.session(sid) is None]
        for sid in gone:
            del self._access[sid]
        for key, sid in list(self._conferences.items()):
            if self.runtime.session(sid) is None:
                del self._conferences[key]
                self._conference_locks.pop(key, None)

    def session_for_access(self, token: str, secret: str) -> int | None:
        try:
            session_id = int(token.split(".")[2].split("_")[0])
        except (IndexError, ValueError):
            return None
        access = self._access.get(session_id)
        if access is None or not secrets.compare_digest(access.token, token) \
                or not secrets.compare_digest(access.secret, secret):
            return None
        return session_id
