"""Where a setting's value comes from: a `voxsim up` option, a `VOXSIM_*` environment variable, a TOML file.

The settings are the fields of dataclasses, read from the dataclasses themselves, so a field added to one of
them is at once an option, a variable and a key of the file. A field `name` of section `sip` is:

- the option `--sip-name` (underscores become dashes), listed by `voxsim up --help` with its default;
- the environment variable `VOXSIM_SIP_NAME`;
- the key `name` of the file's table `[sip]` (top-level settings are keys outside any table).

One precedence: option > environment > file > default. Texts (options, variables) are read by the field's
type: booleans as true/false/1/0, a pair of ints as `A-B`, tuples and lists comma-separated; TOML values
may also be given natively (`rtp_ports = [10000, 20000]`). A value that does not fit raises SettingError,
which names the setting and where the value came from.

This module knows dataclasses and argparse only: `voxsim.config` says which dataclasses are settings.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import difflib
import inspect
import json
import textwrap
import tomllib
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["ENV_PREFIX", "Setting", "SettingError", "add_options", "describe", "discover", "field_docs",
           "from_environment", "from_file", "from_options", "parse_text", "parse_toml", "unknown_environment"]

ENV_PREFIX = "VOXSIM_"
TRUE, FALSE = frozenset({"true", "1"}), frozenset({"false", "0"})
MAX_PORT = 65535
NOUNS = {"bool": "true or false", "int": "an integer", "float": "a number", "str": "a string",
         "range": "a range A-B (or [A, B])", "sequence": "a list", "tuple": "a list"}


class SettingError(ValueError):
    """A setting's value that does not fit its type, or a key that is no setting; exit code 2."""


@dataclass(frozen=True)
class Setting:
    """One field of a settings dataclass, as the three sources name it."""

    section: str
    """"" for a top-level field, else the section's name (`sip`, `runtime`, ...)."""
    name: str
    kind: Any
    """The field's type (resolved annotation)."""
    default: Any
    doc: str = ""
    aliases: tuple[str, ...] = ()
    """Older option names that keep working (`--sip-registration-retry`)."""

    @property
    def dotted(self) -> str:
        return f"{self.section}.{self.name}" if self.section else self.name

    @property
    def option(self) -> str:
        return "--" + self.dotted.replace(".", "-").replace("_", "-")

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.dotted.replace(".", "_").upper()

    @property
    def dest(self) -> str:
        return "setting:" + self.dotted

    def file_key(self) -> str:
        return f"[{self.section}] {self.name}" if self.section else self.name


def discover(root: type, sections: Mapping[str, type], aliases: Mapping[str, Iterable[str]] | None = None,
             ) -> list[Setting]:
    """The settings of `root`'s fields, its fields named in `sections` replaced by the fields of the dataclass
    given there. Raises ValueError when two settings would share an option or a variable."""
    found = list(_fields_of(root, "", skip=set(sections), aliases=aliases or {}))
    for section, cls in sections.items():
        found.extend(_fields_of(cls, section, skip=set(), aliases=aliases or {}))
    for attribute in ("option", "env"):
        seen: dict[str, str] = {}
        for setting in found:
            key = getattr(setting, attribute)
            if key in seen:
                raise ValueError(f"settings {seen[key]} and {setting.dotted} would both be {key}")
            seen[key] = setting.dotted
    return found


def _fields_of(cls: type, section: str, skip: set[str], aliases: Mapping[str, Iterable[str]]) -> Iterable[Setting]:
    hints = typing.get_type_hints(cls)
    docs = field_docs(cls)
    for f in dataclasses.fields(cls):
        if f.name in skip or not f.init:
            continue
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[operator]
        dotted = f"{section}.{f.name}" if section else f.name
        yield Setting(section, f.name, hints[f.name], default, docs.get(f.name, ""), tuple(aliases.get(dotted, ())))


def field_docs(cls: type) -> dict[str, str]:
    """The first sentence of each field's docstring (the string after it) or, failing that, of the comment
    lines right above it: the dataclasses document their fields either way."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return {}
    lines = source.splitlines()
    body = ast.parse(source).body[0]
    assert isinstance(body, ast.ClassDef)
    docs: dict[str, str] = {}
    for node, after in zip(body.body, [*body.body[1:], None], strict=True):
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        if isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant) and isinstance(after.value.value, str):
            text = after.value.value
        else:
            text = " ".join(_comments_above(lines, node.lineno - 1))
        docs[node.target.id] = _first_sentence(" ".join(text.split()))
    return docs


def _comments_above(lines: list[str], index: int) -> list[str]:
    found: list[str] = []
    while index > 0 and lines[index - 1].strip().startswith("#"):
        index -= 1
        found.insert(0, lines[index].strip().lstrip("#").strip())
    return found


def _first_sentence(text: str) -> str:
    end = text.find(". ")
    return text if end < 0 else text[: end + 1]


# -- reading values ------------------------------------------------------------------------------------

def parse_text(setting: Setting, text: str, source: str) -> Any:
    """The value of an option's or a variable's text, read by the setting's type."""
    try:
        return _from_text(setting.kind, text, setting.name)
    except ValueError as error:
        raise SettingError(f"bad value for {setting.dotted} ({source}): {error}") from None


def parse_toml(setting: Setting, value: Any, source: str) -> Any:
    """The value of a TOML key: native TOML values, or the same texts options take."""
    try:
        if isinstance(value, str) and _kind_name(setting.kind) != "str":
            return _from_text(setting.kind, value, setting.name)
        return _from_native(setting.kind, value, setting.name)
    except ValueError as error:
        raise SettingError(f"bad value for {setting.dotted} ({source}): {error}") from None


def _kind_name(kind: Any) -> str:
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if kind in (bool, int, float, str):
        return str(kind.__name__)
    if origin is tuple and args == (int, int):
        return "range"
    if (origin is tuple and len(args) == 2 and args[1] is Ellipsis) or origin is list:
        return "sequence"
    if origin is tuple:
        return "tuple"
    if origin in (typing.Union, types.UnionType) and type(None) in args and len(args) == 2:
        return "optional"
    return "json"


def _items_kind(kind: Any) -> list[Any]:
    """The element types of a sequence (one, repeated) or a fixed tuple (one each)."""
    args = typing.get_args(kind)
    return [args[0]] if len(args) == 1 or (len(args) == 2 and args[1] is Ellipsis) else list(args)


def _from_text(kind: Any, text: str, name: str) -> Any:
    shape = _kind_name(kind)
    if shape == "bool":
        word = text.strip().lower()
        if word not in TRUE | FALSE:
            raise ValueError(f"{text!r} is not true, false, 1 or 0")
        return word in TRUE
    if shape in ("int", "float"):
        try:
            number = int(text) if shape == "int" else float(text)
        except ValueError:
            raise ValueError(f"{text!r} is not {'an integer' if shape == 'int' else 'a number'}") from None
        return _checked_port(number, name)
    if shape == "str":
        return text
    if shape == "range":
        low, sep, high = text.strip().partition("-")
        try:
            pair = (int(low), int(high)) if sep else None
        except ValueError:
            pair = None
        if pair is None:
            raise ValueError(f"{text!r} is not a range A-B of two integers")
        return _checked_range(pair)
    if shape in ("sequence", "tuple"):
        parts = [part.strip() for part in text.split(",")] if text.strip() else []
        return _sequence(kind, [_from_text(k, p, name) for k, p in zip(_kinds_for(kind, len(parts)), parts,
                                                                           strict=True)])
    if shape == "optional":
        return None if not text.strip() else _from_text(typing.get_args(kind)[0], text, name)
    try:
        return json.loads(text)
    except ValueError:
        raise ValueError(f"{text!r} is not JSON") from None


def _from_native(kind: Any, value: Any, name: str) -> Any:
    shape = _kind_name(kind)
    if shape in ("bool", "str") and isinstance(value, kind):
        return value
    if shape == "int" and isinstance(value, int) and not isinstance(value, bool):
        return _checked_port(value, name)
    if shape == "float" and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if shape in ("range", "sequence", "tuple") and isinstance(value, list):
        items = [_from_native(k, v, name) for k, v in zip(_kinds_for(kind, len(value)), value, strict=True)]
        return _checked_range(tuple(items)) if shape == "range" else _sequence(kind, items)
    if shape == "optional":
        return _from_native(typing.get_args(kind)[0], value, name)
    if shape == "json":
        return value
    raise ValueError(f"{value!r} is not {NOUNS.get(shape, 'a ' + shape)}")


def _kinds_for(kind: Any, count: int) -> list[Any]:
    kinds = _items_kind(kind)
    if len(kinds) == 1:
        return kinds * count
    if len(kinds) != count:
        raise ValueError(f"{count} value(s) given, {len(kinds)} expected")
    return kinds


def _sequence(kind: Any, items: list[Any]) -> Any:
    return items if typing.get_origin(kind) is list else tuple(items)


def _checked_port(number: int | float, name: str) -> int | float:
    if name.endswith("port") and not 0 <= number <= MAX_PORT:
        raise ValueError(f"{number} is not a port (0-{MAX_PORT})")
    return number


def _checked_range(pair: tuple[Any, ...]) -> tuple[int, int]:
    if len(pair) != 2 or not all(isinstance(v, int) for v in pair):
        raise ValueError(f"{pair!r} is not a range of two integers")
    low, high = pair
    if not 0 <= low <= high <= MAX_PORT:
        raise ValueError(f"{low}-{high} is not a range of ports with A <= B (0-{MAX_PORT})")
    return low, high


# -- showing them --------------------------------------------------------------------------------------

def describe(value: Any) -> str:
    """A value written as its option would take it (the defaults in --help)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return f"{value[0]}-{value[1]}"
    if isinstance(value, list | tuple):
        return ",".join(describe(v) for v in value) or '""'
    if value == "":
        return '""'
    if value is None:
        return '"" (none)'
    return str(value)


def _metavar(kind: Any) -> str:
    shape = _kind_name(kind)
    return {"bool": "BOOL", "int": "INT", "float": "NUMBER", "str": "TEXT", "range": "A-B",
            "sequence": "A,B,...", "tuple": "A,B,...", "json": "JSON"}.get(shape) or _metavar(typing.get_args(kind)[0])


# -- the three sources ---------------------------------------------------------------------------------

def add_options(parser: argparse.ArgumentParser, settings: Iterable[Setting],
                titles: Mapping[str, str] | None = None) -> None:
    """One option per setting, grouped by section (`titles[section]` heads each group). An option not given
    is absent from the parsed namespace, so that the environment and the file may still set it."""
    groups: dict[str, Any] = {}
    for setting in settings:
        if setting.section not in groups:
            title = (titles or {}).get(setting.section) or (f"[{setting.section}]" if setting.section else "settings")
            groups[setting.section] = parser.add_argument_group(title)
        help_text = f"{setting.doc} (default {describe(setting.default)}; {setting.env})".strip()
        extra: dict[str, Any] = {"nargs": "?", "const": "true"} if setting.kind is bool else {}
        groups[setting.section].add_argument(
            setting.option, *setting.aliases, dest=setting.dest, default=argparse.SUPPRESS,
            metavar=_metavar(setting.kind), help=help_text.replace("%", "%%"), **extra)


def from_options(namespace: argparse.Namespace, settings: Iterable[Setting]) -> dict[str, Any]:
    """{dotted name: value} of the options given on the command line."""
    given = vars(namespace)
    return {s.dotted: parse_text(s, given[s.dest], f"option {s.option}") for s in settings if s.dest in given}


def from_environment(environ: Mapping[str, str], settings: Iterable[Setting]) -> dict[str, Any]:
    """{dotted name: value} of the `VOXSIM_*` variables that are set."""
    return {s.dotted: parse_text(s, environ[s.env], f"environment {s.env}") for s in settings if s.env in environ}


def unknown_environment(environ: Mapping[str, str], settings: Iterable[Setting], others: Iterable[str] = (),
                        ) -> list[str]:
    """`VOXSIM_*` variables that name no setting (likely typos: they are reported, not refused)."""
    known = {s.env for s in settings} | set(others)
    return sorted(name for name in environ if name.startswith(ENV_PREFIX) and name not in known)


def from_file(path: Path, settings: Iterable[Setting]) -> dict[str, Any]:
    """{dotted name: value} of a TOML file: top-level keys, and one table per section."""
    try:
        with path.open("rb") as file:
            document = tomllib.load(file)
    except OSError as error:
        raise SettingError(f"cannot read the config file {path}: {error.strerror or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise SettingError(f"{path} is not valid TOML: {error}") from None
    by_key = {(s.section, s.name): s for s in settings}
    sections = {s.section for s in by_key.values() if s.section}
    values: dict[str, Any] = {}
    for key, value in document.items():
        if key in sections:
            if not isinstance(value, dict):
                raise SettingError(f"{path}: {key} is a table of settings ([{key}]), not a value")
            for name, item in value.items():
                values.update(_file_value(path, by_key, key, name, item))
        else:
            values.update(_file_value(path, by_key, "", key, value))
    return values


def _file_value(path: Path, by_key: Mapping[tuple[str, str], Setting], section: str, name: str, value: Any,
                ) -> dict[str, Any]:
    setting = by_key.get((section, name))
    if setting is None:
        where = f"[{section}] {name}" if section else name
        names = [n for s, n in by_key if s == section]
        close = difflib.get_close_matches(name, names, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise SettingError(f"{path}: {where} is not a setting{hint}")
    return {setting.dotted: parse_toml(setting, value, f"{path}: {setting.file_key()}")}
