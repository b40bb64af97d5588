"""Text to speech for `Call.say` and `VoxEngine.createTTSPlayer`, with Debian's espeak-ng.

The platform's voice arrives as the dotted path the scenario named (`VoiceList.Amazon.en_US_Joanna`,
`VoiceList.Microsoft.Neural.ru_RU_DmitryNeural`, the legacy `Language.US_ENGLISH_FEMALE`); `espeak_voice` maps
its language to an espeak-ng voice and, for a female voice, the `+f3` variant. `SpeechRenderer.render` runs
espeak-ng (at most four at once, ten seconds each), resamples its 22,050 Hz WAV to 8 kHz and caches the result.
Each `Speech` carries the words it speaks, so that recognisers inside voxsim read the text, not the audio
(design.md, "Text travels with speech"). Without espeak-ng, or when it fails, a stand-in is made: noise and buzz
in syllable-shaped bursts, as long as the words would take, so that timing still behaves like speech.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import html
import logging
import re
import shutil
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from voxsim.media.decode import RATE, AudioError, read_wav, resample

__all__ = ["Speech", "SpeechRenderer", "espeak_voice", "is_ssml", "plain_text", "stand_in_pcm"]

log = logging.getLogger(__name__)

Pcm = npt.NDArray[np.int16]

DEFAULT_VOICE = "en-us"
FEMALE_VARIANT = "+f3"
MAX_PROCESSES = 4
TIMEOUT = 10.0


@dataclass(frozen=True, eq=False)  # eq=False: numpy arrays have no truth value; a Speech is equal to itself
class Speech:
    """One rendered prompt: 8 kHz PCM16 (read-only, it is shared through the cache) and the words it speaks."""

    pcm: Pcm
    text: str
    voice: str
    stand_in: bool

    @property
    def duration_ms(self) -> int:
        return len(self.pcm) * 1000 // RATE


# ---------------------------------------------------------------- voices

# The languages espeak-ng 1.51 (Debian 12) speaks under their own ISO 639 code (`espeak-ng --voices`).
_ESPEAK_LANGUAGES = frozenset(str.split(
    "af am an ar as az ba be bg bn bs ca cs cv cy da de el eo et eu fa fi ga gd gn gu he hi hr ht hu hy ia id is "
    "it ja ka kk kl kn ko ku ky la lb lt lv mi mk ml mr ms mt my nb ne nl om or pa pl qu ro ru sd si sk sl sq sr "
    "sv sw ta te th tk tn tr tt ug uk ur uz vi yue"
))
_ALIASES = {"arb": "ar", "cmn": "zh", "wuu": "zh", "no": "nb", "nn": "nb", "iw": "he", "in": "id"}
# A language espeak-ng has in regional voices: (voice for other regions, {region: voice}); "" is no region.
_REGIONAL: dict[str, tuple[str, dict[str, str]]] = {
    "en": ("en-gb", {"": "en-us", "US": "en-us", "CA": "en-us", "PH": "en-us"}),
    "es": ("es-419", {"": "es", "ES": "es", "GQ": "es"}),
    "fr": ("fr-fr", {"BE": "fr-be", "CH": "fr-ch"}),
    "pt": ("pt", {"BR": "pt-br"}),
    "zh": ("cmn", {"HK": "yue"}),
}
# The words of the legacy `Language` names (`Language.RU_RUSSIAN_MALE`): the language, and regions by another name.
_LEGACY_LANGUAGES = {
    "ARABIC": "ar", "CATALAN": "ca", "CHINESE": "zh", "CZECH": "cs", "DANISH": "da", "DUTCH": "nl",
    "ENGLISH": "en", "FINNISH": "fi", "FRENCH": "fr", "GERMAN": "de", "GREEK": "el", "HINDI": "hi",
    "HUNGARIAN": "hu", "ICELANDIC": "is", "ITALIAN": "it", "JAPANESE": "ja", "KOREAN": "ko", "NORWEGIAN": "nb",
    "POLISH": "pl", "PORTUGUESE": "pt", "ROMANIAN": "ro", "RUSSIAN": "ru", "SPANISH": "es", "SWEDISH": "sv",
    "TURKISH": "tr", "UKRAINIAN": "uk", "WELSH": "cy",
}
_LEGACY_REGIONS = {"UK": "GB", "EU": ""}

# Which voices are female, as the official typings (reference/voxengine.d.ts, "namespace VoiceList") describe them:
# the given names used only for female voices (Amazon, Microsoft, IBM, Yandex, ElevenLabs, SaluteSpeech, T-Bank,
# Google's Chirp 3 HD stars), and for Google's lettered voices (`de_DE_Neural2_A`) the female letters of each
# locale. Generated from the typings; two IBM entries the typings call female (Jack, Nicolas) are left out.
_FEMALE_NAMES = frozenset(str.split("""
    aarohi aarti aashi abbi abril achara achernar ada aditi adri agnieszka aigul ainhoa alba alena alexandra
    alice alina allison amal amala amany amber amina amy ana anahit ananya andrea anila anna annette anu aoede
    aoi arabella aria ariane arlet ashley asilia astrid athina autonoe ava ayanda aysha banu beatriz belkys
    bella bianca birgit blessica brenda brigitte burcu callirrhoe camila candela carla carlota carly carmen
    catalina celeste celine chantal charline charlotte christel clara colette conchita cora coralie dalia
    daniela danielle dariya dasha dena denise despina dhwani dilara dora eka elena elin elizabeth elke eloise
    elsa elsie elvira elza emel emi emily emma erika erinome estrella everita ewa ezinne fabiola fatima fenna
    fernanda fiamma filiz francesca francisca freya gabrielle gabrijela gacrux gadis giovanna gisela grace
    gudrun gul gwyneth hala hannah heidi hemkala hila hillevi hiugaai hiujin hiumaan hoaimy hollie hsiaochen
    hsiaoyu ida iman imani imelda ines ingrid irene irma isabela isabella isabelle iselin isidora ivy
    jacqueline jane jasmine jenny jessica jihye jimin jin jitka joana joanna joanne josephine julia kajal kalina
    kani karina karla kate katja kavya kazuha kendra keomany kim kimberly klarissa kore laia laila laomedeia
    larissa latifa laura layla lea leah leda leila leni lera leticia lia libby lily lisa liv lola lorena lotte
    louisa louise lucia luna lupe madina maisie maja manuela margarita maria marija marina marlene marta maryam
    masha matilda mayu mekdes merel mia michelle mizuki molly monica mouna nabanita naja nanami nancy naomi
    natalia natasha neerja nia niamh nicole nigora nilar noemi noora noura nova nuria ola olivia omazh
    ona orla pallavi palmira paloma paola penelope pernille petra pierina polina premwadee pulcherrima ramona
    rana raquel raveena reem rehema renata renee rosa ruth sabela sabrina salli salma salome sana sapna sara
    sarah saranya saule selma seohyeon seoyeon seraphina shimmer shiori shruti siqiniq siti sobhana sofia sofie
    sonia soonbok sophie sreymom subhasini sulafat sunhi suvi svetlana swara sylvie tania tanishaa tanja tatyana
    teresa thalita thando thilini tina tomoko triana tuti ubax uzma vaani valentina venba vera vesna vicki
    viktoria vindemiatrix vitoria vivienne vlasta xiaobei xiaochen xiaohan xiaomeng xiaomin xiaomo xiaoni
    xiaoqiu xiaorou xiaorui xiaoshuang xiaotong xiaoxiao xiaoxiaodialects xiaoyan xiaoyi xiaoyou xiaoyu xiaozhen
    ximena yan yara yashica yasmin yesui yolanda yujin yulduz yvette zariyah zeina zephyr zhanar zhiyu zofia
    zuri
"""))
_GOOGLE_FEMALE_LETTERS = {
    "af_ZA": "A", "am_ET": "A", "ar_XA": "AD", "bg_BG": "B", "bn_IN": "AC", "ca_ES": "B", "cmn_CN": "AD",
    "cmn_TW": "A", "cs_CZ": "B", "da_DK": "F", "de_DE": "CFGO", "el_GR": "B", "en_AU": "ACEFO", "en_GB": "ACFGHIN",
    "en_IN": "ADEO", "en_US": "CEFGHLO", "es_ES": "ACFHO", "es_US": "AFGO", "eu_ES": "B", "fi_FI": "B",
    "fil_PH": "AB", "fr_CA": "ACFO", "fr_FR": "AFO", "gl_ES": "B", "gu_IN": "AC", "he_IL": "AC", "hi_IN": "ADE",
    "hu_HU": "AB", "id_ID": "AD", "is_IS": "B", "it_IT": "AEO", "ja_JP": "AB", "kn_IN": "AC", "ko_KR": "AB",
    "ml_IN": "AC", "mr_IN": "AC", "ms_MY": "AC", "nb_NO": "F", "nl_BE": "C", "nl_NL": "F", "pa_IN": "AC",
    "pl_PL": "F", "pt_BR": "ACD", "pt_PT": "E", "ro_RO": "B", "ru_RU": "ACE", "sk_SK": "B", "sr_RS": "B",
    "sv_SE": "ABF", "ta_IN": "AC", "te_IN": "AC", "th_TH": "AC", "tr_TR": "ACD", "uk_UA": "B", "ur_IN": "A",
    "vi_VN": "AC", "yue_HK": "AC",
}

# `en_US_Joanna`, `iu_Cans_CA_SiqiniqNeural` (a script), `arb_Zeina` (no region), `es_419`, or a plain `en-US`.
_LOCALE = re.compile(r"([a-z]{2,3})(?:_[A-Z][a-z]{3})?(?:_([A-Za-z]{2}|\d{3}))?(?=_|$)")
_LEGACY = re.compile(r"([A-Z]{2})_([A-Z]+)_(FEMALE|MALE)\d*")
_NAME_SUFFIX = re.compile(r"(?:Turbo)?(?:Multilingual)?(?:Neural)?(?:Expressive)?$")

Locale = tuple[str, str]  # (language, region or "")


def _female(locale: Locale | None, name: str) -> bool | None:
    """Whether the voice called `name` (the part after its locale) is female; None when nothing says."""
    tokens = [_NAME_SUFFIX.sub("", t).lower() for t in name.split("_") if t]
    if "female" in tokens or "male" in tokens:
        return "female" in tokens
    last = name.rsplit("_", 1)[-1]
    if locale is not None and len(last) == 1 and last.isupper():
        return last in _GOOGLE_FEMALE_LETTERS.get("_".join(locale), "")
    if any(t in _FEMALE_NAMES for t in tokens):
        return True
    return None


def _describe(value: str | None) -> tuple[Locale | None, bool | None]:
    """The locale and gender a voice, a legacy `Language` or a plain locale (`en-US`) names, as far as it says."""
    if not value:
        return None, None
    last = value.strip().rsplit(".", 1)[-1]
    legacy = _LEGACY.fullmatch(last)
    if legacy is not None:
        region, word, gender = legacy.groups()
        language = _LEGACY_LANGUAGES.get(word)
        locale = None if language is None else (language, _LEGACY_REGIONS.get(region, region))
        return locale, gender == "FEMALE"
    match = _LOCALE.match(last.replace("-", "_"))
    if match is None:  # no locale in the name (ElevenLabs): the name alone may tell the gender
        return None, _female(None, last)
    locale = (match.group(1), (match.group(2) or "").upper())
    return locale, _female(locale, last[match.end() + 1:])


def _espeak_language(locale: Locale | None) -> str:
    if locale is None:
        return DEFAULT_VOICE
    language = _ALIASES.get(locale[0], locale[0])
    if language in _REGIONAL:
        other_regions, regions = _REGIONAL[language]
        return regions.get(locale[1], other_regions)
    return language if language in _ESPEAK_LANGUAGES else DEFAULT_VOICE


def espeak_voice(voice: str | None, language: str | None = None) -> str:
    """The espeak-ng voice for a platform voice (`VoiceList.Amazon.en_US_Joanna` -> `en-us+f3`).

    The voice's own locale wins; `language` (a legacy `Language.X`, or a locale such as `ru-RU`) fills in what
    the voice does not say. A language espeak-ng does not speak, or none at all, is `en-us`; a female voice gets
    the `+f3` variant, any other none.
    """
    voice_locale, voice_female = _describe(voice)
    language_locale, language_female = _describe(language)
    base = _espeak_language(voice_locale or language_locale)
    female = voice_female if voice_female is not None else language_female
    return base + FEMALE_VARIANT if female else base


# ---------------------------------------------------------------- SSML

_TAG = re.compile(r"<[^>]*>")
_SUB = re.compile(r"<sub\b[^>]*?\balias\s*=\s*(['\"])(.*?)\1[^>]*>.*?</sub\s*>", re.S | re.I)
_BREAK = re.compile(r"<break\b[^>]*>", re.I)
_BREAK_TIME = re.compile(r"\btime\s*=\s*['\"]\s*([\d.]+)\s*(ms|s)\s*['\"]", re.I)
_BREAK_STRENGTHS = {"none": 0, "x-weak": 100, "weak": 250, "medium": 400, "strong": 750, "x-strong": 1200}
_BREAK_STRENGTH = re.compile(r"\bstrength\s*=\s*['\"]\s*([a-z-]+)\s*['\"]", re.I)


def is_ssml(text: str) -> bool:
    """Whether `text` is an SSML document (`<speak>...</speak>`), as the platform tells SSML from plain text."""
    return re.match(r"\s*(<\?xml[^>]*>\s*)?<speak\b", text, re.I) is not None


def plain_text(text: str) -> str:
    """The words `text` speaks: for SSML, without its tags (a `<sub alias>` says its alias), entities unescaped."""
    return _ssml_words(text) if is_ssml(text) else " ".join(text.split())


def _ssml_words(ssml: str) -> str:
    words = _TAG.sub(" ", _SUB.sub(lambda m: f" {m.group(2)} ", ssml))
    return " ".join(html.unescape(words).split())


def _break_ms(tag: str) -> int:
    time = _BREAK_TIME.search(tag)
    if time is not None:
        return int(float(time.group(1)) * (1 if time.group(2).lower() == "ms" else 1000))
    strength = _BREAK_STRENGTH.search(tag)
    return _BREAK_STRENGTHS.get(strength.group(1).lower(), 400) if strength else 400


# ---------------------------------------------------------------- the stand-in

_STAND_IN_CHAR_MS = 60
_STAND_IN_MIN_MS = 500
_SYLLABLE_CHARS = 3
_PITCH_HZ = 140


def _bursts(words: str, seed: bytes) -> Pcm:
    """60 ms a character: letters sound as buzz and noise under syllable-shaped humps, the rest is silence."""
    per_char = _STAND_IN_CHAR_MS * RATE // 1000
    n = len(words) * per_char
    i = np.arange(n)
    voiced = np.array([c.isalnum() for c in words], dtype=bool)[i // per_char]
    syllable = per_char * _SYLLABLE_CHARS
    envelope = voiced * np.sin(np.pi * (i % syllable) / syllable) ** 2
    t = i / RATE
    buzz = np.sum([np.sin(2 * np.pi * _PITCH_HZ * k * t) / k for k in range(1, 8)], axis=0)
    noise = np.random.default_rng(np.frombuffer(seed, dtype=np.uint32)).standard_normal(n)
    return (envelope * (3000 * buzz + 1500 * noise)).clip(-32768, 32767).astype(np.int16)


def stand_in_pcm(text: str) -> Pcm:
    """A deterministic speech-like signal as long as `text` would take to say (never under 500 ms).

    SSML breaks are silences of their length, in their place.
    """
    seed = hashlib.sha256(text.encode()).digest()
    pieces: list[Pcm] = []
    if is_ssml(text):
        spoken = _BREAK.split(text)
        for i, tag in enumerate(_BREAK.findall(text)):
            pieces += [_bursts(_ssml_words(spoken[i]), seed), np.zeros(_break_ms(tag) * RATE // 1000, np.int16)]
        pieces.append(_bursts(_ssml_words(spoken[-1]), seed))
    else:
        pieces.append(_bursts(plain_text(text), seed))
    pcm = np.concatenate(pieces)
    shortfall = _STAND_IN_MIN_MS * RATE // 1000 - len(pcm)
    return np.concatenate([pcm, np.zeros(shortfall, np.int16)]) if shortfall > 0 else pcm


# ---------------------------------------------------------------- the renderer

_Key = tuple[str, str, int]


class SpeechRenderer:
    """Renders text with espeak-ng, caches the results (LRU), falls back to the stand-in; one per emulator.

    `available` says whether espeak-ng was found; `stand_in_reason` why the latest stand-in was made (for the
    session log), None while none was. `spawned` counts the espeak-ng processes started.
    """

    def __init__(self, rate_wpm: int = 175, cache_size: int = 256, executable: str = "espeak-ng", *,
                 timeout: float = TIMEOUT, max_processes: int = MAX_PROCESSES) -> None:
        self.rate_wpm = rate_wpm
        self.cache_size = cache_size
        self.timeout = timeout
        self.executable = shutil.which(executable)
        self.available = self.executable is not None
        self.stand_in_reason: str | None = None if self.available else f"{executable} is not installed"
        self.spawned = 0
        self._cache: OrderedDict[_Key, Speech] = OrderedDict()
        self._pending: dict[_Key, asyncio.Task[Speech]] = {}
        self._processes = asyncio.Semaphore(max_processes)

    async def render(self, text: str, voice: str | None = None, language: str | None = None) -> Speech:
        """`text` (plain or SSML) spoken in the espeak-ng voice for `voice`/`language`, at 8 kHz."""
        espeak = espeak_voice(voice, language)
        key = (text, espeak, self.rate_wpm)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        task = self._pending.get(key)
        if task is None:  # one process for the same prompt asked twice at once
            task = asyncio.get_running_loop().create_task(self._make(key))
            self._pending[key] = task
            task.add_done_callback(lambda _: self._pending.pop(key, None))
        return await asyncio.shield(task)

    async def _make(self, key: _Key) -> Speech:
        text, espeak, _ = key
        if not text.strip():
            return self._remember(key, Speech(_frozen(np.zeros(0, np.int16)), "", espeak, stand_in=False))
        if not self.available:
            return self._remember(key, self._stand_in(text, espeak))
        try:
            pcm = await self._espeak(text, espeak)
        except AudioError as exc:
            self.stand_in_reason = str(exc)
            log.warning("speech stand-in for %r: %s", text[:60], exc)
            return self._stand_in(text, espeak)  # not cached: espeak-ng may do better next time
        return self._remember(key, Speech(_frozen(pcm), plain_text(text), espeak, stand_in=False))

    def _stand_in(self, text: str, espeak: str) -> Speech:
        return Speech(_frozen(stand_in_pcm(text)), plain_text(text), espeak, stand_in=True)

    def _remember(self, key: _Key, speech: Speech) -> Speech:
        if self.cache_size > 0:
            self._cache[key] = speech
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return speech

    async def _espeak(self, text: str, espeak: str) -> Pcm:
        """espeak-ng's WAV for `text`, at 8 kHz; AudioError when it is not there in time or is not audio."""
        assert self.executable is not None
        args = ["--stdout", "-b", "1", "-v", espeak, "-s", str(self.rate_wpm), *(["-m"] if is_ssml(text) else [])]
        async with self._processes:
            self.spawned += 1
            try:
                process = await asyncio.create_subprocess_exec(
                    self.executable, *args, "--stdin", stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            except OSError as exc:
                raise AudioError(f"cannot run {self.executable}: {exc}") from exc
            try:
                out, err = await asyncio.wait_for(process.communicate(text.encode()), self.timeout)
            except TimeoutError:
                raise AudioError(f"{self.executable} took longer than {self.timeout:g} s") from None
            finally:
                if process.returncode is None:
                    with contextlib.suppress(ProcessLookupError):
                        process.kill()
                    await process.wait()
        if process.returncode != 0 or not out:
            why = err.decode(errors="replace").strip() or f"exit status {process.returncode}"
            raise AudioError(f"{self.executable} failed: {why}")
        pcm, rate = read_wav(out)
        return resample(pcm if pcm.ndim == 1 else pcm[:, 0], rate, RATE)


def _frozen(pcm: Pcm) -> Pcm:
    pcm = np.ascontiguousarray(pcm, dtype=np.int16)
    pcm.flags.writeable = False
    return pcm
