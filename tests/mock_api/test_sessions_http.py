"""/_voxsim/simulate and /_voxsim/sessions: scenario logic exercised with no SIP at all; the sessions list; a
finished session read back from the store after a restart."""

from __future__ import annotations

import aiohttp
import pytest

from voxsim.app import Emulator
from voxsim.testing import ApiCaller, ephemeral_settings

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


async def simulated(base: str, to: str) -> dict:
    status, started = await request("POST", f"{base}/_voxsim/simulate/call", json={"to": to})
    assert status == 200, started
    return started


async def ids_of(base: str, query: str = "") -> tuple[list[int], int]:
    status, body = await request("GET", f"{base}/_voxsim/sessions{query}")
    assert status == 200, body
    return [s["session_id"] for s in body["result"]], body["total_count"]


async def test_sessions_list_newest_first_filtered_and_paged(voxsim_emulator, voxsim_api, ivr_app):
    base = voxsim_emulator.listeners["api_http"]["url"]
    other = (await voxsim_api("add_application", application_name="other"))["application_id"]
    scenario = (await voxsim_api("add_scenario", scenario_name="other", scenario_script=IVR,
                                 application_id=other))["scenario_id"]
    await voxsim_api("add_rule", application_id=other, rule_name="all", rule_pattern=".*", scenario_id=scenario)

    finished = await simulated(base, "sip:201@ivr.voxsim.voximplant.com")
    assert (await request("POST", f"{base}/_voxsim/simulate/calls/{finished['call_id']}/hangup"))[0] == 200
    await voxsim_emulator.runtime.session(finished["call_session_history_id"]).wait_finished(5)
    elsewhere = (await simulated(base, "sip:7@other.voxsim.voximplant.com"))["call_session_history_id"]
    running = (await simulated(base, "sip:202@ivr.voxsim.voximplant.com"))["call_session_history_id"]
    done = finished["call_session_history_id"]

    status, body = await request("GET", f"{base}/_voxsim/sessions")
    assert [s["session_id"] for s in body["result"]] == [running, elsewhere, done] and body["total_count"] == 3
    newest, _, oldest = body["result"]
    assert oldest["state"] == "finished" and oldest["finish_reason"] == "Normal termination"
    assert isinstance(oldest["duration"], int) and oldest["rule_name"] == "menu"
    assert oldest["application_name"] == "ivr.voxsim.voximplant.com" and oldest["application_id"] == ivr_app
    assert [c["incoming"] for c in oldest["calls"]] == [True] and oldest["log_url"].endswith(f"/sessions/{done}/log")
    assert newest["state"] in ("starting", "running") and newest["finish_reason"] == ""
    assert isinstance(newest["duration"], float)

    assert await ids_of(base, "?state=running") == ([running, elsewhere], 2)
    assert await ids_of(base, "?state=finished") == ([done], 1)
    for application in ("ivr", "ivr.voxsim.voximplant.com", str(ivr_app)):
        assert await ids_of(base, f"?application={application}") == ([running, done], 2)
    assert await ids_of(base, "?application=ivr&state=running") == ([running], 1)
    assert await ids_of(base, "?application=nope") == ([], 0)
    assert await ids_of(base, "?count=1&offset=1") == ([elsewhere], 3)
    assert await ids_of(base, "?state=running&count=1&offset=1") == ([elsewhere], 2)
    for bad in ("?state=bogus", "?count=0", "?count=x", "?offset=-1", "?count=1001"):
        assert (await request("GET", f"{base}/_voxsim/sessions{bad}"))[0] == 400, bad

    status, state = await request("GET", f"{base}/_voxsim/sessions/{done}")  # still in the runtime's memory
    assert status == 200 and state["source"] == "runtime" and "events" in state


async def test_a_finished_session_answers_from_the_store_after_a_restart(tmp_path):
    settings = ephemeral_settings(tmp_path / "state")
    first = Emulator(settings)
    await first.start()
    try:
        api = ApiCaller(first)
        app_id = (await api("add_application", application_name="ivr"))["application_id"]
        scenario_id = (await api("add_scenario", scenario_name="ivr", scenario_script=IVR,
                                 application_id=app_id))["scenario_id"]
        await api("add_rule", application_id=app_id, rule_name="menu", rule_pattern=r"2\d\d", scenario_id=scenario_id)
        started = await simulated(first.listeners["api_http"]["url"], "sip:201@ivr.voxsim.voximplant.com")
        session_id = started["call_session_history_id"]
        session = first.runtime.session(session_id)
        await session.wait_until(lambda: "menu ready" in session.log.text())
        first.runtime.virtual_caller(started["call_id"]).hangup()
        await session.wait_finished(5)
    finally:
        await first.stop()

    again = Emulator(settings)
    await again.start()
    try:
        base = again.listeners["api_http"]["url"]
        status, state = await request("GET", f"{base}/_voxsim/sessions/{session_id}")
        assert status == 200, state
        assert state["source"] == "store" and state["state"] == "finished"
        assert state["finish_reason"] == "Normal termination" and state["rule_name"] == "menu"
        assert state["application_id"] == app_id and state["records"] == [] and "events" not in state
        assert [(c["incoming"], c["successful"]) for c in state["calls"]] == [(True, True)]
        assert state["log_url"] == f"{base}/_voxsim/sessions/{session_id}/log"
        assert "menu ready" in (await request("GET", state["log_url"]))[1]
        assert await ids_of(base, "?state=finished") == ([session_id], 1)
        assert (await request("GET", f"{base}/_voxsim/sessions/{session_id + 1}"))[0] == 404
    finally:
        await again.stop()
