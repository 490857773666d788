"""Cached page parts (kb.fragments) never show a reader anything stale or anyone else's."""

import re
import uuid

import pytest

from kb.models import Runbook
from kb.services import runbook_import
from tests.conftest import SEED_SLUG

pytestmark = pytest.mark.django_db

ALPHA = """# Debug: Alpha service refuses connections

**Symptom:** alpha refuses connections.

## Likely Causes

1. Alpha pool exhausted — too many clients
2. Alpha certificate expired — renewals failed

## First Checks

- Count alpha pool clients — compare with the limit

## Drill Paths

| Suspect | Go to |
|---|---|
| The beta side | team/beta |
"""

BETA = """# Debug: Beta queue backs up

**Symptom:** beta lags.

## Likely Causes

1. Beta consumer stuck — a poison message
"""


@pytest.fixture
def alpha() -> Runbook:
    return runbook_import(text=ALPHA, path="team/alpha.md")


def test_fragments_runbook_page_shows_a_link_target_created_after_it_was_cached(
    engineer_client, alpha
):
    before = engineer_client.get("/runbooks/team/alpha/").content.decode()
    assert "team/beta" in before and "badge-missing" in before
    runbook_import(text=BETA, path="team/beta.md")
    after = engineer_client.get("/runbooks/team/alpha/").content.decode()
    assert "Debug: Beta queue backs up" in after and "badge-missing" not in after


def test_fragments_runbook_page_shows_its_own_edit_at_once(engineer_client, alpha):
    engineer_client.get("/runbooks/team/alpha/")
    runbook_import(text=ALPHA.replace("too many clients", "clients leak"), path="team/alpha.md")
    html = engineer_client.get("/runbooks/team/alpha/").content.decode()
    assert "clients leak" in html and "too many clients" not in html


def test_fragments_runbook_page_shows_learning_from_a_session_just_finished(
    engineer_client, engineer, alpha
):
    from triage.services import OutcomeInput, session_finish, session_start

    assert "confirmed 1×" not in engineer_client.get("/runbooks/team/alpha/").content.decode()
    cause = alpha.causes.get(rank=2)
    session = session_start(runbook=alpha, user=engineer)
    session_finish(
        session=session,
        user=engineer,
        token=uuid.uuid4(),
        outcome=OutcomeInput(resolution="resolved", cause_id=cause.pk),
    )
    html = engineer_client.get("/runbooks/team/alpha/").content.decode()
    assert "based on 1 session" in html and "confirmed 1×" in html


def test_fragments_runbook_page_header_follows_the_reader_not_the_cache(
    client, engineer_client, make_user, samples
):
    url = f"/runbooks/{SEED_SLUG}/"
    assert "/edit/" not in engineer_client.get(url).content.decode()  # cached by an engineer
    client.force_login(make_user("eddie", "editor"))
    html = client.get(url).content.decode()
    assert f"/runbooks/{SEED_SLUG}/edit/" in html and "eddie" in html
    assert "erin" not in html  # the engineer who warmed the cache


def test_fragments_tree_shows_a_new_link_target(engineer_client, alpha):
    url = "/tree/team/alpha/?open=none"  # drill paths sit under "none of these"
    assert "badge-missing" in engineer_client.get(url).content.decode()
    runbook_import(text=BETA, path="team/beta.md")
    html = engineer_client.get(url).content.decode()
    assert "Debug: Beta queue backs up" in html and "badge-missing" not in html


def test_fragments_tree_caches_full_page_and_partial_apart(engineer_client, alpha):
    engineer_client.get("/tree/team/alpha/?open=none")
    partial = engineer_client.get(
        "/tree/team/alpha/?open=none", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="t-none"
    ).content.decode()
    assert "<html" not in partial and 'class="node' in partial
    page = engineer_client.get("/tree/team/alpha/?open=none").content.decode()
    assert page.startswith("<!DOCTYPE html>") or "<html" in page


def test_fragments_search_finds_a_runbook_imported_after_the_same_search(engineer_client, alpha):
    assert "No runbook matches" in engineer_client.get("/search/?q=poison").content.decode()
    runbook_import(text=BETA, path="team/beta.md")
    html = engineer_client.get("/search/?q=poison").content.decode()
    assert "Debug: Beta queue backs up" in html


def test_fragments_search_keeps_each_readers_form_value(engineer_client, alpha):
    first = engineer_client.get("/search/?q=alpha").content.decode()
    again = engineer_client.get("/search/?q=alpha").content.decode()
    assert 'value="alpha"' in first and 'value="alpha"' in again
    assert "Debug: Alpha service refuses connections" in again


def csrf_from(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def test_render_shared_page_gives_each_reader_their_name_and_a_working_csrf_token(
    make_user, samples
):
    from django.test import Client

    url = f"/runbooks/{SEED_SLUG}/"
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    first.force_login(make_user("erin", "engineer"))
    second.force_login(make_user("ravi", "engineer"))
    assert ">erin<" in first.get(url).content.decode()  # warms the shared page
    html = second.get(url).content.decode()
    assert ">ravi<" in html and ">erin<" not in html
    token = csrf_from(html)
    assert html.count(token) == 3  # htmx header, start triage, log out
    response = second.post(f"/triage/new/{SEED_SLUG}/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302 and "/triage/" in response["Location"]


def test_render_shared_page_escapes_the_readers_name(make_user, client, samples):
    client.force_login(make_user("<b>x</b>", "engineer"))
    html = client.get(f"/runbooks/{SEED_SLUG}/").content.decode()
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html


def test_render_shared_page_shows_flash_messages_once(make_user, client, samples):
    from django.contrib.messages import constants
    from django.contrib.messages.storage.cookie import CookieStorage

    client.force_login(make_user("erin", "engineer"))
    url = f"/runbooks/{SEED_SLUG}/"
    client.get(url)  # the shared page is cached without messages
    storage = CookieStorage(type("R", (), {"COOKIES": {}})())
    storage.add(constants.SUCCESS, "Saved revision 7.")
    encoded = storage._encode(storage._queued_messages)
    client.cookies[CookieStorage.cookie_name] = encoded
    assert "Saved revision 7." in client.get(url).content.decode()
    assert "Saved revision 7." not in client.get(url).content.decode()


def test_render_shared_page_tree_follows_the_readers_roles(
    client, engineer_client, make_user, alpha
):
    assert "Link health" not in engineer_client.get("/tree/team/alpha/").content.decode()
    client.force_login(make_user("eddie", "editor"))
    html = client.get("/tree/team/alpha/").content.decode()
    assert "Link health" in html and ">eddie<" in html
