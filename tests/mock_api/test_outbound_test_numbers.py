"""The account's outbound test number through the official client: add, verify (simulated), activate, delete."""

from __future__ import annotations

import logging

import pytest

from voxsim.testing import expect_api_error

pytestmark = pytest.mark.asyncio(loop_scope="module")  # the module's emulator (conftest.py) runs on that loop


async def test_add_verify_activate_delete(api, emulator, caplog):
    assert (await api("get_outbound_test_phone_numbers"))["result"] == []
    await api("add_outbound_test_phone_number", phone_number="+1 415 555 0123")
    assert (await api("get_outbound_test_phone_numbers"))["result"] == [
        {"phone_number": "14155550123", "is_verified": False, "country_code": "US"}]
    await expect_api_error(api, 493, "add_outbound_test_phone_number", phone_number="+447700900123")

    with caplog.at_level(logging.WARNING, logger="voxsim.store.outbound_test_numbers"):
        reply = await api("verify_outbound_test_phone_number")
    assert reply["daily_attempts_left"] == 4
    [line] = [r.getMessage() for r in caplog.records if "verification call" in r.getMessage()]
    code = line.split("the code is ")[1].split()[0]
    await expect_api_error(api, 496, "activate_outbound_test_phone_number", verification_code="wrong")
    await api("activate_outbound_test_phone_number", verification_code=code)
    [number] = (await api("get_outbound_test_phone_numbers"))["result"]
    assert number["is_verified"] is True
    # the official client returns this method's errors instead of raising them
    assert (await api("verify_outbound_test_phone_number"))["error"]["code"] == 493

    await api("del_outbound_test_phone_number")
    assert (await api("get_outbound_test_phone_numbers"))["result"] == []
    await api("add_outbound_test_phone_number", phone_number="+447700900123")  # another, once the first is gone
    assert (await api("get_outbound_test_phone_numbers"))["result"][0]["country_code"] == "GB"


async def test_daily_attempts_run_out(api):
    await api("add_outbound_test_phone_number", phone_number="+15550100")
    left = [(await api("verify_outbound_test_phone_number"))["daily_attempts_left"] for _ in range(5)]
    assert left == [4, 3, 2, 1, 0]
    assert (await api("verify_outbound_test_phone_number"))["error"]["code"] == 496


@pytest.mark.parametrize(("method", "kwargs"), [
    ("activate_outbound_test_phone_number", {"verification_code": "12345"}),
    ("del_outbound_test_phone_number", {}),
    ("add_outbound_test_phone_number", {"phone_number": "not a number"}),
])
async def test_without_a_number(api, method, kwargs):
    await expect_api_error(api, 496, method, **kwargs)


async def test_verify_without_a_number(api):
    assert (await api("verify_outbound_test_phone_number"))["error"]["code"] == 496
