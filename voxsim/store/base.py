"""What every store family shares: the database handle and the platform's name filters."""

from __future__ import annotations

from voxsim.store.db import Database


class StoreBase:
    db: Database


def name_part_filter(value: str | None, candidate: str) -> bool:
    """The platform's "name part" filters: a case-insensitive substring match."""
    return not value or value.lower() in candidate.lower()
