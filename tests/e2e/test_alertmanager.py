"""End to end: the real Prometheus Alertmanager notifies a live Fieldguide.

Debian's ``prometheus-alertmanager`` runs on loopback with a webhook receiver pointing at
pytest-django's live server, with a bearer token. Alerts are posted to Alertmanager's own
API; Fieldguide must open exactly one session, survive the re-send, and mark it resolved.
"""

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest

ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
TOKEN = "e2e-secret-token"

pytestmark = pytest.mark.skipif(
    ALERTMANAGER is None and not os.environ.get("CI"),
    reason="Debian's prometheus-alertmanager is not installed (apt-get install "
    "prometheus-alertmanager); .ci/run installs it",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def alertmanager(live_server, tmp_path, settings):
    if ALERTMANAGER is None:
        pytest.fail("CI must install prometheus-alertmanager")
    settings.FIELDGUIDE_ALERTMANAGER_TOKENS = [TOKEN]
    port = free_port()
    config = tmp_path / "alertmanager.yml"
    config.write_text(
        f"""
route:
  receiver: fieldguide
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: fieldguide
    webhook_configs:
      - url: {live_server.url}/hooks/alertmanager/
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: {TOKEN}
"""
    )
    process = subprocess.Popen(
        [
            ALERTMANAGER,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(f"{base}/-/ready", timeout=1) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"alertmanager did not start: {process.stderr.read()[-2000:]}")
        time.sleep(0.2)
    yield base
    process.terminate()
    process.wait(timeout=10)


def post_alert(base: str, alert: dict) -> None:
    request = urllib.request.Request(
        f"{base}/api/v2/alerts",
        data=json.dumps([alert]).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200


def wait_for(condition, timeout: float = 30.0):
    """Poll the database until ``condition`` holds. On SQLite the live server shares one
    in-memory database with this thread, so a read can meet its write lock: try again
    (Alertmanager likewise retries a notification that got a 503)."""
    from django.db import OperationalError

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = condition()
        except OperationalError:
            value = None
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError("timed out waiting for Fieldguide to be notified")


@pytest.mark.django_db(transaction=True)
def test_alertmanager_opens_one_session_and_resolves_it(alertmanager, live_server, samples):
    from triage.models import SessionAlert, TriageSession

    starts = datetime.now(UTC) - timedelta(minutes=1)
    alert = {
        "labels": {"alertname": "KubePodCrashLooping", "namespace": "shop", "pod": "api-1"},
        "annotations": {
            "summary": "Pod shop/api-1 is crash looping",
            "runbook_url": f"{live_server.url}/runbooks/cloud/kubernetes/",
        },
        "startsAt": starts.isoformat(),
        "generatorURL": "http://prometheus.example/graph?g0.expr=up",
    }
    post_alert(alertmanager, alert)
    session = wait_for(
        lambda: TriageSession.objects.filter(runbook__slug="cloud/kubernetes").first()
    )
    assert session.status == TriageSession.Status.FROM_ALERT
    assert session.alerts.get().labels["pod"] == "api-1"

    post_alert(alertmanager, alert)  # the same alert again
    time.sleep(3)  # longer than group_interval: a re-send would have arrived
    assert TriageSession.objects.count() == 1

    post_alert(alertmanager, {**alert, "endsAt": datetime.now(UTC).isoformat()})
    # Wait for the last write of the delivery (the finish), not the first (the alert row):
    # on SQLite this thread shares the live server's connection and can read mid-delivery.
    finished = wait_for(
        lambda: TriageSession.objects.filter(pk=session.pk, status="finished").first()
    )
    resolved = SessionAlert.objects.get(session=session)
    assert resolved.status == "resolved" and resolved.resolved_at is not None
    session = finished
    assert session.status == TriageSession.Status.FINISHED
    assert session.outcome.resolution == "resolved_by_alert"
    assert TriageSession.objects.count() == 1


def test_alertmanager_alert_name_becomes_searchable(alertmanager, live_server, samples):
    """An alert the real Alertmanager delivered makes its name find the runbook it opened."""
    from kb.search import search_runbooks
    from triage.models import TriageSession

    before = search_runbooks("ShopCheckoutPodsFlapping", exact=True).results
    assert all(result.alerts == [] for result in before)
    post_alert(
        alertmanager,
        {
            "labels": {"alertname": "ShopCheckoutPodsFlapping", "namespace": "shop"},
            "annotations": {"runbook_url": f"{live_server.url}/runbooks/cloud/kubernetes/"},
            "startsAt": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
        },
    )
    wait_for(lambda: TriageSession.objects.filter(runbook__slug="cloud/kubernetes").first())
    first = wait_for(
        lambda: next(iter(search_runbooks("ShopCheckoutPodsFlapping", exact=True).results), None)
    )
    assert first.runbook.slug == "cloud/kubernetes"
    assert first.alerts == ["ShopCheckoutPodsFlapping"]
