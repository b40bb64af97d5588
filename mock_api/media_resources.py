"""`GET /getMediaResources`: the public, unauthenticated list of the platform's IP addresses.

The platform's JSON shape is unpublished; voxsim answers one key per requested flag without its
`with_` prefix, each a list of IPv4 strings: everything is this machine.
"""

from __future__ import annotations

from aiohttp import web

from mock_api.app import json_reply

FLAGS = ("sbcs", "mediaservers", "webgateways", "jsservers", "nodes", "videoconverters")


def media_resources_handler(address: str):
    async def handler(request: web.Request) -> web.Response:
        params = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            params.update({k: str(v) for k, v in (await request.post()).items()})
        wanted = [flag for flag in FLAGS if f"with_{flag}" in params] or list(FLAGS)
        return json_reply({flag: [address] for flag in wanted})

    return handler


def add_routes(app: web.Application, address: str) -> None:
    handler = media_resources_handler(address)
    for path in ("/getMediaResources", "/getMediaResources/"):
        app.router.add_route("GET", path, handler)
        app.router.add_route("POST", path, handler)
