"""CallList in scenarios: each report reaches the runtime's call list service and its answer comes back to the
callback or the promise as a Net.HttpRequestResult; without a service (or for a session no list started), 404."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from voxsim.runtime import InMemoryRecorder, Runtime, RuntimeSettings

from .conftest import run_on_start as run


class Service:
    """A call list service that keeps what sessions report and answers 200 (or what `answer` says)."""

    def __init__(self) -> None:
        self.reports: list[tuple[int, str, Any]] = []
        self.answer = (200, '{"result":true}')

    async def report(self, session_id: int, report: str, data: Any) -> tuple[int, str]:
        self.reports.append((session_id, report, data))
        return self.answer


@pytest.fixture
def service() -> Service:
    return Service()


@pytest.fixture
async def runtime(settings: RuntimeSettings, service: Service) -> AsyncIterator[Runtime]:
    rt = Runtime(settings, recorder=InMemoryRecorder())
    rt.call_lists = service
    await rt.start()
    yield rt
    await rt.shutdown(grace=1.0)




async def test_reports_and_their_answers(runtime: Runtime, service: Service):
    lines = await run(runtime, """
      CallList.reportProgress('dialing');
      const progress = await CallList.reportProgressAsync({step: 2});
      Logger.write('progress ' + progress.code + ' ' + progress.text);
      const next = await CallList.requestNextAttemptAsync({attempts_left: 1});
      Logger.write('next ' + next.code);
      CallList.reportError('busy');
      CallList.reportResult({done: true}, (r) => { Logger.write('result ' + r.code); VoxEngine.terminate(); });
    """)
    assert lines == ['progress 200 {"result":true}', "next 200", "result 200"]
    session_id = service.reports[0][0]
    assert service.reports == [(session_id, "progress", "dialing"), (session_id, "progress", '{"step":2}'),
                               (session_id, "nextAttempt", {"attempts_left": 1}), (session_id, "error", "busy"),
                               (session_id, "result", '{"done":true}')]


async def test_a_refusal_is_a_failed_request(runtime: Runtime, service: Service):
    service.answer = (404, json.dumps({"error": "no task"}))
    lines = await run(runtime, """
      CallList.reportResult('x', (r) => { Logger.write(r.code + ' ' + r.error); VoxEngine.terminate(); });
    """)
    assert lines == ['404 {"error": "no task"}']


async def test_bad_arguments_throw_in_the_scenario(runtime: Runtime, service: Service):
    lines = await run(runtime, """
      try { CallList.requestNextAttempt('tomorrow'); } catch (e) { Logger.write(e.name + ': ' + e.message); }
      VoxEngine.terminate();
    """)
    assert lines == ["TypeError: CallList.requestNextAttempt: data must be an object"]
    assert service.reports == []


async def test_without_a_service_reports_answer_404(settings: RuntimeSettings):
    rt = Runtime(settings, recorder=InMemoryRecorder())
    await rt.start()
    try:
        lines = await run(rt, "CallList.reportResult('x', (r) => { Logger.write('code ' + r.code); "
                              "VoxEngine.terminate(); });")
    finally:
        await rt.shutdown(grace=1.0)
    assert lines == ["code 404"]
