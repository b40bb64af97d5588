"""DTMF both ways: in-band tones (ITU-T Q.23/Q.24) and RFC 4733 telephone-events. Sans-IO.

- `dtmf_tone(digit)` -> the tone of one key as PCM16; `InbandDigits(digits)` -> 20 ms frames playing a
  string of keys ("p" pauses), what a phone sends when it has no telephone-event.
- `InbandDtmfDetector.feed(frame)` -> the keys heard in a call's audio, each press once.
- `TelephoneEvents(digits, payload_type).tick(timestamp)` -> the RFC 4733 packet to send instead of audio
  on this RTP tick, or None. Receiving is `sip_edge.rtp` (`parse_telephone_event`, `DtmfDetector`).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sip_edge.rtp import DTMF_EVENTS
from voxsim.media.tones import ZERO_DBM0_PEAK, sine

__all__ = ["DTMF_FREQUENCIES", "EVENT_CODES", "EventPacket", "InbandDigits", "InbandDtmfDetector",
           "TelephoneEvents", "dtmf_tone"]

Pcm = npt.NDArray[np.int16]

_ROWS = (697, 770, 852, 941)
_COLUMNS = (1209, 1336, 1477, 1633)
_KEYPAD = ("123A", "456B", "789C", "*0#D")

DTMF_FREQUENCIES: dict[str, tuple[int, int]] = {
    key: (row, column) for row, keys in zip(_ROWS, _KEYPAD, strict=True)
    for column, key in zip(_COLUMNS, keys, strict=True)
}
"""Key -> (row Hz, column Hz), the low and the high group of Q.23."""

EVENT_CODES: dict[str, int] = {key: code for code, key in enumerate(DTMF_EVENTS)}
"""Key -> its RFC 4733 event code: 0-9 for the digits, * 10, # 11, A-D 12-15."""

_FRAME = 160  # samples in 20 ms at 8 kHz
_PAUSES = "pP"


def _key(digit: str) -> str:
    key = digit.upper()
    if key not in DTMF_FREQUENCIES:
        raise ValueError(f"{digit!r} is not a DTMF key (0-9, *, #, A-D)")
    return key


def dtmf_tone(digit: str, ms: int = 100, rate: int = 8000, level_dbm0: float = -10) -> Pcm:
    """The tone of one key, `ms` long; each of its two frequencies at `level_dbm0`."""
    row, column = DTMF_FREQUENCIES[_key(digit)]
    count = round(ms * rate / 1000)
    both = sine(row, level_dbm0, 0, count, rate) + sine(column, level_dbm0, 0, count, rate)
    return np.rint(both).astype(np.int16)


class InbandDigits:
    """A source of 20 ms frames at 8 kHz playing `digits` in-band: each key a tone then a gap of silence;
    "p" or "P" is a pause of silence. `next_frame()` returns None once everything has played."""

    def __init__(self, digits: str, tone_ms: int = 100, gap_ms: int = 100, pause_ms: int = 500) -> None:
        silence = {ms: np.zeros(round(ms * 8), dtype=np.int16) for ms in (gap_ms, pause_ms)}
        parts: list[Pcm] = []
        for digit in digits:
            if digit in _PAUSES:
                parts.append(silence[pause_ms])
            else:
                parts += [dtmf_tone(digit, tone_ms), silence[gap_ms]]
        audio = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)
        audio = np.concatenate([audio, np.zeros(-len(audio) % _FRAME, dtype=np.int16)])
        self._frames: Iterator[Pcm] = iter(audio.reshape(-1, _FRAME))

    def next_frame(self) -> Pcm | None:
        return next(self._frames, None)


_BLOCK_8K = 205  # the classic Goertzel block: 25.6 ms, a resolution of 39 Hz parts 697 from 770 Hz
_MIN_LEVEL_DBM0 = -30.0  # each group's tone must be at least this loud (Q.24 accepts down to about -25)
_PEAK_DB = 8.0  # the strongest row (column) this far above every other row (column)
_TWIST_DB = 8.0  # row and column levels this close
# Second harmonics: voices are rich in them, DTMF has none. A column's (2418-3266 Hz) falls where no DTMF
# tone does, so it must be well below; a row's (1394-1882 Hz) falls between the columns and catches their
# sidelobes (only 5 dB below the row when the column is 8 dB louder), so it must only be below the row.
_COLUMN_HARMONIC_DB = 12.0
_ROW_HARMONIC_DB = 3.0
_TONE_SHARE = 0.7  # the two tones carry at least this share of the block's energy: speech and noise do not


class InbandDtmfDetector:
    """Hears DTMF keys in a call's audio; `feed(frame)` -> the key pressed, once per press, or None.

    Each block of 205 samples (at 8 kHz; frames of any length are buffered) is analysed at the 8 DTMF
    frequencies and their second harmonics: Goertzel's single-bin DFT, computed for all 16 bins as one
    matrix product (the same numbers as the per-sample recursion, without a Python loop per sample).
    A block holds a key when one row and one column are loud enough, stand clear of the other rows and
    columns, are within the twist, have weak second harmonics and carry most of the block's energy.
    A key is reported once it held for 2 consecutive blocks (about 50 ms) and not again until a block
    without it (a release). Keys of 70 ms or more with gaps of 20 ms or more are heard at any alignment
    with the blocks; shorter keys (Q.24 allows 40 ms) are missed when they straddle blocks badly.
    """

    def __init__(self, rate: int = 8000) -> None:
        self.rate = rate
        self.block = round(_BLOCK_8K * rate / 8000)
        frequencies = np.array([*_ROWS, *_COLUMNS, *(2 * f for f in (*_ROWS, *_COLUMNS))], dtype=np.float64)
        n = np.arange(self.block)
        self._basis = np.exp(-2j * np.pi * np.outer(frequencies, n) / rate)
        self._buffer = np.zeros(0, dtype=np.float64)
        self._candidate: str | None = None
        self._held = 0
        self._reported: str | None = None

    @property
    def tone_present(self) -> bool:
        """Whether the latest block held a key: the audio is a DTMF tone right now."""
        return self._candidate is not None

    def feed(self, frame: Pcm) -> str | None:
        """The key(s) a press completed in this frame (one character, in practice), or None."""
        self._buffer = np.concatenate([self._buffer, frame.astype(np.float64)])
        keys = ""
        while len(self._buffer) >= self.block:
            block, self._buffer = self._buffer[:self.block], self._buffer[self.block:]
            keys += self._press(self.classify(block)) or ""
        return keys or None

    def _press(self, key: str | None) -> str | None:
        if key is None:
            self._candidate, self._held, self._reported = None, 0, None
            return None
        self._held = self._held + 1 if key == self._candidate else 1
        self._candidate = key
        if self._held >= 2 and key != self._reported:
            self._reported = key
            return key
        return None

    def amplitudes(self, block: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """The peak amplitude of a sine at each of the 16 bins (rows, columns, then their harmonics)."""
        return np.asarray(2 * np.abs(self._basis @ block) / len(block), dtype=np.float64)

    def classify(self, block: npt.NDArray[np.float64]) -> str | None:
        """The key one block holds, or None."""
        amplitude = self.amplitudes(block)
        rows, columns, harmonics = amplitude[:4], amplitude[4:8], amplitude[8:]
        row, column = int(np.argmax(rows)), int(np.argmax(columns))
        row_db, column_db = _db(rows[row]), _db(columns[column])
        if min(row_db, column_db) < _MIN_LEVEL_DBM0 or abs(row_db - column_db) > _TWIST_DB:
            return None
        if not (_clear(rows, row) and _clear(columns, column)):
            return None
        if _db(harmonics[row]) > row_db - _ROW_HARMONIC_DB:
            return None
        if _db(harmonics[4 + column]) > column_db - _COLUMN_HARMONIC_DB:
            return None
        energy = float(np.mean(block * block))  # a sine of peak A has mean power A²/2
        if (rows[row] ** 2 + columns[column] ** 2) / 2 < _TONE_SHARE * energy:
            return None
        return _KEYPAD[row][column]


def _db(amplitude: float) -> float:
    """dBm0 of a sine of this peak amplitude."""
    return 20 * math.log10(amplitude / ZERO_DBM0_PEAK) if amplitude > 0 else -math.inf


def _clear(group: npt.NDArray[np.float64], peak: int) -> bool:
    """Whether the peak of a group stands _PEAK_DB above each other member."""
    return bool(np.delete(group, peak).max() * 10 ** (_PEAK_DB / 20) <= group[peak])


@dataclass(frozen=True)
class EventPacket:
    """One RFC 4733 packet: its payload, the RTP marker bit and the RTP timestamp (the event's start)."""

    payload: bytes
    marker: bool
    timestamp: int


_EVENT = struct.Struct("!BBH")
_END_REPEATS = 3  # RFC 4733 2.5.1.4: the end packet is sent three times
_MAX_DURATION = 0xFFFF


class TelephoneEvents:
    """Sends `digits` as RFC 4733 telephone-events, one 20 ms RTP tick at a time.

    Call `tick(timestamp)` on every tick with that tick's RTP timestamp (8 kHz clock, +160 a tick). It
    returns the packet to send instead of audio, or None when the tick carries audio (between events,
    pauses). An event's packets keep the timestamp of its first tick and carry its duration so far,
    +160 a packet; the first has the marker bit; the last, with the end bit and the full duration, goes
    three times. `gap_ms` of audio separates events; "p" or "P" adds `pause_ms` of audio.
    """

    def __init__(self, digits: str, payload_type: int, tone_ms: int = 100, gap_ms: int = 50,
                 pause_ms: int = 500, volume: int = 10) -> None:
        if tone_ms <= 0:
            raise ValueError(f"a tone lasts more than 0 ms, not {tone_ms}")
        if not 0 <= volume <= 63:
            raise ValueError(f"volume is 0 to 63 (-dBm0), not {volume}")
        packets = _ticks(tone_ms)
        if packets * _FRAME > _MAX_DURATION:
            raise ValueError(f"a tone of {tone_ms} ms overflows the 16-bit duration of RFC 4733")
        self.payload_type = payload_type
        self.volume = volume
        # the plan: per tick, (event code, packet number from 1) or None for a tick of audio
        self._plan: list[tuple[int, int] | None] = []
        events = 0
        for digit in digits:
            if digit in _PAUSES:
                self._plan += [None] * _ticks(pause_ms)
                continue
            code = EVENT_CODES[_key(digit)]
            if events:
                self._plan += [None] * _ticks(gap_ms)
            self._plan += [(code, number) for number in range(1, packets + _END_REPEATS)]
            events += 1
        self._packets = packets
        self._next = 0
        self._start = 0

    @property
    def done(self) -> bool:
        return self._next >= len(self._plan)

    @property
    def duration_ms(self) -> float:
        """How long sending all of it takes (events, gaps and pauses)."""
        return len(self._plan) * 20.0

    def tick(self, timestamp: int) -> EventPacket | None:
        """The packet for this tick, or None for audio (and once done)."""
        if self.done:
            return None
        step = self._plan[self._next]
        self._next += 1
        if step is None:
            return None
        code, number = step
        if number == 1:
            self._start = timestamp & 0xFFFFFFFF
        end = number >= self._packets
        duration = min(number, self._packets) * _FRAME
        payload = _EVENT.pack(code, (0x80 if end else 0) | self.volume, duration)
        return EventPacket(payload, number == 1, self._start)


def _ticks(ms: int) -> int:
    """20 ms ticks covering `ms`."""
    return -(-ms // 20)
