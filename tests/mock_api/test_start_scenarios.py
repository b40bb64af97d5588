"""StartScenarios through the official client, media_session_access_url, and the session's history."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from voximplant.apiclient import VoximplantException

REMOTE_CONTROL = """
VoxEngine.addEventListener(AppEvents.Started, (e) => {
  Logger.write(`started ${e.sessionId} custom=${VoxEngine.customData()}`);
});
VoxEngine.addEventListener(AppEvents.HttpRequest, (e) => {
  Logger.write(`http ${e.method} ${e.content}`);
  if (e.content === 'stop') { VoxEngine.customData('stopped'); VoxEngine.terminate(); return 'bye'; }
  if (e.content === 'json') return {custom: VoxEngine.customData(), method: e.method};
  return 'echo:' + e.content;
});
"""


async def provision(api, script: str = REMOTE_CONTROL, name: str = "remote") -> tuple[int, int]:
    app_id = (await api("add_application", application_name=name))["application_id"]
    scenario_id = (await api("add_scenario", scenario_name=name, scenario_script=script,
                             application_id=app_id))["scenario_id"]
    rule_id = (await api("add_rule", application_id=app_id, rule_name=name, rule_pattern=".*",
                         scenario_id=scenario_id))["rule_id"]
    return app_id, rule_id


async def post(url: str, body: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as s, s.post(url, data=body) as resp:
        return resp.status, resp.content_type, await resp.text()


async def test_start_scenarios_and_http_requests(voxsim_api, voxsim_emulator):
    app_id, rule_id = await provision(voxsim_api)
    reply = await voxsim_api("start_scenarios", rule_id=rule_id, script_custom_data='{"number": "1001"}')
    assert reply["result"] == 1
    url, secure = reply["media_session_access_url"], reply["media_session_access_secure_url"]
    assert url.startswith("http://127.0.0.1:") and secure.startswith("https://127.0.0.1:") and "/request/" in url
    session_id = reply["call_session_history_id"]

    assert await post(url, "hello") == (200, "text/plain", "echo:hello")
    status, ctype, body = await post(url, "json")
    assert ctype == "application/json" and json.loads(body) == {"custom": '{"number": "1001"}', "method": "POST"}
    assert (await post(url + "x", "hello"))[0] == 404  # a wrong secret reaches nothing

    assert (await post(url, "stop"))[2] == "bye"
    session = voxsim_emulator.runtime.session(session_id)
    await session.wait_finished(5)
    voxsim_emulator.recorder.flush()
    history = await voxsim_api("get_call_history", call_session_history_id=session_id)
    row = history["result"][0]
    assert row["finish_reason"] == "Normal termination" and row["custom_data"] == "stopped"
    assert row["application_id"] == app_id and row["rule_name"] == "remote"
    async with aiohttp.ClientSession() as s, s.get(row["log_file_url"]) as resp:
        log = await resp.text()
    assert f'started {session_id} custom={{"number": "1001"}}' in log
    assert "http POST hello" in log


async def test_custom_data_alias_and_rule_name(voxsim_api, voxsim_emulator):
    app_id, _ = await provision(voxsim_api)
    reply = await voxsim_api("start_scenarios", rule_name="remote", application_id=app_id)
    session = voxsim_emulator.runtime.session(reply["call_session_history_id"])
    assert session is not None and session.custom_data == ""
    base = voxsim_emulator.listeners["api_http"]["url"]
    key = {"account_id": voxsim_emulator.account.account_id, "api_key": voxsim_emulator.account.api_key}
    async with aiohttp.ClientSession() as s, s.post(f"{base}/platform_api/StartScenarios", data={
            **key, "rule_id": session.info.rule_id, "custom_data": "alias"}) as resp:
        started = await resp.json()
    assert voxsim_emulator.runtime.session(started["call_session_history_id"]).custom_data == "alias"


async def test_custom_data_longer_than_200_bytes_is_refused(voxsim_api, voxsim_emulator):
    _, rule_id = await provision(voxsim_api, name="limits")
    reply = await voxsim_api("start_scenarios", rule_id=rule_id, script_custom_data="é" * 100)  # 200 bytes
    assert voxsim_emulator.runtime.session(reply["call_session_history_id"]).custom_data == "é" * 100
    with pytest.raises(VoximplantException) as err:
        await voxsim_api("start_scenarios", rule_id=rule_id, script_custom_data="x" * 201)
    assert err.value.code == 496 and "script_custom_data" in str(err.value)


@pytest.mark.parametrize(("kwargs", "code"), [({"rule_id": 99999}, 147), ({"rule_name": "nope"}, 156)])
async def test_unknown_rule(voxsim_api, kwargs, code):
    with pytest.raises(VoximplantException) as err:
        await voxsim_api("start_scenarios", **kwargs)
    assert err.value.code == code


async def test_rule_without_scenarios(voxsim_api):
    app_id = (await voxsim_api("add_application", application_name="empty"))["application_id"]
    rule_id = (await voxsim_api("add_rule", application_id=app_id, rule_name="bare", rule_pattern=".*"))["rule_id"]
    with pytest.raises(VoximplantException) as err:
        await voxsim_api("start_scenarios", rule_id=rule_id)
    assert err.value.code == 375


async def test_broken_scenario_ends_only_its_session(voxsim_api, voxsim_emulator):
    _, good_rule = await provision(voxsim_api)
    app_id = (await voxsim_api("add_application", application_name="broken"))["application_id"]
    sid = (await voxsim_api("add_scenario", scenario_name="broken", scenario_script="this is not javascript(",
                            application_id=app_id))["scenario_id"]
    bad_rule = (await voxsim_api("add_rule", application_id=app_id, rule_name="b", rule_pattern=".*",
                                 scenario_id=sid))["rule_id"]
    good = await voxsim_api("start_scenarios", rule_id=good_rule)
    bad = await voxsim_api("start_scenarios", rule_id=bad_rule)
    bad_session = voxsim_emulator.runtime.session(bad["call_session_history_id"])
    await bad_session.wait_finished(5)
    assert bad_session.finish_reason == "JS session error"
    assert await post(good["media_session_access_url"], "still") == (200, "text/plain", "echo:still")
    await asyncio.sleep(0)
