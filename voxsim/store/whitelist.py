"""The account's SIP white list: CIDR networks allowed to send trunk calls."""

from __future__ import annotations

import ipaddress

from voxsim.errors import (
    INVALID_SIP_WHITELIST_ID,
    INVALID_SIP_WHITELIST_NETWORK,
    SIP_WHITELIST_LIMIT,
    VoxError,
)
from voxsim.model import WhiteListItem
from voxsim.store.base import StoreBase

SCHEMA = """
CREATE TABLE IF NOT EXISTS sip_whitelist (
    sip_whitelist_id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(account_id) ON DELETE CASCADE,
    sip_whitelist_network TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT ''
);
"""

WHITELIST_LIMIT = 100  # [INF] the platform has a per-account limit (code 172); its value is unpublished


def normalize_network(text: str) -> str:
    """`A.B.C.D/L` or `A.B.C.D/a.b.c.d` (a netmask) to canonical `A.B.C.D/L`; host bits are masked."""
    try:
        return str(ipaddress.IPv4Network(text.strip(), strict=False))
    except (ValueError, TypeError) as exc:
        raise VoxError(INVALID_SIP_WHITELIST_NETWORK, "Invalid 'sip_whitelist_network'") from exc


class WhiteListMixin(StoreBase):
    def add_whitelist_item(self, account_id: int, network: str, description: str = "") -> WhiteListItem:
        network = normalize_network(network)
        with self.db.tx():
            count = self.db.scalar("SELECT COUNT(*) FROM sip_whitelist WHERE account_id = ?", (account_id,))
            if count >= WHITELIST_LIMIT:
                raise VoxError(SIP_WHITELIST_LIMIT,
                               "Exceeded the SIP white list network count limit per account")
            item_id = self.db.insert(
                "INSERT INTO sip_whitelist (account_id, sip_whitelist_network, description) VALUES (?, ?, ?)",
                (account_id, network, description),
            )
        return self.get_whitelist_item(account_id, item_id)

    def get_whitelist_item(self, account_id: int, item_id: int) -> WhiteListItem:
        row = self.db.one("SELECT * FROM sip_whitelist WHERE account_id = ? AND sip_whitelist_id = ?",
                          (account_id, item_id))
        if row is None:
            raise VoxError(INVALID_SIP_WHITELIST_ID, "Invalid 'sip_whitelist_id'")
        return WhiteListItem(**row)

    def list_whitelist(self, account_id: int, item_id: int | None = None) -> list[WhiteListItem]:
        sql = "SELECT * FROM sip_whitelist WHERE account_id = ?"
        args: list[object] = [account_id]
        if item_id is not None:
            sql += " AND sip_whitelist_id = ?"
            args.append(item_id)
        return [WhiteListItem(**row) for row in self.db.all(sql + " ORDER BY sip_whitelist_id", args)]

    def set_whitelist_item(self, account_id: int, item_id: int, network: str,
                           description: str | None = None) -> None:
        network = normalize_network(network)
        with self.db.tx():
            self.get_whitelist_item(account_id, item_id)
            self.db.execute("UPDATE sip_whitelist SET sip_whitelist_network = ? WHERE sip_whitelist_id = ?",
                            (network, item_id))
            if description is not None:
                self.db.execute("UPDATE sip_whitelist SET description = ? WHERE sip_whitelist_id = ?",
                                (description, item_id))

    def del_whitelist_item(self, account_id: int, item_id: int) -> None:
        with self.db.tx():
            self.get_whitelist_item(account_id, item_id)
            self.db.execute("DELETE FROM sip_whitelist WHERE sip_whitelist_id = ?", (item_id,))

    def is_whitelisted(self, account_id: int, address: str) -> bool:
        """Whether a SIP source address falls in one of the account's networks."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in ipaddress.ip_network(item.sip_whitelist_network)
                   for item in self.list_whitelist(account_id))
