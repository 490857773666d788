from django.urls import path, re_path

from kb import edit_views, views

# Slugs are lowercase path segments ("cloud/kubernetes"); a dot never appears in one,
# so ".md" and ".json" suffixes are unambiguous.
SLUG = r"(?P<slug>[a-z0-9_][a-z0-9_\-]*(?:/[a-z0-9_][a-z0-9_\-]*)*)"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("search/", views.search, name="search"),
    path("runbooks/", views.runbook_index, name="runbook_index"),
    path("runbooks/graph/", views.runbook_graph, name="runbook_graph"),
    # Authoring (issue 8). These come before the runbook patterns: a slug can have several
    # segments, so "<slug>/edit/" would otherwise be read as the runbook "<slug>/edit".
    path("runbooks/new/", edit_views.runbook_new, name="runbook_new"),
    path("runbooks/new/preview/", edit_views.runbook_new_preview, name="runbook_new_preview"),
    path("runbooks/new/upload/", edit_views.runbook_upload, name="runbook_upload"),
    path("runbooks/health/", edit_views.link_health_page, name="link_health"),
    re_path(rf"^runbooks/{SLUG}/edit/$", edit_views.runbook_edit, name="runbook_edit"),
    re_path(
        rf"^runbooks/{SLUG}/edit/preview/$",
        edit_views.runbook_edit_preview,
        name="runbook_edit_preview",
    ),
    re_path(rf"^runbooks/{SLUG}/history/$", edit_views.runbook_history, name="runbook_history"),
    re_path(
        rf"^runbooks/{SLUG}/history/restore/$",
        edit_views.runbook_restore_view,
        name="runbook_restore",
    ),
    re_path(rf"^runbooks/{SLUG}/links/$", edit_views.runbook_links, name="runbook_links"),
    re_path(rf"^runbooks/{SLUG}\.md$", views.runbook_markdown, name="runbook_markdown"),
    re_path(rf"^runbooks/{SLUG}\.json$", views.runbook_json, name="runbook_json"),
    re_path(rf"^runbooks/{SLUG}/$", views.runbook_detail, name="runbook_detail"),
    re_path(rf"^tree/{SLUG}/$", views.runbook_tree, name="runbook_tree"),
]
