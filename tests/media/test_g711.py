"""`voxsim.media.g711` against the reference values of G.711."""

from __future__ import annotations

import numpy as np

from voxsim.media import g711
from voxsim.media.g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode


def test_silence_has_the_well_known_bytes() -> None:
    zeros = np.zeros(160, dtype=np.int16)
    assert ulaw_encode(zeros) == b"\xff" * 160
    assert alaw_encode(zeros) == b"\xd5" * 160


def test_the_extremes_and_sign() -> None:
    pcm = np.array([32767, -32768, 1000, -1000], dtype=np.int16)
    assert list(ulaw_encode(pcm)) == [0x80, 0x00, 0xCE, 0x4E]
    assert list(alaw_encode(pcm)) == [0xAA, 0x2A, 0xFA, 0x7A]


def test_a_round_trip_keeps_the_signal_within_the_quantisation_step() -> None:
    t = np.arange(8000) / 8000
    pcm = (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    for encode, decode in ((ulaw_encode, ulaw_decode), (alaw_encode, alaw_decode)):
        back = decode(encode(pcm)).astype(np.int32)
        error = np.abs(back - pcm)
        assert error.max() <= 256  # the largest step at this level
        assert np.corrcoef(back, pcm)[0, 1] > 0.999


def test_decoding_every_byte_then_encoding_gives_the_byte_back() -> None:
    every = bytes(range(256))
    assert ulaw_encode(ulaw_decode(every)) == bytes(b if b != 0x7F else 0xFF for b in every)
    assert alaw_encode(alaw_decode(every)) == every


def test_the_tables_are_the_reference_algorithm_for_every_sample() -> None:
    every = np.arange(-32768, 32768, dtype=np.int16)
    assert list(alaw_encode(every)) == [g711._linear_to_alaw(int(s)) for s in every]
    assert list(ulaw_encode(every)) == [g711._linear_to_ulaw(int(s)) for s in every]
