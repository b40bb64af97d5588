"""linphonec, registered as a Voximplant user, hears a scenario's prompt and calls the application.

linphonec registers as alice of the application `office` (digest auth) through voxsim. StartScenarios runs a
scenario that calls alice (`VoxEngine.callUser`); linphonec answers at once and the scenario says a prompt: the WAV
linphonec recorded of what it decoded is loud while it played. Then linphonec calls a number of the application and
the scenario's CallAlerting sees it; linphonec offers telephone-event at 48 kHz and at 8 kHz, and voxsim's answer
keeps the 8 kHz one, the clock rate of the G.711 it chose (RFC 4733 §2.1).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from tests.e2e.linphone import Linphonec
from tests.e2e.test_baresip import CALL_ALICE_AND_SAY, PASSWORD, loudness, provision
from tests.e2e.test_sip_e2e import finished, logged
from voxsim.app import Emulator
from voxsim.testing import ApiCaller

ANSWER_AND_SAY = r"""
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  Logger.write('alerting from ' + e.callerid + ' to ' + e.destination);
  e.call.addEventListener(CallEvents.Connected, () => e.call.say('Hello, this is voxsim answering.'));
  e.call.addEventListener(CallEvents.PlaybackFinished, () => e.call.hangup());
  e.call.addEventListener(CallEvents.Disconnected, () => VoxEngine.terminate());
  e.call.answer();
});
"""


@pytest_asyncio.fixture
async def linphone(tmp_path: Path, voxsim_emulator: Emulator) -> AsyncIterator[Linphonec]:
    """linphonec as alice@office (its rc file), started once the user exists (see `register`), always stopped."""
    domain = f"office.{voxsim_emulator.account.account_name}.voximplant.com"
    proxy = f"sip:127.0.0.1:{voxsim_emulator.listeners['sip_udp']['port']};transport=udp"
    phone = Linphonec(tmp_path / "linphone", user="alice", domain=domain, password=PASSWORD, proxy=proxy)
    try:
        yield phone
    finally:
        await phone.stop()


async def register(emulator: Emulator, phone: Linphonec) -> str:
    """Starts linphonec, which registers as alice@office through voxsim (digest auth) from its SIP port; returns the
    domain."""
    await phone.start()
    # Registered from the port `ports sip` bound (linphonec registers once from another one as it starts).
    await phone.wait_in_log(rf"(?s)Contact: <sip:alice@127\.0\.0\.1:{phone.sip_port}\b.*?"
                            r"moving from state \[LinphoneRegistrationProgress\] to \[LinphoneRegistrationOk\]", 15)
    return f"office.{emulator.account.account_name}.voximplant.com"


def media_lines(sdp: str) -> dict[str, str]:
    """payload type -> rtpmap encoding ("telephone-event/8000") of an SDP body."""
    return dict(re.findall(r"a=rtpmap:(\d+) (\S+)", sdp))


def sdp_of(text: str) -> str:
    return text.split("\r\n\r\n", 1)[1] if "\r\n\r\n" in text else ""


async def test_linphonec_registered_as_a_user_hears_the_prompt_of_call_user(
        voxsim_emulator: Emulator, voxsim_api: ApiCaller, linphone: Linphonec) -> None:
    rule_id = await provision(voxsim_api, CALL_ALICE_AND_SAY)
    await register(voxsim_emulator, linphone)

    started = await voxsim_api("start_scenarios", rule_id=rule_id)
    await linphone.wait_for(r"Call \d+ with .*voxsim@office\.\S* connected", 15)
    await linphone.wait_for(r"Call \d+ with .*voxsim@office\.\S* ended", 20)

    session, = await finished(voxsim_emulator, timeout=10)
    assert session.session_id == started["call_session_history_id"]
    assert logged(session, "alice answered") == ["alice answered"]
    prompt_ms = int(logged(session, "prompt ms ")[0].split()[-1])
    assert logged(session, "prompt finished") == ["prompt finished"]

    # What linphonec decoded of the call's RTP, recorded while the prompt played.
    loud = loudness(linphone.heard) > 300  # speech; G.711 silence decodes to a few units at most
    assert loud.sum() * 20 >= prompt_ms / 2, (loud.sum(), prompt_ms)


async def test_linphonec_calls_a_number_and_call_alerting_sees_it(
        voxsim_emulator: Emulator, voxsim_api: ApiCaller, linphone: Linphonec) -> None:
    await provision(voxsim_api, ANSWER_AND_SAY)
    domain = await register(voxsim_emulator, linphone)

    linphone.send(f"call sip:4951@{domain}")
    await linphone.wait_for(r"Call \d+ with .*4951@office\.\S* connected", 15)
    await linphone.wait_for(r"Call \d+ with .*4951@office\.\S* ended", 20)

    session, = await finished(voxsim_emulator, timeout=10)
    assert logged(session, "alerting from ") == ["alerting from alice to 4951"]

    journal = voxsim_emulator.sip_journal
    assert journal is not None
    journal.flush()
    messages = voxsim_emulator.store.sip_messages_of(session.session_id)
    invite = next(m for m in messages if m.direction == "in" and m.first_line.startswith("INVITE "))
    ok = next(m for m in messages if m.direction == "out" and m.first_line.startswith("SIP/2.0 200")
              and "\r\nCSeq: " in m.text and " INVITE\r\n" in m.text.split("\r\nCSeq: ", 1)[1][:30])
    offered, answered = media_lines(sdp_of(invite.text)), media_lines(sdp_of(ok.text))
    events = {pt for pt, name in offered.items() if name.startswith("telephone-event/")}
    assert {offered[pt] for pt in events} >= {"telephone-event/48000", "telephone-event/8000"}, offered
    # The answer keeps the telephone-event whose clock rate is the chosen G.711's, under the offer's payload type.
    assert {name.split("/")[0] for name in answered.values()} & {"PCMU", "PCMA"}, answered
    kept = {pt: name for pt, name in answered.items() if name.startswith("telephone-event/")}
    eight_khz = next(pt for pt in events if offered[pt] == "telephone-event/8000")
    assert kept == {eight_khz: "telephone-event/8000"}, (offered, answered)
