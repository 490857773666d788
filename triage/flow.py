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
    cause_ids: tuple[int, ...]  # authored rank order
    pattern_causes: dict[int, tuple[int, ...]]
    check_ids: tuple[int, ...]  # authored order
    check_causes: dict[int, tuple[int, ...]]
    # Learned (triage.ranking); without them, authored order and uniform costs apply.
    probabilities: dict[int, dict[int, float]] = field(default_factory=dict)  # pattern → cause → p
    minutes: dict[int, float] = field(default_factory=dict)
    detection: dict[tuple[int, int], float] = field(default_factory=dict)  # (check, cause) → d

    def cause_probabilities(self, pattern_id: int) -> dict[int, float]:
        probs = self.probabilities.get(pattern_id) or self.probabilities.get(NONE_OF_THESE)
        if probs:
            return probs
        # Authored rank as a stand-in: 1/k, the shape of the prior.
        return {c: 1.0 / (i + 1) for i, c in enumerate(self.cause_ids)}

    def detects(self, check_id: int, cause_id: int) -> float:
        if (check_id, cause_id) in self.detection:
            return self.detection[(check_id, cause_id)]
        linked = cause_id in self.check_causes.get(check_id, ())
        general = not self.check_causes.get(check_id)
        return 0.9 if linked else (0.3 if general else 0.05)


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
    probabilities: dict[int, float] = field(default_factory=dict)  # candidates, renormalised
    next_minutes: float | None = None
    next_efficiency: float | None = None

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
    learned = runbook.cause_probabilities(state.pattern_id)
    order = {c: i for i, c in enumerate(runbook.cause_ids)}
    state.candidates = sorted(
        (c for c in runbook.cause_ids if c in in_pattern and c not in state.ruled_out),
        key=lambda c: (-learned.get(c, 0.0), order[c]),
    )
    # Within the session, ruled-out causes drop and the rest renormalise (DESIGN.md §6).
    total = sum(learned.get(c, 0.0) for c in state.candidates)
    state.probabilities = {
        c: (learned.get(c, 0.0) / total if total else 0.0) for c in state.candidates
    }
    if not state.confirmed:
        _recommend(runbook, state)
    return state


def _recommend(runbook: FlowRunbook, state: Progress) -> None:
    """The next check: highest sum_c p_c * d_ic / minutes_i among checks not yet run."""
    done = {check for (_cause, check) in state.results}
    best: tuple[float, int, int, int] | None = None
    for position, check in enumerate(runbook.check_ids):
        if check in done:
            continue
        minutes = max(runbook.minutes.get(check, 1.0), 1e-6)
        found = {c: p * runbook.detects(check, c) for c, p in state.probabilities.items()}
        if not found or max(found.values()) <= 0:
            continue
        score = sum(found.values()) / minutes
        cause = max(found, key=lambda c: (found[c], -state.candidates.index(c)))
        key = (score, -position, check, cause)
        if best is None or key[:2] > best[:2]:
            best = key
    if best is not None:
        score, _pos, check, cause = best
        state.next_check = (cause, check)
        state.next_minutes = runbook.minutes.get(check)
        state.next_efficiency = score


def _any(results: dict[tuple[int, int], str], cause: int, result: str) -> bool:
    return any(c == cause and r == result for (c, _k), r in results.items())
