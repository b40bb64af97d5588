"""The local SMS outbox over HTTP: what SendSmsMessage and A2PSendSms sent (voxsim/store/sms.py).

- `GET /_voxsim/sms`: the account's messages, newest first: `?count=` (default 20, at most 1000), `?offset=`,
  `?account_id=` (default: the emulator's account). `{"result": [...], "total_count", "count"}`.
- `GET /_voxsim/sms/<message_id>`: one message, or 404.

Each message: `message_id`, `account_id`, `kind` (`sms` from SendSmsMessage, `a2p` from A2PSendSms),
`source_number`, `destination_number`, `text` (whatever `store_body` said), `store_body`, `fragments`,
`processed_date`.
"""

from __future__ import annotations

from aiohttp import web

from mock_api.outbox_http import add_outbox_routes


def add_routes(app: web.Application) -> None:
    add_outbox_routes(app, "sms", lambda store, account, count, offset: store.list_sms(account, count, offset),
                      lambda store, account, message_id: store.get_sms(account, message_id), lambda m: m.outbox())
