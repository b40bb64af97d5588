"""The local mailbox: every message a scenario sent with `Net.sendMail`, kept per account (the latest `MAX_KEPT`).

Each row is the message as the scenario gave it (the server it named, its login but never its password) and how
its delivery went: the SMTP reply code the scenario received, the error, and the relay it went to ("" when none
is configured). Rows go with `/_voxsim/reset`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from voxsim.runtime.mail import OutgoingMail
from voxsim.store.base import StoreBase
from voxsim.store.db import timestamp

MAX_KEPT = 1000

SCHEMA = """
CREATE TABLE IF NOT EXISTS mail_messages (
    mail_id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL,
    application_id INTEGER NOT NULL,
    call_session_history_id INTEGER NOT NULL,
    created TEXT NOT NULL,
    message TEXT NOT NULL,
    code INTEGER NOT NULL,
    error TEXT NOT NULL,
    relay TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS mail_messages_account ON mail_messages(account_id, mail_id);
"""


@dataclass(frozen=True)
class MailMessage:
    """One message of the mailbox, as `/_voxsim/mail` shows it (`api()`)."""

    mail_id: int
    created: str
    mail: OutgoingMail
    code: int
    error: str
    relay: str

    def api(self) -> dict[str, Any]:
        fields = asdict(self.mail)
        return {"mail_id": self.mail_id, "created": self.created, "account_id": fields.pop("account_id"),
                "application_id": fields.pop("application_id"),
                "call_session_history_id": fields.pop("session_id"), "from": fields.pop("sender"),
                **{k: list(v) if isinstance(v, tuple) else v for k, v in fields.items()},
                "code": self.code, "error": self.error, "relay": self.relay}


def _message(row: dict[str, Any]) -> MailMessage:
    fields: dict[str, Any] = json.loads(row["message"])
    kept: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()}
    mail = OutgoingMail(account_id=row["account_id"], application_id=row["application_id"],
                        session_id=row["call_session_history_id"], **kept)
    return MailMessage(row["mail_id"], row["created"], mail, row["code"], row["error"], row["relay"])


class MailMixin(StoreBase):
    def add_mail(self, mail: OutgoingMail, code: int, error: str = "", relay: str = "") -> MailMessage:
        """Keeps a message; past `MAX_KEPT` of its account's, the oldest go."""
        fields = {k: v for k, v in asdict(mail).items() if k not in ("account_id", "application_id", "session_id")}
        created = timestamp()
        with self.db.tx():
            mail_id = self.db.insert(
                "INSERT INTO mail_messages (account_id, application_id, call_session_history_id, created, message, "
                "code, error, relay) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (mail.account_id, mail.application_id, mail.session_id, created, json.dumps(fields), code, error,
                 relay))
            self.db.execute("DELETE FROM mail_messages WHERE account_id = ? AND mail_id NOT IN (SELECT mail_id FROM "
                            "mail_messages WHERE account_id = ? ORDER BY mail_id DESC LIMIT ?)",
                            (mail.account_id, mail.account_id, MAX_KEPT))
        return MailMessage(mail_id, created, mail, code, error, relay)

    def list_mail(self, account_id: int, count: int, offset: int = 0) -> tuple[int, list[MailMessage]]:
        """(how many the account has, `count` of them from `offset`), newest first."""
        total = int(self.db.scalar("SELECT COUNT(*) FROM mail_messages WHERE account_id = ?", (account_id,)))
        rows = self.db.all("SELECT * FROM mail_messages WHERE account_id = ? ORDER BY mail_id DESC LIMIT ? OFFSET ?",
                           (account_id, count, offset))
        return total, [_message(row) for row in rows]

    def get_mail(self, account_id: int, mail_id: int) -> MailMessage | None:
        row = self.db.one("SELECT * FROM mail_messages WHERE account_id = ? AND mail_id = ?", (account_id, mail_id))
        return _message(row) if row is not None else None
