"""`voxsim.media.clock`: one tick for every sender, packets that follow RFC 3550, a broken sender dropped."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from sip_edge.rtp import parse_rtp
from voxsim.media.clock import FRAME_SAMPLES, MediaClock, RtpSender


def test_a_sender_numbers_its_packets_and_plays_its_source_or_silence() -> None:
    sent: list[tuple[bytes, tuple[str, int]]] = []
    frames = iter([np.full(FRAME_SAMPLES, 1000, dtype=np.int16), None])
    sender = RtpSender(lambda data, to: sent.append((data, to)), ("127.0.0.1", 4000), 0, "PCMU",
                       source=lambda: next(frames))
    sender.tick()
    sender.heard_from(("10.0.0.9", 5000))
    sender.tick()
    first, second = (parse_rtp(data) for data, _ in sent)
    assert first is not None and second is not None
    assert [to for _, to in sent] == [("127.0.0.1", 4000), ("10.0.0.9", 5000)]
    assert first.marker and not second.marker
    assert first.payload == b"\xce" * 160 and second.payload == b"\xff" * 160
    assert (second.sequence - first.sequence) % 65536 == 1 and (second.timestamp - first.timestamp) % 2**32 == 160


def test_only_g711_is_sent() -> None:
    with pytest.raises(ValueError):
        RtpSender(lambda data, to: None, ("127.0.0.1", 4000), 9, "G722")


def test_one_tick_serves_every_sender_and_drops_a_broken_one() -> None:
    clock, counts = MediaClock(), [0, 0]

    def counter(i: int):
        def send(data: bytes, to: tuple[str, int]) -> None:
            counts[i] += 1
        return send

    def broken(data: bytes, to: tuple[str, int]) -> None:
        raise OSError("gone")

    good = [RtpSender(counter(i), ("127.0.0.1", 4000 + i), 8, "PCMA") for i in range(2)]
    bad = RtpSender(broken, ("127.0.0.1", 4999), 8, "PCMA")
    for sender in (*good, bad):
        clock.add(sender)
    clock.tick()
    clock.tick()
    assert counts == [2, 2] and clock.senders == set(good)


async def test_the_clock_ticks_every_20_ms_and_stops() -> None:
    clock = MediaClock()
    clock.start()
    await asyncio.sleep(0.21)
    await clock.stop()
    assert 6 <= clock.ticks <= 11
    ticks = clock.ticks
    await asyncio.sleep(0.05)
    assert clock.ticks == ticks
