"""Guided triage (DESIGN.md §5): sessions, the steps taken in them, and their outcomes.

Steps are append-only: changing an answer records a new step that supersedes the old one,
so the timeline always shows what was really done, in order.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from kb.models import Cause, Check, FixPattern, Pattern, Runbook, RunbookRevision


class TriageSessionQuerySet(models.QuerySet):
    def unfinished(self) -> TriageSessionQuerySet:
        return self.exclude(status=TriageSession.Status.FINISHED)

    def involving(self, user) -> TriageSessionQuerySet:
        """Sessions the user owns or has joined."""
        joined = TriageStep.objects.filter(kind=TriageStep.Kind.JOIN, author=user).values(
            "session_id"
        )
        return self.filter(models.Q(owner=user) | models.Q(pk__in=joined))


class TriageSession(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "in progress"
        ABANDONED = "abandoned", "abandoned — can be resumed"
        FINISHED = "finished", "finished"

    runbook = models.ForeignKey(Runbook, on_delete=models.PROTECT, related_name="sessions")
    revision = models.ForeignKey(RunbookRevision, on_delete=models.PROTECT, related_name="+")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="triage_sessions"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    incident_ref = models.CharField("incident reference", max_length=120, blank=True)
    alert_source = models.CharField(max_length=200, blank=True)
    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    objects = TriageSessionQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.runbook.slug}"

    @property
    def is_finished(self) -> bool:
        return self.status == self.Status.FINISHED


class CheckResult(models.TextChoices):
    CONFIRMS = "confirms", "confirms"
    RULES_OUT = "rules_out", "rules out"
    INCONCLUSIVE = "inconclusive", "inconclusive"


class TriageStep(models.Model):
    class Kind(models.TextChoices):
        GATE = "gate", "gate answer"
        PATTERN = "pattern", "pattern chosen"
        CHECK = "check", "check run"
        DRILL = "drill", "drilled into a runbook"
        RETURN = "return", "came back"
        PIVOT = "pivot", "pivoted to a runbook"
        NOTE = "note", "note"
        JOIN = "join", "joined"
        ABANDON = "abandon", "abandoned"
        RESUME = "resume", "resumed"
        FINISH = "finish", "finished"

    session = models.ForeignKey(TriageSession, on_delete=models.CASCADE, related_name="steps")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    runbook = models.ForeignKey(Runbook, on_delete=models.PROTECT, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    token = models.UUIDField()
    created_at = models.DateTimeField(default=timezone.now)
    gate_holds = models.BooleanField(null=True, blank=True)
    pattern = models.ForeignKey(
        Pattern, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    check_item = models.ForeignKey(
        Check, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    cause = models.ForeignKey(
        Cause, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    result = models.CharField(max_length=12, choices=CheckResult.choices, blank=True)
    minutes = models.FloatField(null=True, blank=True)
    target = models.ForeignKey(
        Runbook, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(blank=True)
    supersedes = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="superseded_by"
    )
    # Check steps: was this the check Fieldguide recommended at that moment?
    followed_recommendation = models.BooleanField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["session", "token"], name="unique_step_token")
        ]

    def __str__(self) -> str:
        return f"#{self.session_id} {self.kind} @ {self.created_at:%H:%M:%S}"


class Outcome(models.Model):
    class Resolution(models.TextChoices):
        RESOLVED = "resolved", "resolved"
        ROLLED_BACK = "rolled_back", "rolled back"
        ESCALATED = "escalated", "escalated"
        NOT_A_REGRESSION = "not_a_regression", "not a regression / false alarm"
        ABANDONED = "abandoned", "abandoned"

    session = models.OneToOneField(TriageSession, on_delete=models.CASCADE, related_name="outcome")
    resolution = models.CharField(max_length=20, choices=Resolution.choices)
    cause = models.ForeignKey(
        Cause, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    cause_text = models.CharField("new cause, written in", max_length=500, blank=True)
    fix = models.ForeignKey(
        FixPattern, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    fix_text = models.CharField("fix applied, written in", max_length=500, blank=True)
    minutes_to_diagnosis = models.FloatField(null=True, blank=True)
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"#{self.session_id} {self.resolution}"


class RunbookStat(models.Model):
    """Finished sessions started on a runbook: raw count and decayed weight."""

    runbook = models.OneToOneField(Runbook, on_delete=models.CASCADE, related_name="learning")
    sessions = models.PositiveIntegerField(default=0)
    weight = models.FloatField(default=0.0)
    as_of = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.runbook_id}: {self.sessions} sessions"


class CauseStat(models.Model):
    """Decayed confirmations of one cause, overall or among sessions that saw one pattern.

    Keyed by cause and pattern keys, which survive runbook revisions. An empty cause key is
    the "unlisted cause" bucket; an empty pattern key means all sessions.
    """

    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="cause_stats")
    pattern_key = models.CharField(max_length=80, blank=True)
    cause_key = models.CharField(max_length=80, blank=True)
    weight = models.FloatField(default=0.0)
    confirmations = models.PositiveIntegerField(default=0)
    as_of = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["runbook", "pattern_key", "cause_key"], name="unique_cause_stat"
            )
        ]

    def __str__(self) -> str:
        return f"{self.runbook_id} {self.pattern_key or '*'} {self.cause_key or '(unlisted)'}"


class CheckStat(models.Model):
    """How a check has gone: raw result counts and decayed recorded minutes."""

    check_item = models.OneToOneField(Check, on_delete=models.CASCADE, related_name="learning")
    runs = models.PositiveIntegerField(default=0)
    confirms = models.PositiveIntegerField(default=0)
    rules_out = models.PositiveIntegerField(default=0)
    inconclusive = models.PositiveIntegerField(default=0)
    minutes_weight = models.FloatField(default=0.0)
    minutes_sum = models.FloatField(default=0.0)
    as_of = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.check_item_id}: {self.runs} runs"


class DetectionStat(models.Model):
    """Sessions where ``cause`` was confirmed and ``check_item`` was run (decayed), and how
    many of those the check itself confirmed."""

    check_item = models.ForeignKey(Check, on_delete=models.CASCADE, related_name="+")
    cause = models.ForeignKey(Cause, on_delete=models.CASCADE, related_name="+")
    runs = models.FloatField(default=0.0)
    detections = models.FloatField(default=0.0)
    as_of = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["check_item", "cause"], name="unique_detection_stat")
        ]

    def __str__(self) -> str:
        return f"{self.check_item_id}×{self.cause_id}"


class RankingDismissal(models.Model):
    """A lead dismissed the re-rank proposal for this learned order; shown again only when
    the learned order changes."""

    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="+")
    learned_order = models.TextField()
    dismissed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    dismissed_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.runbook_id} dismissed {self.dismissed_at:%Y-%m-%d}"
