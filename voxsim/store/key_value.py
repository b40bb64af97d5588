"""Key-value storage: one store of key-value pairs per application, with an expiry on every pair.

The Management API's KeyValueStorage methods (SetKeyValueItem, GetKeyValueItem, GetKeyValueItems,
GetKeyValueKeys, DelKeyValueItem) and the scenarios' `ApplicationStorage` module read and write the same
pairs (https://voximplant.com/docs/references/httpapi/keyvaluestorage). Limits are the platform's: a key of up
to 200 characters of `^[a-zA-Z0-9а-яА-ЯёЁ_\\-:;.#+]*$`, a value of up to 2000, a ttl of 0..7,776,000 s (90
days; 30 days when none is given). A pair whose `expires_at` has come is gone: no read returns it, and the
next write to its application deletes it. Deleting an application deletes its pairs.

Patterns (GetKeyValueItems' and GetKeyValueKeys' `key`, `ApplicationStorage.keys(pattern)`): keys that begin
with the pattern (a namespace `test` finds `test` and `test:1`); a `*` in it matches any run of characters,
and then the whole key must match (`*:1` finds the keys that end in `:1`). `*` cannot be part of a key.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

from voxsim.errors import invalid, only_one_of, specify, too_long
from voxsim.model import Application, KeyValueItem
from voxsim.store.base import StoreBase

SCHEMA = """
CREATE TABLE IF NOT EXISTS key_value_items (
    application_id INTEGER NOT NULL REFERENCES applications(application_id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (application_id, key)
);
CREATE INDEX IF NOT EXISTS key_value_items_expiry ON key_value_items(application_id, expires_at);
"""

KEY_MAX = 200
VALUE_MAX = 2000
TTL_MAX = 7_776_000  # 90 days
TTL_DEFAULT = 2_592_000  # 30 days
KEY = re.compile(r"[a-zA-Z0-9а-яА-ЯёЁ_\-:;.#+]*")
WILDCARD = "*"


def validate_key(key: str, name: str = "key") -> str:
    if not key:
        raise specify(name)
    if len(key) > KEY_MAX:
        raise too_long(name, KEY_MAX + 1)
    if not KEY.fullmatch(key):
        raise invalid(name)
    return key


def validate_pattern(pattern: str | None) -> str:
    """A key pattern: the key alphabet plus `*`; empty (or None) matches every key."""
    if not pattern:
        return ""
    if len(pattern) > KEY_MAX:
        raise too_long("key", KEY_MAX + 1)
    if not KEY.fullmatch(pattern.replace(WILDCARD, "")):
        raise invalid("key")
    return pattern


def pattern_matcher(pattern: str) -> re.Pattern[str]:
    """A prefix match without `*`; with it, `*` is any run of characters over the whole key."""
    if WILDCARD not in pattern:
        return re.compile(re.escape(pattern) + ".*", re.DOTALL)
    return re.compile(".*".join(re.escape(part) for part in pattern.split(WILDCARD)), re.DOTALL)


def validate_value(value: str) -> str:
    if len(value) > VALUE_MAX:
        raise too_long("value", VALUE_MAX + 1)
    return value


class KeyValueMixin(StoreBase):
    if TYPE_CHECKING:  # provided by the applications family of the composed Store
        def get_application(self, account_id: int, *, application_id: int | None = None,
                            application_name: str | None = None) -> Application: ...

    def key_value_now(self) -> float:
        """The clock expiries are measured against (UNIX seconds); tests replace it to make time pass."""
        return time.time()

    def expiry_of(self, ttl: int | None = None, expires_at: int | None = None) -> int:
        """`expires_at` from one of `ttl` (0..90 days) and `expires_at` (UNIX seconds, within 90 days from
        now); neither: 30 days from now."""
        now = int(self.key_value_now())
        if ttl is not None and expires_at is not None:
            raise only_one_of("ttl", "expires_at")
        if expires_at is not None:
            if not now < expires_at <= now + TTL_MAX:
                raise invalid("expires_at")
            return expires_at
        if ttl is None:
            ttl = TTL_DEFAULT
        if not 0 <= ttl <= TTL_MAX:
            raise invalid("ttl")
        return now + ttl

    def set_key_value_item(self, account_id: int, application_id: int, key: str, value: str, *,
                           ttl: int | None = None, expires_at: int | None = None) -> KeyValueItem:
        """Creates the pair or replaces its value and expiry."""
        self._key_value_application(account_id, application_id)
        key, value = validate_key(key), validate_value(value)
        expiry = self.expiry_of(ttl, expires_at)
        with self.db.tx():
            self._purge_expired(application_id)
            self.db.execute(
                "INSERT INTO key_value_items (application_id, key, value, expires_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (application_id, key) DO UPDATE SET value = excluded.value, "
                "expires_at = excluded.expires_at",
                (application_id, key, value, expiry),
            )
        return KeyValueItem(application_id=application_id, key=key, value=value, expires_at=expiry)

    def get_key_value_item(self, account_id: int, application_id: int, key: str) -> KeyValueItem | None:
        """The pair, or None when there is none (or it expired)."""
        self._key_value_application(account_id, application_id)
        row = self.db.one("SELECT * FROM key_value_items WHERE application_id = ? AND key = ? AND expires_at > ?",
                          (application_id, validate_key(key), int(self.key_value_now())))
        return KeyValueItem(**row) if row else None

    def list_key_value_items(self, account_id: int, application_id: int,
                             pattern: str | None = None) -> list[KeyValueItem]:
        """The live pairs whose keys match `pattern` (every pair without one), in key order."""
        self._key_value_application(account_id, application_id)
        matcher = pattern_matcher(validate_pattern(pattern))
        rows = self.db.all("SELECT * FROM key_value_items WHERE application_id = ? AND expires_at > ? ORDER BY key",
                           (application_id, int(self.key_value_now())))
        return [KeyValueItem(**row) for row in rows if matcher.fullmatch(str(row["key"]))]

    def del_key_value_item(self, account_id: int, application_id: int, key: str) -> KeyValueItem | None:
        """Deletes the pair; returns what it was, or None when there was none (not an error)."""
        item = self.get_key_value_item(account_id, application_id, key)
        with self.db.tx():
            self.db.execute("DELETE FROM key_value_items WHERE application_id = ? AND key = ?",
                            (application_id, key))
            self._purge_expired(application_id)
        return item

    def _key_value_application(self, account_id: int, application_id: int) -> None:
        """The pairs are the application's: one of another account answers 116, as an unknown one."""
        self.get_application(account_id, application_id=application_id)

    def _purge_expired(self, application_id: int) -> None:
        self.db.execute("DELETE FROM key_value_items WHERE application_id = ? AND expires_at <= ?",
                        (application_id, int(self.key_value_now())))

