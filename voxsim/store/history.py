"""Call history: scenario sessions, the calls in them, and each session's log.

The scenario runtime records through a small API: `create_session` when a session starts,
`append_session_log` as it logs, `add_call`/`finish_call` for each call leg, `finish_session` at
the end. GetCallHistory reads it back with `find_sessions` and `calls_of`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from voxsim.errors import INVALID_CALL_SESSION_HISTORY_ID, VoxError
from voxsim.model import CallRecord, CallSession, MediaRecord
from voxsim.store.base import StoreBase
from voxsim.store.db import timestamp

SCHEMA = """
CREATE TABLE IF NOT EXISTS call_sessions (
    call_session_history_id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(account_id) ON DELETE CASCADE,
    application_id INTEGER NOT NULL,
    application_name TEXT NOT NULL DEFAULT '',
    rule_id INTEGER,
    rule_name TEXT NOT NULL DEFAULT '',
    user_id INTEGER,
    start_date TEXT NOT NULL,
    duration INTEGER,
    initiator_address TEXT NOT NULL DEFAULT '127.0.0.1',
    media_server_address TEXT NOT NULL DEFAULT '127.0.0.1',
    finish_reason TEXT NOT NULL DEFAULT '',
    custom_data TEXT NOT NULL DEFAULT '',
    finished INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS call_sessions_account_start ON call_sessions(account_id, start_date);
CREATE TABLE IF NOT EXISTS call_session_log (
    call_session_history_id INTEGER NOT NULL
        REFERENCES call_sessions(call_session_history_id) ON DELETE CASCADE,
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    line TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS call_session_log_session ON call_session_log(call_session_history_id, seq);
CREATE TABLE IF NOT EXISTS calls (
    call_id INTEGER PRIMARY KEY AUTOINCREMENT,
    call_session_history_id INTEGER NOT NULL
        REFERENCES call_sessions(call_session_history_id) ON DELETE CASCADE,
    start_time TEXT NOT NULL,
    duration INTEGER,
    local_number TEXT NOT NULL DEFAULT '',
    remote_number TEXT NOT NULL DEFAULT '',
    remote_number_type TEXT NOT NULL DEFAULT 'sip',
    incoming INTEGER NOT NULL DEFAULT 1,
    successful INTEGER NOT NULL DEFAULT 0,
    media_server_address TEXT NOT NULL DEFAULT '127.0.0.1',
    custom_data TEXT NOT NULL DEFAULT '',
    end_code INTEGER,
    end_description TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS calls_session ON calls(call_session_history_id);
CREATE TABLE IF NOT EXISTS media_records (
    record_id INTEGER PRIMARY KEY AUTOINCREMENT,
    call_session_history_id INTEGER NOT NULL
        REFERENCES call_sessions(call_session_history_id) ON DELETE CASCADE,
    record_name TEXT NOT NULL,
    start_time TEXT NOT NULL,
    duration INTEGER NOT NULL DEFAULT 0,
    record_url TEXT NOT NULL,
    file_size INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS media_records_session ON media_records(call_session_history_id);
"""


@dataclass
class HistoryQuery:
    """GetCallHistory's filters; `None` means "any". Numbers match any call of a session."""

    from_date: datetime | None = None
    to_date: datetime | None = None
    session_ids: Sequence[int] | None = None
    application_id: int | None = None
    application_names: Sequence[str] | None = None
    """Full names the session's application may have (the handler expands a short name)."""
    user_ids: Sequence[int] | None = None
    rule_name: str | None = None
    remote_numbers: Sequence[str] | None = None
    local_numbers: Sequence[str] | None = None
    custom_data: str | None = None
    min_duration: int | None = None
    max_duration: int | None = None
    desc_order: bool = False

    def where(self, account_id: int) -> tuple[str, list[Any]]:
        clauses, args = ["s.account_id = ?"], [account_id]

        def add(clause: str, *values: Any) -> None:
            clauses.append(clause)
            args.extend(values)

        if self.from_date is not None:
            add("s.start_date >= ?", utc_text(self.from_date))
        if self.to_date is not None:
            add("s.start_date <= ?", utc_text(self.to_date))
        if self.session_ids is not None:
            add(f"s.call_session_history_id IN ({marks(self.session_ids)})", *self.session_ids)
        if self.application_id is not None:
            add("s.application_id = ?", self.application_id)
        if self.application_names is not None:
            add(f"lower(s.application_name) IN ({marks(self.application_names)})",
                *[name.lower() for name in self.application_names])
        if self.user_ids is not None:
            add(f"s.user_id IN ({marks(self.user_ids)})", *self.user_ids)
        if self.rule_name is not None:
            add("s.rule_name = ?", self.rule_name)
        if self.custom_data is not None:
            add("s.custom_data = ?", self.custom_data)
        if self.min_duration is not None:
            add("s.duration >= ?", self.min_duration)
        if self.max_duration is not None:
            add("s.duration <= ?", self.max_duration)
        for column, numbers in (("remote_number", self.remote_numbers), ("local_number", self.local_numbers)):
            if numbers is not None:
                add(f"EXISTS (SELECT 1 FROM calls c WHERE c.call_session_history_id = s.call_session_history_id "
                    f"AND c.{column} IN ({marks(numbers)}))", *numbers)
        return " AND ".join(clauses), args


def utc_text(value: datetime) -> str:
    """Request timestamps are UTC; a naive one is taken as UTC, not as local time."""
    return timestamp(value if value.tzinfo else value.replace(tzinfo=UTC))


def marks(values: Sequence[Any]) -> str:
    return ", ".join("?" * len(values)) or "NULL"


def _session(row: dict[str, Any]) -> CallSession:
    row["finished"] = bool(row["finished"])
    return CallSession(**row)


def _call(row: dict[str, Any]) -> CallRecord:
    row["incoming"], row["successful"] = bool(row["incoming"]), bool(row["successful"])
    return CallRecord(**row)


class HistoryMixin(StoreBase):
    # -- what the scenario runtime records ------------------------------------------------
    def create_session(self, account_id: int, application_id: int, application_name: str, rule_id: int | None,
                       rule_name: str, user_id: int | None = None, custom_data: str = "",
                       initiator_address: str = "127.0.0.1") -> CallSession:
        """A new session row (its id is the session's `call_session_history_id`), started now."""
        with self.db.tx():
            session_id = self.db.insert(
                "INSERT INTO call_sessions (account_id, application_id, application_name, rule_id, rule_name, "
                "user_id, start_date, custom_data, initiator_address) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (account_id, application_id, application_name, rule_id, rule_name, user_id, timestamp(),
                 custom_data, initiator_address),
            )
        return self.get_session(session_id)

    def append_session_log(self, session_id: int, lines: Sequence[str]) -> None:
        if not lines:
            return
        with self.db.tx():
            self.db.conn.executemany(
                "INSERT INTO call_session_log (call_session_history_id, line) VALUES (?, ?)",
                [(session_id, line) for line in lines],
            )

    def get_session_log(self, session_id: int) -> str:
        """The session's log, one line per entry, each ending in a newline ("" when nothing was logged)."""
        rows = self.db.all("SELECT line FROM call_session_log WHERE call_session_history_id = ? ORDER BY seq",
                           (session_id,))
        return "".join(row["line"] + "\n" for row in rows)

    def add_call(self, session_id: int, incoming: bool, local_number: str, remote_number: str,
                 remote_number_type: str = "sip") -> CallRecord:
        """A call leg of a session, started now."""
        with self.db.tx():
            call_id = self.db.insert(
                "INSERT INTO calls (call_session_history_id, start_time, local_number, remote_number, "
                "remote_number_type, incoming) VALUES (?, ?, ?, ?, ?, ?)",
                (session_id, timestamp(), local_number, remote_number, remote_number_type, int(incoming)),
            )
        return self.get_call(call_id)

    def finish_call(self, call_id: int, successful: bool, duration: int, end_code: int | None = None,
                    end_description: str = "") -> None:
        with self.db.tx():
            self.db.execute(
                "UPDATE calls SET successful = ?, duration = ?, end_code = ?, end_description = ? "
                "WHERE call_id = ?",
                (int(successful), int(duration), end_code, end_description, call_id),
            )

    def finish_session(self, session_id: int, finish_reason: str, duration: int,
                       custom_data: str | None = None) -> None:
        """The session ended (`finish_reason` e.g. "Normal termination"); `custom_data` None keeps it."""
        with self.db.tx():
            self.db.execute(
                "UPDATE call_sessions SET finished = 1, finish_reason = ?, duration = ?, "
                "custom_data = COALESCE(?, custom_data) WHERE call_session_history_id = ?",
                (finish_reason, int(duration), custom_data, session_id),
            )

    def finish_interrupted_sessions(self, finish_reason: str) -> int:
        """Sessions still "in progress" from a run that ended without finishing them (a crash, `kill -9`) are
        marked finished with `finish_reason`; returns how many. Call at start, before any session runs."""
        with self.db.tx():
            return self.db.execute(
                "UPDATE call_sessions SET finished = 1, finish_reason = ? WHERE finished = 0", (finish_reason,),
            ).rowcount

    def add_record(self, session_id: int, record_name: str, record_url: str, duration: int, file_size: int,
                   start_time: str | None = None) -> MediaRecord:
        """A finished recording of a session (its WAV file lives in the records folder)."""
        with self.db.tx():
            record_id = self.db.insert(
                "INSERT INTO media_records (call_session_history_id, record_name, start_time, duration, "
                "record_url, file_size) VALUES (?, ?, ?, ?, ?, ?)",
                (session_id, record_name, start_time or timestamp(), int(duration), record_url, int(file_size)),
            )
        row = self.db.one("SELECT * FROM media_records WHERE record_id = ?", (record_id,))
        assert row is not None
        return MediaRecord(**row)

    def records_of(self, session_ids: Sequence[int]) -> dict[int, list[MediaRecord]]:
        """Each session's recordings in the order they finished."""
        records: dict[int, list[MediaRecord]] = {session_id: [] for session_id in session_ids}
        if session_ids:
            rows = self.db.all(f"SELECT * FROM media_records WHERE call_session_history_id IN "
                               f"({marks(session_ids)}) ORDER BY record_id", list(session_ids))
            for row in rows:
                records[row["call_session_history_id"]].append(MediaRecord(**row))
        return records

    # -- what GetCallHistory reads ---------------------------------------------------------
    def get_session(self, session_id: int) -> CallSession:
        row = self.db.one("SELECT * FROM call_sessions WHERE call_session_history_id = ?", (session_id,))
        if row is None:
            raise VoxError(INVALID_CALL_SESSION_HISTORY_ID, "Invalid 'call_session_history_id'")
        return _session(row)

    def get_call(self, call_id: int) -> CallRecord:
        row = self.db.one("SELECT * FROM calls WHERE call_id = ?", (call_id,))
        if row is None:
            raise KeyError(call_id)
        return _call(row)

    def find_sessions(self, account_id: int, query: HistoryQuery, count: int,
                      offset: int) -> tuple[int, list[CallSession]]:
        """(all matches, one page of them) in start order (newest first with `desc_order`)."""
        where, args = query.where(account_id)
        total = int(self.db.scalar(f"SELECT COUNT(*) FROM call_sessions s WHERE {where}", args))
        order = "DESC" if query.desc_order else "ASC"
        rows = self.db.all(
            f"SELECT s.* FROM call_sessions s WHERE {where} "
            f"ORDER BY s.start_date {order}, s.call_session_history_id {order} LIMIT ? OFFSET ?",
            [*args, count, offset],
        )
        return total, [_session(row) for row in rows]

    def calls_of(self, session_ids: Sequence[int]) -> dict[int, list[CallRecord]]:
        """Each session's calls in the order they started."""
        calls: dict[int, list[CallRecord]] = {session_id: [] for session_id in session_ids}
        if session_ids:
            rows = self.db.all(f"SELECT * FROM calls WHERE call_session_history_id IN ({marks(session_ids)}) "
                               "ORDER BY call_id", list(session_ids))
            for row in rows:
                calls[row["call_session_history_id"]].append(_call(row))
        return calls
