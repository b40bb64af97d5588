"""Ultravox as the connector speaks it (`Ultravox.createWebSocketAPIClient`).

Each payload is the whole Ultravox data message (its `type` included: `{type: "transcript", role, ...}`); the
frame's name is the type in PascalCase (`client_tool_invocation` -> `ClientToolInvocation`). Before the socket
joins the call, the connector invokes the client's `endpoint` (`CreateCall`, `CreateAgentCall`) and reports the
response, the created call, as `HTTPResponse`; `JoinCall` joins the given `joinUrl` with no request. The agent
speaks first unless the call's `firstSpeaker` (or `firstSpeakerSettings`) gives the user the first turn; then
its greeting waits for the first text message. Text messages and tool results are answered at once: an
Ultravox conversation is frozen only while a tool runs. What the scenario sends is the data message with or
without its `type` (`clientToolResult({invocationId, result})` -> `ClientToolResult`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np

from voxsim.media.graph import Frame as Pcm
from voxsim.voice_ai.dialect import ClientInput, Dialect, Frame, pascal, words
from voxsim.voice_ai.wire import Message, Wire, json_object, typed_message

__all__ = ["UltravoxWebSocketAPI", "UltravoxWire"]

DEFAULT_MODEL = "fixie-ai/ultravox"
DEFAULT_VOICE = "Mark"
CREATE_CALL, CREATE_AGENT_CALL, JOIN_CALL = "CreateCall", "CreateAgentCall", "JoinCall"
SAMPLE_RATE = 16000  # what Voximplant's connector needs the call's serverWebSocket medium to use, both ways
_NAMESPACE = uuid.UUID("5f0e3c1a-7d1b-4c4e-9a57-766f7873696d")  # voxsim's: ids are uuids, the same each run


class UltravoxWebSocketAPI(Dialect):
    vendor = "ultravox"
    label = "Ultravox"
    greets_on = "connect"
    explicit_response = False
    audio_rate = SAMPLE_RATE
    tool_timeout = 20.0

    def __init__(self, parameters: Mapping[str, Any]) -> None:
        super().__init__(parameters)
        self.endpoint = str(parameters.get("endpoint") or CREATE_CALL)
        body = parameters.get("body")
        self.body: dict[str, Any] = dict(body) if isinstance(body, Mapping) else {}
        path = parameters.get("pathParameters")
        self.agent_id = str(path.get("agent_id") or path.get("agentId") or "") if isinstance(path, Mapping) else ""
        self.call_id = self._uuid("call")
        if _user_speaks_first(self.body):
            self.greets_on = "input"
        self._ordinal = 0
        self._state = "idle"

    def _uuid(self, prefix: str) -> str:
        return str(uuid.uuid5(_NAMESPACE, self.ids(prefix)))

    def _message(self, wire_type: str, **body: Any) -> Frame:
        return pascal(wire_type), {"type": wire_type, **body}

    def _set_state(self, state: str) -> list[Frame]:
        if state == self._state:
            return []
        self._state = state
        return [self._message("state", state=state)]

    def _next_ordinal(self) -> int:
        ordinal, self._ordinal = self._ordinal, self._ordinal + 1
        return ordinal

    def hints(self) -> dict[str, str]:
        return {"model": str(self.body.get("model") or DEFAULT_MODEL), "agent_id": self.agent_id,
                "prompt": str(self.body.get("systemPrompt") or "")}

    # ------------------------------------------------------------ the connector's frames

    def opened(self) -> list[Frame]:
        frames = [] if self.endpoint == JOIN_CALL else [("HTTPResponse", self._created_call())]
        return frames + [self._message("call_started", callId=self.call_id)] + self._set_state("listening")

    def _created_call(self) -> dict[str, Any]:
        """The Ultravox call as the create-call request answers it (the fields a scenario reads)."""
        medium = self.body.get("medium") or {"serverWebSocket": {"inputSampleRate": SAMPLE_RATE,
                                                                 "outputSampleRate": SAMPLE_RATE}}
        created = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        first = "FIRST_SPEAKER_USER" if self.greets_on == "input" else "FIRST_SPEAKER_AGENT"
        call: dict[str, Any] = {
            "callId": self.call_id, "clientVersion": None, "created": created, "joined": None, "ended": None,
            "endReason": None, "firstSpeaker": first,
            "joinUrl": f"wss://voice.ultravox.ai/calls/{self.call_id}/server_web_socket",
            "model": str(self.body.get("model") or DEFAULT_MODEL),
            "voice": str(self.body.get("voice") or DEFAULT_VOICE),
            "systemPrompt": str(self.body.get("systemPrompt") or ""), "temperature": self.body.get("temperature", 0),
            "maxDuration": str(self.body.get("maxDuration") or "3600s"), "medium": medium,
            "metadata": self.body.get("metadata") or {},
        }
        if self.endpoint == CREATE_AGENT_CALL:
            call["agentId"] = self.agent_id
        return call

    def say(self, text: str, duration_ms: int) -> tuple[list[Frame], list[Frame]]:
        ordinal = self._next_ordinal()
        where = {"role": "agent", "medium": "voice", "ordinal": ordinal}
        parts = words(text)
        before = self._set_state("speaking")
        if parts:  # the first message has the first word as its text; the others add deltas; the last is whole
            before.append(self._message("transcript", text=parts[0], final=False, **where))
            before += [self._message("transcript", text="", delta=d, final=False, **where) for d in parts[1:]]
        after = [self._message("transcript", text=text, final=True, **where)] + self._set_state("listening")
        return before, after

    def caller_started(self, agent_speaking: bool) -> list[Frame]:
        # Ultravox hears the barge-in itself and tells the client to drop the audio it has not played yet.
        return [self._message("playback_clear_buffer")] if agent_speaking else []

    def caller_said(self, text: str) -> list[Frame]:
        self._state = "listening"
        return [self._message("transcript", role="user", medium="voice", text=text, final=True,
                              ordinal=self._next_ordinal())] + self._set_state("thinking")

    def new_call_id(self) -> str:
        return self._uuid("invocation")

    def tool_call(self, call_id: str, name: str, args: Mapping[str, Any]) -> list[Frame]:
        return self._set_state("thinking") + [self._message("client_tool_invocation", toolName=name,
                                                            invocationId=call_id, parameters=dict(args))]

    def error(self, code: str, message: str) -> list[Frame]:
        return [("WebSocketError", {"code": code, "message": message})]

    # ------------------------------------------------------------ the scenario's frames

    def client(self, name: str, payload: Any) -> ClientInput:
        body = payload if isinstance(payload, dict) else {}
        if name in ("InputTextMessage", "UserTextMessage"):
            return self._text_message(name, body)
        if name in ("ClientToolResult", "DataConnectionToolResult"):
            return self._tool_result(name, body)
        if name == "ForcedAgentMessage":
            content = str(body.get("content") or "")
            if not content:
                return ClientInput(warning="forcedAgentMessage without content: the agent says nothing")
            return ClientInput("say", text=content)
        if name == "HangUp":
            return ClientInput("hangup", text=str(body.get("message") or ""))
        if name == "SetOutputMedium":
            medium = body.get("medium")
            if medium == "text":
                return ClientInput(warning="setOutputMedium({medium: 'text'}) is not emulated by voxsim: the agent "
                                           "goes on speaking")
            return ClientInput()
        if name == "Ping":
            return ClientInput(replies=[self._message("pong", timestamp=body.get("timestamp"))])
        return ClientInput(warning=f"{name} is not an Ultravox data message voxsim knows; the agent ignores it")

    def _text_message(self, name: str, body: dict[str, Any]) -> ClientInput:
        text = body.get("text")
        if not isinstance(text, str) or not text:
            method = name[:1].lower() + name[1:]
            return ClientInput(warning=f"{method} without a text (the data message is {{type, text}}): ignored")
        return ClientInput("text", text=text)

    def _tool_result(self, name: str, body: dict[str, Any]) -> ClientInput:
        invocation = str(body.get("invocationId") or "")
        result = body.get("result")
        error_type = str(body.get("errorType") or "")
        text = result if isinstance(result, str) else json.dumps(result) if result is not None else ""
        got = ClientInput("tool_result", call_id=invocation, result=text or str(body.get("errorMessage") or ""),
                          is_error=error_type not in ("", "undefined"))
        if not invocation:
            got.warning = f"{name[:1].lower() + name[1:]} without an invocationId: no tool call can take it"
        got.end_call = body.get("responseType") == "hang-up"  # the agent ends the call after its reaction
        return got


def _user_speaks_first(body: Mapping[str, Any]) -> bool:
    settings = body.get("firstSpeakerSettings")
    if isinstance(settings, Mapping) and "user" in settings:
        return True
    return body.get("firstSpeaker") == "FIRST_SPEAKER_USER"


# ---------------------------------------------------------------- Ultravox's own wire (passthrough, serve)

class UltravoxWire(Wire):
    """An Ultravox call's `serverWebSocket`: binary messages are raw s16le PCM at 16 kHz both ways (the sample
    rates Voximplant's connector needs the call's medium to have), text messages are the data messages, JSON
    with a `type`. The configured endpoint is the WebSocket the connector joins (a call's `joinUrl`): voxsim
    makes no create-call request, so its `HTTPResponse` is only `{joinUrl}`; the client's `authorizations` go
    as headers all the same (a mock of yours can check them)."""

    vendor = "ultravox"
    input_rate = SAMPLE_RATE
    output_rate = SAMPLE_RATE

    def connect(self, endpoint: str) -> tuple[str, dict[str, str]]:
        given = self.parameters.get("authorizations")
        headers = {str(k): str(v) for k, v in given.items()} if isinstance(given, Mapping) else {}
        return endpoint, headers

    def reported(self, url: str) -> list[Frame]:
        if str(self.parameters.get("endpoint") or CREATE_CALL) == JOIN_CALL:
            return []  # joining a call makes no request
        return [("HTTPResponse", {"joinUrl": url})]

    def client_frame(self, name: str, payload: Any) -> list[Message]:
        return [typed_message(name, payload)]

    def caller_audio(self, pcm: Pcm) -> list[Message]:
        return [np.asarray(pcm, dtype="<i2").tobytes()]

    def server_message(self, message: Message) -> tuple[list[Frame], Pcm | None, list[Message]]:
        if isinstance(message, bytes):
            return [], _pcm(message), []
        data = json_object(message)
        if data is None:
            return [], None, []
        wire_type = data.get("type")
        return [(pascal(wire_type) if isinstance(wire_type, str) and wire_type else "Unknown", data)], None, []

    def serve_frame(self, frame: Frame) -> list[Message]:
        payload = frame[1]
        if not isinstance(payload.get("type"), str):  # the connector's own frames (HTTPResponse, errors)
            return []
        return [json.dumps(payload)]

    def serve_audio(self, pcm: Pcm) -> list[Message]:
        return [np.asarray(pcm, dtype="<i2").tobytes()]

    def client_message(self, message: Message) -> tuple[Frame | None, Pcm | None]:
        if isinstance(message, bytes):
            return None, _pcm(message)
        data = json_object(message)
        wire_type = data.get("type") if data is not None else None
        if data is None or not isinstance(wire_type, str) or not wire_type:
            return None, None
        return (pascal(wire_type), data), None


def _pcm(raw: bytes) -> Pcm:
    return np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<i2").astype(np.int16)
