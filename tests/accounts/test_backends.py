"""The cached signed-in user (accounts.backends): fast, and never stale after a change."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from accounts.backends import CachedUserBackend

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("cached_users"),
]


@pytest.fixture
def cached_users():
    with override_settings(AUTHENTICATION_BACKENDS=["accounts.backends.CachedUserBackend"]):
        yield


@pytest.fixture
def signed_in(client, engineer):
    client.force_login(engineer)
    assert client.get("/runbooks/").status_code == 200  # the user is now cached
    return client


def test_cached_user_backend_reads_user_and_roles_once(engineer):
    backend = CachedUserBackend()
    backend.get_user(engineer.pk)
    with CaptureQueriesContext(connection) as queries:
        user = backend.get_user(engineer.pk)
    assert len(queries) == 0
    assert user == engineer and user._fieldguide_roles == {"engineer"}


def test_cached_user_backend_page_needs_no_user_queries(signed_in):
    with CaptureQueriesContext(connection) as queries:
        signed_in.get("/runbooks/")
    tables = " ".join(q["sql"] for q in queries.captured_queries)
    assert "auth_user" not in tables and "auth_group" not in tables


def test_cached_user_backend_role_removed_applies_at_once(signed_in, engineer):
    engineer.groups.clear()
    assert signed_in.get("/runbooks/").status_code == 403


def test_cached_user_backend_role_added_applies_at_once(signed_in, engineer):
    assert signed_in.get("/history/").status_code == 403
    engineer.groups.add(Group.objects.get_or_create(name="lead")[0])
    assert signed_in.get("/history/").status_code == 200


def test_cached_user_backend_group_emptied_from_its_side(signed_in):
    Group.objects.get(name="engineer").user_set.clear()
    assert signed_in.get("/runbooks/").status_code == 403


def test_cached_user_backend_group_deleted(signed_in):
    Group.objects.get(name="engineer").delete()
    assert signed_in.get("/runbooks/").status_code == 403


def test_cached_user_backend_deactivated_user_is_signed_out(signed_in, engineer):
    engineer.is_active = False
    engineer.save()
    response = signed_in.get("/runbooks/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_cached_user_backend_password_change_ends_other_sessions(signed_in, engineer):
    engineer.set_password("a-new-long-password-7")
    engineer.save()
    response = signed_in.get("/runbooks/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
