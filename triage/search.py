"""Finished sessions in full-text search: "how it was fixed last time".

A finished session is indexed (kb.search_index, kind "incident") when its outcome is
recorded: the incident reference and alert weigh A, the confirmed cause and the patterns
seen B, the fix C, the notes D. kb's search page shows the best of them beside the runbooks
through ``FIELDGUIDE_PAST_INCIDENTS`` (kb never imports triage).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q
from django.urls import reverse
from django.utils.safestring import SafeString

from kb.models import SearchDocument
from kb.search_index import DocumentText, index_document, index_new_documents, rank
from kb.search_query import ParsedQuery, highlight, match_count
from triage.models import Outcome, TriageSession, TriageStep

MAX_NOTES_CHARS = 20_000
# Past incidents come from the newest 5,000 indexed sessions: what was fixed recently, at a
# cost that does not grow with the history.
RECENT_INCIDENTS = 5_000


def index_incident(session: TriageSession, outcome: Outcome) -> None:
    """Index one finished session, if it recorded anything worth finding again (a cause, a
    fix, notes or an incident reference). Call inside the transaction that finishes it."""
    steps = session.steps.filter(kind=TriageStep.Kind.NOTE)
    text = _incident_text(session, outcome, steps)
    if text is not None:
        index_document(
            kind=SearchDocument.Kind.INCIDENT,
            ref=session.pk,
            runbook_id=session.runbook_id,
            text=text,
        )


def index_unindexed_incidents() -> int:
    """Index every finished session that has no search document (after a bulk load of
    history, which bypasses session_finish). Returns how many; 1,000 sessions per query."""
    indexed = SearchDocument.objects.filter(kind=SearchDocument.Kind.INCIDENT).values("ref")
    worth = (
        Q(cause__isnull=False)
        | Q(fix__isnull=False)
        | ~Q(cause_text="")
        | ~Q(fix_text="")
        | ~Q(notes="")
        | ~Q(session__incident_ref="")
    )
    unindexed = Outcome.objects.filter(worth).exclude(session__in=indexed)
    pending = list(unindexed.values_list("session", flat=True))
    for start in range(0, len(pending), 1000):
        chunk = pending[start : start + 1000]
        outcomes = Outcome.objects.filter(session__in=chunk).select_related(
            "session", "cause", "fix"
        )
        steps: dict[int, list[TriageStep]] = {}
        for step in TriageStep.objects.filter(session__in=chunk, kind=TriageStep.Kind.NOTE):
            steps.setdefault(step.session_id, []).append(step)
        texts = [
            (
                o.session_id,
                o.session.runbook_id,
                _incident_text(o.session, o, steps.get(o.session_id, [])),
            )
            for o in outcomes
        ]
        index_new_documents(
            SearchDocument.Kind.INCIDENT, [row for row in texts if row[2] is not None]
        )
    return len(pending)


def _incident_text(session: TriageSession, outcome: Outcome, steps) -> DocumentText | None:
    """What "how it was fixed last time" is found by: the incident reference and alert (A),
    the confirmed cause (B), the fix (C), the outcome's and the steps' notes (D). None when
    the session recorded none of cause, fix, notes or reference: nothing to show."""
    notes = [outcome.notes, *(step.note for step in steps if step.note)]
    cause = outcome.cause.title if outcome.cause else outcome.cause_text
    fix = outcome.fix.text if outcome.fix else outcome.fix_text
    if not (cause or fix or session.incident_ref or any(n.strip() for n in notes)):
        return None
    return DocumentText(
        title=session.incident_ref,
        alerts=session.alert_source,
        primary=cause,
        secondary=fix,
        other="\n".join(notes)[:MAX_NOTES_CHARS],
    )


@dataclass(frozen=True)
class PastIncident:
    """A finished session that matches a search, for the search page."""

    url: str
    label: str  # "#41 · INC-2231"
    runbook_title: str
    ended_at: datetime | None
    resolution: str
    cause: str  # highlighted (HTML-escaped, matches marked)
    fix: str  # highlighted
    snippet: SafeString  # what else matched (notes, the reference), highlighted; or ""


def past_incidents(query: ParsedQuery, limit: int = 5) -> list[PastIncident]:
    """The finished sessions best matching ``query`` among the newest RECENT_INCIDENTS,
    best first (three queries)."""
    ranked = rank(SearchDocument.Kind.INCIDENT, query, limit=limit, newest=RECENT_INCIDENTS)
    if not ranked:
        return []
    # Values, not model instances: five sessions with their runbook, outcome, cause and fix
    # as objects cost more than ranking them.
    rows = Outcome.objects.filter(session__in=[r.ref for r in ranked]).values_list(
        "session_id",
        "session__incident_ref",
        "session__ended_at",
        "session__runbook__title",
        "resolution",
        "cause__title",
        "cause_text",
        "fix__text",
        "fix_text",
        "notes",
    )
    outcomes = {row[0]: row for row in rows}
    resolutions = dict(Outcome.Resolution.choices)
    found = []
    for row in ranked:
        if row.ref not in outcomes:
            continue
        pk, ref, ended_at, runbook_title, resolution, cause, cause_text, fix, fix_text, notes = (
            outcomes[row.ref]
        )
        cause, fix = cause or cause_text, fix or fix_text
        best = max([cause, fix, notes, ref], key=lambda text: match_count(text, query))
        shown = {cause, fix}  # shown (highlighted) anyway: no second copy as the snippet
        found.append(
            PastIncident(
                url=reverse("triage_session", args=[pk]),
                label=" · ".join(filter(None, [f"#{pk}", ref])),
                runbook_title=runbook_title,
                ended_at=ended_at,
                resolution=resolutions.get(resolution, resolution),
                cause=highlight(cause, query, width=500) if cause else "",
                fix=highlight(fix, query, width=500) if fix else "",
                snippet=highlight(best, query) if best not in shown else SafeString(""),
            )
        )
    return found
