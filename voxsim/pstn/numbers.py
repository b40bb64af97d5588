"""The PSTN simulator's live list of virtual phones: the settings' entries, the seed folders' and the API's.

`PstnNumbers` is what the PSTN dialer asks at every callPSTN (`behaviour_for`), so a change made while voxsim runs
applies to the next call. Its entries come from three places, and the first entry whose pattern matches the
dialed number wins, in this order (the more specific configuration first):

1. the API's (`/_voxsim/pstn`: added, replaced or removed while voxsim runs; `voxsim reset` clears them);
2. the seed folders' (`pstn.json` or `pstn.yaml` in a `voxsim up --seed` folder, read with the rest of the seed);
3. the settings' (`[[pstn.numbers]]`, `--pstn-numbers`, `VOXSIM_PSTN_NUMBERS`);

then the default phone (answers after `pstn.answer_after`, stays). Every entry is checked as the settings' are
(`behaviour_of`): a bad one is refused whole, naming where it comes from, and nothing changes. The entries live
in memory only: a restart starts from the settings and the seed again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voxsim.pstn.settings import Behaviour, PstnSettings, behaviour_of
from voxsim.settings_sources import SettingError
from voxsim.voice_ai.script import read_document

__all__ = ["API", "SEED", "SEED_FILES", "SETTINGS", "NumberEntry", "PstnNumbers", "default_json", "read_seed",
           "seed_file"]

API, SEED, SETTINGS = "api", "seed", "settings"
SEED_FILES = ("pstn.json", "pstn.yaml", "pstn.yml")
"""The file of a seed folder that lists its virtual phones (one of them)."""


@dataclass(frozen=True)
class NumberEntry:
    """One entry of the list: where it comes from, as it was given, and what it makes the phone do."""

    source: str
    """api, seed or settings."""
    where: str
    """The file and entry (`seed/pstn.json: entry 2`), the setting (`pstn.numbers[0]`) or `api`."""
    entry: Mapping[str, Any]
    """The entry as it was given (its keys are `Behaviour`'s fields)."""
    behaviour: Behaviour

    def to_json(self, index: int) -> dict[str, Any]:
        return {"index": index, "source": self.source, "where": self.where, "entry": dict(self.entry)}


def checked(entry: Any, source: str, where: str, answer_after: float) -> NumberEntry:
    """The entry checked as a `[[pstn.numbers]]` table is; raises SettingError naming `where`."""
    behaviour = behaviour_of(entry, where, answer_after)
    return NumberEntry(source, where, dict(entry), behaviour)


class PstnNumbers:
    """The live list of the simulator's numbers (see the module docstring)."""

    def __init__(self, settings: PstnSettings) -> None:
        self.settings = settings
        configured = zip(settings.numbers, settings.behaviours, strict=False)  # behaviours ends with the default
        self._settings = tuple(NumberEntry(SETTINGS, f"pstn.numbers[{index}]", dict(entry), behaviour)
                               for index, (entry, behaviour) in enumerate(configured))
        self._seed: tuple[NumberEntry, ...] = ()
        self._api: tuple[NumberEntry, ...] = ()

    @property
    def default(self) -> Behaviour:
        """The phone of a number no entry matches."""
        return self.settings.behaviours[-1]

    def entries(self) -> tuple[NumberEntry, ...]:
        """Every entry in the order they are tried: the API's, the seed's, the settings'."""
        return (*self._api, *self._seed, *self._settings)

    def behaviour_for(self, number: str) -> Behaviour:
        """What the phone `number` does now: the first entry that matches, else the default."""
        return next((e.behaviour for e in self.entries() if e.behaviour.matches(number)), self.default)

    def check(self, entry: Any, where: str, source: str = API) -> NumberEntry:
        """One entry checked (raises SettingError naming `where`), with the settings' `answer_after` as its default."""
        return checked(entry, source, where, self.settings.answer_after)

    # -- the seed's ------------------------------------------------------------------------------
    def add_seed(self, entries: Sequence[NumberEntry]) -> None:
        """The entries of a seed (already checked: `read_seed`), after those of earlier seeds."""
        self._seed = (*self._seed, *entries)

    # -- the API's -------------------------------------------------------------------------------
    @property
    def api_count(self) -> int:
        return len(self._api)

    def add(self, entry: Any, position: int = 0) -> NumberEntry:
        """An API entry at `position` among the API's entries (0: first of all); raises SettingError."""
        if isinstance(position, bool) or not isinstance(position, int) or not 0 <= position <= len(self._api):
            raise SettingError(f"position must be a whole number from 0 to {len(self._api)} (the API's entries "
                               f"come first), not {position!r}")
        added = self.check(entry, "entry")
        self._api = (*self._api[:position], added, *self._api[position:])
        return added

    def replace(self, entries: Any) -> None:
        """The API's entries become `entries` (a list), all checked before any changes; raises SettingError."""
        if isinstance(entries, str | bytes | Mapping) or not isinstance(entries, Sequence):
            raise SettingError(f"numbers must be a list of entries, not {entries!r}")
        self._api = tuple(self.check(entry, f"numbers[{index}]") for index, entry in enumerate(entries))

    def remove(self, index: int) -> NumberEntry:
        """The API's entry at `index` (the list's index: the API's entries come first) removed; raises SettingError
        for an index that is no entry of the API's."""
        entries = self.entries()
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(entries):
            raise SettingError(f"index must be the index of an entry (0 to {len(entries) - 1}), not {index!r}")
        if index >= len(self._api):
            found = entries[index]
            raise SettingError(f"index {index} is an entry of the {found.source} ({found.where}): only the API's "
                               f"entries (indexes below {len(self._api)}) can be removed")
        removed = self._api[index]
        self._api = (*self._api[:index], *self._api[index + 1:])
        return removed

    def remove_pattern(self, pattern: str) -> list[NumberEntry]:
        """Every API entry whose pattern is `pattern` (as written), removed; empty when there is none."""
        removed = [e for e in self._api if e.behaviour.pattern == pattern]
        self._api = tuple(e for e in self._api if e.behaviour.pattern != pattern)
        return removed

    def clear_api(self) -> None:
        """`voxsim reset`: the API's entries go; the settings' and the seed's stay (they are the start's)."""
        self._api = ()


def seed_file(folder: Path) -> Path | None:
    """The seed folder's pstn.json or pstn.yaml, or None; raises SettingError when it has more than one."""
    found = [folder / name for name in SEED_FILES if (folder / name).is_file()]
    if len(found) > 1:
        raise SettingError(f"{folder}: {' and '.join(p.name for p in found)} both list virtual phones: keep one")
    return found[0] if found else None


def read_seed(folder: Path, answer_after: float) -> list[NumberEntry]:
    """The virtual phones of a seed folder's pstn.json/pstn.yaml (none without one), every entry checked;
    raises SettingError naming the file and the entry."""
    path = seed_file(folder)
    if path is None:
        return []
    try:
        content = read_document(path)
    except ValueError as error:
        raise SettingError(str(error)) from None
    if isinstance(content, str | bytes | Mapping) or not isinstance(content, Sequence):
        raise SettingError(f"{path}: expected a list of entries (each as a [[pstn.numbers]] table), not "
                           f"{type(content).__name__}")
    return [checked(entry, SEED, f"{path}: entry {index}", answer_after) for index, entry in enumerate(content)]


def default_json(behaviour: Behaviour) -> dict[str, Any]:
    """The default phone as /_voxsim/pstn shows it: it answers after `answer_after` and stays."""
    return {"behaviour": behaviour.behaviour, "answer_after": behaviour.answer_after}
