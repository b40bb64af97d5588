"""SIP registrations: voxsim registers as a user agent on a third-party registrar.

The Management API creates, lists, updates, binds and deletes them; the SIP side's registration
client (a later piece) reads the active ones with `active_sip_registrations` and reports what the
registrar answered with `update_sip_registration_status`. Until it does, a record says truthfully
that it is not registered.

Bindings name an application and, optionally, a rule and a user of it. They are checked with the
applications, rules and users families (`get_application`, `get_rule`, `get_user` of the composed
Store), and the names shown are looked up when a record is read: a renamed rule shows its new name,
and a deleted application, rule or user is no longer bound.
"""

from __future__ import annotations

import calendar
import ipaddress
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from voxsim.errors import (
    INVALID_SIP_PROXY,
    INVALID_SIP_REGISTRATION_ID,
    INVALID_SIP_USERNAME,
    SIP_REGISTRATION_LIMIT,
    VoxError,
    invalid,
    specify,
)
from voxsim.model import BINDING_FIELDS, Application, Binding, Rule, SipRegistration, User
from voxsim.store.base import StoreBase
from voxsim.store.db import DATE_FORMAT, timestamp, utcnow

SCHEMA = """
CREATE TABLE IF NOT EXISTS sip_registrations (
    sip_registration_id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(account_id) ON DELETE CASCADE,
    sip_username TEXT NOT NULL,
    proxy TEXT NOT NULL,
    auth_user TEXT NOT NULL DEFAULT '',
    outbound_proxy TEXT NOT NULL DEFAULT '',
    password TEXT NOT NULL DEFAULT '',
    is_persistent INTEGER NOT NULL DEFAULT 1,
    deactivated INTEGER NOT NULL DEFAULT 0,
    application_id INTEGER,
    application_name TEXT NOT NULL DEFAULT '',
    rule_id INTEGER,
    rule_name TEXT NOT NULL DEFAULT '',
    user_id INTEGER,
    user_name TEXT NOT NULL DEFAULT '',
    successful INTEGER NOT NULL DEFAULT 0,
    in_progress INTEGER NOT NULL DEFAULT 0,
    status_code INTEGER,
    error_message TEXT NOT NULL DEFAULT '',
    last_updated INTEGER NOT NULL,
    purchase_date TEXT NOT NULL,
    next_subscription_renewal TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sip_registrations_account ON sip_registrations(account_id);
"""

SIP_REGISTRATION_LIMIT_PER_ACCOUNT = 100  # [INF] the platform's limit (code 272) is unpublished
SIP_USERNAME_MAX = 128
# What a new (or changed) record says until the registration client's first attempt reports.
NOT_RUNNING = "not registered yet: the first REGISTER has not been sent"
WAITS_FOR_USER = "not registered: a non-persistent registration registers only while its user is logged in"

# RFC 3261 `user`: unreserved / escaped / user-unreserved characters; no '@', ':' or spaces.
_SIP_USER = re.compile(r"(?:[A-Za-z0-9\-_.!~*'()&=+$,;?/]|%[0-9A-Fa-f]{2})+")
_HOSTNAME = re.compile(r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                       r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?")
_TRANSPORTS = {"udp", "tcp", "tls", "sctp", "ws", "wss"}

BOOL_COLUMNS = ("is_persistent", "deactivated", "successful", "in_progress")


def validate_sip_username(value: str) -> str:
    value = value.strip()
    if not value or len(value) > SIP_USERNAME_MAX or not _SIP_USER.fullmatch(value):
        raise VoxError(INVALID_SIP_USERNAME, "Invalid 'sip_username'")
    return value


def validate_proxy(value: str, name: str = "proxy") -> str:
    """`host[:port]`, optionally `sip:`/`sips:` in front and `;transport=udp|tcp|tls` behind."""
    text = value.strip()
    if not _is_proxy(text):
        raise VoxError(INVALID_SIP_PROXY, f"Invalid '{name}'")
    return text


def _is_proxy(text: str) -> bool:
    lowered = text.lower()
    for scheme in ("sip:", "sips:"):
        if lowered.startswith(scheme):
            text = text[len(scheme):]
            break
    hostport, *params = text.split(";")
    for param in params:
        key, _, val = param.partition("=")
        if key.strip().lower() != "transport" or val.strip().lower() not in _TRANSPORTS:
            return False
    if hostport.startswith("["):  # [IPv6]:port
        host, bracket, rest = hostport[1:].partition("]")
        if not bracket:
            return False
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return False
        port = rest[1:] if rest.startswith(":") else None
        if rest and port is None:
            return False
    else:
        host, sep, port_text = hostport.partition(":")
        port = port_text if sep else None
        if not _HOSTNAME.fullmatch(host):
            return False
    return port is None or (port.isdigit() and 0 < int(port) < 65536)


def parse_status_codes(text: str) -> list[tuple[int, int]]:
    """The `status_code` filter: `a;b` lists and `a:b` inclusive ranges, e.g. `200;400:499`."""
    ranges: list[tuple[int, int]] = []
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        low, sep, high = part.partition(":")
        try:
            first, last = int(low), int(high) if sep else int(low)
        except ValueError as exc:
            raise invalid("status_code") from exc
        if first > last:
            raise invalid("status_code")
        ranges.append((first, last))
    if not ranges:
        raise invalid("status_code")
    return ranges


@dataclass
class BindRequest:
    """The `application_*`, `rule_*` and `user_*` alternatives of a request (at most one of each pair)."""

    application_id: int | None = None
    application_name: str | None = None
    rule_id: int | None = None
    rule_name: str | None = None
    user_id: int | None = None
    user_name: str | None = None

    @property
    def given(self) -> bool:
        return any(v is not None for v in vars(self).values())

    @property
    def names_application(self) -> bool:
        return self.application_id is not None or self.application_name is not None


@dataclass
class RegistrationFilter:
    """GetSipRegistrations' filters; `None` means "any"."""

    sip_registration_id: int | None = None
    sip_username: str | None = None
    deactivated: bool | None = None
    successful: bool | None = None
    is_persistent: bool | None = None
    application_ids: Sequence[int] | None = None
    """Ids; the store turns `application_name` filters into ids too (an unknown name matches nothing)."""
    is_bound_to_application: bool | None = None
    rule_ids: Sequence[int] | None = None
    rule_names: Sequence[str] | None = None
    user_ids: Sequence[int] | None = None
    proxies: Sequence[str] | None = None
    in_progress: bool | None = None
    status_codes: Sequence[tuple[int, int]] | None = None

    def matches(self, reg: SipRegistration) -> bool:
        bound = reg.binding
        checks = (
            self.sip_registration_id is None or reg.sip_registration_id == self.sip_registration_id,
            not self.sip_username or self.sip_username.lower() in reg.sip_username.lower(),
            self.deactivated is None or reg.deactivated == self.deactivated,
            self.successful is None or reg.successful == self.successful,
            self.is_persistent is None or reg.is_persistent == self.is_persistent,
            self.in_progress is None or reg.in_progress == self.in_progress,
            self.is_bound_to_application is None or (bound.application_id is not None) == self.is_bound_to_application,
            self.application_ids is None or bound.application_id in self.application_ids,
            self.rule_ids is None or bound.rule_id in self.rule_ids,
            self.rule_names is None or bound.rule_name in self.rule_names,
            self.user_ids is None or bound.user_id in self.user_ids,
            self.proxies is None or reg.proxy.lower() in {p.lower() for p in self.proxies},
            self.status_codes is None or (reg.status_code is not None and any(
                low <= reg.status_code <= high for low, high in self.status_codes)),
        )
        return all(checks)


def next_month(purchase: datetime) -> str:
    """The subscription renews a month after purchase (same day next month, clamped; voxsim bills nothing)."""
    year, month = (purchase.year + 1, 1) if purchase.month == 12 else (purchase.year, purchase.month + 1)
    day = min(purchase.day, calendar.monthrange(year, month)[1])
    return purchase.replace(year=year, month=month, day=day).strftime(DATE_FORMAT)


class SipRegistrationsMixin(StoreBase):
    if TYPE_CHECKING:  # provided by the applications, rules and users families of the composed Store
        def find_application(self, account_id: int, *, application_id: int | None = None,
                             application_name: str | None = None) -> Application | None: ...
        def get_application(self, account_id: int, *, application_id: int | None = None,
                            application_name: str | None = None) -> Application: ...
        def get_rule(self, account_id: int, *, rule_id: int | None = None, rule_name: str | None = None,
                     application_id: int | None = None) -> Rule: ...
        def get_user(self, account_id: int, *, user_id: int | None = None, user_name: str | None = None,
                     application_id: int | None = None) -> User: ...

    # -- the Management API's side ----------------------------------------------------------
    def create_sip_registration(self, account_id: int, sip_username: str, proxy: str, *, auth_user: str = "",
                                outbound_proxy: str = "", password: str = "", is_persistent: bool = True,
                                bind: BindRequest | None = None) -> SipRegistration:
        sip_username = validate_sip_username(sip_username)
        proxy = validate_proxy(proxy)
        outbound_proxy = validate_proxy(outbound_proxy, "outbound_proxy") if outbound_proxy else ""
        binding = self._resolve_binding(account_id, bind) if bind and bind.given else Binding()
        purchase = utcnow()
        with self.db.tx():
            count = self.db.scalar("SELECT COUNT(*) FROM sip_registrations WHERE account_id = ?", (account_id,))
            if count >= SIP_REGISTRATION_LIMIT_PER_ACCOUNT:
                raise VoxError(SIP_REGISTRATION_LIMIT, "Exceeded the maximum possible number of SIP registrations")
            reg_id = self.db.insert(
                "INSERT INTO sip_registrations (account_id, sip_username, proxy, auth_user, outbound_proxy, "
                "password, is_persistent, error_message, last_updated, purchase_date, next_subscription_renewal) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (account_id, sip_username, proxy, auth_user, outbound_proxy, password, int(is_persistent),
                 NOT_RUNNING if is_persistent else WAITS_FOR_USER, int(purchase.timestamp()), timestamp(purchase),
                 next_month(purchase)),
            )
            self._write_binding(account_id, reg_id, binding)
        return self.get_sip_registration(account_id, reg_id)

    def get_sip_registration(self, account_id: int, reg_id: int) -> SipRegistration:
        row = self.db.one("SELECT * FROM sip_registrations WHERE account_id = ? AND sip_registration_id = ?",
                          (account_id, reg_id))
        if row is None:
            raise VoxError(INVALID_SIP_REGISTRATION_ID, "Invalid 'sip_registration_id'")
        return self._present(row)

    def list_sip_registrations(self, account_id: int, where: RegistrationFilter | None = None,
                               application_names: Sequence[str] | None = None) -> list[SipRegistration]:
        """The account's registrations in id order; `application_names` (short or full) filter like ids."""
        rows = self.db.all("SELECT * FROM sip_registrations WHERE account_id = ? ORDER BY sip_registration_id",
                           (account_id,))
        regs = [self._present(row) for row in rows]
        where = where or RegistrationFilter()
        if application_names is not None:
            apps = (self.find_application(account_id, application_name=name) for name in application_names)
            where.application_ids = [*(where.application_ids or ()), *(a.application_id for a in apps if a)]
        return [reg for reg in regs if where.matches(reg)]

    def update_sip_registration(self, account_id: int, reg_id: int, *, sip_username: str | None = None,
                                proxy: str | None = None, auth_user: str | None = None,
                                outbound_proxy: str | None = None, password: str | None = None,
                                bind: BindRequest | None = None) -> SipRegistration:
        current = self.get_sip_registration(account_id, reg_id)
        changes: dict[str, Any] = {}
        if sip_username is not None:
            changes["sip_username"] = validate_sip_username(sip_username)
        if proxy is not None:
            changes["proxy"] = validate_proxy(proxy)
        if outbound_proxy is not None:
            changes["outbound_proxy"] = validate_proxy(outbound_proxy, "outbound_proxy")
        if auth_user is not None:
            changes["auth_user"] = auth_user
        if password is not None:
            changes["password"] = password
        binding = None
        if bind is not None and bind.given:
            binding = self._resolve_binding(account_id, bind, fallback_application=current.binding.application_id)
        with self.db.tx():
            if changes:
                # New credentials or registrar: what the SIP side saw before no longer applies.
                changes.update(successful=0, in_progress=0, status_code=None, last_updated=int(time.time()),
                               error_message=NOT_RUNNING if current.is_persistent else WAITS_FOR_USER)
                columns = ", ".join(f"{name} = ?" for name in changes)
                self.db.execute(f"UPDATE sip_registrations SET {columns} WHERE sip_registration_id = ?",
                                (*changes.values(), reg_id))
            if binding is not None:
                self._write_binding(account_id, reg_id, binding)
        return self.get_sip_registration(account_id, reg_id)

    def delete_sip_registration(self, account_id: int, reg_id: int) -> None:
        with self.db.tx():
            self.get_sip_registration(account_id, reg_id)
            self.db.execute("DELETE FROM sip_registrations WHERE sip_registration_id = ?", (reg_id,))

    def bind_sip_registration(self, account_id: int, reg_id: int | None, bind: BindRequest,
                              *, unbind: bool = False) -> None:
        """BindSipRegistration. `unbind` with an id clears that registration's binding; without one it
        takes the user's registrations away from the user (the platform's `bind=false&user_id=N`)."""
        if not unbind:
            if reg_id is None:
                raise specify("sip_registration_id")
            if not bind.given:
                raise specify("application_id")
            current = self.get_sip_registration(account_id, reg_id)
            binding = self._resolve_binding(account_id, bind, fallback_application=current.binding.application_id)
            with self.db.tx():
                self._write_binding(account_id, reg_id, binding)
            return
        if reg_id is not None:
            self.get_sip_registration(account_id, reg_id)
            with self.db.tx():
                self._write_binding(account_id, reg_id, Binding())
            return
        if bind.user_id is None and bind.user_name is None:
            raise specify("sip_registration_id")
        app_id = None if bind.user_name is None else self._bind_application(account_id, bind, None).application_id
        user = self.get_user(account_id, user_id=bind.user_id, user_name=bind.user_name, application_id=app_id)
        with self.db.tx():
            self._release_user(account_id, user.user_id)

    # -- the SIP registration client's side -------------------------------------------------
    def active_sip_registrations(self, account_id: int | None = None) -> list[SipRegistration]:
        """Registrations the SIP side should keep registered (not deactivated), with their passwords."""
        sql = "SELECT * FROM sip_registrations WHERE deactivated = 0"
        args: tuple[Any, ...] = ()
        if account_id is not None:
            sql += " AND account_id = ?"
            args = (account_id,)
        return [self._present(row) for row in self.db.all(sql + " ORDER BY sip_registration_id", args)]

    def update_sip_registration_status(self, reg_id: int, successful: bool, status_code: int | None,
                                       error_message: str = "", in_progress: bool = False) -> None:
        """What the registrar last answered; sets `last_updated` to now (UNIX seconds). An id that is gone
        (deleted while a REGISTER was in flight) is ignored."""
        with self.db.tx():
            self.db.execute(
                "UPDATE sip_registrations SET successful = ?, status_code = ?, error_message = ?, "
                "in_progress = ?, last_updated = ? WHERE sip_registration_id = ?",
                (int(successful), status_code, error_message, int(in_progress), int(time.time()), reg_id),
            )

    # -- helpers --------------------------------------------------------------------------
    def _present(self, row: dict[str, Any]) -> SipRegistration:
        for name in BOOL_COLUMNS:
            row[name] = bool(row[name])
        binding = Binding(**{name: row.pop(name) for name in BINDING_FIELDS})
        reg = SipRegistration(**row, binding=binding)
        self._refresh_binding(reg.binding, reg.account_id)
        return reg

    def _refresh_binding(self, binding: Binding, account_id: int) -> None:
        """Today's names of what a registration is bound to; what no longer exists is unbound."""
        if binding.application_id is None:
            return
        app = self.find_application(account_id, application_id=binding.application_id)
        if app is None:  # the application is gone, and the binding with it
            binding.application_id = binding.rule_id = binding.user_id = None
            binding.application_name = binding.rule_name = binding.user_name = ""
            return
        binding.application_name = app.application_name
        if binding.rule_id is not None:
            try:
                binding.rule_name = self.get_rule(account_id, rule_id=binding.rule_id,
                                                  application_id=app.application_id).rule_name
            except VoxError:
                binding.rule_id, binding.rule_name = None, ""
        if binding.user_id is not None:
            try:
                binding.user_name = self.get_user(account_id, user_id=binding.user_id,
                                                  application_id=app.application_id).user_name
            except VoxError:
                binding.user_id, binding.user_name = None, ""

    def _write_binding(self, account_id: int, reg_id: int, binding: Binding) -> None:
        if binding.user_id is not None:  # one registration per user: the previous one lets go
            self._release_user(account_id, binding.user_id)
        self.db.execute(
            "UPDATE sip_registrations SET application_id = ?, application_name = ?, rule_id = ?, rule_name = ?, "
            "user_id = ?, user_name = ? WHERE sip_registration_id = ?",
            (binding.application_id, binding.application_name, binding.rule_id, binding.rule_name,
             binding.user_id, binding.user_name, reg_id),
        )

    def _release_user(self, account_id: int, user_id: int) -> None:
        self.db.execute("UPDATE sip_registrations SET user_id = NULL, user_name = '' "
                        "WHERE account_id = ? AND user_id = ?", (account_id, user_id))

    def _resolve_binding(self, account_id: int, bind: BindRequest,
                         fallback_application: int | None = None) -> Binding:
        app = self._bind_application(account_id, bind, fallback_application)
        binding = Binding(application_id=app.application_id, application_name=app.application_name)
        if bind.rule_id is not None or bind.rule_name is not None:
            rule = self.get_rule(account_id, rule_id=bind.rule_id, rule_name=bind.rule_name,
                                 application_id=app.application_id)
            binding.rule_id, binding.rule_name = rule.rule_id, rule.rule_name
        if bind.user_id is not None or bind.user_name is not None:
            user = self.get_user(account_id, user_id=bind.user_id, user_name=bind.user_name,
                                 application_id=app.application_id)
            binding.user_id, binding.user_name = user.user_id, user.user_name
        return binding

    def _bind_application(self, account_id: int, bind: BindRequest, fallback_application: int | None) -> Application:
        """The application a binding names. A rule id alone names its rule's application, and an update may
        keep the registration's current one; rule names and users need an application."""
        if bind.names_application:
            return self.get_application(account_id, application_id=bind.application_id,
                                        application_name=bind.application_name)
        if bind.rule_id is not None:
            fallback_application = self.get_rule(account_id, rule_id=bind.rule_id).application_id
        if fallback_application is None:
            raise specify("application_id")
        return self.get_application(account_id, application_id=fallback_application)
