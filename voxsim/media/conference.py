"""A conference in the media graph: hears its members, gives every listener the mix of all the others.

Members are the units that send to the conference (a call added with `Conference.add` in a direction that
sends, `sendMediaTo(conference)`, a player); listeners are the units whose source is the conference. Each
tick the conference sums what its members produced (absorb at rank 0, after every `advance` and before the
calls work out what they send), and `frame_for(listener)` takes the listener's own voice back out of the
sum: the N−1 mix, so nobody hears themselves.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from voxsim.media.graph import Frame, MediaUnit

__all__ = ["Conference"]


class Conference(MediaUnit):
    rank = 0

    def __init__(self) -> None:
        super().__init__()
        self.members: dict[MediaUnit, None] = {}
        self._total: npt.NDArray[np.int32] | None = None
        self._contributions: dict[MediaUnit, Frame] = {}

    def join(self, member: MediaUnit) -> None:
        self.members[member] = None

    def leave(self, member: MediaUnit) -> None:
        self.members.pop(member, None)

    def absorb(self) -> None:
        self._contributions = {}
        total: npt.NDArray[np.int32] | None = None
        for member in list(self.members):
            if member.closed:
                self.members.pop(member, None)
                continue
            frame = member.frame_for(self)
            if frame is None:
                continue
            self._contributions[member] = frame
            total = frame.astype(np.int32) if total is None else total + frame
        self._total = total
        self.out = None if total is None else np.clip(total, -32768, 32767).astype(np.int16)

    def frame_for(self, listener: MediaUnit) -> Frame | None:
        if self._total is None:
            return None
        own = self._contributions.get(listener)
        if own is None:
            return self.out
        if len(self._contributions) == 1:
            return None  # alone in the conference: nothing to hear
        return np.clip(self._total - own, -32768, 32767).astype(np.int16)
