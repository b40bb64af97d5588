"""The README's quickstart runs as written against a fresh emulator."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def quickstart() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert blocks, "the README has a Python quickstart"
    return blocks[0]


async def test_quickstart(voxsim_emulator, monkeypatch, capsys):
    port = voxsim_emulator.listeners["api_https"]["port"]
    code = quickstart().replace('".voxsim/credentials.json"', repr(str(voxsim_emulator.files.credentials)))
    code = code.replace('"127.0.0.1:8443"', repr(f"127.0.0.1:{port}"))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(voxsim_emulator.files.ca))
    await asyncio.to_thread(exec, compile(code, "README.md", "exec"), {})
    assert "all-numbers" in capsys.readouterr().out


def test_readme_names_both_commands():
    text = README.read_text()
    assert "scripts/up.sh" in text
    assert "voxsim up --seed examples/voxfiles" in (README.parent / "scripts" / "up.sh").read_text()
    assert "scripts/test.sh" in text
