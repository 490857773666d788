"""Runbooks as their authors wrote them, in a real browser (issue 13): placeholders, code
and nesting from public collections are shown as written, at desktop and phone widths."""

import pytest
from playwright.sync_api import expect

from tests.conftest import PUBLIC_RUNBOOKS

pytestmark = pytest.mark.browser

TARGET_DOWN = PUBLIC_RUNBOOKS / "openshift" / "cluster-monitoring-operator" / "TargetDown.md"
TARGET_DOWN_URL = "/runbooks/openshift/cluster-monitoring-operator/targetdown/"
PLACEHOLDERS = "scrape_pool=<monitor>/<namespace>/<service-monitor-name>/<endpoint-id>"


@pytest.fixture
def public_runbooks(transactional_db):
    from kb.services import runbooks_import
    from kb.sources import collect_sources

    sources, errors = collect_sources([PUBLIC_RUNBOOKS])
    return runbooks_import(sources=sources, errors=errors)


@pytest.mark.parametrize("width", [1280, 390])
def test_target_down_shows_placeholders_and_multiline_code_as_written(
    new_page, login, public_runbooks, artifacts, width
):
    assert PLACEHOLDERS in TARGET_DOWN.read_text()
    page = new_page(viewport={"width": width, "height": 900})
    login(page)
    page.goto(TARGET_DOWN_URL)
    expect(page.locator("h1")).to_have_text("TargetDown")

    # The fenced block indented under the text keeps every line, placeholders included.
    code = page.locator("main pre code", has_text="Failed to determine correct type").first
    expect(code).to_be_visible()
    text = code.inner_text()
    assert PLACEHOLDERS in text
    assert text.count("\n") >= 8, text
    assert text.startswith("# NAMESPACE='<value of namespace label from alert>'")

    # Nothing of the page is wider than the screen but the code, which scrolls itself.
    body_width = page.evaluate("document.documentElement.scrollWidth")
    assert body_width <= width, f"page is {body_width}px wide at {width}px"
    page.screenshot(path=artifacts / f"targetdown-{width}.png", full_page=True, caret="initial")


def test_runbook_page_placeholders_outside_code_are_text(new_page, login, transactional_db):
    from kb.services import runbook_import

    runbook_import(
        text=(
            "# Pod logs\n\n## Diagnosis\n\n- Read them with kubectl logs <pod> -n <namespace>\n"
            "  - then describe <pod>\n"
        ),
        path="k8s/pod-logs.md",
    )
    page = new_page()
    login(page)
    page.goto("/runbooks/k8s/pod-logs/")
    check = page.locator("#check-read-them-with-kubectl-logs-pod-n-namespace")
    expect(check).to_contain_text("kubectl logs <pod> -n <namespace>")
    expect(check.locator("li")).to_have_text("then describe <pod>")


def test_public_runbook_pages_fit_a_phone(new_page, login, public_runbooks):
    """Long links, commands and tables wrap or scroll in their own box: no page of the
    public collections is wider than a 390 px phone."""
    from kb.models import Runbook

    page = new_page(viewport={"width": 390, "height": 800})
    login(page)
    too_wide = {}
    for slug in Runbook.objects.order_by("slug").values_list("slug", flat=True):
        page.goto(f"/runbooks/{slug}/")
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 390:
            too_wide[slug] = width
    assert too_wide == {}
