"""Incident history for leads: one filterable, sortable table of triage sessions, and the
same rows streamed as CSV or JSON."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator

import django_filters
import django_tables2 as tables
from django import forms
from django.db import connection
from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.http import QueryDict
from django.urls import reverse

from kb.models import Runbook
from triage.models import Outcome, TriageSession, TriageStep


def history_queryset() -> QuerySet[TriageSession]:
    """Every session with what the table shows, in one query (plus a count per page)."""
    pattern = (
        TriageStep.objects.filter(session=OuterRef("pk"), kind=TriageStep.Kind.PATTERN)
        .order_by("-created_at", "-id")
        .values("pattern__observation")[:1]
    )
    return (
        TriageSession.objects.select_related(
            "runbook", "owner", "outcome", "outcome__cause", "outcome__fix"
        )
        .annotate(
            pattern_seen=Subquery(pattern),
            minutes_to_diagnosis=F("outcome__minutes_to_diagnosis"),
        )
        .order_by("-started_at", "-id")
    )


class SessionFilter(django_filters.FilterSet):
    started_after = django_filters.DateFilter(
        field_name="started_at", lookup_expr="date__gte", label="From"
    )
    started_before = django_filters.DateFilter(
        field_name="started_at", lookup_expr="date__lte", label="To"
    )
    runbook = django_filters.CharFilter(field_name="runbook__slug", label="Runbook slug")
    category = django_filters.CharFilter(field_name="runbook__category", label="Category")
    cause = django_filters.CharFilter(method="filter_cause", label="Cause")
    resolution = django_filters.ChoiceFilter(
        field_name="outcome__resolution", choices=Outcome.Resolution.choices, label="Resolution"
    )
    engineer = django_filters.CharFilter(field_name="owner__username", label="Engineer")
    q = django_filters.CharFilter(method="filter_text", label="Text")

    class Meta:
        model = TriageSession
        fields: list[str] = []

    def filter_cause(self, queryset, name, value):
        return queryset.filter(
            Q(outcome__cause__key=value)
            | Q(outcome__cause__title__icontains=value)
            | Q(outcome__cause_text__icontains=value)
        )

    def filter_text(self, queryset, name, value):
        return queryset.filter(
            Q(incident_ref__icontains=value)
            | Q(alert_source__icontains=value)
            | Q(runbook__title__icontains=value)
            | Q(outcome__notes__icontains=value)
            | Q(outcome__cause__title__icontains=value)
            | Q(outcome__cause_text__icontains=value)
            | Q(outcome__fix_text__icontains=value)
        )


def history_version() -> tuple:
    """What the history table shows can only change by a new session, step or outcome
    (all append-only) or a runbook edit (titles): the newest of each, in one query."""
    tables = [m._meta.db_table for m in (TriageSession, TriageStep, Outcome)]
    newest = ", ".join(f"(SELECT MAX(id) FROM {t})" for t in tables)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {newest}, (SELECT MAX(updated_at) FROM {Runbook._meta.db_table})"  # noqa: S608
        )
        return tuple(cursor.fetchone())


def runbook_choices() -> list[tuple[str, str]]:
    return list(Runbook.objects.order_by("slug").values_list("slug", "title"))


class SessionTable(tables.Table):
    started_at = tables.DateTimeColumn(
        verbose_name="Started",
        format="Y-m-d H:i",
        linkify=lambda record: _timeline(record),
        # Sort and page links are boosted into the table; this one leaves the page.
        attrs={"a": {"hx-boost": "false"}},
    )
    runbook = tables.Column(accessor="runbook__title", verbose_name="Runbook")
    engineer = tables.Column(accessor="owner__username", verbose_name="Engineer")
    pattern_seen = tables.Column(verbose_name="Pattern seen", default="—")
    cause = tables.Column(
        accessor="outcome__cause__title", verbose_name="Confirmed cause", empty_values=()
    )
    fix = tables.Column(accessor="outcome__fix__text", verbose_name="Fix", default="—")
    resolution = tables.Column(accessor="outcome__resolution", verbose_name="Resolution")
    minutes_to_diagnosis = tables.Column(verbose_name="Time to diagnosis (min)", default="—")
    incident_ref = tables.Column(verbose_name="Incident", default="—")
    alert_source = tables.Column(verbose_name="Alert", default="—")

    class Meta:
        template_name = "django_tables2/table.html"
        attrs = {"class": "history"}
        order_by = "-started_at"
        empty_text = "No sessions match these filters."

    def render_cause(self, record):
        return cause_label(record) or "—"

    def render_fix(self, value):
        return value[:80] + ("…" if len(value) > 80 else "")

    def render_resolution(self, record):
        return record.outcome.get_resolution_display() if _outcome(record) else "—"

    def render_minutes_to_diagnosis(self, value):
        return f"{value:.1f}"


PER_PAGE = 25
MAX_PER_PAGE = 100
_SORTS = [*SessionTable.base_columns, *(f"-{name}" for name in SessionTable.base_columns)]


class TableForm(forms.Form):
    """How the table is shown. A value that is not valid is dropped, so the table falls back
    to its default order, first page or page size; a page size above the maximum is cut."""

    sort = forms.ChoiceField(required=False, choices=[(s, s) for s in _SORTS])
    page = forms.IntegerField(required=False, min_value=1)
    per_page = forms.IntegerField(required=False, min_value=1)

    def clean_per_page(self) -> int | None:
        value = self.cleaned_data["per_page"]
        return min(value, MAX_PER_PAGE) if value else None


def validated_query(*bound: forms.Form) -> QueryDict:
    """The valid values of these forms as a query string: all that a history page may depend
    on, so it is rendered and cached from these alone (never the request's other parameters)."""
    query = QueryDict(mutable=True)
    for form in bound:
        form.is_valid()
        for name, value in form.cleaned_data.items():
            if value not in (None, ""):
                query[name] = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return query


def _outcome(session: TriageSession):
    try:
        return session.outcome
    except Outcome.DoesNotExist:
        return None


def _timeline(session: TriageSession) -> str:
    return reverse("triage_timeline", kwargs={"pk": session.pk})


def cause_label(session: TriageSession) -> str:
    outcome = _outcome(session)
    if outcome is None:
        return ""
    return outcome.cause.title if outcome.cause else outcome.cause_text


EXPORT_FIELDS = [
    ("id", "pk"),
    ("started_at", "started_at"),
    ("ended_at", "ended_at"),
    ("runbook", "runbook__slug"),
    ("engineer", "owner__username"),
    ("status", "status"),
    ("pattern_seen", "pattern_seen"),
    ("cause", "outcome__cause__key"),
    ("cause_title", "outcome__cause__title"),
    ("cause_text", "outcome__cause_text"),
    ("fix", "outcome__fix__text"),
    ("fix_text", "outcome__fix_text"),
    ("resolution", "outcome__resolution"),
    ("minutes_to_diagnosis", "outcome__minutes_to_diagnosis"),
    ("incident_ref", "incident_ref"),
    ("alert_source", "alert_source"),
]


def export_rows(queryset: QuerySet[TriageSession]) -> Iterator[tuple]:
    """Plain tuples straight from the cursor in chunks, so memory stays flat at any size."""
    values = queryset.values_list(*(path for _name, path in EXPORT_FIELDS))
    return values.iterator(chunk_size=2000)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _text(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


# Spreadsheet apps run cells starting with = + - @ (or tab, CR) as formulas, and one opening
# the file with another separator (";", tab) makes a cell of each part of ours. So a quote goes
# before every such start, at the beginning and after each separator; imported text is untrusted.
_FORMULA_START = re.compile(r"(?<![^,;\t\r\n])(?=[ ]*[=+\-@\t\r])")


def _csv_safe(value: str) -> str:
    return _FORMULA_START.sub("'", value)


def csv_stream(queryset: QuerySet[TriageSession]) -> Iterator[str]:
    writer = csv.writer(_Echo(), quoting=csv.QUOTE_ALL)
    yield writer.writerow([name for name, _path in EXPORT_FIELDS])
    for row in export_rows(queryset):
        yield writer.writerow([_csv_safe(_text(v)) for v in row])


def json_stream(queryset: QuerySet[TriageSession]) -> Iterator[str]:
    names = [name for name, _path in EXPORT_FIELDS]
    yield "["
    first = True
    for row in export_rows(queryset):
        record = {
            n: (v.isoformat() if hasattr(v, "isoformat") else v)
            for n, v in zip(names, row, strict=True)
        }
        yield ("\n" if first else ",\n") + json.dumps(record)
        first = False
    yield "\n]\n"
