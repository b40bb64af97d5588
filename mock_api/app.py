"""The Management API over HTTP: both request shapes, auth, envelopes and errors.

Shape A: `/platform_api/<Method>[/]`, GET or POST. Shape B: `POST /platform_api` with a
`cmd=<Method>` field (what the official Python and Node clients send). Query, urlencoded,
multipart and JSON-object parameters are merged. API errors answer HTTP 200 with
`{"error": {"code", "msg"}}`, as the platform does.
"""

from __future__ import annotations

import inspect
import json
import logging
from typing import Any

from aiohttp import web

from mock_api import auth, scenario_api
from mock_api.methods import Context, audit_log, authorized_ips, lookup
from mock_api.official_methods import OFFICIAL_METHODS
from mock_api.params import Params
from mock_api.services import EmulatorServices
from voxsim.errors import MISSING_CMD, UNKNOWN_COMMAND, VoxError
from voxsim.store import Store

log = logging.getLogger("voxsim.api")

STORE = web.AppKey("store", Store)
SERVICES = web.AppKey[EmulatorServices | None]("services")
"""The emulator around the API; None when the API runs alone (tests of the methods)."""

_OFFICIAL = {name.lower(): name for name in OFFICIAL_METHODS}


def json_reply(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(body, ensure_ascii=False), status=status,
                        content_type="application/json", charset="utf-8")


def error_reply(error: VoxError) -> web.Response:
    return json_reply({"error": {"code": error.code, "msg": error.msg}})


async def read_params(request: web.Request) -> dict[str, str]:
    """Merge the query string with an urlencoded, multipart or JSON-object body (body wins)."""
    values: dict[str, str] = dict(request.query)
    if request.method != "POST" or not request.can_read_body:
        return values
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            values.update({k: _as_text(v) for k, v in body.items() if v is not None})
        return values
    form = await request.post()
    for key, value in form.items():
        if isinstance(value, web.FileField):
            value = value.file.read().decode("utf-8", "replace")
        values[key] = str(value)
    return values


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


def not_emulated(name: str) -> VoxError:
    return VoxError(UNKNOWN_COMMAND, f"The '{name}' method is not emulated by voxsim (see docs/parity.md)")


async def handle_platform_api(request: web.Request) -> web.Response:
    try:
        values = await read_params(request)
    except ValueError:
        return error_reply(VoxError(101, "Invalid arguments: the request body cannot be read"))
    name = request.match_info.get("method") or values.get("cmd", "")
    return await dispatch(request, name.strip(), values)


async def dispatch(request: web.Request, name: str, values: dict[str, str]) -> web.Response:
    if not name:
        return error_reply(VoxError(MISSING_CMD, "Missing 'cmd' parameter"))
    spec = lookup(name)
    if spec is None:
        official = _OFFICIAL.get(name.lower())
        return error_reply(not_emulated(official) if official else
                           VoxError(UNKNOWN_COMMAND, "Unknown command"))
    store = request.app[STORE]
    try:
        access = request.headers.get(scenario_api.ACCESS_HEADER)
        if access is not None:  # a scenario's VoximplantAPI module, as its session's account
            account, how = scenario_api.scenario_account(store, request.app[SERVICES], access), "scenario"
        else:
            account, how = auth.authenticate(store, values, request.headers.get("Authorization"))
        ctx = Context(store=store, account=account, remote=request.remote or "",
                      services=request.app[SERVICES], auth=how)
        authorized_ips.enforce(ctx)
        reply = spec.handler(ctx, Params(values))
        if inspect.isawaitable(reply):
            reply = await reply
    except VoxError as error:
        return error_reply(error)
    except Exception:  # a bug of ours must not take the API down; say so in the envelope
        log.exception("method %s failed", spec.name)
        return error_reply(VoxError(2, f"Internal error in voxsim while handling {spec.name}"))
    if isinstance(reply, web.StreamResponse):
        return reply
    audit_log.record(ctx, spec.name, values, reply)
    return json_reply(reply)


def bound_port(site: web.TCPSite) -> int:
    """The port a started site listens on: the one the system chose when it was asked for port 0
    (`TCPSite.port`, aiohttp 3.14 and later: https://github.com/aio-libs/aiohttp/pull/12184)."""
    return site.port


def services_of(app: web.Application) -> EmulatorServices:
    """The emulator's services, for the endpoints that cannot work without them."""
    services = app[SERVICES]
    if services is None:
        raise RuntimeError("this endpoint needs the emulator: build_app(store, services)")
    return services


def build_app(store: Store, services: EmulatorServices | None = None) -> web.Application:
    app = web.Application(client_max_size=4 * 1024 * 1024)
    app[STORE] = store
    app[SERVICES] = services
    for path in ("/platform_api", "/platform_api/", "/platform_api/{method}", "/platform_api/{method}/"):
        app.router.add_route("GET", path, handle_platform_api)
        app.router.add_route("POST", path, handle_platform_api)
    return app
