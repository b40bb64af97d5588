"""Scenarios of the kinds users write, driven through the HTTP surfaces (/_voxsim/simulate and
StartScenarios), asserting on events, commands and log lines."""

from __future__ import annotations

import json

import aiohttp
import pytest
from aiohttp import web

from voxsim.testing import ephemeral_settings


@pytest.fixture
def voxsim_settings(tmp_path):
    # Short simulated media so "say" finishes in milliseconds.
    return ephemeral_settings(tmp_path / "state")


async def provision(api, name: str, *scripts: str, pattern: str = ".*") -> int:
    app_id = (await api("add_application", application_name=name))["application_id"]
    ids = []
    for n, script in enumerate(scripts):
        ids.append((await api("add_scenario", scenario_name=f"{name}{n}", scenario_script=script,
                              application_id=app_id))["scenario_id"])
    return (await api("add_rule", application_id=app_id, rule_name=name, rule_pattern=pattern,
                      scenario_id=ids))["rule_id"]


async def simulate(emulator, to: str, **extra) -> tuple[int, str]:
    base = emulator.listeners["api_http"]["url"]
    async with aiohttp.ClientSession() as s, s.post(f"{base}/_voxsim/simulate/call", json={"to": to, **extra}) as r:
        body = await r.json()
        assert r.status == 200, body
        return body["call_session_history_id"], body["call_id"]


async def finished(emulator, session_id: int):
    session = emulator.runtime.session(session_id)
    await session.wait_finished(10)
    return session


async def test_answer_and_say(voxsim_emulator, voxsim_api):
    await provision(voxsim_api, "greet", """
        VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
          e.call.answer();
          e.call.addEventListener(CallEvents.Connected, () => e.call.say('Hello there'));
          e.call.addEventListener(CallEvents.PlaybackFinished, () => { Logger.write('said it'); e.call.hangup(); });
          e.call.addEventListener(CallEvents.Disconnected, () => VoxEngine.terminate());
        });""")
    session_id, _ = await simulate(voxsim_emulator, "sip:100@greet.voxsim.voximplant.com")
    session = await finished(voxsim_emulator, session_id)
    names = [e["name"] for e in session.snapshot()["events"]]
    assert names[:2] == ["Application.Started", "Application.CallAlerting"]
    assert names.index("Call.Connected") < names.index("Call.PlaybackFinished")
    assert "said it" in session.log.text()
    commands = json.dumps(session.snapshot()["commands"])
    assert "answer" in commands and "say" in commands and "hangup" in commands


async def test_http_callout_to_a_local_server(voxsim_emulator, voxsim_api, aiohttp_server):
    async def crm(request: web.Request) -> web.Response:
        return web.json_response({"name": "Alice", "asked": request.query.get("number")})

    app = web.Application()
    app.router.add_get("/lookup", crm)
    server = await aiohttp_server(app)
    await provision(voxsim_api, "crm", f"""
        VoxEngine.addEventListener(AppEvents.CallAlerting, async (e) => {{
          const res = await Net.httpRequestAsync('http://127.0.0.1:{server.port}/lookup?number=' + e.callerid);
          Logger.write(`crm ${{res.code}} ${{JSON.parse(res.text).name}} ${{JSON.parse(res.text).asked}}`);
          e.call.hangup();
          VoxEngine.terminate();
        }});""")
    session_id, _ = await simulate(voxsim_emulator, "sip:7@crm.voxsim.voximplant.com", **{"from": "sip:555@pbx"})
    session = await finished(voxsim_emulator, session_id)
    assert "crm 200 Alice 555" in session.log.text()


async def test_timers_and_several_scenarios_in_one_context(voxsim_emulator, voxsim_api):
    rule_id = await provision(
        voxsim_api, "multi",
        "var shared = []; function note(x) { shared.push(x); Logger.write('note ' + x); }",
        """VoxEngine.addEventListener(AppEvents.Started, () => {
             note('started');
             let ticks = 0;
             const id = setInterval(() => { note('tick' + (++ticks)); if (ticks === 3) { clearInterval(id);
               setTimeout(() => { Logger.write('all ' + shared.join(',')); VoxEngine.terminate(); }, 10); } }, 10);
           });""")
    started = await voxsim_api("start_scenarios", rule_id=rule_id)
    session = await finished(voxsim_emulator, started["call_session_history_id"])
    assert "all started,tick1,tick2,tick3" in session.log.text()
    assert session.finish_reason == "Normal termination"


async def test_custom_data_round_trip(voxsim_emulator, voxsim_api):
    rule_id = await provision(voxsim_api, "cdata", """
        VoxEngine.addEventListener(AppEvents.Started, () => {
          const data = JSON.parse(VoxEngine.customData());
          VoxEngine.customData(JSON.stringify({seen: data.number}));
          VoxEngine.terminate();
        });""")
    started = await voxsim_api("start_scenarios", rule_id=rule_id,
                               script_custom_data=json.dumps({"callerid": "+15557654321", "number": "1001"}))
    session_id = started["call_session_history_id"]
    await finished(voxsim_emulator, session_id)
    voxsim_emulator.recorder.flush()
    row = (await voxsim_api("get_call_history", call_session_history_id=session_id))["result"][0]
    assert json.loads(row["custom_data"]) == {"seen": "1001"}


async def test_rules_route_by_destination(voxsim_emulator, voxsim_api):
    app_id = (await voxsim_api("add_application", application_name="route"))["application_id"]
    for name, pattern, exclude in (("vip", r"9\d+", "911"), ("rest", ".*", None)):
        sid = (await voxsim_api("add_scenario", scenario_name=name, application_id=app_id,
                                scenario_script=f"VoxEngine.addEventListener(AppEvents.CallAlerting, e => "
                                                f"{{ Logger.write('rule {name}'); e.call.reject(486); }});"))
        await voxsim_api("add_rule", application_id=app_id, rule_name=name, rule_pattern=pattern,
                         rule_pattern_exclude=exclude, scenario_id=sid["scenario_id"])
    for number, rule in (("900", "vip"), ("911", "rest"), ("12", "rest")):
        session_id, call_id = await simulate(voxsim_emulator, f"sip:{number}@route.voxsim.voximplant.com")
        session = voxsim_emulator.runtime.session(session_id)
        await session.wait_until(lambda: f"rule {rule}" in session.log.text())  # noqa: B023
        assert session.info.rule_name == rule
        leg = session.calls[call_id].leg
        assert leg.rejected_code == 486
