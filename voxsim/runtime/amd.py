"""Answering machine detection: what an `AMD.AnsweringMachineDetector` (shim/amd.js) concludes about its call.

voxsim recognises no audio. A leg that knows what answered it says so by being an `AnsweringMachine`: the PSTN
simulator's phones (voxsim/pstn/simulator.py) give the verdict their number is configured with. When the scenario's
detector starts on a connected call (the `amd` parameter of callPSTN/callSIP/callUser, or `detect()` after
`call.sendMediaTo(amd)`), shim/amd.js sends one `amd.detect` command; `SessionAMDs` answers, after the verdict's
delay, with `AMD.Events.DetectionComplete` (HUMAN or VOICEMAIL; TIMEOUT when the verdict takes longer than the
detector's timeout, counted from now, as the platform counts it from Connected), and around it the call's
`Call.AudioIdentificationStarted`, `...Result` and `...Stopped`. A call that ends first gets CALL_ENDED from the
shim itself. Any other leg (a SIP phone, a user, a conference) gets `AMD.Events.DetectionError`: detecting what
answered a real phone is not emulated.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from voxsim.runtime.calls import Call
from voxsim.runtime.protocol import (
    AMD_DETECTION_COMPLETE,
    AMD_DETECTION_ERROR,
    CALL_AUDIO_IDENTIFICATION_RESULT,
    CALL_AUDIO_IDENTIFICATION_STARTED,
    CALL_AUDIO_IDENTIFICATION_STOPPED,
    Kind,
    UnitEvent,
)

__all__ = ["HUMAN", "RESULT_CLASSES", "SUBTYPES", "TIMEOUT", "VOICEMAIL", "AmdVerdict", "AnsweringMachine",
           "SessionAMDs"]

HUMAN, VOICEMAIL, TIMEOUT = "HUMAN", "VOICEMAIL", "TIMEOUT"
RESULT_CLASSES = (HUMAN, VOICEMAIL, TIMEOUT)
"""The AMD.ResultClass values a verdict may give (CALL_ENDED is what the shim reports when the call ends first)."""
SUBTYPES = ("NONE", "MIMIC")
DEFAULT_TIMEOUT_MS, MAX_TIMEOUT_MS = 6500, 20000
"""The detector's timeout: 6.5 s by default, at most 20 s (AMD.AMDParameters)."""


@dataclass(frozen=True)
class AmdVerdict:
    """What a detector listening to a call concludes, and how long after it starts."""

    result_class: str = HUMAN
    subtype: str = "NONE"
    confidence: int = 95
    after: float = 1.5


@runtime_checkable
class AnsweringMachine(Protocol):
    """A leg that knows what answered it (a simulated phone): its detector's verdict."""

    def amd_verdict(self) -> AmdVerdict: ...


def timeout_seconds(value: Any) -> float:
    """The detector's timeout in seconds from the command's milliseconds (the shim has checked its range)."""
    try:
        ms = float(value)
    except (TypeError, ValueError):
        ms = DEFAULT_TIMEOUT_MS
    return min(max(ms, 0.0), MAX_TIMEOUT_MS) / 1000


class SessionAMDs:
    """A session's answering machine detections (see the module docstring)."""

    def __init__(self, emit: Callable[[UnitEvent], None], live_call: Callable[[str], Call | None],
                 log: Callable[[str], None]) -> None:
        self._emit = emit
        self._live_call = live_call
        self._log = log

    def detect(self, amd_id: str, call_id: str, timeout: Any) -> None:
        call = self._live_call(call_id)
        if call is None:
            return  # the shim has reported CALL_ENDED
        leg = call.leg
        if not isinstance(leg, AnsweringMachine):
            what = getattr(leg, "what", "this call")
            self._error(amd_id, call_id, f"answering machine detection on {what} is not emulated by voxsim "
                                         "(only on calls to the PSTN simulator's phones)")
            return
        verdict = leg.amd_verdict()
        limit = timeout_seconds(timeout)
        result = verdict.result_class
        if result == TIMEOUT or verdict.after > limit:
            result, wait = TIMEOUT, limit
        else:
            wait = verdict.after
        self._emit(UnitEvent(Kind.CALL, call_id, CALL_AUDIO_IDENTIFICATION_STARTED, {}))
        asyncio.get_running_loop().call_later(wait, self._complete, amd_id, call_id, result, verdict)

    def _complete(self, amd_id: str, call_id: str, result: str, verdict: AmdVerdict) -> None:
        if self._live_call(call_id) is None:
            return
        subtype = verdict.subtype if result != TIMEOUT else "NONE"
        data: dict[str, Any] = {"callId": call_id, "resultClass": result, "resultSubtype": subtype}
        if result != TIMEOUT:
            data["confidence"] = verdict.confidence
        self._log(f"[voxsim] AMD {amd_id} on call {call_id}: {result}")
        self._emit(UnitEvent(Kind.CALL, call_id, CALL_AUDIO_IDENTIFICATION_RESULT,
                             {"audioType": result, "audioSubType": subtype, "confidence": data.get("confidence", 0)}))
        self._emit(UnitEvent(Kind.AMD, amd_id, AMD_DETECTION_COMPLETE, data))
        self._emit(UnitEvent(Kind.CALL, call_id, CALL_AUDIO_IDENTIFICATION_STOPPED, {}))

    def _error(self, amd_id: str, call_id: str, message: str) -> None:
        self._log(f"[voxsim] AMD {amd_id}: {message}")
        self._emit(UnitEvent(Kind.AMD, amd_id, AMD_DETECTION_ERROR, {"callId": call_id, "message": message}))
