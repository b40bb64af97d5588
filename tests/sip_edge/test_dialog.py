"""RFC 3261 §12 dialogs: creation on both sides, route sets, in-dialog requests, CSeq, ACK."""

from __future__ import annotations

import pytest

from sip_edge.auth import AuthStatus, DigestClient, DigestServer, header_names
from sip_edge.dialog import (
    VIA_PLACEHOLDER,
    Dialog,
    DialogError,
    DialogId,
    DialogState,
    build_request,
    new_branch,
    new_call_id,
    new_tag,
    request_dialog_id,
    response_dialog_id,
)
from sip_edge.headers import CSeq, NameAddr, Via
from sip_edge.message import Request, make_response, parse_message, serialize
from sip_edge.transaction import (
    RequestReceived,
    ResponseReceived,
    SendMessage,
    TransactionLayer,
    Uas2xxRetransmitter,
)

ALICE_CONTACT = "<sip:alice@10.0.0.1:5062;transport=udp>"
BOB_CONTACT = "<sip:bob@10.0.0.2:5064>"
RECORD_ROUTES = ("<sip:p1.example;lr>", "<sip:p2.example;lr>")  # p1 is nearest to Bob


def invite(record_routes: tuple[str, ...] = RECORD_ROUTES) -> Request:
    req = build_request(
        "INVITE", "sip:bob@b.example",
        from_addr='"Alice" <sip:alice@a.example>', to_addr="<sip:bob@b.example>",
        contact=ALICE_CONTACT, call_id="call-1@a.example", cseq=314,
        body=b"v=0\r\n", content_type="application/sdp",
    )
    # as it arrives at Bob: the proxies have added their Record-Routes
    for route in reversed(record_routes):
        req.headers.insert_first("Record-Route", route)
    return req


def answer(req: Request, status: int = 200, *, to_tag: str = "bobtag", contact: str = BOB_CONTACT):
    resp = make_response(req, status, to_tag=to_tag, headers=[("Contact", contact)])
    for route in req.headers.get_all("Record-Route"):
        resp.headers.add("Record-Route", route)
    return resp


def assert_round_trips(req: Request) -> None:
    again = parse_message(serialize(req))
    assert (again.method, again.uri, again.body) == (req.method, req.uri, req.body)
    assert [h for h in again.headers.items() if h[0] != "Content-Length"] == req.headers.items()


def pair() -> tuple[Dialog, Dialog, Request]:
    req = invite()
    uas = Dialog.uas(req, local_tag="bobtag", local_contact=BOB_CONTACT)
    uac = Dialog.uac(req, answer(req))
    return uac, uas, req


# ----------------------------------------------------------------------------- identifiers

def test_generated_identifiers_are_random_and_well_formed():
    tags = {new_tag() for _ in range(50)}
    assert len(tags) == 50 and all(len(t) == 16 for t in tags)
    branch = new_branch()
    assert branch.startswith("z9hG4bK") and branch != new_branch()
    assert new_call_id("a.example").endswith("@a.example")
    assert "@" not in new_call_id()


def test_build_request_outside_a_dialog():
    req = invite(())
    assert req.method == "INVITE" and req.uri == "sip:bob@b.example"
    assert NameAddr.parse(req.headers.get("From")).tag
    assert NameAddr.parse(req.headers.get("To")).tag is None
    via = Via.parse(req.headers.get("Via"))
    assert via.host == VIA_PLACEHOLDER and via.is_rfc3261_branch and "rport" in via.params
    assert req.headers.get("CSeq") == "314 INVITE"
    assert req.headers.get("Max-Forwards") == "70"
    assert req.headers.get("Content-Type") == "application/sdp"
    assert_round_trips(req)


def test_build_request_keeps_a_given_from_tag_and_call_id():
    req = build_request(
        "REGISTER", "sip:registrar.example", from_addr="<sip:a@r.example>;tag=keep",
        to_addr="<sip:a@r.example>", sent_by="192.0.2.5:5060", transport="TCP",
    )
    assert NameAddr.parse(req.headers.get("From")).tag == "keep"
    assert req.headers.get("Via").startswith("SIP/2.0/TCP 192.0.2.5:5060;branch=z9hG4bK")
    assert req.headers.get("Call-ID")


# ----------------------------------------------------------------------------- creation

def test_uas_dialog_from_invite():
    req = invite()
    dialog = Dialog.uas(req, local_tag="bobtag")
    assert dialog.role == "uas" and dialog.state is DialogState.CONFIRMED
    from_tag = NameAddr.parse(req.headers.get("From")).tag
    assert dialog.id == DialogId("call-1@a.example", "bobtag", from_tag)
    assert dialog.route_set == list(RECORD_ROUTES)  # in order on the UAS side
    assert dialog.remote_target == "sip:alice@10.0.0.1:5062;transport=udp"
    assert dialog.remote_cseq == 314 and dialog.local_cseq is None
    assert str(dialog.remote.uri) == "sip:alice@a.example" and dialog.remote.display_name == "Alice"
    assert str(dialog.local.uri) == "sip:bob@b.example"


def test_uas_dialog_makes_a_tag_when_none_is_given():
    dialog = Dialog.uas(invite(), state=DialogState.EARLY)
    assert dialog.local.tag and dialog.state is DialogState.EARLY


def test_uac_dialog_from_2xx():
    req = invite()
    dialog = Dialog.uac(req, answer(req))
    from_tag = NameAddr.parse(req.headers.get("From")).tag
    assert dialog.id == DialogId("call-1@a.example", from_tag, "bobtag")
    assert dialog.route_set == list(reversed(RECORD_ROUTES))  # reversed on the UAC side
    assert dialog.remote_target == "sip:bob@10.0.0.2:5064"
    assert dialog.local_cseq == 314 and dialog.remote_cseq is None
    assert dialog.local_contact == ALICE_CONTACT
    assert dialog.state is DialogState.CONFIRMED


def test_both_sides_agree_on_the_dialog():
    uac, uas, req = pair()
    assert uac.id == DialogId(uas.call_id, uas.remote.tag, uas.local.tag)
    assert response_dialog_id(answer(req)) == uac.id
    bye = uac.create_request("BYE")
    assert request_dialog_id(bye) == uas.id


def test_uac_early_dialog_confirmed_by_2xx_recomputes_route_set():
    req = invite()
    early = Dialog.uac(req, answer(req, 183, contact="<sip:bob@early.example>"))
    assert early.state is DialogState.EARLY and early.remote_target == "sip:bob@early.example"
    ok = answer(req)
    ok.headers.remove("Record-Route")
    ok.headers.add("Record-Route", "<sip:only.example;lr>")
    early.update_from_response(ok)
    assert early.state is DialogState.CONFIRMED
    assert early.route_set == ["<sip:only.example;lr>"]
    assert early.remote_target == "sip:bob@10.0.0.2:5064"


@pytest.mark.parametrize("status, to_tag", [(100, "x"), (180, None), (486, "x")])
def test_responses_that_create_no_dialog(status, to_tag):
    req = invite()
    resp = make_response(req, status, to_tag=to_tag, headers=[("Contact", BOB_CONTACT)])
    with pytest.raises(DialogError):
        Dialog.uac(req, resp)


def test_dialog_needs_a_contact():
    req = invite()
    with pytest.raises(DialogError):
        Dialog.uac(req, make_response(req, 200, to_tag="t"))
    req.headers.remove("Contact")
    with pytest.raises(DialogError):
        Dialog.uas(req)


# ----------------------------------------------------------------------------- requests

def test_bye_from_the_uac_uses_loose_routing():
    uac, _, req = pair()
    bye = uac.create_request("BYE")
    assert bye.uri == "sip:bob@10.0.0.2:5064"
    assert bye.headers.get_all("Route") == list(reversed(RECORD_ROUTES))
    assert bye.headers.get("From") == str(uac.local) and "tag=" in bye.headers.get("From")
    assert NameAddr.parse(bye.headers.get("To")).tag == "bobtag"
    assert bye.headers.get("Call-ID") == "call-1@a.example"
    assert bye.headers.get("CSeq") == "315 BYE"
    assert bye.headers.get("Max-Forwards") == "70"
    via = Via.parse(bye.headers.get("Via"))
    assert via.is_rfc3261_branch and via.branch != Via.parse(req.headers.get("Via")).branch
    assert "Contact" not in bye.headers
    assert_round_trips(bye)


def test_requests_from_the_uas_side():
    _, uas, req = pair()
    bye = uas.create_request("BYE")
    assert bye.uri == "sip:alice@10.0.0.1:5062;transport=udp"
    assert bye.headers.get_all("Route") == list(RECORD_ROUTES)
    assert NameAddr.parse(bye.headers.get("From")).tag == "bobtag"
    assert bye.headers.get("To") == req.headers.get("From")
    assert bye.headers.get("CSeq") == "1 BYE"  # the UAS's local CSeq starts empty


def test_cseq_increments_and_each_request_gets_a_new_branch():
    uac, _, _ = pair()
    requests = [uac.create_request(m) for m in ("INFO", "MESSAGE", "OPTIONS", "INVITE")]
    assert [CSeq.parse(r.headers.get("CSeq")).seq for r in requests] == [315, 316, 317, 318]
    assert len({Via.parse(r.headers.get("Via")).branch for r in requests}) == 4
    assert uac.local_cseq == 318


def test_reinvite_carries_contact_and_body():
    uac, _, _ = pair()
    reinvite = uac.create_request("INVITE", body=b"v=0\r\n", content_type="application/sdp")
    assert reinvite.headers.get("Contact") == ALICE_CONTACT
    assert reinvite.headers.get("Content-Type") == "application/sdp" and reinvite.body == b"v=0\r\n"
    info = uac.create_request(
        "INFO", headers=[("Content-Type", "application/dtmf-relay")], body=b"Signal=5\r\nDuration=160\r\n"
    )
    assert info.headers.get_all("Content-Type") == ["application/dtmf-relay"]
    assert "Contact" not in info.headers


def test_no_route_set_means_no_route_headers():
    req = invite(())
    uac = Dialog.uac(req, answer(req))
    bye = uac.create_request("BYE")
    assert bye.uri == "sip:bob@10.0.0.2:5064" and "Route" not in bye.headers


def test_strict_router_first_in_route_set():
    req = invite(("<sip:strict.example;maddr=192.0.2.9>", "<sip:loose.example;lr>"))
    uac = Dialog.uac(req, answer(req))
    # UAC route set (reversed): loose first, so loose routing; from the UAS side strict is first
    assert uac.create_request("BYE").uri == "sip:bob@10.0.0.2:5064"
    uas = Dialog.uas(req, local_tag="bobtag")
    bye = uas.create_request("BYE")
    assert bye.uri == "sip:strict.example;maddr=192.0.2.9"
    assert bye.headers.get_all("Route") == [
        "<sip:loose.example;lr>", "<sip:alice@10.0.0.1:5062;transport=udp>"  # remote target last
    ]


def test_strict_route_strips_what_a_request_uri_may_not_carry():
    req = invite(("<sip:strict.example;method=INVITE?X-Foo=bar>",))
    bye = Dialog.uas(req, local_tag="t").create_request("BYE")
    assert bye.uri == "sip:strict.example"


def test_ack_for_2xx():
    uac, _, req = pair()
    ack = uac.create_ack(headers=[("Authorization", "Digest x=y")])
    assert ack.method == "ACK" and ack.uri == "sip:bob@10.0.0.2:5064"
    assert ack.headers.get("CSeq") == "314 ACK"  # same number as the INVITE
    assert Via.parse(ack.headers.get("Via")).branch != Via.parse(req.headers.get("Via")).branch
    assert ack.headers.get_all("Route") == list(reversed(RECORD_ROUTES))
    assert ack.headers.get("Authorization") == "Digest x=y"
    assert uac.local_cseq == 314  # ACK does not advance the CSeq
    uac.create_request("INVITE")
    assert uac.create_ack().headers.get("CSeq") == "315 ACK"
    assert uac.create_ack(314).headers.get("CSeq") == "314 ACK"


def test_ack_without_an_invite():
    _, uas, _ = pair()
    with pytest.raises(DialogError):
        uas.create_ack()


@pytest.mark.parametrize("method", ["ACK", "CANCEL"])
def test_ack_and_cancel_are_not_new_requests(method):
    uac, _, _ = pair()
    with pytest.raises(DialogError):
        uac.create_request(method)


def test_no_requests_after_termination():
    uac, _, _ = pair()
    uac.terminate()
    assert uac.state is DialogState.TERMINATED
    with pytest.raises(DialogError):
        uac.create_request("BYE")


# ----------------------------------------------------------------------------- incoming

def test_incoming_cseq_lower_than_remote_gets_500():
    uac, uas, _ = pair()
    first = uac.create_request("INFO")  # 315
    second = uac.create_request("INFO")  # 316
    assert uas.check_request(second) is None and uas.remote_cseq == 316
    assert uas.check_request(first) == 500
    assert uas.remote_cseq == 316


def test_ack_and_cancel_reuse_numbers_without_500():
    uac, uas, _ = pair()
    uas.check_request(uac.create_request("INVITE"))  # 315
    uas.check_request(uac.create_request("INFO"))  # 316
    assert uas.check_request(uac.create_ack(315)) is None
    assert uas.remote_cseq == 316


def test_first_request_sets_an_empty_remote_cseq():
    uac, uas, _ = pair()
    assert uac.remote_cseq is None
    bye = uas.create_request("BYE")
    assert uac.check_request(bye) is None and uac.remote_cseq == 1


def test_target_refresh_from_incoming_reinvite_and_2xx():
    uac, uas, _ = pair()
    reinvite = uac.create_request("INVITE", headers=[("Contact", "<sip:alice@10.9.9.9>")])
    assert uas.check_request(reinvite) is None
    assert uas.remote_target == "sip:alice@10.9.9.9"
    ok = make_response(reinvite, 200, headers=[("Contact", "<sip:bob@10.8.8.8>")])
    uac.update_from_response(ok)
    assert uac.remote_target == "sip:bob@10.8.8.8"
    info_ok = make_response(uac.create_request("INFO"), 200, headers=[("Contact", "<sip:x@y>")])
    uac.update_from_response(info_ok)
    assert uac.remote_target == "sip:bob@10.8.8.8"  # INFO is no target refresh


def test_malformed_cseq_in_dialog_is_400():
    uac, uas, _ = pair()
    bad = uac.create_request("INFO")
    bad.headers.set("CSeq", "abc INFO")
    assert uas.check_request(bad) == 400


# ----------------------------------------------------------------------------- a call end to end

def test_a_call_over_the_wire_with_digest_dialog_and_transactions():
    """UAC and UAS, each a TransactionLayer, exchanging bytes: 401, authenticated INVITE,
    200 retransmitted until the dialog's ACK, then BYE from the UAS."""
    def wire(actions):
        """What reaches the other side: each sent message serialized and parsed again."""
        return [parse_message(serialize(a.message)) for a in actions if isinstance(a, SendMessage)]

    def deliver(layer, messages, now):
        return [a for m in messages for a in layer.receive(m, now, source="peer")]

    alice, bob = TransactionLayer(), TransactionLayer()
    digest = DigestServer("b.example", secret=b"s" * 32)
    client = DigestClient("alice", "pw")

    # 1. INVITE -> 401 (ACKed inside the client transaction)
    first = invite(())
    _, out = alice.send_request(first, "bob", 0.0)
    (event,) = [a for a in deliver(bob, wire(out), 0.01) if isinstance(a, RequestReceived)]
    assert "Authorization" not in event.request.headers
    challenge = make_response(event.request, 401, to_tag=new_tag(), headers=digest.challenge_headers(0.01))
    got = deliver(alice, wire(bob.send_response(challenge, 0.02)), 0.03)
    (resp,) = [a.response for a in got if isinstance(a, ResponseReceived)]
    assert resp.status == 401
    ack = wire(got)
    assert [m.method for m in ack] == ["ACK"]
    assert deliver(bob, ack, 0.04) == []  # absorbed by the server transaction (Confirmed)

    # 2. the same INVITE, CSeq + 1 and a new branch, with credentials
    second = build_request(
        "INVITE", first.uri, from_addr=first.headers.get("From"), to_addr=first.headers.get("To"),
        contact=ALICE_CONTACT, call_id=first.headers.get("Call-ID"), cseq=315,
        headers=[(header_names(401)[1], client.answer(resp.headers.get_all("WWW-Authenticate"), "INVITE",
                                                      first.uri))],
    )
    _, out = alice.send_request(second, "bob", 0.1)
    (event,) = [a for a in deliver(bob, wire(out), 0.11) if isinstance(a, RequestReceived)]
    verdict = digest.verify(
        event.request.headers.get("Authorization"), method="INVITE", uri=event.request.uri, now=0.11,
        credentials={"alice": "pw"}.get,
    )
    assert verdict.status is AuthStatus.OK

    # 3. 200 OK; the UAS core retransmits it until the ACK the UAC's dialog builds
    bob_dialog = Dialog.uas(event.request, local_contact=BOB_CONTACT)
    ok = make_response(event.request, 200, to_tag=bob_dialog.local.tag, headers=[("Contact", BOB_CONTACT)])
    out = bob.send_response(ok, 0.2)
    retransmitter = Uas2xxRetransmitter(ok, "alice", 0.2)
    got = deliver(alice, wire(out), 0.21)
    (resp,) = [a.response for a in got if isinstance(a, ResponseReceived)]
    alice_dialog = Dialog.uac(second, resp)
    lost_ack = alice_dialog.create_ack()  # the first ACK is lost: the 200 comes again
    retransmitted = wire(retransmitter.tick(0.7))
    assert [m.status for m in retransmitted] == [200]
    assert [a.transaction is not None for a in deliver(alice, retransmitted, 0.71)] == [True]  # Accepted
    (ack_event,) = deliver(bob, wire(alice.send_stateless(lost_ack, "bob")), 0.72)
    assert ack_event.transaction is None  # the ACK of a 2xx belongs to no transaction
    assert request_dialog_id(ack_event.request) == bob_dialog.id
    assert retransmitter.ack_received(ack_event.request)
    assert bob_dialog.check_request(ack_event.request) is None

    # 4. BYE from the UAS, inside the dialog
    bye = bob_dialog.create_request("BYE")
    _, out = bob.send_request(bye, "alice", 1.0)
    (event,) = deliver(alice, wire(out), 1.01)
    assert request_dialog_id(event.request) == alice_dialog.id
    assert alice_dialog.check_request(event.request) is None
    got = deliver(bob, wire(alice.send_response(make_response(event.request, 200), 1.02)), 1.03)
    assert [a.response.status for a in got if isinstance(a, ResponseReceived)] == [200]
