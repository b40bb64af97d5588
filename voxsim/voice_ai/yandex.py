"""Yandex's Realtime API as the connector speaks it (`Yandex.createRealtimeAPIClient`).

Yandex speaks OpenAI's Realtime protocol (GA event names: `response.output_audio_transcript.delta`, ...), so
this is the OpenAI dialect with Yandex's differences: a conversation item the server adds is announced as
`conversation.item.created` (the client's enum has `ConversationItemCreated`, and no `ConversationItemAdded` or
`ConversationItemDone`), the model defaults to `speech-realtime-250923`, and the client has no
`inputAudioBufferClear`. As on OpenAI, the greeting waits for a `responseCreate`, and a function-call output
needs one after it.

`YandexWire` is the same Realtime protocol over Yandex's socket (`wss://rest-assistant.api.cloud.yandex.net/v1/
realtime/openai`), with Yandex's credentials: the model as its URI `gpt://<folderId>/<model>`, `Authorization:
Api-Key <apiKey>` (an IAM token, which begins with `t1.`, as `Bearer <token>`) and `x-folder-id: <folderId>`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from voxsim.voice_ai.dialect import ClientInput, Frame
from voxsim.voice_ai.openai import OpenAIRealtime, OpenAIWire

__all__ = ["DEFAULT_MODEL", "YandexRealtime", "YandexWire", "model_uri"]

DEFAULT_MODEL = "speech-realtime-250923"  # the client's default model
DEFAULT_VOICE = "marina"
IAM_TOKEN_PREFIX = "t1."  # Yandex Cloud's IAM tokens begin so; API keys do not
MODEL_SCHEME = "gpt://"


def model_uri(folder_id: str, model: str) -> str:
    """The model as Yandex's API names it: `gpt://<folder>/<model>` (a model already given as a URI stays)."""
    return model if model.startswith(MODEL_SCHEME) else f"{MODEL_SCHEME}{folder_id}/{model}"


def _from_uri(model: str) -> tuple[str, str]:
    """`gpt://<folder>/<model>` as (folder, model); a bare model name has no folder."""
    if not model.startswith(MODEL_SCHEME):
        return "", model
    folder, _, name = model.removeprefix(MODEL_SCHEME).partition("/")
    return folder, name


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


class YandexWire(OpenAIWire):
    """OpenAI's Realtime wire (GA names, PCM16 24 kHz both ways) with Yandex's connection and credentials."""

    vendor = "yandex"

    def __init__(self, parameters: Mapping[str, Any]) -> None:
        super().__init__({**parameters, "model": parameters.get("model") or DEFAULT_MODEL, "beta": False})
        self.folder_id = str(parameters.get("folderId") or "")

    def connect(self, endpoint: str) -> tuple[str, dict[str, str]]:
        url = endpoint
        if "model=" not in endpoint:
            model = model_uri(self.folder_id, self.model)  # `:` and `/` are plain in a query
            url = f"{endpoint}{'&' if '?' in endpoint else '?'}model={model}"
        key = str(self.parameters.get("apiKey") or "")
        scheme = "Bearer" if key.startswith(IAM_TOKEN_PREFIX) else "Api-Key"
        headers = {"Authorization": f"{scheme} {key}"}
        if self.folder_id:
            headers["x-folder-id"] = self.folder_id
        return url, headers

    @classmethod
    def serve_parameters(cls, query: Mapping[str, str], headers: Mapping[str, str]) -> dict[str, Any]:
        params: dict[str, Any] = dict(query)
        scheme, _, key = headers.get("Authorization", "").strip().partition(" ")
        if scheme.lower() in ("api-key", "bearer") and key.strip():
            params["apiKey"] = key.strip()
        folder, model = _from_uri(str(query.get("model") or ""))
        if model:
            params["model"] = model
        folder = headers.get("x-folder-id", "") or folder
        if folder:
            params["folderId"] = folder
        return params
