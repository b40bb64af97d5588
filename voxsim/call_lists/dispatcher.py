"""The call lists' dispatcher: runs each due task as a session of its list's rule, and settles each attempt.

One loop, owned by the composition root. Each pass goes through the lists in progress, the highest priority
(lowest value) first, and starts the tasks that are due (their `start_at` passed, inside their daily window)
while the list runs fewer than `max_simultaneous` attempts and the runtime takes more sessions; then it sleeps
until the next task is due, a session ends, or the Management API changed a list (`wake`).

A session is one attempt. The scenario reads its row with `VoxEngine.customData()` and reports through
`CallList` (voxsim/runtime/call_list.py): `reportResult` makes the attempt a success (the task is Processed when
the session ends), `reportError` and `requestNextAttempt` a failure; `reportProgress` only writes the result
data. A session that ends without a report failed too (the platform retries it; a setting of the dispatcher,
`unreported_succeeds`, follows the typings' wording instead). A failed attempt leaves the task waiting
`interval_seconds` for the next one, or in Error when none is left.

Everything lives in the store, so a restart resumes: attempts that were running when the emulator stopped count
as failed ("The emulator stopped during the attempt") and are retried as any other.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from voxsim.call_lists.rows import in_window, time_of_day, window_opens
from voxsim.errors import RATE_LIMIT_EXCEEDED, VoxError, invalid
from voxsim.model import Account, Application, Rule
from voxsim.store import Store
from voxsim.store.call_lists import CallList, CallListTask, TaskChanges
from voxsim.store.db import parse_timestamp

log = logging.getLogger("voxsim.call_lists")

CAPACITY_RETRY = 1.0
"""Seconds before a pass tries again when the runtime took no more sessions (a session's end wakes it sooner)."""
MAX_SLEEP = 60.0
INTERRUPTED_NOTE = "The emulator stopped during the attempt"
OK = json.dumps({"result": True})
STARTING = 0
"""The session id of an attempt whose session is starting (no session id yet): running, for the store."""


class StartedSession(Protocol):
    session_id: int
    finish_reason: str | None

    async def wait_finished(self, timeout: float | None = None) -> None: ...


class TaskSessions(Protocol):
    """Starts a rule's session with a row as its custom data (voxsim.session_starter.SessionStarter)."""

    async def start(self, account: Account, application: Application, rule: Rule, *,
                    custom_data: str = "") -> StartedSession: ...


@dataclass
class Attempt:
    """An attempt running now, and what its session reported so far."""

    list_id: int
    task_id: int
    outcome: str | None = None  # "result" (success) or "error" (failure); None: nothing reported yet
    next_at: float | None = None  # requestNextAttempt's start_at


def parse_moment(value: Any, name: str) -> int:
    """A UNIX time (a number, or its text) or a `YYYY-MM-DD HH:MM:SS` timestamp (UTC) as UNIX seconds."""
    if isinstance(value, bool):
        raise invalid(name)
    if isinstance(value, int | float):
        return int(value)
    text = str(value).strip()
    try:
        return int(float(text))
    except ValueError:
        pass
    try:
        return int(parse_timestamp(text).timestamp())
    except ValueError as exc:
        raise invalid(name) from exc


def window_bound(value: Any, name: str) -> str:
    """A daily window's bound: `HH:mm:ss` (a timestamp's time of day too, as the Python client sends it)."""
    text = str(value).strip()
    if " " in text:
        text = text.rsplit(" ", 1)[1]
    try:
        return time_of_day(text)
    except ValueError as exc:
        raise invalid(name) from exc


def next_attempt_changes(data: Any) -> TaskChanges:
    """`CallList.requestNextAttempt(data)`: `start_at` (or `next_attempt_time`, UNIX seconds), `attempts_left`,
    `custom_data` (text, or an object sent as JSON), `start_execution_time`, `end_execution_time`."""
    if not isinstance(data, Mapping):
        raise invalid("data")
    start = data.get("start_at", data.get("next_attempt_time"))
    attempts = data.get("attempts_left")
    if attempts is not None and (isinstance(attempts, bool) or not str(attempts).strip().isdigit()):
        raise invalid("attempts_left")
    custom = data.get("custom_data")
    if custom is not None and not isinstance(custom, str):
        custom = json.dumps(custom, ensure_ascii=False)
    first, last = data.get("start_execution_time"), data.get("end_execution_time")
    return TaskChanges(
        start_at=None if start is None else parse_moment(start, "start_at"),
        attempts_left=None if attempts is None else int(str(attempts).strip()), custom_data=custom,
        start_execution_time=None if first is None else window_bound(first, "start_execution_time"),
        end_execution_time=None if last is None else window_bound(last, "end_execution_time"))


def due_at(task: CallListTask, now: float) -> float:
    """When the task's next attempt may start: not before its `start_at`, and inside its daily window."""
    moment = max(float(task.start_at), now)
    if in_window(moment, task.start_execution_time, task.end_execution_time):
        return moment
    return window_opens(moment, task.start_execution_time)


class CallListDispatcher:
    """See the module docstring. `clock` gives UNIX seconds (tests replace it, then `wake()`)."""

    def __init__(self, store: Store, sessions: TaskSessions, *, clock: Callable[[], float] = time.time,
                 unreported_succeeds: bool = False) -> None:
        self.store = store
        self.sessions = sessions
        self.clock = clock
        self.unreported_succeeds = unreported_succeeds
        self._running: dict[int, Attempt] = {}  # session id -> its attempt
        self._starting: set[int] = set()  # tasks whose session is starting now
        self._started = asyncio.Event()  # set (and replaced) each time a start is over
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._loop: asyncio.Task[None] | None = None
        self._watchers: set[asyncio.Task[None]] = set()

    # -- life cycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        self._recover()
        self._loop = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stops starting attempts; those running stay in the store as running, for the next start to settle."""
        self._stopping = True
        self.wake()  # the loop ends at its next turn even if a session's start swallowed the cancellation
        tasks = [t for t in (self._loop, *self._watchers) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._loop = None

    def wake(self) -> None:
        """Something changed (a list created, appended, recovered, edited): look for due tasks now."""
        self._wakeup.set()

    def running(self) -> int:
        return len(self._running)

    def _recover(self) -> None:
        now = self.clock()
        for task in self.store.interrupted_call_list_tasks():
            call_list = self.store.call_list_by_id(task.list_id)
            interval = call_list.interval_seconds if call_list is not None else 0
            self.store.finish_attempt(task.task_id, succeeded=False, now=now, next_at=now + interval,
                                      note=INTERRUPTED_NOTE)

    # -- the loop ---------------------------------------------------------------------------------
    async def _run(self) -> None:
        while not self._stopping:
            self._wakeup.clear()
            try:
                delay = await self._pass()
            except Exception:  # a voxsim bug must not stop every list for good
                log.exception("call list pass failed")
                delay = CAPACITY_RETRY
            await self._sleep(min(delay, MAX_SLEEP))

    async def _sleep(self, delay: float) -> None:
        """Until `wake()` or `delay` seconds. asyncio.wait, not wait_for: Python 3.11's wait_for can swallow the
        cancellation that `stop` sends when the event is set at the same moment (CPython gh-86296)."""
        waiter = asyncio.ensure_future(self._wakeup.wait())
        try:
            await asyncio.wait({waiter}, timeout=delay)
        finally:
            waiter.cancel()

    async def _pass(self) -> float:
        """Starts what is due; returns the seconds until something else is (MAX_SLEEP when nothing is)."""
        now = self.clock()
        soonest = now + MAX_SLEEP
        for call_list in self.store.active_call_lists():
            if call_list.start_at > now:
                soonest = min(soonest, float(call_list.start_at))
                continue
            free = call_list.max_simultaneous - self._busy(call_list.list_id)
            for task in self.store.waiting_tasks(call_list):
                if free <= 0 or self._stopping:
                    break
                if task.task_id in self._starting:
                    continue
                when = due_at(task, now)
                if when > now:
                    soonest = min(soonest, when)
                    continue
                if not await self._attempt(call_list, task):
                    return CAPACITY_RETRY
                free -= 1
                now = self.clock()
        return max(soonest - self.clock(), 0.0)

    def _busy(self, list_id: int) -> int:
        return sum(1 for a in self._running.values() if a.list_id == list_id)

    async def _attempt(self, call_list: CallList, task: CallListTask) -> bool:
        """Starts one attempt; False when the runtime takes no more sessions now (the task waits)."""
        fresh = self.store.call_list_task_by_id(task.task_id)
        current = self.store.call_list_by_id(call_list.list_id)
        if fresh is None or fresh.session_id is not None or fresh.status_id not in (0, 1) or fresh.stopped \
                or current is None or current.status != call_list.status:
            return True  # the API changed it meanwhile
        self._starting.add(task.task_id)
        try:
            return await self._start_session(call_list, fresh)
        finally:
            self._starting.discard(task.task_id)
            started, self._started = self._started, asyncio.Event()
            started.set()

    async def _start_session(self, call_list: CallList, task: CallListTask) -> bool:
        """The attempt is in the store before its session starts, so that what the session shows (and reports, from
        its Started handler on) finds the task in progress."""
        now = self.clock()
        self.store.begin_attempt(task.task_id, STARTING, now)
        try:
            account = self.store.get_account(call_list.account_id)
            application = self.store.get_application(call_list.account_id, application_id=call_list.application_id)
            rule = self.store.get_rule(call_list.account_id, rule_id=call_list.rule_id)
            session = await self.sessions.start(account, application, rule, custom_data=task.custom_data)
        except VoxError as err:
            if err.code == RATE_LIMIT_EXCEEDED:
                self.store.undo_attempt(task)
                return False
            # an attempt all the same: the rule cannot run (no scenario bound, rule deleted...)
            self.store.finish_attempt(task.task_id, succeeded=False, now=now, next_at=now + call_list.interval_seconds,
                                      note=f"The session could not start: {err.msg}")
            return True
        self.store.attach_session(task.task_id, session.session_id)
        self._running[session.session_id] = Attempt(call_list.list_id, task.task_id)
        watcher = asyncio.get_running_loop().create_task(self._watch(session))
        self._watchers.add(watcher)
        watcher.add_done_callback(self._watchers.discard)
        return True

    async def _watch(self, session: StartedSession) -> None:
        await session.wait_finished()
        self._settle(session)
        self.wake()

    def _settle(self, session: StartedSession) -> None:
        attempt = self._running.pop(session.session_id, None)
        if attempt is None:
            return
        now = self.clock()
        call_list = self.store.call_list_by_id(attempt.list_id)
        if call_list is None:
            return
        outcome = attempt.outcome or ("result" if self.unreported_succeeds else None)
        next_at = attempt.next_at if attempt.next_at is not None else now + call_list.interval_seconds
        note = "" if outcome else f"The session ended without a report ({session.finish_reason})"
        self.store.finish_attempt(attempt.task_id, succeeded=outcome == "result", now=now, next_at=next_at, note=note)

    # -- what sessions report (the runtime's CallListReports port) ----------------------------------
    async def report(self, session_id: int, report: str, data: Any) -> tuple[int, str]:
        """A session's report. A session that is still starting (it reports from its Started handler) is known
        once its start is over, so the answer waits for the starts in progress."""
        attempt = self._running.get(session_id)
        while attempt is None and self._starting:
            await self._started.wait()
            attempt = self._running.get(session_id)
        if attempt is None:
            return 404, json.dumps({"error": "This session is not an attempt of a call list task"})
        task = self.store.call_list_task_by_id(attempt.task_id)
        if task is None:
            return 404, json.dumps({"error": "The call list of this task was deleted"})
        try:
            self._apply(attempt, task, report, data)
        except VoxError as err:
            return 400, json.dumps({"error": err.msg})
        return 200, OK

    def _apply(self, attempt: Attempt, task: CallListTask, report: str, data: Any) -> None:
        if report == "nextAttempt":
            changes = next_attempt_changes(data)
            self.store.edit_call_list_task(task, changes)
            attempt.outcome = "error"
            if changes.start_at is not None:
                attempt.next_at = float(changes.start_at)
            return
        text = "" if data is None else str(data)
        if report in ("result", "error"):
            attempt.outcome = report
            self.store.set_result_data(task.task_id, text)
        elif attempt.outcome != "result":  # progress never hides a result
            self.store.set_result_data(task.task_id, text)
