"""Concurrent engineers walking triage sessions, then every acknowledged write checked.

    .venv/bin/python bench/load_without_loss.py [--clients 8] [--duration 20]
        [--scenarios baseline,kill-worker,restart-postgres]

Creates its own PostgreSQL database (``fieldguide_lwl`` on 127.0.0.1:5432), imports a few
generated runbooks, collects static files and starts gunicorn with production settings
(2 sync workers by default). Then, per scenario, ``--clients`` threads — one logged-in
engineer each — walk full sessions for ``--duration`` seconds through the real forms:
start (POST /triage/new/<slug>/ with the page's one-time token; one in ten pressed twice,
which must open one session), the gate, a pattern, two to four checks, sometimes a note,
and the outcome. Half of the posts are htmx-style (HX-Request, answered with the panel),
half plain (answered with a redirect). One post in ten is submitted twice with the same
token, half of those at the same moment from a second thread. A connection error, timeout
or 5xx is retried with the same token (backoff, bounded); every 2xx/3xx is recorded as
acknowledged together with its session and token.

Scenarios: ``baseline`` (no faults), ``kill-worker`` (SIGKILL to one gunicorn worker 30%
into the run; the master starts a new one) and ``restart-postgres`` (``pg_ctlcluster
--skip-systemctl-redirect <version> main restart``, fast mode: connections are cut, the
server is down for a moment). Clients may see errors during the outage (from the fault
until /healthz answers 200 again, plus one second); outside it every answer must be
2xx/3xx.

Afterwards the database is checked against what clients were told: every acknowledged
step is stored exactly once (by session and token), every acknowledged finish has its
outcome and a finished session, no 5xx outside the outage. Sessions created by a start
whose answer was lost and then retried are counted (starting a session carries no token).
Prints a table, writes bench/results/load_without_loss.json, exits 1 on any loss,
duplicate or 5xx outside an outage. PostgreSQL is started again at the end if it is down,
gunicorn stopped and the database dropped, also on failure or Ctrl-C.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _stack  # noqa: E402
from _stack import Browser, Gunicorn, log  # noqa: E402

SCENARIOS = ("baseline", "kill-worker", "restart-postgres")
MAX_ATTEMPTS = 40
MAX_RETRY_SECONDS = 60.0

SETUP_CODE = """
import json
from django.contrib.auth.models import Group, User
from kb.models import Runbook
group = Group.objects.get(name="engineer")
for i in range(CLIENTS):
    user, _ = User.objects.get_or_create(username=f"lwl-eng-{i:02d}")
    user.set_password(PASSWORD)
    user.save()
    user.groups.add(group)
runbooks = []
for rb in Runbook.objects.with_parts().order_by("slug"):
    causes = [c.pk for c in rb.causes.all() if not c.retired]
    checks = [
        {"id": k.pk, "causes": [link.cause_id for link in k.cause_links.all()]}
        for k in rb.checks.all() if not k.retired
    ]
    if not causes or not checks:
        continue
    runbooks.append({
        "slug": rb.slug,
        "gate": bool(rb.not_the_issue_condition or list(rb.pivots.all())),
        "patterns": [p.pk for p in rb.patterns.all() if not p.retired],
        "causes": causes,
        "checks": checks,
    })
print(json.dumps({"runbooks": runbooks}))
"""


@dataclass
class Tally:
    """What one scenario's clients saw."""

    acked_steps: dict = field(default_factory=dict)  # (session, token) -> kind
    acked_sessions: set = field(default_factory=set)
    finished: set = field(default_factory=set)  # sessions whose finish was acknowledged
    double_submits: int = 0
    errors: list = field(default_factory=list)  # (monotonic time, description)
    unexpected_4xx: list = field(default_factory=list)
    gave_up: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def error(self, sent: float, what: str) -> None:
        """An attempt sent at ``sent`` failed now: it belongs to an outage it overlaps."""
        with self.lock:
            self.errors.append((sent, time.monotonic(), what))


class Engineer(threading.Thread):
    def __init__(self, index, port, password, runbooks, tally, scenario, deadline, seed):
        super().__init__(daemon=True)
        self.index, self.tally, self.scenario, self.deadline = index, tally, scenario, deadline
        self.browser = Browser(port, timeout=10)
        self.password, self.runbooks = password, runbooks
        self.rng = random.Random(seed)
        self.sessions = 0
        self.failure: str | None = None

    def run(self) -> None:
        try:
            self.browser.login(f"lwl-eng-{self.index:02d}", self.password)
            while time.monotonic() < self.deadline:
                self.one_session()
        except GiveUp as exc:
            self.failure = str(exc)
            with self.tally.lock:
                self.tally.gave_up += 1
        except Exception as exc:  # a bug in the bench, not the app: make it visible
            self.failure = f"{type(exc).__name__}: {exc}"

    # One walk through the form, the way an engineer clicks it.
    def one_session(self) -> None:
        rng = self.rng
        rb = rng.choice(self.runbooks)
        ref = f"LWL-{self.scenario}-{self.index}-{self.sessions}"
        self.sessions += 1
        start = {"incident_ref": ref, "token": str(uuid.uuid4())}
        status, headers = self.send(f"/triage/new/{rb['slug']}/", start)
        if rng.random() < 0.1:  # "Start triage" pressed twice: one session (same incident_ref)
            self.send(f"/triage/new/{rb['slug']}/", start)
            with self.tally.lock:
                self.tally.double_submits += 1
        m = re.search(r"/triage/(\d+)/", headers.get("Location", "") if headers else "")
        if status != 302 or not m:
            raise GiveUp(f"start answered {status}")
        session = int(m.group(1))
        with self.tally.lock:
            self.tally.acked_sessions.add(session)
        if rb["gate"]:
            self.step(session, {"kind": "gate", "gate": "no"})
        pattern = rng.choice(rb["patterns"]) if rb["patterns"] and rng.random() < 0.8 else "none"
        self.step(session, {"kind": "pattern", "pattern": pattern})
        confirmed = None
        for i in range(rng.randint(2, 4)):
            check = rng.choice(rb["checks"])
            cause = rng.choice(check["causes"] or rb["causes"])
            last = i > 0 and rng.random() < 0.5
            result = "confirms" if last else rng.choice(["rules_out", "inconclusive"])
            fields = {
                "kind": "check",
                "check_id": check["id"],
                "cause": cause,
                "result": result,
                "minutes": round(rng.uniform(0.5, 20), 1),
            }
            self.step(session, fields)
            if last:
                confirmed = cause
                break
        if rng.random() < 0.2:
            self.step(session, {"kind": "note", "note": f"note from client {self.index}"})
        outcome = (
            {"resolution": "resolved", "cause": confirmed}
            if confirmed
            else {
                "resolution": "escalated",
                "cause_text": "Upstream provider outage",
            }
        )
        self.step(session, outcome, finish=True)

    def step(self, session: int, fields: dict, finish: bool = False) -> None:
        token = str(uuid.uuid4())
        data = dict(fields, token=token)
        path = f"/triage/{session}/{'finish' if finish else 'step'}/"
        htmx = self.rng.random() < 0.5
        double = self.rng.random() < 0.1
        twin = None
        if double and self.rng.random() < 0.5:
            # The same token from a second thread at the same moment (a double click).
            twin = threading.Thread(
                target=self.ack, args=(session, token, data, path, htmx, finish)
            )
            twin.start()
        self.ack(session, token, data, path, htmx, finish=finish)
        if double and twin is None:
            self.ack(session, token, data, path, htmx, finish=finish)  # a second click later
        if twin is not None:
            twin.join()
        if double:
            with self.tally.lock:
                self.tally.double_submits += 1

    def ack(self, session, token, data, path, htmx, finish=False) -> None:
        headers = {"HX-Request": "true", "HX-Target": "triage-panel"} if htmx else None
        status, _h = self.send(path, data, headers)
        if 200 <= status < 400:
            with self.tally.lock:
                kind = "finish" if finish else data["kind"]
                self.tally.acked_steps[(session, uuid.UUID(token))] = kind
                if finish:
                    self.tally.finished.add(session)
        else:
            with self.tally.lock:
                self.tally.unexpected_4xx.append((status, path, data.get("kind")))

    def send(self, path: str, data: dict, headers: dict | None = None):
        """POST until the server answers below 500; the same body (same token) every time."""
        started = time.monotonic()
        for attempt in range(MAX_ATTEMPTS):
            sent = time.monotonic()
            try:
                status, h, _body = self.browser.post(path, data, headers)
            except (OSError, http.client.HTTPException) as exc:  # refused, reset, timed out
                self.tally.error(sent, f"{type(exc).__name__} on {path}")
            else:
                if status < 500:
                    return status, h
                self.tally.error(sent, f"HTTP {status} on {path}")
            if time.monotonic() - started > MAX_RETRY_SECONDS:
                break
            time.sleep(min(2.0, 0.1 * 2**attempt) * (0.5 + self.rng.random()))
        raise GiveUp(f"no answer below 500 for {path} after {MAX_ATTEMPTS} attempts")


class GiveUp(Exception):
    pass


# --------------------------------------------------------------------------- faults


class Fault(threading.Thread):
    """Injects the scenario's fault at ``at`` and measures recovery through /healthz."""

    def __init__(self, scenario: str, server: Gunicorn, at: float):
        super().__init__(daemon=True)
        self.scenario, self.server, self.at = scenario, server, at
        self.started: float | None = None
        self.recovered: float | None = None
        self.detail = ""

    def run(self) -> None:
        time.sleep(max(0.0, self.at - time.monotonic()))
        self.started = time.monotonic()
        if self.scenario == "kill-worker":
            workers = self.server.worker_pids()
            if not workers:
                self.detail = "no gunicorn worker found to kill"
                return
            victim = workers[0]
            os.kill(victim, signal.SIGKILL)
            self.detail = f"SIGKILL worker {victim} of {workers}"
        elif self.scenario == "restart-postgres":
            result = pg_cluster("restart")
            self.detail = f"pg_ctlcluster restart exit {result.returncode}"
        try:
            self.server.wait_healthy(120)
            self.recovered = time.monotonic()
        except RuntimeError as exc:
            self.detail += f"; NOT RECOVERED: {exc}"

    def window(self) -> tuple[float, float] | None:
        if self.started is None:
            return None
        end = (self.recovered or time.monotonic()) + 1.0
        return self.started, end


def pg_version() -> str:
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    return versions[-1] if versions else "15"


def pg_cluster(action: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", pg_version(), "main", action],
        check=False,
        capture_output=True,
        text=True,
    )


def ensure_postgres_running() -> None:
    if pg_cluster("status").returncode != 0:
        log("PostgreSQL is down: starting it")
        pg_cluster("start")


# --------------------------------------------------------------------------- checks


def query(db: str, sql: str, params: list) -> list[tuple]:
    """Rows of ``sql`` (``%s`` placeholders) from the PostgreSQL database ``db``, or from
    the SQLite file ``db`` when it ends in .sqlite3."""
    if not db.endswith(".sqlite3"):
        return _stack.pg_query(db, sql, params)
    import sqlite3

    with sqlite3.connect(db, timeout=60) as conn:
        return conn.execute(sql.replace("%s", "?"), params).fetchall()


def verify(db: str, scenario: str, tally: Tally) -> dict:
    prefix = f"LWL-{scenario}-"
    sessions = {
        row[0]: (row[1], bool(row[2]), row[3])
        for row in query(
            db,
            "SELECT s.id, s.status, o.id IS NOT NULL, s.incident_ref FROM triage_triagesession s "
            "LEFT JOIN triage_outcome o ON o.session_id = s.id WHERE s.incident_ref LIKE %s",
            [prefix + "%"],
        )
    }
    ids = list(sessions)
    rows = query(
        db,
        "SELECT session_id, token, kind, count(*) OVER (PARTITION BY session_id, token) "
        f"FROM triage_triagestep WHERE session_id IN ({', '.join(['%s'] * len(ids)) or 'NULL'})",
        ids,
    )
    # Tokens are UUIDs on PostgreSQL and 32 hex digits on SQLite.
    stored = {(s, uuid.UUID(str(t))): (kind, n) for s, t, kind, n in rows}
    duplicated = sum(1 for _kind, n in stored.values() if n > 1)
    finishes = Counter(s for s, _t, kind, _n in rows if kind == "finish")
    duplicated += sum(1 for n in finishes.values() if n > 1)
    starts = Counter(ref for _status, _finished, ref in sessions.values())
    duplicated += sum(1 for n in starts.values() if n > 1)  # one start, two sessions
    lost = [key for key in tally.acked_steps if key not in stored]
    wrong_kind = [
        key for key, kind in tally.acked_steps.items() if key in stored and stored[key][0] != kind
    ]
    unfinished = [
        s
        for s in tally.finished
        if s not in sessions or sessions[s][0] != "finished" or not sessions[s][1]
    ]
    lost_sessions = [s for s in tally.acked_sessions if s not in sessions]
    return {
        "sessions_acked": len(tally.acked_sessions),
        "sessions_finished_acked": len(tally.finished),
        "steps_acked": len(tally.acked_steps),
        "steps_stored": len(tally.acked_steps) - len(lost),
        "lost": len(lost) + len(unfinished) + len(lost_sessions),
        "lost_detail": {
            "steps": [f"{s}/{t}" for s, t in lost[:20]],
            "finished_without_outcome": unfinished[:20],
            "sessions": lost_sessions[:20],
        },
        "wrong_kind": len(wrong_kind),
        "duplicated": duplicated,
        "stored_not_acked": len(set(stored) - set(tally.acked_steps)),
        "extra_sessions": len(set(sessions) - tally.acked_sessions),
        "double_submits": tally.double_submits,
    }


def classify_errors(tally: Tally, window) -> dict:
    inside = outside = outside_5xx = 0
    for sent, failed, what in tally.errors:
        if window and failed >= window[0] and sent <= window[1]:
            inside += 1
        else:
            outside += 1
            outside_5xx += what.startswith("HTTP 5")
    return {
        "errors_during_outage": inside,
        "errors_outside_outage": outside,
        "http_5xx_outside_outage": outside_5xx,
        "error_kinds": dict(Counter(re.sub(r" on .*", "", w) for _s, _f, w in tally.errors)),
    }


# --------------------------------------------------------------------------- main


def run_scenario(name, args, server, password, runbooks) -> dict:
    log(f"scenario {name}: {args.clients} engineers for {args.duration} s")
    tally = Tally()
    start = time.monotonic()
    deadline = start + args.duration
    clients = [
        Engineer(i, server.port, password, runbooks, tally, name, deadline, seed=f"{name}-{i}")
        for i in range(args.clients)
    ]
    fault = None
    if name != "baseline":
        fault = Fault(name, server, start + 0.3 * args.duration)
        fault.start()
    for c in clients:
        c.start()
    for c in clients:
        c.join(args.duration + MAX_RETRY_SECONDS + 30)
    if fault is not None:
        fault.join(150)
    ensure_postgres_running()
    server.wait_healthy(60)
    result = verify(args.db, name, tally)
    window = fault.window() if fault else None
    result.update(classify_errors(tally, window))
    result["unexpected_4xx"] = len(tally.unexpected_4xx)
    result["unexpected_4xx_detail"] = tally.unexpected_4xx[:10]
    result["clients_gave_up"] = tally.gave_up
    result["client_failures"] = [c.failure for c in clients if c.failure]
    result["still_running"] = sum(c.is_alive() for c in clients)
    if fault is not None:
        result["fault"] = fault.detail
        result["recovery_s"] = (
            round(fault.recovered - fault.started, 2) if fault.recovered else None
        )
    result["seconds"] = round(time.monotonic() - start, 1)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--duration", type=int, default=20, help="seconds per scenario")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runbooks", type=int, default=20)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--db", default="fieldguide_lwl")
    parser.add_argument(
        "--database",
        choices=("postgresql", "sqlite"),
        default="postgresql",
        help="sqlite: a fresh file in a temporary folder (no restart-postgres scenario)",
    )
    args = parser.parse_args()
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = set(scenarios) - set(SCENARIOS)
    if unknown:
        sys.exit(f"unknown scenarios: {', '.join(sorted(unknown))}")
    if args.database == "sqlite":
        scenarios = [s for s in scenarios if s != "restart-postgres"]
        folder = tempfile.mkdtemp(prefix="fieldguide-lwl-")
        args.db = str(Path(folder) / "lwl.sqlite3")
    if "restart-postgres" in scenarios and os.geteuid() != 0:
        sys.exit("restart-postgres needs root (pg_ctlcluster)")
    _stack.install_signal_handlers()
    password = secrets.token_urlsafe(16)
    server = None
    results: dict = {
        "machine": _stack.machine(),
        "database": args.database,
        "clients": args.clients,
        "duration_s": args.duration,
        "gunicorn_workers": args.workers,
        "scenarios": {},
    }
    try:
        ensure_postgres_running()
        if args.database == "sqlite":
            env = _stack.production_env("unused", DATABASE_URL=f"sqlite:///{args.db}")
        else:
            log(f"creating database {args.db}")
            _stack.create_database(args.db)
            env = _stack.production_env(args.db)
        results["conn_max_age"] = env.get("DJANGO_CONN_MAX_AGE", "60 (default)")
        _stack.manage(env, "migrate", "-v0")
        _stack.manage(
            env,
            "generate_load_data",
            f"--runbooks={args.runbooks}",
            "--sessions=0",
            "--quiet",
        )
        _stack.manage(env, "collectstatic", "--noinput", "-v0")
        code = SETUP_CODE.replace("CLIENTS", str(args.clients)).replace("PASSWORD", repr(password))
        runbooks = _stack.django_json(env, code)["runbooks"]
        log(f"starting gunicorn ({args.workers} workers)")
        server = Gunicorn(env, workers=args.workers).start()
        for name in scenarios:
            results["scenarios"][name] = run_scenario(name, args, server, password, runbooks)
        # Outcomes update the learned statistics in their transaction; a rebuild from the
        # stored sessions must agree with what was kept incrementally under concurrency.
        line = _stack.manage(env, "rebuild_rankings", capture=True).strip()
        drift = re.search(r"largest difference (\S+) \((\w+)", line)
        results["ranking_rebuild"] = {
            "output": line,
            "drift": float(drift.group(1)) if drift else None,
            "agrees": bool(drift and drift.group(2) == "agrees"),
        }
    finally:
        ensure_postgres_running()
        if server is not None:
            server.stop()
        if args.database == "sqlite":
            shutil.rmtree(Path(args.db).parent, ignore_errors=True)
        else:
            log(f"dropping database {args.db}")
            try:
                _stack.drop_database(args.db)
            except Exception as exc:  # noqa: BLE001 - report, do not mask the real error
                log(f"could not drop {args.db}: {exc}")
    print_table(results)
    path = _stack.write_results("load_without_loss.json", results)
    print(f"written {path.relative_to(_stack.ROOT)}")
    failed = [
        name
        for name, r in results["scenarios"].items()
        if r["lost"]
        or r["duplicated"]
        or r["wrong_kind"]
        or r["errors_outside_outage"]
        or r["client_failures"]
        or r["still_running"]
    ]
    rebuild = results.get("ranking_rebuild")
    if rebuild and not rebuild["agrees"]:
        failed.append("ranking statistics (concurrent outcomes lost updates)")
    if failed:
        print(f"FAILED: {', '.join(failed)}")
        return 1
    return 0


def print_table(results: dict) -> None:
    print(
        f"\nLoad without loss: {results['clients']} engineers × {results['duration_s']} s per "
        f"scenario, gunicorn {results['gunicorn_workers']} sync workers, "
        f"{'SQLite' if results.get('database') == 'sqlite' else 'PostgreSQL'}"
    )
    header = (
        f"{'scenario':<17} {'sessions':>8} {'acked':>6} {'stored':>6} {'lost':>4} {'dup':>4} "
        f"{'5xx':>4} {'outage errs':>11} {'recovery s':>10} {'extra sess':>10} {'2x posts':>8}"
    )
    print(header)
    for name, r in results["scenarios"].items():
        recovery = r.get("recovery_s")
        print(
            f"{name:<17} {r['sessions_acked']:>8} {r['steps_acked']:>6} {r['steps_stored']:>6} "
            f"{r['lost']:>4} {r['duplicated']:>4} {r['http_5xx_outside_outage']:>4} "
            f"{r['errors_during_outage']:>11} {'-' if recovery is None else recovery:>10} "
            f"{r['extra_sessions']:>10} {r['double_submits']:>8}"
        )
    rebuild = results.get("ranking_rebuild")
    if rebuild:
        print(f"ranking statistics after all scenarios, rebuild_rankings: {rebuild['output']}")
    for name, r in results["scenarios"].items():
        notes = []
        if r.get("fault"):
            notes.append(r["fault"])
        if r["error_kinds"]:
            notes.append(f"errors seen: {r['error_kinds']}")
        if r["unexpected_4xx"]:
            notes.append(f"unexpected 4xx: {r['unexpected_4xx_detail']}")
        if r["client_failures"]:
            notes.append(f"client failures: {r['client_failures']}")
        if notes:
            print(f"  {name}: " + "; ".join(str(n) for n in notes))


if __name__ == "__main__":
    sys.exit(main())
