"""Scripted callers: a simulated caller that holds a conversation from a script, and the transcript it makes.

    name: booking
    steps:
      - wait_for_agent: true        # until the agent has spoken and gone quiet (or {timeout: 20})
      - say: "I would like a table for two"
      - wait_for_agent: true
      - barge_in: {after_ms: 500, say: "stop, wait"}   # once the agent speaks, talk over it after 500 ms
      - press: "1"                  # keys (RFC 2833)
      - wait: 2                     # seconds of the call's audio
      - hangup: true

The caller speaks with voxsim's speech (its text travels with the audio, so an ASR or a scripted agent knows
exactly what was said) and listens to what the call sends it with an energy voice-activity detector, on the
call's own audio timeline (`CallAudio`, 20 ms a tick). Times in the transcript are milliseconds on that
timeline, so they are the same whatever the media clock's speed.

The transcript: `turns` (who said what, from when to when; the agent's words come from its voice-AI connector
when there is one, paired in order with the agent's speech), `latency_ms` (from the end of each caller
utterance to the agent's next speech: every sample, p50 and p95), `tool_calls` (name, arguments, result),
`barge_ins`, and `done`/`error`. Audio the call plays before the caller's first step counts as the agent's.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voxsim.media.asr_unit import VoiceActivity
from voxsim.media.call_audio import CallAudio
from voxsim.runtime import Runtime
from voxsim.voice_ai.script import read_document

__all__ = ["CallerScript", "CallerScriptError", "CallerStep", "Conversations", "ScriptedCaller", "Transcript",
           "load_caller_script", "parse_caller_script"]

log = logging.getLogger(__name__)

STEPS = ("say", "wait_for_agent", "barge_in", "press", "wait", "hangup")
POLL = 0.005  # seconds between looks at the call's audio
AGENT_TIMEOUT = 30.0  # wall-clock seconds a wait_for_agent waits by default


class CallerScriptError(ValueError):
    """A caller script that cannot be used; the message names its source and the step."""


@dataclass(frozen=True)
class CallerStep:
    kind: str  # one of STEPS
    text: str = ""
    digits: str = ""
    seconds: float = 0.0
    after_ms: int = 0
    timeout: float = AGENT_TIMEOUT


@dataclass(frozen=True)
class CallerScript:
    name: str
    steps: tuple[CallerStep, ...]


def _step(raw: object, source: str, where: str) -> CallerStep:
    if not isinstance(raw, Mapping) or len([k for k in STEPS if k in raw]) != 1:
        raise CallerScriptError(f"{source}: {where}: a step is a mapping with one of {', '.join(STEPS)}")
    kind = next(k for k in STEPS if k in raw)
    value = raw[kind]
    if kind == "say":
        return CallerStep("say", text=str(value))
    if kind == "press":
        digits = str(value)
        if not digits or any(d not in "0123456789*#ABCD" for d in digits.upper()):
            raise CallerScriptError(f"{source}: {where}: press takes digits (0-9, *, #, A-D), not {digits!r}")
        return CallerStep("press", digits=digits.upper())
    if kind == "wait":
        try:
            return CallerStep("wait", seconds=float(value))
        except (TypeError, ValueError):
            raise CallerScriptError(f"{source}: {where}: wait is a number of seconds") from None
    if kind == "barge_in":
        body = value if isinstance(value, Mapping) else {"say": value}
        if not body.get("say"):
            raise CallerScriptError(f"{source}: {where}: barge_in needs {{say, after_ms}}")
        return CallerStep("barge_in", text=str(body["say"]), after_ms=int(body.get("after_ms", 300)),
                          timeout=float(body.get("timeout", AGENT_TIMEOUT)))
    if kind == "wait_for_agent":
        body = value if isinstance(value, Mapping) else {}
        return CallerStep("wait_for_agent", timeout=float(body.get("timeout", AGENT_TIMEOUT)))
    return CallerStep("hangup")


def parse_caller_script(raw: object, source: str = "<caller script>") -> CallerScript:
    if isinstance(raw, list):
        raw = {"steps": raw}
    if not isinstance(raw, Mapping) or not isinstance(raw.get("steps"), list):
        raise CallerScriptError(f"{source}: a caller script is a mapping with a list of steps")
    steps = tuple(_step(s, source, f"steps[{i}]") for i, s in enumerate(raw["steps"]))
    return CallerScript(str(raw.get("name") or Path(source).stem), steps)


def load_caller_script(path: Path) -> CallerScript:
    try:
        raw = read_document(path)
    except ValueError as exc:
        raise CallerScriptError(str(exc)) from None
    return parse_caller_script(raw, str(path))


def _percentile(values: list[int], fraction: float) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


@dataclass
class Transcript:
    """See the module docstring."""

    caller: list[dict[str, Any]] = field(default_factory=list)  # {text, start_ms, end_ms} / {digits, at_ms}
    agent_speech: list[list[int]] = field(default_factory=list)  # [start_ms, end_ms | -1 while speaking]
    agent_lines: list[str] = field(default_factory=list)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    barge_ins: list[dict[str, Any]] = field(default_factory=list)
    done: bool = False
    error: str = ""

    def turns(self) -> list[dict[str, Any]]:
        agent = [{"who": "agent", "start_ms": s, "end_ms": None if e < 0 else e,
                  "text": self.agent_lines[i] if i < len(self.agent_lines) else None}
                 for i, (s, e) in enumerate(self.agent_speech)]
        caller = [{"who": "caller", **entry} for entry in self.caller]
        return sorted(agent + caller, key=lambda t: t.get("start_ms", t.get("at_ms", 0)))

    def latencies(self) -> list[int]:
        out = []
        for said in self.caller:
            if "end_ms" not in said:
                continue
            nxt = next((s for s, _ in self.agent_speech if s >= said["end_ms"]), None)
            if nxt is not None:
                out.append(nxt - said["end_ms"])
        return out

    def as_dict(self) -> dict[str, Any]:
        samples = self.latencies()
        return {"turns": self.turns(),
                "latency_ms": {"samples": samples, "p50": _percentile(samples, 0.5), "p95": _percentile(samples, 0.95)},
                "tool_calls": self.tool_calls, "barge_ins": self.barge_ins, "done": self.done, "error": self.error}


AgentLog = Callable[[], list[list[dict[str, Any]]]]
"""What the session's voice-AI connectors recorded (VoiceAI.transcripts for the session)."""


class ScriptedCaller:
    """Runs one caller script on a simulated call of `runtime` (see the module docstring)."""

    def __init__(self, runtime: Runtime, call_id: str, script: CallerScript, agent_log: AgentLog | None = None,
                 voice: str | None = None) -> None:
        self.runtime = runtime
        self.call_id = call_id
        self.script = script
        self.agent_log = agent_log
        self.voice = voice
        self.transcript = Transcript()
        self._vad = VoiceActivity(start_frames=2, hangover_frames=25)
        self._seen = 0  # frames of the call's `sent` looked at
        self._call_audio: CallAudio | None = None

    # ------------------------------------------------------------ listening

    def _audio(self) -> CallAudio | None:
        """The call's audio, looked up once it exists (the lookup walks the runtime's sessions; the caller polls)."""
        if self._call_audio is None:
            self._call_audio = self.runtime.call_audio(self.call_id)
        return self._call_audio

    def _listen(self) -> bool:
        """Takes in what the call sent since the last look; False once the call has no audio any more."""
        audio = self._audio()
        if audio is None:
            return False
        sent = audio.sent
        while self._seen < len(sent):
            event = self._vad.feed(sent[self._seen])
            at = self._seen * 20
            if event == VoiceActivity.START:
                self.transcript.agent_speech.append([at - 20 * (self._vad.start_frames - 1), -1])
            elif event == VoiceActivity.END and self.transcript.agent_speech:
                self.transcript.agent_speech[-1][1] = at - 20 * (self._vad.hangover_frames - 1)
            self._seen += 1
        if audio.closed and self._agent_speaking:  # the call ended while the agent spoke: that ends its turn
            self.transcript.agent_speech[-1][1] = self._seen * 20
        return not audio.closed

    @property
    def _agent_speaking(self) -> bool:
        return bool(self.transcript.agent_speech) and self.transcript.agent_speech[-1][1] < 0

    def _now_ms(self) -> int:
        audio = self._audio()
        return audio.ticks * 20 if audio is not None else self._seen * 20

    async def _until(self, check: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            live = self._listen()
            if check():
                return True
            if not live or time.monotonic() >= deadline:
                return False
            await asyncio.sleep(POLL)

    # ------------------------------------------------------------ the steps

    async def run(self) -> Transcript:
        try:
            for index, step in enumerate(self.script.steps):
                if not await self._do(step):
                    if not self.transcript.error:
                        self.transcript.error = f"steps[{index}] ({step.kind}): the call ended"
                    break
        except Exception as exc:  # the transcript says what broke; the emulator goes on
            log.exception("caller script %s on call %s failed", self.script.name, self.call_id)
            self.transcript.error = f"the caller script failed: {exc}"
        finally:
            self._listen()
            self._collect_agent_log()
            self.transcript.done = True
        return self.transcript

    async def _do(self, step: CallerStep) -> bool:
        if step.kind == "say":
            return await self._say(step.text)
        if step.kind == "wait_for_agent":
            return await self._wait_for_agent(step.timeout)
        if step.kind == "barge_in":
            return await self._barge_in(step)
        if step.kind == "press":
            return self._press(step.digits)
        if step.kind == "wait":
            end = self._now_ms() + int(step.seconds * 1000)
            return await self._until(lambda: self._now_ms() >= end, max(5.0, step.seconds * 4))
        caller = self.runtime.virtual_caller(self.call_id)
        if caller is not None:
            caller.hangup()
        self.transcript.caller.append({"hangup": True, "at_ms": self._now_ms()})
        return True

    async def _say(self, text: str) -> bool:
        if not await self.runtime.caller_says(self.call_id, text, self.voice):
            return False
        audio = self._audio()
        if audio is None or not audio.said:
            return False
        prompt = audio.said[-1]
        end = prompt.end or 0.0
        self.transcript.caller.append({"text": text, "start_ms": int(prompt.start), "end_ms": int(end)})
        return await self._until(lambda: self._now_ms() >= end, 60.0)

    async def _wait_for_agent(self, timeout: float) -> bool:
        """Until the agent has spoken since this step began (or was speaking) and gone quiet."""
        spoken = len(self.transcript.agent_speech) - (1 if self._agent_speaking else 0)
        ok = await self._until(lambda: len(self.transcript.agent_speech) > spoken and not self._agent_speaking,
                               timeout)
        if not ok and not self._audio_closed():
            self.transcript.error = self.transcript.error or f"the agent did not speak within {timeout:g} s"
        return ok or not self._audio_closed()

    def _audio_closed(self) -> bool:
        audio = self._audio()
        return audio is None or audio.closed

    async def _barge_in(self, step: CallerStep) -> bool:
        if not await self._until(lambda: self._agent_speaking, step.timeout):
            self.transcript.error = self.transcript.error or "barge_in: the agent never spoke"
            return not self._audio_closed()
        start = self.transcript.agent_speech[-1][0]
        await self._until(lambda: self._now_ms() >= start + step.after_ms, 30.0)
        self.transcript.barge_ins.append({"at_ms": self._now_ms(), "text": step.text})
        return await self._say(step.text)

    def _press(self, digits: str) -> bool:
        caller = self.runtime.virtual_caller(self.call_id)
        if caller is None or self._audio_closed():
            return False
        caller.dtmf(digits)
        self.transcript.caller.append({"digits": digits, "at_ms": self._now_ms()})
        return True

    def _collect_agent_log(self) -> None:
        if self.agent_log is None:
            return
        for connector in self.agent_log():
            for entry in connector:
                if entry.get("who") == "agent" and entry.get("text") and "error" not in entry:
                    self.transcript.agent_lines.append(str(entry["text"]))
                elif entry.get("tool"):
                    self.transcript.tool_calls.append({"name": entry["tool"], "arguments": entry.get("arguments"),
                                                       "call_id": entry.get("call_id"), "result": None})
                elif entry.get("tool_result"):
                    call = next((c for c in self.transcript.tool_calls if c["call_id"] == entry.get("call_id")), None)
                    if call is not None:
                        call["result"] = entry.get("text")


class Conversations:
    """The scripted callers of an emulator, by call id (the latest `keep`), for `/_voxsim/calls/<id>/transcript`."""

    def __init__(self, runtime: Runtime, agent_log: Callable[[int], list[list[dict[str, Any]]]] | None = None,
                 keep: int = 200) -> None:
        self.runtime = runtime
        self.agent_log = agent_log
        self.keep = keep
        self._callers: dict[str, ScriptedCaller] = {}
        self._tasks: dict[str, asyncio.Task[Transcript]] = {}

    def start(self, call_id: str, session_id: int, script: CallerScript) -> asyncio.Task[Transcript]:
        agent_log = self.agent_log
        caller = ScriptedCaller(self.runtime, call_id, script,
                                (lambda: agent_log(session_id)) if agent_log is not None else None)
        self._callers[call_id] = caller
        task = asyncio.get_running_loop().create_task(caller.run())
        self._tasks[call_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(call_id, None))
        while len(self._callers) > self.keep:
            self._callers.pop(next(iter(self._callers)))
        return task

    def transcript(self, call_id: str) -> Transcript | None:
        caller = self._callers.get(call_id)
        return caller.transcript if caller is not None else None

    async def stop(self) -> None:
        for task in list(self._tasks.values()):
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
