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
        FROM_ALERT = "from_alert", "opened from an alert"

    runbook = models.ForeignKey(Runbook, on_delete=models.PROTECT, related_name="sessions")
    revision = models.ForeignKey(RunbookRevision, on_delete=models.PROTECT, related_name="+")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="triage_sessions"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    incident_ref = models.CharField("incident reference", max_length=120, blank=True)
    alert_source = models.CharField(max_length=200, blank=True)
    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    # The start form's one-time token: a retried or double-clicked "Start triage" finds the
    # session the first request opened instead of opening another.
    start_token = models.UUIDField(null=True, blank=True, unique=True, editable=False)
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
        RESOLVED_BY_ALERT = "resolved_by_alert", "resolved by the alert clearing"

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


# --------------------------------------------------------------------------- alerts (issue 7)


def validate_alert_matchers(value: str) -> None:
    from django.core.exceptions import ValidationError

    from triage.alerts import MatcherError, parse_matchers

    try:
        parse_matchers(value)
    except MatcherError as exc:
        raise ValidationError(str(exc)) from exc


class AlertRunbookMapping(models.Model):
    """Alerts whose labels match every matcher open triage on ``runbook``.

    Consulted after the alert's ``runbook_url`` annotation; lowest priority first, the first
    matching rule wins.
    """

    matchers = models.TextField(
        validators=[validate_alert_matchers],
        help_text=(
            "Label matchers that must all hold, comma- or newline-separated: "
            'alertname=KubePodCrashLooping, namespace="prod". Only = is supported; quote '
            "values that contain commas, quotes or =. An empty value matches a missing label."
        ),
    )
    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="alert_mappings")
    priority = models.PositiveIntegerField(
        default=100, help_text="Lower is tried first; the first matching mapping wins."
    )
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["priority", "id"]

    def __str__(self) -> str:
        return f"{' '.join(self.matchers.split())} → {self.runbook}"


class AlertStatus(models.TextChoices):
    FIRING = "firing", "firing"
    RESOLVED = "resolved", "resolved"


class SessionAlert(models.Model):
    """A Prometheus alert as Alertmanager delivered it, attached to the session it opened.

    One firing (fingerprint + startsAt) opens one session; repeats only update this row.
    """

    session = models.ForeignKey(TriageSession, on_delete=models.CASCADE, related_name="alerts")
    fingerprint = models.CharField(max_length=64)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=AlertStatus.choices, default=AlertStatus.FIRING)
    alertname = models.CharField(max_length=200, blank=True)
    labels = models.JSONField(default=dict, blank=True)
    annotations = models.JSONField(default=dict, blank=True)
    generator_url = models.TextField(blank=True)
    receiver = models.CharField(max_length=200, blank=True)
    group_key = models.TextField(blank=True)
    mapped_by = models.CharField(max_length=200, blank=True)
    notifications = models.PositiveIntegerField(default=1)
    first_notified_at = models.DateTimeField(default=timezone.now)
    last_notified_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["fingerprint", "starts_at"], name="unique_session_alert_firing"
            )
        ]

    def __str__(self) -> str:
        name = self.alertname or self.fingerprint
        return f"{name} @ {self.starts_at:%Y-%m-%d %H:%M} ({self.status})"

    @property
    def generator_link(self) -> str:
        """The generator URL, only when it is plain http(s) (it is shown as a link)."""
        from triage.alerts import safe_http_url

        return safe_http_url(self.generator_url)

    @property
    def is_resolved(self) -> bool:
        return self.status == AlertStatus.RESOLVED


class UnmappedAlert(models.Model):
    """An alert no runbook was found for; listed for editors so they can add a mapping."""

    fingerprint = models.CharField(max_length=64, unique=True)
    alertname = models.CharField(max_length=200, blank=True, db_index=True)
    labels = models.JSONField(default=dict, blank=True)
    annotations = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=8, choices=AlertStatus.choices, default=AlertStatus.FIRING)
    receiver = models.CharField(max_length=200, blank=True)
    count = models.PositiveIntegerField("times fired", default=0)
    last_starts_at = models.DateTimeField(null=True, blank=True)
    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-last_seen", "-id"]

    def __str__(self) -> str:
        return f"{self.alertname or self.fingerprint} (unmapped, {self.count}×)"
