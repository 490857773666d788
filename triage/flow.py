"""Where a triage session stands, from its steps. Pure: plain data in, plain data out.

The guided form (DESIGN.md §5) asks one question at a time in the runbook the engineer is
in now: the gate, then the pattern, then checks for the most likely remaining cause. Later
answers to the same question win; the steps they replace stay in the timeline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

GATE, PIVOT, PATTERN, CHECKS = "gate", "pivot", "pattern", "checks"
NONE_OF_THESE = 0  # pattern id recorded as "none of these"


@dataclass(frozen=True)
class FlowStep:
    kind: str
    runbook_id: int
    gate_holds: bool | None = None
    pattern_id: int | None = None
    check_id: int | None = None
    cause_id: int | None = None
    result: str = ""
    target_id: int | None = None


@dataclass(frozen=True)
class FlowRunbook:
    id: int
    has_gate: bool
    cause_ids: tuple[int, ...]  # most likely first
    pattern_causes: dict[int, tuple[int, ...]]
    check_ids: tuple[int, ...]  # recommended order
    check_causes: dict[int, tuple[int, ...]]


@dataclass
class Progress:
    stage: str
    gate_holds: bool | None = None
    pattern_id: int | None = None  # NONE_OF_THESE for "none of these"
    candidates: list[int] = field(default_factory=list)  # causes still possible, best first
    ruled_out: list[int] = field(default_factory=list)
    confirmed: list[int] = field(default_factory=list)
    results: dict[tuple[int, int], str] = field(default_factory=dict)  # (cause, check) → result
    next_check: tuple[int, int] | None = None  # (cause, check)

    @property
    def best_guess(self) -> int | None:
        if self.confirmed:
            return self.confirmed[-1]
        return self.candidates[0] if self.candidates else None


def runbook_stack(start_id: int, steps: Sequence[FlowStep]) -> list[int]:
    """The runbooks drilled through, the current one last. Pivots move the whole session."""
    stack = [start_id]
    for step in steps:
        if step.kind == "drill" and step.target_id is not None:
            stack.append(step.target_id)
        elif step.kind == "return" and len(stack) > 1:
            stack.pop()
        elif step.kind == "pivot" and step.target_id is not None:
            stack = [step.target_id]
    return stack


def checks_for(runbook: FlowRunbook, cause_id: int) -> list[int]:
    """Checks that can confirm the cause, in recommended order. A cause no check is linked
    to gets the general checks (linked to no cause), or failing that every check."""
    linked = [c for c in runbook.check_ids if cause_id in runbook.check_causes.get(c, ())]
    general = [c for c in runbook.check_ids if not runbook.check_causes.get(c)]
    return linked or general or list(runbook.check_ids)


def progress(runbook: FlowRunbook, steps: Sequence[FlowStep]) -> Progress:
    """The state of the questions in one runbook, from the steps taken in it."""
    mine = [s for s in steps if s.runbook_id == runbook.id]
    gate = next((s.gate_holds for s in reversed(mine) if s.kind == "gate"), None)
    pattern_step = next((s for s in reversed(mine) if s.kind == "pattern"), None)
    results: dict[tuple[int, int], str] = {}
    for s in mine:
        if s.kind == "check" and s.cause_id is not None and s.check_id is not None:
            results[(s.cause_id, s.check_id)] = s.result

    state = Progress(stage=GATE, gate_holds=gate, results=results)
    if runbook.has_gate and gate is None:
        return state
    if gate:
        state.stage = PIVOT
        return state
    if pattern_step is None:
        state.stage = PATTERN
        return state
    state.stage = CHECKS
    state.pattern_id = pattern_step.pattern_id or NONE_OF_THESE
    in_pattern = runbook.pattern_causes.get(state.pattern_id, ()) or runbook.cause_ids
    state.confirmed = [c for c in runbook.cause_ids if _any(results, c, "confirms")]
    state.ruled_out = [
        c for c in runbook.cause_ids if _any(results, c, "rules_out") and c not in state.confirmed
    ]
    state.candidates = [
        c for c in runbook.cause_ids if c in in_pattern and c not in state.ruled_out
    ]
    if not state.confirmed:
        for cause in state.candidates:
            remaining = [k for k in checks_for(runbook, cause) if (cause, k) not in results]
            if remaining:
                state.next_check = (cause, remaining[0])
                break
    return state


def _any(results: dict[tuple[int, int], str], cause: int, result: str) -> bool:
    return any(c == cause and r == result for (c, _k), r in results.items())
