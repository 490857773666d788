"""Editor pages (issue 8): edit with live preview, new and upload, history, links, health.

Views are thin: parse the request, call one kb.authoring service or one selector, pick a
template. Each page is one template; htmx asks for one of its partials by DOM id.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from kb.authoring import (
    EditConflict,
    links_from_form,
    runbook_create,
    runbook_edit_save,
    runbook_links_save,
    runbook_restore,
    runbook_source_text,
    runbooks_upload,
)
from kb.edit_forms import EditForm, LinksForm, NewRunbookForm, RestoreForm, UploadForm
from kb.edit_selectors import edit_preview, link_editor, revision_history
from kb.health import link_health
from kb.markdown_io import RunbookParseError
from kb.models import Runbook, RunbookRevision
from kb.permissions import role_required
from kb.services import ImportReport, ReplaceNotConfirmed, RunbookImportFailed
from kb.uploads import Upload
from kb.views import _partial

GET_POST = require_http_methods(["GET", "POST"])


def _saved_message(request: HttpRequest, runbook: Runbook, status: str, what: str) -> None:
    if status == "unchanged":
        messages.info(request, f"No changes: {runbook.slug} stays at revision {runbook.revision}.")
    else:
        messages.success(request, f"{what} as revision {runbook.revision} of {runbook.slug}.")


# --------------------------------------------------------------------------- edit


def _edit_page(request, runbook, text, *, base, note="", conflict=None, status=200):
    context = {
        "runbook": runbook,
        "text": text,
        "base": base,
        "note": note,
        "conflict": conflict,
        "preview": edit_preview(text, runbook=runbook),
    }
    if conflict is not None:
        context |= {"theirs": conflict.theirs(), "yours": conflict.yours()}
    template = _partial(request, "kb/edit/edit.html", {"preview"})
    return render(request, template, context, status=status)


@role_required("editor")
@GET_POST
def runbook_edit(request: HttpRequest, slug: str) -> HttpResponse:
    runbook = get_object_or_404(Runbook, slug=slug)
    if request.method == "GET":
        return _edit_page(request, runbook, runbook_source_text(runbook), base=runbook.revision)
    form = EditForm(request.POST)
    if not form.is_valid():  # the preview says what is wrong with the text
        text, note = request.POST.get("markdown", ""), request.POST.get("note", "")
        base = _posted_base(request, runbook)
        return _edit_page(request, runbook, text, base=base, note=note, status=400)
    return _edit_save(request, runbook, **form.cleaned_data)


def _posted_base(request: HttpRequest, runbook: Runbook) -> int:
    """The revision the editor was opened at; kept through every re-render of the form."""
    try:
        return max(0, int(request.POST.get("base", "")))
    except ValueError:
        return runbook.revision


def _edit_save(request, runbook, *, markdown: str, base: int, note: str) -> HttpResponse:
    try:
        saved, status = runbook_edit_save(
            runbook=runbook, text=markdown, base_revision=base, author=request.user, note=note
        )
    except EditConflict as conflict:
        current = conflict.current.number
        return _edit_page(
            request, runbook, conflict.mine, base=current, note=note, conflict=conflict, status=409
        )
    except RunbookParseError:  # the preview names the line
        return _edit_page(request, runbook, markdown, base=base, note=note, status=400)
    _saved_message(request, saved, status, "Saved")
    return redirect("runbook_detail", slug=saved.slug)


@role_required("editor")
@require_POST
def runbook_edit_preview(request: HttpRequest, slug: str) -> HttpResponse:
    """The live preview (htmx) or, without JavaScript, the edit page with it. Never saves."""
    runbook = get_object_or_404(Runbook, slug=slug)
    text, note = request.POST.get("markdown", ""), request.POST.get("note", "")
    return _edit_page(request, runbook, text, base=_posted_base(request, runbook), note=note)


# --------------------------------------------------------------------------- new / upload


def _new_page(
    request,
    *,
    text="",
    slug="",
    note="",
    errors=(),
    upload_form=None,
    upload_errors=(),
    upload_confirm=None,
    status=200,
):
    context = {
        "text": text,
        "slug": slug,
        "note": note,
        "errors": list(errors),
        "upload_form": UploadForm() if upload_form is None else upload_form,
        "upload_errors": list(upload_errors),
        "upload_confirm": upload_confirm,
        "preview": edit_preview(text, slug=slug) if text.strip() else None,
    }
    template = _partial(request, "kb/edit/new.html", {"preview"})
    return render(request, template, context, status=status)


@role_required("editor")
@GET_POST
def runbook_new(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _new_page(request, slug=request.GET.get("slug", "")[:200])
    form = NewRunbookForm(request.POST)
    fields = {k: request.POST.get(k, "") for k in ("markdown", "slug", "note")}
    if not form.is_valid():
        errors = ["Paste the runbook's Markdown (at most 2 MB)."]
        return _new_page(request, **_as_page(fields), errors=errors, status=400)
    try:
        runbook = runbook_create(
            text=fields["markdown"], slug=fields["slug"], note=fields["note"], author=request.user
        )
    except RunbookImportFailed as failed:
        return _new_page(request, **_as_page(fields), errors=failed.errors, status=400)
    messages.success(request, f"Created {runbook.slug} (revision 1).")
    return redirect("runbook_detail", slug=runbook.slug)


def _as_page(fields: dict[str, str]) -> dict[str, str]:
    return {"text": fields["markdown"], "slug": fields["slug"], "note": fields["note"]}


@role_required("editor")
@require_POST
def runbook_new_preview(request: HttpRequest) -> HttpResponse:
    fields = {k: request.POST.get(k, "") for k in ("markdown", "slug", "note")}
    return _new_page(request, **_as_page(fields))


MAX_WARNINGS_SHOWN = 20


def _report_message(request: HttpRequest, report: ImportReport) -> None:
    total = len(report.created) + len(report.updated) + len(report.unchanged)
    messages.success(
        request,
        f"Imported {total} runbook file{'s' if total != 1 else ''}: {len(report.created)} new, "
        f"{len(report.updated)} updated, {len(report.unchanged)} unchanged.",
    )
    shown = report.warnings[:MAX_WARNINGS_SHOWN]
    for warning in shown:
        messages.warning(request, f"Warning: {warning}")
    if len(report.warnings) > len(shown):
        more = len(report.warnings) - len(shown)
        messages.warning(request, f"…and {more} more warning{'s' if more != 1 else ''}.")


def _form_errors(form: UploadForm) -> list[str]:
    return [message for messages_ in form.errors.values() for message in messages_]


@role_required("editor")
@require_POST
def runbook_upload(request: HttpRequest) -> HttpResponse:
    """Import uploaded files. An upload that would give existing runbooks a new revision
    writes nothing the first time: the page lists them and asks to tick "Replace existing
    runbooks" and upload again (409); errors name file and line (400)."""
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _new_page(request, upload_form=form, upload_errors=_form_errors(form), status=400)
    data = form.cleaned_data
    files = [Upload(f.name, f.size, f) for f in data["files"]]
    try:
        report = runbooks_upload(
            uploads=files,
            author=request.user,
            prefix=data["prefix"],
            note=data["note"],
            replace=data["replace"],
        )
    except ReplaceNotConfirmed as unconfirmed:
        return _new_page(request, upload_form=form, upload_confirm=unconfirmed, status=409)
    except RunbookImportFailed as failed:
        return _new_page(request, upload_form=form, upload_errors=failed.errors, status=400)
    _report_message(request, report)
    changed = report.created + report.updated
    if len(changed) == 1:
        return redirect("runbook_detail", slug=changed[0])
    return redirect("runbook_index")


# --------------------------------------------------------------------------- history


def _history_page(request, runbook, *, error="", status=200):
    history = revision_history(runbook, request.GET.get("from"), request.GET.get("to"))
    context = {"runbook": runbook, "history": history, "error": error}
    template = _partial(request, "kb/edit/history.html", {"revision-diff"})
    return render(request, template, context, status=status)


@role_required("editor")
def runbook_history(request: HttpRequest, slug: str) -> HttpResponse:
    return _history_page(request, get_object_or_404(Runbook, slug=slug))


@role_required("editor")
@require_POST
def runbook_restore_view(request: HttpRequest, slug: str) -> HttpResponse:
    runbook = get_object_or_404(Runbook, slug=slug)
    form = RestoreForm(request.POST)
    if not form.is_valid():
        return _history_page(request, runbook, error="Choose a revision to restore.", status=400)
    number, base = form.cleaned_data["number"], form.cleaned_data["base"]
    get_object_or_404(RunbookRevision, runbook=runbook, number=number)
    try:
        saved, status = runbook_restore(
            runbook=runbook, number=number, base_revision=base, author=request.user
        )
    except EditConflict as conflict:
        error = f"Not restored: revision {conflict.current.number} was saved since you looked."
        return _history_page(request, runbook, error=error, status=409)
    except RunbookParseError as exc:
        return _history_page(request, runbook, error=f"Not restored: {exc}", status=400)
    _saved_message(request, saved, status, f"Restored revision {number}")
    return redirect("runbook_history", slug=saved.slug)


# --------------------------------------------------------------------------- links, health


def _links_page(request, runbook, *, error="", status=200):
    rb, causes, sections = link_editor(runbook)
    context = {"runbook": rb, "causes": causes, "sections": sections, "error": error}
    return render(request, "kb/edit/links.html", context, status=status)


@role_required("editor")
@GET_POST
def runbook_links(request: HttpRequest, slug: str) -> HttpResponse:
    runbook = get_object_or_404(Runbook, slug=slug)
    if request.method == "GET":
        return _links_page(request, runbook)
    form = LinksForm(request.POST)
    if not form.is_valid():
        return _links_page(request, runbook, error="Reload the page and try again.", status=400)
    post = request.POST
    decided = links_from_form(
        shown=post.getlist("shown"), linked=post.getlist("link"), confirmed=post.getlist("confirm")
    )
    return _links_save(request, runbook, decided, **form.cleaned_data)


def _links_save(request, runbook, decided, *, base: int, note: str) -> HttpResponse:
    try:
        saved, status = runbook_links_save(
            runbook=runbook, decided=decided, base_revision=base, author=request.user, note=note
        )
    except EditConflict as conflict:
        error = (
            f"Not saved: revision {conflict.current.number} was saved since you opened this "
            "page. Check the links below and save again."
        )
        return _links_page(request, runbook, error=error, status=409)
    except RunbookParseError as exc:
        # Text stored before today's checks can hold a value they refuse: say so, keep it.
        error = f"Not saved: line {exc.line}: {exc.message}. Fix it in the editor first."
        return _links_page(request, runbook, error=error, status=400)
    _saved_message(request, saved, status, "Saved links")
    return redirect("runbook_links", slug=saved.slug)


@role_required("editor")
def link_health_page(request: HttpRequest) -> HttpResponse:
    return render(request, "kb/edit/health.html", {"health": link_health()})
