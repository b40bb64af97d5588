"""Store family: history (being written)."""

from __future__ import annotations

from voxsim.store.base import StoreBase

SCHEMA = ""


class HistoryMixin(StoreBase):
    pass
