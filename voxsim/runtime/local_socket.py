"""WebSockets that never leave the process: what a scenario opens to `wss://local/<vendor>`.

On the platform every voice-AI client (`OpenAI.createRealtimeAPIClient`, `Ultravox.createWebSocketAPIClient`, ...)
is an ordinary VoxEngine WebSocket to a connector service at `wss://local/<vendor>`; voxsim keeps that shape. A
`LocalSocket` is the scenario's end, with the part of aiohttp's client WebSocket that `websocket.py` uses
(`receive`, `send_str`, `close`, `protocol`, `close_code`), so a local socket is read and written exactly like a
remote one. `ServerEnd` is the connector's end. `ConnectorLink` is what a connector gets: its end of the socket,
the creation headers, the session's log, and the scenario's media unit for the socket (`ConnectorUnit`: whether
the agent's audio is still playing, and what the caller says).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp

__all__ = ["LOCAL_PREFIXES", "ConnectorEnd", "ConnectorLink", "ConnectorMedia", "Connectors", "LocalSocket",
           "ServerEnd", "local_vendor", "socket_pair"]

LOCAL_PREFIXES = ("wss://local/", "ws://local/")
MAX_PENDING = 10_000  # frames one side has not read yet: beyond, the other side is told it is too slow


def local_vendor(url: str) -> str | None:
    """`openai` for `wss://local/openai` (query and trailing slash ignored), None for any other URL."""
    for prefix in LOCAL_PREFIXES:
        if url.startswith(prefix):
            return url[len(prefix):].split("?", 1)[0].strip("/").lower() or None
    return None


_Item = aiohttp.WSMessage


class _Pipe:
    """One direction of the socket."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[_Item] = asyncio.Queue()
        self.closed = False

    def put(self, item: _Item) -> None:
        if not self.closed:
            self.queue.put_nowait(item)


class LocalSocket:
    """The scenario's end (see the module docstring)."""

    def __init__(self, inbound: _Pipe, outbound: _Pipe) -> None:
        self._in, self._out = inbound, outbound
        self.protocol: str | None = None
        self.close_code: int | None = None

    async def __aenter__(self) -> LocalSocket:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._in.closed = True

    def exception(self) -> BaseException | None:
        return None

    async def receive(self) -> aiohttp.WSMessage:
        item = await self._in.queue.get()
        if item.type == aiohttp.WSMsgType.CLOSE:
            self.close_code = int(item.data)
        return item

    async def send_str(self, text: str) -> None:
        if self._out.closed:
            raise ConnectionError("the connector closed the socket")
        self._out.put(aiohttp.WSMessage(aiohttp.WSMsgType.TEXT, text, None))

    async def close(self, *, code: int = 1000, message: bytes = b"") -> bool:
        if not self._out.closed:
            self._out.put(aiohttp.WSMessage(aiohttp.WSMsgType.CLOSE, code, message.decode(errors="replace")))
            self._out.closed = True
        if self.close_code is None:  # the connector answers our close at once
            self.close_code = code
            self._in.put(aiohttp.WSMessage(aiohttp.WSMsgType.CLOSE, code, message.decode(errors="replace")))
        return True


class ServerEnd:
    """The connector's end: `receive()` gives the scenario's text frames (None once it closed), `send_text` /
    `send_binary` answer, `close(code, reason)` ends the socket (the scenario sees `WebSocket.Close`)."""

    def __init__(self, inbound: _Pipe, outbound: _Pipe) -> None:
        self._in, self._out = inbound, outbound
        self.close_code: int | None = None
        self.close_reason = ""

    @property
    def closed(self) -> bool:
        return self._out.closed

    async def receive(self) -> str | None:
        item = await self._in.queue.get()
        if item.type == aiohttp.WSMsgType.CLOSE:
            self.close_code, self.close_reason = int(item.data), str(item.extra or "")
            self.close()
            return None
        return str(item.data)

    def send_text(self, text: str) -> None:
        self._out.put(aiohttp.WSMessage(aiohttp.WSMsgType.TEXT, text, None))

    def send_binary(self, data: bytes) -> None:
        self._out.put(aiohttp.WSMessage(aiohttp.WSMsgType.BINARY, data, None))

    def close(self, code: int = 1000, reason: str = "") -> None:
        if not self._out.closed:
            self._out.put(aiohttp.WSMessage(aiohttp.WSMsgType.CLOSE, code, reason))
            self._out.closed = True
        self._in.put(aiohttp.WSMessage(aiohttp.WSMsgType.CLOSE, code, reason))  # wakes our own reader


def socket_pair() -> tuple[LocalSocket, ServerEnd]:
    to_server, to_client = _Pipe(), _Pipe()
    return LocalSocket(to_client, to_server), ServerEnd(to_server, to_client)


class ConnectorEnd(Protocol):
    """The connector's end of a client's socket (`ServerEnd` here; `voxsim agent serve` has its own)."""

    @property
    def closed(self) -> bool: ...
    async def receive(self) -> str | None: ...
    def send_text(self, text: str) -> None: ...
    def close(self, code: int = 1000, reason: str = "") -> None: ...


class ConnectorMedia(Protocol):
    """The client's media as its connector sees it (`ConnectorUnit`): whether the agent's audio still plays, and
    where what the caller says is reported (ASREvents names: CaptureStarted, Result {text})."""

    on_caller: Callable[[str, dict[str, Any]], None] | None

    @property
    def playing(self) -> bool: ...


@dataclass
class ConnectorLink:
    """What a connector serves: one scenario client of `vendor` (see the module docstring)."""

    vendor: str
    url: str
    headers: dict[str, str]
    session_id: int
    server: ConnectorEnd
    unit: ConnectorMedia
    write_log: Callable[[str], None] = lambda _: None
    time_scale: float = 1.0  # the session's virtual time: the connector's own clock runs this much faster


class Connectors(Protocol):
    """The voice-AI connectors of the emulator (voxsim.voice_ai implements it; the composition root plugs it in)."""

    def vendors(self) -> frozenset[str]:
        """The `<vendor>` of every `wss://local/<vendor>` served."""

    def serve(self, link: ConnectorLink) -> asyncio.Task[None]:
        """Starts serving `link` on a task of its own, which ends when the socket closes."""
