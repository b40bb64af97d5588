"""What every store family shares: the database handle and small helpers."""

from __future__ import annotations

from typing import TypeVar

from voxsim.store.db import Database

T = TypeVar("T")


class StoreBase:
    db: Database


def page(items: list[T], count: int, offset: int) -> list[T]:
    return items[offset : offset + count]


def name_part_filter(value: str | None, candidate: str) -> bool:
    """The platform's "name part" filters: a case-insensitive substring match."""
    return not value or value.lower() in candidate.lower()
