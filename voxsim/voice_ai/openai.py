"""OpenAI Realtime as the connector speaks it: GA (`OpenAI.createRealtimeAPIClient`) and Beta
(`OpenAI.Beta.createRealtimeAPIClient`, parameter `beta`).

Each payload is the whole server event of the Realtime API (its `type` included); the frame's name is the type
in PascalCase (`response.output_audio_transcript.delta` -> `ResponseOutputAudioTranscriptDelta`). The agent's
audio is not an event: it plays as the socket's media stream. What the scenario sends is the client event
without its type (`sessionUpdate({session})` -> `SessionUpdate`). As on OpenAI, a function-call output does not
start a response by itself: the scenario follows it with `responseCreate({})`; a user text item waits for a
response request too, and the caller's speech (server VAD) is answered at once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from voxsim.media.graph import Frame as Pcm
from voxsim.voice_ai.dialect import ClientInput, Dialect, Frame, Ids, pascal, words
from voxsim.voice_ai.wire import Message, Wire, b64_pcm, json_object, pcm_b64

__all__ = ["CLIENT_TYPES", "OpenAIRealtime", "OpenAIWire", "event_name"]

GA_MODEL = "gpt-realtime"
BETA_MODEL = "gpt-4o-realtime-preview-2024-10-01"


class OpenAIRealtime(Dialect):
    vendor = "openai"
    label = "OpenAI"
    greets_on = "respond"
    explicit_response = True
    tool_timeout = 30.0

    def __init__(self, parameters: Mapping[str, Any]) -> None:
        super().__init__(parameters)
        self.beta = bool(parameters.get("beta"))
        self.model = str(parameters.get("model") or (BETA_MODEL if self.beta else GA_MODEL))
        self.session: dict[str, Any] = self._initial_session()
        self._previous_item: str | None = None
        self._user_item = ""
        self._audio_ms = 0  # where the caller's audio is, for audio_start_ms / audio_end_ms

    # ------------------------------------------------------------ shapes

    def _event(self, wire_type: str, **body: Any) -> Frame:
        return pascal(wire_type), {"type": wire_type, "event_id": self.ids("event_"), **body}

    def _initial_session(self) -> dict[str, Any]:
        session_id = self.ids("sess_")
        vad = {"type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 300, "silence_duration_ms": 500,
               "create_response": True, "interrupt_response": True}
        if self.beta:
            return {"id": session_id, "object": "realtime.session", "model": self.model,
                    "modalities": ["text", "audio"], "instructions": "", "voice": "alloy",
                    "input_audio_format": "pcm16", "output_audio_format": "pcm16", "turn_detection": vad,
                    "tools": [], "tool_choice": "auto"}
        return {"type": "realtime", "object": "realtime.session", "id": session_id, "model": self.model,
                "output_modalities": ["audio"], "instructions": "",
                "audio": {"input": {"format": {"type": "audio/pcm", "rate": 24000}, "turn_detection": vad},
                          "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "alloy"}},
                "tools": [], "tool_choice": "auto"}

    def hints(self) -> dict[str, str]:
        return {"model": self.model, "prompt": str(self.session.get("instructions") or "")}

    def _item(self, item_type: str, status: str, **body: Any) -> dict[str, Any]:
        return {"id": body.pop("id", None) or self.ids("item_"), "object": "realtime.item", "type": item_type,
                "status": status, **body}

    def _response(self, status: str, output: list[dict[str, Any]], response_id: str) -> dict[str, Any]:
        return {"object": "realtime.response", "id": response_id, "status": status, "status_details": None,
                "output": output, "usage": None}

    # ------------------------------------------------------------ the connector's frames

    def opened(self) -> list[Frame]:
        return [self._event("session.created", session=self.session)]

    def say(self, text: str, duration_ms: int) -> tuple[list[Frame], list[Frame]]:
        response_id, item_id = self.ids("resp_"), self.ids("item_")
        where = {"response_id": response_id, "item_id": item_id, "output_index": 0, "content_index": 0}
        audio_part = {"type": "audio", "transcript": ""}
        item = self._item("message", "in_progress", id=item_id, role="assistant", content=[])
        before = [self._event("response.created", response=self._response("in_progress", [], response_id)),
                  self._event("response.output_item.added", response_id=response_id, output_index=0, item=item),
                  self._event("response.content_part.added", part=audio_part, **where)]
        transcript_delta = "response.audio_transcript.delta" if self.beta else "response.output_audio_transcript.delta"
        before += [self._event(transcript_delta, delta=delta, **where) for delta in words(text)]
        done_part = {"type": "audio", "transcript": text}
        done_item = {**item, "status": "completed",
                     "content": [{"type": "audio" if self.beta else "output_audio", "transcript": text}]}
        after = [self._event("response.audio.done" if self.beta else "response.output_audio.done", **where),
                 self._event("response.audio_transcript.done" if self.beta
                             else "response.output_audio_transcript.done", transcript=text, **where),
                 self._event("response.content_part.done", part=done_part, **where),
                 self._event("response.output_item.done", response_id=response_id, output_index=0, item=done_item),
                 self._event("response.done", response=self._response("completed", [done_item], response_id))]
        self._previous_item = item_id
        return before, after

    def caller_started(self, agent_speaking: bool) -> list[Frame]:
        self._user_item = self.ids("item_")
        return [self._event("input_audio_buffer.speech_started", audio_start_ms=self._audio_ms,
                            item_id=self._user_item)]

    def caller_said(self, text: str) -> list[Frame]:
        item_id = self._user_item or self.ids("item_")
        self._user_item = ""
        self._audio_ms += 1000
        item = self._item("message", "completed", id=item_id, role="user",
                          content=[{"type": "input_audio", "transcript": None}])
        added = "conversation.item.created" if self.beta else "conversation.item.added"
        frames = [self._event("input_audio_buffer.speech_stopped", audio_end_ms=self._audio_ms, item_id=item_id),
                  self._event("input_audio_buffer.committed", previous_item_id=self._previous_item, item_id=item_id),
                  self._event(added, previous_item_id=self._previous_item, item=item),
                  self._event("conversation.item.input_audio_transcription.completed", item_id=item_id,
                              content_index=0, transcript=text)]
        self._previous_item = item_id
        return frames

    def tool_call(self, call_id: str, name: str, args: Mapping[str, Any]) -> list[Frame]:
        response_id, item_id = self.ids("resp_"), self.ids("item_")
        arguments = json.dumps(dict(args), separators=(",", ":"))
        item = self._item("function_call", "in_progress", id=item_id, call_id=call_id, name=name, arguments="")
        done_item = {**item, "status": "completed", "arguments": arguments}
        where = {"response_id": response_id, "item_id": item_id, "output_index": 0, "call_id": call_id}
        self._previous_item = item_id
        return [self._event("response.created", response=self._response("in_progress", [], response_id)),
                self._event("response.output_item.added", response_id=response_id, output_index=0, item=item),
                self._event("response.function_call_arguments.delta", delta=arguments, **where),
                self._event("response.function_call_arguments.done", name=name, arguments=arguments, **where),
                self._event("response.output_item.done", response_id=response_id, output_index=0, item=done_item),
                self._event("response.done", response=self._response("completed", [done_item], response_id))]

    def error(self, code: str, message: str) -> list[Frame]:
        return [self._event("error", error={"type": "invalid_request_error", "code": code, "message": message,
                                            "param": None, "event_id": None})]

    # ------------------------------------------------------------ the scenario's frames

    def client(self, name: str, payload: Any) -> ClientInput:
        body = payload if isinstance(payload, dict) else {}
        handler = {
            "SessionUpdate": self._session_update, "ConversationItemCreate": self._item_create,
            "ResponseCreate": lambda _: ClientInput("respond"), "ResponseCancel": lambda _: ClientInput("cancel"),
            "InputAudioBufferClear": lambda _: ClientInput(replies=[self._event("input_audio_buffer.cleared")]),
            "InputAudioBufferCommit": lambda _: ClientInput(),
            "ConversationItemDelete": lambda b: ClientInput(replies=[
                self._event("conversation.item.deleted", item_id=b.get("item_id"))]),
            "ConversationItemTruncate": lambda b: ClientInput(replies=[self._event(
                "conversation.item.truncated", item_id=b.get("item_id"), content_index=b.get("content_index", 0),
                audio_end_ms=b.get("audio_end_ms", 0))]),
            "ConversationItemRetrieve": lambda b: ClientInput(replies=[self._event(
                "conversation.item.retrieved", item=self._item("message", "completed", id=b.get("item_id")))]),
        }.get(name)
        if handler is None:
            return ClientInput(replies=self.error("unknown_event", f"voxsim's OpenAI agent does not know {name}"),
                               warning=f"{name} is not a Realtime client event voxsim knows")
        return handler(body)

    def _session_update(self, body: dict[str, Any]) -> ClientInput:
        session = body.get("session")
        if isinstance(session, dict):
            self.session = _merged(self.session, session)
        return ClientInput(replies=[self._event("session.updated", session=self.session)])

    def _item_create(self, body: dict[str, Any]) -> ClientInput:
        item = body.get("item")
        if not isinstance(item, dict):
            return ClientInput(replies=self.error("invalid_value", "conversation.item.create needs an item"))
        item = {"id": item.get("id") or self.ids("item_"), "object": "realtime.item", "status": "completed", **item}
        added = "conversation.item.created" if self.beta else "conversation.item.added"
        replies = [self._event(added, previous_item_id=self._previous_item, item=item)]
        if not self.beta:
            replies.append(self._event("conversation.item.done", previous_item_id=self._previous_item, item=item))
        self._previous_item = item["id"]
        if item.get("type") == "function_call_output":
            return ClientInput("tool_result", call_id=str(item.get("call_id") or ""), result=_text(item.get("output")),
                               replies=replies)
        if item.get("type") == "message" and item.get("role", "user") == "user":
            texts = [str(c.get("text", "")) for c in item.get("content") or [] if isinstance(c, dict)]
            return ClientInput("text", text=" ".join(t for t in texts if t), replies=replies)
        return ClientInput(replies=replies)


def _merged(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in update.items():
        out[key] = _merged(out[key], value) if isinstance(value, Mapping) and isinstance(out.get(key), dict) else value
    return out


def _text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)


# ---------------------------------------------------------------- the Realtime API's own wire (passthrough, serve)

CLIENT_TYPES = {
    "SessionUpdate": "session.update", "InputAudioBufferAppend": "input_audio_buffer.append",
    "InputAudioBufferCommit": "input_audio_buffer.commit", "InputAudioBufferClear": "input_audio_buffer.clear",
    "ConversationItemCreate": "conversation.item.create", "ConversationItemRetrieve": "conversation.item.retrieve",
    "ConversationItemTruncate": "conversation.item.truncate", "ConversationItemDelete": "conversation.item.delete",
    "ResponseCreate": "response.create", "ResponseCancel": "response.cancel",
}
"""The connector's names of the client events, as the Realtime API types them."""
_CLIENT_NAMES = {wire: name for name, wire in CLIENT_TYPES.items()}
AUDIO_DELTAS = ("response.output_audio.delta", "response.audio.delta")
PCM_FORMAT = {"type": "audio/pcm", "rate": 24000}


def event_name(wire_type: str) -> str:
    """The connector's name of a server event (`response.mcp_call.failed` -> `ResponseMCPCallFailed`)."""
    return pascal(wire_type).replace("Mcp", "MCP")


class OpenAIWire(Wire):
    """The Realtime API over its WebSocket: JSON events with a `type`, audio as base64 PCM16 at 24 kHz in
    `input_audio_buffer.append` and `response.output_audio.delta` (`response.audio.delta` in Beta). As on the
    platform the connector converts the media itself, so a `session.update` gets the PCM16 formats set."""

    vendor = "openai"
    input_rate = 24000
    output_rate = 24000

    def __init__(self, parameters: Mapping[str, Any]) -> None:
        super().__init__(parameters)
        self.beta = bool(parameters.get("beta"))
        self.model = str(parameters.get("model") or (BETA_MODEL if self.beta else GA_MODEL))
        self._ids = Ids()

    def connect(self, endpoint: str) -> tuple[str, dict[str, str]]:
        url = endpoint if "model=" in endpoint else f"{endpoint}{'&' if '?' in endpoint else '?'}model={self.model}"
        headers = {"Authorization": f"Bearer {self.parameters.get('apiKey', '')}"}
        if self.beta:
            headers["OpenAI-Beta"] = "realtime=v1"
        return url, headers

    def client_frame(self, name: str, payload: Any) -> list[Message]:
        wire_type = CLIENT_TYPES.get(name)
        if wire_type is None:
            return []
        body = dict(payload) if isinstance(payload, dict) else {}
        if wire_type == "session.update":
            body["session"] = self._with_pcm(body.get("session"))
        return [json.dumps({"type": wire_type, **body})]

    def _with_pcm(self, session: object) -> dict[str, Any]:
        out = dict(session) if isinstance(session, dict) else {}
        if self.beta:
            out.update(input_audio_format="pcm16", output_audio_format="pcm16")
            return out
        audio = dict(out.get("audio") or {})
        for side in ("input", "output"):
            audio[side] = {**dict(audio.get(side) or {}), "format": PCM_FORMAT}
        out["audio"] = audio
        return out

    def caller_audio(self, pcm: Pcm) -> list[Message]:
        return [json.dumps({"type": "input_audio_buffer.append", "audio": pcm_b64(pcm)})]

    def server_message(self, message: Message) -> tuple[list[Frame], Pcm | None, list[Message]]:
        event = json_object(message)
        if event is None:
            return [], None, []
        wire_type = str(event.get("type", ""))
        if wire_type in AUDIO_DELTAS:  # audio is the socket's media stream, never an event
            return [], b64_pcm(event.get("delta")), []
        return [(event_name(wire_type) if wire_type else "Unknown", event)], None, []

    @classmethod
    def serve_parameters(cls, query: Mapping[str, str], headers: Mapping[str, str]) -> dict[str, Any]:
        params: dict[str, Any] = dict(query)
        token = headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if token:
            params["apiKey"] = token
        if headers.get("OpenAI-Beta"):
            params["beta"] = True
        return params

    def serve_frame(self, frame: Frame) -> list[Message]:
        name, payload = frame
        if name == "ConnectorInformation":  # the platform's connector says this, not OpenAI
            return []
        return [json.dumps(payload)]

    def serve_audio(self, pcm: Pcm) -> list[Message]:
        wire_type = AUDIO_DELTAS[1] if self.beta else AUDIO_DELTAS[0]
        return [json.dumps({"type": wire_type, "event_id": self._ids("event_audio_"), "delta": pcm_b64(pcm)})]

    def client_message(self, message: Message) -> tuple[Frame | None, Pcm | None]:
        event = json_object(message)
        if event is None:
            return None, None
        wire_type = str(event.pop("type", ""))
        if wire_type == "input_audio_buffer.append":
            return None, b64_pcm(event.get("audio"))
        return (_CLIENT_NAMES.get(wire_type, pascal(wire_type)), event), None
