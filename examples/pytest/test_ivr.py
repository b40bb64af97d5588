"""An IVR tested end to end (docs/testing.md): provision with the official client, call from a SIP test phone with
real RTP, press a key, then check the session's events and log and what the caller heard."""

import asyncio

from voxsim.rtp_peer import non_silent_ms

IVR = """
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  const call = e.call;
  call.addEventListener(CallEvents.Connected, () => {
    call.handleTones(true);
    call.say('Press one for sales, two for support.');
  });
  call.addEventListener(CallEvents.ToneReceived, (t) => {
    Logger.write('pressed ' + t.tone);
    call.say(t.tone === '1' ? 'Connecting you to sales.' : 'Connecting you to support.');
    call.addEventListener(CallEvents.PlaybackFinished, () => call.hangup());
  });
  call.addEventListener(CallEvents.Disconnected, () => VoxEngine.terminate());
  call.answer();
});
"""


async def test_pressing_one_reaches_sales(voxsim_api, voxsim_phone, voxsim_emulator):
    app = await voxsim_api("add_application", application_name="ivr")
    scenario = await voxsim_api("add_scenario", scenario_name="menu", scenario_script=IVR,
                                application_id=app["application_id"])
    await voxsim_api("add_rule", application_id=app["application_id"], rule_name="menu", rule_pattern=".*",
                     scenario_id=scenario["scenario_id"])

    phone = await voxsim_phone("alice")
    call = await phone.call("100", "ivr")          # INVITE 100@ivr.voxsim.voximplant.com, answered
    media = phone.media_of(call)                   # the phone's RTP: what it hears and sends
    await media.wait_for_audio(1.0)                # the menu is playing
    media.send_rfc4733("1")                        # press 1 (RFC 4733 telephone-event)
    await asyncio.wait_for(call.ended.wait(), 20)  # the scenario hangs up after its answer

    history = await voxsim_api("get_call_history")
    session = voxsim_emulator.runtime.session(history["result"][0]["call_session_history_id"])
    names = [event["name"] for event in session.events]
    assert names.index("Call.Connected") < names.index("Call.ToneReceived")
    assert any(line.endswith("pressed 1") for line in session.log.lines)
    assert non_silent_ms(media.heard()) > 2000      # the menu and the answer, as speech
