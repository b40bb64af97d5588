"""The voice-AI connectors of the emulator: which vendors are served at `wss://local/<vendor>`, with which scripts.

`VoiceAI` implements the runtime's `Connectors` port: for each client a scenario creates, it reads the
client's parameters (the `X-Voxsim-Parameters` header the shim sends), picks the vendor's dialect, selects the
agent script (the first whose `match` fits, else the default agent) and serves the socket with a
`ScriptedConnector`. The connectors of each session are kept (bounded) so tests and tools can read what was
said (`transcripts(session_id)`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from voxsim.media.graph import Frame as PcmFrame
from voxsim.media.speech import SpeechRenderer
from voxsim.runtime.local_socket import ConnectorLink
from voxsim.voice_ai.agent import ScriptedAgent
from voxsim.voice_ai.connector import CONNECTOR_VERSION, ScriptedConnector
from voxsim.voice_ai.dialect import Dialect
from voxsim.voice_ai.elevenlabs import ElevenLabsAgents
from voxsim.voice_ai.gemini import GeminiLive
from voxsim.voice_ai.openai import OpenAIRealtime
from voxsim.voice_ai.passthrough import PassthroughConnector
from voxsim.voice_ai.script import DEFAULT_SCRIPT, AgentScript, load_scripts
from voxsim.voice_ai.settings import TTS_MODES, VoiceAISettings
from voxsim.voice_ai.ultravox import UltravoxWebSocketAPI
from voxsim.voice_ai.wires import WIRES
from voxsim.voice_ai.yandex import YandexRealtime

__all__ = ["DIALECTS", "PARAMETERS_HEADER", "TTS_MODES", "VoiceAI", "VoiceAISettings"]

log = logging.getLogger(__name__)

PARAMETERS_HEADER = "X-Voxsim-Parameters"
DIALECTS: dict[str, Callable[[Mapping[str, Any]], Dialect]] = {"openai": OpenAIRealtime, "gemini": GeminiLive,
                                                               "ultravox": UltravoxWebSocketAPI,
                                                               "yandex": YandexRealtime,
                                                               "elevenlabs": ElevenLabsAgents}
"""`<vendor>` of `wss://local/<vendor>` -> its dialect."""
MS_PER_CHARACTER = 65  # the length of a line in the tone and silence modes
KEPT_SESSIONS = 200


def _tone(text: str, silent: bool) -> PcmFrame:
    samples = max(1, len(text)) * MS_PER_CHARACTER * 8
    if silent:
        return np.zeros(samples, dtype=np.int16)
    t = np.arange(samples) / 8000.0
    gate = (np.floor(t / 0.15) % 2 == 0)  # 150 ms on, 150 ms off
    return (np.sin(2 * np.pi * 440.0 * t) * 6000 * gate).astype(np.int16)


class VoiceAI:
    """See the module docstring."""

    def __init__(self, settings: VoiceAISettings | None = None, speech: SpeechRenderer | None = None) -> None:
        self.settings = settings or VoiceAISettings()
        self.speech = speech
        self.scripts: list[AgentScript] = load_scripts(Path(p) for p in self.settings.scripts)
        self._connectors: OrderedDict[int, list[ScriptedConnector]] = OrderedDict()
        self.passthrough = self.settings.endpoints()  # vendor -> the endpoint its clients are passed to

    def vendors(self) -> frozenset[str]:
        return frozenset(DIALECTS)

    def add_script(self, script: AgentScript) -> None:
        """A script tried before the others (the pytest fixtures give theirs this way)."""
        self.scripts.insert(0, script)

    def add_scripts(self, paths: list[Path]) -> None:
        """Scripts tried after the others (a seed folder's `agents/`)."""
        self.scripts.extend(load_scripts(paths))

    def select(self, vendor: str, hints: Mapping[str, str]) -> AgentScript:
        return next((s for s in self.scripts if s.serves(vendor, hints)), DEFAULT_SCRIPT)

    def serve(self, link: ConnectorLink) -> asyncio.Task[None]:
        parameters = _parameters(link.headers)
        dialect = DIALECTS[link.vendor](parameters)
        endpoint = self.passthrough.get(link.vendor)
        if endpoint is not None and link.vendor in WIRES:  # the vendor's real protocol, to the configured endpoint
            relay = PassthroughConnector(link, WIRES[link.vendor](parameters), endpoint, dialect.label,
                                         CONNECTOR_VERSION)
            return asyncio.get_running_loop().create_task(relay.run())
        connector = ScriptedConnector(link, dialect, lambda d: ScriptedAgent(self.select(link.vendor, d.hints())),
                                      self.speak, self.settings.tool_timeout or None)
        kept = self._connectors.setdefault(link.session_id, [])
        kept.append(connector)
        while len(self._connectors) > KEPT_SESSIONS:
            self._connectors.popitem(last=False)
        return asyncio.get_running_loop().create_task(connector.run())

    def transcripts(self, session_id: int) -> list[list[dict[str, Any]]]:
        """What was said on each connector of a session, in the order the clients were created."""
        return [c.transcript for c in self._connectors.get(session_id, [])]

    async def speak(self, text: str) -> PcmFrame:
        """An agent's line as 8 kHz PCM16, as `tts` says."""
        if self.settings.tts != "speech" or self.speech is None:
            return _tone(text, self.settings.tts == "silence")
        return (await self.speech.render(text)).pcm


def _parameters(headers: Mapping[str, str]) -> dict[str, Any]:
    raw = next((v for k, v in headers.items() if k.lower() == PARAMETERS_HEADER.lower()), "")
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
