"""One media clock for every call: a single 20 ms tick runs the media graph, then sends each call's RTP packet.

`MediaClock` runs one asyncio task for the whole emulator, not a timer or task per call: every tick
it runs one step of its `MediaGraph` (calls, players, recorders, conferences: `voxsim.media.graph`), then
asks each `RtpSender` for its next packet. The deadlines are absolute (start + n * ptime), so the
stream keeps 50 packets a second however late a tick wakes; a tick that wakes more than a few
periods late skips what it missed instead of bursting.

An `RtpSender` is one call's outgoing stream: G.711 at 8 kHz, 160 samples per packet, its own SSRC,
sequence and timestamp (random starts, RFC 3550 5.1). It sends to the address the peer's SDP gave
until the peer's own packets arrive from elsewhere, then to where they come from (symmetric RTP, for
peers behind NAT). Its audio comes from `source`, a callable giving the next 20 ms of PCM16 or None;
with nothing to play it sends silence, so that phones and media-inactivity timers see a live stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import secrets
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from sip_edge.rtp import build_rtp
from voxsim.media.dtmf import TelephoneEvents
from voxsim.media.g711 import CODECS
from voxsim.media.graph import MediaGraph

__all__ = ["FRAME_SAMPLES", "PTIME", "MediaClock", "RtpSender"]

log = logging.getLogger(__name__)

PTIME = 0.02
"""Seconds of audio per packet."""
FRAME_SAMPLES = 160
"""Samples per packet at 8 kHz."""
_MAX_LATE_TICKS = 5
_MAX_BURST = 50  # ticks a virtual clock runs at once to catch up

Frame = npt.NDArray[np.int16]
Send = Callable[[bytes, tuple[str, int]], None]


class RtpSender:
    """One call's outgoing RTP; see the module docstring."""

    def __init__(self, send: Send, remote: tuple[str, int], payload_type: int, encoding: str,
                 source: Callable[[], Frame | None] | None = None) -> None:
        if encoding not in CODECS:
            raise ValueError(f"voxsim sends G.711 only, not {encoding}")
        self.send = send
        self.remote = remote
        self.payload_type = payload_type
        self.encoding = encoding
        self.source = source
        self.ssrc = secrets.randbits(32)
        self.sequence = secrets.randbits(16)
        self.timestamp = secrets.randbits(32)
        self.sent = 0
        self.paused = False  # on hold: the peer receives nothing (our answer said recvonly or inactive)
        self.events: TelephoneEvents | None = None  # digits being sent as RFC 4733 events (sendDigits)
        self._encode = CODECS[encoding][0]
        self._silence = self._encode(np.zeros(FRAME_SAMPLES, dtype=np.int16))

    def heard_from(self, source: tuple[str, int]) -> None:
        """The peer's RTP arrives from `source`: answer there (symmetric RTP)."""
        self.remote = source

    def send_digits(self, events: TelephoneEvents) -> None:
        """Sends `events` in place of audio from the next tick (replacing digits still being sent)."""
        self.events = events

    def tick(self) -> None:
        if self.paused:  # time goes on: the timestamps after the hold say how long it was
            self.timestamp += FRAME_SAMPLES
            return
        frame = self.source() if self.source is not None else None  # taken every tick, even under an event
        events = self.events
        event = events.tick(self.timestamp) if events is not None else None
        if events is not None and events.done:
            self.events = None
        if events is not None and event is not None:
            packet = build_rtp(events.payload_type, self.sequence, event.timestamp, self.ssrc, event.payload,
                               marker=event.marker)
        else:
            payload = self._silence if frame is None else self._encode(frame)
            packet = build_rtp(self.payload_type, self.sequence, self.timestamp, self.ssrc, payload,
                               marker=self.sent == 0)
        self.sequence += 1
        self.timestamp += FRAME_SAMPLES
        self.sent += 1
        self.send(packet, self.remote)


class VirtualTimer:
    """A callback due at a tick of a virtual clock; `cancel()` drops it."""

    _made = 0

    def __init__(self, due: int, callback: Callable[[], None]) -> None:
        self.due = due
        self.callback = callback
        self.cancelled = False
        VirtualTimer._made += 1
        self.order = VirtualTimer._made  # timers due at the same tick fire in the order they were set

    def cancel(self) -> None:
        self.cancelled = True

    def __lt__(self, other: VirtualTimer) -> bool:
        return (self.due, self.order) < (other.due, other.order)


class MediaClock:
    """The one 20 ms tick of the emulator's media; `add`/`remove` senders, `start`/`stop` the clock.

    A **virtual** clock (`virtual=True`: a session in virtual time) ticks every `ptime` of real time but each tick
    is 20 ms of the session's time; it catches up after a stall instead of skipping (no real peer hears it), and
    its timers (`call_later`) are due at ticks, so a session's timers and media share one timeline whatever the
    machine's speed."""

    def __init__(self, ptime: float = PTIME, *, virtual: bool = False) -> None:
        self.ptime = ptime
        self.virtual = virtual
        self.graph = MediaGraph()
        self.senders: set[RtpSender] = set()
        self.ticks = 0
        self._task: asyncio.Task[None] | None = None
        self._timers: list[VirtualTimer] = []  # a heap by due tick

    def call_later(self, seconds: float, callback: Callable[[], None]) -> VirtualTimer:
        """`callback` after `seconds` of this clock's time (whole ticks; at least the next one)."""
        timer = VirtualTimer(self.ticks + max(1, round(seconds / PTIME)), callback)
        heapq.heappush(self._timers, timer)
        return timer

    def _fire_due(self) -> None:
        while self._timers and self._timers[0].due <= self.ticks:
            timer = heapq.heappop(self._timers)
            if timer.cancelled:
                continue
            try:
                timer.callback()
            except Exception:
                log.exception("a timer of a virtual media clock failed")

    def add(self, sender: RtpSender) -> None:
        self.senders.add(sender)

    def remove(self, sender: RtpSender) -> None:
        self.senders.discard(sender)

    @property
    def running(self) -> bool:
        return self._task is not None

    def start(self) -> None:
        """Starts ticking (inside the running loop); idempotent, so whoever first needs media may call it."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.senders.clear()

    def tick(self) -> None:
        """The graph runs one step, then every sender sends its next packet; one sender's failure never stops
        the others."""
        self.ticks += 1
        self.graph.tick()
        if self._timers:
            self._fire_due()
        for sender in list(self.senders):
            try:
                sender.tick()
            except Exception:
                log.exception("RTP sender to %s dropped", sender.remote)
                self.senders.discard(sender)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time()
        while True:
            deadline += self.ptime
            await asyncio.sleep(max(0.0, deadline - loop.time()))
            late = loop.time() - deadline
            if self.virtual:  # catch up, a burst at a time, yielding between bursts
                for _ in range(min(_MAX_BURST, 1 + max(0, int(late / self.ptime)))):
                    self.tick()
                deadline = max(deadline, loop.time() - self.ptime)
                continue
            if late > _MAX_LATE_TICKS * self.ptime:  # the loop was blocked: skip ahead, do not burst
                deadline = loop.time()
            self.tick()
