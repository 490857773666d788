"""Stored statistics behind the learned ranking, and reading rankings from them.

``record_outcome`` runs inside the transaction that finishes a session and touches a fixed
set of rows, so learning costs the same at 10 or 100,000 sessions. ``rebuild_statistics``
recomputes everything from the sessions with the same arithmetic, to check for drift.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from kb.fragments import cached, fragment_key
from kb.models import Runbook
from triage import ranking
from triage.flow import NONE_OF_THESE, FlowRunbook
from triage.models import (
    CauseStat,
    CheckResult,
    CheckStat,
    DetectionStat,
    Outcome,
    RunbookStat,
    TriageSession,
    TriageStep,
)
from triage.ranking import RankingParams


def params() -> RankingParams:
    return RankingParams.from_mapping(getattr(settings, "FIELDGUIDE_RANKING", None))


# --------------------------------------------------------------------------- what to count


@dataclass
class Observation:
    """What one finished session teaches, as plain keys (see ``observe``)."""

    at: datetime
    runbook_id: int  # the runbook the session started on
    cause_runbook_id: int  # where the confirmed cause lives (or the start runbook)
    cause_key: str | None  # None: no cause known; "": a cause the runbook does not list
    pattern_key: str  # pattern seen in the cause's runbook, "" if none
    check_results: list[tuple[int, str, float | None]] = field(default_factory=list)
    detections: list[tuple[int, bool]] = field(default_factory=list)  # (check id, confirmed)
    cause_id: int | None = None
    also_unlisted_for: int | None = None  # start runbook, when the cause lives elsewhere


def observe(session: TriageSession, outcome: Outcome, steps: list[TriageStep]) -> Observation:
    cause = outcome.cause
    obs = Observation(
        at=outcome.recorded_at,
        runbook_id=session.runbook_id,
        cause_runbook_id=cause.runbook_id if cause else session.runbook_id,
        cause_key=cause.key if cause else ("" if outcome.cause_text else None),
        pattern_key="",
        cause_id=cause.pk if cause else None,
    )
    if cause and cause.runbook_id != session.runbook_id:
        obs.also_unlisted_for = session.runbook_id
    latest: dict[tuple[int | None, int | None], TriageStep] = {}
    for step in steps:
        if step.kind == TriageStep.Kind.PATTERN and step.runbook_id == obs.cause_runbook_id:
            obs.pattern_key = step.pattern.key if step.pattern else ""
        if step.kind == TriageStep.Kind.CHECK:
            latest[(step.check_item_id, step.cause_id)] = step  # later answers win
    for step in latest.values():
        obs.check_results.append((step.check_item_id, step.result, step.minutes))
    if cause:
        confirmed_by: dict[int, bool] = {}
        for step in latest.values():
            if step.runbook_id == cause.runbook_id:
                hit = step.result == CheckResult.CONFIRMS and step.cause_id == cause.pk
                confirmed_by[step.check_item_id] = confirmed_by.get(step.check_item_id) or hit
        obs.detections = sorted(confirmed_by.items())
    return obs


# --------------------------------------------------------------------------- applying


class StatsStore:
    """Rows to update, loaded once; ``save`` writes them back in bulk."""

    def __init__(self, runbook_ids: set[int], check_ids: set[int], cause_ids: set[int]):
        self.runbooks = {
            s.runbook_id: s for s in RunbookStat.objects.filter(runbook_id__in=runbook_ids)
        }
        self.causes = {
            (s.runbook_id, s.pattern_key, s.cause_key): s
            for s in CauseStat.objects.filter(runbook_id__in=runbook_ids)
        }
        self.checks = {
            s.check_item_id: s for s in CheckStat.objects.filter(check_item_id__in=check_ids)
        }
        self.detections = {
            (s.check_item_id, s.cause_id): s
            for s in DetectionStat.objects.filter(
                check_item_id__in=check_ids, cause_id__in=cause_ids
            )
        }

    def save(self) -> None:
        for model, rows, fields in (
            (RunbookStat, self.runbooks.values(), ["sessions", "weight", "as_of"]),
            (CauseStat, self.causes.values(), ["weight", "confirmations", "as_of"]),
            (
                CheckStat,
                self.checks.values(),
                [
                    "runs",
                    "confirms",
                    "rules_out",
                    "inconclusive",
                    "minutes_weight",
                    "minutes_sum",
                    "as_of",
                ],
            ),
            (DetectionStat, self.detections.values(), ["runs", "detections", "as_of"]),
        ):
            new = [r for r in rows if r.pk is None]
            old = [r for r in rows if r.pk is not None]
            model.objects.bulk_create(new)
            if old:
                model.objects.bulk_update(old, fields)


def apply(store: StatsStore, obs: Observation, half_life: float | None) -> None:
    """Add one observation to the stored weights (the same arithmetic, live or rebuilt)."""
    rb = store.runbooks.get(obs.runbook_id) or RunbookStat(runbook_id=obs.runbook_id)
    store.runbooks[obs.runbook_id] = rb
    rb.sessions += 1
    rb.weight, rb.as_of = ranking.add_observation(rb.weight, rb.as_of, obs.at, half_life)

    def bump(runbook_id: int, pattern_key: str, cause_key: str) -> None:
        key = (runbook_id, pattern_key, cause_key)
        stat = store.causes.get(key) or CauseStat(
            runbook_id=runbook_id, pattern_key=pattern_key, cause_key=cause_key
        )
        store.causes[key] = stat
        stat.confirmations += 1
        stat.weight, stat.as_of = ranking.add_observation(
            stat.weight, stat.as_of, obs.at, half_life
        )

    if obs.cause_key is not None:
        bump(obs.cause_runbook_id, "", obs.cause_key)
        if obs.pattern_key:
            bump(obs.cause_runbook_id, obs.pattern_key, obs.cause_key)
    if obs.also_unlisted_for is not None:
        bump(obs.also_unlisted_for, "", "")

    for check_id, result, minutes in obs.check_results:
        stat = store.checks.get(check_id) or CheckStat(check_item_id=check_id)
        store.checks[check_id] = stat
        stat.runs += 1
        field_name = {"confirms": "confirms", "rules_out": "rules_out"}.get(result, "inconclusive")
        setattr(stat, field_name, getattr(stat, field_name) + 1)
        if minutes is not None:
            previous = stat.as_of
            stat.minutes_weight, stat.as_of = ranking.add_observation(
                stat.minutes_weight, previous, obs.at, half_life
            )
            stat.minutes_sum, _ = ranking.add_observation(
                stat.minutes_sum, previous, obs.at, half_life, amount=minutes
            )

    for check_id, confirmed in obs.detections:
        key = (check_id, obs.cause_id)
        stat = store.detections.get(key) or DetectionStat(
            check_item_id=check_id, cause_id=obs.cause_id
        )
        store.detections[key] = stat
        previous = stat.as_of
        stat.runs, stat.as_of = ranking.add_observation(stat.runs, previous, obs.at, half_life)
        stat.detections, _ = ranking.add_observation(
            stat.detections, previous, obs.at, half_life, amount=1.0 if confirmed else 0.0
        )


def record_outcome(session: TriageSession, outcome: Outcome) -> None:
    """Called inside the transaction that finishes the session."""
    steps = list(
        session.steps.select_related("pattern").filter(
            kind__in=[TriageStep.Kind.PATTERN, TriageStep.Kind.CHECK]
        )
    )
    obs = observe(session, outcome, steps)
    runbook_ids = {obs.runbook_id, obs.cause_runbook_id}
    # Two sessions finishing at once read and rewrite the same rows: lock every runbook
    # whose statistics change (checks may live in drilled runbooks), in id order so two
    # finishes cannot deadlock, before reading them.
    locked = runbook_ids | {step.runbook_id for step in steps}
    list(Runbook.objects.select_for_update().filter(pk__in=locked).order_by("pk").values("pk"))
    Runbook.objects.filter(pk__in=locked).update(learned_at=timezone.now())
    store = StatsStore(
        runbook_ids,
        {c for c, _r, _m in obs.check_results},
        {obs.cause_id} if obs.cause_id else set(),
    )
    apply(store, obs, params().half_life_days)
    store.save()


@transaction.atomic
def rebuild_statistics() -> float:
    """Recompute every statistic from finished sessions. Returns the largest difference
    between the stored and the recomputed values (decayed to now): the drift."""
    half_life = params().half_life_days
    fresh = StatsStore(set(), set(), set())
    outcomes = (
        Outcome.objects.select_related("session", "cause")
        .order_by("recorded_at", "pk")
        .iterator(chunk_size=2000)
    )
    steps_by_session: dict[int, list[TriageStep]] = defaultdict(list)
    for step in (
        TriageStep.objects.filter(kind__in=[TriageStep.Kind.PATTERN, TriageStep.Kind.CHECK])
        .select_related("pattern")
        .order_by("created_at", "id")
        .iterator(chunk_size=5000)
    ):
        steps_by_session[step.session_id].append(step)
    for outcome in outcomes:
        obs = observe(outcome.session, outcome, steps_by_session.get(outcome.session_id, []))
        apply(fresh, obs, half_life)
    drift = _drift(fresh, half_life)
    for model in (RunbookStat, CauseStat, CheckStat, DetectionStat):
        model.objects.all().delete()
    for rows in (fresh.runbooks, fresh.causes, fresh.checks, fresh.detections):
        for row in rows.values():
            row.pk = None
    fresh.save()
    Runbook.objects.update(learned_at=timezone.now())
    return drift


def _drift(fresh: StatsStore, half_life: float | None) -> float:
    now = timezone.now()

    def value(weight, as_of):
        return ranking.decayed(weight, as_of, now, half_life)

    stored = StatsStore(
        set(RunbookStat.objects.values_list("runbook_id", flat=True))
        | set(CauseStat.objects.values_list("runbook_id", flat=True)),
        set(CheckStat.objects.values_list("check_item_id", flat=True))
        | set(DetectionStat.objects.values_list("check_item_id", flat=True)),
        set(DetectionStat.objects.values_list("cause_id", flat=True)),
    )
    worst = 0.0
    pairs = [
        (stored.runbooks, fresh.runbooks, lambda s: [s.sessions, value(s.weight, s.as_of)]),
        (stored.causes, fresh.causes, lambda s: [s.confirmations, value(s.weight, s.as_of)]),
        (
            stored.checks,
            fresh.checks,
            lambda s: [
                s.runs,
                s.confirms,
                s.rules_out,
                s.inconclusive,
                value(s.minutes_weight, s.as_of),
                value(s.minutes_sum, s.as_of),
            ],
        ),
        (
            stored.detections,
            fresh.detections,
            lambda s: [value(s.runs, s.as_of), value(s.detections, s.as_of)],
        ),
    ]
    for old, new, values in pairs:
        for key in set(old) | set(new):
            a = values(old[key]) if key in old else None
            b = values(new[key]) if key in new else None
            if a is None or b is None:
                worst = max(worst, max(abs(x) for x in (a or b)))
                continue
            worst = max(worst, max(abs(x - y) for x, y in zip(a, b, strict=True)))
    return worst


# --------------------------------------------------------------------------- reading


@dataclass
class Beliefs:
    """Cause probabilities (per pattern, "" = all), check minutes and detection."""

    rankings: dict[str, ranking.Ranking]
    minutes: dict[str, float]
    detection: dict[tuple[str, str], float]

    def probabilities(self, pattern_key: str = "") -> dict[str, float]:
        chosen = self.rankings.get(pattern_key) or self.rankings[""]
        return {c.key: c.probability for c in chosen.causes}

    def check_order(self, check_keys: list[str]) -> list[str]:
        return ranking.greedy_order(check_keys, self.probabilities(), self.detection, self.minutes)


@dataclass
class RunbookLearning:
    """What is known about one runbook: the author's beliefs, the learned posterior, and
    which of the two recommendations follow (the learned one once it credibly saves time)."""

    authored: Beliefs
    learned: Beliefs
    saving: float  # expected minutes per incident the learned check order saves
    saving_sd: float
    use_learned: bool

    @property
    def overall(self) -> ranking.Ranking:
        return self.learned.rankings[""]

    @property
    def by_pattern(self) -> dict[str, ranking.Ranking]:
        return {k: r for k, r in self.learned.rankings.items() if k}

    @property
    def minutes(self) -> dict[str, float]:
        return self.learned.minutes

    @property
    def detection(self) -> dict[tuple[str, str], float]:
        return self.learned.detection

    @property
    def active(self) -> Beliefs:
        return self.learned if self.use_learned else self.authored

    def ranking_for(self, pattern_key: str = "") -> ranking.Ranking:
        return self.learned.rankings.get(pattern_key) or self.overall

    @property
    def pattern_orders(self) -> dict[str, list[str]]:
        return {key: r.learned_order for key, r in self.learned.rankings.items()}


def runbook_learning(runbook: Runbook, now: datetime | None = None) -> RunbookLearning:
    """Reads the runbook's parts through its prefetch cache when present; four stat queries."""
    now = now or timezone.now()
    p = params()
    half = p.half_life_days
    causes = [c for c in runbook.causes.all() if not c.retired]
    checks = [c for c in runbook.checks.all() if not c.retired]
    patterns = [pt for pt in runbook.patterns.all() if not pt.retired]
    keys = [c.key for c in causes]
    stat = RunbookStat.objects.filter(runbook=runbook).first()
    counts: dict[str, dict[str, float]] = defaultdict(dict)
    raw: dict[str, dict[str, int]] = defaultdict(dict)
    for s in CauseStat.objects.filter(runbook=runbook):
        counts[s.pattern_key][s.cause_key] = ranking.decayed(s.weight, s.as_of, now, half)
        raw[s.pattern_key][s.cause_key] = s.confirmations
    sessions = stat.sessions if stat else 0
    evidence = ranking.decayed(stat.weight, stat.as_of, now, half) if stat else 0.0

    index = {c.pk: i for i, c in enumerate(causes)}
    priors = {"": ranking.dirichlet_prior(len(keys), p.prior_strength)}
    for pattern in patterns:
        linked = {index[k.cause_id] for k in pattern.cause_links.all() if k.cause_id in index}
        priors[pattern.key] = ranking.pattern_prior(len(keys), linked, p)

    def rankings(use_counts: bool) -> dict[str, ranking.Ranking]:
        result = {}
        for pattern_key, prior in priors.items():
            seen = counts.get(pattern_key, {}) if use_counts else {}
            ranked, unlisted = ranking.rank_causes(
                keys, prior, seen, raw.get(pattern_key, {}), p.unlisted_prior, seen.get("", 0.0)
            )
            concentration = sum(prior) + p.unlisted_prior + sum(seen.values())
            result[pattern_key] = ranking.Ranking(
                ranked, unlisted, sessions, evidence, concentration=concentration
            )
        return result

    check_stats = {s.check_item_id: s for s in CheckStat.objects.filter(check_item__in=checks)}
    det_stats = {
        (s.check_item_id, s.cause_id): s
        for s in DetectionStat.objects.filter(check_item__in=checks)
    }
    minutes, authored_minutes, detection, authored_detection = {}, {}, {}, {}
    for check in checks:
        s = check_stats.get(check.pk)
        weight = ranking.decayed(s.minutes_weight, s.as_of, now, half) if s else 0.0
        total = ranking.decayed(s.minutes_sum, s.as_of, now, half) if s else 0.0
        authored_minutes[check.key] = float(check.minutes)
        minutes[check.key] = ranking.learned_minutes(
            check.minutes, weight, total, p.minutes_prior_weight
        )
        linked = {link.cause_id for link in check.cause_links.all()}
        for cause in causes:
            d = det_stats.get((check.pk, cause.pk))
            runs = ranking.decayed(d.runs, d.as_of, now, half) if d else 0.0
            hits = ranking.decayed(d.detections, d.as_of, now, half) if d else 0.0
            is_linked = cause.pk in linked
            detection[(check.key, cause.key)] = ranking.detection_probability(
                is_linked, runs, hits, p
            )
            authored_detection[(check.key, cause.key)] = ranking.detection_probability(
                is_linked, 0.0, 0.0, p
            )

    learned = Beliefs(rankings(True), minutes, detection)
    authored = Beliefs(rankings(False), authored_minutes, authored_detection)
    check_keys = [c.key for c in checks]
    posterior = learned.rankings[""]
    probs = learned.probabilities() | {"": posterior.unlisted_probability}
    saving, sd = ranking.learned_saving(
        authored.check_order(check_keys),
        learned.check_order(check_keys),
        probs,
        posterior.concentration,
        detection,
        minutes,
    )
    overall_probs = learned.probabilities()
    learned.rankings[""] = ranking.Ranking(
        posterior.causes,
        posterior.unlisted_probability,
        sessions,
        evidence,
        sorted(
            (
                ranking.CheckRank(
                    k, minutes[k], ranking.efficiency(k, overall_probs, detection, minutes)
                )
                for k in check_keys
            ),
            key=lambda r: -r.efficiency,
        ),
        posterior.concentration,
    )
    use_learned = saving > 0 and saving > p.confidence_z * sd
    return RunbookLearning(authored, learned, saving, sd, use_learned)


def runbook_ranking(runbook: Runbook) -> RunbookLearning:
    """The provider kb calls (settings.FIELDGUIDE_RANKING_PROVIDER)."""
    return runbook_learning(runbook)


def current_flow(runbook: Runbook) -> FlowRunbook:
    """``flow_runbook(runbook)`` as of now, kept in this process's cache until the runbook's
    text or what was learned about it changes (evidence decays over months, not minutes)."""
    key = fragment_key("flow", runbook.pk, runbook.updated_at, runbook.learned_at)
    return cached(key, lambda: flow_runbook(runbook))


def flow_runbook(runbook: Runbook, learned: RunbookLearning | None = None) -> FlowRunbook:
    """Reads a runbook from ``Runbook.objects.with_parts()`` (prefetched)."""

    def keys(item) -> tuple[int, ...]:
        return tuple(link.cause_id for link in item.cause_links.all() if not link.cause.retired)

    beliefs = (learned or runbook_learning(runbook)).active
    causes = [c for c in runbook.causes.all() if not c.retired]
    patterns = [p for p in runbook.patterns.all() if not p.retired]
    checks = [c for c in runbook.checks.all() if not c.retired]
    cause_id = {c.key: c.pk for c in causes}

    def probabilities(pattern_key: str) -> dict[int, float]:
        ranked = beliefs.probabilities(pattern_key)
        return {cause_id[key]: p for key, p in ranked.items() if key in cause_id}

    return FlowRunbook(
        id=runbook.pk,
        has_gate=bool(runbook.not_the_issue_condition or list(runbook.pivots.all())),
        cause_ids=tuple(c.pk for c in causes),
        pattern_causes={p.pk: keys(p) for p in patterns},
        check_ids=tuple(c.pk for c in checks),
        check_causes={c.pk: keys(c) for c in checks},
        probabilities={NONE_OF_THESE: probabilities("")}
        | {p.pk: probabilities(p.key) for p in patterns},
        minutes={c.pk: beliefs.minutes[c.key] for c in checks},
        detection={(k.pk, c.pk): beliefs.detection[(k.key, c.key)] for k in checks for c in causes},
    )
