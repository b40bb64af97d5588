"""SIP registrations end to end: the running emulator, the official client, a SIPp registrar and a
local HTTP receiver for the account callbacks.

The SIPp scenario (tests/sip_edge/sipp/registrar_flaky.xml) refuses the first registration (401
challenge, then 403 whatever the answer), accepts the retry, and then checks the un-REGISTER that
DeleteSipRegistration causes.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from sip_edge.auth import DigestServer
from sip_edge.transport import free_port_pair
from sip_edge.ua import UserAgent
from tests.conftest import Receiver
from voxsim.app import Emulator
from voxsim.testing import ephemeral_settings

pytestmark = pytest.mark.sipp

SIPP_SCENARIO = Path(__file__).parents[2] / "sip_edge" / "sipp" / "registrar_flaky.xml"


async def until(check: Callable[[], Awaitable[Any]], timeout: float = 10.0) -> Any:
    """Polls the coroutine function `check` until it returns something truthy; returns that."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def start_sipp_registrar(tmp_path: Path, port: int) -> asyncio.subprocess.Process:
    binary = shutil.which("sipp")
    assert binary, "SIPp is not installed (Debian/Ubuntu: apt-get install sip-tester)"
    process = await asyncio.create_subprocess_exec(
        binary, "-sf", str(SIPP_SCENARIO), "-i", "127.0.0.1", "-p", str(port), "-t", "u1", "-m", "1",
        "-timeout", "30s", "-nostdin", "-trace_msg", "-message_file", str(tmp_path / "sipp_messages.log"),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, cwd=tmp_path)
    wanted = f":{port:04X}"
    for _ in range(300):  # until SIPp's UDP socket is bound (Linux /proc)
        table = Path("/proc/net/udp").read_text().splitlines()[1:]
        if any(line.split()[1].endswith(wanted) for line in table) or process.returncode is not None:
            break
        await asyncio.sleep(0.01)
    return process


async def test_registration_fails_then_recovers_with_callbacks_and_unregisters_on_delete(
        voxsim_emulator: Emulator, voxsim_api, receiver: Receiver, tmp_path: Path) -> None:
    manager = voxsim_emulator.sip_registrations
    assert manager is not None
    manager.timers.retry_initial = 1.5  # long enough to see the failure through the API, short for a test
    account = voxsim_emulator.store.get_account(voxsim_emulator.account.account_id)
    await voxsim_api("set_account_info", callback_url=receiver.url, callback_salt="pepper")

    port = free_port_pair()
    sipp = await start_sipp_registrar(tmp_path, port)
    try:
        created = await voxsim_api("create_sip_registration", sip_username="100", proxy=f"127.0.0.1:{port}",
                                   password="secret")
        reg_id = created["sip_registration_id"]

        async def record() -> dict[str, Any]:
            return (await voxsim_api("get_sip_registrations", sip_registration_id=reg_id))["result"][0]

        async def failed() -> dict[str, Any] | None:
            reg = await record()
            return reg if reg.get("status_code") == 403 and not reg["in_progress"] else None

        reg = await until(failed, timeout=5)
        assert reg["successful"] is False and reg["error_message"] == "Forbidden"

        async def succeeded() -> dict[str, Any] | None:
            reg = await record()
            return reg if reg["successful"] else None

        reg = await until(succeeded, timeout=8)
        assert reg["status_code"] == 200 and reg["in_progress"] is False

        async def both_callbacks() -> bool:
            return len(receiver.callbacks) >= 2

        await until(both_callbacks, timeout=5)
        fail, recovered = receiver.callbacks
        assert fail["type"] == "sip_registration_fail"
        assert fail["sip_registration_fail"] == {"sip_registrations": [
            {"sip_registration_id": reg_id, "status_code": "403", "error_message": "Forbidden"}]}
        assert recovered["type"] == "sip_registration_recovered"
        assert recovered["sip_registration_recovered"] == {"sip_registrations": [{"sip_registration_id": reg_id}]}
        for callback in (fail, recovered):
            expected = f"pepper{account.account_id}{account.api_key}{callback['callback_id']}"
            assert callback["hash"] == hashlib.md5(expected.encode()).hexdigest()
            assert callback["account_id"] == account.account_id
            assert callback["account_name"] == account.account_name
        assert recovered["callback_id"] > fail["callback_id"]

        # A call the PBX sends to the registered Contact maps back to the registration.
        contact = manager.registrations[reg_id]["contact"].strip("<>")
        assert manager.match_inbound(contact, "127.0.0.1") == reg_id

        await voxsim_api("delete_sip_registration", sip_registration_id=reg_id)
        _, stderr = await asyncio.wait_for(sipp.communicate(), 15)
    finally:
        if sipp.returncode is None:
            sipp.kill()
            await sipp.wait()
    messages = (tmp_path / "sipp_messages.log").read_text(errors="replace")
    assert sipp.returncode == 0, stderr.decode(errors="replace")[-2000:]
    assert "Expires: 0" in messages
    assert manager.registrations == {}


async def test_registrations_register_again_after_a_restart_and_let_go_on_reset(tmp_path: Path) -> None:
    registrar = UserAgent(digest=DigestServer("pbx.test", algorithms=("MD5",)), credentials={"100": "pw"}.get)
    await registrar.start(udp=0, tcp=None)
    proxy = f"127.0.0.1:{registrar.ports['udp']}"

    def contacts() -> list[str]:
        return [uri for uri, expiry in registrar.bindings.get("sip:100@127.0.0.1", {}).items()
                if expiry > time.time()]

    async def registered() -> bool:
        return bool(contacts())

    async def unregistered() -> bool:
        return not contacts()

    settings = ephemeral_settings(tmp_path / "state")
    first = Emulator(settings)
    await first.start()
    try:
        store, account_id = first.store, first.account.account_id
        reg = store.create_sip_registration(account_id, "100", proxy, password="pw")
        await first.sip_registrations_changed()
        await until(registered, timeout=5)
    finally:
        await first.stop()
    assert await unregistered()  # stop() un-registered it

    second = Emulator(settings)
    await second.start()
    try:
        await until(registered, timeout=5)
        record = second.store.get_sip_registration(account_id, reg.sip_registration_id)
        assert (record.successful, record.status_code) == (True, 200)
        await second.reset()  # /_voxsim/reset deletes the registrations: they let go
        await until(unregistered, timeout=5)
    finally:
        await second.stop()
        await registrar.stop()
