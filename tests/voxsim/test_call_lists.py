"""Call lists run by the emulator: each row a session of the rule, reports, retries, concurrency, priority,
stop and recover, and a restart that resumes. Scenarios as the Voximplant docs write them, through the official
Python client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import aiohttp

from voxsim.app import Emulator
from voxsim.pstn import PstnSettings
from voxsim.runtime import RuntimeSettings, SessionState
from voxsim.testing import ApiCaller, ephemeral_settings

CALLS_THE_ROW = """
VoxEngine.addEventListener(AppEvents.Started, () => {
  const row = JSON.parse(VoxEngine.customData());
  const call = VoxEngine.callPSTN(row.phone, '+15550199');
  call.addEventListener(CallEvents.Connected, () => call.say('Hello ' + row.name));
  call.addEventListener(CallEvents.PlaybackFinished, () =>
    CallList.reportResult({result: true}, VoxEngine.terminate));
  call.addEventListener(CallEvents.Failed, (e) => CallList.reportError({code: e.code}, VoxEngine.terminate));
});
"""

REPORTS_RESULT = """
VoxEngine.addEventListener(AppEvents.Started, () => {
  const row = JSON.parse(VoxEngine.customData());
  CallList.reportResult({phone: row.phone, result: 'greeted ' + row.name}, VoxEngine.terminate);
});
"""

FAILS = """
VoxEngine.addEventListener(AppEvents.Started, async () => {
  const answer = await CallList.reportErrorAsync('busy');
  Logger.write('error reported: ' + answer.code);
  VoxEngine.terminate();
});
"""

SECOND_TIME_LUCKY = """
VoxEngine.addEventListener(AppEvents.Started, () => {
  const row = JSON.parse(VoxEngine.customData());
  if (row.tries === '0') {
    CallList.requestNextAttempt({custom_data: {phone: row.phone, tries: '1'}}, VoxEngine.terminate);
  } else {
    CallList.reportProgress('calling');
    CallList.reportResult('reached on try ' + row.tries, VoxEngine.terminate);
  }
});
"""

# Waits for an HTTP request to its media_session_access_url: "ok" reports a result, "error" an error, "quiet"
# ends the session without a report.
WAITS = """
VoxEngine.addEventListener(AppEvents.Started, () => CallList.reportProgress('waiting'));
VoxEngine.addEventListener(AppEvents.HttpRequest, (e) => {
  if (e.content === 'ok') CallList.reportResult('done', VoxEngine.terminate);
  else if (e.content === 'error') CallList.reportError('failed', VoxEngine.terminate);
  else VoxEngine.terminate();
  return 'bye';
});
"""


async def provision(api: ApiCaller, script: str, name: str = "dialer") -> tuple[int, int]:
    app_id = (await api("add_application", application_name=name))["application_id"]
    scenario_id = (await api("add_scenario", scenario_name=name, scenario_script=script,
                             application_id=app_id))["scenario_id"]
    rule_id = (await api("add_rule", application_id=app_id, rule_name=name, rule_pattern=".*",
                         scenario_id=scenario_id))["rule_id"]
    return app_id, rule_id


async def create(api: ApiCaller, rule_id: int, file_content: str, **options: Any) -> int:
    settings = {"priority": 1, "max_simultaneous": 1, "num_attempts": 1, "name": "calls", **options}
    reply = await api("create_call_list", rule_id=rule_id, file_content=file_content, **settings)
    return int(reply["list_id"])


async def tasks_of(api: ApiCaller, list_id: int) -> list[dict[str, Any]]:
    return list((await api("get_call_list_details", list_id=list_id, output="json"))["result"])


async def eventually(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    """The first truthy value of `check()` (a coroutine function or a plain one), polled."""
    for _ in range(int(timeout / 0.05)):
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError("the condition never held")


async def settled(api: ApiCaller, list_id: int) -> list[dict[str, Any]]:
    async def done() -> list[dict[str, Any]] | None:
        tasks = await tasks_of(api, list_id)
        return tasks if all(t["status_id"] not in (0, 1) for t in tasks) else None

    return await eventually(done)


def live(emulator: Emulator, app_id: int) -> list[Any]:
    """The application's sessions that run (their Started handlers have run)."""
    assert emulator.runtime is not None
    return [s for s in emulator.runtime.live_sessions()
            if s.application_id == app_id and s.state == SessionState.RUNNING]


async def release(session: Any, body: str) -> None:
    """Tells a WAITS session how its attempt ends, and waits for it to end."""
    async with aiohttp.ClientSession() as client, client.post(session.info.access_url, data=body) as resp:
        assert resp.status == 200
    await session.wait_finished(5)


async def attempts(api: ApiCaller, app_id: int) -> int:
    return len((await api("get_call_history", application_id=app_id))["result"])


async def test_a_list_of_three_rows_reports_results(voxsim_api: ApiCaller):
    app_id, rule_id = await provision(voxsim_api, REPORTS_RESULT)
    list_id = await create(voxsim_api, rule_id, "phone,name\n+15550100,Alice\n+15550101,Bob\n+15550102,Carol\n",
                           delimiter=",", max_simultaneous=3)
    tasks = await settled(voxsim_api, list_id)
    assert [t["status"] for t in tasks] == ["Processed"] * 3
    assert [json.loads(t["result_data"])["result"] for t in tasks] == ["greeted Alice", "greeted Bob", "greeted Carol"]
    assert await attempts(voxsim_api, app_id) == 3
    history = (await voxsim_api("get_call_history", application_id=app_id))["result"]
    assert sorted(json.loads(h["custom_data"])["name"] for h in history) == ["Alice", "Bob", "Carol"]
    (info,) = (await voxsim_api("get_call_lists", list_id=list_id))["result"]
    assert info["status"] == "Completed"


async def test_errors_are_retried_every_interval_then_the_task_is_in_error(voxsim_api: ApiCaller,
                                                                           voxsim_emulator: Emulator):
    app_id, rule_id = await provision(voxsim_api, FAILS)
    list_id = await create(voxsim_api, rule_id, "phone\n+15550100\n", num_attempts=3, interval_seconds=0)
    (task,) = await settled(voxsim_api, list_id)
    assert (task["status"], task["result_data"], task["attempts_left"]) == ("Error", "busy", 0)
    assert await attempts(voxsim_api, app_id) == 3
    sessions = (await voxsim_api("get_call_history", application_id=app_id))["result"]
    voxsim_emulator.recorder.flush()
    assert "error reported: 200" in voxsim_emulator.store.get_session_log(sessions[0]["call_session_history_id"])


async def test_request_next_attempt_changes_the_row_for_the_next_attempt(voxsim_api: ApiCaller):
    app_id, rule_id = await provision(voxsim_api, SECOND_TIME_LUCKY)
    list_id = await create(voxsim_api, rule_id, "phone;tries\n+15550100;0\n", num_attempts=2)
    (task,) = await settled(voxsim_api, list_id)
    assert (task["status"], task["result_data"]) == ("Processed", "reached on try 1")
    assert json.loads(task["custom_data"]) == {"phone": "+15550100", "tries": "1"}
    assert await attempts(voxsim_api, app_id) == 2


async def test_max_simultaneous_bounds_the_running_attempts(voxsim_api: ApiCaller, voxsim_emulator: Emulator):
    app_id, rule_id = await provision(voxsim_api, WAITS)
    list_id = await create(voxsim_api, rule_id, "phone\n1\n2\n3\n", max_simultaneous=2)
    first = await eventually(lambda: len(live(voxsim_emulator, app_id)) == 2 and live(voxsim_emulator, app_id))
    tasks = await tasks_of(voxsim_api, list_id)
    assert [t["status"] for t in tasks] == ["In progress", "In progress", "New"]
    assert [t["result_data"] for t in tasks] == ["waiting", "waiting", ""]  # reportProgress
    await release(first[0], "ok")
    third = await eventually(lambda: [s for s in live(voxsim_emulator, app_id) if s not in first])
    assert len(live(voxsim_emulator, app_id)) == 2 and len(third) == 1
    for session in live(voxsim_emulator, app_id):
        await release(session, "ok")
    assert [t["status"] for t in await settled(voxsim_api, list_id)] == ["Processed"] * 3


async def test_stop_then_recover(voxsim_api: ApiCaller, voxsim_emulator: Emulator):
    app_id, rule_id = await provision(voxsim_api, WAITS)
    list_id = await create(voxsim_api, rule_id, "phone\n1\n2\n3\n", num_attempts=2)
    (running,) = await eventually(lambda: live(voxsim_emulator, app_id))

    reply = await voxsim_api("stop_call_list_processing", list_id=list_id)
    assert reply["result"] is True and reply["msg"]
    assert (await voxsim_api("get_call_lists", list_id=list_id))["result"][0]["status"] == "Canceled"
    assert [t["status"] for t in await tasks_of(voxsim_api, list_id)] == ["In progress", "Canceled", "Canceled"]
    await release(running, "error")  # a failed attempt of a stopped list is not retried: canceled too
    await eventually(lambda: not live(voxsim_emulator, app_id))
    assert [t["status"] for t in await tasks_of(voxsim_api, list_id)] == ["Canceled"] * 3
    await asyncio.sleep(0.2)
    assert not live(voxsim_emulator, app_id)  # nothing starts while the list is stopped

    assert (await voxsim_api("recover_call_list", list_id=list_id)) == {"result": True, "count_recovery": 3}
    for _ in range(3):
        session = (await eventually(lambda: live(voxsim_emulator, app_id)))[0]
        await release(session, "ok")
    tasks = await settled(voxsim_api, list_id)
    assert [t["status"] for t in tasks] == ["Processed"] * 3
    assert [t["attempts_left"] for t in tasks] == [0, 1, 1]  # the first one's second attempt
    assert (await voxsim_api("get_call_lists", list_id=list_id))["result"][0]["status"] == "Completed"


async def test_the_higher_priority_list_gets_the_free_session(tmp_path):
    emulator = Emulator(ephemeral_settings(tmp_path / "state", runtime=RuntimeSettings(max_sessions=1)))
    await emulator.start()
    try:
        api = ApiCaller(emulator)
        app_id, rule_id = await provision(api, WAITS)
        low = await create(api, rule_id, "phone\n1\n2\n", priority=5, name="low", max_simultaneous=2)
        (first,) = await eventually(lambda: live(emulator, app_id))  # the one session voxsim runs
        high = await create(api, rule_id, "phone\n9\n", priority=0, name="high")
        await release(first, "ok")
        await eventually(lambda: live(emulator, app_id) and live(emulator, app_id)[0] is not first)
        assert [t["status"] for t in await tasks_of(api, high)] == ["In progress"]
        assert [t["status"] for t in await tasks_of(api, low)] == ["Processed", "New"]
        await release(live(emulator, app_id)[0], "ok")
        await release((await eventually(lambda: live(emulator, app_id)))[0], "ok")
        assert [t["status"] for t in await settled(api, low)] == ["Processed", "Processed"]
    finally:
        await emulator.stop()


async def test_a_restart_resumes_the_list(tmp_path):
    settings = ephemeral_settings(tmp_path / "state")
    first = Emulator(settings)
    await first.start()
    try:
        api = ApiCaller(first)
        app_id, rule_id = await provision(api, WAITS)
        list_id = await create(api, rule_id, "phone\n1\n", num_attempts=2)
        await eventually(lambda: live(first, app_id))
    finally:
        await first.stop()  # while the attempt runs

    second = Emulator(settings)
    await second.start()
    try:
        api = ApiCaller(second)
        (session,) = await eventually(lambda: live(second, app_id))  # the second attempt
        (task,) = await tasks_of(api, list_id)
        assert (task["status"], task["attempts_left"]) == ("In progress", 0)
        await release(session, "ok")
        (task,) = await settled(api, list_id)
        assert (task["status"], task["result_data"]) == ("Processed", "done")
    finally:
        await second.stop()


async def test_the_documented_scenario_calls_each_row(tmp_path):
    settings = ephemeral_settings(tmp_path / "state", pstn=PstnSettings(
        callerid_check=False, answer_after=0.1, numbers=[{"pattern": r"\+15550101", "behaviour": "busy"}]))
    emulator = Emulator(settings)
    await emulator.start()
    try:
        api = ApiCaller(emulator)
        _, rule_id = await provision(api, CALLS_THE_ROW)
        list_id = await create(api, rule_id, "phone;name\n+15550100;Alice\n+15550101;Bob\n", max_simultaneous=2)
        answered, busy = await settled(api, list_id)
        assert (answered["status"], json.loads(answered["result_data"])) == ("Processed", {"result": True})
        assert (busy["status"], json.loads(busy["result_data"])) == ("Error", {"code": 486})
    finally:
        await emulator.stop()
