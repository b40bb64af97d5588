"""A test of a scenario with voxsim's pytest fixtures: provision with the official client, call from a SIP phone,
check what the caller heard and what the session logged."""

from voxsim.rtp_peer import non_silent_ms

GREETING = """
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  e.call.addEventListener(CallEvents.Connected, () => e.call.say('Welcome to the shop'));
  e.call.addEventListener(CallEvents.PlaybackFinished, () => e.call.hangup());
  e.call.addEventListener(CallEvents.Disconnected, () => VoxEngine.terminate());
  Logger.write('call from ' + e.callerid);
  e.call.answer();
});
"""


async def test_greeting(voxsim_api, voxsim_phone):
    app = await voxsim_api("add_application", application_name="shop")
    scenario = await voxsim_api("add_scenario", scenario_name="greeting", scenario_script=GREETING,
                                application_id=app["application_id"])
    await voxsim_api("add_rule", application_id=app["application_id"], rule_name="all", rule_pattern=".*",
                     scenario_id=scenario["scenario_id"])
    phone = await voxsim_phone("alice")
    call = await phone.call("100", "shop")  # INVITE 100@shop.voxsim.voximplant.com
    await call.ended.wait()                # the scenario hung up after its greeting
    assert non_silent_ms(phone.media_of(call).heard()) > 500  # the caller heard speech
    history = await voxsim_api("get_call_history", with_calls=True)
    assert history["result"][0]["calls"][0]["remote_number"] == "alice"
