"""A recorder in the media graph: writes what it hears, 20 ms a tick, then the platform's file format.

As on the platform every recording has two channels. A recorder of a call (`Call.record`) hears both
directions: with `stereo` what voxsim sent the call's far end goes left and what the far end sent goes right
(the typings' "cloud to endpoint" left, "endpoint to cloud" right); without, their mix is in both. A
recorder made with `VoxEngine.createRecorder` hears the stream sent to it, in both channels. A muted
recorder writes silence (the recording keeps its length).

While recording, frames go to a WAV file (PCM16, 8 kHz) in batches of a second, one small write a second.
`stop()` closes it; `finish(wav, fmt)` then makes the platform's format from it: `mp3` (the default: 8 kHz,
32 kbps, by LAME), `mp3-hd` (`hd_audio`: 48 kHz, 192 kbps, resampled; the audio itself stays 8 kHz
narrowband) or `wav` (kept as it is, for `lossless`). Encoding takes a tenth of a second a minute, so the
caller runs it in a thread.
"""

from __future__ import annotations

import wave
from collections.abc import Callable
from pathlib import Path

import lameenc
import numpy as np

from voxsim.media.decode import read_wav, resample
from voxsim.media.graph import FRAME_SAMPLES, Frame, MediaUnit, mix

__all__ = ["FORMATS", "Recorder", "Tap", "finish"]

Tap = Callable[[], list[Frame | None]]
_BATCH = 50  # frames a write: one second
FORMATS = {"mp3": (".mp3", 8000, 32), "mp3-hd": (".mp3", 48000, 192), "wav": (".wav", 8000, 0)}
"""Each output format: (file suffix, sample rate, MP3 bit rate in kbps)."""


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
        self._wav.setnchannels(2)
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
        if self.stereo and len(frames) >= 2:
            left, right = frames[0], frames[1]
        else:
            mixed = mix(frames)
            left = right = mixed if mixed is not None else np.zeros(FRAME_SAMPLES, np.int16)
        self._batch.append(np.column_stack([left, right]).reshape(-1).astype("<i2", copy=False))
        self.frames += 1
        if len(self._batch) >= _BATCH:
            self._flush()

    def _flush(self) -> None:
        if self._batch and self._wav is not None:
            self._wav.writeframes(b"".join(f.tobytes() for f in self._batch))
        self._batch.clear()

    def stop(self) -> float:
        """Closes the WAV file (once); returns the seconds recorded."""
        if self._wav is not None:
            self._flush()
            self._wav.close()
            self._wav = None
        self.close()
        return self.duration


def finish(wav: Path, fmt: str) -> Path:
    """The recording in format `fmt` (see FORMATS) made from the recorder's `wav`, which is removed unless it
    is the result. Blocking: run it in a thread."""
    suffix, rate, kbps = FORMATS[fmt]
    if suffix == ".wav":
        return wav
    samples, wav_rate = read_wav(wav.read_bytes())
    stereo = samples.reshape(-1, 2) if samples.ndim == 1 else samples
    if rate != wav_rate:
        stereo = np.column_stack([resample(np.ascontiguousarray(stereo[:, ch]), wav_rate, rate) for ch in (0, 1)])
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(kbps)
    encoder.set_in_sample_rate(rate)
    encoder.set_channels(2)
    encoder.set_quality(5)
    data = bytes(encoder.encode(np.ascontiguousarray(stereo, dtype="<i2").tobytes())) + bytes(encoder.flush())
    target = wav.with_suffix(suffix)
    target.write_bytes(data)
    wav.unlink()
    return target
