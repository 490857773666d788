"""Hostile login input: the login form's error, never a 500 (PostgreSQL refuses NUL)."""

import pytest
from django.test import Client

from accounts.forms import ThrottleKeyForm
from accounts.models import LoginFailure

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("username", "key"), [("erin", "erin"), (" erin ", "erin"), ("er\x00in", ""), ("x" * 151, "")]
)
def test_throttle_key_form_reads_the_username_as_the_login_form_does(username, key):
    assert ThrottleKeyForm({"username": username}).key() == key


@pytest.mark.parametrize("username", ["\x00", "erin\x00", "\x00' OR 1=1 --"])
def test_login_with_nul_in_the_username_shows_the_form_error(make_user, username):
    make_user("erin", "engineer")
    client = Client()
    response = client.post("/accounts/login/", {"username": username, "password": "x"})
    assert response.status_code == 200
    assert "Your username and password didn" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert not LoginFailure.objects.exists()  # never reached authenticate


def test_login_with_nul_in_the_username_is_still_throttled_by_address(settings):
    settings.FIELDGUIDE_LOGIN_MAX_FAILURES = 1
    client = Client()
    for i in range(4):
        client.post("/accounts/login/", {"username": f"u{i}", "password": "x"})
    response = client.post("/accounts/login/", {"username": "erin\x00", "password": "x"})
    assert response.status_code == 429
