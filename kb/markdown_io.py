"""Read and write runbooks as text. Pure: no ORM, no templates, no I/O.

Reading works on markdown-it-py's token stream (``kb.markdown_parser``), so code, nested
lists, tables, HTML blocks, reference definitions and admonitions are understood once, the
way the page renders them. Every block token carries ``map`` = its source lines; text is
kept as the author wrote it by slicing those lines, never re-serialised from tokens. Three
input shapes are accepted (DESIGN.md §4):

* the seed's plain form (section names alone on a line, ``Symptom:`` labels), first lifted
  into Markdown by ``kb.plain_form`` — the same lines, with headings and blank lines added;
* the same in Markdown source form — ``#`` title, ``##`` sections, front matter (YAML or
  TOML), bold labels, numbered and task lists, ``[[wiki/links]]``;
* Markdown written for GitHub, GitLab and MkDocs: section names mapped through
  ``kb.section_names``; sections we do not know are kept verbatim as extra sections.

``render_runbook`` writes the Markdown source form; parsing its output gives back an equal
``ParsedRunbook`` (the round trip the export relies on).

Everything here is linear in the input: the parser is, and the rest are single passes with
``str`` methods (no regular expression is run over unbounded text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import yaml
from django.utils.text import slugify
from markdown_it import MarkdownIt
from markdown_it.token import Token

from kb.front_matter import read_front_matter
from kb.linking import propose_cause_links
from kb.markdown_parser import build_markdown_parser
from kb.parse_errors import RunbookParseError
from kb.plain_form import is_list_line, label_of, lift_plain_form
from kb.runbook_checks import slug_from_relative_path
from kb.runbook_links import (
    LinkTarget,
    bare_slug,
    hugo_refs,
    normalise_slug,
    resolve_href,
    wiki_links,
    wiki_slug,
)
from kb.section_names import SECTION_ALIASES, section_kind

__all__ = [
    "MAX_RUNBOOK_BYTES",
    "SECTION_ALIASES",
    "ParsedRunbook",
    "RunbookParseError",
    "decode_runbook_bytes",
    "normalise_slug",
    "parse_runbook",
    "render_runbook",
    "slug_from_path",
]

MAX_RUNBOOK_BYTES = 2 * 1024 * 1024
MAX_TITLE_CHARS = 300
KEY_MAX_CHARS = 60

# Headings the writer uses; the parenthetical hints are the seed's own.
SECTION_HEADINGS = {
    "symptom": "Symptom",
    "patterns": "Quick Diagnosis",
    "causes": "Likely Causes (ranked by frequency)",
    "checks": "First Checks (fastest signal first)",
    "signal_examples": "Signal examples",
    "drill_paths": "Drill Paths",
    "fix_patterns": "Fix Patterns",
    "not_the_issue": "When This Is Not the Issue",
    "connections": "Connections",
    "open_questions": "Open Questions",
    "related_reading": "Related reading",
}
CANONICAL_ORDER = tuple(SECTION_HEADINGS)


@dataclass
class ParsedCause:
    key: str
    title: str
    detail: str = ""
    line: int = field(default=0, compare=False)  # 1-based source line; 0 unknown


@dataclass
class ParsedPattern:
    key: str
    observation: str
    diagnosis: str
    causes: list[str] = field(default_factory=list)
    confirmed: bool = False
    line: int = field(default=0, compare=False)  # 1-based source line; 0 unknown


@dataclass
class ParsedCheck:
    key: str
    title: str
    detail: str = ""
    minutes: int | None = None  # explicit estimate; None means derived from position
    causes: list[str] = field(default_factory=list)
    confirmed: bool = False
    line: int = field(default=0, compare=False)  # 1-based source line; 0 unknown


@dataclass
class ParsedFix:
    key: str
    text: str
    causes: list[str] = field(default_factory=list)
    confirmed: bool = False
    line: int = field(default=0, compare=False)  # 1-based source line; 0 unknown


@dataclass
class ParsedLink:
    target: str
    text: str = ""
    line: int = field(default=0, compare=False)  # 1-based source line; 0 unknown


@dataclass
class ParsedSection:
    title: str
    body: str
    line: int = field(default=0, compare=False)  # 1-based source line; 0 unknown


@dataclass
class ParsedRunbook:
    title: str
    summary: str = ""
    symptom: str = ""
    slug: str | None = None
    category: str | None = None
    tags: list[str] = field(default_factory=list)
    front_matter: dict[str, Any] = field(default_factory=dict)
    patterns: list[ParsedPattern] = field(default_factory=list)
    causes: list[ParsedCause] = field(default_factory=list)
    checks: list[ParsedCheck] = field(default_factory=list)
    signal_examples: list[str] = field(default_factory=list)
    drill_paths: list[ParsedLink] = field(default_factory=list)
    fix_patterns: list[ParsedFix] = field(default_factory=list)
    not_the_issue_condition: str = ""
    not_the_issue_items: list[str] = field(default_factory=list)
    pivots: list[ParsedLink] = field(default_factory=list)
    connections: list[ParsedLink] = field(default_factory=list)
    open_questions: list[str] = field(default_factory=list)
    related_reading: list[str] = field(default_factory=list)
    extra_sections: list[ParsedSection] = field(default_factory=list)
    # The author's section order: canonical kinds ("symptom", "causes", …) and
    # "extra:<index into extra_sections>", each once, as the sections first appear.
    section_order: list[str] = field(default_factory=list, compare=False)
    # Text a list section opens with before its first item ("Check the following:").
    section_intros: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- decoding


def decode_runbook_bytes(data: bytes, *, max_bytes: int = MAX_RUNBOOK_BYTES) -> str:
    """Bytes from a file or upload → text, or a RunbookParseError naming the line."""
    if len(data) > max_bytes:
        # Callers read one byte past the limit, so the true size is not known here.
        raise RunbookParseError(f"file is over the {max_bytes / 1024 / 1024:.0f} MB limit", 1)
    nul = data.find(b"\x00")
    if nul != -1:
        raise RunbookParseError(
            "binary data (NUL byte), not a text file", data.count(b"\n", 0, nul) + 1
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise RunbookParseError(
            f"undecodable bytes (not UTF-8) at byte {exc.start}", line
        ) from None
    if not text.strip():
        raise RunbookParseError("file is empty", 1)
    return text


def default_check_minutes(position: int) -> int:
    """Checks are authored fastest first; without an estimate, each costs a bit more."""
    return 2 + 3 * (position - 1)


def slug_from_path(relative_path: str) -> str:
    """``Cloud/Blue Green.md`` → ``cloud/blue-green``: each path segment slugified (any
    script transliterated); RunbookParseError when nothing usable is left."""
    slug = slug_from_relative_path(relative_path)
    if not slug:
        raise RunbookParseError(f"cannot make a slug from path {relative_path!r}", 1)
    return slug


# --------------------------------------------------------------------------- parser


@lru_cache(maxsize=1)
def reader_parser() -> MarkdownIt:
    """The renderer's parser (``kb.markdown_parser``), so a runbook is read as it is shown,
    but in a private instance that parses blocks only: the reader needs inline tokens only
    where links may be, and parses those on demand (``_Doc.children``), in half the time.

    Footnote definitions come out of its token stream without source lines; the reader
    slices lines, so their text stays with the block they follow.
    """
    md = build_markdown_parser()
    md.disable(["inline", "heading_ids", "gfm_autolink_email", "text_join"])
    return md


# --------------------------------------------------------------------------- small helpers


class KeyMaker:
    """Stable keys from titles, unique within one kind of part: "Name mismatch" →
    ``name-mismatch``, then ``name-mismatch-2``… Each base remembers its next free suffix,
    so a thousand items with one title cost a thousand steps, not a million."""

    def __init__(self) -> None:
        self.taken: set[str] = set()
        self.next_suffix: dict[str, int] = {}

    def __call__(self, text: str) -> str:
        base = slugify(text[: KEY_MAX_CHARS * 4].replace("[[", "").replace("]]", ""))
        if len(base) > KEY_MAX_CHARS:
            # Cut at a word boundary so keys stay readable in URLs and exports.
            base = base[: KEY_MAX_CHARS + 1].rsplit("-", 1)[0]
        base = base.strip("-") or "item"
        key = base
        if key in self.taken:
            n = self.next_suffix.get(base, 2)
            while f"{base}-{n}" in self.taken:
                n += 1
            key = f"{base}-{n}"
            self.next_suffix[base] = n + 1
        self.taken.add(key)
        return key


DASHES = (" — ", " – ", " -- ")
SENTENCE_ENDS = (". ", "! ", "? ")
MIN_SENTENCE_CHARS = 8
MAX_SENTENCE_CHARS = 200
# "(~7 min)", "(5 minutes)", "(~3m)"; a bare "(500m)" is millicores or an alert window.
MINUTES_RE = re.compile(
    r"~\s{0,3}(\d{1,4})\s{0,3}(?:min|mins|minutes|m)|(\d{1,4})\s{0,3}(?:min|mins|minutes)",
    re.IGNORECASE,
)
MAX_MINUTES_HINT_CHARS = 24


def _first_of(text: str, needles: tuple[str, ...], start: int = 0) -> int:
    found = [i for i in (text.find(n, start) for n in needles) if i != -1]
    return min(found) if found else -1


def split_title(first: str) -> tuple[str, str]:
    """``"Title — detail"`` or ``"Title sentence. More."`` → (title, detail). Linear."""
    first = first.strip()
    for dash in ("—", "–", "--"):
        if first.endswith(" " + dash):
            first = first[: -len(dash) - 1].rstrip() + " " + dash + " "
            break
    at = _first_of(first + " ", DASHES)
    if at > 0:
        sep = next(d for d in DASHES if (first + " ").startswith(d, at))
        return first[:at].strip(), first[at + len(sep) :].strip()
    at = _first_of(first, SENTENCE_ENDS, MIN_SENTENCE_CHARS - 1)
    if 0 < at < MAX_SENTENCE_CHARS and first[at + 2 :].strip():
        return first[: at + 1].strip(), first[at + 2 :].strip()
    return first, ""


def split_minutes(title: str) -> tuple[str, int | None]:
    """``"Look at metrics (~7 min)"`` → ("Look at metrics", 7)."""
    stripped = title.rstrip()
    if not stripped.endswith(")"):
        return title, None
    open_at = stripped.rfind("(")
    inner = stripped[open_at + 1 : -1].strip() if open_at != -1 else ""
    if not inner or len(inner) > MAX_MINUTES_HINT_CHARS:
        return title, None
    m = MINUTES_RE.fullmatch(inner)
    if not m:
        return title, None
    return stripped[:open_at].rstrip(), int(m.group(1) or m.group(2))


def _strip_blank_edges(lines: list[str]) -> list[str]:
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return lines[start:end]


def _join(lines: list[str]) -> str:
    return "\n".join(_strip_blank_edges(lines))


def _reflow(lines: list[str]) -> str:
    return " ".join(line.strip() for line in lines if line.strip())


def _leading_width(line: str) -> int:
    width = 0
    for char in line:
        if char == " ":
            width += 1
        elif char == "\t":
            width += 4 - width % 4
        else:
            break
    return width


def _dedent(line: str, width: int) -> str:
    if "\t" in line[: width + 1]:
        head = len(line) - len(line.lstrip(" \t"))
        line = line[:head].expandtabs(4) + line[head:]
    cut = min(width, len(line) - len(line.lstrip(" ")))
    return line[cut:]


def _strip_emphasis(text: str) -> str:
    for mark in ("**", "__", "*", "_"):
        if len(text) > 2 * len(mark) and text.startswith(mark) and text.endswith(mark):
            return text[len(mark) : -len(mark)].strip()
    return text


def _strip_task(text: str) -> str:
    if len(text) >= 3 and text[0] == "[" and text[2] == "]" and text[1] in " xX":
        return text[3:].lstrip()
    return text


# --------------------------------------------------------------------------- blocks


@dataclass
class _Block:
    """One top-level block: tokens[open_at..close_at] and source lines [start, end)."""

    kind: str  # heading | paragraph | list | table | html | code | other
    open_at: int
    close_at: int
    start: int
    end: int = 0
    level: int = 0  # heading level
    text: str = ""  # heading or paragraph inline source


def _kind(token: Token) -> str:
    if token.type == "heading_open":
        return "heading"
    if token.type == "paragraph_open":
        return "paragraph"
    if token.type in ("bullet_list_open", "ordered_list_open"):
        return "list"
    if token.type == "table_open":
        return "table"
    if token.type == "html_block":
        return "html"
    if token.type in ("fence", "code_block"):
        return "code"
    return "other"


def _top_blocks(tokens: list[Token], lines: list[str]) -> list[_Block]:
    blocks: list[_Block] = []
    i = 0
    while i < len(tokens):
        token, close = tokens[i], i
        if token.nesting == 1:
            depth = 0
            for close in range(i, len(tokens)):
                depth += tokens[close].nesting
                if depth == 0:
                    break
        if token.map is not None:
            block = _Block(_kind(token), i, close, token.map[0])
            if block.kind in ("heading", "paragraph") and i + 1 < len(tokens):
                block.text = tokens[i + 1].content
            if block.kind == "heading":
                block.level = int(token.tag[1:]) if token.tag[1:].isdigit() else 1
                # A setext heading may span lines; a heading's text is one line.
                block.text = " ".join(block.text.split("\n"))
            blocks.append(block)
        i = close + 1
    for here, after in zip(blocks, blocks[1:], strict=False):
        here.end = after.start
    if blocks:
        blocks[-1].end = len(lines)
    return _split_after_headings(lines, tokens, blocks)


def _split_after_headings(
    lines: list[str], tokens: list[Token], blocks: list[_Block]
) -> list[_Block]:
    """Lines right after a heading that make no token of their own (reference definitions,
    ``[logs]: https://…``) become a block of their own, so they stay in the section."""
    out: list[_Block] = []
    for block in blocks:
        out.append(block)
        if block.kind != "heading":
            continue
        heading_end = tokens[block.open_at].map[1]
        if any(line.strip() for line in lines[heading_end : block.end]):
            out.append(_Block("other", block.close_at, block.close_at, heading_end, block.end))
            block.end = heading_end
    return out


@dataclass
class _Doc:
    """The body being read: its lines, their 1-based file line numbers, its tokens."""

    lines: list[str]
    origin: list[int]  # 0-based file line of each body line, -1 for a line lifting added
    tokens: list[Token]
    blocks: list[_Block]

    def line_no(self, index: int) -> int:
        for at in range(min(index, len(self.origin) - 1), -1, -1):
            if self.origin[at] >= 0:
                return self.origin[at] + 1
        return 1

    env: dict = field(default_factory=dict)  # the parse's reference definitions

    def children(self, inline: Token) -> list[Token]:
        """An inline token's children, parsed on first use (references resolve document-wide,
        from ``env``)."""
        if inline.children is None or (not inline.children and inline.content):
            inline.children = []
            parser = reader_parser()
            parser.inline.parse(inline.content, parser, self.env, inline.children)
        return inline.children


def _may_have_heading(lines: list[str]) -> bool:
    """Could any line be a heading (``#`` or a setext underline)? If not, the text is the
    plain form and needs no first parse to tell."""
    for line in lines:
        stripped = line.lstrip(" ")
        if len(line) - len(stripped) > 3 or not stripped:
            continue
        if stripped[0] == "#" or not stripped.strip("=") or not stripped.strip("- \t"):
            return True
    return False


def _parse_body(lines: list[str], origin: list[int]) -> _Doc:
    parser = reader_parser()
    env: dict = {}
    tokens = parser.parse("\n".join(lines), env) if _may_have_heading(lines) else []
    if not any(t.type == "heading_open" and t.level == 0 for t in tokens):
        lines, origin = lift_plain_form(lines, origin)
        env = {}
        tokens = parser.parse("\n".join(lines), env)
    lines, origin, changed = _close_open_fence(lines, origin, tokens)
    escaped = _escape_wiki_pipes_in_tables(lines, tokens)
    if changed or escaped:
        env = {}
        tokens = parser.parse("\n".join(lines), env)
    return _Doc(lines, origin, tokens, _top_blocks(tokens, lines), env)


def _close_open_fence(
    lines: list[str], origin: list[int], tokens: list[Token]
) -> tuple[list[str], list[int], bool]:
    """An unclosed fence ends at end of file; close it so exports keep it closed."""
    fences = [t for t in tokens if t.type == "fence" and t.map]
    last_text = len(lines) - 1
    while last_text > 0 and not lines[last_text].strip():
        last_text -= 1
    if not fences or fences[-1].map[1] <= last_text:
        return lines, origin, False
    fence = fences[-1]
    marker = fence.markup
    tail = lines[last_text].strip()
    if last_text > fence.map[0] and tail.startswith(marker) and not tail.strip(marker[0]):
        return lines, origin, False
    opener = lines[fence.map[0]]
    indent = opener[: len(opener) - len(opener.lstrip())]
    lines = [*lines[: last_text + 1], indent + marker, *lines[last_text + 1 :]]
    return lines, [*origin[: last_text + 1], -1, *origin[last_text + 1 :]], True


def _escape_wiki_pipes_in_tables(lines: list[str], tokens: list[Token]) -> bool:
    """``[[a|alias]]`` in a table row would split the cell: read it as ``[[a\\|alias]]``."""
    changed = False
    for token in tokens:
        if token.type != "table_open" or not token.map:
            continue
        for index in range(token.map[0], token.map[1]):
            line = lines[index]
            if "[[" not in line or "|" not in line:
                continue
            pieces, at = [], 0
            for link in wiki_links(line):
                inner = line[link.start : link.end]
                fixed = inner.replace("\\|", "\x00").replace("|", "\\|").replace("\x00", "\\|")
                pieces += [line[at : link.start], fixed]
                at = link.end
            new = "".join(pieces) + line[at:]
            if new != line:
                lines[index], changed = new, True
    return changed


# --------------------------------------------------------------------------- parse


@dataclass
class _Section:
    heading: str
    kind: str  # canonical name or "extra"
    blocks: list[_Block]
    line: int  # 1-based file line of the heading
    start: int  # body line after the heading
    end: int


def parse_runbook(
    text: str, *, slug: str = "", site_urls: tuple[str, ...] | list[str] = ()
) -> ParsedRunbook:
    """Text of one runbook → ParsedRunbook.

    ``slug`` is the runbook's path slug (relative links resolve against its folder);
    ``site_urls`` are the collection's published base URLs, whose links are runbook links.
    Raises RunbookParseError(message, line) on text that cannot be a runbook.
    """
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise RunbookParseError("file is empty", 1)
    if "\x00" in text:
        raise RunbookParseError(
            "contains a NUL character", text.count("\n", 0, text.index("\x00")) + 1
        )
    lines = [line.rstrip() for line in text.split("\n")]
    front = read_front_matter(lines)
    front_matter = front.data
    body = lines[front.body_start :]
    doc = _parse_body(body, list(range(front.body_start, len(lines))))
    fm_title = front_matter.get("title")
    titled = isinstance(fm_title, str) and bool(fm_title.strip())
    title_at, title, pre_title = _find_title(doc, front.body_start, titled=titled)

    if titled:
        heading = title
        title = " ".join(fm_title.split())
    else:
        heading = ""
    if len(title) > MAX_TITLE_CHARS:
        raise RunbookParseError(
            f"title is {len(title)} characters, over the {MAX_TITLE_CHARS} limit",
            doc.line_no(doc.blocks[title_at].start) if title_at >= 0 else 1,
        )

    fm_slug = front_matter.get("slug")
    # The caller's slug is where the runbook will live (front matter and upload prefix
    # already applied by kb.services); without one, the front matter's is the best guess.
    base_slug = slug or (normalise_slug(str(fm_slug)) if fm_slug else "")
    rb = ParsedRunbook(title=title, slug=base_slug if fm_slug else None)
    rb.front_matter = {
        k: v for k, v in front_matter.items() if k not in {"title", "slug", "tldr", "cause_links"}
    }
    if heading and heading != title:
        rb.front_matter["h1"] = heading
    tags = rb.front_matter.pop("tags", None) or []
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.split(",")]
    rb.tags = [str(t).strip() for t in tags if str(t).strip()] if isinstance(tags, list) else []
    if front_matter.get("category"):
        rb.category = normalise_slug(str(front_matter["category"])) or None
        rb.front_matter.pop("category", None)

    reader = _Reader(rb, doc, base_slug or "", tuple(site_urls))
    preamble, sections = _sections(doc, title_at)
    title_block = doc.blocks[title_at] if title_at >= 0 else None
    title_rest = (
        _join(doc.lines[title_block.start + 1 : title_block.end])
        if title_block is not None and title_block.kind == "paragraph"
        else ""
    )
    reader.read_preamble(pre_title, preamble, front_matter.get("tldr"), title_rest)
    _mark_repeated_groups(sections)
    for section in sections:
        reader.read_section(section)
    reader.collect_links()
    rb.section_order = [kind for kind in rb.section_order if _has_part(rb, kind)]
    rb.warnings = sorted(dict.fromkeys(rb.warnings), key=_warning_line)
    _assign_cause_links(rb, front_matter.get("cause_links"))
    return rb


def _warning_line(warning: str) -> int:
    head = warning.split(":", 1)[0]
    return int(head[5:]) if head.startswith("line ") and head[5:].isdigit() else 0


def _has_part(rb: ParsedRunbook, kind: str) -> bool:
    if kind.startswith("extra:"):
        return True
    if kind == "not_the_issue":
        return bool(rb.not_the_issue_condition or rb.not_the_issue_items or rb.pivots)
    return bool(getattr(rb, kind)) or bool(rb.section_intros.get(kind))


TOC_TEXTS = frozenset({"[[_toc_]]", "[toc]", "[[toc]]", "${toc}", "[_toc_]"})


def _is_badge_line(doc: _Doc, block: _Block) -> bool:
    """A paragraph of only images and links (CI badges, a logo): not a title."""
    inline = doc.tokens[block.open_at + 1]
    depth_ok = {"image", "link_open", "link_close", "softbreak", "hardbreak"}
    children = doc.children(inline)
    return (
        bool(children)
        and all(
            c.type in depth_ok or (c.type == "text" and not c.content.strip()) for c in children
        )
        and any(c.type == "image" for c in children)
    )


def _is_junk(doc: _Doc, block: _Block) -> bool:
    if block.kind == "html":
        return True
    if block.kind == "other" and doc.tokens[block.open_at].type == "hr":
        return True
    return block.kind == "paragraph" and (
        block.text.strip().lower() in TOC_TEXTS or _is_badge_line(doc, block)
    )


def _find_title(
    doc: _Doc, body_start: int, *, titled: bool = False
) -> tuple[int, str, list[_Block]]:
    """(index of the title block, title, blocks before it worth keeping); index -1 when
    the front matter's ``title:`` (``titled``) is the only title, as MkDocs and Hugo pages
    often have it."""
    blocks = doc.blocks
    first_h1 = next((i for i, b in enumerate(blocks) if b.kind == "heading" and b.level == 1), None)
    if titled and first_h1 is None:
        first = next((b for b in blocks if not _is_junk(doc, b)), None)
        if first is None or first.kind != "heading" or section_kind(first.text) is not None:
            return -1, "", []
    kept: list[_Block] = []
    for index, block in enumerate(blocks):
        if _is_junk(doc, block) and (first_h1 is None or index < first_h1):
            if block.kind == "paragraph" and _is_badge_line(doc, block):
                kept.append(block)
            continue
        line = doc.line_no(block.start)
        if block.kind == "heading":
            name = block.text.strip()
            if block.level == 1 or section_kind(name) is None:
                if not name:
                    raise RunbookParseError("no title: the first heading is empty", line)
                return index, name, kept
            raise RunbookParseError(f"no title: the file starts with the section {name!r}", line)
        if first_h1 is not None and block.kind in ("other", "html", "paragraph"):
            # Notes, callouts and banners above the H1 stay, as the start of the summary.
            kept.append(block)
            continue
        if block.kind == "code":
            raise RunbookParseError("no title: the file starts with a code block", line)
        if block.kind == "paragraph":
            first = doc.lines[block.start].strip()
            if label_of(first) is None and section_kind(first) is None:
                return index, _strip_emphasis(first), kept
            if section_kind(first) is not None:
                raise RunbookParseError(
                    f"no title: the file starts with the section {first!r}", line
                )
        raise RunbookParseError(
            "no title: the first line must be the runbook's title, not a list, table or label",
            line,
        )
    raise RunbookParseError("no title: the file has front matter but no text", body_start + 1)


def _sections(doc: _Doc, title_at: int) -> tuple[list[_Block], list[_Section]]:
    after = doc.blocks[title_at + 1 :]
    levels = [b.level for b in after if b.kind == "heading"]
    if not levels:
        return after, []
    # Sections are at the level the known section names use (an "# Appendix" H1 after
    # "## Diagnosis" sections is one more section, not the only one); any heading at or
    # above it starts a section.
    known = [b.level for b in after if b.kind == "heading" and section_kind(b.text)]
    top = min(known) if known else min(levels)
    preamble: list[_Block] = []
    sections: list[_Section] = []
    for block in after:
        if block.kind == "heading" and block.level <= top:
            name = block.text.strip()
            sections.append(
                _Section(
                    name,
                    section_kind(name) or "extra",
                    [],
                    doc.line_no(block.start),
                    block.end,
                    block.end,
                )
            )
        elif sections:
            sections[-1].blocks.append(block)
            sections[-1].end = block.end
        else:
            preamble.append(block)
    return preamble, sections


GROUP_KINDS = ("symptom", "fix_patterns", "checks", "causes")


def _mark_repeated_groups(sections: list[_Section]) -> None:
    """Files made of repeated ``Symptoms`` / ``Resolution`` groups (one per problem) stay
    as the author grouped them: every section of a repeated kind becomes an extra section."""
    counts: dict[str, int] = {}
    for section in sections:
        counts[section.kind] = counts.get(section.kind, 0) + 1
    repeated = {kind for kind in GROUP_KINDS if counts.get(kind, 0) > 1}
    if "symptom" in repeated and len(repeated) >= 2:
        for section in sections:
            if section.kind in repeated:
                section.kind = "extra"


# --------------------------------------------------------------------------- sections


@dataclass
class _Item:
    first: str  # the first paragraph, reflowed ("" when the item starts with a block)
    rest: list[str]  # the remaining lines, dedented, as written
    line: int
    heading: bool = False

    def title_detail(self) -> tuple[str, str]:
        rest = _join(self.rest)
        if not self.first:
            lines = rest.split("\n")
            return _strip_emphasis(lines[0].strip().lstrip("#").strip()), rest
        title, lead = split_title(self.first)
        if lead and rest:
            return title, lead + ("\n\n" if self._blank_before_rest() else "\n") + rest
        return title, lead or rest

    def text(self) -> str:
        rest = _join(self.rest)
        if self.first and rest:
            return self.first + ("\n\n" if self._blank_before_rest() else "\n") + rest
        return self.first or rest

    def _blank_before_rest(self) -> bool:
        return bool(self.rest) and not self.rest[0].strip()

    def attach(self, lines: list[str]) -> None:
        """Add a block below the item, one blank line apart (in place: many blocks under
        one sub-heading stay linear)."""
        body = _strip_blank_edges(lines)
        if not body:
            return
        while self.rest and not self.rest[-1].strip():
            self.rest.pop()
        if self.rest or self.first:
            self.rest.append("")
        self.rest.extend(body)


class _Reader:
    def __init__(self, rb: ParsedRunbook, doc: _Doc, base: str, site_urls: tuple[str, ...]):
        self.rb, self.doc, self.base, self.site_urls = rb, doc, base, site_urls
        self.seen_kinds: set[str] = set()
        self.keys: dict[str, KeyMaker] = {}

    # -- order and labels

    def _saw(self, kind: str) -> None:
        if kind not in self.seen_kinds:
            self.seen_kinds.add(kind)
            self.rb.section_order.append(kind)

    def _take_labels(self, blocks: list[_Block]) -> list[_Block]:
        kept = []
        for block in blocks:
            label = label_of(self.doc.lines[block.start]) if block.kind == "paragraph" else None
            if label is None:
                kept.append(block)
                continue
            kind, first = label
            lines = self.doc.lines[block.start + 1 : self.doc.tokens[block.open_at].map[1]]
            value = _reflow([first, *lines])
            if kind == "symptom" and not self.rb.symptom:
                self.rb.symptom = value
                self._saw("symptom")
            elif kind == "symptom":
                self._add_extra("Symptom", value, block.start)
            else:
                self.rb.signal_examples.append(value)
                self._saw("signal_examples")
        return kept

    def _add_extra(self, title: str, body: str, start: int) -> None:
        self._saw(f"extra:{len(self.rb.extra_sections)}")
        line = self.doc.line_no(start)
        self.rb.extra_sections.append(ParsedSection(title, body, line=line))

    def _slice(self, blocks: list[_Block]) -> str:
        if not blocks:
            return ""
        return _join(self.doc.lines[blocks[0].start : blocks[-1].end])

    def _blocks_text(self, blocks: list[_Block]) -> str:
        return "\n\n".join(t for t in (_join(self.doc.lines[b.start : b.end]) for b in blocks) if t)

    # -- preamble and sections

    def read_preamble(
        self, pre_title: list[_Block], preamble: list[_Block], tldr: Any, title_rest: str
    ) -> None:
        """The summary: what stands between the title and the first section, with what
        stood above an H1 (notes, banners) and the rest of a plain title's paragraph."""
        kept_before = self._take_labels(pre_title)
        framed = _without_edge_rules(self.doc, preamble)
        kept = self._take_labels(framed)
        # Verbatim when nothing was taken out; else block by block (labels left out).
        body = self._slice(kept) if len(kept) == len(framed) else self._blocks_text(kept)
        parts = (self._blocks_text(kept_before), title_rest, body)
        summary = "\n\n".join(t for t in parts if t)
        if isinstance(tldr, str) and tldr.strip():
            if summary:
                start = (kept_before or kept)[0].start if (kept_before or kept) else 0
                self._add_extra("Introduction", summary, start)
            summary = " ".join(tldr.split())
        self.rb.summary = summary

    def read_section(self, section: _Section) -> None:
        all_blocks = _without_edge_rules(self.doc, section.blocks)
        kind = section.kind
        if kind == "symptom" and self.rb.symptom:
            kind = "extra"
        if kind != "extra":
            self._saw(kind)
        blocks = self._take_labels(all_blocks)
        if kind == "extra":
            body = (
                self._slice(blocks) if len(blocks) == len(all_blocks) else self._blocks_text(blocks)
            )
            self._saw(f"extra:{len(self.rb.extra_sections)}")
            self.rb.extra_sections.append(ParsedSection(section.heading, body, line=section.line))
            return
        self._saw(kind)
        if kind == "symptom":
            self.rb.symptom = (
                self._slice(blocks)
                if len(blocks) == len(all_blocks)
                else (self._blocks_text(blocks))
            )
            return
        if kind in ("patterns", "drill_paths"):
            self._read_table_section(kind, blocks)
        elif kind == "not_the_issue":
            self._read_not_the_issue(blocks)
        elif kind == "connections":
            self._read_connections(blocks)
        else:
            intro, items = self._items(blocks)
            self._set_intro(kind, intro)
            self._apply_items(kind, items)

    def _set_intro(self, kind: str, intro: list[str]) -> None:
        text = _join(intro)
        if text:
            old = self.rb.section_intros.get(kind)
            self.rb.section_intros[kind] = f"{old}\n\n{text}" if old else text

    def _apply_items(self, kind: str, items: list[_Item]) -> None:
        rb = self.rb
        key = self.keys.setdefault(kind, KeyMaker())
        if kind == "causes":
            for item in items:
                title, detail = item.title_detail()
                rb.causes.append(ParsedCause(key(title), title, detail, line=item.line))
        elif kind == "checks":
            for item in items:
                title, detail = item.title_detail()
                title, minutes = split_minutes(title)
                rb.checks.append(ParsedCheck(key(title), title, detail, minutes, line=item.line))
        elif kind == "fix_patterns":
            for item in items:
                text = item.text()
                label = text.split("\n", 1)[0].split(" — ", 1)[0]
                rb.fix_patterns.append(ParsedFix(key(label), text, line=item.line))
        else:  # signal_examples, open_questions, related_reading
            getattr(rb, kind).extend(item.text() for item in items)

    # -- items

    def _items(self, blocks: list[_Block]) -> tuple[list[str], list[_Item]]:
        """A list-like section's blocks → (intro lines, items), losing no text.

        List items and paragraphs are items; a sub-heading is an item whose detail is
        everything up to the next sub-heading; code, tables, HTML, quotes and callouts
        attach to the item before; a lead-in paragraph ending in ``:`` followed by a list
        is not an item (it opens the section, or joins the item before).
        """
        doc = self.doc
        intro: list[str] = []
        items: list[_Item] = []
        under_heading = False
        for at, block in enumerate(blocks):
            source = doc.lines[block.start : block.end]
            if block.kind == "heading":
                items.append(_Item(block.text.strip(), [], doc.line_no(block.start), True))
                under_heading = True
                continue
            if under_heading:
                items[-1].attach(source)
                continue
            if block.kind == "list":
                items.extend(self._list_items(block))
                continue
            nxt = blocks[at + 1] if at + 1 < len(blocks) else None
            if block.kind == "paragraph":
                if block.text.rstrip().endswith(":") and nxt is not None and nxt.kind == "list":
                    (items[-1].attach if items else intro.extend)(source)
                    continue
                if block.text.strip().lower() in TOC_TEXTS:
                    continue
                paragraph_end = doc.tokens[block.open_at].map[1]
                first = _reflow(doc.lines[block.start : paragraph_end])
                rest = doc.lines[paragraph_end : block.end]
                items.append(_Item(first, rest, doc.line_no(block.start)))
                continue
            if items:
                items[-1].attach(source)
            else:
                intro.extend(["", *source] if intro else source)
        return intro, items

    def _list_items(self, block: _Block) -> list[_Item]:
        doc = self.doc
        tokens = doc.tokens
        opens = [
            i
            for i in range(block.open_at + 1, block.close_at)
            if tokens[i].type == "list_item_open" and tokens[i].level == 1 and tokens[i].map
        ]
        items = []
        for n, at in enumerate(opens):
            start = tokens[at].map[0]
            end = tokens[opens[n + 1]].map[0] if n + 1 < len(opens) else block.end
            first_line = doc.lines[start]
            width = _item_width(first_line)
            body = [first_line[width:] if len(first_line) > width else ""]
            body += [_dedent(line, width) for line in doc.lines[start + 1 : end]]
            child = tokens[at + 1] if at + 1 < len(tokens) else None
            if child is not None and child.type in ("paragraph_open", "html_block") and child.map:
                split = max(1, child.map[1] - start)
                first = _strip_task(_reflow(body[:split]))
                items.append(_Item(first, body[split:], doc.line_no(start)))
            else:
                items.append(_Item("", body, doc.line_no(start)))
        return items

    # -- tables, pivots, connections

    def _cells(self, block: _Block) -> list[tuple[int, list[Token]]]:
        """Body rows of a table: (body line, the inline token of each cell)."""
        rows: list[tuple[int, list[Token]]] = []
        in_body = False
        for token in self.doc.tokens[block.open_at : block.close_at + 1]:
            if token.type == "tbody_open":
                in_body = True
            elif token.type == "tr_open" and in_body:
                rows.append((token.map[0] if token.map else block.start, []))
            elif token.type == "inline" and in_body and rows:
                rows[-1][1].append(token)
        return rows

    def _read_table_section(self, kind: str, blocks: list[_Block]) -> None:
        rb, doc = self.rb, self.doc
        rows: list[tuple[int, list[str], list[Token]]] = []
        intro: list[str] = []
        for block in blocks:
            if block.kind == "table":
                for line, cells in self._cells(block):
                    texts = [c.content.replace("\\|", "|").strip() for c in cells]
                    rows.append((doc.line_no(line), texts, cells))
            elif block.kind == "list":
                for item in self._list_items(block):
                    title, detail = item.title_detail()
                    rows.append((item.line, [title, detail], []))
            else:
                intro.extend(["", *doc.lines[block.start : block.end]])
        self._set_intro(kind, intro)
        key = self.keys.setdefault("patterns", KeyMaker())
        for line, cells, tokens in rows:
            if len(cells) < 2 or not cells[0]:
                rb.warnings.append(f"line {line}: table row needs two cells, skipped")
                continue
            if kind == "patterns":
                rb.patterns.append(
                    ParsedPattern(key(cells[0]), cells[0], " | ".join(cells[1:]), line=line)
                )
                continue
            target = self._cell_target(cells[1], tokens[1] if len(tokens) > 1 else None, line)
            if target is None:
                rb.warnings.append(f"line {line}: drill path {cells[1]!r} is not a runbook slug")
                continue
            # Columns past "Go to" ("When", "Owner") stay with the suspect, not dropped.
            suspect = " — ".join([cells[0], *(c for c in cells[2:] if c)])
            rb.drill_paths.append(ParsedLink(target, suspect, line=line))

    def _cell_target(self, text: str, inline: Token | None, line: int) -> str | None:
        found = self._links_in_inline(inline, line) if inline is not None else []
        if not found:
            found = self._links_in_text(text, line)
        return found[0] if found else (bare_slug(text) or None)

    def _read_not_the_issue(self, blocks: list[_Block]) -> None:
        rb, doc = self.rb, self.doc
        for block in blocks:
            text = _reflow(doc.lines[block.start : block.end]) if block.kind == "paragraph" else ""
            if text.lower().startswith("pivot to "):
                target, rest = self._pivot_target(text[len("pivot to ") :], block)
                if target:
                    rb.pivots.append(ParsedLink(target, rest, line=doc.line_no(block.start)))
                    continue
            if (
                block.kind == "paragraph"
                and not rb.not_the_issue_condition
                and not (rb.not_the_issue_items)
            ):
                rb.not_the_issue_condition = text
            elif block.kind == "list":
                rb.not_the_issue_items.extend(item.text() for item in self._list_items(block))
            else:
                rb.not_the_issue_items.append(text or _join(doc.lines[block.start : block.end]))

    def _pivot_target(self, rest: str, block: _Block) -> tuple[str | None, str]:
        line = self.doc.line_no(block.start)
        rest = rest.strip()
        if rest.startswith("[["):
            end = rest.find("]]")
            if end != -1:
                found = self._links_in_text(rest[: end + 2], line)
                alias = rest[2:end].replace("\\|", "|").partition("|")[2].strip()
                return (found[0] if found else None), f"{alias} {rest[end + 2 :]}".strip()
        if rest.startswith("["):
            inline = self.doc.tokens[block.open_at + 1]
            found = self._links_in_inline(inline, line)
            label_end, close = rest.find("]("), rest.find(")")
            if found and 0 < label_end < close:
                # The link's words describe the pivot too: keep them with the rest.
                return found[0], f"{rest[1:label_end]} {rest[close + 1 :].strip()}".strip()
        word, _, after = rest.partition(" ")
        slug = bare_slug(word)
        return (slug or None), after.strip()

    def _read_connections(self, blocks: list[_Block]) -> None:
        seen = {c.target for c in self.rb.connections}
        doc = self.doc
        prose: list[str] = []
        for block in blocks:
            line = doc.line_no(block.start)
            found = self._links_in_blocks([block])
            source = _join(doc.lines[block.start : block.end])
            text = source
            for char in "·•,;":
                text = text.replace(char, "\n")
            pieces = [p.strip().lstrip("-*+").strip() for p in text.split("\n")]
            pieces = [p for p in pieces if p]
            if not all(_is_link_piece(p) for p in pieces):
                # Alert names, notes, prose: kept as written, links still read.
                prose.append(source)
            found += [
                (slug, line)
                for p in pieces
                if _is_link_piece(p) and (slug := bare_slug(p.strip("`")))
            ]
            for slug, at in found:
                if slug not in seen:
                    seen.add(slug)
                    self.rb.connections.append(ParsedLink(slug, line=at))
        self._set_intro("connections", ["\n\n".join(prose)] if prose else [])
        self._saw("connections")

    # -- links

    def _target(self, found: LinkTarget | None, line: int) -> str | None:
        if found is None:
            return None
        if found.problem:
            self.rb.warnings.append(f"line {line}: {found.problem}")
            return None
        return found.slug

    def _links_in_text(self, text: str, line: int) -> list[str]:
        out = []
        for link in wiki_links(text):
            if ".." in link.target.split("/"):
                self.rb.warnings.append(
                    f"line {line}: wiki-link [[{link.target}]] leads outside the collection"
                )
                continue
            slug = wiki_slug(link.target)
            if slug:
                out.append(slug)
        for ref in hugo_refs(text):
            slug = self._target(resolve_href(ref, self.base, self.site_urls), line)
            if slug:
                out.append(slug)
        return out

    def _links_in_inline(self, inline: Token, line: int) -> list[str]:
        out = []
        plain = []
        text = inline.content
        if "[" not in text and "<" not in text and not (self.site_urls and "://" in text):
            # No link, wiki-link, autolink or shortcode can be here: skip the inline parse.
            return []
        for child in self.doc.children(inline):
            if child.type == "link_open":
                href = str(child.attrs.get("href", ""))
                slug = self._target(resolve_href(href, self.base, self.site_urls), line)
                if slug:
                    out.append(slug)
            elif child.type == "text":
                plain.append(child.content)
            elif child.type in ("softbreak", "hardbreak"):
                plain.append("\n")
            else:
                plain.append(" ")
        return out + self._links_in_text("".join(plain), line)

    def _links_in_blocks(self, blocks: list[_Block]) -> list[tuple[str, int]]:
        found: list[tuple[str, int]] = []
        for block in blocks:
            for token in self.doc.tokens[block.open_at : block.close_at + 1]:
                if token.type == "inline":
                    line = self.doc.line_no(token.map[0] if token.map else block.start)
                    found += [(slug, line) for slug in self._links_in_inline(token, line)]
        return found

    def collect_links(self) -> None:
        """Runbook links anywhere outside code become connections (with their line)."""
        rb = self.rb
        # Drill paths and pivots are links of their own kind, not also connections.
        seen = {link.target for link in (*rb.connections, *rb.drill_paths, *rb.pivots)}
        for slug, line in self._links_in_blocks(self.doc.blocks):
            if slug not in seen and slug != self.base:
                seen.add(slug)
                rb.connections.append(ParsedLink(slug, line=line))
        if rb.connections:
            self._saw("connections")


def _is_link_piece(piece: str) -> bool:
    """Is this one entry of a Connections list only a link (``cloud/kubernetes``,
    ``[[dns]]``, ``[DNS](../net/dns.md)``), not prose?"""
    if "/" in piece and bare_slug(piece.strip("`")):
        return True
    if bare_slug(piece) == piece:
        # A lone lowercase slug ("dns-resolution"); a `CodeName` or an AlertName is not.
        return True
    if piece.startswith("[[") and piece.endswith("]]") and piece.count("[[") == 1:
        return True
    return piece.startswith("[") and piece.endswith(")") and piece.count("](") == 1


def _is_rule(doc: _Doc, block: _Block) -> bool:
    return block.kind == "other" and doc.tokens[block.open_at].type == "hr"


def _without_edge_rules(doc: _Doc, blocks: list[_Block]) -> list[_Block]:
    """Thematic breaks that frame a section (``---`` between sections) are decoration."""
    start, end = 0, len(blocks)
    while start < end and _is_rule(doc, blocks[start]):
        start += 1
    while end > start and _is_rule(doc, blocks[end - 1]):
        end -= 1
    kept = blocks[start:end]
    if end < len(blocks) and kept:
        # The last kept block's lines stop where the rule starts.
        last = kept[-1]
        kept[-1] = _Block(
            last.kind,
            last.open_at,
            last.close_at,
            last.start,
            blocks[end].start,
            last.level,
            last.text,
        )
    return kept


def _item_width(line: str) -> int:
    """Columns from the start of a list item's first line to its content."""
    width = _leading_width(line)
    text = line.expandtabs(4)[width:] if "\t" in line else line[width:]
    marker = 1
    if text[:1].isdigit():
        while marker < len(text) and text[marker].isdigit():
            marker += 1
        marker += 1  # the "." or ")"
    spaces = len(text[marker:]) - len(text[marker:].lstrip(" "))
    if spaces == 0 or spaces > 4 or not text[marker:].strip():
        spaces = 1
    return width + marker + spaces


def _assign_cause_links(rb: ParsedRunbook, explicit: Any) -> None:
    """Explicit links from front matter win; every other item gets proposals."""
    explicit = explicit if isinstance(explicit, dict) else {}
    known = {c.key for c in rb.causes}
    cause_texts = [(c.key, f"{c.title} {c.detail}") for c in rb.causes]

    def chosen(group: str, key: str, text: str) -> tuple[list[str], bool]:
        group_links = explicit.get(group)
        given = group_links.get(key) if isinstance(group_links, dict) else None
        if isinstance(given, list):
            return [str(k) for k in given if str(k) in known], True
        return propose_cause_links(text, cause_texts), False

    for p in rb.patterns:
        p.causes, p.confirmed = chosen("patterns", p.key, f"{p.observation} {p.diagnosis}")
    for c in rb.checks:
        c.causes, c.confirmed = chosen("checks", c.key, f"{c.title} {c.detail}")
    for f in rb.fix_patterns:
        f.causes, f.confirmed = chosen("fixes", f.key, f.text)


# --------------------------------------------------------------------------- writing


def render_runbook(rb: ParsedRunbook) -> str:
    """ParsedRunbook → Markdown source form that parses back to an equal runbook, with the
    sections in the author's order (``section_order``)."""
    out: list[str] = []
    fm: dict[str, Any] = {}
    front = dict(rb.front_matter)
    heading = front.pop("h1", None)
    if isinstance(heading, str) and heading.strip() and heading.strip() != rb.title:
        fm["title"] = rb.title
    else:
        heading = rb.title
    if rb.slug:
        fm["slug"] = rb.slug
    if rb.category:
        fm["category"] = rb.category
    if rb.tags:
        fm["tags"] = list(rb.tags)
    fm.update(front)
    links = _confirmed_links(rb)
    if links:
        fm["cause_links"] = links
    if fm:
        out += ["---", yaml.safe_dump(fm, sort_keys=False, allow_unicode=True).rstrip(), "---", ""]
    out += [f"# {_one_line(str(heading))}", ""]
    if rb.summary:
        out += [rb.summary, ""]
    parts = _parts(rb)
    # dict keys: ordered and unique, so a long order stays linear.
    order = dict.fromkeys(k for k in rb.section_order if k in parts)
    order.update(dict.fromkeys(k for k in CANONICAL_ORDER if k in parts))
    order.update(dict.fromkeys(parts))
    for kind in order:
        out += parts[kind]
    return "\n".join(out).rstrip("\n") + "\n"


def _parts(rb: ParsedRunbook) -> dict[str, list[str]]:
    """Each section the runbook has → its Markdown lines."""
    parts: dict[str, list[str]] = {}
    intros = rb.section_intros

    def section(kind: str, body: list[str]) -> None:
        lines = [f"## {SECTION_HEADINGS[kind]}", ""]
        if intros.get(kind):
            lines += [intros[kind], ""]
        parts[kind] = lines + body

    if rb.symptom:
        if "\n" in rb.symptom or _starts_block(rb.symptom):
            parts["symptom"] = ["## Symptom", "", rb.symptom, ""]
        else:
            parts["symptom"] = [f"**Symptom:** {rb.symptom}", ""]
    if rb.patterns or intros.get("patterns"):
        rows = [f"| {_cell(p.observation)} | {_cell(p.diagnosis)} |" for p in rb.patterns]
        section("patterns", ["| Pattern | Likely cause |", "|---|---|", *rows, ""])
    if rb.causes or intros.get("causes"):
        section("causes", [*(_item(c.title, c.detail) for c in rb.causes), ""])
    if rb.checks or intros.get("checks"):
        section(
            "checks",
            [
                *(
                    _item(
                        f"{c.title} (~{c.minutes} min)" if c.minutes is not None else c.title,
                        c.detail,
                    )
                    for c in rb.checks
                ),
                "",
            ],
        )
    if intros.get("signal_examples"):
        section("signal_examples", [])
    if rb.signal_examples:
        parts["signal_examples"] = parts.get("signal_examples", []) + [
            line
            for example in rb.signal_examples
            for line in (f"**Signal example:** {example}", "")
        ]
    if rb.drill_paths or intros.get("drill_paths"):
        rows = [f"| {_cell(d.text)} | {d.target} |" for d in rb.drill_paths]
        section("drill_paths", ["| Suspect | Go to |", "|---|---|", *rows, ""])
    if rb.fix_patterns or intros.get("fix_patterns"):
        section("fix_patterns", [*(_text_item(f.text) for f in rb.fix_patterns), ""])
    if rb.not_the_issue_condition or rb.not_the_issue_items or rb.pivots:
        body = [rb.not_the_issue_condition, ""] if rb.not_the_issue_condition else []
        body += [*(_text_item(t) for t in rb.not_the_issue_items), ""]
        for p in rb.pivots:
            body += [f"Pivot to {p.target} {p.text}".rstrip(), ""]
        section("not_the_issue", body)
    if rb.connections or intros.get("connections"):
        section("connections", [" · ".join(c.target for c in rb.connections), ""])
    for kind in ("open_questions", "related_reading"):
        values = getattr(rb, kind)
        if values or intros.get(kind):
            section(kind, [*(_text_item(t) for t in values), ""])
    for index, extra in enumerate(rb.extra_sections):
        lines = [f"## {_one_line(extra.title)}", ""]
        parts[f"extra:{index}"] = lines + ([extra.body, ""] if extra.body else [])
    return parts


def _one_line(text: str) -> str:
    text = text.replace("\r", " ").replace("\n", " ").strip()
    # A heading's trailing #s would be read as its closing sequence: add one to be read.
    return text + " #" if text.endswith("#") else text


def _confirmed_links(rb: ParsedRunbook) -> dict[str, dict[str, list[str]]]:
    links: dict[str, dict[str, list[str]]] = {}
    groups = (("patterns", rb.patterns), ("checks", rb.checks), ("fixes", rb.fix_patterns))
    for group, items in groups:
        chosen = {item.key: list(item.causes) for item in items if item.confirmed}
        if chosen:
            links[group] = chosen
    return links


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _starts_block(text: str) -> bool:
    first = text.split("\n", 1)[0]
    stripped = first.lstrip()
    return (
        is_list_line(first)
        or stripped.startswith(("|", "<", "#", "```", "~~~", ">", "!!!", ":::"))
        or (len(stripped) >= 3 and set(stripped.replace(" ", "")) <= set("-*_="))
        or _leading_width(first) >= 4
    )


def _indent_block(text: str) -> list[str]:
    return ["  " + line if line else "" for line in text.split("\n")]


def _item(title: str, detail: str) -> str:
    if not detail:
        return f"- {title}"
    if "\n" not in detail and not _starts_block(detail):
        return f"- {title} — {detail}"
    return "\n".join([f"- {title} —", "", *_indent_block(detail), ""])


def _text_item(text: str) -> str:
    if "\n" not in text:
        return f"- {text}"
    first, rest = text.split("\n", 1)
    blank = [""] if rest.startswith("\n") else []
    return "\n".join([f"- {first}", *blank, *_indent_block(rest.lstrip("\n")), ""])
