"""Writes for triage sessions. Every step is idempotent by its form's token."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from kb.models import Cause, Check, FixPattern, Pattern, Runbook
from kb.permissions import has_role
from kb.selectors import runbooks_with_parts
from triage import learning
from triage.flow import FlowStep, progress, runbook_stack
from triage.models import CheckResult, Outcome, TriageSession, TriageStep
from triage.search import index_incident

MAX_CHECK_MINUTES = 24 * 60


class TriageError(Exception):
    """A step that cannot be recorded. ``status`` is the HTTP status a view should answer."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


def session_start(
    *,
    runbook: Runbook,
    user: AbstractBaseUser,
    incident_ref: str = "",
    alert_source: str = "",
    at: datetime | None = None,
    token: uuid.UUID | None = None,
) -> TriageSession:
    """Open a session. With the start form's ``token``, starting again returns the same one."""
    if token is not None:
        existing = _started_with(token, user)
        if existing is not None:
            return existing
    revision = runbook.revisions.order_by("-number").first()
    if revision is None:
        raise TriageError("This runbook has no revision to triage against.", 409)
    try:
        with transaction.atomic():
            return TriageSession.objects.create(
                runbook=runbook,
                revision=revision,
                owner=user,
                incident_ref=incident_ref.strip()[:120],
                alert_source=alert_source[:200],
                started_at=at or timezone.now(),
                start_token=token,
            )
    except IntegrityError:
        if token is None:
            raise
        # Lost a race with the same token (a retry arriving in parallel): the first one won.
        return _started_with(token, user)


def _started_with(token: uuid.UUID, user: AbstractBaseUser) -> TriageSession | None:
    session = TriageSession.objects.filter(start_token=token).first()
    if session is not None and session.owner_id != user.pk:
        raise TriageError("This start form was already used by someone else.", 409)
    return session


def can_record(session: TriageSession, user: AbstractBaseUser) -> bool:
    if not has_role(user, "engineer"):
        return False
    if session.owner_id == user.pk:
        return True
    if session.status == TriageSession.Status.FROM_ALERT:
        return True  # opened by an alert: any engineer may pick it up (see _pick_up)
    return session.steps.filter(kind=TriageStep.Kind.JOIN, author=user).exists()


def _pick_up(
    session: TriageSession, user: AbstractBaseUser, token: uuid.UUID, at: datetime | None = None
) -> bool:
    """The first engineer to act on a session an alert opened joins it (a JOIN step with
    ``token``) and it becomes an ordinary open session. False if there was nothing to do."""
    if session.status != TriageSession.Status.FROM_ALERT or session.owner_id == user.pk:
        return False
    join = _control_step(session, user, token, TriageStep.Kind.JOIN)
    join.created_at = at or timezone.now()
    _save_step(session, join)
    session.status = TriageSession.Status.OPEN
    session.save(update_fields=["status"])
    return True


def flow_steps(session: TriageSession) -> list[FlowStep]:
    return [
        FlowStep(
            kind=s.kind,
            runbook_id=s.runbook_id,
            gate_holds=s.gate_holds,
            pattern_id=s.pattern_id,
            check_id=s.check_item_id,
            cause_id=s.cause_id,
            result=s.result,
            target_id=s.target_id,
        )
        for s in session.steps.all()
    ]


def current_runbook_id(session: TriageSession) -> int:
    return runbook_stack(session.runbook_id, flow_steps(session))[-1]


@dataclass(frozen=True)
class StepInput:
    """An answer as submitted by a form; ids are validated against the session."""

    kind: str
    gate_holds: bool | None = None
    pattern_id: int | None = None  # None with kind "pattern" means "none of these"
    check_id: int | None = None
    cause_id: int | None = None
    result: str = ""
    minutes: float | None = None
    target_slug: str = ""
    note: str = ""


ANSWER_KINDS = {
    TriageStep.Kind.GATE,
    TriageStep.Kind.PATTERN,
    TriageStep.Kind.CHECK,
    TriageStep.Kind.DRILL,
    TriageStep.Kind.RETURN,
    TriageStep.Kind.PIVOT,
    TriageStep.Kind.NOTE,
}


@transaction.atomic
def step_record(
    *,
    session: TriageSession,
    user: AbstractBaseUser,
    token: uuid.UUID,
    answer: StepInput,
    at: datetime | None = None,
) -> tuple[TriageStep, bool]:
    """Record one answer. Returns (step, created); a repeated token returns the first step."""
    session = TriageSession.objects.select_for_update().get(pk=session.pk)
    existing = session.steps.filter(token=token).first()
    if existing is not None:
        return existing, False
    if answer.kind not in ANSWER_KINDS:
        raise TriageError(f"Unknown step kind {answer.kind!r}.")
    _require_open_and_recorder(session, user)
    runbook_id = current_runbook_id(session)
    fields = _validated_fields(session, runbook_id, answer)
    previous = _same_question(session, runbook_id, answer.kind, fields)
    if previous is not None and _same_answer(previous, fields):
        return previous, False  # e.g. the same answer from a second tab
    _pick_up(session, user, uuid.uuid5(token, "join"), at)
    step = TriageStep(
        session=session,
        kind=answer.kind,
        runbook_id=runbook_id,
        author=user,
        token=token,
        supersedes=previous,
        created_at=at or timezone.now(),
        **fields,
    )
    if answer.kind == TriageStep.Kind.CHECK:
        recommended = _recommended_check(session, runbook_id, at)
        if recommended is not None:
            step.followed_recommendation = recommended == fields["check_item"].pk
    return _save_step(session, step)


def _recommended_check(session: TriageSession, runbook_id: int, at: datetime | None) -> int | None:
    """The check the guided form recommended before this answer (for insights)."""
    runbook = runbooks_with_parts([runbook_id])[runbook_id]
    if at is None:
        flow = learning.current_flow(runbook)
    else:  # replaying history (demo, simulations): as learned at that moment
        flow = learning.flow_runbook(runbook, learning.runbook_learning(runbook, now=at))
    state = progress(flow, flow_steps(session))
    return state.next_check[1] if state.next_check else None


def _save_step(session: TriageSession, step: TriageStep) -> tuple[TriageStep, bool]:
    try:
        with transaction.atomic():
            step.save()
    except IntegrityError:
        # Lost a race with the same token (retry arriving in parallel): the first one won.
        return session.steps.get(token=step.token), False
    return step, True


def _require_open_and_recorder(session: TriageSession, user: AbstractBaseUser) -> None:
    if session.is_finished:
        raise TriageError("This session is finished and read-only.", 409)
    if not can_record(session, user):
        raise TriageError("Only the owner and engineers who joined can record steps.", 403)
    if session.status == TriageSession.Status.ABANDONED:
        raise TriageError("This session was abandoned: resume it first.", 409)


def _validated_fields(session: TriageSession, runbook_id: int, answer: StepInput) -> dict:
    kind = answer.kind
    if kind == TriageStep.Kind.GATE:
        if answer.gate_holds is None:
            raise TriageError("Answer the gate with yes or no.")
        return {"gate_holds": answer.gate_holds}
    if kind == TriageStep.Kind.PATTERN:
        if answer.pattern_id is None:
            return {"pattern": None}
        pattern = Pattern.objects.filter(
            pk=answer.pattern_id, runbook_id=runbook_id, retired=False
        ).first()
        if pattern is None:
            raise TriageError("That pattern is not part of this runbook.")
        return {"pattern": pattern}
    if kind == TriageStep.Kind.CHECK:
        check = Check.objects.filter(pk=answer.check_id, runbook_id=runbook_id).first()
        cause = Cause.objects.filter(pk=answer.cause_id, runbook_id=runbook_id).first()
        if check is None:
            raise TriageError("That check is not part of this runbook.")
        if cause is None:
            raise TriageError("That cause is not part of this runbook.")
        if answer.result not in CheckResult.values:
            raise TriageError("A check result is confirms, rules out or inconclusive.")
        minutes = answer.minutes
        if minutes is not None and not (0 <= minutes <= MAX_CHECK_MINUTES):
            raise TriageError("Minutes spent must be between 0 and 1440.")
        return {"check_item": check, "cause": cause, "result": answer.result, "minutes": minutes}
    if kind in (TriageStep.Kind.DRILL, TriageStep.Kind.PIVOT):
        return {"target": _link_target(runbook_id, answer)}
    if kind == TriageStep.Kind.RETURN:
        stack = runbook_stack(session.runbook_id, flow_steps(session))
        if len(stack) < 2:
            raise TriageError("There is no runbook to go back to.", 409)
        return {}
    note = answer.note.strip()
    if not note:
        raise TriageError("A note needs some text.")
    return {"note": note[:5000]}


def _link_target(runbook_id: int, answer: StepInput) -> Runbook:
    source = Runbook.objects.get(pk=runbook_id)
    links = source.drill_paths if answer.kind == TriageStep.Kind.DRILL else source.pivots
    link = links.filter(target_slug=answer.target_slug, target__isnull=False).first()
    if link is None:
        what = "drill path" if answer.kind == TriageStep.Kind.DRILL else "pivot"
        raise TriageError(
            f"This runbook has no {what} to an existing runbook {answer.target_slug!r}."
        )
    return link.target


def _same_question(
    session: TriageSession, runbook_id: int, kind: str, fields: dict
) -> TriageStep | None:
    """The latest step answering the same question, which a new answer supersedes."""
    steps = session.steps.filter(kind=kind, runbook_id=runbook_id)
    if kind == TriageStep.Kind.CHECK:
        steps = steps.filter(check_item=fields["check_item"], cause=fields["cause"])
    elif kind not in (TriageStep.Kind.GATE, TriageStep.Kind.PATTERN):
        return None
    return steps.order_by("-created_at", "-id").first()


def _same_answer(step: TriageStep, fields: dict) -> bool:
    return all(getattr(step, name) == value for name, value in fields.items())


@transaction.atomic
def session_join(*, session: TriageSession, user: AbstractBaseUser, token: uuid.UUID) -> bool:
    """Let another engineer record steps too. Returns False if they already could."""
    session = TriageSession.objects.select_for_update().get(pk=session.pk)
    if session.is_finished:
        raise TriageError("This session is finished and read-only.", 409)
    if not has_role(user, "engineer"):
        raise TriageError("Only engineers can join a session.", 403)
    if session.steps.filter(token=token).exists():
        return False
    if _pick_up(session, user, token):
        return True
    if can_record(session, user):
        return False
    _save_step(session, _control_step(session, user, token, TriageStep.Kind.JOIN))
    return True


def _control_step(session, user, token, kind) -> TriageStep:
    return TriageStep(
        session=session,
        kind=kind,
        runbook_id=current_runbook_id(session),
        author=user,
        token=token,
    )


@transaction.atomic
def session_set_abandoned(
    *, session: TriageSession, user: AbstractBaseUser, token: uuid.UUID, abandoned: bool
) -> TriageSession:
    """Put a session aside (it stays resumable) or pick it up again."""
    session = TriageSession.objects.select_for_update().get(pk=session.pk)
    if session.steps.filter(token=token).exists():
        return session
    if session.is_finished:
        raise TriageError("This session is finished and read-only.", 409)
    if not can_record(session, user):
        raise TriageError("Only the owner and engineers who joined can do that.", 403)
    _pick_up(session, user, uuid.uuid5(token, "join"))
    wanted = TriageSession.Status.ABANDONED if abandoned else TriageSession.Status.OPEN
    if session.status == wanted:
        return session
    kind = TriageStep.Kind.ABANDON if abandoned else TriageStep.Kind.RESUME
    _save_step(session, _control_step(session, user, token, kind))
    session.status = wanted
    session.save(update_fields=["status"])
    return session


@dataclass(frozen=True)
class OutcomeInput:
    resolution: str
    cause_id: int | None = None
    cause_text: str = ""
    fix_id: int | None = None
    fix_text: str = ""
    minutes_to_diagnosis: float | None = None
    notes: str = ""


@transaction.atomic
def session_finish(
    *,
    session: TriageSession,
    user: AbstractBaseUser,
    token: uuid.UUID,
    outcome: OutcomeInput,
    at: datetime | None = None,
) -> Outcome:
    """Record the outcome and close the session; it is read-only afterwards."""
    session = TriageSession.objects.select_for_update().get(pk=session.pk)
    if session.is_finished:
        done = session.steps.filter(token=token, kind=TriageStep.Kind.FINISH).exists()
        if done:
            return session.outcome
        raise TriageError("This session is already finished.", 409)
    if not can_record(session, user):
        raise TriageError("Only the owner and engineers who joined can finish it.", 403)
    if outcome.resolution not in Outcome.Resolution.values:
        raise TriageError("Choose a resolution.")
    _pick_up(session, user, uuid.uuid5(token, "join"), at)
    visited = _visited_runbooks(session)
    cause = fix = None
    if outcome.cause_id is not None:
        cause = Cause.objects.filter(pk=outcome.cause_id, runbook_id__in=visited).first()
        if cause is None:
            raise TriageError("That cause is not part of a runbook used in this session.")
    if outcome.fix_id is not None:
        fix = FixPattern.objects.filter(pk=outcome.fix_id, runbook_id__in=visited).first()
        if fix is None:
            raise TriageError("That fix is not part of a runbook used in this session.")
    now = at or timezone.now()
    minutes = outcome.minutes_to_diagnosis
    if minutes is None and (cause or outcome.cause_text.strip()):
        minutes = _minutes_to_diagnosis(session, now)
    if minutes is not None and minutes < 0:
        raise TriageError("Time to diagnosis cannot be negative.")
    finish = _control_step(session, user, token, TriageStep.Kind.FINISH)
    finish.created_at = now
    _save_step(session, finish)
    result = outcome_row(
        session=session, outcome=outcome, cause=cause, fix=fix, minutes=minutes, user=user, at=now
    )
    result.save()
    session.status = TriageSession.Status.FINISHED
    session.ended_at = now
    session.save(update_fields=["status", "ended_at"])
    learning.record_outcome(session, result)
    index_incident(session, result)
    return result


def outcome_row(
    *,
    session: TriageSession,
    outcome: OutcomeInput,
    cause: Cause | None,
    fix: FixPattern | None,
    minutes: float | None,
    user: AbstractBaseUser,
    at: datetime,
) -> Outcome:
    """The (unsaved) Outcome a validated finish writes; load_data's bulk path reuses it."""
    return Outcome(
        session=session,
        resolution=outcome.resolution,
        cause=cause,
        cause_text=outcome.cause_text.strip()[:500],
        fix=fix,
        fix_text=outcome.fix_text.strip()[:500],
        minutes_to_diagnosis=minutes,
        notes=outcome.notes.strip()[:10000],
        recorded_by=user,
        recorded_at=at,
    )


def _visited_runbooks(session: TriageSession) -> set[int]:
    ids = {session.runbook_id}
    ids |= set(session.steps.exclude(target=None).values_list("target_id", flat=True))
    return ids


def _minutes_to_diagnosis(session: TriageSession, now: datetime) -> float:
    """From the start to the first check that confirmed a cause, else to now."""
    confirming = (
        session.steps.filter(kind=TriageStep.Kind.CHECK, result=CheckResult.CONFIRMS)
        .order_by("created_at")
        .first()
    )
    end = confirming.created_at if confirming else now
    return round((end - session.started_at).total_seconds() / 60, 1)
