"""Read and write runbooks as text. Pure: no ORM, no templates, no I/O.

Three input shapes are accepted (DESIGN.md §4):

* the seed's plain form — section names alone on a line, ``Symptom:`` labels;
* the same in Markdown source form — ``#`` title, ``##`` sections, front matter, bold labels,
  numbered and task lists, ``[[wiki/links]]``;
* generic public runbooks, whose section names are mapped through ``SECTION_ALIASES``;
  sections we do not know are kept verbatim as extra sections.

``render_runbook`` writes the Markdown source form; parsing its output gives back an equal
``ParsedRunbook`` (the round trip the export relies on).
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from django.utils.text import slugify

from kb.front_matter import read_front_matter
from kb.linking import propose_cause_links
from kb.parse_errors import RunbookParseError

MAX_RUNBOOK_BYTES = 2 * 1024 * 1024
MAX_TITLE_CHARS = 300
KEY_MAX_CHARS = 60

SECTION_ALIASES: dict[str, str] = {
    "symptom": "symptom",
    "symptoms": "symptom",
    "meaning": "symptom",
    "overview": "symptom",
    "alert description": "symptom",
    "quick diagnosis": "patterns",
    "patterns": "patterns",
    "likely causes": "causes",
    "causes": "causes",
    "possible causes": "causes",
    "common causes": "causes",
    "first checks": "checks",
    "checks": "checks",
    "diagnosis": "checks",
    "possible checks": "checks",
    "troubleshooting": "checks",
    "signal example": "signal_examples",
    "signal examples": "signal_examples",
    "drill paths": "drill_paths",
    "fix patterns": "fix_patterns",
    "fixes": "fix_patterns",
    "mitigation": "fix_patterns",
    "resolution": "fix_patterns",
    "potential resolution steps": "fix_patterns",
    "solutions": "fix_patterns",
    "remediation": "fix_patterns",
    "when this is not the issue": "not_the_issue",
    "connections": "connections",
    "related runbooks": "connections",
    "open questions": "open_questions",
    "related reading": "related_reading",
    "further reading": "related_reading",
}

# Headings the writer uses; the parenthetical hints are the seed's own.
SECTION_HEADINGS = {
    "patterns": "Quick Diagnosis",
    "causes": "Likely Causes (ranked by frequency)",
    "checks": "First Checks (fastest signal first)",
    "drill_paths": "Drill Paths",
    "fix_patterns": "Fix Patterns",
    "not_the_issue": "When This Is Not the Issue",
    "connections": "Connections",
    "open_questions": "Open Questions",
    "related_reading": "Related reading",
}


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
    warnings: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- decoding


def decode_runbook_bytes(data: bytes, *, max_bytes: int = MAX_RUNBOOK_BYTES) -> str:
    """Bytes from a file or upload → text, or a RunbookParseError naming the line."""
    if len(data) > max_bytes:
        raise RunbookParseError(
            f"file is {len(data) / 1024 / 1024:.1f} MB, over the "
            f"{max_bytes / 1024 / 1024:.0f} MB limit",
            1,
        )
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
    """``Cloud/Blue Green.md`` → ``cloud/blue-green``: each path segment slugified."""
    stem, _ext = posixpath.splitext(relative_path.replace("\\", "/"))
    segments = [slugify(part) for part in stem.split("/") if part not in ("", ".")]
    if not segments or not all(segments):
        raise RunbookParseError(f"cannot make a slug from path {relative_path!r}", 1)
    return "/".join(segments)


def normalise_slug(value: str) -> str:
    return "/".join(slugify(part) for part in value.strip().strip("/").split("/") if part)


# --------------------------------------------------------------------------- line helpers

FENCE_RE = re.compile(r"^\s*(`{3,}|~{3,})")
ATX_RE = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
LIST_RE = re.compile(r"^( {0,3})([-*+]|\d{1,9}[.)])( +|$)(\[[ xX]\] +)?")
HR_RE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
TABLE_SEP_RE = re.compile(r"^\|?\s*:?-{1,}:?\s*(\|\s*:?-{1,}:?\s*)*\|?\s*$")
LABEL_RE = re.compile(
    r"^(?:\*\*|__)?(symptom|signal example)(?:\*\*|__)?\s*:\s*(?:\*\*|__)?\s*(.*)$",
    re.IGNORECASE,
)
PIVOT_RE = re.compile(r"^pivot to\s+(.*)$", re.IGNORECASE)
WIKI_RE = re.compile(r"\[\[([^\]|#]+)(?:[|#][^\]]*)?\]\]")
MD_LINK_RE = re.compile(r"\]\(\s*([^)\s]+?\.md)(?:#[^)\s]*)?\s*(?:\"[^\"]*\")?\)")
BARE_SLUG_RE = re.compile(r"^[A-Za-z0-9][\w\-]*(?:/[\w\-]+)*$")
DASH_SPLIT_RE = re.compile(r"^(.*?\S)\s+(?:—|–|--)(?:\s+(.*))?$")
SENTENCE_RE = re.compile(r"^(.{8,}?[.!?])\s+(\S.*)$")
MINUTES_RE = re.compile(r"\s*\(~?\s*(\d{1,4})\s*(?:min|mins|minutes|m)\)\s*$", re.IGNORECASE)
NO_LAZY_RE = re.compile(r"^(pivot to\s|\|)", re.IGNORECASE)


def _fence_mask(lines: list[str]) -> list[str | None]:
    """Each line's place in a code fence: "open", "in", "close" or None. Unclosed → EOF."""
    roles: list[str | None] = [None] * len(lines)
    opener: str | None = None
    for i, line in enumerate(lines):
        m = FENCE_RE.match(line)
        if opener is None:
            if m:
                opener = m.group(1)
                roles[i] = "open"
        elif (
            m
            and m.group(1)[0] == opener[0]
            and len(m.group(1)) >= len(opener)
            and not line.strip()[len(m.group(1)) :].strip()
        ):
            roles[i] = "close"
            opener = None
        else:
            roles[i] = "in"
    return roles


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _normalise_heading(text: str) -> str:
    text = re.sub(r"[*_`]", "", text).strip().rstrip(":").strip()
    text = re.sub(r"\s*\([^)]*\)\s*$", "", text)
    return re.sub(r"\s+", " ", text).lower()


def _strip_blank_edges(lines: list[str]) -> list[str]:
    start, end = 0, len(lines)
    while start < end and (not lines[start].strip() or HR_RE.match(lines[start])):
        start += 1
    while end > start and (not lines[end - 1].strip() or HR_RE.match(lines[end - 1])):
        end -= 1
    return lines[start:end]


def _reflow(lines: list[str]) -> str:
    return " ".join(line.strip() for line in lines if line.strip())


def make_key(text: str, taken: set[str]) -> str:
    base = slugify(re.sub(r"\[\[|\]\]", "", text))
    if len(base) > KEY_MAX_CHARS:
        # Cut at a word boundary so keys stay readable in URLs and exports.
        base = base[: KEY_MAX_CHARS + 1].rsplit("-", 1)[0]
    base = base.strip("-") or "item"
    key, n = base, 2
    while key in taken:
        key = f"{base}-{n}"
        n += 1
    taken.add(key)
    return key


# --------------------------------------------------------------------------- blocks


@dataclass
class _Block:
    kind: str  # item | heading | para | other
    lines: list[str]
    first_para: str = ""  # item: its first paragraph, reflowed
    rest: list[str] = field(default_factory=list)  # item: the remaining lines, dedented
    rest_after_blank: bool = False


def _split_blocks(lines: list[str], fenced: list[str | None]) -> list[_Block]:
    blocks: list[_Block] = []
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        if not line.strip() or HR_RE.match(line) and not fenced[i]:
            i += 1
            continue
        if fenced[i]:
            start = i
            i += 1
            while i < n and fenced[i] in ("in", "close"):
                i += 1
                if fenced[i - 1] == "close":
                    break
            blocks.append(_Block("other", lines[start:i]))
            continue
        heading = ATX_RE.match(line)
        if heading:
            blocks.append(_Block("heading", [heading.group(2).strip()]))
            i += 1
            continue
        item = LIST_RE.match(line)
        if item:
            i = _read_item(lines, fenced, i, item, blocks)
            continue
        if line.lstrip().startswith("|"):
            start = i
            while i < n and lines[i].lstrip().startswith("|") and not fenced[i]:
                i += 1
            blocks.append(_Block("other", lines[start:i]))
            continue
        if line.lstrip().startswith("<") or _indent(line) >= 4:
            start = i
            i += 1
            while i < n and lines[i].strip() and not fenced[i]:
                i += 1
            blocks.append(_Block("other", lines[start:i]))
            continue
        start = i
        i += 1
        while (
            i < n
            and lines[i].strip()
            and not fenced[i]
            and not ATX_RE.match(lines[i])
            and not LIST_RE.match(lines[i])
            and not NO_LAZY_RE.match(lines[i].lstrip())
        ):
            i += 1
        blocks.append(_Block("para", lines[start:i]))
    return blocks


def _read_item(
    lines: list[str], fenced: list[str | None], i: int, m: re.Match, blocks: list[_Block]
) -> int:
    n = len(lines)
    width = len(m.group(0)) if m.group(3) else len(m.group(1)) + len(m.group(2)) + 1
    first = [lines[i][len(m.group(0)) :]]
    i += 1
    # Lazy and indented continuation of the first paragraph.
    while i < n and lines[i].strip() and not fenced[i]:
        line = lines[i]
        if LIST_RE.match(line.lstrip()) or ATX_RE.match(line) or NO_LAZY_RE.match(line.lstrip()):
            break
        if HR_RE.match(line):
            break
        first.append(line)
        i += 1
    rest: list[str] = []
    after_blank = False
    in_fence = False
    while i < n:
        line = lines[i]
        if in_fence:
            rest.append(line[min(width, _indent(line)) :])
            in_fence = fenced[i] != "close"
            i += 1
            continue
        if not line.strip():
            # A blank line continues the item only if indented content follows.
            j = i
            while j < n and not lines[j].strip():
                j += 1
            if j < n and _indent(lines[j]) >= width:
                if rest:
                    rest.extend([""] * (j - i))
                else:
                    after_blank = True
                i = j
                continue
            break
        if _indent(line) < width:
            break
        rest.append(line[width:])
        in_fence = fenced[i] == "open"
        i += 1
    blocks.append(
        _Block(
            "item",
            [],
            first_para=_reflow(first),
            rest=rest,
            rest_after_blank=after_blank,
        )
    )
    return i


def _split_title(first: str) -> tuple[str, str]:
    m = DASH_SPLIT_RE.match(first)
    if m:
        return m.group(1).strip(), (m.group(2) or "").strip()
    m = SENTENCE_RE.match(first)
    if m and len(m.group(1)) <= 200:
        return m.group(1).strip(), m.group(2).strip()
    return first.strip(), ""


def _join_detail(lead: str, rest: list[str], after_blank: bool) -> str:
    rest_text = "\n".join(_strip_blank_edges(rest)) if rest else ""
    if lead and rest_text:
        return lead + ("\n\n" if after_blank else "\n") + rest_text
    return lead or rest_text


def _items(blocks: list[_Block]) -> list[tuple[str, str]]:
    """Blocks of a list-like section → (title, detail) pairs, losing no text.

    List items and paragraphs are items; a ``###`` heading is an item whose detail is
    everything up to the next heading; code, tables and HTML attach to the item before.
    """
    items: list[list[Any]] = []  # [title, detail]
    under_heading = False
    for block in blocks:
        if block.kind == "heading":
            items.append([block.lines[0], ""])
            under_heading = True
            continue
        raw = _block_text(block)
        if under_heading:
            items[-1][1] = (items[-1][1] + "\n\n" + raw).strip("\n")
            continue
        if block.kind == "item":
            title, lead = _split_title(block.first_para)
            items.append([title, _join_detail(lead, block.rest, block.rest_after_blank)])
        elif block.kind == "para":
            title, lead = _split_title(_reflow(block.lines))
            items.append([title, lead])
        elif items:
            items[-1][1] = (items[-1][1] + "\n\n" + raw).strip("\n")
        else:
            items.append(["", raw])
    result = []
    for title, detail in items:
        if not title:
            title, detail = _split_title(detail.split("\n", 1)[0])[0], detail
        result.append((title, detail))
    return result


def _block_text(block: _Block) -> str:
    if block.kind == "item":
        head = block.first_para
        if block.rest:
            sep = "\n\n" if block.rest_after_blank else "\n"
            head += sep + "\n".join("  " + r if r else "" for r in block.rest)
        return "- " + head
    return "\n".join(block.lines)


def _texts(blocks: list[_Block]) -> list[str]:
    """Blocks of a simple list section → one string per item, its first line unsplit."""
    out: list[str] = []
    under_heading = False
    for block in blocks:
        if block.kind == "heading":
            out.append(block.lines[0])
            under_heading = True
            continue
        if under_heading or (block.kind == "other" and out):
            out[-1] = out[-1] + "\n\n" + _block_text(block)
        elif block.kind == "item":
            rest = "\n".join(_strip_blank_edges(block.rest))
            sep = "\n\n" if block.rest_after_blank else "\n"
            out.append(block.first_para + (sep + rest if rest else ""))
        elif block.kind == "para":
            out.append(_reflow(block.lines))
        else:
            out.append(_block_text(block))
    return out


# --------------------------------------------------------------------------- links


def resolve_link(target: str, base_slug: str) -> str | None:
    """A link target as written → a runbook slug, or None when it is not a runbook link."""
    target = target.strip().strip("<>")
    if not target or re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("#"):
        return None
    if target.endswith(".md") or target.startswith(("./", "../")):
        if target.startswith("/"):
            return None
        base_dir = posixpath.dirname(base_slug)
        joined = posixpath.normpath(posixpath.join(base_dir, target))
        if joined.startswith(".."):
            return None
        try:
            return slug_from_path(joined)
        except RunbookParseError:
            return None
    target = target.rstrip(".,;:")
    if BARE_SLUG_RE.match(target):
        return normalise_slug(target) or None
    return None


def _links_in_text(text: str, base_slug: str) -> list[str]:
    found = []
    for m in WIKI_RE.finditer(text):
        slug = normalise_slug(m.group(1))
        if slug:
            found.append(slug)
    for m in MD_LINK_RE.finditer(text):
        slug = resolve_link(m.group(1), base_slug)
        if slug:
            found.append(slug)
    return found


def _link_cell(text: str, base_slug: str) -> str | None:
    links = _links_in_text(text, base_slug)
    if links:
        return links[0]
    return resolve_link(text.strip().strip("`"), base_slug)


# --------------------------------------------------------------------------- tables


def _split_row(line: str) -> list[str]:
    cells, buf, in_code = [], [], False
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body) and body[i + 1] == "|":
            buf.append("|")
            i += 2
            continue
        if ch == "`":
            in_code = not in_code
        if ch == "|" and not in_code:
            cells.append("".join(buf).strip())
            buf = []
        else:
            buf.append(ch)
        i += 1
    cells.append("".join(buf).strip())
    return cells


def _table_rows(lines: list[str], fenced: list[str | None]) -> list[tuple[int, list[str]]]:
    rows: list[tuple[int, list[str]]] = []
    table: list[tuple[int, str]] = []

    def flush() -> None:
        if not table:
            return
        has_header = len(table) > 1 and TABLE_SEP_RE.match(table[1][1].strip())
        for idx, (lineno, text) in enumerate(table):
            if TABLE_SEP_RE.match(text.strip()) or (has_header and idx == 0):
                continue
            rows.append((lineno, _split_row(text)))
        table.clear()

    for i, line in enumerate(lines):
        if not fenced[i] and line.lstrip().startswith("|"):
            table.append((i, line))
        else:
            flush()
    flush()
    return rows


# --------------------------------------------------------------------------- parse


@dataclass
class _Section:
    heading: str
    kind: str  # canonical name or "extra"
    lines: list[str]
    fenced: list[str | None]
    line_offset: int


def parse_runbook(text: str, *, slug: str = "") -> ParsedRunbook:
    """Text of one runbook → ParsedRunbook. ``slug`` resolves relative ``.md`` links."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise RunbookParseError("file is empty", 1)
    lines = [line.rstrip().replace("\t", "    ") for line in text.split("\n")]

    fm = read_front_matter(lines)
    front_matter, body_start = fm.data, fm.body_start
    fenced = _fence_mask(lines)
    if fenced and fenced[-1] in ("open", "in"):
        # An unclosed fence ends at end of file; close it so exports keep it closed.
        opener = max(i for i, role in enumerate(fenced) if role == "open")
        lines.append(FENCE_RE.match(lines[opener]).group(0))
        fenced = _fence_mask(lines)
    title, title_idx = _find_title(lines, fenced, body_start)
    heading_mode = any(
        (m := ATX_RE.match(lines[i])) and len(m.group(1)) <= 2
        for i in range(title_idx + 1, len(lines))
        if not fenced[i]
    )
    if isinstance(front_matter.get("title"), str) and front_matter["title"].strip():
        title = front_matter["title"].strip()
    if len(title) > MAX_TITLE_CHARS:
        raise RunbookParseError(f"title is longer than {MAX_TITLE_CHARS} characters", title_idx + 1)

    fm_slug = front_matter.get("slug")
    base_slug = normalise_slug(str(fm_slug)) if fm_slug else slug
    rb = ParsedRunbook(title=title, slug=base_slug if fm_slug else None)
    rb.front_matter = {
        k: v for k, v in front_matter.items() if k not in {"title", "slug", "tldr", "cause_links"}
    }
    tags = front_matter.get("tags") or []
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.split(",")]
    rb.tags = [str(t).strip() for t in tags if str(t).strip()] if isinstance(tags, list) else []
    rb.front_matter.pop("tags", None)
    if front_matter.get("category"):
        rb.category = normalise_slug(str(front_matter["category"])) or None
        rb.front_matter.pop("category", None)

    # Label lines (Symptom:, Signal example:) may sit anywhere outside code.
    labels: list[tuple[str, str]] = []
    consumed: set[int] = set()
    for i in range(title_idx + 1, len(lines)):
        if fenced[i] or i in consumed or _indent(lines[i]) > 3:
            continue
        m = LABEL_RE.match(lines[i].strip())
        if not m:
            continue
        value = [m.group(2)]
        consumed.add(i)
        j = i + 1
        while j < len(lines) and lines[j].strip() and not fenced[j]:
            nxt = lines[j]
            if (
                LIST_RE.match(nxt)
                or ATX_RE.match(nxt)
                or LABEL_RE.match(nxt.strip())
                or nxt.lstrip().startswith("|")
                or (not heading_mode and _section_kind(nxt) is not None)
            ):
                break
            value.append(nxt)
            consumed.add(j)
            j += 1
        labels.append((m.group(1).lower(), _reflow(value)))

    kept = [(i, lines[i]) for i in range(title_idx + 1, len(lines)) if i not in consumed]
    preamble, sections = _sections(kept, fenced, heading_mode)

    for kind, value in labels:
        if kind == "symptom" and not rb.symptom:
            rb.symptom = value
        elif kind == "symptom":
            rb.extra_sections.append(ParsedSection("Symptom", value))
        else:
            rb.signal_examples.append(value)

    summary = "\n".join(_strip_blank_edges(preamble))
    tldr = front_matter.get("tldr")
    if isinstance(tldr, str) and tldr.strip():
        if summary:
            rb.extra_sections.append(ParsedSection("Introduction", summary))
        summary = tldr.strip()
    rb.summary = summary

    link_base = base_slug or ""
    for section in sections:
        _apply_section(rb, section, link_base)

    _collect_body_links(rb, link_base)
    _assign_cause_links(rb, front_matter.get("cause_links"))
    return rb


def _section_kind(line: str) -> str | None:
    stripped = line.strip()
    if not stripped or LIST_RE.match(line) or stripped.startswith("|"):
        return None
    return SECTION_ALIASES.get(_normalise_heading(stripped.lstrip("#").strip()))


def _find_title(lines: list[str], fenced: list[str | None], start: int) -> tuple[str, int]:
    for i in range(start, len(lines)):
        line = lines[i]
        if not line.strip() or (HR_RE.match(line) and not fenced[i]):
            continue
        if fenced[i]:
            raise RunbookParseError("no title: the file starts with a code block", i + 1)
        m = ATX_RE.match(line)
        if m:
            if len(m.group(1)) == 1 or SECTION_ALIASES.get(_normalise_heading(m.group(2))) is None:
                return m.group(2).strip(), i
            raise RunbookParseError(
                f"no title: the file starts with the section {m.group(2).strip()!r}", i + 1
            )
        if _section_kind(line) is not None:
            raise RunbookParseError(
                f"no title: the file starts with the section {line.strip()!r}", i + 1
            )
        if LIST_RE.match(line) or line.lstrip().startswith("|") or LABEL_RE.match(line.strip()):
            raise RunbookParseError(
                "no title: the first line must be the runbook's title, not a list, table or label",
                i + 1,
            )
        return re.sub(r"^[*_]+|[*_]+$", "", line.strip()), i
    raise RunbookParseError("no title: the file has front matter but no text", start + 1)


def _sections(
    kept: list[tuple[int, str]], fenced: list[str | None], heading_mode: bool
) -> tuple[list[str], list[_Section]]:
    preamble: list[str] = []
    sections: list[_Section] = []
    current: _Section | None = None
    for idx, line in kept:
        heading = None
        if not fenced[idx]:
            m = ATX_RE.match(line)
            if heading_mode and m and len(m.group(1)) <= 2:
                heading = m.group(2).strip()
            elif not heading_mode and _section_kind(line) is not None:
                heading = line.strip().lstrip("#").strip()
        if heading is not None:
            kind = SECTION_ALIASES.get(_normalise_heading(heading), "extra")
            current = _Section(heading, kind, [], [], idx + 1)
            sections.append(current)
        elif current is None:
            preamble.append(line)
        else:
            current.lines.append(line)
            current.fenced.append(fenced[idx])
    return preamble, sections


def _apply_section(rb: ParsedRunbook, section: _Section, base: str) -> None:
    kind = section.kind
    body_lines = _strip_blank_edges(section.lines)
    body = "\n".join(body_lines)
    if kind == "symptom" and rb.symptom:
        kind = "extra"
    if kind == "extra":
        rb.extra_sections.append(ParsedSection(section.heading, body))
        return
    if kind == "symptom":
        rb.symptom = body
        return
    if kind in ("patterns", "drill_paths"):
        _apply_table_section(rb, section, kind, base)
        return
    blocks = _split_blocks(section.lines, section.fenced)
    if kind == "causes":
        taken = {c.key for c in rb.causes}
        for title, detail in _items(blocks):
            rb.causes.append(ParsedCause(make_key(title, taken), title, detail))
    elif kind == "checks":
        taken = {c.key for c in rb.checks}
        for title, detail in _items(blocks):
            minutes = None
            m = MINUTES_RE.search(title)
            if m:
                minutes, title = int(m.group(1)), title[: m.start()].rstrip()
            rb.checks.append(ParsedCheck(make_key(title, taken), title, detail, minutes))
    elif kind == "fix_patterns":
        taken = {f.key for f in rb.fix_patterns}
        for text in _texts(blocks):
            label = text.split("\n", 1)[0].split(" — ", 1)[0]
            rb.fix_patterns.append(ParsedFix(make_key(label, taken), text))
    elif kind == "signal_examples":
        rb.signal_examples.extend(_texts(blocks))
    elif kind == "open_questions":
        rb.open_questions.extend(_texts(blocks))
    elif kind == "related_reading":
        rb.related_reading.extend(_texts(blocks))
    elif kind == "connections":
        _apply_connections(rb, blocks, base)
    elif kind == "not_the_issue":
        _apply_not_the_issue(rb, blocks, base)


def _apply_table_section(rb: ParsedRunbook, section: _Section, kind: str, base: str) -> None:
    rows = _table_rows(section.lines, section.fenced)
    if not rows:
        # A list form is accepted too: "- observation — diagnosis".
        blocks = _split_blocks(section.lines, section.fenced)
        rows = [(0, [t, d]) for t, d in _items(blocks)]
    taken = {p.key for p in rb.patterns}
    for offset, cells in rows:
        lineno = section.line_offset + offset + 1
        if len(cells) < 2 or not cells[0]:
            rb.warnings.append(f"line {lineno}: table row needs two cells, skipped")
            continue
        if kind == "patterns":
            rb.patterns.append(
                ParsedPattern(make_key(cells[0], taken), cells[0], " | ".join(cells[1:]))
            )
        else:
            target = _link_cell(cells[1], base)
            if target is None:
                rb.warnings.append(f"line {lineno}: drill path {cells[1]!r} is not a runbook slug")
                continue
            rb.drill_paths.append(ParsedLink(target, cells[0]))


def _apply_connections(rb: ParsedRunbook, blocks: list[_Block], base: str) -> None:
    seen = {c.target for c in rb.connections}
    for block in blocks:
        text = _block_text(block) if block.kind == "item" else "\n".join(block.lines)
        found = _links_in_text(text, base)
        if not found:
            text = re.sub(r"^\s*[-*+]\s+", "", text, flags=re.M)
            for piece in re.split(r"[·•,;\n]+", text):
                piece = piece.strip().strip("`")
                words = [piece] if piece and " " not in piece else piece.split()
                for word in words:
                    if "/" in word or word == piece:
                        slug = resolve_link(word.strip("`"), base)
                        if slug:
                            found.append(slug)
        for slug in found:
            if slug not in seen:
                seen.add(slug)
                rb.connections.append(ParsedLink(slug))


def _apply_not_the_issue(rb: ParsedRunbook, blocks: list[_Block], base: str) -> None:
    for block in blocks:
        text = _reflow(block.lines) if block.kind == "para" else ""
        pivot = PIVOT_RE.match(text) if text else None
        if pivot:
            rest = pivot.group(1)
            m = re.match(r"^(\[\[[^\]]+\]\]|\[[^\]]*\]\([^)]*\)|`?[\w\-/.]+`?)\s*(.*)$", rest)
            target = _link_cell(m.group(1), base) if m else None
            if target:
                rb.pivots.append(ParsedLink(target, m.group(2).strip()))
                continue
        if block.kind == "para" and not rb.not_the_issue_condition and not rb.not_the_issue_items:
            rb.not_the_issue_condition = text
        elif block.kind == "item":
            rb.not_the_issue_items.extend(_texts([block]))
        else:
            rb.not_the_issue_items.append(text or "\n".join(block.lines))


def _collect_body_links(rb: ParsedRunbook, base: str) -> None:
    """Relative ``.md`` links and ``[[wiki/links]]`` in any text become connections."""
    seen = {c.target for c in rb.connections}
    texts = [rb.summary, rb.symptom, *rb.signal_examples]
    texts += [f"{c.title} {c.detail}" for c in rb.causes]
    texts += [f"{c.title} {c.detail}" for c in rb.checks]
    texts += [f.text for f in rb.fix_patterns]
    texts += [f"{p.observation} {p.diagnosis}" for p in rb.patterns]
    texts += [rb.not_the_issue_condition, *rb.not_the_issue_items]
    texts += [s.body for s in rb.extra_sections] + rb.open_questions + rb.related_reading
    for text in texts:
        for slug in _links_in_text(text, base):
            if slug not in seen and slug != base:
                seen.add(slug)
                rb.connections.append(ParsedLink(slug))


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
    """ParsedRunbook → Markdown source form that parses back to an equal runbook."""
    out: list[str] = []
    fm: dict[str, Any] = {}
    if rb.slug:
        fm["slug"] = rb.slug
    if rb.category:
        fm["category"] = rb.category
    if rb.tags:
        fm["tags"] = list(rb.tags)
    fm.update(rb.front_matter)
    links = _confirmed_links(rb)
    if links:
        fm["cause_links"] = links
    if fm:
        out += ["---", yaml.safe_dump(fm, sort_keys=False, allow_unicode=True).rstrip(), "---", ""]
    out += [f"# {rb.title}", ""]
    if rb.summary:
        out += [rb.summary, ""]
    if rb.symptom:
        if "\n" in rb.symptom or _starts_block(rb.symptom):
            out += ["## Symptom", "", rb.symptom, ""]
        else:
            out += [f"**Symptom:** {rb.symptom}", ""]
    if rb.patterns:
        out += [f"## {SECTION_HEADINGS['patterns']}", "", "| Pattern | Likely cause |", "|---|---|"]
        out += [f"| {_cell(p.observation)} | {_cell(p.diagnosis)} |" for p in rb.patterns]
        out.append("")
    if rb.causes:
        out += [f"## {SECTION_HEADINGS['causes']}", ""]
        out += [_item(c.title, c.detail) for c in rb.causes]
        out.append("")
    if rb.checks:
        out += [f"## {SECTION_HEADINGS['checks']}", ""]
        for c in rb.checks:
            title = f"{c.title} (~{c.minutes} min)" if c.minutes is not None else c.title
            out.append(_item(title, c.detail))
        out.append("")
    for example in rb.signal_examples:
        out += [f"**Signal example:** {example}", ""]
    if rb.drill_paths:
        out += [f"## {SECTION_HEADINGS['drill_paths']}", "", "| Suspect | Go to |", "|---|---|"]
        out += [f"| {_cell(d.text)} | {d.target} |" for d in rb.drill_paths]
        out.append("")
    if rb.fix_patterns:
        out += [f"## {SECTION_HEADINGS['fix_patterns']}", ""]
        out += [_text_item(f.text) for f in rb.fix_patterns]
        out.append("")
    if rb.not_the_issue_condition or rb.not_the_issue_items or rb.pivots:
        out += [f"## {SECTION_HEADINGS['not_the_issue']}", ""]
        if rb.not_the_issue_condition:
            out += [rb.not_the_issue_condition, ""]
        out += [_text_item(t) for t in rb.not_the_issue_items]
        out.append("")
        for p in rb.pivots:
            out += [f"Pivot to {p.target} {p.text}".rstrip(), ""]
    if rb.connections:
        out += [f"## {SECTION_HEADINGS['connections']}", ""]
        out += [" · ".join(c.target for c in rb.connections), ""]
    for kind in ("open_questions", "related_reading"):
        values = getattr(rb, kind)
        if values:
            out += [f"## {SECTION_HEADINGS[kind]}", ""]
            out += [_text_item(t) for t in values]
            out.append("")
    for section in rb.extra_sections:
        out += [f"## {section.title}", ""]
        if section.body:
            out += [section.body, ""]
    return "\n".join(out).rstrip("\n") + "\n"


def _confirmed_links(rb: ParsedRunbook) -> dict[str, dict[str, list[str]]]:
    links: dict[str, dict[str, list[str]]] = {}
    groups = (("patterns", rb.patterns), ("checks", rb.checks), ("fixes", rb.fix_patterns))
    for group, items in groups:
        chosen = {item.key: list(item.causes) for item in items if item.confirmed}
        if chosen:
            links[group] = chosen
    return links


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _starts_block(text: str) -> bool:
    first = text.split("\n", 1)[0]
    return bool(
        FENCE_RE.match(first)
        or ATX_RE.match(first)
        or LIST_RE.match(first)
        or first.lstrip().startswith(("|", "<"))
        or HR_RE.match(first)
        or _indent(first) >= 4
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
