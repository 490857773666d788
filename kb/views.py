import json

from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_safe

from kb import selectors
from kb.exporting import runbook_to_dict, runbook_to_markdown
from kb.extensions import lead_panel, learned_ranking
from kb.forms import SearchForm, TreeForm
from kb.fragments import cached, cached_html, fragment_key, render_shared_page
from kb.models import RunbookVisit
from kb.permissions import has_role, role_required
from kb.search import search_results_html, search_suggestions
from kb.tree import TreeView, build_tree


def _partial(request: HttpRequest, template: str, names: set[str]) -> str:
    """The page template, or one of its partials when htmx targets that DOM id."""
    target = request.htmx.target if request.htmx else None
    return f"{template}#{target}" if target in names else template


@role_required("engineer")
def runbook_index(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").replace("\x00", "").strip()[:100]
    tag, category = (
        request.GET.get(k, "").replace("\x00", "").strip()[:100] for k in ("tag", "category")
    )
    context = {
        "categories": selectors.runbook_index(query, tag=tag, category=category),
        "q": query,
        "tag": tag,
        "category": category,
        "filters": selectors.runbook_filters(),
    }
    return render(request, _partial(request, "kb/runbook_index.html", {"runbook-index"}), context)


@role_required("engineer")
def runbook_detail(request: HttpRequest, slug: str) -> HttpResponse:
    version = selectors.runbook_version(slug)
    if version is None:
        return render(request, "kb/runbook_missing.html", {"slug": slug}, status=404)
    RunbookVisit.objects.record(user=request.user, runbook_id=version.pk)

    def context() -> dict:
        runbook = selectors.runbook_head(version.pk)
        return {"runbook": runbook, "body": _runbook_body(runbook.slug, version)}

    if has_role(request.user, "lead"):  # leads' panel is not part of the shared page
        page = context()
        page["panel"] = lead_panel(page["runbook"])
        return render(request, "kb/runbook_detail.html", page)
    key = fragment_key("runbook-page", version)
    return render_shared_page(request, "kb/runbook_detail.html", key, context)


def _runbook_body(slug: str, version: selectors.RunbookVersion) -> str:
    def render_body() -> str:
        runbook = selectors.runbook_detail(slug)
        sections = selectors.runbook_sections(runbook)
        context = {
            "runbook": runbook,
            "sections": sections,
            "has_causes": any(section.kind == "causes" for section in sections),
            "backlinks": list(runbook.backlinks()),
            "learned": learned_ranking(runbook),
        }
        return render_to_string("kb/_runbook_body.html", context)

    return cached_html(fragment_key("runbook-body", version), render_body)


@role_required("engineer")
def runbook_markdown(request: HttpRequest, slug: str) -> HttpResponse:
    runbook = selectors.runbook_detail(slug)
    if runbook is None:
        raise Http404("No runbook with that slug")
    return HttpResponse(runbook_to_markdown(runbook), content_type="text/markdown; charset=utf-8")


@role_required("engineer")
def runbook_json(request: HttpRequest, slug: str) -> HttpResponse:
    runbook = selectors.runbook_detail(slug)
    if runbook is None:
        raise Http404("No runbook with that slug")
    data = runbook_to_dict(runbook, learned=learned_ranking(runbook))
    body = json.dumps(data, indent=2, ensure_ascii=False)
    return HttpResponse(body, content_type="application/json")


@role_required("engineer")
def runbook_tree(request: HttpRequest, slug: str) -> HttpResponse:
    version = selectors.runbook_version(slug)
    if version is None:
        return render(request, "kb/runbook_missing.html", {"slug": slug}, status=404)
    view = TreeView.from_params(slug, TreeForm(request.GET).params())
    target = request.htmx.target if request.htmx else ""
    key = fragment_key("tree", version, view, target)
    part, html = cached(key, lambda: _tree_part(request.path, slug, view, target or ""))
    if part != "page":
        return HttpResponse(html)

    def context() -> dict:
        runbook = selectors.runbook_head(version.pk)
        return {"runbook": runbook, "body": mark_safe(html)}  # rendered by _tree_part

    return render_shared_page(request, "kb/tree.html", key, context)


def _tree_part(path: str, slug: str, view: TreeView, target: str) -> tuple[str, str]:
    """The tree's content ("page"), or the subtree or node an htmx request targets."""
    runbook = selectors.runbook_detail(slug)
    learned = learned_ranking(runbook)
    tree_runbook = selectors.tree_runbook(runbook)
    root = build_tree(
        tree_runbook,
        trail=view.trail,
        open_id=view.open_id,
        cause_order=learned.pattern_orders if learned else None,
    )
    node = root.find(view.open_id) if view.open_id else None
    if node is not None and view.fold:
        node.expanded = False
    part = "page"
    if target.startswith("sub-"):
        part = "subtree"
    elif target and node is not None:
        part = "node"
    context = {
        **view.context(),
        "tree_url": path,
        "runbook": tree_runbook,
        "root": root,
        "node": node,
        "open_path": root.path_to(view.open_id) if view.open_id and not view.fold else [],
        "crumbs": selectors.tree_breadcrumb(view.trail),
    }
    template = "kb/_tree_body.html" + ("" if part == "page" else f"#{part}")
    return part, render_to_string(template, context)


@role_required("engineer")
def runbook_graph(request: HttpRequest) -> HttpResponse:
    return render(request, "kb/graph.html", {"layout": selectors.link_graph()})


@role_required("engineer")
def search(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET)
    params = form.params()
    if request.htmx and request.htmx.target == "top-suggestions":
        context = {"q": params["q"], "suggestions": search_suggestions(params["q"])}
        return render(request, "kb/search.html#top-suggestions", context)
    results = search_results_html(**params, truncated=form.truncated) if params["q"] else ""
    context = {"form": form, "q": params["q"], "params": params, "results": results}
    return render(request, _partial(request, "kb/search.html", {"search-results"}), context)


@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # any database failure means "not healthy"
        return JsonResponse({"status": "unavailable", "database": "down"}, status=503)
    return JsonResponse({"status": "ok"})
