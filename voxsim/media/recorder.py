"""A recorder in the media graph: writes what it hears, 20 ms a tick, to a WAV file (PCM16, 8 kHz).

A recorder of a call (`Call.record`) hears both directions: in mono their mix, in stereo the far end on the
left and what voxsim sent it on the right. A recorder made with `VoxEngine.createRecorder` hears the
stream sent to it (`sendMediaTo`). Frames are written in batches of a second, so a recording costs one
small write a second; `stop()` closes the file and tells its duration and size. A muted recorder writes
silence (the recording keeps its length).
"""

from __future__ import annotations

import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np

from voxsim.media.graph import FRAME_SAMPLES, Frame, MediaUnit, mix

__all__ = ["Recorder"]

Tap = Callable[[], list[Frame | None]]
_BATCH = 50  # frames a write: one second


class Recorder(MediaUnit):
    rank = 2

    def __init__(self, path: Path, *, tap: Tap | None = None, stereo: bool = False) -> None:
        super().__init__()
        self.path = path
        self.stereo = stereo
        self.muted = False
        self.frames = 0
        self._tap = tap
        self._batch: list[Frame] = []
        path.parent.mkdir(parents=True, exist_ok=True)
        self._wav: wave.Wave_write | None = wave.open(str(path), "wb")  # noqa: SIM115 - open until stop()
        self._wav.setnchannels(2 if stereo else 1)
        self._wav.setsampwidth(2)
        self._wav.setframerate(8000)

    @property
    def duration(self) -> float:
        """Seconds recorded."""
        return self.frames * FRAME_SAMPLES / 8000.0

    def _heard(self) -> list[Frame | None]:
        return self._tap() if self._tap is not None else [self.heard()]

    def absorb(self) -> None:
        if self._wav is None:
            return
        frames = [np.zeros(FRAME_SAMPLES, np.int16) if self.muted or f is None else f for f in self._heard()]
        if self.stereo:
            left, right = (frames + frames)[:2]
            frame: Frame = np.column_stack([left, right]).reshape(-1)
        else:
            mixed = mix(frames)
            frame = mixed if mixed is not None else np.zeros(FRAME_SAMPLES, np.int16)
        self._batch.append(frame.astype("<i2", copy=False))
        self.frames += 1
        if len(self._batch) >= _BATCH:
            self._flush()

    def _flush(self) -> None:
        if self._batch and self._wav is not None:
            self._wav.writeframes(b"".join(f.tobytes() for f in self._batch))
        self._batch.clear()

    def stop(self) -> tuple[float, int]:
        """Closes the file (once); returns (duration in seconds, size in bytes)."""
        if self._wav is not None:
            self._flush()
            self._wav.close()
            self._wav = None
        self.close()
        return self.duration, self.path.stat().st_size if self.path.exists() else 0
