"""History reports: GetCallHistoryAsync, GetBriefCallHistory, GetHistoryReports, DownloadHistoryReport.

A report is the call history of GetCallHistory's filters as a CSV file, made when it is ordered and kept in
the store (voxsim/store/history_reports.py) until DownloadHistoryReport fetches it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any, cast

from aiohttp import web

from mock_api.methods import Context, Reply, listing, method, ok
from mock_api.methods.history import TIMEZONE, application_names, history_query, log_file_url, when
from mock_api.params import Params
from voxsim.errors import INVALID_APPLICATION_ID, VoxError, invalid
from voxsim.model import CallRecord, CallSession, MediaRecord
from voxsim.store.history_reports import HISTORY_TYPES, ReportQuery

ALL_SESSIONS = 1_000_000
"""A report holds every matching session unless `count` says fewer."""
DELIMITER = ";"
SESSION_COLUMNS = ("call_session_history_id", "account_id", "application_id", "application_name", "rule_name",
                   "user_id", "start_date", "duration", "initiator_address", "media_server_address",
                   "log_file_url", "finish_reason", "custom_data")
CALL_COLUMNS = ("call_id", "call_start_time", "call_duration", "local_number", "remote_number",
                "remote_number_type", "incoming", "successful", "cost")
FILTERS = ("from_date", "to_date", "call_session_history_id", "application_id", "application_name", "user_id",
           "rule_name", "remote_number", "remote_number_list", "local_number", "call_session_history_custom_data",
           "min_duration", "max_duration", "with_calls", "with_records", "with_other_resources", "desc_order",
           "with_header", "output", "count", "offset")
"""The saved order parameters a report shows as `filters`."""
BRIEF_COLUMNS = ("call_session_history_id", "start_date", "application_name", "rule_name", "duration",
                 "local_number", "remote_number", "finish_reason", "custom_data")


def _csv(columns: Sequence[str], rows: Iterable[Sequence[Any]], with_header: bool) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=DELIMITER, lineterminator="\r\n")
    if with_header:
        writer.writerow(columns)
    writer.writerows(["" if value is None else value for value in row] for row in rows)
    return out.getvalue().encode("utf-8")


def _output(p: Params) -> None:
    output = (p.text("output") or "csv").lower()
    if output != "csv":
        raise VoxError(496, f"The 'output' {output!r} is not emulated by voxsim (csv is)")


def _named_application_ids(ctx: Context, names: Sequence[str]) -> list[int]:
    """The ids of the account's applications these names (short or full) name."""
    wanted = {full for name in names for full in application_names(ctx, name)}
    return [a.application_id for a in ctx.store.list_applications(ctx.account.account_id)
            if a.application_name in wanted]


def _application_id(ctx: Context, p: Params) -> int | None:
    """The report's application, for GetHistoryReports' application filter (none when it is not known)."""
    app_id = p.integer("application_id", code=INVALID_APPLICATION_ID)
    name = p.text("application_name")
    if app_id is None and name:
        return next(iter(_named_application_ids(ctx, [name])), None)
    return app_id


def _sessions(ctx: Context, p: Params) -> list[CallSession]:
    query = history_query(ctx, p)
    count, offset = p.paging(default_count=ALL_SESSIONS)
    if p.integers("child_account_id") is not None or p.flag("children_calls_only"):
        return []  # voxsim has no child accounts
    return ctx.store.find_sessions(ctx.account.account_id, query, count, offset)[1]


def _session_row(ctx: Context, session: CallSession) -> list[Any]:
    info = session.api(log_file_url=log_file_url(ctx, session.call_session_history_id))
    return [info.get(column) for column in SESSION_COLUMNS]


def _call_cells(call: CallRecord | None) -> list[Any]:
    if call is None:
        return [None] * len(CALL_COLUMNS)
    return [call.call_id, call.start_time, call.duration, call.local_number, call.remote_number,
            call.remote_number_type, str(call.incoming).lower(), str(call.successful).lower(), 0]


def _full_rows(ctx: Context, sessions: list[CallSession], with_calls: bool,
               records: dict[int, list[MediaRecord]] | None) -> Iterable[list[Any]]:
    """One line a session, or one a call `with_calls`; `records` adds the session's record URLs."""
    calls = ctx.store.calls_of([s.call_session_history_id for s in sessions]) if with_calls else {}
    for session in sessions:
        base = _session_row(ctx, session)
        if records is not None:
            base.append(" ".join(r.record_url for r in records.get(session.call_session_history_id, [])))
        session_calls: list[CallRecord | None] = list(calls.get(session.call_session_history_id, [])) or [None]
        for call in session_calls if with_calls else []:
            yield base + _call_cells(call)
        if not with_calls:
            yield base


def _report(ctx: Context, p: Params, history_type: str, content: bytes, sessions: list[CallSession]) -> Reply:
    filters = {name: value for name in FILTERS if (value := p.text(name)) is not None}
    report = ctx.store.add_history_report(
        ctx.account.account_id, history_type, f"history_{history_type}_{len(sessions)}.csv", content,
        filters=filters, calculated_data={"session_count": len(sessions), "total_session_count": len(sessions),
                                          "timezone": TIMEZONE},
        application_id=_application_id(ctx, p))
    return ok(history_report_id=report.history_report_id)


@method("GetCallHistoryAsync", notes="""
    GetCallHistory's filters; the report is made at once (GetHistoryReports shows it `completed`), with no
    `call_history_report` callback. Its CSV (`;`-separated, UTF-8; `with_header` puts the column names first,
    off by default) has a line per session: call_session_history_id, account_id, application_id,
    application_name, rule_name, user_id, start_date, duration, initiator_address, media_server_address,
    log_file_url, finish_reason, custom_data; `with_records` adds `records` (the record URLs, space-separated)
    and `with_calls` makes it a line per call with call_id, call_start_time, call_duration, local_number,
    remote_number, remote_number_type, incoming, successful, cost. The platform's exact columns are not
    published. Only `output=csv` (496 otherwise); `count`/`offset` limit the sessions (all by default).
""")
def get_call_history_async(ctx: Context, p: Params) -> Reply:
    _output(p)
    sessions = _sessions(ctx, p)
    with_calls, with_records = bool(p.flag("with_calls")), bool(p.flag("with_records"))
    records = ctx.store.records_of([s.call_session_history_id for s in sessions]) if with_records else None
    columns = (*SESSION_COLUMNS, *(("records",) if with_records else ()), *(CALL_COLUMNS if with_calls else ()))
    content = _csv(columns, _full_rows(ctx, sessions, with_calls, records), bool(p.flag("with_header")))
    return _report(ctx, p, "calls", content, sessions)


@method("GetBriefCallHistory", notes="""
    `output` is required (csv only: 496 otherwise); the filters are GetCallHistory's. A line per session:
    call_session_history_id, start_date, application_name, rule_name, duration, local_number and remote_number
    (of the session's first call, empty without one), finish_reason, custom_data; `;`-separated, `with_header`
    for the column names. Made at once, like GetCallHistoryAsync's report (history_type `calls`).
""")
def get_brief_call_history(ctx: Context, p: Params) -> Reply:
    p.text("output", required=True)
    _output(p)
    sessions = _sessions(ctx, p)
    calls = ctx.store.calls_of([s.call_session_history_id for s in sessions])

    def row(session: CallSession) -> list[Any]:
        session_calls = calls.get(session.call_session_history_id) or []
        first = session_calls[0] if session_calls else None
        return [session.call_session_history_id, session.start_date, session.application_name, session.rule_name,
                session.duration, first.local_number if first else None, first.remote_number if first else None,
                session.finish_reason, session.custom_data]

    content = _csv(BRIEF_COLUMNS, (row(s) for s in sessions), bool(p.flag("with_header")))
    return _report(ctx, p, "calls", content, sessions)


@method("GetHistoryReports", notes="""
    The reports GetCallHistoryAsync and GetBriefCallHistory made (history_type `calls`; voxsim orders no
    other kind). Filters: history_report_id, history_type, created_from/created_to, is_completed (every
    report is complete: `false` finds none), application_id/application_name (the report's application
    filter), desc_order, count/offset. `store_until` is 7 days after `created`, but voxsim keeps a report
    until a reset; `download_size` is the file's gzip size though DownloadHistoryReport sends it plain.
""")
def get_history_reports(ctx: Context, p: Params) -> Reply:
    types = p.texts("history_type")
    if types is not None and any(t not in HISTORY_TYPES for t in types):
        raise invalid("history_type")
    app_ids = p.integers("application_id", code=INVALID_APPLICATION_ID)
    names = p.texts("application_name")
    if names is not None:
        app_ids = [*(app_ids or []), *_named_application_ids(ctx, names)]
    query = ReportQuery(report_id=p.integer("history_report_id"), history_types=types,
                        created_from=when(p, "created_from"), created_to=when(p, "created_to"),
                        is_completed=p.flag("is_completed"), application_ids=app_ids,
                        desc_order=bool(p.flag("desc_order")))
    found = ctx.store.find_history_reports(ctx.account.account_id, query)
    count, offset = p.paging()
    return listing([r.api() for r in found[offset : offset + count]], len(found))


@method("DownloadHistoryReport", notes="""
    The report's CSV as `application/octet-stream`, not gzipped (the official clients give it as
    `file_content`); each download counts (download_count, last_downloaded). Another account's report or none
    answers 496.
""")
def download_history_report(ctx: Context, p: Params) -> Reply:
    report = ctx.store.download_history_report(ctx.account.account_id,
                                               p.integer("history_report_id", required=True))
    response = web.Response(body=report.content, content_type="application/octet-stream",
                            headers={"Content-Disposition": f'attachment; filename="{report.file_name}"'})
    return cast(Reply, response)  # the API answers a handler's web.Response as it is (mock_api/app.py dispatch)
