"""Call lists in the store: CSV rows, the tasks' life (attempts, retries, stop and recover, cancel, edit), and what
a restart finds; the dispatcher's due times."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from voxsim.call_lists import rows
from voxsim.call_lists.dispatcher import due_at, next_attempt_changes
from voxsim.store import Store
from voxsim.store.call_lists import (
    CALL_SERVICE_ERROR,
    COMPLETED,
    ERROR,
    IN_PROGRESS,
    INVALID_NAME,
    INVALID_NUM_ATTEMPTS,
    NEW,
    PROCESSED,
    TASK_CANCELED,
    TASK_IN_PROGRESS,
    ListSettings,
    TaskChanges,
)

from .conftest import code_of

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC).timestamp()  # noon UTC
CSV = "phone;name;__task_uuid\n+15550100;Alice;a-1\n+15550101;Bob;\n"


@pytest.fixture
def rule(store: Store, apps: tuple[int, int]):
    return store.add_rule(1, apps[0], "dial", ".*")


def settings(**changes) -> ListSettings:
    return ListSettings(**{"name": "calls", "priority": 1, "max_simultaneous": 1, "num_attempts": 2, **changes})


def test_rows_keep_the_row_and_read_the_service_columns():
    first, second = rows.parse(CSV)
    assert json.loads(first.custom_data) == {"phone": "+15550100", "name": "Alice", "__task_uuid": "a-1"}
    assert (first.task_uuid, second.task_uuid) == ("a-1", None)
    (timed,) = rows.parse('phone,__start_at,__start_execution_time,__end_execution_time\n"1",100,9:00,17:30:00\n',
                          delimiter=",")
    assert (timed.start_at, timed.start_execution_time, timed.end_execution_time) == (100, "09:00:00", "17:30:00")


@pytest.mark.parametrize("text", ["", "phone\n", "a;a\n1;2\n", "phone\n1;2\n", "phone;__start_at\n1;soon\n",
                                  "phone;__start_execution_time\n1;25:00\n", "phone;__task_uuid\n1;no spaces\n"])
def test_rows_refuse_what_is_not_a_call_list(text: str):
    assert code_of(rows.parse, text) == rows.INVALID_CSV_FILE


def test_daily_windows():
    assert rows.in_window(NOW, "09:00:00", "17:00:00") and not rows.in_window(NOW, "13:00:00", "17:00:00")
    assert rows.in_window(NOW, "22:00:00", "13:00:00")  # across midnight
    assert rows.window_opens(NOW, "13:00:00") == NOW + 3600
    assert rows.window_opens(NOW, "09:00:00") == NOW + 21 * 3600  # tomorrow


def test_create_and_settle_attempts(store: Store, rule):
    call_list, batch = store.create_call_list(1, rule, settings(), rows.parse(CSV), NOW)
    assert call_list.status == IN_PROGRESS and call_list.application_id == rule.application_id
    first, second = store.call_list_tasks(call_list.list_id)
    assert (first.task_uuid, first.status_id, first.attempts_left, first.batch_id) == ("a-1", NEW, 2, batch)
    assert [t.task_id for t in store.waiting_tasks(call_list)] == [first.task_id, second.task_id]

    store.begin_attempt(first.task_id, 0, NOW)
    store.attach_session(first.task_id, 77)
    assert store.running_call_list_task(77).task_id == first.task_id
    store.set_result_data(first.task_id, "busy")
    store.finish_attempt(first.task_id, succeeded=False, now=NOW, next_at=NOW + 30, note="ignored: data given")
    task = store.get_call_list_task(call_list.list_id, task_id=first.task_id)
    assert (task.status_id, task.attempts_left, task.start_at, task.result_data) == (TASK_IN_PROGRESS, 1, NOW + 30,
                                                                                     "busy")
    store.begin_attempt(first.task_id, 78, NOW + 30)
    store.finish_attempt(first.task_id, succeeded=False, now=NOW + 30, next_at=NOW + 60, note="no report")
    task = store.get_call_list_task(call_list.list_id, task_uuid="a-1")
    assert (task.status_id, task.attempts_left, task.result_data, task.session_id) == (ERROR, 0, "no report", None)

    store.begin_attempt(second.task_id, 79, NOW)
    store.finish_attempt(second.task_id, succeeded=True, now=NOW, next_at=NOW)
    assert store.get_call_list(1, call_list.list_id).status == COMPLETED
    assert store.get_call_list(1, call_list.list_id).api()["dt_complete"] == "2026-03-02 12:00:00"
    api = store.get_call_list_task(call_list.list_id, task_id=second.task_id).api()
    assert (api["status"], api["status_id"], api["start_execution_time"]) == ("Processed", PROCESSED, "")


def test_stop_recover_cancel_edit(store: Store, rule):
    call_list, _ = store.create_call_list(1, rule, settings(), rows.parse(CSV + "+15550102;Carol;\n"), NOW)
    first, second, third = store.call_list_tasks(call_list.list_id)
    store.begin_attempt(first.task_id, 5, NOW)  # running while the list stops
    store.stop_call_list(1, call_list.list_id)
    assert [t.status_id for t in store.call_list_tasks(call_list.list_id)] == [TASK_IN_PROGRESS, TASK_CANCELED,
                                                                               TASK_CANCELED]
    assert store.active_call_lists() == []
    store.finish_attempt(first.task_id, succeeded=False, now=NOW, next_at=NOW)  # would be retried: canceled too
    assert store.recover_call_list(1, call_list.list_id) == 3
    assert [t.status_id for t in store.call_list_tasks(call_list.list_id)] == [TASK_IN_PROGRESS, NEW, NEW]

    (done,) = store.cancel_call_list_tasks(1, call_list.list_id, task_ids=[second.task_id])
    assert done.canceled and done.task_uuid == second.task_uuid
    (again,) = store.cancel_call_list_tasks(1, call_list.list_id, task_uuids=[second.task_uuid])
    assert not again.canceled and "Canceled" in again.error

    edited = store.edit_call_list_task(third, TaskChanges(attempts_left=4, custom_data='{"phone": "1"}',
                                                          start_execution_time="09:00:00"))
    assert (edited.attempts_left, edited.custom_data, edited.start_execution_time) == (4, '{"phone": "1"}',
                                                                                       "09:00:00")
    assert edited.api()["start_execution_time"] == "1970-01-01 09:00:00"
    store.delete_call_list(1, call_list.list_id)
    assert code_of(store.get_call_list, 1, call_list.list_id) == CALL_SERVICE_ERROR


def test_refusals(store: Store, rule):
    assert code_of(store.create_call_list, 1, rule, settings(num_attempts=6), rows.parse(CSV), NOW) == \
        INVALID_NUM_ATTEMPTS
    assert code_of(store.create_call_list, 1, rule, settings(name="a\\b"), rows.parse(CSV), NOW) == INVALID_NAME
    assert code_of(store.create_call_list, 1, rule, settings(), rows.parse(CSV + "1;x;a-1\n"), NOW) == \
        rows.INVALID_CSV_FILE  # __task_uuid twice
    assert code_of(store.get_call_list, 2, 1) == CALL_SERVICE_ERROR  # not the account's


def test_a_reopened_store_has_its_interrupted_attempts(tmp_path: Path):
    path = str(tmp_path / "voxsim.db")
    store = Store(path)
    store.create_account(1, "acc", "a@example.com", "key")
    app = store.add_application(1, "one")
    call_list, _ = store.create_call_list(1, store.add_rule(1, app.application_id, "dial", ".*"), settings(),
                                          rows.parse(CSV), NOW)
    first = store.call_list_tasks(call_list.list_id)[0]
    store.begin_attempt(first.task_id, 9, NOW)
    store.close()
    again = Store(path)
    assert [t.task_id for t in again.interrupted_call_list_tasks()] == [first.task_id]
    again.close()


def test_due_times_and_next_attempt_changes(store: Store, rule):
    call_list, _ = store.create_call_list(1, rule, settings(), rows.parse(
        "phone;__start_execution_time;__end_execution_time;__start_at\n1;13:00;14:00;0\n2;;;"
        f"{int(NOW) + 60}\n"), NOW)
    windowed, later = store.call_list_tasks(call_list.list_id)
    assert due_at(windowed, NOW) == NOW + 3600 and due_at(later, NOW) == NOW + 60
    changes = next_attempt_changes({"start_at": NOW + 5, "attempts_left": 2, "custom_data": {"a": 1},
                                    "end_execution_time": "18:00"})
    assert changes == TaskChanges(start_at=int(NOW) + 5, attempts_left=2, custom_data='{"a": 1}',
                                  end_execution_time="18:00:00")
    assert code_of(next_attempt_changes, {"attempts_left": -1}) == 496
    assert code_of(next_attempt_changes, "tomorrow") == 496
