"""Security headers on every page, and production settings that pass check --deploy."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db
PROJECT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("url", ["/accounts/login/", "/healthz", "/"])
def test_every_response_carries_security_headers(client, url):
    response = client.get(url)
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert "object-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_pages_have_no_inline_script_or_style(engineer_client, samples):
    for url in ["/", "/runbooks/", "/runbooks/graph/", "/tree/cloud/kubernetes/", "/search/?q=dns"]:
        html = engineer_client.get(url).content.decode()
        assert "<script>" not in html and " onclick=" not in html and " onchange=" not in html
        assert "<style" not in html and ' style="' not in html, url


def deploy_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env |= {"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "x" * 60 + "-not-a-real-key-9f8e7d6c5b"}
    return env | extra


def test_production_settings_pass_check_deploy():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=PROJECT,
        env=deploy_env(),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = deploy_env()
    env.pop("DJANGO_SECRET_KEY")
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=PROJECT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_production_redirects_to_https_and_sets_hsts(settings, client):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    response = client.get("/healthz")
    assert response.status_code == 301 and response["Location"].startswith("https://")
    secure = client.get("/healthz", secure=True)
    assert secure["Strict-Transport-Security"].startswith("max-age=31536000")


def test_database_outage_answers_503_with_retry_after(engineer_client, monkeypatch):
    from django.db.utils import OperationalError

    from kb import selectors

    def down(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(selectors, "runbook_index", down)
    response = engineer_client.get("/runbooks/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert b"nothing was lost" in response.content


POST_URLS = [
    "/triage/new/000_131d5d6a3ce7968b/",
    "/triage/{pk}/step/",
    "/triage/{pk}/join/",
    "/triage/{pk}/abandon/",
    "/triage/{pk}/resume/",
    "/triage/{pk}/finish/",
    "/rankings/000_131d5d6a3ce7968b/accept/",
    "/rankings/000_131d5d6a3ce7968b/dismiss/",
    "/runbooks/new/",
    "/runbooks/new/preview/",
    "/runbooks/new/upload/",
    "/runbooks/000_131d5d6a3ce7968b/edit/",
    "/runbooks/000_131d5d6a3ce7968b/edit/preview/",
    "/runbooks/000_131d5d6a3ce7968b/history/restore/",
    "/runbooks/000_131d5d6a3ce7968b/links/",
    "/accounts/logout/",
]


def test_every_post_url_refuses_a_missing_csrf_token(samples, make_user):
    from django.test import Client

    from kb.models import Runbook
    from triage.models import TriageStep
    from triage.services import session_start

    staff = make_user("root", "engineer", "editor", "lead", is_staff=True)
    session = session_start(runbook=Runbook.objects.get(slug="000_131d5d6a3ce7968b"), user=staff)
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    for url in POST_URLS:
        response = client.post(url.format(pk=session.pk), {"token": "x", "kind": "note"})
        assert response.status_code == 403, url
    assert TriageStep.objects.count() == 0
    assert Runbook.objects.get(slug="000_131d5d6a3ce7968b").revision == 1


@pytest.mark.parametrize(
    "query",
    [
        "' OR 1=1 --",
        '"; DROP TABLE kb_runbook; --',
        "%_%",
        "\\",
        "a" * 5000,
        "<script>alert(1)</script>",
        "\x00",
    ],
)
def test_search_and_filters_survive_hostile_input(engineer_client, samples, make_user, query):
    from django.test import Client

    from kb.models import Runbook

    assert engineer_client.get("/search/", {"q": query}).status_code == 200
    assert engineer_client.get("/runbooks/", {"q": query}).status_code == 200
    lead = Client()
    lead.force_login(make_user("lena", "lead"))
    for params in ({"q": query}, {"runbook": query}, {"cause": query}, {"engineer": query}):
        assert lead.get("/history/", params).status_code in (200, 400), params
    assert lead.get("/history/", {"started_after": query}).status_code in (200, 400)
    assert Runbook.objects.count() == 10


def test_other_sessions_ids_are_not_writable(engineer_client, samples, make_user):
    from kb.models import Runbook
    from triage.services import session_start

    stranger = make_user("sid", "engineer")
    theirs = session_start(runbook=Runbook.objects.get(slug="cloud/kubernetes"), user=stranger)
    response = engineer_client.post(
        f"/triage/{theirs.pk}/step/",
        {"token": str(__import__("uuid").uuid4()), "kind": "note", "note": "not mine"},
    )
    assert response.status_code == 403
    assert theirs.steps.count() == 0
    assert engineer_client.post("/triage/999999/step/", {"token": "x"}).status_code == 404


@pytest.mark.parametrize("url", ["/", "/search/?q=dns", "/history/", "/history/export.csv"])
def test_signed_in_responses_are_private(client, make_user, samples, url):
    client.force_login(make_user("lena", "lead"))
    response = client.get(url)
    assert response.status_code == 200, url
    assert "private" in response["Cache-Control"], url


def test_anonymous_health_check_is_not_marked_private(client):
    assert "private" not in client.get("/healthz").get("Cache-Control", "")


def test_healthz_answers_head_for_load_balancers(client):
    response = client.head("/healthz")
    assert response.status_code == 200 and response.content == b""


@pytest.mark.parametrize(
    "url",
    [
        "/accounts/password_reset/",
        "/accounts/password_change/",
        "/accounts/reset/MQ/set-password/",
    ],
)
def test_password_reset_and_change_pages_are_not_routed(admin_client, url):
    # No mail is configured: a reset page would promise an email that never comes.
    assert admin_client.get(url).status_code == 404


def test_logout_still_signs_out(engineer_client):
    response = engineer_client.post("/accounts/logout/")
    assert response.status_code == 302
    assert engineer_client.get("/").status_code == 302  # back to the login page


@pytest.mark.parametrize(
    "headers", [{}, {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "search-results"}]
)
def test_pages_vary_on_hx_request_so_back_never_shows_a_fragment(engineer_client, headers):
    # htmx pushes the URL of a fragment it fetched; the browser cache must keep it apart
    # from the full page at the same URL.
    response = engineer_client.get("/search/?q=dns", **headers)
    assert "HX-Request" in response["Vary"]
