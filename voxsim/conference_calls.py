"""Calls to a conference (`VoxEngine.callConference`): a call from one session to another, inside voxsim.

`ConferenceDialer` is the `OutboundDialer` of the runtime: it places `callConference` calls itself and hands
every other kind to the dialer it wraps (the SIP edge's). A conference call routes the conference id
through the rules of the caller's application, like a call's destination; the matched rule runs one
session per conference id (`SessionStarter.conference`: the running one, or a new one whose
`AppEvents.Started` carries `conference_name`), which receives the call as `AppEvents.CallAlerting`.

The two ends are an `InternalCall`: two legs, one in each session, each reporting to its session what the
other side's scenario did (answer → Connected, reject → Failed, hangup → Disconnected, digits → ToneReceived,
messages and INFO), and, once answered, their `CallAudio`s wired to each other (`CallAudio.peer`), so that
what one sends the other hears, a tick later.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

from voxsim import routing
from voxsim.media.call_audio import CallAudio
from voxsim.routing import Refusal
from voxsim.runtime import Session
from voxsim.runtime.calls import Call
from voxsim.runtime.host import CallLeg, DialError, OutboundDialer, ScenarioHeaders, SessionPort, Untransferable
from voxsim.runtime.protocol import (
    CALL_AUDIO_STARTED,
    CALL_CONNECTED,
    CALL_DISCONNECTED,
    CALL_FAILED,
    CALL_INFO_RECEIVED,
    CALL_MESSAGE_RECEIVED,
    CALL_RINGING,
    CALL_TONE_RECEIVED,
)
from voxsim.session_starter import SessionStarter

__all__ = ["ConferenceDialer", "InternalCall", "InternalLeg"]

log = logging.getLogger(__name__)


class InternalLeg(Untransferable):
    """One end of an `InternalCall`: the `CallLeg` its session drives."""

    what = "a conference call"

    def __init__(self, call: InternalCall) -> None:
        self.internal = call
        self.session: SessionPort | None = None
        self.call_id = ""
        self.other: InternalLeg | None = None

    def bind(self, session: SessionPort, call_id: str) -> None:
        self.session = session
        self.call_id = call_id

    def report(self, name: str, payload: Mapping[str, Any] | None = None) -> None:
        if self.session is not None:
            self.session.call_event(self.call_id, name, payload)

    def audio(self) -> CallAudio | None:
        return self.session.call_audio(self.call_id) if self.session is not None else None

    def _tell_other(self, name: str, payload: Mapping[str, Any] | None = None) -> None:
        if self.other is not None:
            self.other.report(name, payload)

    async def answer(self, headers: ScenarioHeaders, params: Mapping[str, Any]) -> None:
        self.internal.connect()
        self.report(CALL_CONNECTED, {"headers": {}})
        self._tell_other(CALL_AUDIO_STARTED, {"headers": dict(headers)})
        self._tell_other(CALL_CONNECTED, {"headers": dict(headers)})

    async def reject(self, code: int, headers: ScenarioHeaders) -> None:
        self.internal.end()
        self._tell_other(CALL_FAILED, {"code": code, "headers": dict(headers)})

    async def hangup(self, headers: ScenarioHeaders) -> None:
        connected = self.internal.connected
        self.internal.end()
        if connected:
            self._tell_other(CALL_DISCONNECTED, {"internalCode": 200, "headers": dict(headers)})
        else:  # the caller gave up before the conference answered: it sees a cancelled call
            self._tell_other(CALL_DISCONNECTED, {"internalCode": 487, "headers": dict(headers)})

    async def ring(self, headers: ScenarioHeaders) -> None:
        self._tell_other(CALL_RINGING, {"headers": dict(headers)})

    async def start_early_media(self, headers: ScenarioHeaders) -> None:
        self.internal.wire()
        self._tell_other(CALL_AUDIO_STARTED, {"headers": dict(headers)})

    async def send_message(self, text: str, headers: ScenarioHeaders) -> None:
        self._tell_other(CALL_MESSAGE_RECEIVED, {"text": text, "headers": dict(headers)})

    async def send_info(self, mime_type: str, body: str, headers: ScenarioHeaders) -> None:
        self._tell_other(CALL_INFO_RECEIVED, {"mimeType": mime_type, "body": body, "headers": dict(headers)})

    async def send_digits(self, digits: str) -> None:
        for key in digits:
            if key.upper() in "0123456789*#ABCD":
                self._tell_other(CALL_TONE_RECEIVED, {"tone": key.upper(), "type": "1"})



class InternalCall:
    """A call between two sessions: `caller` is the callConference side, `callee` the conference side."""

    def __init__(self) -> None:
        self.caller = InternalLeg(self)
        self.callee = InternalLeg(self)
        self.caller.other, self.callee.other = self.callee, self.caller
        self.connected = False
        self.ended = False

    def wire(self) -> None:
        """Each side's audio hears what the other sends."""
        ours, theirs = self.caller.audio(), self.callee.audio()
        if ours is None or theirs is None or self.ended:
            return
        ours.peer, theirs.peer = theirs, ours
        ours.active = theirs.active = True

    def connect(self) -> None:
        self.connected = True
        self.wire()

    def end(self) -> None:
        self.ended = True
        for leg in (self.caller, self.callee):
            audio = leg.audio()
            if audio is not None:
                audio.peer = None


class ConferenceDialer:
    """Places `callConference` calls (see the module docstring); other kinds go to `dialer()`."""

    def __init__(self, starter: SessionStarter, dialer: Callable[[], OutboundDialer]) -> None:
        self.starter = starter
        self.dialer = dialer
        self._tasks: set[asyncio.Task[Any]] = set()

    async def place_call(self, session: SessionPort, call: Call, kind: str, params: Mapping[str, Any]) -> CallLeg:
        if kind != "conference":
            return await self.dialer().place_call(session, call, kind, params)
        store = self.starter.store
        account = store.find_account(account_id=session.account_id)
        application = account and store.find_application(account.account_id,
                                                          application_id=session.application_id)
        if not account or not application:
            raise DialError(404, "Not Found - the calling session's application is gone")
        try:
            route = routing.match(store, account, application, call.number)
            conference = await self.starter.conference(account, application, route.rule, call.number)
        except Refusal as refusal:
            raise DialError(refusal.status, refusal.reason) from refusal
        internal = InternalCall()
        internal.caller.bind(session, call.id)
        task = asyncio.get_running_loop().create_task(self._offer(conference, internal, call, params))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return internal.caller

    async def _offer(self, conference: Session, internal: InternalCall, call: Call, params: Mapping[str, Any]) -> None:
        domain = self.starter.domain
        headers = {str(k): str(v) for k, v in (params.get("headers") or {}).items()}
        try:
            await conference.inbound_call(
                internal.callee, callerid=call.callerid, display_name=call.display_name,
                destination=call.number, from_uri=f"sip:{call.callerid}@{domain}",
                to_uri=f"sip:{call.number}@{domain}", headers=headers, client_type="sip")
        except Exception:  # the conference session failed: the caller's call fails, nothing else does
            log.exception("conference call %s failed", call.number)
            internal.caller.report(CALL_FAILED, {"code": 500})
