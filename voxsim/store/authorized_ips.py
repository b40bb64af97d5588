"""The account's authorized IPs (AddAuthorizedAccountIP, DelAuthorizedAccountIP, GetAuthorizedAccountIPs,
CheckAuthorizedAccountIP): IPv4 addresses and networks on a white list (`allowed`) or a black list.

The platform uses them to restrict who may call the Management API with the account's api_key. An address
is judged by the most specific network that holds it (the black list wins a tie); one no network holds is
allowed while the white list is empty and refused once it has items. Whether the API enforces this is the
`api.enforce_authorized_ips` setting (mock_api/auth.py); voxsim stores and answers either way.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from voxsim.errors import VoxError, invalid
from voxsim.store.base import StoreBase
from voxsim.store.db import timestamp

SCHEMA = """
CREATE TABLE IF NOT EXISTS authorized_ips (
    authorized_ip_id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(account_id) ON DELETE CASCADE,
    authorized_ip TEXT NOT NULL,
    allowed INTEGER NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL,
    UNIQUE (account_id, authorized_ip, allowed)
);
"""

LIMIT = 1000
"""Networks an account may list; the platform's limit is unpublished."""


@dataclass(frozen=True)
class AuthorizedIP:
    authorized_ip_id: int
    account_id: int
    authorized_ip: str
    allowed: bool
    description: str
    created: str

    @property
    def network(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.authorized_ip)

    def api(self) -> dict[str, Any]:
        """AuthorizedAccountIPType (and the description it was added with)."""
        info: dict[str, Any] = {"authorized_ip": self.authorized_ip, "allowed": self.allowed,
                                "created": self.created}
        if self.description:
            info["description"] = self.description
        return info


def network_of(text: str, param: str = "authorized_ip") -> str:
    """An address (`A.B.C.D`) or network (`A.B.C.D/L`, host bits masked) in canonical form; an address is
    shown as it was given, a network as `A.B.C.D/L`."""
    try:
        network = ipaddress.IPv4Network(text.strip(), strict=False)
    except ValueError as exc:
        raise invalid(param) from exc
    return str(network.network_address) if network.prefixlen == 32 and "/" not in text else str(network)


def address_of(text: str, param: str = "authorized_ip") -> ipaddress.IPv4Address:
    try:
        return ipaddress.IPv4Address(text.strip())
    except ValueError as exc:
        raise invalid(param) from exc


def _item(row: dict[str, Any]) -> AuthorizedIP:
    return AuthorizedIP(**{**row, "allowed": bool(row["allowed"])})


class AuthorizedIPsMixin(StoreBase):
    def add_authorized_ip(self, account_id: int, authorized_ip: str, allowed: bool = True,
                          description: str = "") -> AuthorizedIP:
        network = network_of(authorized_ip)
        with self.db.tx():
            if self.db.scalar("SELECT COUNT(*) FROM authorized_ips WHERE account_id = ?", (account_id,)) >= LIMIT:
                raise VoxError(496, f"An account lists at most {LIMIT} authorized networks")
            if self.db.one("SELECT 1 FROM authorized_ips WHERE account_id = ? AND authorized_ip = ? AND allowed = ?",
                           (account_id, network, int(allowed))):
                raise VoxError(493, f"'{network}' is already on the {'white' if allowed else 'black'} list")
            self.db.insert("INSERT INTO authorized_ips (account_id, authorized_ip, allowed, description, created) "
                           "VALUES (?, ?, ?, ?, ?)", (account_id, network, int(allowed), description, timestamp()))
        return next(i for i in self.authorized_ips(account_id) if i.authorized_ip == network and i.allowed == allowed)

    def authorized_ips(self, account_id: int) -> list[AuthorizedIP]:
        rows = self.db.all("SELECT * FROM authorized_ips WHERE account_id = ? ORDER BY authorized_ip_id",
                           (account_id,))
        return [_item(row) for row in rows]

    def delete_authorized_ips(self, account_id: int, items: list[AuthorizedIP]) -> int:
        with self.db.tx():
            return self._delete_rows("authorized_ips", "authorized_ip_id", [i.authorized_ip_id for i in items])

    def check_authorized_ip(self, account_id: int, address: ipaddress.IPv4Address) -> tuple[bool, AuthorizedIP | None]:
        """(allowed, the item that decided); see the module docstring for the rule."""
        items = self.authorized_ips(account_id)
        holding = [i for i in items if address in i.network]
        if not holding:
            return not any(i.allowed for i in items), None
        best = max(holding, key=lambda i: (i.network.prefixlen, not i.allowed))
        return best.allowed, best
