"""Loading a voxengine-ci `voxfiles` folder (`voxsim deploy`, `voxsim up --seed`): all or nothing, ids kept by
name, a report of what changed, errors that name the file and the entry."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from voxsim import cli
from voxsim.app import Emulator
from voxsim.deploy import Deployer, DeployError, Exporter, plan, read_folder
from voxsim.store import Store
from voxsim.testing import ephemeral_settings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "voxfiles"
SHOP = "shop.acme.voximplant.com"
SHOP_HERE = "shop.voxsim.voximplant.com"  # the emulator's account name replaces the folder's


def app_folder(root: Path, rules: list[dict], scripts: dict[str, str], dist: dict[str, str] | None = None,
               name: str = SHOP) -> Path:
    app = root / "voxfiles" / "applications" / name
    (app / "scenarios" / "src").mkdir(parents=True, exist_ok=True)
    (app / "application.config.json").write_text(json.dumps({"applicationName": name}))
    (app / "rules.config.json").write_text(json.dumps(rules))
    for file, text in scripts.items():
        (app / "scenarios" / "src" / file).write_text(text)
    if dist:
        (app / "scenarios" / "dist").mkdir(exist_ok=True)
        for file, text in dist.items():
            (app / "scenarios" / "dist" / file).write_text(text)
    return root


def rules_file(root: Path, name: str = SHOP) -> Path:
    return root / "voxfiles" / "applications" / name / "rules.config.json"


def deployer(emulator: Emulator) -> Deployer:
    return Deployer.in_process(emulator.store, emulator.account)


def snapshot(store: Store) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table a deploy touches."""
    return {table: store.db.all(f"SELECT * FROM {table} ORDER BY 1")
            for table in ("applications", "rules", "rule_scenarios", "scenarios")}


def state_of(store: Store, account_id: int, short: str) -> dict[str, Any]:
    """An application's rules in routing order: name -> (rule_id, pattern, exclude, [scenario names]); and
    its scenarios: name -> (scenario_id, script)."""
    app = store.find_application(account_id, application_name=short)
    assert app is not None
    rules = {r.rule_name: (r.rule_id, r.rule_pattern, r.rule_pattern_exclude,
                           [s.scenario_name for s in store.rule_scenarios(r.rule_id)])
             for r in store.rules_in_order(app.application_id)}
    scenarios = {s.scenario_name: (s.scenario_id, s.scenario_script)
                 for s in store.list_scenarios(account_id, application_id=app.application_id)}
    return {"app_id": app.application_id, "rules": rules, "order": list(rules), "scenarios": scenarios}


async def test_examples_load_in_rule_order(voxsim_emulator, voxsim_api):
    report = await deployer(voxsim_emulator).deploy(EXAMPLES)
    assert report.applications == ["demo.voxsim.voximplant.com"]
    assert [(c.action, c.kind) for c in report.changes] == [("created", "application")] + [
        ("created", "scenario")] * 3 + [("created", "rule")] * 3
    apps = (await voxsim_api("get_applications", application_name="demo"))["result"]
    rules = await voxsim_api("get_rules", application_id=apps[0]["application_id"], with_scenarios=True)
    assert [r["rule_name"] for r in rules["result"]] == ["greeting", "ivr", "callback"]
    assert [s["scenario_name"] for s in rules["result"][0]["scenarios"]] == ["answer-and-say"]


async def test_parent_folder_dist_first_and_reseeding(voxsim_emulator, voxsim_api, tmp_path):
    root = app_folder(tmp_path, [{"ruleName": "r1", "scenarios": ["a", "b"], "rulePattern": "1\\d+"}],
                      {"a.voxengine.js": "// src a", "b.voxengine.js": "// src b"}, {"a.voxengine.js": "// dist a"})
    await deployer(voxsim_emulator).deploy(root)  # the parent of voxfiles is accepted
    again = await deployer(voxsim_emulator).deploy(root / "voxfiles")  # and seeding again is harmless
    assert again.changes == [] and again.unchanged == 4 and again.lines() == ["nothing changed", "4 unchanged"]
    scenarios = (await voxsim_api("get_scenarios", scenario_name="a", with_script=True))["result"]
    assert [s["scenario_script"] for s in scenarios if s["scenario_name"] == "a"] == ["// dist a"]
    app_id = (await voxsim_api("get_applications", application_name="shop"))["result"][0]["application_id"]
    rules = (await voxsim_api("get_rules", application_id=app_id, with_scenarios=True))["result"]
    assert len(rules) == 1 and [s["scenario_name"] for s in rules[0]["scenarios"]] == ["a", "b"]


async def test_a_redeploy_changes_things_in_place_and_keeps_their_ids(voxsim_emulator, tmp_path):
    store, account_id = voxsim_emulator.store, voxsim_emulator.account.account_id
    root = app_folder(tmp_path, [{"ruleName": "one", "scenarios": ["a", "b"], "rulePattern": "1",
                                  "rulePatternExclude": "10"},
                                 {"ruleName": "two", "scenarios": ["b"], "rulePattern": "2"}],
                      {"a.voxengine.js": "// a", "b.voxengine.js": "// b"})
    await deployer(voxsim_emulator).deploy(root)
    before = state_of(store, account_id, "shop")

    rules_file(root).write_text(json.dumps([{"ruleName": "two", "scenarios": ["b"], "rulePattern": "2\\d"},
                                            {"ruleName": "one", "scenarios": ["b", "a"], "rulePattern": "1"}]))
    (root / "voxfiles" / "applications" / SHOP / "scenarios" / "src" / "a.voxengine.js").write_text("// a, v2")
    report = await deployer(voxsim_emulator).deploy(root)

    after = state_of(store, account_id, "shop")
    assert after["app_id"] == before["app_id"]
    assert after["order"] == ["two", "one"]
    assert after["rules"]["one"] == (before["rules"]["one"][0], "1", "", ["b", "a"])  # the exclude is cleared
    assert after["rules"]["two"] == (before["rules"]["two"][0], "2\\d", "", ["b"])
    assert after["scenarios"]["a"] == (before["scenarios"]["a"][0], "// a, v2")
    assert after["scenarios"]["b"] == before["scenarios"]["b"]
    assert sorted(line for line in report.lines() if line.startswith("changed")) == [
        f"changed rule {SHOP_HERE}/one (id {before['rules']['one'][0]}): rule_pattern_exclude, scenarios",
        f"changed rule {SHOP_HERE}/two (id {before['rules']['two'][0]}): rule_pattern",
        f"changed scenario {SHOP_HERE}/a (id {before['scenarios']['a'][0]}): script"]
    assert report.of("created") == [] and report.of("removed") == []


async def test_what_the_folder_no_longer_has_is_removed(voxsim_emulator, tmp_path):
    store, account_id = voxsim_emulator.store, voxsim_emulator.account.account_id
    root = app_folder(tmp_path, [{"ruleName": "keep", "scenarios": ["a"]}, {"ruleName": "old", "scenarios": ["b"]}],
                      {"a.voxengine.js": "// a", "b.voxengine.js": "// b"})
    await deployer(voxsim_emulator).deploy(root)
    before = state_of(store, account_id, "shop")
    rules_file(root).write_text(json.dumps([{"ruleName": "keep", "scenarios": ["a"]}]))
    report = await deployer(voxsim_emulator).deploy(root)
    assert [c.line() for c in report.of("removed")] == [
        f"removed rule {SHOP_HERE}/old (id {before['rules']['old'][0]}): not in applications/{SHOP}/rules.config.json",
        f"removed scenario {SHOP_HERE}/b (id {before['scenarios']['b'][0]}): no rule of applications/{SHOP}/"
        "rules.config.json runs it"]
    after = state_of(store, account_id, "shop")
    assert list(after["rules"]) == ["keep"] and list(after["scenarios"]) == ["a"]
    assert after["rules"]["keep"][0] == before["rules"]["keep"][0]


async def test_applications_outside_the_folder_and_shared_scenarios_are_left_alone(voxsim_emulator, voxsim_api,
                                                                                    tmp_path):
    await voxsim_api("add_application", application_name="other")
    await voxsim_api("add_scenario", scenario_name="shared", scenario_script="// shared")
    root = app_folder(tmp_path, [{"ruleName": "r", "scenarios": ["shared"]}], {"shared.voxengine.js": "// mine"})
    with pytest.raises(DeployError, match="scenarios/src/shared.voxengine.js: The scenario name is not unique") as err:
        await deployer(voxsim_emulator).deploy(root)  # the platform refuses a second scenario of that name
    assert err.value.code == 133
    rules_file(root).write_text(json.dumps([{"ruleName": "r", "scenarios": []}]))
    report = await deployer(voxsim_emulator).deploy(root)
    assert [c.kind for c in report.changes] == ["application", "rule"]
    names = [a["application_name"] for a in (await voxsim_api("get_applications"))["result"]]
    assert names == ["other.voxsim.voximplant.com", "shop.voxsim.voximplant.com"]
    assert [s["scenario_name"] for s in (await voxsim_api("get_scenarios"))["result"]] == ["shared"]


@pytest.mark.parametrize(("rules", "files", "message"), [
    ('[{"ruleName": "r", "scenarios": ["a"]}', {}, r"rules.config.json: not valid JSON"),
    ('{"ruleName": "r"}', {}, r"rules.config.json: expected a list of rules"),
    ('[{"ruleName": "r", "scenarios": ["a"]}, 7]', {}, r"rules.config.json, rule 2: expected an object"),
    ('[{"scenarios": ["a"]}]', {}, r"rules.config.json, rule 1: 'ruleName' must be a non-empty string"),
    ('[{"ruleName": "r", "scenarios": ["a"], "rulePattern": "("}]', {},
     r"rules.config.json, rule 1 'r': Invalid 'rule_pattern': missing \)"),
    ('[{"ruleName": "r", "scenarios": ["a"], "rulePatternExclude": "["}]', {},
     r"rules.config.json, rule 1 'r': Invalid 'rule_pattern_exclude'"),
    ('[{"ruleName": "r", "scenarios": "a"}]', {}, r"rule 1 'r': 'scenarios' must be a list of scenario names"),
    ('[{"ruleName": "r", "scenarios": ["a"], "rulePattern": 1}]', {}, r"rule 1 'r': 'rulePattern' must be a string"),
    ('[{"ruleName": "r", "scenarios": ["a"]}, {"ruleName": "r"}]', {},
     r"rule 2 'r': the rule name is also used by rule 1 'r'"),
    ('[{"ruleName": "r", "scenarios": ["nowhere"]}]', {},
     r"rules.config.json, rule 1 'r': scenario 'nowhere' has no .voxengine.js file"),
    ('[{"ruleName": "r", "scenarios": ["a", "t"]}]', {"t.voxengine.ts": "let x: number = 1;"},
     r"scenarios/src/t.voxengine.ts: TypeScript scenarios must be built first"),
])
async def test_a_bad_file_changes_nothing_and_is_named(voxsim_emulator, tmp_path, rules, files, message):
    await deployer(voxsim_emulator).deploy(EXAMPLES)
    before = snapshot(voxsim_emulator.store)
    good = app_folder(tmp_path, [{"ruleName": "fine", "scenarios": ["a"]}], {"a.voxengine.js": "// a"},
                      name="first.acme.voximplant.com")
    app_folder(good, [], {"a.voxengine.js": "// a", **files})
    rules_file(good).write_text(rules)
    demo = good / "voxfiles" / "applications" / "demo.voxsim.voximplant.com"
    shutil.copytree(EXAMPLES / "applications" / "demo.voxsim.voximplant.com", demo)
    (demo / "scenarios" / "src" / "ivr.voxengine.js").write_text("// would change the IVR")
    with pytest.raises(DeployError, match=message):
        await deployer(voxsim_emulator).deploy(good)
    assert snapshot(voxsim_emulator.store) == before


async def test_a_refusal_while_applying_rolls_back_what_came_before(voxsim_emulator, tmp_path):
    """The API refuses the second application (its name breaks the platform's rules) after the first one was
    created and the example's scenario rewritten: the transaction takes all of it back."""
    await deployer(voxsim_emulator).deploy(EXAMPLES)
    before = snapshot(voxsim_emulator.store)
    root = tmp_path / "voxfiles"
    shutil.copytree(EXAMPLES, root)
    (root / "applications" / "demo.voxsim.voximplant.com" / "scenarios" / "src" / "ivr.voxengine.js").write_text("//")
    app_folder(tmp_path, [{"ruleName": "r", "scenarios": []}], {}, name="zz_bad!.acme.voximplant.com")
    with pytest.raises(DeployError, match=r"applications/zz_bad!.acme.voximplant.com/application.config.json: "
                                          r"Invalid application name \(AddApplication answered error 107\)"):
        await deployer(voxsim_emulator).deploy(root)
    assert snapshot(voxsim_emulator.store) == before


async def test_a_script_the_api_refuses_names_its_file(voxsim_emulator, tmp_path):
    root = app_folder(tmp_path, [{"ruleName": "r", "scenarios": ["big"]}], {"big.voxengine.js": "x" * 200_000})
    with pytest.raises(DeployError, match=r"scenarios/src/big.voxengine.js: The script text is too long") as err:
        await deployer(voxsim_emulator).deploy(root)
    assert err.value.code == 130
    assert voxsim_emulator.store.list_applications(voxsim_emulator.account.account_id) == []


async def test_a_dry_run_reports_and_writes_nothing(voxsim_emulator):
    report = await deployer(voxsim_emulator).deploy(EXAMPLES, dry_run=True)
    assert len(report.of("created")) == 7 and report.lines()[-1] == "dry run: nothing was written"
    assert voxsim_emulator.store.list_applications(voxsim_emulator.account.account_id) == []


async def test_several_seed_folders_are_one_deploy(voxsim_emulator, tmp_path):
    good = app_folder(tmp_path / "one", [{"ruleName": "r", "scenarios": []}], {})
    bad = app_folder(tmp_path / "two", [{"ruleName": "r", "rulePattern": "("}], {}, name="other.acme.voximplant.com")
    with pytest.raises(DeployError, match="other.acme.voximplant.com/rules.config.json, rule 1 'r'"):
        await deployer(voxsim_emulator).deploy_all([good, bad])
    assert voxsim_emulator.store.list_applications(voxsim_emulator.account.account_id) == []
    twice = app_folder(tmp_path / "three", [], {})
    with pytest.raises(DeployError, match=f"applications/{SHOP}/application.config.json is also in another"):
        await deployer(voxsim_emulator).deploy_all([good, twice])
    report = await deployer(voxsim_emulator).deploy_all([good, EXAMPLES])
    assert report.applications == ["demo.voxsim.voximplant.com", "shop.voxsim.voximplant.com"]


def test_two_folders_naming_one_application_are_refused():
    bundle = {f"applications/{name}/application.config.json": json.dumps({"applicationName": name})
              for name in ("shop.acme.voximplant.com", "shop.other.voximplant.com")}
    with pytest.raises(DeployError, match="application 'shop' is also defined by applications/shop.acme"):
        plan(bundle)


def test_not_a_voxfiles_folder(tmp_path):
    with pytest.raises(DeployError, match="no 'applications' folder"):
        read_folder(tmp_path)


def test_an_empty_application_folder_is_an_application(tmp_path):
    (tmp_path / "applications" / "bare.acme.voximplant.com").mkdir(parents=True)
    (specs,) = plan(read_folder(tmp_path))
    assert (specs.short, specs.rules, specs.scenarios) == ("bare", [], [])


def test_a_file_that_is_not_text_is_named(tmp_path):
    root = app_folder(tmp_path, [], {"a.voxengine.js": "//"})
    (root / "voxfiles" / "applications" / SHOP / "scenarios" / "src" / "a.voxengine.js").write_bytes(b"\xff\xfe")
    with pytest.raises(DeployError, match=f"applications/{SHOP}/scenarios/src/a.voxengine.js: not UTF-8"):
        read_folder(root)


async def test_export_round_trips_through_deploy(voxsim_emulator, voxsim_api, tmp_path):
    deploy = deployer(voxsim_emulator)
    await deploy.deploy(EXAMPLES)
    app_id = (await voxsim_api("get_applications", application_name="demo"))["result"][0]["application_id"]
    await voxsim_api("set_rule_info", rule_id=(await voxsim_api("get_rules", application_id=app_id))["result"][0]
                     ["rule_id"], rule_pattern_exclude="1000")
    report = await Exporter(deploy).export(tmp_path / "out")
    assert report.applications == ["demo.voxsim.voximplant.com"]
    folder = tmp_path / "out" / "voxfiles" / "applications" / "demo.voxsim.voximplant.com"
    rules = json.loads((folder / "rules.config.json").read_text())
    assert [r["ruleName"] for r in rules] == ["greeting", "ivr", "callback"]
    assert rules[0]["rulePatternExclude"] == "1000" and rules[1]["rulePattern"] == "2\\d\\d"
    original = EXAMPLES / "applications" / "demo.voxsim.voximplant.com" / "scenarios" / "src" / "ivr.voxengine.js"
    assert (folder / "scenarios" / "src" / "ivr.voxengine.js").read_text() == original.read_text()

    # What was exported deploys again, unchanged.
    assert (await deploy.deploy(tmp_path / "out")).changes == []
    await voxsim_emulator.reset()
    await deploy.deploy(tmp_path / "out")
    app_id = (await voxsim_api("get_applications", application_name="demo"))["result"][0]["application_id"]
    again = (await voxsim_api("get_rules", application_id=app_id, with_scenarios=True))["result"]
    assert [(r["rule_name"], r["rule_pattern"], r.get("rule_pattern_exclude")) for r in again] == [
        ("greeting", "100", "1000"), ("ivr", "2\\d\\d", None), ("callback", "callback", None)]


# -- over HTTP: POST /_voxsim/deploy and `voxsim deploy` -------------------------------------------

def api_of(emulator: Emulator) -> str:
    return str(emulator.listeners["api_http"]["url"])


async def test_over_http_the_emulator_applies_the_folder_whole(voxsim_emulator, tmp_path):
    async with aiohttp.ClientSession() as http:
        remote = await cli.remote_deployer(http, api_of(voxsim_emulator))
        report = await remote.deploy(EXAMPLES)
        assert [c.name for c in report.of("created")][:2] == ["demo.voxsim.voximplant.com",
                                                              "demo.voxsim.voximplant.com/answer-and-say"]
        before = snapshot(voxsim_emulator.store)
        bad = tmp_path / "voxfiles"
        shutil.copytree(EXAMPLES, bad)
        (bad / "applications" / "demo.voxsim.voximplant.com" / "rules.config.json").write_text(
            '[{"ruleName": "greeting", "scenarios": ["answer-and-say"], "rulePattern": "1"}, {"ruleName": "x"}, 1]')
        with pytest.raises(DeployError, match=r"demo.voxsim.voximplant.com/rules.config.json, rule 3: expected an"):
            await remote.deploy(bad)
        assert snapshot(voxsim_emulator.store) == before


@pytest.mark.parametrize(("body", "message"), [
    (b"not json", "expected a JSON object"),
    (json.dumps({"files": {"../etc/passwd": "x"}}).encode(), "../etc/passwd: expected a relative path"),
    (json.dumps({"files": {"applications/a/rules.config.json": 1}}).encode(), "expected a relative path"),
    (json.dumps({"files": {}}).encode(), "no application folders"),
])
async def test_the_deploy_endpoint_answers_bad_bodies_with_the_error_envelope(voxsim_emulator, body, message):
    async with aiohttp.ClientSession() as http, http.post(f"{api_of(voxsim_emulator)}/_voxsim/deploy",
                                                          data=body) as resp:
        assert resp.status == 400
        reply = await resp.json()
    assert reply["error"]["code"] == 101 and message in reply["error"]["msg"]


async def test_cli_deploy_prints_what_it_created_changed_and_removed(voxsim_emulator, tmp_path, capsys):
    api = api_of(voxsim_emulator)
    assert await cli.run_deploy(api, EXAMPLES, dry_run=True) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"checked {EXAMPLES}: applications demo.voxsim.voximplant.com; rules greeting, ivr, callback")
    assert "  dry run: nothing was written" in out
    assert await cli.run_deploy(api, EXAMPLES) == 0
    out = capsys.readouterr().out
    assert "  created application demo.voxsim.voximplant.com (id 1)\n" in out
    assert "  created rule demo.voxsim.voximplant.com/ivr (id 2)\n" in out

    root = tmp_path / "voxfiles"
    shutil.copytree(EXAMPLES, root)
    rules = root / "applications" / "demo.voxsim.voximplant.com" / "rules.config.json"
    rules.write_text(json.dumps([{"ruleName": "greeting", "scenarios": ["answer-and-say"], "rulePattern": "10\\d"},
                                 {"ruleName": "ivr", "scenarios": ["ivr"], "rulePattern": "2\\d\\d"}]))
    assert await cli.run_deploy(api, root) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1:] == ["  changed rule demo.voxsim.voximplant.com/greeting (id 1): rule_pattern",
                       "  removed rule demo.voxsim.voximplant.com/callback (id 3): not in "
                       "applications/demo.voxsim.voximplant.com/rules.config.json",
                       "  removed scenario demo.voxsim.voximplant.com/callback (id 3): no rule of "
                       "applications/demo.voxsim.voximplant.com/rules.config.json runs it",
                       "  4 unchanged"]

    rules.write_text("[")
    assert await cli.run_deploy(api, root) == 2
    err = capsys.readouterr().err
    assert f"voxsim: cannot deploy {root}: applications/demo.voxsim.voximplant.com/rules.config.json: not valid JSON" \
           in err and err.rstrip().endswith("nothing was changed")


async def test_seeding_again_after_a_restart_keeps_the_rule_ids(tmp_path, capsys):
    settings = ephemeral_settings(tmp_path / "state")
    ids = []
    for _ in range(2):
        emulator = Emulator(settings)
        await emulator.start()
        try:
            await cli.seed(emulator, [str(EXAMPLES)])
            ids.append([r.rule_id for r in emulator.store.rules_in_order(1)])
        finally:
            await emulator.stop()
    assert ids[0] == ids[1] == [1, 2, 3]
    first, second = capsys.readouterr().out.split("voxsim: seeded")[1:]
    assert "created rule demo.voxsim.voximplant.com/greeting (id 1)" in first
    assert second.splitlines()[1:] == ["  nothing changed", "  7 unchanged"]


def test_up_with_a_bad_seed_names_the_entry_and_exits_2(tmp_path):
    root = app_folder(tmp_path, [{"ruleName": "r", "scenarios": ["missing"]}], {})
    out = subprocess.run([sys.executable, "-m", "voxsim.cli", "up", "--state", ":memory:", "--api-port", "0",
                          "--api-tls-port", "0", "--sip-port", "0", "--sips-port", "0", "--seed", str(root)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert (f"voxsim: cannot seed: applications/{SHOP}/rules.config.json, rule 1 'r': scenario 'missing' has no "
            ".voxengine.js file") in out.stderr
    assert "nothing was provisioned" in out.stderr and "voxsim is ready" not in out.stdout


async def test_reset_reseeds_its_folders_as_one_deploy(voxsim_emulator, tmp_path, capsys):
    api = api_of(voxsim_emulator)
    bad = app_folder(tmp_path, [{"ruleName": "r", "scenarios": ["missing"]}], {})
    assert await cli.run_reset(api, [EXAMPLES, bad]) == 2
    assert f"voxsim: cannot deploy {EXAMPLES}, {bad}: applications/{SHOP}/rules.config.json" in capsys.readouterr().err
    assert voxsim_emulator.store.list_applications(voxsim_emulator.account.account_id) == []
    assert await cli.run_reset(api, [EXAMPLES]) == 0
    assert "rules greeting, ivr, callback" in capsys.readouterr().out


async def test_a_folder_too_large_for_one_request_is_a_clear_error(voxsim_emulator, tmp_path):
    root = app_folder(tmp_path, [], {f"s{n}.voxengine.js": "x" * 120_000 for n in range(40)})
    async with aiohttp.ClientSession() as http:
        remote = await cli.remote_deployer(http, api_of(voxsim_emulator))
        with pytest.raises(DeployError, match="larger than .* accepts in one request"):
            await remote.deploy(root)
