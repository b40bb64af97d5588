"""A VoxEngine ASR as a unit of the media graph: it hears the stream sent to it and reports what was said.

`call.sendMediaTo(asr)` makes the call the unit's source: each tick `absorb()` takes the frame its far end sent
(`CallAudio.out`). What the ASR recognises, in this order (docs/media.md, "ASR"):

1. The exact text a simulated caller spoke. Text travels with speech: `CallAudio.said` holds each prompt a caller
   spoke with its place on the call's audio timeline (`ticks * 20` ms), so the unit knows which prompt covers the
   frame it hears. The first frame of a prompt is `CaptureStarted`; with `interimResults`, `InterimResult` carries
   the first half of its words once half of it passed; when its audio has fully passed, `SpeechCaptured` and then
   `Result` with its text (confidence 1). A prompt heard only in part (the ASR came late, or was sent another
   stream) still gives its whole text: the text is all voxsim knows of it.
2. Otherwise an energy voice-activity detector (`VoiceActivity`): `CaptureStarted` once 60 ms of speech came,
   `SpeechCaptured` after 500 ms of silence, then `Result` with `transcript` (a runtime setting, empty by default;
   confidence 0 for an empty text). That is what audio from outside phones (SIP, RTP) gets.
3. With a recogniser (`recognize`, given by the runtime when the user configured one), the utterance's audio goes
   to it at `SpeechCaptured`, and `Result` comes when its text does (`recognized(text)`).

Without `singleUtterance` the ASR goes on and reports every utterance; with it, the ASR stops after its first
`Result` (`Stopped` follows). `stop()` ends it: `Stopped` with the seconds of audio it heard; what was being
captured is dropped. The events are `ASREvents` values of voxengine.d.ts; `emit(name, payload)` reports them.
Nothing here owns a task or a timer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from voxsim.media.call_audio import CallAudio, Prompt
from voxsim.media.graph import FRAME_SAMPLES, Frame, MediaUnit

__all__ = ["ASR_CAPTURE_STARTED", "ASR_ERROR", "ASR_INTERIM_RESULT", "ASR_RESULT", "ASR_SPEECH_CAPTURED",
           "ASR_STARTED", "ASR_STOPPED", "AsrUnit", "VoiceActivity", "partial_text"]

# ASREvents, as voxengine.d.ts spells them.
ASR_STARTED = "ASR.Started"
ASR_CAPTURE_STARTED = "ASR.CaptureStarted"
ASR_SPEECH_CAPTURED = "ASR.SpeechCaptured"
ASR_INTERIM_RESULT = "ASR.InterimResult"
ASR_RESULT = "ASR.Result"
ASR_STOPPED = "ASR.Stopped"
ASR_ERROR = "ASR.Error"

Emit = Callable[[str, dict[str, Any]], None]
MAX_UTTERANCE_FRAMES = 3000  # 60 s: a recogniser gets at most this much of one utterance


class VoiceActivity:
    """An energy voice-activity detector over 20 ms frames: speech starts after `start_frames` voiced frames in a
    row and ends after `hangover_frames` unvoiced ones. A frame is voiced when its RMS reaches `threshold`
    (300, about -40 dBFS: above a phone line's hiss, below the quiet parts of speech)."""

    START = "start"
    END = "end"

    def __init__(self, threshold: float = 300.0, start_frames: int = 3, hangover_frames: int = 25) -> None:
        self.threshold = threshold
        self.start_frames = start_frames
        self.hangover_frames = hangover_frames
        self.speaking = False
        self._run = 0  # voiced frames in a row (before the start), unvoiced ones in a row (while speaking)

    def voiced(self, frame: Frame | None) -> bool:
        if frame is None:
            return False
        return float(np.sqrt(np.mean(np.square(frame, dtype=np.float64)))) >= self.threshold

    def feed(self, frame: Frame | None) -> str | None:
        """`START` on the frame that starts speech, `END` on the one that ends it, else None."""
        voiced = self.voiced(frame)
        if not self.speaking:
            self._run = self._run + 1 if voiced else 0
            if self._run >= self.start_frames:
                self.speaking, self._run = True, 0
                return self.START
            return None
        self._run = 0 if voiced else self._run + 1
        if self._run >= self.hangover_frames:
            self.reset()
            return self.END
        return None

    def reset(self) -> None:
        self.speaking, self._run = False, 0


def partial_text(text: str) -> str:
    """What an interim result says halfway through `text`: its first half of words (at least one)."""
    words = text.split()
    return " ".join(words[: max(1, len(words) // 2)])


class AsrUnit(MediaUnit):
    """See the module docstring."""

    rank = 2  # after the calls: their `out` and `ticks` are this tick's

    def __init__(self, emit: Emit, *, interim_results: bool = False, single_utterance: bool = False,
                 transcript: str = "", vad: VoiceActivity | None = None,
                 recognize: Callable[[Frame], None] | None = None) -> None:
        super().__init__()
        self._emit = emit
        self.recognize = recognize
        self._utterance: list[Frame] = []  # what the VAD hears as speech, for the recogniser
        self._preroll: list[Frame] = []  # the frames before the VAD's start (it needs a few to decide)
        self.interim_results = interim_results
        self.single_utterance = single_utterance
        self.transcript = transcript
        self.vad = vad or VoiceActivity()
        self.stopped = False
        self.heard_frames = 0
        self._listening_to: MediaUnit | None = None
        self._said_index = 0  # the first prompt of the source's `said` that has not passed yet
        self._prompt: Prompt | None = None  # the annotated prompt being heard
        self._interim_sent = False

    def absorb(self) -> None:
        if self.stopped:
            return
        source = self.source if self.source is not None and not self.source.closed else None
        if source is not self._listening_to:
            self._switch(source)
            if self.stopped:  # the prompt it ended was a single utterance
                return
        if source is None:
            self._hear_voice(None)
            return
        self.heard_frames += 1
        if isinstance(source, CallAudio) and (prompt := self._prompt_now(source)) is not None:
            self._hear_prompt(prompt, self.heard_until(source))
        else:
            self._hear_voice(self.heard())

    def stop(self) -> None:
        """`ASR.stop()`: nothing more is recognised; `Stopped` with the seconds heard."""
        if self.stopped:
            return
        self.stopped = True
        self._prompt = None
        self.vad.reset()
        self._emit(ASR_STOPPED, {"cost": "0", "duration": round(self.heard_frames * 0.02, 3)})

    # ------------------------------------------------------------ what a simulated caller said

    def _switch(self, source: MediaUnit | None) -> None:
        """Another stream (or none): a prompt being heard ends here; the new source's passed prompts are skipped."""
        if self._prompt is not None:
            self._finish_prompt(self._prompt)
        self._listening_to, self._said_index = source, 0

    @staticmethod
    def heard_until(source: CallAudio) -> float:
        """Where the frame heard this tick ends on the call's audio timeline (ms): the call counted it already, as
        calls absorb before the ASR."""
        return source.ticks * 20.0

    def _prompt_now(self, source: CallAudio) -> Prompt | None:
        """The annotated prompt (one with a text) that covers the frame heard this tick, if any."""
        end = self.heard_until(source)
        start = end - 20.0
        said = source.said
        while self._said_index < len(said) and (said[self._said_index].end or 0.0) <= start:
            self._said_index += 1
        if self._said_index < len(said):
            prompt = said[self._said_index]
            if prompt.start < end and prompt.text is not None:
                return prompt
        return None

    def _hear_prompt(self, prompt: Prompt, now: float) -> None:
        if prompt is not self._prompt:
            self._end_capture()  # unannotated speech just before it is an utterance of its own
            if self._prompt is not None:
                self._finish_prompt(self._prompt)
            if self.stopped:
                return
            self._prompt, self._interim_sent = prompt, False
            self._emit(ASR_CAPTURE_STARTED, {})
        end = prompt.end or now
        if self.interim_results and not self._interim_sent and now >= (prompt.start + end) / 2:
            self._interim_sent = True
            self._emit(ASR_INTERIM_RESULT, {"text": partial_text(prompt.text or "")})
        if end <= now:
            self._finish_prompt(prompt)

    def _finish_prompt(self, prompt: Prompt) -> None:
        self._prompt = None
        self._emit(ASR_SPEECH_CAPTURED, {})
        self._result(prompt.text or "")

    # ------------------------------------------------------------ audio with no text

    def _hear_voice(self, frame: Frame | None) -> None:
        event = self.vad.feed(frame)
        if self.recognize is not None:
            self._keep(frame, event)
        if event == VoiceActivity.START:
            self._emit(ASR_CAPTURE_STARTED, {})
        elif event == VoiceActivity.END:
            self._emit(ASR_SPEECH_CAPTURED, {})
            self._utterance_ended()

    def _keep(self, frame: Frame | None, event: str | None) -> None:
        """Keeps the utterance's audio (with the frames that started it), at most MAX_UTTERANCE_FRAMES."""
        heard = frame if frame is not None else np.zeros(FRAME_SAMPLES, dtype=np.int16)
        if self.vad.speaking or event == VoiceActivity.END:
            if event == VoiceActivity.START:
                self._utterance = list(self._preroll)
            if len(self._utterance) < MAX_UTTERANCE_FRAMES:
                self._utterance.append(heard)
            return
        self._preroll = [*self._preroll[-(self.vad.start_frames - 1):], heard] if self.vad.start_frames > 1 else []

    def _utterance_ended(self) -> None:
        if self.recognize is None:
            self._result(self.transcript)
            return
        audio = np.concatenate(self._utterance) if self._utterance else np.zeros(0, dtype=np.int16)
        self._utterance = []
        self.recognize(audio)

    def recognized(self, text: str) -> None:
        """The recogniser's text for the utterance it was given."""
        if not self.stopped:
            self._result(text)

    def _end_capture(self) -> None:
        if self.vad.speaking:
            self.vad.reset()
            self._emit(ASR_SPEECH_CAPTURED, {})
            self._utterance_ended()

    def _result(self, text: str) -> None:
        self._emit(ASR_RESULT, {"text": text, "confidence": 1.0 if text else 0.0})
        if self.single_utterance:
            self.stop()
