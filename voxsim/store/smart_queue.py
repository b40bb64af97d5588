"""SmartQueue queues, skills and agents (SQ_AddQueue ... SQ_SetAgentInfo).

Everything here belongs to one application: queue names (up to 100 characters) and skill names are unique in
it, agents are its users. An agent has skills at levels 1 to 5, queues, a chat limit and whether it handles
calls. voxsim stores all of it: scenarios' `VoxEngine.enqueueTask` does not consult it, and every agent's
status is OFFLINE (no agent ever logs in).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from voxsim.errors import invalid, not_unique
from voxsim.store.base import StoreBase, name_part_filter
from voxsim.store.db import timestamp

SCHEMA = """
CREATE TABLE IF NOT EXISTS sq_queues (
    sq_queue_id INTEGER PRIMARY KEY AUTOINCREMENT,
    application_id INTEGER NOT NULL REFERENCES applications(application_id) ON DELETE CASCADE,
    sq_queue_name TEXT NOT NULL,
    call_agent_selection TEXT NOT NULL,
    im_agent_selection TEXT NOT NULL,
    call_task_selection TEXT NOT NULL,
    im_task_selection TEXT NOT NULL,
    hold_calls_if_inactive_agents INTEGER,
    hold_im_if_inactive_agents INTEGER,
    description TEXT NOT NULL DEFAULT '',
    call_max_waiting_time_in_seconds INTEGER,
    im_max_waiting_time_in_seconds INTEGER,
    call_max_queue_size INTEGER,
    im_max_queue_size INTEGER,
    priority INTEGER,
    created TEXT NOT NULL,
    modified TEXT NOT NULL,
    UNIQUE (application_id, sq_queue_name)
);
CREATE TABLE IF NOT EXISTS sq_skills (
    sq_skill_id INTEGER PRIMARY KEY AUTOINCREMENT,
    application_id INTEGER NOT NULL REFERENCES applications(application_id) ON DELETE CASCADE,
    sq_skill_name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL,
    modified TEXT NOT NULL,
    UNIQUE (application_id, sq_skill_name)
);
CREATE TABLE IF NOT EXISTS sq_agent_skills (
    user_id INTEGER NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
    sq_skill_id INTEGER NOT NULL REFERENCES sq_skills(sq_skill_id) ON DELETE CASCADE,
    sq_skill_level INTEGER NOT NULL,
    PRIMARY KEY (user_id, sq_skill_id)
);
CREATE TABLE IF NOT EXISTS sq_agent_queues (
    user_id INTEGER NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
    sq_queue_id INTEGER NOT NULL REFERENCES sq_queues(sq_queue_id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, sq_queue_id)
);
CREATE TABLE IF NOT EXISTS sq_agents (
    user_id INTEGER PRIMARY KEY REFERENCES users(user_id) ON DELETE CASCADE,
    max_simultaneous_conversations INTEGER,
    handle_calls INTEGER NOT NULL DEFAULT 1
);
"""

AGENT_SELECTION = ("MOST_QUALIFIED", "LEAST_QUALIFIED", "MAX_WAITING_TIME")
TASK_SELECTION = ("MAX_PRIORITY", "MAX_WAITING_TIME")
SKILL_BINDING_MODES = ("add", "replace_skills", "replace_agents")
AGENT_BINDING_MODES = ("add", "replace")
QUEUE_NAME_MAX = 100
SKILL_NAME_MAX = 100
DESCRIPTION_MAX = 200
LEVELS = range(1, 6)
# Settings a queue keeps as given (the selection strategies and waiting times are checked apart).
PLAIN = ("hold_calls_if_inactive_agents", "hold_im_if_inactive_agents", "description", "call_max_queue_size",
         "im_max_queue_size", "priority")

IdsOrAll = Sequence[int] | Literal["all"] | None


@dataclass(frozen=True)
class SqQueue:
    sq_queue_id: int
    application_id: int
    sq_queue_name: str
    call_agent_selection: str
    im_agent_selection: str
    call_task_selection: str
    im_task_selection: str
    hold_calls_if_inactive_agents: int | None
    hold_im_if_inactive_agents: int | None
    description: str
    call_max_waiting_time_in_seconds: int | None
    im_max_waiting_time_in_seconds: int | None
    call_max_queue_size: int | None
    im_max_queue_size: int | None
    priority: int | None
    created: str
    modified: str

    def api(self) -> dict[str, Any]:
        """GetSQQueuesResult: `agent_selection` / `task_selection` are the call ones (the typings' names), beside
        each kind's; a waiting time set in either unit shows in both (minutes rounded up)."""
        info: dict[str, Any] = {
            "sq_queue_id": self.sq_queue_id, "sq_queue_name": self.sq_queue_name,
            "agent_selection": self.call_agent_selection, "task_selection": self.call_task_selection,
            "call_agent_selection": self.call_agent_selection, "im_agent_selection": self.im_agent_selection,
            "call_task_selection": self.call_task_selection, "im_task_selection": self.im_task_selection}
        if self.description:
            info["description"] = self.description
        for kind in ("call", "im"):
            seconds = getattr(self, f"{kind}_max_waiting_time_in_seconds")
            if seconds is not None:
                info[f"{kind}_max_waiting_time"] = math.ceil(seconds / 60)
                info[f"{kind}_max_waiting_time_in_seconds"] = seconds
            size = getattr(self, f"{kind}_max_queue_size")
            if size is not None:
                info[f"{kind}_max_queue_size"] = size
        for key in ("hold_calls_if_inactive_agents", "hold_im_if_inactive_agents"):
            if getattr(self, key) is not None:
                info[key] = bool(getattr(self, key))
        if self.priority is not None:
            info["priority"] = self.priority
        info.update(created=self.created, modified=self.modified)
        return info


@dataclass(frozen=True)
class SqSkill:
    sq_skill_id: int
    application_id: int
    sq_skill_name: str
    description: str
    created: str
    modified: str

    def api(self) -> dict[str, Any]:
        info: dict[str, Any] = {"sq_skill_id": self.sq_skill_id, "sq_skill_name": self.sq_skill_name}
        if self.description:
            info["description"] = self.description
        info.update(created=self.created, modified=self.modified)
        return info


@dataclass(frozen=True)
class AgentSkill:
    user_id: int
    sq_skill_id: int
    sq_skill_name: str
    sq_skill_level: int


def check_queue_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The given queue settings, checked (496 naming the parameter): the strategies' values, a priority of 1 to
    100, sizes and times not negative, a description up to 200 characters; waiting times kept in seconds."""
    given = {key: value for key, value in settings.items() if value is not None}
    checked: dict[str, Any] = {}
    for key, allowed in (("call_agent_selection", AGENT_SELECTION), ("im_agent_selection", AGENT_SELECTION),
                         ("call_task_selection", TASK_SELECTION), ("im_task_selection", TASK_SELECTION)):
        if key in given:
            if given[key] not in allowed:
                raise invalid(key)
            checked[key] = given[key]
    for kind in ("call", "im"):
        minutes, seconds = given.get(f"{kind}_max_waiting_time"), given.get(f"{kind}_max_waiting_time_in_seconds")
        if minutes is not None and seconds is not None:
            raise invalid(f"{kind}_max_waiting_time_in_seconds")
        value = seconds if seconds is not None else None if minutes is None else minutes * 60
        if value is not None:
            if value < 0:
                raise invalid(f"{kind}_max_waiting_time")
            checked[f"{kind}_max_waiting_time_in_seconds"] = value
    for key in PLAIN:
        if key in given:
            checked[key] = int(given[key]) if isinstance(given[key], bool) else given[key]
    if "priority" in checked and checked["priority"] not in range(1, 101):
        raise invalid("priority")
    for key in ("call_max_queue_size", "im_max_queue_size"):
        if checked.get(key, 0) < 0:
            raise invalid(key)
    if len(checked.get("description", "")) > DESCRIPTION_MAX:
        raise invalid("description")
    return checked


def _check_name(name: str, param: str, limit: int) -> str:
    if not name.strip() or len(name) > limit:
        raise invalid(param)
    return name


def _update(db_execute: Any, table: str, key: str, row_id: int, changes: Mapping[str, Any]) -> None:
    columns = ", ".join(f"{column} = ?" for column in changes)  # checked keys, never input
    db_execute(f"UPDATE {table} SET {columns} WHERE {key} = ?", (*changes.values(), row_id))


class SmartQueueMixin(StoreBase):
    # -- queues -----------------------------------------------------------------------------------
    def sq_add_queue(self, application_id: int, name: str, settings: Mapping[str, Any]) -> SqQueue:
        """`call_agent_selection` and `call_task_selection` are required (485 from the method); the IM ones
        default to them."""
        checked = check_queue_settings(settings)
        checked.setdefault("im_agent_selection", checked["call_agent_selection"])
        checked.setdefault("im_task_selection", checked["call_task_selection"])
        self._sq_queue_name_free(application_id, _check_name(name, "sq_queue_name", QUEUE_NAME_MAX))
        now = timestamp()
        columns = ["application_id", "sq_queue_name", "created", "modified", *checked]
        with self.db.tx():
            queue_id = self.db.insert(
                f"INSERT INTO sq_queues ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
                (application_id, name, now, now, *checked.values()))
        return self.sq_get_queue(application_id, queue_id=queue_id)

    def sq_get_queue(self, application_id: int, *, queue_id: int | None = None,
                     name: str | None = None) -> SqQueue:
        """By id or name within the application; none answers 496 naming the parameter given."""
        column, value = ("sq_queue_id", queue_id) if queue_id is not None else ("sq_queue_name", name)
        row = self.db.one(f"SELECT * FROM sq_queues WHERE application_id = ? AND {column} = ?",
                          (application_id, value))
        if row is None:
            raise invalid(column)
        return SqQueue(**row)

    def sq_list_queues(self, application_id: int) -> list[SqQueue]:
        rows = self.db.all("SELECT * FROM sq_queues WHERE application_id = ? ORDER BY sq_queue_id", (application_id,))
        return [SqQueue(**row) for row in rows]

    def sq_resolve_queues(self, application_id: int, *, ids: IdsOrAll = None,
                          names: Sequence[str] | None = None) -> list[SqQueue]:
        if ids == "all":
            return self.sq_list_queues(application_id)
        return ([self.sq_get_queue(application_id, queue_id=i) for i in ids or ()]
                + [self.sq_get_queue(application_id, name=n) for n in names or ()])

    def sq_set_queue_info(self, queue: SqQueue, *, new_name: str | None, settings: Mapping[str, Any]) -> SqQueue:
        changes = check_queue_settings(settings)
        if new_name is not None and new_name != queue.sq_queue_name:
            self._sq_queue_name_free(queue.application_id, _check_name(new_name, "new_sq_queue_name", QUEUE_NAME_MAX))
            changes["sq_queue_name"] = new_name
        if changes:
            changes["modified"] = timestamp()
            with self.db.tx():
                _update(self.db.execute, "sq_queues", "sq_queue_id", queue.sq_queue_id, changes)
        return self.sq_get_queue(queue.application_id, queue_id=queue.sq_queue_id)

    def sq_del_queues(self, queues: Sequence[SqQueue]) -> int:
        with self.db.tx():
            return self._delete_rows("sq_queues", "sq_queue_id", [q.sq_queue_id for q in queues])

    def _sq_queue_name_free(self, application_id: int, name: str) -> None:
        if self.db.one("SELECT 1 FROM sq_queues WHERE application_id = ? AND sq_queue_name = ?",
                       (application_id, name)):
            raise not_unique("sq_queue_name")

    # -- skills -----------------------------------------------------------------------------------
    def sq_add_skill(self, application_id: int, name: str, description: str = "") -> SqSkill:
        self._sq_skill_name_free(application_id, _check_name(name, "sq_skill_name", SKILL_NAME_MAX))
        if len(description) > DESCRIPTION_MAX:
            raise invalid("description")
        now = timestamp()
        with self.db.tx():
            skill_id = self.db.insert(
                "INSERT INTO sq_skills (application_id, sq_skill_name, description, created, modified) "
                "VALUES (?, ?, ?, ?, ?)", (application_id, name, description, now, now))
        return self.sq_get_skill(application_id, skill_id=skill_id)

    def sq_get_skill(self, application_id: int, *, skill_id: int | None = None,
                     name: str | None = None) -> SqSkill:
        column, value = ("sq_skill_id", skill_id) if skill_id is not None else ("sq_skill_name", name)
        row = self.db.one(f"SELECT * FROM sq_skills WHERE application_id = ? AND {column} = ?",
                          (application_id, value))
        if row is None:
            raise invalid(column)
        return SqSkill(**row)

    def sq_list_skills(self, application_id: int, name_part: str | None = None) -> list[SqSkill]:
        rows = self.db.all("SELECT * FROM sq_skills WHERE application_id = ? ORDER BY sq_skill_id", (application_id,))
        return [SqSkill(**row) for row in rows if name_part_filter(name_part, str(row["sq_skill_name"]))]

    def sq_resolve_skills(self, application_id: int, *, ids: IdsOrAll = None,
                          names: Sequence[str] | None = None) -> list[SqSkill]:
        if ids == "all":
            return self.sq_list_skills(application_id)
        return ([self.sq_get_skill(application_id, skill_id=i) for i in ids or ()]
                + [self.sq_get_skill(application_id, name=n) for n in names or ()])

    def sq_set_skill_info(self, skill: SqSkill, *, new_name: str | None, description: str | None) -> SqSkill:
        changes: dict[str, Any] = {}
        if new_name is not None and new_name != skill.sq_skill_name:
            self._sq_skill_name_free(skill.application_id, _check_name(new_name, "new_sq_skill_name", SKILL_NAME_MAX))
            changes["sq_skill_name"] = new_name
        if description is not None:
            if len(description) > DESCRIPTION_MAX:
                raise invalid("description")
            changes["description"] = description
        if changes:
            changes["modified"] = timestamp()
            with self.db.tx():
                _update(self.db.execute, "sq_skills", "sq_skill_id", skill.sq_skill_id, changes)
        return self.sq_get_skill(skill.application_id, skill_id=skill.sq_skill_id)

    def sq_del_skills(self, skills: Sequence[SqSkill]) -> int:
        with self.db.tx():
            return self._delete_rows("sq_skills", "sq_skill_id", [s.sq_skill_id for s in skills])

    def _sq_skill_name_free(self, application_id: int, name: str) -> None:
        if self.db.one("SELECT 1 FROM sq_skills WHERE application_id = ? AND sq_skill_name = ?",
                       (application_id, name)):
            raise not_unique("sq_skill_name")

    # -- agents -----------------------------------------------------------------------------------
    def sq_bind_skills(self, user_ids: Sequence[int], levels: Sequence[tuple[SqSkill, int]],
                       mode: str = "add") -> None:
        """`add` sets these levels; `replace_skills` also drops the agents' other skills; `replace_agents` also
        takes these skills from every other agent."""
        if mode not in SKILL_BINDING_MODES:
            raise invalid("bind_mode")
        if any(level not in LEVELS for _, level in levels):
            raise invalid("sq_skills")
        with self.db.tx():
            if mode == "replace_skills":
                for user_id in user_ids:
                    self.db.execute("DELETE FROM sq_agent_skills WHERE user_id = ?", (user_id,))
            if mode == "replace_agents":
                for skill, _ in levels:
                    self.db.execute("DELETE FROM sq_agent_skills WHERE sq_skill_id = ?", (skill.sq_skill_id,))
            for user_id in user_ids:
                for skill, level in levels:
                    self.db.execute("INSERT OR REPLACE INTO sq_agent_skills (user_id, sq_skill_id, sq_skill_level) "
                                    "VALUES (?, ?, ?)", (user_id, skill.sq_skill_id, level))

    def sq_unbind_skills(self, user_ids: Sequence[int], skills: Sequence[SqSkill]) -> None:
        with self.db.tx():
            for user_id in user_ids:
                for skill in skills:
                    self.db.execute("DELETE FROM sq_agent_skills WHERE user_id = ? AND sq_skill_id = ?",
                                    (user_id, skill.sq_skill_id))

    def sq_agent_skills(self, user_id: int) -> list[AgentSkill]:
        rows = self.db.all("SELECT a.user_id, a.sq_skill_id, s.sq_skill_name, a.sq_skill_level FROM sq_agent_skills a "
                           "JOIN sq_skills s ON s.sq_skill_id = a.sq_skill_id WHERE a.user_id = ? "
                           "ORDER BY a.sq_skill_id", (user_id,))
        return [AgentSkill(**row) for row in rows]

    def sq_bind_agents(self, user_ids: Sequence[int], queues: Sequence[SqQueue], mode: str = "add") -> None:
        """`add` binds these agents to the queues; `replace` makes them the queues' only agents."""
        if mode not in AGENT_BINDING_MODES:
            raise invalid("bind_mode")
        with self.db.tx():
            for queue in queues:
                if mode == "replace":
                    self.db.execute("DELETE FROM sq_agent_queues WHERE sq_queue_id = ?", (queue.sq_queue_id,))
                for user_id in user_ids:
                    self.db.execute("INSERT OR IGNORE INTO sq_agent_queues (user_id, sq_queue_id) VALUES (?, ?)",
                                    (user_id, queue.sq_queue_id))

    def sq_unbind_agents(self, user_ids: Sequence[int], queues: Sequence[SqQueue]) -> None:
        with self.db.tx():
            for queue in queues:
                for user_id in user_ids:
                    self.db.execute("DELETE FROM sq_agent_queues WHERE user_id = ? AND sq_queue_id = ?",
                                    (user_id, queue.sq_queue_id))

    def sq_agent_queues(self, user_id: int) -> list[SqQueue]:
        rows = self.db.all("SELECT q.* FROM sq_queues q JOIN sq_agent_queues a ON a.sq_queue_id = q.sq_queue_id "
                           "WHERE a.user_id = ? ORDER BY q.sq_queue_id", (user_id,))
        return [SqQueue(**row) for row in rows]

    def sq_queue_agent_count(self, queue_id: int) -> int:
        row = self.db.one("SELECT COUNT(*) AS n FROM sq_agent_queues WHERE sq_queue_id = ?", (queue_id,))
        return int(row["n"]) if row else 0

    def sq_set_agent_info(self, user_ids: Sequence[int], *, handle_calls: bool | None,
                          max_simultaneous_conversations: int | None) -> None:
        if max_simultaneous_conversations is not None and max_simultaneous_conversations < 0:
            raise invalid("max_simultaneous_conversations")
        with self.db.tx():
            for user_id in user_ids:
                self.db.execute("INSERT OR IGNORE INTO sq_agents (user_id) VALUES (?)", (user_id,))
                if handle_calls is not None:
                    self.db.execute("UPDATE sq_agents SET handle_calls = ? WHERE user_id = ?",
                                    (int(handle_calls), user_id))
                if max_simultaneous_conversations is not None:
                    self.db.execute("UPDATE sq_agents SET max_simultaneous_conversations = ? WHERE user_id = ?",
                                    (max_simultaneous_conversations, user_id))

    def sq_agent_settings(self, user_id: int) -> tuple[bool, int | None]:
        """(handle_calls, max_simultaneous_conversations): true and unset until SQ_SetAgentInfo."""
        row = self.db.one("SELECT * FROM sq_agents WHERE user_id = ?", (user_id,))
        if row is None:
            return True, None
        return bool(row["handle_calls"]), row["max_simultaneous_conversations"]
