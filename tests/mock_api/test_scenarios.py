"""Scenario methods through the official client (one emulator per module, reset before each test)."""

from datetime import datetime

import pytest

from voxsim.testing import expect_api_error as expect_error
from voxsim.testing import raw_api_call as raw

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def scenario_names_of_rule(api, app_id, rule_id) -> list[str]:
    rules = await api("get_rules", application_id=app_id, rule_id=rule_id, with_scenarios=True)
    return [s["scenario_name"] for s in rules["result"][0]["scenarios"]]


async def test_shared_and_application_scenarios(api):
    app = await api("add_application", application_name="web")
    other = await api("add_application", application_name="other")
    shared = (await api("add_scenario", scenario_name="Library", scenario_script="var lib = 1;"))["scenario_id"]
    own = (await api("add_scenario", scenario_name="main", scenario_script="VoxEngine.terminate();",
                     application_name="web"))["scenario_id"]
    foreign = (await api("add_scenario", scenario_name="main", application_id=other["application_id"]))["scenario_id"]

    everything = await api("get_scenarios")
    assert [s["scenario_id"] for s in everything["result"]] == [shared, own, foreign]
    assert "application_id" not in everything and "scenario_script" not in everything["result"][0]
    item = everything["result"][0]
    assert item["scenario_name"] == "Library" and item["parent"] is False and isinstance(item["modified"], datetime)

    in_app = await api("get_scenarios", application_id=app["application_id"], with_script=True)
    assert [s["scenario_id"] for s in in_app["result"]] == [shared, own]
    assert in_app["result"][1]["scenario_script"] == "VoxEngine.terminate();"
    assert (in_app["application_id"], in_app["application_name"]) == (app["application_id"], app["application_name"])
    assert in_app["extended_application_name"] == app["application_name"]

    assert [s["scenario_id"] for s in (await api("get_scenarios", scenario_name="LIB"))["result"]] == [shared]
    assert [s["scenario_id"] for s in (await api("get_scenarios", scenario_id=own))["result"]] == [own]
    page = await api("get_scenarios", count=1, offset=2)
    assert (page["total_count"], page["count"], page["result"][0]["scenario_id"]) == (3, 1, foreign)


async def test_add_binds_rewrite_and_set(api):
    app_id = (await api("add_application", application_name="web"))["application_id"]
    rule_id = (await api("add_rule", application_id=app_id, rule_name="all", rule_pattern=".*"))["rule_id"]
    first = await api("add_scenario", scenario_name="one", scenario_script="// 1", application_id=app_id,
                      rule_id=rule_id)
    await api("add_scenario", scenario_name="two", application_id=app_id, rule_name="all")
    await api("add_scenario", scenario_name="shared", rule_name="all")  # unique rule name: no application needed
    assert await scenario_names_of_rule(api, app_id, rule_id) == ["one", "two", "shared"]

    again = await api("add_scenario", scenario_name="one", scenario_script="// 2", application_id=app_id,
                      rewrite=True)
    assert again["scenario_id"] == first["scenario_id"]
    got = await api("get_scenarios", scenario_id=first["scenario_id"], with_script=True)
    assert got["result"][0]["scenario_script"] == "// 2"

    await api("set_scenario_info", scenario_id=first["scenario_id"], scenario_name="uno", scenario_script="// 3")
    await api("set_scenario_info", required_scenario_name="uno", scenario_script="// 4")
    got = await api("get_scenarios", scenario_name="uno", with_script=True)
    assert [(s["scenario_id"], s["scenario_script"]) for s in got["result"]] == [(first["scenario_id"], "// 4")]


async def test_bind_unbind_reorder(api):
    app_id = (await api("add_application", application_name="web"))["application_id"]
    rule_id = (await api("add_rule", application_id=app_id, rule_name="all", rule_pattern=".*"))["rule_id"]
    ids = [(await api("add_scenario", scenario_name=n, application_id=app_id))["scenario_id"] for n in "abc"]
    shared = (await api("add_scenario", scenario_name="shared"))["scenario_id"]
    await api("bind_scenario", scenario_id=[ids[1], ids[0]], rule_id=rule_id)
    await api("bind_scenario", scenario_name=["shared", "c"], rule_name="all", application_id=app_id, bind=True)
    assert await scenario_names_of_rule(api, app_id, rule_id) == ["b", "a", "shared", "c"]
    await api("bind_scenario", scenario_id=ids[0], rule_id=rule_id, application_id=app_id, bind=False)
    assert await scenario_names_of_rule(api, app_id, rule_id) == ["b", "shared", "c"]
    await api("reorder_scenarios", rule_id=rule_id, scenario_id=[ids[2], shared, ids[1]])
    assert await scenario_names_of_rule(api, app_id, rule_id) == ["c", "shared", "b"]
    await api("reorder_scenarios", rule_name="all", scenario_id=[ids[1]])
    assert await scenario_names_of_rule(api, app_id, rule_id) == ["b", "c", "shared"]


async def test_delete(api):
    app_id = (await api("add_application", application_name="web"))["application_id"]
    ids = [(await api("add_scenario", scenario_name=n, application_id=app_id))["scenario_id"] for n in "abc"]
    rule_id = (await api("add_rule", application_id=app_id, rule_name="all", rule_pattern=".*",
                         scenario_id=ids))["rule_id"]
    await api("del_scenario", scenario_id=ids[0])
    await api("del_scenario", scenario_name="b")
    assert await scenario_names_of_rule(api, app_id, rule_id) == ["c"]
    await api("add_scenario", scenario_name="shared")
    await api("del_scenario", scenario_id="all")
    assert (await api("get_scenarios"))["total_count"] == 0
    assert await scenario_names_of_rule(api, app_id, rule_id) == []


async def test_errors(api, emulator):
    one = (await api("add_application", application_name="one"))["application_id"]
    two = (await api("add_application", application_name="two"))["application_id"]
    rule_one = (await api("add_rule", application_id=one, rule_name="r", rule_pattern=".*"))["rule_id"]
    await api("add_rule", application_id=two, rule_name="r", rule_pattern=".*")
    mine = (await api("add_scenario", scenario_name="mine", application_id=one))["scenario_id"]
    theirs = (await api("add_scenario", scenario_name="theirs", application_id=two))["scenario_id"]
    await api("add_scenario", scenario_name="shared")

    await expect_error(api, 168, "add_scenario", scenario_name="x" * 30)
    await expect_error(api, 133, "add_scenario", scenario_name="mine", application_id=one)
    await expect_error(api, 133, "add_scenario", scenario_name="shared", application_id=one, rewrite=True)
    await expect_error(api, 133, "add_scenario", scenario_name="theirs")
    await expect_error(api, 130, "add_scenario", scenario_name="big", scenario_script="x" * (128 * 1024))
    await expect_error(api, 485, "add_scenario", scenario_name="")
    await expect_error(api, 147, "add_scenario", scenario_name="new", application_id=two, rule_id=rule_one)
    await expect_error(api, 485, "add_scenario", scenario_name="new", rule_name="r")  # "r" is in both apps
    await expect_error(api, 116, "get_scenarios", application_id=999999)
    await expect_error(api, 132, "set_scenario_info", scenario_id=999999, scenario_script="")
    await expect_error(api, 168, "set_scenario_info", required_scenario_name="nope", scenario_script="x")
    await expect_error(api, 133, "set_scenario_info", scenario_id=mine, scenario_name="shared")
    await expect_error(api, 485, "set_scenario_info", scenario_script="x")
    await expect_error(api, 132, "bind_scenario", scenario_id=theirs, rule_id=rule_one)
    await expect_error(api, 132, "bind_scenario", scenario_id=999999, rule_id=rule_one)
    await expect_error(api, 168, "bind_scenario", scenario_name="theirs", rule_id=rule_one)
    await expect_error(api, 147, "bind_scenario", scenario_id=mine, rule_id=999999)
    await expect_error(api, 147, "bind_scenario", scenario_id=mine, rule_id=rule_one, application_id=two)
    await expect_error(api, 485, "bind_scenario", scenario_id=mine, rule_name="r")
    await expect_error(api, 156, "bind_scenario", scenario_id=mine, rule_name="nope", application_id=one)
    await expect_error(api, 485, "bind_scenario", rule_id=rule_one)
    await expect_error(api, 132, "reorder_scenarios", rule_id=rule_one, scenario_id=[mine])  # not bound
    await expect_error(api, 485, "reorder_scenarios", scenario_id=[mine])
    await expect_error(api, 132, "del_scenario", scenario_id=[mine, 999999])
    await expect_error(api, 168, "del_scenario", scenario_name=["mine", "nope"])
    assert (await api("get_scenarios"))["total_count"] == 3  # nothing deleted
    both = await raw(emulator, "DelScenario", scenario_id="1", scenario_name="mine")
    assert both["error"]["code"] == 458
