"""The emulator's own endpoints under /_voxsim/ (like LocalStack's /_localstack/).

They are a developer's controls and reveal the account's key, so only loopback clients may use
them unless the emulator was started with remote control allowed.

`GET /_voxsim/status` is what `voxsim status` prints: `health` plus the applications with their rules and
their users' registered contacts, each SIP registration's state, and the sessions still running.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from aiohttp import web

from mock_api.app import SERVICES, STORE, json_reply, services_of
from mock_api.services import EmulatorServices
from mock_api.sessions_http import find_sessions, session_summary
from voxsim.model import Application, SipRegistration
from voxsim.store import Store
from voxsim.store.history import HistoryQuery

STATUS_SESSIONS = 100


def is_loopback(remote: str | None) -> bool:
    """127.0.0.0/8, ::1, and 127.x as IPv4-mapped IPv6 (`::ffff:127.0.0.1`, what a dual-stack socket reports)."""
    try:
        address = ipaddress.ip_address((remote or "").split("%")[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return bool(address.is_loopback or (mapped is not None and mapped.is_loopback))


@web.middleware
async def loopback_only(request: web.Request, handler: Any) -> web.StreamResponse:
    if request.path.startswith("/_voxsim/") and not is_loopback(request.remote):
        services = request.app[SERVICES]
        if services is None or not services.allow_remote_control:
            return web.Response(status=403, content_type="application/json", text=json.dumps(
                {"error": "the /_voxsim/ controls answer loopback clients only; "
                          "start voxsim with --allow-remote-control to open them"}))
    return await handler(request)


async def health(request: web.Request) -> web.Response:
    return json_reply({"status": "ok", **services_of(request.app).health()})


async def account(request: web.Request) -> web.Response:
    store = request.app[STORE]
    acc = store.list_accounts()[0]
    return json_reply({"account_id": acc.account_id, "account_name": acc.account_name,
                       "account_email": acc.account_email, "api_key": acc.api_key})


async def reset(request: web.Request) -> web.Response:
    await services_of(request.app).reset()
    return json_reply({"status": "ok"})


def application_status(store: Store, services: EmulatorServices, app: Application) -> dict[str, Any]:
    rules = [{"rule_id": rule.rule_id, "rule_name": rule.rule_name, "rule_pattern": rule.rule_pattern,
              "rule_pattern_exclude": rule.rule_pattern_exclude,
              "scenarios": [s.scenario_name for s in store.rule_scenarios(rule.rule_id)]}
             for rule in store.rules_in_order(app.application_id)]
    users = [{"user_id": user.user_id, "user_name": user.user_name, "user_active": user.user_active,
              "address": f"{user.user_name}@{app.application_name}",
              "contacts": services.user_contacts(app.application_id, user.user_name)}
             for user in store.list_users(app.account_id, app.application_id)]
    return {"application_id": app.application_id, "application_name": app.application_name, "rules": rules,
            "users": users}


def registration_state(reg: SipRegistration) -> str:
    """One word for what the SIP side last saw of a registration (the record's flags, most telling first)."""
    if reg.deactivated:
        return "deactivated"
    if reg.successful:
        return "registered"
    if reg.in_progress:
        return "registering"
    return "failed" if reg.status_code or reg.error_message else "not registered"


def registration_status(reg: SipRegistration) -> dict[str, Any]:
    bound = reg.binding
    return {"sip_registration_id": reg.sip_registration_id, "sip_username": reg.sip_username, "proxy": reg.proxy,
            "state": registration_state(reg), "status_code": reg.status_code, "error_message": reg.error_message,
            "bound_to": bound.rule_name or bound.user_name or "", "application_name": bound.application_name}


async def status(request: web.Request) -> web.Response:
    store, services = request.app[STORE], services_of(request.app)
    account = store.list_accounts()[0]
    total, running = find_sessions(store, HistoryQuery(desc_order=True), "running", STATUS_SESSIONS, 0)
    calls = store.calls_of([row.call_session_history_id for row in running])
    return json_reply({
        "status": "ok", **services.health(),
        "account": {"account_id": account.account_id, "account_name": account.account_name},
        "applications": [application_status(store, services, app)
                         for app in store.list_applications(account.account_id)],
        "sip_registrations": [registration_status(reg) for reg in store.list_sip_registrations(account.account_id)],
        "sessions": [session_summary(services, row, calls[row.call_session_history_id]) for row in running],
        "running_sessions": total})


def add_routes(app: web.Application) -> None:
    app.middlewares.append(loopback_only)
    app.router.add_get("/_voxsim/health", health)
    app.router.add_get("/_voxsim/account", account)
    app.router.add_get("/_voxsim/status", status)
    app.router.add_post("/_voxsim/reset", reset)
