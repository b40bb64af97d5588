"""A simulated caller: a `CallLeg` with no SIP behind it, for tests and /_voxsim/simulate.

`VirtualLeg` is the signalling side the session drives (it records what the scenario did
and, on answer, confirms at once with Call.Connected). `VirtualCaller` is the person at
the other end: `dtmf("12#")` fires Call.ToneReceived (the session passes tones on only
after `handleTones(true)`), `hangup()` fires Call.Disconnected, `speak(pcm, text)` talks into
the call's audio, `transfer(to)` asks for a blind transfer (Call.BlindTransferRequested once the scenario
called `handleBlindTransfer(true)`; `leg.did("notify_blind_transfer")` is its answer). Its media is real
but has no RTP: once answered (or in early media) the call's `CallAudio` runs on the media clock, what the
scenario plays to it is kept as what it heard.

Transfers of a simulated call have no SIP to fail: `transferTo` is recorded (`did("transfer_to")`) and succeeds
at once, Call.TransferComplete then Call.Disconnected 200, as after a SIP transfer; an attended one (`call`) to
another simulated call ends that one too (Disconnected 200), as its SIP far end would hang up once replaced.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from voxsim.media.call_audio import CallAudio
from voxsim.media.dtmf import InbandDigits
from voxsim.media.graph import Frame
from voxsim.runtime.host import (
    CALL_BLIND_TRANSFER_REQUESTED,
    CALL_TRANSFER_COMPLETE,
    TRANSFEROR,
    CallLeg,
    ScenarioHeaders,
    SessionPort,
)
from voxsim.runtime.protocol import (
    CALL_CONNECTED,
    CALL_DISCONNECTED,
    CALL_INFO_RECEIVED,
    CALL_MESSAGE_RECEIVED,
    CALL_TONE_RECEIVED,
)


class VirtualLeg:
    def __init__(self, *, answer_connects: bool = True) -> None:
        self.answer_connects = answer_connects
        self.actions: list[tuple[str, dict[str, Any]]] = []
        self.session: SessionPort | None = None
        self.call_id = ""
        self.blind_transfers = False

    def bind(self, session: SessionPort, call_id: str) -> None:
        self.session = session
        self.call_id = call_id

    def audio(self) -> CallAudio | None:
        return self.session.call_audio(self.call_id) if self.session is not None else None

    def _media_starts(self) -> None:
        audio = self.audio()
        if audio is not None:
            audio.active = True

    def report(self, name: str, payload: Mapping[str, Any] | None = None) -> None:
        if self.session is not None:
            self.session.call_event(self.call_id, name, payload)

    def did(self, action: str) -> list[dict[str, Any]]:
        """The arguments of every `action` the scenario performed on this leg."""
        return [args for name, args in self.actions if name == action]

    @property
    def answered(self) -> bool:
        return bool(self.did("answer"))

    @property
    def rejected_code(self) -> int | None:
        rejects = self.did("reject")
        return int(rejects[-1]["code"]) if rejects else None

    @property
    def hung_up(self) -> bool:
        return bool(self.did("hangup"))

    # ------------------------------------------------------------ CallLeg

    async def answer(self, headers: ScenarioHeaders, params: Mapping[str, Any]) -> None:
        self.actions.append(("answer", {"headers": dict(headers), "params": dict(params)}))
        self._media_starts()
        if self.answer_connects:
            self.report(CALL_CONNECTED, {"headers": {}})

    async def reject(self, code: int, headers: ScenarioHeaders) -> None:
        self.actions.append(("reject", {"code": code, "headers": dict(headers)}))

    async def hangup(self, headers: ScenarioHeaders) -> None:
        self.actions.append(("hangup", {"headers": dict(headers)}))

    async def ring(self, headers: ScenarioHeaders) -> None:
        self.actions.append(("ring", {"headers": dict(headers)}))

    async def start_early_media(self, headers: ScenarioHeaders) -> None:
        self.actions.append(("start_early_media", {"headers": dict(headers)}))
        self._media_starts()

    async def send_message(self, text: str, headers: ScenarioHeaders) -> None:
        self.actions.append(("send_message", {"text": text, "headers": dict(headers)}))

    async def send_info(self, mime_type: str, body: str, headers: ScenarioHeaders) -> None:
        self.actions.append(("send_info", {"mime_type": mime_type, "body": body, "headers": dict(headers)}))

    async def send_digits(self, digits: str) -> None:
        self.actions.append(("send_digits", {"digits": digits}))

    async def transfer_to(self, to: str | None, target: CallLeg | None, headers: ScenarioHeaders) -> None:
        other = target if isinstance(target, VirtualLeg) else None
        self.actions.append(("transfer_to", {"to": to, "target": other.call_id if other else None,
                                             "headers": dict(headers)}))
        self.report(CALL_TRANSFER_COMPLETE, {"role": TRANSFEROR, "headers": {}})
        self.report(CALL_DISCONNECTED, {"internalCode": 200, "headers": {}})
        if other is not None:
            other.report(CALL_DISCONNECTED, {"internalCode": 200, "headers": {}})

    async def handle_blind_transfer(self, enable: bool) -> None:
        self.blind_transfers = enable
        self.actions.append(("handle_blind_transfer", {"enable": enable}))

    async def notify_blind_transfer(self, code: int, reason: str, headers: ScenarioHeaders) -> None:
        self.actions.append(("notify_blind_transfer", {"code": code, "reason": reason, "headers": dict(headers)}))


class VirtualCaller:
    """The far end of a `VirtualLeg`: what a person with a phone would do."""

    def __init__(self, leg: VirtualLeg) -> None:
        self.leg = leg

    @property
    def call_id(self) -> str:
        return self.leg.call_id

    def dtmf(self, digits: str, dtmf_type: int = 1) -> None:
        """Presses keys (RFC 2833 by default: ToneReceived `type` "1")."""
        for tone in digits:
            self.leg.report(CALL_TONE_RECEIVED, {"tone": tone, "type": str(dtmf_type)})

    def speak(self, pcm: Frame, prompt: dict[str, Any] | None = None) -> bool:
        """Plays `pcm` (8 kHz PCM16) into the call, as if the caller spoke it; `prompt` ({"kind", "text"...})
        travels with it. False when the call has no audio (ended)."""
        audio = self.leg.audio()
        if audio is None:
            return False
        audio.feed(pcm, prompt)
        return True

    def press_inband(self, digits: str) -> bool:
        """Presses keys as DTMF tones in the audio (in-band: ToneReceived `type` "2" once the scenario listens)."""
        tones, frames = InbandDigits(digits), []
        while (frame := tones.next_frame()) is not None:
            frames.append(frame)
        pcm = np.concatenate(frames) if frames else np.zeros(0, dtype=np.int16)
        return self.speak(pcm, {"kind": "dtmf", "digits": digits})

    def transfer(self, to: str, headers: Mapping[str, str] | None = None) -> bool:
        """Asks the scenario to transfer the call to `to` (a user name), as a phone's REFER would; False when the
        scenario has not called handleBlindTransfer(true) (a SIP caller would get 603)."""
        if not self.leg.blind_transfers:
            return False
        self.leg.report(CALL_BLIND_TRANSFER_REQUESTED, {"transferTo": to, "headers": dict(headers or {})})
        return True

    def hangup(self, code: int = 200, reason: str = "Normal call clearing") -> None:
        self.leg.report(CALL_DISCONNECTED, {"internalCode": code, "reason": reason, "headers": {}})

    def message(self, text: str, headers: Mapping[str, str] | None = None) -> None:
        self.leg.report(CALL_MESSAGE_RECEIVED, {"text": text, "headers": dict(headers or {})})

    def info(self, mime_type: str, body: str, headers: Mapping[str, str] | None = None) -> None:
        payload = {"mimeType": mime_type, "body": body, "headers": dict(headers or {})}
        self.leg.report(CALL_INFO_RECEIVED, payload)
