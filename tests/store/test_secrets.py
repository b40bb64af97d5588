"""Secrets in the store: names, values, descriptions cut to 200, deletes all-or-nothing."""

from __future__ import annotations

from voxsim.errors import INVALID_PARAMETER, NOT_UNIQUE, PARAMETER_TOO_LONG
from voxsim.store import Store

from .conftest import code_of


def test_add_change_delete(store: Store, apps: tuple[int, int]):
    one, _ = apps
    secret = store.add_secret(one, "Token_1", "v", "x" * 300)
    assert len(secret.description) == 200 and secret.created == secret.modified
    changed = store.set_secret_info(secret, new_name="Token_2", value="w")
    assert (changed.secret_name, changed.secret_value, changed.description) == ("Token_2", "w", "x" * 200)
    assert code_of(store.del_secrets, one, ids=[secret.secret_id, 999]) == INVALID_PARAMETER
    assert store.list_secrets(one)  # nothing went
    assert store.del_secrets(one, names=["Token_2"]) == 1 and store.list_secrets(one) == []


def test_refusals(store: Store, apps: tuple[int, int]):
    one, _ = apps
    store.add_secret(one, "A", "v")
    assert code_of(store.add_secret, one, "A", "v") == NOT_UNIQUE
    assert code_of(store.add_secret, one, "_a", "v") == INVALID_PARAMETER
    assert code_of(store.add_secret, one, "b", "v" * 8193) == PARAMETER_TOO_LONG
    assert code_of(store.get_secret, one, secret_name="B") == INVALID_PARAMETER
