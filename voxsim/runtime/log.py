"""The session log: Logger.write lines, delivered events and issued commands, timestamped."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from voxsim.runtime.host import SessionRecorder


def format_ts(ts: datetime) -> str:
    """UTC `YYYY-MM-DD HH:MM:SS.mmm`, the form of the platform's session logs."""
    return ts.strftime("%Y-%m-%d %H:%M:%S.") + f"{ts.microsecond // 1000:03d}"


def format_line(ts: datetime, text: str) -> str:
    return f"{format_ts(ts)} {text}"


class SessionLog:
    """A session's log, at most `max_bytes` of text: past that one line says it was truncated and later lines
    are dropped (the platform truncates long logs too; a scenario flooding `Logger.write` must not fill the
    disk)."""

    def __init__(
        self, session_id: int, recorder: SessionRecorder, on_write: Callable[[], None] | None = None,
        max_bytes: int = 4 * 1024 * 1024,
    ) -> None:
        self.session_id = session_id
        self._recorder = recorder
        self._on_write = on_write
        self.max_bytes = max_bytes
        self.size = 0
        self.truncated = False
        self.lines: list[str] = []

    def write(self, text: str) -> None:
        if self.truncated:
            return
        self.size += len(text) + 25  # the timestamp and the newline
        if self.size > self.max_bytes:
            self.truncated = True
            text = f"[voxsim] log truncated: this session wrote more than {self.max_bytes} bytes of log"
        ts = datetime.now(UTC)
        self.lines.append(format_line(ts, text))
        self._recorder.log(self.session_id, ts, text)
        if self._on_write is not None:
            self._on_write()

    def text(self) -> str:
        return "".join(line + "\n" for line in self.lines)
