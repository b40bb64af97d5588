"""Session timers (RFC 4028): the sans-IO negotiation, then two UserAgents on loopback with intervals of
a second or two (the only timing asserted is "within a generous bound")."""

from __future__ import annotations

import asyncio

import pytest

from sip_edge.dialog import (
    SessionTimer,
    answer_session_timer,
    build_request,
    session_timer_of_2xx,
    timer_request_headers,
)
from sip_edge.headers import HeaderError, SessionExpires, parse_min_se
from sip_edge.message import Headers, Request, Response, parse_message
from sip_edge.ua import SESSION_EXPIRED, CallFailed, InviteDialog, UserAgent
from tests.sip_edge.conftest import FAST_TIMERS as TIMERS
from tests.sip_edge.conftest import QueueSession, target
from voxsim.edge.legs import SipInboundLeg
from voxsim.edge.media_port import MediaPort


def invite_with(*headers: tuple[str, str]) -> Request:
    return build_request("INVITE", "sip:bob@test", from_addr="<sip:alice@test>", to_addr="<sip:bob@test>",
                         contact="<sip:alice@127.0.0.1:5070>", headers=headers)


def ok_with(*headers: tuple[str, str]) -> Response:
    return Response(200, "OK", Headers(headers))


# ------------------------------------------------------------------------------------------ headers


def test_session_expires_parses_interval_and_refresher() -> None:
    assert SessionExpires.parse("1800;refresher=UAC") == SessionExpires(1800, "uac")
    assert SessionExpires.parse(" 90 ") == SessionExpires(90, None)
    assert SessionExpires.parse("4000;foo=bar") == SessionExpires(4000, None)
    assert str(SessionExpires(1800, "uas")) == "1800;refresher=uas" and str(SessionExpires(90)) == "90"
    assert SessionExpires.parse("9" * 40).interval == 2**32 - 1  # a huge number is not a crash
    for bad in ("", "abc", "-5", "0", "90;refresher=proxy", "90;;"):
        with pytest.raises(HeaderError):
            SessionExpires.parse(bad)


def test_min_se_and_the_compact_form() -> None:
    assert parse_min_se("120") == 120 and parse_min_se("90;x=1") == 90
    with pytest.raises(HeaderError):
        parse_min_se("ninety")
    message = parse_message(b"INVITE sip:b@t SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nFrom: <sip:a@t>;tag=1\r\n"
                            b"To: <sip:b@t>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nx: 600;refresher=uac\r\n"
                            b"Content-Length: 0\r\n\r\n")
    assert message.headers.get("Session-Expires") == "600;refresher=uac"


def test_timer_arithmetic() -> None:
    assert (SessionTimer(1800, True).refresh_after, SessionTimer(1800, True).expire_after) == (900, 1768)
    assert (SessionTimer(90, False).refresh_after, SessionTimer(90, False).expire_after) == (45, 60)


# ------------------------------------------------------------------------------------------ the UAS side


def test_an_interval_below_min_se_gets_422_with_our_min_se() -> None:
    answer = answer_session_timer(invite_with(("Supported", "timer"), ("Session-Expires", "60")))
    assert answer.status == 422 and answer.headers == (("Min-SE", "90"),)


def test_below_min_se_without_timer_support_is_raised_and_we_refresh() -> None:
    answer = answer_session_timer(invite_with(("Session-Expires", "60;refresher=uac")))
    assert answer.status == 200 and answer.headers == (("Session-Expires", "90;refresher=uas"),)
    assert answer.timer == SessionTimer(90, we_refresh=True)


def test_the_uacs_refresher_is_kept_and_require_timer_added() -> None:
    request = invite_with(("Supported", "100rel, timer"), ("Session-Expires", "1800;refresher=uac"))
    answer = answer_session_timer(request)
    assert answer.headers == (("Session-Expires", "1800;refresher=uac"), ("Require", "timer"))
    assert answer.timer == SessionTimer(1800, we_refresh=False)


def test_without_a_refresher_voxsim_refreshes() -> None:
    answer = answer_session_timer(invite_with(("Supported", "timer"), ("Session-Expires", "1800")))
    assert answer.headers[0] == ("Session-Expires", "1800;refresher=uas") and answer.timer is not None
    assert answer.timer.we_refresh


def test_no_session_expires_means_no_timer_unless_we_want_one() -> None:
    plain = answer_session_timer(invite_with(("Supported", "timer")))
    assert plain.status == 200 and plain.headers == () and plain.timer is None
    ours = answer_session_timer(invite_with(("Supported", "timer"), ("Min-SE", "700")), session_expires=600)
    assert ours.headers == (("Session-Expires", "700;refresher=uas"), ("Require", "timer"))  # not below its Min-SE


def test_a_malformed_session_expires_gets_400() -> None:
    answer = answer_session_timer(invite_with(("Session-Expires", "soon")))
    assert answer.status == 400 and answer.reason is not None and "Session-Expires" in answer.reason


# ------------------------------------------------------------------------------------------ the UAC side


def test_the_2xx_says_who_refreshes() -> None:
    assert session_timer_of_2xx(ok_with(("Session-Expires", "120;refresher=uac"))) == SessionTimer(120, True)
    assert session_timer_of_2xx(ok_with(("Session-Expires", "120;refresher=uas"))) == SessionTimer(120, False)
    assert session_timer_of_2xx(ok_with(("Session-Expires", "120"))) == SessionTimer(120, True)
    assert session_timer_of_2xx(ok_with()) is None
    assert session_timer_of_2xx(ok_with(("Session-Expires", "never"))) is None


def test_what_our_requests_say() -> None:
    assert timer_request_headers(None) == [("Supported", "timer")]
    assert timer_request_headers(None, session_expires=1800) == [
        ("Supported", "timer"), ("Session-Expires", "1800"), ("Min-SE", "90")]
    assert timer_request_headers(SessionTimer(600, we_refresh=False)) == [
        ("Supported", "timer"), ("Session-Expires", "600;refresher=uas"), ("Min-SE", "90")]
    assert timer_request_headers(SessionTimer(2, we_refresh=True), min_se=1) == [
        ("Supported", "timer"), ("Session-Expires", "2;refresher=uac"), ("Min-SE", "1")]


# ------------------------------------------------------------------------------------------ two user agents




def watch(call: InviteDialog) -> asyncio.Queue[Request]:
    """The in-dialog requests `call` receives, in a queue."""
    seen: asyncio.Queue[Request] = asyncio.Queue()
    call.on_request = seen.put_nowait
    return seen


async def next_request(seen: asyncio.Queue[Request], method: str, timeout: float = 5.0) -> Request:
    while True:
        request = await asyncio.wait_for(seen.get(), timeout)
        if request.method == method:
            return request


async def test_422_below_our_min_se(agents) -> None:
    uas, uac = await agents(), await agents()
    with pytest.raises(CallFailed) as failure:
        await uac.invite(target(uas), headers=[("Session-Expires", "60")])
    assert failure.value.response.status == 422 and failure.value.response.headers.get("Min-SE") == "90"
    assert not uas.calls


async def test_the_uac_retries_a_422_with_its_min_se(agents) -> None:
    uas, uac = await agents(min_se=120), await agents(session_expires=100)
    call = await uac.invite(target(uas))
    assert call.invite.cseq.seq == 2 and call.invite.headers.get("Session-Expires") == "120"
    assert call.invite.headers.get("Min-SE") == "120"
    assert call.session_timer == SessionTimer(120, we_refresh=False)
    incoming = next(iter(uas.calls.values()))
    assert incoming.session_timer == SessionTimer(120, we_refresh=True)


async def test_the_2xx_carries_session_expires_and_require_timer(agents) -> None:
    uas, uac = await agents(), await agents()
    call = await uac.invite(target(uas), headers=[("Session-Expires", "1800;refresher=uac")])
    assert "timer" in call.invite.headers.get_all("Supported")
    assert call.response is not None
    assert call.response.headers.get("Session-Expires") == "1800;refresher=uac"
    assert call.response.headers.get_all("Require") == ["timer"]
    assert call.session_timer == SessionTimer(1800, we_refresh=True)
    incoming = next(iter(uas.calls.values()))
    assert incoming.session_timer == SessionTimer(1800, we_refresh=False)


async def test_without_session_expires_there_is_no_timer(agents) -> None:
    uas, uac = await agents(), await agents()
    call = await uac.invite(target(uas))
    assert call.response is not None and "Session-Expires" not in call.response.headers
    assert call.session_timer is None and next(iter(uas.calls.values())).session_timer is None


async def test_voxsim_as_uas_refreshes_with_update_when_the_peer_allows_it(agents) -> None:
    uas, uac = await agents(min_se=1), await agents(min_se=1)
    seen: list[asyncio.Queue[Request]] = []
    call = await uac.invite(target(uas), headers=[("Session-Expires", "1;refresher=uas")],
                            on_call=lambda c: seen.append(watch(c)))
    assert call.session_timer == SessionTimer(1, we_refresh=False)
    call.stop_session_timer()  # the caller's own clock is not under test (and must not race the refresh)
    refresh = await next_request(seen[0], "UPDATE")
    assert refresh.headers.get("Session-Expires") == "1;refresher=uac" and not refresh.body
    assert not call.ended.is_set()


async def test_voxsim_as_uac_refreshes_with_reinvite_when_update_is_not_allowed(agents) -> None:
    no_update = ("INVITE", "ACK", "CANCEL", "BYE", "OPTIONS")
    uas, uac = await agents(min_se=1, allow=no_update), await agents(min_se=1)
    call = await uac.invite(target(uas), headers=[("Session-Expires", "1;refresher=uac")])
    incoming = next(iter(uas.calls.values()))
    incoming.stop_session_timer()  # likewise
    seen = watch(incoming)
    refresh = await next_request(seen, "INVITE")
    assert refresh.headers.get("Session-Expires") == "1;refresher=uac"
    assert b"a=sendrecv" in refresh.body and refresh.cseq.seq == 2
    assert not call.ended.is_set() and not incoming.ended.is_set()


async def test_a_peer_that_stops_refreshing_gets_a_bye(agents) -> None:
    uas, uac = await agents(min_se=1), await agents(min_se=1)
    seen: list[asyncio.Queue[Request]] = []
    call = await uac.invite(target(uas), headers=[("Session-Expires", "1;refresher=uac")],
                            on_call=lambda c: seen.append(watch(c)))
    incoming = next(iter(uas.calls.values()))
    call.stop_session_timer()  # the caller forgets to refresh
    bye = await next_request(seen[0], "BYE")
    assert bye.headers.get("Reason") == 'SIP;cause=408;text="Session timer expired"'
    assert await call.wait_ended(5) == "remote BYE"
    assert incoming.end_reason == SESSION_EXPIRED and not uas.calls


async def test_a_refresh_answered_481_ends_the_call(agents) -> None:
    uas, uac = await agents(min_se=1), await agents(min_se=1)
    call = await uac.invite(target(uas), headers=[("Session-Expires", "1;refresher=uac")])
    incoming = next(iter(uas.calls.values()))
    incoming.stop_session_timer()
    uas.calls.clear()  # the far end forgot the dialog: its answer to our refresh is 481
    assert await call.wait_ended(5) == SESSION_EXPIRED


async def test_a_reinvite_below_min_se_gets_422_and_the_call_goes_on(agents) -> None:
    uas, uac = await agents(), await agents()
    call = await uac.invite(target(uas), headers=[("Session-Expires", "1800;refresher=uac")])
    refused = await call.request("INVITE", headers=[("Session-Expires", "30")], body=call.current_sdp(),
                                 content_type="application/sdp")
    assert refused.status == 422 and refused.headers.get("Min-SE") == "90"
    assert call.session_timer == SessionTimer(1800, we_refresh=True) and not call.ended.is_set()
    again = await call.request("UPDATE")
    assert again.status == 200 and again.headers.get("Session-Expires") == "1800;refresher=uac"


# ------------------------------------------------------------------------------------------ the edge's leg




async def test_the_leg_reports_disconnected_408_session_timer() -> None:
    incoming: asyncio.Queue[InviteDialog] = asyncio.Queue()
    edge = UserAgent(user="edge", on_invite=incoming.put_nowait, timers=TIMERS, min_se=1)
    phone = UserAgent(user="phone", timers=TIMERS, min_se=1)
    await edge.start(tcp=None)
    await phone.start(tcp=None)
    try:
        task = asyncio.ensure_future(phone.invite(target(edge), headers=[("Session-Expires", "1;refresher=uac")]))
        leg = SipInboundLeg(edge, await asyncio.wait_for(incoming.get(), 3), advertised_host="127.0.0.1",
                            open_media=lambda: MediaPort.open("127.0.0.1", (0, 0)), request_timeout=1)
        session = QueueSession()
        leg.bind(session, "c1")
        await leg.answer({}, {})
        call = await task
        call.stop_session_timer()
        await session.wait("Call.Connected")
        assert await session.wait("Call.Disconnected") == {
            "internalCode": 408, "reason": "Request Timeout - session timer", "headers": {}}
        assert await call.wait_ended(5) == "remote BYE" and leg.closed
    finally:
        await phone.stop()
        await edge.stop()
