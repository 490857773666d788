from django.urls import path, re_path

from kb import views

# Slugs are lowercase path segments ("cloud/kubernetes"); a dot never appears in one,
# so ".md" and ".json" suffixes are unambiguous.
SLUG = r"(?P<slug>[a-z0-9_][a-z0-9_\-]*(?:/[a-z0-9_][a-z0-9_\-]*)*)"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("search/", views.search, name="search"),
    path("runbooks/", views.runbook_index, name="runbook_index"),
    path("runbooks/graph/", views.runbook_graph, name="runbook_graph"),
    re_path(rf"^runbooks/{SLUG}\.md$", views.runbook_markdown, name="runbook_markdown"),
    re_path(rf"^runbooks/{SLUG}\.json$", views.runbook_json, name="runbook_json"),
    re_path(rf"^runbooks/{SLUG}/$", views.runbook_detail, name="runbook_detail"),
    re_path(rf"^tree/{SLUG}/$", views.runbook_tree, name="runbook_tree"),
]
