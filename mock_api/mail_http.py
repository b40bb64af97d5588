"""The local mailbox over HTTP: what scenarios sent with `Net.sendMail` (voxsim/store/mail.py).

- `GET /_voxsim/mail`: the account's messages, newest first: `?count=` (default 20, at most 1000), `?offset=`,
  `?account_id=` (default: the emulator's account). `{"result": [...], "total_count", "count"}`.
- `GET /_voxsim/mail/<mail_id>`: one message, or 404.

Each message: `mail_id`, `created`, `account_id`, `application_id`, `call_session_history_id`, `server`, `port`,
`login` (as the scenario gave them; never the password), `from`, `to`, `cc`, `bcc`, `title`, `body`, `html`, and
how it went: `code` (what the scenario received), `error`, `relay` ("host:port", "" when no SMTP relay is set).
"""

from __future__ import annotations

from aiohttp import web

from mock_api.outbox_http import add_outbox_routes


def add_routes(app: web.Application) -> None:
    add_outbox_routes(app, "mail", lambda store, account, count, offset: store.list_mail(account, count, offset),
                      lambda store, account, mail_id: store.get_mail(account, mail_id), lambda m: m.api())
