"""pytest fixtures for an in-process emulator (registered by the `pytest11` entry point of the voxsim package).

`voxsim_emulator` starts voxsim on loopback with ephemeral ports and a temporary state folder
(`voxsim_settings` may be overridden to change its settings); `voxsim_api` is the official Python
client pointed at its HTTPS listener (synchronous, so it is called off the loop:
`await voxsim_api("add_application", application_name="shop")`); `voxsim_phone` makes SIP phones
that call the emulator and are called by it (`phone = await voxsim_phone("alice")`); `voxsim_server` is the
same emulator for sync tests (a thread of its own; `.client` is the official client); `voxsim_conversation`
holds a conversation with a scripted caller and gives its transcript
(`await voxsim_conversation("100", "booking", caller={...}, agent={...})`, docs/voice-ai.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives import serialization

from voxsim.app import Emulator
from voxsim.config import Settings
from voxsim.rtp_peer import RtpPeer
from voxsim.voice_ai import load_script, parse_script
from voxsim.voice_ai.script import read_document


def ephemeral_settings(state: Path | str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"host": "127.0.0.1", "api_port": 0, "api_tls_port": 0, "sip_port": 0,
                              "sips_port": 0, "state": str(state)}
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def voxsim_settings(tmp_path: Path) -> Settings:
    """The settings `voxsim_emulator` starts with; override this fixture to change them
    (for example shorter timeouts: `runtime=RuntimeSettings(session_idle_timeout=5)`)."""
    return ephemeral_settings(tmp_path / "state")


@pytest_asyncio.fixture
async def voxsim_emulator(voxsim_settings: Settings) -> AsyncIterator[Emulator]:
    emulator = Emulator(voxsim_settings)
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()


class ApiCaller:
    """The official client, called off the event loop so the in-process emulator can answer."""

    def __init__(self, emulator: Emulator) -> None:
        from voximplant.apiclient import VoximplantAPI

        os.environ["REQUESTS_CA_BUNDLE"] = str(emulator.files.ca)
        port = emulator.listeners["api_https"]["port"]
        self.client = VoximplantAPI(str(emulator.files.credentials), endpoint=f"127.0.0.1:{port}")
        # The client parses the PEM key for every JWT it mints (~40 ms each); hand it the parsed key.
        # Same token on the wire; the client's code is untouched.
        pem = self.client.credentials["private_key"]
        self.client.credentials["private_key"] = serialization.load_pem_private_key(pem.encode(), password=None)

    async def __call__(self, method: str, **kwargs: Any) -> Any:
        fn: Callable[..., Any] = getattr(self.client, method)
        return await asyncio.to_thread(fn, **kwargs)


@pytest.fixture
def voxsim_api(voxsim_emulator: Emulator) -> ApiCaller:
    return ApiCaller(voxsim_emulator)


class BackgroundEmulator:
    """An emulator on an event loop of its own thread, for sync tests (and for code that runs its own loop):
    `client` is the official Python client, `base_url` the HTTP API, `run(coro)` runs a coroutine on its loop."""

    def __init__(self, settings: Settings) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="voxsim", daemon=True)
        self._thread.start()
        self.emulator = Emulator(settings)
        self.run(self.emulator.start())
        self.base_url: str = self.emulator.listeners["api_http"]["url"]
        self.client = ApiCaller(self.emulator).client

    def run(self, coro: Any, timeout: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.run(self.emulator.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


@pytest.fixture
def voxsim_server(voxsim_settings: Settings) -> Iterator[BackgroundEmulator]:
    """For sync tests: an emulator running in a background thread (`.client` is the official Python client,
    `.base_url` the HTTP API, `.emulator` the Emulator, `.run(coro)` runs on its loop)."""
    server = BackgroundEmulator(voxsim_settings)
    try:
        yield server
    finally:
        server.close()


async def expect_api_error(api: ApiCaller, code: int, method: str, **kwargs: Any) -> str:
    """Calls the official client and asserts it raised the platform error `code`; returns the message."""
    from voximplant.apiclient import VoximplantException

    with pytest.raises(VoximplantException) as err:
        await api(method, **kwargs)
    assert err.value.code == code, (method, kwargs, str(err.value))
    return str(err.value)


async def raw_api_call(emulator: Emulator, method: str, **params: Any) -> dict[str, Any]:
    """A plain HTTP call with api_key auth, for what the official client refuses to send."""
    acc = emulator.account
    url = f"{emulator.listeners['api_http']['url']}/platform_api/{method}"
    async with aiohttp.ClientSession() as session, session.post(
            url, data={"account_id": str(acc.account_id), "api_key": acc.api_key, **params}) as resp:
        return await resp.json()


class TestPhone:
    """A SIP phone on loopback (voxsim's own user agent) that calls and is called by the emulator.

    Every call has real media: an `RtpPeer` (voxsim/rtp_peer.py) whose SDP the phone offers or answers
    with, pointed at voxsim's SDP and started once the call is answered; `media_of(call)` is that peer.
    A peer is closed when its call ends and when the phone stops; what it heard stays readable.
    Incoming calls are answered at once unless `auto_answer` is False (then `await phone.answer(call)`
    answers with media); they land in `incoming`.
    """

    __test__ = False  # not a test class, despite the name

    def __init__(self, emulator: Emulator, user: str, auto_answer: bool = True) -> None:
        from sip_edge.transport import Address
        from sip_edge.ua import UserAgent

        self.emulator = emulator
        self.incoming: asyncio.Queue[Any] = asyncio.Queue()
        self.auto_answer = auto_answer
        self.ua = UserAgent("127.0.0.1", user=user, on_invite=self._on_invite)
        self.edge = Address("udp", "127.0.0.1", emulator.listeners["sip_udp"]["port"])
        self.peers: dict[Any, RtpPeer] = {}  # InviteDialog -> its media

    async def _on_invite(self, call: Any) -> None:
        if self.auto_answer:
            with contextlib.suppress(ValueError):  # rejected 488: the test still sees the call
                await self.answer(call)
        self.incoming.put_nowait(call)

    async def answer(self, call: Any) -> RtpPeer:
        """Answers an incoming call with a fresh peer's SDP (488 when voxsim offers no G.711); returns the peer."""
        peer = await RtpPeer.open()
        try:
            sdp = peer.answer_sdp(call.remote_sdp)
        except ValueError:
            peer.close()
            call.reject(488)
            raise
        self._bind(call, peer)
        call.answer(sdp)
        call.local_sdp = sdp  # a re-INVITE (hold) is answered with the same media
        if call.ended.is_set():  # cancelled while the peer opened: on_end has run already
            peer.close()
        else:
            peer.start()
        return peer

    def media_of(self, call: Any) -> RtpPeer:
        """The RTP peer of a call this phone placed or answered."""
        return self.peers[call]

    def _bind(self, call: Any, peer: RtpPeer) -> None:
        """The call owns the peer: it closes when the call ends."""
        self.peers[call] = peer
        previous = call.on_end

        def ended(dialog: Any) -> None:
            peer.close()
            if previous is not None:
                previous(dialog)

        call.on_end = ended

    def domain(self, application: str) -> str:
        return f"{application}.{self.emulator.account.account_name}.voximplant.com"

    async def call(self, destination: str, application: str, *, user: str | None = None,
                   password: str | None = None, headers: list[tuple[str, str]] | None = None,
                   codecs: str = "0 8") -> Any:
        """INVITEs `destination@application.account.voximplant.com`; as a user when `user` is given.

        The offer is a fresh `RtpPeer`'s SDP with `codecs` (payload types, "8" for A-law only); once answered
        the peer sends to voxsim's answer (`media_of`).
        Returns the answered call, or raises `sip_edge.ua.CallFailed` with the final response."""
        domain = self.domain(application)
        from_addr = f"<sip:{user}@{domain}>" if user else None
        auth = (user, password) if user and password else None
        peer = await RtpPeer.open()

        def answered(call: Any) -> None:  # before the ACK: the call may end at any moment after
            self._bind(call, peer)
            with contextlib.suppress(ValueError):  # no usable answer: the peer answers where RTP comes from
                peer.set_remote_sdp(call.remote_sdp)
            peer.start()

        try:
            return await self.ua.invite(f"sip:{destination}@{domain}", dest=self.edge, from_addr=from_addr,
                                        auth=auth, headers=headers or [], sdp=peer.sdp(codecs=codecs), on_call=answered)
        except BaseException:
            peer.close()
            raise

    async def register(self, user: str, password: str, application: str, expires: int = 3600) -> Any:
        """REGISTERs as a Voximplant user of `application`; returns the final response."""
        domain = self.domain(application)
        return await self.ua.register(f"sip:{domain}", f"sip:{user}@{domain}", dest=self.edge,
                                      auth=(user, password), expires=expires)

    async def stop(self) -> None:
        """Stops the user agent and closes every call's media."""
        await self.ua.stop()
        for peer in self.peers.values():
            peer.close()
        await asyncio.sleep(0)  # let the peers' cancelled send tasks finish


@pytest_asyncio.fixture
async def voxsim_phone(voxsim_emulator: Emulator) -> AsyncIterator[Callable[..., Any]]:
    """A factory of `TestPhone`s bound to the in-process emulator: `phone = await voxsim_phone("alice")`.
    The phones and their calls' media stop when the test ends."""
    phones: list[TestPhone] = []

    async def make(user: str = "phone", auto_answer: bool = True) -> TestPhone:
        phone = TestPhone(voxsim_emulator, user, auto_answer)
        await phone.ua.start(udp=0, tcp=None)
        phones.append(phone)
        return phone

    yield make
    for phone in phones:
        await phone.stop()


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
        """SIPp exits 0 only when every call succeeded."""
        return self.returncode == 0 and self.failed == 0

    def received(self, first_line: str) -> bool:
        """Whether SIPp's trace shows a received message starting with `first_line` (e.g. "SIP/2.0 403")."""
        blocks = self.messages.split("message received")[1:]  # "UDP message received [N] bytes :\n\n<message>"
        return any(block.partition("\n")[2].lstrip().startswith(first_line) for block in blocks)


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

    async def kill(self) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.process.wait(), 5)


def read_sipp_stats(path: Path) -> tuple[int, int]:
    """SuccessfulCall(C) and FailedCall(C) from the last line of a -trace_stat file (;-separated)."""
    if not path.exists():
        return 0, 0
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    if len(lines) < 2:
        return 0, 0
    values = dict(zip(lines[0].split(";"), lines[-1].split(";"), strict=False))
    return int(values.get("SuccessfulCall(C)", 0)), int(values.get("FailedCall(C)", 0))


def sipp_listening(port: int, transport: str = "udp") -> bool:
    """True once something listens on `port` (reads /proc/net, Linux): the moment SIPp is ready."""
    table = Path("/proc/net/tcp" if transport == "tcp" else "/proc/net/udp")
    wanted = f":{port:04X}"
    for line in table.read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1].endswith(wanted) and (transport != "tcp" or fields[3] == "0A"):
            return True
    return False


class SippRunner:
    """Starts SIPp (Debian package sip-tester) processes for one test; `close()` kills what is left."""

    def __init__(self, folder: Path, scenarios: Path | None = None) -> None:
        self.folder = folder
        self.scenarios = scenarios
        self.runs: list[SippRun] = []
        binary = shutil.which("sipp")
        assert binary, "SIPp is not installed (Debian/Ubuntu: apt-get install sip-tester)"
        self.binary = binary

    def scenario(self, name: str) -> str:
        """The path of an XML scenario in `scenarios`."""
        assert self.scenarios is not None, "this runner has no scenario folder"
        return str(self.scenarios / name)

    async def start(self, *args: str, listen: tuple[int, str] | None = None, timeout: str = "30s") -> SippRun:
        """Runs `sipp ARGS` with statistics and message traces in the test's folder.

        With `listen=(port, transport)`, waits until SIPp listens there (a server scenario)."""
        index = len(self.runs)
        stat_file, message_file = self.folder / f"sipp{index}.csv", self.folder / f"sipp{index}_messages.log"
        command = [self.binary, *args, "-trace_stat", "-stf", str(stat_file), "-fd", "1",
                   "-trace_msg", "-message_file", str(message_file), "-timeout", timeout, "-nostdin"]
        process = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, cwd=self.folder)
        run = SippRun(process, stat_file, message_file)
        self.runs.append(run)
        if listen is not None:
            for _ in range(300):
                if sipp_listening(*listen) or process.returncode is not None:
                    break
                await asyncio.sleep(0.01)
        return run

    async def run(self, *args: str, timeout: float = 45.0) -> SippResult:
        return await (await self.start(*args)).result(timeout)

    async def close(self) -> None:
        for run in self.runs:
            await run.kill()


@pytest_asyncio.fixture
async def voxsim_sipp(tmp_path: Path) -> AsyncIterator[SippRunner]:
    """A `SippRunner` for this test (SIPp must be installed: the test command installs it)."""
    runner = SippRunner(tmp_path)
    try:
        yield runner
    finally:
        await runner.close()


Conversation = Callable[..., Awaitable[dict[str, Any]]]


def _script(value: Mapping[str, Any] | list[Any] | Path | str) -> Any:
    """A caller script as JSON-able data: given as data, or a YAML/JSON file."""
    return read_document(Path(value)) if isinstance(value, Path | str) else value


@pytest_asyncio.fixture
async def voxsim_conversation(voxsim_emulator: Emulator) -> Conversation:
    """`await voxsim_conversation(destination, application, caller=SCRIPT, agent=SCRIPT, timeout=60)`: a simulated
    call to `destination@application` held by a scripted caller (voxsim/scripted_caller.py) until its script
    ends; returns the transcript (turns, latency_ms, tool_calls, barge_ins, done, error). `agent` (a voice-AI
    agent script, data or a file) is tried first for the emulator's voice-AI clients from then on. `speed` > 1 runs
    the call in virtual time (its session's timers and media that many times faster; times in the transcript are
    the call's own)."""

    async def converse(destination: str, application: str, *, caller: Any,
                       agent: Mapping[str, Any] | Path | str | None = None, timeout: float = 60.0,
                       speed: float = 1.0) -> dict[str, Any]:
        if agent is not None and voxsim_emulator.voice_ai is not None:
            voxsim_emulator.voice_ai.add_script(
                load_script(Path(agent)) if isinstance(agent, Path | str) else parse_script(agent, "agent"))
        to = f"sip:{destination}@{application}.{voxsim_emulator.account.account_name}.voximplant.com"
        base = voxsim_emulator.listeners["api_http"]["url"]
        async with aiohttp.ClientSession() as http:
            body = {"to": to, "script": _script(caller), "speed": speed}
            async with http.post(f"{base}/_voxsim/simulate/call", json=body) as r:
                started = await r.json()
                if r.status != 200:
                    raise AssertionError(f"simulate/call answered {r.status}: {started}")
            url = f"{base}/_voxsim/calls/{started['call_id']}/transcript"
            deadline = asyncio.get_running_loop().time() + timeout
            while True:
                async with http.get(url) as r:
                    transcript: dict[str, Any] = await r.json()
                if transcript.get("done") or asyncio.get_running_loop().time() > deadline:
                    return transcript
                await asyncio.sleep(0.05)

    return converse
