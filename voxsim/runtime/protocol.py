"""The bridge protocol between Python and the VoxEngine shim (voxsim/runtime/voxengine.js).

This module is the one description of what crosses the bridge; voxengine.js points here.

Python drives, JS never calls Python (see bridge.py). Three evals exist:

- `__vox.init({"limits": {...}, "customData": str})` once, before the scenarios load;
  `limits` holds `maxTimers`, `httpMaxPending` and `idPrefix` (the prefix of unit ids).
- `__vox.deliver(event)`: `event` is one of the events below, as `encode()` writes it.
- `__vox.drain()`: collects what promise continuations pushed after the last eval.

Each of them returns a `Drained` as JSON: the commands the scenario issued, in order, whether
promises are in play (Python must drain once more, after V8 ran the microtasks) and the first
uncaught error (`fatal`), which ends the session.

Events (Python -> JS) are frozen dataclasses; the wire form is a flat dict with `kind`, then
`id`, `name`, `data`, `call` and `reply` as the kind needs. Commands (JS -> Python) are dicts
with an `op` (one of `Op`) and the fields listed next to each op; `Dispatcher` carries them out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Literal, NotRequired, TypedDict

# A command as JS pushed it: {"op": <Op value>, <field>: ...}.
Command = dict[str, Any]


class Fault(TypedDict):
    """An uncaught error in the scenario (voxengine.js `describe`)."""

    name: str
    message: str
    stack: str


# `async` is a Python keyword, hence the functional form.
Drained = TypedDict("Drained", {"commands": list[Command], "async": bool, "fatal": NotRequired[Fault]})


# ---------------------------------------------------------------- events: Python -> JS


class Kind(StrEnum):
    """What an event is about; voxengine.js `dispatch` switches on it."""

    APP = "app"
    CALL = "call"
    PLAYER = "player"
    RECORDER = "recorder"
    CONFERENCE = "conference"
    TIMER = "timer"
    HTTP = "http"
    WEBSOCKET = "websocket"
    ASR = "asr"
    STORAGE = "storage"
    CALL_LIST = "callList"
    AMD = "amd"
    MAIL = "mail"


# The kinds whose events target a unit (a Call, Player, Recorder, Conference, WebSocket, ASR or answering machine
# detector in JS) by id.
UnitKind = Literal[Kind.CALL, Kind.PLAYER, Kind.RECORDER, Kind.CONFERENCE, Kind.WEBSOCKET, Kind.ASR, Kind.AMD]


@dataclass(frozen=True, slots=True)
class CallInfo:
    """An inbound call as the scenario first sees it (`e.call` of Application.CallAlerting)."""

    id: str
    incoming: bool
    callerid: str
    display_name: str
    number: str
    client_type: str
    custom_data: str

    def encode(self) -> dict[str, Any]:
        return {
            "id": self.id, "incoming": self.incoming, "callerid": self.callerid,
            "displayName": self.display_name, "number": self.number, "clientType": self.client_type,
            "customData": self.custom_data,
        }


@dataclass(frozen=True, slots=True)
class AppEvent:
    """An `AppEvents` event for the VoxEngine handlers: `name` is its value ("Application.Started").

    `call` comes with Application.CallAlerting; `reply` with Application.HttpRequest, whose
    handler's return value JS sends back as an `http.reply` command with `req` = `reply`.
    """

    kind: ClassVar[Kind] = Kind.APP
    name: str
    data: dict[str, Any] = field(default_factory=dict)
    call: CallInfo | None = None
    reply: int | None = None

    @property
    def target(self) -> str | None:
        return self.call.id if self.call is not None else None

    def encode(self) -> dict[str, Any]:
        wire: dict[str, Any] = {"kind": Kind.APP.value, "name": self.name, "data": self.data}
        if self.call is not None:
            wire["call"] = self.call.encode()
        if self.reply is not None:
            wire["reply"] = self.reply
        return wire


@dataclass(frozen=True, slots=True)
class UnitEvent:
    """An event of a call, player or recorder (`Call.Connected`, `Player.Started`...), for the
    listeners of the JS object whose id is `unit_id`."""

    kind: UnitKind
    unit_id: str
    name: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def target(self) -> str:
        return self.unit_id

    def encode(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "id": self.unit_id, "name": self.name, "data": self.data}


@dataclass(frozen=True, slots=True)
class TimerFired:
    """A setTimeout/setInterval timer is due: JS runs its callback."""

    kind: ClassVar[Kind] = Kind.TIMER
    timer_id: int

    @property
    def name(self) -> str:
        return Kind.TIMER.value

    @property
    def data(self) -> dict[str, Any]:
        return {}

    @property
    def target(self) -> int:
        return self.timer_id

    def encode(self) -> dict[str, Any]:
        return {"kind": Kind.TIMER.value, "id": self.timer_id}


@dataclass(frozen=True, slots=True)
class _Answer:
    """The answer to a command that carried `id` = `request_id`, for the promise waiting on it in JS."""

    kind: ClassVar[Kind]
    request_id: int
    result: dict[str, Any]

    @property
    def name(self) -> str:
        return self.kind.value

    @property
    def data(self) -> dict[str, Any]:
        return self.result

    @property
    def target(self) -> int:
        return self.request_id

    def encode(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "id": self.request_id, "data": self.result}


@dataclass(frozen=True, slots=True)
class HttpResult(_Answer):
    """The result of a Net.httpRequest(Async) whose `http` command had `id` = `request_id`
    (`code`, `headers`, `text` or `data`, ...: see net.py)."""

    kind: ClassVar[Kind] = Kind.HTTP


@dataclass(frozen=True, slots=True)
class StorageResult(_Answer):
    """What an `ApplicationStorage` call (a `storage.*` command with `id` = `request_id`) came to, for its
    promise (see storage.py): `{"value": StorageKey | StoragePage | null}`, or `{"error": msg, "code": int}`."""

    kind: ClassVar[Kind] = Kind.STORAGE


@dataclass(frozen=True, slots=True)
class CallListResult(_Answer):
    """The call list service's answer to a `CallList.report*` / `requestNextAttempt*` (a `callList.report` command
    with `id` = `request_id`), for its callback or promise (see call_list.py): a `Net.HttpRequestResult`
    (`code`, `text`, `headers`, `raw_headers`, and `error` when it failed)."""

    kind: ClassVar[Kind] = Kind.CALL_LIST


@dataclass(frozen=True, slots=True)
class MailResult(_Answer):
    """How a Net.sendMail(Async) (a `mail.send` command with `id` = `request_id`) went, for its callback or promise
    (see mail.py): a `Net.SendMailResult`, `{"code": <SMTP reply code>}`, with `error` when it failed."""

    kind: ClassVar[Kind] = Kind.MAIL


Event = AppEvent | UnitEvent | TimerFired | HttpResult | StorageResult | CallListResult | MailResult


# ---------------------------------------------------------------- commands: JS -> Python


class Op(StrEnum):
    """Every command op voxengine.js pushes, with its fields (besides `op`).

    A media unit reference (`ref`) is `{"kind": "call" | "player" | "recorder" | "conference" | "websocket" |
    "asr", "id": str}`.
    Headers are `{name: value}` of strings; `params` are what the scenario passed, as JSON.
    """

    # session
    LOG = "log"                          # text
    LOG_HIDE_TONES = "log.hideTones"     # hide: bool
    CUSTOM_DATA = "customData"           # data: str
    TERMINATE = "terminate"              # -
    TIMER_SET = "timer.set"              # id: int, ms: float, repeat: bool
    TIMER_CLEAR = "timer.clear"          # id: int
    HTTP = "http"                        # id: int, url: str, options: {method, postData, headers, params,
    #                                      rawOutput, timeout, connectionTimeout} (voxengine.js httpOptions)
    HTTP_REPLY = "http.reply"            # req: int, body: str, type: str (content type), error?: true
    DIAL = "dial"                        # call: str (the new call's id), kind: sip | user | userDirect |
    #                                      pstn | conference, to: str, params: {callerid, displayName, ...}

    # call signalling; every call.* op has call: str (the call's id)
    CALL_ANSWER = "call.answer"          # headers, params; answerDirect adds direct: true, peer: str
    CALL_REJECT = "call.reject"          # code: int, headers
    CALL_HANGUP = "call.hangup"          # headers
    CALL_RING = "call.ring"              # headers
    CALL_START_EARLY_MEDIA = "call.startEarlyMedia"  # headers, scheme
    CALL_SEND_DIGITS = "call.sendDigits"  # digits: str
    CALL_SEND_MESSAGE = "call.sendMessage"  # text: str
    CALL_SEND_INFO = "call.sendInfo"     # mimeType: str, body: str, headers
    CALL_HANDLE_TONES = "call.handleTones"  # enable: bool, type: int (DTMFType, 0 = all)
    CALL_CUSTOM_DATA = "call.customData"  # data: str
    CALL_TRANSFER_TO = "call.transferTo"  # to: str | null, target: str | null (a call id), headers
    CALL_RE_INVITE = "call.reInvite"     # headers, mimeType, body
    CALL_ACCEPT_RE_INVITE = "call.acceptReInvite"  # headers, mimeType, body
    CALL_REJECT_RE_INVITE = "call.rejectReInvite"  # headers, params
    CALL_HANDLE_MIC_STATUS = "call.handleMicStatus"  # enable: bool
    CALL_HANDLE_BLIND_TRANSFER = "call.handleBlindTransfer"  # enable: bool
    CALL_NOTIFY_BLIND_TRANSFER = "call.notifyBlindTransfer"  # success: bool, code?, reason?, headers
    CALL_BEEP_DETECTION = "call.beepDetection"  # enable: bool, params?
    CALL_PLAY_PROGRESS_TONE = "call.playProgressTone"  # country: str

    # call media (see media.py)
    CALL_SAY = "call.say"                # text: str, params
    CALL_START_PLAYBACK = "call.startPlayback"  # url: str, params ({loop} ...)
    CALL_STOP_PLAYBACK = "call.stopPlayback"  # -
    CALL_RECORD = "call.record"          # params
    CALL_STOP_RECORDING = "call.stopRecording"  # -

    # media units
    MEDIA_SEND = "media.send"            # from: ref, to: ref, params
    MEDIA_STOP = "media.stop"            # from: ref, to: ref
    MEDIA_BETWEEN = "media.between"      # a: ref, b: ref
    MEDIA_UNBRIDGE = "media.unbridge"    # a: ref, b: ref
    PLAYER_CREATE = "player.create"      # player: str (its id), kind: tts | url | tone, source, params
    PLAYER_PAUSE = "player.pause"        # player: str
    PLAYER_RESUME = "player.resume"      # player: str
    PLAYER_STOP = "player.stop"          # player: str
    PLAYER_ADD_MARKER = "player.addMarker"  # player: str, offset: float (ms; negative: from the end)
    RECORDER_CREATE = "recorder.create"  # recorder: str (its id), params
    RECORDER_STOP = "recorder.stop"      # recorder: str
    RECORDER_MUTE = "recorder.mute"      # recorder: str, mute: bool
    CONFERENCE_CREATE = "conference.create"  # conference: str (its id), params
    CONFERENCE_ADD = "conference.add"    # conference: str, endpoint: str (its id), unit: ref, mode, direction
    CONFERENCE_STOP = "conference.stop"  # conference: str

    # WebSockets (see websocket.py); a WebSocket is a media unit too ({"kind": "websocket", "id"})
    WEBSOCKET_CREATE = "websocket.create"  # websocket: str (its id), url: str, protocols: [str], headers: {name: value}
    WEBSOCKET_SEND = "websocket.send"    # websocket: str, text: str
    WEBSOCKET_CLOSE = "websocket.close"  # websocket: str, code: int, reason: str
    WEBSOCKET_CLEAR_MEDIA_BUFFER = "websocket.clearMediaBuffer"  # websocket: str, params ({tag?})
    WEBSOCKET_ALLOW_INBOUND = "websocket.allowInbound"  # (VoxEngine.allowWebSocketConnections)

    # ASR (see asr.py); an ASR is a media unit too ({"kind": "asr", "id"}): sendMediaTo(asr) feeds it
    ASR_CREATE = "asr.create"            # asr: str (its id), params: ASRParameters ({profile, interimResults,
    #                                      singleUtterance, ...}; opaque enum values as the shim's strings)
    ASR_STOP = "asr.stop"                # asr: str

    # ApplicationStorage (see storage.py); each is answered by a StorageResult with the same id
    STORAGE_GET = "storage.get"          # id: int, key: str
    STORAGE_PUT = "storage.put"          # id: int, key: str, value: str, ttl: int | null
    STORAGE_REMOVE = "storage.remove"    # id: int, key: str
    STORAGE_KEYS = "storage.keys"        # id: int, pattern: str | null, count: int | null

    # CallList (see call_list.py); answered by a CallListResult with the same id
    CALL_LIST_REPORT = "callList.report"  # id: int, report: result | error | progress | nextAttempt, data: str
    #                                      (the text reported) | object (requestNextAttempt's changes)

    # Net.sendMail (see mail.py); answered by a MailResult with the same id
    MAIL_SEND = "mail.send"              # id: int, server: str, port: int | null, from: str, to: [str], cc: [str],
    #                                      bcc: [str], title: str, body: str, html: str, login: str (no password)

    # AMD (see amd.py): an AMD.AnsweringMachineDetector's detection on its call; answered by AMD.Events
    AMD_DETECT = "amd.detect"            # amd: str (the detector's id), call: str, model: str, timeout: int (ms)


# ---------------------------------------------------------------- event names Python fires

# AppEvents values the session delivers itself.
APP_STARTED = "Application.Started"
APP_CALL_ALERTING = "Application.CallAlerting"
APP_HTTP_REQUEST = "Application.HttpRequest"
APP_WEBSOCKET = "AppEvents.NewWebSocketConnection"  # data: the HttpRequest fields + websocket (its id)
APP_NEW_WEBSOCKET_FAILED = "Application.OnNewWebSocketFailed"  # data: the HttpRequest fields + reason
APP_TERMINATING = "Application.Terminating"
APP_TERMINATED = "Application.Terminated"

# CallEvents values the session treats specially. Legs report call events by these names through
# `SessionPort.call_event(call_id, name, payload)` (host.py); they may use these constants.
CALL_CONNECTED = "Call.Connected"
CALL_DISCONNECTED = "Call.Disconnected"
CALL_FAILED = "Call.Failed"
CALL_RINGING = "Call.Ringing"
CALL_AUDIO_STARTED = "Call.AudioStarted"
CALL_TONE_RECEIVED = "Call.ToneReceived"
CALL_MESSAGE_RECEIVED = "Call.MessageReceived"
CALL_INFO_RECEIVED = "Call.InfoReceived"
CALL_ON_HOLD = "Call.OnHold"
CALL_OFF_HOLD = "Call.OffHold"
CALL_TRANSFER_FAILED = "Call.TransferFailed"
CALL_PLAYBACK_STARTED = "Call.PlaybackStarted"
CALL_PLAYBACK_FINISHED = "Call.PlaybackFinished"
CALL_RECORD_STARTED = "Call.RecordStarted"
CALL_RECORD_STOPPED = "Call.RecordStopped"

# What a call reports while an answering machine detector listens to it (see amd.py).
CALL_AUDIO_IDENTIFICATION_STARTED = "Call.AudioIdentificationStarted"
CALL_AUDIO_IDENTIFICATION_RESULT = "Call.AudioIdentificationResult"
CALL_AUDIO_IDENTIFICATION_STOPPED = "Call.AudioIdentificationStopped"

# AMD.Events values (an answering machine detector's events, see amd.py).
AMD_DETECTION_COMPLETE = "AMD.Events.DetectionComplete"
AMD_DETECTION_ERROR = "AMD.Events.DetectionError"
