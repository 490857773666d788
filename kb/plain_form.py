"""The seed's plain form lifted into Markdown, so one token-based reader reads both. Pure.

The plain form (``../shared/seeds/…``) has no ``#``: the first line is the title, section
names stand alone on a line, ``Symptom:`` / ``Signal example:`` label lines sit anywhere,
and lists and tables follow text lines directly. Lifting keeps every line and adds only
``#`` marks and blank lines, so the Markdown parser sees the structure the author meant:

* the title line becomes ``# title``;
* a known section name alone on a line becomes ``## name``;
* a short line on its own, directly followed by a list, that is not a known section name
  (``Communication`` then bullets) starts an extra section, so its bullets are not appended
  to the section before;
* label lines, ``Pivot to …`` lines and tables get blank lines around them, and a text line
  after a list is not swallowed as the list's lazy continuation.

Each output line remembers the input line it came from (``-1`` for an added blank line), so
errors and links still point at the author's line numbers. One pass: linear.
"""

from __future__ import annotations

from kb.section_names import section_kind

LABELS = (("symptom", "symptom"), ("signal example", "signal_examples"))
MAX_SECTION_NAME_CHARS = 80
MAX_EXTRA_HEADING_CHARS = 60
MAX_EXTRA_HEADING_WORDS = 6


def is_list_line(line: str) -> bool:
    """Does ``line`` open a list item (``- a``, ``* a``, ``3. a``, ``2) a``)?"""
    stripped = line.lstrip(" ")
    if len(line) - len(stripped) > 3 or not stripped:
        return False
    if stripped[0] in "-*+":
        return len(stripped) == 1 or stripped[1] in " \t"
    digits = 0
    while digits < len(stripped) and digits < 10 and stripped[digits].isdigit():
        digits += 1
    if not 0 < digits < 10 or digits >= len(stripped) or stripped[digits] not in ".)":
        return False
    rest = stripped[digits + 1 :]
    return not rest or rest[0] in " \t"


def _strip_strong(text: str) -> str:
    for mark in ("**", "__"):
        if text.startswith(mark):
            return text[len(mark) :]
    return text


def label_of(line: str) -> tuple[str, str] | None:
    """``"**Symptom:** x"`` → ``("symptom", "x")``; ``"Signal example: y"`` →
    ``("signal_examples", "y")``; anything else → None."""
    text = _strip_strong(line.strip())
    lower = text.lower()
    for name, kind in LABELS:
        if not lower.startswith(name):
            continue
        rest = _strip_strong(text[len(name) :]).lstrip()
        if not rest.startswith(":"):
            continue
        return kind, _strip_strong(rest[1:].lstrip()).strip()
    return None


def _fence_marker(line: str) -> str:
    stripped = line.lstrip(" ")
    if len(line) - len(stripped) > 3:
        return ""
    for char in "`~":
        count = len(stripped) - len(stripped.lstrip(char))
        if count >= 3:
            return char * count
    return ""


def _is_table_line(line: str) -> bool:
    return line.lstrip().startswith("|")


def _is_section_name(text: str) -> bool:
    # "recovery." ends a wrapped sentence; a section name does not end like one.
    return (
        len(text) <= MAX_SECTION_NAME_CHARS
        and text[-1] not in ".,;!?"
        and section_kind(text) is not None
    )


def _is_extra_heading(text: str, following: str) -> bool:
    return (
        len(text) <= MAX_EXTRA_HEADING_CHARS
        and len(text.split()) <= MAX_EXTRA_HEADING_WORDS
        and text[-1] not in ":.,;!?"
        and not is_list_line(text)
        and not _is_table_line(text)
        and is_list_line(following)
    )


def lift_plain_form(lines: list[str], origin: list[int]) -> tuple[list[str], list[int]]:
    """Plain-form lines (and their source line numbers) → Markdown lines and theirs."""
    out: list[str] = []
    out_origin: list[int] = []

    def emit(line: str, source: int) -> None:
        out.append(line)
        out_origin.append(source)

    def blank() -> None:
        if out and out[-1].strip():
            emit("", -1)

    fence = ""
    titled = False
    previous = ""  # "list" | "table" | "text" | "" (blank or start)
    for index, line in enumerate(lines):
        source = origin[index]
        if fence:
            emit(line, source)
            marker = _fence_marker(line)
            closes = marker and marker[0] == fence[0] and len(marker) >= len(fence)
            if closes and not line.strip()[len(marker) :].strip():
                fence = ""
            continue
        text = line.strip()
        if not text:
            emit(line, source)
            previous = ""
            continue
        marker = _fence_marker(line)
        if marker:
            fence = marker
            emit(line, source)
            previous = "text"
            continue
        is_list, is_table = is_list_line(line), _is_table_line(line)
        if line[:1].isspace():
            # Indented: a list item's continuation or code, never a name or a label.
            emit(line, source)
            if not (previous == "list" or is_list or is_table):
                previous = "text"
            continue
        if not titled:
            titled = True
            if not (is_list or is_table or label_of(text) or _is_section_name(text)):
                emit("# " + text, source)
                blank()
                continue
        following = lines[index + 1] if index + 1 < len(lines) else ""
        label = label_of(text)
        if (label and label[1]) or text.lower().startswith("pivot to "):
            blank()
            emit(line, source)
            blank()
            previous = ""
            continue
        if not (is_list or is_table) and (
            _is_section_name(text) or _is_extra_heading(text, following)
        ):
            blank()
            emit("## " + text, source)
            blank()
            previous = ""
            continue
        if (
            is_table
            and previous != "table"
            or not (is_list or is_table or line[:1].isspace())
            and previous in ("list", "table")
        ):
            blank()
        emit(line, source)
        if is_list or is_table:
            previous = "list" if is_list else "table"
        elif not (previous == "list" and line[:1] in (" ", "\t")):
            previous = "text"
    return out, out_origin
