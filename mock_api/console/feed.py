"""The console's live feed: server-sent events that carry a document each time it changes.

A stream recomputes its document when the store says something changed (`Store.subscribe`: every committed
write, the runtime's log lines and call rows included, so a running session's events reach it within the
recorder's flush interval) and at least every `REFRESH` seconds (for what lives outside the store: registered
contacts, the state of live sessions), and sends it only when its JSON differs from what it sent last. The page
never polls. Each stream ends when the client goes away, and all of them when the emulator stops (`on_shutdown`),
so that a browser left open never holds the shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from collections.abc import Callable
from typing import Any

from aiohttp import web

from voxsim.store import Store

REFRESH = 1.0
"""Seconds between recomputations when nothing in the store changed."""
COALESCE = 0.05
"""Seconds a stream waits after a change, so that a burst of writes makes one message."""
KEEPALIVE = 15.0
"""Seconds of silence after which a stream sends a comment (and so finds out that its client left)."""


class ChangeWaiter:
    """Wakes up on a committed change of the store, after `timeout`, or when the emulator stops."""

    def __init__(self, store: Store) -> None:
        self._event = asyncio.Event()
        self.closing = False
        self._unsubscribe = store.subscribe(self._event.set)

    async def wait(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout)
        self._event.clear()

    def stop(self) -> None:
        self.closing = True
        self._event.set()

    def close(self) -> None:
        self._unsubscribe()


WAITERS = web.AppKey[set[ChangeWaiter]]("console_waiters")
STOPPING = web.AppKey("console_stopping", asyncio.Event)
"""Set when the emulator stops: the audio streams end too."""


def install(app: web.Application) -> None:
    app[WAITERS] = set()
    app[STOPPING] = asyncio.Event()
    app.on_shutdown.append(_stop_streams)


async def _stop_streams(app: web.Application) -> None:
    app[STOPPING].set()
    waiters: set[ChangeWaiter] = app[WAITERS]
    for waiter in list(waiters):
        waiter.stop()


def sse(event: str, document: str) -> bytes:
    """One server-sent event; JSON has no raw newlines, so `data` is one line."""
    return f"event: {event}\ndata: {document}\n\n".encode()


async def stream(request: web.Request, store: Store, event: str,
                 compute: Callable[[], dict[str, Any]]) -> web.StreamResponse:
    """Sends `compute()` as `event` now and whenever it changes, until the client leaves or the emulator stops."""
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                           "X-Accel-Buffering": "no"})
    await response.prepare(request)
    waiter = ChangeWaiter(store)
    request.app[WAITERS].add(waiter)
    last, quiet = "", 0.0
    try:
        while not waiter.closing:
            document = json.dumps(compute(), ensure_ascii=False, default=str)
            if document != last:
                await response.write(sse(event, document))
                last, quiet = document, 0.0
            elif quiet >= KEEPALIVE:
                await response.write(b": keep-alive\n\n")
                quiet = 0.0
            await waiter.wait(REFRESH)
            await asyncio.sleep(COALESCE)
            quiet += REFRESH
    except (ConnectionResetError, sqlite3.ProgrammingError):  # the client left, or the store closed at shutdown
        pass
    finally:
        waiter.close()
        request.app[WAITERS].discard(waiter)
    return response
