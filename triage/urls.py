from django.urls import path, re_path

from kb.urls import SLUG
from triage import views, webhooks

urlpatterns = [
    path("", views.home, name="home"),
    re_path(rf"^triage/new/{SLUG}/$", views.session_new, name="triage_new"),
    path("triage/<int:pk>/", views.session_detail, name="triage_session"),
    path("triage/<int:pk>.json", views.session_json, name="triage_session_json"),
    path("triage/<int:pk>/timeline/", views.session_timeline, name="triage_timeline"),
    path("triage/<int:pk>/step/", views.session_step, name="triage_step"),
    path("triage/<int:pk>/join/", views.session_join_view, name="triage_join"),
    path("triage/<int:pk>/abandon/", views.session_abandon, name="triage_abandon"),
    path(
        "triage/<int:pk>/resume/",
        views.session_abandon,
        {"abandoned": False},
        name="triage_resume",
    ),
    path("triage/<int:pk>/finish/", views.session_finish_view, name="triage_finish"),
    path("rankings/", views.rankings, name="rankings"),
    path("history/", views.history_page, name="history"),
    path("insights/", views.insights_page, name="insights"),
    path("history/export.csv", views.history_export, {"fmt": "csv"}, name="history_csv"),
    path("history/export.json", views.history_export, {"fmt": "json"}, name="history_json"),
    re_path(
        rf"^rankings/{SLUG}/accept/$", views.ranking_decide, {"accept": True}, name="ranking_accept"
    ),
    re_path(
        rf"^rankings/{SLUG}/dismiss/$",
        views.ranking_decide,
        {"accept": False},
        name="ranking_dismiss",
    ),
    # Alertmanager posts without a login (bearer token); the slash is optional because a
    # redirect would turn its POST into a GET.
    re_path(r"^hooks/alertmanager/?$", webhooks.alertmanager, name="alertmanager_webhook"),
    path("alerts/unmapped/", webhooks.unmapped_alerts, name="unmapped_alerts"),
]
