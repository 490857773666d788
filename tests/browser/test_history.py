"""A lead reviews incident history and insights in Chromium."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def lead(transactional_db):
    from django.contrib.auth.models import Group, User

    user = User.objects.create_user(username="lead-in-browser", password=PASSWORD)
    user.groups.set([Group.objects.get_or_create(name=n)[0] for n in ("engineer", "lead")])
    return user


@pytest.fixture
def history(runbooks, lead):
    from triage.demo_history import generate_history

    return generate_history(sessions=80, days=60, seed=11)


def log_in(page, user) -> None:
    page.goto("/accounts/login/")
    page.locator("#id_username").fill(user.username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    expect(page.locator("form #id_password")).to_have_count(0)


def test_history_filter_sort_page_and_open_a_session(page, lead, history, artifacts):
    log_in(page, lead)
    page.goto("/history/")
    expect(page.locator("#history-table")).to_contain_text("80 sessions")
    page.evaluate("window.__marker = 1")

    page.locator("select[name=runbook]").select_option("000_131d5d6a3ce7968b")
    expect(page).to_have_url(re.compile(re.escape("runbook=000_131d5d6a3ce7968b")))
    page.locator("select[name=resolution]").select_option("resolved")
    expect(page).to_have_url(re.compile(re.escape("resolution=resolved")))
    rows = page.locator("table.history tbody tr")
    expect(rows.first).to_contain_text("High Error Rate After Deploy")
    count_text = page.locator("#history-table p.muted").inner_text()
    assert "sessions" in count_text or "session" in count_text

    page.locator("table.history thead th", has_text="Time to diagnosis").locator("a").click()
    expect(page).to_have_url(re.compile(re.escape("sort=minutes_to_diagnosis")))
    values = [
        float(text)
        for text in page.locator("table.history tbody tr td:nth-child(8)").all_inner_texts()
        if text.strip() not in ("—", "")
    ]
    assert values == sorted(values)
    assert page.evaluate("window.__marker") == 1  # all in place, no page loads

    page.locator("select[name=runbook]").select_option("")
    page.locator("select[name=resolution]").select_option("")
    expect(page.locator("#history-table")).to_contain_text("80 sessions")
    page.locator(".pagination a", has_text="2").first.click()
    expect(page).to_have_url(re.compile(re.escape("page=2")))
    page.screenshot(path=str(artifacts / "history.png"), full_page=True, caret="initial")

    page.locator("table.history tbody tr td a").first.click()
    expect(page.locator("h1")).to_contain_text("Timeline")


def test_insights_draws_every_chart(page, lead, history, artifacts):
    log_in(page, lead)
    page.goto("/insights/")
    for key in ("weekly", "causes", "resolutions", "effectiveness", "deviation"):
        section = page.locator(f"#insight-{key}")
        expect(section).to_be_visible()
        expect(section.locator("svg.chart rect").first).to_be_attached()
    page.locator("#insight-resolutions summary").click()
    expect(page.locator("#insight-resolutions table.numbers")).to_be_visible()
    page.screenshot(path=str(artifacts / "insights.png"), full_page=True, caret="initial")


def test_engineer_is_refused_history(page, login):
    login(page)
    response = page.goto("/history/")
    assert response.status == 403
