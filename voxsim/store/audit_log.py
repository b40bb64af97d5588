"""The audit log (GetAuditLog): what the Management API changed in an account.

The API records each method that succeeded and is not a read (mock_api/methods/audit_log.py decides which)
with the caller's address, the arguments it was given (secrets masked) and the values it answered. An
account keeps its latest `KEPT_ENTRIES`; the log goes with a reset.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from voxsim.store.base import StoreBase
from voxsim.store.db import timestamp

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_log (
    audit_log_id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(account_id) ON DELETE CASCADE,
    requested TEXT NOT NULL,
    ip TEXT NOT NULL,
    cmd_name TEXT NOT NULL,
    cmd_args TEXT NOT NULL,
    cmd_result TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_log_account ON audit_log(account_id, audit_log_id);
"""

KEPT_ENTRIES = 10_000


@dataclass(frozen=True)
class AuditEntry:
    audit_log_id: int
    account_id: int
    requested: str
    ip: str
    cmd_name: str
    cmd_args: str
    cmd_result: str

    def api(self) -> dict[str, Any]:
        """AuditLogInfoType; no `cmd_result` when the method answered no values."""
        info: dict[str, Any] = {"audit_log_id": self.audit_log_id, "account_id": self.account_id,
                                "requested": self.requested, "ip": self.ip, "cmd_name": self.cmd_name,
                                "cmd_args": json.loads(self.cmd_args)}
        result = json.loads(self.cmd_result)
        if result:
            info["cmd_result"] = result
        return info


@dataclass
class AuditQuery:
    """GetAuditLog's filters; `None` means "any"."""

    from_date: datetime | None = None
    to_date: datetime | None = None
    audit_log_ids: Sequence[int] | None = None
    ips: Sequence[str] | None = None
    cmd_names: Sequence[str] | None = None
    desc_order: bool = False


class AuditLogMixin(StoreBase):
    def add_audit_entry(self, account_id: int, ip: str, cmd_name: str, cmd_args: dict[str, Any],
                        cmd_result: dict[str, Any]) -> None:
        with self.db.tx():
            entry_id = self.db.insert(
                "INSERT INTO audit_log (account_id, requested, ip, cmd_name, cmd_args, cmd_result) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (account_id, timestamp(), ip, cmd_name, json.dumps(cmd_args, ensure_ascii=False),
                 json.dumps(cmd_result, ensure_ascii=False, default=str)))
            self.db.execute("DELETE FROM audit_log WHERE account_id = ? AND audit_log_id <= ?",
                            (account_id, entry_id - KEPT_ENTRIES))

    def find_audit_entries(self, account_id: int, query: AuditQuery, count: int,
                           offset: int) -> tuple[int, list[AuditEntry]]:
        """(all matches, one page of them), oldest first unless `desc_order`."""
        clauses, args = ["account_id = ?"], list[Any]([account_id])
        for column, values in (("audit_log_id", query.audit_log_ids), ("ip", query.ips),
                               ("cmd_name", query.cmd_names)):
            if values is not None:
                clauses.append(f"{column} IN ({', '.join('?' * len(values))})")
                args.extend(values)
        if query.from_date is not None:
            clauses.append("requested >= ?")
            args.append(timestamp(query.from_date))
        if query.to_date is not None:
            clauses.append("requested <= ?")
            args.append(timestamp(query.to_date))
        where = " AND ".join(clauses)
        total = int(self.db.scalar(f"SELECT COUNT(*) FROM audit_log WHERE {where}", args))
        order = "DESC" if query.desc_order else "ASC"
        rows = self.db.all(f"SELECT * FROM audit_log WHERE {where} ORDER BY audit_log_id {order} LIMIT ? OFFSET ?",
                           [*args, count, offset])
        return total, [AuditEntry(**row) for row in rows]
