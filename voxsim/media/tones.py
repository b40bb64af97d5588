"""Call-progress tones from ToneScript, the mini-language of `VoxEngine.createToneScriptPlayer(script)`.

ToneScript (Sipura/Linksys/Cisco, taken over by Voximplant) is a frequency list, then one or more
cadence sections:

    script    := frequency ("," frequency)* (";" section)+
    frequency := HZ "@" DBM0                      e.g. 350@-19 (an unsigned integer in Hz, a level in dBm0)
    section   := DURATION "(" segment ("," segment)* ")"
    segment   := ON "/" OFF "/" TONES              e.g. 2/4/1+2
    TONES     := N ("+" N)*                        N counts from 1 in the frequency list; 0 is silence

DURATION and ON are seconds (".5", "0.380", "10") or "*", forever; OFF is seconds. A section plays its
segments in order, over and over, until its duration has passed; then the next section plays. US dial
tone is `350@-19,440@-19;10(*/0/1+2)` (10 s of 350+440 Hz), US ringback `440@-19,480@-19;*(2/4/1+2)`
(2 s on, 4 s off, forever). Spaces around the punctuation are allowed, as the Linksys manuals allow them.

`ToneGenerator` plays a parsed script as PCM16 frames; `PROGRESS_TONES` holds the ringback tone of each
country `Call.playProgressTone(country)` knows, as ToneScript.

Levels: 0 dBm0 is a sine whose peak is 3.14 dB below the int16 full scale (A-law's overload point is
+3.14 dBm0; µ-law's is +3.17 dBm0, 0.03 dB away, so one reference serves both codecs and a level means
the same whichever codec the call negotiated).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

__all__ = ["PROGRESS_TONES", "Section", "Segment", "ToneGenerator", "ToneScript", "ToneScriptError",
           "dbm0_amplitude", "level_dbm0", "parse_tone_script", "progress_tone", "sine"]

Pcm = npt.NDArray[np.int16]

ZERO_DBM0_PEAK = 32768 * 10 ** (-3.14 / 20)
"""The peak amplitude of a 0 dBm0 sine in PCM16 (about 22,828)."""


def dbm0_amplitude(level_dbm0: float) -> float:
    """The peak amplitude in PCM16 of a sine at `level_dbm0`."""
    return float(ZERO_DBM0_PEAK * 10 ** (level_dbm0 / 20))


def sine(hz: int, level_dbm0: float, start: int, count: int, rate: int = 8000) -> npt.NDArray[np.float64]:
    """`count` samples of a sine, from sample `start` of a clock that began at phase 0.

    The phase is computed from the sample number in integer arithmetic, so consecutive calls join
    without a click and hours of tone do not drift.
    """
    t = np.arange(start, start + count, dtype=np.int64)
    return dbm0_amplitude(level_dbm0) * np.sin(2 * np.pi * ((hz * t) % rate) / rate)


class ToneScriptError(ValueError):
    """A malformed ToneScript; the message says where and what was expected."""


class Segment(NamedTuple):
    on_s: float | None  # None: on forever ("*")
    off_s: float
    tones: tuple[int, ...]  # numbers in the frequency list, from 1 as written; () is silence ("0")


class Section(NamedTuple):
    total_s: float | None  # None: forever ("*")
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class ToneScript:
    frequencies: tuple[tuple[int, float], ...]  # (Hz, dBm0)
    sections: tuple[Section, ...]

    @property
    def duration_s(self) -> float | None:
        """How long the script plays, None when a section lasts forever."""
        totals = [section.total_s for section in self.sections]
        return None if None in totals else sum(t for t in totals if t is not None)


_NUMBER = re.compile(r"\d+(?:\.\d*)?|\.\d+")
_INTEGER = re.compile(r"\d+")


class _Parser:
    """Recursive descent over the script text, keeping the position for error messages."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, expected: str, at: int | None = None) -> ToneScriptError:
        pos = self.pos if at is None else at
        found = repr(self.text[pos]) if pos < len(self.text) else "the end"
        return ToneScriptError(f"ToneScript {self.text!r}: at position {pos} expected {expected}, found {found}")

    def invalid(self, what: str, at: int) -> ToneScriptError:
        """An error of meaning rather than syntax: the text at `at` parses but cannot be played."""
        return ToneScriptError(f"ToneScript {self.text!r}: at position {at} {what}")

    def skip_spaces(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def accept(self, char: str) -> bool:
        self.skip_spaces()
        if self.text.startswith(char, self.pos):
            self.pos += 1
            return True
        return False

    def expect(self, char: str) -> None:
        if not self.accept(char):
            raise self.error(repr(char))

    def match(self, pattern: re.Pattern[str], expected: str) -> str:
        self.skip_spaces()
        found = pattern.match(self.text, self.pos)
        if found is None:
            raise self.error(expected)
        self.pos = found.end()
        return found.group()

    def seconds(self, what: str, forever: bool) -> float | None:
        if forever and self.accept("*"):
            return None
        return float(self.match(_NUMBER, what + (" in seconds or '*'" if forever else " in seconds")))

    def level(self) -> float:
        sign = -1.0 if self.accept("-") else 1.0
        if sign > 0:
            self.accept("+")
        return sign * float(self.match(_NUMBER, "a level in dBm0"))

    def frequency(self) -> tuple[int, float]:
        self.skip_spaces()
        start = self.pos
        hz = int(self.match(_INTEGER, "a frequency in Hz"))
        if hz == 0:
            raise self.invalid("a frequency of 0 Hz", start)
        self.expect("@")
        return hz, self.level()

    def tones(self, count: int) -> tuple[int, ...]:
        numbers: list[int] = []
        while True:
            self.skip_spaces()
            start = self.pos
            number = int(self.match(_INTEGER, f"a frequency number (1 to {count}, or 0 for silence)"))
            if number > count:
                raise self.invalid(f"frequency {number} of a list of {count}", start)
            if number:
                numbers.append(number)
            if not self.accept("+"):
                return tuple(numbers)

    def segment(self, count: int) -> Segment:
        on = self.seconds("an on time", forever=True)
        self.expect("/")
        off = self.seconds("an off time", forever=False)
        self.expect("/")
        return Segment(on, off if off is not None else 0.0, self.tones(count))

    def section(self, count: int) -> Section:
        self.skip_spaces()
        start = self.pos
        total = self.seconds("a section duration", forever=True)
        self.expect("(")
        segments = [self.segment(count)]
        while self.accept(","):
            segments.append(self.segment(count))
        self.expect(")")
        if all(s.on_s is not None and s.on_s + s.off_s == 0 for s in segments):
            raise self.invalid("a section whose segments last 0 s: it would never move on", start)
        return Section(total, tuple(segments))

    def script(self) -> ToneScript:
        frequencies = [self.frequency()]
        while self.accept(","):
            frequencies.append(self.frequency())
        self.expect(";")
        sections = [self.section(len(frequencies))]
        while self.accept(";"):
            sections.append(self.section(len(frequencies)))
        self.skip_spaces()
        if self.pos != len(self.text):
            raise self.error("';' and another section, or the end")
        return ToneScript(tuple(frequencies), tuple(sections))


def parse_tone_script(script: str) -> ToneScript:
    """The parsed script; ToneScriptError, saying where and what was expected, when it is malformed."""
    return _Parser(script).script()


class ToneGenerator:
    """Plays a ToneScript as PCM16 frames: `next_frame()` until it returns None (never, for "*" scripts).

    Durations are rounded to whole samples. The sines keep their phase across frames and segments
    (`sine`); a finite script's last frame is padded with silence to the frame's length.
    """

    def __init__(self, script: ToneScript, rate: int = 8000) -> None:
        for hz, _ in script.frequencies:
            if hz >= rate / 2:
                raise ToneScriptError(f"{hz} Hz cannot be played at {rate} samples per second")
        self.script = script
        self.rate = rate
        self._sample = 0  # the clock of the sines: samples generated so far
        self._section = -1
        self._section_left: int | None = 0
        self._segment = 0
        self._on = True
        self._phase_left: int | None = 0
        self._finished = False
        for number, section in enumerate(script.sections, 1):
            if section.total_s != 0 and not any(s.on_s is None or self._samples(s.on_s + s.off_s)
                                                for s in section.segments):  # it would never move on
                raise ToneScriptError(f"section {number}'s segments last 0 samples at {rate} samples per second")

    @property
    def duration_ms(self) -> float | None:
        """How long the script plays, None when it never ends."""
        seconds = self.script.duration_s
        return None if seconds is None else seconds * 1000

    @property
    def finished(self) -> bool:
        self._settle()
        return self._finished

    def next_frame(self, n: int = 160) -> Pcm | None:
        """The next `n` samples, or None once a finite script has played out."""
        self._settle()
        if self._finished:
            return None
        out = np.zeros(n, dtype=np.float64)
        filled = 0
        while filled < n:
            self._settle()
            if self._finished:
                break
            run = self._run(n - filled)
            segment = self.script.sections[self._section].segments[self._segment]
            for number in segment.tones if self._on else ():
                hz, level = self.script.frequencies[number - 1]
                out[filled:filled + run] += sine(hz, level, self._sample + filled, run, self.rate)
            self._consume(run)
            filled += run
        self._sample += n
        return np.clip(np.rint(out), -32768, 32767).astype(np.int16)

    def _samples(self, seconds: float) -> int:
        return round(seconds * self.rate)

    def _run(self, most: int) -> int:
        """How many samples the current on or off phase still plays, at most `most`."""
        limits = [most, self._section_left, self._phase_left]
        return min(limit for limit in limits if limit is not None)

    def _consume(self, run: int) -> None:
        if self._section_left is not None:
            self._section_left -= run
        if self._phase_left is not None:
            self._phase_left -= run

    def _settle(self) -> None:
        """Move past whatever has run out: an on or off phase, a segment, a section, the script."""
        sections = self.script.sections
        while not self._finished:
            if self._section_left == 0:
                self._section += 1
                if self._section == len(sections):
                    self._finished = True
                    return
                total = sections[self._section].total_s
                self._section_left = None if total is None else self._samples(total)
                self._segment, self._on = 0, True
                self._phase_left = self._on_samples()
            elif self._phase_left == 0:
                if self._on:
                    self._on = False
                    self._phase_left = self._samples(self._current().off_s)
                else:
                    self._segment = (self._segment + 1) % len(sections[self._section].segments)
                    self._on = True
                    self._phase_left = self._on_samples()
            else:
                return

    def _current(self) -> Segment:
        return self.script.sections[self._section].segments[self._segment]

    def _on_samples(self) -> int | None:
        on = self._current().on_s
        return None if on is None else self._samples(on)


PROGRESS_TONES: dict[str, str] = {
    # Ringback ("ringing tone") per ITU-T E.180 supplement 2 and the administrations' own plans. E.180
    # leaves the level to each administration; voxsim plays every component at -19 dBm0, the US level.
    "US": "440@-19,480@-19;*(2/4/1+2)",  # North American precise tone plan
    "CA": "440@-19,480@-19;*(2/4/1+2)",  # the same plan
    "RU": "425@-19;*(.8/3.2/1)",
    "GB": "400@-19,450@-19;*(.4/.2/1+2,.4/2/1+2)",  # double ring
    "DE": "425@-19;*(1/4/1)",
    "FR": "440@-19;*(1.5/3.5/1)",
    "ES": "425@-19;*(1.5/3/1)",
    "IT": "425@-19;*(1/4/1)",
    "NL": "425@-19;*(1/4/1)",
}
"""Country (ISO 3166 alpha-2) -> its ringback tone as ToneScript, what `Call.playProgressTone` plays."""


def progress_tone(country: str) -> ToneScript:
    """The ringback tone of `country` (any case); ValueError naming the supported ones when unknown."""
    script = PROGRESS_TONES.get(country.upper())
    if script is None:
        raise ValueError(f"no progress tone for {country!r}; supported: {', '.join(sorted(PROGRESS_TONES))}")
    return parse_tone_script(script)


def level_dbm0(amplitude: float) -> float:
    """The level in dBm0 of a sine whose peak is `amplitude` in PCM16 (-inf for 0)."""
    return 20 * math.log10(amplitude / ZERO_DBM0_PEAK) if amplitude > 0 else -math.inf
