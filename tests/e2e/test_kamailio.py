"""Kamailio (Debian `kamailio`) as a record-routing proxy in front of voxsim (RFC 3261 12.1.1, 12.1.2, 16.12).

A phone (voxsim's own user agent, `voxsim.testing.TestPhone`) calls through Kamailio; Kamailio record-routes
the INVITE and relays it to the emulator. voxsim must copy the Record-Route into its 200, so the phone's ACK
and BYE come back through Kamailio, and its own BYE must go by its route set, through Kamailio too. Kamailio
logs every request it sees ("voxsim-e2e:" lines of its stderr, config in tests/e2e/kamailio/) and refuses an
in-dialog request that does not carry its Route: a voxsim that drops the Record-Route fails here.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from sip_edge.message import Request
from sip_edge.transport import Address, free_port_pair
from sip_edge.ua import UserAgent
from tests.e2e.test_sip_e2e import finished, logged, provision
from voxsim.app import Emulator
from voxsim.testing import TestPhone

pytestmark = pytest.mark.sipp

CONFIG = Path(__file__).parent / "kamailio" / "kamailio.cfg"
SEEN_RE = re.compile(r"voxsim-e2e: (\S+) (\S+) from [\d.]+:(\d+) route \[(.*)\] call-id (\S+)")

ANSWER = r"""
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  e.call.addEventListener(CallEvents.Connected, () => {
    Logger.write('connected');
    if (e.destination === 'hangup') e.call.hangup();
  });
  e.call.addEventListener(CallEvents.Disconnected, (d) => {
    Logger.write('disconnected ' + d.internalCode);
    VoxEngine.terminate();
  });
  e.call.answer();
});
"""


@dataclass(frozen=True)
class Seen:
    """One request as Kamailio logged it on arrival."""

    method: str
    uri: str
    source_port: int
    route: str
    call_id: str


class Kamailio:
    """One Kamailio process on a loopback ephemeral port, running `config` (by default the record-routing proxy
    that relays new calls to voxsim's UDP port) with its @NAME@ placeholders filled from `values`."""

    def __init__(self, folder: Path, voxsim_port: int, config: Path = CONFIG, **values: str) -> None:
        self.folder = folder
        self.voxsim_port = voxsim_port
        self.port = free_port_pair()
        self.config = config
        self.values = {"LISTEN_PORT": str(self.port), "VOXSIM_PORT": str(voxsim_port), **values}
        self.log = folder / "kamailio.log"
        self.process: asyncio.subprocess.Process | None = None

    @property
    def address(self) -> Address:
        return Address("udp", "127.0.0.1", self.port)

    async def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        config = self.folder / "kamailio.cfg"
        text = self.config.read_text()
        for name, value in self.values.items():
            text = text.replace(f"@{name}@", value)
        config.write_text(text)
        (self.folder / "run").mkdir(exist_ok=True)
        with self.log.open("wb") as log:
            self.process = await asyncio.create_subprocess_exec(
                "kamailio", "-f", str(config), "-DD", "-E", "-P", str(self.folder / "kamailio.pid"),
                "-Y", str(self.folder / "run"), "-w", str(self.folder), "-m", "32", "-M", "4",
                stdout=log, stderr=log, start_new_session=True)

    async def wait_ready(self, ua: UserAgent) -> None:
        """Until Kamailio answers an OPTIONS to itself (it binds its port a moment after starting)."""
        for _ in range(100):
            if self.process is None or self.process.returncode is not None:
                break
            response = await ua.request("OPTIONS", f"sip:127.0.0.1:{self.port}", dest=self.address)
            if response.status == 200:
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"Kamailio did not come up:\n{self.log.read_text()[-3000:]}")

    def seen(self, call_id: str) -> list[Seen]:
        """The requests of one call that Kamailio logged, in order."""
        found = [Seen(m[1], m[2], int(m[3]), m[4], m[5]) for m in SEEN_RE.finditer(self.log.read_text())]
        return [s for s in found if s.call_id == call_id]

    async def stop(self) -> None:
        """SIGTERM to its process group (it forks its workers), then SIGKILL if it lingers."""
        process = self.process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 5)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()


@pytest_asyncio.fixture
async def kamailio(emulator: Emulator, tmp_path: Path) -> AsyncIterator[Kamailio]:
    proxy = Kamailio(tmp_path / "kamailio", emulator.listeners["sip_udp"]["port"])
    try:
        await proxy.start()
        yield proxy
    finally:
        await proxy.stop()


@pytest_asyncio.fixture
async def phone(emulator: Emulator, kamailio: Kamailio) -> AsyncIterator[TestPhone]:
    """A phone whose calls go to Kamailio instead of straight to voxsim."""
    phone = TestPhone(emulator, "pbx")
    await phone.ua.start(udp=0, tcp=None)
    phone.edge = kamailio.address
    try:
        await kamailio.wait_ready(phone.ua)
        yield phone
    finally:
        await phone.stop()


async def eventually(condition: Callable[[], bool], what: str) -> None:
    for _ in range(100):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


def methods(seen: list[Seen], port: int) -> list[str]:
    """What Kamailio received from `port`."""
    return [s.method for s in seen if s.source_port == port]


async def test_voxsim_s_200_carries_kamailio_s_record_route_and_its_bye_goes_through_kamailio(
        emulator, api, kamailio, phone) -> None:
    await provision(api, ANSWER)
    arrived: list[Request] = []
    call = await phone.call("hangup", "trunk")
    call.on_request = arrived.append
    assert await call.wait_ended(5) == "remote BYE"

    record_routes = call.response.headers.get_all("Record-Route")
    assert len(record_routes) == 1, f"voxsim's 200 must carry Kamailio's Record-Route: {record_routes}"
    record_route = record_routes[0]
    assert f"sip:127.0.0.1:{kamailio.port};lr" in record_route
    assert call.dialog.route_set == [record_route]
    bye, = arrived  # voxsim's BYE, relayed by Kamailio: its Via on top
    assert [v.split(";")[0] for v in bye.headers.get_all("Via")][0] == f"SIP/2.0/UDP 127.0.0.1:{kamailio.port}"
    assert len(bye.headers.get_all("Via")) == 2 and "Route" not in bye.headers

    seen = kamailio.seen(call.call_id)
    phone_port, voxsim_port = phone.ua.ports["udp"], kamailio.voxsim_port
    assert methods(seen, phone_port) == ["INVITE", "ACK"]
    assert methods(seen, voxsim_port) == ["BYE"]
    by_voxsim, = [s for s in seen if s.source_port == voxsim_port]
    assert by_voxsim.uri == phone.ua.uri() and f"127.0.0.1:{kamailio.port};lr" in by_voxsim.route
    session, = await finished(emulator)
    assert logged(session, "disconnected ") == ["disconnected 200"]


async def test_the_caller_s_ack_and_bye_reach_voxsim_through_kamailio(emulator, api, kamailio, phone) -> None:
    await provision(api, ANSWER)
    call = await phone.call("wait", "trunk")
    phone_port = phone.ua.ports["udp"]
    await eventually(lambda: "ACK" in methods(kamailio.seen(call.call_id), phone_port), "the ACK passed Kamailio")

    assert (await call.bye()).status == 200
    seen = kamailio.seen(call.call_id)
    assert methods(seen, phone_port) == ["INVITE", "ACK", "BYE"]
    bye = seen[-1]
    assert bye.uri.startswith("sip:") and f":{kamailio.voxsim_port}" in bye.uri  # voxsim's Contact
    assert f"127.0.0.1:{kamailio.port};lr" in bye.route
    session, = await finished(emulator)
    assert logged(session, "connected") == ["connected"]
    assert logged(session, "disconnected ") == ["disconnected 200"]
