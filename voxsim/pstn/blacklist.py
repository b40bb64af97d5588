"""The account's PSTN black list applied to callPSTN.

`BlackListCheck` wraps the runtime's dialer: a "pstn" call to a number an item of the account's black list
matches (AddPstnBlackListItem; voxsim/store/pstn_blacklist.py says how items match) fails at once with 403
before any carrier, simulator or gateway, sees it, and the emulator's log names the item. The platform does not
publish the code it fails such a call with; 403 is what a carrier answers a barred destination.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from voxsim.runtime.host import CallLeg, DialError, OutboundDialer, SessionPort

if TYPE_CHECKING:
    from voxsim.runtime.calls import Call
    from voxsim.store.pstn_blacklist import PstnBlackListItem

__all__ = ["BARRED", "BlackList", "BlackListCheck"]

log = logging.getLogger(__name__)

BARRED = 403
"""The code of a callPSTN to a black-listed number (`CallEvents.Failed`)."""


class BlackList(Protocol):
    """What the check reads (implemented by `voxsim.store.Store`)."""

    def pstn_blacklisted(self, account_id: int, number: str) -> PstnBlackListItem | None: ...


class BlackListCheck:
    """An `OutboundDialer` that refuses callPSTN to a black-listed number (module docstring)."""

    def __init__(self, black_list: BlackList, dialer: OutboundDialer) -> None:
        self.black_list = black_list
        self.dialer = dialer

    async def place_call(self, session: SessionPort, call: Call, kind: str, params: Mapping[str, Any]) -> CallLeg:
        if kind == "pstn":
            item = self.black_list.pstn_blacklisted(session.account_id, call.number)
            if item is not None:
                log.warning("callPSTN to %s refused in session %s: PSTN black list item %s (%r)", call.number,
                            session.session_id, item.pstn_blacklist_id, item.pstn_blacklist_phone)
                raise DialError(BARRED, f"Forbidden - '{call.number}' is in the account's PSTN black list")
        return await self.dialer.place_call(session, call, kind, params)
