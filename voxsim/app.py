"""The composition root: builds the store, the Management API, the SIP edge and the runtime, and
wires them together. Only this module (and what stands on it: cli, testing) knows all sides.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import logging
import math
import os
import shutil
import socket
import ssl
import tempfile
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from mock_api import console, control, mail_http, media_http, media_resources, pstn_http, sessions_http, sms_http
from mock_api.app import bound_port, build_app
from mock_api.callbacks import CallbackSender
from voxsim import bootstrap, deploy
from voxsim.call_lists.dispatcher import CallListDispatcher
from voxsim.conference_calls import ConferenceDialer
from voxsim.config import Settings
from voxsim.edge.dialer import SipDialer
from voxsim.edge.outbound_registrations import RegistrationManager, RegistrationTimers
from voxsim.edge.server import EdgeServices, SipEdge
from voxsim.edge.settings import EdgeSettings
from voxsim.keys import StateFiles, ensure_tls
from voxsim.mail import Mailbox
from voxsim.media.clock import MediaClock
from voxsim.model import Account
from voxsim.pstn import CallerIdCheck, PstnDialer, PstnNumbers
from voxsim.pstn.blacklist import BlackListCheck
from voxsim.recording import StoreRecorder
from voxsim.runtime import Runtime
from voxsim.runtime.host import OutboundDialer
from voxsim.runtime.media import MediaServices, RecordFiles, RecordMade
from voxsim.scripted_caller import Conversations
from voxsim.session_starter import SessionStarter
from voxsim.sip_journal import SipJournal
from voxsim.store import Store
from voxsim.voice_ai import VoiceAI

log = logging.getLogger("voxsim")

T = TypeVar("T")


def options_of(cls: type[T], given: Any) -> T:
    """`cls` from a setting given as an instance, a dataclass or a mapping of some of its fields (None:
    the defaults), so that a configuration may name only what it changes."""
    if given is None:
        return cls()
    if isinstance(given, cls):
        return given
    is_instance = dataclasses.is_dataclass(given) and not isinstance(given, type)
    values = dataclasses.asdict(given) if is_instance else dict(given)
    known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in values.items() if k in known})


class ListenError(OSError):
    """A listener could not bind its address; `str()` says which one and why:
    `cannot listen on udp 127.0.0.1:5060 (sip_udp): address already in use`."""

    def __init__(self, transport: str, host: str, port: int, listener: str, cause: OSError) -> None:
        reason = os.strerror(cause.errno) if cause.errno else str(cause)
        super().__init__(cause.errno, f"cannot listen on {transport} {host}:{port} ({listener}): "
                                      f"{reason[:1].lower()}{reason[1:]}")
        self.transport, self.host, self.port, self.listener = transport, host, port, listener

    def __str__(self) -> str:
        return str(self.strerror)


def busy_listener(host: str, wanted: list[tuple[str, int, str]], cause: OSError) -> ListenError:
    """Which of the listeners (transport, port, name) in binding order failed: the first whose address cannot be
    bound now (probed with the options asyncio binds with). None of them any more: the first one, named as a
    guess, since the error was real."""
    for transport, port, name in wanted:
        if port == 0:
            continue
        kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
        try:
            family, _, _, _, address = socket.getaddrinfo(host, port, type=kind)[0]
            with socket.socket(family, kind) as probe:
                if kind == socket.SOCK_STREAM:
                    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                probe.bind(address)
        except OSError as error:
            return ListenError(transport, host, port, name, error if error.errno else cause)
    transport, port, name = wanted[0]
    return ListenError(transport, host, port, name, cause)


class StateFolderInUse(OSError):
    """Another emulator holds the state folder's lock; `str()` names the folder and that emulator's pid."""

    def __init__(self, folder: Path, pid: str) -> None:
        super().__init__(errno.EBUSY, f"the state folder {folder} is in use by another voxsim (pid {pid or '?'})")
        self.folder, self.pid = folder, pid

    def __str__(self) -> str:
        return str(self.strerror)


class StateLock:
    """`fcntl.flock` on `<state>/voxsim.lock` while an emulator runs: two emulators on one folder would share a
    database, a CA and the records, each believing it is alone. The kernel drops the lock with the process (even
    on `kill -9`), so a stale file never blocks a start; the file stays and names the last holder's pid."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    @classmethod
    def acquire(cls, path: Path) -> StateLock:
        """The lock, or StateFolderInUse at once (a second `voxsim up` must fail, not wait)."""
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
            os.close(fd)
            raise StateFolderInUse(path.parent, holder) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return cls(fd)

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # closing the only descriptor drops the flock
            self._fd = -1


class Emulator:
    """One running voxsim: `await start()`, then `await stop()`."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.listeners: dict[str, dict[str, Any]] = {}
        self._runner: web.AppRunner | None = None
        self.sip: SipEdge | None = None
        self.media_clock = MediaClock()
        self.callbacks: CallbackSender | None = None
        self.sip_registrations: RegistrationManager | None = None
        self.runtime: Runtime | None = None
        self.voice_ai: VoiceAI | None = None  # the scripted agents behind wss://local/<vendor>
        self.conversations: Conversations | None = None  # scripted callers (simulate/call with a script)
        self.recorder: StoreRecorder | None = None
        self.sip_journal: SipJournal | None = None
        self.session_starter: SessionStarter
        self._tempdir: str | None = None
        self._lock: StateLock | None = None
        self.call_lists: CallListDispatcher | None = None  # runs the call lists' tasks (voxsim/call_lists/)
        self.pstn_numbers = PstnNumbers(self.settings.pstn)  # the live list callPSTN reads (/_voxsim/pstn, seeds)
        self.store: Store
        self.files: StateFiles
        self.account: Account

    # -- services the API's control endpoints use ------------------------------------------
    @property
    def allow_remote_control(self) -> bool:
        return self.settings.allow_remote_control

    @property
    def enforce_authorized_ips(self) -> bool:
        return self.settings.enforce_authorized_ips

    def health(self) -> dict[str, Any]:
        return {"listeners": self.listeners, "state": str(self.files.folder),
                "in_memory": self.files.db == ":memory:", "credentials": str(self.files.credentials),
                "ca": str(self.files.ca), "account_id": self.account.account_id}

    async def reset(self) -> None:
        self.account = bootstrap.reset(self.store, self.settings)
        self.pstn_numbers.clear_api()  # the settings' and the seed's numbers stay, as the seed's agents do
        await self.sip_registrations_changed()

    def user_contacts(self, application_id: int, user_name: str) -> list[dict[str, Any]]:
        """A user's registered contacts (the SIP edge's live bindings), for /_voxsim/status."""
        registrar = self.sip.registrar if self.sip is not None else None
        if registrar is None:
            return []
        now = registrar.clock()
        return [{"contact": b.contact, "expires_in": b.remaining(now), "user_agent": b.user_agent,
                 "source": f"{b.flow.transport} {b.flow.host}:{b.flow.port}"}
                for b in registrar.contacts(application_id, user_name)]

    async def sip_registrations_changed(self) -> None:
        """The Management API changed SIP registrations: register, re-register or let go."""
        if self.sip_registrations is not None:
            await self.sip_registrations.sync()

    def call_lists_changed(self) -> None:
        """The Management API changed a call list: the dispatcher looks for due tasks now."""
        if self.call_lists is not None:
            self.call_lists.wake()

    # -- life cycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        """All or nothing: when a part cannot start (a listener cannot bind: ListenError), what did is stopped."""
        try:
            await self._start_all()
        except BaseException:
            with contextlib.suppress(Exception):
                await self.stop()
            raise
        log.info("voxsim ready: %s", self.listeners)

    async def _start_all(self) -> None:
        self.media_clock.start()
        self.files = self._state_files()
        if self.files.db != ":memory:":  # before the database opens: a second emulator must not touch it
            self._lock = StateLock.acquire(self.files.lock)
        self.store = Store(self.files.db)
        self.account = bootstrap.ensure_account(self.store, self.files, self.settings)
        if interrupted := bootstrap.recover(self.store):
            log.warning("%d session(s) of an earlier run never finished: marked %r", interrupted,
                        bootstrap.INTERRUPTED)
        ensure_tls(self.files)
        await self._start_runtime()
        await self._start_api()
        await self._start_sip()
        await self._start_sip_registrations()
        await self._start_call_lists()

    async def stop(self) -> None:
        if self.call_lists is not None:  # no new attempt while sessions end; running ones resume at the next start
            await self.call_lists.stop()
            self.call_lists = None
        if self.conversations is not None:
            await self.conversations.stop()
            self.conversations = None
        if self.runtime is not None:  # sessions end first: their calls hang up while SIP still runs
            await self.runtime.shutdown()
            self.runtime = None
        if self.sip_registrations is not None:  # un-REGISTER while the edge's sockets are still open
            await self.sip_registrations.stop()
            self.sip_registrations = None
        if self.callbacks is not None:
            await self.callbacks.stop()
            self.callbacks = None
        if self.sip is not None:
            await self.sip.stop()
            self.sip = None
        await self.media_clock.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.recorder is not None:
            self.recorder.close()
            self.recorder = None
        if self.sip_journal is not None:
            self.sip_journal.close()
            self.sip_journal = None
        if getattr(self, "store", None) is not None:
            self.store.close()
        if self._tempdir:
            shutil.rmtree(self._tempdir, ignore_errors=True)
            self._tempdir = None
        if self._lock is not None:  # last: until here this emulator still writes the folder
            self._lock.release()
            self._lock = None

    def _state_files(self) -> StateFiles:
        if self.settings.state == ":memory:":
            # Nothing on disk that outlives the process; the key and CA still need files for clients.
            self._tempdir = tempfile.mkdtemp(prefix="voxsim-")
            return StateFiles.in_folder(Path(self._tempdir), in_memory=True)
        folder = Path(self.settings.state).expanduser().resolve()
        folder.mkdir(parents=True, exist_ok=True)
        return StateFiles.in_folder(folder)

    def server_ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.files.cert, self.files.cert_key)
        return context

    async def _start_api(self) -> None:
        app = build_app(self.store, self)
        control.add_routes(app)
        deploy.add_routes(app)  # POST /_voxsim/deploy: `voxsim deploy`, all or nothing
        media_resources.add_routes(app, self.settings.advertised_host)
        sessions_http.add_routes(app)
        pstn_http.add_routes(app, self.pstn_numbers)  # /_voxsim/pstn: the simulator's numbers, changed live
        mail_http.add_routes(app)  # GET /_voxsim/mail: what scenarios sent
        sms_http.add_routes(app)  # GET /_voxsim/sms: what SendSmsMessage and A2PSendSms sent
        media_http.add_routes(app)
        console.add_routes(app)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        host = self.settings.host
        http = web.TCPSite(self._runner, host, self.settings.api_port)
        https = web.TCPSite(self._runner, host, self.settings.api_tls_port,
                            ssl_context=self.server_ssl_context())
        for site, transport, port, name in ((http, "tcp", self.settings.api_port, "api_http"),
                                            (https, "tls", self.settings.api_tls_port, "api_https")):
            try:
                await site.start()
            except OSError as error:
                raise ListenError(transport, host, port, name, error) from error
        self.listeners["api_http"] = self._listener("http", http)
        self.listeners["api_https"] = self._listener("https", https)

    def _media_services(self) -> MediaServices:
        """The sessions' media on the emulator's one clock; recordings in the state folder, served by the API."""
        records = RecordFiles(self.files.folder / "records", url_base=lambda: self.listeners["api_http"]["url"])

        def record_made(record: RecordMade) -> None:
            self.store.add_record(record.session_id, record.name, record.url, math.ceil(record.duration),
                                  record.size)

        return MediaServices(clock=self.media_clock, records=records, on_record=record_made,
                             capture_seconds=self.settings.runtime.heard_capture_seconds)

    def record_file(self, session_id: str, file_name: str) -> Path | None:
        """The WAV file of a record URL (`/records/<session_id>/<file_name>`), or None."""
        return self.runtime.media.records.find(session_id, file_name) if self.runtime is not None else None

    async def _start_runtime(self) -> None:
        self.recorder = StoreRecorder(self.store)
        media = self._media_services()
        self.voice_ai = VoiceAI(self.settings.voice_ai, media.speech)
        self.runtime = Runtime(self.settings.runtime, recorder=self.recorder, media=media,
                               key_values=self.store, connectors=self.voice_ai)
        self.runtime.mailer = Mailbox(self.store, self.settings.mail)  # Net.sendMail: /_voxsim/mail, and a relay
        await self.runtime.start()
        self.conversations = Conversations(self.runtime, self.voice_ai.transcripts)
        self.session_starter = SessionStarter(
            self.store, self.runtime, http_base=lambda: self.listeners["api_http"]["url"],
            https_base=lambda: self.listeners["api_https"]["url"], log_url=self.session_log_url,
            advertised_host=self.settings.advertised_host)

    async def _start_sip(self) -> None:
        assert self.runtime is not None
        edge_settings = self._edge_settings()
        self.sip_journal = SipJournal(self.store)
        services = EdgeServices(self.store, self.session_starter, sip_journal=self.sip_journal)
        self.sip = SipEdge(self.settings.host, self.settings.sip_port, self.settings.sips_port,
                           self.server_ssl_context(), advertised_host=self.settings.advertised_host,
                           settings=edge_settings, services=services, media_clock=self.media_clock)
        try:
            self.listeners.update(await self.sip.start())
        except OSError as error:
            port, tls_port = self.settings.sip_port, self.settings.sips_port
            wanted = [("udp", port, "sip_udp"), ("tcp", port, "sip_tcp"), ("tls", tls_port, "sip_tls")]
            raise busy_listener(self.settings.host, wanted, error) from error
        sip_dialer = SipDialer(self.sip)
        # callPSTN: the PSTN simulator's virtual phones, unless a gateway is configured (then SIP, as before).
        inner: OutboundDialer = sip_dialer if edge_settings.pstn_gateway else PstnDialer(
            self.pstn_numbers, self.runtime.media.speech, lambda: sip_dialer)
        # callPSTN's callerid must be the account's number or verified caller ID (unless pstn.callerid_check is off)
        # ... and never a number of the account's PSTN black list
        checked = BlackListCheck(self.store, CallerIdCheck(self.store, inner, strict=self.settings.pstn.callerid_check))
        self.runtime.dialer = ConferenceDialer(self.session_starter, lambda: checked)

    def _edge_settings(self) -> EdgeSettings:
        """The SIP edge's settings: `Settings.sip` (an EdgeSettings, or a mapping of some of its fields)."""
        return options_of(EdgeSettings, self.settings.sip)

    async def _start_sip_registrations(self) -> None:
        assert self.sip is not None and self.sip.ua is not None
        self.callbacks = CallbackSender(self.store, **dict(self.settings.callbacks or {}))
        self.sip_registrations = RegistrationManager(
            self.sip.ua, self.store, on_transition=self.callbacks.send,
            timers=options_of(RegistrationTimers, self.settings.sip_registration))
        self.sip.route_registrations(self.sip_registrations)
        await self.sip_registrations.start()

    async def _start_call_lists(self) -> None:
        """Last: the tasks' sessions need the API's listeners (their access URLs) and SIP (their calls)."""
        assert self.runtime is not None
        self.call_lists = CallListDispatcher(self.store, self.session_starter)
        self.runtime.call_lists = self.call_lists
        await self.call_lists.start()

    def session_log_url(self, session_id: int) -> str:
        return f"{self.listeners['api_http']['url']}/_voxsim/sessions/{session_id}/log"

    def _listener(self, scheme: str, site: web.TCPSite) -> dict[str, Any]:
        port = bound_port(site)  # port 0 binds any free port: the real one
        host = self.settings.advertised_host
        return {"host": self.settings.host, "port": port, "url": f"{scheme}://{host}:{port}"}
