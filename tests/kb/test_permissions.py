"""Every URL × every kind of user: exactly the permissions of DESIGN.md §7."""

import pytest
from django.contrib.auth.models import AnonymousUser

from kb.permissions import has_role, user_roles
from tests.conftest import SEED_SLUG

pytestmark = pytest.mark.django_db

PUBLIC = ["/accounts/login/", "/healthz"]
ENGINEER_PAGES = [
    "/",
    "/runbooks/",
    "/runbooks/?q=cloud",
    f"/runbooks/{SEED_SLUG}/",
    f"/runbooks/{SEED_SLUG}.md",
    f"/runbooks/{SEED_SLUG}.json",
    f"/tree/{SEED_SLUG}/",
    "/runbooks/graph/",
    "/search/?q=deploy",
]
STAFF_PAGES = ["/admin/", "/admin/kb/runbook/"]
SESSION_PAGES = ["/triage/{pk}/", "/triage/{pk}.json", "/triage/{pk}/timeline/"]


@pytest.fixture
def people(make_user):
    return {
        "nobody": make_user("nobody"),
        "engineer": make_user("eng", "engineer"),
        "editor": make_user("ed", "editor"),
        "lead": make_user("lea", "lead"),
        "staff": make_user("root", is_staff=True, is_superuser=True),
    }


def status_for(client, user, url: str) -> int:
    client.logout()
    if user is not None:
        client.force_login(user)
    return client.get(url).status_code


@pytest.mark.parametrize("url", PUBLIC + ENGINEER_PAGES + STAFF_PAGES)
def test_url_access_by_group(client, people, samples, url):
    expected = {
        None: 200 if url in PUBLIC else 302,
        "nobody": 200 if url in PUBLIC else (302 if url in STAFF_PAGES else 403),
        "engineer": 302 if url in STAFF_PAGES else 200,
        "editor": 302 if url in STAFF_PAGES else 200,
        "lead": 302 if url in STAFF_PAGES else 200,
        "staff": 200,
    }
    for who, status in expected.items():
        user = people[who] if who else None
        assert status_for(client, user, url) == status, (who, url)


def test_anonymous_is_redirected_to_login_with_next(client, samples):
    response = client.get(f"/runbooks/{SEED_SLUG}/")
    assert response["Location"] == f"/accounts/login/?next=/runbooks/{SEED_SLUG}/"


def test_roles_are_cumulative(people):
    assert user_roles(people["engineer"]) == {"engineer"}
    assert user_roles(people["editor"]) == {"engineer", "editor"}
    assert user_roles(people["lead"]) == {"engineer", "editor", "lead"}
    assert user_roles(people["nobody"]) == set()
    assert has_role(people["staff"], "lead")
    assert not has_role(AnonymousUser(), "engineer")


def test_logout_needs_a_post_with_csrf(client, people):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(people["engineer"])
    assert csrf_client.post("/accounts/logout/").status_code == 403
    assert csrf_client.get("/accounts/logout/").status_code == 405


@pytest.mark.parametrize("template", SESSION_PAGES)
def test_any_engineer_can_view_any_session(client, people, samples, template):
    from kb.models import Runbook
    from triage.services import session_start

    session = session_start(runbook=Runbook.objects.get(slug=SEED_SLUG), user=people["lead"])
    url = template.format(pk=session.pk)
    expected = {None: 302, "nobody": 403, "engineer": 200, "editor": 200, "staff": 200}
    for who, status in expected.items():
        assert status_for(client, people[who] if who else None, url) == status, (who, url)


def test_start_triage_needs_the_engineer_role(client, people, samples):
    client.force_login(people["nobody"])
    assert client.post(f"/triage/new/{SEED_SLUG}/").status_code == 403
