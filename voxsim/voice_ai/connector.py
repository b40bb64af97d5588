"""One scripted agent serving one scenario client over its local socket.

The connector sends `ConnectorInformation` and the dialect's opening frames, then reacts to three things: the
scenario's frames (session updates, injected text, tool results, response requests), what the caller says
(the `ConnectorUnit`'s ear), and time passing with nobody speaking (silence turns). What the agent then does
runs in order on one performer task: a line is its transcript events, its audio as the socket's media stream
(PCM16 at the dialect's rate, rendered by the emulator's speech renderer), then the closing events; a tool
call waits for the scenario's result (and, where the vendor needs one, a response request); hang-up waits for
the agent's audio to finish playing, then closes the socket with 1000.

Events are sent as soon as the agent "generates" them (all of a line at once, as a fast model does); the audio
plays in real time in the call, and a caller who speaks while it plays is a barge-in: the dialect's
interruption event goes out, and a scenario that does not clear the media buffer is told so in its log.
`transcript` keeps who said what, when (seconds since the connector opened).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from voxsim.media.graph import Frame as PcmFrame
from voxsim.runtime.local_socket import ConnectorLink
from voxsim.voice_ai.agent import ScriptedAgent
from voxsim.voice_ai.dialect import ClientInput, Dialect, Frame, frame_text
from voxsim.voice_ai.media import AgentAudio
from voxsim.voice_ai.script import Action

__all__ = ["CONNECTOR_VERSION", "ScriptedConnector", "Speak"]

log = logging.getLogger(__name__)

CONNECTOR_VERSION = "0.44.0"  # what the platform's connector reports; voxsim reports its own build of it
TICK = 0.2  # seconds between looks at the silence clock
HANGUP_WAIT = 60.0  # seconds a hang-up waits for the agent's audio to finish
BARGE_IN_GRACE = 0.5  # seconds a scenario has to clear the media buffer after an interruption

Speak = Callable[[str], Awaitable[PcmFrame]]
"""Renders a line of the agent as 8 kHz PCM16."""


class ScriptedConnector:
    def __init__(self, link: ConnectorLink, dialect: Dialect, choose: Callable[[Dialect], ScriptedAgent], speak: Speak,
                 tool_timeout: float | None = None) -> None:
        self.link = link
        self.dialect = dialect
        self._choose = choose
        self._agent: ScriptedAgent | None = None
        self.speak = speak
        self.tool_timeout = tool_timeout if tool_timeout is not None else dialect.tool_timeout
        self.transcript: list[dict[str, Any]] = []
        self._started = time.monotonic()
        self._actions: asyncio.Queue[list[Action]] = asyncio.Queue()
        self._busy = False
        self._greeted = False
        self._conversation_started = False  # greets_on "start": the dialect's started() frames went out
        self._pending_text: str | None = None
        self._tool: tuple[str, asyncio.Future[ClientInput]] | None = None
        self._awaiting_response = False  # a tool result came; the vendor wants a response request next
        self._responded = asyncio.Event()
        self._quiet_since = time.monotonic()
        self._caller_speaking = False
        self._audio = AgentAudio(self._send_media, dialect.audio_rate)  # the agent's lines as the socket's media
        self._unplayed = False  # audio was sent that the unit may not have taken in yet

    # ------------------------------------------------------------ plumbing

    @property
    def agent(self) -> ScriptedAgent:
        """The script is chosen when the agent first acts, so that what the scenario configured first (OpenAI's
        sessionUpdate instructions, ...) can select it."""
        if self._agent is None:
            self._agent = self._choose(self.dialect)
        return self._agent

    def note(self, text: str) -> None:
        name = self._agent.script.name if self._agent is not None else "no script yet"
        self.link.write_log(f"[voxsim] {self.dialect.label} agent ({name}): {text}")

    def send(self, frames: list[Frame]) -> None:
        for frame in frames:
            if not self.link.server.closed:
                self.link.server.send_text(frame_text(frame))

    def _record(self, who: str, text: str, **extra: Any) -> None:
        self.transcript.append({"at": round(time.monotonic() - self._started, 3), "who": who, "text": text, **extra})

    # ------------------------------------------------------------ the run

    async def run(self) -> None:
        self.send([("ConnectorInformation", {"applicationVersion": CONNECTOR_VERSION, "id": self.dialect.ids("conn-"),
                                             "endpoint": "/" + self.link.vendor})])
        self.send(self.dialect.opened())
        self.link.unit.on_caller = self._caller
        loop = asyncio.get_running_loop()
        if self.dialect.greets_on == "connect":
            self._greet()
        elif self.dialect.greets_on == "start":
            loop.call_later(self.dialect.start_wait, self._start_conversation)
        tasks = [loop.create_task(self._perform()), loop.create_task(self._watch_silence())]
        try:
            while (text := await self.link.server.receive()) is not None:
                self._client_frame(text)
        finally:
            self.link.unit.on_caller = None
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    def _greet(self) -> None:
        self._greeted = True
        self._enqueue(self.agent.start())

    def _start_conversation(self) -> None:
        """greets_on "start": the scenario's start frame came, or the connector stopped waiting for it."""
        if self._conversation_started or self.link.server.closed:
            return
        self._conversation_started = True
        self.send(self.dialect.started())
        if not self._greeted:
            self._greet()

    def _enqueue(self, actions: list[Action]) -> None:
        if actions:
            self._actions.put_nowait(actions)

    # ------------------------------------------------------------ what the scenario sends

    def _client_frame(self, text: str) -> None:
        if text.startswith('{"event"'):  # the call's audio, as media messages: the ear hears the call already
            return
        try:
            message = json.loads(text)
        except ValueError:
            self.note(f"the scenario sent a frame that is not JSON: {text[:80]!r}")
            return
        if not isinstance(message, dict) or "customEvent" not in message:
            return
        got = self.dialect.client(str(message["customEvent"]), message.get("payload"))
        if got.warning:
            self.note(got.warning)
        self.send(got.replies)
        self._act_on(got)

    def _act_on(self, got: ClientInput) -> None:
        if got.kind == "tool_result":
            self._tool_result(got)
        elif got.kind == "respond":
            self._respond_requested()
        elif got.kind == "start":
            self._start_conversation()
        elif got.kind == "say":
            self._enqueue([Action("say", text=got.text)])
        elif got.kind == "hangup":
            self._enqueue(([Action("say", text=got.text)] if got.text else []) + [Action("hangup")])
        elif got.kind == "text":
            self._record("user", got.text, source="text")
            if not self._greeted and self.dialect.greets_on == "input":
                self._greet()
            elif self.dialect.explicit_response:
                self._pending_text = got.text
            else:
                self._enqueue(self.agent.injected(got.text))

    def _tool_result(self, got: ClientInput) -> None:
        if self._tool is None:
            self.note(f"a tool result for {got.call_id or '?'} came, but no tool call waits for one")
            return
        call_id, future = self._tool
        if got.call_id != call_id:
            self.note(f"a tool result names {got.call_id or 'no call'}, but the agent waits for {call_id}")
            return
        if not future.done():
            future.set_result(got)
            if self.dialect.explicit_response:
                self._awaiting_response = True
                self._responded.clear()

    def _respond_requested(self) -> None:
        if self._awaiting_response:
            self._awaiting_response = False
            self._responded.set()
        elif not self._greeted and self.dialect.greets_on == "respond":
            self._greet()
        elif self._pending_text is not None:
            text, self._pending_text = self._pending_text, None
            self._enqueue(self.agent.injected(text))

    # ------------------------------------------------------------ what the caller says (from the media tick)

    def _caller(self, name: str, payload: dict[str, Any]) -> None:
        if name == "ASR.CaptureStarted":
            self._caller_speaking = True
            speaking = self.link.unit.playing
            self.send(self.dialect.caller_started(speaking))
            if speaking:
                self._record("user", "", barge_in=True)
                asyncio.get_running_loop().call_later(BARGE_IN_GRACE, self._check_cleared)
        elif name == "ASR.Result":
            self._caller_speaking = False
            self._quiet_since = time.monotonic()
            text = str(payload.get("text") or "")
            self._record("user", text, source="speech")
            self.send(self.dialect.caller_said(text))
            self._greeted = True  # the caller spoke first: no greeting out of place later
            self._enqueue(self.agent.heard(text))

    def _check_cleared(self) -> None:
        if self.link.unit.playing and not self.link.server.closed:
            self.note("the caller spoke over the agent, and the scenario did not call clearMediaBuffer(): "
                      "the agent's audio goes on playing")

    async def _watch_silence(self) -> None:
        while True:
            await asyncio.sleep(TICK)
            now = time.monotonic()
            if self._busy or self.link.unit.playing or self._caller_speaking or not self._greeted:
                self._quiet_since = now
                continue
            self._enqueue(self.agent.quiet((now - self._quiet_since) * self.link.time_scale))

    # ------------------------------------------------------------ what the agent does

    async def _perform(self) -> None:
        while True:
            actions = await self._actions.get()
            self._busy = True
            try:
                for action in actions:
                    if not await self._do(action):
                        return
            except Exception:  # a broken action must not leave the scenario waiting for ever
                log.exception("the %s agent of session %s failed", self.dialect.vendor, self.link.session_id)
                self.note("the scripted agent failed (see voxsim's log); the connector closes")
                self.link.server.close(1011, "Internal error")
                return
            finally:
                self._busy = False
                self._quiet_since = time.monotonic()

    async def _do(self, action: Action) -> bool:
        """Carries out one action; False once the socket is closed."""
        if self.link.server.closed:
            return False
        if action.kind == "say":
            await self._say(self.agent.say_text(action))
        elif action.kind == "tool":
            await self._call_tool(action)
        elif action.kind == "hangup":
            await self._until_played()
            self.send(self.dialect.hangup())
            self._record("agent", "", hangup=True)
            self.link.server.close(1000, "Normal connection close")
            return False
        elif action.kind == "error":
            self.send(self.dialect.error(action.code, action.message))
            self._record("agent", action.message, error=action.code)
            if action.close is not None:
                self.link.server.close(action.close, action.message)
                return False
        return True

    async def _say(self, text: str) -> None:
        text = self.dialect.line(text)
        pcm = await self.speak(text)
        before, after = self.dialect.say(text, len(pcm) // 8)
        self.send(before)
        self._send_audio(pcm)
        self.send(after)
        self._record("agent", text)
        self.agent.spoke()

    def _send_audio(self, pcm: PcmFrame) -> None:
        self._unplayed = True
        self._audio.send(pcm)

    def _send_media(self, text: str) -> None:
        if not self.link.server.closed:
            self.link.server.send_text(text)

    async def _call_tool(self, action: Action) -> None:
        call_id = self.dialect.new_call_id()
        future: asyncio.Future[ClientInput] = asyncio.get_running_loop().create_future()
        self._tool = (call_id, future)
        self._record("agent", "", tool=action.tool, arguments=dict(action.args), call_id=call_id)
        self.send(self.dialect.tool_call(call_id, action.tool, action.args))
        timeout = action.timeout if action.timeout is not None else self.tool_timeout
        try:
            got = await asyncio.wait_for(future, timeout)
        except TimeoutError:
            self.note(f"the scenario did not answer tool call {action.tool} ({call_id}) in {timeout:g} s; "
                      f"the agent goes on without a result")
            return
        finally:
            self._tool = None
        self.agent.last_result = got.result
        self._record("user", got.result, tool_result=action.tool, call_id=call_id, is_error=got.is_error)
        if got.end_call:  # after what the turn still has to do
            self._enqueue([Action("hangup")])
        if self.dialect.explicit_response:
            await self._response_request(timeout)

    async def _response_request(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self._responded.wait(), timeout)
        except TimeoutError:
            self.note(f"a tool result came but no response request followed in {timeout:g} s (on "
                      f"{self.dialect.label} the output alone does not make the agent speak)")
        finally:
            self._awaiting_response = False

    async def _until_played(self) -> None:
        """Until the agent's audio has played: first until what was sent reached the unit (it travels through the
        socket), then until the unit's buffer ran dry."""
        unit, deadline = self.link.unit, time.monotonic() + HANGUP_WAIT
        arrival = time.monotonic() + 2.0
        while self._unplayed and not unit.playing and time.monotonic() < arrival and not self.link.server.closed:
            await asyncio.sleep(0.01)
        self._unplayed = False
        while unit.playing and time.monotonic() < deadline and not self.link.server.closed:
            await asyncio.sleep(0.02)
