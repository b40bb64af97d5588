"""CallList in scenarios: `reportResult`, `reportError`, `reportProgress`, `requestNextAttempt` (and their
`...Async` forms) of a session that a call list started.

On the platform each of them is an HTTP request to the call list service, whose `Net.HttpRequestResult` the
callback (or the promise) receives. Here each is one `callList.report` command; the `CallListReports` port (the
call lists' dispatcher, plugged in by the composition root) takes it, and its answer goes back as a
`CallListResult` event with that shape. A session no call list started gets 404, as a request for no task would.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from voxsim.runtime.host import CallListReports
from voxsim.runtime.protocol import CallListResult

REPORTS = ("result", "error", "progress", "nextAttempt")
NO_SERVICE = "CallList: this session was not started by a call list"
_METHODS = {"result": "reportResult", "error": "reportError", "progress": "reportProgress",
            "nextAttempt": "requestNextAttempt"}


def http_result(code: int, text: str) -> dict[str, Any]:
    """A `Net.HttpRequestResult` of the service's answer (`error` too when it refused)."""
    result: dict[str, Any] = {"code": code, "text": text, "headers": [{"key": "Content-Type",
                              "value": "application/json"}], "raw_headers": "Content-Type: application/json\r\n"}
    if code >= 400:
        result["error"] = text
    return result


class SessionCallList:
    """Passes a session's reports on to the call list service and queues each answer for its callback."""

    def __init__(self, service: CallListReports | None, session_id: int,
                 answer: Callable[[CallListResult], object], log: Callable[[str], None]) -> None:
        self._service = service
        self._session_id = session_id
        self._answer = answer
        self._log = log
        self._pending: set[asyncio.Task[None]] = set()

    def report(self, request_id: int, report: str, data: Any) -> None:
        """One report; the service answers asynchronously (its reply may wait for the session's task to be known)."""
        if report not in REPORTS:
            self._finish(request_id, report, 400, json.dumps({"error": f"unknown report {report!r}"}))
            return
        if self._service is None:
            self._finish(request_id, report, 404, json.dumps({"error": NO_SERVICE}))
            return
        task = asyncio.get_running_loop().create_task(self._ask(self._service, request_id, report, data))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _ask(self, service: CallListReports, request_id: int, report: str, data: Any) -> None:
        try:
            code, text = await service.report(self._session_id, report, data)
        except Exception as exc:  # a voxsim bug: the scenario gets a failed request, the emulator goes on
            code, text = 500, json.dumps({"error": f"voxsim internal error: {exc!r}"})
        self._finish(request_id, report, code, text)

    def _finish(self, request_id: int, report: str, code: int, text: str) -> None:
        if code >= 400:
            self._log(f"[voxsim] CallList.{_METHODS.get(report, report)}: {code} {text}")
        self._answer(CallListResult(request_id, http_result(code, text)))
