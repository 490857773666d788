"""Seconds ``kb.diffing.line_diff`` takes on texts that were slow, and on an ordinary edit.

    .venv/bin/python bench/diff_bench.py

Cases: two texts of 12,000 short lines drawn from three (difflib alone: 11 s on the 2-core
machine); two of 2,000 such lines (the longest that difflib still diffs); a 4,000-line
runbook with two lines changed and 30 deleted. Prints seconds and lines added/removed.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kb.diffing import line_diff  # noqa: E402


def repeated(rng: random.Random, n: int) -> str:
    return "\n".join(rng.choice(["a", "b", ""]) for _ in range(n))


def main() -> None:
    rng = random.Random(2)
    edited = [rng.choice(["", "|---|---|", "- item", f"line {n}"]) for n in range(4_000)]
    after = list(edited)
    after[10], after[3_000] = "changed ten", "changed three thousand"
    del after[100:130]
    cases = [
        ("12,000 repeated short lines", repeated(rng, 12_000), repeated(rng, 12_000)),
        ("2,000 repeated short lines", repeated(rng, 2_000), repeated(rng, 2_000)),
        ("4,000-line runbook, a few edits", "\n".join(edited), "\n".join(after)),
    ]
    for name, old, new in cases:
        start = time.perf_counter()
        diff = line_diff(old, new)
        seconds = time.perf_counter() - start
        print(f"{name:<34} {seconds:6.3f} s  +{diff.added} -{diff.removed}")


if __name__ == "__main__":
    main()
