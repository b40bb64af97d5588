"""The UDP port of one call's RTP: reserved on the edge's address; what arrives, and what voxsim sends.

`MediaPorts` reserves them (an even port from the `rtp_ports` range, or any free one); a leg asks it for
its port when it first needs one (answer, early media, an outbound offer). What arrives goes to the
port's `on_datagram` (the leg: DTMF events, audio into the call's `CallAudio`). Once the SDPs agree on a
codec the leg calls `start_sending`: an `RtpSender` on the emulator's one `MediaClock` sends 20 ms G.711
packets of what the call's audio gives (silence when nothing plays), to where the peer's packets come from
once they do.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from typing import Any

from voxsim.media.clock import MediaClock, RtpSender
from voxsim.media.dtmf import TelephoneEvents
from voxsim.media.graph import Frame

__all__ = ["MediaPort", "MediaPorts"]

log = logging.getLogger(__name__)




class _RtpSink(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.packets = 0
        self.last_source: tuple[str, int] | None = None
        self.on_datagram: Callable[[bytes], None] | None = None
        self.sender: RtpSender | None = None

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.packets += 1
        source = (str(addr[0]), int(addr[1]))
        if source != self.last_source and self.sender is not None:
            self.sender.heard_from(source)
        self.last_source = source
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

    def __init__(self, transport: asyncio.DatagramTransport, sink: _RtpSink, host: str, port: int,
                 clock: MediaClock | None = None) -> None:
        self.transport = transport
        self.sink = sink
        self.host = host
        self.port = port
        self.clock = clock

    @classmethod
    async def open(cls, host: str, ports: tuple[int, int] = (0, 0), attempts: int = 50,
                   clock: MediaClock | None = None) -> MediaPort:
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
            return cls(transport, sink, host, port, clock)
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

    def start_sending(self, remote: tuple[str, int], payload_type: int, encoding: str,
                      source: Callable[[], Frame | None] | None = None) -> None:
        """RTP out to `remote` (from the peer's SDP) with the negotiated codec, on the media clock; once. Each
        tick sends what `source` gives (silence for None). A port without a clock (a leg tested alone) sends
        nothing."""
        if self.clock is None or self.sink.sender is not None or self.closed or not remote[1]:
            return
        sender = RtpSender(self._send, self.sink.last_source or remote, payload_type, encoding, source)
        self.sink.sender = sender
        self.clock.add(sender)

    def send_digits(self, digits: str, payload_type: int) -> float | None:
        """Sends `digits` as RFC 4733 telephone-events of `payload_type` in the call's RTP; returns how many
        seconds that takes, or None when this port sends no RTP (yet)."""
        sender = self.sink.sender
        if sender is None or self.closed:
            return None
        events = TelephoneEvents(digits, payload_type)
        sender.send_digits(events)
        return events.duration_ms / 1000.0

    def pause_sending(self, paused: bool) -> None:
        """Hold: no RTP out while `paused` (the stream keeps its clock)."""
        if self.sink.sender is not None:
            self.sink.sender.paused = paused

    def _send(self, packet: bytes, remote: tuple[str, int]) -> None:
        if not self.transport.is_closing():
            self.transport.sendto(packet, remote)

    @property
    def closed(self) -> bool:
        return self.transport.is_closing()

    def close(self) -> None:
        if self.sink.sender is not None and self.clock is not None:
            self.clock.remove(self.sink.sender)
        if not self.transport.is_closing():
            self.transport.close()


class MediaPorts:
    """Reserves RTP ports for calls on `host`, from `ports` (even numbers; (0, 0): any free port)."""

    def __init__(self, host: str, ports: tuple[int, int] = (0, 0), clock: MediaClock | None = None) -> None:
        self.host = host
        self.ports = ports
        self.clock = clock

    async def open(self) -> MediaPort:
        return await MediaPort.open(self.host, self.ports, clock=self.clock)
