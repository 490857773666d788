from django.contrib import admin
from django.contrib.auth.views import LogoutView
from django.urls import include, path

from accounts.views import ThrottledLoginView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", ThrottledLoginView.as_view(), name="login"),
    # Only login and logout: no mail is configured, so Django's password reset and change
    # pages could only mislead (passwords are set by an admin or the identity provider).
    path("accounts/logout/", LogoutView.as_view(), name="logout"),
    path("", include("triage.urls")),
    path("", include("kb.urls")),
]
