"""The search selector on the database under test (SQLite by default, PostgreSQL in CI):
the same assertions, including ranking order, hold on both."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kb.models import Runbook, SearchSynonym
from kb.search import search_runbooks, search_suggestions
from kb.services import runbook_import

pytestmark = pytest.mark.django_db


def top(q: str, **kwargs) -> list[str]:
    return [r.runbook.slug for r in search_runbooks(q, **kwargs).results]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("certificate expired", "networking/tls-expiry"),
        ("ssl handshake failing", "networking/tls-expiry"),
        ("KubePodCrashLooping", "cloud/pod-crashloop"),
        ("pods restarting", "cloud/pod-crashloop"),
        (
            'could not write to file "pg_wal/xlogtemp.12": No space left on device',
            "storage/disk-full",
        ),
        ("disk full", "storage/disk-full"),
        ("5xx spike right after the relase went out", "cloud/bad-release"),
        ("rollback", "cloud/bad-release"),
        ("two VMs ended up with the same MAC address", "networking/duplicate-mac"),
    ],
)
def test_search_runbooks_ranks_the_right_runbook_first(search_corpus, query, expected):
    assert top(query)[0] == expected


def test_search_runbooks_combines_terms_with_or_not_and(search_corpus):
    # No runbook holds both words; each one that holds either is found.
    assert set(top("certificate ARP")) >= {"networking/tls-expiry", "networking/duplicate-mac"}


def test_search_runbooks_names_the_section_and_highlights_it(search_corpus):
    result = search_runbooks("replication slot").results[0]
    assert result.runbook.slug == "storage/disk-full"
    assert result.section == "likely cause"
    assert "<mark>replication</mark> <mark>slot</mark>" in str(result.snippet)


def test_search_runbooks_corrects_a_misspelt_word_and_says_so(search_corpus):
    found = search_runbooks("certifcate expird")
    assert found.corrected
    assert found.searched == "certificate expired"
    assert found.results[0].runbook.slug == "networking/tls-expiry"


def test_search_runbooks_exact_keeps_the_words_as_typed(search_corpus):
    found = search_runbooks("certifcate", exact=True)
    assert not found.corrected
    assert found.results == []


def test_search_runbooks_does_not_correct_words_the_index_knows(search_corpus):
    found = search_runbooks("release")
    assert not found.corrected
    assert found.results[0].runbook.slug == "cloud/bad-release"


def test_search_runbooks_lists_alert_names_and_facets(search_corpus):
    found = search_runbooks("pods crash release")
    first = found.results[0]
    assert first.alerts == ["KubePodCrashLooping"]
    assert ("cloud", 2) in [(f.value, f.count) for f in found.categories]
    assert "kubernetes" in [f.value for f in found.tags]


def test_search_runbooks_filters_by_category_and_tag(search_corpus):
    assert top("release certificate", category="networking") == ["networking/tls-expiry"]
    assert top("pods release", tag="deploy") == ["cloud/bad-release"]


def test_search_runbooks_empty_result_offers_nearest_titles(search_corpus):
    found = search_runbooks("Dupplicat Adres", exact=True)
    assert found.results == []
    assert [rb.slug for rb in found.nearest] == ["networking/duplicate-mac"]
    assert search_runbooks("qqqqzzzz", exact=True).nearest == []


def test_search_runbooks_synonyms_are_editable(search_corpus):
    assert top("handshake") == []
    SearchSynonym.objects.create(terms="handshake, x509")
    assert top("handshake")[0] == "networking/tls-expiry"


def test_search_runbooks_disabled_synonym_group_stops_applying(search_corpus):
    SearchSynonym.objects.filter(terms__startswith="rollback").update(enabled=False)
    assert "cloud/bad-release" not in top("rollback", exact=True)


def test_search_runbooks_index_follows_edits(search_corpus):
    runbook_import(
        text="# Debug: Duplicate MAC Address\n\nNow about quokkas only.\n",
        path="networking/duplicate-mac.md",
        slug="networking/duplicate-mac",
    )
    assert top("quokkas") == ["networking/duplicate-mac"]
    assert "networking/duplicate-mac" not in top("ARP", exact=True)


def test_search_runbooks_forgets_a_deleted_runbook(search_corpus):
    Runbook.objects.get(slug="networking/duplicate-mac").delete()
    assert top("MAC address ARP") == []


@pytest.mark.parametrize(
    "hostile",
    [
        '"',
        "AND OR NOT",
        "NEAR(a b)",
        "*",
        "title:x",
        "a\x00b",
        "(((",
        "'; DROP TABLE x; --",
        "😀 كلمة",
        "x" * 5000,
        "a_" * 2000,
        ":*",
        "!!",
        "\\",
    ],
)
def test_search_runbooks_never_fails_on_hostile_text(search_corpus, hostile):
    search_runbooks(hostile)
    search_suggestions(hostile)


def test_search_runbooks_query_count_does_not_grow_with_results(search_corpus, default_synonyms):
    def count(q):
        with CaptureQueriesContext(connection) as ctx:
            search_runbooks(q)
        return len(ctx)

    few = count("ARP")
    many = count("address certificate pods release disk")
    assert many <= few + 1  # PostgreSQL counts per term in the same one query


def test_search_suggestions_match_the_word_being_typed(search_corpus):
    assert [rb.slug for rb in search_suggestions("certif")][:1] == ["networking/tls-expiry"]
    assert search_suggestions("") == []


@pytest.mark.parametrize(
    ("typed", "searched"),
    [
        ("rollbak", "rollback"),  # a word only a synonym group knows
        ("certificate expried", "certificate expired"),  # swapped letters
        ("couldn't renew certificate", "couldn't renew certificate"),  # a contraction
        ("saml certificate", "saml certificate"),  # four letters: only swaps are fixed
        ("containerd certificate", "containerd certificate"),  # a name: word + "d"
        ("refused certificate", "refused certificate"),  # English, though no runbook has it
    ],
)
def test_search_runbooks_corrects_slips_not_names(search_corpus, typed, searched):
    assert search_runbooks(typed).searched == searched


def test_synonym_groups_follow_an_admin_edit_through_the_cache(search_corpus):
    from kb.search import synonym_groups

    group = SearchSynonym.objects.create(terms="handshake, x509")
    assert ("handshake", "x509") in synonym_groups()
    group.terms = "handshake, quokka"
    group.save()
    assert ("handshake", "quokka") in synonym_groups()
    assert ("handshake", "x509") not in synonym_groups()
    group.delete()
    assert all("handshake" not in g for g in synonym_groups())


def test_search_runbooks_reads_no_vocabulary_for_english_words(search_corpus, default_synonyms):
    def vocabulary_reads(q):
        with CaptureQueriesContext(connection) as ctx:
            search_runbooks(q)
        return [x["sql"] for x in ctx.captured_queries if "kb_searchword" in x["sql"]]

    assert vocabulary_reads("certificate expired") == []
    assert len(vocabulary_reads("certificat expird")) >= 1  # misspelt: looked up


def test_index_versions_name_the_newest_runbook_change_and_incident(search_corpus):
    from kb.search import index_versions

    runbooks, incidents = index_versions()
    assert runbooks is not None and incidents is None
    Runbook.objects.filter(slug="cloud/pod-crashloop").first().save()
    assert index_versions()[0] != runbooks


def test_search_runbooks_facet_links_toggle_one_filter_and_keep_the_rest(search_corpus):
    found = search_runbooks("pods release", category="cloud", exact=True)
    cloud = next(f for f in found.categories if f.value == "cloud")
    assert cloud.selected and cloud.url == "?q=pods+release&exact=1"
    tag = found.tags[0]
    assert tag.url == f"?q=pods+release&category=cloud&tag={tag.value}&exact=1"
    odd = search_runbooks("pods", tag="no such tag & more")
    assert [(f.value, f.count, f.url) for f in odd.tags if f.selected] == [
        ("no such tag & more", 0, "?q=pods")
    ]


def test_search_runbooks_shows_where_a_short_synonym_matched(search_corpus, default_synonyms):
    runbook_import(
        text="# Debug: Writes Refused\n\nSummary line.\n\n## Symptom\nThe DB refuses writes.\n",
        path="storage/writes-refused.md",
        slug="storage/writes-refused",
    )
    found = search_runbooks("database", exact=True)
    result = next(r for r in found.results if r.runbook.slug == "storage/writes-refused")
    assert result.section == "symptom"
    assert "<mark>DB</mark>" in result.snippet


def test_search_runbooks_does_not_correct_to_a_word_edited_away(search_corpus):
    runbook_import(
        text="# Debug: Duplicate MAC Address\n\nThe zebrafrobnicator drops frames.\n",
        path="networking/duplicate-mac.md",
        slug="networking/duplicate-mac",
    )
    assert search_runbooks("zebrafrobnicatr").searched == "zebrafrobnicator"
    runbook_import(
        text="# Debug: Duplicate MAC Address\n\nThe switch drops frames.\n",
        path="networking/duplicate-mac.md",
        slug="networking/duplicate-mac",
    )
    found = search_runbooks("zebrafrobnicatr")
    assert not found.corrected  # no "Showing results for" a word nothing holds
