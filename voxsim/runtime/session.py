"""One VoxEngine session: an isolate running a rule's scenarios, its calls, timers and log.

Lifecycle: the scenarios load in order into one context, `Application.Started` fires
first, then `Application.CallAlerting` for an inbound call. Everything the session hears
(leg events, timers, media, HTTP results, HTTP requests) goes through one queue, so the
scenario sees one event at a time. The session ends at `VoxEngine.terminate()`, 60 s after
its last call (settings.session_idle_timeout), or when the scenario fails: a throw, a
handler that overruns its deadline, or memory exhaustion end only this session, with
finish_reason "JS session error", and its calls are hung up. While it is idle, a check every few seconds
(settings.idle_check_interval) finds a callback V8 runs on its own that never returns.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sip_edge.message import REASON_PHRASES
from voxsim.media.call_audio import CallAudio
from voxsim.media.clock import MediaClock
from voxsim.runtime.asr import SessionASRs
from voxsim.runtime.bridge import Bridge, ScenarioError
from voxsim.runtime.call_list import SessionCallList
from voxsim.runtime.calls import Call, CallState, scenario_headers
from voxsim.runtime.dispatch import Dispatcher
from voxsim.runtime.host import (
    CallLeg,
    CallListReports,
    DialError,
    KeyValueStore,
    Mailer,
    OutboundDialer,
    SessionInfo,
    SessionRecorder,
)
from voxsim.runtime.journal import Journal
from voxsim.runtime.local_socket import Connectors
from voxsim.runtime.log import SessionLog, format_ts
from voxsim.runtime.mail import SessionMail
from voxsim.runtime.media import MediaServices, SessionMedia
from voxsim.runtime.net import HttpClient, SessionNet
from voxsim.runtime.protocol import (
    APP_CALL_ALERTING,
    APP_HTTP_REQUEST,
    APP_NEW_WEBSOCKET_FAILED,
    APP_STARTED,
    APP_TERMINATED,
    APP_TERMINATING,
    APP_WEBSOCKET,
    CALL_AUDIO_STARTED,
    CALL_CONNECTED,
    CALL_DISCONNECTED,
    CALL_FAILED,
    CALL_RINGING,
    CALL_TONE_RECEIVED,
    AppEvent,
    CallInfo,
    CallListResult,
    Command,
    Event,
    HttpResult,
    Kind,
    MailResult,
    StorageResult,
    TimerFired,
    UnitEvent,
)
from voxsim.runtime.recognizer import recognizer_from
from voxsim.runtime.settings import RuntimeSettings
from voxsim.runtime.storage import SessionStorage
from voxsim.runtime.timers import TimerSet
from voxsim.runtime.websocket import ServerWebSocket, SessionWebSockets

FINISH_NORMAL = "Normal termination"
FINISH_JS_ERROR = "JS session error"
FINISH_ADMIN = "Terminated administratively"
FINISH_TIMEOUT = "Timeout"


class SessionState(StrEnum):
    """Where a session is in its life; `/_voxsim/sessions/<N>` shows the value."""

    STARTING = "starting"  # its scenarios are loading
    RUNNING = "running"  # its scenarios loaded; Application.Started is the first event
    TERMINATING = "terminating"  # Application.Terminating was delivered; only HTTP results still arrive
    FINISHED = "finished"

_CLIENT_TYPES = {"sip": "sip", "user": "user", "userDirect": "user", "pstn": "pstn", "conference": "sip"}


def reason_for(code: int) -> str:
    """The `reason` of a call that ended with `code`: the SIP reason phrase, but for 200, which the
    platform reports as "Normal call clearing"."""
    return "Normal call clearing" if code == 200 else REASON_PHRASES.get(code, "")


@dataclass
class SessionServices:
    """What a session needs from its runtime (the runtime owns them)."""

    settings: RuntimeSettings
    recorder: SessionRecorder
    dialer: Callable[[], OutboundDialer]
    http: HttpClient
    on_finished: Callable[[Session], None]
    media: MediaServices = field(default_factory=MediaServices)
    key_values: KeyValueStore | None = None  # ApplicationStorage's pairs (None: its calls reject)
    call_lists: CallListReports | None = None  # where CallList reports go (None: they answer 404)
    mailer: Mailer | None = None  # where Net.sendMail delivers (None: every send fails with 554)
    connectors: Connectors | None = None  # voice-AI connectors at wss://local/<vendor> (None: none is served)


@dataclass
class _Item:
    event: Event | None = None
    control: str = ""
    reason: str = ""
    done: asyncio.Future[None] | None = None


class Session:
    def __init__(
        self,
        info: SessionInfo,
        scenarios: list[tuple[str, str]],
        bridge: Bridge,
        services: SessionServices,
    ) -> None:
        self.info = info
        self.session_id = info.session_id
        self.account_id = info.account_id
        self.application_id = info.application_id
        self.custom_data = info.custom_data
        self.state = SessionState.STARTING
        self.finish_reason: str | None = None
        self.ended_at: datetime | None = None
        self.calls: dict[str, Call] = {}
        self._unrecorded: set[str] = set()  # outbound calls the dialer is still placing
        # What the legs of inbound calls reported before the scenario saw their CallAlerting.
        self._held: dict[str, list[tuple[str, Mapping[str, Any] | None]]] = {}
        self.terminate_requested = False
        self.hide_tones = False
        self._scenarios = scenarios
        self._bridge = bridge
        self._services = services
        self.settings = services.settings
        self.recorder = services.recorder
        self.events = Journal(self.settings.max_journal, self.settings.max_journal_bytes)
        self.commands = Journal(self.settings.max_journal, self.settings.max_journal_bytes)
        self.log = SessionLog(info.session_id, services.recorder, on_write=self._changed_now,
                              max_bytes=self.settings.max_log_bytes)
        self._timers_queued: set[int] = set()  # timers whose firing waits in the queue
        # Virtual time: the session's media and timers on a faster clock of its own (one timeline for both).
        self._own_clock: MediaClock | None = None
        media_services = services.media
        if info.time_scale != 1.0:
            self._own_clock = MediaClock(ptime=services.media.clock.ptime / info.time_scale, virtual=True)
            media_services = replace(services.media, clock=self._own_clock)
        self.timers = TimerSet(self._timer_due, self._own_clock)
        self.media = SessionMedia(info.session_id, self.settings, self.emit, media_services, self.write_log)
        self.net = SessionNet(services.http, self.settings, self._http_result)
        self.websockets = SessionWebSockets(info.session_id, self.media, self.emit, self.write_log,
                                            connectors=services.connectors, time_scale=info.time_scale)
        self.asrs = SessionASRs(self.media, self.emit, self.settings.asr_default_transcript, self.write_log,
                                recognizer_from(self.settings.asr_command, self.settings.asr_endpoint,
                                                self.settings.asr_timeout))
        self.storage = SessionStorage(services.key_values, info.account_id, info.application_id, self.enqueue)
        self.call_list = SessionCallList(services.call_lists, info.session_id, self.enqueue, self.write_log)
        self.mail = SessionMail(services.mailer, (info.account_id, info.application_id, info.session_id),
                                self.enqueue, self.write_log)
        self._dispatcher = Dispatcher(self, media=self.media, timers=self.timers, net=self.net,
                                      websockets=self.websockets, asrs=self.asrs, storage=self.storage,
                                      call_list=self.call_list, mail=self.mail)
        self._queue: asyncio.Queue[_Item] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._idle: asyncio.TimerHandle | None = None
        self._deadline: asyncio.TimerHandle | None = None
        self._idle_check: asyncio.TimerHandle | None = None  # the next look for a callback V8 runs on its own
        self._replies: dict[int, asyncio.Future[tuple[int, str, str]]] = {}
        self._reply_seq = 0
        self._changed = asyncio.Event()
        self._finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    # ------------------------------------------------------------ public API

    @property
    def finished(self) -> bool:
        return self.state == SessionState.FINISHED

    def duration(self) -> float:
        end = self.ended_at or datetime.now(UTC)
        return round((end - self.info.started_at).total_seconds(), 3)

    async def start(self) -> None:
        """Loads the scenarios and delivers Application.Started (awaited by the caller)."""
        self.recorder.session_started(self.info)
        self.write_log(
            f"[session] started: session {self.session_id}, application {self.info.application_name} "
            f"({self.application_id}), rule {self.info.rule_name!r}"
        )
        if self._own_clock is not None:  # virtual time runs from the start, media or not
            self._own_clock.start()
            self.write_log(f"[session] virtual time: timers and media run {self.info.time_scale:g} times faster")
        try:
            await self._load()
        except ScenarioError as err:
            await self._fail(err)
            return
        self.state = SessionState.RUNNING
        loop = asyncio.get_running_loop()
        self._deadline = loop.call_later(self.settings.max_session_duration, self.terminate, FINISH_TIMEOUT)
        await self._deliver(self._started_event())
        self._worker = loop.create_task(self._work())
        self._update_idle()
        self._schedule_idle_check()

    async def _load(self) -> None:
        limits = {
            "maxTimers": self.settings.max_timers,
            "httpMaxPending": self.settings.http_max_pending,
            "idPrefix": f"{self.session_id}-",
            "maxExternalBytes": self.settings.max_external_bytes,  # ArrayBuffers, outside the V8 heap
        }
        await self._bridge.init(limits, self.custom_data)
        for name, source in self._scenarios:
            commands = await self._bridge.load(name, source)
            self.write_log(f"[session] scenario {name!r} loaded ({len(source)} characters)")
            self._dispatcher.apply_all(commands)

    def _started_event(self) -> AppEvent:
        data = {
            "accessURL": self.info.access_url,
            "accessSecureURL": self.info.access_secure_url,
            "accountId": self.account_id,
            "applicationId": self.application_id,
            "logURL": self.info.log_url,
            "sessionId": self.session_id,
        }
        if self.info.conference_name:  # a conference session (StartConference, callConference)
            data["conference_name"] = self.info.conference_name
        return AppEvent(APP_STARTED, data)

    async def inbound_call(
        self,
        leg: CallLeg,
        *,
        callerid: str,
        display_name: str,
        destination: str,
        from_uri: str,
        to_uri: str,
        headers: Mapping[str, str] | None = None,
        client_type: str = "sip",
        custom_data: str = "",
        scheme: Any = None,
        call_id: str | None = None,
    ) -> Call:
        """Offers an inbound call to the scenario (Application.CallAlerting).

        Binds the leg to the call (`leg.bind`) and returns once the CallAlerting handlers
        have run. What the leg reports meanwhile (a CANCEL, say) is held until then, so the
        scenario sees CallAlerting first. A session that is not running (its scenario failed
        to load, say) rejects the call with 500 at once.
        """
        call = Call(
            id=call_id or uuid.uuid4().hex, session_id=self.session_id, incoming=True,
            client_type=client_type, callerid=callerid, display_name=display_name,
            number=destination, leg=leg, custom_data=custom_data,
        )
        if self.state != SessionState.RUNNING:
            call.mark_ended(500, reason_for(500))
            leg.bind(self, call.id)
            await call.run_in_order(lambda: leg.reject(500, {}), self._leg_error(call, "reject"))
            return call
        self.calls[call.id] = call
        self._held[call.id] = []
        leg.bind(self, call.id)
        self.recorder.call_started(self.session_id, call.record())
        loop = asyncio.get_running_loop()
        call.timeout = loop.call_later(self.settings.alerting_timeout, self._alerting_expired, call)
        self._update_idle()
        data = {
            "callerid": callerid, "displayName": display_name, "destination": destination,
            "fromURI": from_uri, "toURI": to_uri, "headers": scenario_headers(headers),
            "scheme": scheme if scheme is not None else {}, "customData": custom_data,
        }
        info = CallInfo(
            id=call.id, incoming=True, callerid=callerid, display_name=display_name, number=destination,
            client_type=client_type, custom_data=custom_data,
        )
        try:
            await self.enqueue(AppEvent(APP_CALL_ALERTING, data, call=info))
        finally:
            for name, payload in self._held.pop(call.id, []):
                self.call_event(call.id, name, payload)
        return call

    def call_event(self, call_id: str, name: str, payload: Mapping[str, Any] | None = None) -> None:
        """A leg reports what its far end did. Events for ended calls are dropped."""
        held = self._held.get(call_id)
        if held is not None:  # the scenario has not seen CallAlerting yet
            held.append((name, payload))
            return
        call = self.calls.get(call_id)
        if call is None or not call.live or self.state != SessionState.RUNNING:
            return
        data = dict(payload or {})
        if "headers" in data:
            data["headers"] = scenario_headers(data["headers"])
        if name == CALL_TONE_RECEIVED and not self._tone_allowed(call, data):
            return
        if name in (CALL_DISCONNECTED, CALL_FAILED):
            self.end_call(call, name, data)
            return
        if name == CALL_CONNECTED:
            call.mark_connected()
            data.setdefault("headers", {})
        elif name in (CALL_RINGING, CALL_AUDIO_STARTED) and call.state == CallState.ALERTING:
            call.state = CallState.PROGRESSING
        self.emit(UnitEvent(Kind.CALL, call.id, name, data))

    async def http_request(
        self, method: str, path: str, body: str, headers: Mapping[str, str] | None = None
    ) -> tuple[int, str, str]:
        """Fires Application.HttpRequest; the handler's return value is the reply body."""
        if self.state != SessionState.RUNNING:
            return 404, "text/plain", "the session is not running"
        self._reply_seq += 1
        rid = self._reply_seq
        future = self._replies[rid] = asyncio.get_running_loop().create_future()
        x_headers = [{"key": k, "value": v} for k, v in (headers or {}).items() if k.lower().startswith("x-")]
        data = {"method": method, "path": path, "content": body, "headers": x_headers}
        self.enqueue(AppEvent(APP_HTTP_REQUEST, data, reply=rid))
        try:
            return await asyncio.wait_for(future, self.settings.http_reply_timeout)
        except TimeoutError:
            return 504, "text/plain", "the scenario did not reply in time"
        finally:
            self._replies.pop(rid, None)

    def websocket_refusal(self) -> str | None:
        """Why a client's WebSocket to the access URL would be refused now, or None."""
        if self.state != SessionState.RUNNING:
            return "the session is not running"
        if not self.websockets.allow_inbound:
            return "the scenario did not call VoxEngine.allowWebSocketConnections()"
        return None

    def accept_websocket(self, socket: ServerWebSocket, path: str, headers: Mapping[str, str] | None = None
                         ) -> asyncio.Task[None] | str:
        """A client opened a WebSocket to the session's access URL: `AppEvents.WebSocket`, then the socket is the
        scenario's (the task ends when it closes); or why it is refused (the scenario did not allow connections,
        or has as many as its calls + 3: `AppEvents.NewWebSocketFailed`)."""
        refusal = self.websocket_refusal()
        if refusal is not None:
            return refusal
        x_headers = [{"key": k, "value": v} for k, v in (headers or {}).items() if k.lower().startswith("x-")]
        data: dict[str, Any] = {"method": "GET", "path": path, "content": "", "headers": x_headers}
        limit = len(self.calls) + 3
        if self.websockets.inbound_count() >= limit:
            reason = f"{limit} incoming WebSockets already (the calls of the session + 3)"
            self.enqueue(AppEvent(APP_NEW_WEBSOCKET_FAILED, {**data, "reason": reason}))
            return reason
        ws_id = self.websockets.next_inbound_id()
        self.enqueue(AppEvent(APP_WEBSOCKET, {**data, "websocket": ws_id}))
        return self.websockets.accept(ws_id, path, socket, dict(headers or {}))

    def terminate(self, reason: str = FINISH_ADMIN) -> None:
        """Ends the session from outside (admin, idle timeout): Terminating, Terminated."""
        if self.state in (SessionState.STARTING, SessionState.RUNNING):
            self._queue.put_nowait(_Item(control="terminate", reason=reason))

    async def wait_finished(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(asyncio.shield(self._finished), timeout)

    async def settled(self) -> None:
        """Waits for outstanding signalling operations (hangups sent at the end, say)."""
        while self._tasks:
            await asyncio.wait(list(self._tasks))

    async def wait_until(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Waits until `predicate()` is truthy; re-checked after every event and log line."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout} s")
            changed = self._changed
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                continue

    async def wait_for_event(
        self, name: str, *, call_id: str | None = None, timeout: float = 5.0
    ) -> dict[str, Any]:
        def find() -> dict[str, Any] | None:
            for event in self.events:
                if event["name"] == name and (call_id is None or event.get("id") == call_id):
                    return event
            return None

        result: dict[str, Any] = await self.wait_until(find, timeout)
        return result

    def snapshot(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "account_id": self.account_id,
            "application_id": self.application_id,
            "application_name": self.info.application_name,
            "rule_id": self.info.rule_id,
            "rule_name": self.info.rule_name,
            "state": self.state.value,
            "finish_reason": self.finish_reason,
            "started_at": format_ts(self.info.started_at),
            "ended_at": format_ts(self.ended_at) if self.ended_at else None,
            "duration": self.duration(),
            "custom_data": self.custom_data,
            "calls": [self._call_snapshot(c) for c in self.calls.values()],
            "events": list(self.events),
            "commands": list(self.commands),
        }

    @staticmethod
    def _call_snapshot(call: Call) -> dict[str, Any]:
        return {
            "call_id": call.id, "incoming": call.incoming, "state": call.state.value,
            "client_type": call.client_type, "callerid": call.callerid,
            "display_name": call.display_name, "number": call.number,
            "duration": call.duration(), "code": call.end_code, "reason": call.end_reason,
        }

    # ------------------------------------------------------------ used by the dispatcher

    def write_log(self, text: str) -> None:
        self.log.write(text)

    def emit(self, event: UnitEvent) -> None:
        """Queues an event for a call, player or recorder (while the session runs)."""
        if self.state == SessionState.RUNNING:
            self.enqueue(event)

    def enqueue(self, event: Event) -> asyncio.Future[None]:
        """Queues an event for the scenario; the future is done once its handlers have run.

        A session whose handlers fall `max_queued_events` behind what arrives (a WebSocket server flooding
        messages, say) ends: the queue would otherwise grow without bound."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.state != SessionState.FINISHED and self._queue.qsize() >= self.settings.max_queued_events:
            self.write_log(f"[error] {self._queue.qsize()} events wait for the scenario's handlers "
                           f"(max_queued_events): they cannot keep up, the session ends")
            self.abort(FINISH_JS_ERROR)
        if self.state == SessionState.FINISHED:
            done.set_result(None)
        else:
            self._queue.put_nowait(_Item(event=event, done=done))
        return done

    def live_call(self, call_id: str) -> Call | None:
        call = self.calls.get(call_id)
        return call if call is not None and call.live else None

    def call_audio(self, call_id: str) -> CallAudio | None:
        """The audio of a live call (its leg feeds it and sends what it gives), None once the call ended."""
        return self.media.call_audio(call_id) if self.live_call(call_id) is not None else None

    def leg_op(self, call: Call, what: str, op: Callable[[CallLeg], Awaitable[None]]) -> None:
        """Runs a signalling operation on the call's leg, in order with its others."""

        async def run() -> None:
            if call.leg is not None:
                await op(call.leg)

        self._track(call.run_in_order(run, self._leg_error(call, what)))

    def end_call(self, call: Call, name: str, data: dict[str, Any]) -> None:
        """The call is over: fire Disconnected/Failed (when the session still runs), record it."""
        if not call.live:
            return
        if name == CALL_DISCONNECTED:
            code = int(data.get("internalCode", 200))
            call.mark_ended(code, str(data.get("reason") or reason_for(code)))
            data.setdefault("internalCode", code)
            data.setdefault("reason", call.end_reason)
            data.setdefault("duration", call.duration())
            data.setdefault("cost", 0)
            data.setdefault("direction", "incoming" if call.incoming else "outgoing")
        else:
            code = int(data.get("code", 500))
            call.mark_ended(code, str(data.get("reason") or reason_for(code)))
            data.setdefault("code", code)
            data.setdefault("reason", call.end_reason)
        data.setdefault("headers", {})
        self.emit(UnitEvent(Kind.CALL, call.id, name, data))
        self.media.call_ended(call.id)
        self._record_ended(call)
        self._update_idle()

    def dial(self, call_id: str, kind: str, to: str, params: dict[str, Any]) -> None:
        call = Call(
            id=call_id, session_id=self.session_id, incoming=False,
            client_type=_CLIENT_TYPES.get(kind, "sip"), callerid=str(params.get("callerid") or ""),
            display_name=str(params.get("displayName") or ""), number=to,
        )
        self.calls[call.id] = call
        # Recorded once the dialer has placed it (or failed to), or when it ends before that, so that
        # the history row has the callerid the call really goes out with (see `outbound_callerid`).
        self._unrecorded.add(call.id)
        loop = asyncio.get_running_loop()
        call.timeout = loop.call_later(self.settings.outbound_answer_timeout, self._outbound_expired, call)
        self._update_idle()

        async def place() -> None:
            try:
                call.leg = await self._services.dialer().place_call(self, call, kind, params)
            except DialError as exc:
                self._record_dialed(call)
                self.end_call(call, CALL_FAILED, {"code": exc.code, "reason": exc.reason})
                return
            self._record_dialed(call)

        def failed(exc: BaseException) -> None:
            self.write_log(f"[error] dialing {kind} {to} failed: {exc!r}")
            self._record_dialed(call)
            self.end_call(call, CALL_FAILED, {"code": 500, "reason": reason_for(500)})

        self._track(call.run_in_order(place, failed))

    def outbound_callerid(self, call_id: str, callerid: str) -> None:
        """A dialer reports the callerid (From user) it places an outbound call with: its default when
        the scenario gave none, say. The call's history row records it as `local_number`. Heard only
        while the call is being placed: the row is written when `place_call` returns (or the call
        ends, if that comes first), and a later report changes nothing.
        """
        call = self.calls.get(call_id)
        if call is not None and call_id in self._unrecorded and callerid:
            call.callerid = callerid

    def _record_dialed(self, call: Call) -> None:
        if call.id not in self._unrecorded:
            return
        self._unrecorded.discard(call.id)
        self.recorder.call_started(self.session_id, call.record())
        if not call.live:
            self.recorder.call_ended(self.session_id, call.record())

    def _record_ended(self, call: Call) -> None:
        if call.id in self._unrecorded:  # it ended (hangup, session over) while the dialer was placing it
            self._record_dialed(call)
        else:
            self.recorder.call_ended(self.session_id, call.record())

    def resolve_reply(self, rid: int, status: int, content_type: str, body: str) -> None:
        future = self._replies.get(rid)
        if future is not None and not future.done():
            future.set_result((status, content_type, body))

    def journal_command(self, cmd: Command) -> None:
        self.commands.append({"ts": format_ts(datetime.now(UTC)), **cmd})

    # ------------------------------------------------------------ the queue

    async def _work(self) -> None:
        while self.state != SessionState.FINISHED:
            item = await self._queue.get()
            try:
                await self._process(item)
            except Exception as exc:  # a voxsim bug: end this session, never the emulator
                self.write_log(f"[error] voxsim internal error: {exc!r}")
                self.abort(FINISH_JS_ERROR)
            finally:
                if item.done is not None and not item.done.done():
                    item.done.set_result(None)
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if item.done is not None and not item.done.done():
                item.done.set_result(None)

    async def _process(self, item: _Item) -> None:
        if item.control == "terminate":
            if self.state == SessionState.RUNNING:
                await self._begin_termination(item.reason)
        elif item.control == "complete":
            if self.state == SessionState.TERMINATING:
                await self._complete_termination()
        elif item.control == "idle-check":
            if self.state in (SessionState.RUNNING, SessionState.TERMINATING):
                error = await self._bridge.check_idle()
                if error is not None:
                    await self._fail(error)
        elif item.event is not None and self._accepts(item.event):
            await self._deliver(item.event)

    def _accepts(self, event: Event) -> bool:
        if self.state == SessionState.RUNNING:
            return True
        # While terminating only HTTP results (the call list service's answers are those too) and mail results reach
        # the scenario.
        return self.state == SessionState.TERMINATING and isinstance(event, HttpResult | CallListResult | MailResult)

    async def _deliver(self, event: Event) -> None:
        entry = self._journal_event(event)
        delivery = await self._bridge.deliver(event)
        # Journaled once its handlers have run, so waiting for an event means its effects.
        self.events.append(entry)
        self._changed_now()
        # Every VoxEngine call takes effect when it is made, so what a handler did before it threw is carried out.
        self._dispatcher.apply_all(delivery.commands)
        if delivery.error is not None:
            await self._fail(delivery.error)
            return
        if self.terminate_requested and self.state == SessionState.RUNNING:
            await self._begin_termination(FINISH_NORMAL)

    def _journal_event(self, event: Event) -> dict[str, Any]:
        """The entry of `events` (snapshots show it) and the `[event]` log line."""
        entry: dict[str, Any] = {
            "ts": format_ts(datetime.now(UTC)), "kind": event.kind.value, "name": event.name, "data": event.data,
        }
        if event.target is not None:
            entry["id"] = event.target
        self.write_log(f"[event] {event.name}{self._describe(event)}")
        return entry

    def _describe(self, event: Event) -> str:
        if isinstance(event, TimerFired):
            return f" #{event.timer_id}"
        if isinstance(event, HttpResult):
            return f" #{event.request_id} code={event.result.get('code')}"
        if isinstance(event, StorageResult):  # the value is in the command's line already
            error = event.result.get("error")
            return f" #{event.request_id}" + (f" error={error!r}" if error else "")
        data = event.data
        if self.hide_tones and event.name == CALL_TONE_RECEIVED:
            data = {**data, "tone": "*"}
        target = f" {event.kind}={event.unit_id}" if isinstance(event, UnitEvent) else ""
        return f"{target} {json.dumps(data, ensure_ascii=False, default=str)}"

    def _changed_now(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    # ------------------------------------------------------------ endings

    async def _begin_termination(self, reason: str) -> None:
        self.state = SessionState.TERMINATING
        self.finish_reason = reason
        self.write_log(f"[session] terminating: {reason}")
        self._stop_clocks()
        self._teardown_calls(inbound_code=480)
        await self._deliver(AppEvent(APP_TERMINATING, {"systemError": False}))
        if self.state != SessionState.TERMINATING:
            return
        if self.net.pending:
            self._track(asyncio.get_running_loop().create_task(self._complete_after_http()))
        else:
            await self._complete_termination()

    async def _complete_after_http(self) -> None:
        await self.net.wait_idle(self.settings.terminating_http_grace)
        self._queue.put_nowait(_Item(control="complete"))

    async def _complete_termination(self) -> None:
        await self._deliver(AppEvent(APP_TERMINATED, {"systemError": False}))
        if self.state == SessionState.TERMINATING:
            self._finalize(self.finish_reason or FINISH_NORMAL)

    def abort(self, reason: str = FINISH_ADMIN) -> None:
        """Ends the session now, without Terminating/Terminated (shutdown past its grace)."""
        if self.state == SessionState.FINISHED:
            return
        self._bridge.close()
        self._stop_clocks()
        self._teardown_calls(inbound_code=480)
        self._finalize(reason)

    async def _fail(self, err: ScenarioError) -> None:
        if self.state == SessionState.FINISHED:
            return
        self.write_log(f"[error] {err}")
        self._bridge.close()  # first: this also stops a continuation that no eval owns
        self._stop_clocks()
        self._teardown_calls(inbound_code=500)
        self.net.release(self.settings.terminating_http_grace)  # requests made before the throw still go out
        self._finalize(FINISH_JS_ERROR)

    def _teardown_calls(self, inbound_code: int) -> None:
        """Hangs up every live call without telling the scenario (no Disconnected)."""
        for call in self.calls.values():
            if not call.live:
                continue
            # A call whose answer is in flight is answered first (leg operations run in order), then hung up.
            answered = call.state == CallState.CONNECTED or call.answering
            if call.incoming and not answered:
                self.leg_op(call, "reject", lambda leg: leg.reject(inbound_code, {}))
                call.mark_ended(inbound_code, reason_for(inbound_code))
            else:
                self.leg_op(call, "hangup", lambda leg: leg.hangup({}))
                call.mark_ended(200 if answered else 487, "Session terminated")
            self._record_ended(call)

    def _stop_clocks(self) -> None:
        for handle in (self._idle, self._deadline, self._idle_check):
            if handle is not None:
                handle.cancel()
        self._idle = self._deadline = self._idle_check = None
        self.timers.clear_all()
        self.media.close()
        self.websockets.close_all()  # after media: a stream's `stop` goes out before the close
        if self._own_clock is not None:
            self._track(asyncio.get_running_loop().create_task(self._own_clock.stop()))

    def _finalize(self, reason: str) -> None:
        self.state = SessionState.FINISHED
        self.finish_reason = reason
        self.ended_at = datetime.now(UTC)
        self._bridge.close()
        self._stop_clocks()
        self.net.cancel_all()
        for future in self._replies.values():
            if not future.done():
                future.set_result((500, "text/plain", "the session ended"))
        self.write_log(f"[session] finished: {reason} after {self.duration():.3f} s")
        self.recorder.session_finished(self.session_id, reason, self.duration(), self.custom_data)
        self._queue.put_nowait(_Item())  # wakes the worker so that it exits
        if not self._finished.done():
            self._finished.set_result(None)
        self._services.on_finished(self)

    # ------------------------------------------------------------ clocks and helpers

    def _update_idle(self) -> None:
        if self.state != SessionState.RUNNING:
            return
        if any(call.live for call in self.calls.values()):
            if self._idle is not None:
                self._idle.cancel()
                self._idle = None
        elif self._idle is None:
            loop = asyncio.get_running_loop()
            self._idle = loop.call_later(self.settings.session_idle_timeout, self.terminate, FINISH_NORMAL)

    def _schedule_idle_check(self) -> None:
        if self.settings.idle_check_interval > 0:
            loop = asyncio.get_running_loop()
            self._idle_check = loop.call_later(self.settings.idle_check_interval, self._idle_check_due)

    def _idle_check_due(self) -> None:
        """Every idle_check_interval: while nothing waits in the queue, a check that the isolate is free. V8 runs some
        callbacks on its own (a FinalizationRegistry cleanup), outside any delivery's deadline; one that never returns
        would burn a CPU until the session's next event. Events carry the deadline themselves, so a busy session is
        not checked."""
        self._idle_check = None
        if self.state not in (SessionState.RUNNING, SessionState.TERMINATING):
            return
        if self._queue.empty():
            self._queue.put_nowait(_Item(control="idle-check"))
        self._schedule_idle_check()

    def _alerting_expired(self, call: Call) -> None:
        """The platform drops an inbound call nobody answered in time (alerting_timeout, 60 s) with 480."""
        call.timeout = None
        if call.live and call.state != CallState.CONNECTED:
            self.leg_op(call, "reject", lambda leg: leg.reject(480, {}))
            self.end_call(call, CALL_DISCONNECTED, {"internalCode": 480, "reason": reason_for(480)})

    def _outbound_expired(self, call: Call) -> None:
        call.timeout = None
        if call.live and call.state != CallState.CONNECTED:
            self.leg_op(call, "hangup", lambda leg: leg.hangup({}))
            self.end_call(call, CALL_FAILED, {"code": 408, "reason": reason_for(408)})

    @staticmethod
    def _tone_allowed(call: Call, data: dict[str, Any]) -> bool:
        """handleTones(true, type) passes tones of that type on; with DTMFType.ALL, once an RFC 2833 event came,
        in-band tones no longer count (the same key would arrive twice)."""
        kind = str(data.get("type", "1"))
        if kind == "1":
            call.telephone_events_seen = True
        elif kind == "2" and call.telephone_events_seen:
            return False
        if not call.tones:
            return False
        return call.tone_type == 0 or str(call.tone_type) == str(data.get("type", "1"))

    def _http_result(self, request_id: int, result: dict[str, Any]) -> None:
        if self.state in (SessionState.RUNNING, SessionState.TERMINATING):
            self.enqueue(HttpResult(request_id, result))

    def _timer_due(self, timer_id: int) -> None:
        """A timer fired: queued once, so that intervals re-arming faster than the session drains them (99
        `setInterval(f, 0)`) coalesce instead of growing the queue without bound."""
        if timer_id in self._timers_queued:
            return
        self._timers_queued.add(timer_id)
        self.enqueue(TimerFired(timer_id)).add_done_callback(lambda _: self._timers_queued.discard(timer_id))

    def _leg_error(self, call: Call, what: str) -> Callable[[BaseException], None]:
        def report(exc: BaseException) -> None:
            self.write_log(f"[error] {what} on call {call.id} failed: {exc!r}")

        return report

    def _track(self, task: asyncio.Task[None]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
