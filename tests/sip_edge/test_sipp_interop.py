"""Interop with the real SIPp (Debian `sip-tester` 3.6.1) on loopback, ephemeral ports.

SIPp reports through its exit code (0 = every call successful) and its `-trace_stat` file
(SuccessfulCall(C), FailedCall(C)); scenarios of our own live in tests/sip_edge/sipp/. Debian's
SIPp has no TLS, so TLS is tested with our stack at both ends.
"""

from __future__ import annotations

import asyncio

import pytest

from sip_edge.auth import DigestServer
from sip_edge.transaction import TimerConfig
from sip_edge.transport import Address, free_port_pair
from sip_edge.ua import CallFailed, InviteDialog, UserAgent

pytestmark = pytest.mark.sipp

SIPP_TRANSPORT = {"udp": "u1", "tcp": "t1"}
USERS = {"alice": "secret"}


async def started(ua: UserAgent, **listeners: int | None) -> UserAgent:
    await ua.start(**listeners)
    return ua


def sipp_args(transport: str) -> list[str]:
    return ["-i", "127.0.0.1", "-t", SIPP_TRANSPORT[transport]]


# ------------------------------------------------------------------------------------------ SIPp calls us


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_sipp_uac_places_100_calls_on_our_uas(sipp, transport: str) -> None:
    answered: list[InviteDialog] = []

    def on_invite(call: InviteDialog) -> None:
        answered.append(call)
        call.answer()

    uas = await started(UserAgent(on_invite=on_invite))
    try:
        port = uas.ports[transport]
        result = await sipp.run("-sn", "uac", f"127.0.0.1:{port}", *sipp_args(transport), "-m", "100", "-r", "50")
    finally:
        await uas.stop()
    assert result.ok, result.stderr[-2000:]
    assert (result.successful, result.failed) == (100, 0)
    assert len(answered) == 100
    assert all(call.confirmed.is_set() and call.end_reason == "remote BYE" for call in answered)
    assert not uas.calls  # every dialog ended


# ------------------------------------------------------------------------------------------ we call SIPp


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_our_uac_calls_sipp_uas(sipp, transport: str) -> None:
    port = free_port_pair()
    server = await sipp.start("-sn", "uas", *sipp_args(transport), "-p", str(port), "-m", "3",
                              listen=(port, transport))
    uac = await started(UserAgent())
    try:
        provisional: list[int] = []
        for _ in range(3):
            provisional.clear()
            call = await uac.invite(f"sip:service@127.0.0.1:{port};transport={transport}",
                                    on_provisional=lambda response: provisional.append(response.status))
            assert call.response is not None and call.response.status == 200
            assert b"m=audio" in call.remote_sdp
            assert 180 in provisional
            bye = await call.bye()
            assert bye.status == 200
        if transport == "tcp":
            assert len(uac.transport.connections) == 1  # one connection carried all three calls
        result = await server.result()
    finally:
        await uac.stop()
    assert result.ok, result.stderr[-2000:]
    assert (result.successful, result.failed) == (3, 0)


async def test_our_uac_answers_an_invite_challenge_from_sipp(sipp) -> None:
    port = free_port_pair()
    server = await sipp.start("-sf", sipp.scenario("uas_digest.xml"), *sipp_args("udp"), "-p", str(port),
                              "-m", "1", listen=(port, "udp"))
    uac = await started(UserAgent())
    try:
        call = await uac.invite(f"sip:service@127.0.0.1:{port}", auth=("alice", "secret"))
        assert (await call.bye()).status == 200
        assert call.invite.headers.get("Authorization", "").startswith("Digest ")
        result = await server.result()
    finally:
        await uac.stop()
    assert result.ok, result.stderr[-2000:]
    assert result.successful == 1


# ------------------------------------------------------------------------------------------ REGISTER with digest


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_our_register_client_against_sipp_registrar(sipp, transport: str) -> None:
    port = free_port_pair()
    server = await sipp.start("-sf", sipp.scenario("registrar_digest.xml"), *sipp_args(transport), "-p", str(port),
                              "-m", "1", "-key", "qop_param", ', qop="auth"', listen=(port, transport))
    ua = await started(UserAgent())
    try:
        response = await ua.register(f"sip:127.0.0.1:{port};transport={transport}", "sip:alice@127.0.0.1",
                                     auth=("alice", "secret"))
        result = await server.result()
    finally:
        await ua.stop()
    assert response.status == 200
    assert result.ok, result.stderr[-2000:]
    assert "Authorization: Digest" in result.messages


async def test_sipp_registrar_rejects_our_wrong_password(sipp) -> None:
    port = free_port_pair()
    server = await sipp.start("-sf", sipp.scenario("registrar_digest.xml"), *sipp_args("udp"), "-p", str(port),
                              "-m", "1", "-key", "qop_param", "", listen=(port, "udp"))
    ua = await started(UserAgent())
    try:
        response = await ua.register(f"sip:127.0.0.1:{port}", "sip:alice@127.0.0.1", auth=("alice", "wrong"))
        result = await server.result()
    finally:
        await ua.stop()
    assert response.status == 403  # SIPp's verifyauth said no
    assert (result.successful, result.failed) == (0, 1)


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_sipp_register_client_against_our_digest_server(sipp, transport: str) -> None:
    # SIPp 3.6 answers MD5 challenges only: offer MD5 (with qop=auth).
    digest = DigestServer("voxsim.test", algorithms=("MD5",))
    uas = await started(UserAgent(digest=digest, credentials=USERS.get))
    try:
        port = uas.ports[transport]
        result = await sipp.run("-sf", sipp.scenario("register_client.xml"), f"127.0.0.1:{port}",
                                *sipp_args(transport), "-m", "1", "-s", "alice", "-au", "alice", "-ap", "secret")
    finally:
        await uas.stop()
    assert result.ok, result.stderr[-2000:]
    assert "401 Unauthorized" in result.messages and "qop=auth" in result.messages
    assert list(uas.bindings) == ["sip:alice@127.0.0.1"]


async def test_sipp_register_client_with_wrong_password_is_refused(sipp) -> None:
    uas = await started(UserAgent(digest=DigestServer("voxsim.test", algorithms=("MD5",)), credentials=USERS.get))
    try:
        result = await sipp.run("-sf", sipp.scenario("register_client.xml"), f"127.0.0.1:{uas.ports['udp']}",
                                *sipp_args("udp"), "-m", "1", "-s", "alice", "-au", "alice", "-ap", "nope")
    finally:
        await uas.stop()
    assert result.returncode != 0 and result.failed == 1
    assert not uas.bindings


# ------------------------------------------------------------------------------------------ TLS, our stack at both ends


async def test_tls_call_between_our_uac_and_our_uas(tls_files) -> None:
    timers = TimerConfig(t1=0.05)
    uas = await started(UserAgent(server_ssl=tls_files.server_context(), timers=timers), udp=None, tcp=None, tls=0)
    uac = await started(UserAgent(client_ssl=tls_files.client_context(), timers=timers), udp=None, tcp=None, tls=None)
    try:
        port = uas.ports["tls"]
        call = await uac.invite(f"sips:bob@127.0.0.1:{port}")
        assert call.response is not None and call.response.status == 200
        assert call.invite.top_via.transport == "TLS"
        incoming = next(iter(uas.calls.values()))
        await asyncio.wait_for(incoming.confirmed.wait(), 2)  # the ACK arrived over TLS
        assert incoming.flow.transport == "tls"
        assert (await call.bye()).status == 200
        assert await incoming.wait_ended(2) == "remote BYE"
        # One TLS connection carried INVITE, ACK and BYE in both directions' transactions.
        assert list(uac.transport.connections) == [Address("tls", "127.0.0.1", port)]
    finally:
        await uac.stop()
        await uas.stop()


async def test_tls_call_is_refused_with_an_untrusted_certificate(tls_files) -> None:
    uas = await started(UserAgent(server_ssl=tls_files.server_context()), udp=None, tcp=None, tls=0)
    uac = await started(UserAgent(), udp=None, tcp=None)  # default context: does not trust our test CA
    try:
        with pytest.raises(CallFailed) as failure:
            await uac.invite(f"sips:bob@127.0.0.1:{uas.ports['tls']}")
        assert failure.value.response.status == 503
        assert not uas.calls
    finally:
        await uac.stop()
        await uas.stop()
