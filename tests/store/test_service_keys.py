"""Service-account keys and their roles in the store: per account, roles replaced and removed, gone with the key."""

from __future__ import annotations

import pytest

from voxsim.errors import PARAMETER_TOO_LONG
from voxsim.store import Store
from voxsim.store.service_keys import INVALID_KEY_ID, INVALID_ROLE_ID, INVALID_ROLE_NAME, roles_by_id, roles_by_name

from .conftest import code_of


@pytest.fixture
def key(store: Store) -> str:
    store.create_key(1, "k1", "PUBLIC", key_name="one", description="first", roles=roles_by_name(["Developer"]))
    return "k1"


def names(store: Store, key_id: str) -> list[str]:
    return [role.role_name for role in store.key_roles(1, key_id)]


def test_create_list_update_delete(store: Store, key: str):
    got = store.get_key(1, key)
    assert (got.key_name, got.description, got.public_key) == ("one", "first", "PUBLIC")
    assert store.get_service_key(key) is not None  # the table JWT authentication reads
    assert key in [k.key_id for k in store.list_keys(1)]
    store.update_key(1, key, description="changed")
    assert (store.get_key(1, key).key_name, store.get_key(1, key).description) == ("one", "changed")
    store.delete_key(1, key)
    assert store.get_service_key(key) is None
    assert store.db.scalar("SELECT COUNT(*) FROM service_key_roles WHERE key_id = ?", (key,)) == 0


def test_roles_set_and_removed(store: Store, key: str):
    assert names(store, key) == ["Developer"]
    store.set_key_roles(1, key, roles_by_name(["admin", "Support"]))  # names match case-insensitively
    assert names(store, key) == ["Admin", "Support"]
    store.remove_key_roles(1, key, roles_by_id([6, 1]))
    assert names(store, key) == ["Admin"]


def test_refusals(store: Store, key: str):
    assert code_of(store.get_key, 2, key) == INVALID_KEY_ID  # another account's key is unknown there
    assert code_of(store.delete_key, 1, "nope") == INVALID_KEY_ID
    assert code_of(roles_by_id, [0]) == INVALID_ROLE_ID
    assert code_of(roles_by_name, ["Nobody"]) == INVALID_ROLE_NAME
    assert code_of(store.update_key, 1, key, description="d", key_name="x" * 51) == PARAMETER_TOO_LONG
