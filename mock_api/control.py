"""The emulator's own endpoints under /_voxsim/ (like LocalStack's /_localstack/).

They are a developer's controls and reveal the account's key, so only loopback clients may use
them unless the emulator was started with remote control allowed.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from aiohttp import web

from mock_api.app import SERVICES, STORE, json_reply, services_of


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


def add_routes(app: web.Application) -> None:
    app.middlewares.append(loopback_only)
    app.router.add_get("/_voxsim/health", health)
    app.router.add_get("/_voxsim/account", account)
    app.router.add_post("/_voxsim/reset", reset)
