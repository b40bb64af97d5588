"""Which session a SIP message belongs to: by Call-ID, claimed when the session starts or found by the resolver;
what nobody claims waits, bounded."""

from __future__ import annotations

from sip_edge.message import parse_message
from sip_edge.transport import Address
from voxsim.edge import sip_trace
from voxsim.edge.sip_trace import SipTracer
from voxsim.store.sip_messages import SipMessage

PEER = Address("udp", "127.0.0.1", 5062)


def invite(call_id: str) -> bytes:
    return (f"INVITE sip:100@app.acc.voximplant.com SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK1\r\n"
            f"From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:100@app.acc.voximplant.com>\r\nCall-ID: {call_id}\r\n"
            f"CSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n").encode()


class Sink:
    def __init__(self) -> None:
        self.got: list[tuple[int, SipMessage]] = []

    def sip_message(self, session_id: int, message: SipMessage) -> None:
        self.got.append((session_id, message))


def trace(tracer: SipTracer, call_id: str, direction: str = "in") -> None:
    data = invite(call_id)
    tracer.trace(direction, parse_message(data), data, PEER)


def test_messages_wait_for_their_session_then_go_straight_to_it() -> None:
    sink = Sink()
    tracer = SipTracer(sink, lambda call_id: None)
    trace(tracer, "one")
    assert sink.got == []
    tracer.attribute("one", 7)
    trace(tracer, "one", "out")
    assert [(sid, m.direction, m.first_line) for sid, m in sink.got] == [
        (7, "in", "INVITE sip:100@app.acc.voximplant.com SIP/2.0"),
        (7, "out", "INVITE sip:100@app.acc.voximplant.com SIP/2.0")]
    first = sink.got[0][1]
    assert first.sip_call_id == "one" and first.peer == "127.0.0.1:5062" and "Call-ID: one" in first.text


def test_the_resolver_finds_outbound_dialogs() -> None:
    sink = Sink()
    tracer = SipTracer(sink, lambda call_id: 9 if call_id == "out-1" else None)
    trace(tracer, "out-1", "out")
    assert [sid for sid, _ in sink.got] == [9]


def test_unclaimed_call_ids_are_let_go(monkeypatch) -> None:
    monkeypatch.setattr(sip_trace, "PENDING_CALLS", 2)
    sink = Sink()
    tracer = SipTracer(sink, lambda call_id: None)
    for call_id in ("a", "b", "c"):
        trace(tracer, call_id)
    tracer.attribute("a", 1)  # "a" was the oldest: dropped
    tracer.attribute("c", 3)
    assert [sid for sid, _ in sink.got] == [3]
