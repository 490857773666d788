"""Read a runbook's front matter, and change one key of it keeping the rest as written.

Markdown stays the source of truth (DESIGN.md §4): when an editor confirms cause links in
the link editor, they are written into the text's ``cause_links:`` front matter, so the
text alone rebuilds the same runbook. Pure: no ORM.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from kb.parse_errors import RunbookParseError

FENCE = "---"


def _front_matter_span(lines: list[str]) -> tuple[int, int] | None:
    """(index of the opening ``---``, index of the closing line), or None without one."""
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None or lines[first].strip() != FENCE:
        return None
    for end in range(first + 1, len(lines)):
        if lines[end].strip() in (FENCE, "..."):
            return first, end
    return None


def _load(lines: list[str]) -> dict[str, Any] | None:
    try:
        data = yaml.safe_load("\n".join(lines)) if any(line.strip() for line in lines) else {}
    except yaml.YAMLError:
        return None
    if data is None:
        return {}
    return data if isinstance(data, dict) else None


def _dump(mapping: dict[str, Any]) -> list[str]:
    return yaml.safe_dump(mapping, sort_keys=False, allow_unicode=True).rstrip("\n").split("\n")


def set_front_matter_key(text: str, key: str, value: Any | None) -> str:
    """``text`` with front matter ``key`` set to ``value`` (removed when ``value`` is None).

    The key's old block is replaced in place; every other line stays byte for byte. If the
    result would not load back to the intended mapping (unusual YAML layouts), the front
    matter is rewritten from its parsed mapping instead.
    """
    lines = text.split("\n")
    span = _front_matter_span(lines)
    if span is None:
        if value is None:
            return text
        return "\n".join([FENCE, *_dump({key: value}), FENCE, "", *lines])
    start, end = span
    body = lines[start + 1 : end]
    original = _load(body)
    if original is None:
        raise ValueError("the front matter is not a valid YAML mapping")

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


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class FrontMatter:
    """A runbook's front matter: ``data`` (every key, JSON-safe values) and ``body_start``,
    the 0-based index of the first line after the closing fence (0 without front matter)."""

    data: dict[str, Any]
    body_start: int


def read_front_matter(lines: list[str]) -> FrontMatter:
    """Lines of a runbook (BOM stripped, ``\n`` endings) → its FrontMatter.

    Raises RunbookParseError naming the file line of the problem.
    """
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None or lines[first].strip() != "---":
        return FrontMatter({}, 0)
    for end in range(first + 1, len(lines)):
        if lines[end].strip() in ("---", "..."):
            break
    else:
        raise RunbookParseError("front matter opened with '---' is never closed", first + 1)
    raw = "\n".join(lines[first + 1 : end])
    try:
        data = yaml.safe_load(raw) if raw.strip() else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = first + 2 + (mark.line if mark else 0)
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise RunbookParseError(f"front matter is not valid YAML: {problem}", line) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RunbookParseError("front matter must be a mapping of keys to values", first + 2)
    # YAML dates and numbers become plain strings so exports stay JSON-safe.
    clean = {str(k): _json_safe(v) for k, v in data.items()}
    return FrontMatter(clean, end + 1)


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
