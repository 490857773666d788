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


def test_admin_login_is_throttled_like_the_login_page(make_user, settings):
    settings.FIELDGUIDE_LOGIN_MAX_FAILURES = 3
    make_user("root", is_staff=True, is_superuser=True)
    client = Client()
    for _ in range(3):
        client.post(
            "/admin/login/", {"username": "root", "password": "wrong"}, REMOTE_ADDR="10.9.8.7"
        )
    right = {"username": "root", "password": "pw-for-tests-9", "next": "/admin/"}
    response = client.post("/admin/login/", right, REMOTE_ADDR="10.9.8.7")
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    assert attempt(client, "root", "pw-for-tests-9").status_code == 429  # same throttle


@pytest.mark.parametrize("variant", ["erin ", " erin", "ERIN", "ｅｒｉｎ"])
def test_username_variants_share_the_throttle(make_user, settings, variant):
    settings.FIELDGUIDE_LOGIN_MAX_FAILURES = 3
    make_user("erin", "engineer")
    client = Client()
    for _ in range(3):
        attempt(client, "erin", "wrong")
    response = attempt(client, variant, "pw-for-tests-9")
    assert response.status_code == 429 and "_auth_user_id" not in client.session


def test_behind_a_trusted_proxy_the_client_address_is_throttled_not_the_proxy(make_user, settings):
    settings.FIELDGUIDE_LOGIN_MAX_FAILURES = 2
    settings.FIELDGUIDE_TRUSTED_PROXIES = ["127.0.0.1"]
    make_user("olga", "engineer")
    client = Client()
    for i in range(8):  # an attacker behind the same proxy, many names
        client.post(
            "/accounts/login/",
            {"username": f"guess-{i}", "password": "x"},
            REMOTE_ADDR="127.0.0.1",
            HTTP_X_FORWARDED_FOR="203.0.113.9",
        )
    olga = client.post(
        "/accounts/login/",
        {"username": "olga", "password": "pw-for-tests-9"},
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR="198.51.100.4",
    )
    assert olga.status_code == 302  # another client behind the proxy is not locked out
    attacker = client.post(
        "/accounts/login/",
        {"username": "new-guess", "password": "x"},
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR="203.0.113.9",
    )
    assert attacker.status_code == 429


def test_client_ip_believes_x_forwarded_for_only_from_trusted_proxies(rf, settings):
    from accounts.throttling import client_ip

    settings.FIELDGUIDE_TRUSTED_PROXIES = ["10.0.0.0/8"]
    spoofed = rf.get("/", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert client_ip(spoofed) == "203.0.113.9"
    chained = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 5.6.7.8, 10.0.0.3")
    assert client_ip(chained) == "5.6.7.8"  # the nearest hop a trusted proxy vouches for
    garbage = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="not-an-ip")
    assert client_ip(garbage) == "10.0.0.2"


def test_guessing_from_one_address_does_not_lock_the_user_out_elsewhere(make_user, settings):
    settings.FIELDGUIDE_LOGIN_MAX_FAILURES = 3
    make_user("erin", "engineer")
    guesser = Client()
    for _ in range(3):
        attempt(guesser, "erin", "wrong", ip="203.0.113.9")
    assert attempt(guesser, "erin", "pw-for-tests-9", ip="203.0.113.9").status_code == 429
    assert attempt(Client(), "erin", "pw-for-tests-9", ip="10.1.2.3").status_code == 302


def test_guessing_one_user_from_many_addresses_locks_that_user(make_user, settings):
    settings.FIELDGUIDE_LOGIN_MAX_FAILURES = 3
    make_user("erin", "engineer")
    client = Client()
    for i in range(12):  # four times the limit, spread so no address reaches its own
        attempt(client, "erin", "wrong", ip=f"198.51.100.{i}")
    assert attempt(client, "erin", "pw-for-tests-9", ip="10.1.2.3").status_code == 429
