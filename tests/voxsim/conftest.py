import pytest

from voxsim.store import Store


@pytest.fixture
def store():
    """An in-memory store with one account (id 1)."""
    s = Store()
    s.create_account(1, "acc", "a@example.com", "key")
    yield s
    s.close()
