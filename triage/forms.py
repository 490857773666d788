"""Forms for the guided triage. They parse; triage.services validates against the session."""

from datetime import datetime, timedelta

from django import forms
from django.utils import timezone

from triage.models import CheckResult, Outcome, TriageStep
from triage.services import MAX_CHECK_MINUTES, OutcomeInput, StepInput


class TokenForm(forms.Form):
    token = forms.UUIDField(error_messages={"required": "This form is missing its step token."})


class StepForm(TokenForm):
    kind = forms.ChoiceField(choices=TriageStep.Kind.choices)
    gate = forms.ChoiceField(choices=[("yes", "yes"), ("no", "no")], required=False)
    pattern = forms.CharField(required=False, max_length=20)
    check_id = forms.IntegerField(required=False, min_value=1)
    cause = forms.IntegerField(required=False, min_value=1)
    result = forms.ChoiceField(choices=CheckResult.choices, required=False)
    minutes = forms.FloatField(required=False, min_value=0, max_value=MAX_CHECK_MINUTES)
    shown_at = forms.DateTimeField(required=False)
    target = forms.CharField(required=False, max_length=200)
    note = forms.CharField(required=False, max_length=5000)

    def clean_pattern(self) -> int | None:
        value = self.cleaned_data["pattern"].strip()
        if value in ("", "none"):
            return None
        if not (value.isascii() and value.isdigit()):  # "²".isdigit(), but int("²") fails
            raise forms.ValidationError("Choose a pattern or “none of these”.")
        return int(value)

    def answer(self) -> StepInput:
        data = self.cleaned_data
        gate = {"yes": True, "no": False}.get(data.get("gate") or "")
        return StepInput(
            kind=data["kind"],
            gate_holds=gate,
            pattern_id=data.get("pattern"),
            check_id=data.get("check_id"),
            cause_id=data.get("cause"),
            result=data.get("result") or "",
            minutes=_minutes(data.get("minutes"), data.get("shown_at")),
            target_slug=data.get("target") or "",
            note=data.get("note") or "",
        )


def _minutes(minutes: float | None, shown_at: datetime | None) -> float | None:
    """Minutes typed in win; otherwise the time since the check was shown."""
    if minutes is not None:
        return round(minutes, 1)
    if shown_at is None:
        return None
    elapsed = timezone.now() - shown_at
    if elapsed < timedelta(0) or elapsed > timedelta(minutes=MAX_CHECK_MINUTES):
        return None
    return round(elapsed.total_seconds() / 60, 1)


class OutcomeForm(TokenForm):
    resolution = forms.ChoiceField(
        # "resolved by the alert clearing" is recorded by the alert receiver, not by people.
        choices=[
            c for c in Outcome.Resolution.choices if c[0] != Outcome.Resolution.RESOLVED_BY_ALERT
        ]
    )
    cause = forms.IntegerField(required=False, min_value=1)
    cause_text = forms.CharField(required=False, max_length=500)
    fix = forms.IntegerField(required=False, min_value=1)
    fix_text = forms.CharField(required=False, max_length=500)
    minutes_to_diagnosis = forms.FloatField(required=False, min_value=0, max_value=100000)
    notes = forms.CharField(required=False, max_length=10000)

    def outcome(self) -> OutcomeInput:
        data = self.cleaned_data
        return OutcomeInput(
            resolution=data["resolution"],
            cause_id=data.get("cause"),
            cause_text=data.get("cause_text") or "",
            fix_id=data.get("fix"),
            fix_text=data.get("fix_text") or "",
            minutes_to_diagnosis=data.get("minutes_to_diagnosis"),
            notes=data.get("notes") or "",
        )


class StartForm(forms.Form):
    incident_ref = forms.CharField(required=False, max_length=120)
    # Sent by the runbook page; scripts may leave it out (then every POST starts a session).
    token = forms.UUIDField(required=False)


def first_error(form: forms.Form) -> str:
    for field, errors in form.errors.items():
        label = "" if field == "__all__" else f"{field}: "
        return f"{label}{errors[0]}"
    return "Invalid form."


class InsightsForm(forms.Form):
    """``/insights/?runbook=<slug>``: a slug that cannot be one (too long, NUL) counts as
    none, and the busiest runbook is shown."""

    runbook = forms.CharField(required=False, max_length=200)

    def slug(self) -> str:
        return self.cleaned_data["runbook"] if self.is_valid() else ""
