"""baresip (Debian `baresip-core`) as a headless softphone for end-to-end tests.

It runs from a temporary config folder (`-f`): SIP on a loopback port, one account registered through voxsim
as its outbound proxy and answering calls at once, no sound device. Its microphone is a WAV file (the `aufile`
source, which needs the call's 8 kHz rate); the `sndfile` filter writes what it heard and what it sent as WAV
files into `snd_path`; `rtp_stats` makes it print each call's RTP counters when the call ends. Commands go to
its stdin (the `stdio` and `menu` modules); what it prints is kept in `output`.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import socket
import wave
from pathlib import Path

import numpy as np

from tests.e2e.console_output import ConsoleOutput, ConsoleProcess

BARESIP = shutil.which("baresip") or "/usr/bin/baresip"
MODULES = Path("/usr/lib/baresip/modules")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def free_sip_port(host: str = "127.0.0.1") -> int:
    """A port free for UDP and TCP whose next port is free for TCP too: baresip listens on SIP port + 1 for TLS."""
    while True:
        with contextlib.ExitStack() as held:
            udp = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
            udp.bind((host, 0))
            port: int = udp.getsockname()[1]
            try:
                for candidate in (port, port + 1):
                    tcp = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
                    tcp.bind((host, candidate))
            except OSError:
                continue
            return port


def write_tone(path: Path, seconds: float = 20.0, hz: float = 440.0) -> Path:
    """A quiet sine as 8 kHz PCM16 mono WAV: what baresip's microphone says (aufile refuses other rates).

    At its end aufile reports an audio error and baresip hangs up: it must outlast the call."""
    t = np.arange(int(seconds * 8000)) / 8000
    samples = (3000 * np.sin(2 * np.pi * hz * t)).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(samples.tobytes())
    return path


def config_text(sip_port: int, source: Path, dumps: Path) -> str:
    # aubridge's player is a sink nobody reads while no aubridge source shares its device name: a null player.
    lines = [
        "poll_method epoll",
        f"sip_listen 127.0.0.1:{sip_port}",
        "net_interface 127.0.0.1",
        "call_local_timeout 30",
        f"audio_source aufile,{source}",
        "audio_player aubridge,voxsim_null",
        "audio_alert aubridge,voxsim_null",
        "audio_buffer 20-160",
        "rtp_ports 20000-40000",
        "rtp_stats yes",
        "jitter_buffer_delay 1-10",
        f"module_path {MODULES}",
        "module stdio.so",
        "module g711.so",
        "module aufile.so",
        "module aubridge.so",
        "module sndfile.so",
        f"snd_path {dumps}",
        "module_tmp account.so",
        "module_app menu.so",
    ]
    return "\n".join(lines) + "\n"


def account_line(user: str, domain: str, password: str, proxy_port: int) -> str:
    """A Voximplant user registered through voxsim (`outbound`), answering every call (`answermode=auto`)."""
    return (f"<sip:{user}@{domain};transport=udp>;auth_user={user};auth_pass={password}"
            f";outbound=\"sip:127.0.0.1:{proxy_port};transport=udp\";regint=600;answermode=auto"
            ";audio_codecs=PCMU,PCMA\n")


class Baresip(ConsoleProcess):
    """One baresip process; `start()` launches it, `stop()` always ends it (quit, then kill)."""

    quit_command = "/quit"  # the menu module's
    stop_timeout = 2.0

    def __init__(self, folder: Path, *, user: str, domain: str, password: str, proxy_port: int) -> None:
        self.folder = folder
        self.config = folder / "config"
        self.dumps = folder / "dumps"
        self.sip_port = free_sip_port()
        self.console = ConsoleOutput("baresip", clean=lambda text: ANSI.sub("", text))
        self.config.mkdir(parents=True)
        self.dumps.mkdir()
        source = write_tone(folder / "microphone.wav")
        (self.config / "config").write_text(config_text(self.sip_port, source, self.dumps))
        (self.config / "accounts").write_text(account_line(user, domain, password, proxy_port))
        (self.config / "contacts").write_text("")

    async def start(self) -> None:
        process = await asyncio.create_subprocess_exec(
            BARESIP, "-v", "-f", str(self.config), stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        self.attach(process)

    def heard(self) -> list[Path]:
        """The WAV files the sndfile filter wrote of what baresip decoded from the RTP it received."""
        return sorted(self.dumps.glob("dump-*-dec.wav"))
