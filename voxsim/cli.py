"""The `voxsim` command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from voxsim import calltool, config, routing, settings_sources
from voxsim.app import Emulator, ListenError, StateFolderInUse
from voxsim.config import SettingError, Settings
from voxsim.deploy import Deployer, DeployError, DeployReport, Exporter
from voxsim.errors import VoxError
from voxsim.media.speech import SpeechRenderer
from voxsim.pstn.numbers import read_seed, seed_file
from voxsim.scripted_caller import CallerScriptError, parse_caller_script
from voxsim.voice_ai import VoiceAI, VoiceAISettings
from voxsim.voice_ai.script import ScriptError, load_scripts, read_document
from voxsim.voice_ai.serve import AgentServer
from voxsim.voice_ai.wires import WIRES

DEFAULT_API = "http://127.0.0.1:8080"
LOG_POLL_SECONDS = 0.5  # how often `voxsim logs -f` asks for new lines
UP_DESCRIPTION = f"""Run the emulator in the foreground (Ctrl-C stops it).

Every setting below is an option, a VOXSIM_* environment variable (each named after its option:
--sip-rtp-ports is VOXSIM_SIP_RTP_PORTS) and a key of a TOML file (./{config.CONFIG_FILE}, or --config PATH):
the first group's settings are top-level keys, the others' keys of the table in their group's title
([sip] rtp_ports = "10000-20000"). An option wins over the environment, which wins over the file, which
wins over the default. Booleans take true/false/1/0, ranges A-B, lists comma-separated."""
SECTION_TITLES = {"": "settings", "sip": "SIP edge ([sip], voxsim.edge.settings.EdgeSettings)",
                  "sip_registration": "SIP registrations to other registrars ([sip_registration])",
                  "callbacks": "account callbacks ([callbacks])",
                  "runtime": "scenarios ([runtime], voxsim.runtime.settings.RuntimeSettings)",
                  "pstn": "the PSTN simulator ([pstn], [[pstn.numbers]]; see docs/pstn.md)"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="voxsim", description="A local emulator of the Voximplant platform")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="run the emulator in the foreground (Ctrl-C stops it)", allow_abbrev=False,
                        usage="voxsim up [--config PATH] [--seed PATH] [--log-level LEVEL] [SETTING ...]",
                        description=UP_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    up.add_argument("--config", metavar="PATH", help=f"a TOML file of settings (default ./{config.CONFIG_FILE} "
                    "when it exists)")
    up.add_argument("--seed", action="append", default=[], metavar="PATH",
                    help="a voxengine-ci 'voxfiles' folder (or its parent) to provision at start; repeatable")
    up.add_argument("--log-level", default="INFO")
    settings_sources.add_options(up, config.all_settings(), SECTION_TITLES)

    deploy = sub.add_parser("deploy", help="provision a voxengine-ci 'voxfiles' folder into a running emulator")
    deploy.add_argument("path", help="the voxfiles folder or its parent")
    deploy.add_argument("--api", default=DEFAULT_API, help="the emulator's HTTP API (default %(default)s)")
    deploy.add_argument("--dry-run", action="store_true", help="check the folder and print what would change, "
                        "without changing anything")

    export = sub.add_parser("export", help="write a running emulator's applications as a voxengine-ci folder")
    export.add_argument("path", help="the voxfiles folder to write (or its parent)")
    export.add_argument("--api", default=DEFAULT_API, help="the emulator's HTTP API (default %(default)s)")

    call = sub.add_parser("call", help="place one SIP call into a running emulator and print its session log")
    call.add_argument("target", help="dest@app, dest@app.account.voximplant.com or a SIP URI")
    call.add_argument("--from", dest="caller", default="voxsim-cli", help="the caller's user part")
    call.add_argument("--header", action="append", default=[], metavar="X-NAME:VALUE", help="an extra header")
    call.add_argument("--dtmf", default="", help="keys to press (SIP INFO) once answered, e.g. 12#")
    call.add_argument("--hold", type=float, default=5.0, help="hang up after this many seconds (default 5)")
    call.add_argument("--api", default=DEFAULT_API, help="the emulator's HTTP API (default %(default)s)")
    call.add_argument("--script", metavar="FILE", help="a caller script (YAML/JSON, docs/voice-ai.md): a simulated "
                      "caller holds the conversation and its transcript is printed")
    call.add_argument("--speed", type=float, default=1.0, help="with --script: virtual time, the call's session "
                      "this many times faster (1-1000, docs/testing.md)")

    agent = sub.add_parser("agent", help="voice-AI agent tools")
    agent_sub = agent.add_subparsers(dest="agent_command", required=True)
    serve = agent_sub.add_parser("serve", help="serve a scripted agent over a vendor's real wire protocol "
                                 "(docs/voice-ai.md)")
    serve.add_argument("--vendor", default="openai",
                       help=f"whose protocol to speak: {', '.join(sorted(WIRES))} (default %(default)s; "
                       "docs/voice-ai.md says what each sends)")
    serve.add_argument("--script", action="append", default=[], metavar="FILE",
                       help="an agent script (YAML/JSON) or a folder of them; repeatable (default: the default agent)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=9000, help="0: any free port (default %(default)s)")
    serve.add_argument("--tts", default="speech", help="speech (espeak-ng), tone or silence (default %(default)s)")

    route = sub.add_parser("route", help="routing tools")
    route_sub = route.add_subparsers(dest="route_command", required=True)
    explain = route_sub.add_parser("explain", help="which rule a request URI reaches, and why")
    explain.add_argument("uri", help="e.g. sip:100@demo.voxsim.voximplant.com or 1#1000001#100@sip.voximplant.com")
    explain.add_argument("--api", default=DEFAULT_API, help="the emulator's HTTP API (default %(default)s)")

    status = sub.add_parser("status", help="what a running emulator holds: listeners, applications, users with "
                            "their registered contacts, SIP registrations, live sessions")
    status.add_argument("--api", default=DEFAULT_API, help="the emulator's HTTP API (default %(default)s)")

    logs = sub.add_parser("logs", help="print a session's log (the newest session's when none is named)")
    logs.add_argument("session", nargs="?", type=int, help="the session's id (call_session_history_id)")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new lines until the session ends")
    logs.add_argument("--api", default=DEFAULT_API, help="the emulator's HTTP API (default %(default)s)")

    reset = sub.add_parser("reset", help="empty a running emulator (the account and its keys stay), then "
                           "provision --reseed folders")
    reset.add_argument("--reseed", action="append", default=[], metavar="PATH",
                       help="a voxengine-ci 'voxfiles' folder to deploy after the reset; repeatable (all the "
                       "folders make one deploy)")
    reset.add_argument("--api", default=DEFAULT_API, help="the emulator's HTTP API (default %(default)s)")
    return parser


def settings_from(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> Settings:
    """The settings of `voxsim up`: its options, then the `VOXSIM_*` environment, then the config file.
    Raises SettingError."""
    environ = os.environ if environ is None else environ
    for name in settings_sources.unknown_environment(environ, config.all_settings()):
        print(f"voxsim: {name} is set but names no setting (ignored)", file=sys.stderr, flush=True)
    options = settings_sources.from_options(args, config.all_settings())
    return config.load(options, environ, Path(args.config) if args.config else None)


async def seed(emulator: Emulator, paths: list[str]) -> None:
    """All the seed folders as one deploy: one bad file and nothing is provisioned (DeployError; ScriptError for an
    agents/ script, SettingError for an entry of a pstn.json/pstn.yaml)."""
    if not paths:
        return
    agents = [Path(p) / "agents" for p in paths if (Path(p) / "agents").is_dir()]
    scripts = load_scripts(agents)  # voice-AI agent scripts: checked before anything is provisioned
    phones = [entry for p in paths for entry in read_seed(Path(p), emulator.settings.pstn.answer_after)]  # pstn.json
    report = await Deployer.in_process(emulator.store, emulator.account).deploy_all([Path(p) for p in paths])
    if emulator.voice_ai is not None:
        emulator.voice_ai.scripts.extend(scripts)
    emulator.pstn_numbers.add_seed(phones)
    if phones:
        files = [str(file) for p in paths if (file := seed_file(Path(p))) is not None]
        print(f"voxsim: {len(phones)} PSTN number(s) from {', '.join(files)}", flush=True)
    if scripts:
        print(f"voxsim: {len(scripts)} voice-AI agent script(s) from {', '.join(str(a) for a in agents)}", flush=True)
    print(f"voxsim: seeded {', '.join(paths)}: {report.summary()}", flush=True)
    print_deploy_lines(report)


def print_deploy_lines(report: DeployReport) -> None:
    for line in report.lines():
        print(f"  {line}", flush=True)


async def run_up(settings: Settings, seeds: list[str]) -> int:
    emulator = Emulator(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await emulator.start()  # all or nothing: a failed start has stopped what it started
    except (ListenError, StateFolderInUse) as error:
        print(f"voxsim: {error}", file=sys.stderr, flush=True)
        return 1
    try:
        try:
            await seed(emulator, seeds)
        except (DeployError, VoxError, ScriptError, SettingError) as error:
            print(f"voxsim: cannot seed: {error}; nothing was provisioned", file=sys.stderr, flush=True)
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
    print(f"  {'console':<10} {emulator.listeners['api_http']['url']}/_voxsim/console")
    print(f"  {'state':<10} {emulator.files.folder}" + (" (in memory)" if emulator.files.db == ":memory:" else ""))
    print(f"  {'credentials':<10} {emulator.files.credentials}")
    print(f"  {'CA':<10} {emulator.files.ca}", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=getattr(logging, str(getattr(args, "log_level", "WARNING")).upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "up":
        return main_up(args)
    if args.command == "agent":
        return main_agent_serve(args)
    try:
        if args.command == "deploy":
            return asyncio.run(run_deploy(args.api.rstrip("/"), Path(args.path), dry_run=args.dry_run))
        if args.command == "export":
            return asyncio.run(run_export(args.api.rstrip("/"), Path(args.path)))
        if args.command == "call":
            return asyncio.run(run_call(args))
        if args.command == "route":
            return asyncio.run(run_explain(args.api.rstrip("/"), args.uri))
        if args.command == "status":
            return asyncio.run(run_status(args.api.rstrip("/")))
        if args.command == "logs":
            return asyncio.run(run_logs(args.api.rstrip("/"), args.session, args.follow))
        if args.command == "reset":
            return asyncio.run(run_reset(args.api.rstrip("/"), [Path(p) for p in args.reseed]))
    except aiohttp.ClientResponseError as error:  # it answered, but not with what was asked
        print(f"voxsim: the emulator at {args.api} answered {error.status} {error.message}", file=sys.stderr)
        return 1
    except (aiohttp.ClientError, OSError) as error:
        print(f"voxsim: cannot reach the emulator at {getattr(args, 'api', '?')}: {error}", file=sys.stderr)
        return 1
    return 0


def main_agent_serve(args: argparse.Namespace) -> int:
    try:
        voice_ai = VoiceAI(VoiceAISettings(scripts=tuple(args.script), tts=args.tts), SpeechRenderer())
        server = AgentServer(args.vendor, voice_ai)
    except (SettingError, ScriptError, ValueError) as error:
        print(f"voxsim: {error}", file=sys.stderr)
        return 2
    return asyncio.run(run_agent_serve(server, args.host, args.port))


async def run_agent_serve(server: AgentServer, host: str, port: int) -> int:
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    runner = web.AppRunner(server.app())
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as error:
        print(f"voxsim: cannot listen on tcp {host}:{port} (agent serve): {error.strerror}", file=sys.stderr)
        await runner.cleanup()
        return 1
    bound = runner.addresses[0][1] if runner.addresses else port
    print(f"voxsim agent: a scripted {server.vendor} agent at ws://{host}:{bound}/ (Ctrl-C stops it)", flush=True)
    await stop.wait()
    await runner.cleanup()
    return 0


def main_up(args: argparse.Namespace) -> int:
    try:
        settings = settings_from(args)
    except SettingError as error:
        print(f"voxsim: {error}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(run_up(settings, args.seed))
    except OSError as error:  # not a listener (those are ListenError): the state folder, its files
        print(f"voxsim: cannot start: {error}", file=sys.stderr)
        return 1


async def remote_deployer(session: aiohttp.ClientSession, api: str) -> Deployer:
    async with session.get(f"{api}/_voxsim/account") as resp:
        account = await resp.json()
    return Deployer.over_http(session, api, int(account["account_id"]), str(account["api_key"]))


async def run_deploy(api: str, *paths: Path, dry_run: bool = False) -> int:
    """The folders are checked and applied whole, as one, by the emulator (`POST /_voxsim/deploy`): a bad file
    changes nothing, and the error names it."""
    named = ", ".join(map(str, paths))
    async with aiohttp.ClientSession() as session:
        deployer = await remote_deployer(session, api)
        try:
            report = await deployer.deploy_all(list(paths), dry_run=dry_run)
        except (DeployError, VoxError) as error:
            print(f"voxsim: cannot deploy {named}: {error}; nothing was changed", file=sys.stderr)
            return 2
    print(f"{'checked' if dry_run else 'deployed'} {named}: {report.summary()}", flush=True)
    print_deploy_lines(report)
    return 0


async def run_export(api: str, path: Path) -> int:
    async with aiohttp.ClientSession() as session:
        report = await Exporter(await remote_deployer(session, api)).export(path)
    print(f"exported {len(report.applications)} application(s), {len(report.files)} files to {path}")
    return 0


async def run_call(args: argparse.Namespace) -> int:
    if args.script:
        return await run_conversation(args.api.rstrip("/"), args.target, Path(args.script), args.speed)
    headers = []
    for text in args.header:
        name, sep, value = text.partition(":")
        if not sep or not name.strip():
            print(f"voxsim: --header {text!r} is not NAME:VALUE", file=sys.stderr)
            return 2
        headers.append((name.strip(), value.strip()))
    api = args.api.rstrip("/")
    request = calltool.CallRequest(args.target, args.caller, headers, args.dtmf, args.hold)
    out: list[str] = []
    try:
        outcome = await calltool.place_call(api, request, out)
    finally:
        print("\n".join(out), flush=True)
    log = await calltool.session_log(api, outcome, request.caller)
    if log:
        print("session log:\n" + log, end="")
    return outcome.exit_code


async def run_conversation(api: str, target: str, path: Path, speed: float = 1.0) -> int:
    try:
        raw = read_document(path)
        parse_caller_script(raw, str(path))  # checked here, so a wrong step is named before any call
    except (ValueError, CallerScriptError) as error:
        print(f"voxsim: {error}", file=sys.stderr)
        return 2
    out: list[str] = []
    try:
        return await calltool.converse(api, target, raw, out, speed=speed)
    finally:
        print("\n".join(out), flush=True)


async def run_explain(api: str, uri: str) -> int:
    target = routing.parse_request_uri(uri)
    if target is None:
        print(f"{uri}: not an application address (dest@app.account.voximplant.com or "
              "app_id#account_id#dest@sip.voximplant.com): the edge answers 404")
        return 1
    async with aiohttp.ClientSession() as session:
        deployer = await remote_deployer(session, api)
        query = ({"application_id": target.application_id} if isinstance(target, routing.IdTarget)
                 else {"application_name": target.application_name})
        found = (await deployer.call("GetApplications", count=1000, **query))["result"]
        apps = [a for a in found if isinstance(target, routing.IdTarget)
                or a["application_name"].split(".")[0] == target.application_name]
        if not apps:
            print(f"{uri}: no such application: the edge answers 404")
            return 1
        app = apps[0]
        rules = (await deployer.call("GetRules", application_id=app["application_id"], count=1000,
                                     with_scenarios=True))["result"]
    print(f"application {app['application_name']}, destination '{target.destination}'")
    verdicts = routing.explain(rules, target.destination)
    for rule, verdict in verdicts:
        exclude = f" exclude /{rule['rule_pattern_exclude']}/" if rule.get("rule_pattern_exclude") else ""
        print(f"  {rule['rule_name']:<20} /{rule['rule_pattern']}/{exclude}: {verdict}")
    if not verdicts or verdicts[-1][1] != "match":
        print("no rule matches: the edge answers 404")
        return 1
    winner = verdicts[-1][0]
    scenarios = ", ".join(s["scenario_name"] for s in winner.get("scenarios", [])) or "none"
    print(f"-> rule {winner['rule_name']} runs: {scenarios}")
    return 0


async def get_json(http: aiohttp.ClientSession, url: str) -> Any:
    async with http.get(url, raise_for_status=True) as resp:
        return await resp.json()


async def run_status(api: str) -> int:
    async with aiohttp.ClientSession() as http:
        status = await get_json(http, f"{api}/_voxsim/status")
    print("\n".join(status_lines(status)))
    return 0


def columns(rows: list[list[str]], indent: str = "  ") -> list[str]:
    """Rows as aligned text columns (the last one is not padded)."""
    widths = [max(len(row[i]) for row in rows if i < len(row)) for i in range(max(map(len, rows), default=0))]
    return [indent + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])) + "  " * (len(row) > 1)
            + row[-1] for row in rows]


def status_lines(status: dict[str, Any]) -> list[str]:
    """`voxsim status`'s report from `/_voxsim/status`: one titled table per kind of thing."""
    account = status["account"]
    lines = [f"voxsim: account {account['account_name']} ({account['account_id']}), state {status['state']}"
             + (" (in memory)" if status.get("in_memory") else "")]
    lines += ["listeners", *columns([[name, info["url"]] for name, info in status["listeners"].items()])]
    apps = status["applications"]
    lines += ["applications", *(application_lines(apps) or ["  none"])]
    users = [user_row(user, contact) for app in apps for user in app["users"] for contact in user["contacts"] or [None]]
    lines += ["users", *(columns(users) or ["  none"])]
    registrations = [[str(r["sip_registration_id"]), f"{r['sip_username']}@{r['proxy']}", registration_text(r),
                      f"-> {r['bound_to']}" if r["bound_to"] else "unbound"] for r in status["sip_registrations"]]
    lines += ["SIP registrations", *(columns(registrations) or ["  none"])]
    sessions = [[str(s["session_id"]), s["application_name"], s["rule_name"] or "-", s["state"],
                 f"{s['duration'] or 0} s", f"{len(s['calls'])} call(s)"] for s in status["sessions"]]
    lines += [f"sessions running: {status['running_sessions']}", *columns(sessions)]
    return lines


def application_lines(apps: list[dict[str, Any]]) -> list[str]:
    lines = []
    for app in apps:
        lines.append(f"  {app['application_name']} (id {app['application_id']})")
        rules = [[rule["rule_name"], f"/{rule['rule_pattern']}/"
                  + (f" except /{rule['rule_pattern_exclude']}/" if rule["rule_pattern_exclude"] else ""),
                  "-> " + (", ".join(rule["scenarios"]) or "no scenarios")] for rule in app["rules"]]
        lines += columns(rules, indent="    ") or ["    no rules"]
    return lines


def user_row(user: dict[str, Any], contact: dict[str, Any] | None) -> list[str]:
    who = user["address"] + ("" if user["user_active"] else " (inactive)")
    if contact is None:
        return [who, "not registered"]
    return [who, contact["contact"], f"{contact['source']}, expires in {contact['expires_in']} s"
            + (f", {contact['user_agent']}" if contact["user_agent"] else "")]


def registration_text(reg: dict[str, Any]) -> str:
    if reg["state"] != "failed":
        return str(reg["state"])
    return " ".join(str(part) for part in ("failed", reg["status_code"] or "", reg["error_message"]) if part)


async def run_logs(api: str, session_id: int | None, follow: bool, poll: float | None = None) -> int:
    """Prints the session's log; with `follow`, polls for new lines (every `poll` seconds, LOG_POLL_SECONDS by
    default) until the session has finished."""
    poll = LOG_POLL_SECONDS if poll is None else poll
    async with aiohttp.ClientSession() as http:
        if session_id is None:
            newest = (await get_json(http, f"{api}/_voxsim/sessions?count=1"))["result"]
            if not newest:
                print("voxsim: no sessions yet", file=sys.stderr)
                return 1
            session_id = int(newest[0]["session_id"])
        printed = 0
        while True:
            finished = not follow or await session_finished(http, api, session_id)  # asked before the log is read:
            text = await session_log_text(http, api, session_id)  # the lines it wrote until then are in it
            if text is None:
                print(f"voxsim: no session {session_id}", file=sys.stderr)
                return 1
            print(text[printed:], end="", flush=True)
            printed = len(text)
            if finished:
                return 0
            await asyncio.sleep(poll)


async def session_finished(http: aiohttp.ClientSession, api: str, session_id: int) -> bool:
    async with http.get(f"{api}/_voxsim/sessions/{session_id}") as resp:
        return resp.status == 404 or (await resp.json()).get("state") == "finished"


async def session_log_text(http: aiohttp.ClientSession, api: str, session_id: int) -> str | None:
    """The log so far (it only grows), or None when there is no such session."""
    async with http.get(f"{api}/_voxsim/sessions/{session_id}/log") as resp:
        if resp.status == 404:
            return None
        resp.raise_for_status()
        return await resp.text()


async def run_reset(api: str, seeds: list[Path]) -> int:
    async with aiohttp.ClientSession() as http, http.post(f"{api}/_voxsim/reset", raise_for_status=True):
        pass
    print("reset: back to the first-start account (its keys stay)", flush=True)
    return await run_deploy(api, *seeds) if seeds else 0


if __name__ == "__main__":
    sys.exit(main())
