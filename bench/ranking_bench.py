"""Recording outcomes and reading learned rankings: time and SQL queries per operation.

    .venv/bin/python bench/ranking_bench.py [--outcomes 10000] [--runbooks 50] [--no-steps]

Uses its own database (a fresh SQLite file on /dev/shm by default, so the times are the
code's and not the disk's fsync; DATABASE_URL wins when set) with
generated runbooks imported through the importer. Each of ``--outcomes`` sessions is
started with ``triage.services.session_start``, gets a pattern and a check answer through
``step_record`` (unless ``--no-steps``) and is finished with ``session_finish``, which
updates the learned statistics in its transaction. After every tenth outcome, and for every
runbook at the end, ``triage.learning.runbook_learning`` reads the ranking of a runbook
already fetched with its parts (what the runbook page and the tree do). Sessions are spread
over a year of simulated time so decay is exercised.

Reports mean, p50 and p99 per operation and the SQL queries each took over the first and
the last thousand operations: constant cost means the same counts at 10 and at 10,000
sessions. Prints a table and writes bench/results/ranking.json.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outcomes", type=int, default=10_000)
    parser.add_argument("--runbooks", type=int, default=50)
    parser.add_argument("--no-steps", action="store_true", help="start and finish only")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--db",
        default=str(
            Path("/dev/shm" if Path("/dev/shm").is_dir() else "/tmp")
            / "fieldguide-bench-ranking.sqlite3"
        ),
        help="SQLite file (default on tmpfs: commits do not wait for the disk)",
    )
    args = parser.parse_args()
    if "DATABASE_URL" not in os.environ:
        Path(args.db).unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{args.db}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from triage.models import TriageSession

    if TriageSession.objects.exists():
        sys.exit("the database already has triage sessions: point DATABASE_URL at an empty one")
    samples = run(args)
    results = summarise(samples, args)
    results["database"] = django.db.connection.vendor
    if results["database"] == "sqlite":
        results["database"] += f" file {django.db.connection.settings_dict['NAME']}"
    print_table(results)
    sys.path.insert(0, str(ROOT / "bench"))
    import _stack

    results["machine"] = _stack.machine()
    path = _stack.write_results("ranking.json", results)
    print(f"written {path.relative_to(ROOT)}")
    return 0


def run(args) -> dict[str, list[tuple[float, int]]]:
    from django.contrib.auth.models import Group, User
    from django.db import connection
    from django.utils import timezone

    from kb.models import Runbook
    from kb.services import runbooks_import
    from kb.sources import SourceFile
    from triage import learning
    from triage.load_data_text import runbook_files
    from triage.services import OutcomeInput, StepInput, session_finish, session_start, step_record

    files = runbook_files(args.runbooks, args.seed)
    runbooks_import(sources=[SourceFile(f.path, f.slug, f.text.encode()) for f in files])
    engineer_group = Group.objects.get(name="engineer")
    users = []
    for i in range(10):
        user, _ = User.objects.get_or_create(username=f"bench-ranking-{i}")
        user.groups.add(engineer_group)
        users.append(user)
    runbooks = list(Runbook.objects.with_parts().order_by("slug"))
    rng = random.Random(args.seed)
    weights = [1.0 / (k + 1) for k in range(len(runbooks))]
    samples: dict[str, list[tuple[float, int]]] = defaultdict(list)

    queries = [0]

    def count_query(execute, sql, params, many, context):
        queries[0] += 1
        return execute(sql, params, many, context)

    def timed(name: str, fn, **kwargs):
        queries[0] = 0
        with connection.execute_wrapper(count_query):
            start = time.perf_counter()
            value = fn(**kwargs)
            elapsed = time.perf_counter() - start
        samples[name].append((elapsed, queries[0]))
        return value

    start_at = timezone.now() - timedelta(days=365)
    step_minutes = 365 * 24 * 60 / args.outcomes
    for i in range(args.outcomes):
        runbook = rng.choices(runbooks, weights=weights)[0]
        user = rng.choice(users)
        at = start_at + timedelta(minutes=i * step_minutes)
        session = timed("session_start", session_start, runbook=runbook, user=user, at=at)
        causes = [c for c in runbook.causes.all() if not c.retired]
        cause = rng.choices(causes, weights=[1 / (k + 1) for k in range(len(causes))])[0]
        if not args.no_steps:
            patterns = [p for p in runbook.patterns.all() if not p.retired]
            pattern = rng.choice(patterns) if patterns else None
            timed(
                "step_record (pattern)",
                step_record,
                session=session,
                user=user,
                token=uuid.uuid4(),
                answer=StepInput(kind="pattern", pattern_id=pattern.pk if pattern else None),
                at=at,
            )
            check = rng.choice([c for c in runbook.checks.all() if not c.retired])
            timed(
                "step_record (check)",
                step_record,
                session=session,
                user=user,
                token=uuid.uuid4(),
                answer=StepInput(
                    kind="check",
                    check_id=check.pk,
                    cause_id=cause.pk,
                    result="confirms",
                    minutes=round(check.minutes * rng.uniform(0.5, 1.5), 1),
                ),
                at=at + timedelta(minutes=3),
            )
        timed(
            "session_finish (records the outcome)",
            session_finish,
            session=session,
            user=user,
            token=uuid.uuid4(),
            outcome=OutcomeInput(resolution="resolved", cause_id=cause.pk),
            at=at + timedelta(minutes=10),
        )
        if i % 10 == 9:
            timed("runbook_learning (ranking read)", learning.runbook_learning, runbook=runbook)
        if (i + 1) % 1000 == 0:
            print(f"  {i + 1}/{args.outcomes} outcomes", file=sys.stderr, flush=True)
    for runbook in runbooks:
        for _ in range(10):
            timed("runbook_learning (ranking read)", learning.runbook_learning, runbook=runbook)
    return samples


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summarise(samples: dict, args) -> dict:
    ops = {}
    for name, rows in samples.items():
        ms = [1000 * t for t, _q in rows]
        first = [q for _t, q in rows[:1000]]
        last = [q for _t, q in rows[-1000:]]
        ops[name] = {
            "count": len(rows),
            "mean_ms": round(statistics.fmean(ms), 2),
            "p50_ms": round(_pct(ms, 0.50), 2),
            "p99_ms": round(_pct(ms, 0.99), 2),
            "mean_ms_per_1000": [
                round(statistics.fmean(ms[i : i + 1000]), 2) for i in range(0, len(ms), 1000)
            ],
            "mean_ms_first_1000": round(statistics.fmean(ms[:1000]), 2),
            "mean_ms_last_1000": round(statistics.fmean(ms[-1000:]), 2),
            "queries_first_1000": [min(first), max(first)],
            "queries_last_1000": [min(last), max(last)],
            # Flat: the later operations never need more queries than the early ones did.
            "flat": max(last) <= max(first),
        }
    return {"outcomes": args.outcomes, "runbooks": args.runbooks, "operations": ops}


def print_table(results: dict) -> None:
    print(
        f"\nRanking at {results['outcomes']:,} outcomes over {results['runbooks']} runbooks "
        f"({results['database']})"
    )
    print(
        f"{'operation':<38} {'count':>6} {'mean ms':>8} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'ms first→last 1000':>19} {'queries first→last 1000':>24}"
    )
    for name, op in results["operations"].items():
        a, b = op["queries_first_1000"], op["queries_last_1000"]
        queries = f"{a[0]}–{a[1]} → {b[0]}–{b[1]}" + ("" if op["flat"] else " (GROWS)")
        times = f"{op['mean_ms_first_1000']:.2f} → {op['mean_ms_last_1000']:.2f}"
        print(
            f"{name:<38} {op['count']:>6} {op['mean_ms']:>8.2f} {op['p50_ms']:>7.2f} "
            f"{op['p99_ms']:>7.2f} {times:>19} {queries:>24}"
        )


if __name__ == "__main__":
    sys.exit(main())
