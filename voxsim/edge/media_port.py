"""The UDP port of one call's RTP: reserved on the edge's address, counting and handing on what arrives.

`MediaPorts` reserves them (an even port from the `rtp_ports` range, or any free one); a leg asks it for
its port when it first needs one (answer, early media, an outbound offer). What arrives goes to the
port's `on_datagram` (the leg's RFC 2833 DTMF detector today); audio belongs to the media work.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from typing import Any

__all__ = ["MediaPort", "MediaPorts"]

log = logging.getLogger(__name__)




class _RtpSink(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.packets = 0
        self.last_source: tuple[str, int] | None = None
        self.on_datagram: Callable[[bytes], None] | None = None

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.packets += 1
        self.last_source = (addr[0], addr[1])
        if self.on_datagram is not None:
            try:
                self.on_datagram(data)
            except Exception:  # one bad packet must not take the port down
                log.exception("RTP packet from %s dropped", self.last_source)


class MediaPort:
    """A UDP port reserved for one call's RTP (an even port from `ports`, or any free one for (0, 0)).

    It counts what arrives and hands each datagram to `on_datagram` when set (else drops it);
    `close()` releases it.
    """

    def __init__(self, transport: asyncio.DatagramTransport, sink: _RtpSink, host: str, port: int) -> None:
        self.transport = transport
        self.sink = sink
        self.host = host
        self.port = port

    @classmethod
    async def open(cls, host: str, ports: tuple[int, int] = (0, 0), attempts: int = 50) -> MediaPort:
        loop = asyncio.get_running_loop()
        low, high = ports
        candidates = [0] if not low else [random.randrange(low + low % 2, max(high, low + 2), 2)
                                          for _ in range(attempts)]
        error: OSError | None = None
        for candidate in candidates:
            try:
                transport, sink = await loop.create_datagram_endpoint(_RtpSink, local_addr=(host, candidate))
            except OSError as exc:
                error = exc
                continue
            port = transport.get_extra_info("sockname")[1]
            return cls(transport, sink, host, port)
        raise OSError(f"no free RTP port in {low}-{high} on {host}: {error}")

    @property
    def packets(self) -> int:
        return self.sink.packets

    @property
    def on_datagram(self) -> Callable[[bytes], None] | None:
        return self.sink.on_datagram

    @on_datagram.setter
    def on_datagram(self, callback: Callable[[bytes], None] | None) -> None:
        self.sink.on_datagram = callback

    @property
    def closed(self) -> bool:
        return self.transport.is_closing()

    def close(self) -> None:
        if not self.transport.is_closing():
            self.transport.close()


class MediaPorts:
    """Reserves RTP ports for calls on `host`, from `ports` (even numbers; (0, 0): any free port)."""

    def __init__(self, host: str, ports: tuple[int, int] = (0, 0)) -> None:
        self.host = host
        self.ports = ports

    async def open(self) -> MediaPort:
        return await MediaPort.open(self.host, self.ports)
