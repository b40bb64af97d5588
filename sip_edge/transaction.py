"""SIP transactions (RFC 3261 §17, with the Accepted states of RFC 6026), sans-IO.

:class:`TransactionLayer` owns every client and server transaction of one endpoint. It never
touches a socket or a clock: feed it what happened (``receive``, ``send_request``,
``send_response``, ``transport_error``, ``tick``) with the current time, and it returns a list
of actions: :class:`SendMessage` for the transport, and events for the transaction user
(:class:`RequestReceived`, :class:`ResponseReceived`, :class:`TransactionTimeout`,
:class:`TransportError`, :class:`TransactionTerminated`). ``next_deadline()`` says when to call
``tick`` next.

Each transaction kind is a state table: ``(state, input) -> (next state, steps)``. A pair not
in the table is a message to absorb, except for inputs from the TU, where it is a misuse and
raises :class:`TransactionError` (as h11 tells local errors from the peer's).

Choices worth knowing:

* 100 Trying: an INVITE server transaction sends it when the TU has not sent a provisional
  response within ``trying_delay`` (200 ms, §17.2.1); ``trying_delay=0`` sends it at once.
* RFC 6026 is followed: a 2xx moves INVITE transactions to Accepted (Timer L on the server,
  Timer M on the client) instead of ending them, so a retransmitted INVITE is absorbed rather
  than taken for a new call, and 2xx retransmissions (forked or not) still reach the TU.
* The 2xx retransmission of §13.3.1.4 belongs to the UAS core, not to a transaction: see
  :class:`Uas2xxRetransmitter`.
* Requests whose top Via lacks the z9hG4bK cookie (RFC 2543 peers) are matched on Call-ID,
  From tag, CSeq number, top Via and method: an approximation of §17.2.3's fallback.
* Zero-length timers (D, I, J, K over reliable transports) fire within the same call.
"""

from __future__ import annotations

import enum
import heapq
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from sip_edge.headers import CSeq, HeaderError, NameAddr, Via
from sip_edge.message import Headers, Request, Response, make_response

__all__ = [
    "MAGIC_COOKIE",
    "Action",
    "RequestReceived",
    "ResponseReceived",
    "SendMessage",
    "State",
    "TimerConfig",
    "Transaction",
    "TransactionError",
    "TransactionKey",
    "TransactionLayer",
    "TransactionTerminated",
    "TransactionTimeout",
    "TransportError",
    "Uas2xxRetransmitter",
    "AckTimeout",
    "build_ack_for_non2xx",
    "build_cancel",
]

MAGIC_COOKIE = "z9hG4bK"


# ----------------------------------------------------------------------------- configuration

@dataclass(frozen=True)
class TimerConfig:
    """RFC 3261 Table 4 base values, in seconds."""

    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0
    timer_d: float = 32.0  # "at least 32 s" for unreliable transports
    trying_delay: float = 0.2  # 100 Trying when the TU is silent this long; 0 = at once

    @property
    def timeout(self) -> float:
        """64*T1: Timers B, F, H, J (unreliable), L and M."""
        return 64 * self.t1


# ----------------------------------------------------------------------------- actions

@dataclass(frozen=True)
class TransactionKey:
    """Identifies a transaction (§17.1.3 / §17.2.3). ACK is keyed as its INVITE."""

    role: Literal["client", "server"]
    branch: str
    method: str
    sent_by: str = ""  # server side only: the top Via's host:port


@dataclass(frozen=True)
class SendMessage:
    """Give ``message`` to the transport. ``dest`` is whatever the caller passed in."""

    message: Request | Response
    dest: Any
    transaction: TransactionKey | None = None


@dataclass(frozen=True)
class RequestReceived:
    """A new request for the TU. ``transaction`` is None for an ACK outside any transaction
    (the ACK of a 2xx). For CANCEL, ``invite`` is the INVITE server transaction it matches
    (None: answer the CANCEL 481); the TU answers the CANCEL 200 and that INVITE 487."""

    request: Request
    transaction: TransactionKey | None
    source: Any = None
    invite: TransactionKey | None = None


@dataclass(frozen=True)
class ResponseReceived:
    """A response for the TU. ``transaction`` is None for a stray response (no match)."""

    response: Response
    transaction: TransactionKey | None
    source: Any = None


@dataclass(frozen=True)
class TransactionTimeout:
    """Timer B or F (no final response), or H (no ACK for our non-2xx final)."""

    transaction: TransactionKey
    timer: str


@dataclass(frozen=True)
class TransportError:
    transaction: TransactionKey


@dataclass(frozen=True)
class TransactionTerminated:
    transaction: TransactionKey


@dataclass(frozen=True)
class AckTimeout:
    """§13.3.1.4: no ACK for our 2xx within 64*T1; the TU should end the dialog with BYE."""

    response: Response


Action = (
    SendMessage | RequestReceived | ResponseReceived | TransactionTimeout | TransportError
    | TransactionTerminated | AckTimeout
)


class TransactionError(Exception):
    """The caller misused the layer (like h11's LocalProtocolError), never the peer's fault."""


# ----------------------------------------------------------------------------- state tables

class State(enum.Enum):
    CALLING = "Calling"
    TRYING = "Trying"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    CONFIRMED = "Confirmed"
    ACCEPTED = "Accepted"
    TERMINATED = "Terminated"


class Input(enum.Enum):
    """Inputs to a transaction: from the network, the TU, timers and the transport."""

    R1XX = "1xx received"
    R2XX = "2xx received"
    RFAIL = "300-699 received"
    REQUEST = "request retransmission"
    ACK = "ACK received"
    TU_1XX = "TU sends 1xx"
    TU_2XX = "TU sends 2xx"
    TU_FAIL = "TU sends 300-699"
    TIMER_TRYING = "Timer 100 Trying"
    TIMER_A = "Timer A"
    TIMER_B = "Timer B"
    TIMER_D = "Timer D"
    TIMER_E = "Timer E"
    TIMER_F = "Timer F"
    TIMER_G = "Timer G"
    TIMER_H = "Timer H"
    TIMER_I = "Timer I"
    TIMER_J = "Timer J"
    TIMER_K = "Timer K"
    TIMER_L = "Timer L"
    TIMER_M = "Timer M"
    TRANSPORT_ERROR = "transport error"


_TU_INPUTS = {Input.TU_1XX, Input.TU_2XX, Input.TU_FAIL}
Row = tuple[State, tuple[str, ...]]
Table = dict[tuple[State, Input], Row]
S = State


def _rows(states: Iterable[State], inputs: Iterable[Input], row: Row) -> Table:
    return {(state, inp): row for state in states for inp in inputs}


# Figure 5 of RFC 3261 with RFC 6026's Accepted state.
INVITE_CLIENT: Table = {
    (S.CALLING, Input.TIMER_A): (S.CALLING, ("resend_request", "restart_A")),
    (S.CALLING, Input.TIMER_B): (S.TERMINATED, ("report_timeout",)),
    # Once something answers, the INVITE may ring for minutes: A and B stop (§17.1.1.2).
    (S.CALLING, Input.R1XX): (S.PROCEEDING, ("stop_timers", "pass_up", "send_pending_cancel")),
    (S.PROCEEDING, Input.R1XX): (S.PROCEEDING, ("pass_up",)),
    **_rows((S.CALLING, S.PROCEEDING), (Input.R2XX,), (S.ACCEPTED, ("stop_timers", "pass_up", "start_M"))),
    **_rows(
        (S.CALLING, S.PROCEEDING), (Input.RFAIL,),
        (S.COMPLETED, ("stop_timers", "pass_up", "send_ack", "start_D")),
    ),
    (S.COMPLETED, Input.RFAIL): (S.COMPLETED, ("send_ack",)),
    (S.COMPLETED, Input.TIMER_D): (S.TERMINATED, ()),
    (S.ACCEPTED, Input.R2XX): (S.ACCEPTED, ("pass_up",)),
    (S.ACCEPTED, Input.TIMER_M): (S.TERMINATED, ()),
    **_rows((S.CALLING, S.PROCEEDING), (Input.TRANSPORT_ERROR,), (S.TERMINATED, ("report_transport_error",))),
}

# Figure 6.
NON_INVITE_CLIENT: Table = {
    (S.TRYING, Input.TIMER_E): (S.TRYING, ("resend_request", "restart_E")),
    (S.PROCEEDING, Input.TIMER_E): (S.PROCEEDING, ("resend_request", "restart_E_at_T2")),
    **_rows((S.TRYING, S.PROCEEDING), (Input.R1XX,), (S.PROCEEDING, ("pass_up",))),
    **_rows(
        (S.TRYING, S.PROCEEDING), (Input.R2XX, Input.RFAIL),
        (S.COMPLETED, ("stop_timers", "pass_up", "start_K")),
    ),
    **_rows((S.TRYING, S.PROCEEDING), (Input.TIMER_F,), (S.TERMINATED, ("report_timeout",))),
    **_rows((S.TRYING, S.PROCEEDING), (Input.TRANSPORT_ERROR,), (S.TERMINATED, ("report_transport_error",))),
    (S.COMPLETED, Input.TIMER_K): (S.TERMINATED, ()),
}

# Figure 7 with RFC 6026's Accepted state.
INVITE_SERVER: Table = {
    (S.PROCEEDING, Input.REQUEST): (S.PROCEEDING, ("resend_last",)),
    (S.PROCEEDING, Input.TIMER_TRYING): (S.PROCEEDING, ("send_trying",)),
    (S.PROCEEDING, Input.TU_1XX): (S.PROCEEDING, ("stop_timers", "send_response")),
    (S.PROCEEDING, Input.TU_2XX): (S.ACCEPTED, ("stop_timers", "send_response", "start_L")),
    (S.PROCEEDING, Input.TU_FAIL): (S.COMPLETED, ("stop_timers", "send_response", "start_G", "start_H")),
    (S.COMPLETED, Input.REQUEST): (S.COMPLETED, ("resend_last",)),
    (S.COMPLETED, Input.TIMER_G): (S.COMPLETED, ("resend_last", "restart_G")),
    (S.COMPLETED, Input.TIMER_H): (S.TERMINATED, ("report_timeout",)),
    (S.COMPLETED, Input.ACK): (S.CONFIRMED, ("stop_timers", "start_I")),
    (S.CONFIRMED, Input.TIMER_I): (S.TERMINATED, ()),
    (S.ACCEPTED, Input.ACK): (S.ACCEPTED, ("pass_up",)),  # only RFC 2543 peers reuse the branch
    (S.ACCEPTED, Input.TU_2XX): (S.ACCEPTED, ("send_response",)),  # the core's 2xx retransmissions
    (S.ACCEPTED, Input.TIMER_L): (S.TERMINATED, ()),
    **_rows(
        (S.PROCEEDING, S.COMPLETED, S.ACCEPTED), (Input.TRANSPORT_ERROR,),
        (S.TERMINATED, ("report_transport_error",)),
    ),
}

# Figure 8.
NON_INVITE_SERVER: Table = {
    **_rows((S.TRYING, S.PROCEEDING), (Input.TU_1XX,), (S.PROCEEDING, ("send_response",))),
    **_rows(
        (S.TRYING, S.PROCEEDING), (Input.TU_2XX, Input.TU_FAIL), (S.COMPLETED, ("send_response", "start_J"))
    ),
    (S.PROCEEDING, Input.REQUEST): (S.PROCEEDING, ("resend_last",)),
    (S.COMPLETED, Input.REQUEST): (S.COMPLETED, ("resend_last",)),
    (S.COMPLETED, Input.TIMER_J): (S.TERMINATED, ()),
    **_rows(
        (S.PROCEEDING, S.COMPLETED), (Input.TRANSPORT_ERROR,), (S.TERMINATED, ("report_transport_error",))
    ),
}


# ----------------------------------------------------------------------------- transactions

@dataclass
class _Step:
    """What a step may read and append to while handling one input."""

    now: float
    message: Request | Response | None
    out: list[Action]
    source: Any = None
    timer: str | None = None


@dataclass
class Transaction:
    """One transaction. Read ``state``, ``request`` and ``last_response``; drive it through
    :class:`TransactionLayer`."""

    key: TransactionKey
    request: Request
    dest: Any
    reliable: bool
    state: State
    table: Table
    _layer: TransactionLayer = field(repr=False)
    last_response: Response | None = None
    pending_cancel: bool = False
    # name -> (deadline, token); the token invalidates heap entries of a stopped timer
    timers: dict[str, tuple[float, int]] = field(default_factory=dict)
    intervals: dict[str, float] = field(default_factory=dict)

    @property
    def is_invite(self) -> bool:
        return self.key.method == "INVITE"

    def handle(self, inp: Input, step: _Step) -> None:
        row = self.table.get((self.state, inp))
        if row is None:
            if inp in _TU_INPUTS:
                raise TransactionError(f"{inp.value} not allowed in {self.state.value} ({self.key})")
            return  # a retransmission or late timer: absorbed
        next_state, steps = row
        self.state = next_state
        for name in steps:
            getattr(self, "_" + name)(step)
        if next_state is State.TERMINATED:
            self._layer.terminate(self, step.out)

    # -- timers

    def _start(self, name: str, interval: float, now: float) -> None:
        self.intervals[name] = interval
        self.timers[name] = self._layer.schedule(self, name, now + interval)

    def _stop_timers(self, step: _Step) -> None:
        self.timers.clear()

    def _cfg(self) -> TimerConfig:
        return self._layer.timers

    def start_initial_timers(self, now: float) -> None:
        cfg = self._cfg()
        if self.key.role == "client":
            first, last = ("A", "B") if self.is_invite else ("E", "F")
            if not self.reliable:
                self._start(first, cfg.t1, now)
            self._start(last, cfg.timeout, now)
        elif self.is_invite:
            self._start("trying", cfg.trying_delay, now)

    def _restart_A(self, step: _Step) -> None:
        self._start("A", self.intervals["A"] * 2, step.now)  # A doubles without the T2 cap

    def _restart_E(self, step: _Step) -> None:
        self._start("E", min(self.intervals["E"] * 2, self._cfg().t2), step.now)

    def _restart_E_at_T2(self, step: _Step) -> None:
        self._start("E", self._cfg().t2, step.now)

    def _restart_G(self, step: _Step) -> None:
        self._start("G", min(self.intervals["G"] * 2, self._cfg().t2), step.now)

    def _start_G(self, step: _Step) -> None:
        if not self.reliable:
            self._start("G", self._cfg().t1, step.now)

    def _start_D(self, step: _Step) -> None:
        self._start("D", 0.0 if self.reliable else self._cfg().timer_d, step.now)

    def _start_H(self, step: _Step) -> None:
        self._start("H", self._cfg().timeout, step.now)

    def _start_I(self, step: _Step) -> None:
        self._start("I", 0.0 if self.reliable else self._cfg().t4, step.now)

    def _start_J(self, step: _Step) -> None:
        self._start("J", 0.0 if self.reliable else self._cfg().timeout, step.now)

    def _start_K(self, step: _Step) -> None:
        self._start("K", 0.0 if self.reliable else self._cfg().t4, step.now)

    def _start_L(self, step: _Step) -> None:
        self._start("L", self._cfg().timeout, step.now)

    def _start_M(self, step: _Step) -> None:
        self._start("M", self._cfg().timeout, step.now)

    # -- sending and reporting

    def _send(self, message: Request | Response, step: _Step) -> None:
        step.out.append(SendMessage(message, self.dest, self.key))

    def _resend_request(self, step: _Step) -> None:
        self._send(self.request, step)

    def _send_response(self, step: _Step) -> None:
        assert isinstance(step.message, Response)
        self.last_response = step.message
        self._send(step.message, step)

    def _resend_last(self, step: _Step) -> None:
        if self.last_response is not None:
            self._send(self.last_response, step)

    def _send_trying(self, step: _Step) -> None:
        self.last_response = make_response(self.request, 100, "Trying")
        self._send(self.last_response, step)

    def _send_ack(self, step: _Step) -> None:
        assert isinstance(step.message, Response)
        self._send(build_ack_for_non2xx(self.request, step.message), step)

    def _send_pending_cancel(self, step: _Step) -> None:
        if self.pending_cancel:
            self.pending_cancel = False
            self._layer.start_cancel(self, step.now, step.out)

    def _pass_up(self, step: _Step) -> None:
        if isinstance(step.message, Response):
            step.out.append(ResponseReceived(step.message, self.key, step.source))
        elif step.message is not None:
            step.out.append(RequestReceived(step.message, self.key, step.source))

    def _report_timeout(self, step: _Step) -> None:
        step.out.append(TransactionTimeout(self.key, step.timer or "?"))

    def _report_transport_error(self, step: _Step) -> None:
        step.out.append(TransportError(self.key))


# ----------------------------------------------------------------------------- the layer

_TIMER_INPUTS = {"trying": Input.TIMER_TRYING} | {
    name: Input[f"TIMER_{name}"] for name in "ABDEFGHIJKLM"
}


class TransactionLayer:
    """All transactions of one endpoint; see the module docstring for the contract."""

    def __init__(self, timers: TimerConfig | None = None):
        self.timers = timers or TimerConfig()
        self._transactions: dict[TransactionKey, Transaction] = {}
        self._heap: list[tuple[float, int, TransactionKey, str]] = []
        self._tokens = itertools.count()

    # -- inspection

    def __len__(self) -> int:
        return len(self._transactions)

    def __contains__(self, key: object) -> bool:
        return key in self._transactions

    def get(self, key: TransactionKey) -> Transaction | None:
        return self._transactions.get(key)

    def next_deadline(self) -> float | None:
        """When ``tick`` has work to do, or None when no timer runs."""
        while self._heap and not self._is_live(self._heap[0]):
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    # -- inputs from the TU

    def send_request(
        self, request: Request, dest: Any, now: float, *, reliable: bool = False
    ) -> tuple[TransactionKey, list[Action]]:
        """Start a client transaction for ``request`` (its top Via must carry a branch)."""
        if request.method == "ACK":
            raise TransactionError("ACK is not sent in a transaction: use send_stateless")
        key = _client_key(_top_via(request), request.method)
        if key is None:
            raise TransactionError("request needs a top Via with an RFC 3261 branch")
        if key in self._transactions:
            raise TransactionError(f"transaction {key} already exists")
        table = INVITE_CLIENT if request.method == "INVITE" else NON_INVITE_CLIENT
        state = State.CALLING if request.method == "INVITE" else State.TRYING
        txn = self._add(key, request, dest, reliable, state, table)
        out: list[Action] = [SendMessage(request, dest, key)]
        txn.start_initial_timers(now)
        self._run_timers(now, out)
        return key, out

    def send_response(
        self, response: Response, now: float, key: TransactionKey | None = None
    ) -> list[Action]:
        """Send ``response`` in its server transaction (found from its Via and CSeq if no key)."""
        key = key or _server_key_of_response(response)
        txn = self._transactions.get(key) if key else None
        if txn is None or txn.key.role != "server":
            raise TransactionError(f"no server transaction for the response ({key})")
        inp = _by_class(response.status, Input.TU_1XX, Input.TU_2XX, Input.TU_FAIL)
        out: list[Action] = []
        self._run_timers(now, out)
        txn.handle(inp, _Step(now, response, out))
        self._run_timers(now, out)
        return out

    def send_stateless(self, message: Request | Response, dest: Any) -> list[Action]:
        """Send outside any transaction: the ACK of a 2xx, or the core's 2xx retransmissions."""
        return [SendMessage(message, dest, None)]

    def cancel(self, key: TransactionKey, now: float) -> tuple[TransactionKey, list[Action]]:
        """CANCEL the INVITE client transaction ``key`` (§9.1).

        Before any provisional response the CANCEL waits and goes out with the first 1xx; after
        a final response there is nothing to cancel and no CANCEL is sent.
        """
        txn = self._transactions.get(key)
        if txn is None or key.role != "client" or key.method != "INVITE":
            raise TransactionError(f"no INVITE client transaction {key}")
        cancel_key = TransactionKey("client", key.branch, "CANCEL")
        out: list[Action] = []
        if txn.state is State.CALLING:
            txn.pending_cancel = True
        elif txn.state is State.PROCEEDING and cancel_key not in self._transactions:
            self.start_cancel(txn, now, out)
            self._run_timers(now, out)
        return cancel_key, out

    # -- inputs from the network and the clock

    def receive(self, message: Request | Response, now: float, *, source: Any = None,
                reliable: bool = False) -> list[Action]:
        """A parsed message from the transport. ``source`` comes back as the dest of replies."""
        out: list[Action] = []
        self._run_timers(now, out)  # what fell due before this message happened first
        if isinstance(message, Response):
            self._receive_response(message, now, source, out)
        else:
            self._receive_request(message, now, source, reliable, out)
        self._run_timers(now, out)
        return out

    def transport_error(self, key: TransactionKey, now: float) -> list[Action]:
        """The transport could not deliver a message of transaction ``key`` (§17.1.4, §17.2.4)."""
        out: list[Action] = []
        self._run_timers(now, out)
        txn = self._transactions.get(key)
        if txn is not None:
            txn.handle(Input.TRANSPORT_ERROR, _Step(now, None, out))
        self._run_timers(now, out)
        return out

    def tick(self, now: float) -> list[Action]:
        """Fire every timer due at ``now``."""
        out: list[Action] = []
        self._run_timers(now, out)
        return out

    # -- services for Transaction (its state-table steps call these)

    def start_cancel(self, invite: Transaction, now: float, out: list[Action]) -> None:
        """Start the CANCEL client transaction of INVITE client transaction ``invite`` and append
        its first send to ``out``; nothing when that CANCEL already exists."""
        cancel = build_cancel(invite.request)
        key = TransactionKey("client", invite.key.branch, "CANCEL")
        if key in self._transactions:
            return
        txn = self._add(key, cancel, invite.dest, invite.reliable, State.TRYING, NON_INVITE_CLIENT)
        out.append(SendMessage(cancel, invite.dest, key))
        txn.start_initial_timers(now)

    def terminate(self, txn: Transaction, out: list[Action]) -> None:
        """Forget ``txn`` (it reached Terminated) and tell the TU through ``out``, once."""
        txn.timers.clear()
        if self._transactions.pop(txn.key, None) is not None:
            out.append(TransactionTerminated(txn.key))

    def schedule(self, txn: Transaction, name: str, deadline: float) -> tuple[float, int]:
        """Arm timer ``name`` of ``txn`` for ``deadline``; returns the (deadline, token) pair the
        transaction keeps in ``timers``: dropping it from there disarms the timer."""
        token = next(self._tokens)
        heapq.heappush(self._heap, (deadline, token, txn.key, name))
        return deadline, token

    # -- internals

    def _receive_response(self, response: Response, now: float, source: Any, out: list[Action]) -> None:
        via = _top_via(response)
        method = _cseq_method(response)
        key = _client_key(via, method) if method else None
        txn = self._transactions.get(key) if key else None
        if txn is None:
            out.append(ResponseReceived(response, None, source))  # stray: the core decides (§18.1.2)
            return
        inp = _by_class(response.status, Input.R1XX, Input.R2XX, Input.RFAIL)
        txn.handle(inp, _Step(now, response, out, source))

    def _receive_request(
        self, request: Request, now: float, source: Any, reliable: bool, out: list[Action]
    ) -> None:
        key = _server_key(request)
        if key is None:
            return  # no usable Via: nowhere to send a response, so drop (§18.2.1)
        txn = self._transactions.get(key)
        if txn is not None:
            inp = Input.ACK if request.method == "ACK" else Input.REQUEST
            txn.handle(inp, _Step(now, request, out, source))
            return
        if request.method == "ACK":
            out.append(RequestReceived(request, None, source))  # ACK of a 2xx, for the core
            return
        invite = None
        if request.method == "CANCEL":
            invite_key = TransactionKey("server", key.branch, "INVITE", key.sent_by)
            invite = invite_key if invite_key in self._transactions else None
        is_invite = request.method == "INVITE"
        txn = self._add(
            key, request, source, reliable,
            State.PROCEEDING if is_invite else State.TRYING,
            INVITE_SERVER if is_invite else NON_INVITE_SERVER,
        )
        out.append(RequestReceived(request, key, source, invite))
        txn.start_initial_timers(now)

    def _add(self, key: TransactionKey, request: Request, dest: Any, reliable: bool, state: State,
             table: Table) -> Transaction:
        txn = Transaction(key, request, dest, reliable, state, table, self)
        self._transactions[key] = txn
        return txn

    def _is_live(self, entry: tuple[float, int, TransactionKey, str]) -> bool:
        deadline, token, key, name = entry
        txn = self._transactions.get(key)
        return txn is not None and txn.timers.get(name) == (deadline, token)

    def _run_timers(self, now: float, out: list[Action]) -> None:
        while self._heap and self._heap[0][0] <= now:
            entry = heapq.heappop(self._heap)
            if not self._is_live(entry):
                continue
            deadline, _, key, name = entry
            txn = self._transactions[key]
            # The step runs at the deadline, not at `now`: a late tick must not stretch the
            # retransmission schedule.
            txn.handle(_TIMER_INPUTS[name], _Step(deadline, None, out, timer=name))
            # Drop the fired timer unless its step restarted it.
            if txn.timers.get(name) == entry[:2]:
                del txn.timers[name]


# ----------------------------------------------------------------------------- matching keys

def _by_class(status: int, provisional: Input, success: Input, failure: Input) -> Input:
    return provisional if status < 200 else success if status < 300 else failure


def _top_via(message: Request | Response) -> Via | None:
    try:
        return message.top_via
    except HeaderError:
        return None


def _cseq_method(message: Request | Response) -> str | None:
    try:
        return message.cseq.method
    except HeaderError:
        return None


def _client_key(via: Via | None, method: str) -> TransactionKey | None:
    if via is None or not via.branch:
        return None
    return TransactionKey("client", via.branch, "INVITE" if method == "ACK" else method)


def _sent_by(via: Via) -> str:
    return f"{via.host.lower()}:{via.port or ''}"


def _server_key(request: Request) -> TransactionKey | None:
    via = _top_via(request)
    if via is None:
        return None
    method = "INVITE" if request.method == "ACK" else request.method
    if via.is_rfc3261_branch:
        assert via.branch is not None
        return TransactionKey("server", via.branch, method, _sent_by(via))
    return TransactionKey("server", _rfc2543_id(request, via), method, _sent_by(via))


def _rfc2543_id(request: Request, via: Via) -> str:
    """A branch stand-in for RFC 2543 peers: what stays equal between an INVITE, its
    retransmissions and its ACK (the To tag does not: the ACK carries ours)."""
    from_tag = _tag(request.headers.get("From"))
    cseq = request.headers.get("CSeq") or ""
    number = cseq.split()[0] if cseq.split() else ""
    return f"2543|{request.headers.get('Call-ID')}|{from_tag}|{number}|{via.branch or ''}"


def _server_key_of_response(response: Response) -> TransactionKey | None:
    via = _top_via(response)
    method = _cseq_method(response)
    if via is None or method is None or not via.is_rfc3261_branch:
        return None  # RFC 2543 transactions must be named by key
    assert via.branch is not None
    return TransactionKey("server", via.branch, method, _sent_by(via))


def _tag(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return NameAddr.parse(value).tag
    except HeaderError:
        return None


# ----------------------------------------------------------------------------- ACK and CANCEL

def _copied(request: Request, names: Iterable[str]) -> list[tuple[str, str]]:
    return [(name, value) for name in names for value in request.headers.get_all(name)]


def build_ack_for_non2xx(invite: Request, response: Response) -> Request:
    """The ACK a client transaction sends for a 300-699 (§17.1.1.3): the INVITE's Request-URI,
    top Via (same branch), From, Call-ID, CSeq number and Route; the response's To (its tag)."""
    cseq = CSeq.parse(invite.headers.get("CSeq") or "")
    pairs = [
        ("Via", invite.headers.get_all("Via")[0]),
        *_copied(invite, ["Route"]),
        ("Max-Forwards", "70"),
        ("From", invite.headers.get("From") or ""),
        ("To", response.headers.get("To") or invite.headers.get("To") or ""),
        ("Call-ID", invite.headers.get("Call-ID") or ""),
        ("CSeq", f"{cseq.seq} ACK"),
    ]
    return Request("ACK", invite.uri, Headers(pairs))


def build_cancel(request: Request) -> Request:
    """The CANCEL of ``request`` (§9.1): same Request-URI, top Via, From, To, Call-ID, CSeq
    number and Route; nothing else."""
    cseq = CSeq.parse(request.headers.get("CSeq") or "")
    pairs = [
        ("Via", request.headers.get_all("Via")[0]),
        *_copied(request, ["Route"]),
        ("Max-Forwards", "70"),
        ("From", request.headers.get("From") or ""),
        ("To", request.headers.get("To") or ""),
        ("Call-ID", request.headers.get("Call-ID") or ""),
        ("CSeq", f"{cseq.seq} CANCEL"),
    ]
    return Request("CANCEL", request.uri, Headers(pairs))


# ----------------------------------------------------------------------------- UAS core 2xx

class Uas2xxRetransmitter:
    """Retransmits a 2xx to INVITE until its ACK arrives (§13.3.1.4), for the UAS core.

    Intervals start at T1 and double up to T2; after 64*T1 without ACK it reports
    :class:`AckTimeout` once and stops. §13.3.1.4 does not exempt reliable transports (a proxy
    further on may use UDP), so ``retransmit=False`` is the caller's explicit choice.
    """

    def __init__(self, response: Response, dest: Any, now: float, *, timers: TimerConfig | None = None,
                 retransmit: bool = True):
        self.response = response
        self.dest = dest
        self.timers = timers or TimerConfig()
        self.retransmit = retransmit
        self.done = False
        self.acked = False
        self._interval = self.timers.t1
        self._next = now + self._interval
        self._give_up = now + self.timers.timeout
        self._dialog = _dialog_fingerprint(response)

    def next_deadline(self) -> float | None:
        if self.done:
            return None
        return min(self._next, self._give_up) if self.retransmit else self._give_up

    def tick(self, now: float) -> list[Action]:
        out: list[Action] = []
        if self.done:
            return out
        while self.retransmit and self._next <= now and self._next < self._give_up:
            out.append(SendMessage(self.response, self.dest, None))
            self._interval = min(self._interval * 2, self.timers.t2)
            self._next += self._interval
        if now >= self._give_up:
            self.done = True
            out.append(AckTimeout(self.response))
        return out

    def matches(self, ack: Request) -> bool:
        """True when ``ack`` acknowledges our 2xx: same Call-ID, tags and CSeq number."""
        return ack.method == "ACK" and _dialog_fingerprint(ack) == self._dialog

    def ack_received(self, ack: Request) -> bool:
        """Stop on the matching ACK; returns whether it matched."""
        if self.done or not self.matches(ack):
            return False
        self.done = self.acked = True
        return True


def _dialog_fingerprint(message: Request | Response) -> tuple[Any, ...]:
    cseq = message.headers.get("CSeq") or ""
    number = cseq.split()[0] if cseq.split() else ""
    return (
        message.headers.get("Call-ID"),
        _tag(message.headers.get("From")),
        _tag(message.headers.get("To")),
        number.lstrip("0") or "0",
    )

