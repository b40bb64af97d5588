"""The voice-AI connectors' settings (the `voice_ai.*` section of voxsim's settings)."""

from __future__ import annotations

from dataclasses import dataclass

from voxsim.settings_sources import SettingError

__all__ = ["TTS_MODES", "VoiceAISettings"]

TTS_MODES = ("speech", "tone", "silence")


@dataclass(frozen=True)
class VoiceAISettings:
    """How the scripted agents behind `wss://local/<vendor>` work (docs/voice-ai.md)."""

    scripts: tuple[str, ...] = ()
    """Agent script files and folders (YAML/JSON), tried in order; a seed folder's `agents/` comes after them."""
    tts: str = "speech"
    """How an agent's lines sound: speech (espeak-ng), tone (a beep train, 65 ms a character) or silence."""
    tool_timeout: float = 0.0
    """Seconds an agent waits for the scenario's tool result (0: the vendor's own, 20-30 s)."""
    passthrough: tuple[str, ...] = ()
    """VENDOR=URL entries: that vendor's clients speak its real protocol to URL instead of a scripted agent
    (e.g. openai=ws://127.0.0.1:9000/v1/realtime, or the vendor's own endpoint when online)."""

    def __post_init__(self) -> None:
        if self.tts not in TTS_MODES:
            raise SettingError(f"voice_ai.tts must be one of {', '.join(TTS_MODES)}, not {self.tts!r}")
        self.endpoints()

    def endpoints(self) -> dict[str, str]:
        """The passthrough entries as vendor -> URL; a malformed entry is a SettingError."""
        out = {}
        for entry in self.passthrough:
            vendor, sep, url = str(entry).partition("=")
            if not sep or not vendor.strip() or not url.strip().startswith(("ws://", "wss://")):
                raise SettingError(f"voice_ai.passthrough entries are VENDOR=ws[s]://..., not {entry!r}")
            out[vendor.strip().lower()] = url.strip()
        return out
