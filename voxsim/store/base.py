"""What every store family shares: the database handle."""

from __future__ import annotations

from voxsim.store.db import Database


class StoreBase:
    db: Database
