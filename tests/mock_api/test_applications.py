"""Application methods through the official client (one emulator per module, reset before each test)."""

from datetime import datetime

import pytest

from voxsim.testing import expect_api_error as expect_error
from voxsim.testing import raw_api_call as raw

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_add_get_set_delete(api, emulator):
    full = f"app-one.{emulator.account.account_name}.voximplant.com"
    added = await api("add_application", application_name="app-one")
    assert added == {"result": 1, "application_id": added["application_id"], "application_name": full,
                     "secure_record_storage": False}
    app_id = added["application_id"]
    got = await api("get_applications", application_id=app_id)
    assert got["total_count"] == 1 and got["count"] == 1
    info = got["result"][0]
    assert info["application_name"] == full and isinstance(info["modified"], datetime)
    assert "rules" not in info

    renamed = await api("set_application_info", application_id=app_id, application_name="app-uno",
                        secure_record_storage=True)
    assert renamed == {"result": 1, "application_name": full.replace("app-one", "app-uno"),
                       "secure_record_storage": True}
    by_full_name = await api("set_application_info", required_application_name=renamed["application_name"],
                             secure_record_storage=False)
    assert by_full_name["secure_record_storage"] is False

    await api("del_application", application_name="app-uno")
    assert (await api("get_applications"))["total_count"] == 0


async def test_list_paging_filters_rules_and_scenarios(api):
    ids = [(await api("add_application", application_name=n))["application_id"] for n in ("red", "green", "blue")]
    page = await api("get_applications", count=2, offset=1)
    assert (page["total_count"], page["count"]) == (3, 2)
    assert [a["application_id"] for a in page["result"]] == ids[1:]
    assert [a["application_id"] for a in (await api("get_applications", application_name="RE"))["result"]] == ids[:2]

    scenario = await api("add_scenario", scenario_name="hello", scenario_script="//", application_id=ids[0])
    await api("add_rule", application_id=ids[0], rule_name="all", rule_pattern=".*",
              scenario_id=scenario["scenario_id"])
    with_rules = (await api("get_applications", application_id=ids[0], with_rules=True))["result"][0]
    assert [r["rule_name"] for r in with_rules["rules"]] == ["all"]
    assert "scenarios" not in with_rules["rules"][0]
    deep = (await api("get_applications", application_id=ids[0], with_scenarios=True))["result"][0]
    assert [s["scenario_name"] for s in deep["rules"][0]["scenarios"]] == ["hello"]


async def test_delete_cascades_and_all(api):
    app_id = (await api("add_application", application_name="doomed"))["application_id"]
    keep = (await api("add_application", application_name="kept"))["application_id"]
    await api("add_user", application_id=app_id, user_name="alice", user_display_name="A", user_password="Passw0rd")
    own = await api("add_scenario", scenario_name="own", application_id=app_id)
    shared = await api("add_scenario", scenario_name="shared")
    await api("add_rule", application_id=app_id, rule_name="r", rule_pattern=".*",
              scenario_id=[own["scenario_id"], shared["scenario_id"]])
    await api("del_application", application_id=app_id)
    scenarios = await api("get_scenarios")
    assert [s["scenario_id"] for s in scenarios["result"]] == [shared["scenario_id"]]
    await expect_error(api, 116, "get_users", application_id=app_id)
    await api("add_application", application_name="third")
    await api("del_application", application_id="all")
    assert (await api("get_applications"))["total_count"] == 0
    await expect_error(api, 116, "get_rules", application_id=keep)


async def test_errors(api, emulator):
    await api("add_application", application_name="taken")
    await api("add_application", application_name="other")
    await expect_error(api, 107, "add_application", application_name="Upper")
    await expect_error(api, 107, "add_application", application_name="x")
    await expect_error(api, 107, "add_application", application_name="a" * 66)
    await expect_error(api, 129, "add_application", application_name="taken")
    msg = await expect_error(api, 485, "add_application", application_name="")
    assert "'application_name'" in msg
    await expect_error(api, 129, "set_application_info", required_application_name="other",
                       application_name="taken")
    await expect_error(api, 107, "set_application_info", required_application_name="other",
                       application_name="b" * 81)
    await expect_error(api, 116, "set_application_info", application_id=999999, secure_record_storage=True)
    await expect_error(api, 558, "set_application_info", required_application_name="missing")
    await expect_error(api, 485, "set_application_info", secure_record_storage=True)
    await expect_error(api, 116, "del_application", application_id=[999999])
    await expect_error(api, 558, "del_application", application_name=["taken", "missing"])
    assert (await api("get_applications"))["total_count"] == 2  # nothing deleted
    both = await raw(emulator, "DelApplication", application_id="1", application_name="taken")
    assert both["error"]["code"] == 458 and "application_id, application_name" in both["error"]["msg"]
    bad_id = await raw(emulator, "GetApplications", application_id="abc")
    assert bad_id["error"]["code"] == 116
