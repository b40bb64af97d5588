"""Store family: scenarios (being written)."""

from __future__ import annotations

from voxsim.store.base import StoreBase

SCHEMA = ""


class ScenariosMixin(StoreBase):
    pass
