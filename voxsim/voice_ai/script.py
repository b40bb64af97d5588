"""Agent scripts: what a scripted voice-AI agent says and does, vendor-neutral, from YAML or JSON.

    name: booking                 # optional; shown in logs
    match: {vendor: openai, prompt: "Bella"}   # optional: which clients it serves (default: any)
    greeting: "Hi, Bella's restaurant. How can I help?"
    turns:                        # tried in order; the first that matches fires (once, unless repeat: true)
      - said: "book|table"        # a regex on what the caller said (case-insensitive)
        say: "For how many people?"
      - said: "(\\d+) people"
        actions:
          - tool: {name: book_table, args: {people: 4}, timeout: 10}
          - say: "Booked: {result}"  # {result}: what the scenario answered the last tool call
      - dtmf: "0"                 # text the scenario sends that is the digit ("0", "DTMF 0", "pressed 0")
        actions: [{say: "Goodbye"}, {hangup: true}]
      - text: "^transfer"         # a regex on text the scenario injects (userMessage, conversationItemCreate...)
        say: "Transferring you"
      - silence: 5                # seconds with nobody speaking after the agent finished
        say: "Are you still there?"
    fallback: "Sorry, could you say that again?"   # what the agent says when no turn matches ("" for nothing)

A turn's actions are `actions:` (a list) or the action keys on the turn itself. Actions: `say: TEXT`,
`tool: {name, args, timeout}` (waits for the scenario's result), `hangup: true` (the connector closes the
socket with 1000), `error: {code, message}` (the vendor's error event; `close: 1011` closes too).
`match` keys: `vendor`, `model`, `agent_id` and `prompt` (a substring of the instructions / system prompt /
first message the scenario gave), all optional. Scripts are selected in file-name order; the first whose
`match` fits serves the client, else the default agent (`DEFAULT_SCRIPT`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = ["DEFAULT_SCRIPT", "Action", "AgentScript", "ScriptError", "Turn", "load_script", "load_scripts",
           "parse_script", "read_document"]

TRIGGERS = ("said", "dtmf", "text", "silence", "start")
ACTIONS = ("say", "tool", "hangup", "error")
MATCH_KEYS = ("vendor", "model", "agent_id", "prompt")
SUFFIXES = (".yaml", ".yml", ".json")


class ScriptError(ValueError):
    """A script that cannot be used; the message names the file and the entry."""


@dataclass(frozen=True)
class Action:
    kind: str  # one of ACTIONS
    text: str = ""  # say
    tool: str = ""  # tool: its name
    args: Mapping[str, Any] = field(default_factory=dict)
    timeout: float | None = None  # tool: seconds to wait for the result (None: the connector's default)
    code: str = ""  # error
    message: str = ""
    close: int | None = None  # error: close the socket with this code too


@dataclass(frozen=True)
class Turn:
    trigger: str  # one of TRIGGERS
    pattern: re.Pattern[str] | None  # said, text
    digits: str = ""  # dtmf
    seconds: float = 0.0  # silence
    actions: tuple[Action, ...] = ()
    repeat: bool = False


@dataclass(frozen=True)
class AgentScript:
    name: str
    match: Mapping[str, str] = field(default_factory=dict)
    greeting: str = ""
    turns: tuple[Turn, ...] = ()
    fallback: str = ""
    source: str = "<default>"

    def serves(self, vendor: str, hints: Mapping[str, str]) -> bool:
        """Whether this script's `match` fits a client of `vendor` with these hints (model, agent_id, prompt)."""
        for key, wanted in self.match.items():
            if key == "vendor":
                if wanted.lower() != vendor.lower():
                    return False
            elif key == "prompt":
                if wanted.lower() not in hints.get("prompt", "").lower():
                    return False
            elif hints.get(key, "") != wanted:
                return False
        return True


DEFAULT_SCRIPT = AgentScript(
    name="default", greeting="Hello! This is the voxsim test agent. How can I help you?",
    fallback="I hear you. This is a scripted agent of voxsim, and it has no script for this call.")
"""The agent with no script: it greets, then answers every caller turn with one line."""


def _fail(source: str, where: str, what: str) -> ScriptError:
    return ScriptError(f"{source}: {where}: {what}")


def _regex(value: object, source: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(str(value), re.IGNORECASE)
    except re.error as exc:
        raise _fail(source, where, f"not a regular expression ({exc})") from None


def _action(raw: object, source: str, where: str) -> Action:
    if not isinstance(raw, Mapping):
        raise _fail(source, where, "an action is a mapping such as {say: ...}")
    kinds = [k for k in ACTIONS if k in raw]
    if len(kinds) != 1:
        raise _fail(source, where, f"an action has exactly one of {', '.join(ACTIONS)}")
    kind = kinds[0]
    value = raw[kind]
    if kind == "say":
        return Action("say", text=str(value))
    if kind == "hangup":
        return Action("hangup")
    if kind == "tool":
        if not isinstance(value, Mapping) or not value.get("name"):
            raise _fail(source, where, "tool needs {name, args?, timeout?}")
        args = value.get("args") or {}
        if not isinstance(args, Mapping):
            raise _fail(source, where, "tool args must be a mapping")
        timeout = value.get("timeout")
        return Action("tool", tool=str(value["name"]), args=dict(args),
                      timeout=float(timeout) if timeout is not None else None)
    body = value if isinstance(value, Mapping) else {"message": str(value)}
    close = body.get("close")
    return Action("error", code=str(body.get("code", "server_error")), message=str(body.get("message", "error")),
                  close=int(close) if close is not None else None)


def _actions(raw: Mapping[str, Any], source: str, where: str) -> tuple[Action, ...]:
    if "actions" in raw:
        listed = raw["actions"]
        if not isinstance(listed, list) or not listed:
            raise _fail(source, where, "actions must be a non-empty list")
        return tuple(_action(a, source, f"{where}.actions[{i}]") for i, a in enumerate(listed))
    inline = {k: raw[k] for k in ACTIONS if k in raw}
    if not inline:
        raise _fail(source, where, f"a turn needs actions (or one of {', '.join(ACTIONS)})")
    return tuple(_action({k: v}, source, where) for k, v in inline.items())


def _turn(raw: object, source: str, where: str) -> Turn:
    if not isinstance(raw, Mapping):
        raise _fail(source, where, "a turn is a mapping")
    triggers = [k for k in TRIGGERS if k in raw]
    if len(triggers) != 1:
        raise _fail(source, where, f"a turn has exactly one trigger of {', '.join(TRIGGERS)}")
    trigger = triggers[0]
    value = raw[trigger]
    actions = _actions(raw, source, where)
    repeat = bool(raw.get("repeat", trigger == "silence"))
    if trigger in ("said", "text"):
        return Turn(trigger, _regex(value, source, f"{where}.{trigger}"), actions=actions, repeat=repeat)
    if trigger == "dtmf":
        digits = str(value)
        if not re.fullmatch(r"[0-9*#A-Da-d]+", digits):
            raise _fail(source, where, f"dtmf must be digits (0-9, *, #, A-D), not {digits!r}")
        return Turn("dtmf", None, digits=digits.upper(), actions=actions, repeat=repeat)
    if trigger == "silence":
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            raise _fail(source, where, "silence is a number of seconds") from None
        if seconds <= 0:
            raise _fail(source, where, "silence must be more than 0 seconds")
        return Turn("silence", None, seconds=seconds, actions=actions, repeat=repeat)
    return Turn("start", None, actions=actions, repeat=False)


def parse_script(raw: object, source: str = "<script>") -> AgentScript:
    """A script from its parsed YAML/JSON; `ScriptError` names `source` and the entry that is wrong."""
    if not isinstance(raw, Mapping):
        raise _fail(source, "top level", "a script is a mapping (name, match, greeting, turns, fallback)")
    unknown = sorted(set(raw) - {"name", "match", "greeting", "turns", "fallback", "description"})
    if unknown:
        raise _fail(source, "top level", f"unknown key(s) {', '.join(unknown)}")
    match = raw.get("match") or {}
    if not isinstance(match, Mapping) or set(match) - set(MATCH_KEYS):
        raise _fail(source, "match", f"match takes {', '.join(MATCH_KEYS)}")
    turns = raw.get("turns") or []
    if not isinstance(turns, list):
        raise _fail(source, "turns", "turns must be a list")
    name = str(raw.get("name") or Path(source).stem)
    return AgentScript(name=name, match={k: str(v) for k, v in match.items()}, greeting=str(raw.get("greeting") or ""),
                       turns=tuple(_turn(t, source, f"turns[{i}]") for i, t in enumerate(turns)),
                       fallback=str(raw.get("fallback") or ""), source=source)


def read_document(path: Path) -> Any:
    """A YAML or JSON file's content (JSON by its `.json` suffix); ValueError says why it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
        return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot read it: {exc}") from None


def load_script(path: Path) -> AgentScript:
    try:
        raw = read_document(path)
    except ValueError as exc:
        raise ScriptError(str(exc)) from None
    return parse_script(raw, str(path))


def load_scripts(paths: Iterable[Path]) -> list[AgentScript]:
    """Every script of the given files and folders (a folder's *.yaml, *.yml, *.json in name order)."""
    scripts: list[AgentScript] = []
    for path in paths:
        files = sorted(p for p in path.iterdir() if p.suffix in SUFFIXES) if path.is_dir() else [path]
        scripts.extend(load_script(f) for f in files)
    return scripts
