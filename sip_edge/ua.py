"""A small asyncio SIP user agent: transport + transactions + dialogs + digest, glued together.

`UserAgent` is both a UAS and a UAC, for tests and as the base of the emulator's edge:

- UAS: takes INVITE (by default answers 200 with an SDP body; an `on_invite(call)` hook may ring,
  answer or reject instead; 18x and 2xx carry the INVITE's Record-Route), absorbs the ACK and
  retransmits the 2xx until it comes (RFC 3261 13.3.1.4), answers BYE, CANCEL (200, then 487 for the
  INVITE), in-dialog INFO/MESSAGE/OPTIONS/UPDATE and re-INVITE, OPTIONS and REGISTER. UPDATE (RFC 3311)
  works in confirmed dialogs and in the early dialog our 18x made: its offer is answered like a re-INVITE's,
  one without SDP gets a 200 without SDP; an offer before the INVITE's own was answered gets 500 with
  Retry-After (RFC 3311 5.2), a BYE in the early dialog ends the call as a CANCEL would. With a
  `DigestServer`, requests whose method is in `auth_methods` (REGISTER by default) are challenged (401,
  or 407 with `proxy_auth`) and verified against the `credentials` callback. REGISTER keeps bindings in
  `bindings` (a toy location table).
- UAC: `invite()` places a call (answering 401/407 with the credentials given), ACKs the 2xx (and
  its retransmissions) and returns the `InviteDialog`; `InviteDialog.bye()` hangs up; `register()` and `request()`
  run non-INVITE transactions, with digest when challenged.
- an `on_request(request, source)` hook sees every new out-of-dialog request other than INVITE,
  ACK and CANCEL first; a Response it returns is sent instead of the default handling.

Time: the transaction layer is sans-IO; this class feeds it `loop.time()` and arms one
`loop.call_at` for the earliest deadline of the layer and of the 2xx retransmitters.
Hooks for a back-to-back user agent (the emulator's call legs): `InviteDialog.on_request` sees every
in-dialog request that passed the dialog checks (BYE, INFO, MESSAGE, re-INVITE...) before the
default answer goes out, `InviteDialog.on_end` is told when the call ends, `InviteDialog.cancelled` says a CANCEL
ended it, and `InviteDialog.local_sdp` is what a re-INVITE is answered with (its direction mirroring
the offer's). `invite(handle=)` takes an
`InviteHandle` whose `cancel()` sends CANCEL for the pending INVITE (RFC 3261 9.1); `on_call` sees
the answered InviteDialog before `invite()` returns, so no in-dialog request can slip past the hooks.
`InviteDialog` and `InviteHandle` drive the UA only through its public services (`respond`,
`transact`, `send_ack`, `retransmit_2xx`, `cancel_invite`, `bind_dialog`, `release_dialog`, `spawn`,
`timer_headers`).
In-dialog requests (ACK, BYE, INFO, re-INVITE...) follow the dialog's route set (RFC 3261 12.2.1.1): Route
headers from it, sent to its first entry, the remote target as Request-URI behind a loose router (`;lr`).
Session timers (RFC 4028, negotiated by `sip_edge.dialog.answer_session_timer` and friends): an INVITE,
re-INVITE or UPDATE with `Session-Expires` below `min_se` from a UAC that supports timers gets 422 with
`Min-SE`; otherwise the 2xx carries `Session-Expires` with the refresher (and `Require: timer` when the UAC
supports it). Our INVITEs say `Supported: timer` (and `Session-Expires: session_expires` when set), retry a
422 once with its Min-SE, and honour the 2xx's interval and refresher. The refresher side refreshes at half
the interval, with an UPDATE without SDP when the peer's Allow lists UPDATE, else a re-INVITE with our SDP
unchanged; every 2xx'd re-INVITE or UPDATE, ours or theirs, renegotiates and restarts the clock. The other
side, with no refresh by the interval less min(32 s, a third), sends BYE (`Reason: SIP;cause=408`) and the
call ends with `end_reason` SESSION_EXPIRED; so does a refresh of ours answered 408 or 481, or any other
error once the session would have expired.
Reliable provisional responses (RFC 3262, sans-IO in `sip_edge.dialog.ReliableProvisionals` and
`RSeqTracker`): as UAS, an INVITE with `Require: 100rel` gets every 101-199 reliably, one with `Supported: 100rel`
those with SDP (early media); each carries `Require: 100rel` and `RSeq`, is sent again after T1, 2*T1, 4*T1...
until the PRACK naming it arrives (200; a PRACK that names nothing unacknowledged gets 481), and after 64*T1
without one the INVITE is answered 500 and the call ends (`end_reason` NO_PRACK). One is unacknowledged at a
time: the next reliable 18x and the 2xx wait for its PRACK (the 2xx always does, not only when the 18x had SDP,
so a PRACK never crosses it). A PRACK's SDP is the answer to the offer of our 18x. Other requests requiring
100rel still get 420 (we send nothing reliably to them). As UAC, our INVITEs say `Supported: 100rel`; a
reliable 18x is PRACKed in its early dialog (RAck), in order and once: a retransmission or one out of order is
neither PRACKed nor passed to `on_provisional`; the PRACKs' CSeq numbers carry on into the answered dialog.
REFER (RFC 3515, sans-IO in `sip_edge.dialog`): `InviteDialog.refer()` sends one in a confirmed call and passes
each NOTIFY of its implicit subscription (answered 200; 400 unreadable, 481 for no subscription of ours) to
`on_progress` as a `TransferProgress`. A REFER received in a call is answered by the call's `on_refer` hook (a
status: 202 accepts; no hook: 603; 400 without one readable Refer-To; 491 while an accepted one still runs); an
accepted one gets the NOTIFY `SIP/2.0 100 Trying` at once, and `notify_refer(status)` sends the final one.
REFER and NOTIFY outside a dialog get 481.
Not done here: forking (only the first 2xx makes the call), UPDATE or session timers in the early
dialog of a call we place, 491 for offers that cross ours (glare), RFC 3263 DNS (targets must be IP
addresses or resolvable names with ports).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import secrets
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from sip_edge.auth import (
    AuthStatus,
    Challenge,
    CredentialLookup,
    DigestClient,
    DigestParseError,
    DigestServer,
    header_names,
)
from sip_edge.dialog import (
    MIN_SE,
    REL100,
    TIMER,
    Dialog,
    DialogError,
    DialogId,
    DialogState,
    ReferNotifier,
    ReferSubscription,
    ReliableProvisionals,
    RSeqTracker,
    SessionTimer,
    TimerAnswer,
    TransferProgress,
    answer_session_timer,
    build_request,
    create_prack,
    create_refer,
    new_call_id,
    new_tag,
    record_routes,
    refer_target,
    reliable_rseq,
    request_dialog_id,
    response_dialog_id,
    session_timer_of_2xx,
    supports_100rel,
    timer_request_headers,
)
from sip_edge.headers import HeaderError, NameAddr, RAck, parse_min_se
from sip_edge.message import Headers, Request, Response, check_require, make_response
from sip_edge.sdp import answer_direction, direction_of, with_direction
from sip_edge.transaction import (
    AckTimeout,
    Action,
    RequestReceived,
    ResponseReceived,
    SendMessage,
    State,
    TimerConfig,
    TransactionKey,
    TransactionLayer,
    TransactionTerminated,
    TransactionTimeout,
    TransportError,
    Uas2xxRetransmitter,
)
from sip_edge.transport import Address, SipTransport, SipTransportError
from sip_edge.uri import format_host

__all__ = ["DEFAULT_SDP", "NO_PRACK", "SESSION_EXPIRED", "InviteDialog", "CallFailed", "InviteHandle", "UserAgent"]

log = logging.getLogger(__name__)

DEFAULT_SDP = (
    b"v=0\r\no=voxsim 1 1 IN IP4 127.0.0.1\r\ns=voxsim\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    b"m=audio 40000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
    b"a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n"
)
DEFAULT_ALLOW = ("INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "REGISTER", "INFO", "MESSAGE", "UPDATE", "PRACK",
                 "REFER", "NOTIFY")
# Methods we recognise: one of these that we do not allow gets 405, anything else 501 (RFC 3261 8.2.1).
KNOWN_METHODS = frozenset(DEFAULT_ALLOW) | {"PRACK", "SUBSCRIBE", "NOTIFY", "PUBLISH", "REFER"}
# Allow says what its context accepts (RFC 3261 13.2.1, 20.5): a call's requests and responses list what may be
# sent in its dialog (no REGISTER), an answer outside any dialog what may be sent outside one (no BYE, INFO,
# UPDATE, PRACK, REFER, NOTIFY: they get 481 there); an OPTIONS outside a dialog asks for everything.
DIALOG_METHODS = frozenset({"INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "INFO", "MESSAGE", "UPDATE", "PRACK",
                            "REFER", "NOTIFY"})
OUTSIDE_DIALOG_METHODS = frozenset({"INVITE", "ACK", "CANCEL", "OPTIONS", "REGISTER", "MESSAGE"})
IN_DIALOG_OK = frozenset({"INFO", "MESSAGE", "OPTIONS"})
# Out of a dialog these get 481: a REFER refers only within a call here, a NOTIFY reports only on a REFER of ours.
NEEDS_DIALOG = frozenset({"BYE", "INFO", "UPDATE", "PRACK", "REFER", "NOTIFY"})
SUPPORTED = frozenset({TIMER})  # option tags a Require may name (RFC 3261 8.2.2.3)
INVITE_SUPPORTED = SUPPORTED | {REL100}  # and an INVITE's: only its provisional responses can go reliably
REFER_REPLACES_REFUSED = "Not Implemented - attended transfer (Refer-To with Replaces)"
SUPPORTED_HEADER = f"{REL100}, {TIMER}"  # what our 2xx and OPTIONS answers say we support
NO_PRACK = "no PRACK"  # InviteDialog.end_reason when a reliable provisional response was never PRACKed
SESSION_EXPIRED = "session timer expired"  # InviteDialog.end_reason when the session timer ended the call
EXPIRED_REASON = 'SIP;cause=408;text="Session timer expired"'  # the Reason of that BYE (RFC 3326)

InviteHook = Callable[["InviteDialog"], Awaitable[None] | None]
RequestHook = Callable[[Request, Address], Response | None]
ReferHook = Callable[[Request], int]
ProgressHook = Callable[[TransferProgress], None]


class InviteHandle:
    """Lets whoever placed an INVITE cancel it while it is pending (`UserAgent.invite(handle=)`).

    `cancel()` before the INVITE leaves makes `invite()` fail at once with a synthesized 487; while it
    is pending, a CANCEL goes out (after the first provisional response, RFC 3261 9.1) and the INVITE
    ends with the far end's 487. A 2xx that crosses the CANCEL still makes the call: the caller hangs
    it up. `request` is the INVITE last sent (None before the first).
    """

    def __init__(self) -> None:
        self.cancelled = False
        self.request: Request | None = None
        self._ua: UserAgent | None = None
        self._key: TransactionKey | None = None

    def cancel(self) -> None:
        self.cancelled = True
        self._send_cancel()

    def attach(self, ua: UserAgent, key: TransactionKey, request: Request) -> None:
        """Called by `ua` as `request` leaves in client transaction `key`: from now on `cancel()`
        sends a CANCEL (at once if it was asked for already)."""
        self._ua, self._key, self.request = ua, key, request
        if self.cancelled:
            self._send_cancel()

    def _send_cancel(self) -> None:
        if self._ua is not None and self._key is not None:
            self._ua.cancel_invite(self._key)


class CallFailed(Exception):
    """An INVITE ended without a 2xx; `response` is the final response (synthesized 408/503 on
    timeout or transport failure)."""

    def __init__(self, response: Response) -> None:
        super().__init__(f"{response.status} {response.reason}")
        self.response = response


class InviteDialog:
    """One INVITE session, incoming (we are the UAS) or outgoing (we are the UAC).

    `dialog` is the sip_edge.dialog.Dialog once the call is answered (or rings). Incoming calls are
    controlled with `ring()`, `answer()` and `reject()`; both kinds end with `bye()`.
    `confirmed` is set when the 2xx is ACKed (sent or received), `ended` when the call is over.
    An incoming call's first 101-199 makes an early `dialog` (state EARLY), in which the caller may send
    UPDATE or BYE; the 2xx confirms it. `session_timer` is the RFC 4028 timer in force (None: none);
    `peer_allow` the methods the far end's INVITE (or 2xx, for calls we place) listed in Allow.
    `provisionals` sends an incoming call's 18x reliably (RFC 3262) when its INVITE supports 100rel (else None);
    `answer_pending` says our 2xx is waiting for the PRACK of one.
    """

    def __init__(self, ua: UserAgent, direction: str, invite: Request, flow: Address,
                 key: TransactionKey | None = None) -> None:
        self.ua = ua
        self.direction = direction  # "incoming" or "outgoing"
        self.invite = invite
        self.flow = flow  # where the INVITE came from / went to: reused for in-dialog requests
        self.key = key  # the INVITE server transaction (incoming calls)
        self.call_id = invite.call_id
        self.local_tag = new_tag() if direction == "incoming" else invite.from_.tag
        self.dialog: Dialog | None = None
        self.response: Response | None = None  # our final response (incoming) or theirs (outgoing)
        self.remote_sdp = invite.body if direction == "incoming" else b""
        self.confirmed = asyncio.Event()
        self.ended = asyncio.Event()
        self.end_reason = ""
        self.cancelled = False  # a CANCEL ended it (incoming calls)
        self.local_sdp: bytes | None = None  # what a re-INVITE is answered with (default: the UA's)
        self.local_direction = "sendrecv"  # of our last answer to a re-INVITE
        self.sdp_version = 1  # the o= version of what we last sent; up by one when it changes
        self.on_request: Callable[[Request], None] | None = None
        self.on_end: Callable[[InviteDialog], None] | None = None
        self.session_timer: SessionTimer | None = None
        self.peer_allow = _allow_of(invite) if direction == "incoming" else frozenset[str]()
        self.timer_answer: TimerAnswer | None = None  # what the UA negotiated for the INVITE (incoming calls)
        self._retransmitter: Uas2xxRetransmitter | None = None
        self._session_clock: asyncio.TimerHandle | None = None
        self._update_refused = False  # the peer answered our UPDATE refresh 405/501: refresh by re-INVITE
        self.provisionals: ReliableProvisionals | None = None
        if direction == "incoming" and supports_100rel(invite):
            self.provisionals = ReliableProvisionals(invite, t1=ua.layer.timers.t1, retransmit=not flow.reliable)
        self._held_answer: tuple[Response, TimerAnswer | None] | None = None  # our 2xx, waiting for a PRACK
        self._provisional_clock: asyncio.TimerHandle | None = None
        self.on_refer: ReferHook | None = None
        self.notifier: ReferNotifier | None = None  # the REFER we accepted last, whose NOTIFYs we owe
        self._subscriptions: dict[str, tuple[ReferSubscription, ProgressHook]] = {}  # our REFERs, by CSeq

    def __repr__(self) -> str:
        return f"<InviteDialog {self.direction} {self.call_id} ended={self.ended.is_set()}>"

    # -- UAS controls

    def ring(self, status: int = 180, reason: str | None = None, *, headers: Iterable[tuple[str, str]] = (),
             sdp: bytes | None = None) -> None:
        """Sends a provisional response (100 has no To tag; 101-199 do), e.g. 183 with an `sdp` body.

        A 101-199 may create an early dialog, so it carries the INVITE's Record-Route (RFC 3261 12.1.1) and
        a Contact; a 100 Trying is hop-by-hop and creates nothing, so it has neither."""
        if status == 100:
            self._respond(make_response(self.invite, 100, reason, headers=list(headers)))
            return
        contact = self.ua.contact(self.flow.transport)
        extra = [*record_routes(self.invite), ("Contact", contact), ("Allow", ", ".join(self.ua.dialog_allow)),
                 *headers]
        tag = self.local_tag
        if sdp:
            extra.append(("Content-Type", "application/sdp"))
            self.local_sdp = sdp  # what an UPDATE in the early dialog is answered with
        if self._held_answer is not None:
            log.info("not sending %s for %s: its 2xx is on its way", status, self.call_id)
            return
        if self.dialog is None and not self.ended.is_set():
            self.dialog = Dialog.uas(self.invite, local_tag=tag, local_contact=contact, state=DialogState.EARLY,
                                     secure=self.flow.transport == "tls")
            self.ua.bind_dialog(self)
        self._send_provisional(make_response(self.invite, status, reason, to_tag=tag, headers=extra, body=sdp or b""))

    def _send_provisional(self, response: Response) -> None:
        """Sends an 18x as it is, or reliably (RFC 3262) when the INVITE asked for that: then perhaps later,
        once the PRACK of the one before has come."""
        if self.provisionals is None or self.ended.is_set():
            self._respond(response)
            return
        for ready in self.provisionals.send(response, self.ua.now()):
            self._respond(ready)
        self._arm_provisionals()

    def answer(self, sdp: bytes | None = None, *, status: int = 200,
               headers: Iterable[tuple[str, str]] = ()) -> None:
        """Answers 2xx with an SDP body; the 2xx is retransmitted until the ACK arrives.

        The 2xx carries the INVITE's Record-Route (RFC 3261 12.1.1), so the caller's ACK and BYE pass the
        same record-routing proxies; our own route set is that list, in order (`Dialog.uas`). While a reliable
        18x of ours is unacknowledged, the 2xx goes once its PRACK has come (`answer_pending` until then)."""
        if self.ended.is_set():
            log.info("not answering %s: the call has ended (%s)", self.call_id, self.end_reason)
            return
        if self.response is not None:
            raise RuntimeError(f"the call was already answered {self.response.status}")
        if self._held_answer is not None:
            raise RuntimeError("the call was already answered (the 2xx waits for a PRACK)")
        body = self.ua.sdp if sdp is None else sdp
        contact = self.ua.contact(self.flow.transport)
        timer = self.timer_answer
        extra = [*record_routes(self.invite), ("Contact", contact), ("Allow", ", ".join(self.ua.dialog_allow)),
                 ("Supported", SUPPORTED_HEADER), *(timer.headers if timer is not None else ()), *headers]
        if body:
            extra.append(("Content-Type", "application/sdp"))
        response = make_response(self.invite, status, to_tag=self.local_tag, headers=extra, body=body)
        if self.provisionals is not None and self.provisionals.busy:
            self.provisionals.send(response, self.ua.now())  # RFC 3262 3: after the PRACK of our reliable 18x
            self._held_answer = (response, timer)
            return
        self._send_answer(response, timer)

    @property
    def answer_pending(self) -> bool:
        """`answer()` was called, and its 2xx waits for the PRACK of a reliable provisional response."""
        return self._held_answer is not None

    def _send_answer(self, response: Response, timer: TimerAnswer | None) -> None:
        contact = self.ua.contact(self.flow.transport)
        if self.dialog is None:
            self.dialog = Dialog.uas(self.invite, local_tag=self.local_tag, local_contact=contact,
                                     secure=self.flow.transport == "tls")
        self.dialog.state = DialogState.CONFIRMED  # the early dialog of our 18x, if any, keeps its CSeq and target
        self.ua.bind_dialog(self)
        self._respond(response)
        self._retransmitter = self.ua.retransmit_2xx(response, self.flow)
        self.start_session_timer(timer.timer if timer is not None else None)

    def reject(self, status: int = 486, reason: str | None = None, *,
               headers: Iterable[tuple[str, str]] = ()) -> None:
        """Answers with a 300-699 final response; the call ends."""
        if self.response is not None and not self.ended.is_set():
            raise RuntimeError(f"the call was already answered {self.response.status}")
        self._held_answer = None  # a 2xx still waiting for a PRACK never goes
        self._respond(make_response(self.invite, status, reason, to_tag=self.local_tag, headers=headers))
        self.mark_ended(f"rejected {status}")

    def _respond(self, response: Response) -> None:
        if self.direction != "incoming":
            raise RuntimeError("only incoming calls are answered")
        if self.ended.is_set():
            log.info("not sending %s for %s: the call has ended", response.status, self.call_id)
            return
        if response.status >= 200:
            self.response = response
        self.ua.respond(response, self.key)

    @property
    def answered(self) -> bool:
        return self.response is not None and 200 <= self.response.status < 300

    # -- reliable provisional responses (RFC 3262, incoming calls)

    def on_prack(self, request: Request, reply: Callable[[int], None]) -> None:
        """A PRACK in this call's dialog: `reply(200)` when its RAck names our unacknowledged reliable 18x (whose
        retransmissions stop; what waited for it goes out after the 200), `reply(481)` when it names nothing
        unacknowledged, `reply(400)` without a readable RAck."""
        try:
            rack = RAck.parse(request.headers.get("RAck") or "")
        except HeaderError:
            reply(400)
            return
        released = self.provisionals.prack(rack, self.ua.now()) if self.provisionals is not None else None
        if released is None:
            reply(481)
            return
        if request.body:  # the answer to the offer our reliable 18x made (RFC 3262 5)
            self.remote_sdp = request.body
        reply(200)
        for response in released:
            if response.status >= 200 and self._held_answer is not None:
                held, timer = self._held_answer
                self._held_answer = None
                self._send_answer(held, timer)
            else:
                self._respond(response)
        self._arm_provisionals()

    def stop_provisionals(self) -> None:
        """Stops the retransmissions of our reliable 18x (the call ended, or the UA stops)."""
        if self.provisionals is not None:
            self.provisionals.stop()
        if self._provisional_clock is not None:
            self._provisional_clock.cancel()
            self._provisional_clock = None

    def _arm_provisionals(self) -> None:
        if self._provisional_clock is not None:
            self._provisional_clock.cancel()
            self._provisional_clock = None
        deadline = self.provisionals.next_deadline() if self.provisionals is not None else None
        if deadline is not None and not self.ended.is_set():
            self._provisional_clock = asyncio.get_running_loop().call_at(
                deadline, self._provisional_due, deadline)

    def _provisional_due(self, deadline: float) -> None:
        """The retransmission (or the give-up, RFC 3262 3: 5xx to the INVITE) of our unacknowledged 18x."""
        self._provisional_clock = None
        reliable = self.provisionals
        if reliable is None or self.ended.is_set():
            return
        for response in reliable.tick(max(self.ua.now(), deadline)):
            try:
                self._respond(response)
            except Exception as exc:  # the INVITE transaction is gone
                log.debug("no retransmission of %s for %s: %s", response.status, self.call_id, exc)
        if reliable.gave_up:
            log.info("no PRACK for the reliable provisional response of %s: answering 500", self.call_id)
            self._held_answer = None
            self._respond(make_response(self.invite, 500, "Server Internal Error - no PRACK", to_tag=self.local_tag))
            self.mark_ended(NO_PRACK)
            return
        self._arm_provisionals()

    # -- both directions

    async def bye(self, *, headers: Iterable[tuple[str, str]] = (), end_reason: str = "local BYE") -> Response:
        """Hangs up an answered call; returns the response to the BYE. The call ends at once, with
        `end_reason`."""
        if self.dialog is None or self.ended.is_set() or self.dialog.state is not DialogState.CONFIRMED:
            raise RuntimeError("the call is not established")  # RFC 3261 15: a callee sends no BYE while early
        request = self.dialog.create_request("BYE", headers=headers)
        self.mark_ended(end_reason)
        return await self.ua.transact(request, self.destination())

    async def request(self, method: str, *, headers: Iterable[tuple[str, str]] = (), body: bytes = b"",
                      content_type: str | None = None) -> Response:
        """Sends a request inside the call (INFO, MESSAGE, OPTIONS, UPDATE, a re-INVITE) and returns
        the final response; the 2xx of a re-INVITE is ACKed. In an early dialog only UPDATE goes.

        A re-INVITE or UPDATE is a session refresh (RFC 4028 7.4): unless `headers` say otherwise it
        carries the session timer in force, and its 2xx sets the timer anew."""
        dialog = self.dialog
        if dialog is None or self.ended.is_set() or (dialog.state is DialogState.EARLY and method != "UPDATE"):
            raise RuntimeError("the call is not established")
        refresh = method in ("INVITE", "UPDATE") and dialog.state is DialogState.CONFIRMED
        extra = list(headers)
        if refresh:
            own = "Session-Expires" in Headers(extra)  # then only our Supported: timer is added
            extra += [(name, value) for name, value in self.ua.timer_headers(self.session_timer)
                      if not own or name == "Supported"]
        request = dialog.create_request(method, headers=extra, body=body, content_type=content_type)
        dest = self.destination()
        response = await self.ua.transact(request, dest)
        if 200 <= response.status < 300:
            dialog.update_from_response(response)
            if method == "INVITE":
                self.remote_sdp = response.body or self.remote_sdp
                self.ua.send_ack(dialog.create_ack(request.cseq.seq), dest)
            if refresh:
                self.start_session_timer(session_timer_of_2xx(response))
        return response

    # -- REFER (RFC 3515)

    async def refer(self, target: str, *, on_progress: ProgressHook, referred_by: str | None = None,
                    headers: Iterable[tuple[str, str]] = ()) -> tuple[Response, ReferSubscription]:
        """Sends a REFER in the call asking the far end to call `target` (a Refer-To value: see
        `sip_edge.dialog.refer_to`); returns its final response and the subscription it made. From the moment the
        REFER leaves (a NOTIFY may overtake the 202) `on_progress` hears each NOTIFY of the subscription, the last
        one `final`; a REFER refused (300 and up) has no subscription and nothing more is heard."""
        dialog = self.dialog
        if dialog is None or self.ended.is_set() or dialog.state is not DialogState.CONFIRMED:
            raise RuntimeError("the call is not established")
        request = create_refer(dialog, target, referred_by=referred_by, headers=headers)
        subscription = ReferSubscription(request.cseq.seq, self.ua.now(), t1=self.ua.layer.timers.t1)
        self._subscriptions[subscription.id] = (subscription, on_progress)
        response = await self.ua.transact(request, self.destination())
        if not 200 <= response.status < 300:
            self._subscriptions.pop(subscription.id, None)
        return response, subscription

    def on_notify(self, request: Request, reply: Callable[[int], None]) -> None:
        """A NOTIFY in this call: for one of our REFERs' subscriptions it is answered (200, or 400 when it says
        nothing readable) and its progress passed on; any other gets 481 (RFC 6665 4.1.3)."""
        entry = next((entry for entry in self._subscriptions.values() if entry[0].matches(request)), None)
        if entry is None:
            reply(481)
            return
        subscription, on_progress = entry
        status, progress = subscription.notify(request, self.ua.now())
        reply(status)
        if subscription.done:
            self._subscriptions.pop(subscription.id, None)
        if progress is not None:
            try:
                on_progress(progress)
            except Exception:
                log.exception("on_progress of %s failed", self.call_id)

    def notify_refer(self, status: int, reason: str | None = None, *,
                     headers: Iterable[tuple[str, str]] = ()) -> Awaitable[Response]:
        """Tells the far end how the REFER we accepted goes: a NOTIFY with `SIP/2.0 <status> <reason>`, a final
        status (200 and up) ending its subscription. Built at once, so NOTIFYs keep the order they were asked
        in; the result is the response to it. RuntimeError when there is nothing to report on."""
        notifier, dialog = self.notifier, self.dialog
        if notifier is None or notifier.done:
            raise RuntimeError("no REFER waits for a NOTIFY")
        if dialog is None or self.ended.is_set():
            raise RuntimeError("the call has ended")
        try:
            request = notifier.create_notify(dialog, status, reason, headers=headers)
        except DialogError as exc:
            raise RuntimeError(str(exc)) from exc
        return self.ua.transact(request, self.destination())

    def current_sdp(self) -> bytes:
        """Our session description as it stands (direction and o= version of our last answer): the
        offer of a re-INVITE that changes nothing, such as a session refresh."""
        return with_direction(self.local_sdp or self.ua.sdp, self.local_direction, self.sdp_version)

    # -- session timer (RFC 4028)

    def start_session_timer(self, timer: SessionTimer | None) -> None:
        """Restarts the session timer after a refresh (or the 2xx that set it up): the refresher is due
        to refresh after `refresh_after`, the other side to give up after `expire_after`. None: no timer."""
        self.stop_session_timer()
        self.session_timer = timer
        if timer is None or self.ended.is_set():
            return
        loop = asyncio.get_running_loop()
        if timer.we_refresh:
            self._session_clock = loop.call_later(timer.refresh_after, self._refresh_due)
        else:
            self._session_clock = loop.call_later(timer.expire_after, self._session_expired)

    def stop_session_timer(self) -> None:
        """Stops the clock (the timer stays as negotiated until the next refresh): no refresh, no BYE."""
        if self._session_clock is not None:
            self._session_clock.cancel()
            self._session_clock = None

    def _refresh_due(self) -> None:
        self._session_clock = None
        if not self.ended.is_set():
            self.ua.spawn(self._refresh())

    async def _refresh(self) -> None:
        """Our session refresh: an UPDATE without SDP when the peer allows it (no offer to answer), else a
        re-INVITE with our SDP unchanged. 408 or 481 mean the session is gone (RFC 4028 10): BYE."""
        timer = self.session_timer
        by_update = "UPDATE" in self.peer_allow and not self._update_refused
        try:
            if by_update:
                response = await self.request("UPDATE")
            else:
                response = await self.request("INVITE", body=self.current_sdp(), content_type="application/sdp")
        except RuntimeError:
            return  # the call ended meanwhile
        if 200 <= response.status < 300 or self.ended.is_set():
            return
        log.info("session refresh of %s answered %s %s", self.call_id, response.status, response.reason)
        if by_update and response.status in (405, 501):
            self._update_refused = True
            self.ua.spawn(self._refresh())
        elif response.status in (408, 481) or timer is None:
            await self._end_expired()
        elif self._session_clock is None:  # the session stands until it would expire
            self._session_clock = asyncio.get_running_loop().call_later(
                timer.expire_after - timer.refresh_after, self._session_expired)

    def _session_expired(self) -> None:
        self._session_clock = None
        if not self.ended.is_set():
            log.info("session timer of %s expired: hanging up", self.call_id)
            self.ua.spawn(self._end_expired())

    async def _end_expired(self) -> None:
        try:
            await self.bye(headers=[("Reason", EXPIRED_REASON)], end_reason=SESSION_EXPIRED)
        except RuntimeError:
            self.mark_ended(SESSION_EXPIRED)

    async def wait_ended(self, timeout: float | None = None) -> str:
        await asyncio.wait_for(self.ended.wait(), timeout)
        return self.end_reason

    def destination(self) -> Address:
        """Where an in-dialog request goes: the call's own connection while it is open (so a peer
        behind NAT or without a listener is still reached), else the first Route or remote target."""
        if self.dialog is None and not (self.flow.reliable and self.flow in self.ua.transport.connections):
            raise RuntimeError("the call has no dialog")
        return _destination(self.ua, self.flow, self.dialog)

    def mark_ended(self, reason: str) -> None:
        """Records that the call is over (sends nothing): sets `ended` and `end_reason`, stops the
        2xx retransmissions, makes the UA forget the dialog and tells `on_end`. Once only."""
        if self.ended.is_set():
            return
        self.end_reason = reason
        self.ended.set()
        self.stop_session_timer()
        self.stop_provisionals()
        self._held_answer = None
        if self.dialog is not None:
            self.dialog.terminate()
        if self._retransmitter is not None:
            self._retransmitter.done = True
        self.ua.release_dialog(self)
        if self.on_end is not None:
            try:
                self.on_end(self)
            except Exception:
                log.exception("on_end of %s failed", self.call_id)


class _Waiter:
    """A client transaction the UAC core waits on; `rseqs`: which reliable 18x to an INVITE were PRACKed."""

    def __init__(self, request: Request, dest: Address, on_provisional: Callable[[Response], None] | None) -> None:
        self.request = request
        self.dest = dest
        self.future: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        self.on_provisional = on_provisional
        self.rseqs = RSeqTracker()

    def finish(self, response: Response) -> None:
        if not self.future.done():
            self.future.set_result(response)


class UserAgent:
    """A SIP user agent on loopback or any interface; see the module docstring.

    `host` is bound and, unless `advertised_host` says otherwise, advertised in Via and Contact.
    `start(udp=, tcp=, tls=)` binds the listeners (port 0 = any free port, None = no listener);
    TLS needs `server_ssl`. Outbound TLS uses `client_ssl` (e.g. a context trusting the peer's
    self-signed certificate). Session timers: `min_se` is the shortest interval we accept (RFC 4028 says
    no less than 90 s; tests go lower), `session_expires` the interval we ask for in our INVITEs and put
    in 2xx to INVITEs that ask for none (None: a timer only when the peer wants one). `allow` lists the methods
    served; the Allow of a call's messages keeps those usable in a dialog (`dialog_allow`), that of an answer
    outside any dialog those served there (`outside_allow`: `outside_allow` given, else what `allow` has of
    `OUTSIDE_DIALOG_METHODS`), that of an OPTIONS answer outside a dialog all of them. `refer_replaces`: a REFER
    whose Refer-To carries Replaces (an attended transfer the far end asks for) reaches `on_refer`; otherwise
    it is answered 501 (`REFER_REPLACES_REFUSED`).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        *,
        user: str = "voxsim",
        sdp: bytes = DEFAULT_SDP,
        timers: TimerConfig | None = None,
        server_ssl: ssl.SSLContext | None = None,
        client_ssl: ssl.SSLContext | None = None,
        digest: DigestServer | None = None,
        credentials: CredentialLookup | None = None,
        auth_methods: Iterable[str] = ("REGISTER",),
        proxy_auth: bool = False,
        on_invite: InviteHook | None = None,
        on_request: RequestHook | None = None,
        allow: Iterable[str] = DEFAULT_ALLOW,
        outside_allow: Iterable[str] | None = None,
        refer_replaces: bool = False,
        user_agent: str = "voxsim",
        idle_timeout: float = 300.0,
        advertised_host: str | None = None,
        min_se: int = MIN_SE,
        session_expires: int | None = None,
    ) -> None:
        if min_se < 1 or (session_expires is not None and session_expires < 1):
            raise ValueError("session timer intervals are at least 1 s")
        self.host = host
        self.min_se = min_se
        self.session_expires = session_expires
        self.advertised_host = advertised_host or host
        self.user = user
        self.sdp = sdp
        self.server_ssl = server_ssl
        self.digest = digest
        self.credentials = credentials
        self.auth_methods = frozenset(m.upper() for m in auth_methods)
        self.proxy_auth = proxy_auth
        self.on_invite = on_invite
        self.on_request = on_request
        self.allow = tuple(allow)
        # What is served outside a dialog (an `on_request` hook may refuse some of `allow` there).
        outside = OUTSIDE_DIALOG_METHODS if outside_allow is None else {m.upper() for m in outside_allow}
        self.outside_allow = tuple(method for method in self.allow if method in outside)
        self.dialog_allow = tuple(method for method in self.allow if method in DIALOG_METHODS)
        self.refer_replaces = refer_replaces
        self.user_agent = user_agent
        self.layer = TransactionLayer(timers)
        self.transport = SipTransport(self._on_message, client_ssl=client_ssl, idle_timeout=idle_timeout)
        self.calls: dict[DialogId, InviteDialog] = {}
        self.bindings: dict[str, dict[str, float]] = {}  # address of record -> contact -> expiry (time.time)
        self._server_invites: dict[TransactionKey, InviteDialog] = {}
        self._waiters: dict[TransactionKey, _Waiter] = {}
        self._retransmitters: list[Uas2xxRetransmitter] = []
        self._acks: dict[tuple[str, int], tuple[Request, Address]] = {}  # (Call-ID, CSeq) -> our 2xx ACK
        self._early_dialogs: dict[tuple[str, str], Dialog] = {}  # (Call-ID, To tag) -> the early dialog we PRACK in
        self._registrations: dict[str, tuple[str, str, int]] = {}  # AOR -> (Call-ID, From tag, CSeq)
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self, *, udp: int | None = 0, tcp: int | None = 0, tls: int | None = None) -> dict[str, int]:
        """Binds the listeners asked for; returns {"udp": port, "tcp": port, "tls": port}."""
        self._loop = asyncio.get_running_loop()
        if udp is not None:
            await self.transport.listen_udp(self.host, udp)
        if tcp is not None:
            await self.transport.listen_tcp(self.host, tcp)
        if tls is not None:
            if self.server_ssl is None:
                raise ValueError("a TLS listener needs server_ssl")
            await self.transport.listen_tls(self.host, tls, self.server_ssl)
        return dict(self.transport.ports)

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for call in list(self.calls.values()):
            call.stop_session_timer()
            call.stop_provisionals()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for waiter in self._waiters.values():
            waiter.future.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=2)
        await self.transport.close()

    @property
    def ports(self) -> dict[str, int]:
        return dict(self.transport.ports)

    def now(self) -> float:
        return (self._loop or asyncio.get_running_loop()).time()

    def uri(self, transport: str = "udp", user: str | None = None) -> str:
        """Our SIP URI for `transport`, e.g. sip:voxsim@127.0.0.1:5060;transport=tcp."""
        host, port = self._sent_by(transport)
        user = self.user if user is None else user
        params = "" if transport.lower() == "udp" else f";transport={transport.lower()}"
        return f"sip:{user}@{format_host(host)}:{port}{params}"

    def contact(self, transport: str = "udp") -> str:
        return f"<{self.uri(transport)}>"

    def _sent_by(self, transport: str) -> tuple[str, int]:
        local = self.transport.local_address(transport)
        if local is None:  # no listener of that kind: any of ours, so replies still find us
            listeners = (self.transport.local_address(t) for t in self.transport.ports)
            local = next((address for address in listeners if address is not None), (self.host, 5060))
        return self.advertised_host, local[1]

    # ------------------------------------------------------------------ services for InviteDialog and InviteHandle

    def respond(self, response: Response, key: TransactionKey | None = None) -> None:
        """Sends `response` in its server transaction (`key`, or found from the response's Via)."""
        self._run(self.layer.send_response(response, self.now(), key))

    def send_ack(self, ack: Request, dest: Address) -> None:
        """Sends the ACK of a 2xx to INVITE to `dest`, outside any transaction, and keeps it: a
        retransmission of that 2xx (our ACK got lost) gets it again (RFC 3261 13.2.2.4)."""
        self._acks[(ack.call_id, ack.cseq.seq)] = (ack, dest)
        self._run(self.layer.send_stateless(ack, dest))

    def retransmit_2xx(self, response: Response, dest: Address) -> Uas2xxRetransmitter:
        """Starts retransmitting our 2xx to INVITE `response` until its ACK arrives (RFC 3261
        13.3.1.4; not over TCP/TLS). Set `done` on the result to stop it."""
        retransmitter = Uas2xxRetransmitter(response, dest, self.now(), timers=self.layer.timers,
                                            retransmit=not dest.reliable)
        self._retransmitters.append(retransmitter)
        self._arm()
        return retransmitter

    def cancel_invite(self, key: TransactionKey) -> None:
        """Sends CANCEL for the INVITE client transaction `key` (RFC 3261 9.1): with its first
        provisional response if none came yet; nothing once the transaction is over or past cancelling."""
        if key not in self.layer:
            return
        try:
            _, actions = self.layer.cancel(key, self.now())
        except Exception as exc:  # the transaction is past cancelling
            log.debug("no CANCEL for %s: %s", key, exc)
            return
        self._run(actions)

    def bind_dialog(self, call: InviteDialog) -> None:
        """Makes `call.dialog` send its requests from our address for the call's transport, and
        routes the in-dialog requests that arrive for it to `call`."""
        dialog = call.dialog
        if dialog is None:
            raise RuntimeError("the call has no dialog")
        transport = call.flow.transport
        dialog.transport = transport.upper()
        host, port = self._sent_by(transport)
        dialog.sent_by = f"{format_host(host)}:{port}"
        self.calls[dialog.id] = call

    def timer_headers(self, timer: SessionTimer | None) -> list[tuple[str, str]]:
        """What our INVITE, re-INVITE or UPDATE says about session timers (`timer`: the one in force)."""
        return timer_request_headers(timer, min_se=self.min_se, session_expires=self.session_expires)

    def spawn(self, coro: Awaitable[Any]) -> None:
        """Runs `coro` as a task of this UA: failures are logged, and `stop()` cancels it."""
        self._spawn(coro)

    def release_dialog(self, call: InviteDialog) -> None:
        """Forgets an ended call: its dialog (later requests in it get 481) and the ACKs kept for it."""
        if call.dialog is not None:
            self.calls.pop(call.dialog.id, None)
        for ack_key in [k for k in self._acks if k[0] == call.call_id]:
            del self._acks[ack_key]

    # ------------------------------------------------------------------ plumbing

    def _on_message(self, message: Request | Response, source: Address) -> None:
        self._run(self.layer.receive(message, self.now(), source=source, reliable=source.reliable))

    def _run(self, actions: list[Action]) -> None:
        """Carries out what the transaction layer and retransmitters asked for."""
        for action in actions:
            try:
                self._do(action)
            except Exception:
                log.exception("handling %r failed", type(action).__name__)
        self._arm()

    def _do(self, action: Action) -> None:
        if isinstance(action, SendMessage):
            self._spawn(self._send(action))
        elif isinstance(action, RequestReceived):
            self._on_request_event(action)
        elif isinstance(action, ResponseReceived):
            self._on_response(action)
        elif isinstance(action, TransactionTimeout | TransportError):
            waiter = self._waiters.get(action.transaction)
            if waiter is not None:
                status = 408 if isinstance(action, TransactionTimeout) else 503
                waiter.finish(make_response(waiter.request, status))
            call = self._server_invites.get(action.transaction)
            if call is not None and not call.answered:
                call.mark_ended("no ACK for our final response")
        elif isinstance(action, TransactionTerminated):
            self._server_invites.pop(action.transaction, None)
        elif isinstance(action, AckTimeout):
            self._on_ack_timeout(action.response)

    async def _send(self, action: SendMessage) -> None:
        try:
            await self.transport.send(action.message, action.dest)
        except SipTransportError as exc:
            log.info("send failed: %s", exc)
            if action.transaction is not None:
                self._run(self.layer.transport_error(action.transaction, self.now()))

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("task failed", exc_info=task.exception())

    def _arm(self) -> None:
        """Schedules one wake-up at the earliest deadline of the layer and the 2xx retransmitters."""
        if self._loop is None:
            return
        self._retransmitters = [r for r in self._retransmitters if not r.done]
        deadlines = [d for d in (self.layer.next_deadline(), *(r.next_deadline() for r in self._retransmitters))
                     if d is not None]
        when = min(deadlines) if deadlines else None
        if self._timer is not None:
            if when is not None and self._timer.when() == when:
                return
            self._timer.cancel()
            self._timer = None
        if when is not None:
            self._timer = self._loop.call_at(when, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        now = self.now()
        actions = self.layer.tick(now)
        for retransmitter in self._retransmitters:
            actions += retransmitter.tick(now)
        self._run(actions)

    # ------------------------------------------------------------------ UAS

    def _on_request_event(self, event: RequestReceived) -> None:
        request, source = event.request, event.source
        if request.method == "ACK":
            self._on_ack(request)
            return
        key = event.transaction
        assert key is not None
        if request.method == "CANCEL":
            self._on_cancel(request, key, event.invite)
            return
        unsupported = check_require(request, set(INVITE_SUPPORTED if request.method == "INVITE" else SUPPORTED))
        if unsupported:
            self._reply(request, key, 420, headers=[("Unsupported", ", ".join(unsupported))])
            return
        if request.to.tag:
            self._on_in_dialog(request, key)
            return
        if request.method != "INVITE" and self.on_request is not None:
            response = self.on_request(request, source)
            if response is not None:
                self.respond(response, key)
                return
        if request.method in self.auth_methods and not self._authenticated(request, key):
            return
        handler = {"INVITE": self._on_invite, "REGISTER": self._on_register, "OPTIONS": self._on_options}.get(
            request.method
        )
        if handler is not None and request.method in self.allow:
            handler(request, key, source)
        elif request.method in NEEDS_DIALOG:
            self._reply(request, key, 481)
        elif request.method == "MESSAGE" and request.method in self.allow:
            self._reply(request, key, 200)
        elif request.method in KNOWN_METHODS:
            self._reply(request, key, 405, headers=[("Allow", ", ".join(self.outside_allow))])
        else:
            self._reply(request, key, 501, headers=[("Allow", ", ".join(self.outside_allow))])

    def _reply(self, request: Request, key: TransactionKey, status: int, reason: str | None = None, *,
               headers: Iterable[tuple[str, str]] = (), body: bytes = b"") -> None:
        tag = None if status == 100 or request.to.tag else new_tag()
        self.respond(make_response(request, status, reason, to_tag=tag, headers=headers, body=body), key)

    def _on_invite(self, request: Request, key: TransactionKey, source: Address) -> None:
        if not request.headers.get("Contact"):
            self._reply(request, key, 400, "Bad Request - INVITE without Contact")
            return
        timer = answer_session_timer(request, min_se=self.min_se, session_expires=self.session_expires)
        if timer.status != 200:  # 422: the interval is below our Min-SE (RFC 4028 9)
            self._reply(request, key, timer.status, timer.reason, headers=timer.headers)
            return
        call = InviteDialog(self, "incoming", request, source, key)
        call.timer_answer = timer
        self._server_invites[key] = call
        if self.on_invite is None:
            call.answer()
            return
        try:
            result = self.on_invite(call)
        except Exception:
            log.exception("on_invite failed")
            call.reject(500, "Server Internal Error")
            return
        if inspect.isawaitable(result):
            self._spawn(self._await_hook(call, result))

    async def _await_hook(self, call: InviteDialog, result: Awaitable[None]) -> None:
        try:
            await result
        except Exception:
            log.exception("on_invite failed")
            if call.response is None:
                call.reject(500, "Server Internal Error")

    def _on_ack(self, ack: Request) -> None:
        for retransmitter in self._retransmitters:
            if retransmitter.ack_received(ack):
                call = self.calls.get(request_dialog_id(ack))
                if call is not None:
                    if ack.body:
                        call.remote_sdp = ack.body
                    call.confirmed.set()
                return
        # An ACK we have no 2xx for (a retransmission, or ours was never sent): absorbed.

    def _on_cancel(self, cancel: Request, key: TransactionKey, invite: TransactionKey | None) -> None:
        if invite is None:
            self._reply(cancel, key, 481)
            return
        call = self._server_invites.get(invite)
        tag = call.local_tag if call is not None else new_tag()
        self.respond(make_response(cancel, 200, to_tag=tag), key)
        txn = self.layer.get(invite)
        if call is not None and txn is not None and txn.state is State.PROCEEDING:
            call.cancelled = True
            call.reject(487)  # RFC 3261 9.2: the INVITE gets 487 once the CANCEL is answered

    def _on_in_dialog(self, request: Request, key: TransactionKey) -> None:
        call = self.calls.get(request_dialog_id(request))
        if call is None or call.dialog is None:
            self._reply(request, key, 481)
            return
        problem = call.dialog.check_request(request)
        if problem is not None:
            self._reply(request, key, problem)
            return
        early = call.dialog.state is DialogState.EARLY
        if early and (request.method == "INVITE" or (request.method == "UPDATE" and request.body
                                                     and call.local_sdp is None)):
            # RFC 3261 14.2 / RFC 3311 5.2: the INVITE (its offer) still waits for our answer.
            self._reply(request, key, 500, headers=[("Retry-After", str(secrets.randbelow(11)))])
            return
        timer = None
        if request.method in ("INVITE", "UPDATE") and not early:  # a session refresh (RFC 4028 9)
            timer = answer_session_timer(request, min_se=self.min_se, session_expires=self.session_expires)
            if timer.status != 200:
                self._reply(request, key, timer.status, timer.reason, headers=timer.headers)
                return
        if call.on_request is not None:
            try:
                call.on_request(request)
            except Exception:
                log.exception("on_request of %s failed", call.call_id)
        if request.method == "BYE":
            self._reply(request, key, 200)
            if early:  # RFC 3261 15.1.2: the caller gave up; the INVITE gets 487 as for a CANCEL
                call.cancelled = True
                call.reject(487)
            else:
                call.mark_ended("remote BYE")
        elif request.method in ("INVITE", "UPDATE"):
            self._on_offer(call, request, key, timer)
        elif request.method == "PRACK":
            call.on_prack(request, lambda status: self._reply(request, key, status))
        elif request.method == "NOTIFY":
            call.on_notify(request, lambda status: self._reply(request, key, status))
        elif request.method == "REFER" and "REFER" in self.allow:
            self._on_refer(call, request, key)
        elif request.method == "OPTIONS":
            self._reply(request, key, 200, headers=self.capabilities(self.dialog_allow))
        elif request.method in IN_DIALOG_OK:
            self._reply(request, key, 200)
        else:
            self._reply(request, key, 405 if request.method in KNOWN_METHODS else 501,
                        headers=[("Allow", ", ".join(self.dialog_allow))])

    def _on_refer(self, call: InviteDialog, request: Request, key: TransactionKey) -> None:
        """A REFER in a call (RFC 3515 2.4): 400 without one readable Refer-To, 501 for one with Replaces (an attended
        transfer) unless `refer_replaces`, 491 while the last one we accepted still runs, else what the call's
        `on_refer` says (603 Decline without one). A 2xx accepts it: the NOTIFY
        `SIP/2.0 100 Trying` follows at once (2.4.4), the final one is the hook's owner's (`notify_refer`)."""
        try:
            target = refer_target(request)
        except DialogError as exc:
            self._reply(request, key, 400, f"Bad Request - {exc}")
            return
        if any(name.lower() == "replaces" for name in target.uri.headers) and not self.refer_replaces:
            # An attended transfer asked of us (RFC 5589 7): calling the target blind would not replace its call.
            self._reply(request, key, 501, REFER_REPLACES_REFUSED)
            return
        if call.notifier is not None and not call.notifier.done:
            self._reply(request, key, 491, "Request Pending - a transfer is under way")
            return
        status = 603
        if call.on_refer is not None:
            try:
                status = call.on_refer(request)
            except Exception:
                log.exception("on_refer of %s failed", call.call_id)
                status = 500
        self._reply(request, key, status)
        if 200 <= status < 300:
            call.notifier = ReferNotifier(request)
            self._spawn(call.notify_refer(100))

    def _on_offer(self, call: InviteDialog, request: Request, key: TransactionKey, timer: TimerAnswer | None) -> None:
        """A re-INVITE or an UPDATE: 200 with the SDP answer (a re-INVITE without an offer gets ours, an
        UPDATE without one none), the session timer renegotiated; a re-INVITE's 2xx waits for its ACK."""
        reinvite = request.method == "INVITE"
        body = self._reinvite_answer(call, request) if reinvite or request.body else b""
        headers = [("Contact", self.contact(call.flow.transport)), ("Supported", SUPPORTED_HEADER),
                   *(timer.headers if timer is not None else ())]
        if body:
            headers.append(("Content-Type", "application/sdp"))
        response = make_response(request, 200, headers=headers, body=body)
        self.respond(response, key)
        if reinvite:
            self.retransmit_2xx(response, call.flow)
        if timer is not None:
            call.start_session_timer(timer.timer)

    def _reinvite_answer(self, call: InviteDialog, request: Request) -> bytes:
        """The SDP answer to a re-INVITE or UPDATE: our SDP again, its direction mirroring the offer's (RFC 3264
        6.1: a hold, `sendonly`, is answered `recvonly`; `inactive` with `inactive`); a changed answer carries
        the next o= version (RFC 3264 8)."""
        base = call.local_sdp or self.sdp
        if not request.body:  # an offerless re-INVITE: our SDP is the offer
            return call.current_sdp()
        call.remote_sdp = request.body
        direction = answer_direction(direction_of(request.body))
        if direction != call.local_direction:
            call.local_direction = direction
            call.sdp_version += 1
        return with_direction(base, direction, call.sdp_version)

    def _on_options(self, request: Request, key: TransactionKey, source: Address) -> None:
        self._reply(request, key, 200, headers=self.capabilities())

    def capabilities(self, allow: Iterable[str] | None = None) -> list[tuple[str, str]]:
        """The Allow/Accept/Supported headers of an OPTIONS answer (RFC 3261 11.2); `allow`: the methods of its
        context (in a dialog, `dialog_allow`), else all."""
        methods = self.allow if allow is None else allow
        return [("Allow", ", ".join(methods)), ("Accept", "application/sdp"), ("Supported", SUPPORTED_HEADER),
                ("Contact", self.contact()), ("User-Agent", self.user_agent)]

    def _on_register(self, request: Request, key: TransactionKey, source: Address) -> None:
        aor = request.to.uri.aor
        now = time.time()
        table = self.bindings.setdefault(aor, {})
        default_expires = request.expires if request.expires is not None else 3600
        if request.headers.get("Contact", "").strip() == "*":
            table.clear()
        for contact in request.contacts:
            expires = contact.expires if contact.expires is not None else default_expires
            if expires == 0:
                table.pop(str(contact.uri), None)
            else:
                table[str(contact.uri)] = now + expires
        for uri in [u for u, expiry in table.items() if expiry <= now]:
            del table[uri]
        headers = [("Contact", f"<{uri}>;expires={int(expiry - now)}") for uri, expiry in table.items()]
        self._reply(request, key, 200, headers=[*headers, ("Date", time.strftime(
            "%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now)))])

    def _authenticated(self, request: Request, key: TransactionKey) -> bool:
        """Digest check (RFC 3261 22); on failure the challenge or 400 is already sent."""
        if self.digest is None or self.credentials is None:
            return True
        challenge_status = 407 if self.proxy_auth else 401
        challenge_name, answer_name = header_names(challenge_status)
        stale = False
        for value in request.headers.get_lines(answer_name):
            result = self.digest.verify(value, method=request.method, uri=request.uri, now=time.time(),
                                        credentials=self.credentials)
            if result.ok:
                return True
            if result.status is AuthStatus.MALFORMED:
                self._reply(request, key, 400, f"Bad Request - {result.reason}")
                return False
            stale = stale or result.status is AuthStatus.STALE_NONCE
        self._reply(request, key, challenge_status,
                    headers=self.digest.challenge_headers(time.time(), proxy=self.proxy_auth, stale=stale))
        log.debug("challenged %s %s (%s)", request.method, request.uri, challenge_name)
        return False

    def _on_ack_timeout(self, response: Response) -> None:
        for call in list(self.calls.values()):
            if call.response is response and not call.confirmed.is_set():
                log.info("no ACK for the 2xx of %s: hanging up", call.call_id)
                self._spawn(self._bye_quietly(call))

    async def _bye_quietly(self, call: InviteDialog) -> None:
        try:
            await call.bye()
        except Exception as exc:
            log.debug("BYE after ACK timeout failed: %s", exc)

    # ------------------------------------------------------------------ UAC

    async def transact(self, request: Request, dest: Address,
                       on_provisional: Callable[[Response], None] | None = None,
                       handle: InviteHandle | None = None) -> Response:
        """Runs one client transaction for `request` (no digest: see `request()`); returns its final
        response (408/503 synthesized on timeout or transport failure). `on_provisional` sees the
        1xx responses; `handle` can cancel an INVITE."""
        key, actions = self.layer.send_request(request, dest, self.now(), reliable=dest.reliable)
        waiter = _Waiter(request, dest, on_provisional)
        self._waiters[key] = waiter
        try:
            if handle is not None:
                handle.attach(self, key, request)
            self._run(actions)
            return await waiter.future
        finally:
            self._waiters.pop(key, None)

    def _on_response(self, event: ResponseReceived) -> None:
        response = event.response
        waiter = self._waiters.get(event.transaction) if event.transaction else None
        if waiter is not None and not waiter.future.done():
            if response.status < 200:
                if reliable_rseq(response) is not None and not self._prack(waiter, response):
                    return  # a retransmission, or out of order: neither PRACKed nor processed (RFC 3262 4)
                if waiter.on_provisional is not None:
                    waiter.on_provisional(response)
            else:
                waiter.finish(response)
            return
        if 200 <= response.status < 300 and response.cseq.method == "INVITE":
            # A retransmitted 2xx: our ACK got lost, send it again (RFC 3261 13.2.2.4).
            stored = self._acks.get((response.call_id, response.cseq.seq))
            if stored is not None:
                self._run(self.layer.send_stateless(*stored))

    def _prack(self, waiter: _Waiter, response: Response) -> bool:
        """A reliable provisional response to our INVITE: False when it is not the next of its early dialog (a
        retransmission, or one out of order); else True, and a PRACK goes out for it (RFC 3262 4), in the early
        dialog it made (a re-INVITE's: in its call's dialog)."""
        if waiter.request.method != "INVITE":
            return True  # only an INVITE's provisionals go reliably: handle it as any other
        if not waiter.rseqs.accept(response):
            return False
        call = self.calls.get(response_dialog_id(response))
        try:
            if call is not None and call.dialog is not None:
                dialog, dest = call.dialog, call.destination()
            else:
                dialog = self._early_dialog(waiter.request, response, waiter.dest)
                dest = _destination(self, waiter.dest, dialog)
            prack = create_prack(dialog, response)
        except (DialogError, RuntimeError) as exc:
            log.info("no PRACK for %s %s: %s", response.status, response.reason, exc)
            return True
        self._spawn(self._send_prack(prack, dest))
        return True

    def _early_dialog(self, invite: Request, response: Response, flow: Address) -> Dialog:
        """The early dialog a provisional response to our INVITE made (RFC 3261 12.1.2), one per To tag; kept
        until the INVITE ends, so that the answered dialog counts CSeq on from its PRACKs."""
        key = (response.call_id, response.to.tag or "")
        dialog = self._early_dialogs.get(key)
        if dialog is None:
            secure = flow.transport == "tls"
            try:
                dialog = Dialog.uac(invite, response, secure=secure)
            except DialogError:  # an 18x without Contact: the PRACK goes where the INVITE went
                dialog = Dialog.uac(invite, _with_contact(response, invite.uri), secure=secure)
            dialog.transport = flow.transport.upper()
            host, port = self._sent_by(flow.transport)
            dialog.sent_by = f"{format_host(host)}:{port}"
            self._early_dialogs[key] = dialog
        return dialog

    async def _send_prack(self, prack: Request, dest: Address) -> None:
        response = await self.transact(prack, dest)
        if not 200 <= response.status < 300:
            log.info("PRACK for %s answered %s %s", prack.call_id, response.status, response.reason)

    def _build(self, method: str, uri: str, dest: Address, *, from_addr: str, to_addr: str, call_id: str,
               cseq: int, headers: Iterable[tuple[str, str]] = (), body: bytes = b"",
               content_type: str | None = None, contact: bool = True) -> Request:
        host, port = self._sent_by(dest.transport)
        return build_request(
            method, uri, from_addr=from_addr, to_addr=to_addr, call_id=call_id, cseq=cseq,
            contact=self.contact(dest.transport) if contact else None,
            headers=[("User-Agent", self.user_agent), *headers], body=body, content_type=content_type,
            sent_by=f"{format_host(host)}:{port}", transport=dest.transport.upper(),
        )

    async def _with_auth(self, build: Callable[[int, list[tuple[str, str]]], Request], dest: Address,
                         auth: tuple[str, str] | None,
                         on_provisional: Callable[[Response], None] | None = None,
                         handle: InviteHandle | None = None, first_cseq: int = 1) -> tuple[Request, Response]:
        """Sends build(cseq, auth headers); answers 401/407 once (again only if the nonce was stale)."""
        client = DigestClient(*auth) if auth else None
        cseq = first_cseq
        extra: list[tuple[str, str]] = []
        for attempt in range(3):
            request = build(cseq, extra)
            if handle is not None and handle.cancelled:
                return request, make_response(request, 487)
            response = await self.transact(request, dest, on_provisional, handle)
            if response.status not in (401, 407) or client is None:
                return request, response
            challenge_name, answer_name = header_names(response.status)
            challenges = response.headers.get_lines(challenge_name)
            stale = any(_is_stale(value) for value in challenges)
            if attempt > 0 and not stale:
                return request, response  # wrong credentials: do not loop
            try:
                value = client.answer(challenges, request.method, request.uri, request.body)
            except DigestParseError:
                return request, response
            cseq, extra = cseq + 1, [(answer_name, value)]
        return request, response

    async def request(self, method: str, uri: str, *, dest: Address | None = None, to: str | None = None,
                      headers: Iterable[tuple[str, str]] = (), body: bytes = b"", content_type: str | None = None,
                      auth: tuple[str, str] | None = None) -> Response:
        """Sends an out-of-dialog request (OPTIONS, MESSAGE...) and returns the final response."""
        dest = dest or Address.from_uri(uri)
        from_addr, call_id = self.contact(dest.transport), new_call_id(self.advertised_host)
        tag = new_tag()

        def build(cseq: int, extra: list[tuple[str, str]]) -> Request:
            return self._build(method, uri, dest, from_addr=f"{from_addr};tag={tag}", to_addr=to or f"<{uri}>",
                               call_id=call_id, cseq=cseq, headers=[*headers, *extra], body=body,
                               content_type=content_type, contact=method != "MESSAGE")

        return (await self._with_auth(build, dest, auth))[1]

    async def register(self, registrar: str, aor: str | None = None, *, dest: Address | None = None,
                       auth: tuple[str, str] | None = None, expires: int = 3600,
                       contact: str | None = None) -> Response:
        """REGISTERs `contact` (ours by default) for `aor` at `registrar`; answers digest challenges.

        Re-registrations of the same AOR reuse the Call-ID and count CSeq up (RFC 3261 10.2.4).
        """
        dest = dest or Address.from_uri(registrar)
        aor = aor or self.uri(dest.transport)
        call_id, tag, last_cseq = self._registrations.get(aor) or (new_call_id(self.advertised_host), new_tag(), 0)
        binding = contact or self.contact(dest.transport)

        def build(cseq: int, extra: list[tuple[str, str]]) -> Request:
            request = self._build("REGISTER", registrar, dest, from_addr=f"<{aor}>;tag={tag}", to_addr=f"<{aor}>",
                                  call_id=call_id, cseq=last_cseq + cseq, contact=False,
                                  headers=[("Contact", binding), ("Expires", str(expires)), *extra])
            self._registrations[aor] = (call_id, tag, last_cseq + cseq)
            return request

        return (await self._with_auth(build, dest, auth))[1]

    async def invite(self, uri: str, *, dest: Address | None = None, from_addr: str | None = None,
                     to: str | None = None, auth: tuple[str, str] | None = None, sdp: bytes | None = None,
                     headers: Iterable[tuple[str, str]] = (),
                     on_provisional: Callable[[Response], None] | None = None,
                     handle: InviteHandle | None = None,
                     on_call: Callable[[InviteDialog], None] | None = None,
                     max_forwards: int | None = None) -> InviteDialog:
        """Places a call to `uri`; returns the answered InviteDialog (ACK sent) or raises CallFailed.

        `handle` can cancel it while pending; `on_call(call)` runs as soon as the answered InviteDialog exists,
        before the ACK goes out (to set its hooks); `max_forwards` replaces the usual 70 (a B2BUA
        passes on the inbound call's count, so that call loops end). Session timers: see the module
        docstring (`headers` with a Session-Expires of their own replace ours)."""
        dest = dest or Address.from_uri(uri)
        body = self.sdp if sdp is None else sdp
        call_id, tag = new_call_id(self.advertised_host), new_tag()
        from_value = from_addr or f"<{self.uri(dest.transport)}>"
        headers = list(headers)
        interval = None if "Session-Expires" in Headers(headers) else self.session_expires
        timer_headers = _offering_100rel(timer_request_headers(None, min_se=self.min_se, session_expires=interval))

        def build(cseq: int, extra: list[tuple[str, str]]) -> Request:
            request = self._build("INVITE", uri, dest, from_addr=f"{from_value};tag={tag}", to_addr=to or f"<{uri}>",
                                  call_id=call_id, cseq=cseq, body=body, content_type="application/sdp",
                                  headers=[("Allow", ", ".join(self.dialog_allow)), *timer_headers, *headers, *extra])
            if max_forwards is not None:
                request.headers.set("Max-Forwards", str(max_forwards))
            return request

        try:
            invite, response = await self._with_auth(build, dest, auth, on_provisional, handle)
            floor = _min_se_of(response) if response.status == 422 and interval is not None else None
            if floor is not None and interval is not None and floor > interval:
                # RFC 4028 7.1: once more, asking for the peer's Min-SE (a new CSeq, the same Call-ID and tag)
                timer_headers = _offering_100rel(timer_request_headers(None, min_se=floor, session_expires=floor))
                invite, response = await self._with_auth(build, dest, auth, on_provisional, handle,
                                                         first_cseq=invite.cseq.seq + 1)
        finally:
            early = {tag: self._early_dialogs.pop((c, tag)) for c, tag in list(self._early_dialogs) if c == call_id}
        if not 200 <= response.status < 300:
            raise CallFailed(response)
        call = InviteDialog(self, "outgoing", invite, dest)
        call.response = response
        call.peer_allow = _allow_of(response)
        call.remote_sdp = response.body
        call.local_sdp = body or None
        try:
            call.dialog = Dialog.uac(invite, response, secure=dest.transport == "tls")
        except DialogError as exc:
            # RFC 3261 13.2.2.4 still wants the 2xx ACKed; without a Contact we ACK where the INVITE went.
            log.info("2xx without a usable dialog (%s)", exc)
            call.dialog = Dialog.uac(invite, _with_contact(response, uri), secure=dest.transport == "tls")
        pracked = early.get(call.dialog.remote.tag or "")
        if pracked is not None and (pracked.local_cseq or 0) > (call.dialog.local_cseq or 0):
            call.dialog.local_cseq = pracked.local_cseq  # our PRACKs took CSeq numbers of this dialog
        self.bind_dialog(call)
        if on_call is not None:
            on_call(call)
        auth_headers = [(n, v) for n, v in invite.headers.items() if n.lower() in ("authorization",
                                                                                   "proxy-authorization")]
        self.send_ack(call.dialog.create_ack(headers=auth_headers), call.destination())
        call.confirmed.set()
        call.start_session_timer(session_timer_of_2xx(response))
        return call


def _destination(ua: UserAgent, flow: Address, dialog: Dialog | None) -> Address:
    """Where a request in `dialog` goes: `flow` (the INVITE's) while it is an open connection, else the first
    Route or the remote target (on the flow's transport when that URI names none)."""
    if (flow.reliable and flow in ua.transport.connections) or dialog is None:
        return flow
    target = dialog.route_set[0] if dialog.route_set else f"<{dialog.remote_target}>"
    try:
        uri = NameAddr.parse(target).uri
        address = Address.from_uri(uri)
    except ValueError:
        return flow
    if flow.reliable and uri.scheme == "sip" and "transport" not in uri.params:
        # A Contact without ;transport= reached over TCP/TLS: stay on that transport.
        address = Address(flow.transport, address.host, address.port)
    return address


def _allow_of(message: Request | Response) -> frozenset[str]:
    """The methods a message's Allow lists."""
    return frozenset(method.strip().upper() for method in message.headers.get_all("Allow"))


def _offering_100rel(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Our INVITE's timer headers with `100rel` joining `timer` in its Supported (RFC 3262 4)."""
    return [(name, f"{REL100}, {value}") if name == "Supported" else (name, value) for name, value in headers]


def _min_se_of(response: Response) -> int | None:
    """The Min-SE of a 422 (RFC 4028 6), None when missing or malformed."""
    value = response.headers.get("Min-SE")
    try:
        return parse_min_se(value) if value is not None else None
    except HeaderError:
        return None


def _is_stale(challenge: str) -> bool:
    try:
        return Challenge.parse(challenge).stale
    except DigestParseError:
        return False


def _with_contact(response: Response, uri: str) -> Response:
    headers = response.headers.copy()
    headers.set("Contact", f"<{uri}>")
    return Response(response.status, response.reason, headers, response.body)
