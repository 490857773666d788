"""What leads read at a glance: aggregates over sessions, each with its numbers.

Every figure is one grouped SQL query, so the page costs the same at 300 or 100,000
sessions (the database does the counting).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Avg, Count, F, Q
from django.db.models.functions import TruncMonth, TruncWeek
from django.utils import timezone

from kb.fragments import cached, fragment_key
from kb.models import Runbook
from triage import charts
from triage.history import history_version
from triage.models import Outcome, TriageSession, TriageStep


@dataclass
class Insight:
    key: str
    title: str
    chart: charts.Chart
    kind: str  # bars | stacked | shares
    headers: list[str]
    rows: list[list]
    note: str = ""
    extra: dict = field(default_factory=dict)


def weekly_sessions(weeks: int = 26) -> Insight:
    since = timezone.now() - timedelta(weeks=weeks)
    rows = (
        TriageSession.objects.filter(started_at__gte=since)
        .annotate(week=TruncWeek("started_at"))
        .values("week")
        .annotate(sessions=Count("id"), minutes=Avg("outcome__minutes_to_diagnosis"))
        .order_by("week")
    )
    data = [(r["week"].date().isoformat(), r["sessions"], r["minutes"]) for r in rows]
    chart = charts.bar_chart(
        [d[0][5:] for d in data], [d[1] for d in data], line=[d[2] for d in data]
    )
    table = [[w, n, "—" if m is None else f"{m:.1f}"] for w, n, m in data]
    return Insight(
        "weekly",
        "Sessions per week, and mean time to diagnosis (line)",
        chart,
        "bars",
        ["Week of", "Sessions", "Mean minutes to diagnosis"],
        table,
    )


def resolution_mix() -> Insight:
    counts = dict(
        Outcome.objects.values("resolution").annotate(n=Count("id")).values_list("resolution", "n")
    )
    labels = [label for value, label in Outcome.Resolution.choices]
    values = [counts.get(value, 0) for value, _label in Outcome.Resolution.choices]
    return Insight(
        "resolutions",
        "How sessions ended",
        charts.bar_chart(labels, values, height=200),
        "bars",
        ["Resolution", "Sessions"],
        [[label, n] for label, n in zip(labels, values, strict=True)],
    )


def busiest_runbook() -> Runbook | None:
    top = TriageSession.objects.values("runbook").annotate(n=Count("id")).order_by("-n").first()
    return Runbook.objects.filter(pk=top["runbook"]).first() if top else None


def causes_over_time(runbook: Runbook | None, months: int = 6) -> Insight | None:
    if runbook is None:
        return None
    since = timezone.now() - timedelta(days=31 * months)
    rows = list(
        Outcome.objects.filter(session__runbook=runbook, recorded_at__gte=since)
        .exclude(cause__isnull=True, cause_text="")
        .annotate(month=TruncMonth("recorded_at"), title=F("cause__title"))
        .values("month", "title", "cause_text")
        .annotate(n=Count("id"))
        .order_by("month")
    )
    names: dict[str, int] = {}
    for r in rows:
        name = r["title"] or "(unlisted) " + r["cause_text"][:40]
        names[name] = names.get(name, 0) + r["n"]
    top = [name for name, _n in sorted(names.items(), key=lambda kv: -kv[1])[:5]]
    month_labels = sorted({r["month"].date().isoformat()[:7] for r in rows})
    grid = {name: [0] * len(month_labels) for name in [*top, "other"]}
    for r in rows:
        name = r["title"] or "(unlisted) " + r["cause_text"][:40]
        column = month_labels.index(r["month"].date().isoformat()[:7])
        grid[name if name in top else "other"][column] += r["n"]
    series = [(name, values) for name, values in grid.items() if any(values)]
    table = [[m, *[values[i] for _n, values in series]] for i, m in enumerate(month_labels)]
    return Insight(
        "causes",
        f"Confirmed causes per month: {runbook.title}",
        charts.stacked_bars(month_labels, series),
        "stacked",
        ["Month", *[name for name, _v in series]],
        table,
        extra={"runbook": runbook},
    )


def runbook_effectiveness(limit: int = 12) -> Insight:
    rows = (
        Outcome.objects.values("session__runbook__title")
        .annotate(
            listed=Count(
                "id",
                filter=Q(cause__runbook=F("session__runbook"))
                & Q(resolution__in=["resolved", "rolled_back"]),
            ),
            escalated=Count("id", filter=Q(resolution="escalated")),
            unlisted=Count("id", filter=Q(cause__isnull=True) & ~Q(cause_text="")),
            total=Count("id"),
        )
        .order_by("-total")[:limit]
    )
    names = ["resolved via the runbook", "escalated", "unlisted cause", "other"]
    data = []
    for r in rows:
        other = max(0, r["total"] - r["listed"] - r["escalated"] - r["unlisted"])
        data.append(
            (r["session__runbook__title"], [r["listed"], r["escalated"], r["unlisted"], other])
        )
    return Insight(
        "effectiveness",
        "Runbook effectiveness",
        charts.horizontal_shares([(t[:40], v) for t, v in data], names),
        "shares",
        ["Runbook", *names],
        [[title, *values] for title, values in data],
        note="An escalated or unlisted cause is a prompt to improve the runbook.",
    )


def order_deviation(limit: int = 12) -> Insight:
    rows = (
        TriageStep.objects.filter(kind=TriageStep.Kind.CHECK, followed_recommendation__isnull=False)
        .values("runbook__title")
        .annotate(
            checks=Count("id"),
            left=Count("id", filter=Q(followed_recommendation=False)),
        )
        .order_by("-checks")[:limit]
    )
    data = [(r["runbook__title"], r["left"], r["checks"]) for r in rows]
    return Insight(
        "deviation",
        "Where engineers leave the recommended check order",
        charts.horizontal_shares(
            [(t[:40], [c - left, left]) for t, left, c in data],
            ["followed the recommendation", "chose another check"],
        ),
        "shares",
        ["Runbook", "Checks run", "Not the recommended one", "Share"],
        [[t, c, left, f"{left / c:.0%}" if c else "—"] for t, left, c in data],
        note="Frequent departures mean the recommended order or the checks' wording is off.",
    )


@dataclass
class RunbookPanel:
    """The lead's panel on a runbook page."""

    template = "triage/_runbook_panel.html"
    sessions: int
    finished: int
    cause_mix: list[tuple[str, int]]
    median_before: float | None
    median_after: float | None
    revised_at: object


def runbook_panel(runbook: Runbook) -> RunbookPanel:
    """Kept (kb.fragments) until a session, step, outcome or runbook edit changes history."""
    key = fragment_key("runbook-panel", runbook.pk, history_version())
    return cached(key, lambda: _runbook_panel(runbook))


def _runbook_panel(runbook: Runbook) -> RunbookPanel:
    revision = runbook.revisions.order_by("-number").first()
    revised_at = revision.created_at if revision else None
    outcomes = Outcome.objects.filter(session__runbook=runbook)
    mix = list(
        outcomes.exclude(cause__isnull=True, cause_text="")
        .annotate(title=F("cause__title"))
        .values("title", "cause_text")
        .annotate(n=Count("id"))
        .order_by("-n")[:8]
    )
    minutes = outcomes.exclude(minutes_to_diagnosis=None)

    def median(qs) -> float | None:
        # Bounded: the most recent 500 diagnoses on each side of the revision.
        values = list(
            qs.order_by("-recorded_at").values_list("minutes_to_diagnosis", flat=True)[:500]
        )
        return statistics.median(values) if values else None

    before = median(minutes.filter(recorded_at__lt=revised_at)) if revised_at else None
    after = median(minutes.filter(recorded_at__gte=revised_at)) if revised_at else None
    return RunbookPanel(
        sessions=TriageSession.objects.filter(runbook=runbook).count(),
        finished=outcomes.count(),
        cause_mix=[(r["title"] or f"(unlisted) {r['cause_text']}", r["n"]) for r in mix],
        median_before=before,
        median_after=after,
        revised_at=revised_at,
    )
