"""What the emulator kept instead of sending (mail, SMS) over HTTP, one shape for each outbox:

- `GET /_voxsim/<what>`: the account's messages, newest first: `?count=` (default 20, at most 1000), `?offset=`,
  `?account_id=` (default: the emulator's account). `{"result": [...], "total_count", "count"}`.
- `GET /_voxsim/<what>/<id>`: one message, or 404.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from aiohttp import web

from mock_api.app import STORE, json_reply
from voxsim.store import Store

__all__ = ["LIST_COUNT", "LIST_MAX_COUNT", "add_outbox_routes"]

LIST_COUNT, LIST_MAX_COUNT = 20, 1000

Lister = Callable[[Store, int, int, int], tuple[int, Sequence[Any]]]
"""(store, account id, count, offset) -> (total, messages)."""
Getter = Callable[[Store, int, int], Any]
"""(store, account id, message id) -> the message, or None."""


def _bad_request(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=json.dumps({"error": message}), content_type="application/json")


def _whole(request: web.Request, name: str, default: int) -> int:
    text = request.query.get(name)
    if text is None:
        return default
    try:
        return int(text)
    except ValueError:
        raise _bad_request(f"'{name}' is a whole number") from None


def _account_id(request: web.Request, store: Store) -> int:
    return _whole(request, "account_id", store.list_accounts()[0].account_id)


def add_outbox_routes(app: web.Application, what: str, list_messages: Lister, get_message: Getter,
                      render: Callable[[Any], dict[str, Any]]) -> None:
    """`GET /_voxsim/<what>` and `GET /_voxsim/<what>/<id>` over the store's list and get of that outbox."""

    async def listing(request: web.Request) -> web.Response:
        store = request.app[STORE]
        count, offset = _whole(request, "count", LIST_COUNT), _whole(request, "offset", 0)
        if not 0 < count <= LIST_MAX_COUNT or offset < 0:
            raise _bad_request(f"'count' is 1 to {LIST_MAX_COUNT}, 'offset' 0 or more")
        total, messages = list_messages(store, _account_id(request, store), count, offset)
        return json_reply({"result": [render(m) for m in messages], "total_count": total, "count": len(messages)})

    async def one(request: web.Request) -> web.Response:
        store = request.app[STORE]
        text = request.match_info["message_id"]
        message = get_message(store, _account_id(request, store), int(text)) if text.isdigit() else None
        if message is None:
            raise web.HTTPNotFound(text=json.dumps({"error": f"no message {text}"}), content_type="application/json")
        return json_reply(render(message))

    app.router.add_get(f"/_voxsim/{what}", listing)
    app.router.add_get(f"/_voxsim/{what}/{{message_id}}", one)
