"""What the Management API needs of the emulator it runs in.

`build_app(store, services)` takes any object of this shape; `voxsim.app.Emulator` is the real one
and satisfies it structurally, so this package never imports the composition root, the SIP edge or
the runtime. Handlers reach it as `Context.services`, aiohttp handlers as `services_of(request.app)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from voxsim.model import Account, Application, Rule


class LiveSession(Protocol):
    """A session the runtime still holds (the console shows its state)."""

    @property
    def session_id(self) -> int: ...

    @property
    def state(self) -> object: ...

    def duration(self) -> float:
        """Seconds since the session started (until it ended, once it has)."""
        ...


class SessionRuntime(Protocol):
    def session(self, session_id: int) -> LiveSession | None: ...

    def call_audio(self, call_id: str) -> Any:
        """A call's `voxsim.media.call_audio.CallAudio` (what it heard and said), or None."""
        ...

    async def caller_says(self, call_id: str, text: str, voice: str | None = None) -> bool: ...

    async def caller_plays(self, call_id: str, url: str) -> bool: ...


class SessionStarter(Protocol):
    """Starts rule sessions (StartScenarios) and names their media_session_access URLs."""

    async def start(self, account: Account, application: Application, rule: Rule, *, custom_data: str = ...,
                    user_id: int | None = ..., initiator_address: str = ...) -> LiveSession: ...

    async def conference(self, account: Account, application: Application, rule: Rule, name: str, *,
                         custom_data: str = ..., user_id: int | None = ...,
                         initiator_address: str = ...) -> LiveSession:
        """The running session of conference `name`, or a new one (StartConference)."""
        ...

    def access_urls(self, session_id: int) -> tuple[str, str]:
        """(http, https) media_session_access URLs of a session."""
        ...


class EmulatorServices(Protocol):
    @property
    def allow_remote_control(self) -> bool:
        """Whether /_voxsim/ answers clients other than loopback ones."""
        ...

    @property
    def enforce_authorized_ips(self) -> bool:
        """Whether the API refuses callers the account's authorized IPs refuse (loopback ones never)."""
        ...

    @property
    def listeners(self) -> Mapping[str, Mapping[str, Any]]:
        """Each listener's name → its `host`, `port` and `url`."""
        ...

    @property
    def runtime(self) -> SessionRuntime | None: ...

    @property
    def session_starter(self) -> SessionStarter: ...

    def health(self) -> dict[str, Any]: ...

    async def reset(self) -> None:
        """Empty the emulator's resources (the accounts stay) for /_voxsim/reset."""
        ...

    async def sip_registrations_changed(self) -> None:
        """A SIP registration was created, changed or deleted: register, re-register or let go."""
        ...

    def call_lists_changed(self) -> None:
        """A call list was created, appended, stopped, recovered or edited: its due tasks start now."""
        ...

    def record_file(self, session_id: str, file_name: str) -> Path | None:
        """The WAV file a record URL names (`/records/<session_id>/<file_name>`), or None."""
        ...

    def session_log_url(self, session_id: int) -> str:
        """Where a session's log is served (GetCallHistory's `log_file_url`)."""
        ...

    def user_contacts(self, application_id: int, user_name: str) -> list[dict[str, Any]]:
        """A user's registered contacts now: `contact`, `expires_in` (seconds), `user_agent`, `source`."""
        ...
