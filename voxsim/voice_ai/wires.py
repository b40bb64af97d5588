"""The vendors whose real wire protocol voxsim speaks (passthrough, `voxsim agent serve`): `<vendor>` -> its Wire."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from voxsim.voice_ai.openai import OpenAIWire
from voxsim.voice_ai.wire import Wire

__all__ = ["WIRES"]

WIRES: dict[str, Callable[[Mapping[str, Any]], Wire]] = {"openai": OpenAIWire}
