"""The local mailbox over HTTP: what scenarios sent with `Net.sendMail` (voxsim/store/mail.py).

- `GET /_voxsim/mail`: the account's messages, newest first: `?count=` (default 20, at most 1000), `?offset=`,
  `?account_id=` (default: the emulator's account). `{"result": [...], "total_count", "count"}`.
- `GET /_voxsim/mail/<mail_id>`: one message, or 404.

Each message: `mail_id`, `created`, `account_id`, `application_id`, `call_session_history_id`, `server`, `port`,
`login` (as the scenario gave them; never the password), `from`, `to`, `cc`, `bcc`, `title`, `body`, `html`, and
how it went: `code` (what the scenario received), `error`, `relay` ("host:port", "" when no SMTP relay is set).
"""

from __future__ import annotations

import json

from aiohttp import web

from mock_api.app import STORE, json_reply
from voxsim.store import Store

LIST_COUNT, LIST_MAX_COUNT = 20, 1000


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


async def mail_list(request: web.Request) -> web.Response:
    store = request.app[STORE]
    count, offset = _whole(request, "count", LIST_COUNT), _whole(request, "offset", 0)
    if not 0 < count <= LIST_MAX_COUNT or offset < 0:
        raise _bad_request(f"'count' is 1 to {LIST_MAX_COUNT}, 'offset' 0 or more")
    total, messages = store.list_mail(_account_id(request, store), count, offset)
    return json_reply({"result": [m.api() for m in messages], "total_count": total, "count": len(messages)})


async def mail_message(request: web.Request) -> web.Response:
    store = request.app[STORE]
    text = request.match_info["mail_id"]
    message = store.get_mail(_account_id(request, store), int(text)) if text.isdigit() else None
    if message is None:
        raise web.HTTPNotFound(text=json.dumps({"error": f"no message {text}"}), content_type="application/json")
    return json_reply(message.api())


def add_routes(app: web.Application) -> None:
    app.router.add_get("/_voxsim/mail", mail_list)
    app.router.add_get("/_voxsim/mail/{mail_id}", mail_message)
