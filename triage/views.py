import json
import uuid

from django.contrib import messages
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_POST
from django_tables2 import RequestConfig

from kb import selectors as kb_selectors
from kb.fragments import cached_html, fragment_key
from kb.models import Runbook
from kb.permissions import role_required
from triage import alerts, history, insights, selectors
from triage.forms import InsightsForm, OutcomeForm, StartForm, StepForm, TokenForm, first_error
from triage.models import TriageSession
from triage.proposals import StaleProposal, proposal_accept, proposal_dismiss, proposals
from triage.services import (
    TriageError,
    session_finish,
    session_join,
    session_set_abandoned,
    session_start,
    step_record,
)


@role_required("engineer")
def home(request: HttpRequest) -> HttpResponse:
    context = {
        "categories": kb_selectors.runbook_index(),
        "recent": kb_selectors.recent_runbooks(request.user),
        "open_sessions": selectors.open_sessions_for(request.user),
        "alert_sessions": alerts.open_alert_sessions(),
    }
    return render(request, "home.html", context)


@require_POST
@role_required("engineer")
def session_new(request: HttpRequest, slug: str) -> HttpResponse:
    runbook = get_object_or_404(Runbook, slug=slug)
    form = StartForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest(first_error(form), content_type="text/plain")
    try:
        session = session_start(runbook=runbook, user=request.user, **form.cleaned_data)
    except TriageError as exc:
        return HttpResponse(exc.message, status=exc.status, content_type="text/plain")
    return redirect("triage_session", pk=session.pk)


def _session_or_404(pk: int) -> TriageSession:
    session = selectors.session_for_page(pk)
    if session is None:
        from django.http import Http404

        raise Http404("No triage session with that number")
    return session


def _render_session(request: HttpRequest, session: TriageSession, error: str = "", status=200):
    page = selectors.triage_page(session, request.user)
    target = request.htmx.target if request.htmx else None
    template = (
        "triage/session.html#triage-panel" if target == "triage-panel" else "triage/session.html"
    )
    return render(request, template, {"page": page, "error": error}, status=status)


@role_required("engineer")
def session_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_session(request, _session_or_404(pk))


def _session_post(request: HttpRequest, pk: int, form_class, write) -> HttpResponse:
    """Validate the form, run one write; answer htmx with the re-rendered panel and plain
    forms with a redirect. ``write(session, user, form)`` raises TriageError to refuse.
    Services lock and re-read the session, so only its row is read before the write."""
    session = get_object_or_404(TriageSession, pk=pk)
    form = form_class(request.POST)
    if not form.is_valid():
        return _render_session(request, _session_or_404(pk), error=first_error(form), status=400)
    try:
        write(session, request.user, form)
    except TriageError as exc:
        return _render_session(request, _session_or_404(pk), error=exc.message, status=exc.status)
    if not request.htmx:
        return redirect("triage_session", pk=pk)
    return _render_session(request, _session_or_404(pk))


def _token(form) -> uuid.UUID:
    return form.cleaned_data["token"]


@require_POST
@role_required("engineer")
def session_step(request: HttpRequest, pk: int) -> HttpResponse:
    def write(session, user, form):
        step_record(session=session, user=user, token=_token(form), answer=form.answer())

    return _session_post(request, pk, StepForm, write)


@require_POST
@role_required("engineer")
def session_join_view(request: HttpRequest, pk: int) -> HttpResponse:
    def write(session, user, form):
        session_join(session=session, user=user, token=_token(form))

    return _session_post(request, pk, TokenForm, write)


@require_POST
@role_required("engineer")
def session_abandon(request: HttpRequest, pk: int, abandoned: bool = True) -> HttpResponse:
    def write(session, user, form):
        session_set_abandoned(session=session, user=user, token=_token(form), abandoned=abandoned)

    return _session_post(request, pk, TokenForm, write)


@require_POST
@role_required("engineer")
def session_finish_view(request: HttpRequest, pk: int) -> HttpResponse:
    def write(session, user, form):
        session_finish(session=session, user=user, token=_token(form), outcome=form.outcome())

    return _session_post(request, pk, OutcomeForm, write)


@role_required("engineer")
def session_json(request: HttpRequest, pk: int) -> HttpResponse:
    body = json.dumps(selectors.session_to_dict(_session_or_404(pk)), indent=2)
    return HttpResponse(body, content_type="application/json")


@role_required("engineer")
def session_timeline(request: HttpRequest, pk: int) -> HttpResponse:
    session = _session_or_404(pk)
    context = {"session": session, "rows": selectors.timeline_rows(session)}
    return render(request, "triage/timeline.html", context)


@role_required("lead")
def rankings(request: HttpRequest) -> HttpResponse:
    return render(request, "triage/rankings.html", {"proposals": proposals()})


@require_POST
@role_required("lead")
def ranking_decide(request: HttpRequest, slug: str, accept: bool) -> HttpResponse:
    runbook = get_object_or_404(Runbook, slug=slug)
    signature = request.POST.get("signature", "")
    try:
        if not accept:
            proposal_dismiss(runbook=runbook, user=request.user, signature=signature)
            messages.info(request, f"Dismissed the proposal for {runbook.title}.")
            return redirect("rankings")
        saved = proposal_accept(runbook=runbook, user=request.user, signature=signature)
    except StaleProposal as exc:
        messages.error(request, str(exc))
        return redirect("rankings")
    messages.success(request, f"{saved.title} is now at revision {saved.revision}.")
    return redirect("runbook_detail", slug=saved.slug)


def _filtered_history(request: HttpRequest) -> history.SessionFilter:
    # PostgreSQL text cannot hold NUL; such a filter value can only be hostile.
    params = request.GET.copy()
    for key in params:
        params.setlist(key, [v.replace("\x00", "")[:200] for v in params.getlist(key)])
    return history.SessionFilter(params, queryset=history.history_queryset())


def _validated_request(query: QueryDict) -> HttpRequest:
    # The cached table is made from the validated parameters alone, not the reader's request.
    request = HttpRequest()
    request.GET = query
    return request


@role_required("lead")
def history_page(request: HttpRequest) -> HttpResponse:
    part = "history-table" if request.htmx and request.htmx.target == "history-table" else ""
    filterset = _filtered_history(request)
    if filterset.is_valid():
        query = history.validated_query(filterset.form, history.TableForm(request.GET))
        key = fragment_key("history", history.history_version(), query.urlencode(), part)
        html = cached_html(key, lambda: _history_body(_validated_request(query), part))
    else:  # shows the errors next to what was typed: for this request only, never cached
        html = _history_body(request, part)
    if part:
        return HttpResponse(html)
    return render(request, "triage/history.html", {"body": html})


def _history_body(request: HttpRequest, part: str) -> str:
    filterset = _filtered_history(request)
    context = {"filter": filterset, "runbooks": history.runbook_choices()}
    if filterset.is_valid():  # otherwise no table: unfiltered rows would pass for filtered
        table = history.SessionTable(filterset.qs)
        RequestConfig(request, paginate={"per_page": history.PER_PAGE}).configure(table)
        context["table"] = table
        context["export_query"] = history.validated_query(filterset.form).urlencode()
    template = "triage/_history_body.html" + (f"#{part}" if part else "")
    return render_to_string(template, context, request)


@role_required("lead")
def history_export(request: HttpRequest, fmt: str) -> HttpResponse | StreamingHttpResponse:
    filterset = _filtered_history(request)
    if not filterset.is_valid():  # never all sessions in place of the filtered ones
        errors = filterset.form.errors.as_text()
        return HttpResponseBadRequest(errors, content_type="text/plain; charset=utf-8")
    queryset = filterset.qs.order_by("started_at", "id")
    stream = history.csv_stream(queryset) if fmt == "csv" else history.json_stream(queryset)
    content_type = "text/csv; charset=utf-8" if fmt == "csv" else "application/json"
    response = StreamingHttpResponse(stream, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="fieldguide-history.{fmt}"'
    return response


@role_required("lead")
def insights_page(request: HttpRequest) -> HttpResponse:
    slug = InsightsForm(request.GET).slug()
    runbook = Runbook.objects.filter(slug=slug).first() if slug else insights.busiest_runbook()
    sections = [
        insights.weekly_sessions(),
        insights.causes_over_time(runbook),
        insights.resolution_mix(),
        insights.runbook_effectiveness(),
        insights.order_deviation(),
    ]
    context = {
        "sections": [s for s in sections if s is not None],
        "runbooks": history.runbook_choices(),
        "chosen": runbook,
        "proposals": proposals(),
    }
    return render(request, "triage/insights.html", context)
