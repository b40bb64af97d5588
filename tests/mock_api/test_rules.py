"""Rule methods through the official client (one emulator per module, reset before each test)."""

from datetime import datetime

import pytest

from voxsim.testing import expect_api_error as expect_error
from voxsim.testing import raw_api_call as raw

pytestmark = pytest.mark.asyncio(loop_scope="module")


def ids_of(reply) -> list[int]:
    return [r["rule_id"] for r in reply["result"]]


async def test_add_get_set_delete(api):
    app_id = (await api("add_application", application_name="pbx"))["application_id"]
    shared = (await api("add_scenario", scenario_name="shared"))["scenario_id"]
    await api("add_scenario", scenario_name="own", application_id=app_id)
    added = await api("add_rule", application_name="pbx", rule_name="numbers", rule_pattern=r"\+?\d+",
                      rule_pattern_exclude="911", video_conference=True, bind_key_id="key-1",
                      scenario_name=["own", "shared"])
    assert added["result"] == 1 and isinstance(added["rule_id"], int)
    got = await api("get_rules", application_id=app_id, with_scenarios=True)
    assert (got["total_count"], got["count"]) == (1, 1)
    rule = got["result"][0]
    assert {k: rule[k] for k in ("rule_id", "application_id", "rule_name", "rule_pattern", "rule_pattern_exclude",
                                 "video_conference")} == {
        "rule_id": added["rule_id"], "application_id": app_id, "rule_name": "numbers", "rule_pattern": r"\+?\d+",
        "rule_pattern_exclude": "911", "video_conference": True}
    assert isinstance(rule["modified"], datetime)
    assert [s["scenario_name"] for s in rule["scenarios"]] == ["own", "shared"]
    assert isinstance(rule["scenarios"][0]["modified"], datetime)
    assert "scenarios" not in (await api("get_rules", application_id=app_id))["result"][0]

    await api("set_rule_info", rule_id=added["rule_id"], rule_name="any", rule_pattern=".*",
              rule_pattern_exclude="0.*", video_conference=False)
    rule = (await api("get_rules", application_id=app_id))["result"][0]
    assert (rule["rule_name"], rule["rule_pattern"], rule["rule_pattern_exclude"], rule["video_conference"]) == (
        "any", ".*", "0.*", False)
    plain = await api("add_rule", application_id=app_id, rule_name="plain", rule_pattern=".*",
                      scenario_id=[shared])
    await api("del_rule", rule_id=added["rule_id"])
    assert ids_of(await api("get_rules", application_id=app_id)) == [plain["rule_id"]]


async def test_routing_order_filters_and_paging(api):
    app_id = (await api("add_application", application_name="pbx"))["application_id"]
    specs = [("emergency", "911", "", True), ("numbers", r"\d+", "911", False), ("users", "[a-z]+", "", False),
             ("fallback", ".*", "", False)]
    ids = [(await api("add_rule", application_id=app_id, rule_name=n, rule_pattern=p, rule_pattern_exclude=x or None,
                      video_conference=v, bind_key_id="k" if v else None))["rule_id"] for n, p, x, v in specs]
    assert ids_of(await api("get_rules", application_id=app_id)) == ids
    assert ids_of(await api("get_rules", application_id=app_id, template="911")) == [ids[0], ids[3]]
    assert ids_of(await api("get_rules", application_id=app_id, template="12345")) == [ids[1], ids[3]]
    assert ids_of(await api("get_rules", application_id=app_id, template="bob")) == [ids[2], ids[3]]
    assert ids_of(await api("get_rules", application_id=app_id, rule_name="S")) == [ids[1], ids[2]]
    assert ids_of(await api("get_rules", application_id=app_id, video_conference=True)) == [ids[0]]
    assert ids_of(await api("get_rules", application_id=app_id, attached_key_id="k")) == [ids[0]]
    assert ids_of(await api("get_rules", application_id=app_id, rule_id=ids[2])) == [ids[2]]
    page = await api("get_rules", application_id=app_id, count=2, offset=1)
    assert (page["total_count"], page["count"], ids_of(page)) == (4, 2, ids[1:3])

    await api("reorder_rules", rule_id=[ids[3], ids[2], ids[1], ids[0]])
    assert ids_of(await api("get_rules", application_name="pbx")) == ids[::-1]
    await api("reorder_rules", rule_id=[ids[0]])
    assert ids_of(await api("get_rules", application_id=app_id)) == [ids[0], ids[3], ids[2], ids[1]]


async def test_delete_by_names_and_all(api):
    one = (await api("add_application", application_name="one"))["application_id"]
    two = (await api("add_application", application_name="two"))["application_id"]
    for app_id in (one, two):
        for name in ("a", "b", "c"):
            await api("add_rule", application_id=app_id, rule_name=name, rule_pattern=".*")
    await api("del_rule", rule_name=["a", "b"], application_id=one)
    assert [r["rule_name"] for r in (await api("get_rules", application_id=one))["result"]] == ["c"]
    await api("del_rule", rule_name="c", application_name=["one", "two"])
    assert [r["rule_name"] for r in (await api("get_rules", application_id=two))["result"]] == ["a", "b"]
    await api("del_rule", rule_id="all", application_id=two)
    assert (await api("get_rules", application_id=two))["total_count"] == 0
    await api("add_rule", application_id=one, rule_name="d", rule_pattern=".*")
    await api("del_rule", rule_id="all", application_id="all")
    assert (await api("get_rules", application_id=one))["total_count"] == 0


async def test_errors(api, emulator):
    one = (await api("add_application", application_name="one"))["application_id"]
    two = (await api("add_application", application_name="two"))["application_id"]
    rule = (await api("add_rule", application_id=one, rule_name="taken", rule_pattern=".*"))["rule_id"]
    other = (await api("add_rule", application_id=two, rule_name="other", rule_pattern=".*"))["rule_id"]
    theirs = (await api("add_scenario", scenario_name="theirs", application_id=two))["scenario_id"]
    base = {"application_id": one, "rule_name": "new", "rule_pattern": ".*"}
    for code, change in [(148, {"rule_pattern": "(unclosed"}), (149, {"rule_pattern_exclude": "[z-a]"}),
                         (156, {"rule_name": "x" * 100}), (175, {"rule_name": "taken"}),
                         (485, {"rule_pattern": ""}), (116, {"application_id": 999999}),
                         (132, {"scenario_id": [theirs]}), (168, {"scenario_name": "nope"})]:
        await expect_error(api, code, "add_rule", **{**base, **change})
    await expect_error(api, 485, "add_rule", rule_name="new", rule_pattern=".*")
    assert ids_of(await api("get_rules", application_id=one)) == [rule]  # nothing was added
    await expect_error(api, 485, "get_rules")
    await expect_error(api, 558, "get_rules", application_name="missing")
    await expect_error(api, 147, "set_rule_info", rule_id=999999, rule_name="x")
    await expect_error(api, 148, "set_rule_info", rule_id=rule, rule_pattern="*")
    await expect_error(api, 149, "set_rule_info", rule_id=rule, rule_pattern_exclude="(")
    await expect_error(api, 156, "set_rule_info", rule_id=rule, rule_name="y" * 100)
    await api("add_rule", application_id=one, rule_name="second", rule_pattern=".*")
    await expect_error(api, 175, "set_rule_info", rule_id=rule, rule_name="second")
    await expect_error(api, 147, "del_rule", rule_id=[rule, 999999])
    await expect_error(api, 147, "del_rule", rule_id=other, application_id=one)
    await expect_error(api, 156, "del_rule", rule_name="nope", application_id=one)
    await expect_error(api, 485, "del_rule", rule_name="taken")
    await expect_error(api, 147, "reorder_rules", rule_id=[rule, 999999])
    await expect_error(api, 101, "reorder_rules", rule_id=[rule, other])
    assert len((await api("get_rules", application_id=one))["result"]) == 2
    both = await raw(emulator, "DelRule", rule_id=str(rule), rule_name="taken", application_id=str(one))
    assert both["error"]["code"] == 458
    missing = await raw(emulator, "ReorderRules")
    assert missing["error"] == {"code": 485, "msg": "Specify the 'rule_id' parameter"}
