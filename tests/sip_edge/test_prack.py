"""Reliable provisional responses and PRACK (RFC 3262): the sans-IO parts in sip_edge.dialog and
sip_edge.headers, then two UserAgents on loopback (and a bare transport as a caller that never PRACKs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sip_edge.dialog import (
    Dialog,
    DialogState,
    ReliableProvisionals,
    RSeqTracker,
    build_request,
    create_prack,
    reliable_rseq,
    requires_100rel,
    supports_100rel,
)
from sip_edge.headers import HeaderError, RAck, parse_rseq
from sip_edge.message import Message, Request, Response, make_response
from sip_edge.transaction import TimerConfig
from sip_edge.transport import Address, free_port_pair
from sip_edge.ua import DEFAULT_SDP, NO_PRACK, CallFailed, InviteDialog, InviteHandle, UserAgent
from tests.sip_edge.conftest import target


def invite(*headers: tuple[str, str], cseq: int = 7) -> Request:
    return build_request("INVITE", "sip:bob@127.0.0.1", from_addr="<sip:alice@test>;tag=a", to_addr="<sip:bob@test>",
                         call_id="prack@test", cseq=cseq, contact="<sip:alice@127.0.0.1:5070>", headers=headers)


def provisional(request: Request, status: int = 180, *, sdp: bytes = b"", tag: str = "b") -> Response:
    return make_response(request, status, to_tag=tag, headers=[("Contact", "<sip:bob@127.0.0.1:5080>")], body=sdp)


def rack(response: Response) -> RAck:
    return RAck(int(response.headers.get("RSeq", "0")), response.cseq.seq, response.cseq.method)


# ------------------------------------------------------------------------------------------ headers


def test_rack_parses_and_prints() -> None:
    assert RAck.parse(" 776656 1 INVITE ") == RAck(776656, 1, "INVITE")
    assert str(RAck(776656, 1, "INVITE")) == "776656 1 INVITE"


@pytest.mark.parametrize("text", ["", "1 INVITE", "0 1 INVITE", "1 x INVITE", "4294967296 1 INVITE",
                                  "1 2147483648 INVITE", "1 1 IN<VITE"])
def test_malformed_racks_are_refused(text: str) -> None:
    with pytest.raises(HeaderError):
        RAck.parse(text)


def test_rseq_is_1_to_2_to_the_32_less_1() -> None:
    assert parse_rseq(" 4294967295 ") == 2**32 - 1
    for text in ("0", "4294967296", "x", ""):
        with pytest.raises(HeaderError):
            parse_rseq(text)


def test_option_tags_in_supported_and_require() -> None:
    assert supports_100rel(invite(("Supported", "timer, 100rel")))
    assert not requires_100rel(invite(("Supported", "100rel")))
    assert supports_100rel(invite(("Require", "100REL"))) and requires_100rel(invite(("Require", "100rel")))
    assert not supports_100rel(invite(("Supported", "timer")))


def test_reliable_rseq_needs_require_and_rseq_on_a_101_to_199() -> None:
    request = invite()
    reliable = provisional(request)
    reliable.headers.add("Require", "100rel")
    reliable.headers.add("RSeq", "42")
    assert reliable_rseq(reliable) == 42
    unreliable = provisional(request)
    unreliable.headers.add("RSeq", "42")
    assert reliable_rseq(unreliable) is None
    garbled = provisional(request)
    garbled.headers.add("Require", "100rel")
    garbled.headers.add("RSeq", "forty-two")
    assert reliable_rseq(garbled) is None


# ------------------------------------------------------------------------------------------ UAS, sans-IO


def test_required_provisionals_go_reliably_one_at_a_time() -> None:
    request = invite(("Require", "100rel"))
    uas = ReliableProvisionals(request, t1=0.5, first_rseq=100)
    [ringing] = uas.send(provisional(request, 180), now=0)
    assert ringing.headers.get("Require") == "100rel" and ringing.headers.get("RSeq") == "100"
    assert uas.send(provisional(request, 183, sdp=DEFAULT_SDP), now=0.1) == []  # waits for the PRACK of the 180
    assert uas.prack(RAck(100, 6, "INVITE"), now=0.2) is None  # another INVITE's
    assert uas.prack(RAck(99, 7, "INVITE"), now=0.2) is None  # not sent
    [progress] = uas.prack(rack(ringing), now=0.2) or []
    assert progress.status == 183 and progress.headers.get("RSeq") == "101"
    assert uas.prack(rack(ringing), now=0.3) is None  # acknowledged already: 481
    assert uas.prack(rack(progress), now=0.3) == []


def test_the_2xx_waits_for_the_prack_and_a_failure_does_not() -> None:
    request = invite(("Require", "100rel"))
    uas = ReliableProvisionals(request, first_rseq=1)
    [ringing] = uas.send(provisional(request), now=0)
    ok = make_response(request, 200, to_tag="b")
    assert uas.busy and uas.send(ok, now=0.1) == []
    assert uas.prack(rack(ringing), now=0.2) == [ok]
    assert not uas.busy and uas.send(make_response(request, 200, to_tag="b"), now=0.3) != []
    other = ReliableProvisionals(request, first_rseq=1)
    other.send(provisional(request), now=0)
    busy = make_response(request, 486, to_tag="b")
    assert other.send(busy, now=0.1) == [busy] and other.next_deadline() is None and not other.busy


def test_with_only_supported_just_the_18x_with_sdp_go_reliably() -> None:
    request = invite(("Supported", "100rel"))
    uas = ReliableProvisionals(request)
    [ringing] = uas.send(provisional(request, 180), now=0)
    assert "RSeq" not in ringing.headers and "Require" not in ringing.headers and not uas.busy
    [progress] = uas.send(provisional(request, 183, sdp=DEFAULT_SDP), now=0)
    assert 1 <= int(progress.headers.get("RSeq", "0")) < 2**31 and uas.busy
    assert uas.send(provisional(request, 180), now=0.1) != []  # an unreliable one never waits


def test_retransmissions_double_from_t1_without_a_cap_then_give_up_at_64_t1() -> None:
    request = invite(("Require", "100rel"))
    uas = ReliableProvisionals(request, t1=0.5, first_rseq=5)
    [ringing] = uas.send(provisional(request), now=0)
    sent_at = []
    now = 0.0
    while not uas.gave_up:
        deadline = uas.next_deadline()
        assert deadline is not None
        now = deadline
        if uas.tick(now) == [ringing]:
            sent_at.append(now)
    assert sent_at == [0.5, 1.5, 3.5, 7.5, 15.5, 31.5]  # intervals 0.5, 1, 2, 4, 8, 16: past T2 (RFC 3262 3)
    assert now == 32 and uas.next_deadline() is None and uas.send(provisional(request, 183), now=33) == []


def test_a_late_tick_sends_one_copy_and_reliable_transports_only_give_up() -> None:
    request = invite(("Require", "100rel"))
    uas = ReliableProvisionals(request, t1=0.5)
    uas.send(provisional(request), now=0)
    assert len(uas.tick(now=4.0)) == 1 and uas.next_deadline() == 7.5
    tcp = ReliableProvisionals(request, t1=0.5, retransmit=False)
    tcp.send(provisional(request), now=0)
    assert tcp.next_deadline() == 32 and tcp.tick(now=31.9) == [] and not tcp.gave_up
    assert tcp.tick(now=32) == [] and tcp.gave_up


# ------------------------------------------------------------------------------------------ UAC, sans-IO


def reliable(request: Request, rseq: int, *, tag: str = "b", status: int = 183) -> Response:
    response = provisional(request, status, tag=tag)
    response.headers.add("Require", "100rel")
    response.headers.add("RSeq", str(rseq))
    return response


def test_the_uac_takes_each_rseq_once_and_in_order_per_early_dialog() -> None:
    request = invite()
    tracker = RSeqTracker()
    assert tracker.accept(reliable(request, 500))
    assert not tracker.accept(reliable(request, 500))  # a retransmission
    assert not tracker.accept(reliable(request, 502))  # one went missing: not this one yet
    assert tracker.accept(reliable(request, 501))
    assert tracker.accept(reliable(request, 9, tag="forked"))  # another callee counts on its own
    assert not tracker.accept(provisional(request))  # unreliable: nothing to PRACK


def test_the_prack_names_the_provisional_in_its_early_dialog() -> None:
    request = invite(cseq=7)
    response = reliable(request, 4711)
    dialog = Dialog.uac(request, response)
    assert dialog.state is DialogState.EARLY
    prack = create_prack(dialog, response)
    assert prack.method == "PRACK" and prack.uri == "sip:bob@127.0.0.1:5080"
    assert prack.headers.get("RAck") == "4711 7 INVITE" and prack.cseq.seq == 8 and prack.to.tag == "b"


# ------------------------------------------------------------------------------------------ two UserAgents


class Tap:
    """Records what a UserAgent sends and drops what `drop` says (a lossy network in one direction)."""

    def __init__(self, ua: UserAgent, drop: Callable[[Message], bool] = lambda message: False) -> None:
        self.sent: list[Message] = []
        self.drop = drop
        self._send = ua.transport.send
        ua.transport.send = self.send  # type: ignore[method-assign]

    async def send(self, message: Message, dest: Address) -> Any:
        if self.drop(message):
            return None
        self.sent.append(message)
        return await self._send(message, dest)

    def responses(self, method: str, status: int | None = None) -> list[Response]:
        return [m for m in self.sent if isinstance(m, Response) and m.cseq.method == method
                and (status is None or m.status == status)]

    def requests(self, method: str) -> list[Request]:
        return [m for m in self.sent if isinstance(m, Request) and m.method == method]




def ring_and_answer(*statuses: int) -> Callable[[InviteDialog], None]:
    def on_invite(call: InviteDialog) -> None:
        for status in statuses:
            call.ring(status, sdp=DEFAULT_SDP if status == 183 else None)
        call.answer()

    return on_invite


async def test_a_required_reliable_180_is_pracked_and_then_the_2xx_goes(agents) -> None:
    uas = await agents(on_invite=ring_and_answer(180))
    uac = await agents()
    uas_out = Tap(uas)
    seen: list[Response] = []
    call = await uac.invite(target(uas), headers=[("Require", "100rel")], on_provisional=seen.append)
    [ringing] = [r for r in seen if r.status == 180]
    rseq = int(ringing.headers.get("RSeq", "0"))
    assert ringing.headers.get("Require") == "100rel" and 1 <= rseq < 2**31
    [prack_ok] = uas_out.responses("PRACK", 200)
    [answer] = uas_out.responses("INVITE", 200)
    assert uas_out.sent.index(prack_ok) < uas_out.sent.index(answer)  # the 2xx waited for the PRACK
    assert "100rel" in answer.headers.get_all("Supported") and "PRACK" in answer.headers.get_all("Allow")
    assert "100rel" in call.invite.headers.get_all("Supported")
    assert call.dialog is not None and call.dialog.local_cseq == call.invite.cseq.seq + 1  # the PRACK's number
    bye = await call.bye()
    assert bye.status == 200


async def test_a_lost_prack_leaves_the_180_retransmitted_until_one_arrives(agents) -> None:
    uas = await agents(on_invite=ring_and_answer(180))
    uac = await agents()
    uas_out = Tap(uas)
    # The UAC's PRACKs are lost until the UAS has sent its 180 a second time.
    Tap(uac, drop=lambda m: isinstance(m, Request) and m.method == "PRACK"
        and len(uas_out.responses("INVITE", 180)) < 2)
    seen: list[int] = []
    call = await uac.invite(target(uas), headers=[("Require", "100rel")],
                            on_provisional=lambda response: seen.append(response.status))
    copies = uas_out.responses("INVITE", 180)
    assert len(copies) >= 2 and len({c.headers.get("RSeq") for c in copies}) == 1
    assert seen.count(180) == 1  # the copies reached the UAC, which handled the 180 once
    assert len(uas_out.responses("PRACK", 200)) == 1 and call.answered
    await call.bye()


async def test_two_reliable_provisionals_go_one_after_the_others_prack(agents) -> None:
    uas = await agents(on_invite=ring_and_answer(180, 183))
    uac = await agents()
    uas_out, uac_out = Tap(uas), Tap(uac)
    seen: list[Response] = []
    call = await uac.invite(target(uas), headers=[("Require", "100rel")], on_provisional=seen.append)
    first, second = [r for r in seen if r.status > 100]
    assert (first.status, second.status) == (180, 183)
    assert int(second.headers.get("RSeq", "0")) == int(first.headers.get("RSeq", "0")) + 1
    pracks = uac_out.requests("PRACK")
    assert [p.headers.get("RAck") for p in pracks] == [f"{rack(first)}", f"{rack(second)}"]
    assert [p.cseq.seq for p in pracks] == [call.invite.cseq.seq + 1, call.invite.cseq.seq + 2]
    assert len(uas_out.responses("PRACK", 200)) == 2 and call.remote_sdp == DEFAULT_SDP
    await call.bye()


async def test_supported_100rel_makes_only_early_media_reliable(agents) -> None:
    uas = await agents(on_invite=ring_and_answer(180, 183))
    uac = await agents()
    uac_out = Tap(uac)
    seen: list[Response] = []
    call = await uac.invite(target(uas), on_provisional=seen.append)  # ours says Supported: 100rel
    ringing, progress = [r for r in seen if r.status > 100]
    assert "RSeq" not in ringing.headers and progress.headers.get("Require") == "100rel"
    assert [p.headers.get("RAck") for p in uac_out.requests("PRACK")] == [str(rack(progress))]
    await call.bye()


async def test_a_prack_naming_nothing_gets_481(agents) -> None:
    uas = await agents(on_invite=ring_and_answer(180))
    uac = await agents()
    call = await uac.invite(target(uas), headers=[("Require", "100rel")])
    assert (await call.request("PRACK", headers=[("RAck", f"1 {call.invite.cseq.seq} INVITE")])).status == 481
    assert (await call.request("PRACK")).status == 400  # no RAck at all
    await call.bye()


async def test_a_cancel_while_the_2xx_waits_for_the_prack_gets_487(agents) -> None:
    incoming: list[InviteDialog] = []

    def on_invite(call: InviteDialog) -> None:
        incoming.append(call)
        ring_and_answer(180)(call)

    uas = await agents(on_invite=on_invite)
    uac = await agents()
    Tap(uac, drop=lambda m: isinstance(m, Request) and m.method == "PRACK")
    handle = InviteHandle()
    with pytest.raises(CallFailed) as failed:
        await uac.invite(target(uas), headers=[("Require", "100rel")], handle=handle,
                         on_provisional=lambda response: handle.cancel() if response.status == 180 else None)
    assert failed.value.response.status == 487
    assert incoming[0].cancelled and not incoming[0].answered and not incoming[0].answer_pending


async def test_non_invite_requests_requiring_100rel_still_get_420(agents) -> None:
    uas, uac = await agents(), await agents()
    refused = await uac.request("OPTIONS", target(uas), headers=[("Require", "100rel")])
    assert refused.status == 420 and refused.headers.get("Unsupported") == "100rel"
    options = await uac.request("OPTIONS", target(uas))
    assert "100rel" in options.headers.get_all("Supported") and "PRACK" in options.headers.get_all("Allow")


# ------------------------------------------------------------------------------------------ a caller that never PRACKs


def raw_invite(peer: Any, uri: str, *headers: tuple[str, str]) -> Request:
    host, port = peer.transport.local_address("udp")
    return build_request("INVITE", uri, from_addr="<sip:peer@test>;tag=peer", to_addr="<sip:bob@test>",
                         call_id="noprack@test", cseq=1, contact=f"<sip:peer@{host}:{port}>", sent_by=f"{host}:{port}",
                         headers=headers, body=DEFAULT_SDP, content_type="application/sdp")


async def responses_until_final(peer: Any) -> list[Response]:
    out: list[Response] = []
    while not out or out[-1].status < 200:
        message, _ = await peer.next(5)
        if isinstance(message, Response):
            out.append(message)
    return out


async def test_no_prack_at_all_gives_up_with_500(agents, sip_peer) -> None:
    calls: list[InviteDialog] = []

    def on_invite(call: InviteDialog) -> None:
        calls.append(call)
        ring_and_answer(180)(call)

    uas = await agents(timers=TimerConfig(t1=0.02, t2=0.08, trying_delay=0), on_invite=on_invite)
    dest = Address("udp", "127.0.0.1", uas.ports["udp"])
    await sip_peer.transport.send(raw_invite(sip_peer, target(uas), ("Require", "100rel")), dest)
    responses = await responses_until_final(sip_peer)
    copies = [r for r in responses if r.status == 180]
    assert len(copies) >= 4 and len({r.headers.get("RSeq") for r in copies}) == 1
    final = responses[-1]
    assert final.status == 500 and final.reason == "Server Internal Error - no PRACK"
    assert final.to.tag == copies[0].to.tag
    assert calls[0].end_reason == NO_PRACK and not calls[0].answered and not uas.calls


async def test_a_caller_without_100rel_gets_plain_provisionals(agents, sip_peer) -> None:
    uas = await agents(on_invite=ring_and_answer(180, 183))
    dest = Address("udp", "127.0.0.1", uas.ports["udp"])
    await sip_peer.transport.send(raw_invite(sip_peer, target(uas)), dest)
    responses = await responses_until_final(sip_peer)
    assert [r.status for r in responses if r.status > 100] == [180, 183, 200]
    assert not any("RSeq" in r.headers for r in responses)


async def test_a_prack_outside_any_dialog_gets_481(agents) -> None:
    uas, uac = await agents(), await agents()
    assert (await uac.request("PRACK", target(uas), headers=[("RAck", "1 1 INVITE")])).status == 481



# ------------------------------------------------------------------------------------------ SIPp


@pytest.mark.sipp
async def test_sipp_requiring_100rel_pracks_our_reliable_180(agents, sipp) -> None:
    calls: list[InviteDialog] = []

    def on_invite(call: InviteDialog) -> None:
        calls.append(call)
        ring_and_answer(180)(call)

    uas = await agents(on_invite=on_invite)
    result = await sipp.run("-sf", sipp.scenario("uac_100rel.xml"), f"127.0.0.1:{uas.ports['udp']}",
                            "-i", "127.0.0.1", "-t", "u1", "-m", "1")
    assert result.ok, result.stderr[-2000:]
    assert (result.successful, result.failed) == (1, 0)
    assert calls[0].end_reason == "remote BYE" and calls[0].provisionals is not None


@pytest.mark.sipp
async def test_we_prack_the_reliable_183_of_sipp(agents, sipp) -> None:
    port = free_port_pair()
    server = await sipp.start("-sf", sipp.scenario("uas_100rel.xml"), "-i", "127.0.0.1", "-t", "u1", "-p", str(port),
                              "-m", "1", listen=(port, "udp"))
    uac = await agents()
    seen: list[Response] = []
    call = await uac.invite(f"sip:carrier@127.0.0.1:{port}", on_provisional=seen.append)
    assert [r.headers.get("RSeq") for r in seen if r.status == 183] == ["4711"] and b"m=audio" in call.remote_sdp
    assert (await call.bye()).status == 200
    result = await server.result()
    assert result.ok, result.stderr[-2000:]
    assert result.successful == 1
