"""SQLite-backed state, keyed by account.

One mixin per resource family (each module holds its table schema and its logic); `Store`
composes them over one connection. Everything the emulator must remember goes through here.
"""

from __future__ import annotations

from collections.abc import Callable

from voxsim.store import (
    accounts,
    acd,
    applications,
    audit_log,
    authorized_ips,
    call_lists,
    history,
    history_reports,
    key_value,
    mail,
    outbound_test_numbers,
    phone_numbers,
    pstn_blacklist,
    records,
    rules,
    scenarios,
    secrets,
    service_keys,
    sip_messages,
    sip_registrations,
    smart_queue,
    sms,
    users,
    whitelist,
)
from voxsim.store.db import Database

FAMILIES = (accounts, applications, users, scenarios, rules, whitelist, sip_registrations, history,
            key_value, call_lists, sip_messages, phone_numbers, service_keys,
            secrets, pstn_blacklist, mail, outbound_test_numbers, acd,
            smart_queue, records, history_reports, audit_log, authorized_ips, sms)

# Tables that `reset` empties; accounts and their keys survive (their settings are cleared).
KEPT_TABLES = {"accounts", "service_keys", "service_key_roles", "sqlite_sequence"}


class Store(
    accounts.AccountsMixin,
    applications.ApplicationsMixin,
    users.UsersMixin,
    scenarios.ScenariosMixin,
    rules.RulesMixin,
    whitelist.WhiteListMixin,
    sip_registrations.SipRegistrationsMixin,
    history.HistoryMixin,
    key_value.KeyValueMixin,
    call_lists.CallListsMixin,
    sip_messages.SipMessagesMixin,
    phone_numbers.PhoneNumbersMixin,
    service_keys.ServiceKeysMixin,
    secrets.SecretsMixin,
    pstn_blacklist.PstnBlackListMixin,
    mail.MailMixin,
    outbound_test_numbers.OutboundTestNumbersMixin,
    acd.AcdMixin,
    smart_queue.SmartQueueMixin,
    records.RecordsMixin,
    history_reports.HistoryReportsMixin,
    audit_log.AuditLogMixin,
    authorized_ips.AuthorizedIPsMixin,
    sms.SmsMixin,
):
    def __init__(self, path: str = ":memory:") -> None:
        self.db = Database(path)
        for family in FAMILIES:
            if family.SCHEMA:
                self.db.executescript(family.SCHEMA)

    def close(self) -> None:
        self.db.close()

    def subscribe(self, on_change: Callable[[], None]) -> Callable[[], None]:
        """`on_change()` after every committed write (see `Database.subscribe`); returns the unsubscriber."""
        return self.db.subscribe(on_change)

    def wipe_resources(self) -> None:
        """Delete every resource but the accounts and their keys (for `/_voxsim/reset`)."""
        tables = [r["name"] for r in self.db.all("SELECT name FROM sqlite_master WHERE type = 'table'")]
        with self.db.tx():
            self.db.execute("PRAGMA defer_foreign_keys = ON")
            for table in tables:
                if table not in KEPT_TABLES:
                    self.db.execute(f"DELETE FROM {table}")
            self.db.execute("UPDATE accounts SET settings = '{}'")


__all__ = ["Store"]
