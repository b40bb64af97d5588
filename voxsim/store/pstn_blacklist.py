"""The PSTN black list (AddPstnBlackListItem, SetPstnBlackListItem, DelPstnBlackListItem, GetPstnBlackList).

An item is a phone number in E.164 (`+15550100`, `15550100`; separators are ignored) or a regular expression
over the E.164 number (`1555.*`); callPSTN to a number an item matches fails (voxsim/pstn/blacklist.py). A
number item matches that number exactly; a pattern must match the whole number, written without `+` or with
it. The list is the account's, up to `MAX_ITEMS` items.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from voxsim.errors import VoxError, invalid
from voxsim.patterns import PatternTimeout, full_match, pattern_error
from voxsim.store.base import StoreBase
from voxsim.store.phone_numbers import normalize_number

SCHEMA = """
CREATE TABLE IF NOT EXISTS pstn_blacklist (
    pstn_blacklist_id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(account_id) ON DELETE CASCADE,
    pstn_blacklist_phone TEXT NOT NULL
);
"""

INVALID_PSTN_BLACKLIST_PHONE = 425
PSTN_BLACKLIST_SIZE_EXCEEDED = 373
INVALID_PSTN_BLACKLIST_ID = 400
PHONE_MAX = 99  # "should be less than 100"
MAX_ITEMS = 1000


@dataclass(frozen=True)
class PstnBlackListItem:
    pstn_blacklist_id: int
    account_id: int
    pstn_blacklist_phone: str

    def api(self) -> dict[str, Any]:
        return {"pstn_blacklist_id": self.pstn_blacklist_id, "pstn_blacklist_phone": self.pstn_blacklist_phone}

    def matches(self, number: str) -> bool:
        """Whether callPSTN to `number` is barred by this item (module docstring)."""
        digits = normalize_number(number)
        if digits is None:
            return False
        exact = normalize_number(self.pstn_blacklist_phone)
        if exact is not None:
            return exact == digits
        try:
            return full_match(self.pstn_blacklist_phone, digits) or full_match(self.pstn_blacklist_phone, "+" + digits)
        except PatternTimeout:
            return False


def validate_phone(phone: str) -> str:
    """A number, or a pattern that compiles; fewer than 100 characters."""
    phone = phone.strip()
    if not phone or len(phone) > PHONE_MAX or (normalize_number(phone) is None and pattern_error(phone) is not None):
        raise invalid("pstn_blacklist_phone", INVALID_PSTN_BLACKLIST_PHONE)
    return phone


class PstnBlackListMixin(StoreBase):
    def add_pstn_blacklist_item(self, account_id: int, phone: str) -> PstnBlackListItem:
        phone = validate_phone(phone)
        with self.db.tx():
            count = self.db.scalar("SELECT COUNT(*) FROM pstn_blacklist WHERE account_id = ?", (account_id,))
            if count >= MAX_ITEMS:
                raise VoxError(PSTN_BLACKLIST_SIZE_EXCEEDED,
                               "Exceeded the PSTN blacklist phones number limit per account")
            item_id = self.db.insert("INSERT INTO pstn_blacklist (account_id, pstn_blacklist_phone) VALUES (?, ?)",
                                     (account_id, phone))
        return self.get_pstn_blacklist_item(account_id, item_id)

    def get_pstn_blacklist_item(self, account_id: int, item_id: int) -> PstnBlackListItem:
        row = self.db.one("SELECT * FROM pstn_blacklist WHERE account_id = ? AND pstn_blacklist_id = ?",
                          (account_id, item_id))
        if row is None:
            raise invalid("pstn_blacklist_id", INVALID_PSTN_BLACKLIST_ID)
        return PstnBlackListItem(**row)

    def set_pstn_blacklist_item(self, account_id: int, item_id: int, phone: str) -> None:
        self.get_pstn_blacklist_item(account_id, item_id)
        phone = validate_phone(phone)
        with self.db.tx():
            self.db.execute("UPDATE pstn_blacklist SET pstn_blacklist_phone = ? WHERE pstn_blacklist_id = ?",
                            (phone, item_id))

    def del_pstn_blacklist_item(self, account_id: int, item_id: int) -> None:
        self.get_pstn_blacklist_item(account_id, item_id)
        with self.db.tx():
            self.db.execute("DELETE FROM pstn_blacklist WHERE pstn_blacklist_id = ?", (item_id,))

    def list_pstn_blacklist(self, account_id: int) -> list[PstnBlackListItem]:
        rows = self.db.all("SELECT * FROM pstn_blacklist WHERE account_id = ? ORDER BY pstn_blacklist_id",
                           (account_id,))
        return [PstnBlackListItem(**row) for row in rows]

    def pstn_blacklisted(self, account_id: int, number: str) -> PstnBlackListItem | None:
        """The first item that bars callPSTN to `number`, or None."""
        return next((item for item in self.list_pstn_blacklist(account_id) if item.matches(number)), None)
