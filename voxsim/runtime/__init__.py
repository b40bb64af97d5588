"""VoxEngine scenarios in V8: the shim, the bridge, sessions and the runtime that owns them.

This package must not import `sip_edge` or `mock_api`: they depend on it, through the
Protocols in `host.py`. What crosses the bridge between Python and voxengine.js is
described in `protocol.py`.
"""

from voxsim.runtime.bridge import ScenarioError
from voxsim.runtime.calls import Call, CallState
from voxsim.runtime.host import (
    CallLeg,
    CallRecord,
    DialError,
    InMemoryRecorder,
    NoDialer,
    OutboundDialer,
    SessionInfo,
    SessionPort,
    SessionRecorder,
)
from voxsim.runtime.runtime import Runtime, SessionLimitReached
from voxsim.runtime.session import (
    FINISH_ADMIN,
    FINISH_JS_ERROR,
    FINISH_NORMAL,
    FINISH_TIMEOUT,
    Session,
    SessionState,
)
from voxsim.runtime.settings import RuntimeSettings
from voxsim.runtime.virtual import VirtualCaller, VirtualLeg

__all__ = [
    "FINISH_ADMIN",
    "FINISH_JS_ERROR",
    "FINISH_NORMAL",
    "FINISH_TIMEOUT",
    "Call",
    "CallState",
    "CallLeg",
    "CallRecord",
    "DialError",
    "InMemoryRecorder",
    "NoDialer",
    "OutboundDialer",
    "Runtime",
    "RuntimeSettings",
    "ScenarioError",
    "Session",
    "SessionLimitReached",
    "SessionState",
    "SessionInfo",
    "SessionPort",
    "SessionRecorder",
    "VirtualCaller",
    "VirtualLeg",
]
