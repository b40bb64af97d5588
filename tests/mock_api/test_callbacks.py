"""Account callbacks (`mock_api.callbacks`): envelope, hash, retries, accounts without a callback_url."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest_asyncio

from mock_api.callbacks import CallbackSender, callback_hash
from sip_edge.transport import free_port_pair
from tests.conftest import Receiver  # the `receiver` fixture's type
from voxsim.model import Account


def account(**fields: Any) -> Account:
    values: dict[str, Any] = {"account_id": 1000001, "account_name": "voxsim", "account_email": "dev@voxsim.local",
                              "api_key": "k3y", "created": "2024-01-01 00:00:00",
                              "callback_url": "", "callback_salt": "s4lt", "account_first_name": "Jane",
                              "account_last_name": "Doe"}
    values.update(fields)
    return Account(**values)


@dataclass
class Accounts:
    accounts: dict[int, Account] = field(default_factory=dict)

    def get_account(self, account_id: int) -> Account:
        return self.accounts[account_id]


@pytest_asyncio.fixture
async def senders() -> AsyncIterator[list[CallbackSender]]:
    made: list[CallbackSender] = []
    try:
        yield made
    finally:
        for sender in made:
            await sender.stop()


def sender_for(senders: list[CallbackSender], *accounts: Account, **kwargs: Any) -> CallbackSender:
    sender = CallbackSender(Accounts({a.account_id: a for a in accounts}), **kwargs)
    senders.append(sender)
    return sender


async def test_envelope_fields_payload_and_hash(receiver: Receiver, senders) -> None:
    acc = account(callback_url=receiver.url, balance=12.5)
    sender = sender_for(senders, acc)
    items = [{"sip_registration_id": 5, "status_code": "403", "error_message": "Forbidden"}]
    callback_id = await sender.send(acc.account_id, "sip_registration_fail", items)
    await sender.wait_idle(5)
    assert len(receiver.posts) == 1
    _, headers, body = receiver.posts[0]
    assert headers["Content-Type"].startswith("application/json")
    assert list(body) == ["callbacks"] and len(body["callbacks"]) == 1
    callback = body["callbacks"][0]
    expected_hash = hashlib.md5(f"s4lt1000001k3y{callback_id}".encode()).hexdigest()
    assert callback == {
        "callback_id": callback_id, "type": "sip_registration_fail", "account_id": 1000001,
        "hash": expected_hash, "account_name": "voxsim", "account_email": "dev@voxsim.local",
        "language_code": "en", "account_first_name": "Jane", "account_last_name": "Doe",
        "balance": 12.5, "currency": "USD",
        "sip_registration_fail": {"sip_registrations": items},
    }


async def test_recovered_payload_and_increasing_ids(receiver: Receiver, senders) -> None:
    acc = account(callback_url=receiver.url)
    sender = sender_for(senders, acc)
    first = await sender.send(acc.account_id, "sip_registration_fail", [{"sip_registration_id": 1,
                                                                          "status_code": "408"}])
    second = await sender.send(acc.account_id, "sip_registration_recovered", [{"sip_registration_id": 1}])
    assert first is not None and second is not None and second > first
    await sender.wait_idle(5)
    bodies = {post[2]["callbacks"][0]["callback_id"]: post[2]["callbacks"][0] for post in receiver.posts}
    assert bodies[second]["sip_registration_recovered"] == {"sip_registrations": [{"sip_registration_id": 1}]}
    assert "sip_registration_fail" not in bodies[second]


def test_hash_without_salt_uses_the_empty_string() -> None:
    assert callback_hash("", 1, "key", 2) == hashlib.md5(b"1key2").hexdigest()
    assert callback_hash("salt", 1000001, "key", 42) == hashlib.md5(b"salt1000001key42").hexdigest()


async def test_no_salt_configured(receiver: Receiver, senders) -> None:
    acc = account(callback_url=receiver.url, callback_salt="")
    sender = sender_for(senders, acc)
    callback_id = await sender.send(acc.account_id, "sip_registration_recovered", [{"sip_registration_id": 3}])
    await sender.wait_idle(5)
    assert receiver.posts[0][2]["callbacks"][0]["hash"] == hashlib.md5(f"1000001k3y{callback_id}".encode()).hexdigest()


async def test_retries_until_a_2xx(receiver: Receiver, senders) -> None:
    receiver.statuses = [500, 503, 204]
    acc = account(callback_url=receiver.url)
    sender = sender_for(senders, acc, retries=3, retry_initial=0.05, retry_factor=2)
    callback_id = await sender.send(acc.account_id, "sip_registration_recovered", [{"sip_registration_id": 3}])
    await sender.wait_idle(5)
    assert len(receiver.posts) == 3
    assert {post[2]["callbacks"][0]["callback_id"] for post in receiver.posts} == {callback_id}
    times = [post[0] for post in receiver.posts]
    assert times[1] - times[0] >= 0.045 and times[2] - times[1] >= 0.095  # backoff doubles


async def test_gives_up_after_the_retries_without_raising(receiver: Receiver, senders) -> None:
    receiver.statuses = [500] * 10
    acc = account(callback_url=receiver.url)
    sender = sender_for(senders, acc, retries=2, retry_initial=0.01)
    assert await sender.send(acc.account_id, "sip_registration_recovered", [{"sip_registration_id": 3}])
    await sender.wait_idle(5)
    assert len(receiver.posts) == 3


async def test_unreachable_url_is_retried_and_dropped(senders) -> None:
    acc = account(callback_url=f"http://127.0.0.1:{free_port_pair()}/hook")
    sender = sender_for(senders, acc, retries=1, retry_initial=0.01)
    assert await sender.send(acc.account_id, "sip_registration_recovered", [{"sip_registration_id": 3}])
    await sender.wait_idle(5)  # finished, nothing raised


async def test_no_callback_url_or_no_account_sends_nothing(receiver: Receiver, senders) -> None:
    acc = account()
    sender = sender_for(senders, acc)
    assert await sender.send(acc.account_id, "sip_registration_recovered", [{"sip_registration_id": 3}]) is None
    assert await sender.send(424242, "sip_registration_recovered", [{"sip_registration_id": 3}]) is None
    await asyncio.sleep(0.05)
    assert receiver.posts == []


async def test_stop_cancels_deliveries_still_waiting(receiver: Receiver, senders) -> None:
    receiver.statuses = [500]
    acc = account(callback_url=receiver.url)
    sender = sender_for(senders, acc, retries=3, retry_initial=30)
    await sender.send(acc.account_id, "sip_registration_recovered", [{"sip_registration_id": 3}])
    await asyncio.wait_for(receiver.got.wait(), 5)
    started = time.monotonic()
    await sender.stop()
    assert time.monotonic() - started < 1
    assert len(receiver.posts) == 1
