"""A believable incident history for the demo, made through the real triage services.

Engineers follow the recommended next check; a hidden truth per runbook decides what they
find. The founding runbook's truth disagrees with its author, so the demo has a re-rank
proposal to look at.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta

from django.contrib.auth.models import Group, User
from django.utils import timezone

from kb.models import Runbook
from triage.flow import FlowStep, progress
from triage.learning import flow_runbook, runbook_learning
from triage.services import (
    OutcomeInput,
    StepInput,
    session_finish,
    session_set_abandoned,
    session_start,
    step_record,
)

EXTRA_ENGINEERS = ["sam", "priya", "tomas", "ines"]
FOUNDING = "000_131d5d6a3ce7968b"


def generate_history(*, sessions: int = 300, days: int = 180, seed: int = 7) -> int:
    rng = random.Random(seed)
    engineers = _engineers()
    runbooks = [
        rb
        for rb in Runbook.objects.with_parts().order_by("slug")
        if rb.active_causes().exists() and rb.active_checks().exists()
    ]
    if not runbooks or not engineers:
        return 0
    weights = [6 if rb.slug == FOUNDING else 3 if rb.category == "cloud" else 1 for rb in runbooks]
    truths = {rb.pk: _truth(rb, rng) for rb in runbooks}
    start = timezone.now() - timedelta(days=days)
    made = 0
    for i in range(sessions):
        at = start + timedelta(days=days * i / sessions, minutes=rng.randint(0, 600))
        runbook = rng.choices(runbooks, weights=weights)[0]
        unfinished = i >= sessions - 4
        _one_session(runbook, rng.choice(engineers), at, truths[runbook.pk], rng, unfinished)
        made += 1
    return made


def _engineers() -> list[User]:
    group = Group.objects.filter(name="engineer").first()
    users = []
    for name in EXTRA_ENGINEERS:
        user, created = User.objects.get_or_create(username=name)
        if created:
            user.set_unusable_password()
            user.save()
        if group:
            user.groups.add(group)
        users.append(user)
    users += list(User.objects.filter(username__in=["engineer", "editor", "lead"]))
    return users


def _truth(runbook: Runbook, rng: random.Random) -> list[float]:
    """Hidden cause frequencies in authored order: roughly the author's, except the
    founding runbook, whose least expected cause is in fact the most common."""
    n = len(list(runbook.active_causes()))
    shape = [1.0 / (k + 1) for k in range(n)]
    if runbook.slug == FOUNDING:
        shape = shape[::-1]
    noisy = [w * rng.uniform(0.7, 1.3) for w in shape]
    return [w / sum(noisy) for w in noisy]


def _one_session(runbook, user, at: datetime, truth, rng: random.Random, unfinished: bool):
    causes = list(runbook.active_causes())
    true_cause = rng.choices(causes, weights=truth)[0]
    session = session_start(
        runbook=runbook, user=user, at=at, incident_ref=f"INC-{rng.randint(1000, 9999)}"
    )
    clock = at
    flow_steps: list[FlowStep] = []

    def record(answer: StepInput) -> None:
        nonlocal clock
        clock += timedelta(minutes=rng.uniform(0.3, 2.0))
        step_record(session=session, user=user, token=uuid.uuid4(), answer=answer, at=clock)

    if runbook.not_the_issue_condition:
        record(StepInput(kind="gate", gate_holds=False))
        flow_steps.append(FlowStep(kind="gate", runbook_id=runbook.pk, gate_holds=False))
    patterns = [p for p in runbook.patterns.all() if not p.retired]
    matching = [p for p in patterns if true_cause.pk in {k.cause_id for k in p.cause_links.all()}]
    pattern = rng.choice(matching) if matching and rng.random() < 0.75 else None
    record(StepInput(kind="pattern", pattern_id=pattern.pk if pattern else None))
    flow_steps.append(
        FlowStep(kind="pattern", runbook_id=runbook.pk, pattern_id=pattern.pk if pattern else None)
    )
    flow = flow_runbook(runbook, runbook_learning(runbook, now=at))
    checks = {c.pk: c for c in runbook.checks.all()}
    found = None
    for _ in range(6):
        state = progress(flow, flow_steps)
        if state.next_check is None:
            break
        cause_id, check_id = state.next_check
        check = checks[check_id]
        linked = {k.cause_id for k in check.cause_links.all()}
        # A linked check usually shows its cause; a general one (logs, diffs) often does.
        if (true_cause.pk in linked and rng.random() < 0.9) or (not linked and rng.random() < 0.5):
            result, cause_id = "confirms", true_cause.pk
        elif cause_id != true_cause.pk and rng.random() < 0.85:
            result = "rules_out"
        else:
            result = "inconclusive"
        spent = round(check.minutes * rng.uniform(0.5, 1.8), 1)
        clock += timedelta(minutes=spent)
        record(
            StepInput(
                kind="check", check_id=check_id, cause_id=cause_id, result=result, minutes=spent
            )
        )
        flow_steps.append(
            FlowStep(
                kind="check",
                runbook_id=runbook.pk,
                check_id=check_id,
                cause_id=cause_id,
                result=result,
            )
        )
        if result == "confirms":
            found = cause_id
            break
    if unfinished:
        if rng.random() < 0.5:
            session_set_abandoned(session=session, user=user, token=uuid.uuid4(), abandoned=True)
        return
    fixes = [f for f in runbook.fix_patterns.all() if not f.retired]
    if found:
        linked_fixes = [f for f in fixes if found in {k.cause_id for k in f.cause_links.all()}]
        fix = rng.choice(linked_fixes or fixes) if fixes else None
        outcome = OutcomeInput(
            resolution="resolved" if rng.random() < 0.8 else "rolled_back",
            cause_id=found,
            fix_id=fix.pk if fix else None,
        )
    elif rng.random() < 0.6:
        written_in = ["Upstream provider outage", "Kernel bug on one node pool", "Expired LB cert"]
        outcome = OutcomeInput(resolution="escalated", cause_text=rng.choice(written_in))
    else:
        outcome = OutcomeInput(resolution=rng.choice(["not_a_regression", "abandoned"]))
    session_finish(session=session, user=user, token=uuid.uuid4(), outcome=outcome, at=clock)
