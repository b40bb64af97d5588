"""The VoximplantAPI module (voxsim/runtime/shim/voximplant_api.js): a scenario calls this emulator's Management
API through the key bound to its rule, written as the Voximplant docs write it."""

from __future__ import annotations

import json

import aiohttp

from voxsim.app import Emulator
from voxsim.testing import ApiCaller

SCENARIO = """
require(Modules.VoximplantAPI);
VoxEngine.addEventListener(AppEvents.Started, async () => {
  const client = new VoximplantApi.Client();
  const apps = await client.Applications.getApplications({applicationName: 'vapi', withRules: true});
  Logger.write('apps ' + JSON.stringify(apps));
  const put = await client.KeyValueStorage.setKeyValueItem({key: 'k1', value: 'v1',
    applicationId: apps.result[0].applicationId});
  Logger.write('put ' + JSON.stringify(put));
  const bad = await client.Scenarios.startScenarios({ruleId: 99999});
  Logger.write('bad ' + JSON.stringify(bad));
  Logger.write('same ' + (VoximplantAPI === VoximplantApi));
  VoxEngine.terminate();
});
"""


async def provision(api: ApiCaller, bind_key_id: str) -> int:
    app_id = (await api("add_application", application_name="vapi"))["application_id"]
    scenario_id = (await api("add_scenario", scenario_name="vapi", scenario_script=SCENARIO,
                             application_id=app_id))["scenario_id"]
    return int((await api("add_rule", application_id=app_id, rule_name="vapi", rule_pattern=".*",
                          scenario_id=scenario_id, bind_key_id=bind_key_id))["rule_id"])


async def run(api: ApiCaller, emulator: Emulator, rule_id: int) -> dict[str, str]:
    reply = await api("start_scenarios", rule_id=rule_id)
    session = emulator.runtime.session(reply["call_session_history_id"])
    assert session is not None
    await session.wait_finished(10)
    emulator.recorder.flush()
    history = await api("get_call_history", call_session_history_id=reply["call_session_history_id"])
    async with aiohttp.ClientSession() as http, http.get(history["result"][0]["log_file_url"]) as resp:
        log = await resp.text()
    found: dict[str, str] = {}
    for line in log.splitlines():
        for word in ("apps ", "put ", "bad ", "same ", "[error]"):
            at = line.find(word)
            if at >= 0 and word.strip() not in found:
                found[word.strip()] = line[at + len(word):]
    return found


async def test_a_scenario_calls_the_api_through_its_rules_key(voxsim_api: ApiCaller, voxsim_emulator: Emulator):
    key_id = voxsim_api.client.credentials["key_id"]
    rule_id = await provision(voxsim_api, key_id)
    found = await run(voxsim_api, voxsim_emulator, rule_id)
    apps = json.loads(found["apps"])
    assert apps["result"][0]["applicationName"].startswith("vapi") and apps["totalCount"] == 1
    assert json.loads(found["put"])["result"]["key"] == "k1"
    assert json.loads(found["bad"])["error"]["code"] == 147
    assert found["same"] == "true"
    item = await voxsim_api("get_key_value_item", key="k1", application_id=apps["result"][0]["applicationId"])
    assert item["result"]["value"] == "v1"


async def test_without_a_bound_key_the_api_refuses(voxsim_api: ApiCaller, voxsim_emulator: Emulator):
    rule_id = await provision(voxsim_api, "")
    found = await run(voxsim_api, voxsim_emulator, rule_id)
    apps = json.loads(found["apps"])
    assert apps["error"]["code"] == 100 and "bind_key_id" in apps["error"]["msg"]


def test_require_defines_both_spellings():
    from py_mini_racer import MiniRacer

    from voxsim.runtime.bridge import SHIM_SOURCE

    ctx = MiniRacer()
    try:
        ctx.eval(SHIM_SOURCE)
        try:
            ctx.eval("new VoximplantApi.Client()")
            raise AssertionError("usable before require")
        except Exception as err:  # noqa: BLE001 - mini-racer's JSEvalException
            assert "ReferenceError: VoximplantApi is not defined: require(Modules.VoximplantAPI)" in str(err)
        ctx.eval("require(Modules.VoximplantAPI)")
        groups = ctx.eval("Object.keys(new VoximplantAPI.Client()).join(' ')")
        assert "Applications" in groups and "KeyValueStorage" in groups and "AdminUsers" in groups
        assert ctx.eval("VoximplantApi === VoximplantAPI") is True
    finally:
        ctx.close()
