"""Read-side queries for triage pages."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count
from django.utils import timezone

from kb.models import Cause, Check, FixPattern, Runbook
from kb.selectors import runbooks_with_parts
from triage.alerts import session_alert_json
from triage.flow import NONE_OF_THESE, Progress, checks_for, progress, runbook_stack
from triage.learning import current_flow
from triage.models import Outcome, TriageSession, TriageStep
from triage.services import can_record, flow_steps


def session_for_page(pk: int) -> TriageSession | None:
    return (
        TriageSession.objects.select_related("runbook", "owner", "revision")
        .prefetch_related(_steps_prefetch())
        .filter(pk=pk)
        .first()
    )


def _steps_prefetch():
    from django.db.models import Prefetch

    # A long session has a hundred steps: leave the runbooks' texts out of every row.
    heavy = ("summary", "symptom", "front_matter", "not_the_issue_condition", "source_path")
    return Prefetch(
        "steps",
        queryset=TriageStep.objects.select_related(
            "author", "runbook", "pattern", "check_item", "cause", "target"
        ).defer(*(f"{rb}__{name}" for rb in ("runbook", "target") for name in heavy)),
    )


@dataclass
class CauseRow:
    cause: Cause
    checks: list[tuple[Check, str]]  # (check, result or "")
    status: str  # candidate | ruled_out | confirmed
    probability: float = 0.0  # percent, renormalised within the session


@dataclass
class TriagePage:
    session: TriageSession
    steps: list[TriageStep]
    stack: list[Runbook]
    runbook: Runbook  # where the engineer is now
    progress: Progress
    can_record: bool
    cause_rows: list[CauseRow] = field(default_factory=list)
    other_causes: list[Cause] = field(default_factory=list)
    best_guess: Cause | None = None
    next_check: tuple[Cause, Check] | None = None
    chosen_pattern: Any = None
    outcome_causes: list[Cause] = field(default_factory=list)
    outcome_fixes: list[FixPattern] = field(default_factory=list)
    token: str = ""
    shown_at: str = ""
    next_probability: float = 0.0  # percent

    @property
    def ruled_out(self) -> list[Cause]:
        return [row.cause for row in self.cause_rows if row.status == "ruled_out"]


def triage_page(session: TriageSession, user) -> TriagePage:
    steps = list(session.steps.all())
    stack_ids = runbook_stack(session.runbook_id, flow_steps(session))
    runbooks = runbooks_with_parts(set(stack_ids) | _visited_ids(session, steps))
    current = runbooks[stack_ids[-1]]
    flow = current_flow(current)
    state = progress(flow, flow_steps(session))
    page = TriagePage(
        session=session,
        steps=steps,
        stack=[runbooks[i] for i in stack_ids],
        runbook=current,
        progress=state,
        can_record=can_record(session, user) and not session.is_finished,
        token=str(uuid.uuid4()),
        shown_at=timezone.now().isoformat(),
    )
    causes = {c.pk: c for c in current.causes.all()}
    checks = {c.pk: c for c in current.checks.all()}
    for cause_id in state.confirmed + [c for c in state.candidates if c not in state.confirmed]:
        page.cause_rows.append(_row(flow, causes, checks, state, cause_id))
    for cause_id in state.ruled_out:
        page.cause_rows.append(_row(flow, causes, checks, state, cause_id))
    listed = {row.cause.pk for row in page.cause_rows}
    page.other_causes = [c for pk, c in causes.items() if pk not in listed and not c.retired]
    if state.best_guess:
        page.best_guess = causes[state.best_guess]
    if state.next_check:
        page.next_check = (causes[state.next_check[0]], checks[state.next_check[1]])
        page.next_probability = 100 * state.probabilities.get(state.next_check[0], 0.0)
    if state.pattern_id not in (None, NONE_OF_THESE):
        page.chosen_pattern = next(p for p in current.patterns.all() if p.pk == state.pattern_id)
    for rb in runbooks.values():
        page.outcome_causes += [c for c in rb.causes.all() if not c.retired]
        page.outcome_fixes += [f for f in rb.fix_patterns.all() if not f.retired]
    return page


def _row(flow, causes, checks, state: Progress, cause_id: int) -> CauseRow:
    status = "candidate"
    if cause_id in state.confirmed:
        status = "confirmed"
    elif cause_id in state.ruled_out:
        status = "ruled_out"
    return CauseRow(
        cause=causes[cause_id],
        checks=[
            (checks[k], state.results.get((cause_id, k), "")) for k in checks_for(flow, cause_id)
        ],
        status=status,
    )


def _visited_ids(session: TriageSession, steps: list[TriageStep]) -> set[int]:
    return {session.runbook_id} | {s.target_id for s in steps if s.target_id}


def session_to_dict(session: TriageSession) -> dict[str, Any]:
    outcome = (
        Outcome.objects.filter(session=session)
        .select_related("cause__runbook", "fix", "recorded_by")
        .first()
    )
    return {
        "id": session.pk,
        "runbook": session.runbook.slug,
        "revision": session.revision.number,
        "owner": session.owner.get_username(),
        "status": session.status,
        "incident_ref": session.incident_ref,
        "alert_source": session.alert_source,
        "started_at": session.started_at.isoformat(),
        "ended_at": session.ended_at.isoformat() if session.ended_at else None,
        "steps": [_step_dict(step) for step in session.steps.all()],
        "outcome": _outcome_dict(outcome) if outcome else None,
        "alert": session_alert_json(session),
    }


def _step_dict(step: TriageStep) -> dict[str, Any]:
    return {
        "id": step.pk,
        "kind": step.kind,
        "at": step.created_at.isoformat(),
        "author": step.author.get_username(),
        "runbook": step.runbook.slug,
        "gate_holds": step.gate_holds,
        "pattern": step.pattern.key if step.pattern else None,
        "check": step.check_item.key if step.check_item else None,
        "cause": step.cause.key if step.cause else None,
        "result": step.result or None,
        "minutes": step.minutes,
        "target": step.target.slug if step.target else None,
        "note": step.note or None,
        "supersedes": step.supersedes_id,
    }


def _outcome_dict(outcome: Outcome) -> dict[str, Any]:
    return {
        "resolution": outcome.resolution,
        "cause": outcome.cause.key if outcome.cause else None,
        "cause_runbook": outcome.cause.runbook.slug if outcome.cause else None,
        "cause_text": outcome.cause_text or None,
        "fix": outcome.fix.text if outcome.fix else None,
        "fix_text": outcome.fix_text or None,
        "minutes_to_diagnosis": outcome.minutes_to_diagnosis,
        "notes": outcome.notes,
        "recorded_by": outcome.recorded_by.get_username(),
        "recorded_at": outcome.recorded_at.isoformat(),
    }


def open_sessions_for(user, limit: int = 10) -> list[TriageSession]:
    return list(
        TriageSession.objects.unfinished()
        .involving(user)
        .select_related("runbook")
        .order_by("-started_at")[:limit]
    )


@dataclass(frozen=True)
class TimelineRow:
    step: TriageStep
    offset: str  # time since the session started, "+m:ss"
    description: str


def timeline_rows(session: TriageSession) -> list[TimelineRow]:
    rows = []
    for step in session.steps.all():
        seconds = max(0, int((step.created_at - session.started_at).total_seconds()))
        offset = f"+{seconds // 60}:{seconds % 60:02d}"
        rows.append(TimelineRow(step, offset, describe_step(step)))
    return rows


def describe_step(step: TriageStep) -> str:
    kind = step.kind
    if kind == TriageStep.Kind.GATE:
        return "Gate: the condition holds" if step.gate_holds else "Gate: no, continue here"
    if kind == TriageStep.Kind.PATTERN:
        return f"Pattern: {step.pattern.observation}" if step.pattern else "Pattern: none of these"
    if kind == TriageStep.Kind.CHECK:
        minutes = f" ({step.minutes:g} min)" if step.minutes is not None else ""
        return (
            f"Check “{step.check_item.title}” {step.get_result_display()} "
            f"“{step.cause.title}”{minutes}"
        )
    if kind in (TriageStep.Kind.DRILL, TriageStep.Kind.PIVOT):
        return f"{step.get_kind_display().capitalize()}: {step.target.title}"
    if kind == TriageStep.Kind.NOTE:
        return f"Note: {step.note}"
    return step.get_kind_display().capitalize()


def runbook_session_counts() -> dict[int, int]:
    """Runbook id → triage sessions started on it (kb's link health, via settings)."""
    rows = TriageSession.objects.values("runbook").annotate(n=Count("id"))
    return {row["runbook"]: row["n"] for row in rows}
