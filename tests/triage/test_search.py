"""Finished sessions in search (triage.search): indexed on finish, found by what was fixed."""

import uuid

import pytest

from kb.models import RunbookAlert, SearchDocument
from kb.search import search_runbooks
from kb.search_query import parse_query
from triage.models import AlertRunbookMapping
from triage.search import past_incidents
from triage.services import OutcomeInput, session_finish

pytestmark = pytest.mark.django_db


def finish(session, user, **outcome):
    return session_finish(
        session=session, user=user, token=uuid.uuid4(), outcome=OutcomeInput(**outcome)
    )


def test_past_incidents_finds_a_finished_session_by_its_fix_and_notes(session, engineer):
    finish(
        session,
        engineer,
        resolution="resolved",
        cause_text="Quota exhausted on the payments bucket",
        fix_text="Raised the bucket quota",
        notes="KeyError: 'PAYMENT_SERVICE_URL' in the logs first",
    )
    assert SearchDocument.objects.filter(kind="incident", ref=session.pk).exists()
    found = past_incidents(parse_query("bucket quota"))
    assert [f.url for f in found] == [f"/triage/{session.pk}/"]
    assert found[0].label == f"#{session.pk} · INC-42"
    assert found[0].fix == "Raised the <mark>bucket</mark> <mark>quota</mark>"
    assert found[0].snippet == ""  # the fix is what matched: shown once, not again
    assert past_incidents(parse_query("PAYMENT_SERVICE_URL"))[0].url == f"/triage/{session.pk}/"


def test_past_incidents_ignores_open_sessions(session):
    assert past_incidents(parse_query("INC-42")) == []


def test_search_page_lists_past_incidents(session, engineer, default_synonyms):
    finish(session, engineer, resolution="resolved", fix_text="Rotated the quokka credentials")
    found = search_runbooks("quokka credentials")
    assert [i.label for i in found.incidents] == [f"#{session.pk} · INC-42"]


def test_mapping_alertname_becomes_a_searchable_alert_name(founding, default_synonyms):
    mapping = AlertRunbookMapping.objects.create(
        matchers='alertname=PaymentsErrorBudgetBurn, namespace="prod"', runbook=founding
    )
    assert list(RunbookAlert.objects.values_list("name", "source")) == [
        ("PaymentsErrorBudgetBurn", "mapping")
    ]
    result = search_runbooks("PaymentsErrorBudgetBurn").results[0]
    assert result.runbook.slug == founding.slug
    assert result.alerts == ["PaymentsErrorBudgetBurn"]
    mapping.delete()
    assert not RunbookAlert.objects.exists()


def test_index_unindexed_incidents_catches_up_after_a_bulk_load(session, engineer):
    from triage.search import index_unindexed_incidents

    finish(session, engineer, resolution="resolved", fix_text="Rotated the quokka credentials")
    SearchDocument.objects.filter(kind="incident").delete()
    assert past_incidents(parse_query("quokka")) == []
    assert index_unindexed_incidents() == 1
    assert index_unindexed_incidents() == 0
    assert len(past_incidents(parse_query("quokka"))) == 1


def test_seen_alert_names_sync_backfills_alerts_that_opened_sessions(session):
    from triage.alerts import seen_alert_names_sync
    from triage.models import SessionAlert

    SessionAlert.objects.create(
        session=session, fingerprint="f1", alertname="QuokkaDown", starts_at=session.started_at
    )
    seen_alert_names_sync()
    assert list(RunbookAlert.objects.values_list("name", "source")) == [("QuokkaDown", "seen")]


def test_index_incident_skips_a_session_that_recorded_nothing(founding, engineer):
    from triage.services import session_start

    bare = session_start(runbook=founding, user=engineer)
    finish(bare, engineer, resolution="abandoned")
    assert not SearchDocument.objects.filter(kind="incident", ref=bare.pk).exists()


def test_past_incidents_show_notes_as_the_snippet_when_they_match_best(session, engineer):
    finish(
        session,
        engineer,
        resolution="resolved",
        cause_text="Quota exhausted",
        notes="The quokka gateway dropped every third request",
    )
    found = past_incidents(parse_query("quokka gateway"))
    assert found[0].cause == "Quota exhausted"
    assert (
        found[0].snippet
        == "The <mark>quokka</mark> <mark>gateway</mark> dropped every third request"
    )


def test_search_page_shows_an_incident_cause_once(
    session, engineer, engineer_client, default_synonyms
):
    finish(session, engineer, resolution="resolved", cause_text="Quokka credentials expired")
    html = engineer_client.get("/search/", {"q": "quokka credentials"}).content.decode()
    assert html.count("<mark>Quokka</mark> <mark>credentials</mark> expired") == 1
