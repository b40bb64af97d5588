"""The SQLite connection behind the store.

One connection, used from the event loop thread. WAL mode with synchronous=NORMAL: a committed
write is in the WAL file before it is acknowledged, so it survives `kill -9` of the emulator; only a
power cut may lose the last commits. FULL would add an fsync to every write on the per-call path
(session row, call rows) for no gain against a process crash.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
DATE_FORMAT = "%Y-%m-%d"


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def timestamp(value: datetime | None = None) -> str:
    """The platform's timestamp text: `YYYY-MM-DD HH:MM:SS`, UTC (the Python client strptimes it)."""
    return (value or utcnow()).astimezone(UTC).strftime(TIMESTAMP_FORMAT)


def parse_timestamp(text: str) -> datetime:
    return datetime.strptime(text, TIMESTAMP_FORMAT).replace(tzinfo=UTC)


class Database:
    """A thin wrapper: transactions, row dicts, schema creation, and change notifications.

    `subscribe(callback)` calls `callback()` after every write that changed rows (once per transaction, at its
    commit), so that a live view (the console) learns of a change without reading the tables over and over.
    Callbacks run on the writer's stack: they must only take note (set an event), never write.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.row_factory = sqlite3.Row
        if path != ":memory:":
            self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA foreign_keys=ON")
        self._depth = 0
        self._subscribers: list[Callable[[], None]] = []
        self._published = 0

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Calls `callback()` after each committed change; returns the function that unsubscribes it."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    def _publish(self) -> None:
        if self._depth or not self._subscribers:
            return
        total = self.conn.total_changes  # counts every row inserted, updated or deleted on this connection
        if total == self._published:
            return
        self._published = total
        for callback in list(self._subscribers):
            callback()

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """A transaction; nested uses join the outer one."""
        if self._depth:
            self._depth += 1
            try:
                yield self.conn
            finally:
                self._depth -= 1
            return
        self.conn.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")
        finally:
            self._depth = 0
        self._publish()

    def execute(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Cursor:
        cursor = self.conn.execute(sql, args)
        self._publish()
        return cursor

    def insert(self, sql: str, args: Sequence[Any] = ()) -> int:
        cur = self.conn.execute(sql, args)
        self._publish()
        return int(cur.lastrowid or 0)

    def all(self, sql: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return [dict(row) for row in self.conn.execute(sql, _bindable(args))]

    def one(self, sql: str, args: Sequence[Any] = ()) -> dict[str, Any] | None:
        row = self.conn.execute(sql, _bindable(args)).fetchone()
        return dict(row) if row is not None else None

    def scalar(self, sql: str, args: Sequence[Any] = ()) -> Any:
        row = self.conn.execute(sql, _bindable(args)).fetchone()
        return row[0] if row is not None else None

    def executescript(self, sql: str) -> None:
        self.conn.executescript(sql)


_SQLITE_INT = 2**63 - 1


def _bindable(args: Sequence[Any]) -> Sequence[Any]:
    """Query arguments SQLite accepts. A client's id beyond SQLite's 64-bit integers (`account_id=999...`,
    `1#99999999999999999999#100@sip.voximplant.com`) would raise OverflowError; as a REAL it compares
    numerically, so `id = ?` matches no row and the caller answers "not found", as for any unknown id."""
    if not any(type(a) is int and abs(a) > _SQLITE_INT for a in args):
        return args
    return [float(a) if type(a) is int and abs(a) > _SQLITE_INT else a for a in args]

