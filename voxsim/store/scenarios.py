"""Scenarios: VoxEngine scripts, either in an application or in the account's shared folder.

A shared scenario (`application_id` None) is visible to, and may be bound to rules of, every
application. A name must be unique among the scenarios visible together: an application's own
scenarios plus the shared ones (so a shared name is unique across the whole account). Uses
`ApplicationsMixin` and `RulesMixin` (for binding) through the composed Store.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from voxsim.errors import (
    INVALID_SCENARIO_ID,
    INVALID_SCENARIO_NAME,
    SCENARIO_NAME_NOT_UNIQUE,
    SCRIPT_TOO_LONG,
    VoxError,
)
from voxsim.model import Scenario
from voxsim.store.base import StoreBase
from voxsim.store.db import timestamp

SCHEMA = """
CREATE TABLE IF NOT EXISTS scenarios (
    scenario_id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(account_id) ON DELETE CASCADE,
    application_id INTEGER REFERENCES applications(application_id) ON DELETE CASCADE,
    scenario_name TEXT NOT NULL,
    scenario_script TEXT NOT NULL DEFAULT '',
    modified TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS scenarios_by_name ON scenarios (account_id, scenario_name);
"""

NAME_MAX = 29  # "< 30 characters"
SCRIPT_MAX_BYTES = 128 * 1024  # "< 128 KB", counted in UTF-8 bytes


def check_scenario_name(name: str) -> None:
    if not name.strip() or len(name) > NAME_MAX:
        raise VoxError(INVALID_SCENARIO_NAME, f"Invalid 'scenario_name': it must be 1 to {NAME_MAX} characters")


def check_script(script: str) -> None:
    if len(script.encode("utf-8")) >= SCRIPT_MAX_BYTES:
        raise VoxError(SCRIPT_TOO_LONG, "The script text is too long (it must be less than 128 KB)")


def _scenario(row: dict[str, Any]) -> Scenario:
    return Scenario(**row)


class ScenariosMixin(StoreBase):
    if TYPE_CHECKING:  # provided by the rules family of the composed Store
        def bind_scenarios(self, account_id: int, rule_id: int, scenario_ids: Sequence[int],
                           bind: bool = True) -> None: ...

    # -- lookups ------------------------------------------------------------------------------
    def get_scenario(self, account_id: int, *, scenario_id: int | None = None, scenario_name: str | None = None,
                     application_id: int | None = None) -> Scenario:
        """A scenario by id (132 if unknown) or by exact name (168 if unknown). A name is looked up among the
        application's scenarios and the shared ones when `application_id` is given, else in the whole account
        (where it must name only one scenario)."""
        if scenario_id is not None:
            row = self.db.one("SELECT * FROM scenarios WHERE account_id = ? AND scenario_id = ?",
                              (account_id, scenario_id))
            if row is None:
                raise VoxError(INVALID_SCENARIO_ID, "The 'scenario_id' parameter is invalid")
            return _scenario(row)
        sql, args = "SELECT * FROM scenarios WHERE account_id = ? AND scenario_name = ?", [account_id, scenario_name]
        if application_id is not None:
            sql += " AND (application_id IS NULL OR application_id = ?)"
            args.append(application_id)
        rows = self.db.all(sql, args)
        if not rows:
            raise VoxError(INVALID_SCENARIO_NAME, f"Invalid 'scenario_name': no scenario named {scenario_name!r}")
        if len(rows) > 1:
            raise VoxError(INVALID_SCENARIO_NAME, f"Invalid 'scenario_name': {scenario_name!r} names scenarios "
                                                  "in several applications; give the application or 'scenario_id'")
        return _scenario(rows[0])

    def list_scenarios(self, account_id: int, *, scenario_id: int | None = None, name_part: str | None = None,
                       application_id: int | None = None) -> list[Scenario]:
        """Scenarios by id: all of the account, or an application's own plus the shared ones.
        `name_part` is a case-insensitive substring filter."""
        sql, args = "SELECT * FROM scenarios WHERE account_id = ?", [account_id]
        if scenario_id is not None:
            sql += " AND scenario_id = ?"
            args.append(scenario_id)
        if application_id is not None:
            sql += " AND (application_id IS NULL OR application_id = ?)"
            args.append(application_id)
        scenarios = [_scenario(r) for r in self.db.all(sql + " ORDER BY scenario_id", args)]
        return [s for s in scenarios if not name_part or name_part.lower() in s.scenario_name.lower()]

    def resolve_scenario_ids(self, account_id: int, application_id: int | None, *,
                             scenario_ids: Sequence[int] = (), scenario_names: Sequence[str] = ()) -> list[int]:
        """Scenario ids from ids or names (names looked up as `get_scenario` does), in the given order."""
        found = [self.get_scenario(account_id, scenario_id=i).scenario_id for i in scenario_ids]
        found += [self.get_scenario(account_id, scenario_name=n, application_id=application_id).scenario_id
                  for n in scenario_names]
        return found

    # -- changes ------------------------------------------------------------------------------
    def add_scenario(self, account_id: int, scenario_name: str, scenario_script: str | None = None, *,
                     application_id: int | None = None, rewrite: bool = False,
                     rule_id: int | None = None) -> Scenario:
        """Add a scenario to an application or (no application) the shared folder, optionally binding it to
        `rule_id` at once. With `rewrite`, a same-named scenario in the same place is overwritten instead
        (its script replaced when one is given) and keeps its id."""
        check_scenario_name(scenario_name)
        if scenario_script is not None:
            check_script(scenario_script)
        now = timestamp()
        with self.db.tx():
            existing = self._same_named(account_id, scenario_name, application_id)
            if existing and rewrite and all(s.application_id == application_id for s in existing):
                scenario_id = existing[0].scenario_id
                if scenario_script is not None:
                    self.db.execute("UPDATE scenarios SET scenario_script = ? WHERE scenario_id = ?",
                                    (scenario_script, scenario_id))
                self.db.execute("UPDATE scenarios SET modified = ? WHERE scenario_id = ?", (now, scenario_id))
            elif existing:
                raise VoxError(SCENARIO_NAME_NOT_UNIQUE, "The scenario name is not unique")
            else:
                scenario_id = self.db.insert(
                    "INSERT INTO scenarios (account_id, application_id, scenario_name, scenario_script, modified) "
                    "VALUES (?, ?, ?, ?, ?)", (account_id, application_id, scenario_name, scenario_script or "", now))
            if rule_id is not None:
                self.bind_scenarios(account_id, rule_id, [scenario_id])
        return self.get_scenario(account_id, scenario_id=scenario_id)

    def set_scenario_info(self, account_id: int, scenario: Scenario, *, new_name: str | None = None,
                          scenario_script: str | None = None) -> Scenario:
        if scenario_script is not None:
            check_script(scenario_script)
        with self.db.tx():
            if new_name is not None and new_name != scenario.scenario_name:
                check_scenario_name(new_name)
                others = [s for s in self._same_named(account_id, new_name, scenario.application_id)
                          if s.scenario_id != scenario.scenario_id]
                if others:
                    raise VoxError(SCENARIO_NAME_NOT_UNIQUE, "The scenario name is not unique")
                self.db.execute("UPDATE scenarios SET scenario_name = ? WHERE scenario_id = ?",
                                (new_name, scenario.scenario_id))
            if scenario_script is not None:
                self.db.execute("UPDATE scenarios SET scenario_script = ? WHERE scenario_id = ?",
                                (scenario_script, scenario.scenario_id))
            self.db.execute("UPDATE scenarios SET modified = ? WHERE scenario_id = ?",
                            (timestamp(), scenario.scenario_id))
        return self.get_scenario(account_id, scenario_id=scenario.scenario_id)

    def del_scenarios(self, account_id: int, *, scenario_ids: Sequence[int] | Literal["all"] | None = None,
                      scenario_names: Sequence[str] | None = None) -> int:
        """Delete scenarios (all, by ids, or by account-unique names); they are unbound from every rule.
        Every id or name must exist, else nothing is deleted."""
        with self.db.tx():
            if scenario_ids == "all":
                targets = [s.scenario_id for s in self.list_scenarios(account_id)]
            else:
                targets = self.resolve_scenario_ids(account_id, None, scenario_ids=scenario_ids or (),
                                                    scenario_names=scenario_names or ())
            return self._delete_rows("scenarios", "scenario_id", targets)

    def _same_named(self, account_id: int, name: str, application_id: int | None) -> list[Scenario]:
        """Scenarios a new `name` in this place would clash with: for an application, its own and the shared
        ones; for the shared folder, every scenario of the account."""
        sql, args = "SELECT * FROM scenarios WHERE account_id = ? AND scenario_name = ?", [account_id, name]
        if application_id is not None:
            sql += " AND (application_id IS NULL OR application_id = ?)"
            args.append(application_id)
        return [_scenario(r) for r in self.db.all(sql + " ORDER BY scenario_id", args)]
