"""The console at /_voxsim/console: its page and static files, the overview and its live feed, the route tester,
a session's timeline (live and read back from the store) and a call's audio over a WebSocket."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from voxsim.store.history import HistoryQuery
from voxsim.testing import TestPhone

pytestmark = pytest.mark.asyncio(loop_scope="module")  # the module's emulator (conftest.py) runs on that loop

IVR = """
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  Logger.write('caller ' + e.callerid);
  e.call.answer();
  e.call.addEventListener(CallEvents.Connected, () => { e.call.handleTones(true); e.call.say('Welcome to the shop'); });
  e.call.addEventListener(CallEvents.ToneReceived, (t) => Logger.write('pressed ' + t.tone));
  e.call.addEventListener(CallEvents.Disconnected, () => VoxEngine.terminate());
});
"""


@pytest_asyncio.fixture(loop_scope="module")
async def shop(api) -> dict[str, Any]:
    app_id = (await api("add_application", application_name="shop"))["application_id"]
    scenario = await api("add_scenario", scenario_name="ivr", application_id=app_id, scenario_script=IVR)
    await api("add_rule", application_id=app_id, rule_name="sales", rule_pattern=r"1\d\d",
              rule_pattern_exclude="199", scenario_id=scenario["scenario_id"])
    await api("add_rule", application_id=app_id, rule_name="odd <b>", rule_pattern=r".*",
              scenario_id=scenario["scenario_id"])
    return {"application_id": app_id}


def base_of(emulator) -> str:
    return emulator.listeners["api_http"]["url"]


async def get(url: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as s, s.get(url) as resp:
        body = await resp.json() if resp.content_type == "application/json" else await resp.text()
        return resp.status, body


async def post(url: str, body: dict[str, Any] | None = None) -> Any:
    async with aiohttp.ClientSession() as s, s.post(url, json=body or {}) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def next_event(resp: aiohttp.ClientResponse, name: str, timeout: float = 10.0) -> dict[str, Any]:
    """The data of the next server-sent event `name` on an open stream."""
    async def read() -> dict[str, Any]:
        event = ""
        while True:
            line = (await resp.content.readline()).decode().rstrip("\n")
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == name:
                return json.loads(line[6:])

    return await asyncio.wait_for(read(), timeout)


async def test_the_page_and_its_files_are_served(emulator, api):
    base = base_of(emulator)
    for path in ("/_voxsim/console", "/_voxsim/"):
        status, page = await get(base + path)
        assert status == 200 and "<title>voxsim console</title>" in page and "console.js" in page
    status, script = await get(f"{base}/_voxsim/console/static/console.js")
    assert status == 200 and "EventSource" in script
    status, _ = await get(f"{base}/_voxsim/console/static/nothing.js")
    assert status == 404


async def test_overview_lists_applications_rules_users_and_the_whitelist(emulator, api, shop):
    await api("add_user", application_id=shop["application_id"], user_name="alice", user_display_name="Alice",
              user_password="Secret123")
    status, data = await get(f"{base_of(emulator)}/_voxsim/console/api/overview")
    assert status == 200
    [app] = data["applications"]
    assert app["application_name"] == "shop.voxsim.voximplant.com"
    assert [r["rule_name"] for r in app["rules"]] == ["sales", "odd <b>"]
    assert app["users"][0]["user_name"] == "alice" and app["users"][0]["contacts"] == []
    assert "sip_udp" in data["listeners"] and data["whitelist"][0]["network"] == "127.0.0.0/8"
    assert data["sessions"] == [] and data["total_sessions"] == 0


async def test_the_route_tester_gives_each_rule_its_verdict(emulator, api, shop):
    base = base_of(emulator)
    status, found = await get(f"{base}/_voxsim/console/api/route?uri=sip:150@shop.voxsim.voximplant.com")
    assert status == 200 and found["winner"] == "sales" and found["destination"] == "150"
    assert [r["verdict"] for r in found["rules"]] == ["match", "match (after the winner)"]
    _, excluded = await get(f"{base}/_voxsim/console/api/route?uri=199@shop.voxsim.voximplant.com")
    assert [r["verdict"] for r in excluded["rules"]] == ["excluded", "match"] and excluded["winner"] == "odd <b>"
    _, nowhere = await get(f"{base}/_voxsim/console/api/route?uri=1@nowhere.voxsim.voximplant.com")
    assert nowhere["refusal"]["status"] == 404 and nowhere["rules"] == []
    status, error = await get(f"{base}/_voxsim/console/api/route?uri=")
    assert status == 400 and "uri" in error["error"]


async def test_the_overview_feed_pushes_a_new_session_and_highlights_errors(emulator, api, shop):
    base = base_of(emulator)
    async with aiohttp.ClientSession() as s, s.get(f"{base}/_voxsim/console/api/overview/events") as resp:
        assert resp.status == 200 and resp.content_type == "text/event-stream"
        assert (await next_event(resp, "overview"))["sessions"] == []
        script = "VoxEngine.addEventListener(AppEvents.Started, () => { throw new Error('boom'); });"
        broken = await api("add_scenario", scenario_name="broken", application_id=shop["application_id"],
                           scenario_script=script)
        rule = await api("add_rule", application_id=shop["application_id"], rule_name="broken",
                         rule_pattern="none", scenario_id=broken["scenario_id"])
        started = await api("start_scenarios", rule_id=rule["rule_id"])
        while True:
            data = await next_event(resp, "overview")
            if data["sessions"] and data["sessions"][0]["state"] == "finished":
                break
    [session] = data["sessions"]
    assert session["session_id"] == started["call_session_history_id"]
    assert session["error"] == "JS session error"


async def test_a_simulated_call_has_a_timeline_and_audio(emulator, api, shop):
    base = base_of(emulator)
    started = await post(f"{base}/_voxsim/simulate/call", {"to": "sip:150@shop.voxsim.voximplant.com",
                                                          "from": "sip:bob@127.0.0.1"})
    session_id, call_id = started["call_session_history_id"], started["call_id"]
    session = emulator.runtime.session(session_id)
    audio = emulator.runtime.call_audio(call_id)
    await session.wait_until(lambda: audio.prompts, timeout=10)  # the greeting plays (espeak-ng rendered it)
    async with aiohttp.ClientSession() as s, s.ws_connect(f"{base}/_voxsim/calls/{call_id}/audio.ws") as ws:
        header = await ws.receive_json(timeout=5)
        assert header["sample_rate"] == 8000 and header["encoding"] == "pcm16le"
        chunk = await ws.receive_bytes(timeout=5)
        assert len(chunk) > 0 and len(chunk) % 320 == 0  # whole 20 ms frames of 16-bit samples
    await post(f"{base}/_voxsim/simulate/calls/{call_id}/dtmf", {"digits": "7"})
    await session.wait_until(lambda: "pressed 7" in session.log.text())
    async with aiohttp.ClientSession() as s, s.get(f"{base}/_voxsim/console/api/sessions/{session_id}/events") as resp:
        data = await next_event(resp, "timeline")
        await post(f"{base}/_voxsim/simulate/calls/{call_id}/hangup")
        while data["session"]["state"] != "finished":
            data = await next_event(resp, "timeline")
    kinds = {e["kind"] for e in data["entries"]}
    assert {"routing", "session", "event", "command", "media", "log"} <= kinds
    routing = next(e for e in data["entries"] if e["kind"] == "routing")
    assert routing["destination"] == "150" and "sales: /1\\d\\d/ except /199/ -> match" in routing["detail"]
    assert any(e["kind"] == "log" and e["title"] == "pressed 7" for e in data["entries"])
    assert any(e["kind"] == "media" and "say" in e["title"] for e in data["entries"])
    [call] = data["calls"]
    assert call["call_id"] == call_id and call["audio"]["heard"][0]["text"] == "Welcome to the shop"
    assert data["session"]["error"] is None


async def test_a_timeline_is_read_from_the_store_and_bad_ids_are_404(emulator, api, shop):
    base = base_of(emulator)
    rule = (await api("get_rules", application_id=shop["application_id"]))["result"][0]
    started = await api("start_scenarios", rule_id=rule["rule_id"])
    session_id = started["call_session_history_id"]
    emulator.runtime.session(session_id).terminate()
    await emulator.runtime.session(session_id).wait_finished(5)
    status, data = await get(f"{base}/_voxsim/console/api/sessions/{session_id}/timeline")
    assert status == 200 and data["session"]["state"] == "finished"
    assert "no inbound call" in next(e for e in data["entries"] if e["kind"] == "routing")["detail"]
    for bad in ("424242", "x"):
        status, _ = await get(f"{base}/_voxsim/console/api/sessions/{bad}/timeline")
        assert status == 404
    status, _ = await get(f"{base}/_voxsim/calls/nope/audio.ws")
    assert status == 404


FORWARD = """
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  e.call.answer();
  e.call.addEventListener(CallEvents.Connected, () => {
    const out = VoxEngine.callSIP('sip:bob@127.0.0.1:' + e.headers['X-Port']);
    out.addEventListener(CallEvents.Connected, () => { out.hangup(); e.call.hangup(); VoxEngine.terminate(); });
  });
});
"""


async def test_the_timeline_joins_the_sip_ladder_of_every_leg(emulator, api):
    app_id = (await api("add_application", application_name="relay"))["application_id"]
    scenario = await api("add_scenario", scenario_name="relay", application_id=app_id, scenario_script=FORWARD)
    await api("add_rule", application_id=app_id, rule_name="all", rule_pattern=".*",
              scenario_id=scenario["scenario_id"])
    alice, bob = TestPhone(emulator, "alice"), TestPhone(emulator, "bob")
    try:
        await alice.ua.start(udp=0, tcp=None)
        bob_port = (await bob.ua.start(udp=0, tcp=None))["udp"]
        call = await alice.call("300", "relay", headers=[("X-Port", str(bob_port))])
        await asyncio.wait_for(call.ended.wait(), 10)
        session_id = emulator.store.find_sessions(emulator.account.account_id, HistoryQuery(desc_order=True), 1,
                                                  0)[1][0].call_session_history_id
        await emulator.runtime.session(session_id).wait_finished(5)
        await asyncio.sleep(0.3)  # the last 200 OK to the BYEs
        status, data = await get(f"{base_of(emulator)}/_voxsim/console/api/sessions/{session_id}/timeline")
    finally:
        await alice.stop()
        await bob.stop()
    assert status == 200
    sip = [e for e in data["entries"] if e["kind"] == "sip"]
    lines = [(e["direction"], e["title"]) for e in sip]
    assert ("in", "INVITE sip:300@relay.voxsim.voximplant.com SIP/2.0") in lines
    assert ("out", "SIP/2.0 200 OK") in lines
    assert ("out", f"INVITE sip:bob@127.0.0.1:{bob_port} SIP/2.0") in lines
    assert ("in", "SIP/2.0 200 OK") in lines
    assert sum(1 for _, title in lines if title.startswith("BYE ")) == 2
    assert len({e["sip_call_id"] for e in sip}) == 2  # the two legs, one ladder
    invite = next(e for e in sip if e["title"].startswith("INVITE sip:300@"))
    assert "Call-ID: " in invite["detail"] and "X-Port: " in invite["detail"] and "v=0" in invite["detail"]
    assert invite["peer"].startswith("<- udp 127.0.0.1:")
    order = [e["kind"] for e in data["entries"]]
    assert order.index("sip") < order.index("event")  # the INVITE came before the scenario's first event


async def test_a_registered_user_shows_its_contact(emulator, api, shop):
    await api("add_user", application_id=shop["application_id"], user_name="carol", user_display_name="Carol",
              user_password="Secret123")
    phone = TestPhone(emulator, "carol")
    try:
        await phone.ua.start(udp=0, tcp=None)
        assert (await phone.register("carol", "Secret123", "shop", expires=600)).status == 200
        _, data = await get(f"{base_of(emulator)}/_voxsim/console/api/overview")
    finally:
        await phone.stop()
    [user] = data["applications"][0]["users"]
    [contact] = user["contacts"]
    assert contact["contact"].startswith("sip:carol@127.0.0.1:") and contact["source"].startswith("udp 127.0.0.1:")
    assert contact["expires_at"] > 0 and "expires_in" not in contact
