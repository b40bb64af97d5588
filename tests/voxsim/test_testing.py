"""The pytest plugin's test phones against the in-process emulator."""

from __future__ import annotations

import asyncio

import pytest

from sip_edge.ua import CallFailed

GREETING = """
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  e.call.answer();
  e.call.addEventListener(CallEvents.Connected, () => setTimeout(() => e.call.hangup(), 50));
  e.call.addEventListener(CallEvents.Disconnected, () => VoxEngine.terminate());
});
"""

CALL_ALICE = """
VoxEngine.addEventListener(AppEvents.Started, () => {
  const call = VoxEngine.callUser({username: 'alice', callerid: 'voxsim'});
  call.addEventListener(CallEvents.Connected, () => { Logger.write('alice answered'); call.hangup(); });
  call.addEventListener(CallEvents.Disconnected, () => VoxEngine.terminate());
  call.addEventListener(CallEvents.Failed, (e) => { Logger.write('failed ' + e.code); VoxEngine.terminate(); });
});
"""


async def provision(api, script: str, name: str) -> tuple[int, int]:
    app_id = (await api("add_application", application_name=name))["application_id"]
    sid = (await api("add_scenario", scenario_name=name, scenario_script=script, application_id=app_id))
    rule = await api("add_rule", application_id=app_id, rule_name=name, rule_pattern=".*",
                     scenario_id=sid["scenario_id"])
    return app_id, rule["rule_id"]


async def test_a_phone_calls_a_scenario_that_hangs_up(voxsim_api, voxsim_phone):
    await provision(voxsim_api, GREETING, "greet")
    phone = await voxsim_phone()
    call = await phone.call("100", "greet")
    await asyncio.wait_for(call.ended.wait(), 5)


async def test_unknown_destination_fails_404(voxsim_api, voxsim_phone):
    await provision(voxsim_api, GREETING, "greet")
    phone = await voxsim_phone()
    with pytest.raises(CallFailed) as failed:
        await phone.call("1", "nosuchapp")
    assert failed.value.response.status == 404


async def test_a_registered_user_phone_is_reached_by_call_user(voxsim_emulator, voxsim_api, voxsim_phone):
    app_id, rule_id = await provision(voxsim_api, CALL_ALICE, "office")
    await voxsim_api("add_user", application_id=app_id, user_name="alice", user_display_name="Alice",
                     user_password="Secret123")
    alice = await voxsim_phone("alice")
    assert (await alice.register("alice", "Secret123", "office")).status == 200
    started = await voxsim_api("start_scenarios", rule_id=rule_id)
    call = await asyncio.wait_for(alice.incoming.get(), 5)
    await asyncio.wait_for(call.ended.wait(), 5)
    session = voxsim_emulator.runtime.session(started["call_session_history_id"])
    await session.wait_finished(5)
    assert "alice answered" in session.log.text()
