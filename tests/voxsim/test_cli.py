"""`voxsim up` as a real process: readiness output, clean stops, state that survives, listeners that cannot
bind; `voxsim call`'s report."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from voxsim import cli


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
