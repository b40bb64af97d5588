"""KeyValueStorage methods through the official client, and the same pairs as a scenario's ApplicationStorage."""

from __future__ import annotations

import time

import pytest

from voxsim.testing import expect_api_error

pytestmark = pytest.mark.asyncio(loop_scope="module")  # the module's emulator (conftest.py) runs on that loop

COUNTER = """
require(Modules.ApplicationStorage);
VoxEngine.addEventListener(AppEvents.Started, async () => {
  const seen = await ApplicationStorage.get('calls:total');
  const total = seen === null ? 1 : Number(seen.value) + 1;
  await ApplicationStorage.put('calls:total', String(total), 3600);
  Logger.write('total ' + total);
  VoxEngine.terminate();
});
"""


async def application(api, name: str = "shop") -> int:
    return int((await api("add_application", application_name=name))["application_id"])


async def test_set_get_items_keys_del(api):
    app = await application(api)
    before = int(time.time())
    set_reply = await api("set_key_value_item", key="test", value="value1", application_id=app, ttl=60)
    item = set_reply["result"]
    assert (item["key"], item["value"]) == ("test", "value1") and before + 60 <= item["expires_at"] <= before + 62
    await api("set_key_value_item", key="test:1", value="value2", application_id=app)  # 30 days by default
    await api("set_key_value_item", key="other", value="value3", application_id=app,
              expires_at=before + 3600)

    assert (await api("get_key_value_item", key="test", application_id=app))["result"] == item
    assert (await api("get_key_value_item", key="nothing", application_id=app))["result"] is None

    items = (await api("get_key_value_items", key="test", application_id=app))["result"]
    assert [(i["key"], i["value"]) for i in items] == [("test", "value1"), ("test:1", "value2")]
    assert items[1]["expires_at"] >= before + 2_592_000
    page = (await api("get_key_value_items", key="*", application_id=app, count=1, offset=1))["result"]
    assert [i["key"] for i in page] == ["test"]

    keys = (await api("get_key_value_keys", application_id=app))["result"]
    assert [k["key"] for k in keys] == ["other", "test", "test:1"] and set(keys[0]) == {"key", "expires_at"}
    assert [k["key"] for k in (await api("get_key_value_keys", application_id=app, key="*:1"))["result"]] == \
        ["test:1"]

    assert (await api("del_key_value_item", key="test", application_id=app))["result"] == 1
    assert (await api("get_key_value_item", key="test", application_id=app))["result"] is None
    assert (await api("del_key_value_item", key="test", application_id=app))["result"] == 1


async def test_application_by_name_and_one_store_per_application(api):
    one, two = await application(api, "one"), await application(api, "two")
    await api("set_key_value_item", key="k", value="of one", application_id=one)
    got = await api("get_key_value_item", key="k", application_id=one, application_name="two")  # the id wins
    assert got["result"]["value"] == "of one"
    assert (await api("get_key_value_item", key="k", application_id=two))["result"] is None


@pytest.mark.parametrize(("method", "kwargs", "code"), [
    ("set_key_value_item", {"key": "k", "value": "v", "application_id": 999999}, 116),
    ("get_key_value_item", {"key": "k", "application_id": 999999}, 116),
    ("get_key_value_items", {"key": "k", "application_id": 999999}, 116),
    ("get_key_value_keys", {"application_id": 999999}, 116),
    ("del_key_value_item", {"key": "k", "application_id": 999999}, 116),
    ("set_key_value_item", {"key": "k" * 201, "value": "v"}, 499),
    ("set_key_value_item", {"key": "a b", "value": "v"}, 496),
    ("set_key_value_item", {"key": "k", "value": "v" * 2001}, 499),
    ("set_key_value_item", {"key": "k", "value": "v", "ttl": 7_776_001}, 496),
    ("set_key_value_item", {"key": "k", "value": "v", "ttl": 10, "expires_at": 1}, 458),
    ("set_key_value_item", {"key": "k", "value": ""}, 485),
    ("get_key_value_items", {"key": "k", "count": 51}, 496),
])
async def test_errors(api, method, kwargs, code):
    if "application_id" not in kwargs:
        kwargs["application_id"] = await application(api)
    await expect_api_error(api, code, method, **kwargs)


async def test_a_scenario_and_the_api_share_the_store(api, emulator):
    app = await application(api, "counter")
    scenario = (await api("add_scenario", scenario_name="counter", scenario_script=COUNTER,
                          application_id=app))["scenario_id"]
    rule = (await api("add_rule", application_id=app, rule_name="counter", rule_pattern=".*",
                      scenario_id=scenario))["rule_id"]
    await api("set_key_value_item", key="calls:total", value="41", application_id=app)
    for expected in ("42", "43"):  # one session puts, the next one gets what it put
        session_id = (await api("start_scenarios", rule_id=rule))["call_session_history_id"]
        await emulator.runtime.session(session_id).wait_finished(5)
        got = (await api("get_key_value_item", key="calls:total", application_id=app))["result"]
        assert got["value"] == expected
