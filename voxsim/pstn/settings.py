"""What the PSTN simulator's virtual phones do: `PstnSettings` (the `[pstn]` settings) and each number's `Behaviour`.

`PstnSettings.numbers` is a list of mappings, one per number or pattern; the first whose `pattern` matches the
dialed number (the number itself, or a regular expression matching all of it, as rule patterns do) says what
that phone does. A number no entry matches answers after `answer_after` seconds and stays until hung up.

In voxsim.toml each entry is a table of the array `[[pstn.numbers]]`; as an option or an environment variable
the list is JSON (`--pstn-numbers '[{"pattern": "+15550199", "behaviour": "busy"}]'`). A key that is not one of
`Behaviour`'s fields, or a value of the wrong kind, is a SettingError naming the entry: a typo must not turn a
busy phone into one that answers.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from voxsim import patterns
from voxsim.runtime.amd import HUMAN, RESULT_CLASSES, SUBTYPES, VOICEMAIL, AmdVerdict
from voxsim.settings_sources import SettingError

__all__ = ["ANSWER", "BEHAVIOURS", "BUSY", "FAILURES", "REJECT", "RING_OUT", "UNREACHABLE", "Behaviour",
           "PstnSettings"]

ANSWER, RING_OUT, BUSY, REJECT, UNREACHABLE = "answer", "ring_out", "busy", "reject", "unreachable"
BEHAVIOURS = (ANSWER, RING_OUT, BUSY, REJECT, UNREACHABLE)
FAILURES = {BUSY: (486, "Busy Here"), REJECT: (603, "Decline"), UNREACHABLE: (404, "Not Found")}
"""The final response of a phone that never rings: its code and reason phrase (RFC 3261 section 21)."""
RING_OUT_CODE = (480, "Temporarily Unavailable")
"""What a phone that rang out for its `ring_time` answers (a carrier's no-answer)."""

_PLAIN_NUMBER = re.compile(r"\+?[0-9*#]+")  # "+15550100" is no valid regex, but is a number: it matches itself


@dataclass(frozen=True)
class Behaviour:
    """One virtual phone (or a family of them): how it answers, and what it does once answered."""

    pattern: str = ""
    """The dialed number itself, or a regular expression that matches all of it; "" matches any number."""
    behaviour: str = ANSWER
    """answer, ring_out (never answers), busy (486), reject (603) or unreachable (404)."""
    answer_after: float = 1.0
    """answer: seconds it rings (180 Ringing) before it answers."""
    ring_time: float | None = None
    """ring_out: seconds it rings before it gives up with 480; None: until the platform's own timeout (408)."""
    hangup_after: float | None = None
    """Seconds after answering that it hangs up; None: it stays until the scenario hangs up."""
    play: str = ""
    """A file (absolute path, file://, http(s)://) the phone plays into the call once answered."""
    say: tuple[str, ...] = ()
    """Lines it speaks (espeak-ng) once answered, after `play`; their text travels with the speech (ASR hears it)."""
    voice: str = ""
    """The voice of `say` (as call.say takes it); "" the default."""
    digits: str = ""
    """Keys it presses once answered (Call.ToneReceived, type "1", for a scenario that called handleTones(true))."""
    digits_after: float = 1.0
    """Seconds after answering that it presses `digits` (the scenario's Connected handler runs first)."""
    answering_machine: bool = False
    """An answering machine answers: a detector (AMD.create, the `amd` parameter of callPSTN) reports VOICEMAIL,
    else HUMAN."""
    amd_result: str = ""
    """What the detector reports, overriding `answering_machine`: human, voicemail or timeout ("" as it says)."""
    amd_subtype: str = ""
    """The detector's resultSubtype: none (the default) or mimic."""
    amd_confidence: int = 95
    """The detector's confidence (0 to 100)."""
    amd_after: float = 1.5
    """Seconds after the detector starts (at Connected) that it concludes; past its timeout it reports TIMEOUT."""

    def amd_verdict(self) -> AmdVerdict:
        """What an answering machine detector listening to this phone concludes."""
        result = self.amd_result.upper() or (VOICEMAIL if self.answering_machine else HUMAN)
        return AmdVerdict(result, self.amd_subtype.upper() or "NONE", self.amd_confidence, self.amd_after)

    def matches(self, number: str) -> bool:
        if not self.pattern or self.pattern == number:
            return True
        try:
            return patterns.full_match(self.pattern, number)
        except patterns.PatternTimeout:
            return False


def behaviour_of(entry: Any, where: str, answer_after: float) -> Behaviour:
    """The `Behaviour` of one configured entry (`where` names it in errors); raises SettingError."""
    if not isinstance(entry, Mapping):
        raise SettingError(f"{where} is not a table of a number's behaviour: {entry!r}")
    known = {f.name for f in dataclasses.fields(Behaviour)}
    unknown = sorted(str(key) for key in entry if key not in known)
    if unknown:
        raise SettingError(f"{where}: {', '.join(unknown)} is not a key of a number ({', '.join(sorted(known))})")
    values = {"answer_after": answer_after, **entry}
    for name in ("pattern", "behaviour", "play", "voice", "digits", "amd_result", "amd_subtype"):
        if not isinstance(values.get(name, ""), str):
            raise SettingError(f"{where}: {name} must be a string, not {values[name]!r}")
    for name in ("answer_after", "ring_time", "hangup_after", "digits_after", "amd_after"):
        _seconds(values, name, where)
    _check_amd(values, where)
    behaviour = Behaviour(**{**values, "say": _lines(values.get("say", ()), where)})
    if behaviour.behaviour not in BEHAVIOURS:
        raise SettingError(f"{where}: behaviour {behaviour.behaviour!r} is not one of {', '.join(BEHAVIOURS)}")
    error = patterns.pattern_error(behaviour.pattern)
    if error is not None and not _PLAIN_NUMBER.fullmatch(behaviour.pattern):
        raise SettingError(f"{where}: pattern {behaviour.pattern!r} is neither a number nor a regular expression "
                           f"({error})")
    return behaviour


def _check_amd(values: dict[str, Any], where: str) -> None:
    if not isinstance(values.get("answering_machine", False), bool):
        raise SettingError(f"{where}: answering_machine must be true or false, not {values['answering_machine']!r}")
    result, subtype = values.get("amd_result", ""), values.get("amd_subtype", "")
    if result and result.upper() not in RESULT_CLASSES:
        raise SettingError(f"{where}: amd_result {result!r} is not one of human, voicemail, timeout")
    if subtype and subtype.upper() not in SUBTYPES:
        raise SettingError(f"{where}: amd_subtype {subtype!r} is not one of none, mimic")
    confidence = values.get("amd_confidence", 95)
    if isinstance(confidence, bool) or not isinstance(confidence, int) or not 0 <= confidence <= 100:
        raise SettingError(f"{where}: amd_confidence must be a whole number from 0 to 100, not {confidence!r}")


def _seconds(values: dict[str, Any], name: str, where: str) -> None:
    value = values.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise SettingError(f"{where}: {name} must be a number of seconds (0 or more), not {value!r}")
    values[name] = float(value)


def _lines(say: Any, where: str) -> tuple[str, ...]:
    if isinstance(say, str):
        return (say,)
    if isinstance(say, Sequence) and all(isinstance(line, str) for line in say):
        return tuple(say)
    raise SettingError(f"{where}: say must be a line or a list of lines, not {say!r}")


@dataclass
class PstnSettings:
    """The PSTN simulator: callPSTN reaches these virtual phones unless `sip.pstn_gateway` names a real gateway."""

    numbers: Sequence[Mapping[str, Any]] = ()
    """The virtual phones: a list of {pattern, behaviour, answer_after, ring_time, hangup_after, play, say, voice,
    digits, digits_after, answering_machine, amd_result, amd_subtype, amd_confidence, amd_after}; the first entry
    whose pattern matches the number wins (docs/pstn.md)."""
    answer_after: float = 1.0
    """Seconds a number rings before it answers when its entry (or no entry) says nothing else."""
    callerid_check: bool = True
    """callPSTN's callerid must be one of the account's phone numbers or verified caller IDs, as on the platform
    (a refused one fails the call 403); false lets any callerid through."""

    def __post_init__(self) -> None:
        _ = self.behaviours  # a bad entry fails here, when the settings are read, not at the first call

    @functools.cached_property
    def behaviours(self) -> tuple[Behaviour, ...]:
        """The entries, in order, then the default phone (answers after `answer_after`, stays)."""
        if isinstance(self.numbers, str | bytes) or not isinstance(self.numbers, Sequence):
            raise SettingError(f"pstn.numbers must be a list of tables, not {self.numbers!r}")
        _seconds({"answer_after": self.answer_after}, "answer_after", "pstn")
        found = tuple(behaviour_of(entry, f"pstn.numbers[{index}]", self.answer_after)
                      for index, entry in enumerate(self.numbers))
        return (*found, Behaviour(answer_after=float(self.answer_after)))

    def behaviour_for(self, number: str) -> Behaviour:
        """What the phone `number` does: the first entry that matches, else the default (answer, stay)."""
        return next(b for b in self.behaviours if b.matches(number))
