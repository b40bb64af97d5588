"""`voxsim.media.tones`: ToneScript parsed as the Linksys manuals define it, played with its cadence and
levels, and the ringback tone of each country."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from voxsim.media.tones import (
    PROGRESS_TONES,
    ZERO_DBM0_PEAK,
    Section,
    Segment,
    ToneGenerator,
    ToneScript,
    ToneScriptError,
    dbm0_amplitude,
    level_dbm0,
    parse_tone_script,
    progress_tone,
    sine,
)


def frames(generator: ToneGenerator, limit: int) -> list[npt.NDArray[np.int16]]:
    out: list[npt.NDArray[np.int16]] = []
    while len(out) < limit and (frame := generator.next_frame()) is not None:
        out.append(frame)
    return out


def on_frames(generator: ToneGenerator, count: int) -> list[bool]:
    """Per 20 ms frame: does it carry tone (energy well above silence)?"""
    return [bool(np.mean(f.astype(np.float64) ** 2) > 1000) for f in frames(generator, count)]


def runs(flags: list[bool]) -> list[tuple[bool, int]]:
    """Run-length encoding: [(on, frames), ...]."""
    out: list[tuple[bool, int]] = []
    for flag in flags:
        if out and out[-1][0] == flag:
            out[-1] = (flag, out[-1][1] + 1)
        else:
            out.append((flag, 1))
    return out


def test_the_dial_ringback_and_busy_tones_parse() -> None:
    assert parse_tone_script("350@-19,440@-19;10(*/0/1+2)") == ToneScript(
        ((350, -19.0), (440, -19.0)), (Section(10.0, (Segment(None, 0.0, (1, 2)),)),))
    assert parse_tone_script("440@-19,480@-19;*(2/4/1+2)").sections == (Section(None, (Segment(2.0, 4.0, (1, 2)),)),)
    assert parse_tone_script("480@-24,620@-24;10(.5/.5/1+2)").sections[0].segments == (Segment(0.5, 0.5, (1, 2)),)


def test_two_sections_several_segments_silence_and_spaces() -> None:
    stutter = parse_tone_script("350@-19,440@-19;2(.1/.1/1+2);10(*/0/1+2)")
    assert [s.total_s for s in stutter.sections] == [2.0, 10.0] and stutter.duration_s == 12.0
    sit = parse_tone_script("985@-16,1428@-16,1777@-16;20(.380/0/1,.380/0/2,.380/0/3,0/4/0)")
    assert [s.tones for s in sit.sections[0].segments] == [(1,), (2,), (3,), ()]
    assert parse_tone_script(" 350 @ -19 , 440@+3.5 ; 10 ( * / 0 / 1 + 2 ) ").frequencies == ((350, -19.0), (440, 3.5))


@pytest.mark.parametrize(("script", "position", "expected"), [
    ("", 0, "a frequency in Hz"),
    ("350", 3, "'@'"),
    ("350@x", 4, "a level in dBm0"),
    ("350@-19", 7, "';'"),
    ("350@-19;", 8, "a section duration"),
    ("350@-19;10", 10, "'('"),
    ("350@-19;10(1/2)", 14, "'/'"),
    ("350@-19;10(1/2/1", 16, "')'"),
    ("350@-19;10(1/2/1+)", 17, "a frequency number"),
    ("350@-19;10(1/2/1) x", 18, "another section"),
    ("350@-19;10(1/2/2)", 15, "frequency 2 of a list of 1"),
    ("350@-19;10(0/0/1)", 8, "segments last 0 s"),
    ("0@-19;10(1/0/1)", 0, "0 Hz"),
    ("350.5@-19;10(1/0/1)", 3, "'@'"),
])
def test_a_malformed_script_says_where_and_what_was_expected(script: str, position: int, expected: str) -> None:
    with pytest.raises(ToneScriptError) as caught:
        parse_tone_script(script)
    assert f"at position {position} " in str(caught.value) and expected in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_a_finite_script_plays_out_then_returns_none() -> None:
    generator = ToneGenerator(parse_tone_script("350@-19,440@-19;10(*/0/1+2)"))
    assert generator.duration_ms == 10000
    played = frames(generator, 1000)
    assert len(played) == 500 and all(len(f) == 160 and f.dtype == np.int16 for f in played)
    assert generator.next_frame() is None and generator.finished


def test_the_last_frame_is_padded_with_silence() -> None:
    played = frames(ToneGenerator(parse_tone_script("1000@-10;.05(*/0/1)")), 10)
    assert len(played) == 3
    assert np.any(played[2][:80]) and not np.any(played[2][80:])


def test_a_forever_script_never_ends() -> None:
    generator = ToneGenerator(parse_tone_script("440@-19,480@-19;*(2/4/1+2)"))
    assert generator.duration_ms is None
    assert len(frames(generator, 2000)) == 2000


def test_frames_join_without_a_click() -> None:
    script = parse_tone_script("350@-19,440@-19;1(*/0/1+2)")
    joined = np.concatenate(frames(ToneGenerator(script), 10))
    whole = ToneGenerator(script).next_frame(1600)
    assert whole is not None
    assert np.array_equal(joined, whole)
    expected = sine(350, -19, 0, 1600) + sine(440, -19, 0, 1600)
    assert np.abs(joined - expected).max() <= 0.5


def test_levels_follow_dbm0() -> None:
    tone = ToneGenerator(parse_tone_script("1000@0;1(*/0/1)")).next_frame(8000)
    assert tone is not None
    assert abs(int(tone.max()) - ZERO_DBM0_PEAK) < 1 and 22_000 < ZERO_DBM0_PEAK < 23_000
    quiet = ToneGenerator(parse_tone_script("1000@-20;1(*/0/1)")).next_frame(8000)
    assert quiet is not None
    assert abs(level_dbm0(float(np.sqrt(2 * np.mean(quiet.astype(np.float64) ** 2)))) + 20) < 0.01
    assert dbm0_amplitude(-20) == pytest.approx(ZERO_DBM0_PEAK / 10)


def test_the_us_ringback_is_on_2_s_and_off_4_s() -> None:
    flags = on_frames(ToneGenerator(progress_tone("US")), 50 * 14)
    assert runs(flags) == [(True, 100), (False, 200), (True, 100), (False, 200), (True, 100)]


def test_segments_play_in_order_until_the_section_ends() -> None:
    generator = ToneGenerator(parse_tone_script("400@-19,450@-19;4(.4/.2/1+2,.4/2/1+2);1(0/1/0)"))
    assert generator.duration_ms == 5000
    flags = on_frames(generator, 500)
    # the 3 s cycle plays once and is cut after 1 s of its second round; then the second section's silence
    assert runs(flags) == [(True, 20), (False, 10), (True, 20), (False, 100), (True, 20), (False, 10),
                           (True, 20), (False, 50)]


def test_silence_segments_and_zero_off_times() -> None:
    sit = ToneGenerator(parse_tone_script("985@-16,1428@-16,1777@-16;20(.380/0/1,.380/0/2,.380/0/3,0/4/0)"))
    played = np.concatenate(frames(sit, 258))  # 1.14 s of tones, then 4 s of silence
    for start, hz in ((0, 985), (3040, 1428), (6080, 1777)):
        spectrum = np.abs(np.fft.rfft(played[start + 400:start + 2400]))
        assert abs(np.argmax(spectrum) * 8000 / 2000 - hz) <= 4
    assert not np.any(played[9120:41120]) and np.any(played[41120:])  # then the cycle starts again


def test_a_frequency_the_rate_cannot_carry_is_refused() -> None:
    with pytest.raises(ToneScriptError):
        ToneGenerator(parse_tone_script("4000@-10;1(*/0/1)"))
    with pytest.raises(ToneScriptError, match="0 samples"):
        ToneGenerator(parse_tone_script("440@-10;1(.00001/0/1)"))


def test_every_progress_tone_parses_and_rings_forever() -> None:
    for country in PROGRESS_TONES:
        generator = ToneGenerator(progress_tone(country))
        assert generator.duration_ms is None and any(on_frames(generator, 300))


def test_progress_tones_per_country() -> None:
    ru = [(True, 40), (False, 160), (True, 40), (False, 10)]
    assert runs(on_frames(ToneGenerator(progress_tone("ru")), 250)) == ru
    assert runs(on_frames(ToneGenerator(progress_tone("GB")), 150)) == [(True, 20), (False, 10), (True, 20),
                                                                         (False, 100)]
    assert progress_tone("us").frequencies == ((440, -19.0), (480, -19.0))
    assert progress_tone("RU").frequencies == ((425, -19.0),)


def test_an_unknown_country_names_the_supported_ones() -> None:
    with pytest.raises(ValueError, match="supported: .*RU.*US"):
        progress_tone("XX")
