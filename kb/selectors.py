"""Read-side queries for pages. Each runs a fixed number of queries whatever the data size."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby
from urllib.parse import urlencode

from django.core.cache import caches
from django.db import connection
from django.db.models import Max, Q, Subquery
from django.urls import reverse

from kb.fragments import FRAGMENT_SECONDS, fragment_key
from kb.graph import GraphEdge, GraphLayout, GraphNode, layout_graph
from kb.models import (
    EXTRA_PREFIX,
    Connection,
    DrillPath,
    ExtraSection,
    ItemKind,
    Pivot,
    Runbook,
    RunbookVisit,
)
from kb.runbook_checks import displayable
from kb.tree import (
    TreeCause,
    TreeCheck,
    TreeFix,
    TreeLink,
    TreePattern,
    TreeRunbook,
)

LINK_MODELS = (DrillPath, Pivot, Connection)


@dataclass(frozen=True)
class CategorySummary:
    name: str
    runbooks: list[Runbook]
    missing: int  # distinct runbooks this category links to that do not exist yet


def runbook_index(query: str = "", *, tag: str = "", category: str = "") -> list[CategorySummary]:
    runbooks = Runbook.objects.only("slug", "title", "summary", "category", "tags")
    if query:
        runbooks = runbooks.filter(
            Q(title__icontains=query)
            | Q(slug__icontains=query)
            | Q(category__icontains=query)
            | Q(tags__icontains=query)
        )
    if category:
        runbooks = runbooks.filter(category=category)
    missing: dict[str, set[str]] = {}
    for model in LINK_MODELS:
        rows = model.objects.filter(target__isnull=True).values_list(
            "runbook__category", "target_slug"
        )
        for source_category, slug in rows:
            missing.setdefault(source_category, set()).add(slug)
    ordered = runbooks.order_by("category", "title")
    listed = [_displayable(r) for r in ordered]
    if tag:
        # Tags are a JSON list; matched here so SQLite and PostgreSQL agree (and exactly).
        wanted = tag.casefold()
        listed = [r for r in listed if any(t.casefold() == wanted for t in r.tags)]
    return [
        CategorySummary(displayable(name), list(group), len(missing.get(name, ())))
        for name, group in groupby(listed, key=lambda r: r.category)
    ]


def _tags(value: object) -> list[str]:
    """Stored tags as text a page can show (stored JSON is not always a list of strings)."""
    return [displayable(t) for t in value] if isinstance(value, list) else []


def _displayable(runbook: Runbook) -> Runbook:
    """A listed runbook whose title and tags any page can show: one bad value stored
    before the importer checked them (a lone surrogate cannot be encoded) must not fail
    every listing. Only for display; the instance is never saved."""
    runbook.title = displayable(runbook.title)
    runbook.tags = _tags(runbook.tags)
    return runbook


@dataclass(frozen=True)
class IndexFilters:
    categories: list[str]
    tags: list[str]


def runbook_filters() -> IndexFilters:
    """Every category and tag in use, for the index's filter choices."""
    rows = list(Runbook.objects.values_list("category", "tags"))
    tags = {t for _category, tags in rows for t in _tags(tags)}
    return IndexFilters(
        categories=sorted({displayable(category) for category, _tags in rows if category}),
        tags=sorted(tags, key=str.casefold),
    )


def recent_runbooks(user, limit: int = 8) -> list[Runbook]:
    visits = RunbookVisit.objects.filter(user=user).select_related("runbook")[:limit]
    return [_displayable(visit.runbook) for visit in visits]


def kb_version() -> datetime | None:
    """The newest change to any runbook: every edit saves its runbook (kb.fragments)."""
    return Runbook.objects.aggregate(newest=Max("updated_at"))["newest"]


def runbooks_with_parts(ids: Iterable[int]) -> dict[int, Runbook]:
    """``Runbook.objects.with_parts().in_bulk(ids)``, kept in this process's cache until any
    runbook changes (their links show other runbooks' titles): the guided form reads the
    same runbooks on every answer. ``learned_at`` changes without an edit, so it is read
    fresh, with the version, in one query."""
    newest = Runbook.objects.order_by("-updated_at").values("updated_at")[:1]
    versions = (
        Runbook.objects.filter(pk__in=set(ids))
        .annotate(kb_version=Subquery(newest))
        .values_list("pk", "learned_at", "kb_version")
    )
    learned_at = {pk: learned for pk, learned, _version in versions}
    keys = {fragment_key("runbook-parts", pk, version): pk for pk, _l, version in versions}
    local = caches["local"]
    found = {keys[key]: runbook for key, runbook in local.get_many(list(keys)).items()}
    missing = learned_at.keys() - found.keys()
    if missing:
        fresh = Runbook.objects.with_parts().in_bulk(missing)
        local.set_many(
            {key: fresh[pk] for key, pk in keys.items() if pk in fresh}, FRAGMENT_SECONDS
        )
        found |= fresh
    for pk, runbook in found.items():
        runbook.learned_at = learned_at[pk]
    return found


@dataclass(frozen=True)
class RunbookVersion:
    """The runbook a slug names, and the versions its cached parts are keyed on
    (kb.fragments). Values are as the database returns them: only ever parts of keys."""

    pk: int
    updated_at: object
    learned_at: object
    kb_version: object  # the newest change to any runbook


def runbook_version(slug: str) -> RunbookVersion | None:
    """One query, on every runbook page and tree; written as SQL because building the
    equivalent queryset took Django longer than PostgreSQL took to answer it."""
    table = Runbook._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, updated_at, learned_at, (SELECT MAX(updated_at) FROM {table}) "  # noqa: S608
            f"FROM {table} WHERE slug = %s",
            [slug],
        )
        row = cursor.fetchone()
    return RunbookVersion(*row) if row else None


def runbook_head(pk: int) -> Runbook:
    """The fields a runbook page's header shows."""
    fields = ("slug", "title", "category", "tags", "revision", "updated_at", "learned_at")
    return Runbook.objects.only(*fields).get(pk=pk)


def runbook_detail(slug: str) -> Runbook | None:
    return Runbook.objects.with_parts().filter(slug=slug).first()


@dataclass(frozen=True)
class PageSection:
    """One section of a runbook page: a SECTION_KINDS name or "extra", and what it lists."""

    kind: str
    parts: list = field(default_factory=list)
    extra: ExtraSection | None = None
    intro: str = ""  # Markdown the section opens with, before its first item


def runbook_sections(rb: Runbook) -> list[PageSection]:
    """The sections the runbook (from ``with_parts()``) has, in its author's order, each with
    its live parts: nothing it lacks is shown, and no queries beyond the prefetch."""
    items: dict[str, list[str]] = {}
    for item in rb.items.all():
        items.setdefault(item.kind, []).append(item.text)
    extras = list(rb.extra_sections.all())
    parts = {
        "patterns": [p for p in rb.patterns.all() if not p.retired],
        "causes": [c for c in rb.causes.all() if not c.retired],
        "checks": [c for c in rb.checks.all() if not c.retired],
        "signal_examples": items.get(ItemKind.SIGNAL_EXAMPLE, []),
        "drill_paths": list(rb.drill_paths.all()),
        "fix_patterns": [f for f in rb.fix_patterns.all() if not f.retired],
        "not_the_issue": items.get(ItemKind.NOT_THE_ISSUE, []),
        "connections": list(rb.connections.all()),
        "open_questions": items.get(ItemKind.OPEN_QUESTION, []),
        "related_reading": items.get(ItemKind.RELATED_READING, []),
    }
    intros = rb.section_intros if isinstance(rb.section_intros, dict) else {}
    sections = []
    for key in rb.section_keys():
        if key.startswith(EXTRA_PREFIX):
            extra = extras[int(key.removeprefix(EXTRA_PREFIX))]
            sections.append(PageSection("extra", extra=extra))
        else:
            intro = intros.get(key)
            sections.append(
                PageSection(key, parts.get(key, []), intro=intro if isinstance(intro, str) else "")
            )
    return sections


def tree_runbook(rb: Runbook) -> TreeRunbook:
    """The runbook (from ``with_parts()``) as plain data for kb.tree."""

    def keys(item) -> tuple[str, ...]:
        links = sorted(
            (link for link in item.cause_links.all() if not link.cause.retired),
            key=lambda link: link.cause.rank,
        )
        return tuple(link.cause.key for link in links)

    def link(target_slug: str, text: str, target: Runbook | None) -> TreeLink:
        return TreeLink(target_slug, text, target is not None, target.title if target else "")

    return TreeRunbook(
        slug=rb.slug,
        title=rb.title,
        symptom=rb.symptom,
        condition=rb.not_the_issue_condition,
        not_the_issue_items=tuple(i.text for i in rb.items.all() if i.kind == "not_the_issue"),
        pivots=tuple(link(p.target_slug, p.note, p.target) for p in rb.pivots.all()),
        patterns=tuple(
            TreePattern(p.key, p.observation, p.diagnosis, keys(p))
            for p in rb.patterns.all()
            if not p.retired
        ),
        causes=tuple(TreeCause(c.key, c.title, c.detail) for c in rb.causes.all() if not c.retired),
        checks=tuple(
            TreeCheck(c.key, c.title, c.detail, c.minutes, keys(c))
            for c in rb.checks.all()
            if not c.retired
        ),
        fixes=tuple(TreeFix(f.text, keys(f)) for f in rb.fix_patterns.all() if not f.retired),
        drill_paths=tuple(link(d.target_slug, d.suspect, d.target) for d in rb.drill_paths.all()),
    )


def tree_breadcrumb(trail: tuple[str, ...]) -> list[tuple[str, str]]:
    """(title, url) for each runbook drilled through, each link keeping the trail above it."""
    titles = dict(Runbook.objects.filter(slug__in=trail).values_list("slug", "title"))
    crumbs = []
    for i, slug in enumerate(trail):
        url = reverse("runbook_tree", kwargs={"slug": slug})
        if i:
            url += "?" + urlencode({"trail": ",".join(trail[:i])})
        crumbs.append((titles.get(slug, slug), url))
    return crumbs


def link_graph() -> GraphLayout:
    nodes = [
        GraphNode(slug, title, category, True)
        for slug, title, category in Runbook.objects.values_list("slug", "title", "category")
    ]
    edges = []
    for model, kind in ((DrillPath, "drill"), (Pivot, "pivot"), (Connection, "connection")):
        edges += [
            GraphEdge(source, target, kind)
            for source, target in model.objects.values_list("runbook__slug", "target_slug")
        ]
    return layout_graph(nodes, edges)
