"""SMS through the official client: ControlSms, SendSmsMessage, A2PSendSms, the histories, and the local outbox
at /_voxsim/sms."""

from __future__ import annotations

import datetime as dt
from typing import Any

import aiohttp
import pytest

from voxsim.testing import expect_api_error

pytestmark = pytest.mark.asyncio(loop_scope="module")  # the module's emulator (conftest.py) runs on that loop

NUMBER, LANDLINE = "12125550100", "442079460123"


async def get(url: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as client, client.get(url) as resp:
        return resp.status, await resp.json()


async def enabled_number(api) -> str:
    await api("attach_phone_number", phone_number=NUMBER)
    assert (await api("control_sms", phone_number=NUMBER, command="enable"))["result"] == 1
    return NUMBER


async def test_control_sms_shows_in_phone_numbers(api):
    await api("attach_phone_number", phone_number=NUMBER)
    await api("attach_phone_number", phone_number=LANDLINE)
    (number, landline) = (await api("get_phone_numbers"))["result"]
    assert (number["is_sms_supported"], number["is_sms_enabled"]) == (True, False)
    assert landline["is_sms_supported"] is False
    await api("control_sms", phone_number="+1 212 555 0100", command="enable")
    assert (await api("get_phone_numbers"))["result"][0]["is_sms_enabled"] is True
    await api("control_sms", phone_number=NUMBER, command="disable")
    assert (await api("get_phone_numbers"))["result"][0]["is_sms_enabled"] is False

    await expect_api_error(api, 528, "control_sms", phone_number=LANDLINE, command="enable")
    await expect_api_error(api, 496, "control_sms", phone_number="12135550100", command="enable")  # not attached
    await expect_api_error(api, 496, "control_sms", phone_number=NUMBER, command="toggle")


async def test_send_and_history(api, emulator):
    source = await enabled_number(api)
    sent = await api("send_sms_message", source=source, destination="+1 415 555 0199", sms_body="Hello",
                     store_body=True)
    assert sent["result"] == 1 and sent["fragments_count"] == 1
    second = await api("send_sms_message", source=source, destination="14155550198", sms_body="Привет" * 12)
    assert second["fragments_count"] == 2  # 72 UCS-2 characters: two segments of 67

    history = await api("get_sms_history")
    assert (history["total_count"], len(history["result"])) == (2, 2)
    first = history["result"][0]
    assert (first["message_id"], first["source_number"], first["destination_number"]) == (
        sent["message_id"], source, "14155550199")
    assert (first["direction"], first["status_id"], first["fragments"], first["text"]) == ("OUT", "1", 1, "Hello")
    assert isinstance(first["processed_date"], dt.date)  # the client reads a day
    assert "text" not in history["result"][1]  # sent without store_body
    assert [m["message_id"] for m in (await api("get_sms_history", message_id=[second["message_id"]]))["result"]] \
        == [second["message_id"]]
    assert (await api("get_sms_history", destination_number="14155550199"))["total_count"] == 1
    assert (await api("get_sms_history", direction="in"))["result"] == []
    assert (await api("get_sms_history", direction="OUT", count=1, offset=1))["result"][0]["message_id"] \
        == second["message_id"]
    assert (await api("a2p_get_sms_history"))["result"] == []

    base = emulator.listeners["api_http"]["url"]
    status, outbox = await get(f"{base}/_voxsim/sms")
    assert status == 200 and outbox["total_count"] == 2
    newest = outbox["result"][0]
    assert (newest["message_id"], newest["kind"], newest["text"], newest["store_body"]) == (
        second["message_id"], "sms", "Привет" * 12, False)
    assert await get(f"{base}/_voxsim/sms/{newest['message_id']}") == (200, newest)
    assert (await get(f"{base}/_voxsim/sms?count=1&offset=1"))[1]["result"][0]["message_id"] == sent["message_id"]
    assert (await get(f"{base}/_voxsim/sms/999999"))[0] == 404
    assert (await get(f"{base}/_voxsim/sms?count=0"))[0] == 400


async def test_send_errors(api):
    await api("attach_phone_number", phone_number=NUMBER)
    await expect_api_error(api, 386, "send_sms_message", source=NUMBER, destination="14155550199", sms_body="x")
    await expect_api_error(api, 496, "send_sms_message", source="12135550100", destination="14155550199",
                           sms_body="x")
    await api("attach_phone_number", phone_number=LANDLINE)
    await expect_api_error(api, 528, "send_sms_message", source=LANDLINE, destination="14155550199", sms_body="x")
    await api("control_sms", phone_number=NUMBER, command="enable")
    await expect_api_error(api, 496, "send_sms_message", source=NUMBER, destination="nobody", sms_body="x")
    await expect_api_error(api, 499, "send_sms_message", source=NUMBER, destination="14155550199",
                           sms_body="x" * 766)
    await expect_api_error(api, 470, "get_sms_history", direction="sideways")
    await expect_api_error(api, 123, "get_sms_history", from_date=dt.datetime(2030, 1, 2),
                           to_date=dt.datetime(2030, 1, 1))
    await expect_api_error(api, 496, "get_sms_history", count=1001)
    await expect_api_error(api, 496, "get_sms_history", output="csv")


async def test_a2p(api):
    await api("attach_phone_number", phone_number=NUMBER)
    await expect_api_error(api, 509, "a2p_send_sms", src_number=NUMBER, dst_numbers=["14155550199"], text="x")
    await api("control_sms", phone_number=NUMBER, command="enable")
    sent = await api("a2p_send_sms", src_number=NUMBER, dst_numbers=["14155550199", "oops", "14155550198"],
                     text="Your code is 1234", store_body=True)
    assert [m["destination_number"] for m in sent["result"]] == ["14155550199", "14155550198"]
    assert sent["failed"] == [{"destination_number": "oops", "error_code": 496,
                               "error_description": "The destination is not a phone number"}]
    assert sent["fragments_count"] == 1

    history = await api("a2p_get_sms_history")
    assert history["total_count"] == 2
    item = history["result"][0]
    assert (item["message_id"], item["transaction_id"], item["delivery_status"], item["text"]) == (
        sent["result"][0]["message_id"], sent["result"][0]["message_id"], "DELIVERED", "Your code is 1234")
    assert isinstance(item["processing_date"], dt.date)
    assert (await api("a2p_get_sms_history", delivery_status=5))["total_count"] == 2
    assert (await api("a2p_get_sms_history", delivery_status=6))["result"] == []
    assert (await api("get_sms_history"))["result"] == []
    await expect_api_error(api, 496, "a2p_get_sms_history", delivery_status=9)
    await expect_api_error(api, 496, "a2p_send_sms", src_number=NUMBER,
                           dst_numbers=[f"1415555{i:04d}" for i in range(101)], text="x")
    await expect_api_error(api, 499, "a2p_send_sms", src_number=NUMBER, dst_numbers=["14155550199"],
                           text="x" * 1601)
