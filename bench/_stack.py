"""The production-ish stack the HTTP benchmarks run against: a throw-away PostgreSQL
database on 127.0.0.1:5432, ``manage.py`` in a subprocess, gunicorn, and a small cookie-aware
HTTP client. Shared by bench/http_bench.py and bench/load_without_loss.py.

Everything talks to 127.0.0.1 only. Nothing here is collected by pytest (the file name
starts with an underscore and bench/ is outside ``testpaths``).
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable
GUNICORN = str(VENV_BIN / "gunicorn") if (VENV_BIN / "gunicorn").exists() else "gunicorn"
PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def machine() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return {"cpus": os.cpu_count(), "cpu_model": model, "memory_gb": round(mem_gb, 1)}


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def cpu_seconds() -> dict[str, float]:
    """CPU seconds (user + system) used so far by this machine's gunicorn processes ("app")
    and PostgreSQL server processes ("database"), from /proc (Linux): read before and after
    a load to split its cost per request between Python and the database."""
    tick = os.sysconf("SC_CLK_TCK")
    used = {"app": 0.0, "database": 0.0}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited meanwhile
        kind = "app" if b"gunicorn" in command else "database" if b"postgres" in command else ""
        if kind:
            used[kind] += (int(fields[11]) + int(fields[12])) / tick
    return used


# --------------------------------------------------------------------------- PostgreSQL


def _admin_connection():
    import psycopg

    return psycopg.connect(
        host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True
    )


def database_url(name: str) -> str:
    return f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


def database_exists(name: str) -> bool:
    with _admin_connection() as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    return row is not None


def create_database(name: str) -> None:
    drop_database(name)
    with _admin_connection() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(name: str) -> None:
    with _admin_connection() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def vacuum_analyze(name: str) -> None:
    """``VACUUM (ANALYZE)`` the whole database: what autovacuum does soon after a bulk load
    in production (dead row versions, GIN pending lists, visibility map). Needs autocommit."""
    import psycopg

    with psycopg.connect(
        host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=name, autocommit=True
    ) as conn:
        conn.execute("VACUUM (ANALYZE)")


def pg_query(name: str, sql: str, params=None) -> list[tuple]:
    import psycopg

    with psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=name) as conn:
        return conn.execute(sql, params or []).fetchall()


# --------------------------------------------------------------------------- Django


def production_env(db_name: str, **extra: str) -> dict[str, str]:
    """Production settings on plain HTTP over loopback.

    DJANGO_DEBUG=0 switches on the hardening (config/settings.py). Of that, only the SSL
    redirect stops plain HTTP on 127.0.0.1 from working, so it is turned off here, as it
    is behind a TLS-terminating proxy; secure cookies stay on (these clients send cookies
    themselves).
    """
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url(db_name),
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_SECURE_SSL_REDIRECT="0",
        # Production runs with a shared cache (README "Running in production").
        FIELDGUIDE_CACHE_URL=os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/3"),
        # config.settings plus console logging of 500s (bench/_bench_settings.py).
        DJANGO_SETTINGS_MODULE="_bench_settings",
        PYTHONPATH=os.pathsep.join(
            p for p in (str(ROOT), str(ROOT / "bench"), os.environ.get("PYTHONPATH")) if p
        ),
    )
    env.update(extra)
    return env


def manage(env: dict, *args: str, capture: bool = False) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=False,
        text=True,
        stdout=subprocess.PIPE if capture else None,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args[:2])} failed with {result.returncode}")
    return result.stdout or ""


def django_json(env: dict, code: str) -> dict:
    """Run ``code`` in ``manage.py shell``; it must print one JSON object last."""
    out = manage(env, "shell", "-c", code, capture=True)
    return json.loads(out.strip().splitlines()[-1])


# --------------------------------------------------------------------------- gunicorn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """``gunicorn config.wsgi`` on 127.0.0.1 with sync workers, stopped by ``stop()``."""

    def __init__(self, env: dict, *, workers: int = 2, port: int = 0, timeout: int = 30):
        self.env, self.workers, self.timeout = env, workers, timeout
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None
        self.log_path = RESULTS / f"gunicorn-{self.port}.log"

    def start(self) -> Gunicorn:
        RESULTS.mkdir(parents=True, exist_ok=True)
        self.log_file = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [
                GUNICORN,
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(self.workers),
                "--timeout",
                str(self.timeout),
                "--graceful-timeout",
                "5",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C in the terminal reaches us, not gunicorn
        )
        self.wait_healthy(60)
        return self

    def wait_healthy(self, seconds: float) -> float:
        """Seconds until /healthz answered 200; raises after ``seconds``."""
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.log_path}")
            try:
                status, _h, _b = request("GET", self.port, "/healthz", timeout=2)
                if status == 200:
                    return time.monotonic() - start
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn not healthy after {seconds} s; see {self.log_path}")

    def worker_pids(self) -> list[int]:
        if self.proc is None:
            return []
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == self.proc.pid:
                pids.append(int(entry.name))
        return sorted(pids)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.log_file.close()


# --------------------------------------------------------------------------- HTTP


def request(
    method: str,
    port: int,
    path: str,
    *,
    body: bytes | None = None,
    headers: dict | None = None,
    timeout: float = 30,
) -> tuple[int, http.client.HTTPMessage, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


class Browser:
    """Cookies and CSRF the way a browser handles them, over http.client."""

    def __init__(self, port: int, timeout: float = 30):
        self.port, self.timeout = port, timeout
        self.cookies: dict[str, str] = {}

    def _headers(self, extra: dict | None) -> dict:
        headers = {"Host": "127.0.0.1"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        headers.update(extra or {})
        return headers

    def _remember(self, headers: http.client.HTTPMessage) -> None:
        for value in headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0].strip()

    def get(self, path: str, headers: dict | None = None):
        status, h, body = request(
            "GET", self.port, path, headers=self._headers(headers), timeout=self.timeout
        )
        self._remember(h)
        return status, h, body

    def post(self, path: str, fields: dict, headers: dict | None = None):
        data = dict(fields)
        data.setdefault("csrfmiddlewaretoken", self.cookies.get("csrftoken", ""))
        extra = {"Content-Type": "application/x-www-form-urlencoded"}
        extra.update(headers or {})
        body = urllib.parse.urlencode(data).encode()
        status, h, payload = request(
            "POST", self.port, path, body=body, headers=self._headers(extra), timeout=self.timeout
        )
        self._remember(h)
        return status, h, payload

    def login(self, username: str, password: str) -> None:
        self.get("/accounts/login/")
        status, headers, _ = self.post(
            "/accounts/login/", {"username": username, "password": password}
        )
        if status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"login as {username} failed: HTTP {status}")

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())


def write_results(name: str, data: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / name
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


class Interrupted(KeyboardInterrupt):
    pass


def install_signal_handlers() -> None:
    """SIGTERM/SIGINT raise, so ``finally`` blocks stop gunicorn and drop the database."""

    def handler(signum, _frame):
        raise Interrupted(f"signal {signum}")

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
