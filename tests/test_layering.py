"""The layering of docs/architecture.md, kept true: every import of every module is checked (those under
`if TYPE_CHECKING:` and inside functions too).

- `sip_edge` is a SIP library that could be published alone: it imports nothing of voxsim or mock_api.
- The two doors, `voxsim.edge` (SIP) and `mock_api` (HTTP), never import each other.
- The core (`voxsim.model`, `voxsim.store`, `voxsim.routing`, `voxsim.runtime`, `voxsim.session_starter`,
  ...) imports neither door; `voxsim.runtime` reaches calls and the network through the ports it declares
  in `voxsim/runtime/host.py`.
- Only the composition root and what stands on it (`COMPOSITION`) may import everything.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("sip_edge", "voxsim", "mock_api")
DOORS = ("voxsim.edge", "mock_api")
COMPOSITION = frozenset({
    "voxsim.app",  # the composition root
    "voxsim.config",  # the settings of everything, the edge's included
    "voxsim.cli", "voxsim.testing", "voxsim.deploy", "voxsim.calltool",  # stand on the composition root
})


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(source: str, module: str, is_package: bool = False) -> Iterator[str]:
    """Every module name `source` imports (relative imports resolved against `module`)."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def violation(importer: str, imported: str) -> str | None:
    """Why `importer` may not import `imported`, or None when it may."""
    if not any(within(imported, p) for p in PACKAGES) or importer in COMPOSITION:
        return None
    if within(importer, "sip_edge") and not within(imported, "sip_edge"):
        return "the SIP library imports nothing of voxsim or mock_api"
    if within(importer, "voxsim.edge") and within(imported, "mock_api"):
        return "the SIP door does not import the HTTP door"
    if within(importer, "mock_api") and within(imported, "voxsim.edge"):
        return "the HTTP door does not import the SIP door"
    if within(importer, "voxsim") and not within(importer, "voxsim.edge") and any(within(imported, d) for d in DOORS):
        return "the core imports neither door"
    return None


def modules() -> Iterator[tuple[str, Path]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield module_name(path), path


def test_every_import_respects_the_layers() -> None:
    found = []
    for module, path in modules():
        for imported in set(imports_of(path.read_text(encoding="utf-8"), module, path.name == "__init__.py")):
            why = violation(module, imported)
            if why is not None:
                found.append(f"{module} imports {imported}: {why}")
    assert found == []


def test_the_packages_are_all_seen() -> None:
    names = {module for module, _ in modules()}
    assert {"sip_edge.ua", "voxsim.edge.router", "voxsim.runtime.session", "mock_api.app"} <= names


@pytest.mark.parametrize(("importer", "source"), [
    ("sip_edge.ua", "from voxsim.runtime.host import CallLeg"),
    ("sip_edge.transport", "import mock_api.app"),
    ("sip_edge.dialog", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from voxsim.model import User"),
    ("voxsim.runtime.session", "from voxsim.edge.legs import SipLeg"),
    ("voxsim.runtime.dispatch", "def f():\n    from mock_api import sessions_http"),
    ("voxsim.store.users", "from ..edge import server"),
    ("mock_api.sessions_http", "from voxsim.edge.server import SipEdge"),
    ("voxsim.edge.dialer", "from mock_api.callbacks import CallbackSender"),
])
def test_a_forbidden_import_is_caught(importer: str, source: str) -> None:
    assert any(violation(importer, name) for name in imports_of(source, importer))


@pytest.mark.parametrize(("importer", "source"), [
    ("voxsim.edge.legs", "from voxsim.runtime.host import SessionPort"),
    ("voxsim.edge.server", "from sip_edge.ua import UserAgent"),
    ("voxsim.app", "from mock_api.app import build_app\nfrom voxsim.edge.server import SipEdge"),
    ("mock_api.app", "from voxsim.store import Store"),
    ("sip_edge.ua", "from .dialog import Dialog"),
])
def test_an_allowed_import_passes(importer: str, source: str) -> None:
    assert not any(violation(importer, name) for name in imports_of(source, importer))
