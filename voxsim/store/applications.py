"""Applications: the account's containers of rules, users and application-level scenarios.

An application has a short name (`myapp`) and shows the full one (`myapp.<account>.voximplant.com`),
which is also its SIP domain. Every input that names an application accepts either form.
Deleting an application deletes its rules, users and application-level scenarios (foreign-key
cascades declared by those families).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal

from voxsim.errors import (
    APPLICATION_NAME_NOT_UNIQUE,
    APPLICATION_NOT_FOUND,
    INVALID_APPLICATION_ID,
    INVALID_APPLICATION_NAME,
    VoxError,
    specify,
)
from voxsim.model import DOMAIN_SUFFIX, Application
from voxsim.store.base import StoreBase, name_part_filter
from voxsim.store.db import timestamp

SCHEMA = """
CREATE TABLE IF NOT EXISTS applications (
    application_id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(account_id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    secure_record_storage INTEGER NOT NULL DEFAULT 0,
    modified TEXT NOT NULL,
    UNIQUE (account_id, name)
);
"""

# AddApplication allows 2..65 characters, SetApplicationInfo 2..80 [DOC].
NEW_NAME = re.compile(r"[a-z][a-z0-9-]{1,64}")
RENAME = re.compile(r"[a-z][a-z0-9-]{1,79}")
# `<app>.<account>.voximplant.com`, or with a node label: `<app>.<account>.n2.voximplant.com`.
FULL_NAME = re.compile(r"(?P<app>[^.]+)\.(?P<account>[^.]+)\.(?:[a-z0-9-]+\.)?" + re.escape(DOMAIN_SUFFIX),
                       re.IGNORECASE)

_SELECT = ("SELECT a.application_id, a.account_id, a.name, a.secure_record_storage, a.modified, "
           "acc.account_name FROM applications a JOIN accounts acc ON acc.account_id = a.account_id")


def short_application_name(name: str, account_name: str) -> str:
    """The short name from either form; a full name of another account's domain is returned unchanged."""
    name = name.strip()
    match = FULL_NAME.fullmatch(name)
    if match and match["account"].lower() == account_name.lower():
        return match["app"].lower()
    return name


def _application(row: dict[str, Any]) -> Application:
    row["secure_record_storage"] = bool(row["secure_record_storage"])
    return Application(**row)


class ApplicationsMixin(StoreBase):
    # -- lookups (also for the SIP edge and the runtime) --------------------------------------
    def _account_name(self, account_id: int) -> str:
        name = self.db.scalar("SELECT account_name FROM accounts WHERE account_id = ?", (account_id,))
        return str(name or "")

    def find_application(self, account_id: int, *, application_id: int | None = None,
                         application_name: str | None = None) -> Application | None:
        """The account's application with this id, or this short or full name; None if there is none."""
        if application_id is not None:
            row = self.db.one(_SELECT + " WHERE a.account_id = ? AND a.application_id = ?",
                              (account_id, application_id))
        elif application_name is not None:
            short = short_application_name(application_name, self._account_name(account_id))
            row = self.db.one(_SELECT + " WHERE a.account_id = ? AND a.name = ?", (account_id, short))
        else:
            return None
        return _application(row) if row else None

    def get_application(self, account_id: int, *, application_id: int | None = None,
                        application_name: str | None = None) -> Application:
        """Like `find_application`, but an unknown id answers 116 and an unknown name 558."""
        if application_id is None and application_name is None:
            raise specify("application_id")
        app = self.find_application(account_id, application_id=application_id, application_name=application_name)
        if app is not None:
            return app
        if application_id is not None:
            raise VoxError(INVALID_APPLICATION_ID, "The 'application_id' parameter is invalid")
        raise VoxError(APPLICATION_NOT_FOUND, "Application is not found")

    def find_application_by_domain(self, domain: str) -> Application | None:
        """The application whose SIP domain (`<app>.<account>.voximplant.com`) this is, in any account."""
        match = FULL_NAME.fullmatch(domain.strip().rstrip("."))
        if match is None:
            return None
        row = self.db.one(_SELECT + " WHERE acc.account_name = ? COLLATE NOCASE AND a.name = ?",
                          (match["account"], match["app"].lower()))
        return _application(row) if row else None

    def list_applications(self, account_id: int, *, application_id: int | None = None,
                          name_part: str | None = None) -> list[Application]:
        """The account's applications by id; `name_part` filters on the full name, case-insensitively."""
        sql, args = _SELECT + " WHERE a.account_id = ?", [account_id]
        if application_id is not None:
            sql += " AND a.application_id = ?"
            args.append(application_id)
        apps = [_application(r) for r in self.db.all(sql + " ORDER BY a.application_id", args)]
        return [app for app in apps if name_part_filter(name_part, app.application_name)]

    # -- changes ------------------------------------------------------------------------------
    def add_application(self, account_id: int, application_name: str,
                        secure_record_storage: bool = False) -> Application:
        short = short_application_name(application_name, self._account_name(account_id))
        if not NEW_NAME.fullmatch(short):
            raise VoxError(INVALID_APPLICATION_NAME, "Invalid application name")
        with self.db.tx():
            self._check_name_free(account_id, short)
            app_id = self.db.insert(
                "INSERT INTO applications (account_id, name, secure_record_storage, modified) VALUES (?, ?, ?, ?)",
                (account_id, short, int(secure_record_storage), timestamp()))
        return self.get_application(account_id, application_id=app_id)

    def set_application_info(self, account_id: int, *, application_id: int | None = None,
                             required_application_name: str | None = None, new_name: str | None = None,
                             secure_record_storage: bool | None = None) -> Application:
        with self.db.tx():
            app = self.get_application(account_id, application_id=application_id,
                                       application_name=required_application_name)
            if new_name is not None:
                short = short_application_name(new_name, app.account_name)
                if not RENAME.fullmatch(short):
                    raise VoxError(INVALID_APPLICATION_NAME, "Invalid application name")
                if short != app.name:
                    self._check_name_free(account_id, short)
                    self.db.execute("UPDATE applications SET name = ? WHERE application_id = ?",
                                    (short, app.application_id))
            if secure_record_storage is not None:
                self.db.execute("UPDATE applications SET secure_record_storage = ? WHERE application_id = ?",
                                (int(secure_record_storage), app.application_id))
            self.db.execute("UPDATE applications SET modified = ? WHERE application_id = ?",
                            (timestamp(), app.application_id))
        return self.get_application(account_id, application_id=app.application_id)

    def del_applications(self, account_id: int, *, application_ids: Sequence[int] | Literal["all"] | None = None,
                         application_names: Sequence[str] | None = None) -> int:
        """Delete applications (all of them, by ids, or by names) with their rules, users and scenarios.

        Every id or name must exist, else nothing is deleted. Returns how many went.
        """
        with self.db.tx():
            if application_ids == "all":
                targets = [app.application_id for app in self.list_applications(account_id)]
            else:
                targets = [self.get_application(account_id, application_id=i).application_id
                           for i in application_ids or ()]
                targets += [self.get_application(account_id, application_name=n).application_id
                            for n in application_names or ()]
            return self._delete_rows("applications", "application_id", targets)

    def _check_name_free(self, account_id: int, short: str) -> None:
        if self.db.scalar("SELECT 1 FROM applications WHERE account_id = ? AND name = ?", (account_id, short)):
            raise VoxError(APPLICATION_NAME_NOT_UNIQUE, "Application name is not unique")
