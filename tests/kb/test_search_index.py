"""The full-text index under kb.search: written with its runbook, read in rank order."""

import pytest
from django.db import connection

from kb.models import RunbookAlert, SearchDocument, SearchWord
from kb.search_index import document_frequency, rank
from kb.search_query import parse_query
from kb.services import runbook_alert_seen, runbook_alerts_replace, search_index_rebuild

pytestmark = pytest.mark.django_db


def slugs(q: str) -> list[str]:
    from kb.models import Runbook

    ranked = rank(SearchDocument.Kind.RUNBOOK, parse_query(q))
    titles = dict(Runbook.objects.values_list("pk", "slug"))
    return [titles[r.ref] for r in ranked]


def test_index_document_written_for_every_imported_runbook(search_corpus):
    assert SearchDocument.objects.filter(kind="runbook").count() == 5
    doc = SearchDocument.objects.get(runbook__slug="cloud/pod-crashloop")
    assert "KubePodCrashLooping" in doc.alerts
    assert "crash looping" in doc.alerts.lower()  # identifier pieces indexed too
    if connection.vendor == "postgresql":
        assert doc.vector


def test_rank_weights_title_above_body(search_corpus):
    # "address" is in duplicate-mac's title; nowhere else.
    assert slugs("address")[0] == "networking/duplicate-mac"
    # "release" is in bad-release's body only; the slug is not indexed.
    assert slugs("release") == ["cloud/bad-release"]


def test_rank_scores_are_positive_and_descending(search_corpus):
    ranked = rank(SearchDocument.Kind.RUNBOOK, parse_query("pods container memory"))
    scores = [r.score for r in ranked]
    assert scores and all(s > 0 for s in scores)
    assert scores == sorted(scores, reverse=True)


def test_rank_prefix_matches_unfinished_word(search_corpus):
    ranked = rank(SearchDocument.Kind.RUNBOOK, parse_query(""), prefix="replic")
    assert len(ranked) == 1


def test_rank_ignores_prefix_with_punctuation(search_corpus):
    assert rank(SearchDocument.Kind.RUNBOOK, parse_query(""), prefix='a"*') == []


def test_document_frequency_counts_documents(search_corpus):
    assert document_frequency("runbook", "certificate") == 1
    assert document_frequency("runbook", "no space left") == 1
    assert document_frequency("runbook", "zzzz") == 0


def test_vocabulary_holds_words_with_stems(search_corpus):
    word = SearchWord.objects.get(word="certificate")
    assert word.stem == "certif" and word.length == 11


def test_search_index_rebuild_restores_a_lost_index(search_corpus):
    SearchDocument.objects.all().delete()
    SearchWord.objects.all().delete()
    assert slugs("certificate") == []
    assert search_index_rebuild() == 5
    assert slugs("certificate") == ["networking/tls-expiry"]
    assert SearchWord.objects.filter(word="certificate").exists()


def test_search_index_rebuild_missing_only_indexes_new(search_corpus):
    SearchDocument.objects.filter(runbook__slug="storage/disk-full").delete()
    assert search_index_rebuild(only_missing=True) == 1
    assert slugs("logrotate") == ["storage/disk-full"]


def test_runbook_alert_seen_makes_the_alert_searchable(search_corpus):
    from kb.models import Runbook

    runbook = Runbook.objects.get(slug="storage/disk-full")
    runbook_alert_seen(runbook_id=runbook.pk, name="NodeFilesystemAlmostOutOfSpace")
    runbook_alert_seen(runbook_id=runbook.pk, name="NodeFilesystemAlmostOutOfSpace")
    assert RunbookAlert.objects.filter(runbook=runbook, source="seen").count() == 1
    assert slugs("NodeFilesystemAlmostOutOfSpace")[0] == "storage/disk-full"


def test_runbook_alerts_replace_adds_and_removes_mapping_names(search_corpus):
    from kb.models import Runbook

    runbook = Runbook.objects.get(slug="networking/duplicate-mac")
    runbook_alerts_replace(source="mapping", names={runbook.pk: ["ZebraStampede"]})
    assert slugs("ZebraStampede")[0] == "networking/duplicate-mac"
    runbook_alerts_replace(source="mapping", names={})
    assert slugs("ZebraStampede") == []


def test_front_matter_alerts_survive_a_reimport(search_corpus):
    from kb.models import Runbook

    runbook = Runbook.objects.get(slug="cloud/pod-crashloop")
    assert list(runbook.alert_names.values_list("name", "source")) == [
        ("KubePodCrashLooping", "front_matter")
    ]


def test_rank_with_version_reuses_document_frequencies(search_corpus):
    from django.test.utils import CaptureQueriesContext

    query = parse_query("certificate expired disk")
    plain = rank(SearchDocument.Kind.RUNBOOK, query)

    def counted(version):
        with CaptureQueriesContext(connection) as ctx:
            ranked = rank(SearchDocument.Kind.RUNBOOK, query, version=version)
        return ranked, len(ctx)

    first, first_queries = counted("v1")
    again, again_queries = counted("v1")
    changed, changed_queries = counted("v2")
    assert first == again == changed == plain
    if connection.vendor == "postgresql":
        assert (first_queries, again_queries, changed_queries) == (2, 1, 2)
    else:  # FTS5's bm25() keeps its own statistics: one statement either way
        assert (first_queries, again_queries, changed_queries) == (1, 1, 1)


def test_rank_newest_ranks_only_the_newest_documents(search_corpus):
    query = parse_query("certificate pods disk release address")
    every = rank(SearchDocument.Kind.RUNBOOK, query, newest=100)
    newest_ids = sorted(SearchDocument.objects.filter(kind="runbook").values_list("id", flat=True))
    two = rank(SearchDocument.Kind.RUNBOOK, query, newest=2)
    assert {r.document_id for r in every} == set(newest_ids)
    assert {r.document_id for r in two} == set(newest_ids[-2:])


def test_document_frequency_with_version_is_read_once(search_corpus):
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        counts = [document_frequency("runbook", "certificate", version="v1") for _ in range(3)]
    assert counts == [1, 1, 1] and len(ctx) == 1
