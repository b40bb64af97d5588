"""`voxsim.store.db`: what reaches SQLite."""

from __future__ import annotations

from voxsim.store import Store


def test_ids_beyond_sqlite_integers_find_nothing(store: Store) -> None:
    huge = 10**22  # a client's id; SQLite integers stop at 2**63 - 1
    assert store.find_account(account_id=huge) is None
    assert store.find_application(1, application_id=huge) is None
    assert store.db.all("SELECT account_id FROM accounts WHERE account_id < ?", (huge,)) != []
