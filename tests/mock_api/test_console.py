"""The read-only web console at /_voxsim/console."""

from __future__ import annotations

import aiohttp


async def test_console_shows_applications_rules_sessions_and_escapes(voxsim_emulator, voxsim_api):
    app_id = (await voxsim_api("add_application", application_name="shop"))["application_id"]
    script = "VoxEngine.addEventListener(AppEvents.Started, () => VoxEngine.terminate());"
    sid = await voxsim_api("add_scenario", scenario_name="hello", application_id=app_id, scenario_script=script)
    rule = await voxsim_api("add_rule", application_id=app_id, rule_name="odd", rule_pattern="a<b>.*",
                            scenario_id=sid["scenario_id"])
    started = await voxsim_api("start_scenarios", rule_id=rule["rule_id"])
    await voxsim_emulator.runtime.session(started["call_session_history_id"]).wait_finished(5)
    base = voxsim_emulator.listeners["api_http"]["url"]
    async with aiohttp.ClientSession() as s, s.get(f"{base}/_voxsim/console") as resp:
        assert resp.status == 200 and resp.content_type == "text/html"
        page = await resp.text()
    assert "shop.voxsim.voximplant.com" in page and "hello" in page
    assert "a&lt;b&gt;.*" in page and "a<b>" not in page
    assert f"/_voxsim/sessions/{started['call_session_history_id']}/log" in page
    assert "Normal termination" in page
    assert "127.0.0.0/8" in page and "sip_udp" in page
