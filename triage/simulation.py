"""Simulated incidents that prove the learning loop (issue 5).

A hidden true world (cause frequencies, check costs, detection) generates incidents two
days apart. Each incident runs through the same service functions real sessions use —
``session_start``, ``step_record``, ``session_finish`` — with an engineer who follows the
recommended next check. Per incident the expected cost of resolution (ECR, minutes) of three
check orders is evaluated against the truth: the authored order, the order the system would
recommend at that moment (learned), and the oracle (greedy on the true parameters).

Everything runs in one transaction that is rolled back, so the database is untouched.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.contrib.auth.models import Group, User
from django.db import transaction

from kb.models import Runbook
from kb.services import runbook_import
from triage import ranking
from triage.flow import FlowStep, progress
from triage.learning import flow_runbook, runbook_learning
from triage.services import OutcomeInput, StepInput, session_finish, session_start, step_record

WORLDS = ("faithful", "inverted", "drift")
CAUSES = ["Bad config push", "Expired credentials", "Full disk", "Noisy neighbour", "DNS failure"]
AUTHORED_MINUTES = [5, 5, 5, 5, 5]
TRUE_MINUTES = [4.0, 6.0, 5.0, 7.0, 3.0]
INCIDENT_SPACING = timedelta(days=2)
START = datetime(2025, 1, 1, 9, 0, tzinfo=UTC)
WINDOW = 20


def simulation_runbook_text() -> str:
    keys = [f"check-for-{title.lower().replace(' ', '-')}" for title in CAUSES]
    cause_keys = [title.lower().replace(" ", "-") for title in CAUSES]
    links = "\n".join(f"    {k}: [{c}]" for k, c in zip(keys, cause_keys, strict=True))
    lines = [
        "---",
        "slug: simulation/service-failure",
        "cause_links:",
        "  checks:",
        links,
        "---",
        "# Debug: Simulated service failure",
        "",
        "A synthetic runbook for the triage simulator: one check per cause.",
        "",
        "## Likely Causes (ranked by frequency)",
        "",
        *[f"- {title} — authored rank {i}" for i, title in enumerate(CAUSES, start=1)],
        "",
        "## First Checks (fastest signal first)",
        "",
        *[
            f"- Check for {title.lower()} (~{minutes} min)"
            for title, minutes in zip(CAUSES, AUTHORED_MINUTES, strict=True)
        ],
    ]
    return "\n".join(lines) + "\n"


def faithful_truth() -> list[float]:
    prior = ranking.dirichlet_prior(len(CAUSES), 1.0)
    return [a / sum(prior) for a in prior]


def true_frequencies(world: str, incident: int, incidents: int) -> list[float]:
    """Incident numbers are 1-based. ``drift`` turns faithful into inverted halfway."""
    faithful = faithful_truth()
    if world == "faithful":
        return faithful
    if world == "inverted":
        return faithful[::-1]
    return faithful if incident <= incidents // 2 else faithful[::-1]


def true_minutes(world: str) -> list[float]:
    return list(map(float, AUTHORED_MINUTES)) if world == "faithful" else list(TRUE_MINUTES)


@dataclass
class Window:
    start: int
    end: int
    authored: float
    learned: float
    oracle: float


@dataclass
class SimulationResult:
    world: str
    incidents: int
    seed: int
    windows: list[Window] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "world": self.world,
            "incidents": self.incidents,
            "seed": self.seed,
            "windows": [
                {
                    "start": w.start,
                    "end": w.end,
                    "ecr": {
                        "authored": round(w.authored, 3),
                        "learned": round(w.learned, 3),
                        "oracle": round(w.oracle, 3),
                    },
                }
                for w in self.windows
            ],
        }


class _Rollback(Exception):
    pass


def simulate(world: str, incidents: int, seed: int) -> SimulationResult:
    if world not in WORLDS:
        raise ValueError(f"world must be one of {', '.join(WORLDS)}")
    result = SimulationResult(world, incidents, seed)
    try:
        with transaction.atomic():
            _run(result)
            raise _Rollback
    except _Rollback:
        pass
    return result


def _run(result: SimulationResult) -> None:
    rng = random.Random(result.seed)
    engineer = User.objects.create(username=f"simulated-engineer-{uuid.uuid4().hex[:8]}")
    engineer.groups.set(Group.objects.filter(name="engineer"))
    runbook = runbook_import(
        text=simulation_runbook_text(), path="simulation/service-failure.md", author=engineer
    )
    runbook = Runbook.objects.with_parts().get(pk=runbook.pk)
    causes = list(runbook.active_causes())
    checks = list(runbook.active_checks())
    check_of = {c.key: c for c in checks}
    cause_of_check = {
        check.key: next(link.cause.key for link in check.cause_links.all()) for check in checks
    }
    minutes_true = dict(zip([c.key for c in checks], true_minutes(result.world), strict=True))
    detection_true = {
        (k, c.key): float(cause_of_check[k] == c.key) for k in check_of for c in causes
    }
    authored_order = [c.key for c in checks]
    per_incident: list[tuple[float, float, float]] = []

    for n in range(1, result.incidents + 1):
        at = START + (n - 1) * INCIDENT_SPACING
        freqs = true_frequencies(result.world, n, result.incidents)
        truth = {c.key: p for c, p in zip(causes, freqs, strict=True)}
        # The order the system recommends now: the learned one once it is credibly better.
        learned_order = runbook_learning(runbook, now=at).active.check_order(authored_order)
        oracle_order = ranking.greedy_order(authored_order, truth, detection_true, minutes_true)
        per_incident.append(
            tuple(
                ranking.expected_cost(order, truth, detection_true, minutes_true)
                for order in (authored_order, learned_order, oracle_order)
            )
        )
        true_cause = rng.choices([c.key for c in causes], weights=freqs)[0]
        _walk_incident(
            runbook, engineer, at, true_cause, check_of, cause_of_check, minutes_true, rng
        )

    for start in range(0, len(per_incident), WINDOW):
        chunk = per_incident[start : start + WINDOW]
        means = [sum(values) / len(chunk) for values in zip(*chunk, strict=True)]
        result.windows.append(Window(start + 1, start + len(chunk), *means))


def _walk_incident(runbook, engineer, at, true_cause, check_of, cause_of_check, minutes_true, rng):
    """One session, as an engineer following the recommendation would record it."""
    session = session_start(runbook=runbook, user=engineer, at=at)
    clock = at

    def record(answer: StepInput) -> None:
        step_record(session=session, user=engineer, token=uuid.uuid4(), answer=answer, at=clock)

    record(StepInput(kind="pattern", pattern_id=None))
    flow = flow_runbook(runbook, runbook_learning(runbook, now=at))
    steps = [FlowStep(kind="pattern", runbook_id=runbook.pk, pattern_id=None)]
    cause_key = {c.pk: c.key for c in runbook.causes.all()}
    check_key = {c.pk: c.key for c in runbook.checks.all()}
    found = None
    while found is None:
        state = progress(flow, steps)
        if state.next_check is None:
            break
        cause_id, check_id = state.next_check
        key = check_key[check_id]
        spent = minutes_true[key] * rng.uniform(0.8, 1.2)
        clock += timedelta(minutes=spent)
        confirmed = cause_of_check[key] == true_cause
        # The check answers about the cause it tests; the recommendation names that cause.
        tested = next(pk for pk, k in cause_key.items() if k == cause_of_check[key])
        result = "confirms" if confirmed else "rules_out"
        record(
            StepInput(
                kind="check",
                check_id=check_id,
                cause_id=tested,
                result=result,
                minutes=round(spent, 2),
            )
        )
        steps.append(
            FlowStep(
                kind="check",
                runbook_id=runbook.pk,
                check_id=check_id,
                cause_id=tested,
                result=result,
            )
        )
        if confirmed:
            found = tested
        del cause_id
    session_finish(
        session=session,
        user=engineer,
        token=uuid.uuid4(),
        outcome=OutcomeInput(
            resolution="resolved" if found else "escalated",
            cause_id=found,
            cause_text="" if found else "not in the runbook",
        ),
        at=clock,
    )
