"""The media clock's cost per call (a benchmark, not a test).

    .venv/bin/python bench/bench_media.py [--calls 100,500,1000] [--seconds 3] [--playing]

Puts N G.711 streams on one `MediaClock`, each sending to a local UDP sink through a real socket (as
the edge's media ports do), runs the clock, and prints the ticks it managed against the 50 a second it
should, the CPU time one tick costs, per call, and the packets per second sent per core. With
`--playing` every call is a `CallAudio` in the media graph playing a looped one-second prompt (the
graph's phases, the player and the G.711 encoding of real audio are measured too).
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from stats import percentile  # bench/stats.py (the script's folder is on sys.path)

from voxsim.media.call_audio import CallAudio  # noqa: E402
from voxsim.media.clock import MediaClock, RtpSender  # noqa: E402
from voxsim.media.player import Player  # noqa: E402

PROMPT = (np.random.default_rng(1).normal(0, 3000, 8000)).astype(np.int16)


def playing_call(clock: MediaClock, index: int) -> CallAudio:
    """A call's audio in the graph, playing a looped prompt to its far end."""
    audio = CallAudio(str(index))
    audio.active = True
    player = Player({"kind": "url", "url": "bench"}, loop=True)
    player.load(PROMPT)
    audio.playback = player
    clock.graph.add(audio)
    clock.graph.add(player)
    return audio


async def run(calls: int, seconds: float, playing: bool) -> None:
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    sink.setblocking(False)
    sender_socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender_socket.setblocking(False)

    def send(packet: bytes, to: tuple[str, int]) -> None:
        try:
            sender_socket.sendto(packet, to)
        except BlockingIOError:
            pass

    def drain() -> None:  # keep the sink's buffer from filling
        try:
            while True:
                sink.recv(2048)
        except BlockingIOError:
            pass

    clock = MediaClock()
    for index in range(calls):
        source = playing_call(clock, index).next_outbound if playing else None
        clock.add(RtpSender(send, sink.getsockname(), 0, "PCMU", source))
    costs: list[float] = []
    original = clock.tick

    def timed_tick() -> None:
        start = time.process_time()
        original()
        costs.append(time.process_time() - start)
        drain()

    clock.tick = timed_tick  # type: ignore[method-assign]
    cpu0, wall0 = time.process_time(), time.perf_counter()
    clock.start()
    await asyncio.sleep(seconds)
    await clock.stop()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    ticks = len(costs)
    packets = ticks * calls
    print(f"{calls:6d} {ticks / wall:8.1f} {1e6 * percentile(costs, 50) / calls:10.1f} "
          f"{1e3 * percentile(costs, 99):9.2f} {packets / cpu:12.0f}")
    sink.close()
    sender_socket.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", default="100,500,1000", help="streams on the clock, comma-separated")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--playing", action="store_true", help="every call plays a prompt through the graph")
    args = parser.parse_args()
    print(" calls  ticks/s  µs/call/tick  tick p99 ms  packets/s/core")
    for calls in (int(c) for c in args.calls.split(",")):
        asyncio.run(run(calls, args.seconds, args.playing))


if __name__ == "__main__":
    main()
