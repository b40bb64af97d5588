"""SIP call legs against our own UserAgent as the far end, with a fake session recording the events."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator
from typing import Any

import pytest

from sip_edge.dialog import build_request
from sip_edge.message import Request
from sip_edge.rtp import build_rtp
from sip_edge.sdp import parse_sdp
from sip_edge.transaction import TimerConfig
from sip_edge.transport import Address
from sip_edge.ua import CallFailed, InviteDialog, UserAgent
from voxsim.edge.legs import DialTarget, SipInboundLeg, SipOutboundLeg, dtmf_of, wire_headers
from voxsim.edge.media_port import MediaPort
from voxsim.media.call_audio import CallAudio

OFFER = (b"v=0\r\no=- 1 1 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\n"
         b"m=audio 4000 RTP/AVP 18 8 0 96\r\na=rtpmap:96 telephone-event/8000\r\n"
         b"m=video 4002 RTP/AVP 99\r\na=rtpmap:99 H264/90000\r\n")


class FakeSession:
    session_id = 7
    account_id = 1
    application_id = 2

    def __init__(self) -> None:
        self.events: list[tuple[str, str, dict[str, Any]]] = []
        self.changed = asyncio.Event()
        self.audio: dict[str, CallAudio] = {}

    def call_audio(self, call_id: str) -> CallAudio:
        return self.audio.setdefault(call_id, CallAudio(call_id))

    def call_event(self, call_id: str, name: str, payload: Any = None) -> None:
        self.events.append((call_id, name, dict(payload or {})))
        self.changed.set()

    def names(self) -> list[str]:
        return [name for _, name, _ in self.events]

    async def wait(self, name: str, timeout: float = 3.0) -> dict[str, Any]:
        async def find() -> dict[str, Any]:
            while True:
                for _, event, payload in self.events:
                    if event == name:
                        return payload
                self.changed.clear()
                await self.changed.wait()

        return await asyncio.wait_for(find(), timeout)


@pytest.fixture
async def pair() -> AsyncIterator[tuple[UserAgent, UserAgent, asyncio.Queue[InviteDialog]]]:
    """`edge` (our side; incoming calls queued, not answered) and `phone` (the far end)."""
    incoming: asyncio.Queue[InviteDialog] = asyncio.Queue()
    timers = TimerConfig(t1=0.05, t2=0.2, trying_delay=0)
    edge = UserAgent(user="edge", on_invite=incoming.put_nowait, timers=timers)
    phone = UserAgent(user="phone", timers=timers)
    await edge.start(tcp=None)
    await phone.start(tcp=None)
    yield edge, phone, incoming
    await phone.stop()
    await edge.stop()


async def open_media() -> MediaPort:
    return await MediaPort.open("127.0.0.1", (0, 0))


async def inbound(edge: UserAgent, phone: UserAgent, incoming: asyncio.Queue[InviteDialog], *, sdp: bytes = OFFER,
                  headers: list[tuple[str, str]] | None = None):
    session = FakeSession()
    provisional: list[Any] = []
    task = asyncio.ensure_future(phone.invite(f"sip:1001@127.0.0.1:{edge.ports['udp']}", sdp=sdp,
                                              headers=headers or [], on_provisional=provisional.append))
    sip_call = await asyncio.wait_for(incoming.get(), 3)
    leg = SipInboundLeg(edge, sip_call, advertised_host="127.0.0.1", open_media=open_media, request_timeout=1,
                        ack_timeout=3)
    leg.bind(session, "c1")
    return session, leg, task, provisional


# ------------------------------------------------------------------------------------------ pure helpers


def test_wire_headers_keep_x_and_user_to_user_only() -> None:
    assert wire_headers({"X-A": "1", "x-b": "two\r\nInjected: yes", "P-Asserted-Identity": "no",
                         "User-to-User": "abc", "X-Bad Name": "no"}) == [
        ("X-A", "1"), ("x-b", "two Injected: yes"), ("User-to-User", "abc")]


@pytest.mark.parametrize(("content_type", "body", "tone"), [
    ("application/dtmf-relay", "Signal=5\r\nDuration=160\r\n", "5"),
    ("application/dtmf-relay", "Signal= 11\r\nDuration=160\r\n", "#"),
    ("application/dtmf-relay", "signal=*\r\n", "*"),
    ("application/dtmf", "10", "*"),
    ("application/dtmf", "D", "D"),
    ("application/json", "{}", None),
])
def test_dtmf_of_info_bodies(content_type: str, body: str, tone: str | None) -> None:
    from sip_edge.message import Headers

    request = Request("INFO", "sip:a@b", Headers([("Content-Type", content_type)]), body.encode())
    assert dtmf_of(request) == tone


async def test_media_port_reserves_an_even_port_in_range_and_releases_it() -> None:
    port = await MediaPort.open("127.0.0.1", (30000, 30100))
    assert 30000 <= port.port < 30100 and port.port % 2 == 0
    port.close()
    await asyncio.sleep(0)  # the socket goes on the loop's next turn
    again = await MediaPort.open("127.0.0.1", (port.port, port.port + 1))
    assert again.port == port.port
    again.close()


# ------------------------------------------------------------------------------------------ inbound


async def test_answer_sends_200_with_an_sdp_answer_and_connected_follows_the_ack(pair) -> None:
    edge, phone, incoming = pair
    session, leg, task, _ = await inbound(edge, phone, incoming, headers=[("X-In", "1")])
    await leg.answer({"X-Out": "yes", "Contact": "no"}, {})
    call = await task
    assert call.response.headers.get("X-Out") == "yes"
    assert call.response.headers.get_all("Contact") != ["no"]
    answer = parse_sdp(call.remote_sdp)
    assert answer is not None and answer.payloads == [8, 96] and answer.port == leg.media.port
    assert session.names() == ["Call.Connected"]
    assert (await call.bye()).status == 200
    payload = await session.wait("Call.Disconnected")
    assert payload["internalCode"] == 200 and payload["reason"] == "Normal call clearing"
    assert leg.closed and leg.media.closed


async def test_ack_and_bye_in_one_loop_turn_still_connect_before_disconnecting(pair) -> None:
    edge, phone, incoming = pair
    session, leg, task, _ = await inbound(edge, phone, incoming)
    sip_call = leg.sip
    send_200 = sip_call.answer

    def answer_then_ack_and_bye(*args: Any, **kwargs: Any) -> None:
        send_200(*args, **kwargs)
        # The ACK and then the caller's BYE, both handled before the answering leg wakes up.
        sip_call.confirmed.set()
        sip_call.end_reason = "remote BYE"
        sip_call.ended.set()
        sip_call.on_end(sip_call)

    sip_call.answer = answer_then_ack_and_bye
    await leg.answer({}, {})
    assert session.names() == ["Call.Connected", "Call.Disconnected"]
    assert session.events[1][2]["internalCode"] == 200
    await asyncio.wait_for(task, 3)


async def test_a_late_offer_gets_our_offer_in_the_200(pair) -> None:
    edge, phone, incoming = pair
    session, leg, task, _ = await inbound(edge, phone, incoming, sdp=b"")
    await leg.answer({}, {})
    call = await task
    assert parse_sdp(call.remote_sdp).payloads == [0, 8, 101]
    await call.bye()


async def test_no_common_codec_is_488(pair) -> None:
    edge, phone, incoming = pair
    session, leg, task, _ = await inbound(edge, phone, incoming,
                                          sdp=b"v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 9 RTP/AVP 18\r\n")
    await leg.answer({}, {})
    with pytest.raises(CallFailed) as failure:
        await task
    assert failure.value.response.status == 488
    assert session.events[-1][2]["internalCode"] == 488


async def test_ring_early_media_and_reject_with_headers(pair) -> None:
    edge, phone, incoming = pair
    session, leg, task, provisional = await inbound(edge, phone, incoming)
    await leg.ring({"X-Ring": "1"})
    await leg.start_early_media({})
    await leg.reject(486, {"X-Why": "busy"})
    with pytest.raises(CallFailed) as failure:
        await task
    response = failure.value.response
    assert response.status == 486 and response.headers.get("X-Why") == "busy"
    statuses = [r.status for r in provisional]
    assert 180 in statuses and 183 in statuses
    ringing = next(r for r in provisional if r.status == 180)
    early = next(r for r in provisional if r.status == 183)
    assert ringing.headers.get("X-Ring") == "1" and b"m=audio" in early.body
    assert session.events == []  # the scenario did it: nothing to report
    assert leg.media.closed


async def test_hangup_before_answer_is_480_and_after_is_bye(pair) -> None:
    edge, phone, incoming = pair
    _, leg, task, _ = await inbound(edge, phone, incoming)
    await leg.hangup({})
    with pytest.raises(CallFailed) as failure:
        await task
    assert failure.value.response.status == 480

    session, leg, task, _ = await inbound(edge, phone, incoming)
    await leg.answer({}, {})
    call = await task
    await leg.hangup({"X-Bye": "now"})
    assert await call.wait_ended(2) == "remote BYE"
    assert session.names() == ["Call.Connected"]


async def test_cancel_from_the_caller_is_disconnected_487(pair) -> None:
    edge, phone, incoming = pair
    from sip_edge.ua import InviteHandle

    session = FakeSession()
    handle = InviteHandle()
    task = asyncio.ensure_future(phone.invite(f"sip:1@127.0.0.1:{edge.ports['udp']}", handle=handle))
    sip_call = await asyncio.wait_for(incoming.get(), 3)
    leg = SipInboundLeg(edge, sip_call, advertised_host="127.0.0.1", open_media=open_media)
    await leg.ring({})
    await asyncio.sleep(0.1)
    handle.cancel()
    with pytest.raises(CallFailed) as failure:
        await task
    assert failure.value.response.status == 487
    assert session.events == []  # held until the session knows the call
    leg.bind(session, "c1")
    assert session.events[0][1:] == ("Call.Disconnected", {"internalCode": 487, "reason": "Request Terminated",
                                                           "headers": {}})


async def test_info_message_and_dtmf_from_the_caller_become_events(pair) -> None:
    edge, phone, incoming = pair
    session, leg, task, _ = await inbound(edge, phone, incoming)
    await leg.answer({}, {})
    call = await task
    await call.request("INFO", body=b"Signal=7\r\nDuration=100\r\n", content_type="application/dtmf-relay")
    await call.request("INFO", body=b"{\"a\":1}", content_type="application/json", headers=[("X-I", "i")])
    await call.request("MESSAGE", body=b"hello", content_type="text/plain", headers=[("X-M", "m")])
    await call.bye(headers=[("X-Bye", "b")])
    await session.wait("Call.Disconnected")
    assert session.events[1][1:] == ("Call.ToneReceived", {"tone": "7", "type": "3"})
    assert session.events[2][1:] == ("Call.InfoReceived", {"mimeType": "application/json", "body": '{"a":1}',
                                                           "headers": {"X-I": "i"}})
    assert session.events[3][1:] == ("Call.MessageReceived", {"text": "hello", "headers": {"X-M": "m"}})
    assert session.events[4][2]["headers"] == {"X-Bye": "b"}


def rtp_event(key: int, *, end: bool, ts: int, seq: int, pt: int = 96, marker: bool = False) -> bytes:
    """One RFC 4733 telephone-event RTP packet (volume 10)."""
    return (struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | pt, seq, ts, 0xCAFE)
            + struct.pack("!BBH", key, (0x80 if end else 0) | 10, 320 * (seq % 8)))


def rtp_press(key: int, *, ts: int, seq: int, pt: int = 96) -> list[bytes]:
    """A key press as a phone sends it: start (marker), two updates, the end three times."""
    return ([rtp_event(key, end=False, ts=ts, seq=seq + i, pt=pt, marker=i == 0) for i in range(3)]
            + [rtp_event(key, end=True, ts=ts, seq=seq + 3, pt=pt)] * 3)


async def send_rtp(port: int, packets: list[bytes]) -> None:
    """Sends datagrams to 127.0.0.1:`port` from a plain UDP socket, a little apart like a real sender."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for packet in packets:
            sock.sendto(packet, ("127.0.0.1", port))
            await asyncio.sleep(0.002)


async def wait_packets(media: MediaPort, count: int) -> None:
    for _ in range(200):
        if media.packets >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{media.packets} of {count} RTP packets arrived")


async def test_rfc2833_events_on_the_rtp_port_become_tones_once_per_press(pair) -> None:
    edge, phone, incoming = pair
    session, leg, task, _ = await inbound(edge, phone, incoming)  # the offer has telephone-event 96
    await leg.answer({}, {})
    call = await task
    assert parse_sdp(call.remote_sdp).telephone_event() == 96
    port = leg.media.port
    packets = (rtp_press(1, ts=8000, seq=10) + [b"junk", rtp_event(4, end=False, ts=1, seq=1, pt=0)]
               + rtp_press(1, ts=9600, seq=20) + rtp_press(11, ts=11200, seq=30) + rtp_press(10, ts=12800, seq=40))
    await send_rtp(port, packets)
    await wait_packets(leg.media, len(packets))
    tones = [payload for _, name, payload in session.events if name == "Call.ToneReceived"]
    assert tones == [{"tone": "1", "type": "1"}, {"tone": "1", "type": "1"}, {"tone": "#", "type": "1"},
                     {"tone": "*", "type": "1"}]
    await call.bye()
    await session.wait("Call.Disconnected")
    assert leg.media.closed


async def test_no_telephone_event_in_the_offer_means_no_rtp_tones(pair) -> None:
    edge, phone, incoming = pair
    offer = b"v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 4000 RTP/AVP 0 96\r\n"  # 96 is no telephone-event here
    session, leg, task, _ = await inbound(edge, phone, incoming, sdp=offer)
    await leg.answer({}, {})
    call = await task
    await send_rtp(leg.media.port, rtp_press(5, ts=8000, seq=1))
    await wait_packets(leg.media, 6)
    assert "Call.ToneReceived" not in session.names()
    await call.bye()
    await session.wait("Call.Disconnected")


async def test_send_message_info_and_digits_reach_the_caller(pair) -> None:
    edge, phone, incoming = pair
    session, leg, task, _ = await inbound(edge, phone, incoming)
    await leg.answer({}, {})
    call = await task
    seen: list[Request] = []
    call.on_request = seen.append
    await leg.send_message("hi", {})
    await leg.send_info("application/json", "{}", {"X-Info": "1"})
    await leg.send_digits("1#")
    assert [(r.method, r.body) for r in seen] == [
        ("MESSAGE", b"hi"), ("INFO", b"{}"), ("INFO", b"Signal=1\r\nDuration=160\r\n"),
        ("INFO", b"Signal=#\r\nDuration=160\r\n")]
    assert seen[1].headers.get("X-Info") == "1" and seen[2].content_type == "application/dtmf-relay"
    await call.bye()


async def test_comfort_noise_is_accepted_and_not_played(pair) -> None:
    """PT 13 (RFC 3389 comfort noise) between two G.711 packets: taken without error, never decoded as audio."""
    edge, phone, incoming = pair
    session, leg, task, _ = await inbound(edge, phone, incoming)
    await leg.answer({}, {})
    call = await task
    audio = leg._audio()
    assert audio is not None
    leg._on_rtp(build_rtp(0, 1, 0, 7, b"\xff" * 160))   # PCMU silence
    leg._on_rtp(build_rtp(13, 2, 160, 7, b"\x40"))      # comfort noise: a noise level
    leg._on_rtp(build_rtp(0, 3, 320, 7, b"\xff" * 160))
    assert sorted(audio.jitter._packets) == [1, 3]
    await call.bye()


async def test_dtmf_send_info_sends_info_even_with_telephone_event(pair) -> None:
    edge, phone, incoming = pair
    session, leg, task, _ = await inbound(edge, phone, incoming)  # telephone-event 96 offered, media open
    leg.dtmf_send = "info"  # EdgeSettings.dtmf_send
    await leg.answer({}, {})
    call = await task
    seen: list[Request] = []
    call.on_request = seen.append
    assert leg.media is not None and leg._dtmf_pt is not None
    await leg.send_digits("7")
    assert [(r.method, r.body) for r in seen] == [("INFO", b"Signal=7\r\nDuration=160\r\n")]
    await call.bye()


async def test_dtmf_send_rfc4733_never_falls_back_to_info(pair) -> None:
    edge, phone, incoming = pair
    offer = b"v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\n"  # no telephone-event
    session, leg, task, _ = await inbound(edge, phone, incoming, sdp=offer)
    leg.dtmf_send = "rfc4733"
    await leg.answer({}, {})
    call = await task
    seen: list[Request] = []
    call.on_request = seen.append
    await leg.send_digits("7")
    assert seen == []
    await call.bye()


async def test_a_200_never_acked_is_hung_up_and_reported_408(sip_peer) -> None:
    incoming: asyncio.Queue[InviteDialog] = asyncio.Queue()
    edge = UserAgent(on_invite=incoming.put_nowait, timers=TimerConfig(t1=0.02, t2=0.05, trying_delay=0))
    await edge.start(tcp=None)
    try:
        peer_port = sip_peer.transport.ports["udp"]
        invite = build_request("INVITE", f"sip:1@127.0.0.1:{edge.ports['udp']}", from_addr="<sip:p@127.0.0.1>",
                               to_addr="<sip:1@127.0.0.1>", contact=f"<sip:p@127.0.0.1:{peer_port}>",
                               sent_by=f"127.0.0.1:{peer_port}", body=OFFER, content_type="application/sdp")
        await sip_peer.transport.send(invite, Address("udp", "127.0.0.1", edge.ports["udp"]))
        session = FakeSession()
        leg = SipInboundLeg(edge, await asyncio.wait_for(incoming.get(), 3), advertised_host="127.0.0.1",
                            open_media=open_media, ack_timeout=5)
        leg.bind(session, "c1")
        await leg.answer({}, {})  # returns when the UA gives up on the ACK
        payload = await session.wait("Call.Disconnected")
        assert payload["internalCode"] == 408 and "Call.Connected" not in session.names()
    finally:
        await edge.stop()


# ------------------------------------------------------------------------------------------ outbound


def target(ua: UserAgent, user: str = "bob", **kwargs: Any) -> DialTarget:
    port = ua.ports["udp"]
    return DialTarget(f"sip:{user}@127.0.0.1:{port}", Address("udp", "127.0.0.1", port),
                      '"Alice" <sip:alice@127.0.0.1>', f"<sip:{user}@127.0.0.1>", **kwargs)


async def outbound(edge: UserAgent, *targets: DialTarget, timeout: float | None = None):
    session = FakeSession()
    leg = SipOutboundLeg(edge, list(targets), advertised_host="127.0.0.1", open_media=open_media,
                         request_timeout=1, timeout=timeout)
    leg.bind(session, "o1")
    await leg.start()
    return session, leg


async def test_outbound_rings_connects_and_ends_on_bye(pair) -> None:
    edge, phone, incoming = pair
    answered: list[InviteDialog] = []

    async def on_invite(call: InviteDialog) -> None:
        call.ring(183, sdp=OFFER)
        await asyncio.sleep(0.05)
        answered.append(call)
        call.answer(headers=[("X-Answered", "1")])

    phone.on_invite = on_invite
    session, leg = await outbound(edge, target(phone, headers=[("X-Out", "1")]))
    connected = await session.wait("Call.Connected")
    assert session.names() == ["Call.Ringing", "Call.AudioStarted", "Call.Connected"]
    assert connected["headers"] == {"X-Answered": "1"}
    far = answered[0]
    assert far.invite.headers.get("X-Out") == "1"
    assert far.invite.from_.display_name == "Alice" and parse_sdp(far.invite.body).port == leg.media.port
    await far.request("MESSAGE", body=b"yo", content_type="text/plain")
    await far.bye()
    assert (await session.wait("Call.Disconnected"))["internalCode"] == 200
    assert session.names()[-2:] == ["Call.MessageReceived", "Call.Disconnected"] and leg.closed


async def test_outbound_hears_rfc2833_with_the_payload_type_it_offered(pair) -> None:
    edge, phone, _ = pair
    answered: list[InviteDialog] = []

    def on_invite(call: InviteDialog) -> None:
        answered.append(call)
        call.answer(b"v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 4000 RTP/AVP 0 101\r\n"
                    b"a=rtpmap:101 telephone-event/8000\r\n")

    phone.on_invite = on_invite
    session, leg = await outbound(edge, target(phone))
    await session.wait("Call.Connected")
    assert parse_sdp(answered[0].invite.body).telephone_event() == 101
    await send_rtp(leg.media.port, rtp_press(9, ts=160, seq=1, pt=101))
    assert await session.wait("Call.ToneReceived") == {"tone": "9", "type": "1"}
    await wait_packets(leg.media, 6)
    assert session.names().count("Call.ToneReceived") == 1
    await leg.hangup({})


async def test_outbound_failure_reports_the_final_response(pair) -> None:
    edge, phone, _ = pair
    phone.on_invite = lambda call: call.reject(486, "Busy Here", headers=[("X-Busy", "1")])
    session, leg = await outbound(edge, target(phone))
    failed = await session.wait("Call.Failed")
    assert failed == {"code": 486, "reason": "Busy Here", "headers": {"X-Busy": "1"}}
    assert leg.closed


async def test_outbound_hangup_while_ringing_cancels(pair) -> None:
    edge, phone, _ = pair
    ringing: list[InviteDialog] = []

    def on_invite(call: InviteDialog) -> None:
        ringing.append(call)
        call.ring()

    phone.on_invite = on_invite
    session, leg = await outbound(edge, target(phone))
    await session.wait("Call.Ringing")
    await leg.hangup({})
    assert await ringing[0].wait_ended(2) == "rejected 487" and ringing[0].cancelled
    await asyncio.sleep(0.1)
    assert session.names() == ["Call.Ringing"] and leg.closed


async def test_outbound_hangup_when_connected_sends_bye_with_headers(pair) -> None:
    edge, phone, _ = pair
    calls: list[InviteDialog] = []
    seen: list[Request] = []

    def on_invite(call: InviteDialog) -> None:
        calls.append(call)
        call.on_request = seen.append
        call.answer()

    phone.on_invite = on_invite
    session, leg = await outbound(edge, target(phone))
    await session.wait("Call.Connected")
    await leg.hangup({"X-Reason": "done"})
    assert await calls[0].wait_ended(2) == "remote BYE"
    assert seen[-1].method == "BYE" and seen[-1].headers.get("X-Reason") == "done"
    assert "Call.Disconnected" not in session.names()


async def test_fork_first_answer_wins_and_the_others_are_cancelled() -> None:
    timers = TimerConfig(t1=0.05, t2=0.2, trying_delay=0)
    edge = UserAgent(timers=timers)
    phones = [UserAgent(user=f"p{i}", timers=timers) for i in range(3)]
    for ua in (edge, *phones):
        await ua.start(tcp=None)
    try:
        seen: dict[int, InviteDialog] = {}

        def ringer(index: int):
            def on_invite(call: InviteDialog) -> None:
                seen[index] = call
                call.ring()
                if index == 1:
                    asyncio.get_running_loop().call_later(0.1, call.answer)
            return on_invite

        for index, phone in enumerate(phones):
            phone.on_invite = ringer(index)
        phones[2].on_invite = lambda call: call.reject(404)
        session, leg = await outbound(edge, *(target(p) for p in phones))
        await session.wait("Call.Connected")
        assert await seen[0].wait_ended(2) == "rejected 487"
        assert seen[1].answered and not seen[1].ended.is_set()
        assert session.names() == ["Call.Ringing", "Call.AudioStarted", "Call.Connected"]
        await leg.hangup({})
        assert await seen[1].wait_ended(2) == "remote BYE"
    finally:
        for ua in (*phones, edge):
            await ua.stop()


async def test_fork_all_failing_reports_the_best_failure(pair) -> None:
    edge, phone, _ = pair
    other = UserAgent(user="other", on_invite=lambda call: call.reject(486))
    await other.start(tcp=None)
    try:
        phone.on_invite = lambda call: call.reject(404)
        session, _ = await outbound(edge, target(phone), target(other))
        assert (await session.wait("Call.Failed"))["code"] == 486
    finally:
        await other.stop()


async def test_outbound_timeout_fails_408_and_cancels(pair) -> None:
    edge, phone, _ = pair
    ringing: list[InviteDialog] = []

    def on_invite(call: InviteDialog) -> None:
        ringing.append(call)
        call.ring()

    phone.on_invite = on_invite
    session, _ = await outbound(edge, target(phone), timeout=0.3)
    assert (await session.wait("Call.Failed"))["code"] == 408
    assert await ringing[0].wait_ended(2) == "rejected 487"


async def test_digest_challenge_is_answered(pair) -> None:
    from sip_edge.auth import DigestServer

    edge, phone, _ = pair
    phone.digest = DigestServer("pbx", algorithms=("MD5",))
    phone.credentials = {"alice": "pw"}.get
    phone.auth_methods = frozenset({"INVITE"})
    phone.proxy_auth = True
    phone.on_invite = lambda call: call.answer()
    session, leg = await outbound(edge, target(phone, auth=("alice", "pw")))
    await session.wait("Call.Connected")
    await leg.hangup({})
    phone2_session, _ = await outbound(edge, target(phone, auth=("alice", "wrong")))
    assert (await phone2_session.wait("Call.Failed"))["code"] == 407
