"""Call history: GetCallHistory, over the sessions the scenario runtime records."""

from __future__ import annotations

import json
from datetime import datetime

from mock_api.methods import Context, Reply, listing, method
from mock_api.params import Params
from voxsim.errors import (
    INVALID_APPLICATION_ID,
    INVALID_CALL_SESSION_HISTORY_ID,
    INVALID_PARAMETER,
    INVALID_USER_ID,
    VoxError,
    invalid,
    specify,
)
from voxsim.model import DOMAIN_SUFFIX, CallSession
from voxsim.store.applications import short_application_name
from voxsim.store.history import HistoryQuery

INVALID_DATE_FORMAT = 111
INVALID_DATE_RANGE = 123
MAX_COUNT = 1000
MAX_OFFSET = 10000
MAX_SESSION_IDS = 1000
TIMEZONE = "Etc/GMT"


def log_file_url(ctx: Context, session_id: int) -> str:
    if ctx.services is None:
        return f"http://127.0.0.1/_voxsim/sessions/{session_id}/log"
    return ctx.services.session_log_url(session_id)


def when(p: Params, name: str) -> datetime | None:
    try:
        return p.timestamp(name)
    except VoxError as error:
        raise VoxError(INVALID_DATE_FORMAT, f"Invalid date format of '{name}' (use YYYY-MM-DD HH:MM:SS)") from error


def remote_numbers(p: Params) -> list[str] | None:
    """`remote_number_list` (a JSON array) overrides `remote_number` (a `;` list)."""
    text = p.text("remote_number_list")
    if text is None:
        return p.texts("remote_number")
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise invalid("remote_number_list") from exc
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise invalid("remote_number_list")
    return [str(v) for v in value]


def application_names(ctx: Context, name: str) -> list[str]:
    """A session keeps its application's full name; the filter may give the short or the full one."""
    account = ctx.account.account_name
    return [name, f"{short_application_name(name, account)}.{account}.{DOMAIN_SUFFIX}"]


def history_query(ctx: Context, p: Params) -> HistoryQuery:
    from_date, to_date = when(p, "from_date"), when(p, "to_date")
    if from_date and to_date and from_date > to_date:
        raise VoxError(INVALID_DATE_RANGE, "Invalid date range: 'from_date' is after 'to_date'")
    session_ids = p.integers("call_session_history_id", code=INVALID_CALL_SESSION_HISTORY_ID)
    if session_ids is not None and (len(session_ids) > MAX_SESSION_IDS or min(session_ids) <= 0):
        raise invalid("call_session_history_id", INVALID_CALL_SESSION_HISTORY_ID)
    application = p.one_of("application_id", "application_name")
    rule_name = p.text("rule_name")
    if rule_name is not None and application is None:
        raise specify("application_id")
    app_name = p.text("application_name")
    user_ids = p.integers("user_id", code=INVALID_USER_ID)
    return HistoryQuery(
        from_date=from_date,
        to_date=to_date,
        session_ids=session_ids,
        application_id=p.integer("application_id", code=INVALID_APPLICATION_ID),
        application_names=application_names(ctx, app_name) if app_name else None,
        user_ids=user_ids,
        rule_name=rule_name,
        remote_numbers=remote_numbers(p),
        local_numbers=p.texts("local_number"),
        custom_data=p.text("call_session_history_custom_data"),
        min_duration=p.integer("min_duration"),
        max_duration=p.integer("max_duration"),
        desc_order=p.flag("desc_order", default=False),
    )


@method("GetCallHistory", notes="""
    Lists the sessions voxsim ran (empty until scenarios run). `from_date`/`to_date` are optional (UTC);
    `call_session_history_custom_data` matches exactly; numbers match any call of the session.
    `with_records` lists each recording (`record_url` served by the API listener, WAV, `duration` in seconds,
    `file_size`); `with_other_resources` gives an empty list (voxsim bills nothing); costs are 0.
    There are no child accounts, so `child_account_id`/`children_calls_only` match nothing; `is_async`
    (a report instead of a list) is refused with code 496. `timezone` is always "Etc/GMT".
""")
def get_call_history(ctx: Context, p: Params) -> Reply:
    if p.flag("is_async"):
        raise VoxError(INVALID_PARAMETER, "voxsim does not emulate asynchronous history reports ('is_async')")
    query = history_query(ctx, p)
    count, offset = p.paging(max_count=MAX_COUNT, max_offset=MAX_OFFSET)
    children = p.integers("child_account_id")
    total, sessions = 0, list[CallSession]()
    if children is None and not p.flag("children_calls_only"):  # voxsim has no child accounts
        total, sessions = ctx.store.find_sessions(ctx.account.account_id, query, count, offset)
    calls = ctx.store.calls_of([s.call_session_history_id for s in sessions]) if p.flag("with_calls") else None
    with_records, with_resources = p.flag("with_records"), p.flag("with_other_resources")
    records = ctx.store.records_of([s.call_session_history_id for s in sessions]) if with_records else {}

    def render(session: CallSession) -> dict[str, object]:
        session_id = session.call_session_history_id
        info = session.api(log_file_url=log_file_url(ctx, session_id),
                           calls=calls[session_id] if calls is not None else None)
        if with_records:
            info["records"] = [record.api() for record in records.get(session_id, [])]
        if with_resources:
            info["other_resource_usage"] = []
        return info

    reply = listing([render(s) for s in sessions], total, timezone=TIMEZONE)
    if p.flag("with_total_count") is False:
        reply.pop("total_count")
    return reply
