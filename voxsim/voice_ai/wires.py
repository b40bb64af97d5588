"""The vendors whose real wire protocol voxsim speaks (passthrough, `voxsim agent serve`): `<vendor>` -> its Wire."""

from __future__ import annotations

from voxsim.voice_ai.elevenlabs import ElevenLabsWire
from voxsim.voice_ai.gemini import GeminiWire
from voxsim.voice_ai.openai import OpenAIWire
from voxsim.voice_ai.ultravox import UltravoxWire
from voxsim.voice_ai.wire import Wire
from voxsim.voice_ai.yandex import YandexWire

__all__ = ["WIRES"]

WIRES: dict[str, type[Wire]] = {"openai": OpenAIWire, "ultravox": UltravoxWire,
                               "elevenlabs": ElevenLabsWire,
                               "gemini": GeminiWire, "yandex": YandexWire}
