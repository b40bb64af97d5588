"""callPSTN to a number of the account's PSTN black list fails with 403 before the PSTN simulator sees it."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from voxsim.app import Emulator
from voxsim.config import Settings
from voxsim.pstn import PstnSettings
from voxsim.testing import ApiCaller, ephemeral_settings

DIALS = """
VoxEngine.addEventListener(AppEvents.Started, () => {
  const call = VoxEngine.callPSTN(VoxEngine.customData(), '+12125550110');
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


async def test_a_black_listed_number_is_not_dialled(voxsim_emulator: Emulator, voxsim_api: ApiCaller, caplog):
    app_id = int((await voxsim_api("add_application", application_name="dials"))["application_id"])
    scenario_id = (await voxsim_api("add_scenario", scenario_name="dials", scenario_script=DIALS,
                                    application_id=app_id))["scenario_id"]
    rule_id = int((await voxsim_api("add_rule", application_id=app_id, rule_name="dials", rule_pattern=".*",
                                    scenario_id=scenario_id))["rule_id"])
    await voxsim_api("attach_phone_number", phone_number="12125550110")  # the callerid the scenario shows

    async def dial(number: str, line: str) -> str:
        reply = await voxsim_api("start_scenarios", rule_id=rule_id, script_custom_data=number)
        assert voxsim_emulator.runtime is not None
        session = voxsim_emulator.runtime.session(int(reply["call_session_history_id"]))
        assert session is not None
        await session.wait_until(lambda: line in session.log.text())
        await session.wait_finished(5)
        return session.log.text()

    assert "connected" in await dial("+15550100", "connected")
    added = await voxsim_api("add_pstn_black_list_item", pstn_blacklist_phone="+15550100")
    await voxsim_api("add_pstn_black_list_item", pstn_blacklist_phone="1800.*")
    with caplog.at_level(logging.WARNING, logger="voxsim.pstn.blacklist"):
        text = await dial("+15550100", "failed")
    assert "failed 403 Forbidden - '+15550100' is in the account's PSTN black list" in text
    assert any("PSTN black list item" in r.getMessage() for r in caplog.records)
    assert "failed 403" in await dial("+18005550123", "failed")
    assert "connected" in await dial("+15550101", "connected")

    await voxsim_api("del_pstn_black_list_item", pstn_blacklist_id=added["pstn_blacklist_id"])
    assert "connected" in await dial("+15550100", "connected")
