"""Line diffs between two texts, for revision history and edit conflicts. Pure.

``line_diff`` groups changes into hunks with a few lines of context, like ``diff -u``, and
numbers every line on both sides so a page can show where in the file a change is.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

SAME, ADDED, REMOVED = "same", "add", "del"


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
    a, b = split_lines(old), split_lines(new)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    hunks: list[DiffHunk] = []
    added = removed = 0
    for group in matcher.get_grouped_opcodes(context):
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
