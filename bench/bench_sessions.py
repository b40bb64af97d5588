"""Session start time and memory per live session (a benchmark, not a test).

    .venv/bin/python bench/bench_sessions.py [--sessions 200] [--pool 4] [--gap-ms 30]

Starts N sessions of a small answer-and-say scenario one after another, keeps them all
alive, and prints the start time (load the rule's scenario + deliver Application.Started)
at p50/p99, the time to CallAlerting-and-answer for a simulated call, and the resident
memory each live session adds (isolate, context, shim, scenario).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stats import percentile, rss_mb  # bench/stats.py (the script's folder is on sys.path)

from voxsim.runtime import Runtime, RuntimeSettings  # noqa: E402

SCENARIO = """
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  e.call.addEventListener(CallEvents.Connected, () => e.call.say('Hello from the benchmark'));
  e.call.addEventListener(CallEvents.Disconnected, () => VoxEngine.terminate());
  e.call.answer();
});
"""


async def run(sessions: int, pool: int, gap_ms: float) -> None:
    runtime = Runtime(RuntimeSettings(pool_size=pool, session_idle_timeout=3600))
    await runtime.start()
    await asyncio.sleep(0)
    gc.collect()
    base = rss_mb()
    starts: list[float] = []
    calls: list[float] = []
    live = []
    for i in range(sessions):
        t0 = time.perf_counter()
        session = await runtime.start_session(
            account_id=1, application_id=1, application_name="bench", rule_id=1, rule_name="bench",
            scenarios=[("bench", SCENARIO)], session_id=i + 1,
        )
        t1 = time.perf_counter()
        await runtime.simulate_call(session, callerid="1", destination="2")
        await session.wait_for_event("Call.Connected")
        t2 = time.perf_counter()
        starts.append((t1 - t0) * 1000)
        calls.append((t2 - t1) * 1000)
        live.append(session)
        # Calls arrive spaced out in real life; the pool refills in between.
        await asyncio.sleep(gap_ms / 1000)
    gc.collect()
    used = rss_mb() - base
    print(f"sessions started: {sessions} (warm pool of {pool}, {gap_ms:g} ms apart)")
    print(f"session start  p50 {statistics.median(starts):6.2f} ms   p99 {percentile(starts, 99):6.2f} ms")
    print(f"call to answer p50 {statistics.median(calls):6.2f} ms   p99 {percentile(calls, 99):6.2f} ms")
    print(f"memory: {used:.1f} MB for {len(live)} live sessions = {used / len(live):.2f} MB per session")
    t0 = time.perf_counter()
    await runtime.shutdown(grace=10)
    print(f"shutdown of {len(live)} sessions: {(time.perf_counter() - t0) * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--pool", type=int, default=4)
    parser.add_argument("--gap-ms", type=float, default=30.0, help="pause between two starts")
    args = parser.parse_args()
    asyncio.run(run(args.sessions, args.pool, args.gap_ms))


if __name__ == "__main__":
    main()
