"""SIP dialogs (RFC 3261 §12, §13.2.2.4), sans-IO.

A :class:`Dialog` holds what §12 says a dialog is (Call-ID, tags, local and remote URI,
remote target, route set, CSeq numbers) and builds the requests that travel inside it. It
sends nothing: requests go to a :class:`~sip_edge.transaction.TransactionLayer` like any
other, the ACK of a 2xx through ``send_stateless``.

Vias: a dialog does not know which transport and address a request will leave from, so new
requests carry ``SIP/2.0/<transport> <sent_by>;branch=<fresh>;rport`` where ``sent_by``
defaults to :data:`VIA_PLACEHOLDER` and the transport is expected to put its own address there
(the branch, which is what matching uses, is final).

Session timers (RFC 4028) are negotiated here too, as plain functions of the messages: what a UAS
answers to a `Session-Expires` (:func:`answer_session_timer`), what a UAC learns from the 2xx
(:func:`session_timer_of_2xx`), what our own INVITEs and UPDATEs carry (:func:`timer_request_headers`).
The :class:`SessionTimer` they give says when to refresh or, on the other side, when to give up; the
user agent keeps the clock.

Reliable provisional responses (RFC 3262) likewise: :class:`ReliableProvisionals` is the UAS side of one
INVITE (which 18x go reliably, their RSeq, when to send them again, which PRACK acknowledges which, what
waits for it), :class:`RSeqTracker` the UAC side (which reliable 18x to PRACK, in order, once each), and
:func:`create_prack` builds the PRACK. They take the time as an argument; the user agent keeps the clock.

REFER (RFC 3515) inside a dialog: :func:`refer_to` and :func:`create_refer` build a transfer's REFER (a
Replaces, RFC 3891, for an attended one), :class:`ReferSubscription` follows the NOTIFYs its far end sends back
(`message/sipfrag` bodies, :func:`parse_sipfrag`) to a :class:`TransferProgress`; for a REFER we receive,
:func:`refer_target` reads its Refer-To and :class:`ReferNotifier` builds the NOTIFYs we owe it.
"""

from __future__ import annotations

import enum
import re
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

from sip_edge.headers import (
    HeaderError,
    NameAddr,
    RAck,
    SessionExpires,
    bounded_int,
    parse_min_se,
    parse_params,
    parse_rseq,
)
from sip_edge.message import REASON_PHRASES, Headers, Request, Response
from sip_edge.transaction import MAGIC_COOKIE
from sip_edge.uri import SipURI, URIError

__all__ = [
    "MIN_SE",
    "REFER_EVENT",
    "REFER_EXPIRES",
    "REL100",
    "SIPFRAG",
    "TIMER",
    "VIA_PLACEHOLDER",
    "Dialog",
    "DialogError",
    "DialogId",
    "DialogState",
    "RSeqTracker",
    "ReferNotifier",
    "ReferSubscription",
    "ReliableProvisionals",
    "SessionTimer",
    "TimerAnswer",
    "TransferProgress",
    "answer_session_timer",
    "build_request",
    "create_prack",
    "create_refer",
    "new_branch",
    "new_call_id",
    "new_tag",
    "parse_sipfrag",
    "record_routes",
    "refer_target",
    "refer_to",
    "reliable_rseq",
    "replaces_of",
    "request_dialog_id",
    "requires_100rel",
    "response_dialog_id",
    "session_timer_of_2xx",
    "sipfrag",
    "supports_100rel",
    "supports_timer",
    "timer_request_headers",
]

VIA_PLACEHOLDER = "voxsim.invalid"  # RFC 6761 .invalid: never resolvable, easy to spot and replace
MAX_FORWARDS = "70"
MIN_SE = 90  # RFC 4028 4: the lowest Min-SE a UA may ask for, and our default floor
TIMER = "timer"  # RFC 4028's option tag
REL100 = "100rel"  # RFC 3262's option tag


# ----------------------------------------------------------------------------- identifiers

def new_tag() -> str:
    """A From/To tag: 64 random bits, twice the 32 that §19.3 asks for."""
    return secrets.token_hex(8)


def new_branch() -> str:
    """A Via branch with the RFC 3261 magic cookie, unique per transaction (§8.1.1.7)."""
    return MAGIC_COOKIE + secrets.token_hex(12)


def new_call_id(host: str | None = None) -> str:
    """A Call-ID: 128 random bits, with ``@host`` when given (§8.1.1.4)."""
    word = secrets.token_hex(16)
    return f"{word}@{host}" if host else word


@dataclass(frozen=True)
class DialogId:
    """§12: Call-ID, local tag and remote tag, as seen from this side."""

    call_id: str
    local_tag: str
    remote_tag: str


class DialogError(ValueError):
    """A message cannot create or belong to a dialog (missing tag, Contact or CSeq)."""


@contextmanager
def _dialog_error() -> Iterator[None]:
    """Turns the HeaderError or URIError of a message's header accessors into a DialogError."""
    try:
        yield
    except (HeaderError, URIError) as exc:
        raise DialogError(str(exc)) from exc


def request_dialog_id(request: Request) -> DialogId:
    """The id of the dialog an incoming request belongs to: we are the To side (§12.2.2)."""
    with _dialog_error():
        return DialogId(request.call_id, request.to.tag or "", request.from_.tag or "")


def response_dialog_id(response: Response) -> DialogId:
    """The id of the dialog a response (to our request) belongs to: we are the From side."""
    with _dialog_error():
        return DialogId(response.call_id, response.from_.tag or "", response.to.tag or "")


def record_routes(request: Request) -> list[tuple[str, str]]:
    """The Record-Route headers a UAS copies into every 101-199 and 2xx to a dialog-creating request (§12.1.1).

    Copied line by line, in order and as received: each proxy recognises its own entry when the
    response passes back through it, and the caller builds its route set from them (§12.1.2). Without
    them a record-routing proxy is left out of the dialog: the caller's ACK and BYE go around it.
    """
    return [("Record-Route", line) for line in request.headers.get_lines("Record-Route")]


# ----------------------------------------------------------------------------- the dialog

class DialogState(enum.Enum):
    EARLY = "early"
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


@dataclass
class Dialog:
    """One dialog; create it with :meth:`uas` or :meth:`uac`."""

    role: Literal["uac", "uas"]
    call_id: str
    local: NameAddr  # our From in requests we send; carries the local tag
    remote: NameAddr  # our To in requests we send; carries the remote tag
    remote_target: str
    route_set: list[str]
    local_cseq: int | None
    remote_cseq: int | None
    state: DialogState
    secure: bool = False
    local_contact: str | None = None  # sent in target-refresh requests (re-INVITE, UPDATE)
    sent_by: str = VIA_PLACEHOLDER
    transport: str = "UDP"
    invite_cseq: int | None = field(default=None, repr=False)  # the last INVITE we sent, for ACK

    # -- creation

    @classmethod
    def uas(
        cls,
        request: Request,
        *,
        local_tag: str | None = None,
        local_contact: str | None = None,
        state: DialogState = DialogState.CONFIRMED,
        secure: bool = False,
    ) -> Dialog:
        """The dialog our 101-199 (with To tag) or 2xx to ``request`` creates (§12.1.1).

        ``local_tag`` is the To tag of that response; pass it so the response and the dialog
        agree (one is made when None). ``secure``: the request came over TLS to a sips URI.
        """
        with _dialog_error():
            local, remote, cseq = request.to, request.from_, request.cseq
        local.tag = local_tag or local.tag or new_tag()
        return cls(
            role="uas",
            call_id=_call_id(request),
            local=local,
            remote=remote,
            remote_target=_contact_uri(request),
            route_set=request.headers.get_all("Record-Route"),
            local_cseq=None,
            remote_cseq=cseq.seq,
            state=state,
            secure=secure,
            local_contact=local_contact,
        )

    @classmethod
    def uac(cls, request: Request, response: Response, *, secure: bool = False) -> Dialog:
        """The dialog a 101-199 with To tag, or a 2xx, to our ``request`` creates (§12.1.2)."""
        if not 101 <= response.status < 300:
            raise DialogError(f"a {response.status} creates no dialog")
        with _dialog_error():
            remote = response.to
        if remote.tag is None and response.status < 200:
            raise DialogError("a provisional response without To tag creates no dialog")
        with _dialog_error():
            cseq, local = request.cseq, request.from_
        contact = request.headers.get("Contact")
        return cls(
            role="uac",
            call_id=_call_id(request),
            local=local,
            remote=remote,
            remote_target=_contact_uri(response),
            route_set=list(reversed(response.headers.get_all("Record-Route"))),
            local_cseq=cseq.seq,
            remote_cseq=None,
            state=DialogState.CONFIRMED if response.status >= 200 else DialogState.EARLY,
            secure=secure,
            local_contact=contact,
            invite_cseq=cseq.seq if cseq.method == "INVITE" else None,
        )

    @property
    def id(self) -> DialogId:
        return DialogId(self.call_id, self.local.tag or "", self.remote.tag or "")

    # -- updates from the peer

    def update_from_response(self, response: Response) -> None:
        """A response to a request of ours in this dialog (§12.2.1.2, §13.2.2.4).

        A 2xx to an INVITE confirms an early dialog and, from the UAC side, recomputes its
        route set; a 2xx to a target-refresh request (INVITE, UPDATE) takes the new Contact.
        """
        with _dialog_error():
            cseq = response.cseq
        if not 200 <= response.status < 300 or cseq.method not in ("INVITE", "UPDATE"):
            return
        if cseq.method == "INVITE" and self.state is DialogState.EARLY:
            self.state = DialogState.CONFIRMED
            if self.role == "uac":
                self.route_set = list(reversed(response.headers.get_all("Record-Route")))
        if response.headers.get("Contact"):
            self.remote_target = _contact_uri(response)

    def check_request(self, request: Request) -> int | None:
        """Check an incoming in-dialog request (§12.2.2); None if fine, else the status to send.

        A CSeq lower than the last one seen gets 500. ACK and CANCEL reuse their INVITE's number
        and never move it. A target refresh (re-INVITE, UPDATE) takes the new Contact.
        """
        try:
            cseq = request.cseq
        except HeaderError:
            return 400
        if request.method in ("ACK", "CANCEL"):
            return None
        if self.remote_cseq is not None and cseq.seq < self.remote_cseq:
            return 500
        self.remote_cseq = cseq.seq
        if request.method in ("INVITE", "UPDATE") and request.headers.get("Contact"):
            try:
                self.remote_target = _contact_uri(request)
            except DialogError:
                return 400
        return None

    def terminate(self) -> None:
        self.state = DialogState.TERMINATED

    # -- requests inside the dialog

    def create_request(
        self,
        method: str,
        *,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
        content_type: str | None = None,
    ) -> Request:
        """A new request in this dialog (§12.2.1.1): BYE, re-INVITE, INFO, MESSAGE, OPTIONS...

        Increments the local CSeq. ACK of a 2xx: :meth:`create_ack`; CANCEL is built from its
        INVITE by ``transaction.build_cancel``.
        """
        if method in ("ACK", "CANCEL"):
            raise DialogError(f"{method} does not take a new CSeq: use create_ack or build_cancel")
        if self.state is DialogState.TERMINATED:
            raise DialogError("the dialog is terminated")
        self.local_cseq = (self.local_cseq or 0) + 1  # §12.2.1.1: empty means start anywhere
        if method == "INVITE":
            self.invite_cseq = self.local_cseq
        extra = list(headers)
        if method in ("INVITE", "UPDATE") and self.local_contact and not _has(extra, "Contact"):
            extra.insert(0, ("Contact", self.local_contact))
        return self._request(method, self.local_cseq, extra, body, content_type)

    def create_ack(
        self,
        cseq: int | None = None,
        *,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
        content_type: str | None = None,
    ) -> Request:
        """The ACK of a 2xx to INVITE (§13.2.2.4): a new branch, the INVITE's CSeq number.

        ``cseq`` defaults to the last INVITE this dialog sent (or created it). Copy the
        INVITE's Authorization/Proxy-Authorization through ``headers`` if it had any.
        """
        number = cseq if cseq is not None else self.invite_cseq
        if number is None:
            raise DialogError("no INVITE to acknowledge")
        return self._request("ACK", number, list(headers), body, content_type)

    def _request(
        self, method: str, number: int, extra: list[tuple[str, str]], body: bytes, content_type: str | None
    ) -> Request:
        request_uri, routes = self._target_and_routes()
        pairs: list[tuple[str, str]] = [
            ("Via", f"SIP/2.0/{self.transport} {self.sent_by};branch={new_branch()};rport"),
            *[("Route", route) for route in routes],
            ("Max-Forwards", MAX_FORWARDS),
            ("From", str(self.local)),
            ("To", str(self.remote)),
            ("Call-ID", self.call_id),
            ("CSeq", f"{number} {method}"),
            *extra,
        ]
        if body and content_type and not _has(extra, "Content-Type"):
            pairs.append(("Content-Type", content_type))
        return Request(method, request_uri, Headers(pairs), body)

    def _target_and_routes(self) -> tuple[str, list[str]]:
        """Request-URI and Route values (§12.2.1.1): loose routing keeps the remote target as
        the Request-URI; a strict router first in the set takes its place (RFC 2543 style)."""
        if not self.route_set:
            return self.remote_target, []
        first = _name_addr(self.route_set[0])
        if "lr" in first.uri.params:
            return self.remote_target, list(self.route_set)
        uri = first.uri.copy()
        uri.headers = {}
        uri.params.pop("method", None)  # not allowed in a Request-URI (§19.1.1 Table 1)
        return str(uri), [*self.route_set[1:], f"<{self.remote_target}>"]


# ----------------------------------------------------------------------------- session timers (RFC 4028)

@dataclass(frozen=True)
class SessionTimer:
    """A dialog's negotiated session timer: the session interval and whether this side refreshes."""

    interval: int
    we_refresh: bool

    @property
    def refresh_after(self) -> float:
        """RFC 4028 10: the refresher sends its refresh half way through the interval."""
        return self.interval / 2

    @property
    def expire_after(self) -> float:
        """RFC 4028 10: the other side, with no refresh by then, sends BYE this long after the last one:
        the interval less min(32 s, a third of it), so the BYE goes out before the session expires."""
        return self.interval - min(32, self.interval / 3)


@dataclass(frozen=True)
class TimerAnswer:
    """What a UAS does about session timers with an INVITE, re-INVITE or UPDATE (RFC 4028 9).

    `status` 200: go on, with `headers` in the 2xx and `timer` (None: no session timer) from then on;
    422 (interval below our Min-SE) or 400 (malformed): refuse with that status, `reason` and `headers`.
    """

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    timer: SessionTimer | None = None
    reason: str | None = None


def supports_timer(message: Request | Response) -> bool:
    """The sender knows session timers: `timer` in its Supported (or Require)."""
    tags = message.headers.get_all("Supported") + message.headers.get_all("Require")
    return TIMER in (tag.strip().lower() for tag in tags)


def answer_session_timer(request: Request, *, min_se: int = MIN_SE, session_expires: int | None = None) -> TimerAnswer:
    """The UAS side of RFC 4028 9 for `request`, given our floor `min_se` and the interval we want
    when the request asks for none (`session_expires`; None: no timer unless asked for).

    An interval below `min_se` from a UAC that supports timers gets 422 with our Min-SE; from one that
    does not (a proxy asked for the timer) it is raised to `min_se`, as voxsim refreshes then and the UAC
    never learns the interval. Without a refresher chosen, voxsim refreshes itself (so a peer that claims
    support but never refreshes keeps its call). A UAC that supports timers gets `Require: timer`.
    """
    supported = supports_timer(request)
    try:
        offered = _session_expires(request)
        floor = max([min_se, *(parse_min_se(v) for v in request.headers.get_lines("Min-SE"))])
    except HeaderError as exc:
        return TimerAnswer(400, reason=f"Bad Request - {exc}")
    if offered is None and session_expires is None:
        return TimerAnswer(200)
    if offered is not None and offered.interval < min_se and supported:
        return TimerAnswer(422, (("Min-SE", str(min_se)),))
    interval = max(offered.interval if offered is not None else session_expires or 0, floor)
    refresher = (offered.refresher if offered is not None and supported else None) or "uas"
    headers = [("Session-Expires", str(SessionExpires(interval, refresher)))]
    if supported:
        headers.append(("Require", TIMER))
    return TimerAnswer(200, tuple(headers), SessionTimer(interval, we_refresh=refresher == "uas"))


def session_timer_of_2xx(response: Response) -> SessionTimer | None:
    """The UAC side of RFC 4028 7.2: the 2xx to our INVITE, re-INVITE or UPDATE says the interval and
    who refreshes (`refresher=uac`, or none given: we do). No Session-Expires, or a malformed one:
    no session timer."""
    try:
        offered = _session_expires(response)
    except HeaderError:
        return None
    if offered is None:
        return None
    return SessionTimer(offered.interval, we_refresh=offered.refresher != "uas")


def timer_request_headers(timer: SessionTimer | None, *, min_se: int = MIN_SE,
                          session_expires: int | None = None) -> list[tuple[str, str]]:
    """What our INVITE, re-INVITE or UPDATE says about session timers (RFC 4028 7.1): always `Supported:
    timer`; inside a session with a timer its interval and refresher (from the view of this request's
    transaction: `uac` when we refresh); otherwise `session_expires` when we want one."""
    headers = [("Supported", TIMER)]
    if timer is not None:
        refresher = "uac" if timer.we_refresh else "uas"
        headers += [("Session-Expires", str(SessionExpires(timer.interval, refresher))),
                    ("Min-SE", str(min(min_se, timer.interval)))]
    elif session_expires is not None:
        headers += [("Session-Expires", str(session_expires)), ("Min-SE", str(min(min_se, session_expires)))]
    return headers


def _session_expires(message: Request | Response) -> SessionExpires | None:
    value = message.headers.get("Session-Expires")
    return SessionExpires.parse(value) if value is not None else None


# ----------------------------------------------------------------------------- reliable provisionals (RFC 3262)

def _option_tags(message: Request | Response, *names: str) -> set[str]:
    return {tag.strip().lower() for name in names for tag in message.headers.get_all(name)}


def supports_100rel(message: Request | Response) -> bool:
    """The sender knows reliable provisional responses: `100rel` in its Supported (or Require)."""
    return REL100 in _option_tags(message, "Supported", "Require")


def requires_100rel(message: Request | Response) -> bool:
    """The sender insists on them: `Require: 100rel`."""
    return REL100 in _option_tags(message, "Require")


def reliable_rseq(response: Response) -> int | None:
    """The RSeq of a reliable provisional response (a 101-199 with `Require: 100rel` and a well-formed `RSeq`),
    else None: an unreliable one, handled as RFC 3261 has it."""
    value = response.headers.get("RSeq")
    if not 101 <= response.status <= 199 or value is None or not requires_100rel(response):
        return None
    try:
        return parse_rseq(value)
    except HeaderError:
        return None


class ReliableProvisionals:
    """The UAS side of RFC 3262 3 for one INVITE we answer.

    Which 18x go reliably: every 101-199 when the INVITE said `Require: 100rel`; with only `Supported: 100rel`,
    those with SDP (early media, where a lost answer leaves the caller deaf), while a 180 without SDP goes as
    RFC 3261 has it. A reliable one leaves with `Require: 100rel` and `RSeq` (a random start below 2**31, one up
    each time); until the PRACK whose `RAck` names it arrives, `tick` gives it again after T1, 2*T1, 4*T1...
    (with no cap at T2: RFC 3262 3, as PRACKs, unlike the ACKs of a 2xx, are not prompted by the copies); after
    64*T1 without one, `gave_up` is set and the INVITE is to be answered 5xx. `retransmit=False` (TCP, TLS) keeps
    only that limit.

    One reliable provisional is unacknowledged at a time: the next reliable one waits for its PRACK, and so does
    a 2xx, always (RFC 3262 3 requires it when the unacknowledged one carried SDP, and allows it otherwise; it
    also means a PRACK never crosses our 2xx to get 481). Unreliable provisionals and 3xx-6xx finals never wait;
    a final other than 2xx `stop`s everything.
    """

    def __init__(self, invite: Request, *, t1: float = 0.5, retransmit: bool = True,
                 first_rseq: int | None = None) -> None:
        self.required = requires_100rel(invite)
        self.supported = self.required or supports_100rel(invite)
        self.invite_cseq = invite.cseq.seq
        self.t1 = t1
        self.retransmit = retransmit
        self.next_rseq = first_rseq if first_rseq is not None else secrets.randbelow(2**31 - 1) + 1
        self.unacked: Response | None = None  # the reliable provisional waiting for its PRACK
        self.waiting: list[Response] = []  # what waits for that PRACK, in order
        self.gave_up = False
        self._rseq = 0  # of `unacked`
        self._interval = t1
        self._next: float | None = None
        self._give_up: float | None = None

    def reliable(self, response: Response) -> bool:
        """Whether `response` goes reliably (see the class docstring)."""
        if not 101 <= response.status <= 199:
            return False
        return self.required or (self.supported and bool(response.body))

    @property
    def busy(self) -> bool:
        """A reliable provisional is unacknowledged, or something waits: a 2xx now would have to wait too."""
        return self.unacked is not None or bool(self.waiting)

    def send(self, response: Response, now: float) -> list[Response]:
        """What of `response`, ours to the INVITE, goes out now: itself (with `Require: 100rel` and `RSeq` when
        reliable), or nothing while it waits for a PRACK. Nothing goes once we gave up."""
        if self.gave_up:
            return []
        if response.status >= 300:
            self.stop()
            return [response]
        reliable = self.reliable(response)
        if (reliable or response.status >= 200) and self.busy:
            self.waiting.append(response)
            return []
        return [self._start(response, now) if reliable else response]

    def prack(self, rack: RAck, now: float) -> list[Response] | None:
        """A PRACK with `rack` arrived in the dialog: None when it acknowledges nothing unacknowledged (RFC 3262
        3: answer it 481); else it is answered 200, the retransmissions stop and what waited goes out (the next
        reliable provisional, now unacknowledged in turn, or the 2xx)."""
        if self.unacked is None or rack != RAck(self._rseq, self.invite_cseq, "INVITE"):
            return None
        self._clear()
        released: list[Response] = []
        while self.waiting and self.unacked is None:
            response = self.waiting.pop(0)
            released.append(self._start(response, now) if self.reliable(response) else response)
        return released

    def next_deadline(self) -> float | None:
        if self.unacked is None or self._give_up is None:
            return None
        if not self.retransmit or self._next is None:
            return self._give_up
        return min(self._next, self._give_up)

    def tick(self, now: float) -> list[Response]:
        """The retransmission due by `now` (one copy however late the tick); at 64*T1 `gave_up` instead."""
        if self.unacked is None or self._give_up is None:
            return []
        if now >= self._give_up:
            self.stop()
            self.gave_up = True
            return []
        if not self.retransmit or self._next is None or now < self._next:
            return []
        while self._next <= now:
            self._interval *= 2
            self._next += self._interval
        return [self.unacked]

    def stop(self) -> None:
        """No more retransmissions, nothing waits (a final response went out, or the call ended)."""
        self._clear()
        self.waiting.clear()

    def _clear(self) -> None:
        self.unacked = None
        self._next = self._give_up = None

    def _start(self, response: Response, now: float) -> Response:
        headers = response.headers.copy()
        headers.add("Require", REL100)
        headers.add("RSeq", str(self.next_rseq))
        stamped = Response(response.status, response.reason, headers, response.body)
        self._rseq, self.next_rseq = self.next_rseq, self.next_rseq + 1
        self.unacked = stamped
        self._interval = self.t1
        self._next, self._give_up = now + self.t1, now + 64 * self.t1
        return stamped


class RSeqTracker:
    """The UAC side of RFC 3262 4 for one INVITE we sent: which reliable provisional responses to PRACK.

    Per early dialog (the To tag of the 18x: a forked INVITE has one per callee), the first reliable one is
    taken whatever its RSeq, then only the next number. A retransmission (an RSeq already taken) or one out of
    order is neither PRACKed nor processed; the PRACK's own retransmissions cover a PRACK that got lost.
    """

    def __init__(self) -> None:
        self._last: dict[str, int] = {}

    def accept(self, response: Response) -> bool:
        """True for a reliable provisional response that is new and in order (PRACK it, then handle it)."""
        rseq = reliable_rseq(response)
        try:
            tag = response.to.tag or ""
        except HeaderError:
            return False
        if rseq is None:
            return False
        last = self._last.get(tag)
        if last is not None and rseq != last + 1:
            return False
        self._last[tag] = rseq
        return True


def create_prack(dialog: Dialog, response: Response) -> Request:
    """The PRACK of the reliable provisional `response`, in `dialog` (the early dialog it made): a new CSeq,
    `RAck: <its RSeq> <its CSeq number> <its CSeq method>` (RFC 3262 7.2)."""
    rseq = reliable_rseq(response)
    if rseq is None:
        raise DialogError(f"a {response.status} without RSeq and Require: 100rel takes no PRACK")
    with _dialog_error():
        cseq = response.cseq
    return dialog.create_request("PRACK", headers=[("RAck", str(RAck(rseq, cseq.seq, cseq.method)))])


# ----------------------------------------------------------------------------- new requests

def build_request(
    method: str,
    request_uri: str,
    *,
    from_addr: str,
    to_addr: str,
    contact: str | None = None,
    call_id: str | None = None,
    cseq: int = 1,
    routes: Iterable[str] = (),
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
    content_type: str | None = None,
    sent_by: str = VIA_PLACEHOLDER,
    transport: str = "UDP",
) -> Request:
    """A request outside any dialog (§8.1.1): an initial INVITE, a REGISTER, an OPTIONS.

    ``from_addr`` gets a fresh tag unless it has one; ``to_addr`` is used as given (no tag).
    """
    local = _name_addr(from_addr)
    local.tag = local.tag or new_tag()
    pairs: list[tuple[str, str]] = [
        ("Via", f"SIP/2.0/{transport} {sent_by};branch={new_branch()};rport"),
        *[("Route", route) for route in routes],
        ("Max-Forwards", MAX_FORWARDS),
        ("From", str(local)),
        ("To", to_addr),
        ("Call-ID", call_id or new_call_id()),
        ("CSeq", f"{cseq} {method}"),
    ]
    if contact:
        pairs.append(("Contact", contact))
    pairs += headers
    if body and content_type:
        pairs.append(("Content-Type", content_type))
    return Request(method, request_uri, Headers(pairs), body)


# ----------------------------------------------------------------------------- helpers

def _has(pairs: Iterable[tuple[str, str]], name: str) -> bool:
    return name in Headers(pairs)


def _name_addr(value: str) -> NameAddr:
    with _dialog_error():
        return NameAddr.parse(value)


def _call_id(message: Request | Response) -> str:
    with _dialog_error():
        value = message.call_id
    if not value:
        raise DialogError("missing Call-ID")
    return value


def _contact_uri(message: Request | Response) -> str:
    """The remote target: the URI of the (single) Contact (§12.1.1, §12.1.2)."""
    with _dialog_error():
        contacts = message.contacts
    if not contacts:
        raise DialogError("a dialog needs a Contact")
    return str(contacts[0].uri)


# ----------------------------------------------------------------------------- REFER and its NOTIFYs (RFC 3515)

REFER_EVENT = "refer"  # the event package of a REFER's implicit subscription (RFC 3515 2.4.4)
SIPFRAG = "message/sipfrag;version=2.0"  # a NOTIFY's body: the status line the referred request got (RFC 3420)
REFER_EXPIRES = 60  # seconds our Subscription-State promises while a transfer we were asked for runs
_SIPFRAG_LINE = re.compile(r"SIP/2\.0 ([1-6][0-9][0-9])(?: (.*))?", re.IGNORECASE)
_TERMINATED_CODES = {"timeout": 408, "rejected": 603}  # RFC 6665 4.1.3 reasons, as a failed transfer's code


def sipfrag(status: int, reason: str | None = None) -> bytes:
    """A NOTIFY body saying how the referred request went: `SIP/2.0 200 OK` (RFC 3515 2.4.5)."""
    text = " ".join((reason or REASON_PHRASES.get(status, "")).split()) or str(status)
    return f"SIP/2.0 {status} {text}\r\n".encode()


def parse_sipfrag(body: bytes) -> tuple[int, str] | None:
    """The status and reason of a sipfrag body's status line (its first line); None when it holds none."""
    first = body.decode("utf-8", "replace").lstrip("\r\n").split("\n", 1)[0].strip()
    match = _SIPFRAG_LINE.fullmatch(first)
    return (int(match.group(1)), (match.group(2) or "").strip()) if match else None


def replaces_of(dialog: DialogId) -> str:
    """A Replaces header value naming `dialog` (ours) to its far end (RFC 3891 3): the far end compares to-tag
    with its local tag, so to-tag is our remote tag and from-tag our local one."""
    return f"{dialog.call_id};to-tag={dialog.remote_tag};from-tag={dialog.local_tag}"


def refer_to(target: str, *, replaces: DialogId | None = None, headers: Iterable[tuple[str, str]] = ()) -> str:
    """The Refer-To value for `target` (a SIP URI): `headers` and a Replaces for an attended transfer (RFC 3891
    and RFC 5589 7) go in as URI headers, which the transferee copies into its INVITE (RFC 3261 19.1.5)."""
    with _dialog_error():
        uri = SipURI.parse(target)
    uri.headers.update(headers)
    if replaces is not None:
        uri.headers["Replaces"] = replaces_of(replaces)
    return f"<{uri}>"


def create_refer(dialog: Dialog, target: str, *, referred_by: str | None = None,
                 headers: Iterable[tuple[str, str]] = ()) -> Request:
    """A REFER in `dialog` asking its far end to send a request to `target` (a Refer-To value, see
    :func:`refer_to`); it carries our Contact (RFC 3515 2.4.1) and Referred-By (RFC 3892) when given."""
    extra = [("Refer-To", target), *([("Referred-By", referred_by)] if referred_by else []), *headers]
    if dialog.local_contact and not _has(extra, "Contact"):
        extra.insert(0, ("Contact", dialog.local_contact))
    return dialog.create_request("REFER", headers=extra)


def refer_target(request: Request) -> NameAddr:
    """The one Refer-To of a REFER we received; DialogError (answer 400, RFC 3515 2.4.1) when it has none,
    several, or one that cannot be read."""
    lines = request.headers.get_lines("Refer-To")
    if len(lines) != 1:
        raise DialogError(f"a REFER needs exactly one Refer-To, not {len(lines)}")
    return _name_addr(lines[0])


@dataclass(frozen=True)
class TransferProgress:
    """What a NOTIFY of a REFER's subscription said: the referred request's `status` and `reason`; `final` once
    the transfer is over (a final status, or the subscription terminated without one: then `status` is 408 for
    reason=timeout, 603 for rejected, 487 otherwise)."""

    status: int
    reason: str
    final: bool

    @property
    def succeeded(self) -> bool:
        return self.final and 200 <= self.status < 300


class ReferSubscription:
    """The REFER-issuer's side of one REFER's implicit subscription (RFC 3515 2.4.4): which NOTIFYs belong to it
    (`Event: refer;id=<the REFER's CSeq number>`, the id optional for the first REFER of a dialog) and what each
    says. `expires_at` is when we stop waiting: 64*T1 after the REFER for the first NOTIFY (RFC 6665 4.1.2.4),
    then what each NOTIFY's Subscription-State says (`expires`), until the final one."""

    def __init__(self, cseq: int, now: float, *, t1: float = 0.5) -> None:
        self.id = str(cseq)
        self.expires_at = now + 64 * t1
        self.done = False

    def matches(self, notify: Request) -> bool:
        """This NOTIFY is for this subscription (an `Event: refer` whose id is ours or missing)."""
        event, params = _event_of(notify)
        return event == REFER_EVENT and params.get("id") in (None, self.id)

    def notify(self, request: Request, now: float) -> tuple[int, TransferProgress | None]:
        """A NOTIFY of ours: the status to answer it with (200; 400 without a Subscription-State or a sipfrag
        status line; 481 once the subscription is over) and the progress it reports (None when refused)."""
        if self.done:
            return 481, None
        state_line = request.headers.get("Subscription-State")
        fragment = parse_sipfrag(request.body)
        if state_line is None or fragment is None:
            return 400, None
        state, _, rest = state_line.partition(";")
        try:
            params = parse_params(rest)
        except HeaderError:
            params = {}
        status, reason = fragment
        terminated = state.strip().lower() == "terminated"
        if terminated and status < 200:
            status = _TERMINATED_CODES.get((params.get("reason") or "").lower(), 487)
            reason = REASON_PHRASES.get(status, reason)
        expires = bounded_int(params.get("expires") or "", 2**32 - 1)
        if expires is not None:
            self.expires_at = now + expires
        final = terminated or status >= 200
        self.done = final
        return 200, TransferProgress(status, reason or REASON_PHRASES.get(status, ""), final)


class ReferNotifier:
    """The REFER-recipient's side of one REFER it accepted (202): the NOTIFYs telling the REFER-issuer how the
    referred request goes, `SIP/2.0 100 Trying` first, then a final status that ends the subscription."""

    def __init__(self, refer: Request) -> None:
        with _dialog_error():
            self.id = str(refer.cseq.seq)
        self.done = False

    def create_notify(self, dialog: Dialog, status: int, reason: str | None = None, *,
                      expires: int = REFER_EXPIRES, headers: Iterable[tuple[str, str]] = ()) -> Request:
        """A NOTIFY in `dialog` with the sipfrag of `status` (and `headers`); a final status (200 and up) terminates
        the subscription (`Subscription-State: terminated;reason=noresource`, RFC 3515 2.4.7)."""
        if self.done:
            raise DialogError("the REFER's subscription is over")
        self.done = status >= 200
        state = "terminated;reason=noresource" if self.done else f"active;expires={expires}"
        extra = [("Event", f"{REFER_EVENT};id={self.id}"), ("Subscription-State", state), *headers]
        if dialog.local_contact:
            extra.insert(0, ("Contact", dialog.local_contact))  # NOTIFY is a target refresh (RFC 6665 4.1.3)
        return dialog.create_request("NOTIFY", headers=extra, body=sipfrag(status, reason), content_type=SIPFRAG)


def _event_of(request: Request) -> tuple[str, dict[str, str | None]]:
    """The event package of a NOTIFY's Event header (lower case) and its parameters."""
    value = request.headers.get("Event") or ""
    name, _, rest = value.partition(";")
    try:
        return name.strip().lower(), parse_params(rest)
    except HeaderError:
        return name.strip().lower(), {}
