"""Link health for editors: what the knowledge base links to but lacks, what nothing links
to, and what no triage has used. Fixed query counts.

Usage comes from triage through a callable named in settings, because kb never imports
triage (DESIGN.md §2): ``FIELDGUIDE_RUNBOOK_USAGE`` ("triage.selectors.runbook_session_counts")
takes no arguments and returns ``{runbook id: number of triage sessions}``. Unset or not
importable, the page says usage is unknown instead of listing every runbook as unused.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db.models import F
from django.utils.module_loading import import_string

from kb.models import Connection, DrillPath, Pivot, Runbook

LINK_KINDS = ((DrillPath, "drill path"), (Pivot, "pivot"), (Connection, "connection"))


@dataclass(frozen=True)
class LinkSource:
    slug: str
    title: str
    kinds: tuple[str, ...]


@dataclass(frozen=True)
class MissingTarget:
    slug: str
    links: int
    sources: tuple[LinkSource, ...]


@dataclass(frozen=True)
class LinkHealth:
    missing: list[MissingTarget]
    orphans: list[Runbook]
    unused: list[Runbook] | None  # None when usage is unknown
    usage_source: str


def runbook_usage() -> dict[int, int] | None:
    path = getattr(settings, "FIELDGUIDE_RUNBOOK_USAGE", "")
    if not path:
        return None
    try:
        provider = import_string(path)
    except ImportError:
        return None
    return dict(provider())


def missing_targets() -> list[MissingTarget]:
    """Slugs linked to that no runbook has, most-linked first, with where from."""
    counts: dict[str, int] = {}
    sources: dict[str, dict[str, tuple[str, list[str]]]] = {}
    for model, kind in LINK_KINDS:
        rows = model.objects.filter(target__isnull=True).values_list(
            "target_slug", "runbook__slug", "runbook__title"
        )
        for target, slug, title in rows:
            counts[target] = counts.get(target, 0) + 1
            _title, kinds = sources.setdefault(target, {}).setdefault(slug, (title, []))
            if kind not in kinds:
                kinds.append(kind)
    return [
        MissingTarget(
            target,
            counts[target],
            tuple(
                LinkSource(slug, title, tuple(kinds))
                for slug, (title, kinds) in sorted(sources[target].items())
            ),
        )
        for target in sorted(counts, key=lambda t: (-counts[t], t))
    ]


def link_health() -> LinkHealth:
    runbooks = list(Runbook.objects.only("slug", "title", "category").order_by("slug"))
    linked_to: set[int] = set()
    for model, _kind in LINK_KINDS:
        linked_to.update(
            model.objects.filter(target__isnull=False)
            .exclude(target=F("runbook"))
            .values_list("target_id", flat=True)
        )
    usage = runbook_usage()
    unused = None if usage is None else [r for r in runbooks if not usage.get(r.pk)]
    return LinkHealth(
        missing=missing_targets(),
        orphans=[r for r in runbooks if r.pk not in linked_to],
        unused=unused,
        usage_source=getattr(settings, "FIELDGUIDE_RUNBOOK_USAGE", ""),
    )
