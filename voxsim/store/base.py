"""What every store family shares: the database handle and the platform's name filters."""

from __future__ import annotations

from collections.abc import Iterable

from voxsim.store.db import Database


class StoreBase:
    db: Database

    def _delete_rows(self, table: str, key: str, ids: Iterable[int]) -> int:
        """Delete these rows of `table` by their `key` column (a constant of the caller's, never input);
        the database's ON DELETE rules take what depends on them. Returns how many distinct ids went."""
        distinct = list(dict.fromkeys(ids))
        for row_id in distinct:
            self.db.execute(f"DELETE FROM {table} WHERE {key} = ?", (row_id,))
        return len(distinct)


def name_part_filter(value: str | None, candidate: str) -> bool:
    """The platform's "name part" filters: a case-insensitive substring match."""
    return not value or value.lower() in candidate.lower()
