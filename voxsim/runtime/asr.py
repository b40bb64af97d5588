"""VoxEngine.createASR: a session's speech recognisers, each an `AsrUnit` in the media graph.

The recogniser itself is sans-IO (`voxsim.media.asr_unit`: the text a simulated caller spoke, else voice-activity
detection); this module gives each ASR of a scenario its unit under the reference `asr:<id>` (so `sendMediaTo(asr)`
links to it like to any unit), turns what the unit reports into `UnitEvent(Kind.ASR, id, name, payload)` and takes it
out of the graph once it stopped. `ASR.Started` fires at once, as the typings say ("after ASR instance is created").

A recogniser the user configures (a command, a local HTTP endpoint such as a whisper.cpp server) is not emulated:
audio with no text gets the VAD's events and `RuntimeSettings.asr_default_transcript`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from voxsim.media.asr_unit import ASR_ERROR, ASR_STARTED, ASR_STOPPED, AsrUnit
from voxsim.runtime.media import SessionMedia
from voxsim.runtime.protocol import Kind, UnitEvent

__all__ = ["SessionASRs"]

Emit = Callable[[UnitEvent], None]
_LEGACY_LANGUAGE = ("lang", "language")  # createASR({lang: ASRLanguage.X}) of older scenarios


class SessionASRs:
    """A session's ASRs, by the id the shim gave them (`asr.*` commands)."""

    def __init__(self, media: SessionMedia, emit: Emit, transcript: str = "",
                 write_log: Callable[[str], None] = lambda _: None) -> None:
        self.media = media
        self.emit = emit
        self.transcript = transcript
        self.write_log = write_log
        self._units: dict[str, AsrUnit] = {}

    def create(self, asr_id: str, params: Mapping[str, Any]) -> None:
        """A new ASR: `Started`, then it hears what is sent to it. Without a `profile` (the typings require one; the
        older `lang` is taken too) it reports `ASR.Error` and recognises nothing."""
        if asr_id in self._units:
            return
        unit = AsrUnit(lambda name, payload: self._event(asr_id, name, payload),
                       interim_results=bool(params.get("interimResults")),
                       single_utterance=bool(params.get("singleUtterance")), transcript=self.transcript)
        self._units[asr_id] = unit
        self.media.add_unit(f"asr:{asr_id}", unit)
        self._event(asr_id, ASR_STARTED, {})
        if not any(params.get(key) for key in ("profile", *_LEGACY_LANGUAGE)):
            unit.stopped = True
            self._units.pop(asr_id)
            self.media.remove_unit(f"asr:{asr_id}")
            error = "ASRParameters.profile is required (an ASRProfileList value)"
            self.write_log(f"[voxsim] createASR: {error}")
            self._event(asr_id, ASR_ERROR, {"error": error})

    def stop(self, asr_id: str) -> None:
        unit = self._units.get(asr_id)
        if unit is None or unit.stopped:
            self.write_log("[voxsim] ASR.stop on an ASR that has stopped: ignored")
            return
        unit.stop()

    def _event(self, asr_id: str, name: str, payload: dict[str, Any]) -> None:
        if name == ASR_STOPPED:  # nothing more to hear: out of the graph (also after a single utterance)
            self._units.pop(asr_id, None)
            self.media.remove_unit(f"asr:{asr_id}")
        self.emit(UnitEvent(Kind.ASR, asr_id, name, payload))
