"""`voxsim up` as a real process: readiness output, clean stops, state that survives, listeners that cannot
bind, a state folder in use; `voxsim call`'s report; `voxsim status`, `logs` and `reset` against an in-process
emulator."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from voxsim import cli
from voxsim.app import Emulator, StateFolderInUse
from voxsim.deploy import Deployer
from voxsim.testing import ApiCaller, TestPhone, ephemeral_settings


class Process:
    def __init__(self, state: str, *extra: str) -> None:
        cmd = [sys.executable, "-m", "voxsim.cli", "up", "--state", state, "--api-port", "0",
               "--api-tls-port", "0", "--sip-port", "0", "--sips-port", "0", *extra]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self.urls: dict[str, str] = {}
        deadline = time.monotonic() + 30
        while "api_https" not in self.urls:
            line = self.proc.stdout.readline()
            if not line or time.monotonic() > deadline:
                raise AssertionError("voxsim did not start:\n" + "".join(self.lines))
            self.lines.append(line)
            match = re.match(r"\s+(\w+)\s+(\S+://\S+)", line)
            if match:
                self.urls[match.group(1)] = match.group(2)

    @property
    def base(self) -> str:
        return self.urls["api_http"]

    def get(self, path: str, **params: str) -> dict:
        url = f"{self.base}{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=10) as resp:
            return json.loads(resp.read())

    def get_text(self, path: str) -> str:
        try:
            with urllib.request.urlopen(f"{self.base}{path}", timeout=10) as resp:
                return resp.read().decode()
        except urllib.error.HTTPError:
            return ""

    def post(self, path: str, **params: str) -> dict:
        data = urllib.parse.urlencode(params).encode()
        with urllib.request.urlopen(f"{self.base}{path}", data=data, timeout=10) as resp:
            return json.loads(resp.read())

    def stop(self, sig: int = signal.SIGTERM) -> str:
        self.proc.send_signal(sig)
        out, _ = self.proc.communicate(timeout=30)
        return "".join(self.lines) + out


def test_sigterm_and_ctrl_c_stop_cleanly(tmp_path: Path):
    for sig in (signal.SIGTERM, signal.SIGINT):
        proc = Process(":memory:")
        assert proc.get("/_voxsim/health")["status"] == "ok"
        out = proc.stop(sig)
        assert proc.proc.returncode == 0, out
        assert "voxsim: stopped" in out


def test_in_memory_state_leaves_nothing_behind(tmp_path: Path):
    proc = Process(":memory:")
    folder = Path(proc.get("/_voxsim/health")["state"])
    assert folder.exists()
    proc.stop()
    assert not folder.exists()


def test_state_folder_contents_and_reuse(tmp_path: Path):
    state = tmp_path / "state"
    proc = Process(str(state))
    account = proc.get("/_voxsim/account")
    proc.stop()
    assert {"voxsim.db", "credentials.json", "ca.pem"} <= {p.name for p in state.iterdir()}
    credentials = json.loads((state / "credentials.json").read_text())
    assert set(credentials) == {"account_id", "account_email", "key_id", "private_key"}
    assert credentials["private_key"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert oct((state / "credentials.json").stat().st_mode & 0o777) == "0o600"

    again = Process(str(state))
    try:
        assert again.get("/_voxsim/account") == account
        assert json.loads((state / "credentials.json").read_text()) == credentials
    finally:
        again.stop()


def test_acknowledged_write_survives_kill_9(tmp_path: Path):
    state = str(tmp_path / "state")
    proc = Process(state)
    account = proc.get("/_voxsim/account")
    key = {"account_id": str(account["account_id"]), "api_key": account["api_key"]}
    reply = proc.post("/platform_api/AddSipWhiteListItem", sip_whitelist_network="203.0.113.0/24",
                      description="survivor", **key)
    assert reply["result"] == 1
    os.kill(proc.proc.pid, signal.SIGKILL)  # right after the acknowledgement
    proc.proc.wait(timeout=10)

    again = Process(state)
    try:
        listed = again.get("/platform_api/GetSipWhiteList", **key)
        assert "203.0.113.0/24" in [i["sip_whitelist_network"] for i in listed["result"]]
    finally:
        again.stop()


@pytest.mark.parametrize("flag", ["--help"])
def test_help(flag: str):
    out = subprocess.run([sys.executable, "-m", "voxsim.cli", "up", flag], capture_output=True, text=True)
    assert out.returncode == 0 and "--state" in out.stdout


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "voxsim.cli", *args], capture_output=True, text=True, timeout=60)


EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "voxfiles"


def test_deploy_export_and_route_explain_against_a_running_emulator(tmp_path: Path):
    proc = Process(":memory:")
    try:
        deployed = run_cli("deploy", str(EXAMPLES), "--api", proc.base)
        assert deployed.returncode == 0, deployed.stderr
        assert "rules greeting, ivr, callback" in deployed.stdout

        exported = run_cli("export", str(tmp_path / "copy"), "--api", proc.base)
        assert exported.returncode == 0, exported.stderr
        assert (tmp_path / "copy" / "voxfiles" / "applications" / "demo.voxsim.voximplant.com" /
                "rules.config.json").exists()

        explained = run_cli("route", "explain", "sip:250@demo.voxsim.voximplant.com", "--api", proc.base)
        assert explained.returncode == 0, explained.stderr
        assert "greeting" in explained.stdout and "no match" in explained.stdout
        assert "-> rule ivr runs: ivr" in explained.stdout

        missing = run_cli("route", "explain", "sip:999@demo.voxsim.voximplant.com", "--api", proc.base)
        assert missing.returncode == 1 and "no rule matches" in missing.stdout
        nowhere = run_cli("route", "explain", "sip:1@example.com", "--api", proc.base)
        assert nowhere.returncode == 1 and "not an application address" in nowhere.stdout
    finally:
        proc.stop()


def test_deploy_reports_a_bad_folder(tmp_path: Path):
    proc = Process(":memory:")
    try:
        bad = run_cli("deploy", str(tmp_path), "--api", proc.base)
        assert bad.returncode == 2 and "applications" in bad.stderr
    finally:
        proc.stop()


def test_unreachable_emulator_is_a_clear_error():
    out = run_cli("deploy", str(EXAMPLES), "--api", "http://127.0.0.1:9")
    assert out.returncode == 1 and "cannot reach the emulator" in out.stderr


def test_sigterm_hangs_up_established_calls_and_keeps_their_history(tmp_path: Path):
    """`voxsim up` stopping sends BYE on an established call, ends its session and writes its history."""
    state = str(tmp_path / "state")
    proc = Process(state, "--seed", str(EXAMPLES))
    sip_port = int(proc.get("/_voxsim/health")["listeners"]["sip_udp"]["port"])
    messages = tmp_path / "sipp_messages.log"
    # The IVR (2xx) answers and waits for tones; SIPp would hang up itself only after 10 s.
    sipp = subprocess.Popen(
        ["sipp", "-sf", str(EXAMPLES.parent / "sipp" / "call.xml"), "-s", "201", "-key", "domain",
         "demo.voxsim.voximplant.com", "-m", "1", "-p", "0", "-i", "127.0.0.1", "-nostdin", "-timeout", "30s",
         "-trace_msg", "-message_file", str(messages), f"127.0.0.1:{sip_port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while "Call.Connected" not in proc.get_text("/_voxsim/sessions/1/log") and time.monotonic() < deadline:
            time.sleep(0.1)
        out = proc.stop(signal.SIGTERM)
        assert proc.proc.returncode == 0, out
        assert sipp.wait(timeout=20) == 0  # the call ended by a BYE from voxsim, well before 10 s
    finally:
        if sipp.poll() is None:
            sipp.kill()
    trace = messages.read_text(errors="replace")
    assert "BYE sip:" in trace

    again = Process(state)
    try:
        account = again.get("/_voxsim/account")
        key = {"account_id": str(account["account_id"]), "api_key": account["api_key"]}
        rows = again.get("/platform_api/GetCallHistory", with_calls="true", **key)["result"]
        assert [r["rule_name"] for r in rows] == ["ivr"]
        assert rows[0]["finish_reason"] == "Terminated administratively"
        assert rows[0]["calls"][0]["successful"] is True and rows[0]["calls"][0]["incoming"] is True
        session_id = rows[0]["call_session_history_id"]
        assert "Application.Terminating" in again.get_text(f"/_voxsim/sessions/{session_id}/log")
    finally:
        again.stop()


def test_call_presses_keys_and_prints_the_session_log():
    proc = Process(":memory:", "--seed", str(EXAMPLES))
    try:
        out = run_cli("call", "201@demo", "--dtmf", "1", "--hold", "1", "--header", "X-Case:cli",
                      "--api", proc.base)
        assert out.returncode == 0, out.stdout + out.stderr
        assert "calling sip:201@demo.voxsim.voximplant.com" in out.stdout
        assert "answered: 200" in out.stdout and "pressed 1" in out.stdout
        assert "tone 1" in out.stdout  # the IVR scenario logged the key, and the log was printed
        assert '"X-Case": "cli"' in out.stdout

        lasted = re.search(r"hung up after (\d+\.\d) s", out.stdout)
        assert lasted and float(lasted.group(1)) >= 1.0  # the real duration: keys pressed, then --hold 1

        missing = run_cli("call", "999@demo", "--api", proc.base)
        assert missing.returncode == 1
        assert "failed: 404 Not Found - no rule of demo.voxsim.voximplant.com matches '999'" in missing.stdout
        assert "session log" not in missing.stdout  # not the log of the session the call before started
    finally:
        proc.stop()


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def up_on(*ports: str) -> subprocess.CompletedProcess:
    return run_cli("up", "--state", ":memory:", "--api-port", "0", "--api-tls-port", "0", "--sip-port", "0",
                   "--sips-port", "0", *ports)


def test_a_sip_port_in_use_is_named_and_nothing_is_left_started():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        out = up_on("--sip-port", str(port))
    assert out.returncode == 1, out.stdout + out.stderr
    assert f"voxsim: cannot listen on udp 127.0.0.1:{port} (sip_udp): address already in use" in out.stderr
    assert "voxsim is ready" not in out.stdout and "cannot reach" not in out.stderr


def test_an_api_port_in_use_is_named():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = up_on("--api-tls-port", str(port))
    assert out.returncode == 1, out.stdout + out.stderr
    assert f"voxsim: cannot listen on tls 127.0.0.1:{port} (api_https): address already in use" in out.stderr


def test_a_failed_start_closes_the_listeners_it_had_opened(capsys):
    """In process: the API listens before the SIP edge fails; after `voxsim up` returns, its port is free."""
    api_port = free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        sips_port = taken.getsockname()[1]
        code = cli.main(["up", "--state", ":memory:", "--api-port", str(api_port), "--api-tls-port", "0",
                         "--sip-port", "0", "--sips-port", str(sips_port), "--log-level", "ERROR"])
    assert code == 1
    assert f"cannot listen on tls 127.0.0.1:{sips_port} (sip_tls): address already in use" in capsys.readouterr().err
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as again:
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp binds: TIME_WAIT does not count
        again.bind(("127.0.0.1", api_port))
        again.listen()


# -- voxsim status, logs, reset; the state folder's lock ------------------------------------------------------


class Background:
    """An in-process emulator on a loop of its own thread, so that `cli.main` (which runs its own loop) can be
    called from the test like from a shell."""

    def __init__(self, state: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        # Stopping waits this long for registrars to answer un-REGISTERs: the tests' registrar never answers.
        self.emulator = Emulator(ephemeral_settings(state, sip_registration={"unregister_timeout": 0.1}))
        self.run(self.emulator.start())
        self.base = self.emulator.listeners["api_http"]["url"]

    def run(self, coro: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(f"{self.base}{path}", data=json.dumps(body).encode(), method="POST")
        with urllib.request.urlopen(request, timeout=10) as resp:
            return dict(json.loads(resp.read()))

    def close(self) -> None:
        self.run(self.emulator.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def background(tmp_path: Path):
    emulator = Background(tmp_path / "state")
    try:
        yield emulator
    finally:
        emulator.close()


@pytest.fixture
def seeded(background: Background) -> Background:
    background.run(Deployer.in_process(background.emulator.store, background.emulator.account).deploy(EXAMPLES))
    return background


def wait_for(condition: Any, what: str, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {seconds} s for {what}")
        time.sleep(0.02)


def test_status_shows_listeners_applications_contacts_registrations_and_live_sessions(seeded: Background, capsys):
    emulator = seeded.emulator
    client = ApiCaller(emulator).client
    app_id = emulator.store.list_applications(emulator.account.account_id)[0].application_id
    client.add_user(user_name="alice", user_display_name="Alice", user_password="Secret-1", application_id=app_id)
    client.add_user(user_name="bob", user_display_name="Bob", user_password="Secret-2", application_id=app_id)
    client.create_sip_registration(sip_username="100", proxy="127.0.0.1:9", rule_name="ivr", application_id=app_id)

    async def register() -> Any:
        phone = TestPhone(emulator, "alice")
        await phone.ua.start(udp=0, tcp=None)
        return phone, await phone.register("alice", "Secret-1", "demo")

    phone, response = seeded.run(register())
    try:
        assert response.status == 200
        started = seeded.post("/_voxsim/simulate/call", {"to": "sip:201@demo.voxsim.voximplant.com"})
        live = emulator.runtime.session(started["call_session_history_id"])
        wait_for(lambda: live.state == "running", "the session's scenario to load")

        with urllib.request.urlopen(f"{seeded.base}/_voxsim/status", timeout=10) as resp:
            status = json.loads(resp.read())
        assert status["listeners"]["api_http"]["url"] == seeded.base
        [app] = status["applications"]
        assert [r["rule_name"] for r in app["rules"]] == ["greeting", "ivr", "callback"]
        users = {u["user_name"]: u for u in app["users"]}
        assert users["bob"]["contacts"] == []
        [contact] = users["alice"]["contacts"]
        assert contact["contact"].startswith("sip:alice@127.0.0.1:") and 3500 < contact["expires_in"] <= 3600
        [registration] = status["sip_registrations"]
        assert registration["bound_to"] == "ivr"
        assert registration["state"] in {"registering", "failed", "not registered"}  # nothing answers on port 9
        assert [s["session_id"] for s in status["sessions"]] == [started["call_session_history_id"]]
        assert status["running_sessions"] == 1

        assert cli.main(["status", "--api", seeded.base]) == 0
        out = capsys.readouterr().out
        assert re.search(r"\n  api_http +" + re.escape(seeded.base) + "\n", out)
        assert re.search(r"\n    ivr +/2\\d\\d/ +-> ivr\n", out)
        assert re.search(r"\n  alice@demo\.voxsim\.voximplant\.com +sip:alice@127\.0\.0\.1:\d+ +udp 127\.0\.0\.1:\d+, "
                         r"expires in \d+ s", out)
        assert re.search(r"\n  bob@demo\.voxsim\.voximplant\.com +not registered\n", out)
        assert re.search(r"\n  1 +100@127\.0\.0\.1:9 +\S.* +-> ivr\n", out)
        session_id = started["call_session_history_id"]
        assert re.search(rf"sessions running: 1\n  {session_id} +demo\.voxsim\.voximplant\.com +ivr +running +"
                         r"[\d.]+ s +1 call\(s\)", out)
    finally:
        seeded.run(phone.stop())


def test_logs_prints_the_newest_session_and_follows_one_until_it_finishes(seeded: Background, capsys, monkeypatch):
    assert cli.main(["logs", "--api", seeded.base]) == 1
    assert "voxsim: no sessions yet" in capsys.readouterr().err
    first = seeded.post("/_voxsim/simulate/call", {"to": "sip:201@demo.voxsim.voximplant.com"})
    second = seeded.post("/_voxsim/simulate/call", {"to": "sip:202@demo.voxsim.voximplant.com"})
    sessions = [seeded.emulator.runtime.session(s["call_session_history_id"]) for s in (first, second)]
    wait_for(lambda: all("Call.Connected" in s.log.text() for s in sessions), "both calls to be answered")

    assert cli.main(["logs", "--api", seeded.base]) == 0  # the newest: the second session, printed once
    out = capsys.readouterr().out
    assert '"destination": "202"' in out and '"destination": "201"' not in out and "finished:" not in out

    monkeypatch.setattr(cli, "LOG_POLL_SECONDS", 0.05)
    codes: list[int] = []
    session_id = str(first["call_session_history_id"])
    follower = threading.Thread(target=lambda: codes.append(cli.main(["logs", session_id, "-f", "--api", seeded.base])))
    follower.start()
    printed = ""

    def has_printed(text: str) -> bool:
        nonlocal printed
        printed += capsys.readouterr().out
        return text in printed

    wait_for(lambda: has_printed("Call.Connected"), "the follower to print what the session logged so far")
    assert follower.is_alive()  # still following: the session runs
    seeded.post(f"/_voxsim/simulate/calls/{first['call_id']}/hangup", {})
    follower.join(20)
    printed += capsys.readouterr().out
    assert codes == [0]
    assert printed.count('"destination": "201"') == 1  # each line once, old and new
    assert "Call.Disconnected" in printed and "finished: Normal termination" in printed
    assert printed.index("Call.Connected") < printed.index("Call.Disconnected")

    assert cli.main(["logs", "424242", "--api", seeded.base]) == 1
    assert "voxsim: no session 424242" in capsys.readouterr().err


def test_reset_empties_the_emulator_and_reseeds(seeded: Background, capsys):
    store, account_id = seeded.emulator.store, seeded.emulator.account.account_id
    assert cli.main(["reset", "--api", seeded.base]) == 0
    assert "reset: back to the first-start account" in capsys.readouterr().out
    assert store.list_applications(account_id) == []

    assert cli.main(["reset", "--reseed", str(EXAMPLES), "--api", seeded.base]) == 0
    out = capsys.readouterr().out
    assert "rules greeting, ivr, callback" in out
    assert [a.application_name for a in store.list_applications(account_id)] == ["demo.voxsim.voximplant.com"]

    assert cli.main(["reset", "--reseed", str(EXAMPLES.parent / "nowhere"), "--api", seeded.base]) == 2
    assert "cannot deploy" in capsys.readouterr().err


def test_an_http_error_is_reported_as_an_answer_not_as_unreachable(background: Background, capsys):
    with socket.socket() as probe:  # a port where nothing listens: unreachable
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert cli.main(["status", "--api", f"http://127.0.0.1:{port}"]) == 1
    assert "cannot reach the emulator" in capsys.readouterr().err
    assert cli.main(["status", "--api", f"{background.base}/nowhere"]) == 1
    assert "answered 404" in capsys.readouterr().err


async def test_a_second_emulator_on_the_same_state_folder_fails_until_the_first_stops(tmp_path: Path):
    first = Emulator(ephemeral_settings(tmp_path / "state"))
    await first.start()
    second = Emulator(ephemeral_settings(tmp_path / "state"))
    try:
        with pytest.raises(StateFolderInUse) as refused:
            await second.start()
        assert str(refused.value) == (f"the state folder {(tmp_path / 'state').resolve()} is in use by another "
                                      f"voxsim (pid {os.getpid()})")
        assert second.listeners == {}  # refused before anything listened
    finally:
        await first.stop()
    await second.start()  # released at stop
    await second.stop()


async def test_in_memory_emulators_take_no_lock(tmp_path: Path):
    first, second = Emulator(ephemeral_settings(":memory:")), Emulator(ephemeral_settings(":memory:"))
    await first.start()
    try:
        await second.start()
        await second.stop()
    finally:
        await first.stop()


def test_voxsim_up_on_a_folder_in_use_exits_1_naming_the_holder(background: Background):
    state = background.emulator.files.folder
    out = up_on_state(str(state))
    assert out.returncode == 1, out.stdout + out.stderr
    assert f"voxsim: the state folder {state} is in use by another voxsim (pid {os.getpid()})" in out.stderr
    assert "voxsim is ready" not in out.stdout


def up_on_state(state: str) -> subprocess.CompletedProcess:
    return run_cli("up", "--state", state, "--api-port", "0", "--api-tls-port", "0", "--sip-port", "0",
                   "--sips-port", "0")


VOICE_AI = Path(__file__).resolve().parents[2] / "examples" / "voice-ai"


def test_call_with_a_caller_script_prints_the_conversation_with_the_seeded_agent(background: Background, capsys):
    """`voxsim up --seed examples/voice-ai` seeds the scenario and its agent script; `voxsim call --script` holds the
    conversation the README shows."""
    background.run(cli.seed(background.emulator, [str(VOICE_AI)]))
    assert "1 voice-AI agent script(s)" in capsys.readouterr().out
    script = VOICE_AI / "callers" / "booking.yaml"
    assert cli.main(["call", "100@agents", "--script", str(script), "--api", background.base, "--speed", "5"]) == 0
    out = capsys.readouterr().out
    assert "agent: Hello, this is Bella. Would you like to book a table?" in out
    assert "caller: Yes, a table for two please" in out
    assert "tool book_table({'people': 2}) -> {\"table\":12}" in out
    assert "agent: Goodbye!" in out and "the script ran to its end" in out


def test_call_with_a_wrong_caller_script_names_the_step(tmp_path: Path, capsys):
    bad = tmp_path / "caller.yaml"
    bad.write_text("steps:\n  - sing: la\n")
    assert cli.main(["call", "100@agents", "--script", str(bad)]) == 2
    assert "steps[0]: a step is a mapping with one of say" in capsys.readouterr().err


def test_agent_serve_serves_the_scripted_agent_until_sigterm(tmp_path: Path):
    """`voxsim agent serve` prints where it listens, speaks OpenAI's Realtime protocol there, and stops on SIGTERM."""
    script = tmp_path / "agent.yaml"
    script.write_text("greeting: Hello from the command line\n")
    process = subprocess.Popen([sys.executable, "-m", "voxsim.cli", "agent", "serve", "--vendor", "openai",
                                "--script", str(script), "--port", "0", "--tts", "tone"],
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("voxsim agent: a scripted openai agent at ws://127.0.0.1:")
        url = line.split(" at ", 1)[1].split(" ", 1)[0]

        async def greeting() -> str:
            async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
                await ws.send_str(json.dumps({"type": "response.create"}))
                while True:
                    event = json.loads((await asyncio.wait_for(ws.receive(), 10)).data)
                    if event["type"] == "response.output_audio_transcript.done":
                        return str(event["transcript"])

        assert asyncio.run(greeting()) == "Hello from the command line"
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0


def test_agent_serve_refuses_a_vendor_it_does_not_speak(capsys):
    assert cli.main(["agent", "serve", "--vendor", "acme"]) == 2
    assert "not 'acme'" in capsys.readouterr().err
