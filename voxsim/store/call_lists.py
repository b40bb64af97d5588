"""Call lists: CSV files whose rows are tasks, each run as a session of the list's rule until it succeeds.

The Management API's CallLists methods create, show, stop, recover and edit them; the dispatcher
(voxsim/call_lists/dispatcher.py) reads the tasks that are due and writes what each attempt came to. All of
it lives here, so that an emulator that restarts resumes its lists where they were.

A task's `status_id` is the platform's: 0 New (never attempted), 1 In progress (an attempt runs, or the next
one waits for its time), 2 Processed (the scenario reported a result), 3 Error (no attempt left), 4 Canceled
(CancelCallListTask, or StopCallListProcessing: those `stopped` come back with RecoverCallList). A list is "In
progress" until none of its tasks is New or In progress ("Completed"), or "Canceled" once stopped.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from voxsim.call_lists.rows import Row, bad_csv
from voxsim.errors import VoxError, invalid
from voxsim.model import Record, Rule
from voxsim.store.base import StoreBase, name_part_filter
from voxsim.store.db import timestamp

if TYPE_CHECKING:
    from voxsim.model import Application

SCHEMA = """
CREATE TABLE IF NOT EXISTS call_lists (
    list_id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(account_id) ON DELETE CASCADE,
    application_id INTEGER NOT NULL REFERENCES applications(application_id) ON DELETE CASCADE,
    rule_id INTEGER NOT NULL,
    list_name TEXT NOT NULL,
    priority INTEGER NOT NULL,
    max_simultaneous INTEGER NOT NULL,
    num_attempts INTEGER NOT NULL,
    interval_seconds INTEGER NOT NULL DEFAULT 0,
    task_priority_strategy TEXT NOT NULL DEFAULT 'first_attempts',
    list_custom_data TEXT NOT NULL DEFAULT '',
    start_at INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'In progress',
    dt_submit TEXT NOT NULL,
    dt_complete TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS call_list_tasks (
    task_id INTEGER PRIMARY KEY AUTOINCREMENT,
    list_id INTEGER NOT NULL REFERENCES call_lists(list_id) ON DELETE CASCADE,
    task_uuid TEXT NOT NULL,
    batch_id TEXT NOT NULL,
    custom_data TEXT NOT NULL,
    status_id INTEGER NOT NULL DEFAULT 0,
    attempts_left INTEGER NOT NULL,
    attempts_made INTEGER NOT NULL DEFAULT 0,
    start_at INTEGER NOT NULL DEFAULT 0,
    start_execution_time TEXT NOT NULL DEFAULT '',
    end_execution_time TEXT NOT NULL DEFAULT '',
    last_attempt TEXT NOT NULL DEFAULT '',
    result_data TEXT NOT NULL DEFAULT '',
    session_id INTEGER,
    stopped INTEGER NOT NULL DEFAULT 0,
    UNIQUE (list_id, task_uuid)
);
CREATE INDEX IF NOT EXISTS call_list_tasks_due ON call_list_tasks(list_id, status_id, start_at);
CREATE INDEX IF NOT EXISTS call_list_tasks_session ON call_list_tasks(session_id);
"""

# Error codes of the CallLists methods (APIErrorCode of the official Node client).
INVALID_PRIORITY = 247
INVALID_MAX_SIMULTANEOUS = 248
INVALID_NUM_ATTEMPTS = 249
CALL_SERVICE_ERROR = 251  # what the platform answers for a list id it does not know
INVALID_NAME = 253
INVALID_LIST_ID = 255

IN_PROGRESS, COMPLETED, CANCELED = "In progress", "Completed", "Canceled"
NEW, TASK_IN_PROGRESS, PROCESSED, ERROR, TASK_CANCELED = 0, 1, 2, 3, 4
TASK_STATUS = {NEW: "New", TASK_IN_PROGRESS: "In progress", PROCESSED: "Processed", ERROR: "Error",
               TASK_CANCELED: "Canceled"}
OPEN = (NEW, TASK_IN_PROGRESS)
MAX_ATTEMPTS = 5
MAX_PRIORITY = 2**31
MAX_NAME = 255
STRATEGIES = ("first_attempts", "repeated_attempts")
TIME_OF_DAY_DATE = "1970-01-01"  # the date of the daily window's bounds, which the clients parse as timestamps


def _moment(now: float) -> str:
    return timestamp(datetime.fromtimestamp(now, UTC))


class CallList(Record):
    list_id: int
    account_id: int
    application_id: int
    rule_id: int
    list_name: str
    priority: int
    max_simultaneous: int
    num_attempts: int
    interval_seconds: int = 0
    task_priority_strategy: str = "first_attempts"
    list_custom_data: str = ""
    start_at: int = 0
    """UNIX seconds: no task starts before (0: at once)."""
    status: str = IN_PROGRESS
    dt_submit: str
    dt_complete: str = ""

    def api(self) -> dict[str, Any]:
        """The platform's CallListType (`dt_complete` only once the list completed)."""
        info: dict[str, Any] = {
            "list_id": self.list_id, "list_name": self.list_name, "priority": self.priority,
            "rule_id": self.rule_id, "max_simultaneous": self.max_simultaneous, "num_attempts": self.num_attempts,
            "dt_submit": self.dt_submit, "interval_seconds": self.interval_seconds, "status": self.status,
            "task_priority_strategy": self.task_priority_strategy,
        }
        if self.dt_complete:
            info["dt_complete"] = self.dt_complete
        return info


class CallListTask(Record):
    task_id: int
    list_id: int
    task_uuid: str
    batch_id: str
    custom_data: str
    status_id: int = NEW
    attempts_left: int
    attempts_made: int = 0
    start_at: int = 0
    """UNIX seconds: the next attempt not before."""
    start_execution_time: str = ""
    end_execution_time: str = ""
    last_attempt: str = ""
    result_data: str = ""
    session_id: int | None = None
    """The call_session_history_id of the attempt running now (0 while its session starts)."""
    stopped: bool = False

    @property
    def status(self) -> str:
        return TASK_STATUS[self.status_id]

    def api(self) -> dict[str, Any]:
        """The platform's CallListDetailType. The daily window's bounds are timestamps on 1970-01-01 (the official
        clients parse these fields as timestamps), empty when the task has none."""
        return {
            "list_id": self.list_id, "task_id": self.task_id, "task_uuid": self.task_uuid,
            "custom_data": self.custom_data,
            "start_execution_time": _window_bound(self.start_execution_time),
            "finish_execution_time": _window_bound(self.end_execution_time),
            "result_data": self.result_data, "last_attempt": self.last_attempt,
            "attempts_left": self.attempts_left, "status_id": self.status_id, "status": self.status,
        }


def _window_bound(time_of_day: str) -> str:
    return f"{TIME_OF_DAY_DATE} {time_of_day}" if time_of_day else ""


@dataclass(frozen=True)
class ListSettings:
    """What CreateCallList configures (EditCallList would change the same)."""

    name: str
    priority: int
    max_simultaneous: int
    num_attempts: int
    interval_seconds: int = 0
    start_at: int = 0
    task_priority_strategy: str = "first_attempts"
    list_custom_data: str = ""

    def checked(self) -> ListSettings:
        """Itself, or the platform's error for the first value out of its range."""
        if not self.name or len(self.name) > MAX_NAME or "/" in self.name or "\\" in self.name:
            raise invalid("name", INVALID_NAME)
        if not 0 <= self.priority <= MAX_PRIORITY:
            raise invalid("priority", INVALID_PRIORITY)
        if self.max_simultaneous < 1:
            raise invalid("max_simultaneous", INVALID_MAX_SIMULTANEOUS)
        if not 1 <= self.num_attempts <= MAX_ATTEMPTS:
            raise invalid("num_attempts", INVALID_NUM_ATTEMPTS)
        if self.interval_seconds < 0:
            raise invalid("interval_seconds")
        if self.task_priority_strategy not in STRATEGIES:
            raise invalid("task_priority_strategy")
        return self


@dataclass(frozen=True)
class TaskChanges:
    """What EditCallListTask and a scenario's `CallList.requestNextAttempt` may change of a task (None: kept)."""

    start_at: int | None = None
    attempts_left: int | None = None
    custom_data: str | None = None
    start_execution_time: str | None = None
    end_execution_time: str | None = None


@dataclass(frozen=True)
class Cancellation:
    """What CancelCallListTask did to one task it named."""

    task_id: int | None
    task_uuid: str | None
    canceled: bool
    error: str = ""


class CallListsMixin(StoreBase):
    if TYPE_CHECKING:  # provided by the other families of the composed Store
        def get_application(self, account_id: int, *, application_id: int | None = None,
                            application_name: str | None = None) -> Application: ...

    # -- the Management API's side ---------------------------------------------------------------
    def create_call_list(self, account_id: int, rule: Rule, settings: ListSettings, rows: Sequence[Row],
                         now: float) -> tuple[CallList, str]:
        """A new list of `rows` for `rule`, in progress at once; returns it and the batch id of its tasks."""
        settings = settings.checked()
        with self.db.tx():
            list_id = self.db.insert(
                "INSERT INTO call_lists (account_id, application_id, rule_id, list_name, priority, max_simultaneous,"
                " num_attempts, interval_seconds, task_priority_strategy, list_custom_data, start_at, dt_submit)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (account_id, rule.application_id, rule.rule_id, settings.name, settings.priority,
                 settings.max_simultaneous, settings.num_attempts, settings.interval_seconds,
                 settings.task_priority_strategy, settings.list_custom_data, max(settings.start_at, 0),
                 _moment(now)))
            batch_id = self._add_tasks(list_id, settings.num_attempts, rows)
        return self.get_call_list(account_id, list_id), batch_id

    def edit_call_list(self, account_id: int, list_id: int, settings: ListSettings) -> CallList:
        """New settings for the list (the tasks keep the attempts they have left)."""
        self.get_call_list(account_id, list_id)
        settings = settings.checked()
        with self.db.tx():
            self.db.execute(
                "UPDATE call_lists SET list_name = ?, priority = ?, max_simultaneous = ?, num_attempts = ?, "
                "interval_seconds = ?, start_at = ?, task_priority_strategy = ?, list_custom_data = ? "
                "WHERE list_id = ?",
                (settings.name, settings.priority, settings.max_simultaneous, settings.num_attempts,
                 settings.interval_seconds, max(settings.start_at, 0), settings.task_priority_strategy,
                 settings.list_custom_data, list_id))
        return self.get_call_list(account_id, list_id)

    def append_to_call_list(self, account_id: int, list_id: int, rows: Sequence[Row]) -> tuple[CallList, str]:
        """More tasks for the list (a completed list is in progress again; a stopped one stays stopped)."""
        call_list = self.get_call_list(account_id, list_id)
        with self.db.tx():
            batch_id = self._add_tasks(list_id, call_list.num_attempts, rows)
            if call_list.status == COMPLETED:
                self.db.execute("UPDATE call_lists SET status = ?, dt_complete = '' WHERE list_id = ?",
                                (IN_PROGRESS, list_id))
        return self.get_call_list(account_id, list_id), batch_id

    def _add_tasks(self, list_id: int, attempts: int, rows: Sequence[Row]) -> str:
        batch_id = str(uuid.uuid4())
        taken = {r["task_uuid"] for r in self.db.all("SELECT task_uuid FROM call_list_tasks WHERE list_id = ?",
                                                      (list_id,))}
        for row in rows:
            task_uuid = row.task_uuid or str(uuid.uuid4())
            if task_uuid in taken:
                raise bad_csv(f"the __task_uuid {task_uuid!r} is not unique in the call list")
            taken.add(task_uuid)
            self.db.execute(
                "INSERT INTO call_list_tasks (list_id, task_uuid, batch_id, custom_data, attempts_left, start_at,"
                " start_execution_time, end_execution_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (list_id, task_uuid, batch_id, row.custom_data, attempts, row.start_at, row.start_execution_time,
                 row.end_execution_time))
        return batch_id

    def get_call_list(self, account_id: int, list_id: int) -> CallList:
        """The account's list (251 when it has none of that id, as the platform answers)."""
        row = self.db.one("SELECT * FROM call_lists WHERE list_id = ? AND account_id = ?", (list_id, account_id))
        if row is None:
            raise VoxError(CALL_SERVICE_ERROR, f"Call list {list_id} not found")
        return CallList(**row)

    def find_call_lists(self, account_id: int, *, list_ids: Sequence[int] | None = None, name: str | None = None,
                        is_active: bool | None = None, from_date: str | None = None, to_date: str | None = None,
                        application_ids: Sequence[int] | None = None, rule_ids: Sequence[int] | None = None,
                        status: str | None = None) -> list[CallList]:
        """The account's lists, newest first, that pass every filter given (`name`: a part of the name)."""
        lists = [CallList(**r) for r in self.db.all(
            "SELECT * FROM call_lists WHERE account_id = ? ORDER BY list_id DESC", (account_id,))]

        def keep(c: CallList) -> bool:
            return ((list_ids is None or c.list_id in list_ids) and name_part_filter(name, c.list_name)
                    and (is_active is None or (c.status == IN_PROGRESS) == is_active)
                    and (from_date is None or c.dt_submit >= from_date) and (to_date is None or c.dt_submit <= to_date)
                    and (application_ids is None or c.application_id in application_ids)
                    and (rule_ids is None or c.rule_id in rule_ids)
                    and (status is None or c.status.lower() == status.lower()))

        return [c for c in lists if keep(c)]

    def call_list_tasks(self, list_id: int, *, batch_id: str | None = None) -> list[CallListTask]:
        """The list's tasks in the file's order (of one batch when `batch_id` is given)."""
        sql, args = "SELECT * FROM call_list_tasks WHERE list_id = ?", list[Any]([list_id])
        if batch_id is not None:
            sql += " AND batch_id = ?"
            args.append(batch_id)
        return [CallListTask(**r) for r in self.db.all(sql + " ORDER BY task_id", args)]

    def get_call_list_task(self, list_id: int, *, task_id: int | None = None,
                           task_uuid: str | None = None) -> CallListTask:
        """A task of the list by id or uuid (496 naming the parameter when there is none)."""
        if task_id is not None:
            row = self.db.one("SELECT * FROM call_list_tasks WHERE list_id = ? AND task_id = ?", (list_id, task_id))
            if row is None:
                raise invalid("task_id")
        else:
            row = self.db.one("SELECT * FROM call_list_tasks WHERE list_id = ? AND task_uuid = ?",
                              (list_id, task_uuid))
            if row is None:
                raise invalid("task_uuid")
        return CallListTask(**row)

    def stop_call_list(self, account_id: int, list_id: int) -> CallList:
        """Canceled: no new attempt starts; its waiting tasks are canceled as `stopped` (RecoverCallList brings them
        back). Attempts running now go on and are settled when their sessions end."""
        call_list = self.get_call_list(account_id, list_id)
        with self.db.tx():
            self.db.execute("UPDATE call_list_tasks SET status_id = ?, stopped = 1 WHERE list_id = ? "
                            "AND status_id IN (?, ?) AND session_id IS NULL", (TASK_CANCELED, list_id, *OPEN))
            if call_list.status == IN_PROGRESS:
                self.db.execute("UPDATE call_lists SET status = ? WHERE list_id = ?", (CANCELED, list_id))
        return self.get_call_list(account_id, list_id)

    def recover_call_list(self, account_id: int, list_id: int) -> int:
        """The tasks a stop canceled are back where they were; the list is in progress. Returns how many."""
        self.get_call_list(account_id, list_id)
        with self.db.tx():
            count = self.db.execute(
                "UPDATE call_list_tasks SET status_id = CASE WHEN attempts_made = 0 THEN ? ELSE ? END, stopped = 0 "
                "WHERE list_id = ? AND stopped = 1", (NEW, TASK_IN_PROGRESS, list_id)).rowcount
            self.db.execute("UPDATE call_lists SET status = ?, dt_complete = '' WHERE list_id = ? AND status = ?",
                            (IN_PROGRESS, list_id, CANCELED))
            self._complete_if_done(list_id, None)
        return int(count)

    def cancel_call_list_tasks(self, account_id: int, list_id: int, *, task_ids: Sequence[int] = (),
                               task_uuids: Sequence[str] = ()) -> list[Cancellation]:
        """Cancels each task named that is still New or In progress (a running attempt goes on, its outcome
        ignored)."""
        self.get_call_list(account_id, list_id)
        named: list[tuple[int | None, str | None]] = [(i, None) for i in task_ids] + [(None, u) for u in task_uuids]
        done = []
        with self.db.tx():
            for task_id, task_uuid in named:
                done.append(self._cancel_one(list_id, task_id, task_uuid))
            self._complete_if_done(list_id, None)
        return done

    def _cancel_one(self, list_id: int, task_id: int | None, task_uuid: str | None) -> Cancellation:
        try:
            task = self.get_call_list_task(list_id, task_id=task_id, task_uuid=task_uuid)
        except VoxError as err:
            return Cancellation(task_id, task_uuid, False, err.msg)
        if task.status_id not in OPEN:
            return Cancellation(task.task_id, task.task_uuid, False, f"The task is {task.status}")
        self.db.execute("UPDATE call_list_tasks SET status_id = ?, stopped = 0 WHERE task_id = ?",
                        (TASK_CANCELED, task.task_id))
        return Cancellation(task.task_id, task.task_uuid, True)

    def edit_call_list_task(self, task: CallListTask, changes: TaskChanges) -> CallListTask:
        """Applies `changes`. Attempts left given to a task that ran out of them (Error) open it again."""
        sets: dict[str, Any] = {}
        if changes.start_at is not None:
            sets["start_at"] = max(changes.start_at, 0)
        if changes.attempts_left is not None:
            if changes.attempts_left < 0:
                raise invalid("attempts_left")
            sets["attempts_left"] = changes.attempts_left
            if changes.attempts_left > 0 and task.status_id == ERROR:
                sets["status_id"] = TASK_IN_PROGRESS
        for name in ("custom_data", "start_execution_time", "end_execution_time"):
            if getattr(changes, name) is not None:
                sets[name] = getattr(changes, name)
        if sets:
            with self.db.tx():
                assignments = ", ".join(f"{column} = ?" for column in sets)  # column names are ours, never input
                self.db.execute(f"UPDATE call_list_tasks SET {assignments} WHERE task_id = ?",
                                (*sets.values(), task.task_id))
                if sets.get("status_id") == TASK_IN_PROGRESS:
                    self.db.execute("UPDATE call_lists SET status = ?, dt_complete = '' WHERE list_id = ? "
                                    "AND status = ?", (IN_PROGRESS, task.list_id, COMPLETED))
        return self.get_call_list_task(task.list_id, task_id=task.task_id)

    def delete_call_list(self, account_id: int, list_id: int) -> None:
        self.get_call_list(account_id, list_id)
        with self.db.tx():
            self._delete_rows("call_lists", "list_id", [list_id])

    # -- the dispatcher's side --------------------------------------------------------------------
    def active_call_lists(self) -> list[CallList]:
        """Every account's lists in progress, the highest priority (the lowest value) first."""
        return [CallList(**r) for r in self.db.all(
            "SELECT * FROM call_lists WHERE status = ? ORDER BY priority, list_id", (IN_PROGRESS,))]

    def waiting_tasks(self, call_list: CallList) -> list[CallListTask]:
        """The list's tasks that wait for an attempt (whatever their time), in the order its
        `task_priority_strategy` gives: first attempts first, or repeated ones."""
        order = "attempts_made DESC" if call_list.task_priority_strategy == "repeated_attempts" else "attempts_made"
        return [CallListTask(**r) for r in self.db.all(
            "SELECT * FROM call_list_tasks WHERE list_id = ? AND status_id IN (?, ?) AND session_id IS NULL "
            f"AND attempts_left > 0 ORDER BY {order}, task_id", (call_list.list_id, *OPEN))]

    def call_list_by_id(self, list_id: int) -> CallList | None:
        """Any account's list (the dispatcher's view), or None when it was deleted."""
        row = self.db.one("SELECT * FROM call_lists WHERE list_id = ?", (list_id,))
        return CallList(**row) if row is not None else None

    def call_list_task_by_id(self, task_id: int) -> CallListTask | None:
        row = self.db.one("SELECT * FROM call_list_tasks WHERE task_id = ?", (task_id,))
        return CallListTask(**row) if row is not None else None

    def running_call_list_task(self, session_id: int) -> CallListTask | None:
        row = self.db.one("SELECT * FROM call_list_tasks WHERE session_id = ?", (session_id,))
        return CallListTask(**row) if row is not None else None

    def interrupted_call_list_tasks(self) -> list[CallListTask]:
        """Tasks whose attempt was running when the emulator stopped (their sessions are gone)."""
        return [CallListTask(**r) for r in self.db.all(
            "SELECT * FROM call_list_tasks WHERE session_id IS NOT NULL ORDER BY task_id")]

    def begin_attempt(self, task_id: int, session_id: int, now: float) -> None:
        """An attempt starts as session `session_id` (0 while the session is starting: `attach_session` gives the
        id): one attempt fewer left, and the result data is this attempt's from now on."""
        self.db.execute(
            "UPDATE call_list_tasks SET status_id = ?, session_id = ?, attempts_made = attempts_made + 1, "
            "attempts_left = MAX(attempts_left - 1, 0), last_attempt = ?, result_data = '' WHERE task_id = ?",
            (TASK_IN_PROGRESS, session_id, _moment(now), task_id))

    def attach_session(self, task_id: int, session_id: int) -> None:
        """The attempt `begin_attempt` recorded runs as session `session_id`."""
        self.db.execute("UPDATE call_list_tasks SET session_id = ? WHERE task_id = ?", (session_id, task_id))

    def undo_attempt(self, before: CallListTask) -> None:
        """The attempt did not start after all (the runtime took no session): the task as it was."""
        self.db.execute(
            "UPDATE call_list_tasks SET status_id = ?, attempts_left = ?, attempts_made = ?, last_attempt = ?, "
            "result_data = ?, session_id = NULL WHERE task_id = ?",
            (before.status_id, before.attempts_left, before.attempts_made, before.last_attempt, before.result_data,
             before.task_id))

    def set_result_data(self, task_id: int, text: str) -> None:
        self.db.execute("UPDATE call_list_tasks SET result_data = ? WHERE task_id = ?", (text, task_id))

    def finish_attempt(self, task_id: int, *, succeeded: bool, now: float, next_at: float, note: str = "") -> None:
        """The attempt's session ended. Success: Processed. Failure: the next attempt waits until `next_at`, or the
        task is in Error when none is left (canceled as `stopped` when its list was stopped meanwhile). A task
        canceled meanwhile stays canceled. `note` becomes the result data when the scenario reported none."""
        row = self.db.one("SELECT t.*, l.status AS list_status FROM call_list_tasks t "
                          "JOIN call_lists l ON l.list_id = t.list_id WHERE t.task_id = ?", (task_id,))
        if row is None:  # the list was deleted meanwhile
            return
        status, stopped, start_at = row["status_id"], 0, row["start_at"]
        if status != TASK_CANCELED:
            if succeeded:
                status = PROCESSED
            elif row["attempts_left"] > 0:
                status, stopped = (TASK_CANCELED, 1) if row["list_status"] == CANCELED else (TASK_IN_PROGRESS, 0)
                start_at = max(start_at, int(next_at))
            else:
                status = ERROR
        with self.db.tx():
            self.db.execute(
                "UPDATE call_list_tasks SET status_id = ?, stopped = ?, start_at = ?, session_id = NULL, "
                "result_data = CASE WHEN result_data = '' THEN ? ELSE result_data END WHERE task_id = ?",
                (status, stopped, start_at, "" if succeeded else note, task_id))
            self._complete_if_done(row["list_id"], now)

    def _complete_if_done(self, list_id: int, now: float | None) -> None:
        """An in-progress list none of whose tasks is New or In progress is Completed."""
        open_tasks = self.db.scalar("SELECT COUNT(*) FROM call_list_tasks WHERE list_id = ? AND status_id IN (?, ?)",
                                    (list_id, *OPEN))
        if not open_tasks:
            moment = _moment(now) if now is not None else timestamp()
            self.db.execute("UPDATE call_lists SET status = ?, dt_complete = ? WHERE list_id = ? AND status = ?",
                            (COMPLETED, moment, list_id, IN_PROGRESS))
