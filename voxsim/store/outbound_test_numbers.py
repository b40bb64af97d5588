"""The account's outbound test phone number (AddOutboundTestPhoneNumber, VerifyOutboundTestPhoneNumber,
ActivateOutboundTestPhoneNumber, DelOutboundTestPhoneNumber, GetOutboundTestPhoneNumbers).

An account has at most one personal test number; another one is added after the first is deleted. Verifying
it is simulated as caller IDs are: no phone rings, the code the call would speak goes to the emulator's log,
and ActivateOutboundTestPhoneNumber with it verifies the number. Verification calls are limited as the
platform limits them, 5 a day (counted again from 00:00 UTC); its minute between two calls and 100 in all are
not enforced.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import Any

from voxsim.errors import INVALID_PARAMETER, NOT_UNIQUE, VoxError, invalid
from voxsim.store.base import StoreBase
from voxsim.store.db import DATE_FORMAT, utcnow
from voxsim.store.phone_numbers import COUNTRIES, normalize_number

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbound_test_numbers (
    account_id INTEGER PRIMARY KEY REFERENCES accounts(account_id) ON DELETE CASCADE,
    phone_number TEXT NOT NULL,
    is_verified INTEGER NOT NULL DEFAULT 0,
    verification_code TEXT NOT NULL DEFAULT '',
    attempts_day TEXT NOT NULL DEFAULT '',
    attempts_used INTEGER NOT NULL DEFAULT 0
);
"""

NO_TEST_NUMBER = INVALID_PARAMETER
DAILY_ATTEMPTS = 5  # a day, counted again from 00:00 UTC, as the platform says


@dataclass(frozen=True)
class OutboundTestNumber:
    account_id: int
    phone_number: str
    is_verified: bool
    verification_code: str
    attempts_day: str
    attempts_used: int

    def api(self) -> dict[str, Any]:
        return {"phone_number": self.phone_number, "is_verified": self.is_verified,
                "country_code": country_of(self.phone_number)}

    def attempts_left(self, today: str) -> int:
        return DAILY_ATTEMPTS - (self.attempts_used if self.attempts_day == today else 0)


def country_of(phone_number: str) -> str:
    """The ISO code of the number's country, for the countries voxsim's number pool knows ("" otherwise)."""
    return next((c.country_code for c in COUNTRIES if phone_number.startswith(c.phone_prefix)), "")


class OutboundTestNumbersMixin(StoreBase):
    def add_outbound_test_number(self, account_id: int, phone_number: str) -> OutboundTestNumber:
        digits = normalize_number(phone_number)
        if digits is None:
            raise invalid("phone_number")
        if self.outbound_test_number(account_id) is not None:
            raise VoxError(NOT_UNIQUE, "The account already has a test phone number: delete it first")
        with self.db.tx():
            self.db.execute("INSERT INTO outbound_test_numbers (account_id, phone_number) VALUES (?, ?)",
                            (account_id, digits))
        return self._test_number(account_id)

    def outbound_test_number(self, account_id: int) -> OutboundTestNumber | None:
        row = self.db.one("SELECT * FROM outbound_test_numbers WHERE account_id = ?", (account_id,))
        return OutboundTestNumber(**{**row, "is_verified": bool(row["is_verified"])}) if row else None

    def verify_outbound_test_number(self, account_id: int) -> tuple[str, int]:
        """The simulated verification call: (the code it speaks, the attempts left today)."""
        number = self._test_number(account_id)
        if number.is_verified:
            raise VoxError(NOT_UNIQUE, "The test phone number is already verified")
        today = utcnow().strftime(DATE_FORMAT)
        left = number.attempts_left(today)
        if left <= 0:
            raise invalid("phone_number")
        code = f"{secrets.randbelow(100000):05d}"
        with self.db.tx():
            self.db.execute("UPDATE outbound_test_numbers SET verification_code = ?, attempts_day = ?, "
                            "attempts_used = ? WHERE account_id = ?",
                            (code, today, DAILY_ATTEMPTS - left + 1, account_id))
        log.warning("Test phone number verification call to +%s: the code is %s "
                    "(ActivateOutboundTestPhoneNumber takes it)", number.phone_number, code)
        return code, left - 1

    def activate_outbound_test_number(self, account_id: int, verification_code: str) -> None:
        number = self._test_number(account_id)
        if number.is_verified:
            return
        if not number.verification_code or not secrets.compare_digest(number.verification_code,
                                                                        verification_code.strip()):
            raise invalid("verification_code")
        with self.db.tx():
            self.db.execute("UPDATE outbound_test_numbers SET is_verified = 1, verification_code = '' "
                            "WHERE account_id = ?", (account_id,))

    def del_outbound_test_number(self, account_id: int) -> None:
        self._test_number(account_id)
        with self.db.tx():
            self.db.execute("DELETE FROM outbound_test_numbers WHERE account_id = ?", (account_id,))

    def _test_number(self, account_id: int) -> OutboundTestNumber:
        number = self.outbound_test_number(account_id)
        if number is None:
            raise VoxError(NO_TEST_NUMBER, "The account has no test phone number: add one first")
        return number

