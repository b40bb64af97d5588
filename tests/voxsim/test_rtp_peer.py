"""The RTP test peer (voxsim/rtp_peer.py): two peers on loopback, raw packets, and a phone's media against the
in-process emulator."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest

from sip_edge.rtp import build_rtp, parse_rtp, parse_telephone_event
from sip_edge.sdp import parse_sdp
from tests.voxsim.test_testing import provision
from voxsim.media.g711 import CODECS
from voxsim.rtp_peer import RtpPeer, dtmf_frequencies, energy, inband_dtmf, non_silent_ms

RATE = 8000


async def connected_pair(codecs: str = "0 8") -> tuple[RtpPeer, RtpPeer]:
    """`a` offers, `b` answers: each points at the other's SDP."""
    a, b = await RtpPeer.open(), await RtpPeer.open()
    answer = b.answer_sdp(a.sdp(codecs=codecs))
    a.set_remote_sdp(answer)
    return a, b


def speech_like(seconds: float = 0.4) -> np.ndarray:
    """Three partials under a syllable-rate envelope: loud enough to be heard, not a pure tone."""
    t = np.arange(int(seconds * RATE)) / RATE
    envelope = 0.6 + 0.4 * np.sin(2 * np.pi * 4 * t)
    wave = np.sin(2 * np.pi * 310 * t) + 0.6 * np.sin(2 * np.pi * 720 * t) + 0.3 * np.sin(2 * np.pi * 1130 * t)
    return (6000 * envelope * wave).astype(np.int16)


class RawSink(asyncio.DatagramProtocol):
    """A bare UDP socket that keeps every datagram, to look at what the peer puts on the wire."""

    def __init__(self) -> None:
        self.datagrams: list[bytes] = []

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.datagrams.append(data)


async def raw_socket() -> tuple[asyncio.DatagramTransport, RawSink, int]:
    transport, sink = await asyncio.get_running_loop().create_datagram_endpoint(RawSink, local_addr=("127.0.0.1", 0))
    return transport, sink, transport.get_extra_info("sockname")[1]


async def until(condition: Any, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


# ------------------------------------------------------------------------------------------ SDP


async def test_the_offer_names_the_port_g711_and_telephone_event() -> None:
    peer = await RtpPeer.open()
    try:
        media = parse_sdp(peer.sdp(session_id=7))
        assert media is not None
        assert (media.host, media.port, media.payloads) == ("127.0.0.1", peer.port, [0, 8, 101])
        assert media.g711() == [(0, "PCMU"), (8, "PCMA")] and media.telephone_event() == 101
    finally:
        peer.close()


async def test_the_answer_takes_the_offers_first_g711_and_its_event_type() -> None:
    offer = (b"v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=x\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
             b"m=audio 4000 RTP/AVP 8 0 96\r\na=rtpmap:96 telephone-event/8000\r\n")
    peer = await RtpPeer.open()
    try:
        media = parse_sdp(peer.answer_sdp(offer))
        assert media is not None and media.payloads == [8, 96]
        assert (peer.remote, peer.payload_type, peer.encoding, peer.event_payload_type) == (
            ("127.0.0.1", 4000), 8, "PCMA", 96)
    finally:
        peer.close()


async def test_an_sdp_without_g711_is_refused() -> None:
    peer = await RtpPeer.open()
    try:
        with pytest.raises(ValueError):
            peer.set_remote_sdp(b"v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 4000 RTP/AVP 9\r\na=rtpmap:9 G722/8000\r\n")
    finally:
        peer.close()


# ------------------------------------------------------------------------------------------ two peers


@pytest.mark.parametrize(("codecs", "encoding"), [("0", "PCMU"), ("8", "PCMA")])
async def test_audio_sent_by_one_peer_is_heard_by_the_other(codecs: str, encoding: str) -> None:
    a, b = await connected_pair(codecs)
    try:
        sent = speech_like()
        frames = len(sent) // 160
        a.send_audio(sent)  # queued before start: the first packet carries it
        a.start()
        await b.wait_for_packets(frames + 2)
        encode, decode = CODECS[encoding]
        expected = decode(encode(sent)).astype(np.float64)
        heard = b.heard()[:len(sent)].astype(np.float64)
        assert np.corrcoef(heard, expected)[0, 1] > 0.99
        assert b.by_payload_type == {int(codecs): b.received}
        assert (b.sequence_gaps, b.ssrc_changes, b.malformed, b.events()) == (0, 0, 0, [])
        assert non_silent_ms(b.heard()) >= 380 and b.voiced_ms >= 380
    finally:
        a.close()
        b.close()


async def test_rfc4733_digits_arrive_as_events_once_each() -> None:
    a, b = await connected_pair()
    try:
        a.start()
        a.send_rfc4733("1#1")
        assert await b.wait_for_events(3) == ["1", "#", "1"]
        await until(lambda: a.queued_ms == 0)
        await b.wait_for_packets(b.received + 5)  # every end packet has arrived by now
        assert b.events() == ["1", "#", "1"]
        assert b.by_payload_type[101] == 3 * (5 + 3)
        assert non_silent_ms(b.heard()) == 0  # events are not audio
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("key", ["5", "1", "#", "D"])
async def test_inband_digits_arrive_as_their_two_frequencies(key: str) -> None:
    a, b = await connected_pair()
    try:
        a.send_inband(key)
        a.start()
        await b.wait_for_audio(0.08)
        heard = b.heard()
        loud = np.concatenate([heard[i:i + 160] for i in range(0, len(heard), 160) if energy(heard[i:i + 160]) > 200])
        spectrum = np.abs(np.fft.rfft(loud.astype(np.float64)))
        frequencies = np.fft.rfftfreq(len(loud), 1 / RATE)

        def level(hz: float) -> float:
            return float(spectrum[np.abs(frequencies - hz) < 15].max())

        row, column = dtmf_frequencies(key)
        others = [hz for hz in (697, 770, 852, 941, 1209, 1336, 1477, 1633) if hz not in (row, column)]
        weakest_of_key = min(level(row), level(column))
        assert weakest_of_key > 10 * max(level(hz) for hz in others)
        assert b.events() == []
    finally:
        a.close()
        b.close()


async def test_a_peer_without_a_remote_answers_where_packets_come_from() -> None:
    a, b = await connected_pair()
    b.remote = None  # as if b had never seen a's SDP
    try:
        a.start()
        b.start()
        await b.wait_for_packets(1)
        await a.wait_for_packets(3)
        assert b.remote == ("127.0.0.1", a.port)
    finally:
        a.close()
        b.close()


async def test_stop_stops_sending_and_close_keeps_what_was_heard() -> None:
    a, b = await connected_pair()
    try:
        a.start()
        await b.wait_for_packets(3)
        a.stop()
        sent = a.sent
        await asyncio.sleep(0.1)  # five ticks' worth: none of them sends
        assert a.sent == sent
        a.close()
        a.start()  # a closed peer does not start again
        assert a.closed and a._task is None and b.received >= 3
    finally:
        b.close()


# ------------------------------------------------------------------------------------------ on the wire


async def test_rfc4733_packets_share_a_timestamp_mark_the_first_and_end_three_times() -> None:
    transport, sink, port = await raw_socket()
    peer = await RtpPeer.open()
    try:
        peer.set_remote("127.0.0.1", port, 0, "PCMU")
        peer.send_rfc4733("9", tone_ms=100, gap_ms=100)
        peer.start()
        await until(lambda: len(sink.datagrams) >= 9)
        packets = [parse_rtp(d) for d in sink.datagrams[:9]]
        assert all(p is not None for p in packets)
        events = [p for p in packets if p is not None and p.payload_type == 101]
        assert len(events) == 8
        assert {p.timestamp for p in events} == {events[0].timestamp}
        assert [p.marker for p in events] == [True] + [False] * 7
        decoded = [parse_telephone_event(p.payload) for p in events]
        assert [(e.event, e.end, e.duration) for e in decoded if e is not None] == [
            (9, False, 160), (9, False, 320), (9, False, 480), (9, False, 640), (9, False, 800),
            (9, True, 800), (9, True, 800), (9, True, 800)]
        after = packets[8]
        assert after is not None and after.payload_type == 0 and after.timestamp == events[0].timestamp + 8 * 160
        sequences = [p.sequence for p in packets if p is not None]
        assert sequences == [(sequences[0] + i) & 0xFFFF for i in range(9)]
    finally:
        peer.close()
        transport.close()


async def test_lost_packets_are_silence_and_ssrc_changes_and_gaps_are_counted() -> None:
    transport, _, _ = await raw_socket()
    peer = await RtpPeer.open()
    tone = np.full(160, 3000, dtype=np.int16)
    payload = CODECS["PCMU"][0](tone)
    try:
        for ssrc, sequence in [(1, 65534), (1, 65535), (1, 1), (2, 7)]:  # 0 lost across the wrap; then a new SSRC
            transport.sendto(build_rtp(0, sequence, sequence * 160, ssrc, payload), ("127.0.0.1", peer.port))
        transport.sendto(b"not rtp", ("127.0.0.1", peer.port))
        await peer.wait_for_packets(4)
        await until(lambda: peer.malformed == 1)
        heard = peer.heard()
        assert len(heard) == 5 * 160
        assert [energy(heard[i:i + 160]) > 1000 for i in range(0, len(heard), 160)] == [True, True, False, True, True]
        assert (peer.sequence_gaps, peer.ssrc_changes, peer.received) == (1, 1, 4)
    finally:
        peer.close()
        transport.close()


def test_inband_dtmf_is_tone_then_gap() -> None:
    pcm = inband_dtmf("12", tone_ms=100, gap_ms=60)
    assert len(pcm) == 2 * (800 + 480)
    assert non_silent_ms(pcm) == 200
    assert energy(pcm[800:1280]) == 0.0 and energy(pcm[:800]) > 5000
    with pytest.raises(ValueError):
        dtmf_frequencies("x")


def test_energy_and_non_silent_ms() -> None:
    silence = np.zeros(800, dtype=np.int16)
    loud = np.full(400, 1000, dtype=np.int16)
    assert energy(np.zeros(0, dtype=np.int16)) == 0.0 and energy(loud) == 1000.0
    assert non_silent_ms(np.concatenate([silence, loud])) == 50  # 400 samples
    assert non_silent_ms(loud, threshold=1500) == 0


# ------------------------------------------------------------------------------------------ with the emulator

TONES_THEN_HANG_UP = """
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  let keys = '';
  e.call.addEventListener(CallEvents.Connected, () => e.call.handleTones(true));
  e.call.addEventListener(CallEvents.ToneReceived, (t) => {
    keys += t.tone;
    Logger.write('tone ' + t.tone + ' type ' + t.type);
    if (keys === '1#') e.call.hangup();
  });
  e.call.addEventListener(CallEvents.Disconnected, () => VoxEngine.terminate());
  e.call.answer();
});
"""

CALL_ALICE_FOR_A_KEY = """
VoxEngine.addEventListener(AppEvents.Started, () => {
  const call = VoxEngine.callUser({username: 'alice', callerid: 'voxsim'});
  call.addEventListener(CallEvents.Connected, () => call.handleTones(true));
  call.addEventListener(CallEvents.ToneReceived, (t) => { Logger.write('tone ' + t.tone); call.hangup(); });
  call.addEventListener(CallEvents.Disconnected, () => VoxEngine.terminate());
});
"""


async def test_a_phone_call_to_a_scenario_carries_rtp_both_ways(voxsim_emulator, voxsim_api, voxsim_phone) -> None:
    await provision(voxsim_api, TONES_THEN_HANG_UP, "keys")
    phone = await voxsim_phone()
    call = await phone.call("100", "keys")
    peer = phone.media_of(call)
    answer = parse_sdp(call.remote_sdp)
    assert answer is not None and peer.remote == (answer.host, answer.port)  # voxsim's RTP port
    await peer.wait_for_packets(5)  # voxsim sends silence on an answered call
    assert set(peer.by_payload_type) == {0}
    session, = voxsim_emulator.runtime.live_sessions()
    peer.send_rfc4733("1#")  # heard on voxsim's RTP port, the scenario hangs up on the second key
    assert await call.wait_ended(5) == "remote BYE"
    await session.wait_finished(5)
    assert [line[24:] for line in session.log.lines if "tone " in line] == ["tone 1 type 1", "tone # type 1"]
    assert peer.closed  # the call ended: its media closed


async def test_an_incoming_call_is_answered_with_the_phones_media(voxsim_emulator, voxsim_api, voxsim_phone) -> None:
    app_id, rule_id = await provision(voxsim_api, CALL_ALICE_FOR_A_KEY, "office")
    await voxsim_api("add_user", application_id=app_id, user_name="alice", user_display_name="Alice",
                     user_password="Secret123")
    alice = await voxsim_phone("alice")
    assert (await alice.register("alice", "Secret123", "office")).status == 200
    started = await voxsim_api("start_scenarios", rule_id=rule_id)
    call = await asyncio.wait_for(alice.incoming.get(), 5)
    peer = alice.media_of(call)
    answer = parse_sdp(call.response.body)
    assert answer is not None and answer.port == peer.port
    await peer.wait_for_packets(5)
    peer.send_rfc4733("7")
    assert await call.wait_ended(5) == "remote BYE"
    session = voxsim_emulator.runtime.session(started["call_session_history_id"])
    await session.wait_finished(5)
    assert "tone 7" in session.log.text()
    assert peer.closed
