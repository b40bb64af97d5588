"""Starting VoxEngine sessions: from StartScenarios, from an inbound call, from a simulated caller.

This is the core's side of "the life of a call" (design §"The life of an inbound call", steps
3-4): a request URI becomes account, application and destination (`voxsim.routing`), the
application's rules pick one, the store allocates the `call_session_history_id`, and the
runtime starts the rule's scenarios in one context. The SIP edge and the Management API both
come through here; neither knows the other. A call the platform handles without a rule (one
arriving through a SIP registration bound to a user) runs a built-in script instead
(`start_builtin` with `FORWARD_TO_USER`).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from voxsim import routing
from voxsim.errors import NO_SCENARIO_BOUND, VoxError
from voxsim.model import Account, Application, Rule
from voxsim.runtime import Runtime, Session
from voxsim.store import Store

# The built-in scenario of a call that reaches a user without a rule (a SIP registration bound to a
# user, reference §1.7): the call is offered with `destination` = the user's name, and the shim's
# forwardCallToUser calls that user (forked to the user's registered contacts) and bridges the two.
FORWARD_TO_USER = "VoxEngine.forwardCallToUser();"


class RouteError(Exception):
    """An inbound call that cannot be routed; `status` is the SIP response to answer with."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Route:
    account: Account
    application: Application
    rule: Rule
    destination: str


@dataclass(frozen=True)
class AccessToken:
    """The two secret path parts of a media_session_access_url."""

    token: str
    secret: str


class Sessions:
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

    # -- routing ------------------------------------------------------------------------------
    def resolve(self, request_uri: str) -> tuple[Account, Application, str]:
        """Account, application and destination of `dest@app.account.<domain>` or the id form."""
        target = routing.parse_request_uri(request_uri, self.domain)
        if target is None:
            raise RouteError(404, "Not Found - not a voxsim application address")
        if isinstance(target, routing.IdTarget):
            account = self.store.find_account(account_id=target.account_id)
            app = account and self.store.find_application(account.account_id,
                                                          application_id=target.application_id)
        else:
            account = self.store.find_account(account_name=target.account_name)
            app = account and self.store.find_application(account.account_id,
                                                          application_name=target.application_name)
        if not account or not app:
            raise RouteError(404, "Not Found - no such application")
        return account, app, target.destination

    def match(self, account: Account, application: Application, destination: str) -> Route:
        rule = routing.match_rule(self.store.rules_in_order(application.application_id), destination)
        if rule is None:
            raise RouteError(404, f"Not Found - no rule of {application.application_name} matches '{destination}'")
        return Route(account, application, rule, destination)

    def route(self, request_uri: str) -> Route:
        return self.match(*self.resolve(request_uri))

    # -- sessions -----------------------------------------------------------------------------
    async def start(self, account: Account, application: Application, rule: Rule, *, custom_data: str = "",
                    user_id: int | None = None, initiator_address: str = "127.0.0.1") -> Session:
        scenarios = self.store.rule_scenarios(rule.rule_id)
        if not scenarios:
            raise VoxError(NO_SCENARIO_BOUND, "No scenario is bound to the rule")
        return await self._launch(account, application, rule.rule_id, rule.rule_name,
                                  [(s.scenario_name, s.scenario_script) for s in scenarios],
                                  custom_data=custom_data, user_id=user_id, initiator_address=initiator_address)

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
                      initiator_address: str) -> Session:
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
            access_secure_url=https_url, log_url=self.log_url(session_id))

    async def start_for_call(self, route: Route, initiator_address: str = "127.0.0.1") -> Session:
        """A new session for one inbound call (one session per call, as on the platform)."""
        try:
            return await self.start(route.account, route.application, route.rule,
                                    initiator_address=initiator_address)
        except VoxError as error:
            raise RouteError(404, f"Not Found - rule {route.rule.rule_name}: {error.msg}") from error

    # -- media_session_access_url --------------------------------------------------------------
    def access_urls(self, session_id: int) -> tuple[str, str]:
        """`<base>/request/<HEX16>.<unix-ts>.<session>_<ip>/<HEX16>`, the platform's shape."""
        access = self._access.get(session_id)
        if access is None:
            token = f"{secrets.token_hex(8).upper()}.{int(time.time())}.{session_id}_{self.advertised_host}"
            access = self._access[session_id] = AccessToken(token, secrets.token_hex(8).upper())
        path = f"/request/{access.token}/{access.secret}"
        return self.http_base() + path, self.https_base() + path

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
