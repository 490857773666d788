"""Learning the ranking (DESIGN.md §6). Pure maths: no ORM, no settings, no clock.

Causes: a Dirichlet prior from the author's ranking, ``a_k = S * (1/k) / H_K`` plus an
"unlisted cause" bucket ``a_0``, updated by time-decayed counts of confirmed outcomes,
``p_k = (a_k + n_k) / (sum a + sum n)``. Per observed pattern the prior mass S is spread over
the causes that pattern links to.

Checks: minutes pulled from the authored estimate toward recorded durations; detection
``d_ic = P(check i confirms cause c)`` from a linked/unlinked prior and sessions where c was
confirmed and i was run. The next check is the one with the highest
``efficiency_i = sum_c p_c * d_ic / minutes_i`` (Kadane & Simon 1977; Heckerman, Breese &
Rommelse 1995), and ``expected_cost`` is the ECR of an order.

Decayed weights are stored as (weight, as_of): the weight is exact at ``as_of`` and decays by
``2 ** (-age / half_life)`` from there, so adding one observation is O(1) however many came
before.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

SECONDS_PER_DAY = 86400.0


@dataclass(frozen=True)
class RankingParams:
    prior_strength: float = 4.0  # S
    unlisted_prior: float = 0.5  # a_0
    half_life_days: float | None = 180.0  # None: evidence never fades
    pattern_unlinked_share: float = 0.1  # prior weight, relative, of causes a pattern skips
    minutes_prior_weight: float = 2.0  # the authored estimate counts as this many runs
    detection_linked: float = 0.9
    detection_unlinked: float = 0.05
    detection_prior_weight: float = 2.0
    # Follow the learned ranking only when the posterior is this many standard deviations
    # sure it saves time over the authored one (see ``learned_saving``).
    confidence_z: float = 1.64

    @classmethod
    def from_mapping(cls, values: Mapping[str, object] | None) -> RankingParams:
        return cls(**dict(values or {}))


# --------------------------------------------------------------------------- decay


def decay_factor(age_days: float, half_life_days: float | None) -> float:
    if half_life_days is None or age_days <= 0:
        return 1.0
    return 2.0 ** (-age_days / half_life_days)


def days_between(earlier: datetime, later: datetime) -> float:
    return (later - earlier).total_seconds() / SECONDS_PER_DAY


def decayed(weight: float, as_of: datetime | None, now: datetime, half_life: float | None) -> float:
    """A stored weight's value at ``now``."""
    if as_of is None or not weight:
        return weight
    return weight * decay_factor(days_between(as_of, now), half_life)


def add_observation(
    weight: float,
    as_of: datetime | None,
    at: datetime,
    half_life: float | None,
    amount: float = 1.0,
) -> tuple[float, datetime]:
    """Add ``amount`` observed at ``at`` to a stored (weight, as_of); exact in any order."""
    if as_of is None:
        return amount, at
    if at >= as_of:
        return weight * decay_factor(days_between(as_of, at), half_life) + amount, at
    return weight + amount * decay_factor(days_between(at, as_of), half_life), as_of


# --------------------------------------------------------------------------- causes


def harmonic(n: int) -> float:
    return sum(1.0 / j for j in range(1, n + 1))


def dirichlet_prior(n_causes: int, strength: float) -> list[float]:
    """``a_k = S * (1/k) / H_K`` for authored ranks k = 1..K."""
    if n_causes == 0:
        return []
    h = harmonic(n_causes)
    return [strength * (1.0 / k) / h for k in range(1, n_causes + 1)]


def pattern_prior(n_causes: int, linked: set[int], params: RankingParams) -> list[float]:
    """The prior for sessions that saw a pattern: S spread over the causes it links to
    (by 1/rank), the others keeping a small share. ``linked`` holds 0-based rank indices."""
    if not linked:
        return dirichlet_prior(n_causes, params.prior_strength)
    raw = [
        (1.0 / (k + 1)) * (1.0 if k in linked else params.pattern_unlinked_share)
        for k in range(n_causes)
    ]
    total = sum(raw)
    return [params.prior_strength * w / total for w in raw]


def posterior(
    prior: Sequence[float], counts: Sequence[float], unlisted_prior: float, unlisted_count: float
) -> tuple[list[float], float]:
    """``p_k = (a_k + n_k) / (sum a + sum n)``; returns (listed causes, unlisted bucket)."""
    total = sum(prior) + sum(counts) + unlisted_prior + unlisted_count
    if total <= 0:
        return [0.0] * len(prior), 0.0
    listed = [(a + n) / total for a, n in zip(prior, counts, strict=True)]
    return listed, (unlisted_prior + unlisted_count) / total


def without(probabilities: Mapping[Hashable, float], ruled_out: set) -> dict:
    """Remove ruled-out causes and renormalise the rest (the unlisted bucket included)."""
    kept = {k: p for k, p in probabilities.items() if k not in ruled_out}
    total = sum(kept.values())
    if total <= 0:
        return {k: 0.0 for k in kept}
    return {k: p / total for k, p in kept.items()}


# --------------------------------------------------------------------------- checks


def learned_minutes(
    prior_minutes: float, recorded_weight: float, recorded_sum: float, prior_weight: float
) -> float:
    """The authored estimate counts as ``prior_weight`` runs; recorded runs pull it over."""
    return (prior_minutes * prior_weight + recorded_sum) / (prior_weight + recorded_weight)


def detection_probability(
    linked: bool, runs: float, detections: float, params: RankingParams
) -> float:
    prior = params.detection_linked if linked else params.detection_unlinked
    w = params.detection_prior_weight
    return (prior * w + detections) / (w + runs)


def efficiency(
    check: Hashable,
    probabilities: Mapping[Hashable, float],
    detection: Mapping[tuple[Hashable, Hashable], float],
    minutes: Mapping[Hashable, float],
) -> float:
    """``sum_c p_c * d_ic / minutes_i``: chance this check finds the cause, per minute."""
    found = sum(p * detection.get((check, c), 0.0) for c, p in probabilities.items())
    return found / max(minutes[check], 1e-6)


def after_miss(
    probabilities: Mapping[Hashable, float],
    detection: Mapping[tuple[Hashable, Hashable], float],
    check: Hashable,
) -> dict:
    """Bayes: the cause distribution once ``check`` has run and confirmed nothing."""
    updated = {c: p * (1.0 - detection.get((check, c), 0.0)) for c, p in probabilities.items()}
    total = sum(updated.values())
    return {c: (p / total if total > 0 else 0.0) for c, p in updated.items()}


def greedy_order(
    checks: Sequence[Hashable],
    probabilities: Mapping[Hashable, float],
    detection: Mapping[tuple[Hashable, Hashable], float],
    minutes: Mapping[Hashable, float],
) -> list[Hashable]:
    """Checks by efficiency, re-evaluated after each one misses. Ties keep authored order."""
    remaining = list(checks)
    probs = dict(probabilities)
    order: list[Hashable] = []
    while remaining:
        best = max(
            remaining, key=lambda k: (efficiency(k, probs, detection, minutes), -remaining.index(k))
        )
        order.append(best)
        remaining.remove(best)
        probs = after_miss(probs, detection, best)
    return order


def cause_costs(
    order: Sequence[Hashable],
    causes: Sequence[Hashable],
    detection: Mapping[tuple[Hashable, Hashable], float],
    minutes: Mapping[Hashable, float],
) -> dict:
    """Expected minutes spent following ``order`` if the true cause is c, for each c.
    ECR is linear in the cause probabilities: ``ECR = sum_c p_c * cost_c``."""
    costs = {}
    for cause in causes:
        missed, total = 1.0, 0.0
        for check in order:
            total += minutes[check] * missed
            missed *= 1.0 - detection.get((check, cause), 0.0)
        costs[cause] = total
    return costs


def expected_cost(
    order: Sequence[Hashable],
    probabilities: Mapping[Hashable, float],
    detection: Mapping[tuple[Hashable, Hashable], float],
    minutes: Mapping[Hashable, float],
) -> float:
    """ECR of running checks in ``order`` until one confirms the true cause:
    ``sum_i minutes_i * P(cause not yet found before check i)``."""
    costs = cause_costs(order, list(probabilities), detection, minutes)
    return sum(p * costs[c] for c, p in probabilities.items())


def learned_saving(
    authored_order: Sequence[Hashable],
    learned_order: Sequence[Hashable],
    probabilities: Mapping[Hashable, float],
    concentration: float,
    detection: Mapping[tuple[Hashable, Hashable], float],
    minutes: Mapping[Hashable, float],
) -> tuple[float, float]:
    """Minutes per incident the learned order saves over the authored one, as the mean and
    standard deviation under the Dirichlet posterior (``concentration`` = sum of alphas).

    The posterior mean alone reorders on noise: a few unlucky incidents would override a
    correct author. Following the learned order only when the saving is credible keeps
    learning from ever hurting a faithful runbook, while a wrong one is corrected as soon as
    the evidence is clear.
    """
    causes = list(probabilities)
    a = cause_costs(authored_order, causes, detection, minutes)
    b = cause_costs(learned_order, causes, detection, minutes)
    coef = {c: a[c] - b[c] for c in causes}
    mean = sum(probabilities[c] * coef[c] for c in causes)
    if concentration <= 0:
        return mean, 0.0
    # Dirichlet: Var(sum c_k p_k) = (sum c_k^2 p_k - (sum c_k p_k)^2) / (A + 1)
    second = sum(probabilities[c] * coef[c] ** 2 for c in causes)
    variance = max(0.0, second - mean**2) / (concentration + 1.0)
    return mean, variance**0.5


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class CauseRank:
    key: str
    authored_rank: int
    probability: float
    evidence: float  # decayed confirmations behind it
    confirmations: int  # raw count


@dataclass(frozen=True)
class CheckRank:
    key: str
    minutes: float
    efficiency: float


@dataclass(frozen=True)
class Ranking:
    causes: list[CauseRank]  # most probable first
    unlisted_probability: float
    sessions: int  # finished sessions behind it
    evidence: float  # their decayed weight
    checks: list[CheckRank] = field(default_factory=list)  # most efficient first
    concentration: float = 0.0  # sum of the posterior's alphas

    @property
    def by_key(self) -> dict[str, CauseRank]:
        return {c.key: c for c in self.causes}

    @property
    def learned_order(self) -> list[str]:
        return [c.key for c in self.causes]

    @property
    def authored_order(self) -> list[str]:
        return [c.key for c in sorted(self.causes, key=lambda c: c.authored_rank)]


def rank_causes(
    keys: Sequence[str],
    prior: Sequence[float],
    counts: Mapping[str, float],
    confirmations: Mapping[str, int],
    unlisted_prior: float,
    unlisted_count: float,
) -> tuple[list[CauseRank], float]:
    # Keys are authored order; the sort below is stable on authored rank for ties.
    """Causes (given in authored order) with their posterior, most probable first."""
    probs, unlisted = posterior(
        prior, [counts.get(k, 0.0) for k in keys], unlisted_prior, unlisted_count
    )
    ranked = [
        CauseRank(key, rank, p, counts.get(key, 0.0), confirmations.get(key, 0))
        for rank, (key, p) in enumerate(zip(keys, probs, strict=True), start=1)
    ]
    ranked.sort(key=lambda c: (-c.probability, c.authored_rank))
    return ranked, unlisted
