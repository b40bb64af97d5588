"""A session's recordings as the account sees them (DeleteRecord): found by id or URL, deleted with their
history entry. The history family (voxsim/store/history.py) writes them; the runtime's records folder holds
the files."""

from __future__ import annotations

from voxsim.errors import invalid
from voxsim.model import MediaRecord
from voxsim.store.base import StoreBase

SCHEMA = ""


class RecordsMixin(StoreBase):
    def account_record(self, account_id: int, *, record_id: int | None = None,
                       record_url: str | None = None) -> MediaRecord:
        """The account's recording by id or URL; another account's or none answers 496 naming the parameter."""
        column, value = ("record_id", record_id) if record_id is not None else ("record_url", record_url)
        row = self.db.one(f"SELECT r.* FROM media_records r JOIN call_sessions s "
                          f"ON s.call_session_history_id = r.call_session_history_id "
                          f"WHERE s.account_id = ? AND r.{column} = ?", (account_id, value))
        if row is None:
            raise invalid(column)
        return MediaRecord(**row)

    def delete_record(self, record: MediaRecord) -> None:
        with self.db.tx():
            self._delete_rows("media_records", "record_id", [record.record_id])
