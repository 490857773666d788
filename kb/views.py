import json

from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from kb import selectors
from kb.exporting import runbook_to_dict, runbook_to_markdown
from kb.extensions import lead_panel, learned_ranking
from kb.models import RunbookVisit
from kb.permissions import has_role, role_required
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
    runbook = selectors.runbook_detail(slug)
    if runbook is None:
        return render(request, "kb/runbook_missing.html", {"slug": slug}, status=404)
    RunbookVisit.objects.update_or_create(
        user=request.user, runbook=runbook, defaults={"visited_at": timezone.now()}
    )
    context = {
        "runbook": runbook,
        "backlinks": list(runbook.backlinks()),
        "learned": learned_ranking(runbook),
        "panel": lead_panel(runbook) if has_role(request.user, "lead") else None,
    }
    return render(request, "kb/runbook_detail.html", context)


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
    runbook = selectors.runbook_detail(slug)
    if runbook is None:
        return render(request, "kb/runbook_missing.html", {"slug": slug}, status=404)
    tree_runbook = selectors.tree_runbook(runbook)
    learned = learned_ranking(runbook)
    view = TreeView.from_request(request, slug)
    root = build_tree(
        tree_runbook,
        trail=view.trail,
        open_id=view.open_id,
        cause_order=learned.pattern_orders if learned else None,
    )
    node = root.find(view.open_id) if view.open_id else None
    if node is not None and view.fold:
        node.expanded = False
    target = request.htmx.target if request.htmx else ""
    template = "kb/tree.html"
    if target and target.startswith("sub-"):
        template = "kb/tree.html#subtree"
    elif target and node is not None:
        template = "kb/tree.html#node"
    context = {
        **view.context(),
        "tree_url": request.path,
        "runbook": tree_runbook,
        "root": root,
        "node": node,
        "open_path": root.path_to(view.open_id) if view.open_id and not view.fold else [],
        "crumbs": selectors.tree_breadcrumb(view.trail),
    }
    return render(request, template, context)


@role_required("engineer")
def runbook_graph(request: HttpRequest) -> HttpResponse:
    return render(request, "kb/graph.html", {"layout": selectors.link_graph()})


@role_required("engineer")
def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").replace("\x00", "").strip()[:200]
    page, results = selectors.search_runbooks(query, request.GET.get("page", 1))
    context = {"q": query, "page": page, "results": results}
    return render(request, _partial(request, "kb/search.html", {"search-results"}), context)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # any database failure means "not healthy"
        return JsonResponse({"status": "unavailable", "database": "down"}, status=503)
    return JsonResponse({"status": "ok"})
