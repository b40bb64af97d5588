"""Caller ID methods: GetCallerIDs and DelCallerID through the official client; AddCallerID, VerifyCallerID and
ActivateCallerID, which the current Python client no longer sends, as plain HTTP calls."""

from __future__ import annotations

import logging

import pytest

from voxsim.testing import expect_api_error, raw_api_call

pytestmark = pytest.mark.asyncio(loop_scope="module")  # the module's emulator (conftest.py) runs on that loop


async def add(emulator, number: str) -> int:
    reply = await raw_api_call(emulator, "AddCallerID", callerid_number=number)
    assert reply["result"] == 1, reply
    return int(reply["callerid_id"])


async def verification_code(emulator, caplog, callerid_id: int) -> str:
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="voxsim.store.phone_numbers"):
        assert (await raw_api_call(emulator, "VerifyCallerID", callerid_id=str(callerid_id)))["result"] == 1
    line = next(r.getMessage() for r in caplog.records if "verification call" in r.getMessage())
    return line.split("the code is ")[1].split()[0]


async def test_add_verify_activate_get_del(api, emulator, caplog):
    callerid_id = await add(emulator, "+1 415 555 0123")
    listed = (await api("get_caller_ids"))["result"]
    assert listed == [{"callerid_id": callerid_id, "callerid_number": "14155550123", "active": False,
                       "code_entering_attempts_left": 5, "verification_call_attempts_left": 5}]

    code = await verification_code(emulator, caplog, callerid_id)
    wrong = "00000" if code != "00000" else "11111"
    reply = await raw_api_call(emulator, "ActivateCallerID", callerid_id=str(callerid_id), verification_code=wrong)
    assert reply["error"]["code"] == 496
    reply = await raw_api_call(emulator, "ActivateCallerID", callerid_number="14155550123", verification_code=code)
    assert reply["result"] == 1

    got = (await api("get_caller_ids", callerid_number="+14155550123"))["result"][0]
    assert got["active"] is True and got["verification_call_attempts_left"] == 4
    assert got["verified_until"].year >= 2025  # the client parsed the date
    assert (await api("get_caller_ids", active=False))["total_count"] == 0

    await api("del_caller_id", callerid_id=callerid_id)
    assert (await api("get_caller_ids"))["total_count"] == 0


async def test_errors(api, emulator):
    assert (await raw_api_call(emulator, "AddCallerID", callerid_number="not a number"))["error"]["code"] == 496
    await add(emulator, "14155550124")
    assert (await raw_api_call(emulator, "AddCallerID", callerid_number="+14155550124"))["error"]["code"] == 493
    assert (await raw_api_call(emulator, "AddCallerID"))["error"]["code"] == 485
    await expect_api_error(api, 496, "del_caller_id", callerid_id=999)
    reply = await raw_api_call(emulator, "ActivateCallerID", callerid_number="14155550124", verification_code="1")
    assert reply["error"]["code"] == 496  # no verification call yet
