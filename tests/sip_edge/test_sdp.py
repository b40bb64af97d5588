"""`sip_edge.sdp`: the first audio stream of an offer, and the answer voxsim writes."""

from __future__ import annotations

from sip_edge.sdp import answer_direction, build_sdp, direction_of, parse_sdp, with_direction

OFFER = (b"v=0\r\no=- 1 1 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\n"
         b"m=audio 4000 RTP/AVP 18 8 0 96\r\na=rtpmap:96 telephone-event/8000\r\n"
         b"m=video 4002 RTP/AVP 99\r\na=rtpmap:99 H264/90000\r\n")


def test_parse_sdp_takes_the_first_audio_stream() -> None:
    media = parse_sdp(OFFER)
    assert media is not None
    assert (media.host, media.port, media.payloads) == ("10.0.0.9", 4000, [18, 8, 0, 96])
    assert media.g711() == [(8, "PCMA"), (0, "PCMU")] and media.telephone_event() == 96
    assert parse_sdp(b"v=0\r\nm=video 1 RTP/AVP 99\r\n") is None


def test_build_sdp_answers_one_codec_and_telephone_event() -> None:
    sdp = build_sdp("127.0.0.1", 10002, [(8, "PCMA")], 96, session_id=5).decode()
    assert "m=audio 10002 RTP/AVP 8 96\r\n" in sdp and "c=IN IP4 127.0.0.1" in sdp
    assert "a=rtpmap:96 telephone-event/8000" in sdp and "a=fmtp:96 0-16" in sdp
    assert "IN IP6 ::1" in build_sdp("::1", 1, [(0, "PCMU")], None, session_id=1).decode()


def test_telephone_event_is_the_one_at_the_codecs_clock_rate() -> None:
    # linphone offers Opus with telephone-event at 48 kHz first, then G.711 with telephone-event at 8 kHz.
    offer = (b"v=0\r\nc=IN IP4 10.0.0.9\r\nm=audio 7078 RTP/AVP 96 0 8 101 100\r\n"
             b"a=rtpmap:96 opus/48000/2\r\na=rtpmap:101 telephone-event/48000\r\n"
             b"a=rtpmap:100 telephone-event/8000\r\n")
    media = parse_sdp(offer)
    assert media is not None
    assert media.g711() == [(0, "PCMU"), (8, "PCMA")] and media.telephone_event() == 100
    only_wide = parse_sdp(b"v=0\r\nc=IN IP4 10.0.0.9\r\nm=audio 7078 RTP/AVP 0 101\r\n"
                          b"a=rtpmap:101 telephone-event/48000\r\n")
    assert only_wide is not None and only_wide.telephone_event() is None


def test_directions_and_the_answer_to_a_hold() -> None:
    assert direction_of(OFFER) == "sendrecv"
    held = b"v=0\r\nc=IN IP4 10.0.0.9\r\na=sendrecv\r\nm=audio 4000 RTP/AVP 0\r\na=sendonly\r\n"
    assert direction_of(held) == "sendonly" and answer_direction("sendonly") == "recvonly"
    assert direction_of(b"v=0\r\na=inactive\r\nm=audio 4000 RTP/AVP 0\r\n") == "inactive"
    video_first = b"v=0\r\nm=video 4002 RTP/AVP 99\r\na=sendonly\r\nm=audio 4000 RTP/AVP 0\r\n"
    assert direction_of(video_first) == "sendrecv"  # the video stream's direction is not the audio's
    assert answer_direction("inactive") == "inactive" and answer_direction("recvonly") == "sendonly"
    ours = build_sdp("127.0.0.1", 10002, [(0, "PCMU")], None, session_id=5)
    answer = with_direction(ours, "recvonly", 2).decode()
    assert "a=recvonly\r\n" in answer and "a=sendrecv" not in answer and "o=voxsim 5 2 IN IP4" in answer
