"""Phone numbers and caller IDs: a pool of fictitious numbers to rent, the account's numbers, its caller IDs.

The pool (`POOL`) holds only numbers that are set aside for fiction and never ring a real phone (docs/pstn.md):
NANP `555-0100`..`555-0199` in a few US area codes and toll-free 800, and the UK drama ranges Ofcom keeps for
films and TV (`020 7946 0xxx` London, `0121 496 0xxx` Birmingham, `0161 496 0xxx` Manchester, `07700 900xxx`
mobile, `0808 157 0xxx` freephone). Each region has a stable `phone_region_id`, each number a stable
`phone_id` (region id * 10000 + its place in the region), the same before and after it is attached.

Numbers are written as the Management API writes them: E.164 digits without the `+` (`12125550100`); every
input is read with or without the `+`, spaces, dashes and brackets. An attached number belongs to one account
(`phone_numbers`), may be bound to one of its applications and, within it, to one rule; deleting the
application or the rule unbinds it. Deactivating a number returns it to the pool. Nothing is charged.

Caller IDs (`caller_ids`) are the account's other numbers that callPSTN may show; each must be verified: a
verification "call" (VerifyCallerID) makes a 5-digit code, written to the emulator's log, which ActivateCallerID
takes (5 calls and 5 code attempts per caller ID, as the platform counts them in `CallerIDInfoType`).
"""

from __future__ import annotations

import fnmatch
import logging
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from voxsim.errors import NOT_UNIQUE, VoxError, invalid, specify
from voxsim.model import Application, Record, Rule
from voxsim.store.base import StoreBase
from voxsim.store.db import DATE_FORMAT, timestamp, utcnow

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS phone_numbers (
    phone_id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(account_id) ON DELETE CASCADE,
    phone_number TEXT NOT NULL UNIQUE,
    application_id INTEGER REFERENCES applications(application_id) ON DELETE SET NULL,
    rule_id INTEGER REFERENCES rules(rule_id) ON DELETE SET NULL,
    incoming_sms_callback_url TEXT NOT NULL DEFAULT '',
    phone_purchase_date TEXT NOT NULL,
    modified TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS caller_ids (
    callerid_id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(account_id) ON DELETE CASCADE,
    callerid_number TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 0,
    verification_code TEXT NOT NULL DEFAULT '',
    code_entering_attempts_left INTEGER NOT NULL,
    verification_call_attempts_left INTEGER NOT NULL,
    verified_until TEXT NOT NULL DEFAULT '',
    UNIQUE (account_id, callerid_number)
);
CREATE TABLE IF NOT EXISTS sms_enabled_numbers (
    phone_id INTEGER PRIMARY KEY REFERENCES phone_numbers(phone_id) ON DELETE CASCADE
);
"""

PHONE_PERIOD = "0-1-0 0:0:0"  # one month, as the platform writes a charge period
VERIFICATION_ATTEMPTS = 5  # [INF] calls and code entries a caller ID gets; the platform's numbers are unpublished
VERIFIED_FOR = timedelta(days=365)  # [INF] how long a verified caller ID stays verified
_NUMBER = re.compile(r"\+?[0-9]{6,15}")
_SEPARATORS = re.compile(r"[\s().\-]")


def normalize_number(text: str) -> str | None:
    """E.164 digits without `+` (`+1 (212) 555-0100` -> `12125550100`), or None when it is no phone number."""
    compact = _SEPARATORS.sub("", str(text).strip())
    if compact.lower().startswith("tel:"):
        compact = compact[4:]
    return compact.lstrip("+") if _NUMBER.fullmatch(compact) else None


# ---------------------------------------------------------------------------------------------- the pool

@dataclass(frozen=True)
class Country:
    country_code: str
    phone_prefix: str
    name: str
    states: tuple[tuple[str, str], ...] = ()
    """(country_state, country_state_name) of the states its GEOGRAPHIC numbers are listed under."""


@dataclass(frozen=True)
class Region:
    """One region of the pool: `count` consecutive numbers from `first`."""

    phone_region_id: int
    country_code: str
    category: str
    phone_region_name: str
    phone_region_code: str
    first: int
    count: int
    country_state: str = ""
    phone_price: float = 1.0
    phone_installation_price: float = 0.0
    sms_supported: bool = True
    """`is_sms_supported` of its numbers (UK landlines and freephone numbers take no SMS)."""

    def numbers(self) -> list[tuple[int, str]]:
        """(phone_id, phone_number) of every number of the region, in order."""
        return [(self.phone_region_id * 10000 + i, str(self.first + i)) for i in range(self.count)]


COUNTRIES = (
    Country("US", "1", "United States", (("CA", "California"), ("IL", "Illinois"), ("NY", "New York"),
                                         ("WA", "Washington"))),
    Country("GB", "44", "United Kingdom"),
)
CATEGORY_NAMES = {"GEOGRAPHIC": "Geographic", "MOBILE": "Mobile", "TOLLFREE": "Toll free"}
POOL = (
    Region(1, "US", "GEOGRAPHIC", "New York", "212", 12125550100, 100, "NY"),
    Region(2, "US", "GEOGRAPHIC", "Los Angeles", "213", 12135550100, 100, "CA"),
    Region(3, "US", "GEOGRAPHIC", "San Francisco", "415", 14155550100, 100, "CA"),
    Region(4, "US", "GEOGRAPHIC", "Chicago", "312", 13125550100, 100, "IL"),
    Region(5, "US", "GEOGRAPHIC", "Seattle", "206", 12065550100, 100, "WA"),
    Region(6, "US", "TOLLFREE", "Toll free", "800", 18005550100, 100, phone_price=2.0),
    Region(11, "GB", "GEOGRAPHIC", "London", "20", 442079460000, 1000, sms_supported=False),
    Region(12, "GB", "GEOGRAPHIC", "Birmingham", "121", 441214960000, 1000, sms_supported=False),
    Region(13, "GB", "GEOGRAPHIC", "Manchester", "161", 441614960000, 1000, sms_supported=False),
    Region(14, "GB", "MOBILE", "Mobile", "7700", 447700900000, 1000, phone_price=3.0),
    Region(15, "GB", "TOLLFREE", "Freephone", "808", 448081570000, 1000, phone_price=2.0, sms_supported=False),
)
_BY_ID = {region.phone_region_id: region for region in POOL}


def pool_region(phone_region_id: int) -> Region | None:
    return _BY_ID.get(phone_region_id)


def pool_entry(phone_number: str) -> tuple[int, Region] | None:
    """(phone_id, region) of a pool number (E.164 digits), or None when the pool has no such number."""
    if not phone_number.isdigit():
        return None
    value = int(phone_number)
    for region in POOL:
        if region.first <= value < region.first + region.count:
            return region.phone_region_id * 10000 + value - region.first, region
    return None


def country(country_code: str) -> Country | None:
    return next((c for c in COUNTRIES if c.country_code == country_code.upper()), None)


def mask_matcher(mask: str | None) -> re.Pattern[str] | None:
    """A number mask: its digits anywhere in the number, `*` any run of digits (`*555*01*`)."""
    if not mask:
        return None
    if not re.fullmatch(r"[0-9*+]+", mask):
        raise invalid("phone_number_mask")
    return re.compile(".*" + fnmatch.translate(mask.lstrip("+")).removeprefix("(?s:").removesuffix(")\\Z") + ".*")


# ---------------------------------------------------------------------------------------------- records

class PhoneNumber(Record):
    """A number attached to an account."""

    phone_id: int
    account_id: int
    phone_number: str
    application_id: int | None = None
    rule_id: int | None = None
    incoming_sms_callback_url: str = ""
    phone_purchase_date: str
    modified: str
    application_name: str = ""
    rule_name: str = ""
    sms_enabled: bool = False
    """ControlSms turned SMS on for it (voxsim/store/sms.py)."""

    @property
    def region(self) -> Region:
        entry = pool_entry(self.phone_number)
        assert entry is not None  # only pool numbers are ever attached
        return entry[1]

    def api(self) -> dict[str, Any]:
        region = self.region
        purchased = self.phone_purchase_date
        info: dict[str, Any] = {
            "phone_id": self.phone_id, "phone_number": self.phone_number, "phone_price": region.phone_price,
            "phone_country_code": region.country_code, "phone_next_renewal": _next_renewal(purchased),
            "phone_purchase_date": purchased, "deactivated": False, "canceled": False, "auto_charge": False,
            "can_be_used": True, "category_name": region.category, "phone_region_name": region.phone_region_name,
            "is_sms_supported": region.sms_supported, "is_sms_enabled": self.sms_enabled,
            "emergency_calls_enabled": False, "emergency_calls_to_be_enabled": False,
            "subscription_id": self.phone_id, "modified": self.modified,
        }
        if self.application_id is not None:
            info.update(application_id=self.application_id, application_name=self.application_name,
                        extended_application_name=self.application_name)
        if self.rule_id is not None:
            info.update(rule_id=self.rule_id, rule_name=self.rule_name)
        if self.incoming_sms_callback_url:
            info["incoming_sms_callback_url"] = self.incoming_sms_callback_url
        return info


class CallerID(Record):
    callerid_id: int
    account_id: int
    callerid_number: str
    active: bool = False
    verification_code: str = ""
    code_entering_attempts_left: int = VERIFICATION_ATTEMPTS
    verification_call_attempts_left: int = VERIFICATION_ATTEMPTS
    verified_until: str = ""

    def api(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "callerid_id": self.callerid_id, "callerid_number": self.callerid_number, "active": self.active,
            "code_entering_attempts_left": self.code_entering_attempts_left,
            "verification_call_attempts_left": self.verification_call_attempts_left,
        }
        if self.verified_until:
            info["verified_until"] = self.verified_until
        return info


def _next_renewal(purchased: str) -> str:
    """A month after the purchase (the platform renews monthly), as a date."""
    day = purchased[:10]
    year, month, date = (int(part) for part in day.split("-"))
    year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return f"{year:04d}-{month:02d}-{min(date, 28):02d}"


@dataclass(frozen=True)
class PhoneFilter:
    """GetPhoneNumbers' filters (None: not filtered)."""

    phone_ids: Sequence[int] | None = None
    phone_numbers: Sequence[str] | None = None
    application_ids: Sequence[int] | None = None
    is_bound_to_application: bool | None = None
    rule_ids: Sequence[int] | None = None
    is_bound_to_rule: bool | None = None
    country_codes: Sequence[str] | None = None
    categories: Sequence[str] | None = None
    region_names: Sequence[str] | None = None
    template: str | None = None

    def admits(self, number: PhoneNumber) -> bool:
        region = number.region
        checks = (
            self.phone_ids is None or number.phone_id in self.phone_ids,
            self.phone_numbers is None or number.phone_number in self.phone_numbers,
            self.application_ids is None or number.application_id in self.application_ids,
            self.is_bound_to_application is None or (number.application_id is not None) == self.is_bound_to_application,
            self.rule_ids is None or number.rule_id in self.rule_ids,
            self.is_bound_to_rule is None or (number.rule_id is not None) == self.is_bound_to_rule,
            self.country_codes is None or region.country_code in self.country_codes,
            self.categories is None or region.category in self.categories,
            self.region_names is None or region.phone_region_name.lower() in self.region_names,
        )
        matcher = mask_matcher(self.template)
        return all(checks) and (matcher is None or bool(matcher.fullmatch(number.phone_number)))


# ---------------------------------------------------------------------------------------------- the store

_SELECT_NUMBERS = ("SELECT p.*, a.name AS app_short, acc.account_name AS app_account, r.rule_name AS rule_name, "
                   "p.phone_id IN (SELECT phone_id FROM sms_enabled_numbers) AS sms_enabled "
                   "FROM phone_numbers p LEFT JOIN applications a ON a.application_id = p.application_id "
                   "LEFT JOIN accounts acc ON acc.account_id = a.account_id "
                   "LEFT JOIN rules r ON r.rule_id = p.rule_id")


def _phone(row: dict[str, Any]) -> PhoneNumber:
    short, account = row.pop("app_short"), row.pop("app_account")
    name = Application(application_id=0, account_id=0, name=short, account_name=account,
                       modified="").application_name if short else ""
    return PhoneNumber(**{**row, "application_name": name, "rule_name": row.get("rule_name") or ""})


class PhoneNumbersMixin(StoreBase):
    if TYPE_CHECKING:  # provided by the applications and rules families of the composed Store
        def get_application(self, account_id: int, *, application_id: int | None = None,
                            application_name: str | None = None) -> Application: ...

        def get_rule(self, account_id: int, *, rule_id: int | None = None, rule_name: str | None = None,
                     application_id: int | None = None) -> Rule: ...

    # -- the pool ---------------------------------------------------------------------------------
    def taken_numbers(self) -> set[str]:
        return {str(row["phone_number"]) for row in self.db.all("SELECT phone_number FROM phone_numbers")}

    def free_pool_numbers(self, regions: Iterable[Region]) -> list[tuple[int, str, Region]]:
        """(phone_id, phone_number, region) of the numbers of these regions no account has attached."""
        taken = self.taken_numbers()
        return [(phone_id, number, region) for region in regions for phone_id, number in region.numbers()
                if number not in taken]

    def attach_phone_numbers(self, account_id: int, numbers: Sequence[str]) -> list[PhoneNumber]:
        """Attaches these pool numbers (E.164 digits); one that is not a free pool number answers 496."""
        now = timestamp()
        with self.db.tx():
            taken = self.taken_numbers()
            attached = []
            for number in dict.fromkeys(numbers):
                entry = pool_entry(number)
                if entry is None or number in taken:
                    raise invalid("phone_number")
                self.db.execute("INSERT INTO phone_numbers (phone_id, account_id, phone_number, phone_purchase_date, "
                                "modified) VALUES (?, ?, ?, ?, ?)", (entry[0], account_id, number, now, now))
                attached.append(entry[0])
        return [self.get_phone_number(account_id, phone_id=phone_id) for phone_id in attached]

    # -- the account's numbers --------------------------------------------------------------------
    def list_phone_numbers(self, account_id: int, where: PhoneFilter | None = None) -> list[PhoneNumber]:
        rows = self.db.all(_SELECT_NUMBERS + " WHERE p.account_id = ? ORDER BY p.phone_id", (account_id,))
        numbers = [_phone(row) for row in rows]
        return [n for n in numbers if where is None or where.admits(n)]

    def get_phone_number(self, account_id: int, *, phone_id: int | None = None,
                         phone_number: str | None = None) -> PhoneNumber:
        """The account's number by id or by number; another account's or none answers 496."""
        if phone_id is not None:
            row = self.db.one(_SELECT_NUMBERS + " WHERE p.account_id = ? AND p.phone_id = ?", (account_id, phone_id))
            name = "phone_id"
        else:
            if phone_number is None:
                raise specify("phone_id")
            row = self.db.one(_SELECT_NUMBERS + " WHERE p.account_id = ? AND p.phone_number = ?",
                              (account_id, normalize_number(phone_number) or phone_number))
            name = "phone_number"
        if row is None:
            raise invalid(name)
        return _phone(row)

    def find_phone_number(self, phone_number: str) -> PhoneNumber | None:
        """The attached number (any account) a call to `phone_number` reaches; None when nobody has it."""
        digits = normalize_number(phone_number)
        row = self.db.one(_SELECT_NUMBERS + " WHERE p.phone_number = ?", (digits,)) if digits else None
        return _phone(row) if row else None

    def bind_phone_numbers(self, account_id: int, phone_ids: Sequence[int], *, application_id: int | None,
                           rule_id: int | None, bind: bool) -> None:
        """Binds the numbers to the application (and its rule), or unbinds them from both."""
        with self.db.tx():
            for phone_id in phone_ids:
                app, rule = (application_id, rule_id) if bind else (None, None)
                self.db.execute("UPDATE phone_numbers SET application_id = ?, rule_id = ?, modified = ? "
                                "WHERE account_id = ? AND phone_id = ?", (app, rule, timestamp(), account_id, phone_id))

    def binding_rule(self, account_id: int, application: Application, *, rule_id: int | None,
                     rule_name: str | None) -> Rule | None:
        """The application's rule a number is bound to: an unknown one, or one of another application, answers
        147 (156 by name)."""
        if rule_id is None and rule_name is None:
            return None
        return self.get_rule(account_id, rule_id=rule_id, rule_name=rule_name,
                             application_id=application.application_id)

    def deactivate_phone_numbers(self, account_id: int, phone_ids: Sequence[int]) -> None:
        """The numbers leave the account and go back to the pool."""
        with self.db.tx():
            for phone_id in phone_ids:
                self.db.execute("DELETE FROM phone_numbers WHERE account_id = ? AND phone_id = ?",
                                (account_id, phone_id))

    def set_phone_number_info(self, account_id: int, phone_ids: Sequence[int], incoming_sms_callback_url: str) -> None:
        with self.db.tx():
            for phone_id in phone_ids:
                self.db.execute("UPDATE phone_numbers SET incoming_sms_callback_url = ?, modified = ? "
                                "WHERE account_id = ? AND phone_id = ?",
                                (incoming_sms_callback_url, timestamp(), account_id, phone_id))

    # -- caller IDs -------------------------------------------------------------------------------
    def add_caller_id(self, account_id: int, callerid_number: str) -> CallerID:
        number = normalize_number(callerid_number)
        if number is None:
            raise invalid("callerid_number")
        if self.db.one("SELECT 1 FROM caller_ids WHERE account_id = ? AND callerid_number = ?", (account_id, number)):
            raise VoxError(NOT_UNIQUE, "The 'callerid_number' is not unique")
        callerid_id = self.db.insert(
            "INSERT INTO caller_ids (account_id, callerid_number, code_entering_attempts_left, "
            "verification_call_attempts_left) VALUES (?, ?, ?, ?)",
            (account_id, number, VERIFICATION_ATTEMPTS, VERIFICATION_ATTEMPTS))
        return self.get_caller_id(account_id, callerid_id=callerid_id)

    def get_caller_id(self, account_id: int, *, callerid_id: int | None = None,
                      callerid_number: str | None = None) -> CallerID:
        if callerid_id is not None:
            row = self.db.one("SELECT * FROM caller_ids WHERE account_id = ? AND callerid_id = ?",
                              (account_id, callerid_id))
            name = "callerid_id"
        else:
            if callerid_number is None:
                raise specify("callerid_id")
            row = self.db.one("SELECT * FROM caller_ids WHERE account_id = ? AND callerid_number = ?",
                              (account_id, normalize_number(callerid_number) or callerid_number))
            name = "callerid_number"
        if row is None:
            raise invalid(name)
        return CallerID(**row)

    def list_caller_ids(self, account_id: int) -> list[CallerID]:
        rows = self.db.all("SELECT * FROM caller_ids WHERE account_id = ? ORDER BY callerid_id", (account_id,))
        return [CallerID(**row) for row in rows]

    def verify_caller_id(self, caller: CallerID) -> str:
        """The simulated verification call: a new 5-digit code, written to the log; returns it."""
        if caller.active:
            raise VoxError(NOT_UNIQUE, "The caller ID is already verified")
        if caller.verification_call_attempts_left <= 0:
            raise invalid("callerid_id")
        code = f"{secrets.randbelow(100000):05d}"
        self.db.execute("UPDATE caller_ids SET verification_code = ?, verification_call_attempts_left = ?, "
                        "code_entering_attempts_left = ? WHERE callerid_id = ?",
                        (code, caller.verification_call_attempts_left - 1, VERIFICATION_ATTEMPTS, caller.callerid_id))
        log.warning("Caller ID verification call to +%s: the code is %s (ActivateCallerID takes it)",
                    caller.callerid_number, code)
        return code

    def activate_caller_id(self, caller: CallerID, verification_code: str) -> None:
        """The code of the last verification call verifies the caller ID for a year; a wrong one costs an attempt."""
        if caller.active:
            return
        if not caller.verification_code or caller.code_entering_attempts_left <= 0:
            raise invalid("verification_code")
        if not secrets.compare_digest(caller.verification_code, verification_code.strip()):
            self.db.execute("UPDATE caller_ids SET code_entering_attempts_left = ? WHERE callerid_id = ?",
                            (caller.code_entering_attempts_left - 1, caller.callerid_id))
            raise invalid("verification_code")
        until = (utcnow() + VERIFIED_FOR).strftime(DATE_FORMAT)
        self.db.execute("UPDATE caller_ids SET active = 1, verification_code = '', verified_until = ? "
                        "WHERE callerid_id = ?", (until, caller.callerid_id))

    def del_caller_id(self, caller: CallerID) -> None:
        self.db.execute("DELETE FROM caller_ids WHERE callerid_id = ?", (caller.callerid_id,))

    def may_show_callerid(self, account_id: int, callerid: str) -> bool:
        """Whether callPSTN may show `callerid`: one of the account's numbers or of its verified caller IDs."""
        digits = normalize_number(callerid)
        if digits is None:
            return False
        return bool(self.db.one(
            "SELECT 1 FROM phone_numbers WHERE account_id = ? AND phone_number = ? UNION ALL "
            "SELECT 1 FROM caller_ids WHERE account_id = ? AND callerid_number = ? AND active = 1",
            (account_id, digits, account_id, digits)))
