"""ApplicationStorage: a session's `get`, `put`, `remove` and `keys` on its application's key-value storage.

The pairs are those of the session's application, in the `KeyValueStore` the composition root plugs in (the
same the KeyValueStorage Management API shows). Each call is one `storage.*` command; its answer goes back as
a `StorageResult` event, which resolves the call's promise in voxengine.js with the typings' shapes
(`StorageKey {key, value, expireAt}`, `StoragePage {keys}`, or null) or rejects it with the platform's message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from voxsim.errors import INVALID_PARAMETER, VoxError
from voxsim.model import KeyValueItem
from voxsim.runtime.host import KeyValueStore
from voxsim.runtime.protocol import StorageResult

KEYS_DEFAULT_COUNT = 1000  # ApplicationStorage.keys: "The default value is 1000" [DOC]
NO_STORE = "ApplicationStorage is not available: this runtime has no key-value store"


def storage_key(item: KeyValueItem) -> dict[str, Any]:
    """The typings' `StorageKey`."""
    return {"key": item.key, "value": item.value, "expireAt": item.expires_at}


class SessionStorage:
    """Carries out a session's ApplicationStorage calls at once (SQLite is local) and queues each answer."""

    def __init__(self, store: KeyValueStore | None, account_id: int, application_id: int,
                 answer: Callable[[StorageResult], object]) -> None:
        self._store = store
        self._account_id = account_id
        self._application_id = application_id
        self._answer = answer

    def get(self, request_id: int, key: str) -> None:
        def run(store: KeyValueStore) -> Any:
            item = store.get_key_value_item(self._account_id, self._application_id, key)
            return storage_key(item) if item is not None else None

        self._run(request_id, run)

    def put(self, request_id: int, key: str, value: str, ttl: int | None) -> None:
        def run(store: KeyValueStore) -> Any:
            return storage_key(store.set_key_value_item(self._account_id, self._application_id, key, value, ttl=ttl))

        self._run(request_id, run)

    def remove(self, request_id: int, key: str) -> None:
        """Resolves the removed pair with `expireAt` 0 ("the returned StorageKey always has zero ttl"); a key
        with no pair resolves with an empty value."""

        def run(store: KeyValueStore) -> Any:
            item = store.del_key_value_item(self._account_id, self._application_id, key)
            return {"key": key, "value": item.value if item is not None else "", "expireAt": 0}

        self._run(request_id, run)

    def keys(self, request_id: int, pattern: str | None, count: int | None) -> None:
        """The first `count` (1000 by default) keys that match `pattern`, in key order."""

        def run(store: KeyValueStore) -> Any:
            limit = KEYS_DEFAULT_COUNT if count is None else count
            if limit < 0:
                raise VoxError(INVALID_PARAMETER, "The 'count' parameter is invalid")
            items = store.list_key_value_items(self._account_id, self._application_id, pattern)
            return {"keys": [item.key for item in items[:limit]]}

        self._run(request_id, run)

    def _run(self, request_id: int, run: Callable[[KeyValueStore], Any]) -> None:
        if self._store is None:
            result: dict[str, Any] = {"error": NO_STORE}
        else:
            try:
                result = {"value": run(self._store)}
            except VoxError as err:
                result = {"error": err.msg, "code": err.code}
        self._answer(StorageResult(request_id, result))
