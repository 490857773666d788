"""Security headers every response carries, production or not.

The content security policy allows scripts, styles and images only from this site: no
inline script, no inline style, no plugins, no framing. Templates are written to match
(htmx's own indicator styles are switched off in base.html).
"""

from django.conf import settings
from django.utils.cache import patch_cache_control

DEFAULT_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.csp = getattr(settings, "FIELDGUIDE_CONTENT_SECURITY_POLICY", DEFAULT_CSP)

    def __call__(self, request):
        response = self.get_response(request)
        # The admin ships inline scripts and styles; it is staff-only and keeps Django's own.
        if not request.path.startswith("/admin/"):
            response.setdefault("Content-Security-Policy", self.csp)
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        response.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            # What a signed-in reader sees (pages, exports) is theirs: no shared cache (a
            # proxy, a CDN) may keep it for the next client.
            patch_cache_control(response, private=True)
        return response


class DatabaseUnavailableMiddleware:
    """While the database is unreachable (a restart, a failover) answer 503 with
    Retry-After instead of a 500, so clients and load balancers retry rather than give up.
    Connections are health-checked (CONN_HEALTH_CHECKS), so service resumes by itself."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        from django.db import InterfaceError, OperationalError
        from django.http import HttpResponse

        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        response = HttpResponse(
            "The database is unavailable for a moment; nothing was lost. Try again shortly.",
            status=503,
            content_type="text/plain; charset=utf-8",
        )
        response["Retry-After"] = "5"
        return response
