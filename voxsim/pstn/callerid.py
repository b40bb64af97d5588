"""The platform's callerid check: callPSTN may show only one of the account's numbers or verified caller IDs.

`CallerIdCheck` wraps the runtime's dialer: a "pstn" call whose callerid is neither a phone number attached to
the session's account nor one of its verified caller IDs (AddCallerID, VerifyCallerID, ActivateCallerID) fails
at once with 403, and the emulator's log says why; every other call passes through. `pstn.callerid_check =
false` (`--pstn-callerid-check false`, `VOXSIM_PSTN_CALLERID_CHECK=false`) lets any callerid through, for
scenarios written before their numbers exist in voxsim. The check applies whether callPSTN reaches the PSTN
simulator or a configured `sip.pstn_gateway`, as the platform checks before any carrier sees the call.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from voxsim.runtime.host import CallLeg, DialError, OutboundDialer, SessionPort

if TYPE_CHECKING:
    from voxsim.runtime.calls import Call

__all__ = ["REFUSED", "CallerIdCheck", "CallerIdDirectory"]

log = logging.getLogger(__name__)

REFUSED = 403
"""The code of a callPSTN refused for its callerid (`CallEvents.Failed`)."""


class CallerIdDirectory(Protocol):
    """What the check reads (implemented by `voxsim.store.Store`)."""

    def may_show_callerid(self, account_id: int, callerid: str) -> bool: ...


class CallerIdCheck:
    """An `OutboundDialer` that refuses callPSTN with a callerid the account may not show (module docstring)."""

    def __init__(self, directory: CallerIdDirectory, dialer: OutboundDialer, *, strict: bool = True) -> None:
        self.directory = directory
        self.dialer = dialer
        self.strict = strict

    async def place_call(self, session: SessionPort, call: Call, kind: str, params: Mapping[str, Any]) -> CallLeg:
        if kind == "pstn" and self.strict and not self.directory.may_show_callerid(session.account_id, call.callerid):
            log.warning("callPSTN to %s refused in session %s: callerid %r is not a phone number or a verified caller"
                        " ID of the account (pstn.callerid_check = false lets any callerid through)",
                        call.number, session.session_id, call.callerid)
            raise DialError(REFUSED, f"Forbidden - callerid '{call.callerid}' is not a phone number or a verified "
                                     "caller ID of the account")
        return await self.dialer.place_call(session, call, kind, params)
