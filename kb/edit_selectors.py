"""Read-side queries for the editor pages: preview, link editor, history. Fixed query counts."""

from __future__ import annotations

from dataclasses import dataclass, field

from kb.authoring import (
    confirmed_links,
    link_owners,
    parse_for_new_runbook,
    parse_for_runbook,
    runbook_source_text,
)
from kb.diffing import LineDiff, line_diff
from kb.markdown_io import ParsedRunbook, RunbookParseError, normalise_slug
from kb.models import Cause, LinkStatus, Runbook, RunbookRevision
from kb.services import default_category, normalise_text

# --------------------------------------------------------------------------- preview


@dataclass
class EditPreview:
    """What the tree will be if this text is saved; nothing is written."""

    parsed: ParsedRunbook | None = None
    error: RunbookParseError | None = None
    error_text: str = ""  # the line the error points at
    slug: str = ""
    category: str = ""
    cause_ranks: dict[str, int] = field(default_factory=dict)
    cause_titles: dict[str, str] = field(default_factory=dict)
    new_causes: set[str] = field(default_factory=set)
    new_checks: set[str] = field(default_factory=set)
    retiring: list[tuple[str, str]] = field(default_factory=list)  # (kind, title)
    existing: set[str] = field(default_factory=set)  # link targets that exist
    slug_taken: bool = False  # a new runbook whose slug already exists

    @property
    def link_count(self) -> int:
        rb = self.parsed
        return len(rb.drill_paths) + len(rb.pivots) + len(rb.connections) if rb else 0


def edit_preview(text: str, *, runbook: Runbook | None = None, slug: str = "") -> EditPreview:
    """Parse ``text`` as an edit of ``runbook`` (or a new runbook named ``slug``)."""
    text = normalise_text(text)
    preview = EditPreview()
    try:
        if runbook is not None:
            parsed = parse_for_runbook(text, runbook)
        else:
            parsed = parse_for_new_runbook(text, slug)
    except RunbookParseError as exc:
        lines = text.split("\n")
        preview.error = exc
        preview.error_text = lines[exc.line - 1] if 0 < exc.line <= len(lines) else ""
        return preview
    preview.parsed = parsed
    preview.slug = runbook.slug if runbook else (parsed.slug or normalise_slug(slug))
    preview.category = parsed.category or (default_category(preview.slug) if preview.slug else "")
    preview.cause_ranks = {c.key: rank for rank, c in enumerate(parsed.causes, start=1)}
    preview.cause_titles = {c.key: c.title for c in parsed.causes}
    targets = {link.target for link in (*parsed.drill_paths, *parsed.pivots, *parsed.connections)}
    preview.existing = set(Runbook.objects.filter(slug__in=targets).values_list("slug", flat=True))
    if runbook is None:
        preview.new_causes = set(preview.cause_ranks)
        preview.new_checks = {c.key for c in parsed.checks}
        preview.slug_taken = Runbook.objects.filter(slug=preview.slug).exists()
        return preview
    _compare_with_stored(preview, parsed, runbook)
    return preview


def _compare_with_stored(preview: EditPreview, parsed: ParsedRunbook, runbook: Runbook) -> None:
    """Which parts keep their identity (same key), which are new, which will be retired."""
    kinds = (
        ("cause", runbook.causes, {c.key for c in parsed.causes}, "title"),
        ("check", runbook.checks, {c.key for c in parsed.checks}, "title"),
        ("pattern", runbook.patterns, {p.key for p in parsed.patterns}, "observation"),
        ("fix", runbook.fix_patterns, {f.key for f in parsed.fix_patterns}, "text"),
    )
    for kind, manager, keys, label in kinds:
        stored = dict(manager.filter(retired=False).values_list("key", label))
        if kind == "cause":
            preview.new_causes = keys - set(stored)
        elif kind == "check":
            preview.new_checks = keys - set(stored)
        preview.retiring += [(kind, stored[k]) for k in stored if k not in keys]


# --------------------------------------------------------------------------- link editor


@dataclass(frozen=True)
class LinkCell:
    cause: Cause
    status: str  # "" (not linked) | proposed | confirmed

    @property
    def checked(self) -> bool:
        return bool(self.status)


@dataclass(frozen=True)
class LinkRow:
    group: str
    key: str
    label: str
    confirmed: bool
    cells: tuple[LinkCell, ...]

    @property
    def ident(self) -> str:
        return f"{self.group}:{self.key}"

    @property
    def shown(self) -> str:
        linked = ",".join(cell.cause.key for cell in self.cells if cell.checked)
        return f"{self.ident}|{linked}"


@dataclass(frozen=True)
class LinkSection:
    group: str
    title: str
    verb: str
    rows: tuple[LinkRow, ...]


SECTION_TITLES = {
    "patterns": ("Quick diagnosis patterns", "points at"),
    "checks": ("First checks", "can confirm"),
    "fixes": ("Fix patterns", "fixes"),
}


def link_editor(runbook: Runbook) -> tuple[Runbook, list[Cause], list[LinkSection]]:
    rb = Runbook.objects.with_parts().get(pk=runbook.pk)
    causes = [c for c in rb.causes.all() if not c.retired]
    confirmed = confirmed_links(rb, runbook_source_text(rb))
    sections = []
    for group, owners in link_owners(rb).items():
        rows = []
        for owner in owners:
            status = {
                link.cause_id: link.status for link in owner.cause_links.all() if link.cause_id
            }
            sure = owner.key in confirmed.get(group, {})
            cells = tuple(
                LinkCell(
                    c, LinkStatus.CONFIRMED if sure and c.pk in status else status.get(c.pk, "")
                )
                for c in causes
            )
            label = getattr(owner, "observation", "") or getattr(owner, "title", "") or owner.text
            rows.append(LinkRow(group, owner.key, label, sure, cells))
        sections.append(LinkSection(group, *SECTION_TITLES[group], tuple(rows)))
    return rb, causes, sections


# --------------------------------------------------------------------------- history


@dataclass(frozen=True)
class RevisionHistory:
    revisions: list[RunbookRevision]
    old: RunbookRevision | None
    new: RunbookRevision | None
    diff: LineDiff | None


def _number(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def revision_history(
    runbook: Runbook, old: str | None = None, new: str | None = None
) -> RevisionHistory:
    """All revisions, newest first, and the diff old → new (default: the latest change)."""
    revisions = list(runbook.revisions.select_related("author").order_by("-number"))
    by_number = {r.number: r for r in revisions}
    newer = by_number.get(_number(new)) or (revisions[0] if revisions else None)
    older = by_number.get(_number(old))
    if older is None and newer is not None:
        older = next((r for r in revisions if r.number < newer.number), None)
    diff = line_diff(older.markdown, newer.markdown) if older and newer else None
    return RevisionHistory(revisions, older, newer, diff)
