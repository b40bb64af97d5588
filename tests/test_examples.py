"""The examples the README points at work as written: the voxfiles seed and the SIPp call."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from voxsim.deploy import Deployer

ROOT = Path(__file__).resolve().parents[1]


async def sipp_call(emulator, destination: str) -> tuple[int, str]:
    port = emulator.listeners["sip_udp"]["port"]
    proc = await asyncio.create_subprocess_exec(
        "sipp", "-sf", str(ROOT / "examples" / "sipp" / "call.xml"), "-s", destination,
        "-key", "domain", "demo.voxsim.voximplant.com", "-m", "1", "-p", "0", "-i", "127.0.0.1",
        "-nostdin", "-timeout", "30s", f"127.0.0.1:{port}",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), 40)
    return proc.returncode or 0, out.decode(errors="replace")


async def test_sipp_calls_the_seeded_greeting(voxsim_emulator, voxsim_api):
    await Deployer.in_process(voxsim_emulator.store, voxsim_emulator.account).deploy(ROOT / "examples" / "voxfiles")
    code, out = await sipp_call(voxsim_emulator, "100")
    assert code == 0, out[-2000:]
    for session in voxsim_emulator.runtime.live_sessions():
        await session.wait_finished(5)
    voxsim_emulator.recorder.flush()
    history = (await voxsim_api("get_call_history", with_calls=True))["result"]
    assert [row["rule_name"] for row in history] == ["greeting"]
    assert history[0]["finish_reason"] == "Normal termination"
    assert history[0]["calls"][0]["incoming"] is True and history[0]["calls"][0]["remote_number"] == "sipp"


def test_the_readme_pytest_example_is_the_example_file_and_passes():
    example = (ROOT / "examples" / "pytest" / "test_greeting.py").read_text()
    assert f"```python\n{example}```" in (ROOT / "README.md").read_text()
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             str(ROOT / "examples" / "pytest")], capture_output=True, text=True, timeout=120,
                            cwd=ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
