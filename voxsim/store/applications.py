"""Store family: applications (being written)."""

from __future__ import annotations

from voxsim.store.base import StoreBase

SCHEMA = ""


class ApplicationsMixin(StoreBase):
    pass
