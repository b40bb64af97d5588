"""Carries out the commands a scenario issued (drained from voxengine.js after a delivery).

Each handler is registered for one `Op` (protocol.py lists them with their fields):
`@_command(op)` for session commands, `@_call_command(op)` for commands on a call, which
run only while the call is live and receive the `Call`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from voxsim.runtime.amd import SessionAMDs
from voxsim.runtime.asr import SessionASRs
from voxsim.runtime.call_list import SessionCallList
from voxsim.runtime.calls import Call, CallState
from voxsim.runtime.host import TRANSFEROR, CallLeg
from voxsim.runtime.mail import SessionMail
from voxsim.runtime.media import SessionMedia
from voxsim.runtime.net import SessionNet
from voxsim.runtime.protocol import (
    CALL_DISCONNECTED,
    CALL_FAILED,
    CALL_TONE_RECEIVED,
    CALL_TRANSFER_FAILED,
    Command,
    Kind,
    Op,
    UnitEvent,
)
from voxsim.runtime.storage import SessionStorage
from voxsim.runtime.timers import TimerSet
from voxsim.runtime.websocket import SessionWebSockets


class CommandTarget(Protocol):
    """What the dispatcher needs of its session."""

    terminate_requested: bool
    hide_tones: bool
    custom_data: str

    def write_log(self, text: str) -> None: ...
    def journal_command(self, cmd: Command) -> None: ...
    def live_call(self, call_id: str) -> Call | None: ...
    def leg_op(self, call: Call, what: str, op: Callable[[CallLeg], Awaitable[None]]) -> None: ...
    def end_call(self, call: Call, name: str, data: dict[str, Any]) -> None: ...
    def emit(self, event: UnitEvent) -> None: ...
    def call_event(self, call_id: str, name: str, payload: dict[str, Any] | None = None) -> None: ...
    def resolve_reply(self, rid: int, status: int, content_type: str, body: str) -> None: ...
    def dial(self, call_id: str, kind: str, to: str, params: dict[str, Any]) -> None: ...


Handler = Callable[["Dispatcher", Command], None]
CallHandler = Callable[["Dispatcher", Call, Command], None]

TONES_ALL, TONES_IN_BAND = 0, 2  # DTMFType.ALL, DTMFType.IN_BAND

# Keyed by the op's string: a command's `op` (a plain str from JSON) finds its handler directly.
_HANDLERS: dict[str, Handler] = {}

# What still makes sense in the JS block that called VoxEngine.terminate(): the platform
# keeps running that block but has already let go of media and calls.
_AFTER_TERMINATE = frozenset(
    {Op.LOG, Op.LOG_HIDE_TONES, Op.CUSTOM_DATA, Op.HTTP, Op.HTTP_REPLY, Op.TIMER_CLEAR, Op.TERMINATE,
     Op.STORAGE_GET, Op.STORAGE_PUT, Op.STORAGE_REMOVE, Op.STORAGE_KEYS,  # ApplicationStorage is HTTP on the platform
     Op.CALL_LIST_REPORT, Op.MAIL_SEND}  # and so are the reports to the call list service, and mail
)

_NOT_EMULATED_CALL_OPS = (
    Op.CALL_RE_INVITE, Op.CALL_ACCEPT_RE_INVITE, Op.CALL_REJECT_RE_INVITE, Op.CALL_HANDLE_MIC_STATUS,
    Op.CALL_BEEP_DETECTION,
)


def _command(op: Op) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        _HANDLERS[op] = handler
        return handler

    return register


def _call_command(op: Op) -> Callable[[CallHandler], CallHandler]:
    """Registers a command on a call (`call` field): ignored, with a log line, once the call ended."""

    def register(handler: CallHandler) -> CallHandler:
        def on_live_call(self: Dispatcher, cmd: Command) -> None:
            call = self.session.live_call(str(cmd.get("call")))
            if call is None:
                self.session.write_log(f"[voxsim] {cmd['op']} on a call that has ended: ignored")
                return
            handler(self, call, cmd)

        _HANDLERS[op] = on_live_call
        return handler

    return register


def registered_ops() -> frozenset[Op]:
    """Every op the dispatcher knows (tests check it against what voxengine.js can push)."""
    return frozenset(Op(op) for op in _HANDLERS)


def _describe(cmd: Command) -> str:
    rest = {k: v for k, v in cmd.items() if k != "op"}
    return f"{cmd['op']} {json.dumps(rest, ensure_ascii=False)}" if rest else str(cmd["op"])


def _ref(ref: dict[str, Any]) -> str:
    """A media unit reference ({kind, id}) as SessionMedia names units: "call:<id>"."""
    return f"{ref.get('kind')}:{ref.get('id')}"


class Dispatcher:
    def __init__(self, session: CommandTarget, *, media: SessionMedia, timers: TimerSet, net: SessionNet,
                 websockets: SessionWebSockets, asrs: SessionASRs, storage: SessionStorage,
                 call_list: SessionCallList | None = None, mail: SessionMail | None = None) -> None:
        self.session = session
        self._media = media
        self._timers = timers
        self._net = net
        self._websockets = websockets
        self._asrs = asrs
        self._storage = storage
        self._call_list = call_list
        self._mail = mail
        self._amds = SessionAMDs(session.emit, session.live_call, session.write_log)

    def apply_all(self, commands: list[Command]) -> None:
        for cmd in commands:
            self.apply(cmd)

    def apply(self, cmd: Command) -> None:
        op = str(cmd.get("op", ""))
        if op != Op.LOG:
            self.session.journal_command(cmd)
            self.session.write_log(f"[command] {_describe(cmd)}")
        if self.session.terminate_requested and op not in _AFTER_TERMINATE:
            self.session.write_log(f"[voxsim] {op} after VoxEngine.terminate(): ignored")
            return
        handler = _HANDLERS.get(op)
        if handler is None:
            self.session.write_log(f"[voxsim] unknown command {op!r}: ignored")
            return
        try:
            handler(self, cmd)
        except (KeyError, TypeError, ValueError) as exc:  # a malformed command must not stop the session
            self.session.write_log(f"[voxsim] {op} could not be carried out: {exc!r}")

    def _not_emulated(self, cmd: Command) -> None:
        self.session.write_log(f"[voxsim] {cmd['op']} is not emulated yet by voxsim: ignored")

    # ------------------------------------------------------------ session

    @_command(Op.LOG)
    def _log(self, cmd: Command) -> None:
        self.session.write_log(str(cmd.get("text", "")))

    @_command(Op.LOG_HIDE_TONES)
    def _log_hide_tones(self, cmd: Command) -> None:
        self.session.hide_tones = bool(cmd.get("hide"))

    @_command(Op.CUSTOM_DATA)
    def _custom_data(self, cmd: Command) -> None:
        self.session.custom_data = str(cmd.get("data", ""))

    @_command(Op.TERMINATE)
    def _terminate(self, cmd: Command) -> None:
        self.session.terminate_requested = True

    @_command(Op.TIMER_SET)
    def _timer_set(self, cmd: Command) -> None:
        self._timers.set(int(cmd["id"]), float(cmd.get("ms", 0)), bool(cmd.get("repeat")))

    @_command(Op.TIMER_CLEAR)
    def _timer_clear(self, cmd: Command) -> None:
        self._timers.clear(int(cmd["id"]))

    @_command(Op.HTTP)
    def _http(self, cmd: Command) -> None:
        self._net.start(int(cmd["id"]), str(cmd["url"]), cmd.get("options") or {})

    @_command(Op.HTTP_REPLY)
    def _http_reply(self, cmd: Command) -> None:
        status = 500 if cmd.get("error") else 200
        self.session.resolve_reply(int(cmd["req"]), status, str(cmd.get("type")), str(cmd.get("body", "")))

    # ------------------------------------------------------------ call signalling

    @_call_command(Op.CALL_ANSWER)
    def _call_answer(self, call: Call, cmd: Command) -> None:
        if not call.incoming or call.state == CallState.CONNECTED or call.answering:
            self.session.write_log(f"[voxsim] answer on call {call.id}: only an unanswered incoming call answers")
            return
        call.answering = True
        call.cancel_timeout()  # answered: the 60 s no-answer rule no longer applies
        headers, params = cmd.get("headers") or {}, cmd.get("params") or {}
        self.session.leg_op(call, "answer", lambda leg: leg.answer(headers, params))

    @_call_command(Op.CALL_REJECT)
    def _call_reject(self, call: Call, cmd: Command) -> None:
        if not call.incoming or call.state == CallState.CONNECTED:
            self._call_hangup(call, cmd)
            return
        code, headers = int(cmd.get("code", 486)), cmd.get("headers") or {}
        self.session.leg_op(call, "reject", lambda leg: leg.reject(code, headers))
        self.session.end_call(call, CALL_DISCONNECTED, {"internalCode": code})

    @_call_command(Op.CALL_HANGUP)
    def _call_hangup(self, call: Call, cmd: Command) -> None:
        headers = cmd.get("headers") or {}
        if call.state == CallState.CONNECTED:
            self.session.leg_op(call, "hangup", lambda leg: leg.hangup(headers))
            self.session.end_call(call, CALL_DISCONNECTED, {"internalCode": 200})
        elif call.incoming:
            # Hanging up an inbound call nobody answered declines it: voxsim answers 603 Decline.
            self.session.leg_op(call, "reject", lambda leg: leg.reject(603, headers))
            self.session.end_call(call, CALL_DISCONNECTED, {"internalCode": 603})
        else:
            # An outgoing call not yet answered is cancelled (CANCEL): it fails with 487 Request Terminated.
            self.session.leg_op(call, "hangup", lambda leg: leg.hangup(headers))
            self.session.end_call(call, CALL_FAILED, {"code": 487})

    @_call_command(Op.CALL_RING)
    def _call_ring(self, call: Call, cmd: Command) -> None:
        call.state = CallState.PROGRESSING if call.state == CallState.ALERTING else call.state
        headers = cmd.get("headers") or {}
        self.session.leg_op(call, "ring", lambda leg: leg.ring(headers))

    @_call_command(Op.CALL_START_EARLY_MEDIA)
    def _call_start_early_media(self, call: Call, cmd: Command) -> None:
        call.state = CallState.PROGRESSING if call.state == CallState.ALERTING else call.state
        headers = cmd.get("headers") or {}
        self.session.leg_op(call, "startEarlyMedia", lambda leg: leg.start_early_media(headers))

    @_call_command(Op.CALL_SEND_DIGITS)
    def _call_send_digits(self, call: Call, cmd: Command) -> None:
        digits = str(cmd.get("digits", ""))
        self.session.leg_op(call, "sendDigits", lambda leg: leg.send_digits(digits))

    @_call_command(Op.CALL_SEND_MESSAGE)
    def _call_send_message(self, call: Call, cmd: Command) -> None:
        text = str(cmd.get("text", ""))
        self.session.leg_op(call, "sendMessage", lambda leg: leg.send_message(text, {}))

    @_call_command(Op.CALL_SEND_INFO)
    def _call_send_info(self, call: Call, cmd: Command) -> None:
        mime, body, headers = str(cmd.get("mimeType")), str(cmd.get("body")), cmd.get("headers") or {}
        self.session.leg_op(call, "sendInfo", lambda leg: leg.send_info(mime, body, headers))

    @_call_command(Op.CALL_HANDLE_TONES)
    def _call_handle_tones(self, call: Call, cmd: Command) -> None:
        call.tones = bool(cmd.get("enable"))
        call.tone_type = int(cmd.get("type") or 0)
        inband = call.tones and call.tone_type in (TONES_ALL, TONES_IN_BAND)
        report = lambda digit: self.session.call_event(  # noqa: E731
            call.id, CALL_TONE_RECEIVED, {"tone": digit, "type": str(TONES_IN_BAND)})
        self._media.detect_inband(call.id, inband, report)

    @_call_command(Op.CALL_CUSTOM_DATA)
    def _call_custom_data(self, call: Call, cmd: Command) -> None:
        call.custom_data = str(cmd.get("data", ""))

    @_call_command(Op.CALL_TRANSFER_TO)
    def _call_transfer_to(self, call: Call, cmd: Command) -> None:
        """The leg transfers a connected call (SIP: REFER) to `to`, or to the far end of another live call of the
        session (`target`, an attended transfer); what cannot be tried fails here with TransferFailed."""
        to, target_id, headers = cmd.get("to"), cmd.get("target"), cmd.get("headers") or {}
        target = self.session.live_call(str(target_id)) if target_id else None
        if not to and not target_id:
            self._transfer_failed(call, 400, "Bad Request - transferTo needs to or call")
        elif target_id and (target is None or target is call or target.state != CallState.CONNECTED):
            self._transfer_failed(call, 481, "Call/Transaction Does Not Exist - the call to transfer to is not "
                                             "another connected call of the session")
        elif call.state != CallState.CONNECTED:
            self._transfer_failed(call, 481, "Call/Transaction Does Not Exist - only a connected call transfers")
        else:
            other = target.leg if target is not None else None
            self.session.leg_op(call, "transferTo",
                                lambda leg: leg.transfer_to(str(to) if to else None, other, headers))

    def _transfer_failed(self, call: Call, code: int, reason: str) -> None:
        payload = {"code": code, "reason": reason, "role": TRANSFEROR, "headers": {}}
        self.session.emit(UnitEvent(Kind.CALL, call.id, CALL_TRANSFER_FAILED, payload))

    @_call_command(Op.CALL_HANDLE_BLIND_TRANSFER)
    def _call_handle_blind_transfer(self, call: Call, cmd: Command) -> None:
        enable = bool(cmd.get("enable"))
        self.session.leg_op(call, "handleBlindTransfer", lambda leg: leg.handle_blind_transfer(enable))

    @_call_command(Op.CALL_NOTIFY_BLIND_TRANSFER)
    def _call_notify_blind_transfer(self, call: Call, cmd: Command) -> None:
        """notifyBlindTransferSuccess is 200 OK; notifyBlindTransferFailed(code, reason) that code and reason."""
        success, headers = bool(cmd.get("success")), cmd.get("headers") or {}
        code = 200 if success else int(cmd.get("code") or 0)
        reason = "OK" if success else str(cmd.get("reason") or "")
        self.session.leg_op(call, "notifyBlindTransfer", lambda leg: leg.notify_blind_transfer(code, reason, headers))

    # ------------------------------------------------------------ call media

    @_call_command(Op.CALL_SAY)
    def _call_say(self, call: Call, cmd: Command) -> None:
        self._media.say(call.id, str(cmd.get("text", "")), cmd.get("params") or {})

    @_call_command(Op.CALL_START_PLAYBACK)
    def _call_start_playback(self, call: Call, cmd: Command) -> None:
        loop = bool((cmd.get("params") or {}).get("loop"))
        self._media.play_url(call.id, str(cmd.get("url", "")), loop=loop)

    @_call_command(Op.CALL_PLAY_PROGRESS_TONE)
    def _call_play_progress_tone(self, call: Call, cmd: Command) -> None:
        self._media.play_progress_tone(call.id, str(cmd.get("country") or "US"))

    @_call_command(Op.CALL_STOP_PLAYBACK)
    def _call_stop_playback(self, call: Call, cmd: Command) -> None:
        self._media.stop_playback(call.id)

    @_call_command(Op.CALL_RECORD)
    def _call_record(self, call: Call, cmd: Command) -> None:
        self._media.record(call.id, cmd.get("params") or {})

    @_call_command(Op.CALL_STOP_RECORDING)
    def _call_stop_recording(self, call: Call, cmd: Command) -> None:
        self._media.stop_recording(call.id)

    # ------------------------------------------------------------ outbound calls

    @_command(Op.DIAL)
    def _dial(self, cmd: Command) -> None:
        self.session.dial(str(cmd["call"]), str(cmd["kind"]), str(cmd["to"]), dict(cmd.get("params") or {}))

    # ------------------------------------------------------------ media units

    @_command(Op.MEDIA_SEND)
    def _media_send(self, cmd: Command) -> None:
        self._media.link(_ref(cmd["from"]), _ref(cmd["to"]), cmd.get("params") or {})

    @_command(Op.MEDIA_STOP)
    def _media_stop(self, cmd: Command) -> None:
        self._media.unlink(_ref(cmd["from"]), _ref(cmd["to"]))

    @_command(Op.MEDIA_BETWEEN)
    def _media_between(self, cmd: Command) -> None:
        a, b = _ref(cmd["a"]), _ref(cmd["b"])
        self._media.link(a, b)
        self._media.link(b, a)

    @_command(Op.MEDIA_UNBRIDGE)
    def _media_unbridge(self, cmd: Command) -> None:
        a, b = _ref(cmd["a"]), _ref(cmd["b"])
        self._media.unlink(a, b)
        self._media.unlink(b, a)

    @_command(Op.PLAYER_CREATE)
    def _player_create(self, cmd: Command) -> None:
        self._media.create_player(str(cmd["player"]), str(cmd["kind"]), cmd.get("source"), cmd.get("params"))

    @_command(Op.PLAYER_PAUSE)
    def _player_pause(self, cmd: Command) -> None:
        self._media.pause_player(str(cmd["player"]))

    @_command(Op.PLAYER_RESUME)
    def _player_resume(self, cmd: Command) -> None:
        self._media.resume_player(str(cmd["player"]))

    @_command(Op.PLAYER_STOP)
    def _player_stop(self, cmd: Command) -> None:
        self._media.stop_player(str(cmd["player"]))

    @_command(Op.PLAYER_ADD_MARKER)
    def _player_add_marker(self, cmd: Command) -> None:
        self._media.add_marker(str(cmd["player"]), float(cmd.get("offset", 0)))

    @_command(Op.RECORDER_CREATE)
    def _recorder_create(self, cmd: Command) -> None:
        self._media.create_recorder(str(cmd["recorder"]), cmd.get("params") or {})

    @_command(Op.RECORDER_STOP)
    def _recorder_stop(self, cmd: Command) -> None:
        self._media.stop_recorder(str(cmd["recorder"]))

    @_command(Op.CONFERENCE_CREATE)
    def _conference_create(self, cmd: Command) -> None:
        self._media.create_conference(str(cmd["conference"]))

    @_command(Op.CONFERENCE_ADD)
    def _conference_add(self, cmd: Command) -> None:
        self._media.add_endpoint(str(cmd["conference"]), str(cmd["endpoint"]), _ref(cmd["unit"]),
                                 str(cmd.get("mode") or "MIX"), str(cmd.get("direction") or "BOTH"))

    @_command(Op.CONFERENCE_STOP)
    def _conference_stop(self, cmd: Command) -> None:
        self._media.stop_conference(str(cmd["conference"]))

    @_command(Op.RECORDER_MUTE)
    def _recorder_mute(self, cmd: Command) -> None:
        self._media.mute_recorder(str(cmd["recorder"]), bool(cmd.get("mute")))

    # ------------------------------------------------------------ WebSockets

    @_command(Op.WEBSOCKET_CREATE)
    def _websocket_create(self, cmd: Command) -> None:
        protocols = [str(p) for p in cmd.get("protocols") or []]
        self._websockets.create(str(cmd["websocket"]), str(cmd["url"]), protocols, cmd.get("headers") or {})

    @_command(Op.WEBSOCKET_SEND)
    def _websocket_send(self, cmd: Command) -> None:
        self._websockets.send(str(cmd["websocket"]), str(cmd.get("text", "")))

    @_command(Op.WEBSOCKET_CLOSE)
    def _websocket_close(self, cmd: Command) -> None:
        self._websockets.close(str(cmd["websocket"]), int(cmd.get("code") or 1000), str(cmd.get("reason") or ""))

    @_command(Op.WEBSOCKET_CLEAR_MEDIA_BUFFER)
    def _websocket_clear_media_buffer(self, cmd: Command) -> None:
        self._websockets.clear_media_buffer(str(cmd["websocket"]))

    @_command(Op.WEBSOCKET_ALLOW_INBOUND)
    def _websocket_allow_inbound(self, cmd: Command) -> None:
        self._websockets.allow_inbound = True

    # ------------------------------------------------------------ ASR

    @_command(Op.ASR_CREATE)
    def _asr_create(self, cmd: Command) -> None:
        self._asrs.create(str(cmd["asr"]), cmd.get("params") or {})

    @_command(Op.ASR_STOP)
    def _asr_stop(self, cmd: Command) -> None:
        self._asrs.stop(str(cmd["asr"]))

    # ------------------------------------------------------------ ApplicationStorage

    @_command(Op.STORAGE_GET)
    def _storage_get(self, cmd: Command) -> None:
        self._storage.get(int(cmd["id"]), str(cmd["key"]))

    @_command(Op.STORAGE_PUT)
    def _storage_put(self, cmd: Command) -> None:
        ttl = cmd.get("ttl")
        self._storage.put(int(cmd["id"]), str(cmd["key"]), str(cmd["value"]), None if ttl is None else int(ttl))

    @_command(Op.STORAGE_REMOVE)
    def _storage_remove(self, cmd: Command) -> None:
        self._storage.remove(int(cmd["id"]), str(cmd["key"]))

    @_command(Op.STORAGE_KEYS)
    def _storage_keys(self, cmd: Command) -> None:
        pattern, count = cmd.get("pattern"), cmd.get("count")
        self._storage.keys(int(cmd["id"]), None if pattern is None else str(pattern),
                           None if count is None else int(count))

    # ------------------------------------------------------------ CallList

    @_command(Op.CALL_LIST_REPORT)
    def _call_list_report(self, cmd: Command) -> None:
        if self._call_list is None:
            self.session.write_log("[voxsim] CallList: no call list service in this runtime")
            return
        self._call_list.report(int(cmd["id"]), str(cmd.get("report")), cmd.get("data"))

    # ------------------------------------------------------------ Net.sendMail

    @_command(Op.MAIL_SEND)
    def _mail_send(self, cmd: Command) -> None:
        if self._mail is None:
            self.session.write_log("[voxsim] Net.sendMail: no mailbox in this runtime")
            return
        self._mail.send(cmd)

    # ------------------------------------------------------------ AMD

    @_command(Op.AMD_DETECT)
    def _amd_detect(self, cmd: Command) -> None:
        self._amds.detect(str(cmd["amd"]), str(cmd["call"]), cmd.get("timeout"))


for _op in _NOT_EMULATED_CALL_OPS:
    _HANDLERS[_op] = Dispatcher._not_emulated
