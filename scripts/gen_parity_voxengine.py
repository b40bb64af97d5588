#!/usr/bin/env python3
"""Generate docs/parity-voxengine.md: every name of the official VoxEngine typings and what voxsim does with it.

Two inputs. The names come from the typings (`voxengine.d.ts`), kept in the repository as an inventory,
scripts/voxengine_names.txt (one `kind path [= value]` a line), so that the check needs nothing outside it;
`--typings PATH` rebuilds the inventory from a typings file. The status comes from PROBING the real shim in
mini-racer (voxengine.js and every file of voxsim/runtime/shim/, after requiring every module): a name that is
absent is "missing", one whose use throws "... is not emulated by voxsim" is "not emulated", anything else is
"emulated" unless NOTES calls it "simulated" or "not emulated" (what only Python knows: a command that merely
logs a line). So the table follows the shim as work lands.

Usage: `python scripts/gen_parity_voxengine.py [--typings voxengine.d.ts]` rewrites the file; `--check` only says
whether it is stale. tests/test_parity_voxengine.py runs the check.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from py_mini_racer import MiniRacer  # noqa: E402

from voxsim.runtime.bridge import SHIM_SOURCE  # noqa: E402

OUTPUT = ROOT / "docs" / "parity-voxengine.md"
INVENTORY = ROOT / "scripts" / "voxengine_names.txt"
KINDS = ("namespace", "class", "method", "property", "function", "const", "enum", "member")
PROBE_TIMEOUT_MS = 20_000

# ---------------------------------------------------------------- the typings


@dataclass
class Item:
    """One declared name: `path` is dotted from the global scope; `Class#name` is an instance member."""

    kind: str
    path: str
    members: dict[str, str | int | float | None] = field(default_factory=dict)  # an enum's, with typed values


def _strip_comments(text: str) -> str:
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
            out.append(" ")
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text[i] in "'\"`":
            j = i + 1
            while j < n and text[j] != text[i]:
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


_TOKEN = re.compile(r"""\s*(?:('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|`[^`]*`)"""  # a string
                    r"""|([A-Za-z_$][\w$]*)|(-?\d[\w.]*)|(=>|\.\.\.|\S))""")  # a word, a number, punctuation
_OPEN, _CLOSE = "({[", ")}]"
_MODIFIERS = {"static", "readonly", "private", "protected", "public", "abstract", "async"}


def _tokens(text: str) -> list[str]:
    out, pos = [], 0
    while (m := _TOKEN.match(text, pos)) and m.end() > pos:
        pos = m.end()
        out.append(next(g for g in m.groups() if g is not None))
    return out


def _skip_statement(t: list[str], i: int) -> int:
    """Past the `;` that ends this statement (or up to the `}` that closes its block)."""
    depth = 0
    while i < len(t):
        if t[i] in _OPEN:
            depth += 1
        elif t[i] in _CLOSE:
            if depth == 0:
                return i
            depth -= 1
        elif t[i] == ";" and depth == 0:
            return i + 1
        i += 1
    return i


def _skip_block(t: list[str], i: int) -> int:
    depth = 0
    while i < len(t):
        if t[i] in _OPEN:
            depth += 1
        elif t[i] in _CLOSE:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return i


def _literal(token: str) -> str | int | float:
    if token[0] in "'\"":
        return str(json.loads('"' + token[1:-1].replace('"', '\\"') + '"'))
    try:
        return int(token)
    except ValueError:
        return float(token)


class _Walker:
    def __init__(self, t: list[str]) -> None:
        self.t = t
        self.items: dict[str, Item] = {}

    def add(self, kind: str, path: str) -> Item:
        return self.items.setdefault(path, Item(kind, path))

    def scope(self, i: int, prefix: str) -> int:
        t = self.t
        while i < len(t):
            word = t[i]
            if word == "}":
                return i + 1
            if word in ("declare", "export", "default", ";"):
                i += 1
            elif word in ("namespace", "module"):
                j, name = i + 1, t[i + 1]
                while t[j + 1] == ".":
                    j += 2
                    name += "." + t[j]
                self.add("namespace", prefix + name)
                i = self.scope(j + 2, prefix + name + ".")
            elif word == "class":
                self.add("class", prefix + t[i + 1])
                j = i + 2
                while t[j] != "{":
                    j += 1
                i = self.klass(j + 1, prefix + t[i + 1])
            elif word == "enum":
                i = self.enum(i + 3, self.add("enum", prefix + t[i + 1]))
            elif word == "interface":
                while t[i] != "{":
                    i += 1
                i = _skip_block(t, i)
            elif word == "type":
                i = _skip_statement(t, i)
            elif word in ("function", "const", "let", "var"):
                self.add("function" if word == "function" else "const", prefix + t[i + 1])
                i = _skip_statement(t, i)
            else:
                raise SyntaxError(f"unexpected {' '.join(t[i:i + 6])!r} in {prefix or 'the global scope'}")
        return i

    def enum(self, i: int, item: Item) -> int:
        t = self.t
        while t[i] != "}":
            name, i = t[i].strip("'\""), i + 1
            value: str | int | float | None = None
            if t[i] == "=":
                value, i = _literal(t[i + 1]), i + 2
            item.members[name] = value
            if t[i] == ",":
                i += 1
        return i + 1

    def klass(self, i: int, path: str) -> int:
        t = self.t
        while t[i] != "}":
            if t[i] == ";":
                i += 1
                continue
            static = False
            while t[i] in _MODIFIERS and t[i + 1] not in "(:?<":
                static = static or t[i] == "static"
                i += 1
            kind = "property"
            if t[i] in ("get", "set") and t[i + 1] not in "(:?<":
                i += 1
            elif t[i] != "constructor":
                after = t[i + 2] if t[i + 1] == "?" else t[i + 1]
                kind = "method" if after in ("(", "<") else "property"
            if t[i] != "constructor":
                self.add(kind, path + ("." if static else "#") + t[i])
            i = _skip_statement(t, i)
        return i + 1


def parse_typings(text: str) -> list[Item]:
    walker = _Walker(_tokens(_strip_comments(text)))
    walker.scope(0, "")
    return list(walker.items.values())


def write_inventory(items: list[Item]) -> str:
    lines = ["# The names of the official VoxEngine typings (voxengine.d.ts), one `kind path [= value]` a line;",
             "# written by `python scripts/gen_parity_voxengine.py --typings voxengine.d.ts`."]
    for item in items:
        lines.append(f"{item.kind} {item.path}")
        for name, value in item.members.items():
            lines.append(f"member {item.path}.{name}" + ("" if value is None else f" = {json.dumps(value)}"))
    return "\n".join(lines) + "\n"


def read_inventory(text: str) -> list[Item]:
    items: list[Item] = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        kind, _, rest = line.partition(" ")
        if kind == "member":
            path, _, value = rest.partition(" = ")
            items[-1].members[path.rsplit(".", 1)[1]] = json.loads(value) if value else None
        else:
            items.append(Item(kind, rest))
    return items


# ---------------------------------------------------------------- the probe

PROBE_JS = r"""
(function (items) {
  for (const key of Object.values(Modules)) { try { require(key); } catch (e) { /* a require that throws */ } }
  const NOT = 'is not emulated by voxsim';
  const instances = new Map();
  const out = {};
  globalThis.__probeAsync = [];
  const verdict = (e) => (e && String(e.message || e).includes(NOT)) ? ['not emulated', String(e.message)] : null;
  function instanceOf(Ctor) {
    if (!instances.has(Ctor)) {
      let made = null;
      try { made = new Ctor(); } catch (e) { made = null; }
      instances.set(Ctor, made);
    }
    return instances.get(Ctor);
  }
  // The value at `path` and the object it belongs to; throws what the shim throws on the way.
  function resolve(path) {
    const hash = path.indexOf('#');
    const owner = hash < 0 ? path : path.slice(0, hash);
    const parts = owner.split('.');
    let holder = globalThis;
    let value = globalThis;
    for (const part of parts) {
      if (value === undefined || value === null) return { missing: true };
      holder = value;
      value = value[part];  // a not-emulated proxy throws here
      if (value === undefined && !(part in Object(holder))) return { missing: true };
    }
    if (hash < 0) return { value: value, holder: holder };
    const name = path.slice(hash + 1);
    const made = typeof value === 'function' ? instanceOf(value) : null;
    if (made && name in made) return { value: made[name], holder: made };
    const proto = value && value.prototype;
    if (proto && name in proto) return { value: proto[name], holder: made || proto };
    return { missing: true };
  }
  function use(kind, found) {
    const v = found.value;
    if (kind === 'function' || kind === 'method') {
      if (typeof v !== 'function') return ['missing', 'not a function'];
      const r = v.call(found.holder);
      if (r && typeof r.then === 'function') {
        const slot = globalThis.__probeAsync.length;
        globalThis.__probeAsync.push(null);
        r.then(() => {}, (e) => { globalThis.__probeAsync[slot] = verdict(e); });
        return ['async', slot];
      }
    } else if (kind === 'class') {
      if (typeof v !== 'function') return ['missing', 'not a class'];
      new v();
    } else if (kind === 'enum') {
      const missing = [];
      const differ = [];
      for (const [name, typed] of Object.entries(found.members)) {
        if (!(name in Object(v))) missing.push(name);
        else if (typed !== null && v[name] !== typed) differ.push(name);
      }
      return ['enum', missing, differ];
    } else if (typeof v === 'function') {
      void v.prototype;  // a namespace proxy throws here
    }
    return ['emulated'];
  }
  for (const [kind, path, members] of items) {
    try {
      const found = resolve(path);
      if (found.missing) { out[path] = ['missing']; continue; }
      found.members = members;
      out[path] = use(kind, found);
    } catch (e) {
      out[path] = verdict(e) || ['emulated'];
    }
  }
  __vox.drain();
  return JSON.stringify(out);
})
"""


def probe(items: list[Item]) -> dict[str, tuple[str, str]]:
    """Each item's (status, detail) in a fresh isolate running the shim."""
    ctx = MiniRacer()
    try:
        ctx.eval(SHIM_SOURCE)
        ctx.eval("__vox.init({limits: {idPrefix: 'probe-'}, customData: ''})")
        wire = json.dumps([[i.kind, i.path, i.members] for i in items if i.kind != "const" or _probe_const(i)])
        raw = json.loads(str(ctx.eval(f"{PROBE_JS}({wire})", timeout=PROBE_TIMEOUT_MS)))
        late = json.loads(str(ctx.eval("JSON.stringify(globalThis.__probeAsync)", timeout=PROBE_TIMEOUT_MS)))
    finally:
        ctx.close()
    out: dict[str, tuple[str, str]] = {}
    for path, answer in raw.items():
        out[path] = _status(answer, late)
    return out


def _probe_const(item: Item) -> bool:
    return not item.path.startswith("VoiceList.")  # thousands of opaque voices: one row per vendor instead


def _status(answer: list[object], late: list[object]) -> tuple[str, str]:
    kind = answer[0]
    if kind == "async":
        rejected = late[int(str(answer[1]))]
        return ("not emulated", str(rejected[1])) if isinstance(rejected, list) else ("emulated", "")
    if kind == "enum":
        missing, differ = answer[1], answer[2]
        assert isinstance(missing, list) and isinstance(differ, list)
        if missing:
            return "missing", "members missing: " + ", ".join(map(str, missing[:8])) + (" ..." if len(missing) > 8
                                                                                          else "")
        if differ:
            return "emulated", "values differ from the typings: " + ", ".join(map(str, differ))
        return "emulated", ""
    return str(kind), str(answer[1]) if len(answer) > 1 else ""


# ---------------------------------------------------------------- notes: what only Python knows

SIMULATED, NOT_EMULATED = "simulated", "not emulated"

NOTES: dict[str, tuple[str | None, str]] = {
    "VoxEngine.callPSTN": (SIMULATED, "the built-in PSTN simulator's virtual phones (docs/pstn.md), or a configured "
                                      "SIP gateway"),
    "VoxEngine.createASR": (SIMULATED, "recognises the exact text a simulated caller said; voice activity otherwise"),
    "VoxEngine.callUserDirect": (None, "behaves like callUser"),
    "VoxEngine.createTTSPlayer": (None, "espeak-ng speaks every voice"),
    "Call#say": (None, "espeak-ng speaks every voice"),
    "Call#reInvite": (NOT_EMULATED, "the command only logs a line"),
    "Call#acceptReInvite": (NOT_EMULATED, "the command only logs a line"),
    "Call#rejectReInvite": (NOT_EMULATED, "the command only logs a line"),
    "Call#handleMicStatus": (NOT_EMULATED, "the command only logs a line"),
    "Call#enableBeepDetection": (NOT_EMULATED, "the command only logs a line"),
    "Call#disableBeepDetection": (NOT_EMULATED, "the command only logs a line"),
    "Call#transferTo": (None, "REFER on SIP calls; a simulated caller's succeeds at once"),
    "CallEvents": (None, "fired: Connected, Disconnected, Failed, Ringing, AudioStarted, ToneReceived, "
                         "PlaybackStarted, PlaybackFinished, MessageReceived, InfoReceived, RecordStarted, "
                         "RecordStopped, OnHold, OffHold, TransferComplete, TransferFailed, BlindTransferRequested; "
                         "the others are defined and never fire"),
    "WebSocketAudioEncoding": (None, "OPUS is not emulated"),
    "Net.sendMail": (SIMULATED, "kept in the local mailbox (GET /_voxsim/mail), relayed to an SMTP server when one "
                                "is configured"),
    "Net.sendMailAsync": (SIMULATED, "as Net.sendMail"),
    "VoiceList": (None, "voices are opaque values; any path works"),
    "VoximplantAPI.Client": (None, "calls this emulator's Management API as the session's account, while a "
                                   "service-account key is bound to the rule (bind_key_id); camelCase both ways"),
    "Crypto.md5": (None, "lowercase hex of the UTF-8 bytes (or of bytes, or of strings hashed as one)"),
    "RecorderProfile": (None, "recordings are audio only: video parameters are accepted and ignored"),
}


# ---------------------------------------------------------------- the table

HEADER = """\
# VoxEngine parity

<!-- Generated by scripts/gen_parity_voxengine.py; do not edit by hand. Run `python scripts/gen_parity_voxengine.py`
     after changing what the shim defines (tests/test_parity_voxengine.py fails while this is stale). -->

Every name of the official VoxEngine typings (`voxengine.d.ts`): namespaces, classes with their methods and
properties, functions, enums, globals. The status is probed in the real shim (voxsim/runtime/voxengine.js and the
files of voxsim/runtime/shim/, every module required): **emulated** works as the platform's; **simulated** works
against something voxsim simulates (the PSTN, a caller's speech, a mailbox); **not emulated** throws
`"<Name> is not emulated by voxsim"` when a scenario uses it (never a ReferenceError), or only logs a line;
**missing** is absent from the shim (a ReferenceError: a bug to fix). Enum rows count the members; their values
are the typings'. The `VoiceList` voices are counted per vendor. The Management API has its own table,
[parity.md](parity.md).
"""


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _rows(items: list[Item], found: dict[str, tuple[str, str]]) -> Iterator[tuple[str, str, str, str]]:
    voices: dict[str, int] = {}
    for item in items:
        if item.kind == "const" and not _probe_const(item):
            vendor = item.path.rsplit(".", 1)[0]
            voices[vendor] = voices.get(vendor, 0) + 1
            continue
        status, detail = found.get(item.path, ("missing", ""))
        override, note = NOTES.get(item.path, (None, ""))
        if override is not None and status == "emulated":
            status = override
        if item.kind == "enum":
            count = f"{len(item.members)} members"
            note = f"{count}; {note}" if note else count
        if detail and status != "not emulated":
            note = f"{note}; {detail}" if note else detail
        kind = item.kind if item.kind != "namespace" or item.path not in voices else "namespace"
        yield item.path, kind, status, note
    for vendor, count in voices.items():
        yield vendor + ".*", "voices", "emulated", f"{count} voices; opaque values, spoken by espeak-ng"


def render(items: list[Item]) -> str:
    rows = list(_rows(items, probe(items)))
    counts: dict[str, int] = {}
    for _, _, status, _ in rows:
        counts[status] = counts.get(status, 0) + 1
    summary = ", ".join(f"{counts[s]} {s}" for s in ("emulated", "simulated", "not emulated", "missing")
                        if s in counts)
    lines = [HEADER, f"{len(rows)} items: {summary}.", "", "| Name | Kind | voxsim | Notes |", "|---|---|---|---|"]
    lines += [f"| `{path}` | {kind} | {status} | {_cell(note)} |" for path, kind, status, note in rows]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    if "--typings" in argv:
        typings = Path(argv[argv.index("--typings") + 1])
        INVENTORY.write_text(write_inventory(parse_typings(typings.read_text(encoding="utf-8"))), encoding="utf-8")
        print(f"wrote {INVENTORY.relative_to(ROOT)}")
    text = render(read_inventory(INVENTORY.read_text(encoding="utf-8")))
    if "--check" in argv:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if current != text:
            print(f"{OUTPUT.relative_to(ROOT)} is stale: run python scripts/gen_parity_voxengine.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
