"""Load a voxengine-ci repository (`voxfiles/`) into the emulator, as `voxsim up --seed PATH` does,
and write the emulator's applications back in that layout (`voxsim export PATH`).

The layout is Voximplant's own provisioning tool's (see docs/deploy.md):
`applications/<app>.<account>.voximplant.com/{application.config.json, rules.config.json,
scenarios/src|dist/<name>.voxengine.js}` and, in older repositories, shared scenarios in
`scenarios/src/`. Provisioning goes through the Management API's own method handlers, so a
seed obeys exactly the validation a client would meet. Like cli and testing, this module
stands on the composition root and may know both the core and the API.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from mock_api.methods import Context, lookup
from mock_api.params import Params
from voxsim.errors import VoxError
from voxsim.model import Account
from voxsim.store import Store

SCRIPT_SUFFIX = ".voxengine.js"


class DeployError(Exception):
    """The folder cannot be loaded; the message says what to fix."""


@dataclass
class DeployReport:
    applications: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    scenarios: list[str] = field(default_factory=list)


def find_root(path: Path) -> Path:
    """Accept the `voxfiles` folder itself or its parent."""
    for candidate in (path, path / "voxfiles"):
        if (candidate / "applications").is_dir():
            return candidate
    raise DeployError(f"{path}: no 'applications' folder (expected a voxengine-ci 'voxfiles' layout)")


def read_json(path: Path, default: Any) -> Any:
    if not path.exists():
        return default
    try:
        return json.loads(path.read_text())
    except ValueError as exc:
        raise DeployError(f"{path}: not valid JSON ({exc})") from exc


def scenario_source(app_dir: Path, root: Path, name: str) -> str:
    """`dist/` first (what voxengine-ci uploads), then `src/`, then the old shared folder."""
    for folder in (app_dir / "scenarios" / "dist", app_dir / "scenarios" / "src", root / "scenarios" / "src"):
        script = folder / f"{name}{SCRIPT_SUFFIX}"
        if script.exists():
            return script.read_text()
        if (folder / f"{name}.voxengine.ts").exists() and folder.name == "src":
            raise DeployError(f"{folder / (name + '.voxengine.ts')}: TypeScript scenarios must be built first "
                              "(run `npx voxengine-ci upload --dry-run` or `tsc` to produce scenarios/dist/)")
    raise DeployError(f"scenario '{name}' named in {app_dir / 'rules.config.json'} has no {SCRIPT_SUFFIX} file")


Caller = Callable[[str, dict[str, str]], Awaitable[dict[str, Any]]]


class Deployer:
    """Provisions through a `Caller`: the API's handlers in process, or a running emulator over HTTP."""

    def __init__(self, caller: Caller) -> None:
        self._caller = caller

    @classmethod
    def in_process(cls, store: Store, account: Account) -> Deployer:
        ctx = Context(store=store, account=account, remote="127.0.0.1", auth="api_key")

        async def call(method: str, values: dict[str, str]) -> dict[str, Any]:
            spec = lookup(method)
            if spec is None:
                raise DeployError(f"{method} is not available")
            reply = spec.handler(ctx, Params(values))
            if inspect.isawaitable(reply):
                reply = await reply
            return reply

        return cls(call)

    @classmethod
    def over_http(cls, session: aiohttp.ClientSession, base_url: str, account_id: int, api_key: str) -> Deployer:
        async def call(method: str, values: dict[str, str]) -> dict[str, Any]:
            data = {"account_id": str(account_id), "api_key": api_key, **values}
            async with session.post(f"{base_url}/platform_api/{method}", data=data) as resp:
                reply = await resp.json()
            if "error" in reply:
                raise VoxError(int(reply["error"]["code"]), str(reply["error"]["msg"]))
            return reply

        return cls(call)

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        return await self._caller(method, {k: _text(v) for k, v in params.items() if v is not None})

    async def deploy(self, path: Path) -> DeployReport:
        root = find_root(path)
        report = DeployReport()
        for app_dir in sorted(p for p in (root / "applications").iterdir() if p.is_dir()):
            await self.deploy_application(app_dir, root, report)
        return report

    async def deploy_application(self, app_dir: Path, root: Path, report: DeployReport) -> None:
        config = read_json(app_dir / "application.config.json", {})
        full_name = str(config.get("applicationName") or app_dir.name)
        short = full_name.split(".")[0]
        app_id = await self.ensure_application(short)
        report.applications.append(full_name)
        rules = read_json(app_dir / "rules.config.json", [])
        if not isinstance(rules, list):
            raise DeployError(f"{app_dir / 'rules.config.json'}: expected a list of rules")
        existing = {r["rule_name"]: r["rule_id"] for r in
                    (await self.call("GetRules", application_id=app_id, count=1000))["result"]}
        for rule in rules:
            names = [str(n) for n in rule.get("scenarios", [])]
            for name in names:
                await self.call("AddScenario", scenario_name=name, scenario_script=scenario_source(app_dir, root, name),
                          application_id=app_id, rewrite=True)
                report.scenarios.append(name)
            rule_name = str(rule["ruleName"])
            if rule_name in existing:  # re-seeding: the files are the truth
                await self.call("DelRule", rule_id=existing[rule_name])
            await self.call("AddRule", application_id=app_id, rule_name=rule_name,
                      rule_pattern=str(rule.get("rulePattern") or ".*"),
                      rule_pattern_exclude=rule.get("rulePatternExclude"),
                      scenario_name=";".join(names) or None)
            report.rules.append(rule_name)

    async def ensure_application(self, short: str) -> int:
        try:
            return int((await self.call("AddApplication", application_name=short))["application_id"])
        except VoxError as error:
            if error.code != 129:  # not unique: it is already there
                raise
        for app in (await self.call("GetApplications", application_name=short, count=1000))["result"]:
            if app["application_name"].split(".")[0] == short:
                return int(app["application_id"])
        raise DeployError(f"application {short} exists but cannot be found")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass
class ExportReport:
    applications: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


class Exporter:
    """Writes the emulator's applications, rules and scenarios back as a voxengine-ci `voxfiles` folder
    (`voxsim export PATH`): what `Deployer` reads, so a seed survives a round trip."""

    def __init__(self, deployer: Deployer) -> None:
        self.deployer = deployer

    async def export(self, path: Path) -> ExportReport:
        root = path if path.name == "voxfiles" else path / "voxfiles"
        report = ExportReport()
        apps = (await self.deployer.call("GetApplications", count=1000))["result"]
        for app in apps:
            await self.export_application(app, root / "applications" / app["application_name"], report)
            report.applications.append(app["application_name"])
        return report

    async def export_application(self, app: dict[str, Any], folder: Path, report: ExportReport) -> None:
        rules = (await self.deployer.call("GetRules", application_id=app["application_id"], count=1000,
                                          with_scenarios=True))["result"]
        config: list[dict[str, Any]] = []
        scripts: dict[str, str] = {}
        for rule in rules:
            entry = {"ruleName": rule["rule_name"], "scenarios": [s["scenario_name"] for s in rule["scenarios"]],
                     "rulePattern": rule["rule_pattern"]}
            if rule.get("rule_pattern_exclude"):
                entry["rulePatternExclude"] = rule["rule_pattern_exclude"]
            config.append(entry)
            for scenario in rule["scenarios"]:
                if scenario["scenario_name"] not in scripts:
                    found = (await self.deployer.call("GetScenarios", scenario_id=scenario["scenario_id"],
                                                      with_script=True))["result"]
                    scripts[scenario["scenario_name"]] = found[0].get("scenario_script", "") if found else ""
        src = folder / "scenarios" / "src"
        src.mkdir(parents=True, exist_ok=True)
        self._write(folder / "application.config.json",
                    json.dumps({"applicationName": app["application_name"]}, indent=2) + "\n", report)
        self._write(folder / "rules.config.json", json.dumps(config, indent=2) + "\n", report)
        for name, script in scripts.items():
            self._write(src / f"{name}{SCRIPT_SUFFIX}", script, report)

    @staticmethod
    def _write(path: Path, text: str, report: ExportReport) -> None:
        path.write_text(text)
        report.files.append(path)
