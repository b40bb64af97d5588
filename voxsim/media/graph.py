"""The media graph: every call, player, recorder and conference of the emulator, run by the one media clock.

Each unit produces at most one 20 ms frame a tick (`out`: a call's is what its far end sends, a player's is
its next frame of audio) and may take the stream of another unit as its input (`source`: VoxEngine's
`sendMediaTo`; "a unit receives only one audio stream, a new one replaces the previous"). A conference is
the exception: it hears all the calls that send to it and gives each listener the mix of the others.

One tick runs in phases, so that what a unit sends this tick is what its source produced this tick:
1. `advance()`: calls take the far end's next frame from their jitter buffer, players their next frame;
2. `absorb()`, by `rank`: conferences mix what their members produced, then calls work out what goes to
   their far end (their own playback, else their source), then recorders write what they hear;
then the clock sends every call's RTP packet. Nothing here owns a task or a timer: the cost per unit is a
few numpy operations a tick.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

__all__ = ["FRAME_SAMPLES", "Frame", "MediaGraph", "MediaUnit", "SILENCE", "mix"]

log = logging.getLogger(__name__)

FRAME_SAMPLES = 160
"""Samples per 20 ms frame at 8 kHz."""

Frame = npt.NDArray[np.int16]
SILENCE: Frame = np.zeros(FRAME_SAMPLES, dtype=np.int16)
SILENCE.setflags(write=False)


def mix(frames: list[Frame]) -> Frame | None:
    """The sum of `frames`, clipped to 16 bits (None when there are none)."""
    if not frames:
        return None
    if len(frames) == 1:
        return frames[0]
    total = np.sum(np.stack(frames).astype(np.int32), axis=0)
    return np.clip(total, -32768, 32767).astype(np.int16)


class MediaUnit:
    """One node of the graph. Subclasses override the phases they take part in."""

    rank = 1  # absorb order: conferences (0) before calls (1) before recorders (2)

    def __init__(self) -> None:
        self.out: Frame | None = None  # what this unit produces this tick
        self.source: MediaUnit | None = None  # whose stream this unit receives
        self.closed = False

    def frame_for(self, listener: MediaUnit) -> Frame | None:
        """What `listener` receives of this unit this tick (a conference leaves the listener's own voice out)."""
        return self.out

    def heard(self) -> Frame | None:
        """This tick's frame of the stream this unit receives."""
        return self.source.frame_for(self) if self.source is not None and not self.source.closed else None

    def advance(self) -> None:
        """Phase 1: produce this tick's `out`."""

    def absorb(self) -> None:
        """Phase 2: take in what this unit receives."""

    def close(self) -> None:
        self.closed = True
        self.out = None


class MediaGraph:
    """The units of the emulator; `tick()` runs one 20 ms step of all of them (see the module docstring)."""

    def __init__(self) -> None:
        self.units: dict[MediaUnit, None] = {}  # insertion-ordered set
        self._conferences: list[MediaUnit] = []
        self._ordered: list[MediaUnit] | None = None

    def add(self, unit: MediaUnit) -> None:
        self.units[unit] = None
        self._ordered = None

    def remove(self, unit: MediaUnit) -> None:
        if self.units.pop(unit, 0) is None:
            self._ordered = None
        unit.close()

    def tick(self) -> None:
        if not self.units:
            return
        if self._ordered is None:
            self._ordered = sorted(self.units, key=lambda u: u.rank)
        ordered = self._ordered
        for unit in ordered:
            self._run(unit, unit.advance)
        for unit in ordered:
            self._run(unit, unit.absorb)

    def _run(self, unit: MediaUnit, phase: Callable[[], None]) -> None:
        try:
            phase()
        except Exception:  # one broken unit must not stop everyone's media
            log.exception("media unit %r dropped", unit)
            self.remove(unit)
