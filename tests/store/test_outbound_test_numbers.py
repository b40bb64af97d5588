"""The outbound test number in the store: one per account, daily verification calls, the code verifies."""

from __future__ import annotations

from voxsim.errors import INVALID_PARAMETER, NOT_UNIQUE
from voxsim.store import Store
from voxsim.store.outbound_test_numbers import DAILY_ATTEMPTS, OutboundTestNumber

from .conftest import code_of


def test_one_number_verified_by_its_code(store: Store):
    store.add_outbound_test_number(1, "+1 212 555 0100")
    assert code_of(store.add_outbound_test_number, 1, "+12125550101") == NOT_UNIQUE
    first, _ = store.verify_outbound_test_number(1)
    code, left = store.verify_outbound_test_number(1)
    assert left == DAILY_ATTEMPTS - 2
    if first != code:  # only the last call's code counts
        assert code_of(store.activate_outbound_test_number, 1, first) == INVALID_PARAMETER
    store.activate_outbound_test_number(1, code)
    number = store.outbound_test_number(1)
    assert number is not None and number.is_verified and number.api()["country_code"] == "US"
    assert store.outbound_test_number(2) is None


def test_attempts_count_again_each_day():
    number = OutboundTestNumber(1, "15550100", False, "", "2026-01-01", DAILY_ATTEMPTS)
    assert number.attempts_left("2026-01-01") == 0 and number.attempts_left("2026-01-02") == DAILY_ATTEMPTS
