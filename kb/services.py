"""Writes that touch many rows: importing runbooks."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q

from kb.front_matter import read_front_matter
from kb.markdown_io import (
    ParsedRunbook,
    RunbookParseError,
    decode_runbook_bytes,
    default_check_minutes,
    parse_runbook,
)
from kb.models import (
    SEARCH_WEIGHTS,
    Cause,
    Check,
    CheckCause,
    Connection,
    DrillPath,
    ExtraSection,
    FixCause,
    FixPattern,
    ItemKind,
    LinkStatus,
    Pattern,
    PatternCause,
    Pivot,
    Runbook,
    RunbookAlert,
    RunbookItem,
    RunbookRevision,
    SearchDocument,
    SearchEntry,
    SearchSection,
    SearchWord,
)
from kb.runbook_checks import FieldLimits, check_parsed_runbook, slug_from_relative_path
from kb.search_index import DocumentText, index_document, set_alerts, vocabulary_batch
from kb.sources import FileError, SourceFile, source_slug

logger = logging.getLogger("fieldguide.import")


class RunbookImportFailed(Exception):
    """A batch that was refused as a whole; nothing was written."""

    def __init__(self, errors: list[FileError]):
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


class ReplaceNotConfirmed(Exception):
    """An import that would give existing runbooks a new revision, refused until the user
    confirms; nothing was written. ``slugs``: those runbooks, in import order."""

    def __init__(self, slugs: list[str]):
        self.slugs = slugs
        n = len(slugs)
        self.message = (
            f"{n} runbook{'s' if n != 1 else ''} already exist{'s' if n == 1 else ''} "
            f"and would get a new revision: {', '.join(slugs)}"
        )
        super().__init__(self.message)


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[FileError] = field(default_factory=list)
    # What was imported but could not be followed or kept: links to runbooks that do not
    # exist (yet), links out of the collection, table rows without a target. file:line each.
    warnings: list[FileError] = field(default_factory=list)


@dataclass(frozen=True)
class _Prepared:
    source: SourceFile
    text: str
    slug: str
    parsed: ParsedRunbook | None  # None: the same text is stored already
    slug_line: int = 1  # the line that decided the slug: front matter slug:, or 1


def normalise_text(text: str) -> str:
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def text_hash(text: str) -> str:
    return hashlib.sha256(normalise_text(text).encode("utf-8")).hexdigest()


@cache
def field_limits() -> FieldLimits:
    """The columns' ``max_length``s, read from the model fields (kb.runbook_checks)."""

    def size(model, name: str) -> int:
        return model._meta.get_field(name).max_length

    return FieldLimits(
        slug=size(Runbook, "slug"),
        title=size(Runbook, "title"),
        category=size(Runbook, "category"),
        key=min(size(m, "key") for m in (Cause, Check, Pattern, FixPattern)),
        cause_title=size(Cause, "title"),
        check_title=size(Check, "title"),
        pattern_observation=size(Pattern, "observation"),
        drill_suspect=size(DrillPath, "suspect"),
        link_target=min(size(m, "target_slug") for m in (DrillPath, Pivot, Connection)),
        section_title=size(ExtraSection, "title"),
    )


def check_for_storage(parsed: ParsedRunbook, *, text: str, slug: str, slug_line: int = 1) -> None:
    """RunbookParseError (with the line) unless every value of ``parsed`` can be stored
    under ``slug`` as it is, on SQLite and PostgreSQL alike: nothing is cut or replaced."""
    check_parsed_runbook(
        parsed,
        limits=field_limits(),
        slug=slug,
        slug_line=slug_line,
        category=parsed.category or default_category(slug),
        text=text,
    )


class _StoredHashes:
    """slug → source hash of every stored runbook, read on first use (a batch whose files
    all fail to decode never touches the database)."""

    def __init__(self) -> None:
        self._hashes: dict[str, str] | None = None

    def all(self) -> dict[str, str]:
        if self._hashes is None:
            self._hashes = dict(Runbook.objects.values_list("slug", "source_hash"))
        return self._hashes


def _prepare(
    source: SourceFile, site_urls: tuple[str, ...] = (), stored: _StoredHashes | None = None
) -> _Prepared:
    """Decode, read and check one file; RunbookParseError (with the line) on bad input.

    The slug is decided before the body is parsed (front matter ``slug:`` wins, with the
    source's prefix), so relative links resolve from where the runbook will live. A file
    whose text is already stored under that slug (``stored``: slug → source hash) is not
    parsed again: ``parsed`` is None and it imports as unchanged.
    """
    text = normalise_text(decode_runbook_bytes(source.data))
    front = read_front_matter(text.split("\n"))
    slug, slug_line = source_slug(source, front)
    if stored is not None and stored.all().get(slug) == text_hash(text):
        return _Prepared(source, text, slug, None, slug_line)
    parsed = parse_runbook(text, slug=slug, site_urls=site_urls)
    check_for_storage(parsed, text=text, slug=slug, slug_line=slug_line)
    return _Prepared(source, text, slug, parsed, slug_line)


def runbooks_import(
    *,
    sources: list[SourceFile],
    author: AbstractBaseUser | None = None,
    skip_invalid: bool = False,
    errors: list[FileError] | None = None,
    note: str = "",
    replace_existing: bool = True,
    site_urls: tuple[str, ...] = (),
) -> ImportReport:
    """Import a batch atomically: every file is parsed and checked before anything is written.

    With ``skip_invalid`` the good files are imported and the bad ones reported; otherwise
    any bad file refuses the whole batch with RunbookImportFailed. Without
    ``replace_existing``, a batch that would give existing runbooks a new revision raises
    ReplaceNotConfirmed (listing them) and writes nothing.
    """
    errors = list(errors or [])
    prepared: list[_Prepared] = []
    slugs: dict[str, str] = {}
    stored = _StoredHashes()
    for source in sources:
        try:
            item = _prepare(source, site_urls, stored)
        except RunbookParseError as exc:
            errors.append(FileError(source.path, exc.line, exc.message))
            continue
        if slugs.get(item.slug) == source.path:
            continue  # the same file named twice (a folder and a file in it)
        if item.slug in slugs:
            errors.append(
                FileError(
                    source.path,
                    item.slug_line,
                    f"slug {item.slug!r} is also used by {slugs[item.slug]}",
                )
            )
            continue
        slugs[item.slug] = source.path
        prepared.append(item)
    if errors and not skip_invalid:
        logger.warning(
            "import refused: %d of %d files invalid, first %s:%s %s",
            len(errors),
            len(sources),
            errors[0].path,
            errors[0].line,
            errors[0].message,
        )
        raise RunbookImportFailed(errors)
    if not replace_existing:
        _refuse_unconfirmed_replacements(prepared)

    report = ImportReport(skipped=errors)
    known = set(stored.all()) | set(slugs)
    changed = [item for item in prepared if item.parsed is not None]
    resolve_short_links([item.parsed for item in changed], known)
    for item in changed:
        report.warnings += link_warnings(item.parsed, path=item.source.path, known=known)
    with transaction.atomic(), vocabulary_batch():
        for item in prepared:
            if item.parsed is None:
                report.unchanged.append(item.slug)
                continue
            _runbook, status = runbook_save_parsed(
                parsed=item.parsed,
                text=item.text,
                slug=item.slug,
                path=item.source.path,
                author=author,
                note=note or f"Imported from {item.source.path}",
            )
            getattr(report, status).append(item.slug)
    logger.info(
        "import: %d created, %d updated, %d unchanged, %d skipped, %d link warnings",
        len(report.created),
        len(report.updated),
        len(report.unchanged),
        len(report.skipped),
        len(report.warnings),
    )
    return report


def resolve_short_links(runbooks: list[ParsedRunbook], known: set[str]) -> None:
    """``[[dns-resolution]]`` → ``networking/dns-resolution`` when exactly one known runbook
    ends in that segment (as Obsidian resolves short links); others stay as written."""
    by_last: dict[str, list[str]] = {}
    for slug in known:
        by_last.setdefault(slug.rsplit("/", 1)[-1], []).append(slug)
    for rb in runbooks:
        for link in (*rb.drill_paths, *rb.pivots, *rb.connections):
            if link.target in known or "/" in link.target:
                continue
            matches = by_last.get(link.target, [])
            if len(matches) == 1:
                link.target = matches[0]


MAX_SHORT_LINK_LOOKUPS = 50


def _resolve_short_links_against_stored(parsed: ParsedRunbook) -> None:
    """Short wiki-links still unresolved (an editor's save, or a link to a runbook imported
    in an earlier batch) → the one stored runbook whose last segment they name. One query."""
    links = (*parsed.drill_paths, *parsed.pivots, *parsed.connections)
    short = sorted({link.target for link in links if "/" not in link.target})
    if not short:
        return
    wanted = Q(slug__in=short)
    for target in short[:MAX_SHORT_LINK_LOOKUPS]:
        wanted |= Q(slug__endswith=f"/{target}")
    resolve_short_links(
        [parsed], set(Runbook.objects.filter(wanted).values_list("slug", flat=True))
    )


def link_warnings(rb: ParsedRunbook, *, path: str, known: set[str]) -> list[FileError]:
    """The reader's warnings and every link to a runbook that does not exist, as
    ``path:line`` FileErrors (the link is kept, shown as missing until the runbook exists)."""
    found = []
    for warning in rb.warnings:
        head, _, message = warning.partition(": ")
        line = int(head[5:]) if head.startswith("line ") and head[5:].isdigit() else 1
        found.append(FileError(path, line, message or warning))
    seen: set[str] = set()
    for link in (*rb.drill_paths, *rb.pivots, *rb.connections):
        if link.target not in known and link.target not in seen:
            seen.add(link.target)
            found.append(
                FileError(path, link.line or 1, f"link to {link.target!r}: no such runbook (yet)")
            )
    return found


def _refuse_unconfirmed_replacements(prepared: list[_Prepared]) -> None:
    """ReplaceNotConfirmed when any prepared runbook exists with other text. Checked before
    the write transaction (one query): a runbook created in between still imports."""
    stored = dict(
        Runbook.objects.filter(slug__in=[item.slug for item in prepared]).values_list(
            "slug", "source_hash"
        )
    )
    replaced = [
        item.slug
        for item in prepared
        if item.slug in stored and stored[item.slug] != text_hash(item.text)
    ]
    if replaced:
        raise ReplaceNotConfirmed(replaced)


def runbook_import(
    *, text: str, path: str, author: AbstractBaseUser | None = None, slug: str | None = None
) -> Runbook:
    """Import one runbook from text; raises RunbookImportFailed on bad input."""
    source = SourceFile(path, slug or slug_from_relative_path(path), text.encode("utf-8"))
    report = runbooks_import(sources=[source], author=author)
    return Runbook.objects.get(slug=(report.created + report.updated + report.unchanged)[0])


@transaction.atomic
def runbook_save_parsed(
    *,
    parsed: ParsedRunbook,
    text: str,
    slug: str,
    path: str = "",
    author: AbstractBaseUser | None = None,
    note: str = "",
) -> tuple[Runbook, str]:
    """Save a parsed runbook as a new revision. Returns (runbook, created|updated|unchanged).

    Causes, checks, patterns and fixes keep their identity by key across revisions; parts
    removed from the text are retired, not deleted, so recorded sessions keep their meaning.
    """
    digest = text_hash(text)
    _resolve_short_links_against_stored(parsed)
    runbook = Runbook.objects.select_for_update().filter(slug=slug).first()
    if runbook is not None and runbook.source_hash == digest:
        return runbook, "unchanged"
    status = "created" if runbook is None else "updated"
    runbook = runbook or Runbook(slug=slug)
    runbook.title = parsed.title
    runbook.summary = parsed.summary
    runbook.symptom = parsed.symptom
    runbook.category = parsed.category or default_category(slug)
    runbook.tags = parsed.tags
    runbook.front_matter = parsed.front_matter
    runbook.not_the_issue_condition = parsed.not_the_issue_condition
    runbook.section_order = list(parsed.section_order)
    runbook.section_intros = dict(parsed.section_intros)
    runbook.source_path = path[:500]
    runbook.source_hash = digest
    runbook.revision += 1
    runbook.save()

    causes = _save_causes(runbook, parsed)
    _save_checks(runbook, parsed, causes)
    _save_patterns(runbook, parsed, causes)
    _save_fixes(runbook, parsed, causes)
    _save_simple_parts(runbook, parsed)
    _save_search_entries(runbook, parsed)
    resolve_links(runbook)
    RunbookRevision.objects.create(
        runbook=runbook,
        number=runbook.revision,
        markdown=text,
        source_hash=digest,
        author=author,
        note=note[:500],
    )
    return runbook, status


def default_category(slug: str) -> str:
    return slug.split("/", 1)[0] if "/" in slug else "general"


def _save_rows(model, rows: list, new: list) -> None:
    """Save ``rows``: the ones in ``new`` (not stored yet) in one INSERT, the rest one by
    one (their identity, and the sessions citing them, stay)."""
    fresh = {id(row) for row in new}
    for row in rows:
        if id(row) not in fresh:
            row.save()
    model.objects.bulk_create(new)


def _save_causes(runbook: Runbook, parsed: ParsedRunbook) -> dict[str, Cause]:
    existing = {c.key: c for c in runbook.causes.all()}
    rows, new = [], []
    for rank, item in enumerate(parsed.causes, start=1):
        cause = existing.get(item.key)
        if cause is None:
            cause = Cause(runbook=runbook, key=item.key)
            new.append(cause)
        cause.rank, cause.title, cause.detail, cause.retired = rank, item.title, item.detail, False
        rows.append(cause)
        existing[item.key] = cause
    _save_rows(Cause, rows, new)
    keep = {item.key for item in parsed.causes}
    runbook.causes.exclude(key__in=keep).update(retired=True)
    return {key: cause for key, cause in existing.items() if key in keep}


def _save_checks(runbook: Runbook, parsed: ParsedRunbook, causes: dict[str, Cause]) -> None:
    existing = {c.key: c for c in runbook.checks.all()}
    rows, new = [], []
    for position, item in enumerate(parsed.checks, start=1):
        check = existing.get(item.key)
        if check is None:
            check = Check(runbook=runbook, key=item.key)
            new.append(check)
        check.position, check.title, check.detail, check.retired = (
            position,
            item.title,
            item.detail,
            False,
        )
        check.minutes_authored = item.minutes is not None
        check.minutes = item.minutes or default_check_minutes(position)
        rows.append(check)
    _save_rows(Check, rows, new)
    _save_all_links(CheckCause, "check_item", rows, new, parsed.checks, causes)
    runbook.checks.exclude(key__in={i.key for i in parsed.checks}).update(retired=True)


def _save_patterns(runbook: Runbook, parsed: ParsedRunbook, causes: dict[str, Cause]) -> None:
    existing = {p.key: p for p in runbook.patterns.all()}
    rows, new = [], []
    for position, item in enumerate(parsed.patterns, start=1):
        pattern = existing.get(item.key)
        if pattern is None:
            pattern = Pattern(runbook=runbook, key=item.key)
            new.append(pattern)
        pattern.position, pattern.observation, pattern.diagnosis, pattern.retired = (
            position,
            item.observation,
            item.diagnosis,
            False,
        )
        rows.append(pattern)
    _save_rows(Pattern, rows, new)
    _save_all_links(PatternCause, "pattern", rows, new, parsed.patterns, causes)
    runbook.patterns.exclude(key__in={i.key for i in parsed.patterns}).update(retired=True)


def _save_fixes(runbook: Runbook, parsed: ParsedRunbook, causes: dict[str, Cause]) -> None:
    existing = {f.key: f for f in runbook.fix_patterns.all()}
    rows, new = [], []
    for position, item in enumerate(parsed.fix_patterns, start=1):
        fix = existing.get(item.key)
        if fix is None:
            fix = FixPattern(runbook=runbook, key=item.key)
            new.append(fix)
        fix.position, fix.text, fix.retired = position, item.text, False
        rows.append(fix)
    _save_rows(FixPattern, rows, new)
    _save_all_links(FixCause, "fix", rows, new, parsed.fix_patterns, causes)
    runbook.fix_patterns.exclude(key__in={i.key for i in parsed.fix_patterns}).update(retired=True)


def _save_all_links(model, owner_field, owners: list, new: list, items: list, causes) -> None:
    """Cause links of every owner (pattern, check or fix, in ``items`` order). A new owner
    has no links to keep or replace, so all of theirs go in one INSERT."""
    fresh = {id(owner) for owner in new}
    created = []
    for owner, item in zip(owners, items, strict=True):
        if id(owner) in fresh:
            status = LinkStatus.CONFIRMED if item.confirmed else LinkStatus.PROPOSED
            created += [
                model(**{owner_field: owner}, cause=causes[key], status=status)
                for key in dict.fromkeys(item.causes)
                if key in causes
            ]
        else:
            _save_links(model, owner_field, owner, item.causes, item.confirmed, causes)
    model.objects.bulk_create(created)


def _save_links(model, owner_field, owner, keys, confirmed, causes) -> None:
    """Explicit links replace everything; otherwise an editor's confirmed links survive
    and only the importer's proposals are recomputed."""
    links = model.objects.filter(**{owner_field: owner})
    if confirmed:
        links.delete()
        kept = set()
    else:
        links.filter(status=LinkStatus.PROPOSED).delete()
        kept = set(links.values_list("cause__key", flat=True))
    status = LinkStatus.CONFIRMED if confirmed else LinkStatus.PROPOSED
    model.objects.bulk_create(
        model(**{owner_field: owner}, cause=causes[key], status=status)
        for key in keys
        if key in causes and key not in kept
    )


def _save_simple_parts(runbook: Runbook, parsed: ParsedRunbook) -> None:
    for model in (DrillPath, Pivot, Connection, RunbookItem, ExtraSection):
        model.objects.filter(runbook=runbook).delete()
    DrillPath.objects.bulk_create(
        DrillPath(runbook=runbook, position=i, suspect=link.text[:500], target_slug=link.target)
        for i, link in enumerate(parsed.drill_paths, start=1)
    )
    Pivot.objects.bulk_create(
        Pivot(runbook=runbook, position=i, note=link.text, target_slug=link.target)
        for i, link in enumerate(parsed.pivots, start=1)
    )
    Connection.objects.bulk_create(
        Connection(runbook=runbook, position=i, target_slug=link.target)
        for i, link in enumerate(parsed.connections, start=1)
    )
    lists = (
        (ItemKind.SIGNAL_EXAMPLE, parsed.signal_examples),
        (ItemKind.NOT_THE_ISSUE, parsed.not_the_issue_items),
        (ItemKind.OPEN_QUESTION, parsed.open_questions),
        (ItemKind.RELATED_READING, parsed.related_reading),
    )
    RunbookItem.objects.bulk_create(
        RunbookItem(runbook=runbook, kind=kind, position=i, text=text)
        for kind, texts in lists
        for i, text in enumerate(texts, start=1)
    )
    ExtraSection.objects.bulk_create(
        ExtraSection(runbook=runbook, position=i, title=s.title[:300], body=s.body)
        for i, s in enumerate(parsed.extra_sections, start=1)
    )


MAX_ALERT_NAMES = 100


def front_matter_alerts(front_matter: dict) -> list[str]:
    """``alerts: [KubePodCrashLooping, ...]`` (or one name) from front matter: the alert
    names a runbook covers, trimmed, deduplicated, at most 100 of at most 200 characters."""
    value = front_matter.get("alerts") if isinstance(front_matter, dict) else None
    items = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    names: list[str] = []
    for item in items:
        name = " ".join(str(item).split())[:200] if isinstance(item, str | int) else ""
        if name and name not in names:
            names.append(name)
    return names[:MAX_ALERT_NAMES]


def _save_search_entries(runbook: Runbook, parsed: ParsedRunbook) -> None:
    SearchEntry.objects.filter(runbook=runbook).delete()
    source = RunbookAlert.Source.FRONT_MATTER
    stored = list(runbook.alert_names.values_list("name", "source"))
    named = front_matter_alerts(parsed.front_matter)
    if sorted(name for name, s in stored if s == source) != sorted(named):
        RunbookAlert.objects.filter(runbook=runbook, source=source).delete()
        RunbookAlert.objects.bulk_create(
            RunbookAlert(runbook=runbook, name=name, source=source) for name in named
        )
    alerts = sorted({name for name, s in stored if s != source} | set(named))
    pieces = search_pieces(parsed, alerts)
    SearchEntry.objects.bulk_create(
        SearchEntry(
            runbook=runbook,
            section=section,
            weight=SEARCH_WEIGHTS[section],
            position=position,
            text=text[:MAX_ENTRY_CHARS],
        )
        for position, (section, text) in enumerate(pieces)
        if text.strip()
    )
    by_weight: dict[str, list[str]] = {}
    for section, text in pieces:
        by_weight.setdefault(DOCUMENT_FIELD[section], []).append(text)
    index_document(
        kind=SearchDocument.Kind.RUNBOOK,
        ref=runbook.pk,
        runbook_id=runbook.pk,
        text=DocumentText(**{name: "\n".join(texts) for name, texts in by_weight.items()}),
    )


MAX_ENTRY_CHARS = 20_000

# Which weight of the search document each section's text goes to (kb.search_index).
DOCUMENT_FIELD = {
    SearchSection.TITLE: "title",
    SearchSection.ALERT: "alerts",
    SearchSection.SYMPTOM: "primary",
    SearchSection.SUMMARY: "primary",
    SearchSection.PATTERN: "primary",
    SearchSection.CAUSE: "primary",
    SearchSection.SIGNAL: "primary",
    SearchSection.CHECK: "secondary",
    SearchSection.FIX: "secondary",
    SearchSection.PIVOT: "secondary",
    SearchSection.LINK: "other",
    SearchSection.SECTION: "other",
}


def search_pieces(parsed: ParsedRunbook, alerts: list[str]) -> list[tuple[str, str]]:
    """(SearchSection, text) for every searchable piece of a runbook, in weight order."""
    pieces: list[tuple[str, str]] = [(SearchSection.TITLE, parsed.title)]
    pieces += [(SearchSection.ALERT, name) for name in alerts]
    pieces += [(SearchSection.SYMPTOM, parsed.symptom), (SearchSection.SUMMARY, parsed.summary)]
    pieces += [(SearchSection.PATTERN, f"{p.observation} — {p.diagnosis}") for p in parsed.patterns]
    pieces += [(SearchSection.CAUSE, f"{c.title} — {c.detail}".rstrip(" —")) for c in parsed.causes]
    pieces += [(SearchSection.SIGNAL, text) for text in parsed.signal_examples]
    pieces += [(SearchSection.CHECK, f"{c.title} — {c.detail}".rstrip(" —")) for c in parsed.checks]
    pieces += [(SearchSection.FIX, f.text) for f in parsed.fix_patterns]
    pieces += [(SearchSection.PIVOT, parsed.not_the_issue_condition)]
    pieces += [(SearchSection.PIVOT, text) for text in parsed.not_the_issue_items]
    pieces += [(SearchSection.PIVOT, link.text) for link in parsed.pivots]
    pieces += [(SearchSection.SECTION, f"{s.title} — {s.body}") for s in parsed.extra_sections]
    pieces += [(SearchSection.LINK, link.text) for link in parsed.drill_paths]
    pieces += [(SearchSection.LINK, link.text) for link in parsed.connections]
    pieces += [(SearchSection.SECTION, text) for text in parsed.open_questions]
    pieces += [(SearchSection.SECTION, text) for text in parsed.related_reading]
    return [(section, text) for section, text in pieces if text and text.strip()]


def runbook_alerts_reindex(runbook_ids: Iterable[int]) -> None:
    """Rewrite the alert names (weight A) of these runbooks' search documents from their
    RunbookAlert rows; other text stays as indexed."""
    names: dict[int, set[str]] = {}
    for runbook_id, name in RunbookAlert.objects.filter(runbook__in=set(runbook_ids)).values_list(
        "runbook", "name"
    ):
        names.setdefault(runbook_id, set()).add(name)
    for runbook_id in set(runbook_ids):
        set_alerts(
            kind=SearchDocument.Kind.RUNBOOK,
            ref=runbook_id,
            alerts="\n".join(sorted(names.get(runbook_id, ()))),
        )


@transaction.atomic
def runbook_alerts_replace(*, source: str, names: dict[int, Iterable[str]]) -> None:
    """Make ``names`` (runbook id → alert names) the whole of one source's alert names,
    e.g. every alert mapping's; changed runbooks are reindexed."""
    current = {
        (runbook_id, name)
        for runbook_id, name in RunbookAlert.objects.filter(source=source).values_list(
            "runbook", "name"
        )
    }
    wanted = {
        (runbook_id, " ".join(name.split())[:200])
        for runbook_id, given in names.items()
        for name in given
        if name.strip()
    }
    gone, new = current - wanted, wanted - current
    for runbook_id, name in gone:
        RunbookAlert.objects.filter(runbook=runbook_id, name=name, source=source).delete()
    RunbookAlert.objects.bulk_create(
        [RunbookAlert(runbook_id=r, name=n, source=source) for r, n in new], ignore_conflicts=True
    )
    runbook_alerts_reindex({runbook_id for runbook_id, _ in gone | new})


@transaction.atomic
def runbook_alert_seen(*, runbook_id: int, name: str) -> None:
    """Record that an alert of this name opened a session on this runbook (searchable)."""
    name = " ".join(name.split())[:200]
    if not name:
        return
    _row, created = RunbookAlert.objects.get_or_create(
        runbook_id=runbook_id, name=name, source=RunbookAlert.Source.SEEN
    )
    if created:
        runbook_alerts_reindex([runbook_id])


def resolve_links(runbook: Runbook) -> None:
    """Point this runbook's links at runbooks that exist, and others' links at this one."""
    for model in (DrillPath, Pivot, Connection):
        outgoing = list(model.objects.filter(runbook=runbook))
        targets = dict(
            Runbook.objects.filter(slug__in={link.target_slug for link in outgoing}).values_list(
                "slug", "id"
            )
        )
        for link in outgoing:
            link.target_id = targets.get(link.target_slug)
        model.objects.bulk_update(outgoing, ["target"])
        model.objects.filter(target_slug=runbook.slug).exclude(target=runbook).update(
            target=runbook
        )


def search_index_rebuild(*, only_missing: bool = False) -> int:
    """Index every runbook from its stored parts (or only those without a search document:
    after an upgrade). A full rebuild also prunes the vocabulary. Returns runbooks indexed.
    One transaction per 100 runbooks, so a long rebuild never holds the write lock for long."""
    from kb.exporting import runbook_to_parsed

    runbooks = Runbook.objects.order_by("pk")
    if only_missing:
        indexed = SearchDocument.objects.filter(kind=SearchDocument.Kind.RUNBOOK)
        runbooks = runbooks.exclude(pk__in=indexed.values("ref"))
    else:
        SearchWord.objects.all().delete()
    ids = list(runbooks.values_list("pk", flat=True))
    for start in range(0, len(ids), 100):
        with transaction.atomic(), vocabulary_batch():
            for runbook in Runbook.objects.with_parts().filter(pk__in=ids[start : start + 100]):
                _save_search_entries(runbook, runbook_to_parsed(runbook))
    return len(ids)
