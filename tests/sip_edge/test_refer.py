"""REFER and its NOTIFYs (RFC 3515): the sans-IO parts in sip_edge.dialog (Refer-To with Replaces, sipfrag, the
issuer's subscription, the recipient's notifier), then two UserAgents on loopback transferring a call."""

from __future__ import annotations

import asyncio

import pytest

from sip_edge.dialog import (
    SIPFRAG,
    Dialog,
    DialogError,
    DialogId,
    ReferNotifier,
    ReferSubscription,
    TransferProgress,
    build_request,
    create_refer,
    parse_sipfrag,
    refer_target,
    refer_to,
    sipfrag,
)
from sip_edge.headers import NameAddr
from sip_edge.message import Request, Response, make_response
from sip_edge.ua import DEFAULT_ALLOW, REFER_REPLACES_REFUSED, InviteDialog
from tests.sip_edge.conftest import target


def invite() -> Request:
    return build_request("INVITE", "sip:bob@127.0.0.1", from_addr="<sip:alice@test>;tag=a", to_addr="<sip:bob@test>",
                         call_id="refer@test", cseq=1, contact="<sip:alice@127.0.0.1:5070>")


def confirmed_dialog() -> Dialog:
    """Alice's side of an answered call to Bob."""
    request = invite()
    answer = make_response(request, 200, to_tag="b", headers=[("Contact", "<sip:bob@127.0.0.1:5080>")])
    return Dialog.uac(request, answer)


def notify(*, event: str = "refer;id=2", state: str | None = "active;expires=60", body: bytes = b"SIP/2.0 100 Trying",
           cseq: int = 1) -> Request:
    headers = [("Event", event), *([("Subscription-State", state)] if state is not None else [])]
    return build_request("NOTIFY", "sip:alice@127.0.0.1:5070", from_addr="<sip:bob@test>;tag=b",
                         to_addr="<sip:alice@test>;tag=a", call_id="refer@test", cseq=cseq, headers=headers,
                         body=body, content_type=SIPFRAG)


# ------------------------------------------------------------------------------------------ sans-IO


def test_sipfrag_is_a_status_line_and_parses_back() -> None:
    assert sipfrag(200) == b"SIP/2.0 200 OK\r\n"
    assert sipfrag(486, "Busy  Here\r\nX: y") == b"SIP/2.0 486 Busy Here X: y\r\n"
    assert parse_sipfrag(sipfrag(603)) == (603, "Decline")
    assert parse_sipfrag(b"\r\nSIP/2.0 180 Ringing\r\nContent-Length: 0\r\n") == (180, "Ringing")
    assert parse_sipfrag(b"sip/2.0 200") == (200, "")


@pytest.mark.parametrize("body", [b"", b"INVITE sip:bob@x SIP/2.0", b"SIP/2.0 99 Low", b"SIP/3.0 200 OK"])
def test_a_body_without_a_status_line_is_no_sipfrag(body: bytes) -> None:
    assert parse_sipfrag(body) is None


def test_refer_to_carries_headers_and_replaces_as_uri_headers() -> None:
    assert refer_to("sip:carol@example.org", headers=[("X-Why", "vip")]) == "<sip:carol@example.org?X-Why=vip>"
    value = refer_to("sip:carol@127.0.0.1:5090", replaces=DialogId("c1@host", "ours", "theirs"))
    assert value == "<sip:carol@127.0.0.1:5090?Replaces=c1%40host%3Bto-tag%3Dtheirs%3Bfrom-tag%3Dours>"
    # RFC 3891 3: the target compares to-tag with its own (local) tag, from-tag with ours.
    assert NameAddr.parse(value).uri.headers == {"Replaces": "c1@host;to-tag=theirs;from-tag=ours"}
    with pytest.raises(DialogError):
        refer_to("carol at example")


def test_create_refer_is_an_in_dialog_request_with_refer_to_referred_by_and_contact() -> None:
    dialog = confirmed_dialog()
    refer = create_refer(dialog, "<sip:carol@example.org>", referred_by="<sip:alice@test>", headers=[("X-A", "1")])
    assert refer.method == "REFER" and refer.uri == "sip:bob@127.0.0.1:5080" and refer.cseq.seq == 2
    assert refer.headers.get("Refer-To") == "<sip:carol@example.org>"
    assert refer.headers.get("Referred-By") == "<sip:alice@test>"
    assert refer.headers.get("Contact") == "<sip:alice@127.0.0.1:5070>" and refer.headers.get("X-A") == "1"
    assert refer.to.tag == "b" and refer.from_.tag == "a"


@pytest.mark.parametrize("lines", [[], ["<sip:a@x>", "<sip:b@x>"], ["<not a uri"]])
def test_a_refer_needs_exactly_one_readable_refer_to(lines: list[str]) -> None:
    refer = create_refer(confirmed_dialog(), "<sip:a@x>")
    refer.headers.remove("Refer-To")
    for line in lines:
        refer.headers.add("Refer-To", line)
    with pytest.raises(DialogError):
        refer_target(refer)


def test_refer_target_reads_the_refer_to() -> None:
    refer = create_refer(confirmed_dialog(), "<sip:carol@example.org;transport=tcp>")
    assert refer_target(refer).uri.user == "carol"


def test_the_subscription_takes_its_notifys_until_the_final_one() -> None:
    subscription = ReferSubscription(2, now=10.0, t1=0.5)
    assert subscription.expires_at == 42.0  # 64*T1 for the first NOTIFY
    assert subscription.matches(notify()) and subscription.matches(notify(event="refer"))
    assert not subscription.matches(notify(event="refer;id=3")) and not subscription.matches(notify(event="dialog"))
    assert subscription.notify(notify(), now=11.0) == (200, TransferProgress(100, "Trying", final=False))
    assert subscription.expires_at == 71.0
    status, progress = subscription.notify(notify(state="terminated;reason=noresource", body=sipfrag(200)), 12.0)
    assert status == 200 and progress == TransferProgress(200, "OK", final=True) and progress.succeeded
    assert subscription.notify(notify(body=sipfrag(180)), 13.0) == (481, None)


def test_a_final_failure_or_a_subscription_ended_early_is_a_failed_transfer() -> None:
    failed = ReferSubscription(2, now=0.0).notify(notify(body=b"SIP/2.0 603 Declined\r\n"), 1.0)[1]
    assert failed == TransferProgress(603, "Declined", final=True) and not failed.succeeded
    timeout = ReferSubscription(2, now=0.0).notify(notify(state="terminated;reason=timeout"), 1.0)[1]
    assert timeout == TransferProgress(408, "Request Timeout", final=True)
    gone = ReferSubscription(2, now=0.0).notify(notify(state="terminated"), 1.0)[1]
    assert gone is not None and gone.status == 487 and gone.final


def test_an_unreadable_notify_gets_400_and_changes_nothing() -> None:
    subscription = ReferSubscription(2, now=0.0)
    assert subscription.notify(notify(state=None), 1.0) == (400, None)
    assert subscription.notify(notify(body=b"hello"), 1.0) == (400, None)
    assert not subscription.done


def test_the_notifier_reports_trying_then_a_final_status_ending_the_subscription() -> None:
    dialog = confirmed_dialog()
    refer = create_refer(dialog, "<sip:carol@example.org>")
    notifier = ReferNotifier(refer)
    trying = notifier.create_notify(dialog, 100)
    assert trying.method == "NOTIFY" and trying.body == b"SIP/2.0 100 Trying\r\n"
    assert trying.headers.get("Event") == f"refer;id={refer.cseq.seq}"
    assert trying.headers.get("Subscription-State") == "active;expires=60"
    assert trying.headers.get("Content-Type") == SIPFRAG and trying.headers.get("Contact")
    final = notifier.create_notify(dialog, 486, headers=[("X-Why", "busy")])
    assert final.body == b"SIP/2.0 486 Busy Here\r\n" and final.cseq.seq == trying.cseq.seq + 1
    assert final.headers.get("Subscription-State") == "terminated;reason=noresource"
    assert final.headers.get("X-Why") == "busy" and notifier.done
    with pytest.raises(DialogError):
        notifier.create_notify(dialog, 200)


# ------------------------------------------------------------------------------------------ two user agents




class Transferee:
    """The far end being transferred: accepts each REFER with `status` and, when `final` is set, sends that final
    NOTIFY once the UA's own NOTIFY 100 Trying is out."""

    def __init__(self, status: int = 202, final: int | None = None) -> None:
        self.status, self.final = status, final
        self.refers: list[Request] = []
        self.notified: asyncio.Queue[Response] = asyncio.Queue()
        self.call: InviteDialog | None = None

    def on_invite(self, call: InviteDialog) -> None:
        self.call = call
        call.on_refer = self.on_refer
        call.answer()

    def on_refer(self, request: Request) -> int:
        self.refers.append(request)
        if self.final is not None:
            asyncio.get_running_loop().call_soon(self._send_final)
        return self.status

    def _send_final(self) -> None:
        assert self.call is not None and self.final is not None
        sent = asyncio.ensure_future(self.call.notify_refer(self.final))
        sent.add_done_callback(lambda done: self.notified.put_nowait(done.result()))


async def transfer(call: InviteDialog, to: str = "<sip:carol@example.org>"
                   ) -> tuple[Response, list[TransferProgress]]:
    """REFERs `call`; returns the REFER's response and, when accepted, every progress up to the final one."""
    progress: list[TransferProgress] = []
    finished = asyncio.Event()

    def heard(update: TransferProgress) -> None:
        progress.append(update)
        if update.final:
            finished.set()

    response, _ = await call.refer(to, on_progress=heard, referred_by="<sip:voxsim@test>")
    if response.status < 300:
        await asyncio.wait_for(finished.wait(), 5)
    return response, progress


async def test_an_accepted_refer_is_followed_by_notifys_of_100_then_200(agents) -> None:
    far = Transferee(final=200)
    callee, caller = await agents(on_invite=far.on_invite), await agents()
    call = await caller.invite(target(callee))
    response, progress = await transfer(call)
    assert response.status == 202
    assert progress == [TransferProgress(100, "Trying", False), TransferProgress(200, "OK", True)]
    [refer] = far.refers
    assert refer.headers.get("Refer-To") == "<sip:carol@example.org>"
    assert refer.headers.get("Referred-By") == "<sip:voxsim@test>" and refer.headers.get("Contact")
    assert (await asyncio.wait_for(far.notified.get(), 5)).status == 200  # the final NOTIFY was answered 200


async def test_a_603_sipfrag_is_a_failed_transfer(agents) -> None:
    far = Transferee(final=603)
    callee, caller = await agents(on_invite=far.on_invite), await agents()
    call = await caller.invite(target(callee))
    response, progress = await transfer(call)
    assert response.status == 202 and progress[-1] == TransferProgress(603, "Decline", True)


async def test_a_refer_refused_405_by_a_peer_without_refer_makes_no_subscription(agents) -> None:
    callee = await agents(allow=[m for m in DEFAULT_ALLOW if m != "REFER"])
    call = await (await agents()).invite(target(callee))
    response, progress = await transfer(call)
    assert response.status == 405 and progress == [] and "REFER" not in response.headers.get("Allow", "")


async def test_an_attended_transfer_asked_of_us_is_refused_501_unless_taken(agents) -> None:
    # A Refer-To with Replaces asks us to call the target so that it replaces one of its calls with ours: a blind
    # call would not do that, so a UA that does not handle it says so instead of passing it on as blind.
    attended = "<sip:carol@example.org?Replaces=c1%40host%3Bto-tag%3Da%3Bfrom-tag%3Db>"
    far = Transferee(final=200)
    callee, caller = await agents(on_invite=far.on_invite), await agents()
    call = await caller.invite(target(callee))
    response, progress = await transfer(call, attended)
    assert (response.status, response.reason) == (501, REFER_REPLACES_REFUSED) and progress == []
    assert far.refers == []  # the hook never saw it
    assert (await transfer(call))[0].status == 202  # a blind one still goes through
    taking = Transferee(final=200)
    callee2 = await agents(on_invite=taking.on_invite, refer_replaces=True)
    response, _ = await transfer(await caller.invite(target(callee2)), attended)
    assert response.status == 202 and "Replaces=" in taking.refers[0].headers.get("Refer-To")


async def test_without_an_on_refer_hook_a_refer_is_declined(agents) -> None:
    callee, caller = await agents(), await agents()
    call = await caller.invite(target(callee))
    assert (await transfer(call))[0].status == 603


async def test_refers_without_a_refer_to_or_crossing_a_running_one_are_refused(agents) -> None:
    far = Transferee()  # accepts, never says how it went
    callee, caller = await agents(on_invite=far.on_invite), await agents()
    call = await caller.invite(target(callee))
    heard: list[TransferProgress] = []
    assert (await call.request("REFER")).status == 400
    assert (await call.refer("<sip:carol@example.org>", on_progress=heard.append))[0].status == 202
    assert (await call.refer("<sip:dave@example.org>", on_progress=heard.append))[0].status == 491


async def test_a_notify_for_no_refer_of_ours_gets_481_and_so_do_refer_and_notify_outside_a_call(agents) -> None:
    callee, caller = await agents(), await agents()
    call = await caller.invite(target(callee))
    stray = await call.request("NOTIFY", headers=[("Event", "refer"), ("Subscription-State", "active")],
                               body=sipfrag(100), content_type=SIPFRAG)
    assert stray.status == 481
    assert (await caller.request("REFER", target(callee), headers=[("Refer-To", "<sip:c@x>")])).status == 481
    assert (await caller.request("NOTIFY", target(callee), headers=[("Event", "refer")])).status == 481


async def test_the_transferee_can_report_only_on_a_refer_it_accepted(agents) -> None:
    far = Transferee()
    callee, caller = await agents(on_invite=far.on_invite), await agents()
    await caller.invite(target(callee))
    assert far.call is not None
    with pytest.raises(RuntimeError):
        far.call.notify_refer(200)
