"""The account, its service-account keys and its settings."""

from __future__ import annotations

import json
from typing import Any

from voxsim.errors import CALLBACK_SALT_TOO_LONG, INVALID_CALLBACK_URL, VoxError
from voxsim.model import Account, ServiceAccountKey
from voxsim.store.base import StoreBase
from voxsim.store.db import timestamp

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    account_id INTEGER PRIMARY KEY,
    account_name TEXT NOT NULL UNIQUE,
    account_email TEXT NOT NULL,
    api_key TEXT NOT NULL,
    created TEXT NOT NULL,
    settings TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS service_keys (
    key_id TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(account_id) ON DELETE CASCADE,
    public_key TEXT NOT NULL,
    key_name TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL
);
"""

# SetAccountInfo fields voxsim keeps (stored as JSON beside the fixed columns).
SETTABLE_TEXT = ("callback_url", "callback_salt", "account_custom_data", "language_code", "location",
                 "account_first_name", "account_last_name")
SETTABLE_BOOL = ("send_js_error", "account_notifications", "tariff_changing_notifications",
                 "news_notifications")
CALLBACK_SALT_MAX = 40


class AccountsMixin(StoreBase):
    def create_account(self, account_id: int, account_name: str, account_email: str, api_key: str) -> Account:
        with self.db.tx():
            self.db.execute(
                "INSERT INTO accounts (account_id, account_name, account_email, api_key, created) "
                "VALUES (?, ?, ?, ?, ?)",
                (account_id, account_name, account_email, api_key, timestamp()),
            )
        return self.get_account(account_id)

    def _account(self, row: dict[str, Any] | None) -> Account | None:
        if row is None:
            return None
        settings = json.loads(row.pop("settings") or "{}")
        return Account(**row, **settings)

    def get_account(self, account_id: int) -> Account:
        account = self._account(self.db.one("SELECT * FROM accounts WHERE account_id = ?", (account_id,)))
        if account is None:
            raise KeyError(account_id)
        return account

    def find_account(self, *, account_id: int | None = None, account_name: str | None = None) -> Account | None:
        if account_id is not None:
            return self._account(self.db.one("SELECT * FROM accounts WHERE account_id = ?", (account_id,)))
        if account_name is not None:
            return self._account(
                self.db.one("SELECT * FROM accounts WHERE account_name = ?", (account_name,)))
        return None

    def list_accounts(self) -> list[Account]:
        return [a for a in (self._account(r) for r in self.db.all("SELECT * FROM accounts")) if a]

    def set_account_info(self, account_id: int, changes: dict[str, Any]) -> Account:
        url = changes.get("callback_url")
        if url and not url.startswith(("http://", "https://")):
            raise VoxError(INVALID_CALLBACK_URL, "Invalid 'callback_url'")
        salt = changes.get("callback_salt")
        if salt is not None and len(salt) >= CALLBACK_SALT_MAX:
            raise VoxError(CALLBACK_SALT_TOO_LONG, "The 'callback_salt' length must be < 40")
        with self.db.tx():
            row = self.db.one("SELECT settings FROM accounts WHERE account_id = ?", (account_id,))
            settings = json.loads(row["settings"]) if row else {}
            settings.update({k: v for k, v in changes.items() if k in SETTABLE_TEXT + SETTABLE_BOOL})
            self.db.execute("UPDATE accounts SET settings = ? WHERE account_id = ?",
                            (json.dumps(settings), account_id))
        return self.get_account(account_id)

    # Service-account keys: the private half lives only in credentials.json.
    def add_service_key(self, account_id: int, key_id: str, public_key: str, key_name: str = "") -> None:
        with self.db.tx():
            self.db.execute(
                "INSERT OR REPLACE INTO service_keys (key_id, account_id, public_key, key_name, created) "
                "VALUES (?, ?, ?, ?, ?)",
                (key_id, account_id, public_key, key_name, timestamp()),
            )

    def get_service_key(self, key_id: str) -> ServiceAccountKey | None:
        row = self.db.one("SELECT * FROM service_keys WHERE key_id = ?", (key_id,))
        return ServiceAccountKey(**row) if row else None
