"""Login throttling: after repeated failures for a username or from an address, refuse
further attempts for a while. Kept in the database so every gunicorn worker agrees."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver
from django.utils import timezone

from accounts.models import LoginFailure


def _window() -> timedelta:
    return timedelta(seconds=getattr(settings, "FIELDGUIDE_LOGIN_WINDOW_SECONDS", 900))


def _limit() -> int:
    return getattr(settings, "FIELDGUIDE_LOGIN_MAX_FAILURES", 5)


def client_ip(request) -> str | None:
    # REMOTE_ADDR only: X-Forwarded-For is client-controlled unless a trusted proxy rewrites
    # it, and the proxy's own address is then a fine (coarser) key.
    return request.META.get("REMOTE_ADDR") or None if request is not None else None


def is_throttled(username: str, ip: str | None) -> bool:
    since = timezone.now() - _window()
    recent = LoginFailure.objects.filter(at__gte=since)
    by_name = recent.filter(username=username.lower()[:150]).count() if username else 0
    by_ip = recent.filter(ip=ip).count() if ip else 0
    # An address gets more room than a name: several people can share one NAT.
    return by_name >= _limit() or by_ip >= 4 * _limit()


@receiver(user_login_failed)
def record_failure(sender, credentials, request=None, **kwargs) -> None:
    LoginFailure.objects.create(
        username=str(credentials.get("username", ""))[:150].lower(), ip=client_ip(request)
    )
    # Old rows are useless; trim them as we go so the table stays small.
    LoginFailure.objects.filter(at__lt=timezone.now() - 4 * _window()).delete()
