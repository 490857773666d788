"""Recording triage steps: idempotent, attributed, validated, append-only."""

import uuid

import pytest

from kb.models import Cause, Runbook
from triage.models import Outcome, TriageSession, TriageStep
from triage.services import (
    OutcomeInput,
    StepInput,
    TriageError,
    session_finish,
    session_join,
    session_set_abandoned,
    session_start,
    step_record,
)

pytestmark = pytest.mark.django_db


def env_cause(runbook: Runbook) -> Cause:
    return runbook.causes.get(key="missing-or-changed-environment-variable")


def test_session_start_records_runbook_revision_and_owner(session, founding, engineer):
    assert session.runbook == founding
    assert session.revision.number == 1
    assert session.owner == engineer
    assert session.status == TriageSession.Status.OPEN


def test_step_record_same_token_twice_records_one_step(session, engineer):
    token = uuid.uuid4()
    answer = StepInput(kind="gate", gate_holds=False)
    first, created = step_record(session=session, user=engineer, token=token, answer=answer)
    again, created_again = step_record(session=session, user=engineer, token=token, answer=answer)
    assert created and not created_again
    assert first.pk == again.pk
    assert session.steps.count() == 1


def test_step_record_same_answer_from_a_second_tab_is_not_duplicated(session, engineer, record):
    record(session, engineer, "gate", gate_holds=False)
    record(session, engineer, "gate", gate_holds=False)
    assert session.steps.count() == 1


def test_step_record_changed_answer_supersedes_without_rewriting(session, engineer, record):
    first = record(session, engineer, "gate", gate_holds=True)
    second = record(session, engineer, "gate", gate_holds=False)
    assert second.supersedes == first
    first.refresh_from_db()
    assert first.gate_holds is True
    assert session.steps.count() == 2


def test_step_record_refuses_a_cause_from_another_runbook(session, engineer, founding, record):
    record(session, engineer, "gate", gate_holds=False)
    foreign = Cause.objects.exclude(runbook=founding).first()
    check = founding.checks.first()
    with pytest.raises(TriageError, match="cause is not part of this runbook"):
        record(
            session, engineer, "check", check_id=check.pk, cause_id=foreign.pk, result="confirms"
        )
    assert session.steps.count() == 1


def test_step_record_refuses_a_nonexistent_check(session, engineer, founding, record):
    with pytest.raises(TriageError, match="check is not part"):
        record(
            session,
            engineer,
            "check",
            check_id=999999,
            cause_id=env_cause(founding).pk,
            result="confirms",
        )
    assert session.steps.count() == 0


def test_step_record_refuses_strangers_until_they_join(session, other_engineer, record):
    with pytest.raises(TriageError) as err:
        record(session, other_engineer, "gate", gate_holds=False)
    assert err.value.status == 403
    assert session.steps.count() == 0
    assert session_join(session=session, user=other_engineer, token=uuid.uuid4())
    step = record(session, other_engineer, "gate", gate_holds=False)
    assert step.author == other_engineer


def test_two_engineers_in_one_session_are_each_credited(session, engineer, other_engineer, record):
    session_join(session=session, user=other_engineer, token=uuid.uuid4())
    record(session, engineer, "gate", gate_holds=False)
    record(session, other_engineer, "note", note="looking at the logs")
    authors = list(session.steps.values_list("kind", "author__username"))
    assert authors == [("join", "olga"), ("gate", "erin"), ("note", "olga")]


def test_parallel_sessions_never_share_steps(founding, engineer, other_engineer, record):
    mine = session_start(runbook=founding, user=engineer)
    theirs = session_start(runbook=founding, user=other_engineer)
    token = uuid.uuid4()  # even a colliding token stays within its own session
    record(mine, engineer, "gate", token=token, gate_holds=False)
    record(theirs, other_engineer, "gate", token=token, gate_holds=True)
    assert list(mine.steps.values_list("gate_holds", flat=True)) == [False]
    assert list(theirs.steps.values_list("gate_holds", flat=True)) == [True]
    with pytest.raises(TriageError):
        record(theirs, engineer, "note", note="not mine")


def test_drill_and_return_move_between_runbooks(session, engineer, record):
    record(session, engineer, "gate", gate_holds=False)
    record(session, engineer, "pattern", pattern_id=None)
    drill = record(session, engineer, "drill", target_slug="cloud/kubernetes")
    assert drill.target.slug == "cloud/kubernetes"
    gate = record(session, engineer, "gate", gate_holds=False)
    assert gate.runbook.slug == "cloud/kubernetes"
    record(session, engineer, "return")
    note = record(session, engineer, "note", note="back")
    assert note.runbook == session.runbook
    with pytest.raises(TriageError, match="no runbook to go back"):
        record(session, engineer, "return")


def test_drill_to_a_target_not_in_the_runbook_is_refused(session, engineer, record):
    with pytest.raises(TriageError, match="no drill path"):
        record(session, engineer, "drill", target_slug="storage/replication-lag")


def test_pivot_moves_the_session(session, engineer, record):
    record(session, engineer, "gate", gate_holds=True)
    pivot = record(session, engineer, "pivot", target_slug="cs-fundamentals/debugging-systems")
    gate = record(session, engineer, "gate", gate_holds=False)
    assert gate.runbook == pivot.target


def test_session_finish_records_outcome_and_locks_the_session(session, engineer, founding, record):
    cause = env_cause(founding)
    check = founding.checks.get(key="check-error-logs-immediately")
    record(session, engineer, "gate", gate_holds=False)
    record(
        session,
        engineer,
        "check",
        check_id=check.pk,
        cause_id=cause.pk,
        result="confirms",
        minutes=3,
    )
    fix = founding.fix_patterns.get(key="check-env-vars-and-secrets-first")
    token = uuid.uuid4()
    outcome = session_finish(
        session=session,
        user=engineer,
        token=token,
        outcome=OutcomeInput(resolution="resolved", cause_id=cause.pk, fix_id=fix.pk),
    )
    assert outcome.cause == cause and outcome.fix == fix
    assert outcome.minutes_to_diagnosis is not None and outcome.minutes_to_diagnosis >= 0
    session.refresh_from_db()
    assert session.status == TriageSession.Status.FINISHED and session.ended_at
    # a retried finish is a no-op; anything else is refused
    again = session_finish(
        session=session, user=engineer, token=token, outcome=OutcomeInput("resolved")
    )
    assert again.pk == outcome.pk
    with pytest.raises(TriageError) as err:
        record(session, engineer, "note", note="too late")
    assert err.value.status == 409
    assert Outcome.objects.count() == 1


def test_session_finish_refuses_a_cause_from_an_unvisited_runbook(session, engineer, founding):
    foreign = Cause.objects.exclude(runbook=founding).first()
    with pytest.raises(TriageError, match="not part of a runbook used"):
        session_finish(
            session=session,
            user=engineer,
            token=uuid.uuid4(),
            outcome=OutcomeInput(resolution="resolved", cause_id=foreign.pk),
        )
    assert not Outcome.objects.exists()


def test_session_finish_accepts_a_written_in_cause(session, engineer):
    outcome = session_finish(
        session=session,
        user=engineer,
        token=uuid.uuid4(),
        outcome=OutcomeInput(resolution="escalated", cause_text="Expired TLS cert on the LB"),
    )
    assert outcome.cause is None and outcome.cause_text == "Expired TLS cert on the LB"


def test_abandoned_session_can_be_resumed_and_finished(session, engineer, record):
    record(session, engineer, "gate", gate_holds=False)
    session_set_abandoned(session=session, user=engineer, token=uuid.uuid4(), abandoned=True)
    with pytest.raises(TriageError, match="resume it first"):
        record(session, engineer, "note", note="x")
    session_set_abandoned(session=session, user=engineer, token=uuid.uuid4(), abandoned=False)
    record(session, engineer, "note", note="picked it up again")
    session_finish(
        session=session, user=engineer, token=uuid.uuid4(), outcome=OutcomeInput("resolved")
    )
    kinds = list(session.steps.values_list("kind", flat=True))
    assert kinds == ["gate", "abandon", "resume", "note", "finish"]


def test_step_kinds_cover_the_design(session):
    assert {"gate", "pattern", "check", "drill", "note"} <= set(TriageStep.Kind.values)


def test_session_start_with_a_used_token_returns_that_session(founding, engineer, other_engineer):
    token = uuid.uuid4()
    first = session_start(runbook=founding, user=engineer, token=token)
    assert session_start(runbook=founding, user=engineer, token=token) == first
    with pytest.raises(TriageError) as refused:
        session_start(runbook=founding, user=other_engineer, token=token)
    assert refused.value.status == 409
    assert TriageSession.objects.count() == 1
