"""HTTP surfaces of running sessions.

- `/request/<token>/<secret>[/...]`: a session's media_session_access_url. Any method; fires
  `AppEvents.HttpRequest` and answers the handler's return value (strings as they are, anything
  else as JSON).
- `/_voxsim/simulate/...`: a virtual caller that routes like a real inbound call, so scenario
  logic can be exercised with no SIP at all. With `"script"` (a caller script, voxsim/scripted_caller.py) a
  scripted caller holds the conversation; its transcript is at `/_voxsim/calls/<call_id>/transcript`. `"to"` may
  be one of the account's phone numbers (`+12125550100`): a call from the PSTN (`clientType()` "pstn", `callerid`
  the `"from"` number without `+`). With `"speed": N` (1 to 1000) the session runs in virtual time: its timers
  and its media N times faster (docs/testing.md).
- `/_voxsim/sessions` (the list, newest first: `?state=running|finished`, `?application=` id or short or full
  name, `?count=` (default 20, at most 1000), `?offset=`), `/_voxsim/sessions/<N>` (state and events while the
  runtime holds the session; afterwards, and after a restart, what the store kept: its history row, calls,
  recordings and log URL) and `/_voxsim/sessions/<N>/log` (the log as text).
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from mock_api.app import SERVICES, STORE, json_reply
from voxsim.errors import VoxError
from voxsim.model import DOMAIN_SUFFIX, CallSession
from voxsim.routing import Refusal, caller_number
from voxsim.scripted_caller import CallerScriptError, parse_caller_script
from voxsim.store import Store
from voxsim.store.applications import short_application_name
from voxsim.store.history import HistoryQuery

SIMULATED_SOURCE = "127.0.0.1"
_DTMF_TYPES = {"rfc2833": 1, "info": 3}  # DTMFType.TELEPHONE_EVENT, DTMFType.SIP_INFO
LIST_COUNT, LIST_MAX_COUNT = 20, 1000
SESSION_STATES = ("running", "finished")


def _services(request: web.Request) -> Any:
    return request.app[SERVICES]


def _error(status: int, message: str) -> web.Response:
    return json_reply({"error": message}, status=status)


async def media_session_request(request: web.Request) -> web.StreamResponse:
    services = _services(request)
    session_id = services.session_starter.session_for_access(request.match_info["token"], request.match_info["secret"])
    if session_id is None:
        return web.Response(status=404, text="no such media session")
    if request.headers.get("Upgrade", "").lower() == "websocket":
        return await _media_session_websocket(request, services, session_id)
    body = await request.text() if request.can_read_body else ""
    status, content_type, text = await services.runtime.http_request(
        session_id, request.method, request.path, body, dict(request.headers))
    return web.Response(status=status, text=text, content_type=content_type.split(";")[0])


async def _media_session_websocket(request: web.Request, services: Any, session_id: int) -> web.StreamResponse:
    """A WebSocket to the access URL: the scenario's (AppEvents.WebSocket) once it allowed connections, else 403."""
    refusal = services.runtime.websocket_refusal(session_id)
    if refusal is not None:  # answered before the upgrade: the client sees the HTTP status
        return web.Response(status=403, text=refusal)
    ws = web.WebSocketResponse(autoping=True)
    await ws.prepare(request)
    served = services.runtime.accept_websocket(session_id, ws, request.path, dict(request.headers))
    if isinstance(served, str):
        await ws.close(code=1013, message=served.encode()[:120])
        return ws
    await served
    return ws


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json() if request.can_read_body else {}
    except ValueError as exc:
        raise web.HTTPBadRequest(text=json.dumps({"error": "the body must be a JSON object"}),
                                 content_type="application/json") from exc
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text=json.dumps({"error": "the body must be a JSON object"}),
                                 content_type="application/json")
    return body


def _uri_user(uri: str) -> str:
    text = uri.split(":", 1)[1] if uri.startswith(("sip:", "sips:")) else uri
    return text.split("@", 1)[0] if "@" in text else ""


MAX_SPEED = 1000
"""The fastest virtual time of a simulated call (its 20 ms media ticks every 20 µs, in bursts)."""


async def simulate_call(request: web.Request) -> web.Response:
    body = await _json_body(request)
    to_uri, from_uri = str(body.get("to") or ""), str(body.get("from") or "sip:caller@127.0.0.1")
    headers = body.get("headers") or {}
    if not to_uri or not isinstance(headers, dict):
        return _error(400, "'to' (a SIP URI) is required and 'headers' must be an object")
    script = None
    if body.get("script") is not None:  # a scripted caller holds the conversation (voxsim/scripted_caller.py)
        try:
            script = parse_caller_script(body["script"], "script")
        except CallerScriptError as error:
            return _error(400, str(error))
    speed = body.get("speed", 1)
    if isinstance(speed, bool) or not isinstance(speed, int | float) or not 1 <= speed <= MAX_SPEED:
        return _error(400, f"'speed' (virtual time: how many times faster the session runs) is a number from 1 "
                           f"to {MAX_SPEED}")
    services = _services(request)
    try:
        route = services.session_starter.route(to_uri)
        session = await services.session_starter.start_for_call(route, initiator_address=SIMULATED_SOURCE,
                                                                time_scale=float(speed))
    except Refusal as error:
        return _error(error.status, error.reason)
    callerid = caller_number(from_uri) if route.phone_number else _uri_user(from_uri)
    caller = await services.runtime.simulate_call(
        session, callerid=callerid, display_name=str(body.get("display_name") or ""),
        destination=route.destination, from_uri=from_uri, to_uri=to_uri,
        headers={str(k): str(v) for k, v in headers.items()}, client_type=route.client_type)
    conversations = getattr(services, "conversations", None)
    if script is not None and conversations is not None:
        conversations.start(caller.call_id, session.session_id, script)
    return json_reply({"call_session_history_id": session.session_id, "call_id": caller.call_id})


async def call_transcript(request: web.Request) -> web.Response:
    """What a scripted caller's conversation gave so far (`done` once it finished)."""
    conversations = getattr(_services(request), "conversations", None)
    transcript = conversations.transcript(request.match_info["call_id"]) if conversations is not None else None
    if transcript is None:
        return _error(404, "no scripted caller on a call with that id")
    return json_reply(transcript.as_dict())


def _caller(request: web.Request) -> Any:
    caller = _services(request).runtime.virtual_caller(request.match_info["call_id"])
    if caller is None:
        raise web.HTTPNotFound(text=json.dumps({"error": "no simulated call with that id"}),
                               content_type="application/json")
    return caller


async def simulate_dtmf(request: web.Request) -> web.Response:
    caller = _caller(request)
    body = await _json_body(request)
    digits, mode = str(body.get("digits") or ""), str(body.get("mode") or "rfc2833")
    if not digits or any(d not in "0123456789*#ABCD" for d in digits):
        return _error(400, "'digits' must be a string of 0-9, *, #, A-D")
    if mode == "inband":  # tones in the caller's audio: the scenario's in-band detector hears them
        caller.press_inband(digits)
    elif mode in _DTMF_TYPES:
        caller.dtmf(digits, _DTMF_TYPES[mode])
    else:
        return _error(400, "'mode' is one of rfc2833 (default), inband, info")
    return json_reply({"status": "ok"})


async def simulate_hangup(request: web.Request) -> web.Response:
    _caller(request).hangup()
    return json_reply({"status": "ok"})


def _session_id(request: web.Request) -> int:
    try:
        return int(request.match_info["session_id"])
    except ValueError as exc:
        raise web.HTTPNotFound() from exc


def _live(services: Any, session_id: int) -> Any:
    return services.runtime.session(session_id) if services.runtime is not None else None


def _state(row: CallSession, live: Any) -> str:
    """The store says whether a session finished; the runtime, while it holds one, says how far it got."""
    if row.finished:
        return "finished"
    return str(live.state) if live is not None else "running"


def session_summary(services: Any, row: CallSession, calls: list[Any]) -> dict[str, Any]:
    """One line of `/_voxsim/sessions` (and of `/_voxsim/status`'s live sessions)."""
    session_id = row.call_session_history_id
    live = _live(services, session_id)
    duration = row.duration if row.finished or live is None else round(live.duration(), 1)
    return {"session_id": session_id, "application_id": row.application_id,
            "application_name": row.application_name, "rule_id": row.rule_id, "rule_name": row.rule_name,
            "start_date": row.start_date, "state": _state(row, live), "finish_reason": row.finish_reason,
            "duration": duration, "calls": [call.api() for call in calls],
            "log_url": services.session_log_url(session_id)}


def _application_query(store: Store, text: str) -> HistoryQuery:
    if text.isdigit():
        return HistoryQuery(application_id=int(text), desc_order=True)
    account = store.list_accounts()[0].account_name
    full = f"{short_application_name(text, account)}.{account}.{DOMAIN_SUFFIX}"
    return HistoryQuery(application_names=[text, full], desc_order=True)


def _paging(request: web.Request) -> tuple[int, int]:
    try:
        count = int(request.query.get("count", LIST_COUNT))
        offset = int(request.query.get("offset", 0))
    except ValueError as exc:
        raise _bad_request("'count' and 'offset' are whole numbers") from exc
    if not 0 < count <= LIST_MAX_COUNT or offset < 0:
        raise _bad_request(f"'count' is 1 to {LIST_MAX_COUNT}, 'offset' 0 or more")
    return count, offset


def _bad_request(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=json.dumps({"error": message}), content_type="application/json")


def find_sessions(store: Store, query: HistoryQuery, state: str | None, count: int,
                  offset: int) -> tuple[int, list[CallSession]]:
    """(all matches, one page), newest first. The store filters everything but the state; with a state the
    rows are read whole and filtered here (an emulator's history is small)."""
    account_id = store.list_accounts()[0].account_id
    if state is None:
        return store.find_sessions(account_id, query, count, offset)
    total, _ = store.find_sessions(account_id, query, 0, 0)
    _, rows = store.find_sessions(account_id, query, total, 0)
    matching = [row for row in rows if row.finished == (state == "finished")]
    return len(matching), matching[offset:offset + count]


async def sessions_list(request: web.Request) -> web.Response:
    store, services = request.app[STORE], _services(request)
    state = request.query.get("state") or None
    if state is not None and state not in SESSION_STATES:
        return _error(400, "'state' is running or finished")
    application = request.query.get("application", "").strip()
    query = _application_query(store, application) if application else HistoryQuery(desc_order=True)
    count, offset = _paging(request)
    total, rows = find_sessions(store, query, state, count, offset)
    calls = store.calls_of([row.call_session_history_id for row in rows])
    result = [session_summary(services, row, calls[row.call_session_history_id]) for row in rows]
    return json_reply({"result": result, "total_count": total, "count": len(result)})


def stored_session(store: Store, services: Any, row: CallSession) -> dict[str, Any]:
    """What the store keeps of a session the runtime no longer holds (its events and commands were in memory)."""
    session_id = row.call_session_history_id
    records = store.records_of([session_id])[session_id]
    return {"session_id": session_id, "account_id": row.account_id, "application_id": row.application_id,
            "application_name": row.application_name, "rule_id": row.rule_id, "rule_name": row.rule_name,
            "state": _state(row, None), "finish_reason": row.finish_reason, "start_date": row.start_date,
            "duration": row.duration, "custom_data": row.custom_data,
            "calls": [call.api() for call in store.calls_of([session_id])[session_id]],
            "records": [record.api() for record in records], "log_url": services.session_log_url(session_id),
            "source": "store"}


async def session_state(request: web.Request) -> web.Response:
    services, session_id = _services(request), _session_id(request)
    session = _live(services, session_id)
    if session is not None:
        return json_reply({**session.snapshot(), "source": "runtime"})
    store: Store = request.app[STORE]
    try:
        row = store.get_session(session_id)
    except VoxError:
        return _error(404, "no such session")
    return json_reply(stored_session(store, services, row))


async def session_log(request: web.Request) -> web.Response:
    services = _services(request)
    session_id = _session_id(request)
    services.recorder.flush(session_id)
    try:
        services.store.get_session(session_id)
    except VoxError:
        return web.Response(status=404, text="no such session\n")
    return web.Response(text=services.store.get_session_log(session_id), content_type="text/plain")


def add_routes(app: web.Application) -> None:
    for path in ("/request/{token}/{secret}", "/request/{token}/{secret}/{tail:.*}"):
        app.router.add_route("*", path, media_session_request)
    app.router.add_post("/_voxsim/simulate/call", simulate_call)
    app.router.add_get("/_voxsim/calls/{call_id}/transcript", call_transcript)
    app.router.add_post("/_voxsim/simulate/calls/{call_id}/dtmf", simulate_dtmf)
    app.router.add_post("/_voxsim/simulate/calls/{call_id}/hangup", simulate_hangup)
    app.router.add_get("/_voxsim/sessions", sessions_list)
    app.router.add_get("/_voxsim/sessions/{session_id}", session_state)
    app.router.add_get("/_voxsim/sessions/{session_id}/log", session_log)
