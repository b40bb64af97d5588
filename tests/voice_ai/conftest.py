"""A runtime with the voice-AI connectors and a fast media clock, for scenarios that talk to scripted agents."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.runtime.conftest import FAST, user_lines
from voxsim.media.clock import MediaClock
from voxsim.runtime import InMemoryRecorder, Runtime, Session
from voxsim.runtime.media import MediaServices
from voxsim.voice_ai import VoiceAI, VoiceAISettings, parse_script


@pytest.fixture
def voice_ai() -> VoiceAI:
    return VoiceAI(VoiceAISettings(tts="tone"))


@pytest.fixture
async def runtime(voice_ai: VoiceAI) -> AsyncIterator[Runtime]:
    """The media clock ticks every 2.5 ms: the agent's audio plays eight times faster than in real time."""
    clock = MediaClock(ptime=0.0025)
    rt = Runtime(FAST, recorder=InMemoryRecorder(), media=MediaServices(clock=clock), connectors=voice_ai)
    await rt.start()
    yield rt
    await rt.shutdown(grace=1.0)
    await clock.stop()


def script(voice_ai: VoiceAI, raw: dict[str, Any]) -> None:
    voice_ai.add_script(parse_script(raw, "test-script"))


def events(session: Session, prefix: str = "") -> list[tuple[str, Any]]:
    """(event name without its namespace, payload) of each `EV <name> <json>` line the scenario logged."""
    out = []
    for line in user_lines(session):
        if line.startswith("EV "):
            _, name, body = line.split(" ", 2)
            if name.startswith(prefix):
                out.append((name.rsplit(".", 1)[-1], json.loads(body)))
    return out


def names(session: Session, prefix: str = "") -> list[str]:
    return [name for name, _ in events(session, prefix)]


def payloads(session: Session, name: str) -> list[Any]:
    """The payloads of the events named `name` (without its namespace), in order."""
    return [body for n, body in events(session) if n == name]


def uncleared(session: Session) -> bool:
    """The connector logged a barge-in the scenario did not clear."""
    return any("did not call clearMediaBuffer" in line for line in session.log.lines)


async def speak_over_the_agent(runtime: Runtime, session: Session, call_id: str, text: str = "hello") -> None:
    """Once the agent's audio plays, the simulated caller speaks (a barge-in)."""
    await session.wait_until(lambda: "WebSocketMediaStarted" in names(session), timeout=5)
    assert await runtime.caller_says(call_id, text)
