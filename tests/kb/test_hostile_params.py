"""Hostile request parameters on kb's tree and link editor: a clear answer, never a 500."""

import pytest

from kb.forms import TreeForm
from kb.front_matter import set_front_matter_key
from kb.models import Runbook, RunbookRevision
from kb.parse_errors import RunbookParseError
from kb.services import text_hash
from kb.tree import MAX_TRAIL, TreeView
from tests.conftest import SEED_SLUG

pytestmark = pytest.mark.django_db

TREE = f"/tree/{SEED_SLUG}/"
LINKS = f"/runbooks/{SEED_SLUG}/links/"
TABBED_FRONT_MATTER = "---\ntags:\n\t- deploy\n\t- errors\n---\n"


@pytest.fixture
def editor_client(client, make_user):
    client.force_login(make_user("edna", "editor"))
    return client


@pytest.fixture
def tab_indented(samples) -> Runbook:
    """The founding runbook whose stored text has tab-indented YAML front matter, which
    today's import refuses (YAML forbids tabs in indentation) but older text can hold."""
    runbook = Runbook.objects.get(slug=SEED_SLUG)
    revision = runbook.revisions.order_by("-number").first()
    text = TABBED_FRONT_MATTER + revision.markdown
    digest = text_hash(text)
    RunbookRevision.objects.filter(pk=revision.pk).update(markdown=text, source_hash=digest)
    Runbook.objects.filter(pk=runbook.pk).update(source_hash=digest)
    runbook.refresh_from_db()
    return runbook


# --- tree parameters ------------------------------------------------------------------------


@pytest.mark.parametrize("trail", ["ABC", "..", "a/../b", "\x00", "cloud/kubernetes,\x00", "a,,B"])
def test_tree_form_refuses_a_trail_that_is_not_runbook_slugs(trail):
    form = TreeForm({"trail": trail})
    assert not form.is_valid() and "trail" in form.errors
    assert form.params()["trail"] == ()


def test_tree_form_reads_a_trail_of_slugs_in_order():
    form = TreeForm({"trail": "cloud/kubernetes,cloud/blue-green-deployment"})
    assert form.params()["trail"] == ("cloud/kubernetes", "cloud/blue-green-deployment")


@pytest.mark.parametrize("name", ["open", "via"])
def test_tree_form_refuses_nul_in_a_node_or_target_id(name):
    form = TreeForm({name: "p-a\x00"})
    assert not form.is_valid() and name in form.errors
    assert form.params()[name] == ""


@pytest.mark.parametrize("trail", ["ABC", "..", "\x00", "cloud/kubernetes,\x00", "x" * 5000])
def test_tree_page_ignores_an_invalid_trail(engineer_client, samples, trail):
    response = engineer_client.get(TREE, {"trail": trail})
    assert response.status_code == 200
    assert "Debug: High Error Rate After Deploy" in response.content.decode()


def test_tree_page_ignores_an_invalid_trail_in_the_raw_query(engineer_client, samples):
    # As typed in the address bar: ?trail=ABC, ?trail=.. and a percent-encoded NUL.
    for query in ("trail=ABC", "trail=..", "trail=%00", "open=%00&via=%00&fold=%00"):
        assert engineer_client.get(f"{TREE}?{query}").status_code == 200, query


def test_tree_page_keeps_a_valid_trail(engineer_client, samples):
    html = engineer_client.get(TREE, {"trail": "cloud/kubernetes"}).content.decode()
    assert 'href="/tree/cloud/kubernetes/"' in html  # breadcrumb back up


def test_tree_view_from_params_drops_the_runbook_itself_and_caps_the_trail():
    trail = tuple(f"r{i}" for i in range(30))
    params = {"trail": ("a", *trail), "open": "", "via": "", "fold": False}
    view = TreeView.from_params("a", params)
    assert view.trail == trail[:MAX_TRAIL]


# --- link editor ----------------------------------------------------------------------------


def test_set_front_matter_key_names_the_line_of_tab_indented_front_matter():
    with pytest.raises(RunbookParseError) as raised:
        set_front_matter_key(TABBED_FRONT_MATTER + "# T\n", "cause_links", None)
    assert raised.value.line == 3 and "not valid YAML" in raised.value.message


def test_link_editor_opens_a_runbook_with_tab_indented_front_matter(editor_client, tab_indented):
    response = editor_client.get(LINKS)
    assert response.status_code == 200
    assert "Confirm these links" in response.content.decode()


def test_link_editor_save_on_tab_indented_front_matter_names_the_line(editor_client, tab_indented):
    response = editor_client.post(LINKS, {"base": tab_indented.revision, "confirm": []})
    html = response.content.decode()
    assert response.status_code == 400
    assert "Not saved: line 3" in html and "Fix it in the editor first" in html
    tab_indented.refresh_from_db()
    assert tab_indented.revisions.count() == 1  # nothing written
