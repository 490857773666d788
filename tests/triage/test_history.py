"""Incident history, exports and insights: leads only, filtered rows exactly."""

import csv
import io
import json
import re
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from triage.models import TriageSession
from triage.services import OutcomeInput, StepInput, session_finish, session_start, step_record

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "history-table"}
PAGE_AND_PARTIAL = pytest.mark.parametrize("headers", [{}, HTMX], ids=["page", "partial"])
INVALID_DAY = {"started_after": "2026-11-31"}


@pytest.fixture
def lead_client(make_user):
    from django.test import Client

    client = Client()  # its own, so it can sit beside engineer_client in one test
    client.force_login(make_user("lena", "lead"))
    return client


@pytest.fixture
def history(samples, engineer, other_engineer, founding):
    """Four finished sessions with known values, plus one still open."""
    from kb.models import Runbook

    kubernetes = Runbook.objects.get(slug="cloud/kubernetes")
    base = timezone.now() - timedelta(days=10)
    made = []
    specs = [
        (founding, engineer, "missing-or-changed-environment-variable", "resolved", 12.0, 0),
        (founding, other_engineer, None, "escalated", None, 1),
        (kubernetes, engineer, "liveness-probe-killing-a-slow-starter", "resolved", 3.0, 2),
        (
            kubernetes,
            other_engineer,
            "missing-or-mistyped-config-at-startup",
            "rolled_back",
            30.0,
            3,
        ),
    ]
    for runbook, user, cause_key, resolution, minutes, day in specs:
        at = base + timedelta(days=day)
        session = session_start(runbook=runbook, user=user, at=at, incident_ref=f"INC-{day}")
        step_record(
            session=session,
            user=user,
            token=uuid.uuid4(),
            at=at,
            answer=StepInput(kind="note", note="looked around"),
        )
        cause = runbook.causes.get(key=cause_key) if cause_key else None
        session_finish(
            session=session,
            user=user,
            token=uuid.uuid4(),
            at=at + timedelta(minutes=40),
            outcome=OutcomeInput(
                resolution=resolution,
                cause_id=cause.pk if cause else None,
                cause_text="" if cause else "Upstream DNS outage",
                minutes_to_diagnosis=minutes,
            ),
        )
        made.append(session)
    session_start(runbook=founding, user=engineer, incident_ref="INC-open")
    return made


def rows(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_history_lists_every_session_with_its_columns(lead_client, history):
    response = lead_client.get("/history/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "5 sessions" in html
    for text in [
        "Confirmed cause",
        "Time to diagnosis",
        "Missing or changed environment variable",
        "Upstream DNS outage",
        "INC-open",
        "rolled back",
    ]:
        assert text in html, text
    assert f'href="/triage/{history[0].pk}/timeline/"' in html


def test_history_filters_by_runbook_and_resolution(lead_client, history):
    html = lead_client.get("/history/", {"runbook": "cloud/kubernetes", "resolution": "resolved"})
    html = html.content.decode()
    assert "1 session " in html or "1 session<" in html or "1 session ·" in html
    assert "INC-2" in html and "INC-3" not in html and "INC-0" not in html


def test_history_filters_by_engineer_cause_text_and_dates(lead_client, history):
    by_engineer = lead_client.get("/history/", {"engineer": "olga"}).content.decode()
    assert "INC-1" in by_engineer and "INC-3" in by_engineer and "INC-0" not in by_engineer
    by_cause = lead_client.get("/history/", {"cause": "liveness"}).content.decode()
    assert "INC-2" in by_cause and "INC-0" not in by_cause
    by_text = lead_client.get("/history/", {"q": "dns outage"}).content.decode()
    assert "INC-1" in by_text and "INC-2" not in by_text
    day = (timezone.now() - timedelta(days=8)).date().isoformat()
    by_date = lead_client.get("/history/", {"started_after": day, "started_before": day})
    assert "INC-2" in by_date.content.decode() and "INC-3" not in by_date.content.decode()


def test_history_sorts_by_time_to_diagnosis(lead_client, history):
    html = lead_client.get("/history/", {"sort": "-minutes_to_diagnosis"}).content.decode()
    assert html.index("INC-3") < html.index("INC-0") < html.index("INC-2")
    html = lead_client.get("/history/", {"sort": "minutes_to_diagnosis"}).content.decode()
    assert html.index("INC-2") < html.index("INC-0") < html.index("INC-3")


def test_history_partial_for_htmx_keeps_the_query(lead_client, history):
    response = lead_client.get("/history/", {"runbook": "cloud/kubernetes"}, **HTMX)
    html = response.content.decode().strip()
    assert html.startswith('<div id="history-table"')
    assert "<html" not in html
    assert "export.csv?runbook=cloud%2Fkubernetes" in html


@PAGE_AND_PARTIAL
def test_history_with_an_invalid_filter_shows_the_error_and_no_sessions(
    lead_client, history, headers
):
    params = {**INVALID_DAY, "runbook": "cloud/kubernetes"}
    response = lead_client.get("/history/", params, **headers)
    html = response.content.decode()
    assert response.status_code == 200
    assert "started_after: Enter a valid date." in html
    assert "No sessions are listed: these filters are not valid." in html
    assert "INC-" not in html and "<table" not in html and "export.csv" not in html


def test_history_with_an_invalid_filter_keeps_what_was_typed(lead_client, history):
    html = lead_client.get("/history/", INVALID_DAY).content.decode()
    assert 'name="started_after" value="2026-11-31"' in html


@pytest.fixture
def many(samples, founding, engineer):
    for i in range(110):
        session_start(runbook=founding, user=engineer, incident_ref=f"BULK-{i}")


@PAGE_AND_PARTIAL
@pytest.mark.parametrize("per_page", ["-5", "0", "abc", "2.5"])
def test_history_shows_the_default_page_size_for_an_invalid_per_page(
    lead_client, many, per_page, headers
):
    response = lead_client.get("/history/", {"per_page": per_page}, **headers)
    html = response.content.decode()
    assert response.status_code == 200
    assert "110 sessions" in html and html.count("BULK-") == 25


@PAGE_AND_PARTIAL
def test_history_cuts_a_huge_per_page_to_the_maximum(lead_client, many, headers):
    html = lead_client.get("/history/", {"per_page": "100000"}, **headers).content.decode()
    assert "110 sessions" in html and html.count("BULK-") == 100
    html = lead_client.get("/history/", {"per_page": "50"}, **headers).content.decode()
    assert html.count("BULK-") == 50


@PAGE_AND_PARTIAL
def test_history_links_carry_only_valid_parameters(lead_client, history, headers):
    params = {"runbook": "cloud/kubernetes", "utm_source": "mail", "sort": "nonsense"}
    html = lead_client.get("/history/", params, **headers).content.decode()
    assert "2 sessions" in html
    assert "utm_source" not in html and "nonsense" not in html
    assert 'export.csv?runbook=cloud%2Fkubernetes"' in html
    assert "?runbook=cloud%2Fkubernetes&amp;sort=started_at" in html


@PAGE_AND_PARTIAL
def test_history_caches_one_page_per_valid_query(lead_client, history, headers):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries(params: dict) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert lead_client.get("/history/", params, **headers).status_code == 200
        return len(ctx.captured_queries)

    assert queries({"per_page": "100"}) > (cached := queries({"per_page": "100"}))
    for same in [
        {"per_page": "100000"},
        {"per_page": "100", "utm_source": "x"},
        {"per_page": "100", "page": "abc", "sort": "nonsense", "runbook": ""},
    ]:
        assert queries(same) == cached, same


def test_history_paginates(lead_client, history, founding, engineer):
    for i in range(30):
        session_start(runbook=founding, user=engineer, incident_ref=f"BULK-{i}")
    first = lead_client.get("/history/").content.decode()
    second = lead_client.get("/history/", {"page": 2}).content.decode()
    assert "35 sessions" in first
    assert first.count("BULK-") == 25 and "BULK-0<" not in first
    assert "BULK-0" in second


def test_csv_export_has_exactly_the_filtered_rows(lead_client, history):
    response = lead_client.get("/history/export.csv", {"runbook": "cloud/kubernetes"})
    assert response["Content-Type"].startswith("text/csv")
    data = rows(response)
    assert [r["incident_ref"] for r in data] == ["INC-2", "INC-3"]
    assert set(data[0]) >= {
        "started_at",
        "runbook",
        "engineer",
        "cause",
        "resolution",
        "minutes_to_diagnosis",
        "incident_ref",
        "alert_source",
    }
    assert data[1]["resolution"] == "rolled_back" and data[1]["minutes_to_diagnosis"] == "30.0"
    everything = rows(lead_client.get("/history/export.csv"))
    assert len(everything) == 5


def test_csv_export_neutralises_formulas(lead_client, founding, engineer):
    session_start(runbook=founding, user=engineer, incident_ref='=HYPERLINK("http://x")')
    data = rows(lead_client.get("/history/export.csv"))
    assert data[0]["incident_ref"].startswith("'=")


def test_csv_export_quotes_every_cell(lead_client, history):
    body = b"".join(lead_client.get("/history/export.csv").streaming_content).decode()
    lines = body.splitlines()
    assert lines[0].startswith('"id","started_at","ended_at","runbook","engineer"')
    assert len(lines) == 6
    for line in lines:
        assert re.fullmatch(r'"[^"]*"(,"[^"]*")*', line), line


@pytest.mark.parametrize(
    ("incident_ref", "exported"),
    [
        ("INC;=1+1", "INC;'=1+1"),
        ("INC,+1+1", "INC,'+1+1"),
        ("INC; @SUM(A1)", "INC;' @SUM(A1)"),
        ("INC\t-1+1", "INC\t'-1+1"),
        ("a;b;=HYPERLINK(1);-2", "a;b;'=HYPERLINK(1);'-2"),
        ("INC-7; DB, eu-west", "INC-7; DB, eu-west"),
    ],
)
def test_csv_export_neutralises_formulas_after_separators(
    lead_client, founding, engineer, incident_ref, exported
):
    session_start(runbook=founding, user=engineer, incident_ref=incident_ref)
    response = lead_client.get("/history/export.csv")
    body = b"".join(response.streaming_content).decode()
    assert next(csv.DictReader(io.StringIO(body)))["incident_ref"] == exported
    # A spreadsheet that splits on ";" or "," (or tab) and ignores the quotes runs no formula.
    for piece in re.split(r"[;,\t\r\n]", body):
        assert piece.lstrip('"')[:1] not in ("=", "+", "-", "@"), piece


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_export_refuses_an_invalid_filter(lead_client, history, fmt):
    response = lead_client.get(
        f"/history/export.{fmt}", {**INVALID_DAY, "runbook": "cloud/kubernetes"}
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert "started_after" in body and "Enter a valid date." in body
    assert "INC-" not in body


def test_json_export_matches_filter(lead_client, history):
    response = lead_client.get("/history/export.json", {"resolution": "escalated"})
    data = json.loads(b"".join(response.streaming_content))
    assert [d["incident_ref"] for d in data] == ["INC-1"]
    assert data[0]["cause_text"] == "Upstream DNS outage"


@pytest.mark.parametrize(
    "url", ["/history/", "/history/export.csv", "/history/export.json", "/insights/"]
)
def test_engineer_gets_403_on_lead_pages(engineer_client, url):
    assert engineer_client.get(url).status_code == 403


def test_insights_draws_every_chart_with_numbers(lead_client, history):
    html = lead_client.get("/insights/").content.decode()
    for key in ["weekly", "causes", "resolutions", "effectiveness", "deviation"]:
        assert f'id="insight-{key}"' in html
    assert html.count("<svg") >= 4
    assert "Numbers" in html
    assert "Re-rank proposals" in html


def test_runbook_page_shows_lead_panel_only_to_leads(
    lead_client, engineer_client, history, founding
):
    lead_html = lead_client.get(f"/runbooks/{founding.slug}/").content.decode()
    assert "For leads: 3 sessions on this runbook, 2 finished" in lead_html
    assert "Median time to diagnosis" in lead_html
    assert "For leads" not in engineer_client.get(f"/runbooks/{founding.slug}/").content.decode()


def test_runbook_page_lead_panel_counts_a_session_started_after_it_was_cached(
    lead_client, history, founding, engineer
):
    assert (
        "3 sessions on this runbook"
        in lead_client.get(f"/runbooks/{founding.slug}/").content.decode()
    )
    session_start(runbook=founding, user=engineer)
    html = lead_client.get(f"/runbooks/{founding.slug}/").content.decode()
    assert "For leads: 4 sessions on this runbook, 2 finished" in html


def test_demo_history_is_made_through_the_services(samples, engineer):
    from triage.demo_history import generate_history

    assert generate_history(sessions=25, days=30, seed=3) == 25
    assert TriageSession.objects.count() == 25
    assert TriageSession.objects.filter(status="finished").count() >= 20


def test_history_page_queries_do_not_grow(lead_client, history, founding, engineer):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count() -> int:
        lead_client.get("/history/")
        with CaptureQueriesContext(connection) as ctx:
            lead_client.get("/history/", {"sort": "-minutes_to_diagnosis"})
        return len(ctx.captured_queries)

    small = count()
    for i in range(40):
        session_start(runbook=founding, user=engineer, incident_ref=f"MORE-{i}")
    assert count() == small


def test_history_page_shows_a_session_started_after_the_page_was_cached(
    lead_client, history, engineer, founding
):
    before = lead_client.get("/history/").content.decode()
    assert "INC-77" not in before and "5 sessions" in before
    session_start(runbook=founding, user=engineer, incident_ref="INC-77")
    for headers in ({}, HTMX):
        html = lead_client.get("/history/", **headers).content.decode()
        assert "INC-77" in html and "6 sessions" in html


def test_history_page_shows_an_outcome_recorded_after_the_page_was_cached(
    lead_client, history, engineer
):
    open_session = TriageSession.objects.get(status="open")
    assert "0 sessions" in lead_client.get("/history/?resolution=abandoned").content.decode()
    session_finish(
        session=open_session,
        user=engineer,
        token=uuid.uuid4(),
        outcome=OutcomeInput(resolution="abandoned"),
    )
    html = lead_client.get("/history/?resolution=abandoned").content.decode()
    assert "1 session ·" in html
