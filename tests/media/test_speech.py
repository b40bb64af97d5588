"""`voxsim.media.speech`: voices, SSML, espeak-ng rendering, its cache and limits, and the stand-in."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from voxsim.media.decode import wav_bytes
from voxsim.media.speech import Speech, SpeechRenderer, espeak_voice, is_ssml, plain_text, stand_in_pcm

FRAME = 160  # 20 ms at 8 kHz


def frame_energy(pcm: np.ndarray) -> np.ndarray:
    frames = pcm[: len(pcm) // FRAME * FRAME].astype(np.float64).reshape(-1, FRAME)
    return np.sqrt(np.mean(frames**2, axis=1))


def assert_speech_like(speech: Speech) -> None:
    """Loud enough to be heard, with the ups and downs of syllables and pauses."""
    energy = frame_energy(speech.pcm)
    assert float(np.sqrt(np.mean(speech.pcm.astype(np.float64) ** 2))) > 500  # silence is 0, G.711 idle noise < 10
    assert energy.max() > 1500
    assert (energy < 0.1 * energy.max()).sum() >= 3  # quiet moments between the sounds
    assert energy.std() > 0.3 * energy.mean()


async def until(condition: Callable[[], bool]) -> None:
    while not condition():
        await asyncio.sleep(0.01)


def fake_espeak(tmp_path: Path, body: str) -> str:
    """An executable that stands in for espeak-ng, running the shell `body`."""
    path = tmp_path / "fake-espeak"
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return str(path)


# ---------------------------------------------------------------- voices


@pytest.mark.parametrize(("voice", "espeak"), [
    ("VoiceList.Amazon.en_US_Joanna", "en-us+f3"),
    ("VoiceList.Amazon.Neural.en_GB_Brian", "en-gb"),
    ("VoiceList.Amazon.ru_RU_Tatyana", "ru+f3"),
    ("VoiceList.Amazon.ru_RU_Maxim", "ru"),
    ("VoiceList.Amazon.pt_BR_Vitoria", "pt-br+f3"),
    ("VoiceList.Amazon.arb_Zeina", "ar+f3"),
    ("VoiceList.Amazon.Neural.es_MX_Andres", "es-419"),
    ("VoiceList.Amazon.Neural.cmn_CN_Zhiyu", "cmn+f3"),
    ("VoiceList.Google.de_DE_Neural2_A", "de"),  # Google's letters: A is male in German...
    ("VoiceList.Google.pt_BR_Wavenet_C", "pt-br+f3"),
    ("VoiceList.Google.en_US_Neural2_I", "en-us"),
    ("VoiceList.Google.fr_CA_Chirp3_HD_Laomedeia", "fr-fr+f3"),
    ("VoiceList.Google.ja_JP_Chirp3_HD_Alnilam", "ja"),
    ("VoiceList.Google.yue_HK_Standard_D", "yue"),
    ("VoiceList.Microsoft.Neural.ru_RU_DmitryNeural", "ru"),
    ("VoiceList.Microsoft.Neural.fr_FR_JosephineNeural", "fr-fr+f3"),
    ("VoiceList.Microsoft.Neural.de_CH_JanNeural", "de"),
    ("VoiceList.Microsoft.Neural.es_EC_AndreaNeural", "es-419+f3"),
    ("VoiceList.Microsoft.Neural.en_AU_DarrenNeural", "en-gb"),
    ("VoiceList.Microsoft.Neural.sr_Latn_RS_SophieNeural", "sr+f3"),
    ("VoiceList.Microsoft.Neural.zh_CN_liaoning_XiaobeiNeural", "cmn+f3"),
    ("VoiceList.Default.en_US_Female", "en-us+f3"),
    ("VoiceList.Default.de_DE_Male", "de"),
    ("VoiceList.IBM.Neural.es_ES_Laura", "es+f3"),
    ("VoiceList.YandexV3.ru_RU_lola_ru", "ru+f3"),
    ("VoiceList.SaluteSpeech.ru_RU_boris", "ru"),
    ("VoiceList.ElevenLabs.Sarah", "en-us+f3"),
    ("VoiceList.ElevenLabs.Brian", "en-us"),
    ("Language.US_ENGLISH_FEMALE", "en-us+f3"),
    ("Language.UK_ENGLISH_MALE", "en-gb"),
    ("Language.RU_RUSSIAN_MALE", "ru"),
    ("Language.EU_SPANISH_FEMALE", "es+f3"),
    ("Language.BR_PORTUGUESE_FEMALE", "pt-br+f3"),
    ("VoiceList.Google.fil_PH_Standard_A", "en-us+f3"),  # no Filipino in espeak-ng
    ("VoiceList.Something.Unknown", "en-us"),
    (None, "en-us"),
])
def test_the_voice_table(voice: str | None, espeak: str) -> None:
    assert espeak_voice(voice) == espeak


def test_the_language_fills_in_what_the_voice_does_not_say() -> None:
    assert espeak_voice(None, "ru-RU") == "ru"
    assert espeak_voice(None, "Language.RU_RUSSIAN_FEMALE") == "ru+f3"
    assert espeak_voice("VoiceList.ElevenLabs.Sarah", "de-DE") == "de+f3"  # ElevenLabs voices have no locale
    assert espeak_voice("VoiceList.Amazon.en_US_Joanna", "ru-RU") == "en-us+f3"  # the voice's locale wins


def test_every_voice_the_table_names_exists_in_espeak_ng() -> None:
    names = {espeak_voice(f"VoiceList.X.{loc}_Anna") for loc in (
        "en_US", "en_GB", "es_ES", "es_MX", "fr_FR", "fr_BE", "fr_CH", "pt_PT", "pt_BR", "zh_CN", "zh_HK", "ru_RU",
        "de_DE", "it_IT", "ja_JP", "ko_KR", "nl_NL", "pl_PL", "sv_SE", "tr_TR", "ar_SA", "hi_IN", "nb_NO", "he_IL")}
    for name in names:
        subprocess.run(["espeak-ng", "-q", "-v", name, "a"], check=True, capture_output=True)


# ---------------------------------------------------------------- SSML


def test_is_ssml() -> None:
    assert is_ssml("<speak>Hello</speak>")
    assert is_ssml('  <?xml version="1.0"?><speak version="1.1">Hi</speak>')
    assert not is_ssml("Hello <b>world</b>")
    assert not is_ssml("1 < 2")


def test_plain_text_of_ssml_is_the_words_spoken() -> None:
    ssml = ('<speak>Your balance is <say-as interpret-as="cardinal">42</say-as> dollars.'
            '<break time="500ms"/>Fish &amp; chips, <sub alias="World Wide Web Consortium">W3C</sub>.</speak>')
    assert plain_text(ssml) == "Your balance is 42 dollars. Fish & chips, World Wide Web Consortium ."
    assert plain_text("  Plain   text, 1 < 2 &amp; more ") == "Plain text, 1 < 2 &amp; more"


# ---------------------------------------------------------------- rendering with espeak-ng


async def test_hello_world_is_speech() -> None:
    renderer = SpeechRenderer()
    assert renderer.available and renderer.stand_in_reason is None
    speech = await renderer.render("Hello world", "VoiceList.Amazon.en_US_Joanna")
    assert not speech.stand_in
    assert (speech.text, speech.voice) == ("Hello world", "en-us+f3")
    assert speech.pcm.dtype == np.int16 and speech.pcm.ndim == 1
    assert 500 <= speech.duration_ms <= 3000
    assert_speech_like(speech)
    assert not speech.pcm.flags.writeable  # shared through the cache


async def test_other_languages_render_too() -> None:
    speech = await SpeechRenderer().render("Привет, мир", "VoiceList.Microsoft.Neural.ru_RU_DmitryNeural")
    assert speech.voice == "ru" and not speech.stand_in and speech.duration_ms >= 500


async def test_an_ssml_break_lengthens_the_audio_and_its_tags_are_not_spoken() -> None:
    renderer = SpeechRenderer()
    plain = await renderer.render("<speak>Hello world</speak>")
    paused = await renderer.render('<speak>Hello <break time="1500ms"/> world</speak>')
    assert paused.text == plain.text == "Hello world"
    assert paused.duration_ms - plain.duration_ms >= 1200
    quiet = frame_energy(paused.pcm) < 50
    longest = max(len(run) for run in "".join("q" if q else "." for q in quiet).split("."))
    assert longest * 20 >= 1200  # the pause is one silence, not spread around


async def test_a_faster_rate_is_shorter() -> None:
    slow = await SpeechRenderer(rate_wpm=120).render("The quick brown fox jumps over the lazy dog")
    fast = await SpeechRenderer(rate_wpm=300).render("The quick brown fox jumps over the lazy dog")
    assert fast.duration_ms < 0.7 * slow.duration_ms


async def test_a_cached_prompt_is_the_same_speech_without_a_second_process() -> None:
    renderer = SpeechRenderer()
    first = await renderer.render("Hello world", "VoiceList.Amazon.en_US_Joanna")
    again = await renderer.render("Hello world", "VoiceList.Amazon.en_US_Joanna")
    assert again is first and renderer.spawned == 1
    other = await renderer.render("Hello world", "VoiceList.Amazon.en_US_Matthew")
    assert other is not first and renderer.spawned == 2


async def test_the_same_prompt_asked_at_once_runs_one_process() -> None:
    renderer = SpeechRenderer()
    a, b = await asyncio.gather(renderer.render("Hello there"), renderer.render("Hello there"))
    assert a is b and renderer.spawned == 1


async def test_the_cache_forgets_the_least_recently_used() -> None:
    renderer = SpeechRenderer(cache_size=2)
    one = await renderer.render("one")
    await renderer.render("two")
    assert await renderer.render("one") is one  # "two" is now the oldest
    await renderer.render("three")
    assert await renderer.render("one") is one and renderer.spawned == 3
    await renderer.render("two")
    assert renderer.spawned == 4


async def test_empty_text_is_no_audio_and_no_process() -> None:
    renderer = SpeechRenderer()
    speech = await renderer.render("   ")
    assert len(speech.pcm) == 0 and speech.duration_ms == 0 and not speech.stand_in
    assert renderer.spawned == 0


# ---------------------------------------------------------------- the stand-in


async def test_without_espeak_ng_a_stand_in_is_made() -> None:
    renderer = SpeechRenderer(executable="/nonexistent/espeak-ng")
    assert not renderer.available
    assert renderer.stand_in_reason == "/nonexistent/espeak-ng is not installed"
    speech = await renderer.render("Hello world, this is a longer prompt", "VoiceList.Amazon.en_US_Joanna")
    assert speech.stand_in and speech.voice == "en-us+f3" and speech.text == "Hello world, this is a longer prompt"
    assert speech.duration_ms == 60 * len(speech.text)
    assert_speech_like(speech)
    assert renderer.spawned == 0


def test_the_stand_in_is_deterministic_and_never_under_half_a_second() -> None:
    assert np.array_equal(stand_in_pcm("Hello world"), stand_in_pcm("Hello world"))
    assert not np.array_equal(stand_in_pcm("Hello world"), stand_in_pcm("Hello, world"))
    assert len(stand_in_pcm("Hi")) == 4000


def test_the_stand_in_keeps_ssml_breaks_and_speaks_no_tags() -> None:
    pcm = stand_in_pcm('<speak>Hello <break time="1s"/> world</speak>')
    assert len(pcm) == (60 * len("Hello") + 1000 + 60 * len("world")) * 8
    assert pcm[:60 * 5 * 8].any() and pcm[-60 * 5 * 8:].any()
    assert not pcm[60 * 5 * 8: 60 * 5 * 8 + 8000].any()


async def test_a_failing_espeak_gives_a_stand_in_and_is_not_cached(tmp_path: Path) -> None:
    renderer = SpeechRenderer(executable=fake_espeak(tmp_path, 'echo "voice broken" >&2\nexit 3'))
    assert renderer.available
    speech = await renderer.render("Hello world")
    assert speech.stand_in and speech.duration_ms == 660
    assert renderer.stand_in_reason is not None and "voice broken" in renderer.stand_in_reason
    await renderer.render("Hello world")
    assert renderer.spawned == 2


async def test_output_that_is_not_a_wav_gives_a_stand_in(tmp_path: Path) -> None:
    renderer = SpeechRenderer(executable=fake_espeak(tmp_path, "cat >/dev/null\necho garbage"))
    speech = await renderer.render("Hello world")
    assert speech.stand_in and "WAV" in (renderer.stand_in_reason or "")


async def test_a_slow_espeak_times_out_into_a_stand_in(tmp_path: Path) -> None:
    renderer = SpeechRenderer(executable=fake_espeak(tmp_path, "exec sleep 30"), timeout=0.2)
    speech = await renderer.render("Hello world")
    assert speech.stand_in and speech.text == "Hello world"
    assert "took longer than 0.2 s" in (renderer.stand_in_reason or "")


async def test_at_most_four_espeak_processes_run_at_once(tmp_path: Path) -> None:
    (tmp_path / "speech.wav").write_bytes(wav_bytes(np.full(2205, 1000, np.int16), rate=22050))
    executable = fake_espeak(tmp_path, f"""
cat >/dev/null
touch "{tmp_path}/started.$$"
while [ ! -e "{tmp_path}/release" ]; do sleep 0.01; done
cat "{tmp_path}/speech.wav"
""")
    renderer = SpeechRenderer(executable=executable)
    started = lambda: len(list(tmp_path.glob("started.*")))  # noqa: E731
    renders = [asyncio.ensure_future(renderer.render(f"prompt {i}")) for i in range(6)]
    await asyncio.wait_for(until(lambda: started() == 4), 5)
    for _ in range(20):  # every chance for a fifth to start: it waits for a place instead
        await asyncio.sleep(0)
    assert started() == 4 and renderer.spawned == 4
    (tmp_path / "release").touch()
    done = await asyncio.wait_for(asyncio.gather(*renders), 5)
    assert started() == 6
    assert all(not s.stand_in and len(s.pcm) == 800 for s in done)
