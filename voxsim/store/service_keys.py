"""Service-account keys and their roles (the RoleSystem methods: CreateKey, GetKeys, UpdateKey, DeleteKey,
SetKeyRoles, GetKeyRoles, RemoveKeyRoles, GetRoles, GetRoleGroups).

A key is the public half of an RSA pair in the accounts family's `service_keys` table, the same table the
key of `credentials.json` is registered in: a key created here authenticates JWTs at once, and a deleted one
no longer does. The platform never keeps the private half, and neither does voxsim.

Roles are a fixed catalogue, the role names the platform's method pages list (Owner, Admin, Developer,
Supervisor, Accountant, Support, Verifier); their ids and groups are voxsim's own, since the platform does
not publish them. voxsim records a key's roles but does not enforce them: every key may call every method.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from voxsim.errors import invalid, too_long
from voxsim.model import ServiceAccountKey
from voxsim.store.base import StoreBase
from voxsim.store.db import timestamp

SCHEMA = """
CREATE TABLE IF NOT EXISTS service_key_roles (
    key_id TEXT NOT NULL REFERENCES service_keys(key_id) ON DELETE CASCADE,
    role_id INTEGER NOT NULL,
    PRIMARY KEY (key_id, role_id)
);
"""

INVALID_KEY_ID = 433
INVALID_ROLE_ID = 440
INVALID_ROLE_NAME = 441
KEY_NAME_MAX = 50
DESCRIPTION_MAX = 1000


@dataclass(frozen=True)
class RoleGroup:
    id: int
    name: str

    def api(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name}


@dataclass(frozen=True)
class Role:
    role_id: int
    role_name: str
    group: str
    parent_role_id: tuple[int, ...] = ()
    """The roles this one is part of: an Owner key can do what an Admin key can, and so on."""

    def api(self, *, expanded: bool = False) -> dict[str, Any]:
        view: dict[str, Any] = {"role_id": self.role_id, "role_name": self.role_name, "gui_only": False}
        if expanded:
            view["inherited"] = False
            view["child_ids"] = [role.role_id for role in ROLES if self.role_id in role.parent_role_id]
            view["parent_role_id"] = list(self.parent_role_id)
        return view


ROLE_GROUPS = (RoleGroup(1, "Administration"), RoleGroup(2, "Development"), RoleGroup(3, "Operations"))
ROLES = (
    Role(1, "Owner", "Administration"),
    Role(2, "Admin", "Administration", (1,)),
    Role(3, "Accountant", "Administration", (1, 2)),
    Role(4, "Developer", "Development", (1, 2)),
    Role(5, "Supervisor", "Operations", (1, 2)),
    Role(6, "Support", "Operations", (1, 2)),
    Role(7, "Verifier", "Operations", (1, 2)),
)
_BY_ID = {role.role_id: role for role in ROLES}
_BY_NAME = {role.role_name.lower(): role for role in ROLES}


def roles_in_group(group_name: str | None) -> list[Role]:
    """Every role, or a group's (an unknown group has none)."""
    if group_name is None:
        return list(ROLES)
    return [role for role in ROLES if role.group.lower() == group_name.lower()]


def roles_by_id(role_ids: Iterable[int]) -> list[Role]:
    roles = []
    for role_id in role_ids:
        if role_id not in _BY_ID:
            raise invalid("role_id", INVALID_ROLE_ID)
        roles.append(_BY_ID[role_id])
    return roles


def roles_by_name(role_names: Iterable[str]) -> list[Role]:
    roles = []
    for name in role_names:
        if name.lower() not in _BY_NAME:
            raise invalid("role_name", INVALID_ROLE_NAME)
        roles.append(_BY_NAME[name.lower()])
    return roles


def validate_key_name(key_name: str) -> str:
    if len(key_name) > KEY_NAME_MAX:
        raise too_long("key_name", KEY_NAME_MAX + 1)
    return key_name


def validate_description(description: str) -> str:
    if len(description) > DESCRIPTION_MAX:
        raise too_long("description", DESCRIPTION_MAX + 1)
    return description


class ServiceKeysMixin(StoreBase):
    def create_key(self, account_id: int, key_id: str, public_key: str, *, key_name: str, description: str = "",
                   roles: Iterable[Role] = ()) -> ServiceAccountKey:
        """Registers a new key (its public half) with its roles; JWTs signed by its private half work at once."""
        key_name, description = validate_key_name(key_name), validate_description(description)
        with self.db.tx():
            self.db.execute(
                "INSERT INTO service_keys (key_id, account_id, public_key, key_name, description, created) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (key_id, account_id, public_key, key_name, description, timestamp()),
            )
            self._add_roles(key_id, roles)
        return self.get_key(account_id, key_id)

    def get_key(self, account_id: int, key_id: str) -> ServiceAccountKey:
        """The account's key; another account's, or none, answers 433."""
        row = self.db.one("SELECT * FROM service_keys WHERE key_id = ? AND account_id = ?", (key_id, account_id))
        if row is None:
            raise invalid("key_id", INVALID_KEY_ID)
        return ServiceAccountKey(**row)

    def list_keys(self, account_id: int, key_id: str | None = None) -> list[ServiceAccountKey]:
        """The account's keys, oldest first (the one key `key_id` names, when it is given)."""
        if key_id is not None:
            return [self.get_key(account_id, key_id)]
        rows = self.db.all("SELECT * FROM service_keys WHERE account_id = ? ORDER BY created, rowid", (account_id,))
        return [ServiceAccountKey(**row) for row in rows]

    def update_key(self, account_id: int, key_id: str, *, description: str, key_name: str | None = None) -> None:
        self.get_key(account_id, key_id)
        description = validate_description(description)
        with self.db.tx():
            self.db.execute("UPDATE service_keys SET description = ? WHERE key_id = ?", (description, key_id))
            if key_name is not None:
                self.db.execute("UPDATE service_keys SET key_name = ? WHERE key_id = ?",
                                (validate_key_name(key_name), key_id))

    def delete_key(self, account_id: int, key_id: str) -> None:
        """The key (and its roles) goes: JWTs it signs answer 100 from now on."""
        self.get_key(account_id, key_id)
        with self.db.tx():
            self.db.execute("DELETE FROM service_keys WHERE key_id = ?", (key_id,))

    def key_roles(self, account_id: int, key_id: str) -> list[Role]:
        self.get_key(account_id, key_id)
        rows = self.db.all("SELECT role_id FROM service_key_roles WHERE key_id = ? ORDER BY role_id", (key_id,))
        return [_BY_ID[row["role_id"]] for row in rows if row["role_id"] in _BY_ID]

    def set_key_roles(self, account_id: int, key_id: str, roles: Iterable[Role]) -> None:
        """The key's roles become these (the ones it had and are not given go)."""
        self.get_key(account_id, key_id)
        with self.db.tx():
            self.db.execute("DELETE FROM service_key_roles WHERE key_id = ?", (key_id,))
            self._add_roles(key_id, roles)

    def remove_key_roles(self, account_id: int, key_id: str, roles: Iterable[Role]) -> None:
        """Takes these roles from the key; one it does not have is no error."""
        self.get_key(account_id, key_id)
        with self.db.tx():
            for role in roles:
                self.db.execute("DELETE FROM service_key_roles WHERE key_id = ? AND role_id = ?",
                                (key_id, role.role_id))

    def _add_roles(self, key_id: str, roles: Iterable[Role]) -> None:
        for role in roles:
            self.db.execute("INSERT OR IGNORE INTO service_key_roles (key_id, role_id) VALUES (?, ?)",
                            (key_id, role.role_id))


def key_view(key: ServiceAccountKey, roles: list[Role] | None) -> dict[str, Any]:
    """GetKeys' KeyView: `roles` only when asked for (`with_roles`)."""
    view: dict[str, Any] = {"key_id": key.key_id, "key_name": key.key_name, "description": key.description}
    if roles is not None:
        view["roles"] = [role.api() for role in roles]
    return view

