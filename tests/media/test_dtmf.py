"""`voxsim.media.dtmf`: in-band keys played and heard (through G.711 too, and not in speech or noise), and
RFC 4733 telephone-events that `sip_edge.rtp.DtmfDetector` hears back."""

from __future__ import annotations

import io
import subprocess
import wave
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest
import soxr

from sip_edge.rtp import DtmfDetector, build_rtp, parse_telephone_event
from voxsim.media.dtmf import (
    DTMF_FREQUENCIES,
    EVENT_CODES,
    EventPacket,
    InbandDigits,
    InbandDtmfDetector,
    TelephoneEvents,
    dtmf_tone,
)
from voxsim.media.g711 import CODECS
from voxsim.media.tones import sine

Pcm = npt.NDArray[np.int16]
KEYS = "0123456789*#ABCD"


def through(codec: str | None) -> Callable[[Pcm], Pcm]:
    if codec is None:
        return lambda pcm: pcm
    encode, decode = CODECS[codec]
    return lambda pcm: decode(encode(pcm))


def heard(audio: Pcm, frame: int = 160, detector: InbandDtmfDetector | None = None) -> str:
    """Every key the detector reports over `audio` fed in frames of `frame` samples."""
    detector = detector or InbandDtmfDetector()
    keys = ""
    for start in range(0, len(audio), frame):
        keys += detector.feed(audio[start:start + frame]) or ""
    return keys


def play(source: InbandDigits) -> list[Pcm]:
    frames: list[Pcm] = []
    while (frame := source.next_frame()) is not None:
        frames.append(frame)
    return frames


def silence(ms: int) -> Pcm:
    return np.zeros(ms * 8, dtype=np.int16)


def test_the_keypad_and_the_event_codes() -> None:
    assert DTMF_FREQUENCIES["1"] == (697, 1209) and DTMF_FREQUENCIES["0"] == (941, 1336)
    assert DTMF_FREQUENCIES["#"] == (941, 1477) and DTMF_FREQUENCIES["D"] == (941, 1633)
    assert sorted(DTMF_FREQUENCIES) == sorted(KEYS)
    rfc_4733 = {**{str(d): d for d in range(10)}, "*": 10, "#": 11, "A": 12, "B": 13, "C": 14, "D": 15}
    assert rfc_4733 == EVENT_CODES


def test_a_tone_has_its_two_frequencies_at_its_level() -> None:
    tone = dtmf_tone("5", ms=100, level_dbm0=-10)
    assert len(tone) == 800 and tone.dtype == np.int16
    spectrum = np.abs(np.fft.rfft(tone))  # 10 Hz bins
    peaks = sorted(int(i) * 10 for i in np.argsort(spectrum)[-2:])
    assert peaks == [770, 1340] or peaks == [770, 1330]
    assert np.abs(tone - (sine(770, -10, 0, 800) + sine(1336, -10, 0, 800))).max() <= 0.5
    assert len(dtmf_tone("a", ms=40, rate=16000)) == 640
    with pytest.raises(ValueError):
        dtmf_tone("E")


@pytest.mark.parametrize("codec", [None, "PCMU", "PCMA"])
def test_every_key_is_heard_once_through_g711(codec: str | None) -> None:
    for key in KEYS:
        audio = through(codec)(np.concatenate([silence(30), dtmf_tone(key), silence(60)]))
        assert heard(audio) == key, (key, codec)


@pytest.mark.parametrize("codec", [None, "PCMU", "PCMA"])
def test_inband_digits_decode_to_exactly_the_digits(codec: str | None) -> None:
    frames = play(InbandDigits("123#*0"))
    assert len(frames) == 6 * 10 and all(len(f) == 160 for f in frames)  # 100 ms of tone, 100 ms of gap each
    detector = InbandDtmfDetector()
    assert "".join(detector.feed(through(codec)(frame)) or "" for frame in frames) == "123#*0"


def test_inband_digits_pause_and_pad() -> None:
    assert len(play(InbandDigits("1p2"))) == 10 + 25 + 10
    assert len(play(InbandDigits("1", tone_ms=70, gap_ms=0))) == 4  # 560 samples, padded to 640
    assert play(InbandDigits("")) == []
    assert heard(np.concatenate(play(InbandDigits("9P9")))) == "99"
    with pytest.raises(ValueError):
        InbandDigits("12x")


def test_a_long_press_is_one_key_and_two_presses_are_two() -> None:
    assert heard(np.concatenate([dtmf_tone("7", ms=2000), silence(40)])) == "7"
    assert heard(np.concatenate([dtmf_tone("7"), silence(50), dtmf_tone("7"), silence(50)])) == "77"
    assert heard(np.concatenate([dtmf_tone("7"), dtmf_tone("8")])) == "78"  # a new key needs no release


def test_short_keys_and_gaps_at_every_alignment_with_the_blocks() -> None:
    for offset in range(0, 205, 15):
        press = [dtmf_tone("7", ms=70), silence(20)]
        audio = through("PCMU")(np.concatenate([np.zeros(offset, dtype=np.int16), *press, *press, silence(30)]))
        assert heard(audio) == "77", offset


def test_frames_of_any_length_are_buffered() -> None:
    audio = np.concatenate(play(InbandDigits("159#")))
    assert heard(audio, frame=80) == heard(audio, frame=333) == heard(audio, frame=len(audio)) == "159#"


def test_quiet_keys_and_twist() -> None:
    def key(row_dbm0: float, column_dbm0: float) -> Pcm:
        tone = sine(852, row_dbm0, 0, 800) + sine(1477, column_dbm0, 0, 800)
        return np.concatenate([np.rint(tone).astype(np.int16), silence(50)])

    assert heard(key(-25, -25)) == "9"
    assert heard(key(-40, -40)) == ""  # too quiet
    for twist in (-7, 7):
        assert heard(through("PCMU")(key(-14, -14 + twist))) == "9"
    for twist in (-10, 10):
        assert heard(key(-14, -14 + twist)) == ""


def test_the_sixteen_bins_are_goertzel_s() -> None:
    detector = InbandDtmfDetector()
    block = np.random.default_rng(1).normal(0, 3000, detector.block)
    for i, hz in enumerate((697, 770, 852, 941, 1209, 1336, 1477, 1633)):
        coefficient, s1, s2 = 2 * np.cos(2 * np.pi * hz / 8000), 0.0, 0.0
        for x in block:
            s1, s2 = x + coefficient * s1 - s2, s1
        power = s1 * s1 + s2 * s2 - coefficient * s1 * s2
        assert detector.amplitudes(block)[i] == pytest.approx(2 * np.sqrt(power) / detector.block)


def test_no_key_in_silence_noise_or_a_plain_tone() -> None:
    rng = np.random.default_rng(7)
    assert heard(silence(2000)) == ""
    for sigma in (30, 300, 3000, 12000):
        noise = np.clip(rng.normal(0, sigma, 8000 * 3), -32768, 32767).astype(np.int16)
        assert heard(noise) == "" and heard(through("PCMA")(noise)) == ""
    for level in (-30, -10, 0):
        assert heard(np.rint(sine(1000, level, 0, 16000)).astype(np.int16)) == ""
    for row in (697, 941):  # one group alone is no key either
        assert heard(np.rint(sine(row, -10, 0, 8000)).astype(np.int16)) == ""


def speech() -> Pcm:
    """espeak-ng saying digits and words, at 8 kHz."""
    text = "one two three four five, six seven eight nine zero, star, pound. Hello, how are you today?"
    wav = subprocess.run(["espeak-ng", "--stdout", text], capture_output=True, check=True, timeout=30).stdout
    with wave.open(io.BytesIO(wav)) as reader:
        rate = reader.getframerate()
        pcm = np.frombuffer(reader.readframes(reader.getnframes()), dtype=np.int16)
    resampled = soxr.resample(pcm.astype(np.float32) / 32768, rate, 8000)
    return np.clip(np.rint(resampled * 32768), -32768, 32767).astype(np.int16)


def test_no_key_in_speech() -> None:
    voice = speech()
    assert len(voice) > 8000 * 3
    for gain in (1.0, 2.0):  # espeak speaks around -20 dBm0; louder too
        loud = np.clip(voice.astype(np.float64) * gain, -32768, 32767).astype(np.int16)
        for codec in (None, "PCMU", "PCMA"):
            assert heard(through(codec)(loud)) == "", (gain, codec)


def test_a_key_in_speech_is_heard() -> None:
    voice = speech()[:16000]
    assert heard(np.concatenate([voice, dtmf_tone("#"), voice])) == "#"


def events(digits: str, **options: int) -> list[EventPacket | None]:
    sender = TelephoneEvents(digits, 101, **options)
    out: list[EventPacket | None] = []
    timestamp = 1000
    while not sender.done:
        out.append(sender.tick(timestamp))
        timestamp += 160
    assert sender.tick(timestamp) is None
    return out


def test_telephone_events_are_heard_by_the_rtp_detector_once_each() -> None:
    detector, keys = DtmfDetector(), ""
    for sequence, packet in enumerate(events("123#*0AD")):
        if packet is not None:
            datagram = build_rtp(101, sequence, packet.timestamp, 0x1234, packet.payload, marker=packet.marker)
            keys += detector.feed(datagram, 101) or ""
    assert keys == "123#*0AD"


def test_an_event_keeps_its_timestamp_grows_its_duration_and_ends_three_times() -> None:
    ticks = events("5", tone_ms=100)
    assert all(isinstance(p, EventPacket) for p in ticks) and len(ticks) == 7
    packets = [p for p in ticks if p is not None]
    parsed = [parse_telephone_event(p.payload) for p in packets]
    assert [p.timestamp for p in packets] == [1000] * 7
    assert [p.marker for p in packets] == [True] + [False] * 6
    assert [(e.event, e.end, e.volume, e.duration) for e in parsed if e is not None] == (
        [(5, False, 10, d) for d in (160, 320, 480, 640)] + [(5, True, 10, 800)] * 3)


def test_gaps_and_pauses_carry_audio() -> None:
    ticks = events("12p3", tone_ms=60, gap_ms=50, pause_ms=100, volume=20)
    pattern = "".join("." if p is None else "M" if p.marker else "e" for p in ticks)
    assert pattern == "Meeee" + "..." + "Meeee" + "....." + "..." + "Meeee"
    starts = [p.timestamp for p in ticks if p is not None and p.marker]
    assert starts == [1000, 1000 + 8 * 160, 1000 + 21 * 160]
    first = parse_telephone_event(ticks[0].payload) if ticks[0] else None
    assert first is not None and first.volume == 20


def test_the_timestamp_wraps_and_bad_options_are_refused() -> None:
    sender = TelephoneEvents("1", 101)
    packet = sender.tick(2**32 + 5)
    assert packet is not None and packet.timestamp == 5
    for options in ({"volume": 64}, {"tone_ms": 0}, {"tone_ms": 9000}):
        with pytest.raises(ValueError):
            TelephoneEvents("1", 101, **options)
    with pytest.raises(ValueError):
        TelephoneEvents("1x", 101)
