"""Load a voxengine-ci repository (`voxfiles/`) into the emulator, as `voxsim deploy PATH` and
`voxsim up --seed PATH` do, and write the emulator's applications back in that layout (`voxsim export PATH`).

The layout is Voximplant's own provisioning tool's (see docs/deploy.md):
`applications/<app>.<account>.voximplant.com/{application.config.json, rules.config.json,
scenarios/src|dist/<name>.voxengine.js}` and, in older repositories, shared scenarios in
`scenarios/src/`.

A deploy is all or nothing, in three steps:

1. `read_folder` reads the folder into a `Bundle` (relative path -> text), the only form that crosses
   HTTP (`POST /_voxsim/deploy`), so a folder on the developer's machine deploys into an emulator in a
   container just as a local one does;
2. `plan` checks the whole bundle and turns it into `ApplicationSpec`s; a bad file or entry is a
   `DeployError` naming it, and nothing has been touched;
3. `Provisioner.apply` brings the store to the plan in one store transaction, through the Management
   API's own method handlers (so a deploy meets exactly the validation a client would). What already
   exists by name keeps its id: applications, rules and scenarios are updated in place, so the
   `rule_id`s kept elsewhere (history, SIP registrations bound to rules) survive a re-seed. A refusal
   rolls the transaction back and names the file and entry it came from.

Like cli and testing, this module stands on the composition root and may know both the core and the API.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import aiohttp
from aiohttp import web

from mock_api.app import STORE
from mock_api.methods import Context, lookup
from mock_api.params import Params
from voxsim.errors import INVALID_ARGUMENTS, INVALID_RULE_PATTERN_EXCLUDE, VoxError
from voxsim.model import Account, Rule, Scenario
from voxsim.store import Store
from voxsim.store.rules import check_pattern

SCRIPT_SUFFIX = ".voxengine.js"
TS_SUFFIX = ".voxengine.ts"
APPLICATION_CONFIG = "application.config.json"
RULES_CONFIG = "rules.config.json"
DEPLOY_PATH = "/_voxsim/deploy"

Bundle = dict[str, str]
"""A voxfiles folder's files that a deploy reads: path relative to the folder (POSIX) -> text."""


class DeployError(Exception):
    """The folder cannot be loaded; the message names the file (and entry) and says what to fix. `code` is
    the Management API's error code when one of its methods refused an entry."""

    def __init__(self, msg: str, code: int = INVALID_ARGUMENTS) -> None:
        super().__init__(msg)
        self.msg = msg
        self.code = code


# -- reading --------------------------------------------------------------------------------------

def find_root(path: Path) -> Path:
    """Accept the `voxfiles` folder itself or its parent."""
    for candidate in (path, path / "voxfiles"):
        if (candidate / "applications").is_dir():
            return candidate
    raise DeployError(f"{path}: no 'applications' folder (expected a voxengine-ci 'voxfiles' layout)")


def _wanted_files(root: Path) -> Iterable[Path]:
    for app_dir in sorted(p for p in (root / "applications").iterdir() if p.is_dir()):
        yield from (app_dir / name for name in (APPLICATION_CONFIG, RULES_CONFIG))
        for kind in ("src", "dist"):
            yield from sorted((app_dir / "scenarios" / kind).glob("*.voxengine.[jt]s"))
    yield from sorted((root / "scenarios" / "src").glob("*.voxengine.[jt]s"))


def read_folder(path: Path) -> Bundle:
    """The files of a voxfiles folder (or its parent) that a deploy reads. Raises DeployError."""
    root = find_root(path)
    bundle: Bundle = {}
    for file in _wanted_files(root):
        if file.is_file():
            rel = file.relative_to(root).as_posix()
            bundle[rel] = _read_text(file, rel)
    for app_dir in (root / "applications").iterdir():  # a folder without files is still an application
        if app_dir.is_dir() and not any(rel.startswith(f"applications/{app_dir.name}/") for rel in bundle):
            bundle[f"applications/{app_dir.name}/"] = ""
    return bundle


def _read_text(file: Path, rel: str) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DeployError(f"{rel}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise DeployError(f"{rel}: cannot be read ({exc.strerror})") from exc


# -- planning: the whole folder is checked before anything changes --------------------------------

@dataclass(frozen=True)
class ScenarioSpec:
    name: str
    script: str
    where: str
    """The file it comes from."""


@dataclass(frozen=True)
class RuleSpec:
    name: str
    pattern: str
    exclude: str
    scenarios: tuple[str, ...]
    where: str
    """`<rules.config.json>, rule N 'name'`: the entry it comes from."""


@dataclass
class ApplicationSpec:
    name: str
    """The full name as the folder gives it; the application is created from its first label."""
    where: str
    rules: list[RuleSpec] = field(default_factory=list)
    scenarios: list[ScenarioSpec] = field(default_factory=list)

    @property
    def short(self) -> str:
        return self.name.split(".")[0]


def _json(bundle: Mapping[str, str], rel: str, default: Any) -> Any:
    if rel not in bundle:
        return default
    try:
        return json.loads(bundle[rel])
    except ValueError as exc:
        raise DeployError(f"{rel}: not valid JSON ({exc})") from exc


def application_folders(bundle: Mapping[str, str]) -> list[str]:
    """`applications/<name>` of every application folder in the bundle, sorted."""
    return sorted({"/".join(PurePosixPath(rel).parts[:2]) for rel in bundle
                   if rel.startswith("applications/") and len(PurePosixPath(rel).parts) >= 2})


def plan(bundle: Mapping[str, str]) -> list[ApplicationSpec]:
    """Every application of the bundle, checked. Raises DeployError naming the file and entry at fault."""
    specs = [plan_application(bundle, folder) for folder in application_folders(bundle)]
    if not specs:
        raise DeployError("applications/: no application folders")
    seen: dict[str, str] = {}
    for spec in specs:
        if spec.short in seen:
            raise DeployError(f"{spec.where}: application '{spec.short}' is also defined by {seen[spec.short]}")
        seen[spec.short] = spec.where
    return specs


def plan_application(bundle: Mapping[str, str], folder: str) -> ApplicationSpec:
    config_rel = f"{folder}/{APPLICATION_CONFIG}"
    config = _json(bundle, config_rel, {})
    if not isinstance(config, dict):
        raise DeployError(f'{config_rel}: expected an object like {{"applicationName": "app.acme.voximplant.com"}}')
    name = config.get("applicationName", PurePosixPath(folder).name)
    if not isinstance(name, str) or not name.strip():
        raise DeployError(f"{config_rel}: 'applicationName' must be a non-empty string")
    spec = ApplicationSpec(name=name.strip(), where=folder)
    spec.rules = plan_rules(bundle, f"{folder}/{RULES_CONFIG}")
    spec.scenarios = [scenario_source(bundle, folder, name, rule.where)
                      for name, rule in _first_uses(spec.rules).items()]
    return spec


def plan_rules(bundle: Mapping[str, str], rel: str) -> list[RuleSpec]:
    entries = _json(bundle, rel, [])
    if not isinstance(entries, list):
        raise DeployError(f"{rel}: expected a list of rules")
    rules = [plan_rule(entry, f"{rel}, rule {n}") for n, entry in enumerate(entries, 1)]
    names: dict[str, str] = {}
    for rule in rules:
        if rule.name in names:
            raise DeployError(f"{rule.where}: the rule name is also used by {names[rule.name].split(', ')[-1]}")
        names[rule.name] = rule.where
    return rules


def plan_rule(entry: Any, where: str) -> RuleSpec:
    if not isinstance(entry, dict):
        raise DeployError(f"{where}: expected an object with 'ruleName', 'rulePattern' and 'scenarios'")
    name = entry.get("ruleName")
    if not isinstance(name, str) or not name.strip():
        raise DeployError(f"{where}: 'ruleName' must be a non-empty string")
    where = f"{where} '{name}'"
    pattern, exclude = _text_field(entry, "rulePattern", where) or ".*", _text_field(entry, "rulePatternExclude", where)
    try:
        check_pattern(pattern)
        if exclude:
            check_pattern(exclude, "rule_pattern_exclude", INVALID_RULE_PATTERN_EXCLUDE)
    except VoxError as error:
        raise DeployError(f"{where}: {error.msg}", error.code) from error
    scenarios = entry.get("scenarios", [])
    if not isinstance(scenarios, list) or not all(isinstance(s, str) and s.strip() and ";" not in s
                                                  for s in scenarios):
        raise DeployError(f"{where}: 'scenarios' must be a list of scenario names")
    return RuleSpec(name, pattern, exclude, tuple(scenarios), where)


def _text_field(entry: dict[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise DeployError(f"{where}: '{key}' must be a string")
    return value


def _first_uses(rules: Sequence[RuleSpec]) -> dict[str, RuleSpec]:
    """Each scenario a rule names, with the first rule naming it, in that order."""
    uses: dict[str, RuleSpec] = {}
    for rule in rules:
        for name in rule.scenarios:
            uses.setdefault(name, rule)
    return uses


def scenario_source(bundle: Mapping[str, str], folder: str, name: str, named_by: str) -> ScenarioSpec:
    """`dist/` first (what voxengine-ci uploads), then `src/`, then the old shared folder."""
    for place in (f"{folder}/scenarios/dist", f"{folder}/scenarios/src", "scenarios/src"):
        rel = f"{place}/{name}{SCRIPT_SUFFIX}"
        if rel in bundle:
            return ScenarioSpec(name, bundle[rel], rel)
        if place.endswith("src") and f"{place}/{name}{TS_SUFFIX}" in bundle:
            raise DeployError(f"{place}/{name}{TS_SUFFIX}: TypeScript scenarios must be built first "
                              "(run `npx voxengine-ci upload --dry-run` or `tsc` to produce scenarios/dist/)")
    raise DeployError(f"{named_by}: scenario '{name}' has no {SCRIPT_SUFFIX} file in {folder}/scenarios/dist, "
                      f"{folder}/scenarios/src or scenarios/src")


# -- what a deploy did ----------------------------------------------------------------------------

Action = Literal["created", "changed", "removed"]


@dataclass(frozen=True)
class Change:
    action: Action
    kind: Literal["application", "rule", "scenario"]
    name: str
    """`<application>` or `<application>/<rule or scenario>`."""
    id: int
    detail: str = ""

    def line(self) -> str:
        return f"{self.action} {self.kind} {self.name} (id {self.id})" + (f": {self.detail}" if self.detail else "")


@dataclass
class DeployReport:
    """What the folder holds (`applications`, `rules`, `scenarios` by name), and what the deploy changed."""

    applications: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    scenarios: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    unchanged: int = 0
    dry_run: bool = False

    def of(self, action: Action) -> list[Change]:
        return [c for c in self.changes if c.action == action]

    def summary(self) -> str:
        return (f"applications {', '.join(self.applications) or '-'}; rules {', '.join(self.rules) or '-'}; "
                f"scenarios {', '.join(self.scenarios) or '-'}")

    def lines(self) -> list[str]:
        """One line per change, then how many things were already as the folder says."""
        lines = [change.line() for change in self.changes]
        if not lines:
            lines.append("nothing changed")
        if self.unchanged:
            lines.append(f"{self.unchanged} unchanged")
        if self.dry_run:
            lines.append("dry run: nothing was written")
        return lines

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DeployReport:
        return cls(applications=list(data["applications"]), rules=list(data["rules"]),
                   scenarios=list(data["scenarios"]), changes=[Change(**c) for c in data["changes"]],
                   unchanged=int(data["unchanged"]), dry_run=bool(data.get("dry_run", False)))


# -- applying: one store transaction --------------------------------------------------------------

class _DryRun(Exception):
    """Raised inside the transaction to roll a dry run back."""


class Provisioner:
    """Brings the store to a plan, in one transaction, through the Management API's method handlers."""

    def __init__(self, store: Store, account: Account) -> None:
        self.store = store
        self.account = account
        self._ctx = Context(store=store, account=account, remote="127.0.0.1", auth="api_key")

    def apply(self, specs: Sequence[ApplicationSpec], *, dry_run: bool = False) -> DeployReport:
        """All or nothing: a refusal (DeployError) or any other failure leaves the store as it was."""
        report = DeployReport(dry_run=dry_run)
        try:
            with self.store.db.tx():
                for spec in specs:
                    self.application(spec, report)
                if dry_run:
                    raise _DryRun
        except _DryRun:
            pass
        return report

    def call(self, where: str, method: str, **params: Any) -> dict[str, Any]:
        """One method handler, synchronously (so nothing else runs inside the transaction); a refusal
        becomes a DeployError naming `where`."""
        spec = lookup(method)
        assert spec is not None, method
        try:
            reply = spec.handler(self._ctx, Params({k: _text(v) for k, v in params.items() if v is not None}))
        except VoxError as error:
            raise DeployError(f"{where}: {error.msg} ({method} answered error {error.code})", error.code) from error
        assert not inspect.isawaitable(reply), f"{method} is not a synchronous handler"
        return reply

    def application(self, spec: ApplicationSpec, report: DeployReport) -> None:
        app = self.store.find_application(self.account.account_id, application_name=spec.short)
        if app is None:
            reply = self.call(f"{spec.where}/{APPLICATION_CONFIG}", "AddApplication", application_name=spec.short)
            app_id, full_name = int(reply["application_id"]), str(reply["application_name"])
            report.changes.append(Change("created", "application", full_name, app_id))
        else:
            app_id, full_name = app.application_id, app.application_name
            report.unchanged += 1
        report.applications.append(full_name)
        ids = self.scenarios(spec, app_id, full_name, report)
        self.rules(spec, app_id, full_name, ids, report)
        self.remove_scenarios(spec, app_id, full_name, report)

    def own_scenarios(self, app_id: int) -> dict[str, Scenario]:
        return {s.scenario_name: s for s in self.store.list_scenarios(self.account.account_id, application_id=app_id)
                if s.application_id == app_id}

    def scenarios(self, spec: ApplicationSpec, app_id: int, app_name: str, report: DeployReport) -> dict[str, int]:
        """The application's scenarios as the folder has them; rewritten in place (same id) when they exist."""
        own, ids = self.own_scenarios(app_id), {}
        for scenario in spec.scenarios:
            report.scenarios.append(scenario.name)
            known = own.get(scenario.name)
            if known is not None and known.scenario_script == scenario.script:
                ids[scenario.name] = known.scenario_id
                report.unchanged += 1
                continue
            reply = self.call(scenario.where, "AddScenario", scenario_name=scenario.name,
                              scenario_script=scenario.script, application_id=app_id, rewrite=known is not None)
            ids[scenario.name] = int(reply["scenario_id"])
            report.changes.append(Change("changed" if known else "created", "scenario", f"{app_name}/{scenario.name}",
                                         ids[scenario.name], "script" if known else ""))
        return ids

    def rules(self, spec: ApplicationSpec, app_id: int, app_name: str, scenario_ids: Mapping[str, int],
              report: DeployReport) -> None:
        existing = {rule.rule_name: rule for rule in self.store.rules_in_order(app_id)}
        order = []
        for rule in spec.rules:
            report.rules.append(rule.name)
            wanted = [scenario_ids[name] for name in rule.scenarios]
            known = existing.pop(rule.name, None)
            if known is None:
                order.append(self.add_rule(rule, app_id, app_name, wanted, report))
            else:
                order.append(self.update_rule(rule, known, app_name, wanted, report))
        for gone in existing.values():
            self.call(f"{spec.where}/{RULES_CONFIG}", "DelRule", rule_id=gone.rule_id)
            report.changes.append(Change("removed", "rule", f"{app_name}/{gone.rule_name}", gone.rule_id,
                                         f"not in {spec.where}/{RULES_CONFIG}"))
        if [r.rule_id for r in self.store.rules_in_order(app_id)] != order and order:
            self.call(f"{spec.where}/{RULES_CONFIG}", "ReorderRules", rule_id=";".join(map(str, order)))

    def add_rule(self, rule: RuleSpec, app_id: int, app_name: str, scenario_ids: list[int],
                 report: DeployReport) -> int:
        reply = self.call(rule.where, "AddRule", application_id=app_id, rule_name=rule.name,
                          rule_pattern=rule.pattern, rule_pattern_exclude=rule.exclude or None,
                          scenario_id=";".join(map(str, scenario_ids)) or None)
        rule_id = int(reply["rule_id"])
        report.changes.append(Change("created", "rule", f"{app_name}/{rule.name}", rule_id))
        return rule_id

    def update_rule(self, rule: RuleSpec, known: Rule, app_name: str, scenario_ids: list[int],
                    report: DeployReport) -> int:
        """The rule keeps its id: its patterns and its scenarios change in place."""
        changed = []
        if (rule.pattern, rule.exclude) != (known.rule_pattern, known.rule_pattern_exclude):
            changed += ["rule_pattern"] * (rule.pattern != known.rule_pattern)
            changed += ["rule_pattern_exclude"] * (rule.exclude != known.rule_pattern_exclude)
            self.call(rule.where, "SetRuleInfo", rule_id=known.rule_id, rule_pattern=rule.pattern,
                      rule_pattern_exclude=rule.exclude or None)
            if not rule.exclude and known.rule_pattern_exclude:
                # SetRuleInfo takes an empty exclude for an absent one, so it cannot clear it: the store can.
                self.store.set_rule_info(self.account.account_id, known.rule_id, {"rule_pattern_exclude": ""})
        if scenario_ids != known.scenario_ids:
            changed.append("scenarios")
            self.rebind(rule, known, scenario_ids)
        if changed:
            report.changes.append(Change("changed", "rule", f"{app_name}/{rule.name}", known.rule_id,
                                         ", ".join(changed)))
        else:
            report.unchanged += 1
        return known.rule_id

    def rebind(self, rule: RuleSpec, known: Rule, scenario_ids: list[int]) -> None:
        if known.scenario_ids:
            self.call(rule.where, "BindScenario", rule_id=known.rule_id,
                      scenario_id=";".join(map(str, known.scenario_ids)), bind=False)
        if scenario_ids:
            self.call(rule.where, "BindScenario", rule_id=known.rule_id, scenario_id=";".join(map(str, scenario_ids)))

    def remove_scenarios(self, spec: ApplicationSpec, app_id: int, app_name: str, report: DeployReport) -> None:
        """The application's own scenarios that no rule of the folder runs any more go (shared ones stay)."""
        wanted = {s.name for s in spec.scenarios}
        for name, scenario in self.own_scenarios(app_id).items():
            if name not in wanted:
                self.call(f"{spec.where}/{RULES_CONFIG}", "DelScenario", scenario_id=scenario.scenario_id)
                report.changes.append(Change("removed", "scenario", f"{app_name}/{name}", scenario.scenario_id,
                                             f"no rule of {spec.where}/{RULES_CONFIG} runs it"))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# -- the two ways in: in process (seed) and over HTTP (voxsim deploy) ------------------------------

Caller = Callable[[str, dict[str, str]], Awaitable[dict[str, Any]]]
Deploy = Callable[[Bundle, bool], Awaitable[DeployReport]]


class Deployer:
    """Deploys folders and calls the Management API, in process (`in_process`) or against a running emulator
    (`over_http`: the folder is read here and sent whole to `POST /_voxsim/deploy`)."""

    def __init__(self, caller: Caller, deploy_bundle: Deploy) -> None:
        self._caller = caller
        self._deploy_bundle = deploy_bundle

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

        async def deploy(bundle: Bundle, dry_run: bool) -> DeployReport:
            return Provisioner(store, account).apply(plan(bundle), dry_run=dry_run)

        return cls(call, deploy)

    @classmethod
    def over_http(cls, session: aiohttp.ClientSession, base_url: str, account_id: int, api_key: str) -> Deployer:
        async def call(method: str, values: dict[str, str]) -> dict[str, Any]:
            data = {"account_id": str(account_id), "api_key": api_key, **values}
            async with session.post(f"{base_url}/platform_api/{method}", data=data) as resp:
                reply = await resp.json()
            if "error" in reply:
                raise VoxError(int(reply["error"]["code"]), str(reply["error"]["msg"]))
            return reply

        async def deploy(bundle: Bundle, dry_run: bool) -> DeployReport:
            async with session.post(f"{base_url}{DEPLOY_PATH}", json={"files": bundle, "dry_run": dry_run}) as resp:
                if resp.status == 404:
                    raise DeployError(f"{base_url} has no {DEPLOY_PATH} (an older voxsim?)")
                if resp.status == 413:
                    raise DeployError(f"the folder's files are larger than {base_url} accepts in one request")
                reply = await resp.json()
            if "error" in reply:
                raise DeployError(str(reply["error"]["msg"]), int(reply["error"]["code"]))
            return DeployReport.from_json(reply["result"])

        return cls(call, deploy)

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        return await self._caller(method, {k: _text(v) for k, v in params.items() if v is not None})

    async def deploy(self, path: Path, *, dry_run: bool = False) -> DeployReport:
        """All or nothing (see the module's docstring). Raises DeployError."""
        return await self._deploy_bundle(read_folder(path), dry_run)

    async def deploy_all(self, paths: Sequence[Path], *, dry_run: bool = False) -> DeployReport:
        """Several folders as one deploy (`voxsim up --seed A --seed B`): one of them bad, none is applied."""
        bundle: Bundle = {}
        for path in paths:
            for rel, text in read_folder(path).items():
                if rel in bundle and rel.startswith("applications/"):
                    raise DeployError(f"{path}: {rel} is also in another seed folder")
                bundle.setdefault(rel, text)
        return await self._deploy_bundle(bundle, dry_run)


# -- POST /_voxsim/deploy --------------------------------------------------------------------------

def _bundle_of(body: Any) -> tuple[Bundle, bool]:
    if not isinstance(body, dict) or not isinstance(body.get("files"), dict):
        raise DeployError('expected a JSON object {"files": {"<path in voxfiles>": "<text>", ...}, "dry_run": false}')
    files = body["files"]
    bad = [rel for rel, text in files.items() if not isinstance(text, str) or ".." in PurePosixPath(rel).parts
           or rel.startswith("/")]
    if bad:
        raise DeployError(f"{bad[0]}: expected a relative path inside the voxfiles folder and its text")
    return dict(files), bool(body.get("dry_run", False))


async def handle_deploy(request: web.Request) -> web.Response:
    """Deploy the folder the body carries into the emulator's account: the report, or the platform's error
    envelope (HTTP 400) naming the file and entry at fault."""
    store: Store = request.app[STORE]
    try:
        body = await request.json()
    except ValueError:
        body = None
    try:
        bundle, dry_run = _bundle_of(body)
        report = Provisioner(store, store.list_accounts()[0]).apply(plan(bundle), dry_run=dry_run)
    except DeployError as error:
        return web.json_response({"error": {"code": error.code, "msg": error.msg}}, status=400)
    return web.json_response({"result": report.to_json()})


def add_routes(app: web.Application) -> None:
    app.router.add_post(DEPLOY_PATH, handle_deploy)


# -- writing back -----------------------------------------------------------------------------------

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
