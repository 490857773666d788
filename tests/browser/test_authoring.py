"""An editor edits a runbook in Chromium: live preview, save, history with a diff, restore.

Run with ``.venv/bin/pytest tests/browser/test_authoring.py -q``.
"""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PASSWORD
from tests.conftest import SEED_SLUG

pytestmark = pytest.mark.browser

OLD_DETAIL = "app starts but crashes on first use"
NEW_DETAIL = "crashes on the first request after the deploy"


@pytest.fixture
def editor(transactional_db):
    from django.contrib.auth.models import Group, User

    user = User.objects.create_user(username="editor-in-browser", password=PASSWORD)
    user.groups.set([Group.objects.get_or_create(name=n)[0] for n in ("engineer", "editor")])
    return user


@pytest.fixture
def founding(transactional_db, seed_text):
    from kb.services import runbook_import

    return runbook_import(text=seed_text, path=f"{SEED_SLUG}.txt")


def log_in(page, user) -> None:
    page.goto("/accounts/login/")
    page.locator("#id_username").fill(user.username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    expect(page.locator("form #id_password")).to_have_count(0)


def test_edit_with_live_preview_then_history_diff_and_restore(
    page, editor, founding, seed_text, artifacts, page_events
):
    log_in(page, editor)
    page.goto(f"/runbooks/{SEED_SLUG}/")
    page.get_by_role("link", name="Edit", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/runbooks/{SEED_SLUG}/edit/$"))
    editor_box = page.locator("#id_markdown")
    expect(editor_box).to_have_value(seed_text)
    preview = page.locator("#preview")
    causes = preview.locator("ol.preview-causes > li")
    expect(causes).to_have_count(5)
    expect(causes.first).to_contain_text(OLD_DETAIL)
    page.evaluate("window.__marker = 1")

    # Change the first cause's text: the preview follows (htmx, debounced), nothing saved.
    editor_box.fill(seed_text.replace(OLD_DETAIL, NEW_DETAIL))
    expect(causes.first).to_contain_text(NEW_DETAIL)
    expect(causes.first.locator(".badge")).to_have_text("kept")  # same key: same cause
    assert page.evaluate("window.__marker") == 1, "the preview reloaded the page"
    page.screenshot(path=artifacts / "authoring-edit.png", full_page=True, caret="initial")

    # A broken edit shows the line it breaks on; fixing it brings the preview back.
    editor_box.fill("---\ntags: [unclosed\n---\n" + seed_text)
    expect(preview.locator(".parse-error")).to_contain_text("Line 2: front matter")
    editor_box.fill(seed_text.replace(OLD_DETAIL, NEW_DETAIL))
    expect(causes.first).to_contain_text(NEW_DETAIL)

    page.locator("#id_note").fill("INC-42: the crash is on the first request")
    page.get_by_role("button", name="Save revision").click()
    expect(page).to_have_url(re.compile(rf"/runbooks/{SEED_SLUG}/$"))
    expect(page.locator(".messages")).to_contain_text("Saved as revision 2")
    expect(page.locator("#cause-missing-or-changed-environment-variable")).to_contain_text(
        NEW_DETAIL
    )

    # History: two revisions, and the diff of the change.
    page.get_by_role("link", name="History", exact=True).click()
    rows = page.locator("table.revisions tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("INC-42: the crash is on the first request")
    expect(rows.first).to_contain_text("editor-in-browser")
    diff = page.locator("#revision-diff")
    expect(diff.locator("h2")).to_have_text("Revision 1 → 2")
    expect(diff.locator("tr.diff-del")).to_contain_text(OLD_DETAIL)
    expect(diff.locator("tr.diff-add")).to_contain_text(NEW_DETAIL)

    # Choosing two revisions re-renders the diff in place.
    page.evaluate("window.__marker = 2")
    page.get_by_label("compare to revision 1").check()
    expect(diff.locator(".empty")).to_have_text("No differences.")
    page.get_by_label("compare to revision 2").check()
    expect(diff.locator("tr.diff-add")).to_contain_text(NEW_DETAIL)
    assert page.evaluate("window.__marker") == 2
    page.screenshot(path=artifacts / "authoring-history.png", full_page=True, caret="initial")

    # Restoring the first revision makes a third with the first one's text.
    page.get_by_role("button", name="Restore r1").click()
    expect(page.locator(".messages")).to_contain_text("Restored revision 1 as revision 3")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("Restored revision 1")
    expect(diff.locator("h2")).to_have_text("Revision 2 → 3")
    expect(diff.locator("tr.diff-add")).to_contain_text(OLD_DETAIL)
    page.goto(f"/runbooks/{SEED_SLUG}/")
    expect(page.locator("#cause-missing-or-changed-environment-variable")).to_contain_text(
        OLD_DETAIL
    )

    assert page_events.page_errors == []
    assert page_events.console_errors == []
    assert page_events.dialogs == []


def test_index_filters_by_tag_and_category_while_filtering_as_you_type(page, editor, page_events):
    from kb.services import runbook_import

    runbook_import(
        text="---\ntags: [deploy, http]\n---\n# Checkout slow\n", path="shop/checkout.md"
    )
    runbook_import(text="---\ntags: [deploy]\n---\n# Pods restart\n", path="cloud/pods.md")
    runbook_import(text="---\ntags: [db]\n---\n# Replica lag\n", path="shop/lag.md")
    log_in(page, editor)
    page.goto("/runbooks/")
    page.evaluate("window.__marker = 1")
    titles = page.locator("#runbook-index .runbook-title")
    expect(titles).to_have_count(3)

    page.get_by_label("Tag", exact=True).select_option("deploy")
    expect(titles).to_have_text(["Pods restart", "Checkout slow"])
    expect(page).to_have_url(re.compile(r"tag=deploy"))

    page.get_by_label("Filter", exact=True).press_sequentially("checkout")
    expect(titles).to_have_text(["Checkout slow"])
    expect(page).to_have_url(re.compile(r"q=checkout"))
    expect(page).to_have_url(re.compile(r"tag=deploy"))

    page.get_by_label("Category", exact=True).select_option("cloud")
    expect(titles).to_have_count(0)
    expect(page.locator("#runbook-index")).to_contain_text("No runbook matches")
    assert page.evaluate("window.__marker") == 1  # all in place, no page loads

    page.goto("/runbooks/?tag=db&category=shop")  # and as a plain link
    expect(titles).to_have_text(["Replica lag"])
    expect(page.get_by_label("Tag", exact=True)).to_have_value("db")
    assert page_events.page_errors == [] and page_events.console_errors == []
