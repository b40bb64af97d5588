"""`/_voxsim/console`: the place where a developer watches calls (docs/console.md).

A static page (`static/`: plain HTML, JavaScript and CSS, no build step) over these JSON endpoints:

- `GET /_voxsim/console/api/overview` and `/overview/events` (server-sent events, `overview`): listeners,
  applications with their rules and users' registered contacts, SIP registrations, the white list, the newest
  sessions with their errors (`overview.py`).
- `GET /_voxsim/console/api/route?uri=`: the route tester, each rule's verdict for a request URI.
- `GET /_voxsim/console/api/sessions/<N>/timeline` and `/events` (server-sent events, `timeline`): a session's
  timeline: SIP messages, routing, events, commands, log lines, media, recordings (`timeline.py`).
- `GET /_voxsim/calls/<call_id>/audio.ws`: a call's audio as it plays, PCM over a WebSocket (`audio.py`).

Calling from the browser uses the simulated caller's endpoints (`/_voxsim/simulate/...`).
"""

from __future__ import annotations

import json
from pathlib import Path

from aiohttp import web

from mock_api.app import STORE, json_reply, services_of
from mock_api.console import feed
from mock_api.console.audio import call_audio_ws
from mock_api.console.overview import overview, route_test
from mock_api.console.timeline import timeline
from voxsim.errors import VoxError
from voxsim.model import CallSession
from voxsim.store import Store

STATIC = Path(__file__).with_name("static")


async def page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


async def overview_json(request: web.Request) -> web.Response:
    return json_reply(overview(request.app[STORE], services_of(request.app)))


async def overview_events(request: web.Request) -> web.StreamResponse:
    store, services = request.app[STORE], services_of(request.app)
    return await feed.stream(request, store, "overview", lambda: overview(store, services))


async def route_json(request: web.Request) -> web.Response:
    uri = request.query.get("uri", "").strip()
    if not uri:
        return json_reply({"error": "'uri' (a request URI such as 100@app.account.voximplant.com) is required"},
                          status=400)
    return json_reply(route_test(request.app[STORE], uri))


def _session_row(request: web.Request) -> CallSession:
    store: Store = request.app[STORE]
    try:
        return store.get_session(int(request.match_info["session_id"]))
    except (ValueError, VoxError) as exc:
        raise web.HTTPNotFound(text=json.dumps({"error": "no such session"}), content_type="application/json") from exc


async def timeline_json(request: web.Request) -> web.Response:
    row = _session_row(request)
    return json_reply(timeline(request.app[STORE], services_of(request.app), row))


async def timeline_events(request: web.Request) -> web.StreamResponse:
    row, store, services = _session_row(request), request.app[STORE], services_of(request.app)

    def compute() -> dict[str, object]:
        try:
            return timeline(store, services, store.get_session(row.call_session_history_id))
        except VoxError:  # gone with a reset while the page was open
            return {"gone": True}

    return await feed.stream(request, store, "timeline", compute)


def add_routes(app: web.Application) -> None:
    feed.install(app)
    for path in ("/_voxsim/console", "/_voxsim/console/", "/_voxsim/"):
        app.router.add_get(path, page)
    app.router.add_static("/_voxsim/console/static/", STATIC, append_version=False)
    app.router.add_get("/_voxsim/console/api/overview", overview_json)
    app.router.add_get("/_voxsim/console/api/overview/events", overview_events)
    app.router.add_get("/_voxsim/console/api/route", route_json)
    app.router.add_get("/_voxsim/console/api/sessions/{session_id}/timeline", timeline_json)
    app.router.add_get("/_voxsim/console/api/sessions/{session_id}/events", timeline_events)
    app.router.add_get("/_voxsim/calls/{call_id}/audio.ws", call_audio_ws)
