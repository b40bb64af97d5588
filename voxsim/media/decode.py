"""Audio files to voxsim's PCM16 mono, and the loading of playback URLs.

A scenario plays files by URL (`Call.startPlayback`, `VoxEngine.createURLPlayer`): WAV, MP3, OGG Vorbis or
FLAC at whatever rate and channels they were made with. `decode_audio` decodes them with miniaudio at the
file's own rate and channels, downmixes to mono and resamples with soxr to the call's rate (8 kHz for G.711).
`load_url` fetches the bytes (file://, a bare absolute path, http://, https://) under the platform's cap of
10 MB per playback file. `wav_bytes` and `read_wav` are for recordings and tests.
"""

from __future__ import annotations

import asyncio
import io
import os
import wave
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import aiohttp
import miniaudio
import numpy as np
import numpy.typing as npt
import soxr

__all__ = ["RATE", "AudioError", "decode_audio", "load_audio", "load_url", "read_wav", "resample", "wav_bytes"]

RATE = 8000
"""voxsim's audio rate for G.711 calls."""
MAX_BYTES = 10 * 1024 * 1024
"""The platform's cap on a playback file."""
_QUALITY = "HQ"
_CHUNK = 64 * 1024

Pcm = npt.NDArray[np.int16]


class AudioError(Exception):
    """Audio that cannot be loaded or decoded; the message says what and why."""


def resample(pcm: Pcm, from_rate: int, to_rate: int) -> Pcm:
    """`pcm` (mono, or (n, channels)) from `from_rate` to `to_rate`; the same array when the rates are equal."""
    if from_rate == to_rate:
        return pcm
    if len(pcm) == 0:
        return np.zeros((0, *pcm.shape[1:]), dtype=np.int16)
    out: Pcm = soxr.resample(pcm, from_rate, to_rate, quality=_QUALITY)
    return out


# What the first bytes of a file say it is, and miniaudio's reader for it (each decodes at the file's own
# rate and channels into 16-bit samples).
_Reader = Callable[[bytes], miniaudio.DecodedSoundFile]
_FORMATS: tuple[tuple[str, Callable[[bytes], bool], _Reader], ...] = (
    ("WAV", lambda d: d[:4] in (b"RIFF", b"RF64") and d[8:12] == b"WAVE", miniaudio.wav_read_s16),
    ("FLAC", lambda d: d[:4] == b"fLaC", miniaudio.flac_read_s16),
    ("OGG Vorbis", lambda d: d[:4] == b"OggS", miniaudio.vorbis_read),
    ("MP3", lambda d: d[:3] == b"ID3" or (len(d) > 1 and d[0] == 0xFF and d[1] & 0xE0 == 0xE0), miniaudio.mp3_read_s16),
)


def _decoded(data: bytes, what: str) -> miniaudio.DecodedSoundFile:
    if not data:
        raise AudioError(f"cannot decode {what}: it is empty")
    for name, matches, read in _FORMATS:
        if matches(data):
            try:
                return read(data)
            except miniaudio.DecodeError as exc:
                raise AudioError(f"cannot decode {what}: not a valid {name} file ({exc})") from exc
    raise AudioError(f"cannot decode {what}: not WAV, MP3, OGG Vorbis or FLAC")


def _frames(sound: miniaudio.DecodedSoundFile) -> Pcm:
    """The samples as (frames, channels) int16."""
    samples = np.frombuffer(sound.samples, dtype=np.int16)
    return samples.reshape(-1, sound.nchannels)


def decode_audio(data: bytes, rate: int = RATE, *, what: str = "audio") -> Pcm:
    """WAV, MP3, OGG Vorbis or FLAC bytes to PCM16 mono at `rate`; `what` names the audio in errors."""
    sound = _decoded(data, what)
    frames = _frames(sound)
    if len(frames) == 0:
        raise AudioError(f"cannot decode {what}: it holds no samples")
    if sound.nchannels == 1:
        mono = frames[:, 0]
    else:  # the average of the channels, which never leaves int16's range
        mono = frames.mean(axis=1).round().astype(np.int16)
    return resample(mono, sound.sample_rate, rate)


def wav_bytes(pcm: Pcm, rate: int = RATE, channels: int = 1) -> bytes:
    """A PCM16 WAV file of `pcm`: shape (n,) for mono, (n, channels) interleaved otherwise."""
    expected = (channels == 1 and pcm.ndim == 1) or (pcm.ndim == 2 and pcm.shape[1] == channels)
    if not expected:
        raise ValueError(f"{channels} channel(s) want shape (n,) or (n, {channels}), not {pcm.shape}")
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.ascontiguousarray(pcm, dtype="<i2").tobytes())
    return out.getvalue()


def read_wav(data: bytes) -> tuple[Pcm, int]:
    """The samples of a WAV file (shape (n,) mono, (n, channels) otherwise) and its rate.

    Any WAV miniaudio reads (PCM 8 to 32 bits, float, A-law, µ-law) comes out as 16 bits, and so does a
    stream whose header never got its final sizes (espeak-ng's `--stdout`).
    """
    try:
        sound = miniaudio.wav_read_s16(data)
    except miniaudio.DecodeError as exc:
        raise AudioError(f"cannot decode WAV: {exc}") from exc
    frames = _frames(sound)
    return (frames[:, 0].copy() if sound.nchannels == 1 else frames.copy()), sound.sample_rate


def _size_limit(max_bytes: int) -> str:
    mib = 1024 * 1024
    return f"{max_bytes // mib} MB" if max_bytes % mib == 0 else f"{max_bytes} bytes"


def _local_path(url: str) -> Path | None:
    """The file a file:// URL or a bare absolute path names; None for other URLs."""
    if url.startswith("/"):
        return Path(url)
    parts = urlsplit(url)
    if parts.scheme != "file":
        return None
    if parts.netloc not in ("", "localhost"):
        raise AudioError(f"cannot load {url}: a file URL names a file on this machine (host {parts.netloc!r})")
    return Path(url2pathname(unquote(parts.path)))


def _read_file(url: str, path: Path, max_bytes: int) -> bytes:
    try:
        with path.open("rb") as f:
            if os.fstat(f.fileno()).st_size > max_bytes:
                raise AudioError(f"cannot load {url}: larger than {_size_limit(max_bytes)}")
            return f.read()
    except OSError as exc:
        raise AudioError(f"cannot load {url}: {exc.strerror or exc}") from exc


async def _fetch(url: str, max_bytes: int, timeout: float) -> bytes:
    too_big = AudioError(f"cannot load {url}: larger than {_size_limit(max_bytes)}")
    try:
        async with (aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
                    session.get(url) as response):
            if not 200 <= response.status < 300:
                raise AudioError(f"cannot load {url}: HTTP {response.status} {response.reason or ''}".rstrip())
            if (response.content_length or 0) > max_bytes:
                raise too_big
            body = bytearray()
            async for chunk in response.content.iter_chunked(_CHUNK):
                body += chunk
                if len(body) > max_bytes:
                    raise too_big
            return bytes(body)
    except TimeoutError as exc:
        raise AudioError(f"cannot load {url}: no answer within {timeout:g} s") from exc
    except aiohttp.ClientError as exc:
        raise AudioError(f"cannot load {url}: {exc}") from exc


async def load_url(url: str, *, max_bytes: int = MAX_BYTES, timeout: float = 30.0) -> bytes:
    """The bytes at `url` (file://, an absolute path, http://, https://), at most `max_bytes` of them."""
    path = _local_path(url)
    if path is not None:
        return await asyncio.to_thread(_read_file, url, path, max_bytes)
    if urlsplit(url).scheme not in ("http", "https"):
        raise AudioError(f"cannot load {url}: only file, http and https URLs are played")
    return await _fetch(url, max_bytes, timeout)


async def load_audio(url: str, rate: int = RATE) -> Pcm:
    """The audio at `url` as PCM16 mono at `rate`; decoding runs in a thread, off the event loop."""
    data = await load_url(url)
    return await asyncio.to_thread(decode_audio, data, rate, what=url)
