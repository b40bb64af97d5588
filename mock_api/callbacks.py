"""HTTP callbacks to the account's `callback_url`, as the platform sends them
(https://voximplant.com/docs/references/httpapi/http-api-callbacks; docs/sip-registrations.md shows one).

`CallbackSender.send(account_id, type, items)` POSTs one `AccountCallbacks` body,
`{"callbacks": [AccountCallback]}`, whose callback carries the account fields, a `callback_id`, the
`hash` and the payload keyed by its type: `{"sip_registration_fail": {"sip_registrations": items}}`.

- `callback_id`: unique and increasing. The counter starts at the current time in milliseconds, so
  ids also keep increasing across restarts without being stored.
- `hash`: lowercase hex md5 of `callback_salt + account_id + api_key + callback_id` (decimal strings).
  With no salt configured the empty string stands in for it (the platform's behaviour is unknown).
- An account without `callback_url` gets nothing (`send` returns None).
- Delivery runs in the background: any 2xx is delivered; anything else (another status, a refused
  connection, a timeout) is retried `retries` times, `retry_initial` seconds after the first attempt,
  then `retry_factor` times longer each time; what still fails is logged and dropped. `send` never
  raises into the caller. `stop()` cancels deliveries still running.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import logging
import ssl
import time
from collections.abc import Sequence
from typing import Any, Protocol

import aiohttp

from voxsim.model import Account

__all__ = ["CallbackSender", "callback_hash"]

log = logging.getLogger(__name__)


class AccountSource(Protocol):
    def get_account(self, account_id: int) -> Account: ...


def callback_hash(salt: str, account_id: int, api_key: str, callback_id: int) -> str:
    """md5(salt + account_id + api_key + callback_id) as lowercase hex, how the platform signs a callback."""
    return hashlib.md5(f"{salt or ''}{account_id}{api_key}{callback_id}".encode()).hexdigest()


class CallbackSender:
    """Sends account callbacks in the background; see the module docstring."""

    def __init__(self, store: AccountSource, *, retries: int = 3, retry_initial: float = 1.0,
                 retry_factor: float = 2.0, timeout: float = 10.0, ssl_context: ssl.SSLContext | None = None,
                 ) -> None:
        self.store = store
        self.retries = retries
        self.retry_initial = retry_initial
        self.retry_factor = retry_factor
        self.timeout = timeout
        self.ssl_context = ssl_context
        self._ids = itertools.count(int(time.time() * 1000))
        self._tasks: set[asyncio.Task[bool]] = set()
        self._session: aiohttp.ClientSession | None = None

    def body(self, account: Account, kind: str, items: Sequence[dict[str, Any]], callback_id: int) -> dict[str, Any]:
        """The AccountCallbacks JSON of one callback."""
        callback = {
            "callback_id": callback_id,
            "type": kind,
            "account_id": account.account_id,
            "hash": callback_hash(account.callback_salt, account.account_id, account.api_key, callback_id),
            "account_name": account.account_name,
            "account_email": account.account_email,
            "language_code": account.language_code,
            "account_first_name": account.account_first_name,
            "account_last_name": account.account_last_name,
            "balance": account.balance,
            "currency": account.currency,
            kind: _payload(kind, items),
        }
        return {"callbacks": [callback]}

    async def send(self, account_id: int, kind: str, items: Sequence[dict[str, Any]]) -> int | None:
        """Queues one callback for delivery; returns its `callback_id`, or None when none is sent."""
        try:
            account = self.store.get_account(account_id)
        except Exception:
            log.warning("callback %s not sent: no account %s", kind, account_id)
            return None
        if not account.callback_url:
            log.debug("callback %s not sent: account %s has no callback_url", kind, account_id)
            return None
        callback_id = next(self._ids)
        body = self.body(account, kind, items, callback_id)
        task = asyncio.ensure_future(self._deliver(account.callback_url, body, callback_id, kind))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return callback_id

    async def wait_idle(self, timeout: float | None = None) -> None:
        """Waits until every delivery queued so far has finished (for tests and orderly shutdowns)."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _deliver(self, url: str, body: dict[str, Any], callback_id: int, kind: str) -> bool:
        delay = self.retry_initial
        for attempt in range(self.retries + 1):
            if attempt:
                await asyncio.sleep(delay)
                delay *= self.retry_factor
            problem = await self._post(url, body)
            if problem is None:
                log.info("callback %s (%s) delivered to %s", callback_id, kind, url)
                return True
            log.info("callback %s (%s) to %s, attempt %d: %s", callback_id, kind, url, attempt + 1, problem)
        log.warning("callback %s (%s) to %s dropped after %d attempts", callback_id, kind, url, self.retries + 1)
        return False

    async def _post(self, url: str, body: dict[str, Any]) -> str | None:
        """One POST; None when a 2xx came back, else what went wrong."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        try:
            ssl_option: ssl.SSLContext | bool = self.ssl_context if self.ssl_context is not None else True
            async with self._session.post(url, json=body, ssl=ssl_option) as response:
                await response.read()
                return None if 200 <= response.status < 300 else f"HTTP {response.status}"
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
            return f"{type(exc).__name__}: {exc}"


def _payload(kind: str, items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The payload member of a callback type (only the SIP registration types carry items so far)."""
    if kind in ("sip_registration_fail", "sip_registration_recovered"):
        return {"sip_registrations": list(items)}
    return dict(items[0]) if items else {}
