"""The PSTN black list in the store: how items match a dialled number, per account."""

from __future__ import annotations

import pytest

from voxsim.store import Store
from voxsim.store.pstn_blacklist import INVALID_PSTN_BLACKLIST_ID, INVALID_PSTN_BLACKLIST_PHONE

from .conftest import code_of


@pytest.mark.parametrize(("item", "number", "barred"), [
    ("+15550100", "15550100", True),
    ("1 (555) 0100", "+15550100", True),
    ("+15550100", "+155501001", False),
    ("1800.*", "+18005550100", True),
    (r"\+1800.*", "18005550100", True),  # a pattern may be written for the number with its +
    ("1800", "18005550100", False),  # a number item is exact
    ("555", "15550100", False),  # a pattern matches the whole number
])
def test_matching(store: Store, item: str, number: str, barred: bool):
    store.add_pstn_blacklist_item(1, item)
    assert (store.pstn_blacklisted(1, number) is not None) is barred


def test_per_account_and_refusals(store: Store):
    item = store.add_pstn_blacklist_item(1, "+15550100")
    assert store.pstn_blacklisted(2, "+15550100") is None
    assert code_of(store.get_pstn_blacklist_item, 2, item.pstn_blacklist_id) == INVALID_PSTN_BLACKLIST_ID
    assert code_of(store.add_pstn_blacklist_item, 1, "[") == INVALID_PSTN_BLACKLIST_PHONE
    assert code_of(store.set_pstn_blacklist_item, 1, item.pstn_blacklist_id, " ") == INVALID_PSTN_BLACKLIST_PHONE
    store.del_pstn_blacklist_item(1, item.pstn_blacklist_id)
    assert store.pstn_blacklisted(1, "+15550100") is None
