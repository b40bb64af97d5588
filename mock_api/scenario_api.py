"""The Management API called from a scenario (the VoximplantAPI module, voxsim/runtime/shim/voximplant_api.js).

The module sends its requests to /platform_api/<Method> like any client, with the header
`X-Voxsim-Session-Access: <token>/<secret>` (the tail of the session's media_session_access_url) instead of
credentials. The request then acts as the session's account, and only while a service-account key of that account
is bound to the session's rule (`bind_key_id`, AddRule/SetRuleInfo), as the platform lets a scenario use the API
only through the key bound to its rule; otherwise it answers 100 "Authorization failed" with the reason.
"""

from __future__ import annotations

from typing import Any

from mock_api.services import EmulatorServices
from voxsim.errors import AUTHORIZATION_FAILED, VoxError
from voxsim.model import Account
from voxsim.store import Store

ACCESS_HEADER = "X-Voxsim-Session-Access"


def _refused(reason: str) -> VoxError:
    return VoxError(AUTHORIZATION_FAILED, f"Authorization failed: {reason}")


def scenario_account(store: Store, services: EmulatorServices | None, access: str) -> Account:
    """The account a scenario's request acts as, given its session's access (`<token>/<secret>`)."""
    token, _, secret = access.strip().partition("/")
    runtime = services.runtime if services is not None else None
    starter: Any = services.session_starter if services is not None else None
    session_id = starter.session_for_access(token, secret) if starter is not None and secret else None
    session: Any = runtime.session(session_id) if runtime is not None and session_id is not None else None
    if session is None:
        raise _refused("no running session has this access")
    info = session.info
    if info.rule_id is None:
        raise _refused("the session has no rule to bind a service-account key to")
    rule = store.get_rule(info.account_id, rule_id=info.rule_id)
    key = store.get_service_key(rule.bind_key_id) if rule.bind_key_id else None
    if key is None or key.account_id != info.account_id:
        raise _refused(f"no service-account key is bound to the rule '{rule.rule_name}' (bind_key_id); the "
                       "VoximplantAPI module acts through that key")
    return store.get_account(info.account_id)
