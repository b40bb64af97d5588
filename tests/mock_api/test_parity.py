"""docs/parity.md is what scripts/gen_parity.py generates, and what it promises the API does."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import aiohttp
import pytest

from mock_api.methods import REGISTRY, load_all
from mock_api.official_methods import OFFICIAL_METHODS

ROOT = Path(__file__).resolve().parents[2]


def gen_parity():
    spec = importlib.util.spec_from_file_location("gen_parity", ROOT / "scripts" / "gen_parity.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_parity_table_is_current():
    expected = gen_parity().render()
    current = (ROOT / "docs" / "parity.md").read_text(encoding="utf-8")
    assert current == expected, "docs/parity.md is stale: run `python scripts/gen_parity.py`"


def test_table_lists_every_official_method_once():
    load_all()
    text = gen_parity().render()
    rows = [line.split("|")[1].strip() for line in text.splitlines() if line.startswith("| ")]
    methods = [name for name in rows if name not in ("Method",)]
    assert methods[: len(OFFICIAL_METHODS)] == list(OFFICIAL_METHODS)
    for name in ("GetSipRegistrations", "GetCallHistory"):
        assert f"| {name} | emulated |" in text
    assert "| GetWABPhoneNumbers | not emulated (answers error 103) | |" in text
    assert set(REGISTRY) <= set(methods)


@pytest.fixture
def api(voxsim_emulator):
    acc = voxsim_emulator.account
    return voxsim_emulator.listeners["api_http"]["url"], {"account_id": str(acc.account_id), "api_key": acc.api_key}


async def post(url: str, data: dict[str, str]) -> dict:
    async with aiohttp.ClientSession() as http, http.post(url, data=data) as resp:
        assert resp.status == 200
        return await resp.json()


async def test_not_emulated_unknown_and_missing_methods(api):
    base, key = api
    reply = await post(f"{base}/platform_api/GetWABPhoneNumbers", key)
    assert reply["error"]["code"] == 103 and "GetWABPhoneNumbers" in reply["error"]["msg"]
    reply = await post(f"{base}/platform_api", {**key, "cmd": "GetWABPhoneNumbers"})
    assert reply["error"]["code"] == 103 and "not emulated" in reply["error"]["msg"]
    reply = await post(f"{base}/platform_api/NoSuchMethod", key)
    assert reply["error"] == {"code": 103, "msg": "Unknown command"}
    reply = await post(f"{base}/platform_api", key)
    assert reply["error"]["code"] == 102
