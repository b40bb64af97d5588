"""Calls per second through the SIP edge, driven by SIPp (a benchmark, not a test).

    .venv/bin/python bench/bench_sip.py [--rates 10,25,50] [--seconds 10] [--hold-ms 1000]

Starts an emulator in this process (temporary state, ephemeral ports, loopback only) and a rule whose
scenario answers every call and hangs up if the caller has not within 2 s. For each rate, SIPp's built-in
`uac` places rate x seconds calls over UDP (`sipp -sn uac -r RATE -d HOLD`): INVITE, 200 (its response
time is the call setup time, from `-trace_rtt`), ACK, HOLD ms of call, then SIPp's BYE. Prints, per rate,
successful and failed calls, setup time p50/p99, the most sessions alive at once, and the emulator's
resident memory (this process) at its highest and once the calls are over.

Why SIPp hangs up (`-d`) rather than the scenario: the built-in uac treats a BYE from the far end as an
unexpected message and counts the call failed, so the scenario's own hang-up is only a guard.

Why a SIP registration: the built-in uac's Request-URI is `sip:<service>@<remote ip>:<port>`, which is no
voxsim application address (and SIPp will not take a name it cannot resolve as the remote host). Like a
PBX calling its extension, the calls reach the rule bound to a SIP registration whose `sip_username` is the
service: the registration registers on a small in-process registrar (our UserAgent), and the edge matches
the calls by user part and source address. Routing a trunk call costs the same rule lookup.

Bounded: each rate runs at most seconds + 25 s; with the defaults the whole run takes under a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stats import percentile, rss_mb  # bench/stats.py (the script's folder is on sys.path)

from sip_edge.transport import free_port_pair  # noqa: E402
from sip_edge.ua import UserAgent  # noqa: E402
from voxsim.app import Emulator  # noqa: E402
from voxsim.edge.settings import EdgeSettings  # noqa: E402
from voxsim.runtime import RuntimeSettings  # noqa: E402
from voxsim.store.sip_registrations import BindRequest  # noqa: E402
from voxsim.testing import ephemeral_settings  # noqa: E402

SCENARIO = """
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  e.call.addEventListener(CallEvents.Connected, () => setTimeout(() => e.call.hangup(), 2000));
  e.call.addEventListener(CallEvents.Disconnected, () => VoxEngine.terminate());
  e.call.answer();
});
"""
SERVICE = "1001"


def read_stats(path: Path) -> tuple[int, int]:
    """SuccessfulCall(C) and FailedCall(C) from the last line of SIPp's -trace_stat file."""
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()] if path.exists() else []
    if len(lines) < 2:
        return 0, 0
    values = dict(zip(lines[0].split(";"), lines[-1].split(";"), strict=False))
    return int(values.get("SuccessfulCall(C)", 0)), int(values.get("FailedCall(C)", 0))


def read_rtt(folder: Path) -> list[float]:
    """Response times (ms) of the 200s from SIPp's -trace_rtt file(s): `date_ms;response_time_ms;rtd_no`."""
    times: list[float] = []
    for path in folder.glob("*_rtt.csv"):
        for line in path.read_text(errors="replace").splitlines()[1:]:
            fields = line.split(";")
            if len(fields) >= 2:
                try:
                    times.append(float(fields[1]))
                except ValueError:
                    continue
    return times


async def setup(emulator: Emulator, registrar: UserAgent) -> None:
    store, account_id = emulator.store, emulator.account.account_id
    app = store.add_application(account_id, "bench")
    scenario = store.add_scenario(account_id, "bench", SCENARIO, application_id=app.application_id)
    rule = store.add_rule(account_id, app.application_id, "bench", ".*", scenario_ids=[scenario.scenario_id])
    bind = BindRequest(application_id=app.application_id, rule_id=rule.rule_id)
    reg = store.create_sip_registration(account_id, SERVICE, f"127.0.0.1:{registrar.ports['udp']}", bind=bind)
    await emulator.sip_registrations_changed()
    manager = emulator.sip_registrations
    assert manager is not None
    for _ in range(200):
        if manager.registrations.get(reg.sip_registration_id, {}).get("successful"):
            return
        await asyncio.sleep(0.02)
    raise RuntimeError("the benchmark's SIP registration did not register")


async def one_rate(emulator: Emulator, rate: int, seconds: float, hold_ms: int, folder: Path) -> dict[str, float]:
    runtime = emulator.runtime
    assert runtime is not None
    folder.mkdir(parents=True)
    calls = int(rate * seconds)
    stat_file = folder / "stat.csv"
    command = [
        "sipp", "-sn", "uac", "-s", SERVICE, f"127.0.0.1:{emulator.listeners['sip_udp']['port']}",
        "-i", "127.0.0.1", "-p", str(free_port_pair()), "-t", "u1", "-r", str(rate), "-m", str(calls),
        "-d", str(hold_ms), "-nostdin", "-timeout", f"{int(seconds) + 20}s", "-timeout_error",
        "-trace_stat", "-stf", str(stat_file), "-fd", "1", "-trace_rtt", "-rtt_freq", "1",
    ]
    peak_rss, peak_live = rss_mb(), 0
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.DEVNULL,
                                                   stderr=asyncio.subprocess.PIPE, cwd=folder)
    waiting = asyncio.ensure_future(process.communicate())
    while not waiting.done():
        peak_rss = max(peak_rss, rss_mb())
        peak_live = max(peak_live, len(runtime.live_sessions()))
        await asyncio.wait([waiting], timeout=0.25)
    _, stderr = waiting.result()
    elapsed = time.perf_counter() - started
    for _ in range(100):  # the last sessions end (Terminated, history written)
        if not runtime.live_sessions():
            break
        await asyncio.sleep(0.05)
    successful, failed = read_stats(stat_file)
    setup_ms = read_rtt(folder)
    if process.returncode not in (0, 1) or not setup_ms:
        print(f"  sipp exit {process.returncode}: {stderr.decode(errors='replace')[-500:]}", file=sys.stderr)
    return {
        "rate": rate, "calls": calls, "successful": successful, "failed": failed, "elapsed": elapsed,
        "p50": statistics.median(setup_ms) if setup_ms else float("nan"),
        "p99": percentile(setup_ms, 99) if setup_ms else float("nan"),
        "peak_live": peak_live, "peak_rss": peak_rss, "rss_after": rss_mb(),
    }


async def run(rates: list[int], seconds: float, hold_ms: int, pool: int) -> None:
    if shutil.which("sipp") is None:
        raise SystemExit("SIPp is not installed (Debian/Ubuntu: apt-get install sip-tester)")
    folder = Path(tempfile.mkdtemp(prefix="voxsim-bench-sip-"))
    settings = ephemeral_settings(folder / "state", runtime=RuntimeSettings(pool_size=pool))
    settings.sip = EdgeSettings(request_timeout=1.0)
    emulator = Emulator(settings)
    registrar = UserAgent(user="registrar")
    try:
        await emulator.start()
        await registrar.start(tcp=None)
        await setup(emulator, registrar)
        print(f"voxsim SIP edge on udp 127.0.0.1:{emulator.listeners['sip_udp']['port']}, warm pool {pool}, "
              f"calls held {hold_ms} ms by SIPp, {seconds:g} s per rate; RSS at start {rss_mb():.0f} MB")
        print("rate/s  calls  ok  failed  setup p50  setup p99  live max  RSS max  RSS after")
        for rate in rates:
            r = await one_rate(emulator, rate, seconds, hold_ms, folder / f"rate{rate}")
            print(f"{r['rate']:6d} {r['calls']:6d} {r['successful']:4d} {r['failed']:6d} "
                  f"{r['p50']:7.1f} ms {r['p99']:7.1f} ms {r['peak_live']:8d} {r['peak_rss']:6.0f} MB "
                  f"{r['rss_after']:6.0f} MB")
    finally:
        await registrar.stop()
        await emulator.stop()
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", default="10,25,50", help="calls per second, comma-separated")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long each rate runs")
    parser.add_argument("--hold-ms", type=int, default=1000, help="how long SIPp keeps each call up")
    parser.add_argument("--pool", type=int, default=RuntimeSettings().pool_size, help="warm isolates")
    args = parser.parse_args()
    asyncio.run(run([int(r) for r in args.rates.split(",")], args.seconds, args.hold_ms, args.pool))


if __name__ == "__main__":
    main()
