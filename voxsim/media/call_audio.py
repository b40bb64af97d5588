"""A call's audio in the media graph: what its far end sends, what voxsim sends it, and what it heard.

`CallAudio` is the unit the runtime creates for each call and the leg feeds: a SIP leg puts each decoded
RTP packet in with `receive(sequence, pcm)` (through a small `JitterBuffer` that reorders), a simulated
caller puts audio in with `feed(pcm)`; the RTP sender takes `outbound` each tick. What goes out is the
call's own playback (`say`, `startPlayback`, a progress tone) while one plays, else the stream of its
`source` (`sendMediaTo`: another call, a player, a conference), else silence.

While the call's media runs (`active`) it keeps, for tests, what went each way (`sent`/`received`,
the first `capture_seconds`) and the prompts the far end heard (`prompts`: text for speech, URL for
files, with start and end times on the call's audio timeline); what a simulated caller said is in `said`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from voxsim.media.graph import FRAME_SAMPLES, Frame, MediaUnit

__all__ = ["CallAudio", "JitterBuffer", "Prompt", "PromptSource"]

_SEQ_MOD = 1 << 16


class JitterBuffer:
    """Reorders RTP audio by sequence number and hands it out 160 samples a tick, `prefetch` samples ahead.

    Playing starts once `prefetch` samples (40 ms) wait, so packets of another length than a tick (30 ms
    ones) and a few ms of arrival jitter never leave a tick short; when it runs dry it stays silent until
    the lead is back, instead of padding half frames with silence. Late packets (behind what was played)
    are dropped; a packet that never comes is skipped once `depth` later ones wait; after a long silence of
    the far end it resynchronises.
    """

    def __init__(self, depth: int = 2, capacity: int = 50, prefetch: int = 2 * FRAME_SAMPLES) -> None:
        self.depth = depth
        self.capacity = capacity
        self.prefetch = prefetch
        self._packets: dict[int, Frame] = {}
        self._next: int | None = None
        self._pending = np.zeros(0, dtype=np.int16)  # samples taken from packets, not played yet
        self._playing = False
        self.lost = 0
        self.late = 0

    def push(self, sequence: int, pcm: Frame) -> None:
        if self._next is None:
            self._next = sequence
        ahead = (sequence - self._next) % _SEQ_MOD
        if ahead >= _SEQ_MOD // 2:  # behind what was played
            self.late += 1
            return
        if ahead > self.capacity:  # the far end jumped (a new stream, a long pause): start over there
            self._packets.clear()
            self._next = sequence
        self._packets[sequence] = pcm
        while len(self._packets) > self.capacity:
            self._packets.pop(next(iter(self._packets)))

    def _take_packet(self) -> Frame | None:
        if self._next is None or not self._packets:
            return None
        if self._next not in self._packets:
            if len(self._packets) < self.depth:
                return None
            self.lost += 1  # give up on it: play what came after
            self._next = (self._next + 1) % _SEQ_MOD
            if self._next not in self._packets:
                return None
        pcm = self._packets.pop(self._next)
        self._next = (self._next + 1) % _SEQ_MOD
        return pcm

    def pop(self) -> Frame | None:
        """The next 160 samples the far end sent, or None when there is nothing to play this tick."""
        wanted = max(self.prefetch, FRAME_SAMPLES)
        while len(self._pending) < wanted:
            packet = self._take_packet()
            if packet is None:
                break
            self._pending = np.concatenate([self._pending, packet])
        if not self._playing and len(self._pending) < self.prefetch:
            return None
        if len(self._pending) < FRAME_SAMPLES:  # ran dry: silence until the lead is back
            self._playing = False
            return None
        self._playing = True
        frame, self._pending = self._pending[:FRAME_SAMPLES], self._pending[FRAME_SAMPLES:]
        return frame


class PromptSource(Protocol):
    """A unit that plays something a caller may hear: a player (its kind, text or URL)."""

    prompt: dict[str, Any]


@dataclass
class Prompt:
    """Something the far end heard: `kind` ("tts", "url", "tone", "audio"), `text` or `url`, on the call's
    audio timeline in ms (`end` None while it plays)."""

    kind: str
    start: float
    end: float | None = None
    text: str | None = None
    url: str | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "start_ms": self.start, "end_ms": self.end}
        if self.text is not None:
            data["text"] = self.text
        if self.url is not None:
            data["url"] = self.url
        return data | self.info


class CallAudio(MediaUnit):
    """See the module docstring."""

    def __init__(self, call_id: str, capture_seconds: float = 120.0) -> None:
        super().__init__()
        self.call_id = call_id
        self.jitter = JitterBuffer()
        self.playback: MediaUnit | None = None  # say / startPlayback / playProgressTone on this call
        self.outbound: Frame | None = None  # what goes to the far end this tick (None: silence)
        self.active = False  # the call's media runs (RTP started, or a simulated caller answered)
        self.on_inbound: Callable[[Frame], None] | None = None  # each frame the far end sent (DTMF detection)
        self.peer: CallAudio | None = None  # the far end is this call inside voxsim (a call to a conference)
        self.capture_frames = int(capture_seconds * 1000 / 20)
        self.sent: list[Frame | None] = []
        self.received: list[Frame | None] = []
        self.prompts: list[Prompt] = []  # what the far end heard
        self.said: list[Prompt] = []  # what a simulated caller said (text travels with its speech)
        self.ticks = 0  # of active media: the call's audio timeline, 20 ms each
        self._fed: deque[Frame] = deque()
        self._current: MediaUnit | None = None  # whose prompt the far end hears now

    # -- what the far end sends

    def receive(self, sequence: int, pcm: Frame) -> None:
        """A decoded RTP packet of the far end."""
        self.jitter.push(sequence, pcm)

    def feed(self, pcm: Frame, prompt: dict[str, Any] | None = None) -> None:
        """Audio a simulated caller speaks into the call, played out 20 ms a tick after what is queued;
        `prompt` ({"kind", "text"...}) is kept in `said` at the place it will play."""
        if prompt is not None:
            start = (self.ticks + len(self._fed)) * 20.0
            rest = {k: v for k, v in prompt.items() if k not in ("kind", "text", "url")}
            self.said.append(Prompt(str(prompt.get("kind", "audio")), start, start + len(pcm) / 8.0,
                                    text=prompt.get("text"), url=prompt.get("url"), info=rest))
        for start in range(0, len(pcm), FRAME_SAMPLES):
            frame = pcm[start:start + FRAME_SAMPLES]
            if len(frame) < FRAME_SAMPLES:
                frame = np.pad(frame, (0, FRAME_SAMPLES - len(frame)))
            self._fed.append(frame)

    def advance(self) -> None:
        if self._fed:
            self.out = self._fed.popleft()
        elif self.peer is not None:  # the far end is another call inside voxsim: what it sent last tick
            self.out = None if self.peer.closed else self.peer.outbound
        else:
            self.out = self.jitter.pop()
        if self.out is not None and self.on_inbound is not None:
            self.on_inbound(self.out)

    # -- what goes to the far end

    def absorb(self) -> None:
        playing = self.playback if self.playback is not None and not self.playback.closed else None
        speaker: MediaUnit | None
        if playing is not None:
            self.outbound, speaker = playing.out, playing
        else:
            self.outbound, speaker = self.heard(), self.source
        if not self.active:
            return
        self._follow_prompt(speaker if self.outbound is not None else None)
        if len(self.sent) < self.capture_frames:
            self.sent.append(self.outbound)
            self.received.append(self.out)
        self.ticks += 1

    def _follow_prompt(self, speaker: MediaUnit | None) -> None:
        """Keeps `prompts` in step with whose audio the far end hears."""
        if speaker is self._current:
            return
        now = self.ticks * 20.0
        if self.prompts and self.prompts[-1].end is None:
            self.prompts[-1].end = now
        self._current = speaker
        info = getattr(speaker, "prompt", None)
        if isinstance(info, dict):
            rest = {k: v for k, v in info.items() if k not in ("kind", "text", "url")}
            self.prompts.append(Prompt(str(info.get("kind", "audio")), now, text=info.get("text"),
                                       url=info.get("url"), info=rest))

    def next_outbound(self) -> Frame | None:
        """For the RTP sender: this tick's frame to the far end (None: silence)."""
        return self.outbound

    def close(self) -> None:
        if self.prompts and self.prompts[-1].end is None:
            self.prompts[-1].end = self.ticks * 20.0
        super().close()
        self.outbound = None

    # -- for tests: what went each way

    @staticmethod
    def _joined(frames: list[Frame | None]) -> Frame:
        if not frames:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate([np.zeros(FRAME_SAMPLES, dtype=np.int16) if f is None else f for f in frames])

    def heard_audio(self) -> Frame:
        """What the far end received, 8 kHz PCM16 (silence where nothing played)."""
        return self._joined(self.sent)

    def said_audio(self) -> Frame:
        """What the far end sent."""
        return self._joined(self.received)
