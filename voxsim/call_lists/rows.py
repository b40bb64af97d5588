"""A call list's CSV file: its rows in (CreateCallList, AppendToCallList), its tasks out (GetCallListDetails).

The first line names the columns; every further line is one task, whose row (column -> value, as text) is what
the scenario reads with `VoxEngine.customData()`, as JSON. Columns whose names begin with `__` set the task's
schedule (https://voximplant.com/docs/references/httpapi/calllists#createcalllist): `__start_execution_time`
and `__end_execution_time` (the daily window, UTC, `HH:mm:ss`), `__start_at` (the task's first attempt not
before this UNIX time) and `__task_uuid` (up to 40 latin letters, digits, `-` and `:`, unique in the list). They
stay in the row too.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time

from voxsim.errors import VoxError, invalid

INVALID_CSV_FILE = 250
DEFAULT_DELIMITER = ";"
START_EXECUTION_TIME = "__start_execution_time"
END_EXECUTION_TIME = "__end_execution_time"
START_AT = "__start_at"
TASK_UUID = "__task_uuid"
TASK_UUID_FORMAT = re.compile(r"[A-Za-z0-9:-]{1,40}")
TIME_OF_DAY = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?")


@dataclass(frozen=True)
class Row:
    """One task as the file gives it: its row, and the schedule its service columns set."""

    custom_data: str
    """The row as a JSON object of strings, in the file's column order."""
    task_uuid: str | None
    start_at: int
    start_execution_time: str
    end_execution_time: str


def bad_csv(why: str) -> VoxError:
    return VoxError(INVALID_CSV_FILE, f"Invalid CSV file: {why}")


def dialect(delimiter: str | None, quote: str | None, escape: str | None) -> dict[str, object]:
    """csv.reader's options from the methods' `delimiter` (`;` by default), `quote` (`"`) and `escape` (none);
    each must be one character."""
    options: dict[str, object] = {"delimiter": delimiter or DEFAULT_DELIMITER, "quotechar": quote or '"',
                                  "escapechar": escape or None, "strict": True}
    for name, value in (("delimiter", delimiter), ("quote", quote), ("escape", escape)):
        if value is not None and len(value) != 1:
            raise invalid(name)
    return options


def check_encoding(encoding: str | None) -> str:
    """The file's `encoding` (UTF-8 by default) must name a codec Python knows."""
    name = encoding or "utf-8"
    try:
        return codecs.lookup(name).name
    except LookupError as exc:
        raise invalid("encoding") from exc


def parse(text: str, *, delimiter: str | None = None, quote: str | None = None,
          escape: str | None = None) -> list[Row]:
    """The tasks of a CSV file (250 when it is not one: no header, no row, a row longer than the header...)."""
    options = dialect(delimiter, quote, escape)
    try:
        lines = [line for line in csv.reader(io.StringIO(text.lstrip("\ufeff")), **options)  # type: ignore[arg-type]
                 if any(cell.strip() for cell in line)]
    except csv.Error as exc:
        raise bad_csv(str(exc)) from exc
    if not lines:
        raise bad_csv("the file is empty")
    header = [name.strip() for name in lines[0]]
    if any(not name for name in header) or len(set(header)) != len(header):
        raise bad_csv("every column needs a name of its own in the first line")
    if len(lines) < 2:
        raise bad_csv("no task after the first line")
    return [_row(header, cells, number) for number, cells in enumerate(lines[1:], start=2)]


def _row(header: Sequence[str], cells: Sequence[str], number: int) -> Row:
    if len(cells) > len(header):
        raise bad_csv(f"line {number} has {len(cells)} values for {len(header)} columns")
    values = dict(zip(header, [*cells, *[""] * (len(header) - len(cells))], strict=True))
    uuid = values.get(TASK_UUID, "").strip() or None
    if uuid is not None and not TASK_UUID_FORMAT.fullmatch(uuid):
        raise bad_csv(f"line {number}: {TASK_UUID} must be up to 40 latin letters, digits, '-' and ':'")
    try:
        start_at = int(values.get(START_AT, "").strip() or 0)
        window = (time_of_day(values.get(START_EXECUTION_TIME, "")), time_of_day(values.get(END_EXECUTION_TIME, "")))
    except ValueError as exc:
        raise bad_csv(f"line {number}: {exc}") from exc
    return Row(custom_data=json.dumps(values, ensure_ascii=False), task_uuid=uuid, start_at=max(start_at, 0),
               start_execution_time=window[0], end_execution_time=window[1])


def time_of_day(text: str) -> str:
    """`HH:mm:ss` (or `HH:mm`) as `HH:MM:SS`; empty stays empty (no limit). Raises ValueError otherwise."""
    text = text.strip()
    if not text:
        return ""
    match = TIME_OF_DAY.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a time of day (HH:mm:ss)")
    hours, minutes, seconds = match.groups()
    return f"{int(hours):02d}:{minutes}:{seconds or '00'}"


def in_window(now: float, start: str, end: str) -> bool:
    """Whether `now` (UNIX seconds) falls in the daily window [start, end] (UTC). A window whose start is later
    than its end spans midnight (after the start on one day, before the end on the next); a missing bound
    is the start or the end of the day."""
    if not start and not end:
        return True
    moment = datetime.fromtimestamp(now, UTC).time()
    first = time.fromisoformat(start) if start else time.min
    last = time.fromisoformat(end) if end else time.max
    if first <= last:
        return first <= moment <= last
    return moment >= first or moment <= last


def window_opens(now: float, start: str) -> float:
    """When the daily window that begins at `start` next opens after `now` (UNIX seconds)."""
    today = datetime.fromtimestamp(now, UTC)
    first = time.fromisoformat(start or "00:00:00")
    opening = today.replace(hour=first.hour, minute=first.minute, second=first.second, microsecond=0)
    moment = opening.timestamp()
    return moment if moment > now else moment + 86_400


def to_csv(header: Sequence[str], rows: Iterable[Sequence[object]], delimiter: str | None = None) -> str:
    """A CSV file (`;`-separated by default) with `header` as its first line."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter or DEFAULT_DELIMITER, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()
