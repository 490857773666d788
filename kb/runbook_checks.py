"""The last look at a parsed runbook before anything is written, and the slug rules. Pure.

Whatever the reader made of a file, nothing reaches the database unless every value fits
its column on both databases (DESIGN.md §4): no NUL (PostgreSQL refuses it), no lone
surrogate (no page could show it), lengths within each column's ``max_length`` (PostgreSQL
refuses longer values; SQLite would silently keep them), single-line fields single-line.
A problem is a RunbookParseError naming the line of the item it is about.

Slugs are lowercase path segments (``cloud/blue-green``). File names and front-matter
``slug:`` values in any script are transliterated to ASCII with ``anyascii`` (ISC licence)
before Django's ``slugify``, so ``障害.md`` names a runbook instead of refusing it.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from anyascii import anyascii
from django.utils.text import slugify

from kb.parse_errors import RunbookParseError
from kb.text_checks import text_problem

# No column bounds tags (a JSON list): this keeps one tag a tag, not a paragraph.
TAG_MAX_CHARS = 100
# Check.minutes is a PositiveIntegerField: PostgreSQL's integer tops out here.
MAX_MINUTES = 2_147_483_647
# Nesting of front-matter values walked here; the front-matter reader refuses deeper ones.
MAX_VALUE_DEPTH = 20


@dataclass(frozen=True)
class FieldLimits:
    """Column sizes in characters. The defaults are kb.models' ``max_length``s;
    ``kb.services.field_limits()`` builds them from the model fields themselves."""

    slug: int = 200
    title: int = 300
    category: int = 100
    key: int = 80
    cause_title: int = 500
    check_title: int = 500
    pattern_observation: int = 500
    drill_suspect: int = 500
    link_target: int = 200
    section_title: int = 300
    tag: int = TAG_MAX_CHARS


# --------------------------------------------------------------------------- slugs


INDEX_SEGMENTS = frozenset({"index", "_index", "readme"})


def slug_segment(part: str) -> str:
    """One path segment → a slug segment, "" when nothing usable is left.

    ``"Blue Green"`` → ``"blue-green"``, ``"障害"`` → ``"zhanghai"``, ``"Straße"`` →
    ``"strasse"``; ASCII names get exactly what ``slugify`` alone gave them.
    """
    return slugify(anyascii(part))


def slug_from_relative_path(relative: str) -> str:
    """A file's path relative to its import root → its slug, or "" when a segment has
    nothing usable left (the file then needs a front-matter ``slug:``).

    ``Cloud/Blue Green.md`` → ``cloud/blue-green``.
    """
    stem, _ext = posixpath.splitext(relative.replace("\\", "/"))
    parts = [part for part in stem.split("/") if part not in ("", ".")]
    segments = [slug_segment(part) for part in parts]
    if not segments or not all(segments) or ".." in parts:
        return ""
    if len(segments) > 1 and segments[-1] in INDEX_SEGMENTS:
        # A folder's index page is the folder (MkDocs, Hugo, GitHub READMEs), as links
        # to "folder/" read it.
        segments.pop()
    return "/".join(segments)


def slug_from_text(value: str) -> tuple[str, str]:
    """A slug as written (front matter, a form) → ``(slug, "")``, or ``("", problem)``.

    Segments are normalised like file names (``Cloud/Blue Green`` → ``cloud/blue-green``);
    ``.`` and ``..`` segments, empty segments (``a//b``) and segments with no letters or
    digits are refused rather than dropped, so a slug never changes meaning silently.
    """
    text = value.strip().strip("/")
    problem = text_problem(text, single_line=True)
    if problem:
        return "", problem
    if not text:
        return "", "is empty"
    parts = text.split("/")
    if any(part.strip() in (".", "..") for part in parts):
        return "", "must not contain '.' or '..' segments; use a path such as cloud/kubernetes"
    segments = [slug_segment(part) for part in parts]
    if not all(segments):
        return "", (
            "has an empty segment or one with no letters or digits; "
            "use a path such as cloud/kubernetes"
        )
    return "/".join(segments), ""


def join_slug(prefix: str, slug: str) -> str:
    """``prefix`` (a folder, possibly "") before ``slug``."""
    return f"{prefix}/{slug}" if prefix and slug else slug


# --------------------------------------------------------------------------- display


def displayable(value: Any) -> str:
    """``value`` as text any page can show: lone surrogates (which cannot be encoded, so
    one would fail the whole response) become U+FFFD and NULs are dropped."""
    text = value if isinstance(value, str) else str(value)
    if not text_problem(text):
        return text
    # UTF-16 with surrogatepass keeps valid pairs and marks only lone halves as errors.
    fixed = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return fixed.replace("\x00", "")


# --------------------------------------------------------------------------- the check


class _Checker:
    def __init__(self, text: str) -> None:
        self.text = text

    def line_of(self, line: int, value: str) -> int:
        """The item's own line, else the first line holding the start of its value."""
        if line > 0:
            return line
        needle = value.strip().split("\n", 1)[0][:80]
        if needle and self.text:
            at = self.text.find(needle)
            if at >= 0:
                return self.text.count("\n", 0, at) + 1
        return 1

    def text_field(
        self,
        value: object,
        what: str,
        *,
        line: int = 0,
        max_chars: int | None = None,
        single_line: bool = False,
    ) -> None:
        if not isinstance(value, str):
            raise RunbookParseError(f"{what} must be text", self.line_of(line, ""))
        problem = text_problem(value, max_chars=max_chars, single_line=single_line)
        if problem:
            raise RunbookParseError(f"{what} {problem}", self.line_of(line, value))

    def texts(self, values: Iterable[str], what: str) -> None:
        for n, value in enumerate(values, start=1):
            self.text_field(value, f"{what} {n}")

    def value(self, value: Any, what: str) -> None:
        """Front-matter values: every string, key and nested value, walked without
        recursion (stored JSON could be deep)."""
        stack: list[tuple[Any, int]] = [(value, 1)]
        while stack:
            item, depth = stack.pop()
            if depth > MAX_VALUE_DEPTH:
                raise RunbookParseError(f"{what} is nested too deeply", 1)
            if isinstance(item, str):
                self.text_field(item, what)
            elif isinstance(item, dict):
                for key, nested in item.items():
                    self.text_field(str(key), f"{what} key")
                    stack.append((nested, depth + 1))
            elif isinstance(item, list | tuple):
                stack.extend((nested, depth + 1) for nested in item)


def check_parsed_runbook(
    rb: Any,
    *,
    limits: FieldLimits | None = None,
    slug: str = "",
    slug_line: int = 0,
    category: str = "",
    text: str = "",
) -> None:
    """Raise RunbookParseError(message, line) for the first value of ``rb`` (a
    kb.markdown_io ParsedRunbook) that could not be stored as it is; return None otherwise.

    ``slug`` and ``category`` are the values the runbook will be stored under (the caller
    decides them: front matter, path, prefix); ``text`` is the runbook's text, used to find
    the line of a value whose item carries no ``.line`` (0). Lines are 1-based.
    """
    limits = limits or FieldLimits()
    check = _Checker(text)
    if slug:
        check.text_field(slug, "slug", line=slug_line or 1, max_chars=limits.slug, single_line=True)
    if category:
        check.text_field(category, "category", max_chars=limits.category, single_line=True)
    check.text_field(rb.title, "title", max_chars=limits.title, single_line=True)
    for what in ("summary", "symptom", "not_the_issue_condition"):
        check.text_field(getattr(rb, what), what.replace("_", " "))
    if rb.slug:
        check.text_field(rb.slug, "front matter slug", max_chars=limits.slug, single_line=True)
    if rb.category:
        check.text_field(rb.category, "category", max_chars=limits.category, single_line=True)
    for n, tag in enumerate(rb.tags, start=1):
        check.text_field(tag, f"tag {n}", max_chars=limits.tag, single_line=True)
    check.value(rb.front_matter, "front matter value")

    for n, p in enumerate(rb.patterns, start=1):
        what = f"quick diagnosis row {n}"
        check.text_field(p.key, f"{what} key", line=p.line, max_chars=limits.key, single_line=True)
        check.text_field(
            p.observation,
            f"{what} observation",
            line=p.line,
            max_chars=limits.pattern_observation,
            single_line=True,
        )
        check.text_field(p.diagnosis, f"{what} diagnosis", line=p.line)
    titled = (("cause", rb.causes, limits.cause_title), ("check", rb.checks, limits.check_title))
    for kind, items, title_chars in titled:
        for n, item in enumerate(items, start=1):
            what = f"{kind} {n}"
            check.text_field(
                item.key, f"{what} key", line=item.line, max_chars=limits.key, single_line=True
            )
            check.text_field(
                item.title, f"{what} title", line=item.line, max_chars=title_chars, single_line=True
            )
            check.text_field(item.detail, f"{what} detail", line=item.line)
    for n, c in enumerate(rb.checks, start=1):
        if c.minutes is not None and not 0 <= c.minutes <= MAX_MINUTES:
            raise RunbookParseError(
                f"check {n} minutes must be between 0 and {MAX_MINUTES}", check.line_of(c.line, "")
            )
    for n, f in enumerate(rb.fix_patterns, start=1):
        check.text_field(f.key, f"fix {n} key", line=f.line, max_chars=limits.key, single_line=True)
        check.text_field(f.text, f"fix {n}", line=f.line)
    for n, d in enumerate(rb.drill_paths, start=1):
        check.text_field(
            d.text,
            f"drill path {n} suspect",
            line=d.line,
            max_chars=limits.drill_suspect,
            single_line=True,
        )
    links = (("drill path", rb.drill_paths), ("pivot", rb.pivots), ("link", rb.connections))
    for kind, items in links:
        for n, link in enumerate(items, start=1):
            check.text_field(
                link.target,
                f"{kind} {n} target",
                line=link.line,
                max_chars=limits.link_target,
                single_line=True,
            )
    for n, p in enumerate(rb.pivots, start=1):
        check.text_field(p.text, f"pivot {n} note", line=p.line)
    check.texts(rb.signal_examples, "signal example")
    check.texts(rb.not_the_issue_items, "'when this is not the issue' item")
    check.texts(rb.open_questions, "open question")
    check.texts(rb.related_reading, "related reading item")
    for kind, intro in getattr(rb, "section_intros", {}).items():
        check.text_field(intro, f"text opening the {kind.replace('_', ' ')} section")
    for n, s in enumerate(rb.extra_sections, start=1):
        check.text_field(
            s.title,
            f"section {n} heading",
            line=s.line,
            max_chars=limits.section_title,
            single_line=True,
        )
        check.text_field(s.body, f"section {n} body", line=s.line)
