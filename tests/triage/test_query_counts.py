"""Query budgets for the triage and lead pages: bounded, and flat as history grows."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from triage.demo_history import generate_history
from triage.models import TriageSession

pytestmark = pytest.mark.django_db

FLAT = ["/", "/history/", "/history/?sort=-minutes_to_diagnosis&resolution=resolved"]
PER_SESSION = ["/triage/{pk}/", "/triage/{pk}.json", "/triage/{pk}/timeline/"]
# These list one entry per runbook with enough evidence, capped (triage.proposals).
CAPPED = {"/insights/": 400, "/rankings/": 400}


def queries(client: Client, url: str) -> int:
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200, url
    return len(ctx.captured_queries)


def test_lead_and_session_pages_stay_flat_as_history_grows(samples, make_user):
    lead = Client()
    lead.force_login(make_user("lena", "lead"))
    generate_history(sessions=15, days=20, seed=1)
    session = TriageSession.objects.filter(status="finished").first()
    urls = FLAT + [u.format(pk=session.pk) for u in PER_SESSION]
    small = {url: queries(lead, url) for url in urls}
    generate_history(sessions=120, days=20, seed=2)
    large = {url: queries(lead, url) for url in urls}
    assert small == large
    assert max(large.values()) <= 40, large
    for url, cap in CAPPED.items():
        assert queries(lead, url) <= cap
