"""Search relevance: top-1, top-3 and MRR@10 of ``kb.search.search_runbooks`` per query kind.

    .venv/bin/python bench/search_relevance.py [--database-url URL] [--distractors 300] [--json]
    .venv/bin/python bench/search_relevance.py \\
        --database-url postgres://postgres@127.0.0.1:5432/fieldguide_search_bench

Database: SQLite in a temporary folder by default. With ``--database-url postgres://…`` that
PostgreSQL database is created (dropped first if it exists), used, and dropped at the end,
also on failure or Ctrl-C; the server must accept the URL's user on its ``postgres``
database (trust auth on 127.0.0.1 in the project's bench setup).

Corpus (paths relative to the project root): ``samples/runbooks/**`` (the project's own
samples), the founding runbook ``../shared/seeds/000_131d5d6a3ce7968b.txt`` and
``../shared/fixtures/public-runbooks/**`` (real runbooks from openshift/runbooks and
prometheus-operator/runbooks). The three roots are imported in one batch through
``kb.services.runbooks_import`` as ``import_runbooks`` does (``kb.sources.collect_sources``:
a file's slug is its path under its root). Before them, ``--distractors N`` generated
runbooks (``triage.load_data_text``, as bench/import_bench.py writes them; plain and
Markdown, about twenty failure modes from deploys to DNS, disks and certificates) are
imported from a temporary folder, so the right runbook has to beat a haystack that talks
about the same things. ``--distractors 0`` measures the corpus alone.

Queries: bench/search_queries.toml (``--queries`` for another file), written from the
runbooks before any engine was run over them. Four kinds:

- ``error``: a string pasted from a log, kubectl, psql, curl or a terminal, with its noise
  (pod-name hashes, timestamps, IPs, request ids, quotes, paths);
- ``symptom``: what the engineer sees, paraphrased, title words avoided where possible;
- ``alert``: an alert name as Alertmanager sends it, sometimes with labels pasted after it;
- ``typo``: a symptom, error or alert name with realistic misspellings.

Each query's ``expect`` lists the runbook files that answer it (paths as above; more than
one only where two runbooks genuinely answer it). Files are mapped to runbooks through
``Runbook.source_path`` after the import, never through hard-coded slugs; an expected file
that did not become a runbook stops the benchmark.

Each query goes through the public selector ``kb.search.search_runbooks(query)``, in
either of its shapes: the old ``(page, results)`` tuple, or an object with ``.results``
(first page, best first) and ``.corrected``. Of the results the first 10 count. A query's
rank is the position of the first expected runbook among them; top-1 and top-3 are the
share of queries with rank 1 and rank ≤ 3, MRR@10 the mean of 1/rank (0 when not in the
first 10), "empty" the number of queries that returned nothing, "errors" those whose
search raised (counted as misses), "corrected" those the engine searched in a corrected
form. Reported per kind and overall, with every query not in the top 3 (its expected
runbooks and what came first).

Prints a table (``--json``: the result object instead) and writes
bench/results/search_relevance.json. Exits 0 whatever the scores (it is a measurement);
1 when the import fails, 2 when the query file is invalid, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import tomllib
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import _stack  # noqa: E402

QUERIES = ROOT / "bench" / "search_queries.toml"
CORPUS_ROOTS = (
    "samples/runbooks",
    "../shared/seeds/000_131d5d6a3ce7968b.txt",
    "../shared/fixtures/public-runbooks",
)
KINDS = ("error", "symptom", "alert", "typo")
CUTOFF = 10  # MRR@10: the first page


@dataclass(frozen=True)
class Query:
    query: str
    kind: str
    expect: tuple[str, ...]


@dataclass
class Outcome:
    query: str
    kind: str
    expect: list[str]  # slugs
    rank: int | None  # 1-based position of the first expected runbook in the first 10
    first: list[str]  # the first three slugs returned
    returned: int  # results on the first page, at most CUTOFF
    corrected: str | None = None
    error: str | None = None
    shape: str = ""  # "tuple" (page, results) today, "object" (.results) once rebuilt
    seconds: float = 0.0


@dataclass
class Scores:
    n: int = 0
    top1: float = 0.0
    top3: float = 0.0
    mrr10: float = 0.0
    empty: int = 0
    errors: int = 0
    corrected: int = 0


@dataclass
class ImportStats:
    corpus_files: int = 0
    distractors: int = 0
    seconds: float = 0.0
    warnings: int = 0
    skipped: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- queries


def load_queries(path: Path) -> list[Query]:
    """The query file, checked: known kinds, non-empty expectations naming existing files."""
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    problems: list[str] = []
    queries: list[Query] = []
    for i, entry in enumerate(data.get("query", []), 1):
        text, kind, expect = entry.get("query"), entry.get("kind"), entry.get("expect")
        where = f"query {i} ({str(text)[:40]!r})"
        if not isinstance(text, str) or not text.strip():
            problems.append(f"{where}: query must be non-empty text")
        if kind not in KINDS:
            problems.append(f"{where}: kind must be one of {', '.join(KINDS)}")
        if not isinstance(expect, list) or not expect:
            problems.append(f"{where}: expect must list at least one runbook file")
            continue
        problems += [
            f"{where}: expected file {e} does not exist"
            for e in expect
            if not isinstance(e, str) or not (ROOT / e).is_file()
        ]
        queries.append(Query(str(text), str(kind), tuple(str(e) for e in expect)))
    if not queries:
        problems.append(f"{path}: no [[query]] entries")
    if problems:
        raise ValueError("\n".join(problems))
    return queries


def file_key(path: str | Path) -> str:
    """One spelling per file: absolute, normalised (``..`` folded), symlinks left alone."""
    return os.path.normpath(os.path.join(ROOT, path))


# --------------------------------------------------------------------------- databases


def parse_postgres_url(url: str) -> dict[str, Any]:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
        raise ValueError(f"--database-url must be a postgres:// URL, not {parts.scheme}://")
    name = urllib.parse.unquote(parts.path.lstrip("/"))
    if not name or name in {"postgres", "template0", "template1"}:
        raise ValueError("--database-url must name a throw-away database, e.g. /fieldguide_x")
    return {
        "name": name,
        "host": parts.hostname or _stack.PG_HOST,
        "port": parts.port or _stack.PG_PORT,
        "user": urllib.parse.unquote(parts.username or _stack.PG_USER),
        "password": urllib.parse.unquote(parts.password) if parts.password else None,
    }


@contextmanager
def database(url: str | None) -> Iterator[str]:
    """A fresh database for the run, as a DATABASE_URL; removed afterwards."""
    if not url:
        with tempfile.TemporaryDirectory(prefix="fieldguide-search-") as tmp:
            yield f"sqlite:///{tmp}/search.sqlite3"
        return
    import psycopg

    pg = parse_postgres_url(url)

    def admin(sql: str) -> None:
        with psycopg.connect(
            host=pg["host"],
            port=pg["port"],
            user=pg["user"],
            password=pg["password"],
            dbname="postgres",
            autocommit=True,
        ) as conn:
            conn.execute(sql)

    quoted = '"' + pg["name"].replace('"', '""') + '"'
    admin(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
    admin(f"CREATE DATABASE {quoted}")
    try:
        yield url
    finally:
        from django.conf import settings

        if settings.configured:
            from django.db import connections

            connections.close_all()
        admin(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")


def setup_django(database_url: str) -> str:
    """Django on ``database_url`` (development settings, a per-process cache); its vendor."""
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["DJANGO_DEBUG"] = "1"  # development settings: no secret key needed
    # A shared cache could hand back another database's results: keep it per process.
    os.environ.pop("FIELDGUIDE_CACHE_URL", None)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, interactive=False)
    return connection.vendor


# --------------------------------------------------------------------------- import


class ImportFailed(RuntimeError):
    """The corpus or the distractors could not be imported (exit code 1)."""


def import_all(distractors: int, seed: int, tmp: Path) -> tuple[dict[str, str], ImportStats]:
    """Import distractors, then the corpus; returns {file key: slug} for the corpus."""
    from kb.models import Runbook
    from kb.services import RunbookImportFailed, runbooks_import
    from kb.sources import collect_sources

    stats = ImportStats(distractors=distractors)
    start = time.perf_counter()
    if distractors:
        from triage.load_data_text import runbook_files

        folder = tmp / "distractors"
        for f in runbook_files(distractors, seed):
            path = folder / f.path
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f.text, encoding="utf-8")
        sources, errors = collect_sources([folder])
        try:
            report = runbooks_import(sources=sources, errors=errors, note="search bench")
        except RunbookImportFailed as exc:
            raise ImportFailed(
                "distractors refused:\n" + "\n".join(f"  {e}" for e in exc.errors)
            ) from None
        stats.warnings += len(report.warnings)
        if len(report.created) != distractors:
            raise ImportFailed(f"{len(report.created)} of {distractors} distractors created")

    roots = [ROOT / r for r in CORPUS_ROOTS]
    sources, errors = collect_sources(roots)
    stats.corpus_files = len(sources)
    try:
        report = runbooks_import(sources=sources, errors=errors, note="search bench")
    except RunbookImportFailed as exc:
        raise ImportFailed("corpus refused:\n" + "\n".join(f"  {e}" for e in exc.errors)) from None
    stats.warnings += len(report.warnings)
    stats.skipped = [str(e) for e in report.skipped]
    if report.updated or report.unchanged:
        raise ImportFailed(
            "corpus slugs collide with distractors: "
            + ", ".join(sorted(report.updated + report.unchanged))
        )
    stats.seconds = round(time.perf_counter() - start, 2)

    by_file: dict[str, str] = {}
    created = set(report.created)
    for slug, source_path in Runbook.objects.values_list("slug", "source_path"):
        if slug in created and source_path:
            by_file[file_key(source_path)] = slug
    return by_file, stats


# --------------------------------------------------------------------------- search


def run_query(query: Query, slugs: tuple[str, ...]) -> Outcome:
    """One query through the public selector, as the search page asks it."""
    from kb.search import search_runbooks

    outcome = Outcome(query.query, query.kind, list(slugs), None, [], 0)
    start = time.perf_counter()
    try:
        found = search_runbooks(query.query)
        outcome.shape = "object"
        outcome.corrected = found.searched if found.corrected else None
        returned = [r.runbook.slug for r in found.results[:CUTOFF]]
    except Exception as exc:  # a measurement: a crashing query is a miss, reported
        outcome.error = f"{type(exc).__name__}: {exc}"[:200]
        returned = []
        from django.db import connection

        if connection.vendor == "postgresql" and not connection.get_autocommit():
            connection.rollback()
    outcome.seconds = time.perf_counter() - start
    outcome.returned = len(returned)
    outcome.first = returned[:3]
    for position, slug in enumerate(returned, 1):
        if slug in slugs:
            outcome.rank = position
            break
    return outcome


def score(outcomes: list[Outcome]) -> Scores:
    n = len(outcomes)
    if not n:
        return Scores()
    ranks = [o.rank for o in outcomes]
    return Scores(
        n=n,
        top1=round(sum(r == 1 for r in ranks) / n, 3),
        top3=round(sum(r is not None and r <= 3 for r in ranks) / n, 3),
        mrr10=round(sum(1 / r for r in ranks if r) / n, 3),
        empty=sum(o.returned == 0 and o.error is None for o in outcomes),
        errors=sum(o.error is not None for o in outcomes),
        corrected=sum(o.corrected is not None for o in outcomes),
    )


# --------------------------------------------------------------------------- report


def print_report(results: dict[str, Any]) -> None:
    imp, timing = results["import"], results["timing"]
    print(
        f"\nSearch relevance on {results['database']}: {results['queries']} queries, "
        f"{imp['corpus_files']} corpus runbooks + {imp['distractors']} distractors "
        f"(selector shape: {results['selector_shape']})"
    )
    print(
        f"{'kind':<9} {'n':>4} {'top-1':>6} {'top-3':>6} {'MRR@10':>7} {'empty':>6} "
        f"{'errors':>7} {'corrected':>10}"
    )
    rows = [*((k, results["by_kind"][k]) for k in KINDS), ("overall", results["overall"])]
    for kind, s in rows:
        if not s["n"]:
            continue
        print(
            f"{kind:<9} {s['n']:>4} {s['top1']:>6.3f} {s['top3']:>6.3f} {s['mrr10']:>7.3f} "
            f"{s['empty']:>6} {s['errors']:>7} {s['corrected']:>10}"
        )
    failing = [q for q in results["per_query"] if q["rank"] is None or q["rank"] > 3]
    print(f"\nNot in the top 3 ({len(failing)}): [kind] rank | query | expected | came first")
    for q in failing:
        text = q["query"] if len(q["query"]) <= 70 else q["query"][:67] + "..."
        rank = "-" if q["rank"] is None else str(q["rank"])
        first = q["error"] or (q["first"][0] if q["first"] else "(nothing)")
        if q["corrected"]:
            first += f"  [searched as {q['corrected']!r}]"
        print(f"  [{q['kind']}] {rank:>2} | {text} | {', '.join(q['expect'])} | {first}")
    print(
        f"\nimport {imp['seconds']} s, queries {timing['queries_seconds']} s "
        f"(median {timing['query_ms_median']} ms, max {timing['query_ms_max']} ms), "
        f"total {timing['total_seconds']} s"
    )


def measure(args: argparse.Namespace, queries: list[Query], started: float) -> int:
    """Import, search, report; the database exists only inside this call."""
    with database(args.database_url) as url, tempfile.TemporaryDirectory() as tmp:
        vendor = setup_django(url)
        _stack.log(f"{vendor}: importing the corpus and {args.distractors} distractors")
        try:
            by_file, stats = import_all(args.distractors, args.seed, Path(tmp))
        except ImportFailed as exc:
            print(f"error: import failed: {exc}", file=sys.stderr)
            return 1
        missing = sorted({e for q in queries for e in q.expect if file_key(e) not in by_file})
        if missing:
            print("error: expected files not imported as runbooks:", file=sys.stderr)
            for path in missing:
                print(f"  {path}", file=sys.stderr)
            return 1
        _stack.log(f"imported in {stats.seconds} s; running {len(queries)} queries")
        query_start = time.perf_counter()
        outcomes = [
            run_query(q, tuple(dict.fromkeys(by_file[file_key(e)] for e in q.expect)))
            for q in queries
        ]
        query_seconds = time.perf_counter() - query_start

    latencies = sorted(o.seconds * 1000 for o in outcomes)
    results: dict[str, Any] = {
        "machine": _stack.machine(),
        "database": vendor,
        "selector_shape": "/".join(sorted({o.shape for o in outcomes if o.shape})) or "?",
        "queries": len(queries),
        "distractor_seed": args.seed,
        "query_file": os.path.relpath(args.queries.resolve(), ROOT),
        "cutoff": CUTOFF,
        "import": asdict(stats),
        "by_kind": {k: asdict(score([o for o in outcomes if o.kind == k])) for k in KINDS},
        "overall": asdict(score(outcomes)),
        "timing": {
            "queries_seconds": round(query_seconds, 2),
            "query_ms_median": round(statistics.median(latencies), 1),
            "query_ms_max": round(latencies[-1], 1),
            "total_seconds": round(time.perf_counter() - started, 2),
        },
        "per_query": [
            {k: v for k, v in asdict(o).items() if k != "seconds"}
            | {"ms": round(o.seconds * 1000, 1)}
            for o in outcomes
        ],
    }
    path = _stack.write_results("search_relevance.json", results)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print_report(results)
        print(f"written {path.relative_to(ROOT)}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="", help="postgres://… (default: SQLite)")
    parser.add_argument("--distractors", type=int, default=300, metavar="N")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated distractors")
    parser.add_argument("--queries", type=Path, default=QUERIES)
    parser.add_argument("--json", action="store_true", help="print the result object")
    args = parser.parse_args()
    started = time.perf_counter()
    try:
        queries = load_queries(args.queries)
        if args.database_url:
            parse_postgres_url(args.database_url)
    except (OSError, ValueError, tomllib.TOMLDecodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    _stack.install_signal_handlers()
    try:
        return measure(args, queries, started)
    except _stack.Interrupted as exc:
        print(f"interrupted ({exc}); the benchmark database was removed", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
