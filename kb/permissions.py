"""Roles (DESIGN.md §7), checked in views.

Roles are cumulative: an editor can do what an engineer can, a lead what an editor can.
Staff can do everything. A logged-in user in no group can do nothing but log out.
"""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

ROLES = ("engineer", "editor", "lead")


def user_roles(user) -> set[str]:
    if not user.is_authenticated or not user.is_active:
        return set()
    if user.is_staff or user.is_superuser:
        return set(ROLES)
    cached = getattr(user, "_fieldguide_roles", None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))
        highest = max((ROLES.index(n) for n in names if n in ROLES), default=-1)
        cached = set(ROLES[: highest + 1])
        user._fieldguide_roles = cached
    return cached


def has_role(user, role: str) -> bool:
    return role in user_roles(user)


def role_required(role: str) -> Callable:
    """Login first (redirect), then the role (403)."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not has_role(request.user, role):
                raise PermissionDenied(f"This page needs the {role} role.")
            return view(request, *args, **kwargs)

        return login_required(wrapped)

    return decorator
