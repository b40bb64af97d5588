"""Store family: rules (being written)."""

from __future__ import annotations

from voxsim.store.base import StoreBase

SCHEMA = ""


class RulesMixin(StoreBase):
    pass
