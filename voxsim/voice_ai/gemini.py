"""Gemini Live as the connector speaks it (`Gemini.createLiveAPIClient`).

The connector holds a Gen AI Live session (the client's `connectConfig` is its setup) and forwards the server's
messages one member each: the frame's name is the member (`setupComplete` -> `SetupComplete`, `serverContent` ->
`ServerContent`, `toolCall` -> `ToolCall`, `usageMetadata` -> `UsageMetadata`) and its payload the member's body,
in the Live API's camelCase. The model's audio (`serverContent.modelTurn`) is not a frame: it plays as the
socket's media stream (PCM16, 24 kHz as Gemini speaks). Transcripts come as `ServerContent {outputTranscription}`
and `{inputTranscription}` when the setup asks for them (`outputAudioTranscription`, `inputAudioTranscription`),
as on Gemini. What the scenario sends is the client message: `sendClientContent` -> `ClientContent`,
`sendRealtimeInput` -> `RealtimeInput`, `sendToolResponse` -> `ToolResponse`.

The model speaks first only when asked: the greeting waits for the scenario's first text (the guides send
`sendRealtimeInput({text: ...})` once the setup is complete). A tool response is answered at once, and the
caller's speech over the model's is an interruption (`ServerContent {interrupted: true}`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import numpy as np

from voxsim.media.graph import Frame as Pcm
from voxsim.voice_ai.dialect import ClientInput, Dialect, Frame, words
from voxsim.voice_ai.wire import Message, Wire, b64_pcm, json_object, pcm_b64

__all__ = ["DEFAULT_MODEL", "GeminiLive", "GeminiWire"]

DEFAULT_MODEL = "gemini-2.0-flash-exp"  # the client's default model
TOKENS_PER_SECOND = 25  # what Gemini counts for a second of audio


class GeminiLive(Dialect):
    vendor = "gemini"
    label = "Gemini"
    greets_on = "input"
    explicit_response = False
    audio_rate = 24000
    tool_timeout = 30.0

    def __init__(self, parameters: Mapping[str, Any]) -> None:
        super().__init__(parameters)
        self.model = str(parameters.get("model") or DEFAULT_MODEL)
        config = parameters.get("connectConfig")
        self.config: dict[str, Any] = dict(config) if isinstance(config, Mapping) else {}
        self._transcribe_output = self.config.get("outputAudioTranscription") is not None
        self._transcribe_input = self.config.get("inputAudioTranscription") is not None
        self._waiting_call = ""  # the id of the tool call the model waits for
        self._pending_turns: list[str] = []  # client content sent with turnComplete: false
        self._prompt_tokens = 0

    def hints(self) -> dict[str, str]:
        return {"model": self.model, "prompt": _text_of(self.config.get("systemInstruction"))}

    # ------------------------------------------------------------ the connector's frames

    def opened(self) -> list[Frame]:
        return [("SetupComplete", {})]

    def say(self, text: str, duration_ms: int) -> tuple[list[Frame], list[Frame]]:
        before: list[Frame] = []
        if self._transcribe_output:
            before = [("ServerContent", {"outputTranscription": {"text": delta}}) for delta in words(text)]
        tokens = max(1, duration_ms * TOKENS_PER_SECOND // 1000)
        after: list[Frame] = [("ServerContent", {"generationComplete": True}),
                              ("ServerContent", {"turnComplete": True}),
                              ("UsageMetadata", self._usage(tokens))]
        return before, after

    def _usage(self, response_tokens: int) -> dict[str, Any]:
        prompt = self._prompt_tokens
        return {"promptTokenCount": prompt, "responseTokenCount": response_tokens,
                "totalTokenCount": prompt + response_tokens,
                "promptTokensDetails": [{"modality": "AUDIO", "tokenCount": prompt}],
                "responseTokensDetails": [{"modality": "AUDIO", "tokenCount": response_tokens}]}

    def caller_started(self, agent_speaking: bool) -> list[Frame]:
        return [("ServerContent", {"interrupted": True})] if agent_speaking else []

    def caller_said(self, text: str) -> list[Frame]:
        self._prompt_tokens += max(1, len(text) // 4)
        return [("ServerContent", {"inputTranscription": {"text": text}})] if self._transcribe_input else []

    def new_call_id(self) -> str:
        return self.ids("function-call-")

    def tool_call(self, call_id: str, name: str, args: Mapping[str, Any]) -> list[Frame]:
        self._waiting_call = call_id
        return [("ToolCall", {"functionCalls": [{"id": call_id, "name": name, "args": dict(args)}]})]

    def error(self, code: str, message: str) -> list[Frame]:
        # Gemini reports a failed session by closing it; the connector's frame for it has no event of its own
        # in the typings, so the scenario sees it as Gemini.LiveAPI.Unknown.
        return [("Error", {"code": code, "message": message})]

    # ------------------------------------------------------------ the scenario's frames

    def client(self, name: str, payload: Any) -> ClientInput:
        body = payload if isinstance(payload, dict) else {}
        if name == "RealtimeInput":
            return self._realtime_input(body)
        if name == "ClientContent":
            return self._client_content(body)
        if name == "ToolResponse":
            return self._tool_response(body)
        return ClientInput(warning=f"{name} is not a Live API client message voxsim knows")

    def _realtime_input(self, body: dict[str, Any]) -> ClientInput:
        text = body.get("text")
        if isinstance(text, str) and text:
            return ClientInput("text", text=text)
        return ClientInput()  # audio, video, activity signals: the agent hears the call's audio already

    def _client_content(self, body: dict[str, Any]) -> ClientInput:
        turns = body.get("turns")
        if isinstance(turns, str):
            turns = [{"role": "user", "parts": [{"text": turns}]}]
        elif isinstance(turns, dict):
            turns = [turns]
        if turns is not None and not isinstance(turns, list):
            return ClientInput(warning="sendClientContent: turns is neither a list of contents nor a content")
        for turn in turns or []:
            if isinstance(turn, dict) and turn.get("role", "user") == "user" and (said := _text_of(turn)):
                self._pending_turns.append(said)
        if body.get("turnComplete", True) is False or not self._pending_turns:
            return ClientInput()  # Gemini waits for the rest of the turn
        text, self._pending_turns = " ".join(self._pending_turns), []
        return ClientInput("text", text=text)

    def _tool_response(self, body: dict[str, Any]) -> ClientInput:
        responses = [r for r in body.get("functionResponses") or [] if isinstance(r, dict)]
        if not responses:
            return ClientInput(warning="sendToolResponse without functionResponses: the model goes on waiting")
        chosen = next((r for r in responses if r.get("id") == self._waiting_call), responses[0])
        response = chosen.get("response")
        is_error = isinstance(response, dict) and "error" in response
        return ClientInput("tool_result", call_id=str(chosen.get("id") or ""), result=_result_text(response),
                           is_error=is_error)


def _text_of(content: object) -> str:
    """The text of a Content (`{parts: [{text}]}`), a list of parts or contents, or a string."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        if isinstance(content.get("text"), str):
            return str(content["text"])
        return _text_of(content.get("parts"))
    if isinstance(content, list):
        return " ".join(t for t in (_text_of(item) for item in content) if t)
    return ""


def _result_text(response: object) -> str:
    """A function response as the script's `{result}`: its `output` or `result` member when it has just one, else
    the whole response as JSON."""
    if isinstance(response, dict) and len(response) == 1:
        (key, value), = response.items()
        if key in ("output", "result"):
            return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    if isinstance(response, str):
        return response
    return json.dumps(response, separators=(",", ":"))


# ---------------------------------------------------------------- the Live API's own wire (passthrough, serve)

GENERATION_FIELDS = ("responseModalities", "temperature", "topP", "topK", "maxOutputTokens", "mediaResolution",
                     "seed", "speechConfig", "enableAffectiveDialog", "candidateCount")
"""The members of a LiveConnectConfig that go in the setup's `generationConfig` (the SDKs move them there)."""
INPUT_MIME = "audio/pcm;rate=16000"
OUTPUT_MIME = "audio/pcm;rate=24000"
_CLIENT_MEMBERS = {"ClientContent": "clientContent", "RealtimeInput": "realtimeInput", "ToolResponse": "toolResponse"}


class GeminiWire(Wire):
    """BidiGenerateContent over its WebSocket: the client sends `setup` first (the client's `model` and
    `connectConfig`, its generation members under `generationConfig`, as the SDKs send it) and the server
    answers `setupComplete`; then one member per message. The call's audio goes as `realtimeInput.audio`
    (base64 PCM16 at 16 kHz), the model's comes in `serverContent.modelTurn.parts[].inlineData` (24 kHz) and is
    taken out of the frame the scenario sees. The client's `apiKey` goes as the URL's `key` (Gemini API);
    Vertex AI's credentials are not used."""

    vendor = "gemini"
    input_rate = 16000
    output_rate = 24000
    setup_first = True

    def connect(self, endpoint: str) -> tuple[str, dict[str, str]]:
        key = str(self.parameters.get("apiKey") or "")
        if not key or "key=" in endpoint:
            return endpoint, {}
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode({'key': key})}", {}

    def opening(self) -> list[Message]:
        model = str(self.parameters.get("model") or DEFAULT_MODEL)
        config = self.parameters.get("connectConfig")
        setup = _setup(dict(config) if isinstance(config, Mapping) else {})
        setup["model"] = model if model.startswith(("models/", "projects/")) else f"models/{model}"
        return [json.dumps({"setup": setup})]

    def client_frame(self, name: str, payload: Any) -> list[Message]:
        member = _CLIENT_MEMBERS.get(name)
        if member is None:
            return []
        body = dict(payload) if isinstance(payload, dict) else {}
        if member == "clientContent":  # the SDKs take a string or one content for turns
            turns = body.get("turns")
            if isinstance(turns, str):
                body["turns"] = [{"role": "user", "parts": [{"text": turns}]}]
            elif isinstance(turns, dict):
                body["turns"] = [turns]
        return [json.dumps({member: body})]

    def caller_audio(self, pcm: Pcm) -> list[Message]:
        return [json.dumps({"realtimeInput": {"audio": {"data": pcm_b64(pcm), "mimeType": INPUT_MIME}}})]

    def server_message(self, message: Message) -> tuple[list[Frame], Pcm | None, list[Message]]:
        data = json_object(message)
        frames: list[Frame] = []
        audio: list[Pcm] = []
        for member, body in (data or {}).items():
            if not isinstance(body, dict):
                continue
            if member == "serverContent":
                body = _without_audio(body, audio)
                if not body:
                    continue
            frames.append((member[:1].upper() + member[1:], body))
        return frames, np.concatenate(audio) if audio else None, []

    @classmethod
    def serve_parameters(cls, query: Mapping[str, str], headers: Mapping[str, str]) -> dict[str, Any]:
        key = query.get("key") or headers.get("x-goog-api-key")
        return {"apiKey": key} if key else {}

    def serve_setup(self, message: Message) -> dict[str, Any]:
        setup = (json_object(message) or {}).get("setup")
        if not isinstance(setup, dict):
            return {}
        config = {k: v for k, v in setup.items() if k not in ("model", "generationConfig")}
        generation = setup.get("generationConfig")
        if isinstance(generation, dict):
            config.update(generation)
        params: dict[str, Any] = {"connectConfig": config}
        if isinstance(setup.get("model"), str):
            params["model"] = setup["model"].removeprefix("models/")
        return params

    def serve_frame(self, frame: Frame) -> list[Message]:
        name, payload = frame
        if name in ("ConnectorInformation", "Error"):  # the connector's; Gemini reports a failure by closing
            return []
        return [json.dumps({name[:1].lower() + name[1:]: payload})]

    def serve_audio(self, pcm: Pcm) -> list[Message]:
        part = {"inlineData": {"mimeType": OUTPUT_MIME, "data": pcm_b64(pcm)}}
        return [json.dumps({"serverContent": {"modelTurn": {"parts": [part]}}})]

    def client_message(self, message: Message) -> tuple[Frame | None, Pcm | None]:
        data = json_object(message) or {}
        if isinstance(data.get("realtimeInput"), dict):
            return _realtime_input(data["realtimeInput"])
        for name, member in _CLIENT_MEMBERS.items():
            if isinstance(data.get(member), dict):
                return (name, data[member]), None
        return None, None  # a second setup, or nothing the Live API knows


def _setup(config: dict[str, Any]) -> dict[str, Any]:
    generation = dict(config.pop("generationConfig", None) or {})
    for key in GENERATION_FIELDS:
        if key in config:
            generation[key] = config.pop(key)
    instruction = config.get("systemInstruction")
    if isinstance(instruction, str):
        config["systemInstruction"] = {"parts": [{"text": instruction}]}
    return {**({"generationConfig": generation} if generation else {}), **config}


def _without_audio(content: dict[str, Any], audio: list[Pcm]) -> dict[str, Any]:
    """`content` without the model's audio parts, which go to `audio`."""
    turn = content.get("modelTurn")
    if not isinstance(turn, dict):
        return content
    kept = []
    for part in turn.get("parts") or []:
        inline = part.get("inlineData") if isinstance(part, dict) else None
        if isinstance(inline, dict) and str(inline.get("mimeType", "")).startswith("audio/pcm"):
            pcm = b64_pcm(inline.get("data"))
            if pcm is not None:
                audio.append(pcm)
        else:
            kept.append(part)
    rest = {k: v for k, v in content.items() if k != "modelTurn"}
    return {**rest, "modelTurn": {**turn, "parts": kept}} if kept else rest


def _realtime_input(body: dict[str, Any]) -> tuple[Frame | None, Pcm | None]:
    chunks = [body["audio"]] if isinstance(body.get("audio"), dict) else []
    chunks += [c for c in body.get("mediaChunks") or [] if isinstance(c, dict)]  # the older form
    pieces = [p for p in (b64_pcm(c.get("data")) for c in chunks if str(c.get("mimeType", "audio/pcm"))
                          .startswith("audio/pcm")) if p is not None]
    rest = {k: v for k, v in body.items() if k not in ("audio", "mediaChunks")}
    return (("RealtimeInput", rest) if rest else None), (np.concatenate(pieces) if pieces else None)
