"""Checks on a value read from untrusted runbook text, before it reaches a column. Pure.

Values come from Markdown and front matter (YAML escapes can produce any code point), and
must be storable on both databases: PostgreSQL refuses NUL in text, and lone surrogates
cannot be encoded as UTF-8 anywhere (every page showing one would fail).
"""

from __future__ import annotations


def text_problem(value: str, *, max_chars: int | None = None, single_line: bool = False) -> str:
    """What is wrong with ``value`` as stored text, or "" when nothing is."""
    if "\x00" in value:
        return "contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (not a Unicode character)"
    if single_line and ("\n" in value or "\r" in value):
        return "must be a single line"
    if max_chars is not None and len(value) > max_chars:
        return f"is {len(value)} characters, over the {max_chars} limit"
    return ""
