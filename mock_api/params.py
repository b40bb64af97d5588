"""Request parameters the way the platform reads them.

Query string, urlencoded and multipart bodies (and a JSON object body) are merged; an empty
string counts as absent; booleans come in every spelling the clients send; lists are
`;`-separated, and some deletes take the literal `all`. Errors name the parameter.

Every accessor with `required=True` raises 485 ("specify") instead of answering None, and its
return type says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Literal, overload

from voxsim.errors import INVALID_PARAMETER, VoxError, invalid, only_one_of, specify
from voxsim.store.db import DATE_FORMAT, TIMESTAMP_FORMAT

TRUE = {"true", "1", "yes", "on"}
FALSE = {"false", "0", "no", "off"}
ALL: Literal["all"] = "all"


class Params:
    def __init__(self, values: Mapping[str, str]) -> None:
        # Empty strings are "not supplied": real clients send them (voxengine-ci does).
        self._values = {k: v for k, v in values.items() if v != ""}

    def __contains__(self, name: str) -> bool:
        return name in self._values

    @overload
    def text(self, name: str, *, required: Literal[True], max_len: int | None = None,
             code: int = INVALID_PARAMETER) -> str: ...
    @overload
    def text(self, name: str, *, required: bool = False, max_len: int | None = None,
             code: int = INVALID_PARAMETER) -> str | None: ...

    def text(self, name: str, *, required: bool = False, max_len: int | None = None,
             code: int = INVALID_PARAMETER) -> str | None:
        value = self._values.get(name)
        if value is None:
            if required:
                raise specify(name)
            return None
        if max_len is not None and len(value) > max_len:
            raise invalid(name, code)
        return value

    @overload
    def integer(self, name: str, *, required: Literal[True], code: int = INVALID_PARAMETER) -> int: ...
    @overload
    def integer(self, name: str, *, required: bool = False, code: int = INVALID_PARAMETER) -> int | None: ...

    def integer(self, name: str, *, required: bool = False, code: int = INVALID_PARAMETER) -> int | None:
        value = self.text(name, required=required)
        if value is None:
            return None
        try:
            return int(value.strip())
        except ValueError as exc:
            raise invalid(name, code) from exc

    @overload
    def flag(self, name: str, default: bool) -> bool: ...
    @overload
    def flag(self, name: str, default: None = None) -> bool | None: ...

    def flag(self, name: str, default: bool | None = None) -> bool | None:
        value = self.text(name)
        if value is None:
            return default
        lowered = value.strip().lower()
        if lowered in TRUE:
            return True
        if lowered in FALSE:
            return False
        raise invalid(name)

    def is_all(self, name: str) -> bool:
        """Whether the parameter is the literal `all` (any case) that some deletes take for a list."""
        value = self._values.get(name)
        return value is not None and value.strip().lower() == ALL

    @overload
    def integers(self, name: str, *, required: Literal[True], code: int = INVALID_PARAMETER) -> list[int]: ...
    @overload
    def integers(self, name: str, *, required: bool = False,
                 code: int = INVALID_PARAMETER) -> list[int] | None: ...

    def integers(self, name: str, *, required: bool = False, code: int = INVALID_PARAMETER) -> list[int] | None:
        items = self.texts(name, required=required)
        if items is None:
            return None
        try:
            return [int(item) for item in items]
        except ValueError as exc:
            raise invalid(name, code) from exc

    @overload
    def integers_or_all(self, name: str, *, required: Literal[True],
                        code: int = INVALID_PARAMETER) -> list[int] | Literal["all"]: ...
    @overload
    def integers_or_all(self, name: str, *, required: bool = False,
                        code: int = INVALID_PARAMETER) -> list[int] | Literal["all"] | None: ...

    def integers_or_all(self, name: str, *, required: bool = False,
                        code: int = INVALID_PARAMETER) -> list[int] | Literal["all"] | None:
        """An id list that may also be the literal `all`."""
        if self.is_all(name):
            return ALL
        return self.integers(name, required=required, code=code)

    @overload
    def texts(self, name: str, *, required: Literal[True]) -> list[str]: ...
    @overload
    def texts(self, name: str, *, required: bool = False) -> list[str] | None: ...

    def texts(self, name: str, *, required: bool = False) -> list[str] | None:
        value = self.text(name, required=required)
        if value is None:
            return None
        items = [item.strip() for item in value.split(";") if item.strip()]
        if not items:
            if required:
                raise specify(name)
            return None
        return items

    def one_of(self, *names: str, required: bool = False) -> str | None:
        """Which of mutually exclusive alternatives (`X_id` / `X_name`) was given."""
        given = [n for n in names if n in self._values]
        if len(given) > 1:
            raise only_one_of(*names)
        if not given:
            if required:
                raise specify(names[0])
            return None
        return given[0]

    def timestamp(self, name: str, *, required: bool = False) -> datetime | None:
        value = self.text(name, required=required)
        if value is None:
            return None
        for fmt in (TIMESTAMP_FORMAT, DATE_FORMAT):
            try:
                return datetime.strptime(value.strip(), fmt)
            except ValueError:
                continue
        raise VoxError(111, "Invalid date format")

    def paging(self, *, default_count: int = 20, max_count: int | None = None,
               max_offset: int | None = None) -> tuple[int, int]:
        given_count = self.integer("count")
        given_offset = self.integer("offset")
        count = default_count if given_count is None else given_count
        offset = 0 if given_offset is None else given_offset
        if count < 0 or (max_count is not None and count > max_count):
            raise invalid("count")
        if offset < 0 or (max_offset is not None and offset > max_offset):
            raise invalid("offset")
        return count, offset
