"""Media over HTTP: a simulated caller speaks, plays and presses in-band keys; /_voxsim/calls/<id>/heard tells
what the call heard and said; recordings are served, nothing outside the records folder is."""

from __future__ import annotations

import wave
from io import BytesIO

import aiohttp
import numpy as np
import pytest

from voxsim.media.decode import wav_bytes

ECHO = """
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  e.call.answer();
  e.call.addEventListener(CallEvents.Connected, () => {
    e.call.handleTones(true);
    e.call.say('Welcome');
  });
  e.call.addEventListener(CallEvents.ToneReceived, (t) => Logger.write(`tone ${t.tone} ${t.type}`));
});
"""


@pytest.fixture
async def echo_app(voxsim_api):
    app_id = (await voxsim_api("add_application", application_name="echo"))["application_id"]
    scenario_id = (await voxsim_api("add_scenario", scenario_name="echo", scenario_script=ECHO,
                                    application_id=app_id))["scenario_id"]
    await voxsim_api("add_rule", application_id=app_id, rule_name="all", rule_pattern=".*", scenario_id=scenario_id)


async def request(method: str, url: str, **kwargs) -> tuple[int, object]:
    async with aiohttp.ClientSession() as s, s.request(method, url, **kwargs) as resp:
        if resp.content_type == "application/json":
            return resp.status, await resp.json()
        return resp.status, await resp.read()


async def test_a_simulated_caller_speaks_plays_and_presses_and_heard_tells_it(voxsim_emulator, echo_app, tmp_path):
    base = voxsim_emulator.listeners["api_http"]["url"]
    account = voxsim_emulator.account.account_name
    status, started = await request("POST", f"{base}/_voxsim/simulate/call",
                                    json={"to": f"sip:100@echo.{account}.voximplant.com"})
    assert status == 200
    call_id = started["call_id"]
    session = voxsim_emulator.runtime.session(started["call_session_history_id"])
    await session.wait_for_event("Call.PlaybackFinished", timeout=8)
    status, _ = await request("POST", f"{base}/_voxsim/simulate/calls/{call_id}/say", json={"text": "I need help"})
    assert status == 200
    path = tmp_path / "beep.wav"
    path.write_bytes(wav_bytes((3000 * np.sin(np.arange(1600) / 3)).astype(np.int16)))
    status, _ = await request("POST", f"{base}/_voxsim/simulate/calls/{call_id}/play", json={"url": path.as_uri()})
    assert status == 200
    status, _ = await request("POST", f"{base}/_voxsim/simulate/calls/{call_id}/dtmf",
                              json={"digits": "7", "mode": "inband"})
    assert status == 200
    await session.wait_until(lambda: "tone 7 2" in session.log.text(), timeout=8)
    status, heard = await request("GET", f"{base}/_voxsim/calls/{call_id}/heard")
    assert status == 200
    (welcome,) = heard["heard"]["prompts"]
    assert welcome["kind"] == "tts" and welcome["text"] == "Welcome" and welcome["end_ms"] > welcome["start_ms"]
    said = heard["said"]["prompts"]
    assert [p["kind"] for p in said] == ["tts", "url", "dtmf"]
    assert said[0]["text"] == "I need help" and said[1]["url"] == path.as_uri() and said[2]["digits"] == "7"
    assert said[0]["end_ms"] <= said[1]["start_ms"]  # one after the other on the call's timeline
    status, body = await request("GET", f"{base}{heard['heard']['wav']}")
    assert status == 200
    with wave.open(BytesIO(body)) as wav:
        assert wav.getframerate() == 8000 and wav.getnframes() > 4000


async def test_media_http_errors(voxsim_emulator, echo_app):
    base = voxsim_emulator.listeners["api_http"]["url"]
    assert (await request("GET", f"{base}/_voxsim/calls/nope/heard"))[0] == 404
    assert (await request("POST", f"{base}/_voxsim/simulate/calls/nope/say", json={"text": "x"}))[0] == 404
    assert (await request("POST", f"{base}/_voxsim/simulate/calls/nope/say", json={}))[0] == 400
    assert (await request("POST", f"{base}/_voxsim/simulate/calls/nope/play", data="nope"))[0] == 400
    for name in ("..%2F..%2Fvoxsim.db", ".hidden.wav", "x.txt"):
        assert (await request("GET", f"{base}/records/1/{name}"))[0] == 404
    account = voxsim_emulator.account.account_name
    _, started = await request("POST", f"{base}/_voxsim/simulate/call",
                               json={"to": f"sip:100@echo.{account}.voximplant.com"})
    status, body = await request("POST", f"{base}/_voxsim/simulate/calls/{started['call_id']}/play",
                                 json={"url": "file:///nonexistent/a.wav"})
    assert status == 400 and "a.wav" in body["error"]
    status, _ = await request("POST", f"{base}/_voxsim/simulate/calls/{started['call_id']}/dtmf",
                              json={"digits": "1", "mode": "smoke"})
    assert status == 400
