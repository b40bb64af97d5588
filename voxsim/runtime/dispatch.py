"""Carries out the commands a scenario issued (drained from voxengine.js after a delivery).

One method per command, named after its `op` (`call.answer` -> `op_call_answer`), so the
shim and this file can be read side by side.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from voxsim.runtime.calls import ALERTING, CONNECTED, PROGRESSING, Call

if TYPE_CHECKING:
    from voxsim.runtime.session import Session

# What still makes sense in the JS block that called VoxEngine.terminate(): the platform
# keeps running that block but has already let go of media and calls.
_AFTER_TERMINATE = {"log", "log.hideTones", "customData", "http", "http.reply", "timer.clear", "terminate"}

_NOT_EMULATED_CALL_OPS = (
    "reInvite", "acceptReInvite", "rejectReInvite", "handleMicStatus", "handleBlindTransfer",
    "notifyBlindTransfer", "beepDetection", "playProgressTone",
)


def _describe(cmd: dict[str, Any]) -> str:
    rest = {k: v for k, v in cmd.items() if k != "op"}
    return f"{cmd['op']} {json.dumps(rest, ensure_ascii=False)}" if rest else cmd["op"]


class Dispatcher:
    def __init__(self, session: Session) -> None:
        self.s = session
        for name in _NOT_EMULATED_CALL_OPS:
            setattr(self, f"op_call_{name}", self._not_emulated)

    def apply_all(self, commands: list[dict[str, Any]]) -> None:
        for cmd in commands:
            self.apply(cmd)

    def apply_logs(self, commands: list[dict[str, Any]]) -> None:
        """After a fatal error only the log lines the scenario wrote before it are kept."""
        self.apply_all([c for c in commands if c.get("op") == "log"])

    def apply(self, cmd: dict[str, Any]) -> None:
        op = str(cmd.get("op", ""))
        if op != "log":
            self.s.journal_command(cmd)
            self.s.write_log(f"[command] {_describe(cmd)}")
        if self.s.terminate_requested and op not in _AFTER_TERMINATE:
            self.s.write_log(f"[voxsim] {op} after VoxEngine.terminate(): ignored")
            return
        handler = getattr(self, "op_" + op.replace(".", "_"), None)
        if handler is None:
            self.s.write_log(f"[voxsim] unknown command {op!r}: ignored")
            return
        try:
            handler(cmd)
        except (KeyError, TypeError, ValueError) as exc:  # a malformed command must not stop the session
            self.s.write_log(f"[voxsim] {op} could not be carried out: {exc!r}")

    def _not_emulated(self, cmd: dict[str, Any]) -> None:
        self.s.write_log(f"[voxsim] {cmd['op']} is not emulated yet by voxsim: ignored")

    def _call(self, cmd: dict[str, Any]) -> Call | None:
        call = self.s.live_call(str(cmd.get("call")))
        if call is None:
            self.s.write_log(f"[voxsim] {cmd['op']} on a call that has ended: ignored")
        return call

    # ------------------------------------------------------------ session

    def op_log(self, cmd: dict[str, Any]) -> None:
        self.s.write_log(str(cmd.get("text", "")))

    def op_log_hideTones(self, cmd: dict[str, Any]) -> None:
        self.s.hide_tones = bool(cmd.get("hide"))

    def op_customData(self, cmd: dict[str, Any]) -> None:
        self.s.custom_data = str(cmd.get("data", ""))

    def op_terminate(self, cmd: dict[str, Any]) -> None:
        self.s.terminate_requested = True

    def op_timer_set(self, cmd: dict[str, Any]) -> None:
        self.s.timers.set(int(cmd["id"]), float(cmd.get("ms", 0)), bool(cmd.get("repeat")))

    def op_timer_clear(self, cmd: dict[str, Any]) -> None:
        self.s.timers.clear(int(cmd["id"]))

    def op_http(self, cmd: dict[str, Any]) -> None:
        self.s.net.start(int(cmd["id"]), str(cmd["url"]), cmd.get("options") or {})

    def op_http_reply(self, cmd: dict[str, Any]) -> None:
        status = 500 if cmd.get("error") else 200
        self.s.resolve_reply(int(cmd["req"]), status, str(cmd.get("type")), str(cmd.get("body", "")))

    # ------------------------------------------------------------ call signalling

    def op_call_answer(self, cmd: dict[str, Any]) -> None:
        call = self._call(cmd)
        if call is None:
            return
        if not call.incoming or call.state == CONNECTED or call.answering:
            self.s.write_log(f"[voxsim] answer on call {call.id}: only an unanswered incoming call answers")
            return
        call.answering = True
        call.cancel_timeout()  # answered: the 60 s no-answer rule no longer applies
        headers, params = cmd.get("headers") or {}, cmd.get("params") or {}
        self.s.leg_op(call, "answer", lambda leg: leg.answer(headers, params))

    def op_call_reject(self, cmd: dict[str, Any]) -> None:
        call = self._call(cmd)
        if call is None:
            return
        if not call.incoming or call.state == CONNECTED:
            self.op_call_hangup(cmd)
            return
        code, headers = int(cmd.get("code", 486)), cmd.get("headers") or {}
        self.s.leg_op(call, "reject", lambda leg: leg.reject(code, headers))
        self.s.end_call(call, "Call.Disconnected", {"internalCode": code})

    def op_call_hangup(self, cmd: dict[str, Any]) -> None:
        call = self._call(cmd)
        if call is None:
            return
        headers = cmd.get("headers") or {}
        if call.state == CONNECTED:
            self.s.leg_op(call, "hangup", lambda leg: leg.hangup(headers))
            self.s.end_call(call, "Call.Disconnected", {"internalCode": 200})
        elif call.incoming:
            # Hanging up a call nobody answered declines it [INF: 603].
            self.s.leg_op(call, "reject", lambda leg: leg.reject(603, headers))
            self.s.end_call(call, "Call.Disconnected", {"internalCode": 603})
        else:
            # An outgoing call not yet answered is cancelled: Failed 487 (reference §5).
            self.s.leg_op(call, "hangup", lambda leg: leg.hangup(headers))
            self.s.end_call(call, "Call.Failed", {"code": 487})

    def op_call_ring(self, cmd: dict[str, Any]) -> None:
        call = self._call(cmd)
        if call is not None:
            call.state = PROGRESSING if call.state == ALERTING else call.state
            headers = cmd.get("headers") or {}
            self.s.leg_op(call, "ring", lambda leg: leg.ring(headers))

    def op_call_startEarlyMedia(self, cmd: dict[str, Any]) -> None:
        call = self._call(cmd)
        if call is not None:
            call.state = PROGRESSING if call.state == ALERTING else call.state
            headers = cmd.get("headers") or {}
            self.s.leg_op(call, "startEarlyMedia", lambda leg: leg.start_early_media(headers))

    def op_call_sendDigits(self, cmd: dict[str, Any]) -> None:
        call = self._call(cmd)
        if call is not None:
            digits = str(cmd.get("digits", ""))
            self.s.leg_op(call, "sendDigits", lambda leg: leg.send_digits(digits))

    def op_call_sendMessage(self, cmd: dict[str, Any]) -> None:
        call = self._call(cmd)
        if call is not None:
            text = str(cmd.get("text", ""))
            self.s.leg_op(call, "sendMessage", lambda leg: leg.send_message(text, {}))

    def op_call_sendInfo(self, cmd: dict[str, Any]) -> None:
        call = self._call(cmd)
        if call is not None:
            mime, body, headers = str(cmd.get("mimeType")), str(cmd.get("body")), cmd.get("headers") or {}
            self.s.leg_op(call, "sendInfo", lambda leg: leg.send_info(mime, body, headers))

    def op_call_handleTones(self, cmd: dict[str, Any]) -> None:
        call = self._call(cmd)
        if call is not None:
            call.tones = bool(cmd.get("enable"))
            call.tone_type = int(cmd.get("type") or 0)

    def op_call_customData(self, cmd: dict[str, Any]) -> None:
        call = self._call(cmd)
        if call is not None:
            call.custom_data = str(cmd.get("data", ""))

    def op_call_transferTo(self, cmd: dict[str, Any]) -> None:
        call = self._call(cmd)
        if call is not None:
            reason = "call transfer (REFER) is not emulated yet by voxsim"
            payload = {"code": 501, "reason": reason, "headers": {}}
            self.s.emit("call", call.id, "Call.TransferFailed", payload)

    # ------------------------------------------------------------ call media (simulated)

    def op_call_say(self, cmd: dict[str, Any]) -> None:
        call = self._call(cmd)
        if call is not None:
            self.s.media.say(call.id, str(cmd.get("text", "")))

    def op_call_startPlayback(self, cmd: dict[str, Any]) -> None:
        call = self._call(cmd)
        if call is not None:
            self.s.media.play_url(call.id, loop=bool((cmd.get("params") or {}).get("loop")))

    def op_call_stopPlayback(self, cmd: dict[str, Any]) -> None:
        call = self._call(cmd)
        if call is not None:
            self.s.media.stop_playback(call.id)

    def op_call_record(self, cmd: dict[str, Any]) -> None:
        call = self._call(cmd)
        if call is not None:
            self.s.media.record(call.id)

    def op_call_stopRecording(self, cmd: dict[str, Any]) -> None:
        call = self._call(cmd)
        if call is not None:
            self.s.media.stop_recording(call.id)

    # ------------------------------------------------------------ outbound calls

    def op_dial(self, cmd: dict[str, Any]) -> None:
        self.s.dial(str(cmd["call"]), str(cmd["kind"]), str(cmd["to"]), dict(cmd.get("params") or {}))

    # ------------------------------------------------------------ media units

    @staticmethod
    def _ref(ref: dict[str, Any]) -> str:
        return f"{ref.get('kind')}:{ref.get('id')}"

    def op_media_send(self, cmd: dict[str, Any]) -> None:
        self.s.media.link(self._ref(cmd["from"]), self._ref(cmd["to"]))

    def op_media_stop(self, cmd: dict[str, Any]) -> None:
        self.s.media.unlink(self._ref(cmd["from"]), self._ref(cmd["to"]))

    def op_media_between(self, cmd: dict[str, Any]) -> None:
        a, b = self._ref(cmd["a"]), self._ref(cmd["b"])
        self.s.media.link(a, b)
        self.s.media.link(b, a)

    def op_media_unbridge(self, cmd: dict[str, Any]) -> None:
        a, b = self._ref(cmd["a"]), self._ref(cmd["b"])
        self.s.media.unlink(a, b)
        self.s.media.unlink(b, a)

    def op_player_create(self, cmd: dict[str, Any]) -> None:
        self.s.media.create_player(str(cmd["player"]), str(cmd["kind"]), cmd.get("source"), cmd.get("params"))

    def op_player_pause(self, cmd: dict[str, Any]) -> None:
        self.s.media.pause_player(str(cmd["player"]))

    def op_player_resume(self, cmd: dict[str, Any]) -> None:
        self.s.media.resume_player(str(cmd["player"]))

    def op_player_stop(self, cmd: dict[str, Any]) -> None:
        self.s.media.stop_player(str(cmd["player"]))

    def op_player_addMarker(self, cmd: dict[str, Any]) -> None:
        self.s.media.add_marker(str(cmd["player"]), float(cmd.get("offset", 0)))

    def op_recorder_create(self, cmd: dict[str, Any]) -> None:
        self.s.media.create_recorder(str(cmd["recorder"]))

    def op_recorder_stop(self, cmd: dict[str, Any]) -> None:
        self.s.media.stop_recorder(str(cmd["recorder"]))

    def op_recorder_mute(self, cmd: dict[str, Any]) -> None:
        recorder, mute = cmd.get("recorder"), cmd.get("mute")
        self.s.write_log(f"[voxsim] recorder {recorder} mute={mute} (no audio is recorded)")
