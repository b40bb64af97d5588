"""baresip, registered as a Voximplant user, hears a scenario's prompt.

StartScenarios runs a scenario that calls the user `alice` (`VoxEngine.callUser`); baresip, registered as alice
through voxsim and answering at once, gets the call; the scenario says a prompt and hangs up when it ends. baresip
itself testifies that the prompt reached it: the RTP counters it prints when the call ends, and the WAV its
`sndfile` filter wrote of the audio it decoded, loud while the prompt played.
"""

from __future__ import annotations

import re
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest_asyncio

from tests.e2e.baresip import Baresip
from tests.e2e.test_sip_e2e import finished, logged
from voxsim.app import Emulator
from voxsim.testing import ApiCaller

PASSWORD = "Secret123"

CALL_ALICE_AND_SAY = r"""
VoxEngine.addEventListener(AppEvents.Started, () => {
  const call = VoxEngine.callUser({username: 'alice', callerid: 'voxsim'});
  call.addEventListener(CallEvents.Connected, () => {
    Logger.write('alice answered');
    call.say('Hello Alice, this is voxsim calling with a short prompt.');
  });
  call.addEventListener(CallEvents.PlaybackStarted, (e) => Logger.write('prompt ms ' + Math.round(e.duration)));
  call.addEventListener(CallEvents.PlaybackFinished, () => { Logger.write('prompt finished'); call.hangup(); });
  call.addEventListener(CallEvents.Disconnected, () => VoxEngine.terminate());
  call.addEventListener(CallEvents.Failed, (e) => { Logger.write('failed ' + e.code); VoxEngine.terminate(); });
});
"""


async def provision(api: ApiCaller, script: str) -> int:
    """The application `office` with the user alice and a rule running `script`; returns the rule's id."""
    app_id = (await api("add_application", application_name="office"))["application_id"]
    scenario = await api("add_scenario", scenario_name="call_alice", scenario_script=script, application_id=app_id)
    rule = await api("add_rule", application_id=app_id, rule_name="call_alice", rule_pattern=".*",
                     scenario_id=scenario["scenario_id"])
    await api("add_user", application_id=app_id, user_name="alice", user_display_name="Alice",
              user_password=PASSWORD)
    rule_id: int = rule["rule_id"]
    return rule_id


@pytest_asyncio.fixture
async def alice(tmp_path: Path, voxsim_emulator: Emulator) -> AsyncIterator[Baresip]:
    """baresip as alice@office, started once the user exists (see the test), always stopped."""
    domain = f"office.{voxsim_emulator.account.account_name}.voximplant.com"
    phone = Baresip(tmp_path / "baresip", user="alice", domain=domain, password=PASSWORD,
                    proxy_port=voxsim_emulator.listeners["sip_udp"]["port"])
    try:
        yield phone
    finally:
        await phone.stop()


def loudness(path: Path) -> np.ndarray:
    """The RMS of each 20 ms frame of a PCM16 mono WAV."""
    with wave.open(str(path)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth()) == (1, 2)
        samples = np.frombuffer(wav.readframes(wav.getnframes()), "<i2").astype(np.float64)
        frame = wav.getframerate() // 50
    usable = len(samples) // frame * frame
    rms: np.ndarray = np.sqrt(np.mean(samples[:usable].reshape(-1, frame) ** 2, axis=1))
    return rms


def rtp_packets(output: str) -> tuple[int, int]:
    """(sent, received) from the RTP statistics baresip prints when a call ends (`rtp_stats yes`)."""
    counts = re.findall(r"packets:\s+(\d+)\s+(\d+)", output)
    assert counts, f"baresip printed no RTP statistics:\n{output[-4000:]}"
    sent, received = counts[-1]
    return int(sent), int(received)


async def test_baresip_registered_as_a_user_hears_the_prompt_of_call_user(
        voxsim_emulator: Emulator, voxsim_api: ApiCaller, alice: Baresip) -> None:
    rule_id = await provision(voxsim_api, CALL_ALICE_AND_SAY)
    await alice.start()
    await alice.wait_for(r"registered successfully", 5)

    started = await voxsim_api("start_scenarios", rule_id=rule_id)
    await alice.wait_for(r"Call established: sip:voxsim@office\.", 5)
    await alice.wait_for(r"Call with sip:voxsim@office\.\S+ terminated", 10)
    await alice.wait_for(r"errors:", 2)  # the statistics follow the call's end

    session, = await finished(voxsim_emulator)
    assert session.session_id == started["call_session_history_id"]
    assert logged(session, "alice answered") == ["alice answered"]
    prompt_ms = int(logged(session, "prompt ms ")[0].split()[-1])
    assert logged(session, "prompt finished") == ["prompt finished"]

    # 50 packets a second for the prompt's length, both ways (its microphone is a tone)
    sent, received = rtp_packets(alice.output)
    assert received >= prompt_ms / 20 * 0.9 and sent >= prompt_ms / 20 * 0.9, (sent, received, prompt_ms)
    dump, = alice.heard()
    loud = loudness(dump) > 300  # speech; G.711 silence decodes to a few units at most
    assert loud[:25].any(), "the prompt did not start within 0.5 s of the answer"
    assert loud.sum() * 20 >= prompt_ms / 2, (loud.sum(), prompt_ms)
