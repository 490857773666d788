"""Cached page parts (kb.fragments) never show a reader anything stale or anyone else's."""

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
    assert "Nothing matches" in engineer_client.get("/search/?q=beta+lags").content.decode()
    runbook_import(text=BETA, path="team/beta.md")
    html = engineer_client.get("/search/?q=beta+lags").content.decode()
    assert "Debug: Beta queue backs up" in html


def test_fragments_search_keeps_each_readers_form_value(engineer_client, alpha):
    first = engineer_client.get("/search/?q=alpha").content.decode()
    again = engineer_client.get("/search/?q=alpha").content.decode()
    assert 'value="alpha"' in first and 'value="alpha"' in again
    assert "Debug: Alpha service refuses connections" in again
