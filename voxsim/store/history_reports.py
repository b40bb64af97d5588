"""History reports (GetCallHistoryAsync, GetBriefCallHistory, GetHistoryReports, DownloadHistoryReport).

A report is ordered with the filters of a history method and its file is made at once: the emulator's
history is small, so a report is complete by the time its order is answered (GetHistoryReports shows
`completed`). The file is kept with the report, as the platform keeps it, so a later change to the history
does not change a report already made; each download counts. Reports go with a reset.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from voxsim.errors import invalid
from voxsim.store.base import StoreBase
from voxsim.store.db import timestamp, utcnow

SCHEMA = """
CREATE TABLE IF NOT EXISTS history_reports (
    history_report_id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(account_id) ON DELETE CASCADE,
    history_type TEXT NOT NULL,
    format TEXT NOT NULL,
    application_id INTEGER,
    filters TEXT NOT NULL,
    calculated_data TEXT NOT NULL,
    file_name TEXT NOT NULL,
    content BLOB NOT NULL,
    created TEXT NOT NULL,
    completed TEXT NOT NULL,
    download_count INTEGER NOT NULL DEFAULT 0,
    last_downloaded TEXT
);
CREATE INDEX IF NOT EXISTS history_reports_account ON history_reports(account_id, history_report_id);
"""

HISTORY_TYPES = ("calls", "transactions", "audit", "call_list")
STORE_DAYS = 7
"""How long the platform says it keeps a report (`store_until`); voxsim keeps it until a reset."""
INVALID_HISTORY_REPORT_ID = 496


@dataclass(frozen=True)
class HistoryReport:
    history_report_id: int
    account_id: int
    history_type: str
    format: str
    application_id: int | None
    filters: str
    calculated_data: str
    file_name: str
    content: bytes
    created: str
    completed: str
    download_count: int
    last_downloaded: str | None

    def api(self) -> dict[str, Any]:
        """HistoryReportType."""
        info: dict[str, Any] = {
            "history_report_id": self.history_report_id,
            "history_type": self.history_type,
            "created": self.created,
            "format": self.format,
            "completed": self.completed,
            "file_name": self.file_name,
            "file_size": len(self.content),
            "download_size": len(gzip.compress(self.content, mtime=0)),
            "download_count": self.download_count,
            "store_until": store_until(self.created),
            "filters": json.loads(self.filters),
            "calculated_data": json.loads(self.calculated_data),
        }
        if self.last_downloaded:
            info["last_downloaded"] = self.last_downloaded
        return info


def store_until(created: str) -> str:
    """The date `STORE_DAYS` after the report was made, `YYYY-MM-DD`."""
    return (datetime.strptime(created, "%Y-%m-%d %H:%M:%S") + timedelta(days=STORE_DAYS)).strftime("%Y-%m-%d")


@dataclass
class ReportQuery:
    """GetHistoryReports' filters; `None` means "any"."""

    report_id: int | None = None
    history_types: Sequence[str] | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    is_completed: bool | None = None
    application_ids: Sequence[int] | None = None
    desc_order: bool = False


class HistoryReportsMixin(StoreBase):
    def add_history_report(self, account_id: int, history_type: str, file_name: str, content: bytes, *,
                           filters: dict[str, str], calculated_data: dict[str, Any],
                           application_id: int | None = None) -> HistoryReport:
        """A completed report of the account, its file `content` made by the caller."""
        now = timestamp()
        with self.db.tx():
            report_id = self.db.insert(
                "INSERT INTO history_reports (account_id, history_type, format, application_id, filters, "
                "calculated_data, file_name, content, created, completed) VALUES (?, ?, 'csv', ?, ?, ?, ?, ?, ?, ?)",
                (account_id, history_type, application_id, json.dumps(filters), json.dumps(calculated_data),
                 file_name, content, now, now))
        return self.history_report(account_id, report_id)

    def history_report(self, account_id: int, report_id: int) -> HistoryReport:
        """The account's report; another account's or none answers 496 naming `history_report_id`."""
        row = self.db.one("SELECT * FROM history_reports WHERE account_id = ? AND history_report_id = ?",
                          (account_id, report_id))
        if row is None:
            raise invalid("history_report_id", INVALID_HISTORY_REPORT_ID)
        return HistoryReport(**row)

    def find_history_reports(self, account_id: int, query: ReportQuery) -> list[HistoryReport]:
        clauses, args = ["account_id = ?"], list[Any]([account_id])
        if query.report_id is not None:
            clauses.append("history_report_id = ?")
            args.append(query.report_id)
        if query.history_types is not None:
            clauses.append(f"history_type IN ({', '.join('?' * len(query.history_types))})")
            args.extend(query.history_types)
        if query.created_from is not None:
            clauses.append("created >= ?")
            args.append(timestamp(query.created_from))
        if query.created_to is not None:
            clauses.append("created <= ?")
            args.append(timestamp(query.created_to))
        if query.application_ids is not None:
            clauses.append(f"application_id IN ({', '.join('?' * len(query.application_ids))})")
            args.extend(query.application_ids)
        if query.is_completed is False:  # every report is complete once ordered
            return []
        order = "DESC" if query.desc_order else "ASC"
        rows = self.db.all(f"SELECT * FROM history_reports WHERE {' AND '.join(clauses)} "
                           f"ORDER BY history_report_id {order}", args)
        return [HistoryReport(**row) for row in rows]

    def download_history_report(self, account_id: int, report_id: int) -> HistoryReport:
        """The report, its download counted."""
        report = self.history_report(account_id, report_id)
        with self.db.tx():
            self.db.execute("UPDATE history_reports SET download_count = download_count + 1, last_downloaded = ? "
                            "WHERE history_report_id = ?", (timestamp(utcnow()), report_id))
        return self.history_report(account_id, report.history_report_id)
