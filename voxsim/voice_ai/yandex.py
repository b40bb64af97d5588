"""Yandex's Realtime API as the connector speaks it (`Yandex.createRealtimeAPIClient`).

Yandex speaks OpenAI's Realtime protocol (GA event names: `response.output_audio_transcript.delta`, ...), so
this is the OpenAI dialect with Yandex's differences: a conversation item the server adds is announced as
`conversation.item.created` (the client's enum has `ConversationItemCreated`, and no `ConversationItemAdded` or
`ConversationItemDone`), the model defaults to `speech-realtime-250923`, and the client has no
`inputAudioBufferClear`. As on OpenAI, the greeting waits for a `responseCreate`, and a function-call output
needs one after it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from voxsim.voice_ai.dialect import ClientInput, Frame
from voxsim.voice_ai.openai import OpenAIRealtime

__all__ = ["DEFAULT_MODEL", "YandexRealtime"]

DEFAULT_MODEL = "speech-realtime-250923"  # the client's default model
DEFAULT_VOICE = "marina"


class YandexRealtime(OpenAIRealtime):
    vendor = "yandex"
    label = "Yandex"

    def __init__(self, parameters: Mapping[str, Any]) -> None:
        super().__init__({**parameters, "model": parameters.get("model") or DEFAULT_MODEL, "beta": False})
        self.session["audio"]["output"]["voice"] = DEFAULT_VOICE
        self.folder_id = str(parameters.get("folderId") or "")

    def caller_said(self, text: str) -> list[Frame]:
        return _as_yandex(super().caller_said(text))

    def client(self, name: str, payload: Any) -> ClientInput:
        got = super().client(name, payload)
        got.replies = _as_yandex(got.replies)
        return got


def _as_yandex(frames: list[Frame]) -> list[Frame]:
    """OpenAI's GA frames as Yandex sends them: `conversation.item.added` is `conversation.item.created`, and no
    `conversation.item.done` follows."""
    out: list[Frame] = []
    for name, payload in frames:
        if name == "ConversationItemDone":
            continue
        if name == "ConversationItemAdded":
            name, payload = "ConversationItemCreated", {**payload, "type": "conversation.item.created"}
        out.append((name, payload))
    return out
