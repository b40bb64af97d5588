"""HTTP surfaces of running sessions.

- `/request/<token>/<secret>[/...]`: a session's media_session_access_url. Any method; fires
  `AppEvents.HttpRequest` and answers the handler's return value (strings as they are, anything
  else as JSON).
- `/_voxsim/simulate/...`: a virtual caller that routes like a real inbound call, so scenario
  logic can be exercised with no SIP at all.
- `/_voxsim/sessions/<N>` (state and events) and `/_voxsim/sessions/<N>/log` (the log as text).
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from mock_api.app import SERVICES, json_reply
from voxsim.errors import VoxError
from voxsim.routing import Refusal

SIMULATED_SOURCE = "127.0.0.1"
_DTMF_TYPES = {"rfc2833": 1, "info": 3}  # DTMFType.TELEPHONE_EVENT, DTMFType.SIP_INFO


def _services(request: web.Request) -> Any:
    return request.app[SERVICES]


def _error(status: int, message: str) -> web.Response:
    return json_reply({"error": message}, status=status)


async def media_session_request(request: web.Request) -> web.Response:
    services = _services(request)
    session_id = services.session_starter.session_for_access(request.match_info["token"], request.match_info["secret"])
    if session_id is None:
        return web.Response(status=404, text="no such media session")
    body = await request.text() if request.can_read_body else ""
    status, content_type, text = await services.runtime.http_request(
        session_id, request.method, request.path, body, dict(request.headers))
    return web.Response(status=status, text=text, content_type=content_type.split(";")[0])


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


async def simulate_call(request: web.Request) -> web.Response:
    body = await _json_body(request)
    to_uri, from_uri = str(body.get("to") or ""), str(body.get("from") or "sip:caller@127.0.0.1")
    headers = body.get("headers") or {}
    if not to_uri or not isinstance(headers, dict):
        return _error(400, "'to' (a SIP URI) is required and 'headers' must be an object")
    services = _services(request)
    try:
        route = services.session_starter.route(to_uri)
        session = await services.session_starter.start_for_call(route, initiator_address=SIMULATED_SOURCE)
    except Refusal as error:
        return _error(error.status, error.reason)
    caller = await services.runtime.simulate_call(
        session, callerid=_uri_user(from_uri), display_name=str(body.get("display_name") or ""),
        destination=route.destination, from_uri=from_uri, to_uri=to_uri,
        headers={str(k): str(v) for k, v in headers.items()})
    return json_reply({"call_session_history_id": session.session_id, "call_id": caller.call_id})


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


async def session_state(request: web.Request) -> web.Response:
    session = _services(request).runtime.session(_session_id(request))
    if session is None:
        return _error(404, "no such session in memory (finished sessions stay in GetCallHistory)")
    return json_reply(session.snapshot())


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
    app.router.add_post("/_voxsim/simulate/calls/{call_id}/dtmf", simulate_dtmf)
    app.router.add_post("/_voxsim/simulate/calls/{call_id}/hangup", simulate_hangup)
    app.router.add_get("/_voxsim/sessions/{session_id}", session_state)
    app.router.add_get("/_voxsim/sessions/{session_id}/log", session_log)
