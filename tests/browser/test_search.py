"""Search in Chromium as an engineer meets it: the header box's suggestions by keyboard,
the results page at desktop and phone widths, and the same search without JavaScript."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_kb_pages import assert_no_errors, assert_same_document, set_marker

pytestmark = pytest.mark.browser

KUBERNETES_TITLE = "Debug: Pods Crash-Looping or Failing to Start on Kubernetes"


@pytest.fixture
def corpus(runbooks, default_synonyms):
    return runbooks


def test_header_suggestions_by_keyboard(page, login, corpus, artifacts, page_events):
    login(page)
    page.goto("/runbooks/")  # the home page's own search box has the focus already
    set_marker(page)
    page.keyboard.press("/")  # the shortcut the box's placeholder promises
    box = page.locator("#top-q")
    expect(box).to_be_focused()
    box.press_sequentially("crashloo")  # unfinished: matched as a prefix
    options = page.locator("#top-suggestions [role=option] a")
    expect(options.first).to_have_text(re.compile("Crash-Looping"))
    expect(options.last).to_have_text(re.compile("All results for"))
    panel = page.locator("#top-suggestions").bounding_box()
    assert panel["x"] >= 0 and panel["x"] + panel["width"] <= page.viewport_size["width"]
    page.screenshot(path=artifacts / "search-suggestions.png", caret="initial")
    box.press("ArrowDown")
    expect(options.first).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(box).to_be_focused()
    box.press("ArrowDown")
    assert_same_document(page)
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text(KUBERNETES_TITLE)
    assert_no_errors(page_events)


def test_header_escape_closes_suggestions(page, login, corpus, page_events):
    login(page)
    box = page.locator("#top-q")
    box.click()
    box.press_sequentially("dns")
    expect(page.locator("#top-suggestions [role=option]").first).to_be_visible()
    box.press("Escape")
    expect(page.locator("#top-suggestions [role=option]")).to_have_count(0)
    box.press("Enter")  # the box is still a plain search form
    expect(page.locator("#search-results li.result").first).to_be_visible()
    assert_no_errors(page_events)


@pytest.mark.parametrize("width", [1280, 390])
def test_results_page_fits_and_shows_what_matched(
    new_page, login, corpus, artifacts, page_events, width
):
    page = new_page(viewport={"width": width, "height": 900})
    login(page)
    page.goto("/search/?q=pods+restarting+after+the+relase")
    expect(page.locator(".correction")).to_contain_text(
        "Showing results for pods restarting after the release"
    )
    first = page.locator("#search-results li.result").first
    expect(first.locator("a.runbook-title")).to_have_text(KUBERNETES_TITLE)
    expect(first.locator(".section-name")).to_be_visible()
    expect(first.locator("mark").first).to_be_visible()
    expect(page.locator(".facets")).to_contain_text("cloud")
    overflow = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"page is {overflow} px wider than the {width} px window"
    page.screenshot(path=artifacts / f"search-{width}.png", full_page=True, caret="initial")
    page.locator(".facets a", has_text="cloud").first.click()
    expect(page.locator("#search-results")).to_contain_text("in cloud")
    assert_no_errors(page_events)


def test_search_works_without_javascript(new_page, login, corpus, page_events):
    page = new_page(java_script_enabled=False)
    login(page)
    page.locator("#top-q").fill("certifcate expired")
    page.locator("#top-q").press("Enter")
    expect(page).to_have_url(re.compile(r"/search/\?q=certifcate\+expired$"))
    expect(page.locator(".correction")).to_contain_text("certificate expired")
    expect(page.locator("#search-results li.result").first).to_be_visible()
    page.locator("#search-results .result a.runbook-title").first.click()
    expect(page.locator("h1")).to_be_visible()


def test_typing_new_words_keeps_filters_updates_title_and_back_shows_the_page(
    page, login, corpus, page_events
):
    login(page)
    page.goto("/search/?q=pods&category=cloud")
    box = page.locator("#search-q")
    box.fill("pods restarting")  # live search (htmx), URL pushed
    expect(page).to_have_url(re.compile(r"q=pods(%20|\+)restarting&category=cloud$"))
    expect(page).to_have_title("pods restarting · Search · Fieldguide")
    page.locator("#search-results .result a.runbook-title").first.click()
    expect(page.locator("h1")).to_be_visible()
    page.go_back()  # the pushed URL: the full page, not the fragment htmx fetched for it
    expect(page.locator("h1")).to_have_text("Search runbooks")
    expect(page.locator("#top-q")).to_be_visible()
    assert_no_errors(page_events)
