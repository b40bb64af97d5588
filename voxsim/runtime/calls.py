"""The Python side of a scenario's calls: state, timestamps, and ordered leg operations."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from voxsim.runtime.host import CallLeg, CallRecord


class CallState(StrEnum):
    """A call's state, as `Call.state()` reports it in JS and the session snapshot shows it."""

    ALERTING = "ALERTING"
    PROGRESSING = "PROGRESSING"
    CONNECTED = "CONNECTED"
    TERMINATED = "TERMINATED"


# Only custom headers (X-...) and User-to-User reach the scenario; the platform hides the rest.
_PASSED_HEADERS = ("x-", "user-to-user")


def scenario_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    if not headers:
        return {}
    return {k: str(v) for k, v in headers.items() if k.lower().startswith(_PASSED_HEADERS)}


@dataclass(eq=False)
class Call:
    id: str
    session_id: int
    incoming: bool
    client_type: str
    callerid: str
    display_name: str
    number: str
    leg: CallLeg | None = None
    state: CallState = CallState.ALERTING
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    connected_at: datetime | None = None
    ended_at: datetime | None = None
    end_code: int = 0
    end_reason: str = ""
    answering: bool = False
    tones: bool = False
    tone_type: int = 0
    telephone_events_seen: bool = False  # an RFC 2833 tone came: in-band ones are duplicates from now on
    custom_data: str = ""
    timeout: asyncio.TimerHandle | None = None
    _last_op: asyncio.Task[None] | None = None

    @property
    def live(self) -> bool:
        return self.state != CallState.TERMINATED

    def duration(self) -> float:
        if self.connected_at is None:
            return 0.0
        end = self.ended_at or datetime.now(UTC)
        return round((end - self.connected_at).total_seconds(), 3)

    def cancel_timeout(self) -> None:
        if self.timeout is not None:
            self.timeout.cancel()
            self.timeout = None

    def mark_connected(self) -> None:
        self.cancel_timeout()
        self.state = CallState.CONNECTED
        self.connected_at = datetime.now(UTC)

    def mark_ended(self, code: int, reason: str) -> None:
        self.cancel_timeout()
        self.state = CallState.TERMINATED
        self.ended_at = datetime.now(UTC)
        self.end_code = code
        self.end_reason = reason

    def record(self) -> CallRecord:
        local, remote = (self.number, self.callerid) if self.incoming else (self.callerid, self.number)
        return CallRecord(
            call_id=self.id,
            session_id=self.session_id,
            incoming=self.incoming,
            client_type=self.client_type,
            local_number=local,
            remote_number=remote,
            started_at=self.created_at,
            connected_at=self.connected_at,
            ended_at=self.ended_at,
            duration=self.duration(),
            successful=self.connected_at is not None,
            code=self.end_code,
            reason=self.end_reason,
        )

    def run_in_order(
        self,
        op: Callable[[], Awaitable[None]],
        on_error: Callable[[BaseException], None],
    ) -> asyncio.Task[None]:
        """Runs a signalling operation after the previous ones of this call (dial before
        answer before hangup...). Each is its own task, so a slow peer never blocks the
        session's queue.
        """
        previous = self._last_op

        async def run() -> None:
            if previous is not None:
                await asyncio.wait([previous])
            try:
                await op()
            except Exception as exc:  # a failing peer must not take the session down
                on_error(exc)

        self._last_op = asyncio.get_running_loop().create_task(run())
        return self._last_op

    async def settled(self) -> None:
        if self._last_op is not None:
            await asyncio.wait([self._last_op])
