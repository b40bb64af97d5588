"""The local SMS outbox: every message SendSmsMessage and A2PSendSms sent, kept per account (the latest `MAX_KEPT`).

Nothing leaves the machine: a message is "delivered" the moment it is kept. Each row is one message to one
destination (A2PSendSms keeps one per destination, as the platform gives each its own `message_id`). The text is
always kept for the outbox (`/_voxsim/sms`); the history methods show it only when the sender asked `store_body`.
ControlSms' switch lives beside the numbers (`sms_enabled_numbers`, voxsim/store/phone_numbers.py). Rows go with
`/_voxsim/reset`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from voxsim.errors import VoxError
from voxsim.store.base import StoreBase
from voxsim.store.db import timestamp
from voxsim.store.phone_numbers import pool_entry

MAX_KEPT = 1000
"""Messages kept per account; past it the oldest go (from the outbox and the histories alike)."""

Kind = Literal["sms", "a2p"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS sms_messages (
    message_id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    source_number TEXT NOT NULL,
    destination_number TEXT NOT NULL,
    text TEXT NOT NULL,
    store_body INTEGER NOT NULL,
    fragments INTEGER NOT NULL,
    processed_date TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sms_messages_account ON sms_messages(account_id, message_id);
"""

NOT_SUPPORT_SMS = 528
SMS_DISABLED_FOR_NUMBER = 386

# The GSM 03.38 alphabet: a message of these characters only goes as GSM-7 (160 a segment, 153 when split);
# any other character makes it UCS-2 (70, 67 when split). The extension table's characters take two septets.
GSM7_BASIC = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                 "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXTENSION = set("^{}\\[~]|€\f")


def fragments_of(text: str) -> int:
    """How many segments the text goes in (at least one)."""
    if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text):
        length, single, part = sum(2 if c in GSM7_EXTENSION else 1 for c in text), 160, 153
    else:
        length, single, part = len(text.encode("utf-16-le")) // 2, 70, 67
    return 1 if length <= single else -(-length // part)


@dataclass(frozen=True)
class SmsMessage:
    message_id: int
    account_id: int
    kind: Kind
    source_number: str
    destination_number: str
    text: str
    store_body: bool
    fragments: int
    processed_date: str

    def outbox(self) -> dict[str, Any]:
        """As `/_voxsim/sms` shows it: everything, the text whatever `store_body` said."""
        return {"message_id": self.message_id, "account_id": self.account_id, "kind": self.kind,
                "source_number": self.source_number, "destination_number": self.destination_number,
                "text": self.text, "store_body": self.store_body, "fragments": self.fragments,
                "processed_date": self.processed_date}

    def history(self) -> dict[str, Any]:
        """SmsHistoryType (GetSmsHistory) or A2PSmsHistoryType (A2PGetSmsHistory): delivered, free of charge.

        The processing date is the day only (`YYYY-MM-DD`): the official Python client reads these two fields
        as dates and fails on a time; the outbox keeps the time."""
        info: dict[str, Any] = {"message_id": self.message_id, "source_number": self.source_number,
                                "destination_number": self.destination_number, "fragments": self.fragments,
                                "cost": 0, "status_id": "1"}
        if self.kind == "sms":
            info.update(direction="OUT", processed_date=self.processed_date[:10])
        else:
            info.update(processing_date=self.processed_date[:10], transaction_id=self.message_id,
                        delivery_status="DELIVERED")
        if self.store_body:
            info["text"] = self.text
        return info


@dataclass(frozen=True)
class SmsQuery:
    """The history methods' filters (None: not filtered)."""

    kind: Kind
    message_ids: Sequence[int] | None = None
    source_number: str | None = None
    destination_number: str | None = None
    from_date: datetime | None = None
    to_date: datetime | None = None

    def where(self, account_id: int) -> tuple[str, list[Any]]:
        clauses, args = ["account_id = ?", "kind = ?"], list[Any]([account_id, self.kind])
        if self.message_ids is not None:
            clauses.append(f"message_id IN ({', '.join('?' * len(self.message_ids))})")
            args += list(self.message_ids)
        for column, value in (("source_number", self.source_number), ("destination_number", self.destination_number)):
            if value is not None:
                clauses.append(f"{column} = ?")
                args.append(value)
        if self.from_date is not None:
            clauses.append("processed_date >= ?")
            args.append(timestamp(self.from_date))
        if self.to_date is not None:
            clauses.append("processed_date <= ?")
            args.append(timestamp(self.to_date))
        return " AND ".join(clauses), args


def _message(row: dict[str, Any]) -> SmsMessage:
    return SmsMessage(**{**row, "store_body": bool(row["store_body"])})


class SmsMixin(StoreBase):
    # -- ControlSms ---------------------------------------------------------------------------------
    def sms_number(self, account_id: int, phone_number: str) -> tuple[int, bool, bool] | None:
        """(phone_id, is_sms_supported, is_sms_enabled) of the account's attached number, None when it has none
        such (E.164 digits)."""
        row = self.db.one("SELECT phone_id, phone_id IN (SELECT phone_id FROM sms_enabled_numbers) AS enabled "
                          "FROM phone_numbers WHERE account_id = ? AND phone_number = ?", (account_id, phone_number))
        entry = pool_entry(phone_number)
        if row is None or entry is None:
            return None
        return int(row["phone_id"]), entry[1].sms_supported, bool(row["enabled"])

    def control_sms(self, account_id: int, phone_number: str, enable: bool) -> bool:
        """Turns SMS on or off for the number; False when the account has no such number. One that takes no SMS
        answers 528."""
        number = self.sms_number(account_id, phone_number)
        if number is None:
            return False
        phone_id, supported, _ = number
        if not supported:
            raise VoxError(NOT_SUPPORT_SMS, "Sms is not supported")
        with self.db.tx():
            if enable:
                self.db.execute("INSERT OR IGNORE INTO sms_enabled_numbers (phone_id) VALUES (?)", (phone_id,))
            else:
                self.db.execute("DELETE FROM sms_enabled_numbers WHERE phone_id = ?", (phone_id,))
        return True

    # -- the outbox ---------------------------------------------------------------------------------
    def add_sms(self, account_id: int, kind: Kind, source_number: str, destinations: Sequence[str], text: str,
                store_body: bool) -> list[SmsMessage]:
        """Keeps one message per destination; past `MAX_KEPT` of the account's, the oldest go."""
        now, fragments = timestamp(), fragments_of(text)
        kept = []
        with self.db.tx():
            for destination in destinations:
                message_id = self.db.insert(
                    "INSERT INTO sms_messages (account_id, kind, source_number, destination_number, text, store_body, "
                    "fragments, processed_date) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (account_id, kind, source_number, destination, text, int(store_body), fragments, now))
                kept.append(SmsMessage(message_id, account_id, kind, source_number, destination, text, store_body,
                                       fragments, now))
            self.db.execute("DELETE FROM sms_messages WHERE account_id = ? AND message_id NOT IN (SELECT message_id "
                            "FROM sms_messages WHERE account_id = ? ORDER BY message_id DESC LIMIT ?)",
                            (account_id, account_id, MAX_KEPT))
        return kept

    def list_sms(self, account_id: int, count: int, offset: int = 0) -> tuple[int, list[SmsMessage]]:
        """(how many the account has, `count` of them from `offset`), newest first."""
        total = int(self.db.scalar("SELECT COUNT(*) FROM sms_messages WHERE account_id = ?", (account_id,)))
        rows = self.db.all("SELECT * FROM sms_messages WHERE account_id = ? ORDER BY message_id DESC LIMIT ? OFFSET ?",
                           (account_id, count, offset))
        return total, [_message(row) for row in rows]

    def get_sms(self, account_id: int, message_id: int) -> SmsMessage | None:
        row = self.db.one("SELECT * FROM sms_messages WHERE account_id = ? AND message_id = ?",
                          (account_id, message_id))
        return _message(row) if row is not None else None

    def sms_history(self, account_id: int, query: SmsQuery, count: int, offset: int) -> tuple[int, list[SmsMessage]]:
        """(how many match, `count` of them from `offset`), oldest first as the platform's histories go."""
        where, args = query.where(account_id)
        total = int(self.db.scalar(f"SELECT COUNT(*) FROM sms_messages WHERE {where}", args))
        rows = self.db.all(f"SELECT * FROM sms_messages WHERE {where} ORDER BY message_id LIMIT ? OFFSET ?",
                           [*args, count, offset])
        return total, [_message(row) for row in rows]
