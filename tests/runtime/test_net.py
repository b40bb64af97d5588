"""Net.httpRequestAsync / Net.httpRequest: real HTTP to a local aiohttp server, with limits."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any

import pytest
from aiohttp import web

from voxsim.runtime import Runtime

from .conftest import FAST, logged, start, user_lines


class Backend:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.active = 0
        self.max_active = 0

    async def echo(self, request: web.Request) -> web.Response:
        body = await request.text()
        self.requests.append({"method": request.method, "query": dict(request.query), "body": body,
                              "headers": dict(request.headers)})
        return web.json_response({"method": request.method, "body": body, "query": dict(request.query)},
                                 headers={"X-Backend": "yes"})

    async def slow(self, request: web.Request) -> web.Response:
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            await asyncio.sleep(float(request.query.get("s", "0.05")))
        finally:
            self.active -= 1
        return web.Response(text="slow done")

    async def big(self, request: web.Request) -> web.Response:
        return web.Response(body=b"x" * int(request.query["n"]))

    async def missing(self, request: web.Request) -> web.Response:
        return web.Response(status=404, text="nope")


@pytest.fixture
async def backend(aiohttp_server) -> tuple[Backend, str]:
    b = Backend()
    app = web.Application()
    app.router.add_route("*", "/echo", b.echo)
    app.router.add_get("/slow", b.slow)
    app.router.add_get("/big", b.big)
    app.router.add_get("/missing", b.missing)
    server = await aiohttp_server(app)
    return b, str(server.make_url("")).rstrip("/")


def results(session) -> list[dict[str, Any]]:
    return [json.loads(line[7:]) for line in user_lines(session) if line.startswith("result ")]


CALLOUT = """
VoxEngine.addEventListener(AppEvents.Started, async () => {
  const r = await Net.httpRequestAsync('$URL/echo', {method: 'POST', postData: 'order=42',
    headers: {'Content-Type': 'application/x-www-form-urlencoded', 'X-Key': 'k'}, params: {lang: 'en'}});
  Logger.write('result ' + JSON.stringify({code: r.code, text: r.text,
    backend: r.headers.find((h) => h.key === 'X-Backend').value}));
  Net.httpRequest('$URL/missing', (res) => {
    Logger.write('result ' + JSON.stringify({code: res.code, text: res.text}));
    VoxEngine.terminate();
  });
});
"""


async def test_http_callouts(runtime: Runtime, backend):
    b, url = backend
    session = await start(runtime, CALLOUT.replace("$URL", url))
    await session.wait_finished(3)
    first, second = results(session)
    assert first["code"] == 200 and first["backend"] == "yes"
    assert json.loads(first["text"]) == {"method": "POST", "body": "order=42", "query": {"lang": "en"}}
    assert second == {"code": 404, "text": "nope"}
    (req,) = b.requests
    assert req["headers"]["User-Agent"] == "VoxEngine/1.0" and req["headers"]["X-Key"] == "k"


async def test_raw_output_and_byte_bodies(runtime: Runtime, backend):
    _, url = backend
    script = """
    VoxEngine.addEventListener(AppEvents.Started, async () => {
      const r = await Net.httpRequestAsync('$URL/echo',
        {method: 'PUT', postData: str2bytes('héllo'), rawOutput: true});
      Logger.write('result ' + JSON.stringify({code: r.code, body: JSON.parse(bytes2str(r.data)).body}));
    });
    """.replace("$URL", url)
    session = await start(runtime, script)
    await session.wait_until(lambda: results(session))
    assert results(session) == [{"code": 200, "body": "héllo"}]


@pytest.mark.parametrize(
    ("target", "code"),
    [
        ("not a url", -2),
        ("ftp://example.org/file", -2),
        ("http://127.0.0.1:1/closed", -4),
        ("{url}/slow?s=2", -7),
        ("{url}/big?n=5000", -9),
    ],
)
async def test_internal_result_codes(backend, target: str, code: int):
    _, url = backend
    settings = dataclasses.replace(FAST, http_max_response_bytes=4096, http_total_timeout=0.3)
    rt = Runtime(settings)
    await rt.start()
    try:
        script = """
        VoxEngine.addEventListener(AppEvents.Started, async () => {
          const r = await Net.httpRequestAsync($TARGET);
          Logger.write('result ' + JSON.stringify({code: r.code, error: r.error}));
        });
        """.replace("$TARGET", json.dumps(target.format(url=url)))
        session = await start(rt, script)
        await session.wait_until(lambda: results(session), timeout=3)
        assert results(session)[0]["code"] == code
        assert results(session)[0]["error"]
    finally:
        await rt.shutdown()


async def test_at_most_three_requests_at_once(runtime: Runtime, backend):
    b, url = backend
    script = """
    let done = 0;
    VoxEngine.addEventListener(AppEvents.Started, () => {
      for (let i = 0; i < 8; i++) {
        Net.httpRequest('$URL/slow?s=0.05', () => { done += 1; if (done === 8) Logger.write('all done'); });
      }
    });
    """.replace("$URL", url)
    session = await start(runtime, script)
    await session.wait_until(lambda: logged(session, "all done"), timeout=5)
    assert b.max_active == 3


async def test_too_many_pending_requests_throw(runtime: Runtime, backend):
    _, url = backend
    script = """
    VoxEngine.addEventListener(AppEvents.Started, () => {
      for (let i = 0; i < 35; i++) Net.httpRequest('$URL/slow?s=0.01', () => {});
      try { Net.httpRequest('$URL/slow', () => {}); } catch (e) { Logger.write('caught ' + e.message); }
    });
    """.replace("$URL", url)
    session = await start(runtime, script)
    assert logged(session, "caught Exceeded the HTTP connection count limit!")


async def test_one_request_after_terminating_is_served(runtime: Runtime, backend):
    b, url = backend
    script = """
    VoxEngine.addEventListener(AppEvents.Started, () => VoxEngine.terminate());
    VoxEngine.addEventListener(AppEvents.Terminating, () => {
      Net.httpRequestAsync('$URL/echo', {method: 'POST', postData: 'last words'})
        .then((r) => Logger.write('reported ' + r.code));
      try { Net.httpRequest('$URL/echo', () => {}); } catch (e) { Logger.write('second refused'); }
    });
    VoxEngine.addEventListener(AppEvents.Terminated, () => Logger.write('terminated'));
    """.replace("$URL", url)
    session = await start(runtime, script)
    await session.wait_finished(3)
    assert user_lines(session) == ["second refused", "reported 200", "terminated"]
    assert [r["body"] for r in b.requests] == ["last words"]


LEGACY = """
VoxEngine.addEventListener(AppEvents.Started, () => {
  const opts = new Net.HttpRequestOptions();
  opts.method = 'POST';
  opts.headers = ['Content-Type: application/json', 'X-Token: a:b', {name: 'X-Obj', value: 1}];
  opts.postData = JSON.stringify({n: 1});
  Net.httpRequest('$URL/echo', (res) => {
    Logger.write('result ' + JSON.stringify({code: res.code, text: res.text}));
    VoxEngine.terminate();
  }, opts);
});
"""


async def test_legacy_options_object_and_header_strings(runtime: Runtime, backend):
    """`new Net.HttpRequestOptions()` with headers in the older typings' form, ["Name: value", ...]."""
    b, url = backend
    session = await start(runtime, LEGACY.replace("$URL", url))
    await session.wait_finished(3)
    (result,) = results(session)
    assert result["code"] == 200 and json.loads(result["text"])["body"] == '{"n":1}'
    (request,) = b.requests
    assert request["method"] == "POST"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["headers"]["X-Token"] == "a:b" and request["headers"]["X-Obj"] == "1"
