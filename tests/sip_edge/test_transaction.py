"""RFC 3261 §17 transactions, driven by a fake clock: every timer, state and absorption path."""

from __future__ import annotations

import pytest

from sip_edge.message import Headers, Request, Response, make_response
from sip_edge.transaction import (
    INVITE_CLIENT,
    INVITE_SERVER,
    NON_INVITE_CLIENT,
    NON_INVITE_SERVER,
    AckTimeout,
    RequestReceived,
    ResponseReceived,
    SendMessage,
    State,
    TimerConfig,
    Transaction,
    TransactionError,
    TransactionKey,
    TransactionLayer,
    TransactionTerminated,
    TransactionTimeout,
    TransportError,
    Uas2xxRetransmitter,
    build_cancel,
)

DEST = ("192.0.2.1", 5060)
PEER = ("198.51.100.7", 5070)


def request(
    method: str = "INVITE",
    branch: str = "z9hG4bKc1",
    *,
    sent_by: str = "10.0.0.1:5060",
    cseq: int = 1,
    cseq_method: str | None = None,
    to_tag: str | None = None,
    routes: tuple[str, ...] = (),
) -> Request:
    via = f"SIP/2.0/UDP {sent_by}" + (f";branch={branch}" if branch else "")
    headers = Headers([("Via", via)])
    for route in routes:
        headers.add("Route", route)
    headers.add("Max-Forwards", "70")
    headers.add("From", "<sip:alice@a.example>;tag=ft1")
    headers.add("To", "<sip:bob@b.example>" + (f";tag={to_tag}" if to_tag else ""))
    headers.add("Call-ID", "cid-1@a.example")
    headers.add("CSeq", f"{cseq} {cseq_method or method}")
    headers.add("Contact", "<sip:alice@10.0.0.1>")
    headers.add("Content-Length", "0")
    return Request(method, "sip:bob@b.example", headers)


def reply(req: Request, status: int, to_tag: str | None = "tt1") -> Response:
    return make_response(req, status, to_tag=to_tag if status != 100 else None)


def run(layer: TransactionLayer | Uas2xxRetransmitter, until: float) -> list[tuple[float, object]]:
    """Tick at each deadline up to ``until``; returns (time, action) pairs."""
    log: list[tuple[float, object]] = []
    while (deadline := layer.next_deadline()) is not None and deadline <= until:
        log += [(deadline, action) for action in layer.tick(deadline)]
    return log


def sent(actions) -> list:
    return [a.message for a in actions if isinstance(a, SendMessage)]


def sent_times(log) -> list[float]:
    return [t for t, a in log if isinstance(a, SendMessage)]


def of(kind, actions) -> list:
    return [a for a in actions if isinstance(a, kind)]


def new_client(method: str = "INVITE", *, reliable: bool = False, **kw):
    layer = TransactionLayer(TimerConfig(**kw))
    req = request(method)
    key, actions = layer.send_request(req, DEST, 0.0, reliable=reliable)
    assert sent(actions) == [req]
    assert actions[0].dest == DEST and actions[0].transaction == key
    return layer, key, req


def new_server(method: str = "INVITE", *, reliable: bool = False, **kw):
    layer = TransactionLayer(TimerConfig(**kw))
    req = request(method)
    actions = layer.receive(req, 0.0, source=PEER, reliable=reliable)
    (event,) = of(RequestReceived, actions)
    assert event.request is req and event.source == PEER
    return layer, event.transaction, req, actions


# ----------------------------------------------------------------------------- INVITE client

def test_invite_client_timer_a_doubles_uncapped_until_timer_b():
    layer, key, req = new_client()
    assert layer.get(key).state is State.CALLING
    assert layer.next_deadline() == 0.5
    log = run(layer, 100)
    assert sent_times(log) == [0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    assert all(a.message is req for _, a in log if isinstance(a, SendMessage))
    assert [(t, type(a)) for t, a in log[-2:]] == [(32.0, TransactionTimeout), (32.0, TransactionTerminated)]
    assert log[-2][1].timer == "B"
    assert key not in layer and layer.next_deadline() is None


def test_invite_client_over_reliable_transport_runs_only_timer_b():
    layer, key, _ = new_client(reliable=True)
    log = run(layer, 100)
    assert sent_times(log) == []
    assert [(t, type(a)) for t, a in log] == [(32.0, TransactionTimeout), (32.0, TransactionTerminated)]


def test_invite_client_provisional_stops_a_and_b():
    layer, key, req = new_client()
    ringing = reply(req, 180)
    actions = layer.receive(ringing, 0.2, source=DEST)
    assert of(ResponseReceived, actions) == [ResponseReceived(ringing, key, DEST)]
    assert layer.get(key).state is State.PROCEEDING
    assert layer.next_deadline() is None
    assert run(layer, 1000) == []
    again = layer.receive(reply(req, 183), 5.0)
    assert len(of(ResponseReceived, again)) == 1 and key in layer


def test_invite_client_2xx_goes_to_accepted_and_timer_m():
    layer, key, req = new_client(t1=0.1)
    ok = reply(req, 200)
    actions = layer.receive(ok, 0.05)
    assert actions == [ResponseReceived(ok, key, None)]  # no ACK: the TU acks a 2xx
    assert layer.get(key).state is State.ACCEPTED
    # a retransmitted (or forked) 2xx still reaches the TU
    assert of(ResponseReceived, layer.receive(reply(req, 200, "other"), 1.0))[0].transaction == key
    assert layer.receive(reply(req, 180), 1.1) == []  # late provisional absorbed
    log = run(layer, 100)
    assert log == [(pytest.approx(0.05 + 6.4), TransactionTerminated(key))]
    stray = layer.receive(ok, 7.0)
    assert stray == [ResponseReceived(ok, None, None)]


def test_invite_client_non2xx_acked_inside_transaction_then_timer_d():
    layer = TransactionLayer()
    req = request(routes=("<sip:p1.example;lr>", "<sip:p2.example;lr>"))
    key, _ = layer.send_request(req, DEST, 0.0)
    busy = reply(req, 486, to_tag="busy-tag")
    actions = layer.receive(busy, 0.4)
    assert of(ResponseReceived, actions) == [ResponseReceived(busy, key, None)]
    (ack,) = sent(actions)
    assert ack.method == "ACK" and ack.uri == req.uri
    assert ack.headers.get_all("Via") == req.headers.get_all("Via")[:1]  # same branch
    assert "tag=busy-tag" in ack.headers.get("To")
    assert ack.headers.get("From") == req.headers.get("From")
    assert ack.headers.get("Call-ID") == req.headers.get("Call-ID")
    assert ack.headers.get("CSeq") == "1 ACK"
    assert ack.headers.get_all("Route") == ["<sip:p1.example;lr>", "<sip:p2.example;lr>"]
    assert layer.get(key).state is State.COMPLETED
    # a retransmitted 486 is answered with the ACK again and not passed up
    again = layer.receive(busy, 2.0)
    assert [m.method for m in sent(again)] == ["ACK"] and not of(ResponseReceived, again)
    assert run(layer, 32.3) == []
    assert run(layer, 100) == [(pytest.approx(32.4), TransactionTerminated(key))]


def test_invite_client_timer_d_is_zero_over_reliable_transport():
    layer, key, req = new_client(reliable=True)
    actions = layer.receive(reply(req, 603), 1.0)
    assert [type(a) for a in actions] == [ResponseReceived, SendMessage, TransactionTerminated]
    assert key not in layer


def test_invite_client_transport_error():
    layer, key, _ = new_client()
    assert layer.transport_error(key, 0.1) == [TransportError(key), TransactionTerminated(key)]
    assert layer.transport_error(key, 0.2) == []


def test_timers_are_configurable():
    layer, key, _ = new_client(t1=0.1, t2=1.0)
    log = run(layer, 100)
    assert sent_times(log) == pytest.approx([0.1, 0.3, 0.7, 1.5, 3.1, 6.3])  # A ignores T2
    assert log[-1][0] == pytest.approx(6.4)


# ----------------------------------------------------------------------------- CANCEL (client)

def test_cancel_waits_for_a_provisional_response():
    layer, key, req = new_client()
    cancel_key, actions = layer.cancel(key, 0.1)
    assert actions == [] and cancel_key == TransactionKey("client", "z9hG4bKc1", "CANCEL")
    actions = layer.receive(reply(req, 180), 0.3)
    (cancel,) = sent(actions)
    assert cancel.method == "CANCEL" and cancel.uri == req.uri
    assert cancel.headers.get("CSeq") == "1 CANCEL"
    assert cancel.headers.get_all("Via") == req.headers.get_all("Via")[:1]
    assert layer.get(cancel_key).state is State.TRYING
    # the CANCEL's 200 and the INVITE's 487 each find their own transaction
    ok = reply(cancel, 200)
    assert of(ResponseReceived, layer.receive(ok, 0.4))[0].transaction == cancel_key
    terminated = reply(req, 487)
    actions = layer.receive(terminated, 0.5)
    assert of(ResponseReceived, actions)[0].transaction == key
    assert [m.method for m in sent(actions)] == ["ACK"]


def test_cancel_in_proceeding_is_sent_at_once_and_retransmitted_by_timer_e():
    layer, key, req = new_client()
    layer.receive(reply(req, 180), 0.1)
    cancel_key, actions = layer.cancel(key, 1.0)
    assert [m.method for m in sent(actions)] == ["CANCEL"]
    assert sent_times(run(layer, 2.6)) == [1.5, 2.5]
    assert layer.cancel(key, 3.0)[1] == []  # one CANCEL per INVITE


def test_cancel_after_final_response_sends_nothing():
    layer, key, req = new_client()
    layer.receive(reply(req, 404), 0.1)
    _, actions = layer.cancel(key, 0.2)
    assert actions == []
    with pytest.raises(TransactionError):
        layer.cancel(TransactionKey("client", "z9hG4bKnope", "INVITE"), 0.3)


def test_build_cancel_copies_route_and_no_body():
    req = request(routes=("<sip:p1;lr>",))
    req.body = b"v=0\r\n"
    cancel = build_cancel(req)
    assert cancel.body == b"" and cancel.headers.get_all("Route") == ["<sip:p1;lr>"]
    assert "Contact" not in cancel.headers


# ----------------------------------------------------------------------------- non-INVITE client

def test_non_invite_client_timer_e_caps_at_t2_until_timer_f():
    layer, key, req = new_client("OPTIONS")
    assert layer.get(key).state is State.TRYING
    log = run(layer, 100)
    assert sent_times(log) == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    assert of(TransactionTimeout, [a for _, a in log]) == [TransactionTimeout(key, "F")]
    assert log[-1] == (32.0, TransactionTerminated(key))


def test_non_invite_client_timer_e_in_proceeding_uses_t2():
    layer, key, req = new_client("REGISTER")
    actions = layer.receive(reply(req, 100), 0.7)
    assert [type(a) for a in actions] == [SendMessage, ResponseReceived]  # E of 0.5 fired first
    assert layer.get(key).state is State.PROCEEDING
    log = run(layer, 14)
    assert sent_times(log) == [1.5, 5.5, 9.5, 13.5]


def test_non_invite_client_final_then_timer_k():
    layer, key, req = new_client("BYE")
    ok = reply(req, 200)
    assert layer.receive(ok, 0.25) == [ResponseReceived(ok, key, None)]
    assert layer.get(key).state is State.COMPLETED
    assert layer.receive(ok, 2.0) == []  # retransmitted final absorbed
    assert layer.receive(reply(req, 100), 2.1) == []
    assert run(layer, 100) == [(5.25, TransactionTerminated(key))]


def test_non_invite_client_reliable_no_e_and_zero_k():
    layer, key, req = new_client("MESSAGE", reliable=True)
    assert layer.next_deadline() == 32.0  # only F
    actions = layer.receive(reply(req, 202), 1.0)
    assert [type(a) for a in actions] == [ResponseReceived, TransactionTerminated]


def test_non_invite_client_reliable_timer_f():
    layer, key, _ = new_client("INFO", reliable=True)
    assert [a for _, a in run(layer, 100)] == [TransactionTimeout(key, "F"), TransactionTerminated(key)]


def test_non_invite_client_transport_error_in_proceeding():
    layer, key, req = new_client("OPTIONS")
    layer.receive(reply(req, 180), 0.1)
    assert layer.transport_error(key, 0.2) == [TransportError(key), TransactionTerminated(key)]


# ----------------------------------------------------------------------------- INVITE server

def test_invite_server_sends_100_trying_after_200_ms_of_tu_silence():
    layer, key, req, actions = new_server()
    assert sent(actions) == [] and layer.get(key).state is State.PROCEEDING
    assert key == TransactionKey("server", "z9hG4bKc1", "INVITE", "10.0.0.1:5060")
    log = run(layer, 1.0)
    assert [t for t, _ in log] == [0.2]
    trying = log[0][1].message
    assert trying.status == 100 and "tag=" not in trying.headers.get("To")
    assert log[0][1].dest == PEER
    # a retransmitted INVITE gets the latest provisional again, and no new event
    again = layer.receive(req, 0.6, source=PEER)
    assert sent(again) == [trying]


def test_invite_server_100_trying_at_once_when_configured():
    _, _, _, actions = new_server(trying_delay=0)
    assert [type(a) for a in actions] == [RequestReceived, SendMessage]
    assert actions[1].message.status == 100


def test_invite_server_no_100_when_tu_answers_in_time():
    layer, key, req, _ = new_server()
    ringing = reply(req, 180)
    assert sent(layer.send_response(ringing, 0.1)) == [ringing]
    assert run(layer, 10) == []
    assert sent(layer.receive(req, 1.0, source=PEER)) == [ringing]
    assert layer.get(key).last_response is ringing


def test_invite_server_retransmission_before_any_response_is_absorbed():
    layer, key, req, _ = new_server()
    assert layer.receive(req, 0.05, source=PEER) == []


def test_invite_server_non2xx_timer_g_then_timer_h():
    layer, key, req, _ = new_server()
    busy = reply(req, 486)
    assert sent(layer.send_response(busy, 0.1)) == [busy]
    assert layer.get(key).state is State.COMPLETED
    log = run(layer, 100)
    times = [round(t - 0.1, 6) for t in sent_times(log)]
    assert times == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    assert [a for _, a in log[-2:]] == [TransactionTimeout(key, "H"), TransactionTerminated(key)]


def test_invite_server_retransmission_in_completed_gets_the_final_again():
    layer, key, req, _ = new_server()
    busy = reply(req, 486)
    layer.send_response(busy, 0.1)
    assert sent(layer.receive(req, 0.3, source=PEER)) == [busy]


def test_invite_server_ack_confirms_then_timer_i():
    layer, key, req, _ = new_server()
    busy = reply(req, 486)
    layer.send_response(busy, 0.1)
    ack = request("ACK", cseq_method="ACK", to_tag="tt1")
    assert layer.receive(ack, 0.2, source=PEER) == []  # absorbed, not passed up
    assert layer.get(key).state is State.CONFIRMED
    assert layer.receive(ack, 0.3, source=PEER) == []
    assert layer.receive(req, 0.4, source=PEER) == []
    assert run(layer, 100) == [(5.2, TransactionTerminated(key))]


def test_invite_server_reliable_no_g_and_zero_i():
    layer, key, req, _ = new_server(reliable=True)
    layer.send_response(reply(req, 404), 0.1)
    assert layer.next_deadline() == pytest.approx(32.1)  # only H
    ack = request("ACK", cseq_method="ACK", to_tag="tt1")
    assert layer.receive(ack, 0.2, source=PEER) == [TransactionTerminated(key)]


def test_invite_server_2xx_accepted_absorbs_retransmissions_until_timer_l():
    layer, key, req, _ = new_server()
    ok = reply(req, 200)
    assert sent(layer.send_response(ok, 0.1)) == [ok]
    assert layer.get(key).state is State.ACCEPTED
    assert layer.receive(req, 0.5, source=PEER) == []  # not a new call (RFC 6026)
    assert sent(layer.send_response(ok, 0.6)) == [ok]  # the core's retransmission
    ack = request("ACK", "z9hG4bKack2", cseq_method="ACK", to_tag="tt1")
    assert layer.receive(ack, 0.7, source=PEER) == [RequestReceived(ack, None, PEER)]
    same_branch_ack = request("ACK", cseq_method="ACK", to_tag="tt1")
    assert layer.receive(same_branch_ack, 0.8, source=PEER) == [RequestReceived(same_branch_ack, key, PEER)]
    assert run(layer, 100) == [(pytest.approx(32.1), TransactionTerminated(key))]


def test_invite_server_tu_misuse_raises():
    layer, key, req, _ = new_server()
    layer.send_response(reply(req, 486), 0.1)
    with pytest.raises(TransactionError):
        layer.send_response(reply(req, 180), 0.2)
    with pytest.raises(TransactionError):
        layer.send_response(reply(request(branch="z9hG4bKnone"), 200), 0.2)
    with pytest.raises(TransactionError):
        layer.send_request(request("ACK", cseq_method="ACK"), DEST, 0.3)


def test_invite_server_transport_error():
    layer, key, req, _ = new_server()
    layer.send_response(reply(req, 180), 0.1)
    assert layer.transport_error(key, 0.2) == [TransportError(key), TransactionTerminated(key)]


def test_send_response_with_explicit_key():
    layer, key, req, _ = new_server("OPTIONS")
    actions = layer.send_response(reply(req, 200), 0.1, key=key)
    assert sent(actions)[0].status == 200


# ----------------------------------------------------------------------------- non-INVITE server

def test_non_invite_server_absorbs_in_trying_then_timer_j():
    layer, key, req, actions = new_server("OPTIONS")
    assert layer.get(key).state is State.TRYING and sent(actions) == []
    assert layer.next_deadline() is None  # no automatic 100 for non-INVITE
    assert layer.receive(req, 0.1, source=PEER) == []
    ok = reply(req, 200)
    assert sent(layer.send_response(ok, 0.2)) == [ok]
    assert layer.get(key).state is State.COMPLETED
    assert sent(layer.receive(req, 1.0, source=PEER)) == [ok]
    assert run(layer, 100) == [(pytest.approx(32.2), TransactionTerminated(key))]


def test_non_invite_server_proceeding_resends_provisional():
    layer, key, req, _ = new_server("REGISTER")
    trying = reply(req, 100)
    layer.send_response(trying, 0.1)
    assert layer.get(key).state is State.PROCEEDING
    assert sent(layer.receive(req, 0.2, source=PEER)) == [trying]
    layer.send_response(reply(req, 401), 0.3)
    with pytest.raises(TransactionError):
        layer.send_response(reply(req, 200), 0.4)


def test_non_invite_server_reliable_zero_j():
    layer, key, req, _ = new_server("BYE", reliable=True)
    actions = layer.send_response(reply(req, 200), 0.1)
    assert [type(a) for a in actions] == [SendMessage, TransactionTerminated]


def test_non_invite_server_transport_error_in_completed():
    layer, key, req, _ = new_server("BYE")
    layer.send_response(reply(req, 200), 0.1)
    assert layer.transport_error(key, 0.2) == [TransportError(key), TransactionTerminated(key)]


# ----------------------------------------------------------------------------- CANCEL (server)

def test_cancel_matches_its_invite_server_transaction():
    layer, invite_key, req, _ = new_server()
    cancel = request("CANCEL", cseq_method="CANCEL")
    (event,) = layer.receive(cancel, 0.1, source=PEER)
    assert event.invite == invite_key
    assert event.transaction == TransactionKey("server", "z9hG4bKc1", "CANCEL", "10.0.0.1:5060")
    assert layer.get(event.invite).request is req
    # the TU answers the CANCEL 200 and the INVITE 487; each in its own transaction
    assert sent(layer.send_response(reply(cancel, 200), 0.15))[0].headers.get("CSeq") == "1 CANCEL"
    assert sent(layer.send_response(reply(req, 487), 0.15))[0].status == 487
    assert layer.get(invite_key).state is State.COMPLETED
    assert layer.get(event.transaction).state is State.COMPLETED


def test_cancel_without_matching_invite():
    layer = TransactionLayer()
    (event,) = layer.receive(request("CANCEL", "z9hG4bKlost", cseq_method="CANCEL"), 0.0)
    assert event.invite is None and event.transaction is not None


def test_cancel_from_another_sent_by_does_not_match():
    layer, _, _, _ = new_server()
    cancel = request("CANCEL", sent_by="10.0.0.2:5060", cseq_method="CANCEL")
    (event,) = layer.receive(cancel, 0.1)
    assert event.invite is None


# ----------------------------------------------------------------------------- matching

def test_same_branch_from_different_sent_by_is_a_different_transaction():
    layer = TransactionLayer()
    first = layer.receive(request("OPTIONS"), 0.0)
    second = layer.receive(request("OPTIONS", sent_by="10.0.0.9:5060"), 0.0)
    assert len(of(RequestReceived, first + second)) == 2 and len(layer) == 2


def test_client_and_server_transactions_with_one_branch_coexist():
    layer = TransactionLayer()
    req = request("OPTIONS")
    client_key, _ = layer.send_request(req, DEST, 0.0)
    (event,) = layer.receive(req, 0.0)  # our own request looped back
    assert event.transaction != client_key and len(layer) == 2
    assert of(ResponseReceived, layer.receive(reply(req, 200), 0.1))[0].transaction == client_key


def test_response_with_other_method_does_not_match():
    layer, key, req = new_client()
    foreign = reply(request("INVITE", cseq_method="PRACK"), 200)
    assert layer.receive(foreign, 0.1) == [ResponseReceived(foreign, None, None)]
    assert layer.get(key).state is State.CALLING


def test_request_without_via_is_dropped():
    layer = TransactionLayer()
    req = request("OPTIONS")
    req.headers.remove("Via")
    assert layer.receive(req, 0.0) == []
    with pytest.raises(TransactionError):
        layer.send_request(req, DEST, 0.0)


def test_duplicate_client_transaction_is_a_misuse():
    layer, key, req = new_client()
    with pytest.raises(TransactionError):
        layer.send_request(req, DEST, 0.1)


def test_rfc2543_requests_match_without_magic_cookie():
    layer = TransactionLayer()
    old = request("INVITE", branch="")
    (event,) = layer.receive(old, 0.0, source=PEER)
    key = event.transaction
    assert layer.receive(old, 0.1, source=PEER) == []  # retransmission absorbed
    layer.send_response(reply(old, 486), 0.2, key=key)
    ack = request("ACK", branch="", cseq_method="ACK", to_tag="tt1")
    assert layer.receive(ack, 0.3, source=PEER) == []
    assert layer.get(key).state is State.CONFIRMED
    with pytest.raises(TransactionError):
        layer.send_response(reply(old, 486), 0.4)  # cannot be found without its key


def test_next_deadline_tracks_the_earliest_live_timer():
    layer = TransactionLayer()
    assert layer.next_deadline() is None
    invite_key, _ = layer.send_request(request("INVITE", "z9hG4bKa"), DEST, 0.0)
    layer.send_request(request("OPTIONS", "z9hG4bKb"), DEST, 0.2)
    assert layer.next_deadline() == 0.5
    layer.transport_error(invite_key, 0.3)
    assert layer.next_deadline() == 0.7
    assert layer.tick(0.69) == []


# ----------------------------------------------------------------------------- UAS 2xx retransmission

def ok_and_ack(ack_to_tag: str = "tt1", ack_cseq: int = 1):
    ok = reply(request(), 200)
    ack = request("ACK", "z9hG4bKack", cseq=ack_cseq, cseq_method="ACK", to_tag=ack_to_tag)
    return ok, ack


def test_2xx_retransmitted_at_t1_doubling_to_t2_until_ack():
    ok, ack = ok_and_ack()
    core = Uas2xxRetransmitter(ok, PEER, 10.0)
    log = run(core, 22.0)
    assert [round(t - 10, 6) for t in sent_times(log)] == [0.5, 1.5, 3.5, 7.5, 11.5]
    assert all(a.message is ok and a.dest == PEER for _, a in log)
    assert not core.ack_received(ok_and_ack(ack_to_tag="else")[1])
    assert not core.ack_received(ok_and_ack(ack_cseq=2)[1])
    assert core.ack_received(ack) and core.acked
    assert core.next_deadline() is None and core.tick(100) == []


def test_2xx_without_ack_gives_up_after_64_t1():
    ok, _ = ok_and_ack()
    core = Uas2xxRetransmitter(ok, PEER, 0.0, timers=TimerConfig(t1=0.1, t2=0.8))
    log = run(core, 100)
    assert log[-1] == (pytest.approx(6.4), AckTimeout(ok))
    assert len(sent_times(log)) == 10  # 0.1 0.3 0.7 1.5 2.3 3.1 3.9 4.7 5.5 6.3
    assert core.done and not core.acked and core.next_deadline() is None


def test_2xx_retransmission_can_be_turned_off_for_reliable_paths():
    ok, _ = ok_and_ack()
    core = Uas2xxRetransmitter(ok, PEER, 0.0, retransmit=False)
    assert core.next_deadline() == 32.0
    assert run(core, 100) == [(32.0, AckTimeout(ok))]


def test_2xx_tick_catches_up_after_a_late_call():
    ok, _ = ok_and_ack()
    core = Uas2xxRetransmitter(ok, PEER, 0.0)
    assert len(sent(core.tick(4.0))) == 3  # 0.5, 1.5, 3.5 all due


def test_a_late_tick_keeps_the_retransmission_schedule():
    layer, key, req = new_client()
    actions = layer.tick(4.0)
    assert len(sent(actions)) == 3  # the retransmissions due at 0.5, 1.5 and 3.5
    assert layer.next_deadline() == 7.5


def test_every_step_named_in_the_state_tables_exists():
    for table in (INVITE_CLIENT, INVITE_SERVER, NON_INVITE_CLIENT, NON_INVITE_SERVER):
        for _, steps in table.values():
            for name in steps:
                assert callable(getattr(Transaction, "_" + name, None)), name
