"""End to end: the running emulator (ephemeral ports, temporary state) driven by SIPp and the official client.

- `emulator`: voxsim started in-process with the platform's timings, except that a BYE to a peer a
  test already stopped is given up after 1 s (instead of 2) so teardown stays quick.
- `api`: the official Python client on the emulator's HTTPS listener (`await api("method", **kw)`).
- `sipp`: starts SIPp processes (`tests/e2e/sipp/*.xml`), reads their `-trace_stat` counters and message
  traces, and kills what is left at the end.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio

from sip_edge.transport import free_port_pair
from voxsim.app import Emulator
from voxsim.edge.settings import EdgeSettings
from voxsim.testing import ApiCaller, SippResult, SippRun, SippRunner, ephemeral_settings

SIPP_DIR = Path(__file__).parent / "sipp"


@pytest_asyncio.fixture
async def emulator(tmp_path: Path) -> AsyncIterator[Emulator]:
    settings = ephemeral_settings(tmp_path / "state")
    settings.sip = EdgeSettings(request_timeout=1.0)
    em = Emulator(settings)
    await em.start()
    assert em.sip_registrations is not None
    em.sip_registrations.timers.unregister_timeout = 0.3
    try:
        yield em
    finally:
        await em.stop()


@pytest_asyncio.fixture
async def api(emulator: Emulator) -> ApiCaller:
    return ApiCaller(emulator)


class Sipp:
    """SIPp over UDP on loopback, by scenario name: a file in tests/e2e/sipp, or a built-in such as "uas"."""

    def __init__(self, runner: SippRunner) -> None:
        self.runner = runner

    async def start(self, scenario: str, *args: str, remote: str | None = None, port: int | None = None,
                    keys: dict[str, str] | None = None, calls: int = 1) -> SippRun:
        """`remote` (host:port) makes it a client; `port` the local port (then waits until it listens)."""
        chosen = ["-sf", self.runner.scenario(scenario)] if scenario.endswith(".xml") else ["-sn", scenario]
        local_port = port if port is not None else free_port_pair()
        command = [*chosen, "-i", "127.0.0.1", "-t", "u1", "-m", str(calls), "-p", str(local_port)]
        for name, value in (keys or {}).items():
            command += ["-key", name, value]
        command += list(args)
        if remote is not None:
            command.append(remote)
        return await self.runner.start(*command, listen=(local_port, "udp") if port is not None else None,
                                       timeout="15s")

    async def run(self, scenario: str, *args: str, **kwargs: Any) -> SippResult:
        return await (await self.start(scenario, *args, **kwargs)).result(20)


@pytest_asyncio.fixture
async def sipp(tmp_path: Path) -> AsyncIterator[Sipp]:
    runner = SippRunner(tmp_path, SIPP_DIR)
    try:
        yield Sipp(runner)
    finally:
        await runner.close()
