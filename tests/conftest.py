"""Fixtures every test folder may use: `store` (an in-memory store with two accounts) and `receiver` (a
local HTTP server recording account callbacks). voxsim.testing adds the emulator fixtures: installing voxsim
registers it (its `pytest11` entry point), so naming it in `pytest_plugins` too would register it twice."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web

from mock_api.app import bound_port
from voxsim.store import Store


@pytest.fixture
def store() -> Iterator[Store]:
    """An in-memory store with account 1 ("acc") and account 2 ("other")."""
    s = Store()
    s.create_account(1, "acc", "a@example.com", "key")
    s.create_account(2, "other", "o@example.com", "key2")
    yield s
    s.close()


@dataclass
class Receiver:
    """A local HTTP server that records callback POSTs to `url`; `statuses` answers the next ones."""

    url: str = ""
    posts: list[tuple[float, dict[str, str], Any]] = field(default_factory=list)
    """(arrival time by time.monotonic(), headers, JSON body) of each POST."""
    statuses: list[int] = field(default_factory=list)
    got: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def callbacks(self) -> list[Any]:
        """Every callback of every POST in arrival order (a body is `{"callbacks": [...]}`)."""
        return [c for _, _, body in self.posts for c in body.get("callbacks", [])]

    async def handle(self, request: web.Request) -> web.Response:
        self.posts.append((time.monotonic(), dict(request.headers), await request.json()))
        self.got.set()
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200, text="OK")


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    state = Receiver()
    app = web.Application()
    app.router.add_post("/hook", state.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state.url = f"http://127.0.0.1:{bound_port(site)}/hook"
    try:
        yield state
    finally:
        await runner.cleanup()
