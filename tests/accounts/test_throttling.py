import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def attempt(client: Client, username: str, password: str, ip: str = "10.9.8.7"):
    return client.post(
        "/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def test_login_is_refused_after_repeated_failures(make_user, settings):
    settings.FIELDGUIDE_LOGIN_MAX_FAILURES = 3
    make_user("erin", "engineer")
    client = Client()
    for _ in range(3):
        assert attempt(client, "erin", "wrong").status_code == 200  # the form, with an error
    refused = attempt(client, "erin", "pw-for-tests-9")  # even the right password now
    assert refused.status_code == 429
    assert b"Too many failed attempts" in refused.content
    assert refused["Retry-After"] == "900"
    assert "_auth_user_id" not in client.session


def test_failures_for_one_user_do_not_lock_out_another(make_user, settings):
    settings.FIELDGUIDE_LOGIN_MAX_FAILURES = 3
    make_user("erin", "engineer")
    make_user("olga", "engineer")
    client = Client()
    for _ in range(3):
        attempt(client, "erin", "wrong")
    response = attempt(client, "olga", "pw-for-tests-9", ip="10.0.0.99")
    assert response.status_code == 302


def test_many_usernames_from_one_address_are_throttled(settings):
    settings.FIELDGUIDE_LOGIN_MAX_FAILURES = 2
    client = Client()
    for i in range(8):
        attempt(client, f"guess-{i}", "wrong", ip="192.0.2.1")
    assert attempt(client, "someone-new", "x", ip="192.0.2.1").status_code == 429
    assert attempt(client, "someone-new", "x", ip="192.0.2.2").status_code == 200


def test_successful_login_still_works(make_user):
    make_user("erin", "engineer")
    response = attempt(Client(), "erin", "pw-for-tests-9")
    assert response.status_code == 302
