"""The runtime: owns the isolate pool, the HTTP client and every live session."""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from voxsim.media.call_audio import CallAudio
from voxsim.runtime.bridge import CLOSE_WAIT, CLOSING, Bridge, IsolatePool
from voxsim.runtime.calls import Call
from voxsim.runtime.host import (
    CallListReports,
    InMemoryRecorder,
    KeyValueStore,
    Mailer,
    NoDialer,
    OutboundDialer,
    SessionInfo,
    SessionRecorder,
)
from voxsim.runtime.local_socket import Connectors
from voxsim.runtime.media import MediaServices
from voxsim.runtime.net import HttpClient
from voxsim.runtime.session import FINISH_ADMIN, Session, SessionServices
from voxsim.runtime.settings import RuntimeSettings
from voxsim.runtime.virtual import VirtualCaller, VirtualLeg
from voxsim.runtime.websocket import ServerWebSocket

# Finished sessions stay inspectable (/_voxsim/sessions/<N>) until this many newer ones end.
KEEP_FINISHED = 1000


class SessionLimitReached(Exception):
    """No new session: `max_sessions` (or `max_sessions_per_account`) run already."""


class Runtime:
    """Starts VoxEngine sessions and routes calls, HTTP requests and lookups to them.

    `dialer` may be replaced after construction (the composition root installs the SIP
    edge's); sessions ask for it each time they place a call. `key_values` is where
    ApplicationStorage keeps its pairs (without one, its calls reject); `connectors` serve the voice-AI clients.
    """

    def __init__(
        self,
        settings: RuntimeSettings | None = None,
        *,
        recorder: SessionRecorder | None = None,
        dialer: OutboundDialer | None = None,
        media: MediaServices | None = None,
        key_values: KeyValueStore | None = None,
        connectors: Connectors | None = None,
    ) -> None:
        self.settings = settings or RuntimeSettings()
        # Without given media services (tests), the runtime has a media clock of its own, stopped at shutdown.
        self._owns_media = media is None
        self.media = media or MediaServices(capture_seconds=self.settings.heard_capture_seconds)
        self.recorder: SessionRecorder = recorder or InMemoryRecorder()
        self.dialer: OutboundDialer = dialer or NoDialer()
        self.key_values = key_values
        self.call_lists: CallListReports | None = None  # the call list service, once the composition root has one
        self.mailer: Mailer | None = None  # where Net.sendMail delivers, once the composition root has a mailbox
        self.connectors = connectors  # the voice-AI connectors at wss://local/<vendor> (None: none is served)
        self._pool = IsolatePool(self.settings)
        self._http = HttpClient(self.settings)
        self._live: dict[int, Session] = {}
        self._finished: OrderedDict[int, Session] = OrderedDict()

    async def start(self) -> None:
        """Warms the isolate pool (call inside the running loop, at start-up)."""
        self._pool.fill()

    async def start_session(
        self,
        *,
        account_id: int,
        application_id: int,
        application_name: str,
        rule_id: int | None,
        rule_name: str,
        scenarios: Sequence[tuple[str, str]],
        session_id: int,
        custom_data: str = "",
        access_url: str = "",
        access_secure_url: str = "",
        log_url: str = "",
        conference_name: str = "",
        time_scale: float = 1.0,
    ) -> Session:
        """Loads the scenarios (in order, one context) and delivers Application.Started. With `time_scale` > 1 the
        session runs in virtual time: its timers and its media (a media clock of its own) that many times faster.

        A scenario that fails to load ends the session at once ("JS session error"); the
        session is returned all the same, finished.
        """
        if session_id in self._live:
            raise ValueError(f"session {session_id} is already running")
        self.check_capacity(account_id)
        info = SessionInfo(
            session_id=session_id, account_id=account_id, application_id=application_id,
            application_name=application_name, rule_id=rule_id, rule_name=rule_name,
            started_at=datetime.now(UTC), custom_data=custom_data, access_url=access_url,
            access_secure_url=access_secure_url, log_url=log_url,
            conference_name=conference_name, time_scale=time_scale,
        )
        services = SessionServices(
            settings=self.settings, recorder=self.recorder, dialer=lambda: self.dialer,
            http=self._http, on_finished=self._on_finished, media=self.media, key_values=self.key_values,
            call_lists=self.call_lists, mailer=self.mailer,
            connectors=self.connectors,
        )
        session = Session(info, list(scenarios), Bridge(self._pool.take(), self.settings), services)
        self._live[session_id] = session
        await session.start()
        return session

    def check_capacity(self, account_id: int) -> None:
        """Raises SessionLimitReached when no session may start now (for the account, or at all)."""
        limit = self.settings.max_sessions
        if len(self._live) >= limit:
            raise SessionLimitReached(f"voxsim runs {limit} sessions at most (max_sessions)")
        per_account = self.settings.max_sessions_per_account or limit
        if sum(1 for s in self._live.values() if s.account_id == account_id) >= per_account:
            raise SessionLimitReached(f"voxsim runs {per_account} sessions an account at most "
                                      "(max_sessions_per_account)")

    async def simulate_call(
        self,
        session: Session,
        *,
        callerid: str = "",
        display_name: str = "",
        destination: str = "",
        from_uri: str = "",
        to_uri: str = "",
        headers: Mapping[str, str] | None = None,
        client_type: str = "sip",
    ) -> VirtualCaller:
        """An inbound call from a simulated caller (no SIP): returns the caller to drive."""
        leg = VirtualLeg()
        await session.inbound_call(
            leg, callerid=callerid, display_name=display_name, destination=destination,
            from_uri=from_uri, to_uri=to_uri, headers=headers, client_type=client_type,
        )
        return VirtualCaller(leg)

    async def http_request(
        self, session_id: int, method: str, path: str, body: str, headers: Mapping[str, str] | None = None
    ) -> tuple[int, str, str]:
        """An HTTP request to the session's media_session_access_url: (status, content type, body)."""
        session = self._live.get(session_id)
        if session is None:
            return 404, "text/plain", f"no running session {session_id}"
        return await session.http_request(method, path, body, headers)

    def websocket_refusal(self, session_id: int) -> str | None:
        """Why a WebSocket to the session's media_session_access_url would be refused now, or None."""
        session = self._live.get(session_id)
        return f"no running session {session_id}" if session is None else session.websocket_refusal()

    def accept_websocket(self, session_id: int, socket: ServerWebSocket, path: str,
                         headers: Mapping[str, str] | None = None) -> asyncio.Task[None] | str:
        """A WebSocket to the session's media_session_access_url: the task that serves it, or why it is refused."""
        session = self._live.get(session_id)
        if session is None:
            return f"no running session {session_id}"
        return session.accept_websocket(socket, path, headers)

    def session(self, session_id: int) -> Session | None:
        """A live session, or a recently finished one."""
        return self._live.get(session_id) or self._finished.get(session_id)

    def live_sessions(self) -> list[Session]:
        return list(self._live.values())

    def find_call(self, call_id: str) -> tuple[Session, Call] | None:
        for sessions in (self._live, self._finished):
            for session in sessions.values():
                call = session.calls.get(call_id)
                if call is not None:
                    return session, call
        return None

    def virtual_caller(self, call_id: str) -> VirtualCaller | None:
        found = self.find_call(call_id)
        if found is None or not isinstance(found[1].leg, VirtualLeg):
            return None
        return VirtualCaller(found[1].leg)

    def call_audio(self, call_id: str) -> CallAudio | None:
        """A call's audio (what it heard and said), live or ended, while its session is kept in memory."""
        found = self.find_call(call_id)
        if found is None:
            return None
        media = found[0].media
        return media.find_call_audio(call_id) or media.ended_calls.get(call_id)

    async def caller_says(self, call_id: str, text: str, voice: str | None = None) -> bool:
        """A simulated caller speaks `text` (espeak-ng) into its call; False when there is no such live call."""
        caller = self.virtual_caller(call_id)
        if caller is None:
            return False
        speech = await self.media.speech.render(text, voice)
        return caller.speak(speech.pcm, {"kind": "tts", "text": speech.text, "voice": speech.voice})

    async def caller_plays(self, call_id: str, url: str) -> bool:
        """A simulated caller plays a file into its call (raises AudioError when it cannot be had)."""
        caller = self.virtual_caller(call_id)
        if caller is None:
            return False
        pcm = await self.media.load_audio(url)
        return caller.speak(pcm, {"kind": "url", "url": url})

    async def shutdown(self, grace: float = 5.0) -> None:
        """Terminates every session ("Terminated administratively"), then frees everything."""
        sessions = list(self._live.values())
        for session in sessions:
            session.terminate(FINISH_ADMIN)
        # One deadline for all of them, however many (2,000 sessions must not take 2,000 graces).
        waits = [asyncio.ensure_future(session.wait_finished()) for session in sessions]
        if waits:
            await asyncio.wait(waits, timeout=grace)
        for session, wait in zip(sessions, waits, strict=True):
            if not wait.done():
                wait.cancel()
                session.abort(FINISH_ADMIN)
        with contextlib.suppress(TimeoutError):  # a leg that will not settle does not hold the shutdown
            await asyncio.wait_for(asyncio.gather(*(s.settled() for s in sessions), return_exceptions=True), grace)
        if CLOSING:  # isolates freed once their cancelled evals stopped (each waits 2 s at most)
            await asyncio.wait(list(CLOSING), timeout=CLOSE_WAIT + 0.5)
        self._pool.close()
        await self._http.close()
        if self._owns_media:
            await self.media.clock.stop()

    def _on_finished(self, session: Session) -> None:
        self._live.pop(session.session_id, None)
        self._finished[session.session_id] = session
        while len(self._finished) > KEEP_FINISHED:
            self._finished.popitem(last=False)
