"""Re-rank proposals and warning flags for leads (DESIGN.md §6).

Nothing is reordered silently: a lead accepts a proposal, which writes a new revision of the
runbook's Markdown with the learned order; or dismisses it until the learned order changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from kb.exporting import runbook_to_parsed
from kb.markdown_io import parse_runbook, render_runbook
from kb.models import Runbook
from kb.services import runbook_save_parsed
from triage.learning import RunbookLearning, runbook_learning
from triage.models import CheckStat, Outcome, RankingDismissal, RunbookStat

NEVER_CONFIRMED_SESSIONS = 20
UNLISTED_WINDOW = 20
NON_DISCRIMINATING_RUNS = 10


@dataclass
class Proposal:
    runbook: Runbook
    authored: list[str]  # cause titles in authored order
    learned: list[str]  # cause titles in learned order
    learned_keys: list[str]
    check_order: list[str]  # check keys, learned greedy order
    probabilities: dict[str, float]
    sessions: int
    evidence: float
    minutes_saved: float  # expected minutes to diagnosis saved per incident
    flags: list[str] = field(default_factory=list)

    @property
    def signature(self) -> str:
        return ",".join(self.learned_keys + ["|"] + self.check_order)


def min_evidence() -> float:
    return float(getattr(settings, "FIELDGUIDE_PROPOSAL_MIN_SESSIONS", 10))


def proposal_for(runbook: Runbook, learned: RunbookLearning | None = None) -> Proposal | None:
    """A proposal when enough (decayed) evidence orders causes or checks differently."""
    learned = learned or runbook_learning(runbook)
    overall = learned.overall
    causes = {c.key: c for c in runbook.causes.all() if not c.retired}
    checks = [c for c in runbook.checks.all() if not c.retired]
    probs = {c.key: c.probability for c in overall.causes}
    check_keys = [c.key for c in checks]
    check_order = learned.learned.check_order(check_keys)
    cause_order_differs = overall.learned_order != overall.authored_order
    enough = overall.evidence >= min_evidence() and learned.use_learned
    if not enough or not (cause_order_differs or check_order != check_keys):
        return None
    saved = learned.saving
    proposal = Proposal(
        runbook=runbook,
        authored=[causes[k].title for k in overall.authored_order],
        learned=[causes[k].title for k in overall.learned_order],
        learned_keys=overall.learned_order,
        check_order=check_order,
        probabilities=probs,
        sessions=overall.sessions,
        evidence=overall.evidence,
        minutes_saved=saved,
    )
    if RankingDismissal.objects.filter(runbook=runbook, learned_order=proposal.signature).exists():
        return None
    return proposal


def flags_for(runbook: Runbook, learned: RunbookLearning | None = None) -> list[str]:
    """Warnings a lead should look at, in plain words."""
    learned = learned or runbook_learning(runbook)
    flags = []
    sessions = learned.overall.sessions
    if sessions >= NEVER_CONFIRMED_SESSIONS:
        for cause in learned.overall.causes:
            if cause.confirmations == 0:
                title = next(c.title for c in runbook.causes.all() if c.key == cause.key)
                flags.append(f"“{title}” was never confirmed in {sessions} sessions.")
    recent = list(
        Outcome.objects.filter(session__runbook=runbook)
        .exclude(cause__isnull=True, cause_text="")
        .order_by("-recorded_at")
        .values_list("cause__runbook_id", "cause_text")[: 2 * UNLISTED_WINDOW]
    )
    if len(recent) >= UNLISTED_WINDOW + 5:

        def unlisted_share(rows) -> float:
            return sum(1 for rb, text in rows if rb != runbook.pk) / len(rows)

        newer, older = recent[:UNLISTED_WINDOW], recent[UNLISTED_WINDOW:]
        if unlisted_share(newer) >= 0.25 and unlisted_share(newer) > unlisted_share(older) + 0.1:
            flags.append(
                f"Unlisted causes are rising: {unlisted_share(newer):.0%} of the last "
                f"{UNLISTED_WINDOW} diagnosed sessions, up from {unlisted_share(older):.0%}."
            )
    for stat in CheckStat.objects.filter(
        check_item__runbook=runbook, runs__gte=NON_DISCRIMINATING_RUNS, confirms=0, rules_out=0
    ).select_related("check_item"):
        flags.append(
            f"Check “{stat.check_item.title}” never discriminates: {stat.runs} runs, all "
            "inconclusive."
        )
    return flags


def proposals(limit: int = 50) -> list[Proposal]:
    """Runbooks with enough sessions to judge, most evidence first."""
    candidates = (
        RunbookStat.objects.filter(sessions__gte=min_evidence())
        .order_by("-sessions")
        .values_list("runbook_id", flat=True)[:limit]
    )
    found = []
    for runbook in Runbook.objects.with_parts().filter(pk__in=list(candidates)):
        learned = runbook_learning(runbook)
        proposal = proposal_for(runbook, learned)
        flags = flags_for(runbook, learned)
        if proposal is None and flags:
            proposal = Proposal(
                runbook, [], [], [], [], {}, learned.overall.sessions, learned.overall.evidence, 0.0
            )
        if proposal is not None:
            proposal.flags = flags
            found.append(proposal)
    return found


class StaleProposal(Exception):
    """The learned order changed since the lead looked at it."""


@transaction.atomic
def proposal_accept(*, runbook: Runbook, user: AbstractBaseUser, signature: str) -> Runbook:
    """Write a new revision with causes and checks in the learned order."""
    runbook = Runbook.objects.with_parts().select_for_update().get(pk=runbook.pk)
    proposal = proposal_for(runbook)
    if proposal is None or proposal.signature != signature:
        raise StaleProposal("The learned order has changed; review the new proposal.")
    parsed = runbook_to_parsed(runbook)
    cause_rank = {key: i for i, key in enumerate(proposal.learned_keys)}
    check_rank = {key: i for i, key in enumerate(proposal.check_order)}
    parsed.causes.sort(key=lambda c: cause_rank.get(c.key, len(cause_rank)))
    parsed.checks.sort(key=lambda c: check_rank.get(c.key, len(check_rank)))
    for check in parsed.checks:
        # Derived minutes follow position; pin each check's current estimate so
        # reordering does not change what a check is believed to cost.
        if check.minutes is None:
            check.minutes = next(k.minutes for k in runbook.checks.all() if k.key == check.key)
    text = render_runbook(parsed)
    reparsed = parse_runbook(text, slug=runbook.slug)
    saved, _status = runbook_save_parsed(
        parsed=reparsed,
        text=text,
        slug=runbook.slug,
        path=runbook.source_path,
        author=user,
        note=(
            f"Accepted learned ranking from {proposal.sessions} sessions "
            f"(~{proposal.minutes_saved:.1f} min saved per incident)"
        ),
    )
    return saved


@transaction.atomic
def proposal_dismiss(*, runbook: Runbook, user: AbstractBaseUser, signature: str) -> None:
    """Hide the proposal the lead saw (``signature``) until the learned order changes.

    Raises StaleProposal when that is not the current proposal (the order changed since, or
    the form was forged): only a signature the server made is ever stored."""
    runbook = Runbook.objects.with_parts().select_for_update().get(pk=runbook.pk)
    proposal = proposal_for(runbook)
    if proposal is None or proposal.signature != signature:
        raise StaleProposal("The learned order has changed; review the new proposal.")
    RankingDismissal.objects.create(runbook=runbook, learned_order=signature, dismissed_by=user)
