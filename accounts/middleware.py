"""Signed-out htmx requests: send the whole browser window to the login page."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url


class HtmxLoginRedirectMiddleware:
    """A login redirect answering an htmx request would be followed by the browser and the
    login page swapped into a fragment (a search box's suggestions, a results list). Such a
    redirect becomes ``HX-Redirect``, which htmx follows with a full page load.

    Needs django_htmx's HtmxMiddleware before it (``request.htmx``).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        location = response.get("Location", "")
        if (
            getattr(request, "htmx", False)
            and response.status_code == 302
            and location.split("?", 1)[0] == resolve_url(settings.LOGIN_URL)
        ):
            redirect = HttpResponse(status=204)
            redirect["HX-Redirect"] = location
            return redirect
        return response
