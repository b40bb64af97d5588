"""`voxsim agent serve` on an ephemeral port, for the passthrough and serve tests of each vendor: the server, its
URL, and what each connection asked for (path, query, headers)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from voxsim.voice_ai import VoiceAI, VoiceAISettings, parse_script
from voxsim.voice_ai.serve import AgentServer


@dataclass
class Served:
    agent: AgentServer
    base: str  # ws://127.0.0.1:<port>
    requests: list[dict[str, Any]] = field(default_factory=list)


@contextlib.asynccontextmanager
async def agent_serve(vendor: str, script: dict[str, Any]) -> AsyncIterator[Served]:
    voice_ai = VoiceAI(VoiceAISettings(tts="tone"))
    voice_ai.add_script(parse_script(script, f"{vendor}-remote"))
    agent = AgentServer(vendor, voice_ai)
    served = Served(agent, "")
    original = agent.parameters

    def parameters(request: web.Request) -> dict[str, Any]:
        served.requests.append({"path": request.path, "query": dict(request.query),
                                "headers": {k.lower(): v for k, v in request.headers.items()}})
        return original(request)

    agent.parameters = parameters  # type: ignore[method-assign]
    runner = web.AppRunner(agent.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    served.base = f"ws://127.0.0.1:{port}"
    try:
        yield served
    finally:
        await runner.cleanup()
