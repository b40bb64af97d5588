"""Net.sendMail / Net.sendMailAsync: each message reaches the runtime's mailer and its answer comes back to the
callback or the promise as a Net.SendMailResult; bad arguments throw in the scenario; bad addresses and a runtime
without a mailbox fail the send."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from voxsim.runtime import InMemoryRecorder, Runtime, RuntimeSettings
from voxsim.runtime.mail import OutgoingMail

from .conftest import run_on_start as run


class Mailer:
    """A mailbox that keeps what sessions send and answers 250 (or what `answer` says)."""

    def __init__(self) -> None:
        self.sent: list[OutgoingMail] = []
        self.answer = (250, "")

    async def send(self, mail: OutgoingMail) -> tuple[int, str]:
        self.sent.append(mail)
        return self.answer


@pytest.fixture
def mailer() -> Mailer:
    return Mailer()


@pytest.fixture
async def runtime(settings: RuntimeSettings, mailer: Mailer) -> AsyncIterator[Runtime]:
    rt = Runtime(settings, recorder=InMemoryRecorder())
    rt.mailer = mailer
    await rt.start()
    yield rt
    await rt.shutdown(grace=1.0)




async def test_send_mail_as_the_docs_write_it(runtime: Runtime, mailer: Mailer):
    lines = await run(runtime, """
      Net.sendMail('smtp.example.com', 'robot@example.com', 'ops@example.com', 'Missed call',
        'A call from +15550100 was missed', (result) => {
          Logger.write('sent ' + JSON.stringify(result));
          VoxEngine.terminate();
        }, {port: 587, login: 'robot', password: 'secret', cc: ['boss@example.com'], html: '<b>missed</b>'});
    """)
    assert lines == ['sent {"code":250}']
    (mail,) = mailer.sent
    assert (mail.server, mail.port, mail.login, mail.sender) == ("smtp.example.com", 587, "robot", "robot@example.com")
    assert (mail.to, mail.cc, mail.bcc) == (("ops@example.com",), ("boss@example.com",), ())
    assert (mail.title, mail.body, mail.html) == ("Missed call", "A call from +15550100 was missed", "<b>missed</b>")
    assert "secret" not in repr(mail)


async def test_send_mail_async_to_a_list(runtime: Runtime, mailer: Mailer):
    lines = await run(runtime, """
      const r = await Net.sendMailAsync('smtp.example.com', 'a@example.com', ['b@example.com', 'c@example.com'],
                                        'T', 'B', {bcc: 'd@example.com'});
      Logger.write('code ' + r.code + ' ' + ('error' in r));
      VoxEngine.terminate();
    """)
    assert lines == ["code 250 false"]
    assert mailer.sent[0].recipients == ("b@example.com", "c@example.com", "d@example.com")


async def test_a_refusal_and_bad_addresses_fail_the_send(runtime: Runtime, mailer: Mailer):
    mailer.answer = (550, "mailbox unavailable")
    lines = await run(runtime, """
      const refused = await Net.sendMailAsync('smtp', 'a@example.com', 'b@example.com', 'T', 'B');
      Logger.write(refused.code + ' ' + refused.error);
      const bad = await Net.sendMailAsync('smtp', 'a@example.com', ['not an address'], 'T', 'B');
      Logger.write(bad.code + ' ' + bad.error);
      VoxEngine.terminate();
    """)
    assert lines == ["550 mailbox unavailable", "501 'not an address' is not a mail address"]
    assert len(mailer.sent) == 1  # the bad address never reached the mailbox


@pytest.mark.parametrize(("call", "message"), [
    ("Net.sendMail('smtp', 'a@x.org', 'b@x.org', 'T', 'B', 'nope')", "callback must be a function"),
    ("Net.sendMail(undefined, 'a@x.org', 'b@x.org', 'T', 'B', () => {})", "mailServerAddress must be a string"),
    ("Net.sendMailAsync('smtp', 'a@x.org', [], 'T', 'B')", "to must name an address"),
    ("Net.sendMailAsync('smtp', 'a@x.org', [7], 'T', 'B')", "to must be a string or a list of strings"),
    ("Net.sendMailAsync('smtp', 'a@x.org', 'b@x.org', {}, 'B')", "title must be a string"),
    ("Net.sendMailAsync('smtp', 'a@x.org', 'b@x.org', 'T', 'B', {port: 'x'})", "options.port must be a port"),
])
async def test_bad_arguments_throw_in_the_scenario(runtime: Runtime, mailer: Mailer, call: str, message: str):
    lines = await run(runtime, f"""
      try {{ {call}; Logger.write('no throw'); }} catch (e) {{ Logger.write(e.name + ': ' + e.message); }}
      VoxEngine.terminate();
    """)
    assert len(lines) == 1 and lines[0].startswith("TypeError: Net.sendMail: ") and message in lines[0], lines
    assert mailer.sent == []


async def test_without_a_mailbox_the_send_fails(settings: RuntimeSettings):
    rt = Runtime(settings, recorder=InMemoryRecorder())
    await rt.start()
    try:
        lines = await run(rt, """
          Net.sendMail('smtp', 'a@example.com', 'b@example.com', 'T', 'B', (r) => {
            Logger.write(r.code + ' ' + r.error); VoxEngine.terminate(); });
        """)
    finally:
        await rt.shutdown(grace=1.0)
    assert lines == ["554 Net.sendMail: this runtime has no mailbox"]
