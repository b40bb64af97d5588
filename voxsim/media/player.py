"""A player in the media graph: audio (decoded, rendered or generated) played 20 ms a tick.

A `Player` starts without audio (`loading`) while its file is fetched or its speech rendered; `load(pcm)`
or `load_generator(next_frame, duration_ms)` gives it audio, `fail(error)` ends it. It then plays from
its position each tick unless paused; markers fire when the position passes them; at the end it loops or
finishes. What happens is told through `PlayerEvents` callbacks (the runtime turns them into
`PlayerEvents`/`CallEvents`), always from inside a tick: `on_started(duration_ms)` when audio first
plays, `on_marker(offset_ms)`, `on_finished(error)` one tick after the last frame went out (so "finished"
means the far end has had all of it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from voxsim.media.graph import FRAME_SAMPLES, Frame, MediaUnit

__all__ = ["Player", "PlayerEvents"]

Generator = Callable[[], Frame | None]


def _ignore(*_: Any) -> None:
    return None


@dataclass
class PlayerEvents:
    on_started: Callable[[float], None] = _ignore
    on_marker: Callable[[float], None] = _ignore
    on_finished: Callable[[str | None], None] = _ignore


class Player(MediaUnit):
    """See the module docstring. `prompt` says what it plays ({"kind", "text" | "url"}) for `CallAudio.prompts`."""

    rank = 1

    def __init__(self, prompt: dict[str, Any], events: PlayerEvents | None = None, *, loop: bool = False,
                 paused: bool = False) -> None:
        super().__init__()
        self.prompt = prompt
        self.events = events or PlayerEvents()
        self.loop = loop
        self.paused = paused
        self.pcm: Frame | None = None
        self.generator: Generator | None = None
        self.duration_ms: float | None = None  # None: plays until stopped (a generator without an end)
        self.position = 0  # samples played
        self.started = False
        self.finished = False
        self.markers: list[float] = []
        self._ending = False

    @property
    def loading(self) -> bool:
        return self.pcm is None and self.generator is None and not self.finished

    @property
    def position_ms(self) -> float:
        return self.position / 8.0

    def load(self, pcm: Frame) -> None:
        self.pcm = pcm
        self.duration_ms = len(pcm) / 8.0

    def load_generator(self, generator: Generator, duration_ms: float | None) -> None:
        self.generator = generator
        self.duration_ms = duration_ms

    def fail(self, error: str) -> None:
        if not self.finished:
            self.finished = True
            self.events.on_finished(error)

    def add_marker(self, offset_ms: float) -> None:
        """A marker at `offset_ms` (negative: from the end, once the duration is known)."""
        self.markers.append(offset_ms)

    def stop(self) -> None:
        """Ends playback with no event (the runtime fires what the platform fires)."""
        self.finished = True
        self.out = None

    def advance(self) -> None:
        self.out = None
        if self.finished or self.paused or self.loading:
            return
        if self._ending:
            self.finished = True
            self.events.on_finished(None)
            return
        if not self.started:
            self.started = True
            self.events.on_started(self.duration_ms if self.duration_ms is not None else -1.0)
        before = self.position_ms
        self.out = self._next_frame()
        self._pass_markers(before, self.position_ms)

    def _next_frame(self) -> Frame | None:
        if self.generator is not None:
            frame = self.generator()
            if frame is None:
                self._ending = True
                return None
            self.position += FRAME_SAMPLES
            return frame
        assert self.pcm is not None
        frame = self.pcm[self.position:self.position + FRAME_SAMPLES]
        self.position += FRAME_SAMPLES
        if len(frame) < FRAME_SAMPLES:
            frame = np.pad(frame, (0, FRAME_SAMPLES - len(frame)))
        if self.position >= len(self.pcm):
            if self.loop and len(self.pcm):
                self.position = 0
            else:
                self._ending = True
        return frame

    def _pass_markers(self, before: float, after: float) -> None:
        if not self.markers:
            return
        duration = self.duration_ms or 0.0
        for offset in self.markers:
            at = offset if offset >= 0 else duration + offset
            if before <= at < after or (after < before and (at >= before or at < after)):
                self.events.on_marker(offset)
