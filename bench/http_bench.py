"""Requests per second and p50/p99 latency of the main pages, as a ratio to /healthz.

    .venv/bin/python bench/http_bench.py [--runbooks 1000 --sessions 100000] [--duration 10]

Creates its own PostgreSQL database on 127.0.0.1:5432 (user postgres, trust auth; default
``fieldguide_bench``), migrates, loads ``generate_load_data`` (default 1,000 runbooks and
20,000 sessions: a few minutes), runs ``collectstatic``, and starts gunicorn with production
settings (DJANGO_DEBUG=0, whitenoise; only the SSL redirect is off, as behind a TLS proxy).
Then it logs in as an engineer and a lead and runs ``wrk`` (Debian's package, installed
when missing and running as root) for ``--duration`` seconds per URL at ``--concurrency``
connections: /healthz (the ceiling: the same stack doing almost nothing), a runbook page,
its decision tree, a search, a triage step POST (a check answer with a fresh token each
time, CSRF cookie and header, as htmx sends it), the history page and a filtered CSV export.
The full CSV export is timed once. Gunicorn is stopped and the database dropped at the end,
also on failure or Ctrl-C (``--keep-db`` keeps it and reuses it next time).

Prints a table and writes bench/results/http.json.
"""

from __future__ import annotations

import argparse
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _stack  # noqa: E402
from _stack import Browser, Gunicorn, log  # noqa: E402

SETUP_CODE = """
import json, uuid
from django.contrib.auth.models import Group, User
from django.db.models import Count
from kb.models import Runbook
from triage.models import TriageSession
from triage.services import StepInput, session_start, step_record

def person(name, groups):
    user, _ = User.objects.get_or_create(username=name)
    user.set_password(PASSWORD)
    user.save()
    user.groups.set(Group.objects.filter(name__in=groups))
    return user

engineer = person("bench-engineer", ["engineer"])
lead = person("bench-lead", ["engineer", "editor", "lead"])
ranked = list(
    Runbook.objects.annotate(n=Count("sessions")).order_by("-n", "slug").values_list("slug", "n")
)
top_slug, top_n = ranked[0]
export_slug, export_n = min(ranked, key=lambda r: (abs(r[1] - EXPORT_ROWS), r[0]))
runbook = Runbook.objects.get(slug=top_slug)
causes = list(runbook.causes.filter(retired=False))
checks = list(runbook.checks.filter(retired=False))
pattern = runbook.patterns.filter(retired=False).first()
sessions = list(
    TriageSession.objects.filter(owner=engineer, runbook=runbook, status="open")
    .values_list("pk", flat=True)
)
while len(sessions) < SESSIONS:
    s = session_start(runbook=runbook, user=engineer, incident_ref=f"BENCH-{len(sessions)}")
    if runbook.not_the_issue_condition or runbook.pivots.exists():
        step_record(session=s, user=engineer, token=uuid.uuid4(),
                    answer=StepInput(kind="gate", gate_holds=False))
    step_record(session=s, user=engineer, token=uuid.uuid4(),
                answer=StepInput(kind="pattern", pattern_id=pattern.pk if pattern else None))
    sessions.append(s.pk)
print(json.dumps({
    "runbook": top_slug, "runbook_sessions": top_n,
    "export_runbook": export_slug, "export_rows": export_n,
    "sessions": sessions, "pairs": [[k.pk, c.pk] for k in checks for c in causes],
    "total_sessions": TriageSession.objects.count(), "runbooks": Runbook.objects.count(),
}))
"""

STEP_LUA = """
local sessions = {%(sessions)s}
local pairs = {%(pairs)s}
local headers = {
  ["Cookie"] = "%(cookie)s",
  ["X-CSRFToken"] = "%(csrf)s",
  ["Content-Type"] = "application/x-www-form-urlencoded",
  ["HX-Request"] = "true",
  ["HX-Target"] = "triage-panel",
  ["Host"] = "127.0.0.1",
}
local function hex4() return string.format("%%04x", math.random(0, 65535)) end
local function uuid4()
  return hex4() .. hex4() .. "-" .. hex4() .. "-4" .. string.sub(hex4(), 2) .. "-" ..
    string.format("%%04x", 32768 + math.random(0, 16383)) .. "-" .. hex4() .. hex4() .. hex4()
end
function init(args)
  math.randomseed(os.time() + %(salt)d)
end
request = function()
  local s = sessions[math.random(#sessions)]
  local p = pairs[math.random(#pairs)]
  local body = "token=" .. uuid4() .. "&kind=check&check_id=" .. p[1] .. "&cause=" .. p[2] ..
    "&result=inconclusive&minutes=" .. math.random(1, 30)
  return wrk.format("POST", "/triage/" .. s .. "/step/", headers, body)
end
"""


SEARCH_LUA = """
local words = {%(words)s}
local headers = {["Cookie"] = "%(cookie)s", ["Host"] = "127.0.0.1"}
function init(args)
  math.randomseed(os.time() + %(salt)d)
end
request = function()
  local q = words[math.random(#words)] .. "+" .. words[math.random(#words)]
  return wrk.format("GET", "/search/?q=" .. q .. "&page=" .. math.random(1, 3), headers)
end
"""
# Words the generated runbooks use; two of them and a page make ~4,800 different searches.
SEARCH_WORDS = (
    "connection pool timeout disk dns certificate latency queue memory cpu deploy config "
    "error replica lag cache token network proxy kafka consumer restart leak schema index "
    "lock tls gateway probe node volume quota retry broker cluster metrics alert"
).split()

PASTE_LUA = """
local queries = {%(queries)s}
local headers = {["Cookie"] = "%(cookie)s", ["Host"] = "127.0.0.1"}
function init(args)
  math.randomseed(os.time() + %(salt)d)
end
request = function()
  -- A fresh timestamp, as a pasted log line carries: noise the parser drops, so the search
  -- is the same but no cached result of an earlier request answers it.
  local stamp = string.format("2025-03-%%02dT%%02d%%%%3A%%02d%%%%3A%%02d.%%03dZ+",
    math.random(1, 28), math.random(0, 23), math.random(0, 59), math.random(0, 59),
    math.random(0, 999))
  return wrk.format("GET", "/search/?q=" .. stamp .. queries[math.random(#queries)], headers)
end
"""
# What on-call engineers paste or type, written against the generated runbooks' vocabulary
# (triage/load_data_text.py): log and kubectl lines with their noise (timestamps, IPs, pod
# hashes, request ids), alert names with labels, symptoms in their own words, and typos (a
# misspelt word costs a vocabulary lookup for "did you mean"). Long pastes reach MAX_TERMS.
PASTED_QUERIES = (
    # errors, pasted with their noise
    "2025-03-02T10:14:55.201Z ERROR checkout-api-7d9f8b6c5-x2kqp timeout waiting for "
    "connection from pool (pool size 20, active 20, waiting 143)",
    "FATAL: remaining connection slots are reserved for non-replication superuser connections",
    "psycopg2.OperationalError: could not connect to server: Connection timed out "
    "Is the server running on host 10.0.12.7 and accepting TCP/IP connections on port 5432?",
    "x509: certificate has expired or is not yet valid: current time 2025-03-02T10:14:55Z "
    "is after 2025-03-01T00:00:00Z",
    "tls: failed to verify certificate: x509: certificate signed by unknown authority",
    "dial tcp: lookup payments-api.payments.svc.cluster.local on 10.96.0.10:53: no such host",
    "write /var/lib/postgresql/data/pg_wal/xlogtemp.12: No space left on device",
    "OOMKilled exit code 137 inventory-service-5f7c9d8b6-m2k4p restarted 14 times",
    "Back-off restarting failed container worker in pod "
    "notification-worker-6c9d7f5b8-qwz4n_payments(8e2f4a1c-3b7d-4e9a-a1f0-5c6d7e8f9a0b)",
    "java.lang.OutOfMemoryError: Java heap space at org.apache.kafka.clients.consumer",
    "consumer group orders-consumer lag 184223 on partition 7, last commit 41m ago",
    "ERROR: canceling statement due to lock timeout while locking tuple (12,4) in relation orders",
    "ERROR: canceling statement due to conflict with recovery DETAIL: replica lag 38 s",
    "upstream connect error or disconnect/reset before headers. reset reason: connection timeout",
    "502 Bad Gateway nginx/1.25.3 upstream timed out (110: Connection timed out) while "
    "reading response header from upstream",
    "HTTP 429 Too Many Requests: rate limit exceeded for key pk_live_51H8x, retry after 30s",
    "accept4: too many open files; retrying in 1s",
    "CPU throttled 87% of periods for container pricing-service limit 500m",
    'level=error ts=2025-03-02T10:14:55Z caller=scrape.go:1473 msg="scrape failed" '
    'err="context deadline exceeded" target=http://10.0.128.234:9100/metrics',
    "kernel: NMI watchdog: BUG: soft lockup - CPU#3 stuck for 22s! [kworker/3:1:4182]",
    "clock skew detected: 2.4s between ip-10-0-3-17 and ip-10-0-5-22, tokens rejected",
    "missing configuration key DATABASE_URL on every request after deploy",
    "GC pause (G1 Evacuation Pause) 4.2s, heap 7.8G->7.6G(8G)",
    "redis.exceptions.ConnectionError: Error 111 connecting to redis-cache:6379. "
    "Connection refused.",
    "health check failed: GET /healthz 503 from 10.0.4.12 (3 consecutive failures)",
    # alert names, sometimes with labels
    "[FIRING:1] KafkaConsumerLagHigh (orders-consumer critical)",
    "alertname=PostgresReplicationLagHigh instance=10.0.2.14:9187 severity=page",
    "CertificateExpiringSoon",
    "NodeFilesystemSpaceFillingUp mountpoint=/var/lib/kafka",
    "KubePodCrashLooping namespace=checkout pod=checkout-api-7d9f8b6c5-x2kqp",
    "HighErrorRateAfterDeploy service=payment-service",
    "CPUThrottlingHigh container=search-api",
    # symptoms in the engineer's own words
    "checkout requests time out since the release, retries sometimes work",
    "payments slow after the schema migration, one query does a full table scan",
    "queue keeps growing and consumers can't keep up",
    "pods restart every hour and memory climbs in between",
    "users see stale data after failover to the replica",
    "some customers get 502s from the load balancer",
    "feature flag switched on for everyone and errors spiked",
    "dashboards empty, metrics pipeline dropping data",
    # typos
    "conection pool exausted",
    "certifcate expird",
    "replicaton lag on the replca",
    "dsk ful on data volme",
    "memroy leak after deploy",
    "dns resolutoin slow",
    "kafak consumer lagging",
    "lock contension hot row",
    "garbage colection pauses",
    "rate limt at provder",
    "load balancer helth checks failng",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runbooks", type=int, default=1000)
    parser.add_argument("--sessions", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--duration", type=int, default=10, help="seconds of wrk per URL")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument(
        "--warmup", type=int, default=2, help="seconds of load per URL before measuring"
    )
    parser.add_argument(
        "--port", type=int, default=0, help="gunicorn's port on 127.0.0.1 (default: a free one)"
    )
    parser.add_argument("--db", default="fieldguide_bench")
    parser.add_argument("--keep-db", action="store_true", help="keep (and reuse) the database")
    parser.add_argument(
        "--no-vacuum",
        action="store_true",
        help="skip VACUUM (ANALYZE) after loading (measures a never-vacuumed database)",
    )
    parser.add_argument("--export-rows", type=int, default=500, help="filtered CSV size")
    parser.add_argument(
        "--only", default="", help="comma-separated words: measure only URLs whose name has one"
    )
    args = parser.parse_args()
    _stack.install_signal_handlers()
    wrk = ensure_wrk()
    password = secrets.token_urlsafe(16)
    server = None
    results: dict = {
        "machine": _stack.machine(),
        "load_average_before": _stack.load_average(),
        "runbooks": args.runbooks,
        "sessions": args.sessions,
        "concurrency": args.concurrency,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "gunicorn_workers": args.workers,
    }
    try:
        reuse = args.keep_db and _stack.database_exists(args.db)
        if not reuse:
            log(f"creating database {args.db}")
            _stack.create_database(args.db)
        env = _stack.production_env(args.db)
        _stack.manage(env, "migrate", "-v0")
        log(f"loading {args.runbooks} runbooks and {args.sessions} sessions")
        started = time.perf_counter()
        _stack.manage(
            env,
            "generate_load_data",
            f"--runbooks={args.runbooks}",
            f"--sessions={args.sessions}",
            f"--seed={args.seed}",
        )
        results["load_seconds"] = round(time.perf_counter() - started, 1)
        # A bulk load leaves a dead version of every search document (written, then its
        # vector set) and the GIN index's pending list unmerged; production's autovacuum
        # cleans both within a minute or so, but a test server may run without it.
        results["autovacuum"] = _stack.pg_query(args.db, "SHOW autovacuum")[0][0]
        results["vacuumed"] = not args.no_vacuum
        if not args.no_vacuum:
            log("VACUUM (ANALYZE)")
            started = time.perf_counter()
            _stack.vacuum_analyze(args.db)
            results["vacuum_seconds"] = round(time.perf_counter() - started, 1)
        _stack.manage(env, "collectstatic", "--noinput", "-v0")
        code = SETUP_CODE.replace("PASSWORD", repr(password))
        code = code.replace("EXPORT_ROWS", str(args.export_rows)).replace("SESSIONS", "32")
        setup = _stack.django_json(env, code)
        results["data"] = {k: v for k, v in setup.items() if k not in ("sessions", "pairs")}
        log(f"starting gunicorn ({args.workers} workers)")
        server = Gunicorn(env, workers=args.workers, port=args.port).start()
        engineer, lead = Browser(server.port), Browser(server.port)
        engineer.login("bench-engineer", password)
        lead.login("bench-lead", password)
        slug = setup["runbook"]
        export = setup["export_runbook"]
        targets = [
            ("/healthz", "/healthz", None, None),
            ("runbook page", f"/runbooks/{slug}/", engineer, None),
            ("decision tree", f"/tree/{slug}/", engineer, None),
            ("search", "/search/?q=connection+pool", engineer, None),
            ("search, new words each request", "/search/?q=disk", engineer, "varied-search"),
            ("search, pasted errors and typos", "/search/?q=disk", engineer, "pasted-search"),
            ("triage step POST", None, engineer, "step"),
            ("history (lead)", "/history/", lead, None),
            (
                f"CSV export, one runbook ({setup['export_rows']} rows)",
                "/history/export.csv?" + urllib.parse.urlencode({"runbook": export}),
                lead,
                None,
            ),
        ]
        if args.only:
            words = args.only.split(",")
            targets = [t for t in targets if t[0] == "/healthz" or any(w in t[0] for w in words)]
        results["urls"] = {}
        with tempfile.TemporaryDirectory() as tmp:
            for name, url, who, special in targets:
                script = None
                if special == "step":
                    script = Path(tmp) / "step.lua"
                    script.write_text(step_lua(setup, engineer))
                    url = f"/triage/{setup['sessions'][0]}/"
                elif special == "varied-search":
                    script = Path(tmp) / "search.lua"
                    script.write_text(search_lua(engineer))
                elif special == "pasted-search":
                    script = Path(tmp) / "pasted.lua"
                    script.write_text(pasted_lua(engineer))
                    for query in PASTED_QUERIES:  # every one answers 200 before timing
                        path = "/search/?" + urllib.parse.urlencode({"q": query})
                        check_page(server.port, who, path, name)
                check_page(server.port, who, url, name)
                shown = {
                    "step": "POST /triage/<id>/step/ (check)",
                    "varied-search": "/search/?q=<two random words>&page=<1-3>",
                    "pasted-search": f"/search/?q=<timestamp> <one of {len(PASTED_QUERIES)}>",
                }.get(special, url)
                log(f"wrk {name}: {shown}")
                stats = run_wrk(wrk, server.port, url, who, script, args)
                stats["url"] = shown
                results["urls"][name] = stats
        if not args.only:
            results["full_csv_export"] = full_export(lead)
        results["load_average_after"] = _stack.load_average()
    finally:
        if server is not None:
            server.stop()
        if not args.keep_db:
            log(f"dropping database {args.db}")
            _stack.drop_database(args.db)
    ceiling = results["urls"]["/healthz"]["requests_per_s"]
    for stats in results["urls"].values():
        stats["ratio_to_healthz"] = round(stats["requests_per_s"] / ceiling, 3) if ceiling else 0
    print_table(results)
    path = _stack.write_results("http.json", results)
    print(f"written {path.relative_to(_stack.ROOT)}")
    bad = [n for n, s in results["urls"].items() if s["non_2xx_3xx"] or s["socket_errors"]]
    if bad:
        print(f"non-2xx/3xx responses or socket errors on: {', '.join(bad)}")
    return 0


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    import os

    if os.geteuid() != 0:
        sys.exit("wrk is not installed: apt-get install -y wrk")
    log("installing wrk (Debian package)")
    if subprocess.run(["apt-get", "install", "-y", "wrk"], check=False).returncode != 0:
        subprocess.run(["apt-get", "update"], check=False)
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=True)
    return shutil.which("wrk") or sys.exit("wrk still missing after apt-get install")


def step_lua(setup: dict, who: Browser) -> str:
    return STEP_LUA % {
        "sessions": ", ".join(str(s) for s in setup["sessions"]),
        "pairs": ", ".join(f"{{{k}, {c}}}" for k, c in setup["pairs"]),
        "cookie": who.cookie_header(),
        "csrf": who.cookies["csrftoken"],
        "salt": secrets.randbelow(1_000_000),
    }


def search_lua(who: Browser) -> str:
    return SEARCH_LUA % {
        "words": ", ".join(f'"{w}"' for w in SEARCH_WORDS),
        "cookie": who.cookie_header(),
        "salt": secrets.randbelow(1_000_000),
    }


def pasted_lua(who: Browser) -> str:
    return PASTE_LUA % {
        "queries": ", ".join(f'"{urllib.parse.quote_plus(q)}"' for q in PASTED_QUERIES),
        "cookie": who.cookie_header(),
        "salt": secrets.randbelow(1_000_000),
    }


def check_page(port: int, who: Browser | None, url: str, name: str) -> None:
    if who is None:
        status, _h, _b = _stack.request("GET", port, url)
    else:
        status, _h, _b = who.get(url)
    if status != 200:
        raise RuntimeError(f"{name}: GET {url} answered {status}, not 200")


def run_wrk(wrk: str, port: int, url: str, who: Browser | None, script, args) -> dict:
    """wrk's figures for ``url``, after ``args.warmup`` seconds of the same load whose
    figures are dropped: every worker has then opened its database connection, compiled
    its templates and loaded the spelling word list, so the table shows the steady state
    (a deployment's first requests are not what an engineer meets mid-incident)."""

    def command(seconds: float) -> list[str]:
        cmd = [wrk, "-t1", f"-c{args.concurrency}", f"-d{seconds}s", "--timeout", "30s"]
        if script is not None:
            cmd += ["-s", str(script)]
        elif who is not None:
            cmd += ["-H", f"Cookie: {who.cookie_header()}"]
        return [*cmd, "--latency", f"http://127.0.0.1:{port}{url}"]

    if args.warmup > 0:
        subprocess.run(command(args.warmup), check=True, capture_output=True)
    before = _stack.cpu_seconds()
    out = subprocess.run(command(args.duration), check=True, capture_output=True, text=True)
    after = _stack.cpu_seconds()
    stats = parse_wrk(out.stdout)
    # CPU per request, whatever the queueing: what a faster or idler machine would scale.
    requests = stats["requests_per_s"] * args.duration
    for kind in ("app", "database"):
        spent = after[kind] - before[kind]
        stats[f"cpu_ms_{kind}"] = round(1000 * spent / requests, 2) if requests else 0.0
    return stats


UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    return round(float(m.group(1)) * UNITS[m.group(2)], 2) if m else float("nan")


def parse_wrk(out: str) -> dict:
    def find(pattern: str, default: str = "0") -> str:
        m = re.search(pattern, out)
        return m.group(1) if m else default

    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    socket = [int(x) for x in errors.groups()] if errors else [0, 0, 0, 0]
    return {
        "requests": int(find(r"(\d+) requests in")),
        "requests_per_s": round(float(find(r"Requests/sec:\s+([\d.]+)")), 1),
        "p50_ms": _ms(find(r"50%\s+(\S+)", "nan")),
        "p99_ms": _ms(find(r"99%\s+(\S+)", "nan")),
        "non_2xx_3xx": int(find(r"Non-2xx or 3xx responses: (\d+)")),
        "socket_errors": sum(socket),
        "socket_errors_connect_read_write_timeout": socket,
    }


def full_export(lead: Browser) -> dict:
    log("timing the full CSV export once")
    start = time.perf_counter()
    status, _h, body = lead.get("/history/export.csv")
    elapsed = time.perf_counter() - start
    return {
        "status": status,
        "rows": max(body.count(b"\n") - 1, 0),
        "mb": round(len(body) / 1e6, 1),
        "seconds": round(elapsed, 2),
    }


def print_table(results: dict) -> None:
    data = results.get("data", {})
    m = results["machine"]
    print(
        f"\nHTTP at {data.get('runbooks', '?'):,} runbooks, {data.get('total_sessions', '?'):,} "
        f"sessions (PostgreSQL, gunicorn {results['gunicorn_workers']} sync workers, "
        f"wrk -c{results['concurrency']} {results['duration_s']} s per URL "
        f"after {results.get('warmup_s', 0)} s of warm-up; "
        f"{m['cpus']} × {m['cpu_model']})"
    )
    print(
        f"{'what':<36} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'× healthz':>9} {'errors':>6}"
        f" {'CPU ms/request: app + db':>25}"
    )
    for name, s in results["urls"].items():
        cpu = f"{s.get('cpu_ms_app', 0):.1f} + {s.get('cpu_ms_database', 0):.1f}"
        print(
            f"{name:<36} {s['requests_per_s']:>8.1f} {s['p50_ms']:>8.1f} {s['p99_ms']:>8.1f} "
            f"{s['ratio_to_healthz']:>9.3f} {s['non_2xx_3xx'] + s['socket_errors']:>6} {cpu:>25}"
        )
    for name, s in results["urls"].items():
        if "export" in name:
            print(f"  {name}: {s['url']}")
    full = results.get("full_csv_export")
    if full:
        print(
            f"full CSV export (one request): {full['rows']:,} rows, {full['mb']} MB in "
            f"{full['seconds']} s (HTTP {full['status']})"
        )
    print(
        f"load {results.get('load_seconds')} s; VACUUM (ANALYZE) "
        + (f"{results.get('vacuum_seconds')} s" if results.get("vacuumed") else "skipped")
        + f" (server autovacuum: {results.get('autovacuum')})"
    )
    print(
        f"load average before/after: {results['load_average_before']} / "
        f"{results.get('load_average_after')}"
    )


if __name__ == "__main__":
    sys.exit(main())
