"""A speech recogniser the user configures, for audio that carries no text (outside phones, SIPp captures).

`runtime.asr_command` runs a command (through the shell) with the utterance as a WAV file (8 kHz mono PCM16) on
its standard input; what it prints is the text. `runtime.asr_endpoint` POSTs the WAV as the multipart field `file`
(with `response_format=json`, as a whisper.cpp server's `/inference` takes it) and reads `text` from a JSON answer,
or the body of a plain-text one. Either has `asr_timeout` seconds; a failure is logged and gives the configured
default transcript.
"""

from __future__ import annotations

import asyncio
import io
import json
import wave
from typing import Protocol

import aiohttp
import numpy as np

from voxsim.media.graph import Frame

__all__ = ["CommandRecognizer", "HttpRecognizer", "RecognizerError", "SpeechRecognizer", "recognizer_from", "wav"]


class RecognizerError(RuntimeError):
    """The recogniser failed; the message says how."""


class SpeechRecognizer(Protocol):
    async def recognize(self, pcm: Frame) -> str: ...


def wav(pcm: Frame, rate: int = 8000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.asarray(pcm, dtype="<i2").tobytes())
    return out.getvalue()


class CommandRecognizer:
    def __init__(self, command: str, timeout: float = 30.0) -> None:
        self.command = command
        self.timeout = timeout

    async def recognize(self, pcm: Frame) -> str:
        process = await asyncio.create_subprocess_shell(
            self.command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        try:
            out, err = await asyncio.wait_for(process.communicate(wav(pcm)), self.timeout)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise RecognizerError(f"{self.command!r} did not finish in {self.timeout:g} s") from None
        if process.returncode != 0:
            detail = err.decode(errors="replace").strip()[:200]
            raise RecognizerError(f"{self.command!r} exited with {process.returncode}: {detail}")
        return out.decode(errors="replace").strip()


class HttpRecognizer:
    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.url = url
        self.timeout = timeout

    async def recognize(self, pcm: Frame) -> str:
        form = aiohttp.FormData()
        form.add_field("file", wav(pcm), filename="utterance.wav", content_type="audio/wav")
        form.add_field("response_format", "json")
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout)) as http, \
                    http.post(self.url, data=form) as resp:
                body = await resp.text()
                if resp.status != 200:
                    raise RecognizerError(f"{self.url} answered {resp.status}: {body[:200]}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RecognizerError(f"{self.url}: {exc or type(exc).__name__}") from None
        try:
            answer = json.loads(body)
        except ValueError:
            return body.strip()
        return str(answer.get("text", "")).strip() if isinstance(answer, dict) else str(answer).strip()


def recognizer_from(command: str, endpoint: str, timeout: float) -> SpeechRecognizer | None:
    if command:
        return CommandRecognizer(command, timeout)
    if endpoint:
        return HttpRecognizer(endpoint, timeout)
    return None
