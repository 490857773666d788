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
    assert rb.front_matter == {"weight": 20}
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
