"""The guided triage in a real browser (issue 4, DESIGN.md §5).

Run with ``.venv/bin/pytest tests/browser -q``. Screenshots land in ``test-artifacts/``.
"""

import re
import time
from datetime import datetime

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PASSWORD
from tests.conftest import SEED_SLUG

pytestmark = pytest.mark.browser

FOUNDING_TITLE = "Debug: High Error Rate After Deploy"
KUBERNETES_TITLE = "Debug: Pods Crash-Looping or Failing to Start on Kubernetes"
DEBUGGING_TITLE = "Debug: A Systematic Approach When the Cause Is Not Obvious"
ENV_PATTERN = "Errors on all endpoints immediately"
ENV_CAUSE = "Missing or changed environment variable"
ENV_CAUSE_KEY = "missing-or-changed-environment-variable"
ENV_FIX = "Check env vars and secrets first"
SESSION_PATH = re.compile(r"/triage/(\d+)/$")


# --- helpers -----------------------------------------------------------------------------


@pytest.fixture
def second_engineer(browser_user):
    """Another engineer, for hand-overs (``browser_user`` has made sure the group exists)."""
    from django.contrib.auth.models import Group, User

    user = User.objects.create_user(username="relief", password=PASSWORD)
    user.groups.set([Group.objects.get(name="engineer")])
    return user


def log_in_as(page: Page, user) -> Page:
    """The real login form, as ``user`` (the ``login`` fixture only knows ``browser_user``)."""
    page.goto("/accounts/login/")
    page.locator("#id_username").fill(user.username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    expect(page.locator("form #id_password")).to_have_count(0)
    return page


def start_triage(page: Page) -> int:
    """From the founding runbook's page, press "Start triage"; returns the session's id."""
    page.goto(f"/runbooks/{SEED_SLUG}/")
    expect(page.locator("h1")).to_have_text(FOUNDING_TITLE)
    page.get_by_role("button", name="Start triage").click()
    expect(page).to_have_url(SESSION_PATH)
    # The click returns once the new page starts; wait for its scripts (htmx binds its forms
    # and the keys listen from DOMContentLoaded on), or a fast test outruns them.
    page.wait_for_load_state("load")
    expect(panel(page).locator("h1")).to_have_text(FOUNDING_TITLE)
    expect(question(page)).to_have_text("First: is this the right runbook?")
    return int(SESSION_PATH.search(page.url).group(1))


# A swapped-in panel's forms are bound by htmx only when it settles (htmx's settle delay,
# 20 ms): a click or key press in between submits the plain way, with a full page load.
UNSETTLED = (
    "#triage-panel.htmx-added, #triage-panel.htmx-settling, #triage-panel.htmx-swapping,"
    " #triage-panel .htmx-request"
)


def settled(page: Page) -> None:
    """Wait until no htmx request or swap is under way in the panel."""
    expect(page.locator(UNSETTLED)).to_have_count(0)


def click(locator, double: bool = False) -> None:
    settled(locator.page)
    if double:
        locator.dblclick()
    else:
        locator.click()


def press(page: Page, key: str) -> None:
    settled(page)
    page.keyboard.press(key)


def panel(page: Page):
    return page.locator("#triage-panel")


def question(page: Page):
    """The heading of the question asked now."""
    return panel(page).locator("section.triage-main > h2").first


def answer(page: Page, name: str | re.Pattern, exact: bool = False):
    return panel(page).get_by_role("button", name=name, exact=exact)


def pattern_button(page: Page, observation: str):
    return panel(page).locator("button.choice", has_text=observation)


def cause_row(page: Page, title: str):
    return panel(page).locator("li.cause-row").filter(has=page.locator("h3", has_text=title))


def step_log(page: Page):
    return panel(page).locator("ol.step-log > li")


def breadcrumb(page: Page):
    return panel(page).locator("nav.breadcrumb li")


def session_json(page: Page, session_id: int) -> dict:
    """``/triage/<id>.json`` with the page's cookies, without touching the page itself."""
    response = page.request.get(f"/triage/{session_id}.json")
    assert response.ok, response.status
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def kinds(data: dict) -> list[str]:
    return [step["kind"] for step in data["steps"]]


def set_marker(page: Page) -> None:
    """Mark this document: the marker survives htmx swaps and disappears on a page load."""
    page.evaluate("window.__marker = 1")


def assert_same_document(page: Page) -> None:
    assert page.evaluate("window.__marker") == 1, "a full page load happened"


def assert_no_errors(page_events) -> None:
    assert page_events.page_errors == []
    assert page_events.console_errors == []
    assert page_events.dialogs == []


def answer_gate_no(page: Page) -> None:
    click(answer(page, "No, continue here"))
    expect(question(page)).to_have_text("Which pattern matches what you see?")


# --- 1. the full session -----------------------------------------------------------------


def test_triage_full_session_records_steps_and_outcome(
    page, login, runbooks, artifacts, page_events
):
    login(page)
    session_id = start_triage(page)
    session_url = page.url
    set_marker(page)
    expect(page.locator(".best-guess")).to_contain_text("answer the questions first")

    # 1. The gate: no, this is the right runbook.
    answer_gate_no(page)
    assert_same_document(page)

    # 2. The pattern.
    click(pattern_button(page, ENV_PATTERN))
    expect(question(page)).to_have_text(f"Pattern: {ENV_PATTERN}")
    expect(panel(page).locator(".recommend")).to_contain_text(ENV_CAUSE)
    assert_same_document(page)

    # 3. The causes for the pattern, the recommended check first; the best guess follows.
    row = cause_row(page, ENV_CAUSE)
    expect(row).to_have_count(1)
    expect(panel(page).locator("li.cause-row").first).to_contain_text(ENV_CAUSE)
    expect(page.locator(".best-guess")).to_have_text(ENV_CAUSE)
    check = row.locator("li.check-row.recommended")
    expect(check).to_have_count(1)
    check_key = check.get_attribute("data-check")
    settled(page)
    check.locator("input.minutes-input").fill("4")
    click(check.get_by_role("button", name="Confirms"))

    row = cause_row(page, ENV_CAUSE)
    expect(row).to_have_class(re.compile(r"\bstatus-confirmed\b"))
    expect(row.locator("h3 .badge")).to_have_text("confirmed")
    expect(row.locator(f'li.check-row[data-check="{check_key}"] .badge')).to_have_text("CONFIRMS")
    expect(page.locator(".best-guess")).to_have_text(f"{ENV_CAUSE} confirmed")
    expect(page.locator(".best-guess .badge")).to_have_text("confirmed")
    expect(panel(page).locator(".recommend")).to_contain_text("A cause is confirmed")
    expect(step_log(page)).to_have_count(3)
    assert_same_document(page)
    expect(page).to_have_url(session_url)
    page.screenshot(path=artifacts / "triage.png", full_page=True, caret="initial")

    # 4. The outcome: the confirmed cause is pre-selected.
    settled(page)
    finish = panel(page).locator("section.finish")
    finish.locator("#f-resolution").select_option("resolved")
    expect(finish.locator("#f-cause option:checked")).to_have_text(ENV_CAUSE)
    fix_option = finish.locator("#f-fix option", has_text=ENV_FIX)
    expect(fix_option).to_have_count(1)
    finish.locator("#f-fix").select_option(fix_option.get_attribute("value"))
    click(finish.get_by_role("button", name="Finish session"))

    expect(question(page)).to_have_text("Finished: resolved")
    expect(panel(page)).to_contain_text("finished and read-only")
    outcome = panel(page).locator("dl.outcome")
    expect(outcome).to_contain_text(ENV_CAUSE)
    expect(outcome).to_contain_text(ENV_FIX)
    # Read-only: nothing left to press or fill in.
    expect(panel(page).locator("form")).to_have_count(0)
    expect(panel(page).locator("button")).to_have_count(0)
    expect(panel(page).locator(".crumbs")).to_contain_text("finished")
    assert_same_document(page)
    expect(page).to_have_url(session_url)
    page.screenshot(path=artifacts / "triage-finished.png", full_page=True, caret="initial")

    # The JSON: every step in order, with timestamps, and the outcome.
    data = session_json(page, session_id)
    assert data["id"] == session_id
    assert data["runbook"] == SEED_SLUG
    assert data["owner"] == "oncall"
    assert data["status"] == "finished"
    assert kinds(data) == ["gate", "pattern", "check", "finish"]
    gate, pattern, check_step, _finish = data["steps"]
    assert gate["gate_holds"] is False
    assert pattern["pattern"] is not None
    assert check_step["check"] == check_key
    assert check_step["cause"] == ENV_CAUSE_KEY
    assert check_step["result"] == "confirms"
    assert check_step["minutes"] == 4.0
    assert {step["author"] for step in data["steps"]} == {"oncall"}
    times = [datetime.fromisoformat(step["at"]) for step in data["steps"]]
    assert all(t.tzinfo is not None for t in times)
    assert times == sorted(times)
    started = datetime.fromisoformat(data["started_at"])
    ended = datetime.fromisoformat(data["ended_at"])
    assert started <= times[0] and times[-1] <= ended  # the finish step included
    assert data["outcome"]["resolution"] == "resolved"
    assert data["outcome"]["cause"] == ENV_CAUSE_KEY
    assert data["outcome"]["cause_runbook"] == SEED_SLUG
    assert data["outcome"]["fix"].startswith(ENV_FIX)
    assert data["outcome"]["recorded_by"] == "oncall"

    assert_no_errors(page_events)


# --- 2. keyboard shortcuts -----------------------------------------------------------------


def test_triage_keyboard_answers_gate_pattern_and_check(page, login, runbooks, page_events):
    login(page)
    session_id = start_triage(page)
    set_marker(page)
    expect(step_log(page)).to_have_text(["none yet"])

    press(page, "n")
    expect(question(page)).to_have_text("Which pattern matches what you see?")
    expect(step_log(page)).to_have_count(1)
    expect(step_log(page).first).to_contain_text("oncall: gate answer")

    press(page, "1")
    expect(question(page)).to_have_text(f"Pattern: {ENV_PATTERN}")
    expect(step_log(page)).to_have_count(2)
    recommended = panel(page).locator("li.check-row.recommended")
    expect(recommended).to_have_count(1)
    check_key = recommended.get_attribute("data-check")

    press(page, "c")
    expect(step_log(page)).to_have_count(3)
    expect(step_log(page).nth(2)).to_contain_text("oncall: check run")
    expect(page.locator(".best-guess")).to_have_text(f"{ENV_CAUSE} confirmed")
    assert_same_document(page)

    data = session_json(page, session_id)
    assert kinds(data) == ["gate", "pattern", "check"]
    gate, pattern, check = data["steps"]
    assert gate["gate_holds"] is False
    assert pattern["pattern"] is not None
    assert check["check"] == check_key
    assert check["cause"] == ENV_CAUSE_KEY
    assert check["result"] == "confirms"
    assert check["minutes"] is not None and check["minutes"] >= 0  # the timer's value
    assert_no_errors(page_events)


# --- 3. gate yes → pivot -------------------------------------------------------------------


def test_triage_gate_yes_pivots_session_to_other_runbook(page, login, runbooks, page_events):
    login(page)
    session_id = start_triage(page)
    session_url = page.url
    set_marker(page)

    click(answer(page, "Yes, this holds"))
    expect(question(page)).to_have_text("Probably not this runbook")
    expect(panel(page).locator("section.triage-main ul").first).to_contain_text(
        "This is not a regression"
    )
    move = answer(page, f"Move this session to {DEBUGGING_TITLE}")
    expect(move).to_have_count(1)
    expect(answer(page, "Actually no, continue here")).to_be_visible()

    click(move)
    expect(panel(page).locator("h1")).to_have_text(DEBUGGING_TITLE)
    expect(breadcrumb(page)).to_have_text([DEBUGGING_TITLE])
    expect(breadcrumb(page).get_by_role("link", name=DEBUGGING_TITLE)).to_have_attribute(
        "href", "/runbooks/cs-fundamentals/debugging-systems/"
    )
    expect(panel(page).locator("nav.breadcrumb")).not_to_contain_text(FOUNDING_TITLE)
    assert_same_document(page)
    expect(page).to_have_url(session_url)

    data = session_json(page, session_id)
    assert data["runbook"] == SEED_SLUG  # where it started
    assert kinds(data) == ["gate", "pivot"]
    gate, pivot = data["steps"]
    assert gate["gate_holds"] is True
    assert pivot["runbook"] == SEED_SLUG
    assert pivot["target"] == "cs-fundamentals/debugging-systems"
    assert_no_errors(page_events)


# --- 4. drill into another runbook and back ------------------------------------------------


def test_triage_drill_into_runbook_and_back_in_one_session(
    page, login, runbooks, artifacts, page_events
):
    login(page)
    session_id = start_triage(page)
    session_url = page.url
    set_marker(page)

    answer_gate_no(page)
    click(answer(page, "None of these"))
    expect(question(page)).to_have_text("No pattern matched")
    drills = panel(page).locator("ul.drills")
    expect(panel(page).get_by_role("heading", name="Drill deeper")).to_be_visible()
    click(drills.locator("button.drill-button", has_text=KUBERNETES_TITLE))

    expect(panel(page).locator("h1")).to_have_text(KUBERNETES_TITLE)
    expect(breadcrumb(page)).to_have_text([FOUNDING_TITLE, KUBERNETES_TITLE])
    expect(breadcrumb(page).last).to_have_attribute("aria-current", "page")
    expect(question(page)).to_have_text("First: is this the right runbook?")
    answer_gate_no(page)  # the Kubernetes runbook's own gate
    expect(panel(page).locator("h1")).to_have_text(KUBERNETES_TITLE)
    expect(pattern_button(page, "CrashLoopBackOff")).not_to_have_count(0)
    page.screenshot(path=artifacts / "triage-drilled.png", full_page=True, caret="initial")

    back = answer(page, re.compile(r"^← Back to "))
    expect(back).to_have_count(1)
    click(back)
    expect(panel(page).locator("h1")).to_have_text(FOUNDING_TITLE)
    expect(breadcrumb(page)).to_have_text([FOUNDING_TITLE])
    expect(answer(page, re.compile(r"^← Back to "))).to_have_count(0)
    # Back where it was: the founding runbook's answers are still in force.
    expect(question(page)).to_have_text("No pattern matched")
    assert_same_document(page)
    expect(page).to_have_url(session_url)

    data = session_json(page, session_id)
    assert data["id"] == session_id
    assert kinds(data) == ["gate", "pattern", "drill", "gate", "return"]
    gate, pattern, drill, inner_gate, back_step = data["steps"]
    assert (gate["runbook"], gate["gate_holds"]) == (SEED_SLUG, False)
    assert (pattern["runbook"], pattern["pattern"]) == (SEED_SLUG, None)
    assert (drill["runbook"], drill["target"]) == (SEED_SLUG, "cloud/kubernetes")
    assert (inner_gate["runbook"], inner_gate["gate_holds"]) == ("cloud/kubernetes", False)
    assert back_step["runbook"] == "cloud/kubernetes"
    assert_no_errors(page_events)


# --- 5. double click -----------------------------------------------------------------------


def test_triage_double_click_records_one_step(page, login, runbooks, page_events):
    login(page)
    session_id = start_triage(page)
    step_posts, done = [], []
    page.on("request", lambda r: r.url.endswith("/step/") and step_posts.append(r))
    page.on("requestfinished", lambda r: r.url.endswith("/step/") and done.append(r))
    page.on("requestfailed", lambda r: r.url.endswith("/step/") and done.append(r))

    click(answer(page, "No, continue here"), double=True)
    expect(question(page)).to_have_text("Which pattern matches what you see?")
    deadline = time.monotonic() + 5
    while len(done) < len(step_posts) and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    # htmx holds back the second click's request while the first is in flight (one POST);
    # a second POST would carry the same step token. Either way: one step.
    assert len(step_posts) in (1, 2) and len(done) == len(step_posts)

    data = session_json(page, session_id)
    assert kinds(data) == ["gate"]
    assert data["steps"][0]["gate_holds"] is False
    expect(step_log(page)).to_have_count(1)
    assert_no_errors(page_events)


# --- 6. without JavaScript -----------------------------------------------------------------


def test_triage_works_without_javascript(new_page, login, runbooks):
    page = new_page(java_script_enabled=False)
    login(page)
    session_id = start_triage(page)
    session_url = page.url

    click(answer(page, "No, continue here"))  # a plain form POST, then a redirect
    expect(page).to_have_url(session_url)
    expect(question(page)).to_have_text("Which pattern matches what you see?")
    expect(pattern_button(page, ENV_PATTERN)).to_be_visible()
    expect(step_log(page)).to_have_count(1)

    data = session_json(page, session_id)
    assert kinds(data) == ["gate"]
    assert data["steps"][0]["gate_holds"] is False


# --- 7. hand-over --------------------------------------------------------------------------


def test_triage_second_engineer_joins_and_adds_note(
    new_page, login, runbooks, second_engineer, page_events
):
    owner = login(new_page())
    session_id = start_triage(owner)
    session_url = owner.url
    answer_gate_no(owner)

    # The relief engineer, in a browser context of their own, opens the same session.
    relief = log_in_as(new_page(), second_engineer)
    relief.goto(session_url)
    expect(panel(relief).locator("h1")).to_have_text(FOUNDING_TITLE)
    expect(panel(relief).locator(".notice")).to_contain_text("Join it to record steps")
    expect(pattern_button(relief, ENV_PATTERN)).to_have_count(0)
    expect(relief.get_by_text("Add a note")).to_have_count(0)
    set_marker(relief)

    click(answer(relief, "Join this session"))
    expect(answer(relief, "Join this session")).to_have_count(0)
    expect(panel(relief).locator(".notice")).to_have_count(0)
    expect(pattern_button(relief, ENV_PATTERN)).to_be_visible()
    note_box = panel(relief).locator("details.note-box")
    click(note_box.locator("summary", has_text="Add a note"))
    note_box.locator("textarea[name=note]").fill("Taking over: deploy config diff looks odd")
    click(note_box.get_by_role("button", name="Save note"))
    expect(step_log(relief)).to_have_count(3)
    expect(step_log(relief).nth(1)).to_contain_text("relief: joined")
    expect(step_log(relief).nth(2)).to_contain_text("relief: note")
    assert_same_document(relief)

    # The owner carries on in their own (older) page; their step stays theirs.
    click(pattern_button(owner, ENV_PATTERN))
    expect(question(owner)).to_have_text(f"Pattern: {ENV_PATTERN}")
    expect(step_log(owner)).to_have_count(4)

    data = session_json(relief, session_id)
    steps = [(step["kind"], step["author"]) for step in data["steps"]]
    assert steps == [
        ("gate", "oncall"),
        ("join", "relief"),
        ("note", "relief"),
        ("pattern", "oncall"),
    ]
    assert data["steps"][2]["note"] == "Taking over: deploy config diff looks odd"
    assert data["owner"] == "oncall"
    assert session_json(owner, session_id) == data  # same view from either browser
    assert_no_errors(page_events)
