"""Net.sendMail end to end: a scenario's message lands in the local mailbox (/_voxsim/mail) and, with `mail.smtp_host`
set, reaches an SMTP server (a tiny one written here, asyncio only); the relay's refusal and its absence come back
to the scenario as the typings' Net.SendMailResult."""

from __future__ import annotations

import asyncio
import email
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from voxsim.app import Emulator
from voxsim.config import Settings
from voxsim.mail import NO_REPLY, Mailbox, MailSettings
from voxsim.runtime.mail import OutgoingMail
from voxsim.store import Store
from voxsim.testing import ephemeral_settings


@dataclass
class SmtpServer:
    """Just enough SMTP (RFC 5321) for smtplib: EHLO, MAIL, RCPT (refusing the addresses of `refuse`), DATA."""

    port: int = 0
    refuse: set[str] = field(default_factory=set)
    received: list[tuple[str, list[str], Message]] = field(default_factory=list)

    async def session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sender, recipients = "", []
        writer.write(b"220 test ESMTP\r\n")
        while line := (await reader.readline()).decode().rstrip("\r\n"):
            verb, _, arg = line.partition(" ")
            verb = verb.upper()
            if verb in ("EHLO", "HELO", "NOOP"):
                reply = "250 test"
            elif verb == "MAIL":
                sender, recipients, reply = arg.split(":", 1)[1].strip("<> "), [], "250 OK"
            elif verb == "RCPT":
                address = arg.split(":", 1)[1].strip("<> ")
                refused = address in self.refuse
                reply = "550 5.1.1 no such user" if refused else "250 OK"
                recipients += [] if refused else [address]
            elif verb == "DATA":
                writer.write(b"354 go ahead\r\n")
                data = b""
                while (chunk := await reader.readline()) not in (b".\r\n", b""):
                    data += chunk
                self.received.append((sender, recipients, email.message_from_bytes(data)))
                reply = "250 2.0.0 queued"
            elif verb == "RSET":
                reply = "250 OK"
            elif verb == "QUIT":
                writer.write(b"221 bye\r\n")
                break
            else:
                reply = "502 not implemented"
            writer.write(reply.encode() + b"\r\n")
            await writer.drain()
        writer.close()


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpServer]:
    server = SmtpServer()
    listener = await asyncio.start_server(server.session, "127.0.0.1", 0)
    server.port = listener.sockets[0].getsockname()[1]
    async with listener:
        yield server


def mail(**fields: Any) -> OutgoingMail:
    values: dict[str, Any] = {"account_id": 1, "application_id": 2, "session_id": 3, "server": "smtp.example.com",
                              "sender": "robot@example.com", "to": ("ops@example.com",), "title": "Hi",
                              "body": "text"}
    return OutgoingMail(**{**values, **fields})


async def test_the_relay_gets_the_message_as_mail(store: Store, smtp: SmtpServer):
    mailbox = Mailbox(store, MailSettings(smtp_host="127.0.0.1", smtp_port=smtp.port))
    sent = mail(cc=("boss@example.com",), bcc=("audit@example.com",), html="<p>html</p>", title="Café")
    assert await mailbox.send(sent) == (250, "")
    ((sender, recipients, message),) = smtp.received
    assert sender == "robot@example.com" and recipients == ["ops@example.com", "boss@example.com", "audit@example.com"]
    assert (message["From"], message["To"], message["Cc"], message["Bcc"]) == (
        "robot@example.com", "ops@example.com", "boss@example.com", None)
    assert str(email.header.make_header(email.header.decode_header(message["Subject"]))) == "Café"
    parts = {part.get_content_type(): part.get_payload(decode=True).decode().strip() for part in message.walk()
             if not part.is_multipart()}
    assert parts == {"text/plain": "text", "text/html": "<p>html</p>"}
    _, (kept,) = store.list_mail(1, 10)
    assert (kept.code, kept.error, kept.relay) == (250, "", f"127.0.0.1:{smtp.port}")


async def test_a_refused_recipient_and_no_relay(store: Store, smtp: SmtpServer):
    smtp.refuse.add("ops@example.com")
    refused = await Mailbox(store, MailSettings(smtp_host="127.0.0.1", smtp_port=smtp.port)).send(mail())
    assert refused == (550, "5.1.1 no such user") and smtp.received == []
    listener = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    free_port = listener.sockets[0].getsockname()[1]
    listener.close()
    await listener.wait_closed()
    code, error = await Mailbox(store, MailSettings(smtp_host="127.0.0.1", smtp_port=free_port)).send(mail())
    assert code == NO_REPLY and "gave no reply" in error
    total, kept = store.list_mail(1, 10)
    assert total == 2 and [m.code for m in kept] == [NO_REPLY, 550]  # kept either way, newest first


SCENARIO = """
VoxEngine.addEventListener(AppEvents.Started, async () => {
  const r = await Net.sendMailAsync('smtp.example.com', 'robot@example.com', ['ops@example.com'],
    'Session report', 'All good', {port: 587, login: 'robot', password: 'secret', cc: ['boss@example.com']});
  Logger.write('mail ' + JSON.stringify(r));
  Net.sendMail('smtp.example.com', 'robot@example.com', 'second@example.com', 'Second', 'Body 2', (res) => {
    Logger.write('mail ' + JSON.stringify(res));
    VoxEngine.terminate();
  });
});
"""


@pytest.fixture
def voxsim_settings(tmp_path: Path, smtp: SmtpServer) -> Settings:
    return ephemeral_settings(tmp_path / "state", mail=MailSettings(smtp_host="127.0.0.1", smtp_port=smtp.port))


async def get(url: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as client, client.get(url) as resp:
        return resp.status, await resp.json()


async def test_a_scenario_mails_the_mailbox_and_the_relay(voxsim_emulator: Emulator, voxsim_api, smtp: SmtpServer):
    app_id = (await voxsim_api("add_application", application_name="mailer"))["application_id"]
    scenario_id = (await voxsim_api("add_scenario", scenario_name="report", scenario_script=SCENARIO,
                                    application_id=app_id))["scenario_id"]
    rule_id = (await voxsim_api("add_rule", application_id=app_id, rule_name="any", rule_pattern=".*",
                                scenario_id=scenario_id))["rule_id"]
    started = await voxsim_api("start_scenarios", rule_id=rule_id)
    session = voxsim_emulator.runtime.session(started["call_session_history_id"])
    await session.wait_finished(10)
    assert session.log.text().count('mail {"code":250}') == 2, session.log.text()
    assert [subject["Subject"] for _, _, subject in smtp.received] == ["Session report", "Second"]

    base = voxsim_emulator.listeners["api_http"]["url"]
    status, listing = await get(f"{base}/_voxsim/mail")
    assert status == 200 and listing["total_count"] == 2 and listing["count"] == 2
    newest, oldest = listing["result"]
    assert newest["title"] == "Second" and newest["to"] == ["second@example.com"]
    assert (oldest["call_session_history_id"], oldest["application_id"]) == (started["call_session_history_id"], app_id)
    assert (oldest["from"], oldest["cc"], oldest["server"], oldest["port"], oldest["login"]) == (
        "robot@example.com", ["boss@example.com"], "smtp.example.com", 587, "robot")
    assert (oldest["code"], oldest["relay"]) == (250, f"127.0.0.1:{smtp.port}") and "secret" not in str(listing)

    status, page = await get(f"{base}/_voxsim/mail?count=1&offset=1")
    assert status == 200 and [m["mail_id"] for m in page["result"]] == [oldest["mail_id"]]
    assert await get(f"{base}/_voxsim/mail/{oldest['mail_id']}") == (200, oldest)
    assert (await get(f"{base}/_voxsim/mail/999999"))[0] == 404
    assert (await get(f"{base}/_voxsim/mail?count=0"))[0] == 400
    assert (await get(f"{base}/_voxsim/mail?offset=x"))[0] == 400


def test_the_relay_is_a_setting_three_ways(tmp_path: Path):
    from voxsim import config

    (tmp_path / "voxsim.toml").write_text('[mail]\nsmtp_host = "mail.local"\nsmtp_port = 1025\n')
    assert config.load({}, {}, cwd=tmp_path).mail == MailSettings("mail.local", 1025)
    from_env = config.load({}, {"VOXSIM_MAIL_SMTP_HOST": "env.local"}, cwd=tmp_path).mail
    assert (from_env.smtp_host, from_env.smtp_port) == ("env.local", 1025)
    option = config.load({"mail.smtp_port": 2525}, {}, cwd=tmp_path).mail
    assert option == MailSettings("mail.local", 2525)
    assert any(s.option == "--mail-smtp-host" for s in config.all_settings())
