"""End to end: the running emulator (ephemeral ports, temporary state) driven by SIPp and the official client.

- `emulator`: voxsim started in-process with the platform's timings, except that a BYE to a peer a
  test already stopped is given up after 1 s (instead of 2) so teardown stays quick.
- `api`: the official Python client on the emulator's HTTPS listener (`await api("method", **kw)`).
- `sipp`: starts SIPp processes (`tests/e2e/sipp/*.xml`), reads their `-trace_stat` counters and message
  traces, and kills what is left at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest_asyncio

from sip_edge.edge import EdgeSettings
from sip_edge.transport import free_port_pair
from voxsim.app import Emulator
from voxsim.testing import ApiCaller, ephemeral_settings

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


@dataclass
class SippResult:
    returncode: int
    successful: int
    failed: int
    stderr: str
    messages: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.failed == 0 and self.successful > 0

    def received(self, first_line: str) -> bool:
        """Whether SIPp's trace shows a received message starting with `first_line` (e.g. "SIP/2.0 403")."""
        blocks = self.messages.split("message received")[1:]  # "UDP message received [N] bytes :\n\n<message>"
        return any(block.partition("\n")[2].lstrip().startswith(first_line) for block in blocks)


class SippRun:
    def __init__(self, process: asyncio.subprocess.Process, stat_file: Path, message_file: Path) -> None:
        self.process = process
        self.stat_file = stat_file
        self.message_file = message_file

    async def result(self, timeout: float = 20.0) -> SippResult:
        _, stderr = await asyncio.wait_for(self.process.communicate(), timeout)
        successful, failed = read_stats(self.stat_file)
        messages = self.message_file.read_text(errors="replace") if self.message_file.exists() else ""
        assert self.process.returncode is not None
        return SippResult(self.process.returncode, successful, failed, stderr.decode(errors="replace"), messages)


def read_stats(path: Path) -> tuple[int, int]:
    if not path.exists():
        return 0, 0
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    if len(lines) < 2:
        return 0, 0
    values = dict(zip(lines[0].split(";"), lines[-1].split(";"), strict=False))
    return int(values.get("SuccessfulCall(C)", 0)), int(values.get("FailedCall(C)", 0))


def listening(port: int) -> bool:
    wanted = f":{port:04X}"
    return any(line.split()[1].endswith(wanted) for line in Path("/proc/net/udp").read_text().splitlines()[1:])


class Sipp:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.runs: list[SippRun] = []
        self.binary = shutil.which("sipp")
        assert self.binary, "SIPp is not installed (Debian/Ubuntu: apt-get install sip-tester)"

    async def start(self, scenario: str, *args: str, remote: str | None = None, port: int | None = None,
                    keys: dict[str, str] | None = None, calls: int = 1) -> SippRun:
        """Runs SIPp with `scenario` (a file in tests/e2e/sipp, or a built-in such as "uas") over UDP.

        `remote` (host:port) makes it a client; `port` the local port (then waits until it listens).
        """
        index = len(self.runs)
        stat_file, message_file = self.folder / f"sipp{index}.csv", self.folder / f"sipp{index}_messages.log"
        chosen = ["-sf", str(SIPP_DIR / scenario)] if scenario.endswith(".xml") else ["-sn", scenario]
        command = [self.binary, *chosen, "-i", "127.0.0.1", "-t", "u1", "-m", str(calls), "-nostdin",
                   "-timeout", "15s", "-trace_stat", "-stf", str(stat_file), "-fd", "1", "-trace_msg",
                   "-message_file", str(message_file)]
        command += ["-p", str(port if port is not None else free_port_pair())]
        for name, value in (keys or {}).items():
            command += ["-key", name, value]
        command += list(args)
        if remote is not None:
            command.append(remote)
        process = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.DEVNULL,
                                                       stderr=asyncio.subprocess.PIPE, cwd=self.folder)
        run = SippRun(process, stat_file, message_file)
        self.runs.append(run)
        if port is not None:
            for _ in range(300):
                if listening(port) or process.returncode is not None:
                    break
                await asyncio.sleep(0.01)
        return run

    async def run(self, scenario: str, *args: str, **kwargs: object) -> SippResult:
        return await (await self.start(scenario, *args, **kwargs)).result()  # type: ignore[arg-type]


@pytest_asyncio.fixture
async def sipp(tmp_path: Path) -> AsyncIterator[Sipp]:
    runner = Sipp(tmp_path)
    try:
        yield runner
    finally:
        for run in runner.runs:
            if run.process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    run.process.kill()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(run.process.wait(), 5)
