"""CallLists methods: CreateCallList, AppendToCallList, GetCallLists, GetCallListDetails, StopCallListProcessing,
RecoverCallList, EditCallList, EditCallListTask, CancelCallListTask, CancelCallListBatch, DeleteCallList.

The lists and their tasks are in the store (voxsim/store/call_lists.py), their CSV in voxsim/call_lists/rows.py;
the dispatcher of the composition root runs the tasks (voxsim/call_lists/dispatcher.py). Each change here wakes
it (`services.call_lists_changed()`). docs/call-lists.md tells the whole story.
"""

from __future__ import annotations

import time
from typing import Any, TypeVar, cast

from aiohttp import web

from mock_api.methods import Context, Reply, listing, method
from mock_api.methods.rules import rule_from
from mock_api.params import Params
from voxsim.call_lists import rows
from voxsim.call_lists.dispatcher import parse_moment, window_bound
from voxsim.errors import (
    INVALID_ACCOUNT_ID,
    INVALID_APPLICATION_ID,
    INVALID_RULE_ID,
    VoxError,
    invalid,
    specify,
)
from voxsim.store.call_lists import (
    INVALID_LIST_ID,
    INVALID_MAX_SIMULTANEOUS,
    INVALID_NUM_ATTEMPTS,
    INVALID_PRIORITY,
    CallList,
    ListSettings,
    TaskChanges,
)
from voxsim.store.db import TIMESTAMP_FORMAT

T = TypeVar("T")

DETAILS_DEFAULT_COUNT, DETAILS_MAX_COUNT = 1000, 10000
MAX_CANCEL = 1000
DETAIL_COLUMNS = ("list_id", "task_id", "task_uuid", "status_id", "status", "attempts_left", "last_attempt",
                  "start_execution_time", "finish_execution_time", "custom_data", "result_data")
CSV_NOTE = """
    `file_content` (a form field, or a multipart file) is a CSV file: the first line names the columns, each
    further line is a task whose row the scenario reads as JSON with `VoxEngine.customData()`. `delimiter` is `;`
    by default (`,` and any other single character work), `quote` `"`, `escape` none; `encoding` must name a
    known codec, but the text is read as the request gives it (UTF-8). The service columns `__start_at` (UNIX
    seconds), `__start_execution_time` / `__end_execution_time` (the daily window, UTC `HH:mm:ss`) and
    `__task_uuid` (unique in the list) schedule and name a task. A file that is not such a CSV answers 250.
"""


def _changed(ctx: Context) -> None:
    if ctx.services is not None:
        ctx.services.call_lists_changed()


def _list_id(p: Params) -> int:
    return p.integer("list_id", required=True, code=INVALID_LIST_ID)


def _call_list(ctx: Context, p: Params) -> CallList:
    return ctx.store.get_call_list(ctx.account.account_id, _list_id(p))


def _rows(p: Params) -> list[rows.Row]:
    rows.check_encoding(p.text("encoding"))
    return rows.parse(p.text("file_content", required=True), delimiter=p.text("delimiter"), quote=p.text("quote"),
                      escape=p.text("escape"))


def _own_account(ctx: Context, p: Params) -> None:
    """`account_id`, which some of these methods take, must be the authenticated account's."""
    account_id = p.integer("account_id", code=INVALID_ACCOUNT_ID)
    if account_id is not None and account_id != ctx.account.account_id:
        raise invalid("account_id", INVALID_ACCOUNT_ID)


@method("CreateCallList", notes=CSV_NOTE + """
    `rule_id` (147 when unknown), `priority` 0..2^31 (247), `max_simultaneous` >= 1 (248), `num_attempts` 1..5
    (249), `name` up to 255 characters without `/` or `\\` (253), `interval_seconds` >= 0 (0 by default),
    `start_at` (UNIX seconds or `YYYY-MM-DD HH:MM:SS`), `task_priority_strategy` (`first_attempts` or
    `repeated_attempts`), `list_custom_data` are kept; the other options of the official clients (server location,
    predictive and ACD call lists, ...) are accepted and ignored: every list runs as an AUTOMATIC one. The
    account's balance is not checked. Returns `result: true`, `count` (tasks stored), `list_id`, `batch_id`.
""")
def create_call_list(ctx: Context, p: Params) -> Reply:
    rule = rule_from(ctx, p, None)
    if rule is None:
        raise specify("rule_id")
    start_at = p.text("start_at")
    settings = ListSettings(
        name=p.text("name", required=True), priority=p.integer("priority", required=True, code=INVALID_PRIORITY),
        max_simultaneous=p.integer("max_simultaneous", required=True, code=INVALID_MAX_SIMULTANEOUS),
        num_attempts=p.integer("num_attempts", required=True, code=INVALID_NUM_ATTEMPTS),
        interval_seconds=p.integer("interval_seconds") or 0,
        start_at=0 if start_at is None else parse_moment(start_at, "start_at"),
        task_priority_strategy=p.text("task_priority_strategy") or "first_attempts",
        list_custom_data=p.text("list_custom_data") or "").checked()
    tasks = _rows(p)
    call_list, batch_id = ctx.store.create_call_list(ctx.account.account_id, rule, settings, tasks, time.time())
    _changed(ctx)
    return {"result": True, "count": len(tasks), "list_id": call_list.list_id, "batch_id": batch_id}


@method("EditCallList", notes="""
    Changes what it is given of `name`, `priority`, `max_simultaneous`, `num_attempts`, `interval_seconds`,
    `start_at`, `task_priority_strategy` and `list_custom_data`, with CreateCallList's checks; the dispatcher goes
    by the new values from its next pass (tasks keep the attempts they have left). The other options are accepted
    and ignored. Returns `result: true`.
""")
def edit_call_list(ctx: Context, p: Params) -> Reply:
    current = _call_list(ctx, p)
    start_at = p.text("start_at")
    settings = ListSettings(
        name=p.text("name") or current.list_name,
        priority=_or(p.integer("priority", code=INVALID_PRIORITY), current.priority),
        max_simultaneous=_or(p.integer("max_simultaneous", code=INVALID_MAX_SIMULTANEOUS), current.max_simultaneous),
        num_attempts=_or(p.integer("num_attempts", code=INVALID_NUM_ATTEMPTS), current.num_attempts),
        interval_seconds=_or(p.integer("interval_seconds"), current.interval_seconds),
        start_at=current.start_at if start_at is None else parse_moment(start_at, "start_at"),
        task_priority_strategy=p.text("task_priority_strategy") or current.task_priority_strategy,
        list_custom_data=_or(p.text("list_custom_data"), current.list_custom_data))
    ctx.store.edit_call_list(ctx.account.account_id, current.list_id, settings)
    _changed(ctx)
    return {"result": True}


def _or(given: T | None, current: T) -> T:
    return current if given is None else given


@method("AppendToCallList", notes=CSV_NOTE + """
    `list_id` is required (a name alone is not looked up); unknown lists answer 251. New tasks get the list's
    `num_attempts`; a completed list is in progress again. Returns `result: true`, `count`, `list_id`, `batch_id`.
""")
def append_to_call_list(ctx: Context, p: Params) -> Reply:
    list_id = _list_id(p)
    tasks = _rows(p)
    call_list, batch_id = ctx.store.append_to_call_list(ctx.account.account_id, list_id, tasks)
    _changed(ctx)
    return {"result": True, "count": len(tasks), "list_id": call_list.list_id, "batch_id": batch_id}


def _ids_or_any(p: Params, name: str, code: int) -> list[int] | None:
    """An id list filter; `all` or `any` (or nothing) filters nothing."""
    value = p.text(name)
    if value is None or value.strip().lower() in ("all", "any"):
        return None
    return p.integers(name, code=code)


def _timestamp(p: Params, name: str) -> str | None:
    moment = p.timestamp(name)
    return moment.strftime(TIMESTAMP_FORMAT) if moment is not None else None


@method("GetCallLists", notes="""
    Filters: `list_id` (a `;` list, or `all`/`any`), `name` (a part of it), `is_active` (in progress or not),
    `from_date`/`to_date` (`dt_submit`, UTC), `application_id`/`application_name`, `rule_id`/`rule_name`,
    `status`, `type_list` (every list is AUTOMATIC: MANUAL finds none). Newest first; `count` 20 by default,
    `offset`. Each item is the platform's CallListType.
""")
def get_call_lists(ctx: Context, p: Params) -> Reply:
    account_id = ctx.account.account_id
    application_ids = _ids_or_any(p, "application_id", INVALID_APPLICATION_ID)
    if application_ids is None and "application_name" in p:
        application_ids = [ctx.store.get_application(account_id, application_name=name).application_id
                           for name in p.texts("application_name", required=True)]
    rule_ids = _ids_or_any(p, "rule_id", INVALID_RULE_ID)
    if rule_ids is None and "rule_name" in p:
        rule_ids = [ctx.store.get_rule(account_id, rule_name=name).rule_id for name in p.texts("rule_name",
                                                                                                 required=True)]
    type_list = (p.text("type_list") or "AUTOMATIC").upper()
    if type_list not in ("AUTOMATIC", "MANUAL"):
        raise invalid("type_list")
    found = [] if type_list == "MANUAL" else ctx.store.find_call_lists(
        account_id, list_ids=_ids_or_any(p, "list_id", INVALID_LIST_ID), name=p.text("name"),
        is_active=p.flag("is_active"), from_date=_timestamp(p, "from_date"), to_date=_timestamp(p, "to_date"),
        application_ids=application_ids, rule_ids=rule_ids, status=p.text("status"))
    count, offset = p.paging()
    return listing([c.api() for c in found[offset : offset + count]], len(found))


@method("GetCallListDetails", notes="""
    `output` is `csv` by default (an `application/octet-stream` file, `;`-separated unless `delimiter` says
    otherwise, in `encoding`, with the columns list_id, task_id, task_uuid, status_id, status, attempts_left,
    last_attempt, start_execution_time, finish_execution_time, custom_data, result_data) or `json` (`result`: the
    platform's CallListDetailType items, `count`, `total_count`). `xls` and `is_async` are not emulated (496).
    `count` is 1000 by default (10000 at most), `offset`; `batch_id` keeps one batch's tasks. The daily window's
    bounds are `1970-01-01 HH:MM:SS` timestamps (the official clients parse them as timestamps), empty without one.
""")
def get_call_list_details(ctx: Context, p: Params) -> Reply:
    call_list = _call_list(ctx, p)
    output = (p.text("output") or "csv").lower()
    if output not in ("csv", "json"):
        raise VoxError(496, f"The 'output' {output!r} is not emulated by voxsim (csv and json are)")
    if p.flag("is_async", False):
        raise VoxError(496, "The 'is_async' output is not emulated by voxsim")
    encoding = rows.check_encoding(p.text("encoding"))
    count, offset = p.paging(default_count=DETAILS_DEFAULT_COUNT, max_count=DETAILS_MAX_COUNT)
    tasks = ctx.store.call_list_tasks(call_list.list_id, batch_id=p.text("batch_id"))
    window = [task.api() for task in tasks[offset : offset + count]]
    if output == "json":
        return {"result": window, "count": len(window), "total_count": len(tasks)}
    text = rows.to_csv(DETAIL_COLUMNS, ([item[c] for c in DETAIL_COLUMNS] for item in window), p.text("delimiter"))
    disposition = f'attachment; filename="call_list_{call_list.list_id}.csv"'
    response = web.Response(body=text.encode(encoding, errors="replace"), content_type="application/octet-stream",
                            headers={"Content-Disposition": disposition})
    return cast(Reply, response)  # the API answers a handler's web.Response as it is (mock_api/app.py dispatch)


@method("StopCallListProcessing", notes="""
    The list is Canceled: no attempt starts any more, and its waiting tasks are canceled (status 4) until
    RecoverCallList. Attempts running now go on; one that fails then is canceled too instead of retried.
    Returns `result: true` and `msg`.
""")
def stop_call_list_processing(ctx: Context, p: Params) -> Reply:
    call_list = ctx.store.stop_call_list(ctx.account.account_id, _list_id(p))
    _changed(ctx)
    return {"result": True, "msg": f"The call list {call_list.list_id} is stopped"}


@method("RecoverCallList", notes="""
    The tasks StopCallListProcessing canceled wait again (New, or In progress when they had an attempt) and the
    list is in progress. Returns `result: true` and `count_recovery`, how many tasks came back.
""")
def recover_call_list(ctx: Context, p: Params) -> Reply:
    count = ctx.store.recover_call_list(ctx.account.account_id, _list_id(p))
    _changed(ctx)
    return {"result": True, "count_recovery": count}


def _edit_changes(p: Params) -> TaskChanges:
    start_at = p.text("start_at") or p.text("next_attempt_time")
    first, last = p.text("min_execution_time"), p.text("max_execution_time")
    if (first is None) != (last is None):
        raise specify("max_execution_time" if last is None else "min_execution_time")
    return TaskChanges(
        start_at=None if start_at is None else parse_moment(start_at, "start_at"),
        attempts_left=p.integer("attempts_left"), custom_data=p.text("custom_data"),
        start_execution_time=None if first is None else window_bound(first, "min_execution_time"),
        end_execution_time=None if last is None else window_bound(last, "max_execution_time"))


@method("EditCallListTask", notes="""
    A task by `task_id` or `task_uuid` (496 when the list has none such): `start_at` (its next attempt not before;
    `YYYY-MM-DD HH:MM:SS` or UNIX seconds, also as `next_attempt_time`), `attempts_left` (a task in Error with
    attempts left given waits again), `custom_data`, `min_execution_time` and `max_execution_time` together (the
    daily window, `HH:mm:ss` or a timestamp's time of day). `call_schedule`, `user_id` and `skill_id` are ignored.
""")
def edit_call_list_task(ctx: Context, p: Params) -> Reply:
    call_list = _call_list(ctx, p)
    p.one_of("task_id", "task_uuid", required=True)
    task = ctx.store.get_call_list_task(call_list.list_id, task_id=p.integer("task_id"),
                                        task_uuid=p.text("task_uuid"))
    ctx.store.edit_call_list_task(task, _edit_changes(p))
    _changed(ctx)
    return {"result": True}


@method("CancelCallListTask", notes=f"""
    Cancels the tasks named by `tasks_ids` or `tasks_uuids` (`;` lists, {MAX_CANCEL} at most) that are still New
    or In progress (a running attempt goes on; what it reports is kept but changes nothing). `account_id` must be
    the caller's (115). Returns `result: true` when every task named was canceled; else `result: false` with
    `task_id`, `task_uuid` and `error_msg` of the first that was not. One task named: its `task_id` and `task_uuid`.
""")
def cancel_call_list_task(ctx: Context, p: Params) -> Reply:
    _own_account(ctx, p)
    call_list = _call_list(ctx, p)
    given = p.one_of("tasks_ids", "tasks_uuids", required=True)
    ids = (p.integers("tasks_ids", code=496) or []) if given == "tasks_ids" else []
    uuids = (p.texts("tasks_uuids") or []) if given == "tasks_uuids" else []
    if len(ids) + len(uuids) > MAX_CANCEL:
        raise invalid(given or "tasks_ids")
    done = ctx.store.cancel_call_list_tasks(ctx.account.account_id, call_list.list_id, task_ids=ids,
                                            task_uuids=uuids)
    _changed(ctx)
    failed = next((c for c in done if not c.canceled), None)
    reply: dict[str, Any] = {"result": failed is None}
    shown = failed or (done[0] if len(done) == 1 else None)
    if shown is not None:
        reply.update({"task_id": shown.task_id, "task_uuid": shown.task_uuid})
    if failed is not None:
        reply["error_msg"] = failed.error
    return reply


@method("CancelCallListBatch", notes="""
    Cancels the New and In progress tasks of the batches named by `batch_ids` (a `;` list of the batch ids that
    CreateCallList and AppendToCallList returned). Returns `result: true`.
""")
def cancel_call_list_batch(ctx: Context, p: Params) -> Reply:
    call_list = _call_list(ctx, p)
    ids = [task.task_id for batch in p.texts("batch_ids", required=True)
           for task in ctx.store.call_list_tasks(call_list.list_id, batch_id=batch)]
    ctx.store.cancel_call_list_tasks(ctx.account.account_id, call_list.list_id, task_ids=ids)
    _changed(ctx)
    return {"result": True}


@method("DeleteCallList", notes="""
    Deletes the list and its tasks; its running attempts go on, and what they report is answered 404. `account_id`,
    which the Python client may send instead, must be the caller's: the list is named by `list_id` (485 without).
    Returns `result: true` and `msg`.
""")
def delete_call_list(ctx: Context, p: Params) -> Reply:
    _own_account(ctx, p)
    list_id = _list_id(p)
    ctx.store.delete_call_list(ctx.account.account_id, list_id)
    _changed(ctx)
    return {"result": True, "msg": f"The call list {list_id} is deleted"}
