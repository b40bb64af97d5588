"""CallAudio: the far end's audio through the jitter buffer, what goes out (playback over source), captures."""

from __future__ import annotations

import numpy as np

from voxsim.media.call_audio import CallAudio, JitterBuffer
from voxsim.media.graph import FRAME_SAMPLES, MediaGraph
from voxsim.media.player import Player


def frame(value: int, n: int = FRAME_SAMPLES) -> np.ndarray:
    return np.full(n, value, dtype=np.int16)


def test_jitter_buffer_reorders_within_its_depth() -> None:
    jitter = JitterBuffer(depth=2)
    jitter.push(10, frame(1))
    jitter.push(12, frame(3))
    jitter.push(11, frame(2))
    assert [int(jitter.pop()[0]) for _ in range(3)] == [1, 2, 3]
    assert jitter.pop() is None


def test_jitter_buffer_skips_a_lost_packet_and_drops_late_ones() -> None:
    jitter = JitterBuffer(depth=2)
    jitter.push(1, frame(1))
    assert jitter.pop() is None  # 20 ms waiting: not the 40 ms lead yet
    jitter.push(3, frame(3))
    jitter.push(4, frame(4))
    assert int(jitter.pop()[0]) == 1
    assert int(jitter.pop()[0]) == 3 and jitter.lost == 1
    jitter.push(2, frame(2))  # too late: 3 was played
    assert jitter.late == 1
    assert int(jitter.pop()[0]) == 4


def test_jitter_buffer_never_pads_a_half_frame_of_30_ms_packets() -> None:
    """30 ms packets arriving a little irregularly play out gap-free 20 ms frames."""
    jitter = JitterBuffer()
    source = np.arange(240 * 40, dtype=np.int16)
    out, sequence, sent = [], 0, 0
    for tick in range(60):
        while sent < 40 and sent * 30 <= tick * 20 + (5 if tick % 3 else -5):  # ±5 ms of arrival jitter
            jitter.push(sequence, source[sent * 240:(sent + 1) * 240])
            sequence, sent = sequence + 1, sent + 1
        played = jitter.pop()
        if played is not None:
            out.append(played)
    joined = np.concatenate(out)
    assert np.array_equal(joined, source[:len(joined)]) and len(joined) >= len(source) - 320


def test_jitter_buffer_wraps_sequence_numbers_and_splits_long_packets() -> None:
    jitter = JitterBuffer(depth=1)
    jitter.push(65535, frame(1, 240))  # 30 ms packets
    jitter.push(0, frame(2, 240))
    out = np.concatenate([jitter.pop(), jitter.pop(), jitter.pop()])
    assert list(out[:240]) == [1] * 240 and list(out[240:480]) == [2] * 240


def test_playback_goes_out_over_the_source_and_prompts_follow_it() -> None:
    graph = MediaGraph()
    call, other = CallAudio("a"), CallAudio("b")
    call.active = True
    for unit in (call, other):
        graph.add(unit)
    call.source = other
    other.feed(frame(7, FRAME_SAMPLES * 4))
    graph.tick()
    assert int(call.outbound[0]) == 7
    player = Player({"kind": "tts", "text": "hello"})
    player.load(frame(5, FRAME_SAMPLES * 2))
    graph.add(player)
    call.playback = player
    graph.tick()
    graph.tick()
    assert int(call.outbound[0]) == 5
    call.playback = None
    graph.tick()
    assert int(call.outbound[0]) == 7
    heard = call.heard_audio()
    assert len(heard) == 4 * FRAME_SAMPLES
    assert [p.as_dict()["text"] for p in call.prompts if p.kind == "tts"] == ["hello"]
    tts = call.prompts[0]
    assert (tts.start, tts.end) == (20.0, 60.0)


def test_an_inactive_call_captures_nothing() -> None:
    graph = MediaGraph()
    call = CallAudio("a")
    graph.add(call)
    call.feed(frame(1))
    graph.tick()
    assert call.sent == [] and call.ticks == 0
