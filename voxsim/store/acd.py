"""ACD queues and operator skills, the platform's first contact-centre API (AddQueue, GetQueues, SetQueueInfo,
DelQueue, BindUserToQueue; AddSkill, GetSkills, SetSkillInfo, DelSkill, BindSkill).

A queue belongs to the account and names one application (queue names are unique in the account, under 100
characters); a skill belongs to the account (names unique, under 512 characters). Users (operators) join
queues of their own application, and skills bind to users and to queues. voxsim stores all of it: scenarios'
`VoxEngine.enqueueACDRequest` does not consult it (no operator is ever dispatched).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from voxsim.errors import invalid, not_unique, specify
from voxsim.store.base import StoreBase, name_part_filter
from voxsim.store.db import timestamp

SCHEMA = """
CREATE TABLE IF NOT EXISTS acd_queues (
    acd_queue_id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(account_id) ON DELETE CASCADE,
    application_id INTEGER NOT NULL REFERENCES applications(application_id) ON DELETE CASCADE,
    acd_queue_name TEXT NOT NULL,
    acd_queue_priority INTEGER NOT NULL DEFAULT 100,
    auto_binding INTEGER NOT NULL DEFAULT 1,
    service_probability REAL NOT NULL DEFAULT 1.0,
    max_queue_size INTEGER,
    max_waiting_time INTEGER,
    average_service_time INTEGER,
    created TEXT NOT NULL,
    modified TEXT NOT NULL,
    UNIQUE (account_id, acd_queue_name)
);
CREATE TABLE IF NOT EXISTS acd_skills (
    skill_id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(account_id) ON DELETE CASCADE,
    skill_name TEXT NOT NULL,
    UNIQUE (account_id, skill_name)
);
CREATE TABLE IF NOT EXISTS acd_queue_users (
    acd_queue_id INTEGER NOT NULL REFERENCES acd_queues(acd_queue_id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
    PRIMARY KEY (acd_queue_id, user_id)
);
CREATE TABLE IF NOT EXISTS acd_user_skills (
    skill_id INTEGER NOT NULL REFERENCES acd_skills(skill_id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
    PRIMARY KEY (skill_id, user_id)
);
CREATE TABLE IF NOT EXISTS acd_queue_skills (
    skill_id INTEGER NOT NULL REFERENCES acd_skills(skill_id) ON DELETE CASCADE,
    acd_queue_id INTEGER NOT NULL REFERENCES acd_queues(acd_queue_id) ON DELETE CASCADE,
    PRIMARY KEY (skill_id, acd_queue_id)
);
"""

QUEUE_NAME_MAX = 99  # "The length must be less than 100"
SKILL_NAME_MAX = 511  # "less than 512"
SETTINGS = ("acd_queue_priority", "auto_binding", "service_probability", "max_queue_size", "max_waiting_time",
            "average_service_time")

IdsOrAll = Sequence[int] | Literal["all"] | None


@dataclass(frozen=True)
class AcdQueue:
    acd_queue_id: int
    account_id: int
    application_id: int
    acd_queue_name: str
    acd_queue_priority: int
    auto_binding: bool
    service_probability: float
    max_queue_size: int | None
    max_waiting_time: int | None
    average_service_time: int | None
    created: str
    modified: str

    def api(self) -> dict[str, Any]:
        """QueueInfoType without its optional lists (the method adds those); unset limits are left out."""
        info: dict[str, Any] = {"acd_queue_id": self.acd_queue_id, "acd_queue_name": self.acd_queue_name,
                                "application_id": self.application_id,
                                "acd_queue_priority": self.acd_queue_priority,
                                "service_probability": self.service_probability, "auto_binding": self.auto_binding}
        for key in ("max_waiting_time", "max_queue_size", "average_service_time"):
            if getattr(self, key) is not None:
                info[key] = getattr(self, key)
        info.update(created=self.created, modified=self.modified)
        return info


@dataclass(frozen=True)
class Skill:
    skill_id: int
    account_id: int
    skill_name: str

    def api(self) -> dict[str, Any]:
        return {"skill_id": self.skill_id, "skill_name": self.skill_name}


def _queue(row: dict[str, Any]) -> AcdQueue:
    row["auto_binding"] = bool(row["auto_binding"])
    return AcdQueue(**row)


def check_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The given queue settings, checked: priority 0 or more (0 is the highest), service probability within
    [0.5, 1.0], sizes and times not negative (496 naming the parameter)."""
    checked = {key: value for key, value in settings.items() if key in SETTINGS and value is not None}
    for key in ("acd_queue_priority", "max_queue_size", "max_waiting_time", "average_service_time"):
        if key in checked and checked[key] < 0:
            raise invalid(key)
    probability = checked.get("service_probability")
    if probability is not None and not 0.5 <= probability <= 1.0:
        raise invalid("service_probability")
    if "auto_binding" in checked:
        checked["auto_binding"] = int(checked["auto_binding"])
    return checked


def _check_name(name: str, param: str, limit: int) -> str:
    if not name.strip() or len(name) > limit:
        raise invalid(param)
    return name


class AcdMixin(StoreBase):
    # -- queues -----------------------------------------------------------------------------------
    def add_acd_queue(self, account_id: int, application_id: int, name: str,
                      settings: Mapping[str, Any]) -> AcdQueue:
        checked = check_settings(settings)
        self._acd_queue_name_free(account_id, _check_name(name, "acd_queue_name", QUEUE_NAME_MAX))
        now = timestamp()
        columns = ["account_id", "application_id", "acd_queue_name", "created", "modified", *checked]
        marks = ", ".join("?" for _ in columns)
        with self.db.tx():
            queue_id = self.db.insert(f"INSERT INTO acd_queues ({', '.join(columns)}) VALUES ({marks})",
                                      (account_id, application_id, name, now, now, *checked.values()))
        return self.get_acd_queue(account_id, queue_id=queue_id)

    def get_acd_queue(self, account_id: int, *, queue_id: int | None = None, name: str | None = None) -> AcdQueue:
        """By id or name; none in the account answers 496 naming the parameter given."""
        if queue_id is not None:
            row = self.db.one("SELECT * FROM acd_queues WHERE account_id = ? AND acd_queue_id = ?",
                              (account_id, queue_id))
        else:
            row = self.db.one("SELECT * FROM acd_queues WHERE account_id = ? AND acd_queue_name = ?",
                              (account_id, name))
        if row is None:
            raise invalid("acd_queue_id" if queue_id is not None else "acd_queue_name")
        return _queue(row)

    def list_acd_queues(self, account_id: int, *, application_id: int | None = None,
                        queue_id: int | None = None, name_part: str | None = None) -> list[AcdQueue]:
        sql, args = "SELECT * FROM acd_queues WHERE account_id = ?", [account_id]
        for column, value in (("application_id", application_id), ("acd_queue_id", queue_id)):
            if value is not None:
                sql += f" AND {column} = ?"
                args.append(value)
        queues = [_queue(row) for row in self.db.all(sql + " ORDER BY acd_queue_id", args)]
        return [q for q in queues if name_part_filter(name_part, q.acd_queue_name)]

    def resolve_acd_queues(self, account_id: int, *, ids: IdsOrAll = None, names: Sequence[str] | None = None,
                           application_id: int | None = None) -> list[AcdQueue]:
        """The queues a list names (`all`: the account's, or the application's when given); every one must exist
        (496) and, with `application_id`, be that application's (496)."""
        if ids == "all":
            return self.list_acd_queues(account_id, application_id=application_id)
        queues = [self.get_acd_queue(account_id, queue_id=i) for i in ids or ()]
        queues += [self.get_acd_queue(account_id, name=n) for n in names or ()]
        if application_id is not None and any(q.application_id != application_id for q in queues):
            raise invalid("acd_queue_id" if ids is not None else "acd_queue_name")
        return queues

    def set_acd_queue_info(self, queue: AcdQueue, *, new_name: str | None = None,
                           application_id: int | None = None, settings: Mapping[str, Any]) -> AcdQueue:
        changes = check_settings(settings)
        if new_name is not None and new_name != queue.acd_queue_name:
            changes["acd_queue_name"] = _check_name(new_name, "new_acd_queue_name", QUEUE_NAME_MAX)
            self._acd_queue_name_free(queue.account_id, new_name)
        if application_id is not None and application_id != queue.application_id:
            changes["application_id"] = application_id
        if changes:
            changes["modified"] = timestamp()
            columns = ", ".join(f"{column} = ?" for column in changes)  # SETTINGS and the keys above, never input
            with self.db.tx():
                if "application_id" in changes:  # its operators were the old application's
                    self.db.execute("DELETE FROM acd_queue_users WHERE acd_queue_id = ?", (queue.acd_queue_id,))
                self.db.execute(f"UPDATE acd_queues SET {columns} WHERE acd_queue_id = ?",
                                (*changes.values(), queue.acd_queue_id))
        return self.get_acd_queue(queue.account_id, queue_id=queue.acd_queue_id)

    def del_acd_queues(self, queues: Sequence[AcdQueue]) -> int:
        with self.db.tx():
            return self._delete_rows("acd_queues", "acd_queue_id", [q.acd_queue_id for q in queues])

    def bind_users_to_queues(self, user_ids: Sequence[int], queues: Sequence[AcdQueue], bind: bool) -> None:
        pairs = [(q.acd_queue_id, u) for q in queues for u in user_ids]
        sql = ("INSERT OR IGNORE INTO acd_queue_users (acd_queue_id, user_id) VALUES (?, ?)" if bind
               else "DELETE FROM acd_queue_users WHERE acd_queue_id = ? AND user_id = ?")
        with self.db.tx():
            for pair in pairs:
                self.db.execute(sql, pair)

    def acd_queue_users(self, queue_id: int) -> list[int]:
        rows = self.db.all("SELECT user_id FROM acd_queue_users WHERE acd_queue_id = ? ORDER BY user_id",
                           (queue_id,))
        return [int(row["user_id"]) for row in rows]

    def user_acd_queues(self, user_id: int) -> list[AcdQueue]:
        """The queues the user (operator) serves, by id."""
        rows = self.db.all("SELECT q.* FROM acd_queues q JOIN acd_queue_users b ON b.acd_queue_id = q.acd_queue_id "
                           "WHERE b.user_id = ? ORDER BY q.acd_queue_id", (user_id,))
        return [_queue(row) for row in rows]

    def acd_queue_skills(self, queue_id: int) -> list[Skill]:
        rows = self.db.all("SELECT s.* FROM acd_skills s JOIN acd_queue_skills b ON b.skill_id = s.skill_id "
                           "WHERE b.acd_queue_id = ? ORDER BY s.skill_id", (queue_id,))
        return [Skill(**row) for row in rows]

    def _acd_queue_name_free(self, account_id: int, name: str) -> None:
        if self.db.one("SELECT 1 FROM acd_queues WHERE account_id = ? AND acd_queue_name = ?", (account_id, name)):
            raise not_unique("acd_queue_name")

    # -- skills -----------------------------------------------------------------------------------
    def add_skill(self, account_id: int, name: str) -> Skill:
        self._skill_name_free(account_id, _check_name(name, "skill_name", SKILL_NAME_MAX))
        with self.db.tx():
            skill_id = self.db.insert("INSERT INTO acd_skills (account_id, skill_name) VALUES (?, ?)",
                                      (account_id, name))
        return self.get_skill(account_id, skill_id=skill_id)

    def get_skill(self, account_id: int, *, skill_id: int | None = None, name: str | None = None) -> Skill:
        if skill_id is not None:
            row = self.db.one("SELECT * FROM acd_skills WHERE account_id = ? AND skill_id = ?", (account_id, skill_id))
        else:
            row = self.db.one("SELECT * FROM acd_skills WHERE account_id = ? AND skill_name = ?", (account_id, name))
        if row is None:
            raise invalid("skill_id" if skill_id is not None else "skill_name")
        return Skill(**row)

    def list_skills(self, account_id: int, *, skill_id: int | None = None,
                    name_part: str | None = None) -> list[Skill]:
        sql, args = "SELECT * FROM acd_skills WHERE account_id = ?", [account_id]
        if skill_id is not None:
            sql += " AND skill_id = ?"
            args.append(skill_id)
        skills = [Skill(**row) for row in self.db.all(sql + " ORDER BY skill_id", args)]
        return [s for s in skills if name_part_filter(name_part, s.skill_name)]

    def resolve_skills(self, account_id: int, *, ids: IdsOrAll = None,
                       names: Sequence[str] | None = None) -> list[Skill]:
        if ids == "all":
            return self.list_skills(account_id)
        return ([self.get_skill(account_id, skill_id=i) for i in ids or ()]
                + [self.get_skill(account_id, name=n) for n in names or ()])

    def set_skill_name(self, skill: Skill, new_name: str) -> Skill:
        if new_name != skill.skill_name:
            self._skill_name_free(skill.account_id, _check_name(new_name, "new_skill_name", SKILL_NAME_MAX))
            with self.db.tx():
                self.db.execute("UPDATE acd_skills SET skill_name = ? WHERE skill_id = ?", (new_name, skill.skill_id))
        return self.get_skill(skill.account_id, skill_id=skill.skill_id)

    def del_skill(self, skill: Skill) -> None:
        with self.db.tx():
            self._delete_rows("acd_skills", "skill_id", [skill.skill_id])

    def bind_skills(self, skills: Sequence[Skill], *, user_ids: Sequence[int] = (),
                    queues: Sequence[AcdQueue] = (), bind: bool = True) -> None:
        """Bind (or unbind) every skill to every user and every queue given; at least one of them (485)."""
        if not user_ids and not queues:
            raise specify("user_id")
        targets = [("acd_user_skills", "user_id", u) for u in user_ids]
        targets += [("acd_queue_skills", "acd_queue_id", q.acd_queue_id) for q in queues]
        with self.db.tx():
            for skill in skills:
                for table, column, target in targets:  # constants above, never input
                    if bind:
                        self.db.execute(f"INSERT OR IGNORE INTO {table} (skill_id, {column}) VALUES (?, ?)",
                                        (skill.skill_id, target))
                    else:
                        self.db.execute(f"DELETE FROM {table} WHERE skill_id = ? AND {column} = ?",
                                        (skill.skill_id, target))

    def user_skills(self, user_id: int) -> list[Skill]:
        rows = self.db.all("SELECT s.* FROM acd_skills s JOIN acd_user_skills b ON b.skill_id = s.skill_id "
                           "WHERE b.user_id = ? ORDER BY s.skill_id", (user_id,))
        return [Skill(**row) for row in rows]

    def skill_users(self, skill_id: int) -> list[int]:
        """The users the skill is bound to."""
        rows = self.db.all("SELECT user_id FROM acd_user_skills WHERE skill_id = ? ORDER BY user_id", (skill_id,))
        return [int(row["user_id"]) for row in rows]

    def _skill_name_free(self, account_id: int, name: str) -> None:
        if self.db.one("SELECT 1 FROM acd_skills WHERE account_id = ? AND skill_name = ?", (account_id, name)):
            raise not_unique("skill_name")
