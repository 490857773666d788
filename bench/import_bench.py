"""Import 1,000 runbook files with ``manage.py import_runbooks``: wall time and peak memory.

    .venv/bin/python bench/import_bench.py [--files 1000] [--seed 1]

Writes the generated runbooks (``triage.load_data_text``: the seed's plain form and the
Markdown source form, in category folders) to a temporary folder, migrates a fresh SQLite
database, then runs ``import_runbooks`` on the folder in a subprocess, twice: the first run
creates every runbook, the second finds them all unchanged. Wall time is measured around
the subprocess, peak RSS is that subprocess's own (``os.wait4``). Prints a table and writes
bench/results/import.json.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import _stack  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    from triage.load_data_text import runbook_files

    results: dict = {"machine": _stack.machine(), "files": args.files, "runs": []}
    with tempfile.TemporaryDirectory(prefix="fieldguide-import-") as tmp:
        folder = Path(tmp) / "runbooks"
        size = 0
        for f in runbook_files(args.files, args.seed):
            path = folder / f.path
            path.parent.mkdir(parents=True, exist_ok=True)
            data = f.text.encode("utf-8")
            path.write_bytes(data)
            size += len(data)
        results["megabytes"] = round(size / 1e6, 2)
        env = dict(os.environ)
        env.update(DATABASE_URL=f"sqlite:///{tmp}/import.sqlite3", DJANGO_DEBUG="1")
        env.pop("DJANGO_SETTINGS_MODULE", None)
        subprocess.run(
            [_stack.PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True
        )
        results["load_average_before"] = _stack.load_average()
        for label in ("first import (creates)", "re-import (unchanged)"):
            run = timed([_stack.PYTHON, "manage.py", "import_runbooks", str(folder)], env)
            run["what"] = label
            results["runs"].append(run)
            if run["exit_code"] != 0:
                print(run["output"])
                return 1
    print_table(results)
    path = _stack.write_results("import.json", results)
    print(f"written {path.relative_to(ROOT)}")
    return 0


def timed(cmd: list[str], env: dict) -> dict:
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    output = proc.stdout.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "seconds": round(elapsed, 2),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # ru_maxrss is in KiB on Linux
        "exit_code": proc.returncode,
        "output": output.strip().splitlines()[-1] if output.strip() else "",
    }


def print_table(results: dict) -> None:
    print(
        f"\nImport of {results['files']:,} runbook files ({results['megabytes']} MB) into SQLite "
        f"({results['machine']['cpus']} × {results['machine']['cpu_model']})"
    )
    print(f"{'run':<26} {'seconds':>8} {'cpu s':>7} {'files/s':>8} {'peak RSS MB':>12}")
    for run in results["runs"]:
        rate = results["files"] / run["seconds"] if run["seconds"] else 0
        print(
            f"{run['what']:<26} {run['seconds']:>8.2f} {run['cpu_seconds']:>7.2f} "
            f"{rate:>8.1f} {run['peak_rss_mb']:>12.1f}"
        )
    for run in results["runs"]:
        print(f"  {run['what']}: {run['output']}")
    print(f"load average before: {results['load_average_before']}")


if __name__ == "__main__":
    sys.exit(main())
