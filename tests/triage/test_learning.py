"""Stored statistics: incremental, rebuildable, bounded in queries, used everywhere."""

import json
import uuid
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kb.models import Runbook
from triage.learning import rebuild_statistics, runbook_learning
from triage.models import CauseStat, Outcome, RunbookStat, TriageSession, TriageStep
from triage.proposals import StaleProposal, proposal_accept, proposal_dismiss, proposal_for
from triage.services import OutcomeInput, StepInput, session_finish, session_start, step_record

pytestmark = pytest.mark.django_db

LAST = "config-change-not-applied-to-all-instances"  # authored rank 5 of the founding runbook


def finish(runbook, user, cause_key, at=None, check_key=None, result="confirms", minutes=None):
    session = session_start(runbook=runbook, user=user, at=at)
    cause = runbook.causes.get(key=cause_key)
    if check_key:
        check = runbook.checks.get(key=check_key)
        step_record(
            session=session,
            user=user,
            token=uuid.uuid4(),
            at=at,
            answer=StepInput(
                kind="check", check_id=check.pk, cause_id=cause.pk, result=result, minutes=minutes
            ),
        )
    session_finish(
        session=session,
        user=user,
        token=uuid.uuid4(),
        outcome=OutcomeInput(resolution="resolved", cause_id=cause.pk),
        at=at,
    )
    return session


def learning(runbook):
    return runbook_learning(Runbook.objects.with_parts().get(pk=runbook.pk))


def test_ranking_without_sessions_is_the_authored_order(founding):
    ranked = learning(founding).overall
    assert ranked.learned_order == ranked.authored_order
    assert ranked.sessions == 0
    assert not learning(founding).use_learned


def test_recording_an_outcome_updates_counts_in_the_same_transaction(founding, engineer):
    finish(founding, engineer, LAST)
    stat = CauseStat.objects.get(runbook=founding, pattern_key="", cause_key=LAST)
    assert stat.confirmations == 1 and stat.weight == pytest.approx(1.0)
    assert RunbookStat.objects.get(runbook=founding).sessions == 1


def test_evidence_moves_a_cause_up_and_the_page_shows_it(founding, engineer, engineer_client):
    for _ in range(12):
        finish(founding, engineer, LAST)
    ranked = learning(founding).overall
    assert ranked.learned_order[0] == LAST
    assert ranked.by_key[LAST].confirmations == 12
    html = engineer_client.get(f"/runbooks/{founding.slug}/").content.decode()
    assert "based on 12 sessions" in html
    assert "confirmed 12×" in html
    data = json.loads(engineer_client.get(f"/runbooks/{founding.slug}.json").content)
    assert data["ranking"]["causes"][0]["key"] == LAST
    assert data["ranking"]["causes"][0]["sessions"] == 12
    assert data["ranking"]["sessions"] == 12
    # the decision tree orders the causes by learned probability too
    tree = engineer_client.get(f"/tree/{founding.slug}/", {"open": "none"}).content.decode()
    none = tree[tree.index('data-node="none"') :]
    assert none.index("Config change not applied") < none.index("Missing or changed environment")


def test_old_evidence_decays(founding, engineer):
    long_ago = timezone.now() - timedelta(days=360)
    finish(founding, engineer, LAST, at=long_ago)
    rank = learning(founding).overall.by_key[LAST]
    assert rank.evidence == pytest.approx(0.25, rel=1e-6)
    assert rank.confirmations == 1


def test_check_minutes_and_detection_are_learned(founding, engineer):
    for _ in range(6):
        finish(founding, engineer, LAST, check_key="diff-the-deploy", minutes=1.0)
    learned = learning(founding)
    assert learned.minutes["diff-the-deploy"] == pytest.approx((14 * 2 + 6 * 1) / 8)
    assert learned.detection[("diff-the-deploy", LAST)] == pytest.approx((0.05 * 2 + 6) / 8)


def test_rebuild_rankings_agrees_with_incremental_counts(founding, engineer):
    start = timezone.now() - timedelta(days=100)
    for i, key in enumerate([LAST, LAST, "missing-or-changed-environment-variable", LAST]):
        finish(
            founding,
            engineer,
            key,
            at=start + timedelta(days=7 * i),
            check_key="diff-the-deploy",
            minutes=2.0 + i,
        )
    before = {s.cause_key: s.weight for s in CauseStat.objects.filter(pattern_key="")}
    assert rebuild_statistics() <= 1e-9
    after = {s.cause_key: s.weight for s in CauseStat.objects.filter(pattern_key="")}
    assert after == pytest.approx(before, rel=1e-12)
    out = StringIO()
    call_command("rebuild_rankings", stdout=out)
    assert "agrees" in out.getvalue()


def test_rebuild_rankings_reports_drift(founding, engineer):
    finish(founding, engineer, LAST)
    CauseStat.objects.filter(cause_key=LAST, pattern_key="").update(weight=5.0)
    out = StringIO()
    call_command("rebuild_rankings", stdout=out)
    assert "DRIFTED" in out.getvalue()
    assert CauseStat.objects.get(cause_key=LAST, pattern_key="").weight == pytest.approx(1.0)


def bulk_history(runbook, user, n: int) -> None:
    """n finished sessions written directly (fast), then statistics rebuilt from them."""
    cause = runbook.causes.get(key=LAST)
    revision = runbook.revisions.first()
    now = timezone.now()
    sessions = TriageSession.objects.bulk_create(
        TriageSession(
            runbook=runbook,
            revision=revision,
            owner=user,
            status="finished",
            started_at=now - timedelta(hours=i + 1),
            ended_at=now - timedelta(hours=i),
        )
        for i in range(n)
    )
    Outcome.objects.bulk_create(
        Outcome(
            session=s, resolution="resolved", cause=cause, recorded_by=user, recorded_at=s.ended_at
        )
        for s in sessions
    )
    rebuild_statistics()


def queries_to_finish_and_read(runbook, user) -> tuple[int, int]:
    user = type(user).objects.get(pk=user.pk)  # no role cache carried between measurements
    session = session_start(runbook=runbook, user=user)
    cause = runbook.causes.get(key=LAST)
    with CaptureQueriesContext(connection) as finishing:
        session_finish(
            session=session,
            user=user,
            token=uuid.uuid4(),
            outcome=OutcomeInput(resolution="resolved", cause_id=cause.pk),
        )
    parts = Runbook.objects.with_parts().get(pk=runbook.pk)
    with CaptureQueriesContext(connection) as reading:
        runbook_learning(parts)
    return len(finishing.captured_queries), len(reading.captured_queries)


def test_learning_costs_the_same_at_10_and_10000_sessions(founding, engineer):
    bulk_history(founding, engineer, 10)
    small = queries_to_finish_and_read(founding, engineer)
    bulk_history(founding, engineer, 9990)
    assert RunbookStat.objects.get(runbook=founding).sessions == 10001
    large = queries_to_finish_and_read(founding, engineer)
    assert small == large


def test_proposal_needs_evidence_and_accepting_writes_a_revision(founding, engineer, make_user):
    lead = make_user("lena", "lead")
    original = founding.revisions.get().markdown
    for _ in range(3):
        finish(founding, engineer, LAST)
    assert proposal_for(Runbook.objects.with_parts().get(pk=founding.pk)) is None
    for _ in range(25):
        finish(founding, engineer, LAST)
    proposal = proposal_for(Runbook.objects.with_parts().get(pk=founding.pk))
    assert proposal is not None
    assert proposal.learned_keys[0] == LAST
    assert proposal.minutes_saved > 0
    founding.refresh_from_db()
    assert founding.revision == 1  # nothing changed silently
    with pytest.raises(StaleProposal):
        proposal_accept(runbook=founding, user=lead, signature="not-the-current-one")
    saved = proposal_accept(runbook=founding, user=lead, signature=proposal.signature)
    assert saved.revision == 2
    assert [c.key for c in saved.active_causes()][0] == LAST
    revision = saved.revisions.get(number=2)
    assert revision.author == lead and "Accepted learned ranking" in revision.note
    assert revision.markdown != original
    # cause identity (and so its statistics) survives the rewrite
    assert CauseStat.objects.get(runbook=founding, pattern_key="", cause_key=LAST).confirmations


def test_dismissed_proposal_stays_hidden_until_the_order_changes(founding, engineer, make_user):
    lead = make_user("lena", "lead")
    for _ in range(28):
        finish(founding, engineer, LAST)
    parts = Runbook.objects.with_parts().get(pk=founding.pk)
    proposal = proposal_for(parts)
    proposal_dismiss(runbook=founding, user=lead, signature=proposal.signature)
    assert proposal_for(parts) is None


def test_proposal_dismiss_refuses_a_signature_it_did_not_make(founding, engineer, make_user):
    from triage.models import RankingDismissal

    lead = make_user("lena", "lead")
    for _ in range(28):
        finish(founding, engineer, LAST)
    for forged in ("", "x" * 100_000, "not-the-order"):
        with pytest.raises(StaleProposal):
            proposal_dismiss(runbook=founding, user=lead, signature=forged)
    assert not RankingDismissal.objects.exists()


def test_rankings_dismiss_with_a_forged_signature_says_so(client, make_user, founding, engineer):
    for _ in range(28):
        finish(founding, engineer, LAST)
    client.force_login(make_user("lena", "lead"))
    response = client.post(
        f"/rankings/{founding.slug}/dismiss/", {"signature": "x" * 100_000}, follow=True
    )
    assert response.status_code == 200
    assert "The learned order has changed" in response.content.decode()
    assert founding.title in response.content.decode()  # the proposal is still offered


def test_rankings_page_is_for_leads(client, engineer_client, make_user, founding, engineer):
    for _ in range(28):
        finish(founding, engineer, LAST)
    assert engineer_client.get("/rankings/").status_code == 403
    client.force_login(make_user("lena", "lead"))
    html = client.get("/rankings/").content.decode()
    assert founding.title in html and "Accept" in html
    signature = proposal_for(Runbook.objects.with_parts().get(pk=founding.pk)).signature
    response = client.post(f"/rankings/{founding.slug}/accept/", {"signature": signature})
    assert response.status_code == 302
    founding.refresh_from_db()
    assert founding.revision == 2


def test_guided_triage_recommends_by_learned_efficiency(founding, engineer, engineer_client):
    for _ in range(30):
        finish(
            founding,
            engineer,
            LAST,
            check_key="check-whether-all-instances-are-on-the-new-version",
            minutes=1.0,
        )
    assert learning(founding).use_learned
    session = session_start(runbook=founding, user=engineer)
    for kind, extra in (("gate", {"gate": "no"}), ("pattern", {"pattern": "none"})):
        engineer_client.post(
            f"/triage/{session.pk}/step/", {"token": str(uuid.uuid4()), "kind": kind, **extra}
        )
    html = engineer_client.get(f"/triage/{session.pk}/").content.decode()
    box = html[html.index('id="recommended"') :]
    assert "Check whether all instances are on the new version" in box[:600]
    assert "Most likely × fastest" in box
    assert TriageStep.objects.filter(session=session).count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_finishes_on_one_runbook_lose_no_statistics(samples, make_user):
    """Two engineers finishing sessions on the same runbook at the same moment."""
    import threading

    from django.db import connection as main_connection

    from kb.models import Runbook

    if main_connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL's row locks")
    founding = Runbook.objects.get(slug="000_131d5d6a3ce7968b")
    users = [make_user(f"eng{i}", "engineer") for i in range(2)]
    cause = founding.causes.get(key=LAST)
    pairs = 10
    sessions = [session_start(runbook=founding, user=users[i % 2]) for i in range(2 * pairs)]
    errors = []

    def finish_one(session, user, barrier):
        from django.db import connection

        try:
            barrier.wait()
            session_finish(
                session=session,
                user=user,
                token=uuid.uuid4(),
                outcome=OutcomeInput(resolution="resolved", cause_id=cause.pk),
            )
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    for i in range(pairs):
        barrier = threading.Barrier(2)
        threads = [
            threading.Thread(target=finish_one, args=(sessions[2 * i + k], users[k], barrier))
            for k in range(2)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    assert RunbookStat.objects.get(runbook=founding).sessions == 2 * pairs
    assert rebuild_statistics() <= 1e-9
