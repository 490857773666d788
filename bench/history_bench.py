"""History page and CSV export at 100,000 sessions: time, SQL queries, peak memory.

    .venv/bin/python bench/history_bench.py [--sessions 100000] [--db /tmp/fg-bench.sqlite3]

Uses its own database (SQLite file by default; DATABASE_URL wins when set). Sessions are
bulk-inserted (the rows the services would write: session, pattern step, outcome) so the
set-up takes seconds, not hours. Prints a table and writes bench/results/history.json.
"""

import argparse
import json
import os
import random
import statistics
import sys
import time
import tracemalloc
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--db", default="/tmp/fieldguide-bench-history.sqlite3")
    args = parser.parse_args()
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{args.db}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    populate(args.sessions)
    results = measure()
    results["sessions"] = args.sessions
    results["database"] = django.db.connection.vendor
    print_table(results)
    out = ROOT / "bench" / "results" / "history.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written {out.relative_to(ROOT)}")


def populate(n: int) -> None:
    from django.contrib.auth.models import Group, User
    from django.utils import timezone

    from kb.models import Runbook
    from kb.services import runbooks_import
    from kb.sources import collect_sources
    from triage.models import Outcome, TriageSession, TriageStep

    if TriageSession.objects.count() >= n:
        return
    sources, errors = collect_sources([ROOT / "samples" / "runbooks"])
    runbooks_import(sources=sources, errors=errors)
    lead, _ = User.objects.get_or_create(username="bench-lead")
    lead.groups.set(Group.objects.filter(name__in=["engineer", "editor", "lead"]))
    engineers = [User.objects.get_or_create(username=f"bench-eng-{i}")[0] for i in range(20)]
    runbooks = list(Runbook.objects.prefetch_related("causes", "patterns", "revisions"))
    rng = random.Random(1)
    now = timezone.now()
    resolutions = [r for r, _label in Outcome.Resolution.choices]
    batch = 5000
    made = TriageSession.objects.count()
    while made < n:
        size = min(batch, n - made)
        picks = [rng.choice(runbooks) for _ in range(size)]
        sessions = TriageSession.objects.bulk_create(
            TriageSession(
                runbook=rb,
                revision=rb.revisions.all()[0],
                owner=rng.choice(engineers),
                status="finished",
                incident_ref=f"INC-{made + i}",
                started_at=now - timedelta(minutes=5 * (made + i)),
                ended_at=now - timedelta(minutes=5 * (made + i) - 3),
            )
            for i, rb in enumerate(picks)
        )
        TriageStep.objects.bulk_create(
            TriageStep(
                session=s,
                kind="pattern",
                runbook=rb,
                author=s.owner,
                token=uuid.uuid4(),
                created_at=s.started_at,
                pattern=rng.choice(list(rb.patterns.all()) or [None]),
            )
            for s, rb in zip(sessions, picks, strict=True)
        )
        Outcome.objects.bulk_create(
            Outcome(
                session=s,
                resolution=rng.choice(resolutions),
                cause=rng.choice(list(rb.causes.all())),
                minutes_to_diagnosis=round(rng.uniform(1, 90), 1),
                recorded_by=s.owner,
                recorded_at=s.ended_at,
            )
            for s, rb in zip(sessions, picks, strict=True)
        )
        made += size
        print(f"  populated {made}/{n}", file=sys.stderr)


def measure() -> dict:
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    setup_test_environment()
    client = Client()
    client.force_login(User.objects.get(username="bench-lead"))
    pages = {
        "history": "/history/",
        "history, sorted by time to diagnosis, page 50": (
            "/history/?sort=-minutes_to_diagnosis&page=50"
        ),
        "history, filtered by runbook and resolution": (
            "/history/?runbook=cloud/kubernetes&resolution=resolved"
        ),
        "insights": "/insights/",
    }
    results: dict = {"pages": {}}
    for name, url in pages.items():
        client.get(url)
        timings = []
        for _ in range(5):
            with CaptureQueriesContext(connection) as ctx:
                start = time.perf_counter()
                response = client.get(url)
                timings.append(time.perf_counter() - start)
            assert response.status_code == 200, (url, response.status_code)
        results["pages"][name] = {
            "url": url,
            "median_ms": round(1000 * statistics.median(timings), 1),
            "queries": len(ctx.captured_queries),
        }
    tracemalloc.start()
    start = time.perf_counter()
    response = client.get("/history/export.csv")
    rows, size = -1, 0
    for chunk in response.streaming_content:
        rows += chunk.count(b"\n")
        size += len(chunk)
    elapsed = time.perf_counter() - start
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    results["csv_export"] = {
        "rows": rows,
        "bytes": size,
        "seconds": round(elapsed, 2),
        "peak_python_memory_mb": round(peak / 1024 / 1024, 2),
    }
    return results


def print_table(results: dict) -> None:
    print(f"\nHistory at {results['sessions']:,} sessions ({results['database']})")
    print(f"{'page':<48} {'median ms':>10} {'queries':>8}")
    for name, page in results["pages"].items():
        print(f"{name:<48} {page['median_ms']:>10} {page['queries']:>8}")
    csv = results["csv_export"]
    print(
        f"CSV export: {csv['rows']:,} rows, {csv['bytes'] / 1e6:.1f} MB in {csv['seconds']} s, "
        f"peak Python memory {csv['peak_python_memory_mb']} MB"
    )


if __name__ == "__main__":
    main()
