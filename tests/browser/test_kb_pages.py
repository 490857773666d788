"""The browse pages in a real browser (issue 3, DESIGN.md §5 and §8).

Run with ``.venv/bin/pytest tests/browser -q``. Screenshots land in ``test-artifacts/``.
"""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PASSWORD
from tests.browser.hostile import HOSTILE_RUNBOOK
from tests.conftest import SAMPLES_DIR, SEED_PATH, SEED_SLUG

pytestmark = pytest.mark.browser

FOUNDING_TITLE = "Debug: High Error Rate After Deploy"
KUBERNETES_TITLE = "Debug: Pods Crash-Looping or Failing to Start on Kubernetes"
BLUE_GREEN_TITLE = "Debug: Split Behaviour During a Blue-Green or Rolling Deploy"
OPEN = re.compile(r"(^|\s)open(\s|$)")
# Only in one First Checks line of cloud/kubernetes ("kubectl get events
# --sort-by=.lastTimestamp"); test_search_* re-checks that against the files.
CHECK_ONLY_WORD = "lastTimestamp"


# --- helpers -----------------------------------------------------------------------------


def full_url(page: Page, path: str) -> re.Pattern:
    """The page's URL is exactly ``path`` on the live server (query string included)."""
    origin = re.match(r"^https?://[^/]+", page.url).group(0)
    return re.compile("^" + re.escape(origin + path) + "$")


def _page(scope) -> Page:
    return scope if isinstance(scope, Page) else scope.page


def tree_node(scope, kind: str, label: str):
    """The tree node (<li>) of ``kind`` whose own toggle link has ``label`` in it."""
    return scope.locator(f"li.node-{kind}").filter(
        has=_page(scope).locator("xpath=./a[contains(@class, 'toggle')]", has_text=label)
    )


def own_toggle(node):
    return node.locator("xpath=./a[contains(@class, 'toggle')]")


def drill_to(scope, slug: str):
    """The drill-path node (<li>) of ``scope``'s tree that points at ``slug``."""
    own_target = (
        "xpath=./code[contains(@class, 'slug')]"
        " | ./span[contains(@class, 'on-path')] | ./span[contains(@class, 'missing-link')]"
    )
    return scope.locator("li.node-drill").filter(
        has=_page(scope).locator(own_target, has_text=slug)
    )


def expand(node) -> None:
    own_toggle(node).click()
    expect(node).to_have_class(OPEN)
    expect(own_toggle(node)).to_have_attribute("aria-expanded", "true")


def set_marker(page: Page) -> None:
    """Mark this document: the marker survives htmx swaps and disappears on a page load."""
    page.evaluate("window.__marker = 1")


def assert_same_document(page: Page) -> None:
    assert page.evaluate("window.__marker") == 1, "a full page load happened"


def assert_no_errors(page_events) -> None:
    assert page_events.page_errors == []
    assert page_events.console_errors == []
    assert page_events.dialogs == []


# --- 1. the journey ------------------------------------------------------------------------


def test_runbook_page_walk_tree_into_drill_path_and_back(
    page, login, runbooks, artifacts, page_events
):
    login(page)

    # The founding runbook's page.
    page.goto(f"/runbooks/{SEED_SLUG}/")
    expect(page.locator("h1")).to_have_text(FOUNDING_TITLE)
    expect(page).to_have_title(re.compile(re.escape(FOUNDING_TITLE)))
    quick = page.get_by_role("region", name="Quick diagnosis")
    expect(quick.locator("tbody tr")).to_have_count(5)
    expect(quick.locator("tbody tr").first).to_contain_text("Errors on all endpoints immediately")
    causes = page.get_by_role("region", name=re.compile("^Likely causes"))
    expect(causes.locator("ol > li")).to_have_count(5)
    expect(causes.locator("ol > li").first).to_contain_text(
        "Missing or changed environment variable"
    )
    drills = page.get_by_role("region", name="Drill paths")
    expect(drills.locator("tbody tr")).to_have_count(5)
    expect(drills.get_by_role("link", name=KUBERNETES_TITLE)).to_have_attribute(
        "href", "/runbooks/cloud/kubernetes/"
    )
    page.screenshot(path=artifacts / "runbook.png", full_page=True, caret="initial")

    # Into its decision tree.
    page.get_by_role("link", name="Decision tree").click()
    tree_url = full_url(page, f"/tree/{SEED_SLUG}/")
    expect(page).to_have_url(tree_url)
    expect(page.locator("h1")).to_contain_text(FOUNDING_TITLE)
    set_marker(page)

    # A pattern expands in place (htmx), without a page load.
    pattern = tree_node(page, "pattern", "Errors on all endpoints immediately")
    expect(pattern).to_have_count(1)
    expand(pattern)
    expect(page).to_have_url(tree_url)
    assert_same_document(page)

    # A cause under it expands and shows what to check (its checks, or the note saying
    # none is linked yet) and its fixes.
    cause = pattern.locator("li.node-cause").first
    expect(cause).to_contain_text("Missing or changed environment variable")
    expand(cause)
    expect(cause.locator("li.node-check, li.node-note").first).to_be_visible()
    expect(cause.locator("li.node-fix").first).to_be_visible()
    assert_same_document(page)

    # A cause whose checks are linked lists them, with their expected minutes.
    other = tree_node(page, "pattern", "Errors on specific endpoints only")
    expand(other)
    other_cause = other.locator("li.node-cause").first
    expand(other_cause)
    check = other_cause.locator("li.node-check").first
    expect(check).to_be_visible()
    expect(check.locator(".minutes")).to_have_text(re.compile(r"\d+ min"))
    assert_same_document(page)

    # A drill path loads the other runbook's tree lazily, inline.
    drill = drill_to(pattern, "cloud/kubernetes").first
    subtree = drill.locator(".subtree").first  # (nested trees have their own)
    expect(subtree).to_be_empty()
    drill.locator("a.drill-link").click()
    nested_patterns = subtree.locator("li.node-pattern")
    expect(nested_patterns).to_have_count(6)
    expect(
        tree_node(subtree, "pattern", "CrashLoopBackOff with exit code 1 within seconds")
    ).to_be_visible()
    expect(tree_node(subtree, "pattern", "Last State OOMKilled with exit code 137")).to_be_visible()
    assert_same_document(page)
    expect(page).to_have_url(tree_url)

    # The nested tree's own branches expand in place too (their DOM ids do not clash).
    nested = tree_node(subtree, "pattern", "CreateContainerConfigError")
    expand(nested)
    expect(nested.locator("li.node-cause").first).to_be_visible()
    expect(pattern).to_have_class(OPEN)  # the outer branch is still open
    assert_same_document(page)
    page.screenshot(path=artifacts / "tree-expanded.png", full_page=True, caret="initial")

    # "Into" the drilled runbook as its own page, then "back" by the breadcrumb.
    subtree.locator(".subtree-head a").click()
    expect(page).to_have_url(re.compile(r"/tree/cloud/kubernetes/\?trail=" + SEED_SLUG + "$"))
    expect(page.locator("h1")).to_contain_text(KUBERNETES_TITLE)
    assert page.evaluate("window.__marker") is None  # a real page load this time
    breadcrumb = page.locator("nav.breadcrumb")
    expect(breadcrumb).to_contain_text(FOUNDING_TITLE)
    breadcrumb.get_by_role("link", name=FOUNDING_TITLE).click()
    expect(page).to_have_url(re.compile(rf"/tree/{SEED_SLUG}/(\?.*)?$"))
    expect(page.locator("h1")).to_contain_text(FOUNDING_TITLE)
    expect(tree_node(page, "pattern", "Errors on all endpoints immediately")).to_be_visible()
    page.screenshot(path=artifacts / "tree.png", full_page=True, caret="initial")

    assert_no_errors(page_events)


# --- 2. the tree without JavaScript --------------------------------------------------------


def test_tree_works_without_javascript(new_page, login, runbooks):
    page = new_page(java_script_enabled=False)
    login(page)
    page.goto(f"/tree/{SEED_SLUG}/")

    pattern = tree_node(page, "pattern", "Errors on all endpoints immediately")
    expect(pattern).not_to_have_class(OPEN)
    expect(pattern.locator("li.node-cause")).to_have_count(0)
    toggle = own_toggle(pattern)
    expect(toggle).to_have_attribute("href", re.compile(r"\?open=p-"))

    toggle.click()  # a plain link: the whole page reloads with that branch open
    expect(page).to_have_url(re.compile(rf"/tree/{SEED_SLUG}/\?open=p-"))
    expect(pattern).to_have_class(OPEN)
    cause = pattern.locator("li.node-cause").first
    expect(cause).to_be_visible()

    own_toggle(cause).click()
    expect(page).to_have_url(re.compile(r"\?open=p-[^&]*%2Fc-|\?open=p-[^&]*/c-"))
    expect(cause).to_have_class(OPEN)
    expect(pattern).to_have_class(OPEN)  # the path down to the cause stays open
    expect(cause.locator("li.node-check, li.node-note").first).to_be_visible()

    # A drill path is a plain link to the target's tree, keeping the trail.
    drill_to(pattern, "cloud/kubernetes").first.locator("a.drill-link").click()
    expect(page).to_have_url(re.compile(rf"/tree/cloud/kubernetes/\?trail={SEED_SLUG}$"))
    expect(page.locator("h1")).to_contain_text(KUBERNETES_TITLE)
    expect(page.locator("nav.breadcrumb")).to_contain_text(FOUNDING_TITLE)


# --- 3. a drill-path cycle terminates ------------------------------------------------------


def test_tree_marks_runbook_on_path_in_cycle(page, login, runbooks, page_events):
    login(page)

    # B drilled from A, by URL: B's drill back to A is marked, not a link.
    page.goto("/tree/cloud/blue-green-deployment/?trail=cloud/kubernetes")
    expect(page.locator("h1")).to_contain_text(BLUE_GREEN_TITLE)
    expect(page.locator("nav.breadcrumb")).to_contain_text(KUBERNETES_TITLE)
    pattern = page.locator("li.node-pattern").first
    expand(pattern)
    back = drill_to(pattern, "cloud/kubernetes")
    expect(back).to_have_count(1)
    expect(back.locator(".on-path")).to_contain_text("on this path")
    expect(back.locator("a")).to_have_count(0)
    expect(back.locator(".subtree")).to_have_count(0)
    # Other drills are still followable.
    expect(
        drill_to(pattern, "cs-fundamentals/database-design").locator("a.drill-link")
    ).to_be_visible()

    # The same cycle walked inline: A's tree, drill into B, and B's drill back to A.
    page.goto("/tree/cloud/kubernetes/")
    set_marker(page)
    outer = tree_node(page, "pattern", "CrashLoopBackOff with exit code 1")
    expand(outer)
    drill = drill_to(outer, "cloud/blue-green-deployment").first
    drill.locator("a.drill-link").click()
    subtree = drill.locator(".subtree").first  # (nested trees have their own)
    inner = subtree.locator("li.node-pattern").first
    expect(inner).to_be_visible()
    expand(inner)
    loop = drill_to(inner, "cloud/kubernetes")
    expect(loop).to_have_count(1)
    expect(loop.locator(".on-path")).to_contain_text("on this path")
    expect(loop.locator("a")).to_have_count(0)
    assert_same_document(page)
    assert_no_errors(page_events)


# --- 4. search as you type -----------------------------------------------------------------


def _only_in_one_check(word: str) -> str:
    """The slug-ish path of the one runbook file whose First Checks mention ``word``."""
    headings = (
        "Quick Diagnosis",
        "Likely Causes",
        "First Checks",
        "Drill Paths",
        "Fix Patterns",
        "When This Is Not",
        "Connections",
        "Open Questions",
        "Related reading",
        "Signal example",
    )
    found = []
    for path in [*sorted(SAMPLES_DIR.rglob("*.txt")), SEED_PATH]:
        lines = path.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            if word.lower() in line.lower():
                section = next(
                    (h for h in (lines[j] for j in range(i, -1, -1)) if h.startswith(headings)),
                    "",
                )
                found.append((path, section))
    assert len(found) == 1, f"{word!r} should appear exactly once in the runbooks: {found}"
    path, section = found[0]
    assert section.startswith("First Checks"), (path, section)
    return path.relative_to(SAMPLES_DIR).with_suffix("").as_posix()


def test_search_finds_word_from_a_check_as_you_type(page, login, runbooks, artifacts, page_events):
    slug = _only_in_one_check(CHECK_ONLY_WORD)
    assert slug == "cloud/kubernetes"
    login(page)
    page.goto("/search/")
    set_marker(page)

    box = page.get_by_role("searchbox", name="Search", exact=True)
    box.press_sequentially(CHECK_ONLY_WORD)  # typed; never submitted
    results = page.locator("#search-results li.result")
    # Ranked, not filtered: the one runbook holding the word comes first; others that
    # share a piece of it ("last", "timestamp") follow.
    expect(results.first.locator("a.runbook-title")).to_have_text(KUBERNETES_TITLE)
    result = results.first
    expect(result.locator("a").first).to_have_text(KUBERNETES_TITLE)
    hit = result.locator(".hit").filter(has=page.locator("mark"))
    expect(hit).to_have_count(1)
    expect(hit.locator(".section-name")).to_have_text("first check")
    expect(hit.locator("mark")).to_have_text(re.compile(f"^{CHECK_ONLY_WORD}$", re.I))
    expect(hit).to_contain_text("kubectl get events")
    assert_same_document(page)
    page.screenshot(path=artifacts / "search.png", full_page=True, caret="initial")

    result.get_by_role("link", name=KUBERNETES_TITLE).click()
    expect(page).to_have_url(full_url(page, f"/runbooks/{slug}/"))
    expect(page.locator("h1")).to_have_text(KUBERNETES_TITLE)
    expect(page.get_by_text(CHECK_ONLY_WORD).first).to_be_visible()
    assert_no_errors(page_events)


# --- 5. connections ------------------------------------------------------------------------


def test_runbook_page_follows_connection_and_marks_missing(page, login, runbooks, page_events):
    login(page)
    page.goto(f"/runbooks/{SEED_SLUG}/")
    connections = page.get_by_role("region", name="Connections")
    expect(connections.locator("li")).to_have_count(6)
    connections.get_by_role("link", name=KUBERNETES_TITLE).click()
    expect(page).to_have_url(full_url(page, "/runbooks/cloud/kubernetes/"))
    expect(page.locator("h1")).to_have_text(KUBERNETES_TITLE)
    # ...and the way back: the founding runbook is listed under "Linked from".
    expect(
        page.get_by_role("region", name="Linked from").get_by_role("link", name=FOUNDING_TITLE)
    ).to_be_visible()

    # cs-fundamentals/database-design links to storage/disk-full, which does not exist.
    page.goto("/runbooks/cs-fundamentals/database-design/")
    connections = page.get_by_role("region", name="Connections")
    missing = connections.locator("li").filter(has_text="storage/disk-full")
    expect(missing).to_have_count(1)
    expect(missing.locator(".badge")).to_have_text("missing")
    expect(missing.locator("a")).to_have_count(0)
    expect(page.locator('a[href*="disk-full"]')).to_have_count(0)
    # Its existing connections are real links.
    expect(connections.get_by_role("link", name=FOUNDING_TITLE)).to_have_attribute(
        "href", f"/runbooks/{SEED_SLUG}/"
    )
    assert_no_errors(page_events)


# --- 6. hostile text -----------------------------------------------------------------------

# Event handlers (on*, htmx's hx-on*) carrying a payload, and URLs with a script scheme.
# (Keys derived from hostile text, like "#cause-...-onerrorwindow__pwned1alert...", are fine.)
DANGEROUS_ATTRIBUTES = """() => {
  const bad = [];
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) {
      const handler = /^(on|hx-on)/i.test(a.name) && /__pwned|alert\\(/i.test(a.value);
      const url = /^(href|xlink:href|src|srcdoc|action|formaction|data|poster)$/i.test(a.name)
        && /^\\s*(javascript|vbscript|data):/i.test(a.value);
      if (handler || url) bad.push(`<${el.tagName.toLowerCase()} ${a.name}="${a.value}">`);
    }
  }
  return bad;
}"""


SETTLE = """() => Promise.all([...document.images].map(img => img.complete ? null :
  new Promise(done => { img.addEventListener('load', done); img.addEventListener('error', done); })
)).then(() => new Promise(done => requestAnimationFrame(() => setTimeout(done, 50))))"""


def assert_inert(page: Page, page_events, where: str) -> None:
    page.evaluate(SETTLE)  # let broken images fire (or not fire) their onerror
    assert page_events.dialogs == [], f"{where}: a dialog opened: {page_events.dialogs}"
    assert page.evaluate("window.__pwned") is None, f"{where}: a payload ran"
    assert page_events.page_errors == [], f"{where}: {page_events.page_errors}"
    expect(page.locator('a[href^="javascript:" i]')).to_have_count(0)
    expect(page.locator('[src^="javascript:" i], [action^="javascript:" i]')).to_have_count(0)
    expect(page.locator("main script, main iframe, main object, main embed")).to_have_count(0)
    assert page.evaluate(DANGEROUS_ATTRIBUTES) == [], where


def test_runbook_hostile_text_runs_no_script(page, login, runbooks, artifacts, page_events):
    from kb.services import runbook_import

    runbook = runbook_import(text=HOSTILE_RUNBOOK, path="evil/xss.md")
    assert runbook.slug == "evil/xss"
    login(page)

    # The runbook page: every section, shown as text.
    page.goto("/runbooks/evil/xss/")
    expect(page.locator("h1")).to_contain_text("Zorblax")
    expect(page.locator("h1")).to_contain_text("{{ request.user }}")  # never evaluated
    expect(page.locator("main")).to_contain_text("{% now 'Y' %}")
    for tag in ("summary", "symptom", "signal", "causedetail", "checkdetail", "fix",
                "condition", "nti1", "question", "extra", "pattern", "diagnosis",
                "suspect", "pivot", "reading", "cause2", "check2", "fix2"):  # fmt: skip
        expect(page.locator("main")).to_contain_text(f"zorblax{tag}")
    assert_inert(page, page_events, "runbook page")
    page.screenshot(path=artifacts / "hostile-runbook.png", full_page=True, caret="initial")

    # The tree: gate, a pattern, a cause, and a drill path loaded inline.
    page.goto("/tree/evil/xss/")
    expect(page.locator("h1")).to_contain_text("Zorblax")
    assert_inert(page, page_events, "tree")
    gate = page.locator("li.node-gate")
    expand(gate)
    expect(gate).to_contain_text("zorblaxnti1")
    pattern = page.locator("li.node-pattern").first
    expand(pattern)
    cause = pattern.locator("li.node-cause").first
    expand(cause)
    expect(cause).to_contain_text("zorblaxcausedetail")
    expect(cause.locator("li.node-check").first).to_contain_text("zorblaxcheckdetail")
    drill = drill_to(pattern, "cloud/kubernetes").first
    expect(drill).to_contain_text("zorblaxsuspect")
    drill.locator("a.drill-link").click()
    expect(drill.locator(".subtree li.node-pattern").first).to_be_visible()
    assert_inert(page, page_events, "tree after expanding")
    page.screenshot(path=artifacts / "hostile-tree.png", full_page=True, caret="initial")

    # Search results for a word in every section.
    page.goto("/search/")
    page.get_by_role("searchbox", name="Search", exact=True).press_sequentially("zorblax")
    result = page.locator("#search-results li.result")
    expect(result).to_have_count(1)
    expect(result.locator("mark").first).to_have_text(re.compile("^zorblax$", re.I))
    assert_inert(page, page_events, "search results (htmx)")
    page.goto("/search/?q=zorblax+script")
    expect(page.locator("#search-results li.result")).to_have_count(1)
    assert_inert(page, page_events, "search results (page)")

    # The other pages that show its title.
    for path in ("/", "/runbooks/", "/runbooks/graph/"):
        page.goto(path)
        expect(page.locator("main")).to_contain_text("Zorblax")
        assert_inert(page, page_events, path)


# --- 7. the link graph ---------------------------------------------------------------------


def test_graph_draws_svg_with_node_links(page, login, runbooks, artifacts, page_events):
    from kb.models import Runbook

    login(page)
    page.goto("/runbooks/graph/")
    svg = page.locator("main svg").first
    expect(svg).to_be_visible()
    node_links = svg.locator('a[href^="/runbooks/"]')
    expect(node_links).to_have_count(Runbook.objects.count())
    expect(svg.locator(f'a[href="/runbooks/{SEED_SLUG}/"]')).to_have_count(1)
    # A missing target is drawn, but not as a link.
    expect(svg).to_contain_text("disk-full")
    expect(svg.locator('a[href*="disk-full"]')).to_have_count(0)
    page.screenshot(path=artifacts / "graph.png", full_page=True, caret="initial")

    svg.locator('a[href="/runbooks/cloud/kubernetes/"]').click()
    expect(page).to_have_url(full_url(page, "/runbooks/cloud/kubernetes/"))
    expect(page.locator("h1")).to_have_text(KUBERNETES_TITLE)
    assert_no_errors(page_events)


# --- 8. logins -----------------------------------------------------------------------------


def test_runbook_index_sends_anonymous_to_login(page, browser_user, runbooks):
    for path in ("/runbooks/", "/", f"/runbooks/{SEED_SLUG}/", f"/tree/{SEED_SLUG}/",
                 "/search/?q=deploy", "/runbooks/graph/"):  # fmt: skip
        page.goto(path)
        expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))
        expect(page.locator("#id_username")).to_be_visible()

    page.goto("/runbooks/")
    expect(page).to_have_url(full_url(page, "/accounts/login/?next=/runbooks/"))
    # Logging in from there lands on the page that was asked for.
    page.locator("#id_username").fill(browser_user.username)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(full_url(page, "/runbooks/"))
    expect(page.locator("h1")).to_have_text("Runbooks")
