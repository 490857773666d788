"""A knowledge base and incident history at production size, for benchmarks (issue 9).

``generate_load_data`` imports generated runbooks through the real importer and simulates
engineers walking triage sessions the way the guided form leads them (gate, pattern, the
recommended check, sometimes another one, drills, pivots, joins, notes), then finishing
with an outcome. The same simulation drives one of two writers:

* ``ServicesWriter`` calls ``triage.services`` for every session and step: exact by
  definition, and slow (dozens of queries per session).
* ``BulkWriter`` builds the rows those services would write — the same fields, times,
  tokens, ``supersedes`` links, ``followed_recommendation`` flags and outcome minutes — and
  inserts them with ``bulk_create``. It keeps the learned-ranking statistics in memory with
  the services' own ``learning.observe``/``learning.apply``, in the order the services
  would have applied them, and reads recommendations through ``learning.runbook_learning``
  from those statistics. At the end the statistics are written and
  ``learning.rebuild_statistics()`` recomputes them from the stored sessions; the drift it
  reports (the kept-as-you-go values against the recomputed ones) must be ~0.

``tests/triage/test_load_data.py`` runs both writers with one seed and compares every row.
Two things the services stamp with the wall clock instead of the session's time — the
JOIN step of ``session_join`` and the ABANDON step of ``session_set_abandoned`` take no
``at`` — get the simulated time from the bulk writer.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import count, islice

from django.contrib.auth.models import Group, User
from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from kb.models import Cause, Pattern, Runbook
from kb.services import runbooks_import
from kb.sources import SourceFile
from triage import learning
from triage.flow import FlowRunbook, FlowStep, Progress, progress, runbook_stack
from triage.load_data_text import runbook_files
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
from triage.search import index_unindexed_incidents
from triage.services import (
    OutcomeInput,
    StepInput,
    outcome_row,
    session_finish,
    session_join,
    session_set_abandoned,
    session_start,
    step_record,
)

USER_PREFIX = "load-eng-"
WRITTEN_IN_CAUSES = (
    "Upstream provider outage",
    "Kernel bug on one node pool",
    "Expired load balancer certificate",
    "Noisy neighbour on shared hardware",
    "Misrouted traffic after a BGP change",
)
NOTES = (
    "Paged the database on-call as a precaution.",
    "Customer support reports the same symptom from two tenants.",
    "Status page updated.",
    "Handing over to the next shift with the checks above done.",
    "Rollback prepared but not started yet.",
)


class LoadDataRefused(Exception):
    """The database already holds a history this command would clash with."""


@dataclass
class LoadReport:
    runbooks_created: int = 0
    runbooks_unchanged: int = 0
    runbooks_updated: int = 0
    import_seconds: float = 0.0
    sessions: int = 0
    finished: int = 0
    steps: int = 0
    outcomes: int = 0
    users: int = 0
    sessions_seconds: float = 0.0
    rebuild_seconds: float = 0.0
    drift: float | None = None
    skipped_sessions: bool = False


# --------------------------------------------------------------------------- entry point


def generate(
    *,
    runbooks: int,
    sessions: int,
    seed: int,
    days: int = 730,
    until: datetime | None = None,
    engineers: int = 60,
    via_services: bool = False,
    batch: int = 2000,
    log: Callable[[str], None] | None = None,
) -> LoadReport:
    """Import ``runbooks`` generated runbooks and simulate ``sessions`` triage sessions
    spread over ``days`` days before ``until`` (default: today, 00:00 UTC).

    Runbooks are imported with the real importer, so re-running with the same seed and
    size leaves them unchanged. Sessions are only generated into an empty history: if the
    database already has at least ``sessions`` sessions nothing is added
    (``skipped_sessions``), if it has fewer but some, ``LoadDataRefused`` is raised.
    """
    log = log or (lambda _msg: None)
    report = LoadReport()
    started = time.perf_counter()
    files = runbook_files(runbooks, seed)
    log(f"importing {len(files)} generated runbooks")
    imported = runbooks_import(
        sources=[SourceFile(f.path, f.slug, f.text.encode("utf-8")) for f in files],
        note="Generated load data",
    )
    report.runbooks_created = len(imported.created)
    report.runbooks_updated = len(imported.updated)
    report.runbooks_unchanged = len(imported.unchanged)
    report.import_seconds = time.perf_counter() - started
    log(
        f"runbooks: {report.runbooks_created} created, {report.runbooks_updated} updated, "
        f"{report.runbooks_unchanged} unchanged ({report.import_seconds:.1f} s)"
    )
    if sessions <= 0:
        return report
    existing = TriageSession.objects.count()
    if existing >= sessions:
        report.skipped_sessions = True
        log(f"sessions: the database already has {existing} (>= {sessions}); nothing added")
        return report
    if existing:
        raise LoadDataRefused(
            f"The database already has {existing} triage sessions, fewer than the {sessions} "
            "asked for. generate_load_data only fills an empty history: use a fresh database "
            "(or delete the sessions) and run it again."
        )

    world = World.build([f.slug for f in files], seed=seed, engineers=engineers)
    report.users = len(world.users)
    until = until or timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    writer: Writer = ServicesWriter(world) if via_services else BulkWriter(world)
    sim = Simulation(world, writer, seed=seed, sessions=sessions, days=days, until=until)
    started = time.perf_counter()
    with transaction.atomic():
        for done in sim.run(batch=batch):
            elapsed = time.perf_counter() - started
            log(f"sessions {done}/{sessions} ({elapsed:.0f} s, {done / elapsed:.0f}/s)")
        writer.close()
        log("indexing finished sessions for search")
        index_unindexed_incidents()
    report.sessions_seconds = time.perf_counter() - started
    report.sessions, report.finished = sessions, sim.finished
    report.steps, report.outcomes = writer.steps_written, writer.outcomes_written
    started = time.perf_counter()
    log("rebuilding ranking statistics from the stored sessions")
    report.drift = learning.rebuild_statistics()
    report.rebuild_seconds = time.perf_counter() - started
    _refresh_planner_statistics(log)
    return report


def _refresh_planner_statistics(log: Callable[[str], None]) -> None:
    """A bulk load outruns autovacuum: until it catches up, PostgreSQL plans with row
    estimates from the empty tables (hash joins over whole tables for one session's steps)."""
    if connection.vendor == "postgresql":
        log("refreshing the query planner's statistics (ANALYZE)")
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


# --------------------------------------------------------------------------- the world


@dataclass
class World:
    """What the simulation knows: runbooks with their parts, people, hidden truths."""

    runbooks: dict[int, Runbook]
    by_slug: dict[str, Runbook]
    order: list[Runbook]  # runbooks that can be triaged, most popular first
    weights: list[float]
    users: list[User]
    user_weights: list[float]
    truths: dict[int, list[float]]  # runbook id → probability per active cause (authored order)
    cause_runbook: dict[int, Runbook]  # cause id → its runbook

    @classmethod
    def build(cls, slugs: list[str], *, seed: int, engineers: int) -> World:
        rng = random.Random(f"world-{seed}")
        loaded = []
        for i in range(0, len(slugs), 200):  # SQLite limits the size of one IN (...)
            chunk = Runbook.objects.with_parts().prefetch_related("revisions")
            loaded += chunk.filter(slug__in=slugs[i : i + 200])
        runbooks = {rb.pk: rb for rb in loaded}
        by_slug = {rb.slug: rb for rb in loaded}
        usable = [
            by_slug[s]
            for s in slugs
            if s in by_slug and _active(by_slug[s].causes) and _active(by_slug[s].checks)
        ]
        rng.shuffle(usable)
        # Popularity falls off like Zipf's law: a few runbooks take most incidents.
        weights = [1.0 / (rank + 1) ** 0.9 for rank in range(len(usable))]
        truths = {}
        for rb in loaded:
            n = len(_active(rb.causes))
            shape = [1.0 / (k + 1) for k in range(n)]
            roll = rng.random()
            if roll < 0.1:
                shape.reverse()  # the author got the order backwards
            elif roll < 0.2:
                rng.shuffle(shape)
            noisy = [w * rng.uniform(0.7, 1.3) for w in shape]
            truths[rb.pk] = [w / sum(noisy) for w in noisy]
        users = _load_users(engineers)
        user_weights = [1.0 / (i + 1) ** 0.5 for i in range(len(users))]
        cause_runbook = {c.pk: rb for rb in loaded for c in rb.causes.all()}
        return cls(runbooks, by_slug, usable, weights, users, user_weights, truths, cause_runbook)


def _active(manager) -> list:
    return [item for item in manager.all() if not item.retired]


def _load_users(count: int) -> list[User]:
    """``load-eng-001`` … engineers (unusable passwords); every tenth is also a lead."""
    names = [f"{USER_PREFIX}{i:03d}" for i in range(1, count + 1)]
    existing = set(User.objects.filter(username__in=names).values_list("username", flat=True))
    fresh = [User(username=name) for name in names if name not in existing]
    for user in fresh:
        user.set_unusable_password()
    User.objects.bulk_create(fresh)
    users = list(User.objects.filter(username__in=names).order_by("username"))
    groups = {g.name: g for g in Group.objects.filter(name__in=["engineer", "editor", "lead"])}
    through = User.groups.through
    wanted = []
    for i, user in enumerate(users):
        names_for = ["engineer"] + (["editor", "lead"] if i % 10 == 9 else [])
        wanted += [(user.pk, groups[n].pk) for n in names_for if n in groups]
    have = set(
        through.objects.filter(user_id__in=[u.pk for u in users]).values_list("user_id", "group_id")
    )
    through.objects.bulk_create(
        [through(user_id=u, group_id=g) for u, g in wanted if (u, g) not in have]
    )
    return users


# --------------------------------------------------------------------------- writers


@dataclass
class SimSession:
    """One session as the simulation walks it."""

    runbook: Runbook
    owner: User
    started_at: datetime
    row: TriageSession  # saved (services) or not yet (bulk)
    flow: list[FlowStep] = field(default_factory=list)
    steps: list[TriageStep] = field(default_factory=list)  # bulk writer only

    @property
    def current_id(self) -> int:
        return runbook_stack(self.runbook.pk, self.flow)[-1]


class Writer:
    steps_written = 0
    outcomes_written = 0

    def __init__(self, world: World):
        self.world = world

    def state(self, sim: SimSession, runbook: Runbook, at: datetime) -> Progress:
        """Where the guided form stands in ``runbook`` at ``at`` (its recommendation)."""
        return progress(self.flow_at(runbook, at), sim.flow)

    def flow_at(self, runbook: Runbook, at: datetime) -> FlowRunbook:
        return learning.flow_runbook(runbook, learning.runbook_learning(runbook, now=at))

    def start(self, runbook: Runbook, owner: User, incident_ref: str, at: datetime) -> SimSession:
        raise NotImplementedError

    def step(self, sim, user, token, answer: StepInput, at: datetime) -> None:
        raise NotImplementedError

    def join(self, sim, user, token, at: datetime) -> None:
        raise NotImplementedError

    def abandon(self, sim, user, token, at: datetime) -> None:
        raise NotImplementedError

    def finish(self, sim, user, token, outcome: OutcomeInput, at: datetime) -> None:
        raise NotImplementedError

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.flush()


class ServicesWriter(Writer):
    """Every write through ``triage.services``: the reference the bulk writer must match."""

    def start(self, runbook, owner, incident_ref, at):
        row = session_start(runbook=runbook, user=owner, incident_ref=incident_ref, at=at)
        return SimSession(runbook, owner, at, row)

    def step(self, sim, user, token, answer, at):
        _step, created = step_record(session=sim.row, user=user, token=token, answer=answer, at=at)
        assert created, "the simulation repeated an answer"
        self.steps_written += 1

    def join(self, sim, user, token, at):
        session_join(session=sim.row, user=user, token=token)
        self.steps_written += 1

    def abandon(self, sim, user, token, at):
        session_set_abandoned(session=sim.row, user=user, token=token, abandoned=True)
        self.steps_written += 1

    def finish(self, sim, user, token, outcome, at):
        session_finish(session=sim.row, user=user, token=token, outcome=outcome, at=at)
        self.steps_written += 1
        self.outcomes_written += 1


class MemoryStats:
    """The statistics ``learning.record_outcome`` keeps, held in memory.

    ``learning.apply`` updates them exactly as the services do; ``reading()`` lets
    ``learning.runbook_learning`` read them through stand-ins for the four stat models.
    """

    def __init__(self) -> None:
        store = learning.StatsStore.__new__(learning.StatsStore)
        store.runbooks, store.causes, store.checks, store.detections = {}, {}, {}, {}
        self.store = store
        self.causes_by_runbook: dict[int, list[CauseStat]] = defaultdict(list)
        self.detections_by_check: dict[int, list[DetectionStat]] = defaultdict(list)
        self.half_life = learning.params().half_life_days
        self.version = 0  # bumped whenever a statistic changes

    def apply(self, obs: learning.Observation) -> None:
        store = self.store
        n_causes, n_detections = len(store.causes), len(store.detections)
        learning.apply(store, obs, self.half_life)
        self.version += 1
        for key in islice(reversed(store.causes), len(store.causes) - n_causes):
            self.causes_by_runbook[key[0]].append(store.causes[key])
        for key in islice(reversed(store.detections), len(store.detections) - n_detections):
            self.detections_by_check[key[0]].append(store.detections[key])

    def save(self) -> None:
        """Write the statistics as the services would have left them."""
        self.store.save()

    @contextmanager
    def reading(self) -> Iterator[None]:
        store = self.store

        def runbook_stats(runbook):
            stat = store.runbooks.get(runbook.pk)
            return [stat] if stat is not None else []

        def cause_stats(runbook):
            return self.causes_by_runbook.get(runbook.pk, [])

        def check_stats(check_item__in):
            return [store.checks[c.pk] for c in check_item__in if c.pk in store.checks]

        def detection_stats(check_item__in):
            return [d for c in check_item__in for d in self.detections_by_check.get(c.pk, ())]

        stand_ins = {
            "RunbookStat": _StandIn(runbook_stats),
            "CauseStat": _StandIn(cause_stats),
            "CheckStat": _StandIn(check_stats),
            "DetectionStat": _StandIn(detection_stats),
        }
        saved = {name: getattr(learning, name) for name in stand_ins}
        for name, stand_in in stand_ins.items():
            setattr(learning, name, stand_in)
        try:
            yield
        finally:
            for name, model in saved.items():
                setattr(learning, name, model)


class _Rows(list):
    def first(self):
        return self[0] if self else None


class _StandIn:
    """``Model.objects.filter(<one keyword>)`` over the in-memory statistics. Any other use
    fails loudly, so a change to how ``runbook_learning`` reads statistics is noticed
    (and tests/triage/test_load_data.py compares against the services)."""

    def __init__(self, lookup):
        self._lookup = lookup
        self.objects = self

    def filter(self, **kwargs):
        return _Rows(self._lookup(**kwargs))


class BulkWriter(Writer):
    """The rows ``triage.services`` would write, inserted in bulk."""

    def __init__(self, world: World):
        super().__init__(world)
        self.stats = MemoryStats()
        self._cached: tuple | None = None
        self.ids = {model: _next_id(model) for model in (TriageSession, TriageStep, Outcome)}
        self.pending: list[SimSession] = []
        self.outcomes: list[Outcome] = []
        self.revisions = {rb.pk: max(rb.revisions.all(), key=lambda r: r.number) for rb in
                          world.runbooks.values()}  # fmt: skip
        self.patterns = {p.pk: p for rb in world.runbooks.values() for p in rb.patterns.all()}
        self.checks = {c.pk: c for rb in world.runbooks.values() for c in rb.checks.all()}
        self.causes = {c.pk: c for rb in world.runbooks.values() for c in rb.causes.all()}
        self.fixes = {f.pk: f for rb in world.runbooks.values() for f in rb.fix_patterns.all()}

    def flow_at(self, runbook, at):
        # The flag of a check step and the next recommendation shown after it are read at
        # the same moment from the same statistics: compute that once.
        key = (runbook.pk, at, self.stats.version)
        if self._cached is None or self._cached[0] != key:
            with self.stats.reading():
                learned = learning.runbook_learning(runbook, now=at)
            self._cached = (key, learning.flow_runbook(runbook, learned))
        return self._cached[1]

    def start(self, runbook, owner, incident_ref, at):
        row = TriageSession(
            pk=next(self.ids[TriageSession]),
            runbook=runbook,
            revision=self.revisions[runbook.pk],
            owner=owner,
            incident_ref=incident_ref.strip()[:120],
            alert_source="",
            started_at=at,
        )
        sim = SimSession(runbook, owner, at, row)
        self.pending.append(sim)
        return sim

    def _step(self, sim: SimSession, kind: str, user: User, token, at, **fields) -> TriageStep:
        step = TriageStep(
            pk=next(self.ids[TriageStep]),
            session=sim.row,
            kind=kind,
            runbook_id=sim.current_id,
            author=user,
            token=token,
            created_at=at,
            **fields,
        )
        sim.steps.append(step)
        return step

    def step(self, sim, user, token, answer, at):
        kind = answer.kind
        runbook_id = sim.current_id
        fields: dict = {}
        if kind == TriageStep.Kind.GATE:
            fields = {"gate_holds": answer.gate_holds}
        elif kind == TriageStep.Kind.PATTERN:
            pattern = self.patterns[answer.pattern_id] if answer.pattern_id else None
            assert pattern is None or pattern.runbook_id == runbook_id
            fields = {"pattern": pattern}
        elif kind == TriageStep.Kind.CHECK:
            check, cause = self.checks[answer.check_id], self.causes[answer.cause_id]
            assert check.runbook_id == runbook_id == cause.runbook_id
            fields = {
                "check_item": check,
                "cause": cause,
                "result": answer.result,
                "minutes": answer.minutes,
            }
        elif kind in (TriageStep.Kind.DRILL, TriageStep.Kind.PIVOT):
            source = self.world.runbooks[runbook_id]
            links = source.drill_paths if kind == TriageStep.Kind.DRILL else source.pivots
            link = next(
                link
                for link in links.all()
                if link.target_slug == answer.target_slug and link.target_id is not None
            )
            fields = {"target_id": link.target_id}
        elif kind == TriageStep.Kind.NOTE:
            fields = {"note": answer.note.strip()[:5000]}
        previous = self._same_question(sim, runbook_id, kind, fields)
        if previous is not None:
            assert any(getattr(previous, k) != v for k, v in fields.items()), "same answer"
        step = self._step(sim, kind, user, token, at, supersedes=previous, **fields)
        if kind == TriageStep.Kind.CHECK:
            runbook = self.world.runbooks[runbook_id]
            recommended = self.state(sim, runbook, at).next_check
            if recommended is not None:
                step.followed_recommendation = recommended[1] == answer.check_id

    @staticmethod
    def _same_question(sim, runbook_id, kind, fields) -> TriageStep | None:
        if kind not in (TriageStep.Kind.GATE, TriageStep.Kind.PATTERN, TriageStep.Kind.CHECK):
            return None
        for step in reversed(sim.steps):  # newest first, like order_by("-created_at", "-id")
            if step.kind != kind or step.runbook_id != runbook_id:
                continue
            if kind == TriageStep.Kind.CHECK and (
                step.check_item_id != fields["check_item"].pk or step.cause_id != fields["cause"].pk
            ):
                continue
            return step
        return None

    def join(self, sim, user, token, at):
        self._step(sim, TriageStep.Kind.JOIN, user, token, at)

    def abandon(self, sim, user, token, at):
        self._step(sim, TriageStep.Kind.ABANDON, user, token, at)
        sim.row.status = TriageSession.Status.ABANDONED

    def finish(self, sim, user, token, outcome, at):
        visited = {sim.runbook.pk} | {s.target_id for s in sim.steps if s.target_id}
        cause = self.causes[outcome.cause_id] if outcome.cause_id is not None else None
        fix = self.fixes[outcome.fix_id] if outcome.fix_id is not None else None
        assert cause is None or cause.runbook_id in visited
        assert fix is None or fix.runbook_id in visited
        minutes = outcome.minutes_to_diagnosis
        if minutes is None and (cause or outcome.cause_text.strip()):
            confirming = min(
                (
                    s
                    for s in sim.steps
                    if s.kind == TriageStep.Kind.CHECK and s.result == CheckResult.CONFIRMS
                ),
                key=lambda s: s.created_at,
                default=None,
            )
            end = confirming.created_at if confirming else at
            minutes = round((end - sim.started_at).total_seconds() / 60, 1)
        self._step(sim, TriageStep.Kind.FINISH, user, token, at)
        result = outcome_row(
            session=sim.row,
            outcome=outcome,
            cause=cause,
            fix=fix,
            minutes=minutes,
            user=user,
            at=at,
        )
        result.pk = next(self.ids[Outcome])
        self.outcomes.append(result)
        sim.row.status = TriageSession.Status.FINISHED
        sim.row.ended_at = at
        learned_from = [
            s for s in sim.steps if s.kind in (TriageStep.Kind.PATTERN, TriageStep.Kind.CHECK)
        ]
        self.stats.apply(learning.observe(sim.row, result, learned_from))

    def flush(self) -> None:
        if not self.pending:
            return
        steps = [step for sim in self.pending for step in sim.steps]
        _insert(TriageSession, [sim.row for sim in self.pending])
        _insert(TriageStep, steps)
        _insert(Outcome, self.outcomes)
        self.steps_written += len(steps)
        self.outcomes_written += len(self.outcomes)
        self.pending, self.outcomes = [], []

    def close(self) -> None:
        self.flush()
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(
                no_style(), [TriageSession, TriageStep, Outcome]
            ):
                cursor.execute(sql)
        for model in (RunbookStat, CauseStat, CheckStat, DetectionStat):
            if model.objects.exists():
                raise LoadDataRefused(
                    f"{model.__name__} rows exist without any session: run "
                    "`manage.py rebuild_rankings` (which clears them) and try again."
                )
        self.stats.save()


def _next_id(model) -> Iterator[int]:
    first = (model.objects.aggregate(top=Max("pk"))["top"] or 0) + 1
    return count(first)


def _insert(model, objs: list, batch: int = 5000) -> None:
    """INSERT the objects' rows as ``bulk_create`` would (same ``pre_save`` and
    ``get_db_prep_save`` per field), with their primary keys already assigned: the bulk
    writer numbers rows as it makes them so that foreign keys (``supersedes``) can point at
    rows of the same batch. It skips the per-value SQL compilation that made
    ``bulk_create`` the slowest part here."""
    if not objs:
        return
    fields = model._meta.concrete_fields
    qn = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        qn(model._meta.db_table),
        ", ".join(qn(f.column) for f in fields),
        ", ".join(["%s"] * len(fields)),
    )
    with connection.cursor() as cursor:
        for start in range(0, len(objs), batch):
            rows = [
                tuple(f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields)
                for obj in objs[start : start + batch]
            ]
            cursor.executemany(sql, rows)
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias


# --------------------------------------------------------------------------- simulation


class Simulation:
    """Engineers walking sessions; every decision comes from ``rng`` and the form's state."""

    def __init__(self, world, writer, *, seed, sessions, days, until):
        self.world, self.writer = world, writer
        self.rng = random.Random(f"sessions-{seed}")
        self.n = sessions
        self.start = until - timedelta(days=days)
        self.span_days = max(days - 1, 0)
        # The most recent ~0.5% are still open (half of them put aside), as on any day.
        self.unfinished_from = sessions - max(1, sessions // 200) if sessions >= 20 else sessions
        self.finished = 0

    def token(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def run(self, *, batch: int) -> Iterator[int]:
        world, rng = self.world, self.rng
        cumulative = _cumulative(world.weights)
        user_cumulative = _cumulative(world.user_weights)
        for i in range(self.n):
            at = self.start + timedelta(
                days=self.span_days * i / self.n, minutes=rng.uniform(0, 600)
            )
            runbook = rng.choices(world.order, cum_weights=cumulative)[0]
            owner = rng.choices(world.users, cum_weights=user_cumulative)[0]
            self.one_session(i, runbook, owner, at, unfinished=i >= self.unfinished_from)
            if (i + 1) % batch == 0 or i + 1 == self.n:
                self.writer.flush()
                yield i + 1

    # One session, the way the guided form leads an engineer through it.
    def one_session(self, i: int, runbook: Runbook, owner: User, at: datetime, unfinished: bool):
        rng, writer = self.rng, self.writer
        sim = writer.start(runbook, owner, f"INC-{100000 + i}", at)
        self.clock = at
        self.user = owner
        joiner = None
        if rng.random() < 0.03:
            joiner = rng.choice([u for u in self.world.users if u.pk != owner.pk] or [owner])
        note_at = rng.randint(0, 3) if rng.random() < 0.08 else None

        here = runbook
        target = self.pivot_target(here) if rng.random() < 0.02 else None
        if target is not None:
            self.answer(sim, StepInput(kind="gate", gate_holds=True))
            self.answer(sim, StepInput(kind="pivot", target_slug=target.slug))
            here = target
        truth = self.world.truths[here.pk]
        true_cause = rng.choices(_active(here.causes), weights=truth)[0]
        self.walk_gate_and_pattern(sim, here, true_cause)
        if joiner is not None:
            self.advance(0.5, 4)
            writer.join(sim, joiner, self.token(), self.clock)
            self.user = joiner
        if note_at == 0:
            self.note(sim)
        found = None
        drill = self.drill_target(here) if rng.random() < 0.04 else None
        if drill is not None:
            self.answer(sim, StepInput(kind="drill", target_slug=drill.slug))
            inner = rng.choices(_active(drill.causes), weights=self.world.truths[drill.pk])[0]
            self.walk_gate_and_pattern(sim, drill, inner)
            found = self.walk_checks(sim, drill, inner)
            if rng.random() < 0.5:
                self.answer(sim, StepInput(kind="return"))
        if found is None and sim.current_id == here.pk:
            found = self.walk_checks(sim, here, true_cause)
        if note_at is not None and note_at > 0:
            self.note(sim)
        if unfinished:
            if rng.random() < 0.5:
                self.advance(1, 30)
                writer.abandon(sim, self.user, self.token(), self.clock)
            return
        self.finish(sim, found)

    def advance(self, low: float, high: float) -> datetime:
        self.clock += timedelta(minutes=self.rng.uniform(low, high))
        return self.clock

    def answer(self, sim: SimSession, answer: StepInput, minutes: float | None = None) -> None:
        if minutes is None:
            self.advance(0.3, 2.0)
        else:
            self.clock += timedelta(minutes=minutes)
        self.writer.step(sim, self.user, self.token(), answer, self.clock)
        kind = answer.kind
        target_id = None
        if kind in ("drill", "pivot"):
            target_id = self.world.by_slug[answer.target_slug].pk
        sim.flow.append(
            FlowStep(
                kind=kind,
                runbook_id=sim.current_id,
                gate_holds=answer.gate_holds,
                pattern_id=answer.pattern_id,
                check_id=answer.check_id,
                cause_id=answer.cause_id,
                result=answer.result,
                target_id=target_id,
            )
        )

    def note(self, sim: SimSession) -> None:
        self.answer(sim, StepInput(kind="note", note=self.rng.choice(NOTES)))

    def pivot_target(self, runbook: Runbook) -> Runbook | None:
        if not (runbook.not_the_issue_condition or list(runbook.pivots.all())):
            return None
        targets = [p.target_id for p in runbook.pivots.all() if p.target_id in self.world.runbooks]
        target = self.world.runbooks[targets[0]] if targets else None
        usable = target is not None and _active(target.causes) and _active(target.checks)
        return target if usable and target.pk != runbook.pk else None

    def drill_target(self, runbook: Runbook) -> Runbook | None:
        options = [
            self.world.runbooks[d.target_id]
            for d in runbook.drill_paths.all()
            if d.target_id in self.world.runbooks and d.target_id != runbook.pk
        ]
        options = [rb for rb in options if _active(rb.causes) and _active(rb.checks)]
        return self.rng.choice(options) if options else None

    def walk_gate_and_pattern(self, sim: SimSession, runbook: Runbook, true_cause: Cause):
        rng = self.rng
        if runbook.not_the_issue_condition or list(runbook.pivots.all()):
            self.answer(sim, StepInput(kind="gate", gate_holds=False))
        patterns = _active(runbook.patterns)
        matching = [
            p for p in patterns if true_cause.pk in {k.cause_id for k in p.cause_links.all()}
        ]
        roll = rng.random()
        if matching and roll < 0.75:
            pattern: Pattern | None = rng.choice(matching)
        elif patterns and roll < 0.85:
            pattern = rng.choice(patterns)
        else:
            pattern = None
        if patterns and rng.random() < 0.04:
            # First a wrong pick, then the right one: the second step supersedes the first.
            wrong = [p for p in patterns if p != pattern]
            if wrong:
                self.answer(sim, StepInput(kind="pattern", pattern_id=rng.choice(wrong).pk))
        self.answer(sim, StepInput(kind="pattern", pattern_id=pattern.pk if pattern else None))

    def walk_checks(self, sim: SimSession, runbook: Runbook, true_cause: Cause) -> int | None:
        """Run checks until one confirms a cause (returned) or the form has none left.

        What the engineer sees is the recommendation as of their previous answer (the
        page re-renders after each POST); the services judge ``followed_recommendation``
        as of the new answer's own time."""
        rng = self.rng
        checks = {c.pk: c for c in _active(runbook.checks)}
        state = self.writer.state(sim, runbook, self.clock)
        for _ in range(6):
            if state.next_check is None:
                return None
            cause_id, check_id = state.next_check
            if rng.random() < 0.15:
                done = {check for (_cause, check) in state.results}
                others = [c for c in checks if c not in done and c != check_id]
                if others:
                    check_id = rng.choice(others)
                    linked = [k.cause_id for k in checks[check_id].cause_links.all()]
                    candidates = [c for c in state.candidates if c in linked]
                    cause_id = (candidates or state.candidates or [cause_id])[0]
            check = checks[check_id]
            linked = {k.cause_id for k in check.cause_links.all()}
            # A linked check usually shows its cause; a general one (logs, diffs) often does.
            if (true_cause.pk in linked and rng.random() < 0.9) or (
                not linked and rng.random() < 0.5
            ):
                result, cause_id = CheckResult.CONFIRMS, true_cause.pk
            elif cause_id != true_cause.pk and rng.random() < 0.85:
                result = CheckResult.RULES_OUT
            else:
                result = CheckResult.INCONCLUSIVE
            spent = round(check.minutes * rng.uniform(0.5, 1.8), 1)
            answer = StepInput(
                kind="check", check_id=check_id, cause_id=cause_id, result=result, minutes=spent
            )
            self.answer(sim, answer, minutes=spent + rng.uniform(0.2, 1.0))
            if result == CheckResult.CONFIRMS:
                return cause_id
            state = self.writer.state(sim, runbook, self.clock)
        return None

    def finish(self, sim: SimSession, found: int | None) -> None:
        rng = self.rng
        self.advance(1, 20)
        if found:
            cause_runbook = self.world.cause_runbook[found]
            fixes = _active(cause_runbook.fix_patterns)
            linked = [f for f in fixes if found in {k.cause_id for k in f.cause_links.all()}]
            fix = rng.choice(linked or fixes) if fixes else None
            outcome = OutcomeInput(
                resolution="resolved" if rng.random() < 0.8 else "rolled_back",
                cause_id=found,
                fix_id=fix.pk if fix else None,
                minutes_to_diagnosis=round(rng.uniform(5, 90), 1) if rng.random() < 0.1 else None,
            )
        elif rng.random() < 0.6:
            outcome = OutcomeInput(resolution="escalated", cause_text=rng.choice(WRITTEN_IN_CAUSES))
        else:
            outcome = OutcomeInput(resolution=rng.choice(["not_a_regression", "abandoned"]))
        self.writer.finish(sim, self.user, self.token(), outcome, self.clock)
        self.finished += 1


def _cumulative(weights: list[float]) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out
