"""Login throttling: after repeated failures for a username from an address, for a username
from anywhere, or from an address for any names, refuse further attempts for a while (see
is_throttled). Kept in the database so every gunicorn worker agrees."""

from __future__ import annotations

import ipaddress
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver
from django.utils import timezone

from accounts.forms import ThrottleKeyForm
from accounts.models import LoginFailure


def _window() -> timedelta:
    return timedelta(seconds=getattr(settings, "FIELDGUIDE_LOGIN_WINDOW_SECONDS", 900))


def _limit() -> int:
    return getattr(settings, "FIELDGUIDE_LOGIN_MAX_FAILURES", 5)


def _trusted_proxies() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [
        ipaddress.ip_network(entry, strict=False)
        for entry in getattr(settings, "FIELDGUIDE_TRUSTED_PROXIES", [])
    ]


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def client_ip(request) -> str | None:
    """The address the request came from. Behind proxies listed in FIELDGUIDE_TRUSTED_PROXIES
    it is the nearest address in X-Forwarded-For that is not one of them (each proxy appends
    the address it was called from; anything further left is the client's own claim).
    Otherwise REMOTE_ADDR: X-Forwarded-For from anyone else is not believed."""
    if request is None:
        return None
    remote = _address(request.META.get("REMOTE_ADDR") or "")
    proxies = _trusted_proxies()
    if remote is None or not any(remote in network for network in proxies):
        return str(remote) if remote else None
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")[:2000].split(",")
    for hop in reversed(forwarded):
        address = _address(hop)
        if address is None:
            break  # a malformed hop: nothing left of it can be told apart
        if not any(address in network for network in proxies):
            return str(address)
    return str(remote)


def throttle_key(username: object) -> str:
    """The name attempts are counted under: as the login form reads it (NFKC, trimmed), in
    lower case, so "Editor2 " and full-width letters count as "editor2"; "" for a name the
    form refuses (then only the address counts)."""
    return ThrottleKeyForm({"username": str(username or "")}).key().lower()[:150]


def is_throttled(username: str, ip: str | None) -> bool:
    """Whether a login for ``username`` (a throttle_key) from ``ip`` is refused for now.

    Counted over the last window: the limit for this name from this address; four times
    the limit for this name from any address, so that someone guessing from one address
    locks out only themselves, not the user everywhere; four times the limit from this
    address for any names (several people can share one NAT)."""
    since = timezone.now() - _window()
    recent = LoginFailure.objects.filter(at__gte=since)
    name = username.lower()[:150]
    by_pair = recent.filter(username=name, ip=ip).count() if name and ip else 0
    by_name = recent.filter(username=name).count() if name else 0
    by_ip = recent.filter(ip=ip).count() if ip else 0
    limit = _limit()
    return by_pair >= limit or by_name >= 4 * limit or by_ip >= 4 * limit


@receiver(user_login_failed)
def record_failure(sender, credentials, request=None, **kwargs) -> None:
    LoginFailure.objects.create(
        username=throttle_key(credentials.get("username", "")), ip=client_ip(request)
    )
    # Old rows are useless; trim them as we go so the table stays small.
    LoginFailure.objects.filter(at__lt=timezone.now() - 4 * _window()).delete()
