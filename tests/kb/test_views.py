"""Browse pages: full pages and their htmx partials."""

import json

import pytest
from django.contrib.auth.models import Group
from django.db.utils import OperationalError

from kb.models import RunbookVisit
from kb.services import runbook_import
from tests.conftest import SEED_SLUG

pytestmark = pytest.mark.django_db

FOUNDING = f"/runbooks/{SEED_SLUG}/"
HTMX = {"HTTP_HX_REQUEST": "true"}

HOSTILE = """# Debug: <script>alert('title')</script> {{ request.user }}

<img src=x onerror="alert('summary')"> [click](javascript:alert('link')) {% now "Y" %}

## Likely Causes

- <script>alert('cause')</script> — <a href="javascript:alert(1)">x</a>
"""


def htmx(target: str) -> dict:
    return {**HTMX, "HTTP_HX_TARGET": target}


def test_home_requires_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_home_lists_runbooks_by_category_and_recent_ones(engineer_client, samples):
    engineer_client.get(FOUNDING)
    html = engineer_client.get("/").content.decode()
    assert "Debug: High Error Rate After Deploy" in html
    assert "Recently viewed" in html
    assert 'name="q"' in html  # search box
    assert "cloud" in html and "observability" in html


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


def test_runbook_index_groups_by_category_with_missing_counts(engineer_client, samples):
    html = engineer_client.get("/runbooks/").content.decode()
    assert "<h1>Runbooks</h1>" in html
    assert 'id="runbook-index"' in html
    # storage/replication-lag's category links nowhere missing; cloud links to
    # networking/load-balancer-health-checks (blue-green) which does not exist.
    assert "1 missing" in html


def test_runbook_index_filter_partial_for_htmx(engineer_client, samples):
    response = engineer_client.get("/runbooks/", {"q": "kubernetes"}, **htmx("runbook-index"))
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="runbook-index">')
    assert "<html" not in html
    assert "Pods Crash-Looping" in html
    assert "Replica Lag" not in html


def test_runbook_index_filter_without_match_says_so(engineer_client, samples):
    assert "No runbook matches" in engineer_client.get("/runbooks/?q=zzzz").content.decode()


def test_runbook_detail_shows_every_section(engineer_client, samples):
    response = engineer_client.get(FOUNDING)
    html = response.content.decode()
    assert response.status_code == 200
    for text in [
        "Debug: High Error Rate After Deploy",
        "Symptom",
        "PAYMENT_SERVICE_URL",  # signal example
        "Errors start minutes after deploy",  # quick diagnosis
        'id="cause-missing-or-changed-environment-variable"',
        'type="checkbox"',  # first checks as a checklist
        "Drill paths",
        "Add a smoke test to the deploy pipeline",
        "If errors appeared before the deploy",
        "Check whether a certificate or token expired coincidentally",
        "What evidence would cause you to revise",
        "Linked from",
        "revision 1",
        f"/runbooks/{SEED_SLUG}.md",
        f"/runbooks/{SEED_SLUG}.json",
        f"/tree/{SEED_SLUG}/",
    ]:
        assert text in html, text
    # drill paths and connections lead to the sample runbooks
    assert 'href="/runbooks/cloud/kubernetes/"' in html
    assert 'href="/runbooks/cs-fundamentals/debugging-systems/"' in html
    assert RunbookVisit.objects.filter(runbook__slug=SEED_SLUG).exists()


def test_runbook_detail_lists_backlinks(engineer_client, samples):
    html = engineer_client.get(FOUNDING).content.decode()
    section = html[html.index("Linked from") :]
    assert "Debug: Queries Failing or Slow After a Schema Migration" in section


def test_runbook_detail_shows_missing_targets_as_missing(engineer_client, samples):
    html = engineer_client.get("/runbooks/cs-fundamentals/database-design/").content.decode()
    assert "storage/disk-full" in html
    assert 'href="/runbooks/storage/disk-full/"' not in html
    assert "missing" in html


def test_runbook_detail_of_unknown_slug_is_404_with_explanation(engineer_client):
    response = engineer_client.get("/runbooks/storage/disk-full/")
    assert response.status_code == 404
    assert b"No runbook" in response.content


def test_runbook_exports_markdown_and_json(engineer_client, samples):
    md = engineer_client.get(f"/runbooks/{SEED_SLUG}.md")
    assert md["Content-Type"].startswith("text/markdown")
    assert md.content.decode().startswith("---\nslug: 000_131d5d6a3ce7968b\n---\n\n# Debug:")
    data = json.loads(engineer_client.get(f"/runbooks/{SEED_SLUG}.json").content)
    assert data["slug"] == SEED_SLUG
    assert len(data["causes"]) == 5
    assert engineer_client.get("/runbooks/nope.json").status_code == 404


def test_tree_page_shows_gate_patterns_and_none(engineer_client, samples):
    html = engineer_client.get(f"/tree/{SEED_SLUG}/").content.decode()
    assert "Decision tree: Debug: High Error Rate After Deploy" in html
    assert "If errors appeared before the deploy" in html
    assert "Errors on all endpoints immediately" in html
    assert "None of these patterns match" in html
    # collapsed: causes are not rendered until their pattern is opened
    assert "Missing or changed environment variable" not in html
    assert f'href="/tree/{SEED_SLUG}/?open=p-errors-on-all-endpoints-immediately"' in html


def test_tree_page_with_open_node_expands_its_path(engineer_client, samples):
    node = "p-errors-on-all-endpoints-immediately/c-missing-or-changed-environment-variable"
    html = engineer_client.get(f"/tree/{SEED_SLUG}/", {"open": node}).content.decode()
    assert "Missing or changed environment variable" in html
    assert 'aria-current="location"' in html  # breadcrumb names the open node
    assert "Check error logs immediately" in html  # a general check: linked to no cause


def test_tree_node_partial_for_htmx(engineer_client, samples):
    node = "p-errors-on-all-endpoints-immediately"
    response = engineer_client.get(f"/tree/{SEED_SLUG}/", {"open": node}, **htmx("tpage-x"))
    html = response.content.decode().strip()
    assert html.startswith("<li id=")
    assert "<html" not in html
    assert "Missing or changed environment variable" in html
    assert 'class="drill-link"' in html


def test_tree_subtree_partial_loads_a_drill_target_lazily(engineer_client, samples):
    response = engineer_client.get(
        "/tree/cloud/kubernetes/",
        {"trail": SEED_SLUG, "via": "sub-tx-p-a--d-1"},
        **htmx("sub-tx-p-a--d-1"),
    )
    html = response.content.decode().strip()
    assert html.startswith('<div class="tree-wrap">')
    assert "CrashLoopBackOff with exit code 1 within seconds" in html


def test_tree_drill_cycle_renders_finite_tree(engineer_client, samples):
    # kubernetes → blue-green → kubernetes: the second hop is marked, not followed
    url = "/tree/cloud/blue-green-deployment/"
    root = engineer_client.get(url, {"trail": "cloud/kubernetes"}).content.decode()
    pattern = root.split('data-node="p-')[1].split('"')[0]
    html = engineer_client.get(
        url, {"trail": "cloud/kubernetes", "open": f"p-{pattern}"}
    ).content.decode()
    assert "on this path" in html
    assert 'href="/tree/cloud/kubernetes/?trail=' not in html
    assert 'href="/tree/cloud/kubernetes/"' in html  # breadcrumb back up


def test_search_finds_check_text_and_names_section(engineer_client, samples):
    response = engineer_client.get("/search/", {"q": "rollout history"})
    html = response.content.decode()
    assert "Pods Crash-Looping" in html
    assert "first check" in html
    assert "<mark>rollout</mark> <mark>history</mark>" in html


def test_search_ranks_title_and_symptom_hits_first(engineer_client, samples):
    html = engineer_client.get("/search/", {"q": "DNS"}).content.decode()
    first = html.index('class="result"')
    assert "Intermittent DNS Resolution Failures" in html[first : first + 400]


def test_search_results_partial_for_htmx(engineer_client, samples):
    response = engineer_client.get("/search/", {"q": "deploy"}, **htmx("search-results"))
    html = response.content.decode().strip()
    # The title first: htmx takes it only from the top level of the response.
    assert html.startswith('<title>deploy · Search · Fieldguide</title>\n<div id="search-results"')
    assert "<html" not in html


def test_search_empty_and_no_match_states(engineer_client, samples):
    html = engineer_client.get("/search/").content.decode()
    assert "Paste what you see" in html and 'href="/runbooks/"' in html
    html = engineer_client.get("/search/?q=qwertyuiop").content.decode()
    assert "No runbook matches “qwertyuiop”" in html
    assert "browse all runbooks" in html


def test_search_shows_correction_with_a_way_back(engineer_client, samples):
    html = engineer_client.get("/search/", {"q": "replicaton lag"}).content.decode()
    assert "Showing results for" in html and "<strong>replication lag</strong>" in html
    assert 'href="?q=replicaton+lag&amp;exact=1"' in html
    html = engineer_client.get("/search/", {"q": "replicaton", "exact": "1"}).content.decode()
    assert "Showing results for" not in html and "No runbook matches" in html


def test_search_lists_facets_that_filter(engineer_client, search_corpus):
    html = engineer_client.get("/search/", {"q": "pods release"}).content.decode()
    assert 'href="?q=pods+release&amp;category=cloud"' in html
    filtered = engineer_client.get("/search/", {"q": "pods release", "category": "cloud"})
    html = filtered.content.decode()
    assert 'aria-current="true"' in html and "2 runbooks in <strong>cloud</strong>" in html


def test_search_bad_parameters_fall_back_to_defaults(engineer_client, search_corpus):
    for params in (
        {"q": "pods", "page": "-5"},
        {"q": "pods", "page": "abc"},
        {"q": "pods", "page": "99999999999999999999"},
        {"q": "pods", "category": "x" * 500},
        {"q": "pods\x00", "tag": "\x00"},
        {"q": ["disk", "pods"]},  # the last value counts, as everywhere in Django
    ):
        response = engineer_client.get("/search/", params)
        assert response.status_code == 200, params
        assert "Debug: Pods Crash Looping" in response.content.decode(), params


def test_search_says_when_a_long_paste_was_cut(engineer_client, search_corpus):
    html = engineer_client.get("/search/", {"q": "disk " * 1000}).content.decode()
    assert "its first and last 2,000 characters were searched" in html


def test_search_header_suggestions_partial(engineer_client, search_corpus):
    response = engineer_client.get("/search/", {"q": "certif"}, **htmx("top-suggestions"))
    html = response.content.decode().strip()
    assert html.startswith('<div id="top-suggestions"')
    assert "<html" not in html
    assert 'href="/runbooks/networking/tls-expiry/"' in html
    assert 'href="/search/?q=certif"' in html


def test_search_header_box_works_without_javascript(engineer_client, search_corpus):
    html = engineer_client.get("/").content.decode()
    form = html[html.index('class="topsearch"') - 60 : html.index('id="top-suggestions"')]
    assert 'action="/search/"' in form and 'name="q"' in form and 'hx-get="/search/"' in form


def test_search_escapes_hostile_text(engineer_client):
    runbook_import(text=HOSTILE, path="evil.md")
    html = engineer_client.get("/search/", {"q": "alert"}).content.decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;" in html


def test_graph_page_draws_svg_with_orphans_and_missing(engineer_client, samples):
    html = engineer_client.get("/runbooks/graph/").content.decode()
    assert "<svg" in html
    orphans = html[html.index("Orphans") :]
    assert "observability/alert-noise" in orphans
    assert "storage/disk-full" in html[html.index('id="missing-h"') :]


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


def test_search_links_carry_the_searched_text_not_the_raw_paste(engineer_client, search_corpus):
    pasted = "pods " + "x" * 20_000
    html = engineer_client.get("/search/", {"q": pasted}).content.decode()
    assert "x" * 4000 not in html  # the facet and pager links repeat the clipped text only
    assert len(html) < 60_000


def test_search_lists_ignored_tokens_once(engineer_client, search_corpus):
    uuid = "3f9a2c1e-1b2c-4d5e-8f90-123456789abc"
    html = engineer_client.get("/search/", {"q": f"{uuid} {uuid} 10.0.0.1"}).content.decode()
    assert html.count(f"<code>{uuid}</code>") == 1
    assert "Every word of that looked like an id" in html
    assert "Try fewer words" not in html  # not after "add a word"


def test_search_suggestions_offer_nothing_for_noise_only(engineer_client, search_corpus):
    for typed in ("10.0.0.12", "2026-11-03", "1", "' OR 1=1 --"):
        response = engineer_client.get("/search/", {"q": typed}, **htmx("top-suggestions"))
        html = response.content.decode()
        assert 'role="option"' not in html, typed  # no "All results" into a dead end


def test_search_snippet_shows_text_not_markdown(engineer_client, search_corpus):
    html = engineer_client.get("/search/", {"q": "openssl"}).content.decode()
    snippet = html[html.index('class="hit"') :][:400]
    assert "<mark>openssl</mark> s_client" in snippet and "`" not in snippet


def test_search_partial_updates_the_page_title(engineer_client, search_corpus):
    partial = engineer_client.get("/search/", {"q": "disk"}, **htmx("search-results"))
    assert "<title>disk · Search · Fieldguide</title>" in partial.content.decode()
    page = engineer_client.get("/search/", {"q": "disk"}).content.decode()
    assert page.count("<title>") == 1


def test_search_page_past_the_last_shows_the_last(engineer_client, search_corpus):
    html = engineer_client.get("/search/", {"q": "pods", "page": "99"}).content.decode()
    assert "Debug: Pods Crash Looping" in html


def test_search_cached_result_follows_synonym_edits(engineer_client, search_corpus):
    from kb.models import SearchSynonym

    assert "No runbook matches" in engineer_client.get("/search/?q=handshake").content.decode()
    SearchSynonym.objects.create(terms="handshake, x509")
    html = engineer_client.get("/search/?q=handshake").content.decode()
    assert "Debug: TLS Certificate Expired" in html


def test_search_box_keeps_the_chosen_filters_for_new_words(engineer_client, search_corpus):
    html = engineer_client.get(
        "/search/", {"q": "pods", "category": "cloud", "tag": "pods", "exact": "1"}
    ).content.decode()
    assert '<input type="hidden" name="category" value="cloud">' in html
    assert '<input type="hidden" name="tag" value="pods">' in html
    assert 'name="exact"' not in html  # "exact" was about the old words
    assert 'hx-include="closest form"' in html
