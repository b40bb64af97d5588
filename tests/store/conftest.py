"""Helpers of the store tests (the `store` fixture itself is in tests/conftest.py)."""

from collections.abc import Callable
from typing import Any

import pytest

from voxsim.errors import VoxError
from voxsim.store import Store


@pytest.fixture
def apps(store: Store) -> tuple[int, int]:
    """Two applications of account 1: their ids."""
    return store.add_application(1, "one").application_id, store.add_application(1, "two").application_id


def code_of(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> int:
    """The Voximplant error code `fn(*args, **kwargs)` raises."""
    with pytest.raises(VoxError) as err:
        fn(*args, **kwargs)
    return err.value.code
