import pytest

from voxsim.errors import VoxError
from voxsim.store import Store


@pytest.fixture
def store():
    """An in-memory store with one account (id 1)."""
    s = Store()
    s.create_account(1, "acc", "a@example.com", "key")
    yield s
    s.close()


@pytest.fixture
def apps(store):
    """Two applications of account 1: their ids."""
    return store.add_application(1, "one").application_id, store.add_application(1, "two").application_id


def code_of(fn, *args, **kwargs) -> int:
    """The Voximplant error code `fn(*args, **kwargs)` raises."""
    with pytest.raises(VoxError) as err:
        fn(*args, **kwargs)
    return err.value.code
