"""A request declaring a charset other than UTF-8: a short 400, never a 500."""

import re

import pytest
from django.conf import settings
from django.http import HttpResponse
from django.test import Client, RequestFactory, override_settings
from django.test.client import BOUNDARY, encode_multipart

from config.request_guard import RequestCharsetMiddleware, declared_codec

pytestmark = pytest.mark.django_db

GUARD = "config.request_guard.RequestCharsetMiddleware"
# Where it goes in settings.MIDDLEWARE: after WhiteNoise, before anything reads a parameter.
GUARDED = [m for m in settings.MIDDLEWARE if m != GUARD]
GUARDED.insert(GUARDED.index("whitenoise.middleware.WhiteNoiseMiddleware") + 1, GUARD)
FORM = "application/x-www-form-urlencoded"


def guarded(request) -> HttpResponse:
    return RequestCharsetMiddleware(lambda request: HttpResponse("passed"))(request)


def browser() -> Client:
    """An anonymous browser that has seen the login page: it holds a CSRF cookie, so the
    CSRF check reads the body (a client without one is refused before reading it)."""
    client = Client(enforce_csrf_checks=True)
    page = client.get("/accounts/login/").content.decode()
    client.csrf_token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    return client


def login_post(client: Client, charset: str):
    body = f"csrfmiddlewaretoken={client.csrf_token}&username=%E9rin&password=x"
    return client.generic("POST", "/accounts/login/", body, content_type=f"{FORM}; {charset}")


@pytest.mark.parametrize(
    ("content_type", "codec"),
    [
        (f"{FORM}; charset=latin-1", "iso8859-1"),
        (f"{FORM}; charset=UTF8", "utf-8"),
        ("text/plain; charset=rot13", "rot-13"),
        (f"{FORM}; charset=no-such-charset", ""),
        (FORM, ""),
    ],
)
def test_declared_codec_names_the_codec_or_nothing(content_type, codec):
    request = RequestFactory().generic("POST", "/", b"a=1", content_type=content_type)
    assert declared_codec(request) == codec


@pytest.mark.parametrize(
    "content_type",
    [
        f"{FORM}; charset=latin-1",
        f"{FORM}; charset=utf-16",
        "multipart/form-data; boundary=x; charset=cp1252",
        "text/plain; charset=rot13",
        "text/plain; charset=punycode",
    ],
)
def test_request_charset_middleware_refuses_another_charset(content_type):
    response = guarded(RequestFactory().generic("POST", "/", b"a=1", content_type=content_type))
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert b"UTF-8" in response.content


@pytest.mark.parametrize("charset", ["utf-8", "UTF8", "utf_8", "us-ascii", "no-such-charset", ""])
def test_request_charset_middleware_reads_utf8_under_any_name(charset):
    content_type = f"{FORM}; charset={charset}" if charset else FORM
    body = "q=caf%C3%A9&r=é".encode()
    request = RequestFactory().generic("POST", "/", body, content_type=content_type)
    assert guarded(request).content == b"passed"
    assert request.POST["q"] == "café" and request.POST["r"] == "é"


@pytest.mark.parametrize("charset", ["charset=latin-1", "charset=iso-8859-15", "charset=utf-16"])
def test_login_post_in_another_charset_is_400(charset):
    with override_settings(MIDDLEWARE=GUARDED):
        response = login_post(browser(), charset)
    assert response.status_code == 400
    assert response.content.startswith(b"Bad request: send it as UTF-8")


def test_login_post_declaring_utf8_by_another_name_still_logs_in(make_user):
    make_user("erin", "engineer")
    with override_settings(MIDDLEWARE=GUARDED):
        client = browser()
        body = f"csrfmiddlewaretoken={client.csrf_token}&username=erin&password=pw-for-tests-9"
        response = client.generic("POST", "/accounts/login/", body, f"{FORM}; charset=utf8")
    assert response.status_code == 302
    assert "_auth_user_id" in client.session


@pytest.mark.parametrize("charset", ["charset=rot13", "charset=punycode"])
def test_login_multipart_post_in_a_charset_that_cannot_read_it_is_400(charset):
    with override_settings(MIDDLEWARE=GUARDED):
        client = browser()
        fields = {"csrfmiddlewaretoken": client.csrf_token, "username": "érin", "password": "x"}
        body = encode_multipart(BOUNDARY, fields)
        content_type = f"multipart/form-data; boundary={BOUNDARY}; {charset}"
        response = client.generic("POST", "/accounts/login/", body, content_type)
    assert response.status_code == 400


def test_request_charset_middleware_is_installed_before_csrf():
    """Passes once settings.MIDDLEWARE holds the guard (config/settings.py, not edited here):
    then the login page itself answers a latin-1 form with 400."""
    assert GUARD in settings.MIDDLEWARE
    middleware = settings.MIDDLEWARE
    assert middleware.index(GUARD) < middleware.index("django.middleware.csrf.CsrfViewMiddleware")
    assert login_post(browser(), "charset=latin-1").status_code == 400
