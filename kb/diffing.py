"""Line diffs between two texts, for revision history and edit conflicts. Pure.

``line_diff`` groups changes into hunks with a few lines of context, like ``diff -u``, and
numbers every line on both sides so a page can show where in the file a change is.

difflib's SequenceMatcher finds the nicer diff but is quadratic in the lines a text repeats
(blank lines, table rules): 11 s for two texts of 12,000 short lines. So it diffs texts of
up to DIFFLIB_MAX_PAIRS line pairs (2,000 × 2,000: well under a second); longer ones go to
Google's diff-match-patch (Myers' O(ND) algorithm, "An O(ND) Difference Algorithm and Its
Variations", 1986) over lines, with a time limit: past DIFF_SECONDS it returns a correct
but less minimal diff.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass

from diff_match_patch import diff_match_patch

SAME, ADDED, REMOVED = "same", "add", "del"
# Seconds the diff may search for the smallest set of changes before it settles.
DIFF_SECONDS = 0.5
DIFFLIB_MAX_PAIRS = 2_000 * 2_000


@dataclass(frozen=True)
class DiffLine:
    kind: str  # same | add | del
    old_number: int | None
    new_number: int | None
    text: str


@dataclass(frozen=True)
class DiffHunk:
    old_start: int
    old_count: int
    new_start: int
    new_count: int
    lines: tuple[DiffLine, ...]

    @property
    def header(self) -> str:
        return f"@@ -{self.old_start},{self.old_count} +{self.new_start},{self.new_count} @@"


@dataclass(frozen=True)
class LineDiff:
    hunks: tuple[DiffHunk, ...]
    added: int
    removed: int

    @property
    def changed(self) -> bool:
        return bool(self.hunks)

    def unified(self) -> str:
        """The diff as ``diff -u`` style text (without file headers)."""
        marks = {SAME: " ", ADDED: "+", REMOVED: "-"}
        out = []
        for hunk in self.hunks:
            out.append(hunk.header)
            out += [marks[line.kind] + line.text for line in hunk.lines]
        return "\n".join(out)


def split_lines(text: str) -> list[str]:
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # a final newline does not make an extra empty line
    return lines


def line_diff(old: str, new: str, *, context: int = 3) -> LineDiff:
    """The changes from ``old`` to ``new`` by line, in hunks with ``context`` lines around.
    About linear for texts that differ a little; bounded by DIFF_SECONDS otherwise."""
    a, b = split_lines(old), split_lines(new)
    hunks: list[DiffHunk] = []
    added = removed = 0
    if len(a) * len(b) <= DIFFLIB_MAX_PAIRS:
        opcodes = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    else:
        opcodes = _opcodes(a, b)
    for group in _grouped(opcodes, context):
        lines: list[DiffLine] = []
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines += [DiffLine(SAME, i + 1, j1 + (i - i1) + 1, a[i]) for i in range(i1, i2)]
                continue
            if tag in ("replace", "delete"):
                lines += [DiffLine(REMOVED, i + 1, None, a[i]) for i in range(i1, i2)]
                removed += i2 - i1
            if tag in ("replace", "insert"):
                lines += [DiffLine(ADDED, None, j + 1, b[j]) for j in range(j1, j2)]
                added += j2 - j1
        first, last = group[0], group[-1]
        old_count, new_count = last[2] - first[1], last[4] - first[3]
        hunks.append(
            DiffHunk(
                old_start=first[1] + 1 if old_count else first[1],
                old_count=old_count,
                new_start=first[3] + 1 if new_count else first[3],
                new_count=new_count,
                lines=tuple(lines),
            )
        )
    return LineDiff(tuple(hunks), added, removed)


Opcode = tuple[str, int, int, int, int]  # as difflib's: tag, a[i1:i2] → b[j1:j2]


def _opcodes(a: list[str], b: list[str]) -> list[Opcode]:
    """difflib-style opcodes for two lists of lines: each distinct line becomes one
    character, diffed by diff-match-patch; a run of removals and additions is "replace"."""
    codes: dict[str, str] = {}

    def encode(lines: list[str]) -> str:
        # Skip the surrogate block: lone surrogates are not characters to diff.
        return "".join(
            codes.setdefault(line, chr(n if (n := len(codes)) < 0xD800 else n + 0x800))
            for line in lines
        )

    matcher = diff_match_patch()
    matcher.Diff_Timeout = DIFF_SECONDS
    diffs = matcher.diff_main(encode(a), encode(b), False)
    opcodes: list[Opcode] = []
    i = j = 0
    for op, chars in diffs:
        n = len(chars)
        if op == diff_match_patch.DIFF_EQUAL:
            opcodes.append(("equal", i, i + n, j, j + n))
            i, j = i + n, j + n
            continue
        di, dj = (n, 0) if op == diff_match_patch.DIFF_DELETE else (0, n)
        if opcodes and opcodes[-1][0] != "equal":
            _tag, i1, _i2, j1, _j2 = opcodes.pop()
            opcodes.append(("replace", i1, i + di, j1, j + dj))
        else:
            opcodes.append(("delete" if di else "insert", i, i + di, j, j + dj))
        i, j = i + di, j + dj
    return opcodes


def _grouped(opcodes: list[Opcode], context: int) -> Iterator[list[Opcode]]:
    """The changes in hunks with ``context`` equal lines around each (difflib's
    SequenceMatcher.get_grouped_opcodes, for opcodes made elsewhere)."""
    if not opcodes or all(code[0] == "equal" for code in opcodes):
        return
    codes = list(opcodes)
    if codes[0][0] == "equal":
        tag, i1, i2, j1, j2 = codes[0]
        codes[0] = tag, max(i1, i2 - context), i2, max(j1, j2 - context), j2
    if codes[-1][0] == "equal":
        tag, i1, i2, j1, j2 = codes[-1]
        codes[-1] = tag, i1, min(i2, i1 + context), j1, min(j2, j1 + context)
    group: list[Opcode] = []
    for tag, i1, i2, j1, j2 in codes:
        if tag == "equal" and i2 - i1 > 2 * context:
            group.append((tag, i1, min(i2, i1 + context), j1, min(j2, j1 + context)))
            yield group
            group = []
            i1, j1 = max(i1, i2 - context), max(j1, j2 - context)
        group.append((tag, i1, i2, j1, j2))
    if group and not (len(group) == 1 and group[0][0] == "equal"):
        yield group
