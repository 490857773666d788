"""The runbook domain (DESIGN.md §3): a runbook and its ordered, linked parts."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.cache import caches
from django.db import models
from django.db.models import Q
from django.utils import timezone

# The parts a runbook page shows as sections, in Fieldguide's canonical order: the order of
# a runbook whose author's order is not known (imported before it was recorded). The names
# are kb.markdown_io's ``ParsedRunbook.section_order`` kinds; extra sections are
# "extra:<index>", the index counting ``Runbook.extra_sections`` from 0.
SECTION_KINDS = (
    "symptom",
    "patterns",
    "causes",
    "checks",
    "signal_examples",
    "drill_paths",
    "fix_patterns",
    "not_the_issue",
    "connections",
    "open_questions",
    "related_reading",
)
EXTRA_PREFIX = "extra:"


def order_sections(authored: object, present: list[str]) -> list[str]:
    """The sections a runbook has (``present``, canonical then extra order), in the author's
    order where it is known. Pure.

    ``authored`` is stored JSON, so anything unexpected in it — unknown or repeated names, a
    section since removed — is skipped, and a section it leaves out still shows, after the
    authored ones in canonical order: nothing a runbook has is ever hidden by its order.
    """
    wanted = set(present)
    order: list[str] = []
    for name in authored if isinstance(authored, list) else ():
        if isinstance(name, str) and name in wanted and name not in order:
            order.append(name)
    return order + [name for name in present if name not in order]


class RunbookQuerySet(models.QuerySet):
    def in_category(self, category: str) -> RunbookQuerySet:
        return self.filter(category=category)

    def with_parts(self) -> RunbookQuerySet:
        """Everything a full runbook page or export reads, in a fixed number of queries."""
        return self.prefetch_related(
            "causes",
            "items",
            "extra_sections",
            models.Prefetch(
                "checks", queryset=Check.objects.prefetch_related("cause_links__cause")
            ),
            models.Prefetch(
                "patterns", queryset=Pattern.objects.prefetch_related("cause_links__cause")
            ),
            models.Prefetch(
                "fix_patterns", queryset=FixPattern.objects.prefetch_related("cause_links__cause")
            ),
            models.Prefetch("drill_paths", queryset=DrillPath.objects.select_related("target")),
            models.Prefetch("pivots", queryset=Pivot.objects.select_related("target")),
            models.Prefetch("connections", queryset=Connection.objects.select_related("target")),
        )

    def linking_to(self, slug: str) -> RunbookQuerySet:
        """Runbooks with a drill path, pivot or connection to ``slug`` (its backlinks)."""
        return self.filter(
            Q(drill_paths__target_slug=slug)
            | Q(pivots__target_slug=slug)
            | Q(connections__target_slug=slug)
        ).distinct()


class Runbook(models.Model):
    slug = models.CharField(max_length=200, unique=True)
    title = models.CharField(max_length=300)
    summary = models.TextField(blank=True)
    symptom = models.TextField(blank=True)
    category = models.CharField(max_length=100, blank=True, db_index=True)
    tags = models.JSONField(default=list, blank=True)
    front_matter = models.JSONField(default=dict, blank=True)
    not_the_issue_condition = models.TextField("when this is not the issue — condition", blank=True)
    # The author's section order (see SECTION_KINDS), saved with the rest of the text, so a
    # change to it moves updated_at and with it every cached page part (kb.fragments).
    section_order = models.JSONField(default=list, blank=True)
    # Text a list section opens with before its first item ("Check the following:"), by
    # section kind; Markdown, rendered like every other part.
    section_intros = models.JSONField(default=dict, blank=True)
    source_path = models.CharField(max_length=500, blank=True)
    source_hash = models.CharField(max_length=64, blank=True)
    revision = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    # Every change to a runbook's text saves the runbook, so the newest updated_at is the
    # knowledge base's version (kb.fragments keys cached page parts on it).
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    # When triage last changed what it learned from sessions on this runbook. kb does not
    # read the learning itself (DESIGN.md §2); it only keys cached rankings on this.
    learned_at = models.DateTimeField(null=True, blank=True)

    objects = RunbookQuerySet.as_manager()

    class Meta:
        ordering = ["category", "slug"]

    def __str__(self) -> str:
        return self.slug

    def backlinks(self) -> RunbookQuerySet:
        return Runbook.objects.linking_to(self.slug).exclude(pk=self.pk)

    def active_causes(self) -> models.QuerySet[Cause]:
        return self.causes.filter(retired=False)

    def active_checks(self) -> models.QuerySet[Check]:
        return self.checks.filter(retired=False)

    def active_patterns(self) -> models.QuerySet[Pattern]:
        return self.patterns.filter(retired=False)

    def active_fix_patterns(self) -> models.QuerySet[FixPattern]:
        return self.fix_patterns.filter(retired=False)

    def items_of(self, kind: str) -> list[str]:
        return [item.text for item in self.items.all() if item.kind == kind]

    def section_keys(self) -> list[str]:
        """The sections this runbook has, in its author's order (``order_sections``).

        Reads only prefetched relations: call it on a runbook from ``with_parts()``.
        """
        kinds = {item.kind for item in self.items.all()}
        has = {
            "symptom": bool(self.symptom.strip()),
            "patterns": any(not p.retired for p in self.patterns.all()),
            "causes": any(not c.retired for c in self.causes.all()),
            "checks": any(not c.retired for c in self.checks.all()),
            "signal_examples": ItemKind.SIGNAL_EXAMPLE in kinds,
            "drill_paths": bool(self.drill_paths.all()),
            "fix_patterns": any(not f.retired for f in self.fix_patterns.all()),
            "not_the_issue": bool(
                self.not_the_issue_condition.strip()
                or ItemKind.NOT_THE_ISSUE in kinds
                or self.pivots.all()
            ),
            "connections": bool(self.connections.all()),
            "open_questions": ItemKind.OPEN_QUESTION in kinds,
            "related_reading": ItemKind.RELATED_READING in kinds,
        }
        intros = self.section_intros if isinstance(self.section_intros, dict) else {}
        present = [kind for kind in SECTION_KINDS if has[kind] or intros.get(kind)]
        present += [f"{EXTRA_PREFIX}{i}" for i in range(len(self.extra_sections.all()))]
        return order_sections(self.section_order, present)


class RunbookRevision(models.Model):
    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    markdown = models.TextField()
    source_hash = models.CharField(max_length=64)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["runbook", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["runbook", "number"], name="unique_revision_number")
        ]

    def __str__(self) -> str:
        return f"{self.runbook.slug} r{self.number}"


class Cause(models.Model):
    """A likely cause. ``rank`` is the author's; learned ranking lives in triage."""

    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="causes")
    key = models.SlugField(max_length=80)
    rank = models.PositiveIntegerField()
    title = models.CharField(max_length=500)
    detail = models.TextField(blank=True)
    # Removed from the text but kept so recorded sessions can still cite it.
    retired = models.BooleanField(default=False)

    class Meta:
        ordering = ["retired", "rank"]
        constraints = [models.UniqueConstraint(fields=["runbook", "key"], name="unique_cause_key")]

    def __str__(self) -> str:
        return self.title


class LinkStatus(models.TextChoices):
    PROPOSED = "proposed", "proposed by the importer"
    CONFIRMED = "confirmed", "confirmed by an editor"


class Pattern(models.Model):
    """A Quick Diagnosis row: what you observe, what it suggests."""

    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="patterns")
    key = models.SlugField(max_length=80)
    position = models.PositiveIntegerField()
    observation = models.CharField(max_length=500)
    diagnosis = models.TextField(blank=True)
    retired = models.BooleanField(default=False)
    causes = models.ManyToManyField(Cause, through="PatternCause", related_name="patterns")

    class Meta:
        ordering = ["retired", "position"]
        constraints = [
            models.UniqueConstraint(fields=["runbook", "key"], name="unique_pattern_key")
        ]

    def __str__(self) -> str:
        return self.observation


class Check(models.Model):
    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="checks")
    key = models.SlugField(max_length=80)
    position = models.PositiveIntegerField()
    title = models.CharField(max_length=500)
    detail = models.TextField(blank=True)
    minutes = models.PositiveIntegerField(help_text="expected minutes to run this check")
    minutes_authored = models.BooleanField(
        default=False, help_text="set explicitly in the text rather than derived from position"
    )
    retired = models.BooleanField(default=False)
    causes = models.ManyToManyField(Cause, through="CheckCause", related_name="checks")

    class Meta:
        ordering = ["retired", "position"]
        constraints = [models.UniqueConstraint(fields=["runbook", "key"], name="unique_check_key")]

    def __str__(self) -> str:
        return self.title


class FixPattern(models.Model):
    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="fix_patterns")
    key = models.SlugField(max_length=80)
    position = models.PositiveIntegerField()
    text = models.TextField()
    retired = models.BooleanField(default=False)
    causes = models.ManyToManyField(Cause, through="FixCause", related_name="fix_patterns")

    class Meta:
        ordering = ["retired", "position"]
        constraints = [models.UniqueConstraint(fields=["runbook", "key"], name="unique_fix_key")]

    def __str__(self) -> str:
        return self.text[:80]


class CauseLink(models.Model):
    cause = models.ForeignKey(Cause, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(
        max_length=10, choices=LinkStatus.choices, default=LinkStatus.PROPOSED
    )

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"→ {self.cause_id} ({self.status})"


class PatternCause(CauseLink):
    pattern = models.ForeignKey(Pattern, on_delete=models.CASCADE, related_name="cause_links")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["pattern", "cause"], name="unique_pattern_cause")
        ]


class CheckCause(CauseLink):
    # Not named "check": that would shadow Model.check().
    check_item = models.ForeignKey(Check, on_delete=models.CASCADE, related_name="cause_links")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["check_item", "cause"], name="unique_check_cause")
        ]


class FixCause(CauseLink):
    fix = models.ForeignKey(FixPattern, on_delete=models.CASCADE, related_name="cause_links")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["fix", "cause"], name="unique_fix_cause")]


class RunbookLink(models.Model):
    """A link to another runbook by slug; ``target`` is set while that runbook exists."""

    position = models.PositiveIntegerField()
    target_slug = models.CharField(max_length=200, db_index=True)
    target = models.ForeignKey(
        Runbook, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        abstract = True
        ordering = ["position"]

    @property
    def exists(self) -> bool:
        return self.target_id is not None


class DrillPath(RunbookLink):
    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="drill_paths")
    suspect = models.CharField(max_length=500)

    def __str__(self) -> str:
        return f"{self.suspect} → {self.target_slug}"


class Pivot(RunbookLink):
    """A "Pivot to <slug>" under When This Is Not the Issue. The condition is on Runbook."""

    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="pivots")
    note = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"pivot → {self.target_slug}"


class Connection(RunbookLink):
    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="connections")

    def __str__(self) -> str:
        return f"→ {self.target_slug}"


class ItemKind(models.TextChoices):
    SIGNAL_EXAMPLE = "signal_example", "signal example"
    NOT_THE_ISSUE = "not_the_issue", "when this is not the issue"
    OPEN_QUESTION = "open_question", "open question"
    RELATED_READING = "related_reading", "related reading"


class RunbookItem(models.Model):
    """The simple item lists: signal examples, not-the-issue items, questions, reading."""

    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="items")
    kind = models.CharField(max_length=20, choices=ItemKind.choices)
    position = models.PositiveIntegerField()
    text = models.TextField()

    class Meta:
        ordering = ["kind", "position"]

    def __str__(self) -> str:
        return self.text[:80]


class ExtraSection(models.Model):
    """A section the importer does not know, kept verbatim."""

    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="extra_sections")
    position = models.PositiveIntegerField()
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)

    class Meta:
        ordering = ["position"]

    def __str__(self) -> str:
        return self.title


class SearchSection(models.TextChoices):
    # Declared in ranking order: title and symptom hits come first.
    TITLE = "title", "title"
    SYMPTOM = "symptom", "symptom"
    SUMMARY = "summary", "summary"
    PATTERN = "pattern", "quick diagnosis"
    CAUSE = "cause", "likely cause"
    CHECK = "check", "first check"
    FIX = "fix", "fix pattern"
    SIGNAL = "signal", "signal example"
    PIVOT = "pivot", "when this is not the issue"
    ALERT = "alert", "alert"
    LINK = "link", "related runbook"
    SECTION = "section", "section"


SEARCH_WEIGHTS = {section: weight for weight, section in enumerate(SearchSection.values)}


class SearchEntry(models.Model):
    """One searchable piece of a runbook, rebuilt whenever the runbook is saved.

    Plain rows searched with icontains work the same on SQLite and PostgreSQL.
    """

    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="search_entries")
    section = models.CharField(max_length=10, choices=SearchSection.choices)
    weight = models.PositiveSmallIntegerField()
    position = models.PositiveIntegerField(default=0)
    text = models.TextField()

    class Meta:
        ordering = ["weight", "position"]
        verbose_name_plural = "search entries"

    def __str__(self) -> str:
        return f"{self.runbook_id} {self.section}"


class SearchDocument(models.Model):
    """What full-text search ranks: one row per runbook (kind "runbook") or finished triage
    session (kind "incident"), its text in four weights (DESIGN.md §1, kb.search_index).

    title and alerts weigh A; primary B (symptom, patterns, causes, signal examples);
    secondary C (checks, fixes, pivots); other D. On PostgreSQL ``vector`` holds the weighted
    tsvector (GIN-indexed); on SQLite a per-kind FTS5 table holds the same columns under
    rowid = id. Both are written by kb.search_index in the writer's transaction.
    """

    class Kind(models.TextChoices):
        RUNBOOK = "runbook"
        INCIDENT = "incident"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    ref = models.BigIntegerField(help_text="the runbook's or the triage session's id")
    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="+")
    title = models.TextField(blank=True)
    alerts = models.TextField(blank=True)
    primary = models.TextField(blank=True)
    secondary = models.TextField(blank=True)
    other = models.TextField(blank=True)
    vector = SearchVectorField(null=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "ref"], name="kb_searchdocument_kind_ref")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.ref}"


class SearchWord(models.Model):
    """The index's vocabulary, for "did you mean": every word of 3–30 letters seen in a
    runbook document, lowercase, with its Snowball stem. Grows with imports; rebuilt (and so
    pruned) by ``rebuild_search_index``."""

    word = models.CharField(max_length=30, unique=True)
    stem = models.CharField(max_length=30, db_index=True)
    length = models.PositiveSmallIntegerField(db_index=True)

    def __str__(self) -> str:
        return self.word


class SearchSynonym(models.Model):
    """One group of equivalent search terms ("5xx, 500, 502, server error"), applied to
    every query on both databases. Editable in the admin; defaults from
    kb.search_query.DEFAULT_SYNONYMS."""

    terms = models.CharField(
        max_length=500,
        unique=True,
        help_text="Comma-separated words or phrases that mean the same, e.g. "
        "“cert, certificate, tls, ssl, x509”.",
    )
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["terms"]

    def __str__(self) -> str:
        return self.terms

    def group(self) -> tuple[str, ...]:
        """The group's terms, lowercase and trimmed, empty entries dropped."""
        return tuple(t for t in (" ".join(t.lower().split()) for t in self.terms.split(",")) if t)

    MAX_TERMS = 30
    MAX_TERM_WORDS = 8

    def clean(self) -> None:
        """At least two distinct terms, each of at most eight words and not only function
        words ("the, a" would make every runbook match "the")."""
        from django.core.exceptions import ValidationError

        from kb.search_query import is_stopword, words

        terms = self.group()
        if len(set(terms)) < 2:
            raise ValidationError({"terms": "Give at least two different terms, comma-separated."})
        if len(terms) > self.MAX_TERMS:
            raise ValidationError({"terms": f"At most {self.MAX_TERMS} terms in one group."})
        for term in terms:
            found = words(term)
            if not found:
                raise ValidationError({"terms": f"“{term}” has no letters or digits."})
            if len(found) > self.MAX_TERM_WORDS:
                raise ValidationError(
                    {"terms": f"“{term}” is too long: at most {self.MAX_TERM_WORDS} words."}
                )
            if all(is_stopword(w) for w in found):
                raise ValidationError(
                    {
                        "terms": f"“{term}” has only common words like “the”: it would match "
                        "everything."
                    }
                )


class RunbookAlert(models.Model):
    """An alert name a runbook covers: named in its front matter (``alerts: [...]``), by an
    alert mapping, or seen on one of its alert-opened sessions. Searched with weight A."""

    class Source(models.TextChoices):
        FRONT_MATTER = "front_matter", "front matter"
        MAPPING = "mapping", "alert mapping"
        SEEN = "seen", "seen on a session"

    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="alert_names")
    name = models.CharField(max_length=200)
    source = models.CharField(max_length=12, choices=Source.choices)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["runbook", "name", "source"], name="kb_runbookalert_unique"
            )
        ]

    def __str__(self) -> str:
        return self.name


class RunbookVisitQuerySet(models.QuerySet):
    # "Recently viewed" needs minutes, not milliseconds: re-reading a runbook within this
    # many seconds touches neither the database nor its write lock.
    REFRESH_SECONDS = 60

    def record(self, *, user, runbook_id: int) -> None:
        # Per process: with several workers a visit is written at most once a minute by each.
        recent = caches["local"]
        if not recent.add(f"runbook-visit:{user.pk}:{runbook_id}", True, self.REFRESH_SECONDS):
            return
        self.update_or_create(
            user=user, runbook_id=runbook_id, defaults={"visited_at": timezone.now()}
        )


class RunbookVisit(models.Model):
    """The last time a user opened a runbook, for "recently viewed"."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="+")
    visited_at = models.DateTimeField(db_index=True)

    objects = RunbookVisitQuerySet.as_manager()

    class Meta:
        ordering = ["-visited_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "runbook"], name="unique_runbook_visit")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.runbook_id}"
