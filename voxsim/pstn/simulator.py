"""The PSTN simulator: `VoxEngine.callPSTN` reaches virtual phones inside voxsim, so it works with no carrier.

`PstnDialer` is an `OutboundDialer` that places "pstn" calls itself and hands every other kind to the dialer it
wraps (the SIP edge's); the composition root (voxsim/app.py) installs it only when no `sip.pstn_gateway` is set,
so a configured gateway still gets callPSTN as SIP. Each number behaves as the live list of numbers says when it
is dialed (`PstnNumbers`, voxsim/pstn/numbers.py; or a fixed `PstnSettings`, voxsim/pstn/settings.py): a busy,
rejecting or unreachable phone fails the call at once (486, 603, 404); the others ring (Call.Ringing) and then
answer after `answer_after` seconds, or ring out: 480 after `ring_time`, or, with none, until the session's
`outbound_answer_timeout` fails the call 408, as on the platform.

`PstnLeg` is the phone: a `CallLeg` with no SIP behind it, like `voxsim.conference_calls.InternalLeg`. Once
answered its call's `CallAudio` runs on the media clock (as a simulated caller's does: `VirtualCaller.speak`):
the phone speaks its file and lines into it, with their text on the side (`CallAudio.said`), presses its digits
(Call.ToneReceived, type "1") and hangs up after `hangup_after` (Call.Disconnected 200). What the scenario plays
to it is kept as what the call heard. One task per call carries out the ringing and the speech; the other steps
are loop timers; hanging up cancels them all. It is a `voxsim.runtime.amd.AnsweringMachine`: a scenario's answering
machine detector reports the verdict its number is configured with (`Behaviour.amd_verdict`).

The session records the call with client_type "pstn", so GetCallHistory lists it with remote_number_type "pstn"
and the dialed number as remote_number.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from voxsim.media.call_audio import CallAudio
from voxsim.media.decode import AudioError, load_audio
from voxsim.media.speech import SpeechRenderer
from voxsim.pstn.settings import FAILURES, RING_OUT, RING_OUT_CODE, Behaviour
from voxsim.runtime.amd import AmdVerdict
from voxsim.runtime.host import CallLeg, DialError, OutboundDialer, ScenarioHeaders, SessionPort, Untransferable
from voxsim.runtime.protocol import (
    CALL_CONNECTED,
    CALL_DISCONNECTED,
    CALL_FAILED,
    CALL_RINGING,
    CALL_TONE_RECEIVED,
)

if TYPE_CHECKING:
    from voxsim.runtime.calls import Call

__all__ = ["PstnDialer", "PstnLeg"]

log = logging.getLogger(__name__)

_KEYS = "0123456789*#ABCD"


class PstnLeg(Untransferable):
    """A virtual phone called by callPSTN (see the module docstring). `heard_digits` are the keys the scenario
    sent it (sendDigits)."""

    what = "a simulated PSTN call"

    def __init__(self, number: str, behaviour: Behaviour, speech: SpeechRenderer) -> None:
        self.number = number
        self.behaviour = behaviour
        self.speech = speech
        self.session: SessionPort | None = None
        self.call_id = ""
        self.answered = False
        self.ended = False
        self.heard_digits = ""
        self._task: asyncio.Task[None] | None = None
        self._timers: list[asyncio.TimerHandle] = []

    def bind(self, session: SessionPort, call_id: str) -> None:
        self.session = session
        self.call_id = call_id

    def report(self, name: str, payload: Mapping[str, Any] | None = None) -> None:
        if self.session is not None and not self.ended:
            self.session.call_event(self.call_id, name, payload)

    def audio(self) -> CallAudio | None:
        return self.session.call_audio(self.call_id) if self.session is not None else None

    def start(self) -> None:
        """The phone rings: its behaviour runs from now on, until it or the scenario hangs up."""
        self._task = asyncio.get_running_loop().create_task(self._run())

    def close(self) -> None:
        """Nothing more happens on this phone (the call ended, either side)."""
        self.ended = True
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()

    # ------------------------------------------------------------ the phone's side

    async def _run(self) -> None:
        try:
            await self._ring_then_answer()
        except asyncio.CancelledError:
            raise
        except Exception:  # a failing phone fails its call, never the session
            log.exception("PSTN phone %s failed", self.number)
            if self.answered:
                self._hang_up(500)
            else:
                self.report(CALL_FAILED, {"code": 500, "reason": "Server Internal Error"})
                self.close()

    async def _ring_then_answer(self) -> None:
        behaviour = self.behaviour
        self.report(CALL_RINGING, {"headers": {}})
        if behaviour.behaviour == RING_OUT:
            if behaviour.ring_time is not None:  # else it rings until the session's answer timeout (408)
                await asyncio.sleep(behaviour.ring_time)
                code, reason = RING_OUT_CODE
                self.report(CALL_FAILED, {"code": code, "reason": reason, "headers": {}})
                self.close()
            return
        await asyncio.sleep(behaviour.answer_after)
        self._connect()
        loop = asyncio.get_running_loop()
        if behaviour.hangup_after is not None:
            self._timers.append(loop.call_later(behaviour.hangup_after, self._hang_up, 200))
        if behaviour.digits:
            self._timers.append(loop.call_later(behaviour.digits_after, self._press, behaviour.digits))
        await self._talk()

    def _connect(self) -> None:
        self.answered = True
        audio = self.audio()
        if audio is not None:
            audio.active = True
        self.report(CALL_CONNECTED, {"headers": {}})

    async def _talk(self) -> None:
        """The phone's file, then its lines, queued on the call's audio (they play 20 ms a tick from now)."""
        behaviour = self.behaviour
        if behaviour.play:
            try:
                pcm = await load_audio(behaviour.play)
            except AudioError as error:
                log.warning("PSTN phone %s plays nothing: %s", self.number, error)
            else:
                self._feed(pcm, {"kind": "url", "url": behaviour.play})
        for line in behaviour.say:
            speech = await self.speech.render(line, behaviour.voice or None)
            self._feed(speech.pcm, {"kind": "tts", "text": speech.text, "voice": speech.voice})

    def _feed(self, pcm: Any, prompt: dict[str, Any]) -> None:
        audio = self.audio()
        if audio is not None and not self.ended:
            audio.feed(pcm, prompt)

    def _press(self, digits: str) -> None:
        for key in digits.upper():
            if key in _KEYS:
                self.report(CALL_TONE_RECEIVED, {"tone": key, "type": "1"})

    def _hang_up(self, code: int) -> None:
        self.report(CALL_DISCONNECTED, {"internalCode": code, "headers": {}})
        self.close()

    def amd_verdict(self) -> AmdVerdict:
        """What the scenario's answering machine detector concludes about this phone (voxsim.runtime.amd)."""
        return self.behaviour.amd_verdict()

    # ------------------------------------------------------------ CallLeg (what the scenario does)

    async def hangup(self, headers: ScenarioHeaders) -> None:
        self.close()

    async def send_digits(self, digits: str) -> None:
        self.heard_digits += "".join(key for key in digits.upper() if key in _KEYS)

    async def send_message(self, text: str, headers: ScenarioHeaders) -> None:
        """A phone on the PSTN gets no SIP MESSAGE: nothing happens."""

    async def send_info(self, mime_type: str, body: str, headers: ScenarioHeaders) -> None:
        """Nor INFO: nothing happens."""

    async def answer(self, headers: ScenarioHeaders, params: Mapping[str, Any]) -> None:
        """An outbound call: the scenario has nothing to answer."""

    async def reject(self, code: int, headers: ScenarioHeaders) -> None:
        """An outbound call: the scenario has nothing to reject (hangup ends it)."""

    async def ring(self, headers: ScenarioHeaders) -> None:
        """An outbound call: it is the phone that rings."""

    async def start_early_media(self, headers: ScenarioHeaders) -> None:
        """An outbound call: no early media to start on the scenario's side."""



class Numbers(Protocol):
    """What the dialer asks at each call (`PstnNumbers`, the live list; `PstnSettings`, a fixed one)."""

    def behaviour_for(self, number: str) -> Behaviour: ...


class PstnDialer:
    """Places callPSTN calls on virtual phones (see the module docstring); other kinds go to `dialer()`."""

    def __init__(self, numbers: Numbers, speech: SpeechRenderer, dialer: Callable[[], OutboundDialer]) -> None:
        self.numbers = numbers  # asked at every call, never copied: a change applies to the next callPSTN
        self.speech = speech
        self.dialer = dialer

    async def place_call(self, session: SessionPort, call: Call, kind: str, params: Mapping[str, Any]) -> CallLeg:
        if kind != "pstn":
            return await self.dialer().place_call(session, call, kind, params)
        behaviour = self.numbers.behaviour_for(call.number)
        log.info("PSTN call %s to %s: %s", call.id, call.number, behaviour.behaviour)
        failure = FAILURES.get(behaviour.behaviour)
        if failure is not None:
            raise DialError(*failure)
        leg = PstnLeg(call.number, behaviour, self.speech)
        leg.bind(session, call.id)
        leg.start()
        return leg
