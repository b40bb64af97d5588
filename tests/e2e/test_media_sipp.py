"""Real media from SIPp: its own captures in /usr/share/sip-tester, played with `<exec play_pcap_audio>` from
SIPp's `[media_ip]:[media_port]` (`-mp`) to the RTP port of voxsim's SDP answer.

What a capture holds is read from the capture itself (a classic pcap of Ethernet/IPv4/UDP/RTP frames, parsed
here in a few lines), so the tests assert exactly what SIPp sent: the digits of an RFC 2833 capture reach
`CallEvents.ToneReceived` (type "1"), and the A-law speech of `g711a.pcap` is in the scenario's recording.
"""

from __future__ import annotations

import io
import json
import struct
import wave
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import numpy as np
import pytest

from sip_edge.transport import free_port_pair
from tests.e2e.test_sip_e2e import finished, logged, provision, sip_remote
from voxsim.media.g711 import CODECS

pytestmark = pytest.mark.sipp

CAPTURES = Path("/usr/share/sip-tester")
SIPP_DIR = Path(__file__).parent / "sipp"

# RFC 4733 section 3.2: events 0-9 are the digits, 10 is *, 11 is #, 12-15 are A-D.
DTMF_EVENTS = "0123456789*#ABCD"

LOG_TONES = r"""
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  e.call.addEventListener(CallEvents.Connected, () => e.call.handleTones(true));
  e.call.addEventListener(CallEvents.ToneReceived, (t) => Logger.write('tone ' + t.tone + ' type ' + t.type));
  e.call.addEventListener(CallEvents.Disconnected, () => VoxEngine.terminate());
  e.call.answer();
});
"""

# The session ends once the call is gone and its recording is closed, whichever event comes last.
RECORD_THE_CALLER = r"""
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  let pending = 2;
  const done = () => { pending -= 1; if (pending === 0) VoxEngine.terminate(); };
  e.call.addEventListener(CallEvents.Connected, () => e.call.record({lossless: true}));  // WAV, not MP3
  e.call.addEventListener(CallEvents.RecordStarted, (r) => Logger.write('record started ' + r.url));
  e.call.addEventListener(CallEvents.RecordStopped, (r) => {
    Logger.write('record stopped ' + JSON.stringify({url: r.url, duration: r.duration}));
    done();
  });
  e.call.addEventListener(CallEvents.Disconnected, () => { Logger.write('disconnected'); done(); });
  e.call.answer();
});
"""


@dataclass(frozen=True)
class RtpPacket:
    payload_type: int
    sequence: int
    timestamp: int
    payload: bytes


def capture_rtp(path: Path) -> list[RtpPacket]:
    """The RTP packets of a classic little-endian pcap of Ethernet/IPv4/UDP frames, as SIPp's captures are."""
    data = path.read_bytes()
    assert struct.unpack_from("<I", data)[0] == 0xA1B2C3D4 and struct.unpack_from("<I", data, 20)[0] == 1
    packets, offset = [], 24
    while offset + 16 <= len(data):
        length = struct.unpack_from("<I", data, offset + 8)[0]
        frame = data[offset + 16:offset + 16 + length]
        offset += 16 + length
        udp = 14 + (frame[14] & 0x0F) * 4
        rtp = frame[udp + 8:udp + struct.unpack_from(">H", frame, udp + 4)[0]]
        assert rtp[0] == 0x80, "RTP version 2, no padding, extension or CSRC"
        sequence, timestamp = struct.unpack_from(">HI", rtp, 2)
        packets.append(RtpPacket(rtp[1] & 0x7F, sequence, timestamp, rtp[12:]))
    return packets


def capture_digits(path: Path) -> str:
    """The keys pressed in a capture of RFC 4733 telephone-events: one per event (its RTP timestamp)."""
    keys: dict[int, str] = {}
    for packet in capture_rtp(path):
        keys.setdefault(packet.timestamp, DTMF_EVENTS[packet.payload[0]])
    return "".join(keys[ts] for ts in sorted(keys))


def capture_alaw(path: Path) -> np.ndarray:
    """The audio of a capture of PCMA packets with no gap, decoded as voxsim decodes it."""
    packets = capture_rtp(path)
    assert {p.payload_type for p in packets} == {8}
    assert all((b.sequence - a.sequence) % 65536 == 1 for a, b in zip(packets, packets[1:], strict=False))
    return CODECS["PCMA"][1](b"".join(p.payload for p in packets))


def best_lag(recorded: np.ndarray, sent: np.ndarray) -> int:
    """Where `sent` starts in `recorded` (samples; negative when the recording missed its start), by the peak
    of their cross-correlation (through the FFT)."""
    a, b = recorded.astype(np.float64), sent.astype(np.float64)
    size = 1 << (len(a) + len(b)).bit_length()
    xcorr = np.fft.irfft(np.fft.rfft(a, size) * np.conj(np.fft.rfft(b, size)), size)
    lag = int(np.argmax(xcorr))
    return lag if lag < size - len(b) else lag - size


def aligned(recorded: np.ndarray, sent: np.ndarray, lag: int) -> tuple[np.ndarray, np.ndarray]:
    """The parts of both that overlap once `sent` is shifted by `lag`."""
    start = max(lag, 0)
    end = min(len(recorded), lag + len(sent))
    return recorded[start:end].astype(np.float64), sent[start - lag:end - lag].astype(np.float64)


def chunk_correlations(recorded: np.ndarray, sent: np.ndarray, lag: int, size: int = 4000) -> list[float]:
    """Sample by sample, the correlation of each speech chunk of `sent` (0.5 s) with the recording, each chunk at
    its own best lag within 50 ms of `lag` (the recording shifts by half a frame where the jitter buffer
    ran short)."""
    found = []
    for start in range(0, len(sent) - size + 1, size):
        chunk = sent[start:start + size]
        if np.sqrt(np.mean(chunk.astype(np.float64) ** 2)) < 100:  # silence says nothing about alignment
            continue
        low = max(lag + start - 400, 0)
        window = recorded[low:lag + start + size + 400]
        local = low + best_lag(window, chunk)
        ours, theirs = aligned(recorded, chunk, local)
        found.append(float(np.corrcoef(ours, theirs)[0, 1]) if len(ours) == size else 0.0)
    return found


def envelope(pcm: np.ndarray) -> np.ndarray:
    """Energy per 20 ms frame (160 samples)."""
    frames = pcm[: len(pcm) // 160 * 160].reshape(-1, 160)
    return np.sqrt(np.mean(frames ** 2, axis=1))


def answer_codecs(messages: str) -> list[str]:
    """The payload types of the m=audio line of voxsim's 200 OK to the INVITE, from SIPp's message trace."""
    answer = next(block for block in messages.split("message received")[1:]
                  if block.partition("\n")[2].lstrip().startswith("SIP/2.0 200") and "CSeq: 1 INVITE" in block)
    m_line = next(line for line in answer.splitlines() if line.startswith("m=audio "))
    return m_line.split()[3:]


async def test_the_digits_of_sipps_rfc2833_capture_reach_tone_received(emulator, api, sipp) -> None:
    capture = CAPTURES / "dtmf_2833_1.pcap"
    assert {p.payload_type for p in capture_rtp(capture)} == {101}  # the offer's telephone-event type
    assert "a=rtpmap:101 telephone-event/8000" in (SIPP_DIR / "uac_play_dtmf_2833_1.xml").read_text()
    digits = capture_digits(capture)
    assert digits == "1"  # what the capture holds: one press of 1, seven updates and three end packets

    app = await provision(api, LOG_TONES)
    result = await sipp.run("uac_play_dtmf_2833_1.xml", "-s", "4004", "-mp", str(free_port_pair()),
                            remote=sip_remote(emulator),
                            keys={"domain": app["domain"], "to_uri": f"4004@{app['domain']}"})
    assert result.ok, result.stderr[-2000:]
    session, = await finished(emulator)
    assert logged(session, "tone ") == [f"tone {digit} type 1" for digit in digits]


async def test_sipps_alaw_capture_is_in_the_calls_recording(emulator, api, sipp) -> None:
    """SIPp plays g711a.pcap (7.08 s of speech, 30 ms PCMA packets) into a call the scenario records; the WAV
    served at the record URL must hold that speech, decoded with `CODECS["PCMA"]`.

    SIPp replays the capture's own timing (packets 25 to 35 ms apart) while the media clock takes 160
    samples a tick; the jitter buffer's 40 ms lead must absorb that, or a tick finding only the 80-sample
    rest of a 30 ms packet would pad it and shift the speech after it (it once did). So the checks are:
    - the 20 ms energy envelopes, aligned at the cross-correlation peak, correlate above 0.9, and the
      recording is as loud as the capture;
    - every 0.5 s chunk of speech at its own lag matches the capture's decoded audio (> 0.99; decoding PCMA
      as µ-law fails this), and so does the whole recording at one lag (no gap was inserted anywhere).
    """
    sent = capture_alaw(CAPTURES / "g711a.pcap")
    app = await provision(api, RECORD_THE_CALLER)
    result = await sipp.run("uac_play_g711a.xml", "-s", "5005", "-mp", str(free_port_pair()),
                            remote=sip_remote(emulator),
                            keys={"domain": app["domain"], "to_uri": f"5005@{app['domain']}"})
    assert result.ok, result.stderr[-2000:]
    assert answer_codecs(result.messages)[0] == "8"  # voxsim answered PCMA, the offer's first codec

    session, = await finished(emulator)
    assert logged(session, "disconnected") == ["disconnected"]
    started, = logged(session, "record started ")
    stopped = json.loads(logged(session, "record stopped ")[0][len("record stopped "):])
    url = started[len("record started "):]
    assert stopped["url"] == url and 7.0 <= stopped["duration"] < 9.0
    recorded = await fetch_wav(url)
    assert abs(len(recorded) / 8000 - stopped["duration"]) < 0.05

    lag = best_lag(recorded, sent)
    ours, theirs = aligned(recorded, sent, lag)
    assert len(ours) >= 0.95 * len(sent)
    envelopes = float(np.corrcoef(envelope(ours), envelope(theirs))[0, 1])
    assert envelopes > 0.9, envelopes
    loudness = float(np.sqrt(np.mean(ours ** 2)) / np.sqrt(np.mean(theirs ** 2)))
    assert 0.9 < loudness < 1.1, loudness
    chunks = chunk_correlations(recorded, sent, lag)
    assert len(chunks) >= 10 and all(c > 0.99 for c in chunks), chunks
    # The jitter buffer keeps a 40 ms lead, so SIPp's irregular 30 ms packets leave no gap: one alignment
    # holds for the whole recording, sample for sample.
    assert float(np.corrcoef(ours, theirs)[0, 1]) > 0.99


async def fetch_wav(url: str) -> np.ndarray:
    """A recording over HTTP from the emulator (`lossless`: a PCM16 8 kHz WAV, the mix in both channels), as the
    samples of its left channel."""
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        assert response.status == 200, url
        body = await response.read()
    with wave.open(io.BytesIO(body)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (2, 2, 8000)
        both = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
    assert np.array_equal(both[:, 0], both[:, 1])  # not stereo: the mix in both channels
    return both[:, 0].copy()
