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

from voxsim.voice_ai.dialect import ClientInput, Dialect, Frame, words

__all__ = ["DEFAULT_MODEL", "GeminiLive"]

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
