"""The registry of emulated Management API methods.

Each module in this package handles one resource family. A handler is registered with
`@method("AddApplication")`, takes `(ctx, params)` and returns the reply body without the
envelope's error part: `{"result": 1, ...}` or `listing(...)`. Handlers stay thin: the logic
lives in the store and the model.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from mock_api.params import Params
from mock_api.services import EmulatorServices
from voxsim.model import Account
from voxsim.store import Store

Reply = dict[str, Any]
Handler = Callable[["Context", Params], Reply | Awaitable[Reply]]


@dataclass
class Context:
    """What a handler may use: the store, the authenticated account, and the emulator's services."""

    store: Store
    account: Account
    remote: str = ""
    services: EmulatorServices | None = None
    """The emulator around the API; None when the methods run alone (tests, `voxsim deploy` in process)."""
    auth: str = "api_key"
    """How the request authenticated: "api_key" or "jwt" (GetAccountInfo shows api_key only for the former)."""


@dataclass
class MethodSpec:
    name: str
    handler: Handler
    notes: str = ""
    """Differences from the platform, for docs/parity.md."""


REGISTRY: dict[str, MethodSpec] = {}
_LOWER: dict[str, str] = {}


def method(name: str, notes: str = "") -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        REGISTRY[name] = MethodSpec(name, handler, inspect.cleandoc(notes) if notes else "")
        _LOWER[name.lower()] = name
        return handler

    return register


def lookup(name: str) -> MethodSpec | None:
    """Method names match case-insensitively (the platform's behaviour is unknown; be lenient)."""
    load_all()
    canonical = _LOWER.get(name.lower())
    return REGISTRY.get(canonical) if canonical else None


_loaded = False


def load_all() -> None:
    global _loaded
    if _loaded:
        return
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")
    _loaded = True


def listing(items: Sequence[dict[str, Any]], total: int, **extra: Any) -> Reply:
    """The list envelope: `result`, `total_count` (all matches before paging), `count` (returned)."""
    return {"result": list(items), "total_count": total, "count": len(items), **extra}


def paged(items: Sequence[Any], params: Params, render: Callable[[Any], dict[str, Any]],
          *, max_count: int | None = None, max_offset: int | None = None, **extra: Any) -> Reply:
    count, offset = params.paging(max_count=max_count, max_offset=max_offset)
    window = list(items)[offset : offset + count]
    return listing([render(item) for item in window], len(items), **extra)


def ok(**extra: Any) -> Reply:
    return {"result": 1, **extra}


class Selection:
    """What a Del* method deletes: exactly one of `<noun>_id` (a `;` list of ids, or `all`) and
    `<noun>_name` (a `;` list of names); neither answers 485, both 486.

    Which one was given is known at once (`by_name`); the list itself is read by `ids()` / `names()`, so a
    method can first resolve what it deletes within (an application) and its errors come in that order.
    """

    def __init__(self, p: Params, noun: str, *, code: int) -> None:
        self._params = p
        self._id_param, self._name_param = f"{noun}_id", f"{noun}_name"
        self._code = code
        self.by_name = p.one_of(self._id_param, self._name_param, required=True) == self._name_param

    def ids(self) -> list[int] | Literal["all"] | None:
        """The ids (invalid ones answer the family's code), `all`, or None when names were given."""
        if self.by_name:
            return None
        return self._params.integers_or_all(self._id_param, required=True, code=self._code)

    def names(self) -> list[str] | None:
        """The names, or None when ids were given."""
        return self._params.texts(self._name_param, required=True) if self.by_name else None

