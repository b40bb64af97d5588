"""Which session each SIP message belongs to, for the SIP journal (the console's ladder of every leg).

The transport shows the tracer every message as it went over the wire (`SipTransport.on_trace`). A message
belongs to the session of its dialog, found by Call-ID: the edge names an inbound call's session once it
started it (`attribute`), and `resolve` finds the session of an outbound leg by its INVITE. Messages of a
Call-ID nobody has claimed yet (the INVITE before its session exists) wait, for at most `PENDING_CALLS` Call-IDs
of `PENDING_MESSAGES` each; what is never claimed (a refused INVITE, a REGISTER, OPTIONS) is let go.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from sip_edge.message import Message
from sip_edge.transport import Address
from voxsim.store.sip_messages import SipMessage

PENDING_CALLS = 256
PENDING_MESSAGES = 50
KNOWN_CALLS = 10_000
"""Call-IDs whose session is remembered (the oldest are forgotten first)."""


class SipMessageSink(Protocol):
    def sip_message(self, session_id: int, message: SipMessage) -> None: ...


def journal_entry(direction: str, message: Message, data: bytes, address: Address) -> SipMessage:
    text = data.decode("utf-8", "replace")
    now = datetime.now(UTC)
    return SipMessage(ts=now.strftime("%Y-%m-%d %H:%M:%S.") + f"{now.microsecond // 1000:03d}", direction=direction,
                      transport=address.transport, peer=f"{address.host}:{address.port}",
                      sip_call_id=message.headers.get("Call-ID") or "", first_line=text.split("\r\n", 1)[0],
                      text=text)


class SipTracer:
    def __init__(self, sink: SipMessageSink, resolve: Callable[[str], int | None]) -> None:
        self.sink = sink
        self.resolve = resolve
        self._sessions: OrderedDict[str, int] = OrderedDict()
        self._pending: OrderedDict[str, list[SipMessage]] = OrderedDict()

    def trace(self, direction: str, message: Message, data: bytes, address: Address) -> None:
        entry = journal_entry(direction, message, data, address)
        if not entry.sip_call_id:
            return
        session_id = self._session_of(entry.sip_call_id)
        if session_id is not None:
            self.sink.sip_message(session_id, entry)
            return
        waiting = self._pending.setdefault(entry.sip_call_id, [])
        if len(waiting) < PENDING_MESSAGES:
            waiting.append(entry)
        while len(self._pending) > PENDING_CALLS:
            self._pending.popitem(last=False)

    def attribute(self, sip_call_id: str, session_id: int) -> None:
        """The dialog `sip_call_id` belongs to `session_id`: its waiting messages go to the journal now."""
        self._sessions[sip_call_id] = session_id
        while len(self._sessions) > KNOWN_CALLS:
            self._sessions.popitem(last=False)
        for entry in self._pending.pop(sip_call_id, []):
            self.sink.sip_message(session_id, entry)

    def _session_of(self, sip_call_id: str) -> int | None:
        known = self._sessions.get(sip_call_id)
        if known is not None:
            return known
        found = self.resolve(sip_call_id)
        if found is not None:
            self.attribute(sip_call_id, found)
        return found
