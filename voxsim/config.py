"""Settings of a running emulator. Every one has a default that works with no configuration.

Each can also be given three ways (`voxsim.settings_sources`): a `voxsim up` option, a `VOXSIM_*`
environment variable and a TOML file (`voxsim.toml` in the working directory, or `--config PATH`), with
one precedence: option > environment > file > default. The nested settings are sections: `sip.*`
(EdgeSettings), `sip_registration.*` (RegistrationTimers), `callbacks.*` (CallbackSettings), `runtime.*`
(RuntimeSettings), `pstn.*` (PstnSettings: the PSTN simulator's numbers), `voice_ai.*` (VoiceAISettings: the
scripted voice-AI agents), `mail.*` (MailSettings: where Net.sendMail's messages go besides the local mailbox).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voxsim import settings_sources
from voxsim.edge.outbound_registrations import RegistrationTimers
from voxsim.edge.settings import EdgeSettings
from voxsim.mail import MailSettings
from voxsim.pstn.settings import PstnSettings
from voxsim.runtime.settings import RuntimeSettings
from voxsim.settings_sources import Setting, SettingError
from voxsim.voice_ai.settings import VoiceAISettings

__all__ = ["CONFIG_FILE", "SECTIONS", "CallbackSettings", "Settings", "SettingError", "all_settings", "load"]

CONFIG_FILE = "voxsim.toml"
"""Read from the working directory when there is one and `--config` names no other."""


@dataclass
class CallbackSettings:
    """Delivery of account callbacks: the keyword arguments of `mock_api.callbacks.CallbackSender`."""

    retries: int = 3
    """Retries of a delivery that got no 2xx."""
    retry_initial: float = 1.0
    """Seconds before the first retry."""
    retry_factor: float = 2.0
    """Each further retry waits this many times longer."""
    timeout: float = 10.0
    """Seconds a delivery may take."""


@dataclass
class Settings:
    host: str = "127.0.0.1"
    """Address every listener binds (0.0.0.0: all of this machine's)."""
    api_port: int = 8080
    """HTTP listener of the Management API and the /_voxsim/ controls (0 = any free port)."""
    api_tls_port: int = 8443
    """HTTPS listener (the official clients hard-code https://)."""
    sip_port: int = 5060
    """SIP over UDP and TCP."""
    sips_port: int = 5061
    """SIP over TLS."""
    state: str = "./.voxsim"
    """State folder, or ":memory:" to keep nothing on disk."""
    allow_remote_control: bool = False
    """Let non-loopback clients use /_voxsim/ (which reveals the account's key) when host is not loopback."""
    enforce_authorized_ips: bool = False
    """Refuse Management API calls from addresses the account's authorized IPs refuse (loopback: always let in)."""
    account_id: int = 1000001
    """Id of the account created at first start."""
    account_name: str = "voxsim"
    """Its name (the `<app>.<account>.voximplant.com` domains)."""
    account_email: str = "developer@voxsim.local"
    """Its e-mail."""
    default_whitelist: list[str] = field(default_factory=lambda: ["127.0.0.0/8"])
    """Networks put in the SIP white list at first start and on reset, so local trunk calls just work."""
    sip: EdgeSettings | Mapping[str, Any] | None = None
    """The SIP edge's choices (codes, digest realm, RTP ports, ...), or a mapping with some of their fields."""
    sip_registration: RegistrationTimers | Mapping[str, Any] | None = None
    """Timing of the SIP registration client, or a mapping of some of its fields (`expires` 300 s,
    `retry_initial` 5 s, `retry_max` 120 s, ...)."""
    callbacks: Mapping[str, Any] | None = None
    """Keyword arguments of `mock_api.callbacks.CallbackSender` (`retries` 3, `retry_initial` 1 s, `timeout` 10 s;
    the fields of CallbackSettings)."""
    runtime: RuntimeSettings = field(default_factory=RuntimeSettings)
    """Scenario limits and timings (the platform's documented values by default)."""
    pstn: PstnSettings = field(default_factory=PstnSettings)
    """The PSTN simulator's virtual phones (callPSTN without `sip.pstn_gateway`): docs/pstn.md."""
    voice_ai: VoiceAISettings = field(default_factory=VoiceAISettings)
    """The scripted agents behind the voice-AI connectors (docs/voice-ai.md)."""
    mail: MailSettings = field(default_factory=MailSettings)
    """Net.sendMail's SMTP relay, besides the local mailbox (docs/mail.md)."""
    public_address: str = ""
    """Address written into URLs given to scenarios and clients; defaults to `host` (127.0.0.1 for 0.0.0.0)."""

    @property
    def advertised_host(self) -> str:
        if self.public_address:
            return self.public_address
        return "127.0.0.1" if self.host in ("0.0.0.0", "", "::") else self.host


SECTIONS: dict[str, type] = {"sip": EdgeSettings, "sip_registration": RegistrationTimers,
                             "callbacks": CallbackSettings, "runtime": RuntimeSettings, "pstn": PstnSettings,
                             "voice_ai": VoiceAISettings, "mail": MailSettings}
"""The fields of `Settings` that are dataclasses of their own: each of their fields is a setting."""
ALIASES = {"sip_registration.retry_initial": ("--sip-registration-retry",)}
"""Option names from before the options were generated, kept working."""


@functools.cache
def all_settings() -> tuple[Setting, ...]:
    """Every setting, top-level ones first, then each section's."""
    return tuple(settings_sources.discover(Settings, SECTIONS, ALIASES))


def load(options: Mapping[str, Any], environ: Mapping[str, str], config: Path | None = None,
         cwd: Path | None = None) -> Settings:
    """Settings from the options given (`{dotted name: value}`), the environment and the config file (`config`,
    else `voxsim.toml` in `cwd` when it exists), in that precedence. Raises SettingError."""
    path = config if config is not None else (cwd or Path.cwd()) / CONFIG_FILE
    from_file = settings_sources.from_file(path, all_settings()) if config is not None or path.is_file() else {}
    values = {**from_file, **settings_sources.from_environment(environ, all_settings()), **options}
    return build(values)


def build(values: Mapping[str, Any]) -> Settings:
    """Settings from `{dotted name: value}`; a section with no value given stays None (its defaults)."""
    top: dict[str, Any] = {}
    sections: dict[str, dict[str, Any]] = {}
    for dotted, value in values.items():
        section, _, name = dotted.rpartition(".")
        (sections.setdefault(section, {}) if section else top)[name] = value
    built = ("runtime", "pstn", "voice_ai", "mail")
    nested: dict[str, Any] = {name: sections.get(name) for name in SECTIONS if name not in built}
    return Settings(**top, runtime=RuntimeSettings(**sections.get("runtime", {})),
                    pstn=PstnSettings(**sections.get("pstn", {})),
                    voice_ai=VoiceAISettings(**sections.get("voice_ai", {})),
                    mail=MailSettings(**sections.get("mail", {})), **nested)
