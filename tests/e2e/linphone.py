"""linphonec (Debian `linphone-cli`) as a headless softphone for end-to-end tests.

It runs with a temporary HOME and its own rc file (`-c`), so it touches nothing of the user's: one account, a
Voximplant user registered through voxsim (digest auth) whose calls go there too, SIP on a loopback port, RTP on
loopback, no sound card (`soundcard use files`: its microphone is a WAV file it `play`s, what it hears is `record`ed
into another), answering calls at once (`-a`). linphonec does not bind the rc file's `sip_port` when it starts;
`ports sip` on its console does (and it registers again from there). Commands go to its stdin; what it prints, and
its log (`-l`: state changes and every SIP message), are kept for assertions.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from pathlib import Path

from sip_edge.transport import free_port_pair
from tests.e2e.baresip import write_tone
from tests.e2e.console_output import ConsoleOutput, ConsoleProcess

LINPHONEC = shutil.which("linphonec") or "/usr/bin/linphonec"


def account_text(user: str, domain: str, password: str, proxy: str) -> list[str]:
    """A Voximplant user registered through voxsim, whose calls go there too (`reg_route`: the domain does not
    resolve)."""
    return [
        "[proxy_0]",
        f"reg_proxy=<{proxy}>",
        f"reg_route=<{proxy};lr>",
        f"reg_identity=sip:{user}@{domain}",
        "reg_expires=600",
        "reg_sendregister=1",
        "publish=0",
        "[auth_info_0]",
        f"username={user}",
        f"passwd={password}",
        f"domain={domain}",
    ]


def rc_text(rtp_port: int, account: list[str]) -> str:
    """The rc file: loopback only, no TCP/TLS listener, no STUN/ICE/video, G.711 and telephone-event kept."""
    return "\n".join([*account,
        "[sip]",
        "sip_port=0",
        "sip_tcp_port=0",
        "sip_tls_port=0",
        "guess_hostname=0",
        "contact=sip:linphone@127.0.0.1",
        "register_only_when_network_is_up=0",
        "[net]",
        "firewall_policy=0",
        "[rtp]",
        f"audio_rtp_port={rtp_port}",
        "audio_jitt_comp=60",
        "[sound]",
        "echocancellation=0",
        "[video]",
        "enabled=0",
        "capture=0",
        "display=0",
        "[misc]",
        "max_calls=2",
        "",
    ])


class Linphonec(ConsoleProcess):
    """One linphonec process; `start()` launches it, `stop()` always ends it (quit, then kill)."""

    def __init__(self, folder: Path, *, user: str, domain: str, password: str, proxy: str) -> None:
        self.folder = folder
        self.home = folder / "home"
        # Its databases (call history, chat, friends) go there; without the folder the core never comes up and
        # answers every INVITE with 503.
        (self.home / ".local" / "share" / "linphone").mkdir(parents=True)
        self.rc = folder / "linphonerc"
        self.log = folder / "linphone.log"
        self.heard = folder / "heard.wav"
        self.microphone = write_tone(folder / "microphone.wav", seconds=30.0)
        self.sip_port = free_port_pair()
        self.rtp_port = free_port_pair()
        self.rc.write_text(rc_text(self.rtp_port, account_text(user, domain, password, proxy)))
        self.console = ConsoleOutput("linphonec")

    async def start(self) -> None:
        env = {**os.environ, "HOME": str(self.home)}
        env.pop("XDG_DATA_HOME", None)
        env.pop("XDG_CONFIG_HOME", None)
        try:
            process = await asyncio.create_subprocess_exec(
                LINPHONEC, "-c", str(self.rc), "-a", "-S", "-d", "5", "-l", str(self.log),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
                env=env, cwd=self.folder)
        except FileNotFoundError:
            raise AssertionError(f"{LINPHONEC} is missing: scripts/test.sh installs linphone-cli") from None
        self.attach(process)
        await self.wait_for(r"linphonec> ", 15)
        # Its SIP port: linphonec binds it only when told on its console.
        self.send(f"ports sip {self.sip_port}")
        self.send("soundcard use files")
        self.send(f"play {self.microphone}")
        self.send(f"record {self.heard}")
        self.send("ports")
        await self.wait_for(rf"sip port = {self.sip_port}", 10)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    async def wait_in_log(self, pattern: str, timeout: float) -> re.Match[str]:
        """The first match of `pattern` in linphonec's log (state changes, SIP messages), polled."""
        regex = re.compile(pattern)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (match := regex.search(self.log_text())) is None:
            if self.exited or loop.time() > deadline:
                raise AssertionError(f"linphonec never logged {pattern!r}; it printed:\n{self.tail()}")
            await asyncio.sleep(0.1)
        return match

