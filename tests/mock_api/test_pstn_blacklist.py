"""PSTN black list methods through the official client."""

from __future__ import annotations

import pytest

from voxsim.testing import expect_api_error

pytestmark = pytest.mark.asyncio(loop_scope="module")  # the module's emulator (conftest.py) runs on that loop


async def test_add_get_set_del(api):
    first = await api("add_pstn_black_list_item", pstn_blacklist_phone="+15550100")
    second = await api("add_pstn_black_list_item", pstn_blacklist_phone="1800.*")
    assert first["result"] == 1 and second["pstn_blacklist_id"] > first["pstn_blacklist_id"]
    listed = await api("get_pstn_black_list")
    assert (listed["total_count"], listed["count"]) == (2, 2)
    assert listed["result"][0] == {"pstn_blacklist_id": first["pstn_blacklist_id"], "pstn_blacklist_phone": "+15550100"}
    by_phone = await api("get_pstn_black_list", pstn_blacklist_phone="15550100")
    assert [i["pstn_blacklist_id"] for i in by_phone["result"]] == [first["pstn_blacklist_id"]]
    by_id = await api("get_pstn_black_list", pstn_blacklist_id=second["pstn_blacklist_id"])
    assert [i["pstn_blacklist_phone"] for i in by_id["result"]] == ["1800.*"]

    await api("set_pstn_black_list_item", pstn_blacklist_id=first["pstn_blacklist_id"],
              pstn_blacklist_phone="+15550101")
    assert (await api("get_pstn_black_list", count=1))["result"][0]["pstn_blacklist_phone"] == "+15550101"
    await api("del_pstn_black_list_item", pstn_blacklist_id=first["pstn_blacklist_id"])
    assert (await api("get_pstn_black_list"))["total_count"] == 1


@pytest.mark.parametrize(("method", "kwargs", "code"), [
    ("add_pstn_black_list_item", {"pstn_blacklist_phone": "("}, 425),
    ("add_pstn_black_list_item", {"pstn_blacklist_phone": "1" * 100}, 425),
    ("set_pstn_black_list_item", {"pstn_blacklist_id": 999999, "pstn_blacklist_phone": "1"}, 400),
    ("del_pstn_black_list_item", {"pstn_blacklist_id": 999999}, 400),
])
async def test_errors(api, method, kwargs, code):
    await expect_api_error(api, code, method, **kwargs)
