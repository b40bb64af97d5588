"""ElevenLabs Agents as the connector speaks it (`ElevenLabs.createAgentsClient`, and the older
`ElevenLabs.createConversationalAIClient`).

An ElevenLabs server message is `{type, <type>_event: {...}}`; the frame's name is the type in PascalCase and
its payload the inner object (`user_transcript` -> `UserTranscript {user_transcript}`; a `client_tool_call`'s
body, `{tool_name, tool_call_id, parameters}`), which is what scenarios read. Before the socket opens, the
connector asks ElevenLabs for the agent's signed URL and reports the answer as `HTTPResponse`. The
conversation starts when the scenario sends `conversationInitiationClientData` (the guides send it at once:
sent later, ElevenLabs has already started without its overrides and dynamic variables) or, without one,
shortly after connect: `ConversationInitiationMetadata`, then the agent's first message. What the scenario sends
is the client message with or without its `type` (`clientToolResult({tool_call_id, result, is_error})` ->
`ClientToolResult`); user messages and tool results are answered at once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from voxsim.media.graph import Frame as Pcm
from voxsim.voice_ai.dialect import ClientInput, Dialect, Frame, pascal
from voxsim.voice_ai.wire import Message, Wire, b64_pcm, json_object, pcm_b64, snake, typed_message

__all__ = ["ElevenLabsAgents", "ElevenLabsWire"]

AUDIO_FORMAT = "pcm_16000"  # what Voximplant needs the agent to be set to, both ways
_VARIABLE = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")


class ElevenLabsAgents(Dialect):
    vendor = "elevenlabs"
    label = "ElevenLabs"
    greets_on = "start"
    start_wait = 0.5
    explicit_response = False
    audio_rate = 16000
    tool_timeout = 20.0  # the default response timeout of an ElevenLabs client tool

    def __init__(self, parameters: Mapping[str, Any]) -> None:
        super().__init__(parameters)
        self.agent_id = str(parameters.get("agentId") or "")
        self.conversation_id = self.ids("conv_")
        self.include_conversation_id = bool(parameters.get("includeConversationId"))
        self.client_data: dict[str, Any] = {}
        self._started = False
        self._event_id = 0  # of the agent's audio events: an interruption names the last one
        self._last_response = ""

    def hints(self) -> dict[str, str]:
        agent = _dig(self.client_data, "conversation_config_override", "agent")
        prompt = _dig(agent, "prompt", "prompt") or _dig(agent, "first_message") or ""
        return {"agent_id": self.agent_id, "prompt": str(prompt)}

    # ------------------------------------------------------------ the connector's frames

    def opened(self) -> list[Frame]:
        url = (f"wss://api.elevenlabs.io/v1/convai/conversation?agent_id={self.agent_id}"
               f"&conversation_signature={self.ids('cvtkn_')}")
        response: dict[str, Any] = {"signed_url": url}
        if self.include_conversation_id:
            response["conversation_id"] = self.conversation_id
        return [("HTTPResponse", response)]

    def started(self) -> list[Frame]:
        self._started = True
        return [("ConversationInitiationMetadata", {
            "conversation_id": self.conversation_id, "agent_output_audio_format": AUDIO_FORMAT,
            "user_input_audio_format": AUDIO_FORMAT})]

    def line(self, text: str) -> str:
        """`{{name}}` is the initiation data's dynamic variable (or a system one); an unknown one stays."""
        given = self.client_data.get("dynamic_variables")
        variables = {"system__agent_id": self.agent_id, "system__conversation_id": self.conversation_id,
                     **(given if isinstance(given, Mapping) else {})}
        return _VARIABLE.sub(lambda m: str(variables[m.group(1)]) if m.group(1) in variables else m.group(0), text)

    def say(self, text: str, duration_ms: int) -> tuple[list[Frame], list[Frame]]:
        self._event_id += 1
        self._last_response = text
        return [("AgentResponse", {"agent_response": text})], []  # sent with the first audio chunk

    def caller_started(self, agent_speaking: bool) -> list[Frame]:
        frames: list[Frame] = [("VadScore", {"vad_score": 0.95})]
        if agent_speaking:
            frames.append(("Interruption", {"event_id": self._event_id}))
        return frames

    def caller_said(self, text: str) -> list[Frame]:
        return [("UserTranscript", {"user_transcript": text})]

    def new_call_id(self) -> str:
        return self.ids("toolu_")

    def tool_call(self, call_id: str, name: str, args: Mapping[str, Any]) -> list[Frame]:
        return [("ClientToolCall", {"tool_name": name, "tool_call_id": call_id, "parameters": dict(args)})]

    def error(self, code: str, message: str) -> list[Frame]:
        return [("WebSocketError", {"code": code, "message": message})]

    def hangup(self) -> list[Frame]:
        # The agent ends the conversation with its end_call system tool; the socket then closes with 1000.
        return [("AgentToolResponse", {"tool_name": "end_call", "tool_call_id": self.ids("toolu_"),
                                       "tool_type": "system", "is_error": False})]

    # ------------------------------------------------------------ the scenario's frames

    def client(self, name: str, payload: Any) -> ClientInput:
        body = payload if isinstance(payload, dict) else {}
        if name == "ConversationInitiationClientData":
            return self._initiation(body)
        if name == "ClientToolResult":
            return self._tool_result(body)
        if name == "UserMessage":
            text = body.get("text")
            if not isinstance(text, str) or not text:
                return ClientInput(warning="userMessage without a text (the message is {type, text}): ignored")
            return ClientInput("text", text=text)
        if name in ("ContextualUpdate", "Pong", "UserActivity", "Feedback"):
            return ClientInput()  # background information and keep-alives: nothing the agent answers
        return ClientInput(warning=f"{name} is not an ElevenLabs client message voxsim knows; the agent ignores it")

    def _initiation(self, body: dict[str, Any]) -> ClientInput:
        if self._started:
            return ClientInput(warning="conversationInitiationClientData came after the conversation started: "
                                       "ElevenLabs takes it only as the first message (send it right after the "
                                       "client is created); its overrides and dynamic variables are not applied")
        self.client_data = body
        return ClientInput("start")

    def _tool_result(self, body: dict[str, Any]) -> ClientInput:
        result = body.get("result")
        text = result if isinstance(result, str) else json.dumps(result) if result is not None else ""
        got = ClientInput("tool_result", call_id=str(body.get("tool_call_id") or ""), result=text,
                          is_error=bool(body.get("is_error")))
        if "is_error" not in body:
            got.warning = ("a clientToolResult without is_error: ElevenLabs expects {tool_call_id, result, "
                           "is_error} and may close the socket (1008) on such a result")
        return got


def _dig(value: Any, *keys: str) -> Any:
    for key in keys:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


# ---------------------------------------------------------------- ElevenLabs' own wire (passthrough, serve)

BODIES = {
    "conversation_initiation_metadata": "conversation_initiation_metadata_event",
    "user_transcript": "user_transcription_event", "agent_response": "agent_response_event",
    "agent_response_correction": "agent_response_correction_event",
    "internal_tentative_agent_response": "tentative_agent_response_internal_event",
    "interruption": "interruption_event", "ping": "ping_event", "audio": "audio_event",
    "client_tool_call": "client_tool_call", "vad_score": "vad_score_event",
    "agent_tool_response": "agent_tool_response",
}
"""A server message's type -> the member its body is under (`{type, <member>: {...}}`)."""


class ElevenLabsWire(Wire):
    """The Agents WebSocket (`/v1/convai/conversation?agent_id=...`): JSON messages; a server message is
    `{type, <type>_event: {...}}` (the frame's payload is the inner object), the agent's audio is `audio` events
    with `audio_base_64` PCM16 at 16 kHz, and the caller's is `{user_audio_chunk}` at 16 kHz. The connector
    answers `ping` with `pong` itself (the scenario still sees `Ping`). voxsim asks for no signed URL: the
    configured endpoint gets the client's `agentId` as `agent_id` and its `xiApiKey` as the `xi-api-key`
    header, and `HTTPResponse` reports `{signed_url}` as the URL connected to."""

    vendor = "elevenlabs"
    input_rate = 16000
    output_rate = 16000

    def __init__(self, parameters: Mapping[str, Any]) -> None:
        super().__init__(parameters)
        self._event_id = 0  # of the agent's responses: its audio events carry it, as an interruption names it

    def connect(self, endpoint: str) -> tuple[str, dict[str, str]]:
        agent_id = str(self.parameters.get("agentId") or "")
        url = endpoint
        if agent_id and "agent_id=" not in endpoint:
            url = f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode({'agent_id': agent_id})}"
        key = self.parameters.get("xiApiKey")
        return url, ({"xi-api-key": str(key)} if key else {})

    def reported(self, url: str) -> list[Frame]:
        return [("HTTPResponse", {"signed_url": url})]

    def client_frame(self, name: str, payload: Any) -> list[Message]:
        return [typed_message(name, payload)]

    def caller_audio(self, pcm: Pcm) -> list[Message]:
        return [json.dumps({"user_audio_chunk": pcm_b64(pcm)})]

    def server_message(self, message: Message) -> tuple[list[Frame], Pcm | None, list[Message]]:
        data = json_object(message)
        wire_type = data.get("type") if data is not None else None
        if data is None or not isinstance(wire_type, str) or not wire_type:
            return [], None, []
        body = data.get(BODIES.get(wire_type, f"{wire_type}_event"))
        if wire_type == "agent_tool_response" and not isinstance(body, dict):
            body = data.get("agent_tool_response_event")
        if not isinstance(body, dict):
            body = {k: v for k, v in data.items() if k != "type"}
        if wire_type == "audio":  # the socket's media stream, never an event
            return [], b64_pcm(body.get("audio_base_64")), []
        answers: list[Message] = []
        if wire_type == "ping":
            answers.append(json.dumps({"type": "pong", "event_id": body.get("event_id")}))
        return [(pascal(wire_type), body)], None, answers

    @classmethod
    def serve_parameters(cls, query: Mapping[str, str], headers: Mapping[str, str]) -> dict[str, Any]:
        params: dict[str, Any] = dict(query)
        if "agent_id" in query:
            params["agentId"] = query["agent_id"]
        if headers.get("xi-api-key"):
            params["xiApiKey"] = headers["xi-api-key"]
        return params

    def serve_frame(self, frame: Frame) -> list[Message]:
        name, payload = frame
        if name in ("ConnectorInformation", "HTTPResponse", "WebSocketError"):  # the connector's, not ElevenLabs'
            return []
        if name == "AgentResponse":
            self._event_id += 1
        wire_type = snake(name)
        return [json.dumps({"type": wire_type, BODIES.get(wire_type, f"{wire_type}_event"): payload})]

    def serve_audio(self, pcm: Pcm) -> list[Message]:
        return [json.dumps({"type": "audio", "audio_event": {"audio_base_64": pcm_b64(pcm),
                                                             "event_id": self._event_id}})]

    def client_message(self, message: Message) -> tuple[Frame | None, Pcm | None]:
        data = json_object(message)
        if data is None:
            return None, None
        if "user_audio_chunk" in data:
            return None, b64_pcm(data["user_audio_chunk"])
        wire_type = data.get("type")
        if not isinstance(wire_type, str) or not wire_type:
            return None, None
        return (pascal(wire_type), data), None
