"""The runtime's `SessionRecorder`, written to the store: session logs, calls and history rows.

Log lines are buffered and flushed in small batches (every `flush_interval` seconds and when the
session ends): a session can log hundreds of lines a second, and one fsync per line would make
the log the bottleneck. Calls and session ends are written at once.
"""

from __future__ import annotations

import asyncio
import math
from datetime import datetime

from voxsim.runtime.host import CallRecord as RuntimeCall
from voxsim.runtime.host import SessionInfo
from voxsim.store import Store

LOG_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def log_line(ts: datetime, text: str) -> str:
    return f"{ts.strftime(LOG_TIME_FORMAT)}.{ts.microsecond // 1000:03d} {text}"


class StoreRecorder:
    def __init__(self, store: Store, flush_interval: float = 0.2) -> None:
        self.store = store
        self.flush_interval = flush_interval
        self._pending: dict[int, list[str]] = {}
        self._call_ids: dict[tuple[int, str], int] = {}
        self._flush_handle: asyncio.TimerHandle | None = None

    def session_started(self, info: SessionInfo) -> None:
        """The session row already exists: the store allocated its id before the session started."""

    def log(self, session_id: int, ts: datetime, text: str) -> None:
        self._pending.setdefault(session_id, []).append(log_line(ts, text))
        self._schedule_flush()

    def call_started(self, session_id: int, call: RuntimeCall) -> None:
        record = self.store.add_call(session_id, call.incoming, call.local_number, call.remote_number,
                                     call.client_type or "sip")
        self._call_ids[(session_id, call.call_id)] = record.call_id

    def call_ended(self, session_id: int, call: RuntimeCall) -> None:
        store_id = self._call_ids.pop((session_id, call.call_id), None)
        if store_id is None:
            return
        self.store.finish_call(store_id, call.successful, math.ceil(call.duration), call.code or None,
                               call.reason)

    def session_finished(self, session_id: int, finish_reason: str, duration: float, custom_data: str) -> None:
        self.flush(session_id)
        self.store.finish_session(session_id, finish_reason, math.ceil(duration), custom_data)

    def flush(self, session_id: int | None = None) -> None:
        ids = [session_id] if session_id is not None else list(self._pending)
        for sid in ids:
            lines = self._pending.pop(sid, None)
            if lines:
                self.store.append_session_log(sid, lines)

    def close(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        self.flush()

    def _schedule_flush(self) -> None:
        if self._flush_handle is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        self._flush_handle = loop.call_later(self.flush_interval, self._timed_flush)

    def _timed_flush(self) -> None:
        self._flush_handle = None
        self.flush()
