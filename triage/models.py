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
