"""Phone number methods through the official client: the fictitious pool, attaching, binding, deactivating."""

from __future__ import annotations

import pytest

from voxsim.testing import expect_api_error, raw_api_call

pytestmark = pytest.mark.asyncio(loop_scope="module")  # the module's emulator (conftest.py) runs on that loop


async def test_categories_states_regions(api):
    categories = (await api("get_phone_number_categories"))["result"]
    assert [c["country_code"] for c in categories] == ["US", "GB"]
    us = categories[0]
    assert us["phone_prefix"] == "1" and us["can_list_phone_numbers"] is True
    assert [c["phone_category_name"] for c in us["phone_categories"]] == ["GEOGRAPHIC", "TOLLFREE"]
    assert us["phone_categories"][0]["country_has_states"] is True
    assert (await api("get_phone_number_categories", country_code="RU"))["result"] == []

    states = (await api("get_phone_number_country_states", country_code="US",
                        phone_category_name="GEOGRAPHIC"))["result"]
    assert {"country_state": "NY", "country_state_name": "New York"} in states
    assert (await api("get_phone_number_country_states", country_code="GB"))["result"] == []

    regions = (await api("get_phone_number_regions", country_code="US", phone_category_name="GEOGRAPHIC",
                         country_state="CA"))["result"]
    assert [(r["phone_region_name"], r["phone_region_code"], r["phone_count"]) for r in regions] == [
        ("Los Angeles", "213", 100), ("San Francisco", "415", 100)]
    assert regions[0]["multiple_numbers_price"] == [] and regions[0]["phone_period"] == "0-1-0 0:0:0"


async def test_new_numbers_attach_get(api):
    new = await api("get_new_phone_numbers", country_code="US", phone_category_name="GEOGRAPHIC",
                    phone_region_id=1, count=3)
    assert new["total_count"] == 100 and new["count"] == 3
    first = new["result"][0]
    assert first["phone_number"] == "12125550100" and first["phone_region_name"] == "New York"
    assert first["phone_category_name"] == "GEOGRAPHIC" and first["phone_country_code"] == "US"

    attached = await api("attach_phone_number", phone_count=2, country_code="US",
                         phone_category_name="GEOGRAPHIC", phone_region_id=1)
    assert attached["result"] == 1
    assert [n["phone_number"] for n in attached["phone_numbers"]] == ["12125550100", "12125550101"]
    by_number = await api("attach_phone_number", phone_number="+44 20 7946 0123")
    assert by_number["phone_numbers"][0]["phone_number"] == "442079460123"

    numbers = await api("get_phone_numbers")
    assert numbers["total_count"] == 3
    got = numbers["result"][0]
    assert got["phone_id"] == attached["phone_numbers"][0]["phone_id"]
    assert got["category_name"] == "GEOGRAPHIC" and got["phone_country_code"] == "US"
    assert got["phone_purchase_date"].year >= 2024  # the client parsed the timestamp and the renewal date
    assert got["phone_next_renewal"] > got["phone_purchase_date"].date()
    assert "application_id" not in got
    assert (await api("get_phone_numbers", country_code="GB"))["total_count"] == 1
    assert (await api("get_new_phone_numbers", country_code="US", phone_category_name="GEOGRAPHIC",
                      phone_region_id=1))["total_count"] == 98
    regions = (await api("get_phone_number_regions", country_code="US", phone_category_name="GEOGRAPHIC",
                         phone_region_id=1))["result"]
    assert regions[0]["phone_count"] == 98
    assert (await api("is_account_phone_number", phone_number="+12125550100"))["result"] is True
    assert (await api("is_account_phone_number", phone_number="12125550199"))["result"] is False


async def test_mask_and_pool_wide_listing(api):
    everything = await api("get_new_phone_numbers", count=1)
    assert everything["total_count"] == 5 * 100 + 100 + 5 * 1000
    masked = await api("get_new_phone_numbers", phone_number_mask="*555014*")
    assert masked["total_count"] == 6 * 10 and all("555014" in n["phone_number"] for n in masked["result"])


async def test_bind_to_application_and_rule(api):
    app = int((await api("add_application", application_name="shop"))["application_id"])
    rule = int((await api("add_rule", application_id=app, rule_name="inbound", rule_pattern=".*"))["rule_id"])
    phone = (await api("attach_phone_number", phone_number="12125550150"))["phone_numbers"][0]
    await api("bind_phone_number_to_application", phone_id=phone["phone_id"], application_id=app,
              rule_name="inbound")
    got = (await api("get_phone_numbers", phone_id=phone["phone_id"]))["result"][0]
    assert got["application_id"] == app and got["rule_id"] == rule and got["rule_name"] == "inbound"
    assert got["application_name"].startswith("shop.")
    assert (await api("get_phone_numbers", is_bound_to_rule=True))["total_count"] == 1
    assert (await api("get_phone_numbers", application_name="shop"))["total_count"] == 1

    await api("bind_phone_number_to_application", phone_number="+12125550150", bind=False)
    got = (await api("get_phone_numbers", phone_id=phone["phone_id"]))["result"][0]
    assert "application_id" not in got and "rule_id" not in got

    await api("bind_phone_number_to_application", phone_number="12125550150", application_id=app)
    await api("del_application", application_id=app)
    got = (await api("get_phone_numbers", phone_id=phone["phone_id"]))["result"][0]
    assert "application_id" not in got  # deleting the application unbinds its numbers


async def test_set_info_and_deactivate(api):
    phone = (await api("attach_phone_number", phone_number="18005550100"))["phone_numbers"][0]
    await api("set_phone_number_info", phone_id=phone["phone_id"], incoming_sms_callback_url="https://example.com/sms")
    got = (await api("get_phone_numbers"))["result"][0]
    assert got["incoming_sms_callback_url"] == "https://example.com/sms" and got["category_name"] == "TOLLFREE"
    await api("deactivate_phone_number", phone_number="18005550100")
    assert (await api("get_phone_numbers"))["total_count"] == 0
    again = await api("attach_phone_number", phone_number="18005550100")  # back in the pool
    assert again["phone_numbers"][0]["phone_id"] == phone["phone_id"]


@pytest.mark.parametrize(("method", "kwargs", "code"), [
    ("attach_phone_number", {"phone_number": "15551234567"}, 496),  # not a pool number
    ("attach_phone_number", {"phone_count": 1, "country_code": "US"}, 485),
    ("attach_phone_number", {"phone_count": 101, "country_code": "US", "phone_category_name": "GEOGRAPHIC",
                             "phone_region_id": 1}, 496),
    ("attach_phone_number", {"phone_count": 1, "country_code": "GB", "phone_category_name": "GEOGRAPHIC",
                             "phone_region_id": 1}, 496),  # a US region
    ("bind_phone_number_to_application", {"phone_id": 123, "application_id": 1}, 496),
    ("deactivate_phone_number", {"phone_number": "12125550100"}, 496),  # not attached
    ("set_phone_number_info", {"phone_id": 10100, "incoming_sms_callback_url": "x"}, 496),
    ("get_new_phone_numbers", {"phone_number_mask": "abc"}, 496),
])
async def test_errors(api, method, kwargs, code):
    await expect_api_error(api, code, method, **kwargs)


async def test_bind_errors(api, emulator):
    app = int((await api("add_application", application_name="one"))["application_id"])
    other = int((await api("add_application", application_name="two"))["application_id"])
    rule = int((await api("add_rule", application_id=other, rule_name="r", rule_pattern=".*"))["rule_id"])
    await api("attach_phone_number", phone_number="12125550160")
    await expect_api_error(api, 147, "bind_phone_number_to_application", phone_number="12125550160",
                           application_id=app, rule_id=rule)
    await expect_api_error(api, 156, "bind_phone_number_to_application", phone_number="12125550160",
                           application_id=app, rule_name="nothing")
    reply = await raw_api_call(emulator, "BindPhoneNumberToApplication", phone_number="12125550160")
    assert reply["error"]["code"] == 485  # binding needs an application
