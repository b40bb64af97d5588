"""Net.sendMail / Net.sendMailAsync: a session's mail, handed to the runtime's `Mailer` port.

The shim (shim/mail.js) checks the arguments' types and pushes one `mail.send` command per message; this module
checks the addresses, gives the message to the mailer (the composition root plugs in voxsim/mail.py's `Mailbox`:
the local mailbox, and an SMTP relay when one is configured) and queues its answer as a `MailResult` event with
the shape of VoxEngine's `Net.SendMailResult`: `code`, the SMTP reply code, and `error` when it is no success.
The scenario's login and password are not used (and the password never leaves JS): voxsim sends no mail to the
server the scenario names, only to the local mailbox and the configured relay.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from voxsim.runtime.host import Mailer
from voxsim.runtime.protocol import Command, MailResult

SMTP_OK = 250  # "Requested mail action okay, completed" (RFC 5321 4.2.3)
SMTP_BAD_ADDRESS = 501  # "Syntax error in parameters or arguments": an address that is none
SMTP_UNAVAILABLE = 554  # "Transaction failed": no mailbox in this runtime
NO_MAILER = "Net.sendMail: this runtime has no mailbox"
# An address as a mail server takes it in MAIL FROM / RCPT TO: local part, @, domain; no spaces or brackets.
_ADDRESS = re.compile(r"[^\s@<>,;\"]+@[^\s@<>,;\"]+")


@dataclass(frozen=True)
class OutgoingMail:
    """One message a scenario sent: where it asked to send it (`server`, `port`, `login`) and what it is."""

    account_id: int
    application_id: int
    session_id: int
    server: str
    sender: str
    to: tuple[str, ...]
    title: str
    body: str
    html: str = ""
    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()
    port: int | None = None
    login: str = ""

    @property
    def recipients(self) -> tuple[str, ...]:
        return self.to + self.cc + self.bcc


def send_result(code: int, error: str = "") -> dict[str, Any]:
    """A `Net.SendMailResult`: `error` only when the mail was not accepted."""
    return {"code": code, "error": error} if error else {"code": code}


def bad_address(mail: OutgoingMail) -> str:
    """Why a mail server would refuse the message's addresses ("" when it would take them)."""
    if not mail.to:
        return "no recipient (to)"
    for address in (mail.sender, *mail.recipients):
        if not _ADDRESS.fullmatch(address):
            return f"{address!r} is not a mail address"
    return ""


def _addresses(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    items: Sequence[Any] = value if isinstance(value, list) else [value]
    return tuple(str(item).strip() for item in items)


class SessionMail:
    """Hands a session's mail to the mailer and queues each answer for its callback or promise."""

    def __init__(self, mailer: Mailer | None, ids: tuple[int, int, int], answer: Callable[[MailResult], object],
                 log: Callable[[str], None]) -> None:
        self._mailer = mailer
        self._account_id, self._application_id, self._session_id = ids
        self._answer = answer
        self._log = log
        self._pending: set[asyncio.Task[None]] = set()

    def message(self, cmd: Command) -> OutgoingMail:
        """The message of a `mail.send` command (protocol.py lists its fields)."""
        port = cmd.get("port")
        return OutgoingMail(
            account_id=self._account_id, application_id=self._application_id, session_id=self._session_id,
            server=str(cmd.get("server", "")), sender=str(cmd.get("from", "")).strip(), to=_addresses(cmd.get("to")),
            title=str(cmd.get("title", "")), body=str(cmd.get("body", "")), html=str(cmd.get("html") or ""),
            cc=_addresses(cmd.get("cc")), bcc=_addresses(cmd.get("bcc")),
            port=None if port is None else int(port), login=str(cmd.get("login") or ""))

    def send(self, cmd: Command) -> None:
        request_id, mail = int(cmd["id"]), self.message(cmd)
        refusal = bad_address(mail)
        if refusal:
            self._finish(request_id, SMTP_BAD_ADDRESS, refusal)
        elif self._mailer is None:
            self._finish(request_id, SMTP_UNAVAILABLE, NO_MAILER)
        else:
            task = asyncio.get_running_loop().create_task(self._deliver(self._mailer, request_id, mail))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _deliver(self, mailer: Mailer, request_id: int, mail: OutgoingMail) -> None:
        try:
            code, error = await mailer.send(mail)
        except Exception as exc:  # a voxsim bug: the scenario gets a failed send, the emulator goes on
            code, error = SMTP_UNAVAILABLE, f"voxsim internal error: {exc!r}"
        self._finish(request_id, code, error)

    def _finish(self, request_id: int, code: int, error: str) -> None:
        if error:
            self._log(f"[voxsim] Net.sendMail: {code} {error}")
        self._answer(MailResult(request_id, send_result(code, error)))
