"""VoxEngine.createWebSocket: a real client WebSocket (aiohttp), opened and read by Python, never by JS.

Each WebSocket of a scenario is a `WebSocketUnit` in the media graph (`voxsim.media.websocket_unit`: call audio to
the server as the platform's JSON media messages, the server's audio into a buffer the graph's tick plays) and one
connection task here that connects, then reads; a writer task sends what the scenario (`send`) and the unit
(media messages) queued. No task per frame: the reader only fills the unit's buffer.

Events, as `UnitEvent(Kind.WEBSOCKET, id, name, payload)` with the `WebSocketEvents` values of the typings:
`WebSocket.Created` at once, `WebSocket.Open` ({protocol}) once connected, `WebSocket.Message` ({text}) for each
text message that is not a media message, `WebSocket.MediaEventStarted`/`MediaEventEnded` from the unit,
`WebSocket.Error` ({reason}) when the connection fails, and `WebSocket.Close` ({code, reason, wasClean}) last,
whoever closed. Messages sent before the socket opened go out once it has. When the session ends every socket is
closed (1000, "the session ended") without events.

Inbound: once the scenario called `VoxEngine.allowWebSocketConnections()`, a client's WebSocket to the session's
access URL is `accept`ed (the HTTP door hands over its server socket, `ServerWebSocket`); the session fires
`AppEvents.WebSocket` with it, and from then on it is a socket like the others (`WebSocket.Open` first).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import aiohttp

from voxsim.media.connector_unit import ConnectorUnit
from voxsim.media.websocket_unit import WebSocketUnit
from voxsim.runtime.local_socket import ConnectorLink, Connectors, LocalSocket, local_vendor, socket_pair
from voxsim.runtime.media import SessionMedia
from voxsim.runtime.protocol import Kind, UnitEvent

__all__ = ["CLOSE_ABNORMAL", "WS_CLOSE", "WS_CREATED", "WS_ERROR", "WS_MESSAGE", "WS_OPEN", "ServerWebSocket",
           "SessionWebSockets"]

log = logging.getLogger(__name__)

WS_OPEN = "WebSocket.Open"
WS_CLOSE = "WebSocket.Close"
WS_MESSAGE = "WebSocket.Message"
WS_ERROR = "WebSocket.Error"
WS_CREATED = "WebSocket.Created"
CLOSE_NORMAL = 1000
CLOSE_ABNORMAL = 1006  # WebSocketCloseCode.CLOSE_ABNORMAL: no close frame came
CONNECT_TIMEOUT = 10.0
CLOSE_TIMEOUT = 2.0
MAX_QUEUED = 1500  # messages waiting for the socket (30 s of 20 ms media): beyond, a slow server loses media

Emit = Callable[[UnitEvent], None]


class ServerWebSocket(Protocol):
    """The server side of a WebSocket a client opened (aiohttp's `web.WebSocketResponse`)."""

    @property
    def close_code(self) -> int | None: ...
    @property
    def ws_protocol(self) -> str | None: ...
    async def receive(self) -> aiohttp.WSMessage: ...
    async def send_str(self, data: str) -> None: ...
    async def close(self, *, code: int = 1000, message: bytes = b"") -> bool: ...
    def exception(self) -> BaseException | None: ...


class _Accepted:
    """A `ServerWebSocket` read and written like a client socket."""

    def __init__(self, ws: ServerWebSocket) -> None:
        self._ws = ws
        self.protocol = ws.ws_protocol

    async def __aenter__(self) -> _Accepted:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    @property
    def close_code(self) -> int | None:
        return self._ws.close_code

    def exception(self) -> BaseException | None:
        return self._ws.exception()

    async def receive(self) -> aiohttp.WSMessage:
        return await self._ws.receive()

    async def send_str(self, text: str) -> None:
        await self._ws.send_str(text)

    async def close(self, *, code: int = 1000, message: bytes = b"") -> bool:
        return await self._ws.close(code=code, message=message)


class _Close:
    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason


class _Connection:
    """One scenario WebSocket: its unit in the graph, its connection and writer tasks."""

    def __init__(self, ws_id: str, url: str, protocols: list[str], headers: dict[str, str], owner: SessionWebSockets,
                 chunk_ms: int, vendor: str | None = None, accepted: ServerWebSocket | None = None) -> None:
        self.ws_id = ws_id
        self.url = url
        self.protocols = protocols
        self.headers = headers
        self.owner = owner
        self.vendor = vendor  # `wss://local/<vendor>`: a voice-AI connector inside voxsim serves it
        self.accepted = _Accepted(accepted) if accepted is not None else None  # a client's socket, already open
        unit_class = ConnectorUnit if vendor is not None else WebSocketUnit
        self.unit = unit_class(self.queue, lambda name, payload: self.event(name, payload), chunk_ms=chunk_ms)
        self.ref = f"websocket:{ws_id}"
        self.closing: _Close | None = None
        self.closed = False
        self.silent = False  # the session ended: no more events
        self._outbox: asyncio.Queue[str | _Close] = asyncio.Queue()
        self._overflowed = False
        self.task = asyncio.get_running_loop().create_task(self._run())

    def event(self, name: str, payload: dict[str, Any]) -> None:
        if not self.silent:
            self.owner.emit(UnitEvent(Kind.WEBSOCKET, self.ws_id, name, payload))

    def queue(self, text: str) -> None:
        if self.closed or self.closing is not None:
            return
        if self._outbox.qsize() >= MAX_QUEUED:
            if not self._overflowed:
                self._overflowed = True
                self.owner.write_log(f"[voxsim] WebSocket {self.ws_id}: the server reads too slowly, "
                                     f"{MAX_QUEUED} messages wait; newer ones are dropped")
            return
        self._overflowed = False
        self._outbox.put_nowait(text)

    def close(self, code: int, reason: str) -> None:
        if self.closed or self.closing is not None:
            return
        self.closing = _Close(code, reason)
        self._outbox.put_nowait(self.closing)

    async def _run(self) -> None:
        try:
            if self.accepted is not None:
                await self._opened(self.accepted)
            elif self.vendor is not None:
                await self._opened(self._connect_local())
            else:
                async with aiohttp.ClientSession() as http:
                    await self._connected(http)
        except Exception:  # the session must hear Close whatever broke
            log.exception("WebSocket %s of session %s failed", self.ws_id, self.owner.session_id)
            self._ended(CLOSE_ABNORMAL, "internal error", False)
        finally:
            self.closed = True
            self.unit.open = False
            self.owner.finished(self)

    async def _connected(self, http: aiohttp.ClientSession) -> None:
        try:
            ws = await asyncio.wait_for(http.ws_connect(
                self.url, protocols=self.protocols, headers=self.headers, autoping=True,
                timeout=aiohttp.ClientWSTimeout(ws_close=CLOSE_TIMEOUT)), CONNECT_TIMEOUT)
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
            reason = f"cannot connect to {self.url}: {exc or type(exc).__name__}"
            self.owner.write_log(f"[voxsim] WebSocket {self.ws_id}: {reason}")
            self.event(WS_ERROR, {"reason": reason})
            self._ended(CLOSE_ABNORMAL, reason, False)
            return
        await self._opened(ws)

    def _connect_local(self) -> LocalSocket | str:
        """The socket to the connector of `self.vendor`, or why there is none."""
        connectors = self.owner.connectors
        if connectors is None or self.vendor not in connectors.vendors():
            return f"{self.url}: voxsim has no connector for {self.vendor!r} (the voice-AI connector is not emulated)"
        client, server = socket_pair()
        assert isinstance(self.unit, ConnectorUnit)
        link = ConnectorLink(self.vendor or "", self.url, dict(self.headers), self.owner.session_id, server, self.unit,
                             self.owner.write_log, time_scale=self.owner.time_scale)
        task = connectors.serve(link)
        self.owner.serving.add(task)
        task.add_done_callback(self.owner.serving.discard)
        return client

    async def _opened(self, ws: aiohttp.ClientWebSocketResponse | LocalSocket | _Accepted | str) -> None:
        if isinstance(ws, str):  # a local socket nobody serves
            self.owner.write_log(f"[voxsim] WebSocket {self.ws_id}: {ws}")
            self.event(WS_ERROR, {"reason": ws})
            self._ended(CLOSE_ABNORMAL, ws, False)
            return
        async with ws:
            if self.closing is not None:  # close() before the socket opened
                await ws.close(code=self.closing.code, message=self.closing.reason.encode())
                self._ended(self.closing.code, self.closing.reason, True)
                return
            self.unit.open = True
            self.event(WS_OPEN, {"protocol": ws.protocol or ""})
            writer = asyncio.get_running_loop().create_task(self._write(ws))
            code, reason = await self._read(ws)
            self.unit.open = False
            if self.closing is not None:  # we closed: the writer is finishing the close handshake
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(writer, CLOSE_TIMEOUT + 1)
                code, reason = self.closing.code, self.closing.reason
            writer.cancel()
            self._ended(code or ws.close_code or CLOSE_ABNORMAL, reason, (code or ws.close_code) != CLOSE_ABNORMAL)

    async def _read(self, ws: aiohttp.ClientWebSocketResponse | LocalSocket | _Accepted) -> tuple[int | None, str]:
        """Reads until the socket closes: (the close code, reason) the server sent, or (None, why)."""
        while True:
            msg = await ws.receive()
            if msg.type == aiohttp.WSMsgType.TEXT:
                if not self.unit.receive_text(msg.data):
                    self.event(WS_MESSAGE, {"text": msg.data})
            elif msg.type == aiohttp.WSMsgType.BINARY:
                self.unit.receive_binary(msg.data)
            elif msg.type == aiohttp.WSMsgType.CLOSE:
                return int(msg.data), str(msg.extra or "")
            elif msg.type == aiohttp.WSMsgType.ERROR:
                reason = f"the connection broke: {ws.exception()!r}"
                self.event(WS_ERROR, {"reason": reason})
                return None, reason
            elif msg.type in (aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED):
                return None, ""

    async def _write(self, ws: aiohttp.ClientWebSocketResponse | LocalSocket | _Accepted) -> None:
        while True:
            item = await self._outbox.get()
            if isinstance(item, _Close):
                await ws.close(code=item.code, message=item.reason.encode())
                return
            try:
                await ws.send_str(item)
            except (aiohttp.ClientError, ConnectionError, RuntimeError):
                return  # the reader sees the socket go

    def _ended(self, code: int, reason: str, clean: bool) -> None:
        self.event(WS_CLOSE, {"code": code, "reason": reason, "wasClean": clean})


class SessionWebSockets:
    """A session's WebSockets, by the id the shim gave them (`websocket.*` commands)."""

    def __init__(self, session_id: int, media: SessionMedia, emit: Emit,
                 write_log: Callable[[str], None] = lambda _: None, chunk_ms: int = 20,
                 connectors: Connectors | None = None, time_scale: float = 1.0) -> None:
        self.session_id = session_id
        self.time_scale = time_scale
        self.connectors = connectors
        self.serving: set[asyncio.Task[None]] = set()  # connector tasks (they end with their socket)
        self.allow_inbound = False  # VoxEngine.allowWebSocketConnections() was called
        self._inbound = 0
        self.media = media
        self.emit = emit
        self.write_log = write_log
        self.chunk_ms = chunk_ms
        self._connections: dict[str, _Connection] = {}
        self._closing: set[asyncio.Task[None]] = set()

    def create(self, ws_id: str, url: str, protocols: list[str], headers: Mapping[str, str]) -> None:
        if ws_id in self._connections:
            return
        vendor = local_vendor(url)
        if vendor is not None:  # the platform's log line for a connector's socket
            self.write_log(f"CreateWebSocket {ws_id} {url} {{headers=******}}")
        connection = _Connection(ws_id, url, protocols, dict(headers), self, self.chunk_ms, vendor)
        self._connections[ws_id] = connection
        self.media.add_unit(connection.ref, connection.unit)
        connection.event(WS_CREATED, {})

    def next_inbound_id(self) -> str:
        self._inbound += 1
        return f"inbound-ws{self._inbound}"

    def inbound_count(self) -> int:
        return sum(1 for c in self._connections.values() if c.accepted is not None)

    def accept(self, ws_id: str, path: str, socket: ServerWebSocket, headers: dict[str, str]) -> asyncio.Task[None]:
        """A client's socket to the access URL becomes the scenario's WebSocket `ws_id`; the task ends with it."""
        connection = _Connection(ws_id, path, [], headers, self, self.chunk_ms, accepted=socket)
        self._connections[ws_id] = connection
        self.media.add_unit(connection.ref, connection.unit)
        return connection.task

    def _live(self, ws_id: str, what: str) -> _Connection | None:
        connection = self._connections.get(ws_id)
        if connection is None or connection.closed or connection.closing is not None:
            self.write_log(f"[voxsim] WebSocket.{what} on a WebSocket that is closed: ignored")
            return None
        return connection

    def send(self, ws_id: str, text: str) -> None:
        connection = self._live(ws_id, "send")
        if connection is not None:
            connection.queue(text)

    def close(self, ws_id: str, code: int = CLOSE_NORMAL, reason: str = "") -> None:
        connection = self._live(ws_id, "close")
        if connection is not None:
            connection.unit.end_stream()
            connection.close(code, reason)

    def clear_media_buffer(self, ws_id: str) -> None:
        connection = self._connections.get(ws_id)
        if connection is not None:
            connection.unit.clear()

    def finished(self, connection: _Connection) -> None:
        if self._connections.get(connection.ws_id) is connection:
            del self._connections[connection.ws_id]
        self.media.remove_unit(connection.ref)

    def close_all(self) -> None:
        """The session ends: every socket closes (1000) with no more events; the handshakes finish on their own."""
        for connection in list(self._connections.values()):
            connection.silent = True
            connection.unit.end_stream()
            connection.close(CLOSE_NORMAL, "the session ended")
            if not connection.unit.open:  # still connecting: nothing to close cleanly
                connection.task.cancel()
