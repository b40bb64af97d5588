"""/_voxsim/simulate and /_voxsim/sessions: scenario logic exercised with no SIP at all."""

from __future__ import annotations

import aiohttp
import pytest

IVR = """
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  Logger.write(`alerting ${e.callerid} "${e.displayName}" -> ${e.destination} ${JSON.stringify(e.headers)}`);
  e.call.answer();
  e.call.addEventListener(CallEvents.Connected, () => { e.call.handleTones(true); Logger.write('menu ready'); });
  e.call.addEventListener(CallEvents.ToneReceived, (t) => Logger.write(`tone ${t.tone}`));
  e.call.addEventListener(CallEvents.Disconnected, () => VoxEngine.terminate());
});
"""


@pytest.fixture
async def ivr_app(voxsim_api):
    app_id = (await voxsim_api("add_application", application_name="ivr"))["application_id"]
    scenario_id = (await voxsim_api("add_scenario", scenario_name="ivr", scenario_script=IVR,
                                    application_id=app_id))["scenario_id"]
    await voxsim_api("add_rule", application_id=app_id, rule_name="menu", rule_pattern=r"2\d\d",
                     scenario_id=scenario_id)
    return app_id


async def request(method: str, url: str, **kwargs) -> tuple[int, object]:
    async with aiohttp.ClientSession() as s, s.request(method, url, **kwargs) as resp:
        body = await resp.json() if resp.content_type == "application/json" else await resp.text()
        return resp.status, body


async def test_simulated_call_dtmf_and_hangup(voxsim_emulator, ivr_app):
    base = voxsim_emulator.listeners["api_http"]["url"]
    status, started = await request("POST", f"{base}/_voxsim/simulate/call", json={
        "to": "sip:201@ivr.voxsim.voximplant.com", "from": "sip:alice@127.0.0.1", "display_name": "Alice",
        "headers": {"X-Order": "42", "Subject": "dropped"}})
    assert status == 200, started
    session_id, call_id = started["call_session_history_id"], started["call_id"]
    session = voxsim_emulator.runtime.session(session_id)
    await session.wait_until(lambda: "menu ready" in session.log.text())  # tones count after handleTones(true)

    assert (await request("POST", f"{base}/_voxsim/simulate/calls/{call_id}/dtmf", json={"digits": "1#"}))[0] == 200
    await session.wait_until(lambda: "tone #" in session.log.text())
    assert (await request("POST", f"{base}/_voxsim/simulate/calls/{call_id}/hangup"))[0] == 200
    await session.wait_finished(5)

    status, state = await request("GET", f"{base}/_voxsim/sessions/{session_id}")
    assert status == 200 and state["finish_reason"] == "Normal termination"
    assert state["calls"][0]["call_id"] == call_id
    status, log = await request("GET", f"{base}/_voxsim/sessions/{session_id}/log")
    assert 'alerting alice "Alice" -> 201 {"X-Order":"42"}' in log
    assert "tone 1" in log and "tone #" in log


async def test_simulate_errors(voxsim_emulator, ivr_app):
    base = voxsim_emulator.listeners["api_http"]["url"]
    status, body = await request("POST", f"{base}/_voxsim/simulate/call",
                                 json={"to": "sip:999@ivr.voxsim.voximplant.com"})
    assert status == 404 and "no rule" in body["error"]
    status, _ = await request("POST", f"{base}/_voxsim/simulate/call", json={"to": "sip:1@nowhere.example"})
    assert status == 404
    status, body = await request("POST", f"{base}/_voxsim/simulate/call",
                                 json={"to": "sip:1#99999999999999999999999#100@sip.voximplant.com"})
    assert status == 404 and "no such application" in body["error"]
    status, _ = await request("POST", f"{base}/_voxsim/simulate/call", data="not json")
    assert status == 400
    status, _ = await request("POST", f"{base}/_voxsim/simulate/calls/nope/dtmf", json={"digits": "1"})
    assert status == 404
    status, _ = await request("GET", f"{base}/_voxsim/sessions/424242")
    assert status == 404
    status, _ = await request("GET", f"{base}/_voxsim/sessions/424242/log")
    assert status == 404


async def test_id_form_routes_too(voxsim_emulator, ivr_app):
    base = voxsim_emulator.listeners["api_http"]["url"]
    account_id = voxsim_emulator.account.account_id
    status, started = await request("POST", f"{base}/_voxsim/simulate/call", json={
        "to": f"sip:{ivr_app}#{account_id}#250@sip.voximplant.com"})
    assert status == 200, started
