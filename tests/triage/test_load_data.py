"""generate_load_data: a small run, its rows, and the bulk writer against the services."""

from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from kb.models import DrillPath, Runbook
from triage.load_data import generate
from triage.load_data_text import runbook_files
from triage.models import (
    CauseStat,
    CheckStat,
    DetectionStat,
    Outcome,
    RunbookStat,
    TriageSession,
    TriageStep,
)

pytestmark = pytest.mark.django_db
UNTIL = datetime(2026, 1, 1, tzinfo=UTC)


def run(*args: str) -> str:
    out = StringIO()
    call_command("generate_load_data", *args, "--until", "2026-01-01", "--quiet", stdout=out)
    return out.getvalue()


def test_small_history_through_the_command():
    output = run("--runbooks", "20", "--sessions", "300", "--seed", "3")

    assert "20 created" in output and "(agrees)" in output
    assert Runbook.objects.count() == 20
    assert DrillPath.objects.filter(target=None).exists()  # some drill into missing runbooks
    assert DrillPath.objects.exclude(target=None).exists()
    assert TriageSession.objects.count() == 300
    finished = TriageSession.objects.filter(status=TriageSession.Status.FINISHED)
    assert finished.count() == 299  # the most recent one is still open
    assert Outcome.objects.count() == 299
    assert not finished.filter(outcome=None).exists()
    assert TriageStep.objects.filter(kind="finish").count() == 299
    kinds = set(TriageStep.objects.values_list("kind", flat=True))
    assert {"pattern", "check", "finish"} <= kinds
    assert TriageStep.objects.filter(kind="check", followed_recommendation=True).exists()
    assert TriageSession.objects.filter(started_at__gte=UNTIL).count() == 0
    assert RunbookStat.objects.exists() and CauseStat.objects.exists()

    rebuilt = StringIO()
    call_command("rebuild_rankings", stdout=rebuilt)
    assert "agrees" in rebuilt.getvalue()

    # Same command again: runbooks unchanged, sessions already there.
    again = run("--runbooks", "20", "--sessions", "300", "--seed", "3")
    assert "20 unchanged" in again and "nothing added" in again
    assert TriageSession.objects.count() == 300


def test_refuses_to_add_to_a_smaller_history():
    run("--runbooks", "5", "--sessions", "10", "--seed", "1")
    with pytest.raises(CommandError, match="only fills an empty history"):
        run("--runbooks", "5", "--sessions", "20", "--seed", "1")
    assert TriageSession.objects.count() == 10


def test_runbook_text_is_deterministic_and_varied():
    first, again, other = runbook_files(30, 7), runbook_files(30, 7), runbook_files(30, 8)
    assert first == again
    assert first != other
    assert len({f.slug for f in runbook_files(1200, 1)}) == 1200
    suffixes = {f.path.rsplit(".", 1)[1] for f in first}
    assert suffixes == {"md", "txt"}


def _dump() -> dict:
    """Every generated row by natural key (ids may differ between runs)."""
    steps = {
        s.token: (
            s.session.incident_ref,
            s.kind,
            s.runbook.slug,
            s.author.username,
            # session_join / session_set_abandoned stamp the wall clock (they take no `at`)
            None if s.kind in ("join", "abandon") else s.created_at,
            s.gate_holds,
            s.pattern and s.pattern.key,
            s.check_item and s.check_item.key,
            s.cause and s.cause.key,
            s.result,
            s.minutes,
            s.target and s.target.slug,
            s.note,
            s.supersedes and s.supersedes.token,
            s.followed_recommendation,
        )
        for s in TriageStep.objects.select_related(
            "session", "runbook", "author", "pattern", "check_item", "cause", "target", "supersedes"
        )
    }
    sessions = {
        s.incident_ref: (
            s.runbook.slug,
            s.revision.number,
            s.owner.username,
            s.status,
            s.started_at,
            s.ended_at,
            s.alert_source,
        )
        for s in TriageSession.objects.select_related("runbook", "revision", "owner")
    }
    outcomes = {
        o.session.incident_ref: (
            o.resolution,
            o.cause and o.cause.key,
            o.cause_text,
            o.fix and o.fix.key,
            o.fix_text,
            o.minutes_to_diagnosis,
            o.notes,
            o.recorded_by.username,
            o.recorded_at,
        )
        for o in Outcome.objects.select_related("session", "cause", "fix", "recorded_by")
    }
    stats = {}
    for r in RunbookStat.objects.select_related("runbook"):
        stats[("runbook", r.runbook.slug)] = (r.sessions, r.weight, r.as_of)
    for r in CauseStat.objects.select_related("runbook"):
        key = ("cause", r.runbook.slug, r.pattern_key, r.cause_key)
        stats[key] = (r.confirmations, r.weight, r.as_of)
    for r in CheckStat.objects.select_related("check_item__runbook"):
        key = ("check", r.check_item.runbook.slug, r.check_item.key)
        stats[key] = (
            r.runs,
            r.confirms,
            r.rules_out,
            r.inconclusive,
            r.minutes_weight,
            r.minutes_sum,
            r.as_of,
        )
    for r in DetectionStat.objects.select_related("check_item__runbook", "cause"):
        key = ("detection", r.check_item.runbook.slug, r.check_item.key, r.cause.key)
        stats[key] = (r.runs, r.detections, r.as_of)
    return {"steps": steps, "sessions": sessions, "outcomes": outcomes, "stats": stats}


def _close(a: tuple, b: tuple) -> bool:
    return all(
        abs(x - y) <= 1e-9 if isinstance(x, float) and isinstance(y, float) else x == y
        for x, y in zip(a, b, strict=True)
    )


def test_bulk_rows_are_the_rows_the_services_write():
    options = {"runbooks": 12, "sessions": 150, "seed": 11, "until": UNTIL}
    bulk = generate(**options, batch=40)
    assert bulk.drift is not None and bulk.drift <= 1e-9
    expected = _dump()
    TriageSession.objects.all().delete()
    for model in (RunbookStat, CauseStat, CheckStat, DetectionStat):
        model.objects.all().delete()

    generate(**options, via_services=True)
    actual = _dump()

    kinds = {row[1] for row in expected["steps"].values()}
    assert {"gate", "pattern", "check", "finish"} <= kinds
    assert any(row[13] for row in expected["steps"].values())  # a superseded answer
    for table in ("steps", "sessions", "outcomes"):
        assert actual[table] == expected[table], table
    assert set(actual["stats"]) == set(expected["stats"])
    for key, values in expected["stats"].items():
        assert _close(values, actual["stats"][key]), key
