"""Settings of a running emulator. Every one has a default that works with no configuration."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from voxsim.edge.outbound_registrations import RegistrationTimers
from voxsim.edge.settings import EdgeSettings
from voxsim.runtime.settings import RuntimeSettings


@dataclass
class Settings:
    host: str = "127.0.0.1"
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
    account_id: int = 1000001
    account_name: str = "voxsim"
    account_email: str = "developer@voxsim.local"
    default_whitelist: list[str] = field(default_factory=lambda: ["127.0.0.0/8"])
    """Networks put in the SIP white list at first start and on reset, so local trunk calls just work."""
    sip: EdgeSettings | Mapping[str, Any] | None = None
    """The SIP edge's choices (codes, digest realm, RTP ports, ...), or a mapping with some of their fields."""
    sip_registration: RegistrationTimers | Mapping[str, Any] | None = None
    """Timing of the SIP registration client, or a mapping of some of its fields (`expires` 300 s,
    `retry_initial` 5 s, `retry_max` 120 s, ...)."""
    callbacks: Mapping[str, Any] | None = None
    """Keyword arguments of `mock_api.callbacks.CallbackSender` (`retries` 3, `retry_initial` 1 s, `timeout` 10 s)."""
    runtime: RuntimeSettings = field(default_factory=RuntimeSettings)
    """Scenario limits and timings (the platform's documented values by default)."""
    public_address: str = ""
    """Address written into URLs given to scenarios and clients; defaults to `host` (127.0.0.1 for 0.0.0.0)."""

    @property
    def advertised_host(self) -> str:
        if self.public_address:
            return self.public_address
        return "127.0.0.1" if self.host in ("0.0.0.0", "", "::") else self.host
