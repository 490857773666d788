"""Saving parsed runbooks: atomic, idempotent, identity-keeping."""

import pytest

from kb.models import (
    Cause,
    CheckCause,
    ItemKind,
    LinkStatus,
    PatternCause,
    Runbook,
    RunbookRevision,
)
from kb.services import RunbookImportFailed, runbook_import, runbooks_import
from kb.sources import SourceFile
from tests.conftest import SEED_SLUG

pytestmark = pytest.mark.django_db


@pytest.fixture
def founding(seed_text) -> Runbook:
    return runbook_import(text=seed_text, path=f"{SEED_SLUG}.txt")


def test_runbook_import_stores_every_part_of_the_seed(founding):
    rb = founding
    assert rb.slug == SEED_SLUG
    assert rb.revision == 1
    assert rb.active_patterns().count() == 5
    assert [c.rank for c in rb.active_causes()] == [1, 2, 3, 4, 5]
    assert rb.active_causes()[0].title == "Missing or changed environment variable"
    assert [c.position for c in rb.active_checks()] == [1, 2, 3, 4, 5]
    assert [c.minutes for c in rb.active_checks()] == [2, 5, 8, 11, 14]
    assert rb.items_of(ItemKind.SIGNAL_EXAMPLE)[0].startswith("500s on all /api/orders")
    assert rb.drill_paths.count() == 5
    assert rb.active_fix_patterns().count() == 5
    assert rb.not_the_issue_condition.startswith("If errors appeared before the deploy")
    assert len(rb.items_of(ItemKind.NOT_THE_ISSUE)) == 3
    assert list(rb.pivots.values_list("target_slug", flat=True)) == [
        "cs-fundamentals/debugging-systems"
    ]
    assert rb.connections.count() == 6
    assert len(rb.items_of(ItemKind.OPEN_QUESTION)) == 2
    assert rb.revisions.get().markdown.startswith("Debug: High Error Rate After Deploy")


def test_runbook_import_stores_proposed_cause_links(founding):
    pattern = founding.patterns.get(key="errors-on-specific-endpoints-only")
    assert list(pattern.causes.values_list("key", flat=True)) == [
        "code-bug-on-a-specific-path-introduced-in-this-diff"
    ]
    assert set(PatternCause.objects.values_list("status", flat=True)) == {LinkStatus.PROPOSED}


def test_runbook_import_unchanged_file_is_a_no_op(founding, seed_text):
    again = runbook_import(text=seed_text.replace("\n", "\r\n"), path=f"{SEED_SLUG}.txt")
    assert again.revision == 1
    assert RunbookRevision.objects.count() == 1


def test_runbook_import_changed_file_keeps_cause_identity(founding, seed_text):
    env_cause = founding.causes.get(key="missing-or-changed-environment-variable")
    changed = seed_text.replace(
        "- Config change not applied to all instances\n",
        "- Certificate expired on the load balancer — TLS handshakes fail\n",
    ).replace("app starts but crashes on first use", "app crashes on first request")
    rb = runbook_import(text=changed, path=f"{SEED_SLUG}.txt")
    assert rb.revision == 2
    assert rb.revisions.count() == 2
    env_after = rb.causes.get(key="missing-or-changed-environment-variable")
    assert env_after.pk == env_cause.pk
    assert env_after.detail == "app crashes on first request"
    retired = rb.causes.get(key="config-change-not-applied-to-all-instances")
    assert retired.retired
    assert [c.key for c in rb.active_causes()][-1] == "certificate-expired-on-the-load-balancer"


def test_runbook_import_keeps_confirmed_links_across_edits(founding, seed_text):
    check = founding.checks.get(key="check-error-logs-immediately")
    cause = founding.causes.get(key="missing-or-changed-environment-variable")
    CheckCause.objects.create(check_item=check, cause=cause, status=LinkStatus.CONFIRMED)
    runbook_import(text=seed_text + "\n- Another question?\n", path=f"{SEED_SLUG}.txt")
    link = CheckCause.objects.get(check_item=check)
    assert (link.cause, link.status) == (cause, LinkStatus.CONFIRMED)


def test_runbook_import_resolves_links_when_target_arrives_later(founding):
    drill = founding.drill_paths.get(target_slug="cloud/kubernetes")
    assert not drill.exists
    kubernetes = runbook_import(
        text="# Debug: Pods\n\nSummary.\n\n## Connections\n\n[[000_131d5d6a3ce7968b]]\n",
        path="cloud/kubernetes.md",
    )
    drill.refresh_from_db()
    assert drill.target == kubernetes
    assert kubernetes.connections.get().target == founding
    assert list(kubernetes.backlinks()) == [founding]
    assert list(founding.backlinks()) == [kubernetes]


def test_runbooks_import_refuses_whole_batch_on_one_bad_file(seed_text):
    sources = [
        SourceFile("good.txt", "good", seed_text.encode()),
        SourceFile("bad.md", "bad", b"\n\n- just a list\n"),
    ]
    with pytest.raises(RunbookImportFailed) as err:
        runbooks_import(sources=sources)
    assert [str(e) for e in err.value.errors] == [
        "bad.md:3: no title: the first line must be the runbook's title, not a list, table or label"
    ]
    assert Runbook.objects.count() == 0
    assert Cause.objects.count() == 0


def test_runbooks_import_skip_invalid_imports_the_good_files(seed_text):
    sources = [
        SourceFile("good.txt", "good", seed_text.encode()),
        SourceFile("bad.md", "bad", b""),
    ]
    report = runbooks_import(sources=sources, skip_invalid=True)
    assert report.created == ["good"]
    assert [e.path for e in report.skipped] == ["bad.md"]
    assert list(Runbook.objects.values_list("slug", flat=True)) == ["good"]


def test_runbooks_import_rejects_two_files_with_one_slug(seed_text):
    sources = [
        SourceFile("a/X.md", "a/x", seed_text.encode()),
        SourceFile("a/x.txt", "a/x", seed_text.encode()),
    ]
    with pytest.raises(RunbookImportFailed, match="slug 'a/x' is also used by a/X.md"):
        runbooks_import(sources=sources)
