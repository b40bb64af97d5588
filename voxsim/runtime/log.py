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
    def __init__(
        self, session_id: int, recorder: SessionRecorder, on_write: Callable[[], None] | None = None
    ) -> None:
        self.session_id = session_id
        self._recorder = recorder
        self._on_write = on_write
        self.lines: list[str] = []

    def write(self, text: str) -> None:
        ts = datetime.now(UTC)
        self.lines.append(format_line(ts, text))
        self._recorder.log(self.session_id, ts, text)
        if self._on_write is not None:
            self._on_write()

    def text(self) -> str:
        return "".join(line + "\n" for line in self.lines)
