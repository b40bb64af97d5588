"""The `voxsim` command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from voxsim.app import Emulator
from voxsim.config import Settings
from voxsim.deploy import Deployer, DeployError
from voxsim.errors import VoxError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="voxsim", description="A local emulator of the Voximplant platform")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="run the emulator in the foreground (Ctrl-C stops it)")
    defaults = Settings()
    up.add_argument("--host", default=defaults.host, help="address to listen on (default %(default)s)")
    up.add_argument("--api-port", type=int, default=defaults.api_port, help="HTTP API port (0 = any free)")
    up.add_argument("--api-tls-port", type=int, default=defaults.api_tls_port, help="HTTPS API port")
    up.add_argument("--sip-port", type=int, default=defaults.sip_port, help="SIP UDP and TCP port")
    up.add_argument("--sips-port", type=int, default=defaults.sips_port, help="SIP TLS port")
    up.add_argument("--state", default=defaults.state,
                    help="state folder (default %(default)s); ':memory:' keeps nothing on disk")
    up.add_argument("--seed", action="append", default=[], metavar="PATH",
                    help="a voxengine-ci 'voxfiles' folder (or its parent) to provision at start; repeatable")
    up.add_argument("--allow-remote-control", action="store_true",
                    help="let non-loopback clients use the /_voxsim/ controls")
    up.add_argument("--log-level", default="INFO")
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings(host=args.host, api_port=args.api_port, api_tls_port=args.api_tls_port,
                    sip_port=args.sip_port, sips_port=args.sips_port, state=args.state,
                    allow_remote_control=args.allow_remote_control)


async def seed(emulator: Emulator, paths: list[str]) -> None:
    for path in paths:
        report = await Deployer(emulator.store, emulator.account).deploy(Path(path))
        print(f"voxsim: seeded {path}: applications {', '.join(report.applications) or '-'}; "
              f"rules {', '.join(report.rules) or '-'}", flush=True)


async def run_up(settings: Settings, seeds: list[str]) -> int:
    emulator = Emulator(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await emulator.start()
    try:
        try:
            await seed(emulator, seeds)
        except (DeployError, VoxError) as error:
            print(f"voxsim: cannot seed: {error}", file=sys.stderr, flush=True)
            return 2
        print_ready(emulator)
        await stop.wait()
        print("voxsim: stopping", flush=True)
    finally:
        await emulator.stop()
    print("voxsim: stopped", flush=True)
    return 0


def print_ready(emulator: Emulator) -> None:
    print("voxsim is ready", flush=True)
    for name, listener in emulator.listeners.items():
        print(f"  {name:<10} {listener['url']}", flush=True)
    print(f"  state      {emulator.files.folder}" + (" (in memory)" if emulator.files.db == ":memory:" else ""))
    print(f"  credentials {emulator.files.credentials}")
    print(f"  CA          {emulator.files.ca}", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=getattr(logging, str(args.log_level).upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "up":
        return asyncio.run(run_up(settings_from(args), args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
