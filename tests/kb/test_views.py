import pytest
from django.contrib.auth.models import Group
from django.db.utils import OperationalError

from kb.services import runbook_import

pytestmark = pytest.mark.django_db

HOSTILE = """# Debug: <script>alert('title')</script> {{ request.user }}

<img src=x onerror="alert('summary')"> [click](javascript:alert('link')) {% now "Y" %}

## Likely Causes

- <script>alert('cause')</script> — <a href="javascript:alert(1)">x</a>
"""


def test_home_requires_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_home_lists_runbooks_by_category(engineer_client, seed_text):
    runbook_import(text=seed_text, path="deploys/high-error-rate.txt")
    response = engineer_client.get("/")
    assert response.status_code == 200
    assert b"Debug: High Error Rate After Deploy" in response.content
    assert b"deploys" in response.content


def test_home_shows_empty_state(engineer_client):
    assert b"No runbooks yet" in engineer_client.get("/").content


def test_home_renders_hostile_text_inert(engineer_client):
    runbook_import(text=HOSTILE, path="evil.md")
    html = engineer_client.get("/").content.decode()
    assert "<script>alert" not in html
    assert "onerror" not in html
    assert "javascript:" not in html
    assert "&lt;script&gt;alert(&#x27;title&#x27;)&lt;/script&gt;" in html
    assert "{{ request.user }}" in html  # shown as text, never evaluated
    assert '{% now "Y" %}' in html or "{% now &quot;Y&quot; %}" in html


def test_login_page_is_public(client):
    assert client.get("/accounts/login/").status_code == 200


def test_healthz_reports_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_healthz_reports_503_when_database_is_down(client, monkeypatch):
    from django.db import connection

    def broken_cursor(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


def test_groups_exist_after_migrations():
    assert set(Group.objects.values_list("name", flat=True)) >= {"engineer", "editor", "lead"}
