"""Kamailio (Debian `kamailio`) as the PBX of a SIP registration: voxsim registers to it, it calls voxsim back.

`CreateSipRegistration` with Kamailio as the proxy makes voxsim REGISTER there (Kamailio challenges it with
digest and keeps the binding, tests/e2e/kamailio/registrar.cfg); a phone then calls the registration's user at
Kamailio, which looks the user up and sends the INVITE to the Contact voxsim registered. voxsim takes it as a
call through that registration, from its proxy while it is registered, and runs the registration's rule, white
list or not. Deleting the registration un-REGISTERs, and Kamailio has nobody to send the next call to.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from sip_edge.ua import CallFailed, UserAgent
from tests.e2e.test_kamailio import Kamailio
from tests.e2e.test_sip_e2e import finished, logged, provision
from voxsim.app import Emulator

pytestmark = pytest.mark.sipp

CONFIG = Path(__file__).parent / "kamailio" / "registrar.cfg"
PASSWORD = "regpw-kamailio"
SEEN_RE = re.compile(r"voxsim-e2e: (\S+) (\S+) from [\d.]+:(\d+) auth \[(.*?)\] expires \[(.*?)\] "
                     r"contact \[(.*?)\] call-id (\S+)")

ANSWER = r"""
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  Logger.write('alerting ' + e.destination + ' from ' + e.callerid);
  e.call.addEventListener(CallEvents.Disconnected, () => VoxEngine.terminate());
  e.call.answer();
});
"""


@pytest_asyncio.fixture
async def registrar(emulator: Emulator, tmp_path: Path) -> AsyncIterator[Kamailio]:
    pbx = Kamailio(tmp_path / "kamailio", emulator.listeners["sip_udp"]["port"], CONFIG, PASSWORD=PASSWORD)
    try:
        await pbx.start()
        yield pbx
    finally:
        await pbx.stop()


@pytest_asyncio.fixture
async def phone(registrar: Kamailio) -> AsyncIterator[UserAgent]:
    """A phone of the PBX: its calls go to Kamailio."""
    ua = UserAgent(user="desk")
    await ua.start(udp=0, tcp=None)
    try:
        await registrar.wait_ready(ua)
        yield ua
    finally:
        await ua.stop()


def registers(pbx: Kamailio) -> list[tuple[str, str, str]]:
    """(Authorization, Expires, Contact) of every REGISTER Kamailio saw, in order."""
    return [(m[4], m[5], m[6]) for m in SEEN_RE.finditer(pbx.log.read_text()) if m[1] == "REGISTER"]


async def registered(api, reg_id: int, want: bool = True) -> dict:
    for _ in range(100):
        reg, = (await api("get_sip_registrations", sip_registration_id=reg_id))["result"]
        if bool(reg["successful"]) == want:
            return reg
        await asyncio.sleep(0.05)
    raise AssertionError(f"registration {reg_id} never became successful={want}: {reg}")


async def test_voxsim_registers_to_kamailio_and_takes_the_calls_it_sends(emulator, api, registrar, phone) -> None:
    app = await provision(api, ANSWER, app_name="ext", pattern="never")  # the registration's rule, not the pattern
    account_id = emulator.account.account_id
    for item in emulator.store.list_whitelist(account_id):  # a call through a registration needs no white list
        emulator.store.del_whitelist_item(account_id, item.sip_whitelist_id)
    created = await api("create_sip_registration", sip_username="voxsim100", proxy=f"127.0.0.1:{registrar.port}",
                        password=PASSWORD, application_id=app["application_id"], rule_id=app["rule_id"])
    reg_id = created["sip_registration_id"]
    reg = await registered(api, reg_id)
    assert reg["status_code"] == 200
    challenged, answered = registers(registrar)[:2]
    assert challenged[0] == "<null>" and 'username="voxsim100"' in answered[0]  # a 401, then digest (Kamailio's)
    assert f"voxsim-reg={reg_id}" in answered[2]

    call = await phone.invite(f"sip:voxsim100@127.0.0.1:{registrar.port}", dest=registrar.address,
                              from_addr="<sip:desk@127.0.0.1>")
    assert call.response.status == 200
    assert (await call.bye()).status == 200
    session, = await finished(emulator)
    assert logged(session, "alerting ") == ["alerting voxsim100 from desk"]
    assert session.info.rule_id == app["rule_id"]

    await api("delete_sip_registration", sip_registration_id=reg_id)
    for _ in range(100):
        if any(expires == "0" or "expires=0" in contact for _, expires, contact in registers(registrar)[2:]):
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError(f"no un-REGISTER reached Kamailio: {registers(registrar)}")
    with pytest.raises(CallFailed) as failure:  # Kamailio no longer knows where voxsim100 is
        await phone.invite(f"sip:voxsim100@127.0.0.1:{registrar.port}", dest=registrar.address)
    assert failure.value.response.status == 404
