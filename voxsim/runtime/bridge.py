"""The Python<->JS bridge: one V8 isolate per session, batched commands, deadlines.

JS never calls Python. One eval, `__vox.deliver(event)`, dispatches an event and returns
every command the scenario issued as JSON (protocol.py describes both). V8 runs promise
continuations (microtasks) only after that eval has produced its result, between evals, where
no deadline reaches them; so every delivery is followed by a second eval, `__vox.drain()`, which
V8 starts only once the continuations are done: it collects what they pushed and bounds them, a
chain that never yields showing up as that eval timing out. (Whether a scenario uses promises
cannot be told from its source: `globalThis['Pro' + 'mise']` hides it; the drain costs ~0.1 ms.)
Every eval runs under `asyncio.wait_for`; a timeout, an exhausted heap (also one that ended a
continuation between evals) or an uncaught error becomes a `ScenarioError` and the session
closes the isolate (`close()` also stops a continuation that no eval owns).
Some callbacks V8 runs on its own, outside any eval and so out of any deadline's reach: a
FinalizationRegistry's cleanup, run once the GC collected what it watches. One that never returns
would hold the isolate until the session's next event; `check_idle()`, a trivial eval under the
handler deadline that the session makes every few seconds while idle, finds it (V8 starts the eval
only once the callback has returned).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from py_mini_racer import JSEvalException, JSOOMException, MiniRacer

from voxsim.runtime.protocol import Command, Drained, Event, Fault
from voxsim.runtime.settings import RuntimeSettings

_SHIM_DIR = Path(__file__).parent
SHIM_SOURCE = "\n".join(
    [(_SHIM_DIR / "voxengine.js").read_text(encoding="utf-8")]
    + [part.read_text(encoding="utf-8") for part in sorted((_SHIM_DIR / "shim").glob("*.js"))]
    + ["delete globalThis.__voxKit; delete globalThis.__voxConnectors;\n"])
"""voxengine.js, then the files of `shim/` in name order (each takes `globalThis.__voxKit`), then the kit goes."""

_LOCATION = re.compile(r"^(?P<url>[^\s:()]+):(?P<line>\d+): (?P<text>.*)$")
_FRAME = re.compile(r"(?P<url>[^\s()]+):(?P<line>\d+):(?P<col>\d+)")
_PROBE_TIMEOUT = 0.2
# The pool refills a little after a take, one isolate per step (about 4 ms each), so that
# building isolates does not land inside the session start that emptied the pool.
_REFILL_DELAY = 0.02
_LINE_SHIFT = 1
# What an eval that timed out was waiting behind (ScenarioTimeout's message).
_HANDLER = "a handler did not finish within {timeout:g} s (an endless loop?)"
_CONTINUATIONS = "promise continuations did not finish within {timeout:g} s (a promise chain that never yields?)"
_IDLE_CALLBACK = ("a callback V8 ran on its own while the session was idle did not finish within {timeout:g} s "
                  "(a FinalizationRegistry cleanup that never returns?)")


class ScenarioError(Exception):
    """A scenario fault: its session ends with finish_reason "JS session error"."""

    def __init__(self, message: str, scenario: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.scenario = scenario
        self.line = line

    def __str__(self) -> str:
        where = ""
        if self.scenario is not None:
            where = f" in scenario '{self.scenario}'"
            if self.line is not None:
                where += f" at line {self.line}"
        return f"JS error{where}: {self.message}"


class ScenarioTimeout(ScenarioError):
    pass


class ScenarioMemoryError(ScenarioError):
    pass


@dataclass
class Delivery:
    commands: list[Command] = field(default_factory=list)
    error: ScenarioError | None = None


@dataclass
class _Script:
    name: str
    url: str
    source: str


def _url_for(index: int, name: str, taken: set[str]) -> str:
    """A sourceURL V8 keeps intact (no spaces), unique within the session."""
    url = re.sub(r"[^\w.\-]", "_", name) or f"scenario{index}"
    if url in taken:
        url = f"{url}.{index}"
    taken.add(url)
    return url


class Bridge:
    """One isolate running the shim and a rule's scenarios, in one context."""

    def __init__(self, ctx: MiniRacer, settings: RuntimeSettings) -> None:
        self._ctx: MiniRacer | None = ctx
        self._settings = settings
        self._scripts: list[_Script] = []
        self._urls: set[str] = set()
        self._inflight: asyncio.Task[Any] | None = None  # the eval running now, if any

    @property
    def closed(self) -> bool:
        return self._ctx is None

    async def init(self, limits: dict[str, Any], custom_data: str) -> None:
        options = json.dumps({"limits": limits, "customData": custom_data})
        await self._eval(f"__vox.init({options})", self._settings.handler_timeout)

    async def load(self, name: str, source: str) -> list[Command]:
        """Run one scenario's top-level code; returns what it issued (Logger.write, timers...)."""
        if len(source) > self._settings.max_scenario_chars:
            raise ScenarioError(
                f"the scenario is {len(source)} characters long; the limit is "
                f"{self._settings.max_scenario_chars}",
                scenario=name,
            )
        script = _Script(name, _url_for(len(self._scripts), name, self._urls), source)
        self._scripts.append(script)
        # The sourceURL goes first: V8 ignores a trailing one when parsing fails before it.
        # Lines reported by V8 are therefore one more than the scenario's (_LINE_SHIFT).
        await self._eval(f"//# sourceURL={script.url}\n{source}", self._settings.load_timeout)
        delivery = await self._collect("__vox.drain()")
        if delivery.error is not None:
            raise delivery.error
        return delivery.commands

    async def deliver(self, event: Event) -> Delivery:
        try:
            return await self._collect(f"__vox.deliver({json.dumps(event.encode())})")
        except ScenarioError as exc:
            return Delivery(error=exc)

    async def _collect(self, code: str) -> Delivery:
        result: Drained = json.loads(await self._eval(code, self._settings.handler_timeout))
        commands = result["commands"]
        fatal = result.get("fatal")
        if fatal is None:
            more: Drained = json.loads(await self._eval("__vox.drain()", self._settings.handler_timeout,
                                                        blame=_CONTINUATIONS))
            commands.extend(more["commands"])
            fatal = more.get("fatal")
        await self._check_heap()
        error = self._js_error(fatal) if fatal is not None else None
        return Delivery(commands=commands, error=error)

    async def check_idle(self) -> ScenarioError | None:
        """Whether the isolate is free: a callback V8 runs on its own while the session waits for events (a
        FinalizationRegistry cleanup) that overruns the deadline, or that exhausted the heap, is a fault."""
        try:
            await self._eval("0", self._settings.handler_timeout, blame=_IDLE_CALLBACK)
            await self._check_heap()
        except ScenarioError as exc:
            return exc
        return None

    async def _check_heap(self) -> None:
        """A continuation that filled the heap between evals was stopped by V8 there, and the eval that
        followed ran normally: only the isolate's flag tells (a chain of promises, each waiting on the next)."""
        ctx = self._ctx
        if ctx is not None and ctx.was_hard_memory_limit_reached():
            raise await self._memory_error()

    async def _memory_error(self) -> ScenarioMemoryError:
        limit = self._settings.memory_limit // (1024 * 1024)
        scenario, line = await self._locate_current()
        return ScenarioMemoryError(f"the scenario exhausted the memory limit ({limit} MB)", scenario, line)

    async def _eval(self, code: str, timeout: float, blame: str = _HANDLER) -> str:
        """One eval under `timeout`; `blame` says what a timeout means: a handler overran, or the eval waited behind
        the promise continuations of the one before, or behind a callback V8 ran on its own (check_idle)."""
        ctx = self._ctx
        if ctx is None:
            raise ScenarioError("the session's isolate is closed")
        self._inflight = asyncio.ensure_future(ctx.eval_cancelable(code))
        try:
            return str(await asyncio.wait_for(self._inflight, timeout))
        except TimeoutError:
            raise await self._timeout_error(timeout, blame) from None
        except JSOOMException:
            raise await self._memory_error() from None
        except JSEvalException as exc:
            raise self._eval_error(str(exc)) from None
        except asyncio.CancelledError:
            # close() cancelled the eval (the session was aborted under it): an error of this session, not a
            # cancellation of the task waiting for it, which would otherwise die without settling its queue.
            task = asyncio.current_task()
            if self._ctx is None and (task is None or not task.cancelling()):
                raise ScenarioError("the session's isolate was closed under a running handler") from None
            raise

    async def _timeout_error(self, timeout: float, blame: str) -> ScenarioTimeout:
        scenario, line = await self._locate_current()
        return ScenarioTimeout(blame.format(timeout=timeout), scenario, line)

    async def _locate_current(self) -> tuple[str | None, int | None]:
        """Where the handler that was running is defined, when the context can still tell.

        After a timeout or an exhausted heap the context still answers small evals (the
        shim remembers the running handler); a continuation that is still spinning does
        not, and then only a single-scenario session can be named.
        """
        source = ""
        ctx = self._ctx
        if ctx is not None:
            try:
                source = str(await asyncio.wait_for(ctx.eval_cancelable("__vox.current()"), _PROBE_TIMEOUT))
            except (TimeoutError, JSEvalException):
                source = ""
        for script in self._scripts:
            pos = script.source.find(source) if source else -1
            if pos >= 0:
                return script.name, script.source.count("\n", 0, pos) + 1
        return (self._scripts[0].name if len(self._scripts) == 1 else None), None

    def _script_for(self, url: str) -> _Script | None:
        return next((s for s in self._scripts if s.url == url), None)

    def _eval_error(self, text: str) -> ScenarioError:
        """Errors at load time: mini-racer's text starts with `url:line: Kind: message`."""
        first = text.strip().splitlines()[0] if text.strip() else text
        match = _LOCATION.match(first)
        if match is None:
            return ScenarioError(first)
        script = self._script_for(match["url"])
        if script is None:
            return ScenarioError(match["text"])
        # "Unexpected end of input" points past the last line.
        line = min(int(match["line"]) - _LINE_SHIFT, script.source.count("\n") + 1)
        return ScenarioError(match["text"], script.name, line)

    def _js_error(self, fatal: Fault) -> ScenarioError:
        """Errors caught by the shim: the first stack frame in a scenario gives the line."""
        message = f"{fatal.get('name', 'Error')}: {fatal.get('message', '')}"
        for match in _FRAME.finditer(fatal.get("stack", "")):
            script = self._script_for(match["url"])
            if script is not None:
                return ScenarioError(message, script.name, int(match["line"]) - _LINE_SHIFT)
        return ScenarioError(message)

    def close(self) -> None:
        """Frees the isolate. With an eval in flight (a shutdown past its grace, a session aborted mid-handler)
        the eval is cancelled first and the isolate freed only once V8 has stopped running it: freeing it under a
        running evaluation crashed the process (SIGSEGV in libc)."""
        ctx, self._ctx = self._ctx, None
        if ctx is None:
            return
        inflight, self._inflight = self._inflight, None
        if inflight is None or inflight.done():
            ctx.close()
            return
        inflight.cancel()
        task = asyncio.get_running_loop().create_task(_close_when_idle(ctx))
        CLOSING.add(task)
        task.add_done_callback(CLOSING.discard)


CLOSE_WAIT = 2.0
"""Seconds an isolate waits for its cancelled eval to stop before it is freed anyway."""
CLOSING: set[asyncio.Task[None]] = set()
"""Isolates waiting for a cancelled eval to stop before they are freed (the runtime awaits them at shutdown)."""


async def _close_when_idle(ctx: MiniRacer) -> None:
    # The isolate runs one task at a time: a trivial eval completes only after the cancelled one has stopped.
    with contextlib.suppress(Exception):
        await asyncio.wait_for(ctx.eval_cancelable("0"), CLOSE_WAIT)
    ctx.close()


def new_isolate(settings: RuntimeSettings) -> MiniRacer:
    """An isolate with its memory limit set and the shim loaded (trusted code: no deadline)."""
    ctx = MiniRacer()
    ctx.set_hard_memory_limit(settings.memory_limit)
    ctx.eval(SHIM_SOURCE)
    return ctx


class IsolatePool:
    """A few isolates created ahead of need, so that call setup does not pay for them.

    Isolates are never reused: a session's globals must not leak into the next one.
    Create the pool inside the running loop (mini-racer binds isolates to it, and
    creation there is about 5x cheaper than outside one).
    """

    def __init__(self, settings: RuntimeSettings) -> None:
        self._settings = settings
        self._ready: deque[MiniRacer] = deque()
        self._refill: asyncio.TimerHandle | None = None
        self._closed = False

    def __len__(self) -> int:
        return len(self._ready)

    def fill(self) -> None:
        while not self._closed and len(self._ready) < self._settings.pool_size:
            self._ready.append(new_isolate(self._settings))

    def take(self) -> MiniRacer:
        ctx = self._ready.popleft() if self._ready else new_isolate(self._settings)
        self._schedule_refill()
        return ctx

    def _schedule_refill(self) -> None:
        if self._refill is None and not self._closed and len(self._ready) < self._settings.pool_size:
            self._refill = asyncio.get_running_loop().call_later(_REFILL_DELAY, self._refill_one)

    def _refill_one(self) -> None:
        self._refill = None
        if not self._closed and len(self._ready) < self._settings.pool_size:
            self._ready.append(new_isolate(self._settings))
            self._schedule_refill()

    def close(self) -> None:
        self._closed = True
        if self._refill is not None:
            self._refill.cancel()
            self._refill = None
        while self._ready:
            self._ready.popleft().close()
