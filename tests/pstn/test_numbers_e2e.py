"""Phone numbers in calls: a call from the PSTN to an attached number runs the bound rule (simulated, and over SIP
at the carrier entry point `sip:<number>@pstn.voximplant.com`); callPSTN's callerid must be the account's number
or verified caller ID, unless `pstn.callerid_check` is off."""

from __future__ import annotations

import logging
from pathlib import Path

import aiohttp
import pytest

from sip_edge.transport import Address
from sip_edge.ua import CallFailed, UserAgent
from voxsim.app import Emulator
from voxsim.config import Settings
from voxsim.pstn import PstnSettings
from voxsim.testing import ApiCaller, ephemeral_settings, raw_api_call

ANSWERS = """
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  Logger.write(`alerting callerid=${e.callerid} destination=${e.destination} number=${e.call.number()} ` +
               `type=${e.call.clientType()} incoming=${e.call.incoming()}`);
  e.call.answer();
  e.call.addEventListener(CallEvents.Connected, () => { e.call.hangup(); VoxEngine.terminate(); });
});
"""

DIALS = """
VoxEngine.addEventListener(AppEvents.Started, () => {
  const call = VoxEngine.callPSTN('+15550100', VoxEngine.customData());
  call.addEventListener(CallEvents.Connected, () => { Logger.write('connected'); VoxEngine.terminate(); });
  call.addEventListener(CallEvents.Failed, (e) => {
    Logger.write('failed ' + e.code + ' ' + e.reason);
    VoxEngine.terminate();
  });
});
"""


@pytest.fixture
def voxsim_settings(tmp_path: Path) -> Settings:
    return ephemeral_settings(tmp_path / "state", pstn=PstnSettings(answer_after=0))


async def rule_with(api: ApiCaller, script: str, name: str = "numbers") -> tuple[int, int]:
    app_id = int((await api("add_application", application_name=name))["application_id"])
    scenario_id = (await api("add_scenario", scenario_name=name, scenario_script=script,
                             application_id=app_id))["scenario_id"]
    rule_id = int((await api("add_rule", application_id=app_id, rule_name=name, rule_pattern=".*",
                             scenario_id=scenario_id))["rule_id"])
    return app_id, rule_id


async def simulate(emulator: Emulator, to: str, caller: str = "+14155550123") -> tuple[int, dict]:
    url = f"{emulator.listeners['api_http']['url']}/_voxsim/simulate/call"
    async with aiohttp.ClientSession() as http, http.post(url, json={"to": to, "from": caller}) as resp:
        return resp.status, await resp.json()


async def session_log(emulator: Emulator, session_id: int, line: str) -> str:
    assert emulator.runtime is not None
    session = emulator.runtime.session(session_id)
    assert session is not None
    await session.wait_until(lambda: line in session.log.text())
    await session.wait_finished(5)
    return session.log.text()


async def test_a_simulated_call_to_a_bound_number_runs_its_rule(voxsim_emulator: Emulator, voxsim_api: ApiCaller):
    app_id, rule_id = await rule_with(voxsim_api, ANSWERS)
    await voxsim_api("attach_phone_number", phone_number="12125550100")
    status, reply = await simulate(voxsim_emulator, "+12125550100")
    assert status == 404 and "not bound" in reply["error"]

    await voxsim_api("bind_phone_number_to_application", phone_number="12125550100", application_id=app_id,
                     rule_id=rule_id)
    status, reply = await simulate(voxsim_emulator, "+1 212 555 0100")
    assert status == 200, reply
    text = await session_log(voxsim_emulator, reply["call_session_history_id"], "alerting")
    assert ("alerting callerid=14155550123 destination=12125550100 number=12125550100 type=pstn incoming=true"
            in text)

    status, reply = await simulate(voxsim_emulator, "tel:+12125550199")
    assert status == 404 and "not a phone number of any account" in reply["error"]


async def test_a_number_bound_to_the_application_alone_goes_through_its_rules(voxsim_emulator, voxsim_api):
    app_id, _ = await rule_with(voxsim_api, ANSWERS)
    await voxsim_api("attach_phone_number", phone_number="442079460001")
    await voxsim_api("bind_phone_number_to_application", phone_number="442079460001", application_id=app_id)
    status, reply = await simulate(voxsim_emulator, "sip:+442079460001@pstn.voximplant.com", "sip:+447700900123@x")
    assert status == 200, reply
    text = await session_log(voxsim_emulator, reply["call_session_history_id"], "alerting")
    assert "callerid=447700900123 destination=442079460001" in text


async def test_a_sip_call_at_the_carrier_entry_point(voxsim_emulator: Emulator, voxsim_api: ApiCaller):
    app_id, rule_id = await rule_with(voxsim_api, ANSWERS)
    await voxsim_api("attach_phone_number", phone_number="12125550101")
    await voxsim_api("bind_phone_number_to_application", phone_number="12125550101", application_id=app_id,
                     rule_id=rule_id)
    edge = Address("udp", "127.0.0.1", int(voxsim_emulator.listeners["sip_udp"]["port"]))
    phone = UserAgent("127.0.0.1", user="+14155550199")
    await phone.start(udp=0, tcp=None)
    try:
        call = await phone.invite("sip:+12125550101@pstn.voximplant.com", dest=edge)
        await call.ended.wait()
        with pytest.raises(CallFailed) as failed:
            await phone.invite("sip:+12125550102@pstn.voximplant.com", dest=edge)
        assert failed.value.response.status == 404
    finally:
        await phone.stop()
    assert voxsim_emulator.recorder is not None
    voxsim_emulator.recorder.flush()
    history = await voxsim_api("get_call_history", application_id=app_id, with_calls=True)
    [session] = history["result"]
    text = await session_log(voxsim_emulator, session["call_session_history_id"], "alerting")
    assert "alerting callerid=14155550199 destination=12125550101 number=12125550101 type=pstn" in text


async def test_call_pstn_shows_only_the_accounts_numbers_and_verified_caller_ids(voxsim_emulator, voxsim_api,
                                                                                 caplog):
    _, rule_id = await rule_with(voxsim_api, DIALS)

    async def dial(callerid: str, line: str) -> str:
        reply = await voxsim_api("start_scenarios", rule_id=rule_id, script_custom_data=callerid)
        return await session_log(voxsim_emulator, int(reply["call_session_history_id"]), line)

    with caplog.at_level(logging.WARNING, logger="voxsim.pstn.callerid"):
        text = await dial("+15550001", "failed")
    assert "failed 403 Forbidden - callerid '+15550001' is not a phone number or a verified caller ID" in text
    assert any("pstn.callerid_check = false" in r.getMessage() for r in caplog.records)

    await voxsim_api("attach_phone_number", phone_number="12125550110")
    assert "connected" in await dial("+12125550110", "connected")

    added = await raw_api_call(voxsim_emulator, "AddCallerID", callerid_number="+14155550150")
    assert "failed 403" in await dial("14155550150", "failed")  # not verified yet
    store = voxsim_emulator.store
    code = store.verify_caller_id(store.get_caller_id(voxsim_emulator.account.account_id,
                                                      callerid_id=added["callerid_id"]))
    await raw_api_call(voxsim_emulator, "ActivateCallerID", callerid_id=str(added["callerid_id"]),
                       verification_code=code)
    assert "connected" in await dial("+1 415 555 0150", "connected")


async def test_the_check_can_be_relaxed(tmp_path: Path):
    settings = ephemeral_settings(tmp_path / "state", pstn=PstnSettings(answer_after=0, callerid_check=False))
    emulator = Emulator(settings)
    await emulator.start()
    try:
        api = ApiCaller(emulator)
        _, rule_id = await rule_with(api, DIALS)
        reply = await api("start_scenarios", rule_id=rule_id, script_custom_data="+15550001")
        assert "connected" in await session_log(emulator, int(reply["call_session_history_id"]), "connected")
    finally:
        await emulator.stop()
