"""The mailbox behind `Net.sendMail`: the store keeps every message (`/_voxsim/mail` lists them), and an SMTP
server gets it too when `mail.smtp_host` names one (a local catcher such as Mailpit or MailHog, or a real relay).

voxsim never sends to the server the scenario names: a scenario under test must not mail real people. Without
a relay the mailbox answers 250, as a server that took the message does. With one, the scenario gets the relay's
own reply code: the first that is not a success (MAIL FROM, a RCPT TO, DATA), else DATA's 250; when the relay
cannot be reached there is no reply, and the code is 0 with the error. The message is kept in the mailbox either
way, with that outcome. The relay is plain SMTP, without TLS or login (what local catchers speak).
"""

from __future__ import annotations

import asyncio
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from voxsim.runtime.mail import SMTP_OK, OutgoingMail
from voxsim.store import Store

__all__ = ["NO_REPLY", "MailSettings", "Mailbox", "email_of"]

NO_REPLY = 0
"""The code of a send whose relay gave no reply (refused connection, timeout)."""


@dataclass(frozen=True)
class MailSettings:
    """Where `Net.sendMail`'s messages go besides the local mailbox."""

    smtp_host: str = ""
    """An SMTP server that gets every message too ("" : the local mailbox only)."""
    smtp_port: int = 25
    """Its port."""
    smtp_timeout: float = 10.0
    """Seconds a delivery to it may take."""


def email_of(mail: OutgoingMail) -> EmailMessage:
    """The message as it goes on the wire: text body, and the HTML one as an alternative when given; Bcc is left
    out of the headers (its addresses are recipients only)."""
    message = EmailMessage()
    message["From"] = mail.sender
    message["To"] = ", ".join(mail.to)
    if mail.cc:
        message["Cc"] = ", ".join(mail.cc)
    message["Subject"] = mail.title
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="voxsim.local")
    message.set_content(mail.body)
    if mail.html:
        message.add_alternative(mail.html, subtype="html")
    return message


def _relay(settings: MailSettings, mail: OutgoingMail) -> tuple[int, str]:
    """One SMTP transaction (blocking: run in a thread), answered as (reply code, "" or the server's text)."""
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout) as smtp:
            smtp.ehlo_or_helo_if_needed()
            code, text = smtp.mail(mail.sender)
            for recipient in mail.recipients:
                if code // 100 != 2:
                    break
                code, text = smtp.rcpt(recipient)
            if code // 100 == 2:
                code, text = smtp.data(email_of(mail).as_bytes())
            if code // 100 != 2:
                smtp.rset()
                return code, text.decode(errors="replace")
            return code, ""
    except smtplib.SMTPResponseException as exc:
        return exc.smtp_code, exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(
            exc.smtp_error)
    except (OSError, smtplib.SMTPException) as exc:
        return NO_REPLY, f"the SMTP relay {settings.smtp_host}:{settings.smtp_port} gave no reply: {exc}"


class Mailbox:
    """The runtime's `Mailer` (voxsim/runtime/host.py): keeps each message in the store, relays it when configured."""

    def __init__(self, store: Store, settings: MailSettings | None = None) -> None:
        self._store = store
        self._settings = settings or MailSettings()

    @property
    def relay(self) -> str:
        """"host:port" of the SMTP relay, "" when there is none."""
        return f"{self._settings.smtp_host}:{self._settings.smtp_port}" if self._settings.smtp_host else ""

    async def send(self, mail: OutgoingMail) -> tuple[int, str]:
        code, error = SMTP_OK, ""
        if self._settings.smtp_host:
            code, error = await asyncio.to_thread(_relay, self._settings, mail)
        self._store.add_mail(mail, code, error, self.relay)
        return code, error
