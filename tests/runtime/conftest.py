"""Fixtures for runtime tests: a Runtime with short timeouts (its media is real: espeak-ng, files, a clock)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import pytest

from voxsim.runtime import InMemoryRecorder, Runtime, RuntimeSettings, Session

FAST = RuntimeSettings(
    handler_timeout=0.5,
    load_timeout=0.5,
    pool_size=2,
    session_idle_timeout=5.0,
    http_connect_timeout=1.0,
    http_total_timeout=2.0,
    http_reply_timeout=2.0,
    terminating_http_grace=1.0,
)

_ids = itertools.count(1000)


@pytest.fixture
def settings() -> RuntimeSettings:
    return FAST


@pytest.fixture
async def runtime(settings: RuntimeSettings) -> AsyncIterator[Runtime]:
    rt = Runtime(settings, recorder=InMemoryRecorder())
    await rt.start()
    yield rt
    await rt.shutdown(grace=1.0)


async def start(
    runtime: Runtime, *scripts: str, custom_data: str = "", names: list[str] | None = None
) -> Session:
    """Starts a session whose rule runs `scripts` in order."""
    scenario_names = names or [f"scenario{i + 1}" for i in range(len(scripts))]
    session_id = next(_ids)
    return await runtime.start_session(
        account_id=1,
        application_id=2,
        application_name="app.acc.voximplant.com",
        rule_id=3,
        rule_name="rule",
        scenarios=list(zip(scenario_names, scripts, strict=True)),
        session_id=session_id,
        custom_data=custom_data,
        access_url=f"http://127.0.0.1:8080/request/{session_id}",
        access_secure_url=f"https://127.0.0.1:8443/request/{session_id}",
        log_url=f"http://127.0.0.1:8080/_voxsim/sessions/{session_id}/log",
    )


def logged(session: Session, text: str) -> bool:
    """True when a log line (after its timestamp) equals `text`."""
    return any(line[24:] == text for line in session.log.lines)


def user_lines(session: Session) -> list[str]:
    """Log lines the scenario wrote itself (not [event]/[command]/[session] lines)."""
    return [line[24:] for line in session.log.lines if not line[24:].startswith("[")]


async def run_on_start(runtime: Runtime, body: str, timeout: float = 3.0) -> list[str]:
    """Runs `body` in an async AppEvents.Started handler until the session ends; the lines it logged."""
    script = "VoxEngine.addEventListener(AppEvents.Started, async () => {\n" + body + "\n});"
    session = await start(runtime, script)
    await session.wait_finished(timeout)
    return user_lines(session)
