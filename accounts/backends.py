"""Authentication that reads the signed-in user from the shared cache.

Every page needs the user and their roles; with sessions in Redis, these two queries were
most of what a cached page cost. The user (with roles resolved) is cached for a few minutes
and dropped whenever the user row or their groups change, so a password change, a
deactivation or a new role applies at once. Only used when the cache is shared by every
worker (FIELDGUIDE_CACHE_URL): a per-process cache could not be dropped everywhere.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete

from accounts.throttling import client_ip, is_throttled, throttle_key
from kb.permissions import user_roles

USER_SECONDS = 300


def user_cache_key(user_id: object) -> str:
    return f"auth-user:{user_id}"


class ThrottledModelBackend(ModelBackend):
    """Django's ModelBackend, refusing without looking at the password while the username or
    the address is throttled (accounts.throttling). Every way in — the login page, the
    admin's login, any later one — calls authenticate(), so one throttle covers them all."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if is_throttled(throttle_key(username), client_ip(request)):
            # authenticate() stops at PermissionDenied and reports a failed login.
            raise PermissionDenied("Too many failed logins; try again later.")
        return super().authenticate(request, username, password, **kwargs)


class CachedUserBackend(ThrottledModelBackend):
    def get_user(self, user_id):
        key = user_cache_key(user_id)
        user = cache.get(key)
        if user is None:
            user = super().get_user(user_id)
            if user is None:
                return None
            user_roles(user)  # resolved now, so the cached copy carries them
            cache.set(key, user, USER_SECONDS)
        return user


def forget_user(sender, instance, **kwargs) -> None:
    cache.delete(user_cache_key(instance.pk))


def forget_group_members(sender, instance, action: str, reverse: bool, pk_set, **kwargs) -> None:
    if not action.startswith("post_") and action != "pre_clear":
        return
    if not reverse:  # user.groups changed
        cache.delete(user_cache_key(instance.pk))
        return
    # group.user_set changed (or cleared: pk_set is None, so take the members first)
    members = pk_set or instance.user_set.values_list("pk", flat=True)
    cache.delete_many([user_cache_key(pk) for pk in members])


def forget_everyone_in(sender, instance: Group, **kwargs) -> None:
    cache.delete_many([user_cache_key(pk) for pk in instance.user_set.values_list("pk", flat=True)])


def connect() -> None:
    User = get_user_model()
    post_save.connect(forget_user, sender=User, dispatch_uid="fieldguide-forget-user")
    post_delete.connect(forget_user, sender=User, dispatch_uid="fieldguide-forget-user-del")
    m2m_changed.connect(
        forget_group_members, sender=User.groups.through, dispatch_uid="fieldguide-forget-groups"
    )
    post_save.connect(forget_everyone_in, sender=Group, dispatch_uid="fieldguide-group-saved")
    pre_delete.connect(forget_everyone_in, sender=Group, dispatch_uid="fieldguide-group-deleted")
