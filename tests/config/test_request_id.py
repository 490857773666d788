"""Request ids on responses and in the production log (config/request_id.py, LOGGING)."""

import io
import logging
import re

import pytest
from django.test import Client
from django.urls import path

from kb.services import RunbookImportFailed, runbooks_import
from kb.sources import SourceFile

pytestmark = pytest.mark.django_db


def boom(request):
    raise RuntimeError("kaboom in a view")


urlpatterns = [path("boom/", boom)]


@pytest.fixture
def stderr_log():
    """What the production log handler writes (it goes to stderr), as text."""
    handler = next(h for h in logging.getLogger("fieldguide").handlers if h.name == "stderr")
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    yield buffer
    handler.setStream(previous)


def test_request_id_middleware_sets_a_new_id_on_every_response(client):
    first, second = client.get("/healthz"), client.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", first["X-Request-ID"])
    assert first["X-Request-ID"] != second["X-Request-ID"]


def test_request_id_middleware_keeps_the_proxys_id_only_when_it_looks_like_one(client):
    assert client.get("/healthz", HTTP_X_REQUEST_ID="req-42.a_b")["X-Request-ID"] == "req-42.a_b"
    for hostile in ("x" * 65, "a b", "<script>", "id\nInjected: 1"):
        given = client.get("/healthz", HTTP_X_REQUEST_ID=hostile)["X-Request-ID"]
        assert given != hostile and re.fullmatch(r"[0-9a-f]{32}", given)


@pytest.mark.urls("tests.config.test_request_id")
def test_server_error_is_logged_to_stderr_with_its_request_id(stderr_log):
    response = Client(raise_request_exception=False).get("/boom/")
    assert response.status_code == 500
    err = stderr_log.getvalue()
    line = next(line for line in err.splitlines() if "ERROR django.request" in line)
    assert f"[{response['X-Request-ID']}]" in line and "/boom/" in line
    assert "RuntimeError: kaboom in a view" in err  # the traceback follows


def test_refused_webhook_post_is_logged(client, stderr_log, settings):
    settings.FIELDGUIDE_ALERTMANAGER_TOKENS = ["right-token"]
    response = client.post("/hooks/alertmanager", b"{}", content_type="application/json")
    assert response.status_code == 401
    err = stderr_log.getvalue()
    assert f"WARNING fieldguide.webhook [{response['X-Request-ID']}] " in err
    assert "alertmanager webhook refused (401)" in err


def test_runbook_import_is_logged_with_its_counts(stderr_log):
    runbooks_import(sources=[SourceFile("a/one.md", "a/one", b"# Debug: One\n\nSummary.\n")])
    with pytest.raises(RunbookImportFailed):
        runbooks_import(sources=[SourceFile("b/bad.md", "b/bad", b"\xff\xfe not text")])
    err = stderr_log.getvalue()
    assert "INFO fieldguide.import [-] import: 1 created, 0 updated, 0 unchanged" in err
    assert (
        "WARNING fieldguide.import [-] import refused: 1 of 1 files invalid, first b/bad.md" in err
    )
