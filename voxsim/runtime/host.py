"""The runtime's interfaces to the rest of voxsim, as Protocols that other packages implement.

Dependency direction: `sip_edge` and `mock_api` implement these; the runtime never imports
them. A `CallLeg` is a call's signalling (a SIP dialog, or a simulated caller); it reports
what the far end does through `SessionPort.call_event`. An `OutboundDialer` turns
`VoxEngine.callSIP/callUser/...` into legs. A `SessionRecorder` persists sessions, logs and
calls (the composition root wires it to the SQLite store), a `KeyValueStore` keeps what
`ApplicationStorage` puts (the store too), a `Mailer` takes what `Net.sendMail` sends (the local mailbox), and
`CallListReports` takes what a call list's sessions report (the call lists' dispatcher).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from voxsim.runtime.protocol import CALL_TRANSFER_FAILED

if TYPE_CHECKING:
    from voxsim.media.call_audio import CallAudio
    from voxsim.model import KeyValueItem
    from voxsim.runtime.calls import Call
    from voxsim.runtime.mail import OutgoingMail

_log = logging.getLogger(__name__)

ScenarioHeaders = Mapping[str, str]
"""Header maps between a scenario and a leg: only `X-` headers and `User-to-User` travel."""

# CallEvents values of transfers, as legs report them (`Call.TransferFailed` is protocol.CALL_TRANSFER_FAILED).
CALL_TRANSFER_COMPLETE = "Call.TransferComplete"
CALL_BLIND_TRANSFER_REQUESTED = "Call.BlindTransferRequested"
TRANSFEROR = "transferor"  # the `role` of TransferComplete/TransferFailed for a call the scenario transferred


@runtime_checkable
class CallLeg(Protocol):
    """Signalling of one call. The session calls these when the scenario acts on the call.

    Events flow back through `SessionPort.call_event(call_id, name, payload)`, `name` being
    the CallEvents value (protocol.py has constants for those the session acts on):
    - inbound: `Call.Connected` once the answer is confirmed (SIP: ACK received),
      `Call.Disconnected` when the far end hangs up (BYE/CANCEL), `Call.ToneReceived`,
      `Call.MessageReceived`, `Call.InfoReceived`, ...
    - outbound: `Call.Ringing`, `Call.AudioStarted`, `Call.Connected`, `Call.Failed`
      (code/reason of the final response), `Call.Disconnected`.
    The session itself fires the events of what the scenario did (reject, hangup,
    terminate) and ignores anything reported for a call that has already ended, so a leg
    may report a BYE it sent without harm.
    """

    def bind(self, session: SessionPort, call_id: str) -> None:
        """The session knows the call as `call_id` now: report its events there from now on."""
    async def answer(self, headers: ScenarioHeaders, params: Mapping[str, Any]) -> None: ...
    async def reject(self, code: int, headers: ScenarioHeaders) -> None: ...
    async def hangup(self, headers: ScenarioHeaders) -> None: ...
    async def ring(self, headers: ScenarioHeaders) -> None: ...
    async def start_early_media(self, headers: ScenarioHeaders) -> None: ...
    async def send_message(self, text: str, headers: ScenarioHeaders) -> None: ...
    async def send_info(self, mime_type: str, body: str, headers: ScenarioHeaders) -> None: ...
    async def send_digits(self, digits: str) -> None: ...

    async def transfer_to(self, to: str | None, target: CallLeg | None, headers: ScenarioHeaders) -> None:
        """`call.transferTo`: the far end is asked to call `to` (blind) or the far end of `target`, another call of
        the session (attended). Reports `Call.TransferComplete` then `Call.Disconnected` (the platform lets go of
        the call), or `Call.TransferFailed` {code, reason}."""

    async def handle_blind_transfer(self, enable: bool) -> None:
        """`call.handleBlindTransfer`: while enabled, the far end's transfer request (SIP: REFER) is reported
        as `Call.BlindTransferRequested` {transferTo, headers}; otherwise it is refused."""

    async def notify_blind_transfer(self, code: int, reason: str, headers: ScenarioHeaders) -> None:
        """`call.notifyBlindTransferSuccess` (code 200) / `notifyBlindTransferFailed`: tells the far end how the
        transfer it requested went (SIP: the final NOTIFY)."""


class SessionPort(Protocol):
    """What a leg or a dialer may see of a session."""

    session_id: int
    account_id: int
    application_id: int

    def call_event(self, call_id: str, name: str, payload: Mapping[str, Any] | None = None) -> None: ...
    def outbound_callerid(self, call_id: str, callerid: str) -> None:
        """The From user an outbound call really goes out with (its history's `local_number`)."""
    def call_audio(self, call_id: str) -> CallAudio | None:
        """The call's audio in the media graph: the leg puts what the far end sends in, and sends what it
        gives out (None once the call ended)."""


class Untransferable:
    """The transfer methods of a `CallLeg` with no REFER behind it (an internal or a simulated PSTN call):
    transferTo fails 501 "Not Implemented - <what> cannot be transferred", the call goes on, and no transfer is
    ever requested. The leg gives `what`, `call_id` and `report`."""

    what = "this call"
    call_id: str

    def report(self, name: str, payload: Mapping[str, Any] | None = None) -> None:
        raise NotImplementedError

    async def transfer_to(self, to: str | None, target: CallLeg | None, headers: ScenarioHeaders) -> None:
        self.report(CALL_TRANSFER_FAILED, {"code": 501, "role": TRANSFEROR, "headers": {},
                                            "reason": f"Not Implemented - {self.what} cannot be transferred"})

    async def handle_blind_transfer(self, enable: bool) -> None:
        """Nothing to enable: the far end of such a call never asks for a transfer."""

    async def notify_blind_transfer(self, code: int, reason: str, headers: ScenarioHeaders) -> None:
        _log.info("notifyBlindTransfer on %s %s: no transfer was requested", self.what, self.call_id)


class DialError(Exception):
    """An outbound call that could not be placed: becomes `Call.Failed` with code/reason."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code} {reason}")
        self.code = code
        self.reason = reason


class OutboundDialer(Protocol):
    """Places calls for callSIP ("sip"), callUser ("user"), callUserDirect ("userDirect"),
    callPSTN ("pstn") and callConference ("conference"). `params` is what the scenario
    passed, normalised (see voxengine.js `callSIP`). Raise `DialError` to fail the call.
    """

    async def place_call(
        self, session: SessionPort, call: Call, kind: str, params: Mapping[str, Any]
    ) -> CallLeg: ...


class NoDialer:
    """The default until the SIP edge provides outbound calls: every call fails clearly."""

    async def place_call(
        self, session: SessionPort, call: Call, kind: str, params: Mapping[str, Any]
    ) -> CallLeg:
        raise DialError(501, f"outbound calls ({kind}) are not emulated yet by voxsim")


class KeyValueStore(Protocol):
    """The applications' key-value storage, which `ApplicationStorage` reads and writes: the composition root
    plugs in the store (voxsim/store/key_value.py), whose pairs the KeyValueStorage Management API shows too.
    Refusals (a key too long, a ttl out of range...) raise `voxsim.errors.VoxError` with the platform's message.
    """

    def set_key_value_item(self, account_id: int, application_id: int, key: str, value: str, *,
                           ttl: int | None = None, expires_at: int | None = None) -> KeyValueItem: ...
    def get_key_value_item(self, account_id: int, application_id: int, key: str) -> KeyValueItem | None: ...
    def del_key_value_item(self, account_id: int, application_id: int, key: str) -> KeyValueItem | None: ...
    def list_key_value_items(self, account_id: int, application_id: int,
                             pattern: str | None = None) -> list[KeyValueItem]: ...


class Mailer(Protocol):
    """Where `Net.sendMail` delivers: the composition root plugs in voxsim/mail.py's `Mailbox` (the store's local
    mailbox, and an SMTP relay when one is configured). `send` answers as a mail server does: (SMTP reply code,
    "" or the error text)."""

    async def send(self, mail: OutgoingMail) -> tuple[int, str]: ...


class CallListReports(Protocol):
    """The call list service a session reports to (`CallList.reportResult` and its siblings): the composition root
    plugs in the call lists' dispatcher (voxsim/call_lists/dispatcher.py). `report` names the session, what it
    reports (`result`, `error`, `progress` or `nextAttempt`) and its data (the text, or requestNextAttempt's
    changes); it answers as the service answers the platform's HTTP request: (status code, response text)."""

    async def report(self, session_id: int, report: str, data: Any) -> tuple[int, str]: ...


@dataclass
class SessionInfo:
    session_id: int
    account_id: int
    application_id: int
    application_name: str
    rule_id: int | None
    rule_name: str
    started_at: datetime
    custom_data: str
    access_url: str
    access_secure_url: str
    log_url: str
    conference_name: str = ""  # a conference session's name (StartConference, callConference): in Started
    time_scale: float = 1.0  # virtual time: the session's timers and media run this many times faster


@dataclass
class CallRecord:
    """One call of a session, as call history needs it."""

    call_id: str
    session_id: int
    incoming: bool
    client_type: str
    local_number: str
    remote_number: str
    started_at: datetime
    connected_at: datetime | None = None
    ended_at: datetime | None = None
    duration: float = 0.0
    successful: bool = False
    code: int = 0
    reason: str = ""


class SessionRecorder(Protocol):
    """Persistence sink. Called on the event loop: keep each call short (buffer if needed)."""

    def session_started(self, info: SessionInfo) -> None: ...
    def log(self, session_id: int, ts: datetime, text: str) -> None: ...
    def call_started(self, session_id: int, call: CallRecord) -> None: ...
    def call_ended(self, session_id: int, call: CallRecord) -> None: ...
    def session_finished(
        self, session_id: int, finish_reason: str, duration: float, custom_data: str
    ) -> None: ...


@dataclass
class RecordedSession:
    info: SessionInfo
    log: list[tuple[datetime, str]] = field(default_factory=list)
    calls: dict[str, CallRecord] = field(default_factory=dict)
    finish_reason: str | None = None
    duration: float = 0.0
    custom_data: str = ""


class InMemoryRecorder:
    """A `SessionRecorder` that keeps everything in dicts (tests, and a store-less runtime)."""

    def __init__(self) -> None:
        self.sessions: dict[int, RecordedSession] = {}

    def session_started(self, info: SessionInfo) -> None:
        self.sessions[info.session_id] = RecordedSession(info=info, custom_data=info.custom_data)

    def log(self, session_id: int, ts: datetime, text: str) -> None:
        self.sessions[session_id].log.append((ts, text))

    def call_started(self, session_id: int, call: CallRecord) -> None:
        self.sessions[session_id].calls[call.call_id] = call

    def call_ended(self, session_id: int, call: CallRecord) -> None:
        self.sessions[session_id].calls[call.call_id] = call

    def session_finished(
        self, session_id: int, finish_reason: str, duration: float, custom_data: str
    ) -> None:
        rec = self.sessions[session_id]
        rec.finish_reason = finish_reason
        rec.duration = duration
        rec.custom_data = custom_data
