"""Loading a voxengine-ci `voxfiles` folder (`voxsim up --seed`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from voxsim.deploy import Deployer, DeployError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "voxfiles"


def app_folder(root: Path, rules: list[dict], scripts: dict[str, str], dist: dict[str, str] | None = None) -> Path:
    app = root / "voxfiles" / "applications" / "shop.acme.voximplant.com"
    (app / "scenarios" / "src").mkdir(parents=True)
    (app / "application.config.json").write_text(json.dumps({"applicationName": "shop.acme.voximplant.com"}))
    (app / "rules.config.json").write_text(json.dumps(rules))
    for name, text in scripts.items():
        (app / "scenarios" / "src" / name).write_text(text)
    if dist:
        (app / "scenarios" / "dist").mkdir()
        for name, text in dist.items():
            (app / "scenarios" / "dist" / name).write_text(text)
    return root


async def test_examples_load_in_rule_order(voxsim_emulator, voxsim_api):
    report = await Deployer.in_process(voxsim_emulator.store, voxsim_emulator.account).deploy(EXAMPLES)
    assert report.applications == ["demo.voxsim.voximplant.com"]
    apps = (await voxsim_api("get_applications", application_name="demo"))["result"]
    rules = await voxsim_api("get_rules", application_id=apps[0]["application_id"], with_scenarios=True)
    assert [r["rule_name"] for r in rules["result"]] == ["greeting", "ivr", "callback"]
    assert [s["scenario_name"] for s in rules["result"][0]["scenarios"]] == ["answer-and-say"]


async def test_parent_folder_dist_first_and_reseeding(voxsim_emulator, voxsim_api, tmp_path):
    root = app_folder(tmp_path, [{"ruleName": "r1", "scenarios": ["a", "b"], "rulePattern": "1\\d+"}],
                      {"a.voxengine.js": "// src a", "b.voxengine.js": "// src b"}, {"a.voxengine.js": "// dist a"})
    deployer = Deployer.in_process(voxsim_emulator.store, voxsim_emulator.account)
    await deployer.deploy(root)  # the parent of voxfiles is accepted
    await deployer.deploy(root / "voxfiles")  # and seeding again is harmless
    scenarios = (await voxsim_api("get_scenarios", scenario_name="a", with_script=True))["result"]
    assert [s["scenario_script"] for s in scenarios if s["scenario_name"] == "a"] == ["// dist a"]
    app_id = (await voxsim_api("get_applications", application_name="shop"))["result"][0]["application_id"]
    rules = (await voxsim_api("get_rules", application_id=app_id, with_scenarios=True))["result"]
    assert len(rules) == 1 and [s["scenario_name"] for s in rules[0]["scenarios"]] == ["a", "b"]


async def test_typescript_without_build_is_refused_with_advice(voxsim_emulator, tmp_path):
    root = app_folder(tmp_path, [{"ruleName": "r", "scenarios": ["t"]}], {"t.voxengine.ts": "const x: number = 1;"})
    with pytest.raises(DeployError, match="TypeScript"):
        await Deployer.in_process(voxsim_emulator.store, voxsim_emulator.account).deploy(root)


async def test_not_a_voxfiles_folder(voxsim_emulator, tmp_path):
    with pytest.raises(DeployError, match="applications"):
        await Deployer.in_process(voxsim_emulator.store, voxsim_emulator.account).deploy(tmp_path)


async def test_bad_pattern_fails_like_the_api(voxsim_emulator, tmp_path):
    from voxsim.errors import VoxError

    root = app_folder(tmp_path, [{"ruleName": "r", "scenarios": ["a"], "rulePattern": "("}], {"a.voxengine.js": "//"})
    with pytest.raises(VoxError) as err:
        await Deployer.in_process(voxsim_emulator.store, voxsim_emulator.account).deploy(root)
    assert err.value.code == 148


async def test_export_round_trips_through_deploy(voxsim_emulator, voxsim_api, tmp_path):
    from voxsim.deploy import Exporter

    deployer = Deployer.in_process(voxsim_emulator.store, voxsim_emulator.account)
    await deployer.deploy(EXAMPLES)
    app_id = (await voxsim_api("get_applications", application_name="demo"))["result"][0]["application_id"]
    await voxsim_api("set_rule_info", rule_id=(await voxsim_api("get_rules", application_id=app_id))["result"][0]
                     ["rule_id"], rule_pattern_exclude="1000")
    report = await Exporter(deployer).export(tmp_path / "out")
    assert report.applications == ["demo.voxsim.voximplant.com"]
    folder = tmp_path / "out" / "voxfiles" / "applications" / "demo.voxsim.voximplant.com"
    rules = json.loads((folder / "rules.config.json").read_text())
    assert [r["ruleName"] for r in rules] == ["greeting", "ivr", "callback"]
    assert rules[0]["rulePatternExclude"] == "1000" and rules[1]["rulePattern"] == "2\\d\\d"
    original = EXAMPLES / "applications" / "demo.voxsim.voximplant.com" / "scenarios" / "src" / "ivr.voxengine.js"
    assert (folder / "scenarios" / "src" / "ivr.voxengine.js").read_text() == original.read_text()

    # What was exported deploys again, unchanged.
    await voxsim_emulator.reset()
    await deployer.deploy(tmp_path / "out")
    app_id = (await voxsim_api("get_applications", application_name="demo"))["result"][0]["application_id"]
    again = (await voxsim_api("get_rules", application_id=app_id, with_scenarios=True))["result"]
    assert [(r["rule_name"], r["rule_pattern"], r.get("rule_pattern_exclude")) for r in again] == [
        ("greeting", "100", "1000"), ("ivr", "2\\d\\d", None), ("callback", "callback", None)]
