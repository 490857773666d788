"""import_runbooks, export_runbooks and demo, run as a user would run them."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError

from kb.models import Cause, Runbook
from tests.conftest import PUBLIC_RUNBOOKS, SAMPLES_DIR, SEED_PATH

pytestmark = pytest.mark.django_db

PUBLIC_FILES = sorted(PUBLIC_RUNBOOKS.rglob("*.md"))


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_runbooks_imports_every_public_runbook():
    out, _ = run("import_runbooks", str(PUBLIC_RUNBOOKS))
    assert f"{len(PUBLIC_FILES)} created" in out
    assert Runbook.objects.count() == len(PUBLIC_FILES) == 15


def test_import_runbooks_maps_prometheus_operator_sections():
    run("import_runbooks", str(PUBLIC_RUNBOOKS))
    rb = Runbook.objects.get(slug="prometheus-operator/kubernetes/kubepodcrashlooping")
    assert rb.title == "Kube Pod Crash Looping"  # front matter title wins
    assert rb.symptom.startswith("Pod is in CrashLoop which means the app dies")
    checks = [c.title for c in rb.active_checks()]
    assert checks[0] == "Check template via `kubectl -n $NAMESPACE get pod $POD`."
    assert "read only filesystem" in checks
    assert rb.active_fix_patterns()[0].text.startswith("Talk with developers")
    assert [s.title for s in rb.extra_sections.all()] == ["Impact"]
    # The H1 under a differing front-matter title is kept (the alert's own name).
    assert rb.front_matter == {"weight": 20, "h1": "KubePodCrashLooping"}
    target_down = Runbook.objects.get(slug="prometheus-operator/general/targetdown")
    assert "<details>" in target_down.symptom  # kept as text, sanitised when rendered


def test_import_runbooks_maps_openshift_sections_and_relative_links():
    run("import_runbooks", str(PUBLIC_RUNBOOKS))
    rb = Runbook.objects.get(slug="openshift/cluster-etcd-operator/etcdmembersdown")
    assert rb.symptom.startswith("This alert fires when one or more etcd member goes down")
    checks = list(rb.active_checks())
    assert checks[0].title.startswith("Login to the cluster.")
    assert "oc get nodes" in checks[0].detail
    assert any(c.title == "General etcd health" for c in checks)
    assert rb.active_fix_patterns()[0].text.startswith("If an upgrade is in progress")
    ceph = Runbook.objects.get(
        slug="openshift/openshift-container-storage-operator/cephclustererrorstate"
    )
    links = {c.target_slug: c.exists for c in ceph.connections.all()}
    assert links["openshift/openshift-container-storage-operator/helpers/diagnosis"] is True
    assert (
        links["openshift/openshift-container-storage-operator/helpers/networkconnectivity"] is False
    )
    budget = Runbook.objects.get(
        slug="openshift/cluster-kube-apiserver-operator/kubeapierrorbudgetburn"
    )
    # "# error" lines live inside code fences and must not become sections
    assert "error" not in [s.title for s in budget.extra_sections.all()]


def test_import_runbooks_command_is_idempotent():
    run("import_runbooks", str(SAMPLES_DIR))
    out, _ = run("import_runbooks", str(SAMPLES_DIR))
    assert "0 created, 0 updated, 9 unchanged" in out


@pytest.mark.parametrize(
    ("name", "content", "line", "message"),
    [
        ("empty.md", b"", 1, "file is empty"),
        ("notitle.md", b"\n## Meaning\n\nx\n", 2, "no title"),
        ("latin1.md", b"# Title\n\ncaf\xe9\n", 3, "undecodable bytes"),
        ("binary.md", b"# Title\n\x00\x01\x02", 2, "binary data"),
        ("huge.md", b"# Huge\n" + b"word " * (3 * 1024 * 1024 // 5), 1, "over the 2 MB limit"),
    ],
)
def test_import_runbooks_bad_file_names_file_and_line_and_writes_nothing(
    tmp_path, seed_text, name, content, line, message
):
    (tmp_path / "good.txt").write_text(seed_text)
    bad = tmp_path / name
    bad.write_bytes(content)
    err = StringIO()
    with pytest.raises(CommandError, match="nothing was written"):
        call_command("import_runbooks", str(tmp_path), stdout=StringIO(), stderr=err)
    assert f"{bad}:{line}: " in err.getvalue()
    assert message in err.getvalue()
    assert Runbook.objects.count() == 0
    assert Cause.objects.count() == 0


def test_import_runbooks_exits_non_zero_from_the_shell(tmp_path):
    import subprocess
    import sys

    (tmp_path / "empty.md").write_bytes(b"")
    project = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "manage.py", "import_runbooks", str(tmp_path)],
        cwd=project,
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"},
    )
    assert result.returncode != 0
    assert "empty.md:1: file is empty" in result.stderr


def test_import_runbooks_skip_invalid_imports_the_rest(tmp_path, seed_text):
    (tmp_path / "good.txt").write_text(seed_text)
    (tmp_path / "empty.md").write_bytes(b"")
    out, err = run("import_runbooks", str(tmp_path), "--skip-invalid")
    assert "1 created" in out and "1 skipped" in out
    assert "empty.md:1: file is empty" in err
    assert list(Runbook.objects.values_list("slug", flat=True)) == ["good"]


def test_import_runbooks_missing_path_is_an_error(tmp_path):
    with pytest.raises(CommandError):
        run("import_runbooks", str(tmp_path / "nope"))


def export_json(directory: Path) -> dict[str, dict]:
    run("export_runbooks", str(directory), "--format", "json")
    return {
        p.relative_to(directory).as_posix(): json.loads(p.read_text())
        for p in sorted(directory.rglob("*.json"))
    }


def test_export_round_trip_markdown_then_json_is_identical(tmp_path):
    run("import_runbooks", str(SAMPLES_DIR), str(SEED_PATH), str(PUBLIC_RUNBOOKS))
    first = export_json(tmp_path / "json1")
    run("export_runbooks", str(tmp_path / "md"))
    Runbook.objects.all().delete()
    run("import_runbooks", str(tmp_path / "md"))
    second = export_json(tmp_path / "json2")
    assert len(first) == 9 + 1 + 15
    assert first == second


def test_export_json_has_the_documented_shape(tmp_path):
    run("import_runbooks", str(SAMPLES_DIR), str(SEED_PATH))
    data = export_json(tmp_path)["000_131d5d6a3ce7968b.json"]
    for key in [
        "slug", "title", "summary", "symptom", "revision", "patterns", "causes", "checks",
        "signal_examples", "drill_paths", "fix_patterns", "not_the_issue", "connections",
        "open_questions", "related_reading", "extra_sections",
    ]:  # fmt: skip
        assert key in data
    assert data["causes"][0] == {
        "key": "missing-or-changed-environment-variable",
        "rank": 1,
        "title": "Missing or changed environment variable",
        "detail": "app starts but crashes on first use",
    }
    assert data["checks"][0]["minutes"] == 2
    assert data["drill_paths"][0] == {
        "suspect": "App crashing on startup",
        "target": "cloud/kubernetes",
        "exists": True,
    }
    assert data["not_the_issue"]["pivots"] == ["cs-fundamentals/debugging-systems"]
    assert len(data["not_the_issue"]["items"]) == 3


def test_demo_sets_up_runbooks_and_logins_without_serving():
    out, _ = run("demo", "--no-serve")
    assert Runbook.objects.filter(slug="cloud/kubernetes").exists()
    assert Runbook.objects.filter(slug="000_131d5d6a3ce7968b").exists()
    for username in ("engineer", "editor", "lead"):
        assert username in out
        assert User.objects.get(username=username).groups.filter(name=username).exists()
    assert "engineer-demo-pass" in out
    # every drill path and pivot of the founding runbook now leads somewhere
    founding = Runbook.objects.get(slug="000_131d5d6a3ce7968b")
    assert all(d.exists for d in founding.drill_paths.all())
    assert all(p.exists for p in founding.pivots.all())


# --- hostile input: refused with file:line, nothing written (run on PostgreSQL too) --------

CAUSES = "# Disk full\n\n## Likely Causes\n\n- Logs not rotated — debug logs\n- {cause}\n"


def import_failure(root: Path) -> str:
    """import_runbooks ``root`` expecting the batch refused; returns what it printed."""
    err = StringIO()
    with pytest.raises(CommandError, match="nothing was written"):
        call_command("import_runbooks", str(root), stdout=StringIO(), stderr=err)
    assert not Runbook.objects.exists() and not Cause.objects.exists()
    return err.getvalue()


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("\n# " + "t" * 501 + "\n", 2, "title is 501 characters, over the 300 limit"),
        (CAUSES.format(cause="x" * 501), 6, "cause 2 title is 501 characters, over the 500 limit"),
        ("---\nslug: " + "a" * 201 + "\n---\n# T\n", 2, "slug is 201 characters, over the 200"),
        ('---\ntitle: "a\\0b"\n---\n# T\n', 2, "front matter value of 'title' contains a NUL"),
        ('---\ntags: ["ok", "\\x00"]\n---\n# T\n', 2, "front matter value of 'tags' contains"),
        ("# T\n\n## " + "h" * 301 + "\n\ntext\n", 3, "section 1 heading is 301 characters"),
        ('+++\ntitle = "a\\u0000b"\n+++\n# T\n', 2, "front matter value contains a NUL"),
        ("---\nslug: ../../x\n---\n# T\n", 2, "front matter slug '../../x' must not contain"),
        ("---\nslug: new\n---\n# T\n", 2, "front matter slug 'new' is taken by another page"),
        ("---\nslug: a/edit\n---\n# T\n", 2, "front matter slug 'a/edit' is taken by another"),
    ],
)  # fmt: skip
def test_import_runbooks_refuses_values_no_database_can_store(
    tmp_path, seed_text, text, line, message
):
    (tmp_path / "good.txt").write_text(seed_text)
    bad = tmp_path / "bad.md"
    bad.write_text(text)
    err = import_failure(tmp_path)
    assert f"{bad}:{line}: {message}" in err


def test_import_runbooks_refuses_an_alias_bomb_quickly(tmp_path):
    import time

    from tests.kb.test_front_matter import ALIAS_BOMB

    (tmp_path / "bomb.md").write_text(ALIAS_BOMB)
    started = time.perf_counter()
    err = import_failure(tmp_path)
    assert time.perf_counter() - started < 1.0
    assert f"{tmp_path / 'bomb.md'}:2: front matter uses the YAML anchor &a" in err


def test_import_runbooks_does_not_follow_links_out_of_the_folder(tmp_path, seed_text):
    root, outside = tmp_path / "root", tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.md").write_text("# Secret\n")
    root.mkdir()
    (root / "good.txt").write_text(seed_text)
    (root / "leak.md").symlink_to(outside / "secret.md")
    (root / "more").symlink_to(outside, target_is_directory=True)
    err = import_failure(root)
    assert f"{root / 'leak.md'}:1: is a symbolic link" in err
    assert f"{root / 'more'}:1: is a symbolic link" in err


def test_import_runbooks_reads_toml_front_matter(tmp_path):
    (tmp_path / "disk.md").write_text(
        '+++\ntitle = "Disk full"\ntags = ["storage"]\nowner = "team-a"\n+++\n\n# disk\n\nText.\n'
    )
    run("import_runbooks", str(tmp_path))
    rb = Runbook.objects.get(slug="disk")
    assert (rb.title, rb.tags, rb.front_matter["owner"]) == ("Disk full", ["storage"], "team-a")


def test_import_runbooks_names_unicode_files_by_front_matter_slug_or_transliteration(tmp_path):
    (tmp_path / "障害.md").write_text("---\nslug: incidents/outage\n---\n# 障害対応\n")
    (tmp_path / "ネットワーク.md").write_text("# ネットワーク\n")
    run("import_runbooks", str(tmp_path))
    assert set(Runbook.objects.values_list("slug", "title")) == {
        ("incidents/outage", "障害対応"),
        ("nettowaku", "ネットワーク"),
    }


def test_import_runbooks_asks_for_a_slug_when_a_file_name_gives_none(tmp_path):
    (tmp_path / "!!!.md").write_text("# Bangs\n")
    err = import_failure(tmp_path)
    assert f"{tmp_path / '!!!.md'}:1: cannot make a slug from the file name; add a slug:" in err


def test_import_runbooks_names_both_files_of_a_slug_collision(tmp_path):
    (tmp_path / "a.md").write_text("# A\n")
    (tmp_path / "b.md").write_text("---\ntitle: B\nslug: a\n---\n# B\n")
    err = import_failure(tmp_path)
    assert f"{tmp_path / 'b.md'}:3: slug 'a' is also used by {tmp_path / 'a.md'}" in err


def test_export_json_has_every_other_front_matter_key_as_metadata(tmp_path):
    (tmp_path / "disk.md").write_text(
        "---\ntitle: Disk full\nowner: team-a\nalerts: [DiskFull]\nupdated: 2024-05-01\n"
        "links: {dashboard: grafana/disk}\n---\n# Disk full\n\nText.\n"
    )
    run("import_runbooks", str(tmp_path))
    data = export_json(tmp_path / "json")["disk.json"]
    assert data["metadata"] == {
        "owner": "team-a",
        "alerts": ["DiskFull"],
        "updated": "2024-05-01",
        "links": {"dashboard": "grafana/disk"},
    }
    run("export_runbooks", str(tmp_path / "md"))
    Runbook.objects.all().delete()
    run("import_runbooks", str(tmp_path / "md"))
    assert export_json(tmp_path / "json2")["disk.json"]["metadata"] == data["metadata"]


def test_import_runbooks_public_runbooks_warn_only_of_real_unresolved_links():
    out, _ = run("import_runbooks", str(PUBLIC_RUNBOOKS))
    warnings = [line for line in out.splitlines() if line.startswith("warning: ")]
    # Each names a file and line and a runbook the collection links to but does not ship.
    assert len(warnings) == 7
    assert all(": no such runbook (yet)" in line for line in warnings)
    assert (
        "warning: "
        f"{PUBLIC_RUNBOOKS}/prometheus-operator/node/NodeFilesystemAlmostOutOfSpace.md:27: "
        "link to 'prometheus-operator/node/nodefilesystemfilesfillingup': no such runbook (yet)"
    ) in warnings
    assert out.rstrip().endswith("15 created, 0 updated, 0 unchanged, 0 skipped, 7 warnings")


def test_import_runbooks_resolves_short_wiki_links_by_unique_last_segment(tmp_path):
    (tmp_path / "networking").mkdir()
    (tmp_path / "networking" / "dns-resolution.md").write_text("# DNS\n\nText.\n")
    (tmp_path / "errors.md").write_text(
        "# Errors\n\n## Drill Paths\n\n| Suspect | Go to |\n|---|---|\n"
        "| Name lookups fail | [[dns-resolution|the DNS runbook]] |\n\n"
        "## Notes\n\nSee [[dns-resolution#caches]] and [[nowhere]].\n"
    )
    out, _ = run("import_runbooks", str(tmp_path))
    rb = Runbook.objects.get(slug="errors")
    assert [(d.suspect, d.target_slug, d.target.slug) for d in rb.drill_paths.all()] == [
        ("Name lookups fail", "networking/dns-resolution", "networking/dns-resolution")
    ]
    # The drill path's runbook is not listed again as a connection.
    assert [c.target_slug for c in rb.connections.all()] == ["nowhere"]
    assert f"warning: {tmp_path}/errors.md:11: link to 'nowhere': no such runbook (yet)" in out


def test_import_runbooks_site_url_links_are_runbook_links(tmp_path):
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "primary.md").write_text("# Primary\n\nText.\n")
    (tmp_path / "lag.md").write_text(
        "# Lag\n\n## Diagnosis\n\n- Look at [the primary](https://rb.example.com/db/primary.html)\n"
    )
    out, _ = run("import_runbooks", str(tmp_path), "--site-url", "https://rb.example.com/")
    assert [c.target_slug for c in Runbook.objects.get(slug="lag").connections.all()] == [
        "db/primary"
    ]
    assert "0 warnings" in out


def test_import_runbooks_same_file_named_twice_imports_once(tmp_path):
    (tmp_path / "disk.md").write_text("# Disk full\n\nText.\n")
    out, _ = run("import_runbooks", str(tmp_path / "disk.md"), str(tmp_path / "disk.md"))
    assert "1 created, 0 updated, 0 unchanged, 0 skipped" in out
