import pytest

pytestmark = pytest.mark.django_db


def test_htmx_login_redirect_becomes_hx_redirect(client):
    response = client.get(
        "/search/?q=disk", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="top-suggestions"
    )
    assert response.status_code == 204
    assert response["HX-Redirect"] == "/accounts/login/?next=/search/%3Fq%3Ddisk"
    assert response.content == b""


def test_plain_login_redirect_is_left_alone(client):
    response = client.get("/search/?q=disk")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
