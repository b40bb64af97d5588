"""The console's overview and route tester, as JSON documents the page renders.

`overview(store, services)` is everything the first page shows: listeners, applications with their rules in routing
order and their users' registered contacts, SIP registrations with their state, the SIP white list, and the newest
sessions with an `error` for those that went wrong. It is recomputed whenever the store changes (the live feed,
`feed.py`), so it reads what `/_voxsim/status` reads and nothing slower.

`route_test(store, uri)` tells, for a request URI, the application it addresses and each rule's verdict
(`voxsim.routing.rule_verdict`: the edge's own matching, with its time limit), the winner being the first match.
"""

from __future__ import annotations

import time
from typing import Any

from mock_api.control import application_status, registration_status
from mock_api.services import EmulatorServices
from mock_api.sessions_http import find_sessions, session_summary
from voxsim import routing
from voxsim.runtime.session import FINISH_NORMAL
from voxsim.store import Store
from voxsim.store.history import HistoryQuery

RECENT_SESSIONS = 50


def session_error(summary: dict[str, Any]) -> str | None:
    """Why a session went wrong, or None: a finish reason other than normal termination, else a failed call."""
    reason = summary.get("finish_reason") or ""
    if summary.get("state") == "finished" and reason and reason != FINISH_NORMAL:
        return str(reason)
    for call in summary.get("calls", []):
        end = call.get("end_reason") or {}
        if not call.get("successful") and isinstance(end.get("code"), int) and end["code"] >= 400:
            return f"call {call.get('call_id')}: {end['code']} {end.get('description', '')}".strip()
    return None


def _absolute_expiry(application: dict[str, Any]) -> dict[str, Any]:
    """Contacts with `expires_at` (epoch seconds) instead of a countdown, so the document only changes when a
    binding does (the page counts down itself)."""
    now = time.time()
    for user in application["users"]:
        for contact in user["contacts"]:
            contact["expires_at"] = round(now + float(contact.pop("expires_in", 0) or 0))
    return application


def overview(store: Store, services: EmulatorServices) -> dict[str, Any]:
    account = store.list_accounts()[0]
    total, rows = find_sessions(store, HistoryQuery(desc_order=True), None, RECENT_SESSIONS, 0)
    calls = store.calls_of([row.call_session_history_id for row in rows])
    sessions = []
    for row in rows:
        summary = session_summary(services, row, calls[row.call_session_history_id])
        summary["error"] = session_error(summary)
        sessions.append(summary)
    return {
        "account": {"account_id": account.account_id, "account_name": account.account_name},
        "listeners": {name: dict(info) for name, info in services.listeners.items()},
        "applications": [_absolute_expiry(application_status(store, services, app))
                         for app in store.list_applications(account.account_id)],
        "sip_registrations": [registration_status(reg) for reg in store.list_sip_registrations(account.account_id)],
        "whitelist": [{"network": item.sip_whitelist_network, "description": item.description}
                      for item in store.list_whitelist(account.account_id)],
        "sessions": sessions, "total_sessions": total,
    }


def route_test(store: Store, uri: str) -> dict[str, Any]:
    """Where `uri` goes: `application` and `destination`, each rule with its `verdict`, and `winner` (a rule
    name, or None); `refusal` (status, reason) when the edge would not route it at all."""
    result: dict[str, Any] = {"uri": uri, "application": None, "destination": None, "rules": [], "winner": None,
                              "refusal": None}
    try:
        _, application, destination = routing.resolve(store, uri)
    except routing.Refusal as refusal:
        result["refusal"] = {"status": refusal.status, "reason": refusal.reason}
        return result
    result["application"], result["destination"] = application.application_name, destination
    for rule in store.rules_in_order(application.application_id):
        verdict = routing.rule_verdict(rule, destination)
        if verdict == "match" and result["winner"] is None:
            result["winner"] = rule.rule_name
        elif verdict == "match":
            verdict = "match (after the winner)"
        result["rules"].append({
            "rule_id": rule.rule_id, "rule_name": rule.rule_name, "rule_pattern": rule.rule_pattern,
            "rule_pattern_exclude": rule.rule_pattern_exclude, "verdict": verdict,
            "scenarios": [s.scenario_name for s in store.rule_scenarios(rule.rule_id)]})
    if result["winner"] is None:
        result["refusal"] = {"status": 404, "reason": f"Not Found - no rule of {application.application_name} "
                                                      f"matches '{destination}'"}
    return result
