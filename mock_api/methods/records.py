"""DeleteRecord: a recording goes, its file from the records folder and its entry from the call history."""

from __future__ import annotations

from urllib.parse import urlsplit

from mock_api.methods import Context, Reply, method, ok
from mock_api.params import Params


def _remove_file(ctx: Context, record_url: str) -> None:
    """The file a record URL (`/records/<session_id>/<file_name>`) names, if the emulator still has it."""
    parts = urlsplit(record_url).path.strip("/").split("/")
    if ctx.services is None or len(parts) != 3 or parts[0] != "records":
        return
    path = ctx.services.record_file(parts[1], parts[2])
    if path is not None:
        path.unlink(missing_ok=True)


@method("DeleteRecord", notes="""
    The recording is `record_id` or `record_url` (one of them: 485 / 458); one of another account, or none,
    answers 496. Its file goes (the URL answers 404 after) and GetCallHistory no longer lists it.
""")
def delete_record(ctx: Context, p: Params) -> Reply:
    account_id = ctx.account.account_id
    if p.one_of("record_id", "record_url", required=True) == "record_id":
        record = ctx.store.account_record(account_id, record_id=p.integer("record_id", required=True))
    else:
        record = ctx.store.account_record(account_id, record_url=p.text("record_url", required=True))
    ctx.store.delete_record(record)
    _remove_file(ctx, record.record_url)
    return ok()
