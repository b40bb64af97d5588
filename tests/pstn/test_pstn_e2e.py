"""callPSTN out of the box: a scenario started with StartScenarios calls a virtual phone of the running emulator,
hears it speak, and finds the call in GetCallHistory; with `sip.pstn_gateway` set, callPSTN goes to that gateway."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from voxsim.app import Emulator
from voxsim.config import Settings
from voxsim.pstn import PstnSettings
from voxsim.testing import ApiCaller, ephemeral_settings

DIALS_A_PHONE = """
VoxEngine.addEventListener(AppEvents.Started, () => {
  const call = VoxEngine.callPSTN('+15550100', '+12125550100');  // the account's number (AttachPhoneNumber)
  call.addEventListener(CallEvents.Connected, () => Logger.write('connected'));
  call.addEventListener(CallEvents.Failed, (e) => { Logger.write('failed ' + e.code); VoxEngine.terminate(); });
  call.addEventListener(CallEvents.Disconnected, (e) => {
    Logger.write('disconnected ' + e.internalCode);
    VoxEngine.terminate();
  });
});
"""


DETECTS_VOICEMAIL = """
VoxEngine.addEventListener(AppEvents.Started, () => {
  const amd = AMD.create({ model: AMD.Model.US });
  const call = VoxEngine.callPSTN('+15550170', '+12125550100', { amd });
  amd.addEventListener(AMD.Events.DetectionComplete, (e) => {
    Logger.write('amd ' + e.resultClass);
    call.hangup();
    VoxEngine.terminate();
  });
});
"""


@pytest.fixture
def voxsim_settings(tmp_path: Path) -> Settings:
    phone = {"pattern": r"\+1555010\d", "say": "Thank you for calling", "hangup_after": 1.5}
    machine = {"pattern": "+15550170", "answer_after": 0.2, "answering_machine": True, "amd_after": 0.3,
               "say": "Please leave a message after the tone"}
    return ephemeral_settings(tmp_path / "state", pstn=PstnSettings(numbers=[phone, machine]))


async def start_scenario(api: ApiCaller, script: str) -> int:
    await api("attach_phone_number", phone_number="12125550100")  # the callerid must be the account's
    app_id = (await api("add_application", application_name="dialer"))["application_id"]
    scenario_id = (await api("add_scenario", scenario_name="dialer", scenario_script=script,
                             application_id=app_id))["scenario_id"]
    rule_id = (await api("add_rule", application_id=app_id, rule_name="dialer", rule_pattern=".*",
                         scenario_id=scenario_id))["rule_id"]
    reply = await api("start_scenarios", rule_id=rule_id)
    return int(reply["call_session_history_id"])


async def test_call_pstn_reaches_a_virtual_phone_that_speaks(voxsim_emulator: Emulator, voxsim_api: ApiCaller):
    session_id = await start_scenario(voxsim_api, DIALS_A_PHONE)
    runtime = voxsim_emulator.runtime
    assert runtime is not None
    session = runtime.session(session_id)
    assert session is not None
    await session.wait_until(lambda: "connected" in session.log.text())
    [call] = session.calls.values()
    audio = runtime.call_audio(call.id)
    assert audio is not None
    await session.wait_finished(5)
    assert [prompt.text for prompt in audio.said] == ["Thank you for calling"]
    assert any(frame is not None and frame.any() for frame in audio.received), "the scenario's side heard it"
    assert "disconnected 200" in session.log.text()

    assert voxsim_emulator.recorder is not None
    voxsim_emulator.recorder.flush()
    history = await voxsim_api("get_call_history", call_session_history_id=session_id, with_calls=True)
    [row] = history["result"][0]["calls"]
    assert (row["remote_number_type"], row["remote_number"], row["local_number"]) == ("pstn", "+15550100",
                                                                                      "+12125550100")
    assert row["successful"] and not row["incoming"]


async def test_an_answering_machine_is_detected_as_voicemail(voxsim_emulator: Emulator, voxsim_api: ApiCaller):
    session_id = await start_scenario(voxsim_api, DETECTS_VOICEMAIL)
    runtime = voxsim_emulator.runtime
    assert runtime is not None
    session = runtime.session(session_id)
    assert session is not None
    await session.wait_finished(5)
    assert "amd VOICEMAIL" in session.log.text()


class Gateway(asyncio.DatagramProtocol):
    """A SIP gateway that only listens: what callPSTN sent it."""

    def __init__(self) -> None:
        self.received: list[str] = []

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.received.append(data.decode(errors="replace"))


async def test_a_configured_gateway_still_gets_call_pstn(tmp_path: Path):
    loop = asyncio.get_running_loop()
    transport, gateway = await loop.create_datagram_endpoint(Gateway, local_addr=("127.0.0.1", 0))
    port = transport.get_extra_info("sockname")[1]
    settings = ephemeral_settings(tmp_path / "state", sip={"pstn_gateway": f"127.0.0.1:{port}",
                                                           "request_timeout": 0.2})
    emulator = Emulator(settings)
    await emulator.start()
    try:
        await start_scenario(ApiCaller(emulator), DIALS_A_PHONE)
        async with asyncio.timeout(5):
            while not any(text.startswith(f"INVITE sip:+15550100@127.0.0.1:{port}") for text in gateway.received):
                await asyncio.sleep(0.02)
    finally:
        await emulator.stop()
        transport.close()
