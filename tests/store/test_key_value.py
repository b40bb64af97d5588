"""Key-value storage: one store per application, the platform's limits, expiry and key patterns."""

from __future__ import annotations

from pathlib import Path

import pytest

from voxsim.errors import INVALID_APPLICATION_ID, INVALID_PARAMETER, ONLY_ONE_OF, PARAMETER_TOO_LONG, SPECIFY_PARAMETER
from voxsim.store import Store
from voxsim.store.key_value import TTL_DEFAULT, TTL_MAX

from .conftest import code_of

NOW = 1_700_000_000


class Clock:
    def __init__(self) -> None:
        self.now = float(NOW)

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(store: Store) -> Clock:
    c = Clock()
    store.key_value_now = c  # type: ignore[method-assign]
    return c


def keys(store: Store, app: int, pattern: str | None = None) -> list[str]:
    return [item.key for item in store.list_key_value_items(1, app, pattern)]


def test_set_get_replace_delete(store: Store, apps: tuple[int, int], clock: Clock):
    one, _ = apps
    item = store.set_key_value_item(1, one, "totalCalls", "1", ttl=60)
    assert item.api() == {"key": "totalCalls", "value": "1", "expires_at": NOW + 60}
    store.set_key_value_item(1, one, "totalCalls", "2")  # replaces the value and the expiry
    got = store.get_key_value_item(1, one, "totalCalls")
    assert got is not None and (got.value, got.expires_at) == ("2", NOW + TTL_DEFAULT)
    removed = store.del_key_value_item(1, one, "totalCalls")
    assert removed is not None and removed.value == "2"
    assert store.get_key_value_item(1, one, "totalCalls") is None
    assert store.del_key_value_item(1, one, "totalCalls") is None  # nothing to delete is no error


def test_one_store_per_application(store: Store, apps: tuple[int, int], clock: Clock):
    one, two = apps
    store.set_key_value_item(1, one, "k", "of one")
    store.set_key_value_item(1, two, "k", "of two")
    assert store.get_key_value_item(1, one, "k").value == "of one"  # type: ignore[union-attr]
    assert store.get_key_value_item(1, two, "k").value == "of two"  # type: ignore[union-attr]
    # another account cannot reach the application's pairs: its id is unknown there
    assert code_of(store.get_key_value_item, 2, one, "k") == INVALID_APPLICATION_ID
    store.del_applications(1, application_ids=[one])
    assert store.db.scalar("SELECT COUNT(*) FROM key_value_items WHERE application_id = ?", (one,)) == 0


def test_ttl_is_honoured(store: Store, apps: tuple[int, int], clock: Clock):
    one, _ = apps
    store.set_key_value_item(1, one, "short", "v", ttl=5)
    store.set_key_value_item(1, one, "long", "v", expires_at=NOW + 100)
    store.set_key_value_item(1, one, "none", "v", ttl=0)  # expires at once
    assert keys(store, one) == ["long", "short"]
    clock.now += 5
    assert store.get_key_value_item(1, one, "short") is None
    assert keys(store, one) == ["long"]
    store.set_key_value_item(1, one, "other", "v")  # a write takes the expired pairs away
    assert store.db.scalar("SELECT COUNT(*) FROM key_value_items WHERE key = 'short'") == 0


def test_patterns(store: Store, apps: tuple[int, int], clock: Clock):
    one, _ = apps
    for key in ("test", "test:1", "test:2", "testing", "order:1", "a.b#c+d;е"):
        store.set_key_value_item(1, one, key, "v")
    assert keys(store, one, "test") == ["test", "test:1", "test:2", "testing"]
    assert keys(store, one, "test:") == ["test:1", "test:2"]
    assert keys(store, one, "*:1") == ["order:1", "test:1"]
    assert keys(store, one, "t*t") == ["test"]
    assert keys(store, one, "a.b") == ["a.b#c+d;е"]  # '.' is a key character, not a regex
    assert len(keys(store, one)) == 6


@pytest.mark.parametrize(("kwargs", "code"), [
    ({"key": "", "value": "v"}, SPECIFY_PARAMETER),
    ({"key": "k" * 201, "value": "v"}, PARAMETER_TOO_LONG),
    ({"key": "with space", "value": "v"}, INVALID_PARAMETER),
    ({"key": "star*", "value": "v"}, INVALID_PARAMETER),
    ({"key": "k", "value": "v" * 2001}, PARAMETER_TOO_LONG),
    ({"key": "k", "value": "v", "ttl": -1}, INVALID_PARAMETER),
    ({"key": "k", "value": "v", "ttl": TTL_MAX + 1}, INVALID_PARAMETER),
    ({"key": "k", "value": "v", "expires_at": NOW}, INVALID_PARAMETER),
    ({"key": "k", "value": "v", "expires_at": NOW + TTL_MAX + 1}, INVALID_PARAMETER),
    ({"key": "k", "value": "v", "ttl": 1, "expires_at": NOW + 1}, ONLY_ONE_OF),
])
def test_limits(store: Store, apps: tuple[int, int], clock: Clock, kwargs, code):
    key, value = kwargs.pop("key"), kwargs.pop("value")
    assert code_of(store.set_key_value_item, 1, apps[0], key, value, **kwargs) == code


def test_the_limits_themselves_are_allowed(store: Store, apps: tuple[int, int], clock: Clock):
    item = store.set_key_value_item(1, apps[0], "k" * 200, "v" * 2000, ttl=TTL_MAX)
    assert item.expires_at == NOW + TTL_MAX
    assert code_of(store.list_key_value_items, 1, apps[0], "bad pattern") == INVALID_PARAMETER


def test_pairs_are_persisted(tmp_path: Path):
    path = str(tmp_path / "voxsim.db")
    first = Store(path)
    first.create_account(1, "acc", "a@example.com", "key")
    app = first.add_application(1, "one").application_id
    first.set_key_value_item(1, app, "kept", "across restarts")
    first.close()
    again = Store(path)
    try:
        assert again.get_key_value_item(1, app, "kept").value == "across restarts"  # type: ignore[union-attr]
    finally:
        again.close()
