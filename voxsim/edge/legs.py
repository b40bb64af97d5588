"""SIP call legs: what a scenario does to a call, in SIP; what the far end does, as call events.

Both legs implement `voxsim.runtime.host.CallLeg` over a `sip_edge.ua.InviteDialog` and report back with
`SessionPort.call_event(call_id, name, payload)`:

- `SipInboundLeg` (an INVITE that reached the edge): `answer` sends 200 with an SDP answer built
  from the offer (PCMU or PCMA, plus telephone-event when offered) on a real UDP port reserved for
  the call, and reports `Call.Connected` when the ACK arrives; `ring` sends 180, `start_early_media`
  183 with the same SDP, `reject(code)` that final response, `hangup` BYE once answered (480 when
  not). A BYE or CANCEL from the caller reports `Call.Disconnected` (200 "Normal call clearing" or
  487 "Request Terminated"); a 2xx never ACKed is hung up and reported as 408. A caller that wants reliable
  provisional responses (RFC 3262, `Require`/`Supported: 100rel`) gets them from the user agent; one that never
  PRACKs them gets 500 after 64*T1, reported as `Call.Disconnected` 408 "Request Timeout - no PRACK".
- `SipOutboundLeg` (callSIP, callUser...): one INVITE per `DialTarget`, sent at once (several
  targets fork: the first 2xx wins, the others are cancelled, a late 2xx is hung up). 180/183 report
  `Call.Ringing` once, the first SDP (183 or 200) `Call.AudioStarted` once, the 2xx `Call.Connected`
  (its ACK sent), the best final response of all targets `Call.Failed`; `hangup` sends CANCEL while
  pending and BYE once connected. A reliable 18x (RFC 3262) is PRACKed by the user agent, and reaches
  the leg once, however often the far end sends it.
- Either direction: BYE from the far end reports `Call.Disconnected`; INFO with
  `application/dtmf-relay` (`Signal=5`) or `application/dtmf` reports `Call.ToneReceived` (type
  "3", SIP INFO), and so do RFC 2833/4733 telephone-events arriving on the call's RTP port when the
  SDPs negotiated telephone-event (type "1", once per key press: see `sip_edge.rtp`); other INFO
  reports `Call.InfoReceived`, MESSAGE `Call.MessageReceived`. `send_message` and `send_info` go inside the
  dialog; `send_digits` sends RFC 4733 events in the RTP when telephone-event was negotiated, else INFO
  dtmf-relay, one per digit (`p` pauses).
- Transfers (RFC 3515): `transfer_to` sends REFER in a connected call and follows its NOTIFYs: a 2xx sipfrag
  reports `Call.TransferComplete`, and voxsim lets go of the call (BYE, `Call.Disconnected` 200); a refused REFER
  or a final non-2xx sipfrag `Call.TransferFailed` with its code. A REFER from the far end reports
  `Call.BlindTransferRequested` and is accepted (202, NOTIFY 100 Trying) after `handle_blind_transfer(True)`,
  else declined 603; `notify_blind_transfer` sends the final NOTIFY.

- Media: once our SDP is out with a codec (200, 183, or the callee's answer of an outbound call) the RTP
  port sends the call's RTP on the media clock (`voxsim.edge.media_port`); a re-INVITE or UPDATE offering
  `sendonly` or `inactive` holds the call (`Call.OnHold`, our RTP paused), a later `sendrecv` one resumes
  it (`Call.OffHold`). A call the UA ends because its session timer expired (RFC 4028: the far end stopped
  refreshing; the UA sent BYE) reports `Call.Disconnected` 408 "Request Timeout - session timer". With the
  edge's `media_timeout` on, an answered call whose port hears neither RTP nor RTCP for that long is hung up
  (BYE) and reported as `Call.Disconnected` 408 "Request Timeout - media timeout".

Only `X-` headers and `User-to-User` go out on the wire from the scenario's header maps, and only
they come back in event payloads. What arrives on the RTP port: telephone-events become ToneReceived,
G.711 audio goes into the call's `CallAudio` (the media graph: bridges, recorders, conferences, in-band
DTMF), the rest (comfort noise) is dropped. Requests the legs send wait at most
`request_timeout` for an answer, so a vanished peer cannot hold a session (or a shutdown) for the
32 s of a SIP transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sip_edge.dialog import DialogError, ReferSubscription, TransferProgress, refer_target, refer_to
from sip_edge.message import Request, Response, make_response
from sip_edge.rtcp import parse_rtcp_attributes, with_rtcp_mux
from sip_edge.rtp import DtmfDetector, parse_rtp
from sip_edge.sdp import TELEPHONE_EVENT_PT, MediaDescription, build_sdp, direction_of, parse_sdp
from sip_edge.transport import Address
from sip_edge.ua import NO_PRACK, SESSION_EXPIRED, CallFailed, InviteDialog, InviteHandle, UserAgent
from voxsim.edge.media_port import MediaPort
from voxsim.media.call_audio import CallAudio
from voxsim.media.g711 import CODECS
from voxsim.runtime.host import (
    CALL_BLIND_TRANSFER_REQUESTED,
    CALL_TRANSFER_COMPLETE,
    TRANSFEROR,
    CallLeg,
    ScenarioHeaders,
    SessionPort,
)
from voxsim.runtime.protocol import (
    CALL_AUDIO_STARTED,
    CALL_CONNECTED,
    CALL_DISCONNECTED,
    CALL_FAILED,
    CALL_INFO_RECEIVED,
    CALL_MESSAGE_RECEIVED,
    CALL_OFF_HOLD,
    CALL_ON_HOLD,
    CALL_RINGING,
    CALL_TONE_RECEIVED,
    CALL_TRANSFER_FAILED,
)
from voxsim.runtime.session import reason_for

__all__ = [
    "DialTarget",
    "SipInboundLeg",
    "SipLeg",
    "SipOutboundLeg",
    "dtmf_of",
    "scenario_headers_of",
    "wire_headers",
]

log = logging.getLogger(__name__)

OpenMedia = Callable[[], Awaitable[MediaPort]]
"""Reserves a call's RTP port (`MediaPorts.open` of the edge)."""

TONE_TYPE_SIP_INFO = "3"  # DTMFType.SIP_INFO
TONE_TYPE_RFC2833 = "1"  # DTMFType.TELEPHONE_EVENT
_AUDIO_PAYLOAD_TYPES = {0: "PCMU", 8: "PCMA"}  # the static G.711 payload types (RFC 3551)
MEDIA_TIMEOUT_CODE = 408
MEDIA_TIMEOUT_REASON = "Request Timeout - media timeout"  # no platform figure: voxsim's own (docs/sip.md)
SESSION_TIMER_CODE = 408
SESSION_TIMER_REASON = "Request Timeout - session timer"  # likewise voxsim's own (docs/sip.md)
NO_PRACK_CODE = 408
NO_PRACK_REASON = "Request Timeout - no PRACK"  # likewise
NO_FINAL_NOTIFY_REASON = "Request Timeout - no final NOTIFY"  # a transfer's subscription expired (likewise)
BLIND_TRANSFER_REFUSED = 603  # a REFER to a call whose scenario did not handleBlindTransfer(true) (docs/sip.md)
_URI_SCHEMES = ("sip:", "sips:", "tel:")
_PASSED = ("x-", "user-to-user")
_HEADER_NAME = re.compile(r"[A-Za-z0-9!%*_+`'~.-]+")
_DTMF = {str(d): str(d) for d in range(10)} | {"*": "*", "#": "#", "10": "*", "11": "#", "12": "A", "13": "B",
                                               "14": "C", "15": "D", "A": "A", "B": "B", "C": "C", "D": "D"}


# ------------------------------------------------------------------------------------------ headers


def wire_headers(headers: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """The scenario's headers that may go out: `X-...` and `User-to-User`, one line each."""
    out: list[tuple[str, str]] = []
    for name, value in (headers or {}).items():
        name = str(name).strip()
        if not name.lower().startswith(_PASSED) or not _HEADER_NAME.fullmatch(name) or value is None:
            continue
        out.append((name, " ".join(str(value).split())))
    return out


def scenario_headers_of(message: Request | Response) -> dict[str, str]:
    """The headers of a SIP message a scenario may see: `X-...` and `User-to-User`."""
    return {name: value for name, value in message.headers.items() if name.lower().startswith(_PASSED)}


def dtmf_of(request: Request) -> str | None:
    """The key an INFO carries as `application/dtmf-relay` (`Signal=5`) or `application/dtmf`, else None."""
    content_type = (request.content_type or "").split(";")[0].strip().lower()
    text = request.body.decode("utf-8", "replace")
    if content_type == "application/dtmf-relay":
        for line in text.splitlines():
            name, _, value = line.partition("=")
            if name.strip().lower() == "signal":
                return _DTMF.get(value.strip().upper())
        return None
    if content_type == "application/dtmf":
        return _DTMF.get(text.strip().upper())
    return None


# ------------------------------------------------------------------------------------------ legs


class SipLeg:
    """What both directions share: event reporting, in-dialog requests, the RTP port.

    `advertised_host` goes into the SDP; `open_media()` reserves the RTP port (`MediaPorts.open`);
    `on_closed(leg)` is told once the leg is over (the edge forgets it then).
    """

    def __init__(self, ua: UserAgent, *, advertised_host: str,
                 open_media: OpenMedia | None = None,
                 on_closed: Callable[[SipLeg], None] | None = None,
                 request_timeout: float = 2.0, dtmf_send: str = "auto") -> None:
        self.ua = ua
        self.advertised_host = advertised_host
        self.dtmf_send = dtmf_send  # EdgeSettings.dtmf_send: auto, rfc4733 or info
        self.open_media = open_media
        self.on_closed = on_closed
        self.request_timeout = request_timeout
        self.session: SessionPort | None = None
        self.call_id = ""
        self.sip: InviteDialog | None = None
        self.media: MediaPort | None = None
        self.on_hold = False  # the far end holds the call (its last offer was sendonly or inactive)
        self.local_end = False  # we ended the call (reject, hangup, BYE): nothing to report
        self.max_forwards = 70  # of the INVITE that brought the call (outbound calls of its session get one less)
        self.closed = False
        self.events: list[tuple[str, dict[str, Any]]] = []  # what was reported, for tests and diagnostics
        self._bye_headers: dict[str, str] = {}
        self._held: list[tuple[str, dict[str, Any]]] | None = []  # events before the scenario has the call
        self._sdp_id = secrets.randbelow(2**31)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._dtmf: DtmfDetector | None = None
        self._dtmf_pt: int | None = None  # the telephone-event payload type on our RTP port
        self._call_audio: CallAudio | None = None
        self.blind_transfers = False  # handleBlindTransfer(true): the far end's REFER goes to the scenario

    # -- reporting

    def bind(self, session: SessionPort, call_id: str) -> None:
        """The session knows the call now: events held until then go out."""
        self.session = session
        self.call_id = call_id
        held, self._held = self._held or [], None
        for name, payload in held:
            self._send(name, payload)

    def report(self, name: str, payload: dict[str, Any] | None = None) -> None:
        payload = dict(payload or {})
        self.events.append((name, payload))
        if self._held is not None:
            self._held.append((name, payload))
        else:
            self._send(name, payload)
        if name == CALL_CONNECTED and self.media is not None:
            self.media.watch_inactivity(self._media_timed_out)

    def _media_timed_out(self) -> None:
        """No RTP or RTCP for `media_timeout` on an answered call (from the media clock's tick): BYE, and
        Disconnected 408 for the scenario."""
        if self.closed or self.local_end:
            return
        log.info("call %s: no media for %s s, hanging up", self.call_id,
                 self.media.media_timeout if self.media is not None else "?")
        self.local_end = True
        self.report(CALL_DISCONNECTED, {"internalCode": MEDIA_TIMEOUT_CODE, "reason": MEDIA_TIMEOUT_REASON,
                                          "headers": {}})
        self._spawn(self.hangup({}))

    def _send(self, name: str, payload: dict[str, Any]) -> None:
        if self.session is not None:
            self.session.call_event(self.call_id, name, payload)

    # -- the far end's requests inside the dialog

    def _watch(self, sip: InviteDialog) -> None:
        sip.on_request = lambda request: self._on_request(sip, request)
        sip.on_end = lambda ended: self._on_end(ended)
        sip.on_refer = lambda request: self._on_refer(sip, request)

    def _on_request(self, sip: InviteDialog, request: Request) -> None:
        if sip is not self.sip:
            return
        headers = scenario_headers_of(request)
        if request.method == "BYE":
            self._bye_headers = headers
        elif request.method == "INFO":
            tone = dtmf_of(request)
            if tone is not None:
                self.report(CALL_TONE_RECEIVED, {"tone": tone, "type": TONE_TYPE_SIP_INFO})
            else:
                mime_type = (request.headers.get("Content-Type") or "").strip()
                self.report(CALL_INFO_RECEIVED, {"mimeType": mime_type,
                                                  "body": request.body.decode("utf-8", "replace"),
                                                  "headers": headers})
        elif request.method in ("INVITE", "UPDATE") and request.body:  # hold, resume, or a new offer
            self._offered(direction_of(request.body), headers)
        elif request.method == "MESSAGE":
            self.report(CALL_MESSAGE_RECEIVED, {"text": request.body.decode("utf-8", "replace"),
                                                 "headers": headers})

    def _offered(self, direction: str, headers: dict[str, str]) -> None:
        """The far end's re-INVITE or UPDATE offers `direction`: `sendonly` or `inactive` holds the call (OnHold,
        and our RTP stops, as the UA's answer says recvonly or inactive); `sendrecv` or `recvonly` resumes it."""
        held = direction in ("sendonly", "inactive")
        if self.media is not None:
            self.media.pause_sending(held)
        if held != self.on_hold:
            self.on_hold = held
            self.report(CALL_ON_HOLD if held else CALL_OFF_HOLD, {"headers": headers})

    def _on_end(self, sip: InviteDialog) -> None:
        if sip is not self.sip:
            return
        self._before_end(sip)
        if not self.local_end:
            reason = None
            if sip.cancelled:
                code = 487
            elif sip.end_reason == "remote BYE":
                code = 200
            elif sip.end_reason == "local BYE":  # the UA hung up a 2xx nobody ACKed
                code = 408
            elif sip.end_reason == SESSION_EXPIRED:  # the UA hung up a call nobody refreshed
                code, reason = SESSION_TIMER_CODE, SESSION_TIMER_REASON
            elif sip.end_reason == NO_PRACK:  # the caller asked for reliable 18x and never acknowledged one
                code, reason = NO_PRACK_CODE, NO_PRACK_REASON
            else:
                code = 500
            self.report(CALL_DISCONNECTED, {"internalCode": code, "reason": reason or reason_for(code),
                                              "headers": self._bye_headers})
        self.close()

    def _before_end(self, sip: InviteDialog) -> None:
        """What a leg still owes the scenario before it learns the call ended (see SipInboundLeg)."""

    # -- what the scenario does inside the dialog

    async def send_message(self, text: str, headers: ScenarioHeaders) -> None:
        await self._in_dialog("MESSAGE", headers, text.encode(), "text/plain")

    async def send_info(self, mime_type: str, body: str, headers: ScenarioHeaders) -> None:
        await self._in_dialog("INFO", headers, body.encode(), mime_type or "text/plain")

    async def send_digits(self, digits: str) -> None:
        """RFC 4733 telephone-events in the call's RTP when the SDPs agreed on telephone-event, else SIP INFO
        (`application/dtmf-relay`, one per key); `p` pauses 500 ms. `dtmf_send` "info" always sends INFO,
        "rfc4733" never does. Returns once the digits are out."""
        seconds = None
        if self.dtmf_send != "info" and self.media is not None and self._dtmf_pt is not None:
            seconds = self.media.send_digits(digits, self._dtmf_pt)
        if seconds is not None:
            await asyncio.sleep(seconds)
            return
        if self.dtmf_send == "rfc4733":
            log.info("sendDigits on call %s dropped: no telephone-event was negotiated (dtmf_send=rfc4733)",
                     self.call_id)
            return
        for key in digits:
            if key.lower() == "p":
                await asyncio.sleep(0.5)
            elif key.upper() in "0123456789*#ABCD":
                body = f"Signal={key.upper()}\r\nDuration=160\r\n".encode()
                await self._in_dialog("INFO", {}, body, "application/dtmf-relay")

    async def _in_dialog(self, method: str, headers: ScenarioHeaders, body: bytes, content_type: str) -> None:
        sip = self.sip
        if sip is None or sip.dialog is None or sip.ended.is_set():
            log.info("%s on call %s dropped: no dialog", method, self.call_id)
            return
        try:
            response = await asyncio.wait_for(
                sip.request(method, headers=wire_headers(headers), body=body, content_type=content_type),
                self.request_timeout)
        except (TimeoutError, RuntimeError) as exc:
            log.info("%s on call %s: %r", method, self.call_id, exc)
            return
        if response.status >= 300:
            log.info("%s on call %s answered %s %s", method, self.call_id, response.status, response.reason)

    async def _bye(self, headers: ScenarioHeaders) -> None:
        sip = self.sip
        self.local_end = True
        if sip is None or sip.ended.is_set() or sip.dialog is None:
            return
        with contextlib.suppress(TimeoutError, RuntimeError):
            await asyncio.wait_for(sip.bye(headers=wire_headers(headers)), self.request_timeout)

    # -- transfers: REFER (RFC 3515)

    async def transfer_to(self, to: str | None, target: CallLeg | None, headers: ScenarioHeaders) -> None:
        """REFER in the call: `Refer-To: <to>` (`sip:` added when it has no scheme), or for an attended transfer
        the remote target of `target`'s dialog with `?Replaces=` naming it (RFC 3891); the scenario's headers go
        in as URI headers for the transferee's INVITE. A refused REFER, or a final non-2xx sipfrag, reports
        TransferFailed with that code; a 2xx sipfrag TransferComplete, then voxsim hangs up (BYE) and reports
        Disconnected 200. No final NOTIFY before the subscription expires: TransferFailed 408."""
        sip = self.sip
        if sip is None or sip.dialog is None or sip.ended.is_set() or not sip.confirmed.is_set():
            self._transfer_failed(481, "Call/Transaction Does Not Exist - the call is not connected")
            return
        try:
            target_value = self._refer_to(to, target, headers)
        except _NotSip as exc:
            self._transfer_failed(501, f"Not Implemented - {exc}")
            return
        except DialogError as exc:
            self._transfer_failed(400, f"Bad Request - {exc}")
            return
        progress: asyncio.Queue[TransferProgress] = asyncio.Queue()
        try:
            response, subscription = await asyncio.wait_for(
                sip.refer(target_value, on_progress=progress.put_nowait, referred_by=f"<{sip.dialog.local.uri}>"),
                self.request_timeout)
        except TimeoutError:
            self._transfer_failed(408, "Request Timeout - no answer to the REFER")
            return
        except RuntimeError:
            return  # the call ended meanwhile: Disconnected says so
        if response.status >= 300:
            self._transfer_failed(response.status, response.reason)
            return
        final = await self._transfer_outcome(sip, subscription, progress)
        if final is None:
            return
        if not final.succeeded:
            self._transfer_failed(final.status, final.reason)
            return
        self.local_end = True  # the platform lets go of the call: the scenario hears it ended, we send BYE
        self.report(CALL_TRANSFER_COMPLETE, {"role": TRANSFEROR, "headers": {}})
        self.report(CALL_DISCONNECTED, {"internalCode": 200, "reason": reason_for(200), "headers": {}})
        await self._bye({})
        self.close()

    def _refer_to(self, to: str | None, target: CallLeg | None, headers: ScenarioHeaders) -> str:
        extra = wire_headers(headers)
        if target is not None:
            other = target.sip if isinstance(target, SipLeg) else None
            if other is None or other.dialog is None or other.ended.is_set():
                raise _NotSip("an attended transfer to a call that is not a connected SIP call")
            return refer_to(other.dialog.remote_target, replaces=other.dialog.id, headers=extra)
        uri = (to or "").strip()
        if not uri:
            raise DialogError("transferTo needs `to` or `call`")
        if not uri.lower().startswith(_URI_SCHEMES):
            uri = f"sip:{uri}"
        return refer_to(uri, headers=extra)

    async def _transfer_outcome(self, sip: InviteDialog, subscription: ReferSubscription,
                                progress: asyncio.Queue[TransferProgress]) -> TransferProgress | None:
        """The final word of the transfer's NOTIFYs; a synthesized 408 once the subscription expires without
        one; None when the call ends first (its Disconnected is the scenario's news)."""
        loop = asyncio.get_running_loop()
        ended = asyncio.ensure_future(sip.ended.wait())
        try:
            while True:
                update = asyncio.ensure_future(progress.get())
                await asyncio.wait([update, ended], timeout=max(0.0, subscription.expires_at - loop.time()),
                                   return_when=asyncio.FIRST_COMPLETED)
                if not update.done():
                    update.cancel()
                    if ended.done():
                        return None
                    if subscription.expires_at > loop.time():
                        continue  # a NOTIFY moved the expiry on while we waited
                    subscription.done = True  # later NOTIFYs get 481
                    return TransferProgress(408, NO_FINAL_NOTIFY_REASON, final=True)
                if update.result().final:
                    return update.result()
        finally:
            ended.cancel()

    def _transfer_failed(self, code: int, reason: str) -> None:
        log.info("transfer of call %s failed: %s %s", self.call_id, code, reason)
        self.report(CALL_TRANSFER_FAILED, {"code": code, "reason": reason, "role": TRANSFEROR, "headers": {}})

    async def handle_blind_transfer(self, enable: bool) -> None:
        self.blind_transfers = enable

    def _on_refer(self, sip: InviteDialog, request: Request) -> int:
        """The far end transfers the call (a REFER, already checked by the UA): with handleBlindTransfer(true) the
        scenario gets BlindTransferRequested {transferTo: the Refer-To's user part (else the URI), headers} and the
        REFER 202 (the UA sends NOTIFY 100 Trying); otherwise it is declined."""
        if sip is not self.sip or not self.blind_transfers or self.local_end or self.closed:
            return BLIND_TRANSFER_REFUSED
        uri = refer_target(request).uri.copy()
        uri.headers = {}
        self.report(CALL_BLIND_TRANSFER_REQUESTED, {"transferTo": uri.user or str(uri),
                                                     "headers": scenario_headers_of(request)})
        return 202

    async def notify_blind_transfer(self, code: int, reason: str, headers: ScenarioHeaders) -> None:
        """The final NOTIFY of the REFER we accepted: `SIP/2.0 200 OK` for success, else the code (3xx-6xx, or
        603) and reason the scenario gave."""
        sip = self.sip
        if sip is None or sip.notifier is None or sip.notifier.done:
            log.info("notifyBlindTransfer on call %s: no transfer request waits for an answer", self.call_id)
            return
        if code != 200 and not 300 <= code <= 699:
            code = 603
        try:
            response = await asyncio.wait_for(
                sip.notify_refer(code, reason or None, headers=wire_headers(headers)), self.request_timeout)
        except (TimeoutError, RuntimeError) as exc:
            log.info("final NOTIFY on call %s: %r", self.call_id, exc)
            return
        if response.status >= 300:
            log.info("final NOTIFY on call %s answered %s %s", self.call_id, response.status, response.reason)

    # -- media and the end

    def _hear_dtmf(self, payload_type: int | None) -> None:
        """Decode RFC 2833 telephone-events of `payload_type` arriving on our RTP port (from now on)."""
        if payload_type is None or self._dtmf is not None:
            return
        self._dtmf, self._dtmf_pt = DtmfDetector(), payload_type

    def _audio(self) -> CallAudio | None:
        """The call's audio in the media graph (the session makes it), once the session knows the call."""
        if self._call_audio is None and self.session is not None and not self.closed:
            self._call_audio = self.session.call_audio(self.call_id)
        return self._call_audio

    def _send_rtp(self, peer: MediaDescription | None, codec: tuple[int, str] | None, sdp: bytes | None) -> None:
        """Start the call's RTP towards `peer` (the far end's SDP, `sdp`, which also says where RTCP goes) with
        `codec` (payload type, name): what the call's audio gives each tick, silence when it gives nothing."""
        if self.media is None or peer is None or codec is None or not peer.host or not peer.port:
            return
        audio = self._audio()
        self.media.start_sending((peer.host, peer.port), *codec,
                                 source=audio.next_outbound if audio is not None else None, sdp=sdp)
        if audio is not None:
            audio.active = True

    def _on_rtp(self, data: bytes) -> None:
        """A packet on our RTP port: telephone-events to ToneReceived, G.711 audio into the call's audio;
        comfort noise (PT 13) and anything else is dropped."""
        packet = parse_rtp(data)
        if self.closed or packet is None:
            return
        if self._dtmf is not None and packet.payload_type == self._dtmf_pt:
            tone = self._dtmf.feed(data, packet.payload_type)
            if tone is not None:
                self.report(CALL_TONE_RECEIVED, {"tone": tone, "type": TONE_TYPE_RFC2833})
            return
        encoding = _AUDIO_PAYLOAD_TYPES.get(packet.payload_type)
        audio = self._audio()
        if encoding is not None and audio is not None and packet.payload:
            audio.receive(packet.sequence, CODECS[encoding][1](packet.payload))

    async def _media(self) -> MediaPort | None:
        if self.media is None and self.open_media is not None and not self.closed:
            self.media = await self.open_media()
            self.media.on_datagram = self._on_rtp
            if self.closed:  # ended while the port was being bound
                self.media.close()
        return self.media

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def close(self) -> None:
        """Releases the RTP port and tells the owner; idempotent."""
        if self.closed:
            return
        self.closed = True
        if self.media is not None:
            self.media.close()
        if self.on_closed is not None:
            self.on_closed(self)

    def abort(self) -> None:
        """The edge is going away: stop whatever is pending, release everything."""
        for task in list(self._tasks):
            task.cancel()
        self.close()

    # -- CallLeg methods that do not apply to every direction

    async def answer(self, headers: ScenarioHeaders, params: Mapping[str, Any]) -> None:
        log.info("answer on call %s: not an incoming call", self.call_id)

    async def reject(self, code: int, headers: ScenarioHeaders) -> None:
        await self.hangup(headers)

    async def hangup(self, headers: ScenarioHeaders) -> None:
        await self._bye(headers)
        self.close()

    async def ring(self, headers: ScenarioHeaders) -> None:
        log.info("ring on call %s: not an incoming call", self.call_id)

    async def start_early_media(self, headers: ScenarioHeaders) -> None:
        log.info("startEarlyMedia on call %s: not an incoming call", self.call_id)


class SipInboundLeg(SipLeg):
    """An INVITE that reached the edge, driven by its scenario; see the module docstring."""

    def __init__(self, ua: UserAgent, sip: InviteDialog, *, advertised_host: str,
                 open_media: OpenMedia | None = None,
                 on_closed: Callable[[SipLeg], None] | None = None,
                 request_timeout: float = 2.0, ack_timeout: float = 32.0, dtmf_send: str = "auto") -> None:
        super().__init__(ua, advertised_host=advertised_host, open_media=open_media, on_closed=on_closed,
                         request_timeout=request_timeout, dtmf_send=dtmf_send)
        self.sip = sip
        self.ack_timeout = ack_timeout
        self.offer = parse_sdp(sip.invite.body) if sip.invite.body else None
        self._sdp: bytes | None = None
        self._codec: tuple[int, str] | None = None  # the payload type and name our answer chose
        self._connected_reported = False
        self._watch(sip)
        if sip.ended.is_set():  # gone before we were watching
            self._on_end(sip)

    async def _local_sdp(self) -> bytes | None:
        """Our answer to the offer (or our offer when the INVITE had none); None: no common codec."""
        if self._sdp is not None:
            return self._sdp
        media = await self._media()
        if media is None:
            return None
        event: int | None
        if self.offer is None:
            codecs, event = [(0, "PCMU"), (8, "PCMA")], TELEPHONE_EVENT_PT
        else:
            codecs, event = self.offer.g711()[:1], self.offer.telephone_event()
            if not codecs:
                return None
        self._sdp = build_sdp(self.advertised_host, media.port, codecs, event, session_id=self._sdp_id)
        if self.offer is not None and parse_rtcp_attributes(self.sip.invite.body if self.sip else None).mux:
            self._sdp = with_rtcp_mux(self._sdp)  # RFC 5761 5.1.1: the offerer muxes only if the answer agrees
        self._codec = codecs[0] if self.offer is not None else None  # without an offer, the ACK's answer decides
        self._hear_dtmf(event)  # the far end sends events with the payload type of our SDP
        return self._sdp

    def _unanswered(self) -> bool:
        sip = self.sip
        return sip is not None and not sip.ended.is_set() and sip.response is None and not sip.answer_pending

    async def answer(self, headers: ScenarioHeaders, params: Mapping[str, Any]) -> None:
        sip = self.sip
        assert sip is not None
        if not self._unanswered():
            return
        try:
            sdp = await self._local_sdp()
        except OSError as exc:  # no RTP port to be had
            log.warning("cannot answer call %s: %s", self.call_id, exc)
            self._refuse(503, "Service Unavailable - no RTP port")
            return
        if sdp is None:
            self._refuse(488, "Not Acceptable Here - voxsim offers PCMU and PCMA only")
            return
        if not self._unanswered():
            return
        sip.local_sdp = sdp
        sip.answer(sdp, headers=wire_headers(headers))
        self._send_rtp(self.offer, self._codec, sip.invite.body)
        ended = asyncio.ensure_future(sip.ended.wait())
        confirmed = asyncio.ensure_future(sip.confirmed.wait())
        try:
            await asyncio.wait([confirmed, ended], timeout=self.ack_timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ended.cancel()
            confirmed.cancel()
        if sip.confirmed.is_set() and not sip.ended.is_set():
            self._report_connected()

    def _before_end(self, sip: InviteDialog) -> None:
        if sip.confirmed.is_set():
            self._report_connected()

    def _report_connected(self) -> None:
        """Call.Connected, once: from answer() when the ACK comes, or from _on_end when the ACK and the
        BYE arrived in the same loop turn (the call did connect, if only for an instant)."""
        if not self._connected_reported:
            self._connected_reported = True
            self.report(CALL_CONNECTED, {"headers": {}})

    def _refuse(self, code: int, reason: str) -> None:
        """The scenario answered but the call cannot be: a final response, and Disconnected for the scenario."""
        if self._unanswered():
            assert self.sip is not None
            self.local_end = True
            self.sip.reject(code, reason)
            self.report(CALL_DISCONNECTED, {"internalCode": code, "reason": reason_for(code), "headers": {}})
            self.close()

    async def reject(self, code: int, headers: ScenarioHeaders) -> None:
        sip = self.sip
        assert sip is not None
        if sip.ended.is_set():
            return
        if sip.answered:
            await self.hangup(headers)
            return
        self.local_end = True
        code = code if 300 <= code <= 699 else 603
        sip.reject(code, headers=wire_headers(headers))
        self.close()

    async def hangup(self, headers: ScenarioHeaders) -> None:
        sip = self.sip
        assert sip is not None
        self.local_end = True
        if sip.ended.is_set():
            self.close()
            return
        if sip.answered:
            if not sip.confirmed.is_set():  # RFC 3261 15: no BYE before the ACK of our 2xx
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(sip.confirmed.wait(), self.request_timeout)
            await self._bye(headers)
        else:
            sip.reject(480, headers=wire_headers(headers))
        self.close()

    async def ring(self, headers: ScenarioHeaders) -> None:
        if self._unanswered():
            assert self.sip is not None
            self.sip.ring(180, headers=wire_headers(headers))

    async def start_early_media(self, headers: ScenarioHeaders) -> None:
        if not self._unanswered():
            return
        try:
            sdp = await self._local_sdp()
        except OSError as exc:
            log.warning("no early media for call %s: %s", self.call_id, exc)
            sdp = None
        if self._unanswered():
            assert self.sip is not None
            self.sip.ring(183, "Session Progress", headers=wire_headers(headers), sdp=sdp)
            if sdp is not None:
                self._send_rtp(self.offer, self._codec, self.sip.invite.body)


@dataclass
class DialTarget:
    """One INVITE an outbound leg sends: Request-URI, next hop, From/To, credentials, extra headers."""

    uri: str
    dest: Address
    from_addr: str
    to_addr: str
    auth: tuple[str, str] | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    max_forwards: int | None = None


class SipOutboundLeg(SipLeg):
    """A call the scenario placed, to one target or forked to several; see the module docstring.

    `timeout` (seconds, e.g. from `VI-CallTimeout`) fails the call with 408 when nobody answered by
    then; without it the session's own outbound no-answer timer applies.
    """

    def __init__(self, ua: UserAgent, targets: list[DialTarget], *, advertised_host: str,
                 open_media: OpenMedia | None = None,
                 on_closed: Callable[[SipLeg], None] | None = None,
                 request_timeout: float = 2.0, timeout: float | None = None, dtmf_send: str = "auto") -> None:
        super().__init__(ua, advertised_host=advertised_host, open_media=open_media, on_closed=on_closed,
                         request_timeout=request_timeout, dtmf_send=dtmf_send)
        self.targets = targets
        self.timeout = timeout
        self.handles: list[InviteHandle] = []
        self.failures: list[Response] = []
        self.rang = False
        self.audio_started = False
        self._timer: asyncio.TimerHandle | None = None
        self._pending = 0

    def bind(self, session: SessionPort, call_id: str) -> None:
        super().bind(session, call_id)
        self._held = None  # the session created the call itself: it knows it already

    async def start(self) -> None:
        """Reserves the RTP port and sends the INVITEs (returns without waiting for answers)."""
        media = await self._media()
        port = media.port if media is not None else 9
        offer = build_sdp(self.advertised_host, port, [(0, "PCMU"), (8, "PCMA")], TELEPHONE_EVENT_PT,
                          session_id=self._sdp_id)
        self._pending = len(self.targets)
        for target in self.targets:
            handle = InviteHandle()
            self.handles.append(handle)
            self._spawn(self._branch(target, handle, offer))
        if self.timeout:
            self._timer = asyncio.get_running_loop().call_later(self.timeout, self._expired)

    async def _branch(self, target: DialTarget, handle: InviteHandle, offer: bytes) -> None:
        try:
            call = await self.ua.invite(target.uri, dest=target.dest, from_addr=target.from_addr, to=target.to_addr,
                                        auth=target.auth, sdp=offer, headers=target.headers,
                                        on_provisional=self._provisional, handle=handle, on_call=self._watch,
                                        max_forwards=target.max_forwards)
        except CallFailed as failure:
            self._failed(failure.response)
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.info("INVITE to %s failed: %r", target.uri, exc)
            request = handle.request
            self._failed(make_response(request, 503, f"Service Unavailable - {exc}") if request else None)
            return
        if self.sip is not None or self.local_end or self.closed:
            self._spawn(self._hang_up_quietly(call))  # lost the race, or hung up meanwhile
            return
        self.sip = call
        self._cancel_timer()
        for other in self.handles:
            if other is not handle:
                other.cancel()
        headers = scenario_headers_of(call.response) if call.response is not None else {}
        self._hear_dtmf_if_answered(call.remote_sdp)
        self._send_rtp_to_answer(call.remote_sdp)
        if not self.audio_started:
            self.audio_started = True
            self.report(CALL_AUDIO_STARTED, {"headers": headers})
        self.report(CALL_CONNECTED, {"headers": headers})
        if call.ended.is_set():
            self._on_end(call)

    def _provisional(self, response: Response) -> None:
        if self.sip is not None or self.local_end or response.status < 180:
            return
        headers = scenario_headers_of(response)
        if not self.rang:
            self.rang = True
            self.report(CALL_RINGING, {"headers": headers})
        if response.body:
            self._hear_dtmf_if_answered(response.body)
            self._send_rtp_to_answer(response.body)
        if response.body and not self.audio_started:
            self.audio_started = True
            self.report(CALL_AUDIO_STARTED, {"headers": headers})

    def _send_rtp_to_answer(self, sdp: bytes | None) -> None:
        """RTP to the callee with the first of our codecs its answer kept."""
        answer = parse_sdp(sdp) if sdp else None
        codecs = answer.g711() if answer is not None else []
        self._send_rtp(answer, codecs[0] if codecs else None, sdp)

    def _hear_dtmf_if_answered(self, sdp: bytes | None) -> None:
        """The callee's SDP kept telephone-event: it sends events with the payload type we offered."""
        answer = parse_sdp(sdp) if sdp else None
        if answer is not None and answer.telephone_event() is not None:
            self._hear_dtmf(TELEPHONE_EVENT_PT)

    def _failed(self, response: Response | None) -> None:
        if response is not None:
            self.failures.append(response)
        self._pending -= 1
        if self._pending > 0 or self.sip is not None:
            return
        self._cancel_timer()
        if not self.local_end:
            best = _best_failure(self.failures)
            code = best.status if best is not None else 503
            reason = best.reason if best is not None else reason_for(503)
            headers = scenario_headers_of(best) if best is not None else {}
            self.local_end = True
            self.report(CALL_FAILED, {"code": code, "reason": reason, "headers": headers})
        self.close()

    def _expired(self) -> None:
        self._timer = None
        if self.sip is None and not self.local_end:
            self.local_end = True
            for handle in self.handles:
                handle.cancel()
            self.report(CALL_FAILED, {"code": 408, "reason": reason_for(408), "headers": {}})

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def _hang_up_quietly(self, call: InviteDialog) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(call.bye(), self.request_timeout)

    async def hangup(self, headers: ScenarioHeaders) -> None:
        self.local_end = True
        self._cancel_timer()
        if self.sip is not None:
            await self._bye(headers)
            self.close()
            return
        for handle in self.handles:
            handle.cancel()
        if self._pending <= 0:
            self.close()

    def close(self) -> None:
        self._cancel_timer()
        super().close()

    def abort(self) -> None:
        for handle in self.handles:
            handle.cancel()
        super().abort()


class _NotSip(Exception):
    """An attended transfer names a call that has no SIP dialog to replace."""


def _best_failure(responses: list[Response]) -> Response | None:
    """Which final response a forked call fails with (after RFC 3261 16.7.6): a 6xx, else a busy, else
    the lowest code."""
    if not responses:
        return None
    for wanted in (lambda r: r.status >= 600, lambda r: r.status == 486):
        chosen = [r for r in responses if wanted(r)]
        if chosen:
            return chosen[0]
    return min(responses, key=lambda r: r.status)
