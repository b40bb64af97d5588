"""`RtpPeer`: what a phone's media would do, for tests. One UDP port on loopback that sends and hears RTP.

A test gives the peer's `sdp()` to the far end (or answers an offer with `answer_sdp(offer)`), points it at
the far end's SDP (`set_remote_sdp`, or `set_remote` by hand; with neither it answers to wherever packets
come from, as a phone behind NAT would), and `start()`s it. From then on its own asyncio task sends one
packet every 20 ms: queued audio (`send_audio`, `send_inband`), RFC 4733 telephone-events
(`send_rfc4733`), otherwise silence, so that the far end sees a live stream. A test peer may own a task;
voxsim itself never does (one media clock for every call, voxsim/media/clock.py).

Everything that arrives is parsed and kept: `received`, `by_payload_type`, `ssrc_changes`,
`sequence_gaps`; `heard()` is the audio, decoded and in sequence order; `events()` the keys pressed as
telephone-events, once per press (sip_edge.rtp.DtmfDetector). `energy` and `non_silent_ms` say whether
audio sounds like something rather than silence.

In-band DTMF is generated here (`inband_dtmf`: the row and column sines of ITU-T Q.23), on purpose
independent of voxsim's own DTMF code, so that a test of one does not lean on the other.
"""

from __future__ import annotations

import asyncio
import secrets
import struct
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from sip_edge.rtp import DTMF_EVENTS, DtmfDetector, build_rtp, parse_rtp
from sip_edge.sdp import G711, TELEPHONE_EVENT_PT, MediaDescription, build_sdp, parse_sdp
from voxsim.media.clock import FRAME_SAMPLES, PTIME
from voxsim.media.g711 import CODECS

__all__ = ["SILENCE_RMS", "RtpPeer", "dtmf_frequencies", "energy", "inband_dtmf", "non_silent_ms"]

Pcm = npt.NDArray[np.int16]
RATE = 8000
SILENCE_RMS = 200.0
"""RMS below which a 20 ms frame counts as silence (about -44 dBFS; A-law's zero decodes to 8)."""
_EVENT = struct.Struct("!BBH")  # RFC 4733 2.3: event, E|R|volume, duration
_EVENT_VOLUME = 10  # -10 dBm0, a typical keypad level
_END_REPEATS = 3  # RFC 4733 2.5.1.4: the end packet is sent three times
_MAX_LATE_TICKS = 5
_KEYPAD = ("123A", "456B", "789C", "*0#D")
_ROWS = (697, 770, 852, 941)
_COLUMNS = (1209, 1336, 1477, 1633)


# ------------------------------------------------------------------------------------------ audio helpers


def energy(pcm: Pcm) -> float:
    """The RMS of `pcm` (0.0 for no samples)."""
    if len(pcm) == 0:
        return 0.0
    return float(np.sqrt(np.mean(np.square(pcm.astype(np.float64)))))


def non_silent_ms(pcm: Pcm, threshold: float = SILENCE_RMS) -> int:
    """Milliseconds of `pcm` in 20 ms frames whose RMS is above `threshold`."""
    samples = sum(len(frame) for frame in _frames(pcm) if energy(frame) > threshold)
    return samples * 1000 // RATE


def _frames(pcm: Pcm) -> list[Pcm]:
    return [pcm[i:i + FRAME_SAMPLES] for i in range(0, len(pcm), FRAME_SAMPLES)]


def dtmf_frequencies(key: str) -> tuple[int, int]:
    """The (row, column) frequencies in Hz of a keypad key (ITU-T Q.23)."""
    for row, keys in zip(_ROWS, _KEYPAD, strict=True):
        if len(key) == 1 and key.upper() in keys:
            return row, _COLUMNS[keys.index(key.upper())]
    raise ValueError(f"not a DTMF key: {key!r}")


def inband_dtmf(digits: str, tone_ms: int = 100, gap_ms: int = 100, level: float = 0.25) -> Pcm:
    """`digits` as audio at 8 kHz: per key, the sum of its two sines (each at `level` of full scale) for
    `tone_ms`, then `gap_ms` of silence."""
    t = np.arange(tone_ms * RATE // 1000) / RATE
    gap = np.zeros(gap_ms * RATE // 1000)
    parts: list[npt.NDArray[np.float64]] = []
    for key in digits:
        row, column = dtmf_frequencies(key)
        parts += [level * 32767 * (np.sin(2 * np.pi * row * t) + np.sin(2 * np.pi * column * t)), gap]
    if not parts:
        return np.zeros(0, dtype=np.int16)
    return np.round(np.concatenate(parts)).astype(np.int16)


# ------------------------------------------------------------------------------------------ the peer


@dataclass(frozen=True)
class _EventPacket:
    """One telephone-event packet to send; its RTP timestamp is the tick of the event's `first` packet."""

    event: int
    duration: int
    end: bool
    first: bool


@dataclass
class _Stream:
    """What one SSRC sent: extended sequence number -> decoded audio (None: a packet that was not audio)."""

    highest: int
    packets: dict[int, Pcm | None] = field(default_factory=dict)

    def extend(self, sequence: int) -> int:
        """The 16-bit `sequence` extended past wraps, nearest to the highest seen (RFC 3550 A.1)."""
        delta = (sequence - self.highest) & 0xFFFF
        return self.highest + (delta if delta < 0x8000 else delta - 0x10000)


class _Protocol(asyncio.DatagramProtocol):
    """Hands each datagram to `on_datagram` (the peer's, once the peer exists)."""

    def __init__(self) -> None:
        self.on_datagram: Callable[[bytes, tuple[str, int]], None] | None = None

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        if self.on_datagram is not None:
            self.on_datagram(data, (str(addr[0]), int(addr[1])))

    def error_received(self, exc: Exception) -> None:
        """An ICMP port unreachable after the far end closed: a phone keeps going."""


class RtpPeer:
    """A phone's RTP endpoint on one UDP port; see the module docstring. Make one with `await RtpPeer.open()`."""

    def __init__(self, transport: asyncio.DatagramTransport, protocol: _Protocol, host: str, port: int) -> None:
        self.transport = transport
        self.host = host
        self.port = port
        protocol.on_datagram = self._on_datagram
        # sending
        self.remote: tuple[str, int] | None = None
        self.payload_type = 0
        self.encoding = "PCMU"
        self.event_payload_type = TELEPHONE_EVENT_PT
        self.sent = 0
        self._ssrc = secrets.randbits(32)
        self._sequence = secrets.randbits(16)
        self._timestamp = secrets.randbits(32)
        self._event_timestamp = self._timestamp
        self._queue: deque[Pcm | _EventPacket] = deque()
        self._task: asyncio.Task[None] | None = None
        # receiving
        self.received = 0
        self.malformed = 0
        self.by_payload_type: Counter[int] = Counter()
        self.ssrc_changes = 0
        self.sequence_gaps = 0
        self._decoders: dict[int, Callable[[bytes], Pcm]] = {pt: CODECS[name][1] for pt, name in G711.items()}
        self._event_types = {TELEPHONE_EVENT_PT}
        self._detector = DtmfDetector()
        self._keys: list[str] = []
        self._streams: dict[int, _Stream] = {}
        self._last_ssrc: int | None = None
        self._voiced_ms = 0
        self._arrival = asyncio.Event()

    @classmethod
    async def open(cls, host: str = "127.0.0.1") -> RtpPeer:
        """A peer on an ephemeral UDP port of `host`."""
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.create_datagram_endpoint(_Protocol, local_addr=(host, 0))
        return cls(transport, protocol, host, int(transport.get_extra_info("sockname")[1]))

    def __repr__(self) -> str:
        return f"<RtpPeer {self.host}:{self.port} -> {self.remote} sent={self.sent} received={self.received}>"

    # -- SDP

    def sdp(self, session_id: int | None = None, codecs: str = "0 8",
            telephone_event: int | None = TELEPHONE_EVENT_PT) -> bytes:
        """An SDP (offer or answer) for this port: the G.711 payload types `codecs` ("0 8": PCMU then PCMA)
        and telephone-event/8000 at `telephone_event` (None: no events), sendrecv."""
        chosen = [(int(pt), G711[int(pt)]) for pt in codecs.split()]
        if telephone_event is not None:
            self._event_types.add(telephone_event)
        return build_sdp(self.host, self.port, chosen, telephone_event, session_id=session_id or self.port)

    def set_remote(self, host: str, port: int, payload_type: int, encoding: str) -> None:
        """Send to `host:port` with `payload_type`, encoded as `encoding` ("PCMU" or "PCMA")."""
        if encoding not in CODECS:
            raise ValueError(f"the peer speaks G.711 only, not {encoding}")
        self.remote = (host, port)
        self.payload_type, self.encoding = payload_type, encoding
        self._decoders[payload_type] = CODECS[encoding][1]

    def set_remote_sdp(self, body: bytes) -> MediaDescription:
        """Points the peer at the far end's SDP: its address and its first G.711 codec; its telephone-event
        payload type is the one we send events with. Raises ValueError when it offers no G.711."""
        media = parse_sdp(body)
        codecs = media.g711() if media is not None else []
        if media is None or not codecs:
            raise ValueError(f"no G.711 audio stream in the SDP: {body!r}")
        for pt, name in codecs:
            self._decoders[pt] = CODECS[name][1]
        self.set_remote(media.host, media.port, *codecs[0])
        event_type = media.telephone_event()
        if event_type is not None:
            self.event_payload_type = event_type
            self._event_types.add(event_type)
        return media

    def answer_sdp(self, offer: bytes, session_id: int | None = None) -> bytes:
        """Takes the far end's offer (`set_remote_sdp`) and returns our answer: the offer's first G.711 codec
        and its telephone-event, if any (RFC 3264 6)."""
        media = self.set_remote_sdp(offer)
        return self.sdp(session_id, codecs=str(self.payload_type), telephone_event=media.telephone_event())

    # -- sending

    def start(self) -> None:
        """Starts sending, one packet per 20 ms (silence when nothing is queued); nothing goes out until the
        peer knows where to send."""
        if self._task is None and not self.closed:
            self._task = asyncio.get_running_loop().create_task(self._run())

    def stop(self) -> None:
        """Stops sending (what is queued stays queued); `start()` resumes."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()

    def close(self) -> None:
        """Stops sending and releases the port; what was heard stays readable. Idempotent."""
        self.stop()
        if not self.transport.is_closing():
            self.transport.close()

    @property
    def closed(self) -> bool:
        return self.transport.is_closing()

    @property
    def queued_ms(self) -> int:
        """What is still to be sent, in ms (audio and events)."""
        return len(self._queue) * int(PTIME * 1000)

    def send_audio(self, pcm: Pcm) -> None:
        """Queues PCM16 8 kHz audio, sent in 20 ms packets (the last one padded with silence)."""
        for frame in _frames(np.asarray(pcm, dtype=np.int16)):
            if len(frame) < FRAME_SAMPLES:
                frame = np.concatenate([frame, np.zeros(FRAME_SAMPLES - len(frame), dtype=np.int16)])
            self._queue.append(frame)

    def send_rfc4733(self, digits: str, tone_ms: int = 100, gap_ms: int = 100) -> None:
        """Queues `digits` as telephone-events (RFC 4733 2.5): per key, one packet per 20 ms of `tone_ms`, all
        with the event's first timestamp and a growing duration, the marker on the first; then the end packet
        (E bit) three times; then silence, so that a key takes `tone_ms` + max(`gap_ms`, 60) ms."""
        for key in digits:
            event = DTMF_EVENTS.find(key.upper()) if len(key) == 1 else -1
            if event < 0:
                raise ValueError(f"not a DTMF key: {key!r}")
            ticks = max(1, tone_ms // 20)
            for n in range(1, ticks + 1):
                self._queue.append(_EventPacket(event, n * FRAME_SAMPLES, end=False, first=n == 1))
            self._queue.extend(_EventPacket(event, ticks * FRAME_SAMPLES, end=True, first=False)
                               for _ in range(_END_REPEATS))
            self.send_audio(np.zeros(max(0, gap_ms // 20 - _END_REPEATS) * FRAME_SAMPLES, dtype=np.int16))

    def send_inband(self, digits: str, tone_ms: int = 100, gap_ms: int = 100) -> None:
        """Queues `digits` as DTMF tones in the audio (`inband_dtmf`)."""
        self.send_audio(inband_dtmf(digits, tone_ms, gap_ms))

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time()
        while True:
            self._tick()
            deadline += PTIME
            if loop.time() - deadline > _MAX_LATE_TICKS * PTIME:  # the loop was blocked: skip, do not burst
                deadline = loop.time()
            await asyncio.sleep(max(0.0, deadline - loop.time()))

    def _tick(self) -> None:
        if self.remote is None or self.closed:
            return
        item = self._queue.popleft() if self._queue else None
        if isinstance(item, _EventPacket):
            if item.first:
                self._event_timestamp = self._timestamp
            flags = (0x80 if item.end else 0) | _EVENT_VOLUME
            payload = _EVENT.pack(item.event, flags, item.duration)
            pt, timestamp, marker = self.event_payload_type, self._event_timestamp, item.first
        else:
            frame = item if item is not None else np.zeros(FRAME_SAMPLES, dtype=np.int16)
            payload = CODECS[self.encoding][0](frame)
            pt, timestamp, marker = self.payload_type, self._timestamp, self.sent == 0
        self.transport.sendto(build_rtp(pt, self._sequence, timestamp, self._ssrc, payload, marker=marker),
                              self.remote)
        self._sequence += 1
        self._timestamp += FRAME_SAMPLES
        self.sent += 1

    # -- receiving

    def _on_datagram(self, data: bytes, source: tuple[str, int]) -> None:
        if self.remote is None:
            self.remote = source  # no SDP told us: answer where the far end sends from
        packet = parse_rtp(data)
        if packet is None:
            self.malformed += 1
            return
        self.received += 1
        self.by_payload_type[packet.payload_type] += 1
        if self._last_ssrc is not None and packet.ssrc != self._last_ssrc:
            self.ssrc_changes += 1
        self._last_ssrc = packet.ssrc
        stream = self._streams.setdefault(packet.ssrc, _Stream(packet.sequence - 1))
        sequence = stream.extend(packet.sequence)
        if sequence > stream.highest + 1:
            self.sequence_gaps += 1
        stream.highest = max(stream.highest, sequence)
        stream.packets[sequence] = self._audio(packet.payload_type, data, packet.payload)
        self._arrival.set()

    def _audio(self, payload_type: int, data: bytes, payload: bytes) -> Pcm | None:
        """The decoded audio of a packet, None for telephone-events (whose keys are noted) and the unknown."""
        if payload_type in self._event_types:
            key = self._detector.feed(data, payload_type)
            if key is not None:
                self._keys.append(key)
            return None
        decode = self._decoders.get(payload_type)
        if decode is None:
            return None
        pcm = decode(payload)
        if energy(pcm) > SILENCE_RMS:
            self._voiced_ms += len(pcm) * 1000 // RATE
        return pcm

    def heard(self) -> Pcm:
        """The audio received, decoded, each SSRC's packets in sequence order (streams in the order they
        began); a lost packet, or one that was not audio (a telephone-event), is 20 ms of silence."""
        silence = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        parts: list[Pcm] = []
        for stream in self._streams.values():
            first, last = min(stream.packets), max(stream.packets)
            for sequence in range(first, last + 1):
                pcm = stream.packets.get(sequence)
                parts.append(silence if pcm is None else pcm)
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)

    def events(self) -> list[str]:
        """The keys received as RFC 4733 telephone-events, once per key press, in order."""
        return list(self._keys)

    @property
    def voiced_ms(self) -> int:
        """Milliseconds of received audio packets louder than `SILENCE_RMS`."""
        return self._voiced_ms

    async def wait_for_packets(self, count: int, timeout: float = 5.0) -> None:
        """Returns once `count` RTP packets have arrived; TimeoutError after `timeout` seconds."""
        await self._wait(lambda: self.received >= count, timeout, lambda: f"{self.received} of {count} RTP packets")

    async def wait_for_audio(self, seconds: float, timeout: float = 5.0) -> None:
        """Returns once `seconds` of non-silent audio have arrived; TimeoutError after `timeout` seconds."""
        wanted = seconds * 1000
        await self._wait(lambda: self._voiced_ms >= wanted, timeout,
                         lambda: f"{self._voiced_ms} of {wanted:.0f} ms of audio")

    async def wait_for_events(self, count: int, timeout: float = 5.0) -> list[str]:
        """Returns the keys once `count` telephone-event key presses have arrived."""
        await self._wait(lambda: len(self._keys) >= count, timeout, lambda: f"keys {self._keys} of {count}")
        return self.events()

    async def _wait(self, done: Callable[[], bool], timeout: float, progress: Callable[[], str]) -> None:
        try:
            async with asyncio.timeout(timeout):
                while not done():
                    self._arrival.clear()
                    await self._arrival.wait()
        except TimeoutError:
            raise TimeoutError(f"{progress()} arrived at {self.host}:{self.port} in {timeout} s") from None
