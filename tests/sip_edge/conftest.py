"""Fixtures for the SIP transport, user agent, edge and SIPp interop tests.

- `tls_files`: a throwaway self-signed certificate for 127.0.0.1/localhost (made with
  `cryptography`), with `server_context()` and `client_context()` built from it.
- `sipp`: runs the real SIPp binary as an asyncio subprocess and reads its `-trace_stat` file.
- `sip_peer`: a bare SipTransport whose received messages land in a queue, to poke stacks with.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import shutil
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
from sip_edge.transport import Address, SipTransport

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


@dataclass
class SippResult:
    returncode: int
    successful: int
    failed: int
    stderr: str
    messages: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.failed == 0


class SippRun:
    """One SIPp process. `result()` waits for it and reads its statistics."""

    def __init__(self, process: asyncio.subprocess.Process, stat_file: Path, message_file: Path) -> None:
        self.process = process
        self.stat_file = stat_file
        self.message_file = message_file

    async def result(self, timeout: float = 45.0) -> SippResult:
        _, stderr = await asyncio.wait_for(self.process.communicate(), timeout)
        successful, failed = read_sipp_stats(self.stat_file)
        messages = self.message_file.read_text(errors="replace") if self.message_file.exists() else ""
        assert self.process.returncode is not None
        return SippResult(self.process.returncode, successful, failed, stderr.decode(errors="replace"), messages)

    def kill(self) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()


def read_sipp_stats(path: Path) -> tuple[int, int]:
    """SuccessfulCall(C) and FailedCall(C) from the last line of a -trace_stat file (;-separated)."""
    if not path.exists():
        return 0, 0
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    if len(lines) < 2:
        return 0, 0
    header, last = lines[0].split(";"), lines[-1].split(";")
    values = dict(zip(header, last, strict=False))
    return int(values.get("SuccessfulCall(C)", 0)), int(values.get("FailedCall(C)", 0))


def wait_listening(port: int, transport: str) -> bool:
    """True once something listens on `port` (reads /proc/net, Linux): the moment SIPp is ready."""
    table = Path("/proc/net/tcp" if transport == "tcp" else "/proc/net/udp")
    wanted = f":{port:04X}"
    for line in table.read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1].endswith(wanted) and (transport != "tcp" or fields[3] == "0A"):
            return True
    return False


class Sipp:
    """Starts SIPp processes for one test and kills whatever is left at the end."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.runs: list[SippRun] = []
        self.binary = shutil.which("sipp")
        assert self.binary, "SIPp is not installed (Debian/Ubuntu: apt-get install sip-tester)"

    async def start(self, *args: str, listen: tuple[int, str] | None = None) -> SippRun:
        """Runs `sipp ARGS` with statistics and message traces in the test's folder.

        With `listen=(port, transport)`, waits until SIPp listens there (a server scenario).
        """
        index = len(self.runs)
        stat_file, message_file = self.folder / f"sipp{index}.csv", self.folder / f"sipp{index}_messages.log"
        command = [
            self.binary, *args, "-trace_stat", "-stf", str(stat_file), "-fd", "1",
            "-trace_msg", "-message_file", str(message_file), "-timeout", "30s", "-nostdin",
        ]
        process = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, cwd=self.folder
        )
        run = SippRun(process, stat_file, message_file)
        self.runs.append(run)
        if listen is not None:
            for _ in range(200):
                if wait_listening(*listen) or process.returncode is not None:
                    break
                await asyncio.sleep(0.01)
        return run

    async def run(self, *args: str, timeout: float = 45.0) -> SippResult:
        return await (await self.start(*args)).result(timeout)

    def scenario(self, name: str) -> str:
        return str(SIPP_DIR / name)


@pytest_asyncio.fixture
async def sipp(tmp_path: Path) -> AsyncIterator[Sipp]:
    runner = Sipp(tmp_path)
    try:
        yield runner
    finally:
        for run in runner.runs:
            run.kill()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(run.process.wait(), 5)
