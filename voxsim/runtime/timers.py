"""JS timers, kept by Python: JS pushes `timer.set`, Python fires a delivery when it is due.

Timer callbacks therefore run inside an eval like any handler, under the same deadline;
mini-racer's own setTimeout would run them where no deadline reaches.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

# A setInterval of 0 ms would flood the session's queue; browsers clamp too.
MIN_INTERVAL_MS = 10.0


class Handle(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    """What schedules a session's timers in virtual time (its own `MediaClock`)."""

    def call_later(self, seconds: float, callback: Callable[[], None]) -> Handle: ...


class TimerSet:
    """Timers on the event loop, or on `clock` (a session in virtual time: its media clock's timeline)."""

    def __init__(self, fire: Callable[[int], None], clock: Clock | None = None) -> None:
        self._fire = fire
        self.clock = clock
        self._handles: dict[int, Handle] = {}

    def __len__(self) -> int:
        return len(self._handles)

    def set(self, timer_id: int, ms: float, repeat: bool) -> None:
        self.clear(timer_id)
        delay = max(ms, MIN_INTERVAL_MS) if repeat else max(ms, 0.0)
        self._arm(timer_id, delay / 1000.0, repeat)

    def _arm(self, timer_id: int, delay: float, repeat: bool) -> None:
        if self.clock is not None:
            self._handles[timer_id] = self.clock.call_later(delay, lambda: self._due(timer_id, delay, repeat))
            return
        loop = asyncio.get_running_loop()
        self._handles[timer_id] = loop.call_later(delay, self._due, timer_id, delay, repeat)

    def _due(self, timer_id: int, delay: float, repeat: bool) -> None:
        if repeat:
            self._arm(timer_id, delay, repeat)
        else:
            self._handles.pop(timer_id, None)
        self._fire(timer_id)

    def clear(self, timer_id: int) -> None:
        handle = self._handles.pop(timer_id, None)
        if handle is not None:
            handle.cancel()

    def clear_all(self) -> None:
        for handle in self._handles.values():
            handle.cancel()
        self._handles.clear()
