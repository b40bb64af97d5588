"""Store family: users (being written)."""

from __future__ import annotations

from voxsim.store.base import StoreBase

SCHEMA = ""


class UsersMixin(StoreBase):
    pass
