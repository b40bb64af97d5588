"""`/_voxsim/pstn`: the PSTN simulator's virtual phones, read and changed while voxsim runs (docs/pstn.md).

- `GET` lists the entries in the order callPSTN tries them (the API's, the seed's, the settings'), each with its
  `index`, `source` and `where`, and the `default` phone of a number none matches.
- `POST` adds one entry (the body: an object as a `[[pstn.numbers]]` table), first of all or at `?position=N`
  among the API's entries.
- `PUT` replaces the API's entries with the body's list.
- `DELETE ?index=N` removes the API's entry at that index of the list; `DELETE ?pattern=P` removes the API's
  entries whose pattern is P as written (404 when there is none).

Every change answers the new list and applies to the next callPSTN. A bad entry or parameter is refused whole
with 400 `{"error"}` naming the field, and nothing changes.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from voxsim.pstn.numbers import PstnNumbers, default_json
from voxsim.settings_sources import SettingError

PSTN_PATH = "/_voxsim/pstn"
NUMBERS = web.AppKey("pstn_numbers", PstnNumbers)


def listing(numbers: PstnNumbers) -> dict[str, Any]:
    return {"numbers": [entry.to_json(index) for index, entry in enumerate(numbers.entries())],
            "default": default_json(numbers.default)}


def error_reply(message: str, status: int = 400) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def json_body(request: web.Request) -> Any:
    """The request's JSON; raises SettingError when it is none."""
    text = await request.text()
    try:
        return json.loads(text)
    except ValueError as error:
        raise SettingError(f"body: not JSON ({error})") from None


def whole_number(request: web.Request, name: str, default: int | None = None) -> int | None:
    """A query parameter that must be a whole number; raises SettingError naming it."""
    text = request.query.get(name)
    if text is None:
        return default
    try:
        return int(text)
    except ValueError:
        raise SettingError(f"{name} must be a whole number, not {text!r}") from None


async def get_numbers(request: web.Request) -> web.Response:
    return web.json_response(listing(request.app[NUMBERS]))


async def add_number(request: web.Request) -> web.Response:
    numbers = request.app[NUMBERS]
    try:
        entry = await json_body(request)
        numbers.add(entry, whole_number(request, "position", 0) or 0)
    except SettingError as error:
        return error_reply(str(error))
    return web.json_response(listing(numbers))


async def replace_numbers(request: web.Request) -> web.Response:
    numbers = request.app[NUMBERS]
    try:
        numbers.replace(await json_body(request))
    except SettingError as error:
        return error_reply(str(error))
    return web.json_response(listing(numbers))


async def remove_number(request: web.Request) -> web.Response:
    numbers = request.app[NUMBERS]
    try:
        index = whole_number(request, "index")
        pattern = request.query.get("pattern")
        if (index is None) == (pattern is None):
            raise SettingError("give index (the entry's index in the list) or pattern (the API's entries with it)")
        if index is not None:
            numbers.remove(index)
        elif not numbers.remove_pattern(str(pattern)):
            return error_reply(f"pattern: no entry of the API's has the pattern {pattern!r}", status=404)
    except SettingError as error:
        return error_reply(str(error))
    return web.json_response(listing(numbers))


def add_routes(app: web.Application, numbers: PstnNumbers) -> None:
    app[NUMBERS] = numbers
    app.router.add_get(PSTN_PATH, get_numbers)
    app.router.add_post(PSTN_PATH, add_number)
    app.router.add_put(PSTN_PATH, replace_numbers)
    app.router.add_delete(PSTN_PATH, remove_number)
