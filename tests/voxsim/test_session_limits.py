"""At most `max_sessions` live sessions: beyond it an INVITE gets 503 with Retry-After, StartScenarios error 340,
no history row is left behind, and the emulator keeps serving once sessions end."""

from __future__ import annotations

import pytest

from sip_edge.ua import CallFailed
from tests.mock_api.test_start_scenarios import provision
from voxsim.runtime import RuntimeSettings
from voxsim.testing import ephemeral_settings, expect_api_error

STAYS = """
VoxEngine.addEventListener(AppEvents.Started, () => Logger.write('up'));
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => e.call.answer());
"""


@pytest.fixture
def voxsim_settings(tmp_path):
    return ephemeral_settings(tmp_path / "state", runtime=RuntimeSettings(max_sessions=2, pool_size=1))


async def test_beyond_the_cap_calls_get_503_and_the_api_340(voxsim_emulator, voxsim_api, voxsim_phone):
    _, rule_id = await provision(voxsim_api, STAYS, "busy")
    first = await voxsim_api("start_scenarios", rule_id=rule_id)
    await voxsim_api("start_scenarios", rule_id=rule_id)
    message = await expect_api_error(voxsim_api, 340, "start_scenarios", rule_id=rule_id)
    assert "max_sessions" in message
    phone = await voxsim_phone()
    with pytest.raises(CallFailed) as failed:
        await phone.call("100", "busy")
    assert failed.value.response.status == 503 and failed.value.response.headers.get("Retry-After") == "5"
    history = await voxsim_api("get_call_history", with_total_count=True)
    assert history["total_count"] == 2  # the refused ones left no row
    session = voxsim_emulator.runtime.session(first["call_session_history_id"])
    session.terminate()
    await session.wait_finished(5)
    call = await phone.call("100", "busy")  # room again
    await call.bye()


