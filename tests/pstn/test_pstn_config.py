"""The PSTN simulator's live list of numbers (voxsim/pstn/numbers.py): the settings', a seed folder's pstn.json or
pstn.yaml, and the API's, in that order of precedence reversed; a seeded number gives a scenario's callPSTN its
behaviour, and a bad entry names its file and stops the seed before anything is provisioned."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest

from voxsim import cli
from voxsim.app import Emulator
from voxsim.config import Settings
from voxsim.pstn import PstnNumbers, PstnSettings
from voxsim.pstn.numbers import read_seed
from voxsim.settings_sources import SettingError
from voxsim.testing import ApiCaller, ephemeral_settings

DIALS = """
VoxEngine.addEventListener(AppEvents.Started, () => {
  const call = VoxEngine.callPSTN(VoxEngine.customData(), '+12125550100');
  call.addEventListener(CallEvents.Ringing, () => Logger.write('ringing'));
  call.addEventListener(CallEvents.Connected, () => { Logger.write('connected'); VoxEngine.terminate(); });
  call.addEventListener(CallEvents.Failed, (e) => { Logger.write('failed ' + e.code); VoxEngine.terminate(); });
});
"""

APP = "dialer.acme.voximplant.com"


def numbers(*entries: dict[str, Any], answer_after: float = 1.0) -> PstnNumbers:
    return PstnNumbers(PstnSettings(numbers=list(entries), answer_after=answer_after))


def seed_folder(root: Path, pstn: Any = None, *, name: str = "pstn.json") -> Path:
    app = root / "voxfiles" / "applications" / APP
    (app / "scenarios" / "src").mkdir(parents=True, exist_ok=True)
    (app / "application.config.json").write_text(json.dumps({"applicationName": APP}))
    (app / "rules.config.json").write_text(json.dumps([{"ruleName": "dial", "rulePattern": ".*",
                                                        "scenarios": ["dial"]}]))
    (app / "scenarios" / "src" / "dial.voxengine.js").write_text(DIALS)
    if pstn is not None:
        (root / name).write_text(pstn if isinstance(pstn, str) else json.dumps(pstn))
    return root


# -- the list --------------------------------------------------------------------------------------

def test_the_api_comes_first_then_the_seed_then_the_settings(tmp_path: Path) -> None:
    phones = numbers({"pattern": r"\+1555.*", "behaviour": "reject"})
    (tmp_path / "pstn.json").write_text(json.dumps([{"pattern": r"\+15550.*", "behaviour": "busy"}]))
    [seeded] = read_seed(tmp_path, 1.0)
    phones.add_seed([seeded])
    assert phones.behaviour_for("+15550100").behaviour == "busy"  # the seed's wins over the settings'
    assert phones.behaviour_for("+15551000").behaviour == "reject"
    phones.add({"pattern": "+15550100", "behaviour": "unreachable"})
    assert phones.behaviour_for("+15550100").behaviour == "unreachable"  # the API's wins over the seed's
    assert [e.source for e in phones.entries()] == ["api", "seed", "settings"]
    assert phones.behaviour_for("+4930123") == phones.default and phones.default.behaviour == "answer"


def test_api_entries_are_added_at_a_position_replaced_and_removed() -> None:
    phones = numbers({"pattern": "+15550199"})
    phones.add({"pattern": "1", "behaviour": "busy"})
    phones.add({"pattern": "2"}, position=0)
    phones.add({"pattern": "3"}, position=2)
    assert [e.behaviour.pattern for e in phones.entries()] == ["2", "1", "3", "+15550199"]
    assert phones.remove(1).behaviour.behaviour == "busy"
    assert [e.behaviour.pattern for e in phones.remove_pattern("3")] == ["3"]
    assert phones.remove_pattern("3") == []
    phones.replace([{"pattern": "4", "behaviour": "reject"}, {"pattern": "5", "answer_after": 2}])
    assert [(e.source, e.where, e.behaviour.pattern) for e in phones.entries()] == [
        ("api", "numbers[0]", "4"), ("api", "numbers[1]", "5"), ("settings", "pstn.numbers[0]", "+15550199")]
    phones.clear_api()
    assert [e.source for e in phones.entries()] == ["settings"]


def test_an_entry_without_answer_after_takes_the_settings_one() -> None:
    phones = numbers(answer_after=0.25)
    assert phones.add({"pattern": "7"}).behaviour.answer_after == 0.25
    assert phones.add({"pattern": "8", "answer_after": 3}).behaviour.answer_after == 3.0


@pytest.mark.parametrize(("change", "message"), [
    (lambda p: p.add({"pattern": "1", "behavior": "busy"}), "entry: behavior is not a key of a number"),
    (lambda p: p.add({"answer_after": -1}), "entry: answer_after must be a number of seconds"),
    (lambda p: p.add({"behaviour": "maybe"}), "entry: behaviour 'maybe' is not one of"),
    (lambda p: p.add("busy"), "entry is not a table"),
    (lambda p: p.add({"pattern": "1"}, position=5), "position must be a whole number from 0 to 1"),
    (lambda p: p.replace([{"pattern": "2"}, {"pattern": "(("}]), "numbers[1]: pattern '((' is neither"),
    (lambda p: p.replace({"pattern": "2"}), "numbers must be a list of entries"),
    (lambda p: p.remove(9), "index must be the index of an entry (0 to 1)"),
    (lambda p: p.remove(1), "index 1 is an entry of the settings (pstn.numbers[0])"),
])
def test_a_bad_change_is_refused_and_changes_nothing(change: Any, message: str) -> None:
    phones = numbers({"pattern": "+15550199"})
    phones.add({"pattern": "0", "behaviour": "busy"})
    before = phones.entries()
    with pytest.raises(SettingError, match=re.escape(message)):
        change(phones)
    assert phones.entries() == before


# -- the seed's file ---------------------------------------------------------------------------------

def test_a_seed_folder_gives_its_numbers_in_json_or_yaml(tmp_path: Path) -> None:
    (tmp_path / "json").mkdir()
    (tmp_path / "json" / "pstn.json").write_text(json.dumps([{"pattern": "+15550186", "behaviour": "busy"}]))
    (tmp_path / "yaml").mkdir()
    (tmp_path / "yaml" / "pstn.yaml").write_text("- pattern: '\\+1555014\\d'\n  say: [Hello]\n  hangup_after: 2\n")
    [busy] = read_seed(tmp_path / "json", 1.0)
    assert (busy.source, busy.where, busy.behaviour.behaviour) == ("seed", f"{tmp_path / 'json' / 'pstn.json'}: "
                                                                   "entry 0", "busy")
    [speaks] = read_seed(tmp_path / "yaml", 0.5)
    assert speaks.behaviour.say == ("Hello",) and speaks.behaviour.answer_after == 0.5
    assert speaks.behaviour.matches("+15550142")
    assert read_seed(tmp_path, 1.0) == []  # no file: no numbers


@pytest.mark.parametrize(("files", "message"), [
    ({"pstn.json": json.dumps([{"pattern": "1"}, {"pattern": "2", "ring_time": "long"}])},
     r"pstn.json: entry 1: ring_time must be a number of seconds"),
    ({"pstn.json": json.dumps({"pattern": "1"})}, r"pstn.json: expected a list of entries"),
    ({"pstn.json": "[{"}, r"pstn.json: cannot read it"),
    ({"pstn.json": "[]", "pstn.yaml": "[]"}, r"pstn.json and pstn.yaml both list virtual phones"),
])
def test_a_bad_seed_file_is_named(tmp_path: Path, files: dict[str, str], message: str) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(SettingError, match=message):
        read_seed(tmp_path, 1.0)


# -- seeding an emulator ------------------------------------------------------------------------------

@pytest.fixture
def voxsim_settings(tmp_path: Path) -> Settings:
    return ephemeral_settings(tmp_path / "state", pstn=PstnSettings(callerid_check=False, numbers=[
        {"pattern": "+15550186", "behaviour": "reject"}]))


async def dial(emulator: Emulator, api: ApiCaller, number: str) -> str:
    rule = (await api("get_rules", application_name="dialer"))["result"][0]
    session_id = (await api("start_scenarios", rule_id=rule["rule_id"], script_custom_data=number))[
        "call_session_history_id"]
    assert emulator.runtime is not None
    session = emulator.runtime.session(int(session_id))
    assert session is not None
    await session.wait_finished(10)
    return session.log.text()


async def test_a_seeded_number_gives_call_pstn_its_behaviour(voxsim_emulator: Emulator, voxsim_api: ApiCaller,
                                                            tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    folder = seed_folder(tmp_path / "seed", [{"pattern": "+15550186", "behaviour": "busy"},
                                             {"pattern": r"\+1555017\d", "answer_after": 0.3}])
    await cli.seed(voxsim_emulator, [str(folder)])
    assert f"2 PSTN number(s) from {folder / 'pstn.json'}" in capsys.readouterr().out
    busy = await dial(voxsim_emulator, voxsim_api, "+15550186")  # the seed's entry wins over the settings' reject
    assert "failed 486" in busy and "ringing" not in busy
    answers = await dial(voxsim_emulator, voxsim_api, "+15550172")
    assert answers.index("ringing") < answers.index("connected")
    assert voxsim_emulator.pstn_numbers.behaviour_for("+15550172").answer_after == 0.3


async def test_a_bad_seed_entry_provisions_nothing(voxsim_emulator: Emulator, voxsim_api: ApiCaller, tmp_path: Path):
    folder = seed_folder(tmp_path / "seed", [{"pattern": "+15550186", "behaviour": "busy"},
                                             {"pattern": "+15550187", "hangup_afer": 2}])
    with pytest.raises(SettingError, match=r"pstn.json: entry 1: hangup_afer is not a key of a number"):
        await cli.seed(voxsim_emulator, [str(folder)])
    assert (await voxsim_api("get_applications"))["result"] == []
    assert [e.source for e in voxsim_emulator.pstn_numbers.entries()] == ["settings"]


def test_voxsim_up_stops_on_a_bad_seed_entry(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    folder = seed_folder(tmp_path / "seed", [{"pattern": "1", "behaviour": "bussy"}])
    settings = ephemeral_settings(tmp_path / "state")
    assert asyncio.run(cli.run_up(settings, [str(folder)])) == 2
    err = capsys.readouterr().err
    assert "cannot seed" in err and "pstn.json: entry 0: behaviour 'bussy'" in err and "nothing was provisioned" in err
