"""An INVITE flood from a white-listed source, never ACKing, against a scenario that answers: the session cap
turns the excess away with 503, memory stays bounded, and a healthy call still goes through."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from tests.mock_api.test_start_scenarios import provision
from voxsim.runtime import RuntimeSettings
from voxsim.testing import ephemeral_settings

ANSWERS = "VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => e.call.answer());"
FLOOD = 300


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def invite(n: int, port: int, domain: str) -> bytes:
    sdp = (b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
           b"m=audio 9 RTP/AVP 0\r\n")
    head = (f"INVITE sip:100@{domain} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKflood{n}\r\n"
            f"From: <sip:flood@127.0.0.1>;tag=f{n}\r\nTo: <sip:100@{domain}>\r\nCall-ID: flood-{n}@test\r\n"
            f"CSeq: 1 INVITE\r\nContact: <sip:flood@127.0.0.1:{port}>\r\nMax-Forwards: 70\r\n"
            f"Content-Type: application/sdp\r\nContent-Length: {len(sdp)}\r\n\r\n")
    return head.encode() + sdp


@pytest.fixture
def voxsim_settings(tmp_path):
    return ephemeral_settings(tmp_path / "state", runtime=RuntimeSettings(max_sessions=60, pool_size=2))


async def test_an_invite_flood_is_capped_and_the_emulator_keeps_answering(voxsim_emulator, voxsim_api,
                                                                          voxsim_phone):
    await provision(voxsim_api, ANSWERS, "flood")
    domain = f"flood.{voxsim_emulator.account.account_name}.voximplant.com"
    edge = voxsim_emulator.listeners["sip_udp"]["port"]
    before = rss_mb()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)  # 200s are retransmitted: read them all
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    finals: dict[str, int] = {}
    local = sock.getsockname()[1]
    try:
        for n in range(FLOOD):
            sock.sendto(invite(n, local, domain), ("127.0.0.1", edge))
            if n % 25 == 24:
                await asyncio.sleep(0.02)
        deadline = loop.time() + 15
        resend = loop.time() + 0.5
        while len(finals) < FLOOD and loop.time() < deadline:
            if loop.time() > resend:  # as a UA retransmits an unanswered INVITE (Timer A): UDP drops some
                for n in range(FLOOD):
                    if f"Call-ID: flood-{n}@test" not in finals:
                        sock.sendto(invite(n, local, domain), ("127.0.0.1", edge))
                resend = loop.time() + 1.0
            try:
                data = await asyncio.wait_for(loop.sock_recv(sock, 65535), 0.2)
            except TimeoutError:
                continue
            status = int(data.split(b" ", 2)[1])
            call_id = next(line for line in data.split(b"\r\n") if line.lower().startswith(b"call-id"))
            if status >= 200:
                finals[call_id.decode()] = status
    finally:
        sock.close()
    counts = {status: list(finals.values()).count(status) for status in set(finals.values())}
    assert len(finals) == FLOOD, counts  # every INVITE answered, once retransmitted
    assert counts.get(200, 0) <= 60 and counts.get(200, 0) + counts.get(503, 0) == len(finals), counts
    assert rss_mb() - before < 600  # isolates for 60 sessions, not 400
    health = await voxsim_api("get_account_info")
    assert health["result"]["account_id"] == voxsim_emulator.account.account_id
    for session in voxsim_emulator.runtime.live_sessions():
        session.terminate()
    for session in voxsim_emulator.runtime.live_sessions():
        await session.wait_finished(10)
    phone = await voxsim_phone()
    call = await phone.call("100", "flood")  # room again: a healthy call goes through
    await call.bye()
