"""A session's timeline for the console: one list, in time order, of everything that happened in it.

Joined from what the emulator keeps of a session, so it reads the same while the session runs and after a
restart: the log the runtime writes to the store (its `[event]` and `[command]` lines are the scenario's
events and commands, `[session]` its life, `[error]`/`[voxsim]` what went wrong, the rest the scenario's own
`Logger.write` lines), the SIP messages of every leg (the store's SIP journal), the routing decision (the
application's rules against the call's destination, as they are now), and the recordings. While the runtime
still holds the session, its calls come with what each one heard and said (`/_voxsim/calls/<id>/heard`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from mock_api.console.overview import session_error
from mock_api.sessions_http import session_summary
from voxsim import routing
from voxsim.model import CallSession
from voxsim.store import Store

MAX_ENTRIES = 5000
"""The newest entries a timeline shows; the log URL has the rest."""

_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) (.*)$")
_TAG = re.compile(r"^\[(event|command|session|error|voxsim)\] ?(.*)$", re.DOTALL)
_MEDIA = re.compile(r"(?i)player|recorder|record|playback|\.say\b|media|asr|websocket|progresstone|conference")
_KIND_OF_TAG = {"event": "event", "command": "command", "session": "session", "error": "error",
                "voxsim": "voxsim"}


def epoch_ms(text: str) -> float:
    """`YYYY-MM-DD HH:MM:SS[.mmm]` (UTC, the store's and the logs' form) in ms since the epoch; 0 if unreadable."""
    for form in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text, form).replace(tzinfo=UTC).timestamp() * 1000
        except ValueError:
            continue
    return 0.0


def entry(t: float, ts: str, kind: str, title: str, detail: str = "", **extra: Any) -> dict[str, Any]:
    return {"t": t, "ts": ts, "kind": kind, "title": title, "detail": detail, "error": kind == "error", **extra}


def log_entries(log: str) -> list[dict[str, Any]]:
    """One entry per log line (lines without a timestamp continue the one before)."""
    entries: list[dict[str, Any]] = []
    for line in log.splitlines():
        found = _LINE.match(line)
        if found is None:
            if entries:
                entries[-1]["detail"] += ("\n" if entries[-1]["detail"] else "") + line
            continue
        ts, text = found.groups()
        tagged = _TAG.match(text)
        kind, body = (_KIND_OF_TAG[tagged.group(1)], tagged.group(2)) if tagged else ("log", text)
        if kind in ("event", "command") and _MEDIA.search(body.split(" ", 1)[0] + _unit_of(body)):
            kind = "media"
        title, _, detail = body.partition(" ")
        if kind in ("log", "session", "error", "voxsim"):
            title, detail = body, ""
        entries.append(entry(epoch_ms(ts), ts, kind, title, detail))
    return entries


def _unit_of(body: str) -> str:
    """` player=…` and the like in an event line: the media unit it is about."""
    found = re.search(r" (player|recorder|asr|websocket|conference)=", body)
    return found.group(1) if found else ""


def routing_entry(store: Store, row: CallSession, destination: str | None, t: float, ts: str) -> dict[str, Any]:
    """How the session's rule was chosen: each rule of its application against the destination, in order."""
    title = f"application {row.application_name}, rule {row.rule_name or '(none: StartScenarios or built in)'}"
    if destination is None:
        return entry(t, ts, "routing", title, "no inbound call: the session was started, not routed")
    rules = store.rules_in_order(row.application_id)
    lines = [f"destination '{destination}'"]
    for rule, verdict in routing.explain(rules, destination):
        exclude = f" except /{rule.rule_pattern_exclude}/" if rule.rule_pattern_exclude else ""
        lines.append(f"  {rule.rule_name}: /{rule.rule_pattern}/{exclude} -> {verdict}")
    return entry(t, ts, "routing", title, "\n".join(lines), destination=destination)


def sip_entries(store: Store, session_id: int) -> list[dict[str, Any]]:
    entries = []
    for message in store.sip_messages_of(session_id):
        arrow = "<-" if message.direction == "in" else "->"
        entries.append(entry(epoch_ms(message.ts), message.ts, "sip", message.first_line, message.text,
                             direction=message.direction, peer=f"{arrow} {message.transport} {message.peer}",
                             sip_call_id=message.sip_call_id,
                             error=message.first_line.startswith("SIP/2.0 ") and _status(message.first_line) >= 400))
    return entries


def _status(first_line: str) -> int:
    parts = first_line.split(" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def live_calls(services: Any, session_id: int) -> list[dict[str, Any]]:
    """The scenario's calls while the runtime holds the session, each with where its audio is."""
    runtime = services.runtime
    live = runtime.session(session_id) if runtime is not None else None
    if live is None:
        return []
    calls = []
    for call in live.snapshot()["calls"]:
        audio = runtime.call_audio(call["call_id"])
        if audio is not None:
            base = f"/_voxsim/calls/{call['call_id']}"
            call["audio"] = {"heard_wav": f"{base}/heard.wav", "said_wav": f"{base}/said.wav",
                             "heard": [p.as_dict() for p in audio.prompts], "said": [p.as_dict() for p in audio.said]}
        calls.append(call)
    return calls


def timeline(store: Store, services: Any, row: CallSession) -> dict[str, Any]:
    session_id = row.call_session_history_id
    recorder, journal = getattr(services, "recorder", None), getattr(services, "sip_journal", None)
    if recorder is not None:
        recorder.flush(session_id)  # the lines the runtime wrote and has not flushed yet
    if journal is not None:
        journal.flush()  # and the SIP messages the edge handed over
    calls = store.calls_of([session_id])[session_id]
    summary = session_summary(services, row, calls)
    summary["error"] = session_error(summary)
    entries = log_entries(store.get_session_log(session_id))
    start_t, start_ts = (entries[0]["t"], entries[0]["ts"]) if entries else (epoch_ms(row.start_date), row.start_date)
    inbound = next((call for call in calls if call.incoming), None)
    records = [record.api() for record in store.records_of([session_id])[session_id]]
    entries.append(routing_entry(store, row, inbound.local_number if inbound else None, start_t, start_ts))
    entries += sip_entries(store, session_id)
    for record in records:
        ts = str(record.get("start_time", ""))
        entries.append(entry(epoch_ms(ts), ts, "record", f"recording {record.get('record_name', '')}",
                             str(record.get("record_url", "")), url=record.get("record_url")))
    order = {"routing": 0, "session": 1}
    entries.sort(key=lambda e: (e["t"], order.get(e["kind"], 2)))
    omitted = max(0, len(entries) - MAX_ENTRIES)
    return {"session": summary, "calls": live_calls(services, session_id), "records": records,
            "entries": entries[omitted:], "omitted": omitted}
