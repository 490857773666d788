"""Read a runbook's front matter, and change one key of it keeping the rest as written.

Front matter is YAML between ``---`` and ``---`` (or ``...``), or TOML between ``+++`` and
``+++`` (Hugo's form), before the title. Reading it is linear in time and memory on any
input (DESIGN.md §4): the block is capped at ``MAX_FRONT_MATTER_CHARS``; YAML is first
scanned as a stream of parser events (PyYAML's parser is an iterative state machine), which
refuses anchors and aliases (the "billion laughs" bomb) and nesting deeper than
``MAX_DEPTH`` before the recursive composer ever sees it; TOML is scanned for bracket depth
before ``tomllib`` (recursive on nested arrays) reads it. Every key and string value is
checked for NUL and lone surrogates, and every problem names its line in the file.

Markdown stays the source of truth: when an editor confirms cause links in the link
editor, they are written into the text's ``cause_links:`` front matter, so the text alone
rebuilds the same runbook. Pure: no ORM.
"""

from __future__ import annotations

import datetime
import math
import re
import string
import tomllib
from dataclasses import dataclass, field
from typing import Any

import yaml

from kb.parse_errors import RunbookParseError
from kb.text_checks import text_problem

FENCE = "---"
YAML_ENDS = ("---", "...")
TOML_FENCE = "+++"
MAX_FRONT_MATTER_CHARS = 64 * 1024
MAX_DEPTH = 20  # nested mappings/lists; front matter is a handful of keys, rarely 3 deep

# libyaml's parser when PyYAML was built with it (the wheels are): the same safe
# constructor, ten times faster than the pure-Python scanner on a full 64 KB block.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# Characters YAML does not allow in a stream (YAML 1.1 §5.1), found before the parser.
_NOT_YAML = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

YAML = "yaml"
TOML = "toml"


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class FrontMatter:
    """A runbook's front matter.

    ``data``: every key, values JSON-safe (dates and other scalars as strings; lists and
    mappings as lists and dicts with string keys). ``body_start``: 0-based index of the first
    line after the closing fence (0 without front matter). ``kind``: ``"yaml"``, ``"toml"`` or
    ``""``. ``key_lines``: each top-level key → its 1-based line in the file.
    """

    data: dict[str, Any]
    body_start: int
    kind: str = ""
    key_lines: dict[str, int] = field(default_factory=dict, compare=False)

    def line_of(self, key: str, default: int = 1) -> int:
        """The file line of top-level ``key``, or ``default``."""
        return self.key_lines.get(key, default)


@dataclass(frozen=True)
class _Block:
    kind: str
    first: int  # 0-based index of the opening fence
    end: int  # 0-based index of the closing fence
    lines: list[str]

    @property
    def offset(self) -> int:
        """The 1-based file line of the block's first line."""
        return self.first + 2


def _find_block(lines: list[str]) -> _Block | None:
    """The front matter block, None without one. Refuses an unclosed or oversized one."""
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return None
    fence = lines[first].strip()
    if fence == FENCE:
        kind, ends = YAML, YAML_ENDS
    elif fence == TOML_FENCE:
        kind, ends = TOML, (TOML_FENCE,)
    else:
        return None
    size = 0
    for end in range(first + 1, len(lines)):
        if lines[end].strip() in ends:
            return _Block(kind, first, end, lines[first + 1 : end])
        size += len(lines[end]) + 1
        if size > MAX_FRONT_MATTER_CHARS:
            raise RunbookParseError(
                f"front matter is over the {MAX_FRONT_MATTER_CHARS // 1024} KB limit "
                f"(is its closing '{ends[0]}' missing?); keep long text in the body",
                first + 1,
            )
    raise RunbookParseError(f"front matter opened with '{fence}' is never closed", first + 1)


def read_front_matter(lines: list[str]) -> FrontMatter:
    """Lines of a runbook (BOM stripped, ``\\n`` endings) → its FrontMatter.

    Raises RunbookParseError naming the file line of the problem: unclosed or over the size
    limit, not valid YAML/TOML, not a mapping, a YAML anchor or alias, nesting deeper than
    ``MAX_DEPTH``, a duplicate key, a NUL or a lone surrogate in any key or value.
    """
    block = _find_block(lines)
    if block is None:
        return FrontMatter({}, 0)
    if block.kind == YAML:
        data, key_lines = _read_yaml(block)
    else:
        data, key_lines = _read_toml(block)
    clean = {}
    for key, value in data.items():
        line = key_lines.get(str(key), block.offset)
        clean[_text(str(key), "front matter key", line)] = _json_safe(value, line, 1)
    return FrontMatter(clean, block.end + 1, block.kind, {str(k): v for k, v in key_lines.items()})


def _text(value: str, what: str, line: int) -> str:
    problem = text_problem(value)
    if problem:
        raise RunbookParseError(f"{what} {problem}", line)
    return value


def _json_safe(value: Any, line: int, depth: int) -> Any:
    """Loaded YAML/TOML → JSON-safe values, checking every string (both databases store
    the result as JSON: PostgreSQL's jsonb refuses NUL, and NaN or Infinity are not JSON)."""
    if depth > MAX_DEPTH:
        raise RunbookParseError(f"front matter is nested more than {MAX_DEPTH} levels deep", line)
    if isinstance(value, str):
        return _text(value, "front matter value", line)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**63 else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {
            _text(str(k), "front matter key", line): _json_safe(v, line, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_json_safe(v, line, depth + 1) for v in value]
    if isinstance(value, set | frozenset):
        return [_json_safe(v, line, depth + 1) for v in sorted(value, key=str)]
    if isinstance(value, datetime.date | datetime.time):
        return str(value)  # as the first importer stored them: "2024-05-01"
    return _text(str(value), "front matter value", line)


# --------------------------------------------------------------------------- YAML


def _short(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:40] + "…")


def _scan_yaml(raw: str, offset: int) -> dict[str, int]:
    """Walk the parser's events (linear, nothing composed): refuse anchors, aliases, deep
    nesting, duplicate keys and bad text. Returns each top-level key's file line."""
    key_lines: dict[str, int] = {}
    # One entry per open collection: [is a mapping, next node is a key, {key: line}].
    stack: list[list[Any]] = []
    top_key = ""
    for event in yaml.parse(raw, Loader=_LOADER):
        line = offset + event.start_mark.line
        if isinstance(event, yaml.AliasEvent):
            raise RunbookParseError(
                f"front matter uses the YAML alias *{event.anchor}; aliases and anchors are "
                "not allowed, write the value out",
                line,
            )
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            raise RunbookParseError(
                f"front matter uses the YAML anchor &{anchor}; anchors and aliases are "
                "not allowed, write the value out",
                line,
            )
        if isinstance(event, yaml.CollectionEndEvent):
            stack.pop()
            continue
        if not isinstance(event, yaml.NodeEvent):
            continue  # stream and document events
        is_key = False
        if stack and stack[-1][0]:
            is_key = stack[-1][1]
            stack[-1][1] = not is_key
        if isinstance(event, yaml.ScalarEvent):
            where = f"key {_short(event.value)}" if is_key else "value"
            if not is_key and top_key:
                where = f"value of {_short(top_key)}"
            problem = text_problem(event.value)
            if problem:
                raise RunbookParseError(f"front matter {where} {problem}", line)
            if is_key:
                seen = stack[-1][2]
                if event.value in seen:
                    raise RunbookParseError(
                        f"front matter key {_short(event.value)} is given twice "
                        f"(also on line {seen[event.value]}); keep one",
                        line,
                    )
                seen[event.value] = line
                if len(stack) == 1:
                    key_lines[event.value] = line
                    top_key = event.value
            continue
        # A collection start.
        stack.append([isinstance(event, yaml.MappingStartEvent), True, {}])
        if len(stack) > MAX_DEPTH:
            raise RunbookParseError(
                f"front matter is nested more than {MAX_DEPTH} levels deep", line
            )
    return key_lines


def _yaml_error(exc: yaml.YAMLError, raw: str, offset: int) -> RunbookParseError:
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        # libyaml puts "end of stream" past the last line; the problem is on the last line.
        line = offset + min(mark.line, raw.count("\n"))
    elif isinstance(exc, yaml.reader.ReaderError):
        line = offset + raw.count("\n", 0, exc.position)
    else:
        line = offset
    if isinstance(exc, yaml.reader.ReaderError):
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        problem = f"the character U+{code:04X} is not allowed"
    else:
        problem = getattr(exc, "problem", None) or "invalid YAML"
    return RunbookParseError(f"front matter is not valid YAML: {problem}", line)


def _scan_yaml_brackets(raw: str, offset: int) -> None:
    """One pass: refuse flow brackets (``[``, ``{``) nested deeper than MAX_DEPTH.

    PyYAML's scanner looks up to 1024 characters ahead for a possible key at every open
    flow level, so ``[[[[…`` on one line costs it depth × 1024 steps before the first event
    arrives; this pass keeps the event scan from ever seeing such a line. Quoted scalars
    (a quote opening a value) and comments are skipped; a bracket inside a plain scalar
    counts too, which only matters past MAX_DEPTH unclosed ones.
    """
    i, n, line, depth = 0, len(raw), offset, 0
    previous = ""  # the last non-blank character on this line, "" at its start
    while i < n:
        ch = raw[i]
        if ch == "\n":
            line, previous = line + 1, ""
            i += 1
        elif ch == "#" and (i == 0 or raw[i - 1] in " \t\n"):
            stop = raw.find("\n", i)
            i = n if stop == -1 else stop
        elif ch in "\"'" and previous in ("", ":", "[", "{", ",", "-", "?"):
            i, line = _skip_yaml_quoted(raw, i + 1, ch, line)
            previous = ch
        else:
            if ch in "[{":
                depth += 1
                if depth > MAX_DEPTH:
                    raise RunbookParseError(
                        f"front matter is nested more than {MAX_DEPTH} levels deep", line
                    )
            elif ch in "]}":
                depth = max(0, depth - 1)
            if ch not in " \t":
                previous = ch
            i += 1


def _skip_yaml_quoted(raw: str, i: int, quote: str, line: int) -> tuple[int, int]:
    """Index just past the quoted scalar whose text starts at ``i``, and its last line.
    Double quotes have backslash escapes; in single quotes ``''`` is a quote."""
    n = len(raw)
    while i < n:
        ch = raw[i]
        if ch == "\\" and quote == '"':
            line += raw[i + 1 : i + 2] == "\n"
            i += 2
        elif ch == quote:
            if quote == "'" and raw[i + 1 : i + 2] == "'":
                i += 2
            else:
                return i + 1, line
        else:
            line += ch == "\n"
            i += 1
    return n, line


def _load_yaml(raw: str, offset: int) -> tuple[Any, dict[str, int]]:
    """Checked, then loaded: (the document, top-level key → file line)."""
    if not raw.strip():
        return {}, {}
    bad = _NOT_YAML.search(raw)
    if bad:
        char = bad.group()
        problem = text_problem(char) or f"has the character U+{ord(char):04X}, not allowed in YAML"
        line = offset + raw.count("\n", 0, bad.start())
        raise RunbookParseError(f"front matter {problem}", line)
    _scan_yaml_brackets(raw, offset)
    try:
        key_lines = _scan_yaml(raw, offset)
        data = yaml.load(raw, Loader=_LOADER)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, raw, offset) from None
    except RunbookParseError:
        raise
    except (ValueError, OverflowError) as exc:  # e.g. an integer with too many digits
        message = f"front matter has a value that cannot be read: {exc}"
        raise RunbookParseError(message, offset) from None
    return ({} if data is None else data), key_lines


def _read_yaml(block: _Block) -> tuple[dict[str, Any], dict[str, int]]:
    data, key_lines = _load_yaml("\n".join(block.lines), block.offset)
    if not isinstance(data, dict):
        raise RunbookParseError("front matter must be a mapping of keys to values", block.offset)
    return data, key_lines


# --------------------------------------------------------------------------- TOML


def _scan_toml(raw: str, offset: int) -> None:
    """One pass over TOML text: refuse bracket nesting deeper than MAX_DEPTH (tomllib
    recurses on nested arrays) and ``\\u0000`` escapes (tomllib accepts NUL; tomllib itself
    refuses escaped surrogates and raw control characters)."""
    i, n, line, depth = 0, len(raw), offset, 0
    while i < n:
        ch = raw[i]
        if ch == "\n":
            line += 1
            i += 1
        elif ch == "#":
            stop = raw.find("\n", i)
            i = n if stop == -1 else stop
        elif ch in "\"'":
            quote = ch * 3 if raw.startswith(ch * 3, i) else ch
            i, line = _skip_toml_string(raw, i + len(quote), quote, line)
        elif ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise RunbookParseError(
                    f"front matter is nested more than {MAX_DEPTH} levels deep", line
                )
            i += 1
        elif ch in "]}":
            depth = max(0, depth - 1)
            i += 1
        else:
            i += 1


def _skip_toml_string(raw: str, i: int, quote: str, line: int) -> tuple[int, int]:
    """Index just past the string that starts at ``i`` (after its opening ``quote``), and
    the line it ends on. Only basic (double-quoted) strings have escapes."""
    n, escapes = len(raw), quote[0] == '"'
    while i < n:
        ch = raw[i]
        if escapes and ch == "\\":
            kind = raw[i + 1 : i + 2]
            if kind in ("u", "U"):
                digits = raw[i + 2 : i + (6 if kind == "u" else 10)]
                if digits and all(d in string.hexdigits for d in digits):
                    code = int(digits, 16)
                    if code == 0:
                        raise RunbookParseError("front matter value contains a NUL character", line)
            elif kind == "\n":
                line += 1
            i += 2
            continue
        if raw.startswith(quote, i):
            i += len(quote)
            extra = 0
            while len(quote) == 3 and extra < 2 and raw[i : i + 1] == quote[0]:
                i, extra = i + 1, extra + 1  # """a"""" ends with a quote inside the string
            return i, line
        if ch == "\n":
            line += 1
        i += 1
    return n, line


def _toml_key_lines(block: _Block) -> dict[str, int]:
    """Top-level key → file line: ``key = …`` lines before the first table, ``[key]``,
    ``[key.sub]`` and ``[[key]]`` headers. A hint for messages, not a parser."""
    found: dict[str, int] = {}
    in_root = True
    for index, line in enumerate(block.lines):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("["):
            in_root = False
            name = stripped.lstrip("[").split("]", 1)[0]
        elif in_root and "=" in stripped:
            name = stripped.split("=", 1)[0]
        else:
            continue
        name = name.split(".", 1)[0].strip().strip("\"'")
        found.setdefault(name, block.offset + index)
    return found


def _toml_error(exc: tomllib.TOMLDecodeError, block: _Block) -> RunbookParseError:
    message = str(exc)
    head, sep, tail = message.rpartition(" (at line ")
    line = block.offset + len(block.lines) - 1
    if sep:
        number = tail.split(",", 1)[0]
        if number.isdigit():
            line = block.offset + int(number) - 1
        message = head
    elif message.endswith(" (at end of document)"):
        message = message.removesuffix(" (at end of document)")
    return RunbookParseError(f"front matter is not valid TOML: {message}", line)


def _read_toml(block: _Block) -> tuple[dict[str, Any], dict[str, int]]:
    raw = "\n".join(block.lines)
    _scan_toml(raw, block.offset)
    try:
        data = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as exc:
        raise _toml_error(exc, block) from None
    except RecursionError:  # the scan bounds nesting; this is only a safety net
        raise RunbookParseError(
            f"front matter is nested more than {MAX_DEPTH} levels deep", block.offset
        ) from None
    return data, _toml_key_lines(block)


# --------------------------------------------------------------------------- writing


def _front_matter_span(lines: list[str]) -> tuple[int, int] | None:
    """(index of the opening ``---``, index of the closing line) of YAML front matter."""
    block = _find_block(lines)
    if block is None or block.kind != YAML:
        return None
    return block.first, block.end


def _load(lines: list[str]) -> dict[str, Any] | None:
    """The mapping YAML lines hold (checked like read_front_matter), None if they don't."""
    try:
        data, _lines = _load_yaml("\n".join(lines), 1)
    except RunbookParseError:
        return None
    return data if isinstance(data, dict) else None


def _dump(mapping: dict[str, Any]) -> list[str]:
    return yaml.safe_dump(mapping, sort_keys=False, allow_unicode=True).rstrip("\n").split("\n")


def _toml_to_yaml(lines: list[str]) -> list[str]:
    """Lines whose front matter is TOML → the same text with it written as YAML."""
    block = _find_block(lines)
    assert block is not None and block.kind == TOML
    data, _key_lines = _read_toml(block)
    # tomllib gives dates and times as objects; YAML writes them back as the same values.
    body = _dump(data) if data else []
    return lines[: block.first] + [FENCE, *body, FENCE] + lines[block.end + 1 :]


def set_front_matter_key(text: str, key: str, value: Any | None) -> str:
    """``text`` with front matter ``key`` set to ``value`` (removed when ``value`` is None).

    The key's old block is replaced in place; every other line stays byte for byte. If the
    result would not load back to the intended mapping (unusual YAML layouts), the front
    matter is rewritten from its parsed mapping instead.

    Writing is YAML only. TOML front matter (``+++``) is first converted to YAML front
    matter holding the same keys and values (TOML comments and layout are not kept): the
    link editor, the one caller, must not fail on a Hugo-style runbook, and a second
    front-matter block would not be read. Raises RunbookParseError (naming the file line)
    when the front matter cannot be read or is not a mapping.
    """
    lines = text.split("\n")
    if key == "" or "\n" in key:
        raise ValueError("a front matter key is one non-empty line")
    block = _find_block(lines)
    if block is not None and block.kind == TOML:
        lines = _toml_to_yaml(lines)
    span = _front_matter_span(lines)
    if span is None:
        if value is None:
            return "\n".join(lines)
        return "\n".join([FENCE, *_dump({key: value}), FENCE, "", *lines])
    start, end = span
    body = lines[start + 1 : end]
    # Text stored before today's checks can hold front matter they refuse (a tab in its
    # indentation): the error names its line, as the importer's would.
    original, _key_lines = _read_yaml(_Block(YAML, start, end, body))

    head = re.compile(rf"^{re.escape(key)}\s*:")
    at = next((i for i, line in enumerate(body) if head.match(line)), None)
    new_body = list(body)
    insert_at = len(body)
    while insert_at and not body[insert_at - 1].strip():
        insert_at -= 1  # keep blank lines that close the block where they were
    if at is not None:
        stop = at + 1
        while stop < len(body) and (
            body[stop][:1] in (" ", "\t", "-") or (not body[stop].strip() and stop + 1 < len(body))
        ):
            stop += 1
        while stop > at + 1 and not body[stop - 1].strip():
            stop -= 1
        new_body = body[:at] + body[stop:]
        insert_at = at
    if value is not None:
        new_body[insert_at:insert_at] = _dump({key: value})

    wanted = {k: v for k, v in original.items() if k != key}
    if value is not None:
        wanted[key] = value
    if _load(new_body) != wanted:
        new_body = _dump(wanted) if wanted else []
    if not any(line.strip() for line in new_body):
        # Nothing left in the front matter: drop it, and the blank line after it.
        rest = lines[end + 1 :]
        while rest and not rest[0].strip():
            rest = rest[1:]
        return "\n".join(lines[:start] + rest)
    return "\n".join(lines[: start + 1] + new_body + lines[end:])
