"""Voice-AI connectors inside voxsim: scripted agents that speak each vendor's connector protocol.

`service.VoiceAI` serves `wss://local/<vendor>` for the runtime; `script` reads agent scripts, `agent` runs
their conversation, `dialect` and one module per vendor (`openai`, ...) give each vendor's events, and
`connector` drives one client's socket.
"""

from voxsim.voice_ai.script import AgentScript, ScriptError, load_script, parse_script
from voxsim.voice_ai.service import VoiceAI
from voxsim.voice_ai.settings import VoiceAISettings

__all__ = ["AgentScript", "ScriptError", "VoiceAI", "VoiceAISettings", "load_script", "parse_script"]
