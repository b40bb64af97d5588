"""`GET /_voxsim/console`: a read-only web page of what the emulator holds right now.

Listeners, applications with their rules in routing order, users, SIP registrations with their
status, the SIP white list, and the newest sessions with links to their logs. Plain server-side
HTML (no JavaScript), refreshed by the browser every few seconds.
"""

from __future__ import annotations

import html
from typing import Any

from aiohttp import web

from mock_api.app import STORE, services_of
from mock_api.services import EmulatorServices
from voxsim.store import Store
from voxsim.store.history import HistoryQuery

RECENT_SESSIONS = 25

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 1.6em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: .4em 0; } td, th { padding: .2em .7em; text-align: left; }
th { background: #f1f1f1; } tr:nth-child(even) td { background: #fafafa; }
code { background: #f4f4f4; padding: 0 .25em; } .ok { color: #17803d; } .bad { color: #b42318; }
.muted { color: #777; }
"""


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def table(headers: list[str], rows: list[list[str]], empty: str) -> str:
    if not rows:
        return f'<p class="muted">{esc(empty)}</p>'
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def listeners_section(services: EmulatorServices) -> str:
    rows = [[esc(name), f"<code>{esc(info['url'])}</code>"] for name, info in services.listeners.items()]
    return "<h2>Listeners</h2>" + table(["listener", "address"], rows, "none")


def applications_section(store: Store, account_id: int) -> str:
    parts = ["<h2>Applications</h2>"]
    apps = store.list_applications(account_id)
    if not apps:
        parts.append('<p class="muted">No applications yet: create one with AddApplication or voxsim deploy.</p>')
    for app in apps:
        rules = store.rules_in_order(app.application_id)
        rows = []
        for rule in rules:
            scenarios = ", ".join(s.scenario_name for s in store.rule_scenarios(rule.rule_id)) or "—"
            exclude = f" except <code>{esc(rule.rule_pattern_exclude)}</code>" if rule.rule_pattern_exclude else ""
            rows.append([esc(rule.rule_name), f"<code>{esc(rule.rule_pattern)}</code>{exclude}", esc(scenarios)])
        users = ", ".join(u.user_name + ("" if u.user_active else " (inactive)")
                          for u in store.list_users(account_id, app.application_id)) or "none"
        parts.append(f"<h3><code>{esc(app.application_name)}</code> <span class='muted'>id "
                     f"{app.application_id}</span></h3>")
        parts.append(table(["rule", "pattern", "scenarios"], rows, "no rules"))
        parts.append(f"<p>Users: {esc(users)}</p>")
    return "".join(parts)


def registrations_section(store: Store, account_id: int) -> str:
    rows = []
    for reg in store.list_sip_registrations(account_id):
        state = '<span class="ok">registered</span>' if reg.successful else \
            f'<span class="bad">{esc(reg.status_code or "")} {esc(reg.error_message)}</span>'
        rows.append([esc(reg.sip_registration_id), f"<code>{esc(reg.sip_username)}@{esc(reg.proxy)}</code>", state,
                     esc(reg.binding.rule_name or reg.binding.user_name or "")])
    return "<h2>SIP registrations</h2>" + table(["id", "registration", "status", "bound to"], rows, "none")


def whitelist_section(store: Store, account_id: int) -> str:
    rows = [[f"<code>{esc(i.sip_whitelist_network)}</code>", esc(i.description)]
            for i in store.list_whitelist(account_id)]
    return "<h2>SIP white list</h2>" + table(["network", "description"], rows, "empty: no trunk can call")


def sessions_section(store: Store, account_id: int, services: EmulatorServices) -> str:
    total, sessions = store.find_sessions(account_id, HistoryQuery(desc_order=True), RECENT_SESSIONS, 0)
    rows = []
    for s in sessions:
        live = services.runtime.session(s.call_session_history_id) if services.runtime else None
        state = esc(live.state) if live is not None and not s.finished else esc(s.finish_reason or "running")
        rows.append([esc(s.call_session_history_id), esc(s.start_date), esc(s.application_name), esc(s.rule_name),
                     state, f'<a href="/_voxsim/sessions/{s.call_session_history_id}/log">log</a> · '
                        f'<a href="/_voxsim/sessions/{s.call_session_history_id}">state</a>'])
    title = f"<h2>Sessions <span class='muted'>(newest {len(sessions)} of {total})</span></h2>"
    return title + table(["id", "started (UTC)", "application", "rule", "state", ""], rows, "no sessions yet")


async def console(request: web.Request) -> web.Response:
    store, services = request.app[STORE], services_of(request.app)
    account = store.list_accounts()[0]
    body = "".join([
        f"<h1>voxsim <span class='muted'>account {esc(account.account_name)} ({account.account_id})</span></h1>",
        listeners_section(services), applications_section(store, account.account_id),
        sessions_section(store, account.account_id, services), registrations_section(store, account.account_id),
        whitelist_section(store, account.account_id),
    ])
    page = (f"<!doctype html><html><head><meta charset='utf-8'><meta http-equiv='refresh' content='5'>"
            f"<title>voxsim console</title><style>{STYLE}</style></head><body>{body}</body></html>")
    return web.Response(text=page, content_type="text/html")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/_voxsim/console", console)
    app.router.add_get("/_voxsim/", console)
