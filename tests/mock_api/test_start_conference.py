"""StartConference through the official client: one session per conference name, `conference_name` in
AppEvents.Started, the platform's codes for bad names."""

from __future__ import annotations

from voxsim.testing import expect_api_error

from .test_start_scenarios import provision

ROOM = """
VoxEngine.addEventListener(AppEvents.Started, (e) => Logger.write(`room ${e.conference_name} ${e.sessionId}`));
"""


async def test_one_session_per_conference_name(voxsim_api, voxsim_emulator):
    _, rule_id = await provision(voxsim_api, ROOM, "rooms")
    first = await voxsim_api("start_conference", conference_name="weekly", rule_id=rule_id,
                             script_custom_data="agenda")
    again = await voxsim_api("start_conference", conference_name="weekly", rule_id=rule_id)
    other = await voxsim_api("start_conference", conference_name="daily", rule_id=rule_id)
    assert first["result"] == 1 and first["media_session_access_url"].startswith("http://")
    assert again["call_session_history_id"] == first["call_session_history_id"]
    assert other["call_session_history_id"] != first["call_session_history_id"]
    session = voxsim_emulator.runtime.session(first["call_session_history_id"])
    assert f"room weekly {session.session_id}" in session.log.text()
    assert session.custom_data == "agenda"
    session.terminate()
    await session.wait_finished(5)
    after = await voxsim_api("start_conference", conference_name="weekly", rule_id=rule_id)
    assert after["call_session_history_id"] != first["call_session_history_id"]  # that one has ended


async def test_start_conference_errors(voxsim_api):
    _, rule_id = await provision(voxsim_api, ROOM, "rooms")
    await expect_api_error(voxsim_api, 270, "start_conference", conference_name="x" * 50, rule_id=rule_id)
    await expect_api_error(voxsim_api, 269, "start_conference", conference_name="   ", rule_id=rule_id)
    await expect_api_error(voxsim_api, 147, "start_conference", conference_name="a", rule_id=99999)
