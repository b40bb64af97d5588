"""Users: the SDK / SIP users of an application (they register and call with digest credentials).

A user belongs to one application; its name is unique within that application. The password
is kept as given because the SIP edge answers digest challenges with it (the realm is the
edge's choice); API results never include it. Uses `ApplicationsMixin` through the composed Store.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal

from voxsim.errors import (
    INVALID_NEW_USER_NAME,
    INVALID_USER_DISPLAY_NAME,
    INVALID_USER_ID,
    PASSWORD_EMPTY,
    PASSWORD_HAS_SPACES,
    PASSWORD_MISSING_CHARACTERS,
    PASSWORD_TOO_WEAK,
    USER_NAME_NOT_UNIQUE,
    USER_NAME_RESTRICTIONS,
    USER_NOT_BOUND,
    VoxError,
    invalid,
    too_long,
)
from voxsim.model import User
from voxsim.store.base import StoreBase, name_part_filter
from voxsim.store.db import timestamp

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    user_id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(account_id) ON DELETE CASCADE,
    application_id INTEGER NOT NULL REFERENCES applications(application_id) ON DELETE CASCADE,
    user_name TEXT NOT NULL,
    user_display_name TEXT NOT NULL,
    user_password TEXT NOT NULL,
    user_active INTEGER NOT NULL DEFAULT 1,
    parent_accounting INTEGER NOT NULL DEFAULT 0,
    user_custom_data TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL,
    modified TEXT NOT NULL,
    UNIQUE (application_id, user_name)
);
"""

USER_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{2,49}")
DISPLAY_NAME_MAX = 255  # "< 256 characters"
CUSTOM_DATA_MAX = 8191  # "< 8192"
PASSWORD_MIN = 8
USER_LIMIT = 1000  # per account [DOC], error 109
USER_LIMIT_EXCEEDED = 109
ORDER_BY = ("user_id", "user_name", "user_display_name")


def check_password(password: str) -> None:
    """The password rules: not blank (463), no whitespace (524), at least 8 characters (523, "too weak"),
    and an upper-case letter, a lower-case letter and a digit (464). Special characters are not required."""
    if not password.strip():
        raise VoxError(PASSWORD_EMPTY, "The password is empty")
    if any(ch.isspace() for ch in password):
        raise VoxError(PASSWORD_HAS_SPACES, "The password contains spaces")
    if len(password) < PASSWORD_MIN:
        raise VoxError(PASSWORD_TOO_WEAK, f"The password is too weak: use at least {PASSWORD_MIN} characters")
    if not (any(c.isupper() for c in password) and any(c.islower() for c in password)
            and any(c.isdigit() for c in password)):
        raise VoxError(PASSWORD_MISSING_CHARACTERS, "The password must contain an upper-case letter, "
                                                    "a lower-case letter and a digit")


def check_display_name(name: str) -> None:
    if not name.strip() or len(name) > DISPLAY_NAME_MAX:
        raise VoxError(INVALID_USER_DISPLAY_NAME, "Invalid 'user_display_name': it must be 1 to 255 characters")


def check_custom_data(data: str) -> None:
    if len(data) > CUSTOM_DATA_MAX:
        raise too_long("user_custom_data", CUSTOM_DATA_MAX + 1)


def _user(row: dict[str, Any]) -> User:
    for key in ("user_active", "parent_accounting"):
        row[key] = bool(row[key])
    return User(**row)


class UsersMixin(StoreBase):
    # -- lookups (also for the SIP edge and the runtime) --------------------------------------
    def find_user(self, application_id: int, user_name: str) -> User | None:
        """The application's user with this name, password and active flag included (for digest auth)."""
        row = self.db.one("SELECT * FROM users WHERE application_id = ? AND user_name = ?",
                          (application_id, user_name))
        return _user(row) if row else None

    def get_user(self, account_id: int, *, user_id: int | None = None, user_name: str | None = None,
                 application_id: int | None = None) -> User:
        """A user by id (then `application_id`, if given, must be its application: 393) or by name within
        `application_id`; an unknown user answers 117."""
        if user_id is not None:
            row = self.db.one("SELECT * FROM users WHERE account_id = ? AND user_id = ?", (account_id, user_id))
            if row is None:
                raise VoxError(INVALID_USER_ID, "The 'user_id' parameter is invalid")
            if application_id is not None and row["application_id"] != application_id:
                raise VoxError(USER_NOT_BOUND, "The user is not bound to the application")
            return _user(row)
        row = self.db.one("SELECT * FROM users WHERE account_id = ? AND application_id = ? AND user_name = ?",
                          (account_id, application_id, user_name))
        if row is None:
            raise VoxError(INVALID_USER_ID, "The 'user_name' parameter is invalid: no such user in the application")
        return _user(row)

    def list_users(self, account_id: int, application_id: int, *, user_id: int | None = None,
                   name_part: str | None = None, display_name_part: str | None = None,
                   user_active: bool | None = None, order_by: str = "user_id") -> list[User]:
        """An application's users, filtered (name parts are case-insensitive substrings) and ordered."""
        if order_by not in ORDER_BY:
            raise invalid("order_by")
        sql, args = "SELECT * FROM users WHERE account_id = ? AND application_id = ?", [account_id, application_id]
        if user_id is not None:
            sql += " AND user_id = ?"
            args.append(user_id)
        if user_active is not None:
            sql += " AND user_active = ?"
            args.append(int(user_active))
        users = [_user(r) for r in self.db.all(f"{sql} ORDER BY {order_by}, user_id", args)]
        return [u for u in users if name_part_filter(name_part, u.user_name)
                and name_part_filter(display_name_part, u.user_display_name)]

    # -- changes ------------------------------------------------------------------------------
    def add_user(self, account_id: int, application_id: int, user_name: str, user_display_name: str,
                 user_password: str, *, user_active: bool = True, parent_accounting: bool = False,
                 user_custom_data: str = "") -> User:
        if not USER_NAME.fullmatch(user_name):
            raise VoxError(USER_NAME_RESTRICTIONS, "User name restrictions violated: use 3 to 50 characters "
                                                   "a-z, 0-9, '-', '_', starting with a letter or a digit")
        check_display_name(user_display_name)
        check_password(user_password)
        check_custom_data(user_custom_data)
        now = timestamp()
        with self.db.tx():
            if self.db.scalar("SELECT COUNT(*) FROM users WHERE account_id = ?", (account_id,)) >= USER_LIMIT:
                raise VoxError(USER_LIMIT_EXCEEDED,
                               f"Exceeded the user count limit per account (limit {USER_LIMIT} users)")
            self._check_user_name_free(application_id, user_name)
            user_id = self.db.insert(
                "INSERT INTO users (account_id, application_id, user_name, user_display_name, user_password, "
                "user_active, parent_accounting, user_custom_data, created, modified) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (account_id, application_id, user_name, user_display_name, user_password, int(user_active),
                 int(parent_accounting), user_custom_data, now, now))
        return self.get_user(account_id, user_id=user_id)

    def set_user_info(self, account_id: int, user: User, changes: dict[str, Any]) -> User:
        """Apply SetUserInfo `changes` (keys: new_user_name, user_display_name, user_password, user_active,
        parent_accounting, user_custom_data) to `user`, validating each."""
        columns: dict[str, Any] = {}
        new_name = changes.get("new_user_name")
        if new_name is not None and new_name != user.user_name:
            if not USER_NAME.fullmatch(new_name):
                raise VoxError(INVALID_NEW_USER_NAME, "Invalid new user name")
            columns["user_name"] = new_name
        if changes.get("user_display_name") is not None:
            check_display_name(changes["user_display_name"])
            columns["user_display_name"] = changes["user_display_name"]
        if changes.get("user_password") is not None:
            check_password(changes["user_password"])
            columns["user_password"] = changes["user_password"]
        if changes.get("user_custom_data") is not None:
            check_custom_data(changes["user_custom_data"])
            columns["user_custom_data"] = changes["user_custom_data"]
        for flag in ("user_active", "parent_accounting"):
            if changes.get(flag) is not None:
                columns[flag] = int(changes[flag])
        columns["modified"] = timestamp()
        with self.db.tx():
            if "user_name" in columns:
                self._check_user_name_free(user.application_id, columns["user_name"])
            assignments = ", ".join(f"{name} = ?" for name in columns)
            self.db.execute(f"UPDATE users SET {assignments} WHERE user_id = ?", (*columns.values(), user.user_id))
        return self.get_user(account_id, user_id=user.user_id)

    def del_users(self, account_id: int, *, user_ids: Sequence[int] | Literal["all"] | None = None,
                  user_names: Sequence[str] | None = None, application_id: int | None = None) -> int:
        """Delete users by ids, by names within `application_id`, or all (of the application if given,
        else of the account). Every id or name must exist, else nothing is deleted."""
        with self.db.tx():
            if user_ids == "all":
                sql, args = "SELECT user_id FROM users WHERE account_id = ?", [account_id]
                if application_id is not None:
                    sql += " AND application_id = ?"
                    args.append(application_id)
                targets = [row["user_id"] for row in self.db.all(sql, args)]
            else:
                targets = [self.get_user(account_id, user_id=i, application_id=application_id).user_id
                           for i in user_ids or ()]
                targets += [self.get_user(account_id, user_name=n, application_id=application_id).user_id
                            for n in user_names or ()]
            return self._delete_rows("users", "user_id", targets)

    def _check_user_name_free(self, application_id: int, user_name: str) -> None:
        if self.db.scalar("SELECT 1 FROM users WHERE application_id = ? AND user_name = ?",
                          (application_id, user_name)):
            raise VoxError(USER_NAME_NOT_UNIQUE, "The user name is not unique")
