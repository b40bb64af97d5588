"""Asyncio transports for SIP over UDP, TCP and TLS (RFC 3261 section 18, RFC 3581): they only move bytes.

`SipTransport` owns one endpoint's sockets: at most one UDP endpoint, one TCP server and one TLS
server, plus the stream connections it accepted or opened. What it does:

- incoming bytes are parsed with `parse_message` (UDP: one datagram; TCP/TLS: one `StreamFramer`
  frame) and handed to the `on_message(message, source)` callback. The top Via of a request gets
  `received` (and `rport` when the client asked for it, RFC 3581) from the real source address.
- a request that cannot be parsed is answered when `SipParseError` carries a status and enough of
  the request to build a response (400 with the reason, 413, 505...), sent straight back to where it
  came from; otherwise it is dropped. A stream whose framing broke is closed after that answer.
  No peer input and no exception of the callback ever stops a listener.
- `send(message, dest)` sends a request to `dest`; a response is routed by its top Via (RFC 3261
  18.2.2): over TCP/TLS back on the connection it came from while it is open, else to the Via's
  `received`/`rport` or sent-by.
- stream connections are kept in a table keyed by remote `Address` (and by the Via sent-by of a
  request carrying `;alias`, RFC 5923), so responses and later requests to the same peer reuse
  them; a connection idle for `idle_timeout` seconds is closed.
- limits, so that a flood or a slow peer cannot exhaust the process: at most `max_connections` accepted
  connections in all and `max_connections_per_source` from one address (beyond them a new connection is
  closed at once, and said in the log once a minute per address, not per attempt); a message whose head and
  body have not all arrived `head_timeout` seconds after its first byte closes the connection (a client
  trickling a byte at a time holds nothing for ever); a TLS handshake not done in `tls_handshake_timeout`
  seconds is dropped.

The transport knows nothing of transactions or dialogs; sans-IO layers above it decide what to send.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from sip_edge.headers import HeaderError, Via, split_commas
from sip_edge.message import (
    Headers,
    Message,
    Request,
    Response,
    SipParseError,
    StreamFramer,
    make_response,
    parse_message,
    serialize,
)
from sip_edge.uri import SipURI, format_host

__all__ = ["Address", "MessageHandler", "SipTransport", "SipTransportError", "free_port_pair", "stamp_received"]

log = logging.getLogger(__name__)

RELIABLE = frozenset({"tcp", "tls"})
DEFAULT_PORTS = {"udp": 5060, "tcp": 5060, "tls": 5061}


@dataclass(frozen=True)
class Address:
    """A transport address: where a message came from or goes to.

    `transport` is "udp", "tcp" or "tls" (lower case). For streams it also names the connection:
    the transport keeps its connections keyed by Address.
    """

    transport: str
    host: str
    port: int

    @property
    def reliable(self) -> bool:
        return self.transport in RELIABLE

    @classmethod
    def from_uri(cls, uri: SipURI | str) -> Address:
        """Where to send a request for `uri`: its maddr or host, port and transport (no DNS, no RFC 3263)."""
        parsed = SipURI.parse(uri) if isinstance(uri, str) else uri
        transport = parsed.transport
        host = parsed.params.get("maddr") or parsed.host
        return cls(transport, host, parsed.port or DEFAULT_PORTS.get(transport, 5060))

    def __str__(self) -> str:
        return f"{self.transport}:{format_host(self.host)}:{self.port}"


MessageHandler = Callable[[Message, Address], None]
TraceHandler = Callable[[str, Message, bytes, Address], None]
"""`(direction, message, data, address)`: "in" for a message parsed from `address`, "out" for one sent to it."""


class SipTransportError(OSError):
    """A message could not be sent (connection refused or lost, no listener for the transport...)."""


# ------------------------------------------------------------------------------------------ helpers


def stamp_received(request: Request, host: str, port: int) -> None:
    """Adds `received` (and `rport` when asked for, RFC 3581) to the request's top Via (RFC 3261 18.2.1)."""
    lines = request.headers.get_lines("Via")
    if not lines:
        return
    values = split_commas(lines[0])
    try:
        via = Via.parse(values[0])
    except (HeaderError, IndexError):
        return
    via.stamp_received(host, port)
    values[0] = str(via)
    rebuilt = Headers()
    replaced = False
    for name, value in request.headers.items():
        if not replaced and name.lower() == "via":
            value, replaced = ", ".join(values), True
        rebuilt.add(name, value)
    request.headers = rebuilt


def _top_via(message: Message) -> Via | None:
    try:
        return message.top_via
    except HeaderError:
        return None


def _peer(sockname: tuple[Any, ...]) -> tuple[str, int]:
    """(host, port) of a socket address; IPv6 ones carry flowinfo and scope id after those."""
    return sockname[0], sockname[1]


# ------------------------------------------------------------------------------------------ protocols

# What a protocol hands its SipTransport: the bytes of one message, where they came from, and the
# stream they arrived on (None for a datagram).
Deliver = Callable[[bytes, "Address", "_Stream | None"], None]


@dataclass(frozen=True)
class _StreamEvents:
    """What a connection tells its SipTransport about itself."""

    opened: Callable[[_Stream, Address], None]  # connected; known by that remote address
    deliver: Deliver  # one framed message
    broken: Callable[[SipParseError, Address, _Stream | None], None]  # the framing broke: answer, then it closes
    closed: Callable[[_Stream], None]


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, deliver: Deliver) -> None:
        self.deliver = deliver
        self.transport: asyncio.DatagramTransport | None = None
        self.closed = asyncio.get_running_loop().create_future()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A datagram endpoint's protocol is always given a DatagramTransport.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        host, port = _peer(addr)
        self.deliver(data, Address("udp", host, port), None)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable and the like: the transaction layer's timers deal with the loss.
        log.debug("UDP error: %s", exc)


class _Stream(asyncio.Protocol):
    """One TCP or TLS connection: frames the byte stream into messages."""

    def __init__(self, transport_name: str, events: _StreamEvents, idle_timeout: float, *,
                 head_timeout: float = 0.0, accepted: bool = False) -> None:
        self.events = events
        self.idle_timeout = idle_timeout
        self.head_timeout = head_timeout
        self.accepted = accepted  # the peer connected to us (our listeners' limits apply)
        self.name = transport_name
        self.framer = StreamFramer()
        self.transport: asyncio.Transport | None = None
        self.address: Address | None = None
        self.keys: set[Address] = set()
        self.closed = asyncio.get_running_loop().create_future()
        self._last_activity = 0.0
        self._crlfs = 0  # CRLF bytes seen between messages, to spot a keep-alive ping
        self._idle_handle: asyncio.TimerHandle | None = None
        self._partial_since: float | None = None  # when the message being received began
        self._head_handle: asyncio.TimerHandle | None = None

    # -- asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream server's or connection's protocol is always given a Transport (TCP or TLS).
        self.transport = cast(asyncio.Transport, transport)
        host, port = _peer(transport.get_extra_info("peername"))
        self.address = Address(self.name, host, port)
        self._touch()
        self.events.opened(self, self.address)

    def data_received(self, data: bytes) -> None:
        address = self.address
        if address is None:  # asyncio calls connection_made first: never happens
            return
        self._touch()
        if self.framer.buffered == 0:
            self._keepalive(data)
        try:
            frames = self.framer.feed(data)
        except SipParseError as exc:
            # Framing is lost for good: answer what can be answered, then hang up.
            self.events.broken(exc, address, self)
            self.close()
            return
        self._watch_partial(bool(frames))
        for frame in frames:
            self.events.deliver(frame, address, self)

    def _watch_partial(self, completed: bool) -> None:
        """Times the message being received: it must be whole within `head_timeout` of its first byte."""
        if self.framer.buffered == 0:
            self._partial_since = None
            return
        if self._partial_since is None or completed:
            loop = asyncio.get_running_loop()
            self._partial_since = loop.time()
            if self.head_timeout and self._head_handle is None:
                self._head_handle = loop.call_later(self.head_timeout, self._check_head)

    def _check_head(self) -> None:
        self._head_handle = None
        if self._partial_since is None:
            return
        remaining = self._partial_since + self.head_timeout - asyncio.get_running_loop().time()
        if remaining <= 0:
            log.info("closing %s: a message still incomplete after %g s", self.address, self.head_timeout)
            self.close()
        else:
            self._head_handle = asyncio.get_running_loop().call_later(remaining, self._check_head)

    def _keepalive(self, data: bytes) -> None:
        """RFC 5626 4.4.1: a CRLFCRLF between messages is a ping, answered with a CRLF pong."""
        rest = data.lstrip(b"\r\n")
        self._crlfs += len(data) - len(rest)
        if self._crlfs >= 4:
            self.write(b"\r\n")
            self._crlfs = 0
        if rest:
            self._crlfs = 0

    def connection_lost(self, exc: Exception | None) -> None:
        for handle in (self._idle_handle, self._head_handle):
            if handle is not None:
                handle.cancel()
        self.events.closed(self)
        if not self.closed.done():
            self.closed.set_result(None)

    # -- ours

    @property
    def is_open(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    def write(self, data: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            raise SipTransportError(f"connection to {self.address} is closed")
        self._touch()
        self.transport.write(data)

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def _touch(self) -> None:
        loop = asyncio.get_running_loop()
        self._last_activity = loop.time()
        if self._idle_handle is None and self.idle_timeout:
            self._idle_handle = loop.call_later(self.idle_timeout, self._check_idle)

    def _check_idle(self) -> None:
        loop = asyncio.get_running_loop()
        remaining = self._last_activity + self.idle_timeout - loop.time()
        if remaining <= 0:
            log.debug("closing idle connection %s", self.address)
            self._idle_handle = None
            self.close()
        else:
            self._idle_handle = loop.call_later(remaining, self._check_idle)


# ------------------------------------------------------------------------------------------ transport


class SipTransport:
    """The sockets of one SIP endpoint. See the module docstring.

    `on_message(message, source)` is called for every parsed message; `source` is the Address it
    came from (for a stream: the connection's key, so `send(..., source)` answers on it).
    `on_trace`, when set, sees every message as it went over the wire: each one parsed ("in") and each one
    `send` sent ("out", retransmissions included), with its bytes (a SIP ladder, a capture).
    `client_ssl` is the context for TLS connections we open (the server context is given to
    `listen_tls`). Port 0 binds any free port; `ports` tells which.
    """

    def __init__(
        self,
        on_message: MessageHandler,
        *,
        idle_timeout: float = 300.0,
        client_ssl: ssl.SSLContext | None = None,
        connect_timeout: float = 5.0,
        max_connections: int = 2048,
        max_connections_per_source: int = 128,
        head_timeout: float = 10.0,
        tls_handshake_timeout: float = 10.0,
    ) -> None:
        self.on_message = on_message
        self.on_trace: TraceHandler | None = None
        self.idle_timeout = idle_timeout
        self.max_connections = max_connections
        self.max_connections_per_source = max_connections_per_source
        self.head_timeout = head_timeout
        self.tls_handshake_timeout = tls_handshake_timeout
        self.refused = 0  # connections closed at once for a limit
        self._refusals_logged: dict[str, float] = {}
        self.client_ssl = client_ssl
        self.connect_timeout = connect_timeout
        self._udp: asyncio.DatagramTransport | None = None
        self._udp_protocol: _Datagrams | None = None
        self._servers: dict[str, asyncio.base_events.Server] = {}
        self._hosts: dict[str, str] = {}
        self.ports: dict[str, int] = {}
        self._connections: dict[Address, _Stream] = {}
        self._streams: set[_Stream] = set()
        self._connecting: dict[Address, asyncio.Future[_Stream]] = {}
        self._stream_events = _StreamEvents(self._register, self._deliver, self._answer_parse_error, self._unregister)

    # -- listening

    async def listen_udp(self, host: str, port: int = 0) -> int:
        """Binds the UDP endpoint (it answers any peer) and returns its port."""
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.create_datagram_endpoint(
            lambda: _Datagrams(self._deliver), local_addr=(host, port)
        )
        self._udp, self._udp_protocol = transport, protocol
        return self._bound("udp", host, transport.get_extra_info("sockname"))

    async def listen_tcp(self, host: str, port: int = 0) -> int:
        """Starts the TCP server and returns its port."""
        return await self._listen_stream("tcp", host, port, None)

    async def listen_tls(self, host: str, port: int, ssl_context: ssl.SSLContext) -> int:
        """Starts the TLS server with `ssl_context` (a server context holding the certificate) and returns its port."""
        return await self._listen_stream("tls", host, port, ssl_context)

    async def _listen_stream(self, name: str, host: str, port: int, context: ssl.SSLContext | None) -> int:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: self._new_stream(name, accepted=True), host, port, ssl=context, reuse_address=True,
            ssl_handshake_timeout=self.tls_handshake_timeout if context is not None else None)
        self._servers[name] = server
        return self._bound(name, host, server.sockets[0].getsockname())

    def _bound(self, name: str, host: str, sockname: tuple[Any, ...]) -> int:
        port: int = sockname[1]
        self._hosts[name] = host
        self.ports[name] = port
        return port

    def local_address(self, transport: str) -> tuple[str, int] | None:
        """(host, port) of our listener for `transport`, as bound (for Via sent-by and Contact)."""
        name = transport.lower()
        return (self._hosts[name], self.ports[name]) if name in self.ports else None

    @property
    def connections(self) -> dict[Address, _Stream]:
        """The open stream connections by remote address (read-only view, for tests and diagnostics)."""
        return dict(self._connections)

    async def close(self) -> None:
        """Closes every socket; pending sends fail."""
        for future in self._connecting.values():
            future.cancel()
        for server in self._servers.values():
            server.close()
        streams = list(self._streams)
        for stream in streams:
            stream.abort()
        if streams:
            await asyncio.wait([stream.closed for stream in streams], timeout=2)
        for server in self._servers.values():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2)
        self._servers.clear()
        if self._udp is not None and self._udp_protocol is not None:
            self._udp.close()
            # The socket is released on the next loop turn: wait, so the port can be bound again at once.
            await asyncio.wait([self._udp_protocol.closed], timeout=2)
            self._udp = self._udp_protocol = None

    # -- sending

    async def send(self, message: Message, dest: Address | None = None) -> Address:
        """Sends `message`; returns the Address it went to.

        A request goes to `dest`. A response goes where RFC 3261 18.2.2 says, `dest` being the
        address the request came from. Raises SipTransportError when it cannot be sent.
        """
        data = serialize(message)
        if isinstance(message, Response):
            dest = self.response_destination(message, dest)
        if dest is None:
            raise SipTransportError("no destination for the message")
        await self.send_bytes(data, dest)
        self._trace("out", message, data, dest)
        return dest

    def _trace(self, direction: str, message: Message, data: bytes, address: Address) -> None:
        if self.on_trace is None:
            return
        try:
            self.on_trace(direction, message, data, address)
        except Exception:  # a tracer's bug must not lose the message
            log.exception("SIP trace handler failed")

    def response_destination(self, response: Response, source: Address | None) -> Address | None:
        """Where a response goes (RFC 3261 18.2.2, RFC 3581): the request's connection while it is
        open, else the top Via's received/rport or sent-by."""
        via = _top_via(response)
        if via is None:
            return source
        transport = via.transport.lower()
        if transport in RELIABLE:
            if source is not None and source in self._connections and self._connections[source].is_open:
                return source
            host = via.received or via.host
            return Address(transport, host, via.port or DEFAULT_PORTS[transport])
        if transport != "udp":
            return source
        host, port = via.response_address(DEFAULT_PORTS["udp"])
        return Address("udp", host, port)

    async def send_bytes(self, data: bytes, dest: Address) -> None:
        """Sends raw bytes (a serialized message, or anything a test wants to throw at a peer)."""
        if dest.transport == "udp":
            self._send_datagram(data, dest)
            return
        if dest.transport not in RELIABLE:
            raise SipTransportError(f"unsupported transport {dest.transport!r}")
        stream = await self._stream_to(dest)
        stream.write(data)

    def _send_datagram(self, data: bytes, dest: Address) -> None:
        if self._udp is None or self._udp.is_closing():
            raise SipTransportError("no UDP listener to send from")
        try:
            self._udp.sendto(data, (dest.host, dest.port))
        except OSError as exc:
            raise SipTransportError(f"UDP send to {dest} failed: {exc}") from exc

    async def _stream_to(self, dest: Address) -> _Stream:
        stream = self._connections.get(dest)
        if stream is not None and stream.is_open:
            return stream
        pending = self._connecting.get(dest)
        if pending is None:
            pending = asyncio.ensure_future(self._connect(dest))
            self._connecting[dest] = pending
            pending.add_done_callback(lambda _: self._connecting.pop(dest, None))
        try:
            return await asyncio.shield(pending)
        except asyncio.CancelledError:
            if pending.cancelled():
                raise SipTransportError(f"connection to {dest} cancelled") from None
            raise

    async def _connect(self, dest: Address) -> _Stream:
        loop = asyncio.get_running_loop()
        context = None
        if dest.transport == "tls":
            context = self.client_ssl or ssl.create_default_context()
        try:
            _, stream = await asyncio.wait_for(
                loop.create_connection(
                    lambda: self._new_stream(dest.transport), dest.host, dest.port, ssl=context,
                    server_hostname=dest.host if context else None,
                ),
                self.connect_timeout,
            )
        except (TimeoutError, OSError, ssl.SSLError) as exc:
            raise SipTransportError(f"cannot connect to {dest}: {exc!r}") from exc
        # Known by the name we dialled too, which may differ from the peer's socket address.
        self._register(stream, dest)
        return stream

    # -- the connection table

    def _new_stream(self, name: str, accepted: bool = False) -> _Stream:
        return _Stream(name, self._stream_events, self.idle_timeout, head_timeout=self.head_timeout,
                       accepted=accepted)

    def _register(self, stream: _Stream, key: Address) -> None:
        if stream.accepted and self._over_limit(key):
            self.refused += 1
            stream.abort()
            return
        self._streams.add(stream)
        stream.keys.add(key)
        self._connections[key] = stream

    def _over_limit(self, key: Address) -> bool:
        """Whether a new connection from `key` is one too many (logged once a minute per address)."""
        accepted = [s for s in self._streams if s.accepted]
        from_source = sum(1 for s in accepted if s.address is not None and s.address.host == key.host)
        if len(accepted) < self.max_connections and from_source < self.max_connections_per_source:
            return False
        now = asyncio.get_running_loop().time()
        if now - self._refusals_logged.get(key.host, -3600.0) >= 60.0:
            self._refusals_logged[key.host] = now
            log.warning("refusing SIP %s connections from %s: %d open from it, %d in all (limits %d, %d)",
                        key.transport, key.host, from_source, len(accepted),
                        self.max_connections_per_source, self.max_connections)
        return True

    def _unregister(self, stream: _Stream) -> None:
        self._streams.discard(stream)
        for key in stream.keys:
            if self._connections.get(key) is stream:
                del self._connections[key]

    # -- receiving

    def _deliver(self, data: bytes, source: Address, stream: _Stream | None) -> None:
        try:
            message = parse_message(data)
        except SipParseError as exc:
            self._answer_parse_error(exc, source, stream)
            return
        except Exception:  # the parser promises SipParseError only; a bug there must not stop us
            log.exception("parser failed on a message from %s", source)
            return
        if isinstance(message, Request):
            if stream is not None:
                self._alias(message, stream)
            stamp_received(message, source.host, source.port)
        self._trace("in", message, data, source)
        try:
            self.on_message(message, source)
        except Exception:
            log.exception("message handler failed on a message from %s", source)

    def _alias(self, request: Request, stream: _Stream) -> None:
        """RFC 5923: a Via `;alias` lets requests to the sent-by address reuse this connection.

        Only for the connection's own IP address: a peer must not capture traffic meant for another host.
        """
        via = _top_via(request)
        if via is not None and "alias" in via.params and stream.address and via.host == stream.address.host:
            self._register(stream, Address(stream.name, via.host, via.port or DEFAULT_PORTS[stream.name]))

    def _answer_parse_error(self, exc: SipParseError, source: Address, stream: _Stream | None) -> None:
        request = exc.request
        if exc.status is None or request is None or request.method == "ACK" or not request.headers.get("Via"):
            log.debug("dropped unanswerable message from %s: %s", source, exc.reason)
            return
        try:
            stamp_received(request, source.host, source.port)
            response = make_response(request, exc.status, exc.reason, to_tag=secrets.token_hex(6))
            data = serialize(response)
        except Exception as error:  # salvaged headers too broken to echo
            log.debug("cannot answer a bad message from %s: %s", source, error)
            return
        log.info("answered a bad message from %s: %s %s", source, exc.status, exc.reason)
        # Straight back to the source: the Via may be the broken part.
        try:
            if stream is not None:
                stream.write(data)
            else:
                self._send_datagram(data, source)
        except SipTransportError as error:
            log.debug("cannot answer %s: %s", source, error)


def free_port_pair(host: str = "127.0.0.1") -> int:
    """A port number free for both UDP and TCP right now (racy by nature; for tests and tools)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((host, 0))
            port: int = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((host, port))
                except OSError:
                    continue
                return port
