"""Rules: an application's routing rules, in routing order, each with its scenarios in running order.

A rule's `rule_pattern` must match the whole destination and its `rule_pattern_exclude` must not
(`Rule.matches`); the application's rules are tried in `position` order and the first match wins.
Patterns are checked with Python's `re` when saved. Binding scenarios lives here too (table
`rule_scenarios`). Uses `ApplicationsMixin` and `ScenariosMixin` through the composed Store.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from voxsim.errors import (
    INVALID_ARGUMENTS,
    INVALID_RULE_ID,
    INVALID_RULE_NAME,
    INVALID_RULE_PATTERN,
    INVALID_RULE_PATTERN_EXCLUDE,
    INVALID_SCENARIO_ID,
    RULE_NAME_NOT_UNIQUE,
    VoxError,
    specify,
)
from voxsim.model import Rule, Scenario
from voxsim.patterns import pattern_error
from voxsim.store.base import StoreBase, name_part_filter
from voxsim.store.db import timestamp

SCHEMA = """
CREATE TABLE IF NOT EXISTS rules (
    rule_id INTEGER PRIMARY KEY AUTOINCREMENT,
    application_id INTEGER NOT NULL REFERENCES applications(application_id) ON DELETE CASCADE,
    rule_name TEXT NOT NULL,
    rule_pattern TEXT NOT NULL,
    rule_pattern_exclude TEXT NOT NULL DEFAULT '',
    video_conference INTEGER NOT NULL DEFAULT 0,
    bind_key_id TEXT NOT NULL DEFAULT '',
    position INTEGER NOT NULL,
    modified TEXT NOT NULL,
    UNIQUE (application_id, rule_name)
);
CREATE TABLE IF NOT EXISTS rule_scenarios (
    rule_id INTEGER NOT NULL REFERENCES rules(rule_id) ON DELETE CASCADE,
    scenario_id INTEGER NOT NULL REFERENCES scenarios(scenario_id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    PRIMARY KEY (rule_id, scenario_id)
);
"""

RULE_NAME_MAX = 99  # "< 100 characters"
PATTERN_MAX = 64 * 1024 - 1  # "< 64 KB"
SETTABLE = ("rule_name", "rule_pattern", "rule_pattern_exclude", "video_conference", "bind_key_id")

_SELECT = ("SELECT r.* FROM rules r JOIN applications a ON a.application_id = r.application_id "
           "WHERE a.account_id = ?")


def check_pattern(pattern: str, name: str = "rule_pattern", code: int = INVALID_RULE_PATTERN) -> None:
    """A pattern must compile as a Python regular expression (the platform's engine is unknown)."""
    error = pattern_error(pattern)
    if error is not None:
        raise VoxError(code, f"Invalid '{name}': {error}")
    if len(pattern) > PATTERN_MAX:
        raise VoxError(code, f"Invalid '{name}': it must be less than 64 KB")


def check_rule_name(name: str) -> None:
    if not name.strip() or len(name) > RULE_NAME_MAX:
        raise VoxError(INVALID_RULE_NAME, f"Invalid 'rule_name': it must be 1 to {RULE_NAME_MAX} characters")


class RulesMixin(StoreBase):
    if TYPE_CHECKING:  # provided by the scenarios family of the composed Store
        def get_scenario(self, account_id: int, *, scenario_id: int | None = None, scenario_name: str | None = None,
                         application_id: int | None = None) -> Scenario: ...

    def _rules(self, rows: list[dict[str, Any]]) -> list[Rule]:
        """Rows to rules, each with its bound scenario ids in running order."""
        if not rows:
            return []
        ids = [row["rule_id"] for row in rows]
        bound: dict[int, list[int]] = {i: [] for i in ids}
        marks = ",".join("?" * len(ids))
        for link in self.db.all(f"SELECT rule_id, scenario_id FROM rule_scenarios WHERE rule_id IN ({marks}) "
                                "ORDER BY rule_id, position", ids):
            bound[link["rule_id"]].append(link["scenario_id"])
        return [Rule(**{**row, "video_conference": bool(row["video_conference"]),
                        "scenario_ids": bound[row["rule_id"]]}) for row in rows]

    # -- lookups (also for the SIP edge and the runtime) --------------------------------------
    def rules_in_order(self, application_id: int) -> list[Rule]:
        """The application's rules in routing order, each with `scenario_ids` in running order."""
        return self._rules(self.db.all("SELECT * FROM rules WHERE application_id = ? ORDER BY position, rule_id",
                                       (application_id,)))

    def rule_scenarios(self, rule_id: int) -> list[Scenario]:
        """The scenarios bound to a rule, scripts included, in the order they run."""
        rows = self.db.all("SELECT s.* FROM rule_scenarios rs JOIN scenarios s ON s.scenario_id = rs.scenario_id "
                           "WHERE rs.rule_id = ? ORDER BY rs.position", (rule_id,))
        return [Scenario(**row) for row in rows]

    def get_rule(self, account_id: int, *, rule_id: int | None = None, rule_name: str | None = None,
                 application_id: int | None = None) -> Rule:
        """A rule by id (147 if unknown, or not in `application_id` when given) or by exact name (156 if
        unknown). Without `application_id` a name is looked up in the whole account and must be unique
        there (else 485: specify the application)."""
        args: list[Any]
        if rule_id is not None:
            sql, args = _SELECT + " AND r.rule_id = ?", [account_id, rule_id]
            if application_id is not None:
                sql += " AND r.application_id = ?"
                args.append(application_id)
            rules = self._rules(self.db.all(sql, args))
            if not rules:
                raise VoxError(INVALID_RULE_ID, "Invalid 'rule_id'")
            return rules[0]
        sql, args = _SELECT + " AND r.rule_name = ?", [account_id, rule_name]
        if application_id is not None:
            sql += " AND r.application_id = ?"
            args.append(application_id)
        rules = self._rules(self.db.all(sql, args))
        if not rules:
            raise VoxError(INVALID_RULE_NAME, f"Invalid 'rule_name': no rule named {rule_name!r}")
        if len(rules) > 1:
            raise specify("application_id")
        return rules[0]

    def list_rules(self, account_id: int, application_id: int, *, rule_id: int | None = None,
                   name_part: str | None = None, video_conference: bool | None = None,
                   attached_key_id: str | None = None, template: str | None = None) -> list[Rule]:
        """GetRules: the application's rules in routing order, filtered. `template` keeps the rules that
        would route that destination (pattern full-matches, exclude does not)."""
        rules = [r for r in self.rules_in_order(application_id)
                 if (rule_id is None or r.rule_id == rule_id)
                 and name_part_filter(name_part, r.rule_name)
                 and (video_conference is None or r.video_conference == video_conference)
                 and (attached_key_id is None or r.bind_key_id == attached_key_id)]
        if template is not None:
            rules = [r for r in rules if _matches(r, template)]
        return rules

    # -- changes ------------------------------------------------------------------------------
    def add_rule(self, account_id: int, application_id: int, rule_name: str, rule_pattern: str, *,
                 rule_pattern_exclude: str = "", video_conference: bool = False, bind_key_id: str = "",
                 scenario_ids: Sequence[int] = ()) -> Rule:
        """Add a rule at the end of the application's routing order, binding `scenario_ids` in order."""
        check_rule_name(rule_name)
        check_pattern(rule_pattern)
        if rule_pattern_exclude:
            check_pattern(rule_pattern_exclude, "rule_pattern_exclude", INVALID_RULE_PATTERN_EXCLUDE)
        with self.db.tx():
            self._check_rule_name_free(application_id, rule_name)
            position = self.db.scalar("SELECT COALESCE(MAX(position) + 1, 0) FROM rules WHERE application_id = ?",
                                      (application_id,))
            rule_id = self.db.insert(
                "INSERT INTO rules (application_id, rule_name, rule_pattern, rule_pattern_exclude, video_conference, "
                "bind_key_id, position, modified) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (application_id, rule_name, rule_pattern, rule_pattern_exclude, int(video_conference), bind_key_id,
                 position, timestamp()))
            if scenario_ids:
                self.bind_scenarios(account_id, rule_id, scenario_ids)
        return self.get_rule(account_id, rule_id=rule_id)

    def set_rule_info(self, account_id: int, rule_id: int, changes: dict[str, Any]) -> Rule:
        """Apply SetRuleInfo `changes` (keys: rule_name, rule_pattern, rule_pattern_exclude, video_conference,
        bind_key_id; None = unchanged)."""
        columns = {k: v for k, v in changes.items() if v is not None and k in SETTABLE}
        if "rule_name" in columns:
            check_rule_name(columns["rule_name"])
        if "rule_pattern" in columns:
            check_pattern(columns["rule_pattern"])
        if columns.get("rule_pattern_exclude"):
            check_pattern(columns["rule_pattern_exclude"], "rule_pattern_exclude", INVALID_RULE_PATTERN_EXCLUDE)
        if "video_conference" in columns:
            columns["video_conference"] = int(columns["video_conference"])
        columns["modified"] = timestamp()
        with self.db.tx():
            rule = self.get_rule(account_id, rule_id=rule_id)
            if columns.get("rule_name", rule.rule_name) != rule.rule_name:
                self._check_rule_name_free(rule.application_id, columns["rule_name"])
            assignments = ", ".join(f"{name} = ?" for name in columns)
            self.db.execute(f"UPDATE rules SET {assignments} WHERE rule_id = ?", (*columns.values(), rule_id))
        return self.get_rule(account_id, rule_id=rule_id)

    def del_rules(self, account_id: int, *, rule_ids: Sequence[int] | Literal["all"] | None = None,
                  rule_names: Sequence[str] | None = None, application_ids: Sequence[int] | None = None) -> int:
        """Delete rules: by ids, by names (within `application_ids`, or unique in the account), or all (of
        `application_ids` if given, else of the account). Every id or name must exist, else nothing goes."""
        with self.db.tx():
            rules = self._rules(self.db.all(_SELECT, (account_id,)))
            if application_ids:
                rules = [r for r in rules if r.application_id in application_ids]
            if rule_ids == "all":
                targets = [r.rule_id for r in rules]
            else:
                targets = []
                for rule_id in rule_ids or ():
                    if not any(r.rule_id == rule_id for r in rules):
                        raise VoxError(INVALID_RULE_ID, "Invalid 'rule_id'")
                    targets.append(rule_id)
                for name in rule_names or ():
                    if not application_ids:
                        targets.append(self.get_rule(account_id, rule_name=name).rule_id)
                        continue
                    named = [r.rule_id for r in rules if r.rule_name == name]
                    if not named:
                        raise VoxError(INVALID_RULE_NAME, f"Invalid 'rule_name': no rule named {name!r}")
                    targets += named
            return self._delete_rows("rules", "rule_id", targets)

    def reorder_rules(self, account_id: int, rule_ids: Sequence[int]) -> None:
        """Put these rules (all of one application: else 101) first, in this order; the rest keep theirs."""
        with self.db.tx():
            rules = [self.get_rule(account_id, rule_id=i) for i in dict.fromkeys(rule_ids)]
            apps = {r.application_id for r in rules}
            if len(apps) > 1:
                raise VoxError(INVALID_ARGUMENTS, "Invalid arguments: the rules belong to different applications")
            if not rules:
                raise specify("rule_id")
            listed = [r.rule_id for r in rules]
            rest = [r.rule_id for r in self.rules_in_order(apps.pop()) if r.rule_id not in listed]
            for position, rule_id in enumerate(listed + rest):
                self.db.execute("UPDATE rules SET position = ? WHERE rule_id = ?", (position, rule_id))

    # -- scenarios bound to a rule ------------------------------------------------------------
    def bind_scenarios(self, account_id: int, rule_id: int, scenario_ids: Sequence[int], bind: bool = True) -> None:
        """Bind scenarios to the end of a rule's list, in order (bound ones stay where they are), or unbind
        them. A scenario must be shared or in the rule's application (else 132)."""
        with self.db.tx():
            rule = self.get_rule(account_id, rule_id=rule_id)
            for scenario_id in scenario_ids:
                scenario = self.get_scenario(account_id, scenario_id=scenario_id)
                if scenario.application_id not in (None, rule.application_id):
                    raise VoxError(INVALID_SCENARIO_ID, f"The 'scenario_id' parameter is invalid: scenario "
                                                        f"{scenario_id} is in another application than the rule")
            if bind:
                for scenario_id in dict.fromkeys(scenario_ids):
                    self.db.execute(
                        "INSERT OR IGNORE INTO rule_scenarios (rule_id, scenario_id, position) "
                        "SELECT ?, ?, COALESCE(MAX(position) + 1, 0) FROM rule_scenarios WHERE rule_id = ?",
                        (rule_id, scenario_id, rule_id))
            else:
                for scenario_id in scenario_ids:
                    self.db.execute("DELETE FROM rule_scenarios WHERE rule_id = ? AND scenario_id = ?",
                                    (rule_id, scenario_id))
            self._touch(rule_id)

    def reorder_scenarios(self, account_id: int, rule_id: int, scenario_ids: Sequence[int]) -> None:
        """Put these bound scenarios first in the rule's running order; others keep their relative order.
        A scenario not bound to the rule answers 132."""
        with self.db.tx():
            rule = self.get_rule(account_id, rule_id=rule_id)
            listed = list(dict.fromkeys(scenario_ids))
            for scenario_id in listed:
                if scenario_id not in rule.scenario_ids:
                    raise VoxError(INVALID_SCENARIO_ID, f"The 'scenario_id' parameter is invalid: scenario "
                                                        f"{scenario_id} is not bound to rule {rule_id}")
            order = listed + [i for i in rule.scenario_ids if i not in listed]
            for position, scenario_id in enumerate(order):
                self.db.execute("UPDATE rule_scenarios SET position = ? WHERE rule_id = ? AND scenario_id = ?",
                                (position, rule_id, scenario_id))
            self._touch(rule_id)

    def _touch(self, rule_id: int) -> None:
        self.db.execute("UPDATE rules SET modified = ? WHERE rule_id = ?", (timestamp(), rule_id))

    def _check_rule_name_free(self, application_id: int, rule_name: str) -> None:
        if self.db.scalar("SELECT 1 FROM rules WHERE application_id = ? AND rule_name = ?",
                          (application_id, rule_name)):
            raise VoxError(RULE_NAME_NOT_UNIQUE, "The 'rule_name' is not unique")


def _matches(rule: Rule, destination: str) -> bool:
    return rule.matches(destination)  # a pattern that does not compile (saved before validation) routes nothing
