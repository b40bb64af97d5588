"""What a softphone driven on its console (baresip, linphonec) prints, read as it comes, with a wait for a line."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable

__all__ = ["ConsoleOutput", "ConsoleProcess"]


class ConsoleOutput:
    """The text `name` printed so far (`text`), whether it exited, and `wait_for(pattern)`; `clean` strips what
    the text should not keep (colours)."""

    def __init__(self, name: str, clean: Callable[[str], str] = lambda text: text) -> None:
        self.name = name
        self.clean = clean
        self.text = ""
        self.exited = False
        self._changed = asyncio.Condition()

    async def read(self, stream: asyncio.StreamReader) -> None:
        """Reads `stream` until it ends (the process exited)."""
        while chunk := await stream.read(4096):
            async with self._changed:
                self.text += self.clean(chunk.decode(errors="replace"))
                self._changed.notify_all()
        async with self._changed:
            self.exited = True
            self._changed.notify_all()

    def tail(self) -> str:
        return self.text[-4000:]

    async def wait_for(self, pattern: str, timeout: float) -> re.Match[str]:
        """The first match of `pattern` in what it printed, waiting up to `timeout` seconds for it."""
        regex = re.compile(pattern)

        async def found() -> re.Match[str]:
            async with self._changed:
                while (match := regex.search(self.text)) is None:
                    if self.exited:
                        raise AssertionError(f"{self.name} exited without printing {pattern!r}:\n{self.tail()}")
                    await self._changed.wait()
                return match

        try:
            return await asyncio.wait_for(found(), timeout)
        except TimeoutError:
            raise AssertionError(f"{self.name} never printed {pattern!r}; it printed:\n{self.tail()}") from None


class ConsoleProcess:
    """A softphone driven on its console: what it printed (`output`), whether it `exited`, `wait_for` and `tail`,
    from its `console`; `send` types a command, `stop` quits it with `quit_command` (killed after `stop_timeout`)."""

    console: ConsoleOutput
    quit_command = "quit"
    stop_timeout = 5.0
    _process: asyncio.subprocess.Process | None = None
    _reader: asyncio.Task[None] | None = None

    def attach(self, process: asyncio.subprocess.Process) -> None:
        """The started process: its output is read from now on."""
        assert process.stdout is not None
        self._process = process
        self._reader = asyncio.create_task(self.console.read(process.stdout))

    def send(self, command: str) -> None:
        """A command typed on its console."""
        assert self._process is not None and self._process.stdin is not None
        self._process.stdin.write(command.encode() + b"\n")

    async def stop(self) -> None:
        process = self._process
        if process is None:
            return
        if process.returncode is None:
            with contextlib.suppress(ConnectionError, AssertionError):
                self.send(self.quit_command)
            try:
                await asyncio.wait_for(process.wait(), self.stop_timeout)
            except TimeoutError:
                process.kill()
                await process.wait()
        if self._reader is not None:
            await asyncio.wait_for(self._reader, self.stop_timeout)

    @property
    def output(self) -> str:
        return self.console.text

    @property
    def exited(self) -> bool:
        return self.console.exited

    async def wait_for(self, pattern: str, timeout: float) -> re.Match[str]:
        """The first match of `pattern` in what it printed, waiting up to `timeout` seconds for it."""
        return await self.console.wait_for(pattern, timeout)

    def tail(self) -> str:
        return self.console.tail()
