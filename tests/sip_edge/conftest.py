"""Fixtures for the SIP library's transport, user agent and SIPp interop tests (the edge's tests use them too).

- `tls_files`: a throwaway self-signed certificate for 127.0.0.1/localhost (made with
  `cryptography`), with `server_context()` and `client_context()` built from it.
- `sipp`: runs the real SIPp binary as an asyncio subprocess and reads its `-trace_stat` file.
- `sip_peer`: a bare SipTransport whose received messages land in a queue, to poke stacks with.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sip_edge.message import Message
from sip_edge.transaction import TimerConfig
from sip_edge.transport import Address, SipTransport
from sip_edge.ua import UserAgent
from voxsim.media.call_audio import CallAudio
from voxsim.testing import SippRunner

SIPP_DIR = Path(__file__).parent / "sipp"


# ------------------------------------------------------------------------------------------ TLS


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "voxsim test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return TlsFiles(cert_path, key_path)


# ------------------------------------------------------------------------------------------ a bare peer


class Peer:
    """A SipTransport that queues what it receives: (message, source) pairs."""

    def __init__(self, **kwargs: Any) -> None:
        self.inbox: asyncio.Queue[tuple[Message, Address]] = asyncio.Queue()
        self.transport = SipTransport(lambda message, source: self.inbox.put_nowait((message, source)), **kwargs)

    async def next(self, timeout: float = 3.0) -> tuple[Message, Address]:
        return await asyncio.wait_for(self.inbox.get(), timeout)


@pytest_asyncio.fixture
async def make_peer() -> AsyncIterator[Callable[..., Awaitable[Peer]]]:
    """`await make_peer(tls_context=None, **SipTransport kwargs)`: a Peer listening on UDP and TCP
    (and TLS with a context) on 127.0.0.1, closed at the end of the test."""
    peers: list[Peer] = []

    async def make(*, tls_context: ssl.SSLContext | None = None, **kwargs: Any) -> Peer:
        peer = Peer(**kwargs)
        peers.append(peer)
        await peer.transport.listen_udp("127.0.0.1", 0)
        await peer.transport.listen_tcp("127.0.0.1", 0)
        if tls_context is not None:
            await peer.transport.listen_tls("127.0.0.1", 0, tls_context)
        return peer

    try:
        yield make
    finally:
        for peer in peers:
            await peer.transport.close()


@pytest_asyncio.fixture
async def sip_peer(make_peer: Callable[..., Awaitable[Peer]]) -> Peer:
    return await make_peer()


# ------------------------------------------------------------------------------------------ SIPp


@pytest_asyncio.fixture
async def sipp(tmp_path: Path) -> AsyncIterator[SippRunner]:
    """SIPp processes for one test (scenarios in tests/sip_edge/sipp); what is left is killed at the end."""
    runner = SippRunner(tmp_path, SIPP_DIR)
    try:
        yield runner
    finally:
        await runner.close()


# ------------------------------------------------------------------------------------------ user agents

FAST_TIMERS = TimerConfig(t1=0.05, t2=0.2, trying_delay=0)


@pytest_asyncio.fixture
async def agents() -> AsyncIterator[Callable[..., Awaitable[UserAgent]]]:
    """`await agents(timers=FAST_TIMERS, **UserAgent kwargs)`: a UserAgent on 127.0.0.1 (UDP), fast transaction
    timers unless told otherwise, stopped afterwards (test_ua.py has its own, with the default timers)."""
    started: list[UserAgent] = []

    async def make(timers: TimerConfig = FAST_TIMERS, **kwargs: Any) -> UserAgent:
        ua = UserAgent(timers=timers, **kwargs)
        started.append(ua)
        await ua.start(tcp=None)
        return ua

    yield make
    for ua in started:
        await ua.stop()


def target(ua: UserAgent) -> str:
    """The Request-URI that reaches `ua` over UDP."""
    return f"sip:bob@127.0.0.1:{ua.ports['udp']}"


class QueueSession:
    """A `SessionPort` for a leg tested alone: it queues what the leg reports (`wait(name)`, `names`)."""

    session_id = 7
    account_id = 1
    application_id = 2

    def __init__(self) -> None:
        self.events: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        self.names: list[str] = []

    def call_audio(self, call_id: str) -> CallAudio:
        return CallAudio(call_id)

    def call_event(self, call_id: str, name: str, payload: Any = None) -> None:
        self.names.append(name)
        self.events.put_nowait((name, dict(payload or {})))

    def outbound_callerid(self, call_id: str, callerid: str) -> None:
        pass

    async def wait(self, name: str) -> dict[str, Any]:
        while True:
            event, payload = await asyncio.wait_for(self.events.get(), 5)
            if event == name:
                return payload
