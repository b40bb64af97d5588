"""GetAuditLog, and `record`: the hook the API's dispatcher calls after each method that succeeded.

A method is a write unless its name says it reads (Get…, SQ_Get…, Download…, Check…, Is…), so a new family
is audited without a list to keep up to date.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from mock_api.methods import Context, Reply, listing, method
from mock_api.methods.history import TIMEZONE, when
from mock_api.params import Params
from voxsim.errors import VoxError
from voxsim.store.audit_log import AuditEntry, AuditQuery

READ = re.compile(r"(SQ_)?(Get|Download|Check|Is)[A-Z]")
AUTH_PARAMS = frozenset({"account_id", "account_name", "account_email", "api_key", "session_id", "cmd"})
SECRET = re.compile(r"password|secret_value|api_key|private_key|token", re.IGNORECASE)
MASK = "***"
MAX_COUNT = 1000


def is_write(name: str) -> bool:
    return READ.match(name) is None


def record(ctx: Context, name: str, values: Mapping[str, str], reply: Reply) -> None:
    """Logs a successful write: its arguments without the credentials (secrets masked) and the values it
    answered besides `result`."""
    if not is_write(name):
        return
    args = {k: MASK if SECRET.search(k) else v for k, v in values.items() if k not in AUTH_PARAMS and v != ""}
    answered = {k: v for k, v in reply.items() if k != "result" and isinstance(v, str | int | float | bool)}
    ctx.store.add_audit_entry(ctx.account.account_id, ctx.remote or "127.0.0.1", name, args, answered)


@method("GetAuditLog", notes="""
    What the Management API changed: every method that succeeded and is not a read (Get…, Download…,
    Check…, Is…), with the caller's `ip`, `cmd_args` (credentials left out; passwords, secret values, keys and
    tokens shown as `***`) and `cmd_result` (the values it answered besides `result`, when there are any).
    What `voxsim deploy` applies in process and the console's own changes are not in it. Filters: from_date,
    to_date, audit_log_id, filtered_ip, filtered_cmd, desc_order, with_total_count, count (1000 at most),
    offset; there are no admin users, so `filtered_admin_user_id` matches nothing. `advanced_filters` and
    `is_async` are not emulated (496). The latest 10000 entries are kept; a reset empties the log.
""")
def get_audit_log(ctx: Context, p: Params) -> Reply:
    if p.text("advanced_filters") is not None or p.flag("is_async"):
        raise VoxError(496, "voxsim does not emulate 'advanced_filters' nor 'is_async' of GetAuditLog")
    query = AuditQuery(from_date=when(p, "from_date"), to_date=when(p, "to_date"),
                       audit_log_ids=p.integers("audit_log_id"), ips=p.texts("filtered_ip"),
                       cmd_names=p.texts("filtered_cmd"), desc_order=bool(p.flag("desc_order")))
    count, offset = p.paging(max_count=MAX_COUNT)
    total, entries = 0, list[AuditEntry]()
    if p.text("filtered_admin_user_id") is None:
        total, entries = ctx.store.find_audit_entries(ctx.account.account_id, query, count, offset)
    reply: dict[str, Any] = listing([e.api() for e in entries], total, timezone=TIMEZONE)
    if p.flag("with_total_count") is False:
        reply.pop("total_count")
    return reply
