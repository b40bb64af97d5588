"""The typings' voice-AI names that are not conversational clients voxsim serves: requiring their module works, and
using them throws "... is not emulated by voxsim" (never a ReferenceError)."""

from __future__ import annotations

import pytest

from tests.runtime.conftest import start, user_lines
from voxsim.runtime import Runtime

USES = {
    "Cartesia": "Cartesia.createRealtimeTTSPlayer('Hello', {apiKey: 'k'})",
    "Avatar": "VoximplantAvatar.createAvatar({avatarId: 'a1'})",
    "AI": "AI.createDialogflow({lang: DialogflowLanguage.EN_US})",
}


@pytest.mark.parametrize("module", sorted(USES))
async def test_using_it_throws_not_emulated(runtime: Runtime, module: str):
    session = await start(runtime, f"""
require(Modules.{module});
try {{ {USES[module]}; Logger.write('used'); }} catch (e) {{ Logger.write('threw ' + e.message); }}
""")
    await session.wait_until(lambda: any(line.startswith(("threw", "used")) for line in user_lines(session)),
                             timeout=5)
    thrown = [line for line in user_lines(session) if line.startswith("threw")]
    assert thrown and "is not emulated by voxsim" in thrown[0]
