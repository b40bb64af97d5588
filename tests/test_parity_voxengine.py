"""docs/parity-voxengine.md is what scripts/gen_parity_voxengine.py generates: every official VoxEngine name,
probed in the real shim. And every name exists: no ReferenceError for a name of the typings."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest
from py_mini_racer import MiniRacer

from voxsim.runtime.bridge import SHIM_SOURCE

ROOT = Path(__file__).resolve().parents[1]
TYPINGS = ROOT.parent / "shared" / "reference" / "voxengine.d.ts"


@pytest.fixture(scope="module")
def gen() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_parity_voxengine", ROOT / "scripts" / "gen_parity_voxengine.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def table(gen: ModuleType) -> str:
    return str(gen.render(gen.read_inventory(gen.INVENTORY.read_text(encoding="utf-8"))))


@pytest.fixture
def ctx():
    c = MiniRacer()
    c.eval(SHIM_SOURCE)
    c.eval("__vox.init({limits: {idPrefix: 't-'}, customData: ''})")
    yield c
    c.close()


def test_committed_table_is_current(table: str):
    current = (ROOT / "docs" / "parity-voxengine.md").read_text(encoding="utf-8")
    assert current == table, "docs/parity-voxengine.md is stale: run `python scripts/gen_parity_voxengine.py`"


def test_every_official_name_exists(table: str):
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert len(rows) > 500
    assert [row for row in rows if "| missing |" in row] == []
    assert "| `VoxEngine.callSIP` | function | emulated |" in table
    assert "| `Crypto.sha256` | function | emulated |" in table
    assert "| `MeasurementProtocol.startSession` | function | not emulated |" in table


def test_inventory_is_the_typings(gen: ModuleType):
    items = gen.read_inventory(gen.INVENTORY.read_text(encoding="utf-8"))
    kinds = {item.kind for item in items}
    assert kinds <= set(gen.KINDS) and {"namespace", "class", "method", "function", "enum"} <= kinds
    assert gen.read_inventory(gen.write_inventory(items)) == items
    if TYPINGS.exists():  # beside the repository in development and CI
        assert gen.parse_typings(TYPINGS.read_text(encoding="utf-8")) == items


def test_the_parser_reads_declarations(gen: ModuleType):
    text = """
    /** doc with { braces } */
    declare namespace Net { function httpRequest(url: string, cb: (r: {a: string}) => void): void; }
    declare class Call { id(): string; static make(): Call; readonly name?: string; constructor(x: number); }
    declare enum E { A = 'a', B = 2, C }
    declare module Crypto {}
    declare interface Skipped { x(): void; }
    type T = { y: string };
    """
    items = {item.path: item for item in gen.parse_typings(text)}
    assert list(items) == ["Net", "Net.httpRequest", "Call", "Call#id", "Call.make", "Call#name", "E", "Crypto"]
    assert items["Call#id"].kind == "method" and items["Call#name"].kind == "property"
    assert items["E"].members == {"A": "a", "B": 2, "C": None}


def test_not_emulated_names_throw_on_use_only(ctx: MiniRacer):
    assert ctx.eval("typeof CCAI") == "function"
    with pytest.raises(Exception, match=r"CCAI is not emulated by voxsim \(used: CCAI\.createAgent\)"):
        ctx.eval("CCAI.createAgent({})")
    with pytest.raises(Exception, match=r"MeasurementProtocol is not emulated by voxsim"):
        ctx.eval("new MeasurementProtocol()")
    with pytest.raises(Exception, match=r"Modules\.StreamingAgent is not emulated by voxsim"):
        ctx.eval("VoxEngine.createStreamingAgent({})")


def test_every_module_requires_without_unknown_module(ctx: MiniRacer, gen: ModuleType):
    items = gen.read_inventory(gen.INVENTORY.read_text(encoding="utf-8"))
    (modules,) = [item for item in items if item.path == "Modules"]
    # The typings' members, and CallList, which the platform's call-list scenarios require though the enum lacks it
    assert json.loads(ctx.eval("JSON.stringify(Modules)")) == {**modules.members, "CallList": "calllist"}
    ctx.eval("for (const key of Object.values(Modules)) require(key)")
    logs = [c["text"] for c in json.loads(ctx.eval("__vox.drain()"))["commands"] if c["op"] == "log"]
    assert not [line for line in logs if "unknown module" in line]


def test_enums_carry_the_typings_values(ctx: MiniRacer):
    values = json.loads(ctx.eval("JSON.stringify([RecorderLabelPosition.TOP_LEFT, TerminationStatus.NORMAL, "
                                 "CallAudioQuality.STANDARD, RecorderProfile['4K'], ConferenceMode.MIX, "
                                 "ACDEvents.Queued, SmartQueueEvents.Waiting])"))
    assert values == ["top left", 1000, "Standard", "4K", "MIX", "ACD.Queued", "SmartQueue.Waiting"]
    assert ctx.eval("VoxEngine.createSequencePlayer({segments: [{text: 'hi'}]}) instanceof SequencePlayer") is True
