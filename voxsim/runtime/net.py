"""Net.httpRequest / Net.httpRequestAsync: real HTTP with aiohttp, within the platform's limits.

Result shape and internal codes are those of VoxEngine's `Net.HttpRequestResult`: `code` is
the HTTP status, or 0 (a VoxEngine limit), -2 malformed URL, -3 host not found, -4 connection error, -5 too many
redirects, -6 network error, -7 timeout, -8 internal, -9 response larger than the limit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
from yarl import URL

from voxsim.runtime.settings import RuntimeSettings

USER_AGENT = "VoxEngine/1.0"
MAX_REDIRECTS = 10


def _failure(code: int, error: str) -> dict[str, Any]:
    return {"code": code, "error": error, "headers": [], "raw_headers": "", "text": ""}


def _body(options: Mapping[str, Any]) -> bytes | None:
    post = options.get("postData")
    if not post:
        return None
    if "bytes" in post:
        return bytes(int(b) & 0xFF for b in post["bytes"])
    return str(post.get("text", "")).encode()


def _timeout(options: Mapping[str, Any], settings: RuntimeSettings) -> aiohttp.ClientTimeout:
    """The scenario may only shorten the platform's timeouts, never extend them."""
    total = settings.http_total_timeout
    connect = settings.http_connect_timeout
    if options.get("timeout"):
        total = min(total, float(options["timeout"]))
    if options.get("connectionTimeout"):
        connect = min(connect, float(options["connectionTimeout"]))
    return aiohttp.ClientTimeout(total=total, sock_connect=connect, connect=connect)


async def _read_limited(resp: aiohttp.ClientResponse, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


class HttpClient:
    """One connection pool for every session of a runtime."""

    def __init__(self, settings: RuntimeSettings) -> None:
        self._settings = settings
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(auto_decompress=True)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(self, url: str, options: Mapping[str, Any]) -> dict[str, Any]:
        try:
            target = URL(url)
        except ValueError:
            return _failure(-2, f"malformed URL: {url}")
        if target.scheme not in ("http", "https") or not target.host:
            return _failure(-2, f"malformed URL: {url}")
        try:
            return await self._send(target, options)
        except aiohttp.TooManyRedirects:
            return _failure(-5, "too many redirects")
        except aiohttp.ClientConnectorDNSError as exc:
            return _failure(-3, f"host not found: {exc}")
        except aiohttp.ClientConnectorError as exc:
            return _failure(-4, f"connection error: {exc}")
        except TimeoutError:
            return _failure(-7, "timeout")
        except aiohttp.InvalidURL:
            return _failure(-2, f"malformed URL: {url}")
        except aiohttp.ClientError as exc:
            return _failure(-6, f"network error: {exc}")
        except Exception as exc:  # a result must always reach JS, or its promise hangs forever
            return _failure(-8, f"internal error: {exc!r}")

    async def _send(self, target: URL, options: Mapping[str, Any]) -> dict[str, Any]:
        headers = {"User-Agent": USER_AGENT, **dict(options.get("headers") or {})}
        async with self._client().request(
            str(options.get("method") or "GET"),
            target,
            params=dict(options.get("params") or {}) or None,
            data=_body(options),
            headers=headers,
            timeout=_timeout(options, self._settings),
            max_redirects=MAX_REDIRECTS,
        ) as resp:
            body = await _read_limited(resp, self._settings.http_max_response_bytes)
            if body is None:
                return _failure(-9, "the response is larger than the limit")
            result: dict[str, Any] = {
                "code": resp.status,
                "headers": [{"key": k, "value": v} for k, v in resp.headers.items()],
                "raw_headers": "".join(f"{k}: {v}\r\n" for k, v in resp.headers.items()),
            }
            if options.get("rawOutput"):
                result["data"] = list(body)
            else:
                result["text"] = body.decode(resp.charset or "utf-8", errors="replace")
            return result


class SessionNet:
    """A session's requests: at most `http_max_concurrent` in flight, the rest queued.

    The pending-count limit (35) is enforced in JS, where the platform throws
    synchronously; this side enforces concurrency and reports each result back.
    """

    def __init__(
        self,
        client: HttpClient,
        settings: RuntimeSettings,
        deliver: Callable[[int, dict[str, Any]], None],
    ) -> None:
        self._client = client
        self._deliver = deliver
        self._slots = asyncio.Semaphore(settings.http_max_concurrent)
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def pending(self) -> int:
        return len(self._tasks)

    def start(self, request_id: int, url: str, options: Mapping[str, Any]) -> None:
        self._idle.clear()
        self._tasks[request_id] = asyncio.get_running_loop().create_task(self._run(request_id, url, options))

    async def _run(self, request_id: int, url: str, options: Mapping[str, Any]) -> None:
        try:
            async with self._slots:
                result = await self._client.request(url, options)
            self._deliver(request_id, result)
        finally:
            self._tasks.pop(request_id, None)
            if not self._tasks:
                self._idle.set()

    async def wait_idle(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
            return True
        except TimeoutError:
            return False

    def release(self, grace: float) -> None:
        """The session is over but its requests were made: they go on for `grace` seconds, then are cancelled;
        their results reach no one (the session ignores them once finished)."""
        released = list(self._tasks.values())
        self._tasks.clear()
        self._idle.set()
        if released:
            asyncio.get_running_loop().call_later(grace, lambda: [task.cancel() for task in released])

    def cancel_all(self) -> None:
        for task in list(self._tasks.values()):
            task.cancel()
        self._tasks.clear()
        self._idle.set()
