from django.contrib import admin
from django.urls import include, path

from accounts.views import ThrottledLoginView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", ThrottledLoginView.as_view(), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("triage.urls")),
    path("", include("kb.urls")),
]
