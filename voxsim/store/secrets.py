"""Application secrets (AddSecret, GetSecrets, GetSecretValue, SetSecretInfo, DelSecret).

A secret is a named value an application keeps: a name of a Latin letter then up to 63 Latin letters, digits
and underscores, unique in its application; a value of up to 8192 characters; a description the platform
truncates to its first 200 characters. Only GetSecretValue shows the value. Deleting an application deletes
its secrets. The VoxEngine typings give scenarios no way to read them, so voxsim keeps them only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from voxsim.errors import invalid, not_unique, too_long
from voxsim.store.base import StoreBase, name_part_filter
from voxsim.store.db import timestamp

SCHEMA = """
CREATE TABLE IF NOT EXISTS secrets (
    secret_id INTEGER PRIMARY KEY AUTOINCREMENT,
    application_id INTEGER NOT NULL REFERENCES applications(application_id) ON DELETE CASCADE,
    secret_name TEXT NOT NULL,
    secret_value TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL,
    modified TEXT NOT NULL,
    UNIQUE (application_id, secret_name)
);
"""

NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
VALUE_MAX = 8192
DESCRIPTION_MAX = 200


@dataclass(frozen=True)
class Secret:
    secret_id: int
    application_id: int
    secret_name: str
    secret_value: str
    description: str
    created: str
    modified: str

    def api(self, *, with_value: bool = False) -> dict[str, Any]:
        """SecretListItem, or GetSecretValueResult `with_value`; no `description` when it is empty."""
        info: dict[str, Any] = {"secret_id": self.secret_id, "secret_name": self.secret_name}
        if with_value:
            info["secret_value"] = self.secret_value
        if self.description:
            info["description"] = self.description
        info.update(created=self.created, modified=self.modified)
        return info


def validate_name(name: str, param: str = "secret_name") -> str:
    if not NAME.fullmatch(name):
        raise invalid(param)
    return name


def validate_value(value: str) -> str:
    if len(value) > VALUE_MAX:
        raise too_long("secret_value", VALUE_MAX + 1)
    return value


class SecretsMixin(StoreBase):
    def add_secret(self, application_id: int, secret_name: str, secret_value: str,
                   description: str = "") -> Secret:
        """`application_id` must be the caller's application (the method resolves it first)."""
        name, value = validate_name(secret_name), validate_value(secret_value)
        self._unique_secret_name(application_id, name)
        now = timestamp()
        with self.db.tx():
            secret_id = self.db.insert(
                "INSERT INTO secrets (application_id, secret_name, secret_value, description, created, modified) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (application_id, name, value, description[:DESCRIPTION_MAX], now, now))
        return self.get_secret(application_id, secret_id=secret_id)

    def get_secret(self, application_id: int, *, secret_id: int | None = None,
                   secret_name: str | None = None) -> Secret:
        """By id or name; none in this application answers 496 naming the parameter given."""
        if secret_id is not None:
            row = self.db.one("SELECT * FROM secrets WHERE application_id = ? AND secret_id = ?",
                              (application_id, secret_id))
        else:
            row = self.db.one("SELECT * FROM secrets WHERE application_id = ? AND secret_name = ?",
                              (application_id, secret_name))
        if row is None:
            raise invalid("secret_id" if secret_id is not None else "secret_name")
        return Secret(**row)

    def list_secrets(self, application_id: int, name_part: str | None = None) -> list[Secret]:
        rows = self.db.all("SELECT * FROM secrets WHERE application_id = ? ORDER BY secret_id", (application_id,))
        return [Secret(**row) for row in rows if name_part_filter(name_part, str(row["secret_name"]))]

    def set_secret_info(self, secret: Secret, *, new_name: str | None = None, value: str | None = None,
                        description: str | None = None) -> Secret:
        changes: dict[str, str] = {}
        if new_name is not None and new_name != secret.secret_name:
            changes["secret_name"] = validate_name(new_name, "new_secret_name")
            self._unique_secret_name(secret.application_id, new_name)
        if value is not None:
            changes["secret_value"] = validate_value(value)
        if description is not None:
            changes["description"] = description[:DESCRIPTION_MAX]
        if changes:
            changes["modified"] = timestamp()
            columns = ", ".join(f"{column} = ?" for column in changes)  # the keys above, never input
            with self.db.tx():
                self.db.execute(f"UPDATE secrets SET {columns} WHERE secret_id = ?",
                                (*changes.values(), secret.secret_id))
        return self.get_secret(secret.application_id, secret_id=secret.secret_id)

    def del_secrets(self, application_id: int, *, ids: Sequence[int] | Literal["all"] | None = None,
                    names: Sequence[str] | None = None) -> int:
        """Every one must exist (else 496 and nothing goes); `all` deletes the application's secrets."""
        if ids == "all":
            targets = [s.secret_id for s in self.list_secrets(application_id)]
        elif ids is not None:
            targets = [self.get_secret(application_id, secret_id=i).secret_id for i in ids]
        else:
            targets = [self.get_secret(application_id, secret_name=n).secret_id for n in names or ()]
        with self.db.tx():
            return self._delete_rows("secrets", "secret_id", targets)

    def _unique_secret_name(self, application_id: int, name: str) -> None:
        if self.db.one("SELECT 1 FROM secrets WHERE application_id = ? AND secret_name = ?", (application_id, name)):
            raise not_unique("secret_name")
