"""The local SMS outbox over HTTP: what SendSmsMessage and A2PSendSms sent (voxsim/store/sms.py).

- `GET /_voxsim/sms`: the account's messages, newest first: `?count=` (default 20, at most 1000), `?offset=`,
  `?account_id=` (default: the emulator's account). `{"result": [...], "total_count", "count"}`.
- `GET /_voxsim/sms/<message_id>`: one message, or 404.

Each message: `message_id`, `account_id`, `kind` (`sms` from SendSmsMessage, `a2p` from A2PSendSms),
`source_number`, `destination_number`, `text` (whatever `store_body` said), `store_body`, `fragments`,
`processed_date`.
"""

from __future__ import annotations

import json

from aiohttp import web

from mock_api.app import STORE, json_reply
from mock_api.mail_http import LIST_COUNT, LIST_MAX_COUNT, _account_id, _bad_request, _whole


async def sms_list(request: web.Request) -> web.Response:
    store = request.app[STORE]
    count, offset = _whole(request, "count", LIST_COUNT), _whole(request, "offset", 0)
    if not 0 < count <= LIST_MAX_COUNT or offset < 0:
        raise _bad_request(f"'count' is 1 to {LIST_MAX_COUNT}, 'offset' 0 or more")
    total, messages = store.list_sms(_account_id(request, store), count, offset)
    return json_reply({"result": [m.outbox() for m in messages], "total_count": total, "count": len(messages)})


async def sms_message(request: web.Request) -> web.Response:
    store = request.app[STORE]
    text = request.match_info["message_id"]
    message = store.get_sms(_account_id(request, store), int(text)) if text.isdigit() else None
    if message is None:
        raise web.HTTPNotFound(text=json.dumps({"error": f"no message {text}"}), content_type="application/json")
    return json_reply(message.outbox())


def add_routes(app: web.Application) -> None:
    app.router.add_get("/_voxsim/sms", sms_list)
    app.router.add_get("/_voxsim/sms/{message_id}", sms_message)
