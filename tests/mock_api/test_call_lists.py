"""CallLists methods through the official Python client: the answers' shapes, the tasks run, the errors."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
from datetime import datetime

import pytest

from voxsim.testing import expect_api_error

pytestmark = pytest.mark.asyncio(loop_scope="module")  # the module's emulator (conftest.py) runs on that loop

REPORTER = """
VoxEngine.addEventListener(AppEvents.Started, () => {
  const row = JSON.parse(VoxEngine.customData());
  CallList.reportResult({phone: row.phone, greeted: row.name}, VoxEngine.terminate);
});
"""
SILENT = "VoxEngine.addEventListener(AppEvents.Started, () => VoxEngine.terminate());"
CSV_ROWS = "phone;name\n+15550100;Alice\n+15550101;Bob\n"


async def provision(api, script: str = REPORTER, name: str = "dialer") -> tuple[int, int]:
    app_id = (await api("add_application", application_name=name))["application_id"]
    scenario_id = (await api("add_scenario", scenario_name=name, scenario_script=script,
                             application_id=app_id))["scenario_id"]
    rule_id = (await api("add_rule", application_id=app_id, rule_name=name, rule_pattern=".*",
                         scenario_id=scenario_id))["rule_id"]
    return app_id, rule_id


async def create(api, rule_id: int, file_content: str = CSV_ROWS, **options) -> dict:
    settings = {"priority": 1, "max_simultaneous": 2, "num_attempts": 2, "name": "calls", **options}
    return await api("create_call_list", rule_id=rule_id, file_content=file_content, **settings)


async def details(api, list_id: int) -> list[dict]:
    return (await api("get_call_list_details", list_id=list_id, output="json"))["result"]


async def settled(api, list_id: int, timeout: float = 10.0) -> list[dict]:
    """The list's tasks once none is New or In progress."""
    for _ in range(int(timeout / 0.05)):
        tasks = await details(api, list_id)
        if all(t["status_id"] not in (0, 1) for t in tasks):
            return tasks
        await asyncio.sleep(0.05)
    raise AssertionError(f"the call list did not settle: {tasks}")


async def test_create_run_and_details(api):
    _, rule_id = await provision(api)
    reply = await create(api, rule_id)
    assert reply["result"] is True and reply["count"] == 2 and isinstance(reply["list_id"], int)
    assert isinstance(reply["batch_id"], str)
    tasks = await settled(api, reply["list_id"])
    assert [t["status"] for t in tasks] == ["Processed", "Processed"]
    assert [json.loads(t["result_data"]) for t in tasks] == [{"phone": "+15550100", "greeted": "Alice"},
                                                             {"phone": "+15550101", "greeted": "Bob"}]
    assert json.loads(tasks[0]["custom_data"]) == {"phone": "+15550100", "name": "Alice"}
    assert tasks[0]["attempts_left"] == 1 and tasks[0]["last_attempt"] is not None
    assert tasks[0]["start_execution_time"] is None  # no daily window: empty, which the client reads as None

    lists = await api("get_call_lists", list_id=reply["list_id"])
    (info,) = lists["result"]
    assert lists["total_count"] == 1 and info["status"] == "Completed" and info["dt_complete"] is not None
    assert (info["list_name"], info["rule_id"], info["num_attempts"]) == ("calls", rule_id, 2)

    csv_reply = await api("get_call_list_details", list_id=reply["list_id"])
    table = list(csv.DictReader(io.StringIO(csv_reply["file_content"]), delimiter=";"))
    assert [r["status"] for r in table] == ["Processed", "Processed"]
    assert table[1]["task_id"] == str(tasks[1]["task_id"])


async def test_unreported_sessions_are_retried_until_error(api):
    _, rule_id = await provision(api, SILENT, "silent")
    reply = await create(api, rule_id, "phone\n1\n", num_attempts=3, delimiter=",")
    (task,) = await settled(api, reply["list_id"])
    assert task["status"] == "Error" and task["attempts_left"] == 0
    assert "without a report" in task["result_data"]


async def test_errors(api):
    _, rule_id = await provision(api)
    await expect_api_error(api, 147, "create_call_list", rule_id=999999, priority=1, max_simultaneous=1,
                           num_attempts=1, name="x", file_content=CSV_ROWS)
    await expect_api_error(api, 249, "create_call_list", rule_id=rule_id, priority=1, max_simultaneous=1,
                           num_attempts=6, name="x", file_content=CSV_ROWS)
    await expect_api_error(api, 248, "create_call_list", rule_id=rule_id, priority=1, max_simultaneous=0,
                           num_attempts=1, name="x", file_content=CSV_ROWS)
    await expect_api_error(api, 253, "create_call_list", rule_id=rule_id, priority=1, max_simultaneous=1,
                           num_attempts=1, name="a/b", file_content=CSV_ROWS)
    await expect_api_error(api, 250, "create_call_list", rule_id=rule_id, priority=1, max_simultaneous=1,
                           num_attempts=1, name="x", file_content="phone;name\n")
    await expect_api_error(api, 251, "get_call_list_details", list_id=999999)
    await expect_api_error(api, 251, "stop_call_list_processing", list_id=999999)


async def test_append_edit_cancel_delete_and_filters(api):
    app_id, rule_id = await provision(api)
    later = int(time.time()) + 86_400  # nothing runs: the list starts tomorrow
    reply = await create(api, rule_id, start_at=later, name="tomorrow")
    list_id = reply["list_id"]
    appended = await api("append_to_call_list", list_id=list_id, file_content="phone,name\n+15550102,Carol\n",
                         delimiter=",")
    assert appended["result"] is True and appended["count"] == 1 and appended["batch_id"] != reply["batch_id"]
    batch = (await api("get_call_list_details", list_id=list_id, output="json", batch_id=appended["batch_id"]))
    assert [json.loads(t["custom_data"])["name"] for t in batch["result"]] == ["Carol"]

    first, second, third = await details(api, list_id)
    assert [t["status"] for t in (first, second, third)] == ["New"] * 3
    edited = await api("edit_call_list_task", list_id=list_id, task_id=first["task_id"], attempts_left=5,
                       custom_data='{"phone": "+15550199"}', start_at=datetime(2030, 1, 1, 9, 0),
                       min_execution_time=datetime(2030, 1, 1, 9, 0), max_execution_time=datetime(2030, 1, 1, 18, 0))
    assert edited["result"] is True
    first = (await details(api, list_id))[0]
    assert (first["attempts_left"], first["custom_data"]) == (5, '{"phone": "+15550199"}')
    assert first["start_execution_time"].strftime("%H:%M:%S") == "09:00:00"  # the client's datetime
    assert first["finish_execution_time"].strftime("%H:%M:%S") == "18:00:00"

    canceled = await api("cancel_call_list_task", account_id=api.client.account_id, list_id=list_id,
                         tasks_ids=[second["task_id"]])
    assert canceled == {"result": True, "task_id": second["task_id"], "task_uuid": second["task_uuid"]}
    again = await api("cancel_call_list_task", account_id=api.client.account_id, list_id=list_id,
                      tasks_uuids=[second["task_uuid"]])
    assert again["result"] is False and "Canceled" in again["error_msg"]
    assert (await api("cancel_call_list_batch", list_id=list_id, batch_ids=appended["batch_id"]))["result"] is True
    assert [t["status"] for t in await details(api, list_id)] == ["New", "Canceled", "Canceled"]

    other = (await create(api, rule_id, start_at=later, name="other list"))["list_id"]
    names = [c["list_name"] for c in (await api("get_call_lists", application_id=app_id))["result"]]
    assert names == ["other list", "tomorrow"]  # newest first
    assert [c["list_id"] for c in (await api("get_call_lists", name="other"))["result"]] == [other]
    assert (await api("get_call_lists", is_active=False))["result"] == []
    assert (await api("get_call_lists", rule_name="dialer", count=1))["total_count"] == 2

    deleted = await api("delete_call_list", list_id=other)
    assert deleted["result"] is True and deleted["msg"]
    await expect_api_error(api, 251, "get_call_list_details", list_id=other)
    await expect_api_error(api, 496, "get_call_list_details", list_id=list_id, output="xls")
    await expect_api_error(api, 496, "edit_call_list_task", list_id=list_id, task_id=999999, attempts_left=1)
    await expect_api_error(api, 115, "cancel_call_list_task", account_id=1, list_id=list_id, tasks_ids=[1])


async def test_edit_call_list(api):
    _, rule_id = await provision(api)
    list_id = (await create(api, rule_id, start_at=int(time.time()) + 86_400))["list_id"]
    assert (await api("edit_call_list", list_id=list_id, name="renamed", max_simultaneous=5,
                      interval_seconds=30))["result"] is True
    (info,) = (await api("get_call_lists", list_id=list_id))["result"]
    assert (info["list_name"], info["max_simultaneous"], info["interval_seconds"], info["num_attempts"]) == \
        ("renamed", 5, 30, 2)
    await expect_api_error(api, 249, "edit_call_list", list_id=list_id, num_attempts=0)
    await expect_api_error(api, 251, "edit_call_list", list_id=999999, name="x")
