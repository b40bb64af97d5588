"""VoxEngine.createASR: a session's speech recognisers, each an `AsrUnit` in the media graph.

The recogniser itself is sans-IO (`voxsim.media.asr_unit`: the text a simulated caller spoke, else voice-activity
detection); this module gives each ASR of a scenario its unit under the reference `asr:<id>` (so `sendMediaTo(asr)`
links to it like to any unit), turns what the unit reports into `UnitEvent(Kind.ASR, id, name, payload)` and takes it
out of the graph once it stopped. `ASR.Started` fires at once, as the typings say ("after ASR instance is created").

Audio with no text gets the VAD's events and, as its Result, the text of the recogniser the user configured
(`runtime.asr_command` or `runtime.asr_endpoint`, voxsim/runtime/recognizer.py) or else
`RuntimeSettings.asr_default_transcript`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from voxsim.media.asr_unit import ASR_ERROR, ASR_STARTED, ASR_STOPPED, AsrUnit
from voxsim.media.graph import Frame
from voxsim.runtime.media import SessionMedia
from voxsim.runtime.protocol import Kind, UnitEvent
from voxsim.runtime.recognizer import RecognizerError, SpeechRecognizer

__all__ = ["SessionASRs"]

Emit = Callable[[UnitEvent], None]
_LEGACY_LANGUAGE = ("lang", "language")  # createASR({lang: ASRLanguage.X}) of older scenarios


class SessionASRs:
    """A session's ASRs, by the id the shim gave them (`asr.*` commands)."""

    def __init__(self, media: SessionMedia, emit: Emit, transcript: str = "",
                 write_log: Callable[[str], None] = lambda _: None, recognizer: SpeechRecognizer | None = None) -> None:
        self.media = media
        self.emit = emit
        self.transcript = transcript
        self.write_log = write_log
        self.recognizer = recognizer
        self._units: dict[str, AsrUnit] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def create(self, asr_id: str, params: Mapping[str, Any]) -> None:
        """A new ASR: `Started`, then it hears what is sent to it. Without a `profile` (the typings require one; the
        older `lang` is taken too) it reports `ASR.Error` and recognises nothing."""
        if asr_id in self._units:
            return
        unit = AsrUnit(lambda name, payload: self._event(asr_id, name, payload),
                       interim_results=bool(params.get("interimResults")),
                       single_utterance=bool(params.get("singleUtterance")), transcript=self.transcript)
        if self.recognizer is not None:
            unit.recognize = lambda pcm: self._recognize(unit, pcm)
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

    def _recognize(self, unit: AsrUnit, pcm: Frame) -> None:
        """The configured recogniser hears an utterance; its text (or, when it fails, the default) is the Result."""
        assert self.recognizer is not None
        recognizer = self.recognizer

        async def run() -> None:
            try:
                text = await recognizer.recognize(pcm)
            except RecognizerError as exc:
                self.write_log(f"[voxsim] ASR: the recogniser failed ({exc}); the Result is the default transcript")
                text = self.transcript
            unit.recognized(text)

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _event(self, asr_id: str, name: str, payload: dict[str, Any]) -> None:
        if name == ASR_STOPPED:  # nothing more to hear: out of the graph (also after a single utterance)
            self._units.pop(asr_id, None)
            self.media.remove_unit(f"asr:{asr_id}")
        self.emit(UnitEvent(Kind.ASR, asr_id, name, payload))
