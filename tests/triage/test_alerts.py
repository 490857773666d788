"""Prometheus Alertmanager webhook: authentication, limits, every bad-input branch, runbook
mapping, idempotency, resolve handling, and how alert sessions show and are picked up."""

import json
import uuid
from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError

from kb.models import Runbook
from triage import alerts, webhooks
from triage.forms import OutcomeForm
from triage.models import (
    AlertRunbookMapping,
    Outcome,
    SessionAlert,
    TriageSession,
    UnmappedAlert,
)

URL = "/hooks/alertmanager/"
TOKEN = "am-token-9f2c1e7b"
OLD_TOKEN = "am-token-being-rotated-out"
K8S = "cloud/kubernetes"
LAG = "storage/replication-lag"
STARTS = "2026-11-26T10:00:00.123456789Z"  # Go writes nanoseconds


# --------------------------------------------------------------------------- payloads


def am_alert(
    name="KubePodCrashLooping",
    *,
    status="firing",
    starts=STARTS,
    fingerprint="c5b1e8a7d9f3b2e1",
    runbook_url=None,
    labels=None,
    annotations=None,
):
    """One alert as Alertmanager's webhook (version 4) sends it."""
    alert_labels = {
        "alertname": name,
        "namespace": "shop",
        "pod": "api-7d9f8c-x2k4q",
        "container": "api",
        "severity": "critical",
        "prometheus": "monitoring/k8s",
    }
    alert_labels.update(labels or {})
    alert_annotations = {
        "summary": "Pod is crash looping.",
        "description": (
            'Pod shop/api-7d9f8c-x2k4q (api) is in waiting state (reason: "CrashLoopBackOff").'
        ),
    }
    if runbook_url:
        alert_annotations["runbook_url"] = runbook_url
    alert_annotations.update(annotations or {})
    return {
        "status": status,
        "labels": alert_labels,
        "annotations": alert_annotations,
        "startsAt": starts,
        "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-11-26T10:42:00.5Z",
        "generatorURL": (
            "http://prometheus.example:9090/graph?g0.expr=max_over_time%28kube_pod_container_"
            "status_waiting_reason%7Breason%3D%22CrashLoopBackOff%22%7D%5B5m%5D%29+%3E%3D+1&g0.tab=1"
        ),
        "fingerprint": fingerprint,
    }


def notification(*items, receiver="fieldguide"):
    """A whole delivery, with the extras newer Alertmanagers add."""
    first = items[0].get("labels") if items else None
    first = first if isinstance(first, dict) else {}
    firing = any(item.get("status") == "firing" for item in items)
    return {
        "receiver": receiver,
        "status": "firing" if firing else "resolved",
        "alerts": list(items),
        "groupLabels": {"alertname": first.get("alertname", "")},
        "commonLabels": {"alertname": first.get("alertname", ""), "severity": "critical"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example:9093",
        "version": "4",
        "groupKey": '{}/{severity="critical"}:{alertname="KubePodCrashLooping"}',
        "truncatedAlerts": 0,
        "notification_reason": "new_alerts",
        "routeLabels": {"severity": "critical"},
    }


def k8s_url(host="https://fieldguide.example.org"):
    return f"{host}/runbooks/{K8S}/"


def post(client, payload, token=TOKEN, path=URL):
    body = payload if isinstance(payload, bytes | str) else json.dumps(payload)
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return client.post(path, data=body, content_type="application/json", headers=headers)


def nothing_recorded():
    return (
        TriageSession.objects.count() == 0
        and SessionAlert.objects.count() == 0
        and UnmappedAlert.objects.count() == 0
    )


@pytest.fixture(autouse=True)
def tokens(settings):
    settings.FIELDGUIDE_ALERTMANAGER_TOKENS = [OLD_TOKEN, TOKEN]


@pytest.fixture
def fire(client, samples):
    """Post a delivery and return the decoded 200 answer."""

    def run(*items, **kwargs):
        response = post(client, notification(*items, **kwargs))
        assert response.status_code == 200, response.content
        return response.json()

    return run


@pytest.fixture
def editor_client(client, make_user):
    client.force_login(make_user("eddie", "editor"))
    return client


# --------------------------------------------------------------------------- authentication


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header",
    [None, "Bearer wrong-token", f"Basic {TOKEN}", "Bearer", f"bearer{TOKEN}", "Bearer ünïcode"],
)
def test_missing_or_wrong_token_is_401_and_nothing_recorded(client, samples, header):
    headers = {"Authorization": header} if header is not None else {}
    body = json.dumps(notification(am_alert(runbook_url=k8s_url())))
    response = client.post(URL, data=body, content_type="application/json", headers=headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "error" in response.json()
    assert nothing_recorded()


@pytest.mark.django_db
def test_no_tokens_configured_refuses_everything(client, samples, settings):
    settings.FIELDGUIDE_ALERTMANAGER_TOKENS = []
    for token in (TOKEN, "", None):
        assert post(client, notification(am_alert(runbook_url=k8s_url())), token).status_code == 401
    assert nothing_recorded()


@pytest.mark.django_db
def test_every_configured_token_works_so_one_can_be_rotated(client, samples):
    assert post(client, notification(am_alert(fingerprint="a1")), OLD_TOKEN).status_code == 200
    assert post(client, notification(am_alert(fingerprint="b2")), TOKEN).status_code == 200


@pytest.mark.django_db
def test_scheme_is_case_insensitive_and_trailing_slash_optional(client, samples):
    body = json.dumps(notification(am_alert(runbook_url=k8s_url())))
    response = client.post(
        URL.rstrip("/"),
        data=body,
        content_type="application/json",
        headers={"Authorization": f"bearer {TOKEN}"},
    )
    assert response.status_code == 200
    assert response.json()["opened"] == 1


@pytest.mark.django_db
def test_no_csrf_token_needed(samples):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert post(strict, notification(am_alert(runbook_url=k8s_url()))).status_code == 200


# --------------------------------------------------------------------------- method and size


@pytest.mark.django_db
def test_get_is_405(client):
    for response in (client.get(URL), client.put(URL), client.delete(URL)):
        assert response.status_code == 405
        assert response["Allow"] == "POST"


@pytest.mark.django_db
def test_body_over_the_limit_is_413_and_nothing_recorded(client, samples):
    payload = notification(am_alert(runbook_url=k8s_url()))
    payload["commonAnnotations"] = {"padding": "x" * alerts.MAX_BODY_BYTES}
    response = post(client, payload)
    assert response.status_code == 413
    assert "error" in response.json()
    assert nothing_recorded()


def test_body_read_is_capped_even_without_a_content_length():
    class Streaming:
        META: dict = {}

        def read(self, size):
            return b"x" * size  # a chunked body that would go on and on

    with pytest.raises(webhooks._TooLarge):
        webhooks._read_body(Streaming(), 1000)


# --------------------------------------------------------------------------- bad input → 400


def with_alert(**changes):
    alert = am_alert(runbook_url=k8s_url())
    for key, value in changes.items():
        if value is KeyError:
            alert.pop(key)
        else:
            alert[key] = value
    return notification(alert)


def with_top(**changes):
    payload = notification(am_alert(runbook_url=k8s_url()))
    for key, value in changes.items():
        if value is KeyError:
            payload.pop(key)
        else:
            payload[key] = value
    return payload


BAD_BODIES = {
    "invalid JSON": b'{"version": "4", "alerts": [',
    "not UTF-8": b'{"version": "4"} \xff\xfe',
    "deeply nested": b"[" * 100_000 + b"]" * 100_000,
    "not an object": b'["version", "4"]',
    "NUL in a label": json.dumps(with_alert(labels={"alertname": "X\u0000Y"})).encode(),
    "lone surrogate": json.dumps(with_alert()).replace("Pod is crash", "Pod \\ud800 is").encode(),
    "wrong version": with_top(version="3"),
    "version as a number": with_top(version=4),
    "no version": with_top(version=KeyError),
    "no alerts": with_top(alerts=KeyError),
    "alerts not a list": with_top(alerts={"0": am_alert()}),
    "alert not an object": with_top(alerts=["firing"]),
    "no receiver": with_top(receiver=KeyError),
    "receiver not a string": with_top(receiver=["fieldguide"]),
    "no groupKey": with_top(groupKey=KeyError),
    "bad top status": with_top(status="pending"),
    "truncatedAlerts as text": with_top(truncatedAlerts="0"),
    "negative truncatedAlerts": with_top(truncatedAlerts=-1),
    "commonLabels not strings": with_top(commonLabels={"severity": 3}),
    "no fingerprint": with_alert(fingerprint=KeyError),
    "empty fingerprint": with_alert(fingerprint=""),
    "long fingerprint": with_alert(fingerprint="f" * 65),
    "fingerprint a number": with_alert(fingerprint=12345),
    "no startsAt": with_alert(startsAt=KeyError),
    "startsAt not a time": with_alert(startsAt="yesterday"),
    "startsAt without a zone": with_alert(startsAt="2026-11-26T10:00:00"),
    "startsAt impossible": with_alert(startsAt="2026-13-45T10:00:00Z"),
    "startsAt overflows": with_alert(startsAt="9999-12-31T23:59:59-23:59"),
    "startsAt zero time": with_alert(startsAt="0001-01-01T00:00:00Z"),
    "endsAt not a time": with_alert(endsAt=17),
    "bad alert status": with_alert(status="pending"),
    "no alert status": with_alert(status=KeyError),
    "no labels": with_alert(labels=KeyError),
    "labels a list": with_alert(labels=[["alertname", "X"]]),
    "label value a number": with_alert(labels={"alertname": "X", "replicas": 3}),
    "label value null": with_alert(labels={"alertname": None}),
    "no annotations": with_alert(annotations=KeyError),
    "annotations a string": with_alert(annotations="summary"),
    "generatorURL a number": with_alert(generatorURL=8080),
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", list(BAD_BODIES))
def test_bad_payload_is_400_with_a_reason_and_nothing_recorded(client, samples, case):
    response = post(client, BAD_BODIES[case])
    assert response.status_code == 400, (case, response.content)
    reason = response.json()["error"]
    assert isinstance(reason, str) and reason
    assert nothing_recorded()


@pytest.mark.django_db
def test_one_bad_alert_in_a_group_rejects_the_whole_delivery(client, samples):
    bad = am_alert(fingerprint="bad")
    bad["labels"]["replicas"] = 3
    response = post(client, notification(am_alert(runbook_url=k8s_url()), bad))
    assert response.status_code == 400
    assert "alerts[1]" in response.json()["error"]
    assert nothing_recorded()


# --------------------------------------------------------------------------- mapping


@pytest.mark.django_db
def test_runbook_url_to_this_fieldguide_opens_a_session(fire):
    result = fire(am_alert(runbook_url=k8s_url()))
    session = TriageSession.objects.get()
    assert result == {
        "opened": 1,
        "repeats": 0,
        "resolved": 0,
        "unmapped": 0,
        "ignored": 0,
        "sessions": [session.pk],
    }
    assert session.runbook.slug == K8S
    assert session.status == TriageSession.Status.FROM_ALERT
    assert session.get_status_display() == "opened from an alert"
    assert session.owner.get_username() == "alertmanager"
    assert not session.owner.has_usable_password()
    assert "KubePodCrashLooping" in session.alert_source and "fieldguide" in session.alert_source
    alert = session.alerts.get()
    assert alert.starts_at == datetime(2026, 11, 26, 10, 0, 0, 123456, tzinfo=UTC)
    assert alert.ends_at is None and alert.resolved_at is None
    assert alert.labels["pod"] == "api-7d9f8c-x2k4q"
    assert alert.annotations["summary"] == "Pod is crash looping."
    assert alert.generator_url.startswith("http://prometheus.example:9090/graph")
    assert alert.receiver == "fieldguide" and alert.group_key.startswith("{}/")
    assert alert.mapped_by == "runbook_url"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.5:8000/runbooks/cloud/kubernetes/",  # any host: only the path counts
        "https://ops.example.org/fieldguide/runbooks/cloud/kubernetes/#checks",
        "https://fieldguide.example.org/runbooks/cloud/kubernetes.json",
        "/runbooks/cloud/kubernetes",
        "https://github.com/acme/runbooks/blob/main/Cloud/Kubernetes.md",  # last segments
    ],
)
def test_runbook_url_forms_that_name_a_known_slug(fire, url):
    fire(am_alert(runbook_url=url))
    assert TriageSession.objects.get().runbook.slug == K8S


@pytest.mark.django_db
def test_mapping_table_when_runbook_url_names_nothing_known(fire, samples):
    lag = Runbook.objects.get(slug=LAG)
    k8s = Runbook.objects.get(slug=K8S)
    AlertRunbookMapping.objects.create(
        matchers='alertname=KubePodCrashLooping, namespace="payments"', runbook=lag, priority=1
    )
    rule = AlertRunbookMapping.objects.create(
        matchers="alertname=KubePodCrashLooping\nseverity=critical", runbook=k8s, priority=5
    )
    AlertRunbookMapping.objects.create(matchers="severity=critical", runbook=lag, priority=9)
    fire(am_alert(runbook_url="https://runbooks.prometheus-operator.dev/runbooks/nope/kube-nope"))
    alert = SessionAlert.objects.get()
    assert alert.session.runbook == k8s  # the payments rule does not match, 5 beats 9
    assert alert.mapped_by.startswith(f"mapping #{rule.pk}")


@pytest.mark.django_db
def test_runbook_url_wins_over_the_mapping_table(fire, samples):
    lag = Runbook.objects.get(slug=LAG)
    AlertRunbookMapping.objects.create(matchers="alertname=KubePodCrashLooping", runbook=lag)
    fire(am_alert(runbook_url=k8s_url()))
    assert TriageSession.objects.get().runbook.slug == K8S


@pytest.mark.django_db
def test_unmapped_alert_is_recorded_and_counted_per_firing(fire):
    first = fire(am_alert("DiskWillFillIn4Hours", runbook_url="https://wiki.example/Disk"))
    assert first["unmapped"] == 1 and first["opened"] == 0
    fire(am_alert("DiskWillFillIn4Hours"))  # a repeat of the same firing
    fire(am_alert("DiskWillFillIn4Hours", starts="2026-11-27T08:00:00Z"))  # fired again
    row = UnmappedAlert.objects.get()
    assert row.alertname == "DiskWillFillIn4Hours"
    assert row.count == 2
    assert row.labels["namespace"] == "shop"
    assert TriageSession.objects.count() == 0


@pytest.mark.django_db
def test_unmapped_alerts_listed_for_editors_with_a_link_to_add_a_mapping(
    fire, client, make_user, samples
):
    fire(am_alert("DiskWillFillIn4Hours", labels={"device": "<b>/dev/sda1</b>"}))
    client.force_login(make_user("eng", "engineer"))
    assert client.get("/alerts/unmapped/").status_code == 403
    client.force_login(make_user("eddie", "editor"))
    html = client.get("/alerts/unmapped/").content.decode()
    assert "DiskWillFillIn4Hours" in html
    assert "device=&lt;b&gt;/dev/sda1&lt;/b&gt;" in html
    assert (
        "/admin/triage/alertrunbookmapping/add/?matchers=alertname%3D%22DiskWillFillIn4Hours%22"
        in html
    )
    AlertRunbookMapping.objects.create(
        matchers="alertname=DiskWillFillIn4Hours", runbook=Runbook.objects.get(slug=LAG)
    )
    html = client.get("/alerts/unmapped/").content.decode()
    assert "now maps to" in html


@pytest.mark.django_db
def test_unmapped_page_needs_a_login(client):
    response = client.get("/alerts/unmapped/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.django_db
def test_an_unmapped_alert_leaves_the_list_once_it_opens_a_session(fire, samples):
    fire(am_alert("DiskWillFillIn4Hours"))
    AlertRunbookMapping.objects.create(
        matchers="alertname=DiskWillFillIn4Hours", runbook=Runbook.objects.get(slug=LAG)
    )
    fire(am_alert("DiskWillFillIn4Hours", starts="2026-11-27T08:00:00Z"))
    assert UnmappedAlert.objects.count() == 0
    assert TriageSession.objects.get().runbook.slug == LAG


@pytest.mark.django_db
def test_admin_refuses_matchers_it_cannot_use(samples):
    rule = AlertRunbookMapping(
        matchers="alertname=~Kube.*", runbook=Runbook.objects.get(slug=K8S), priority=1
    )
    with pytest.raises(ValidationError, match="Only label=value"):
        rule.full_clean()


# --------------------------------------------------------------------------- idempotency


@pytest.mark.django_db
def test_repeated_delivery_opens_one_session(fire):
    alert = am_alert(runbook_url=k8s_url())
    fire(alert)
    again = fire(alert)
    alert["annotations"]["description"] = "Now restarting every 2 minutes."
    third = fire(alert)  # Alertmanager's repeat_interval re-send, annotations refreshed
    assert again["opened"] == 0 and again["repeats"] == 1
    assert third["repeats"] == 1
    stored = SessionAlert.objects.get()
    assert TriageSession.objects.count() == 1
    assert stored.notifications == 3
    assert stored.annotations["description"] == "Now restarting every 2 minutes."
    assert again["sessions"] == [stored.session_id]


@pytest.mark.django_db
def test_two_alerts_in_one_group_open_two_sessions(fire):
    result = fire(
        am_alert(runbook_url=k8s_url(), fingerprint="aaaa1111", labels={"pod": "api-1"}),
        am_alert(runbook_url=k8s_url(), fingerprint="bbbb2222", labels={"pod": "api-2"}),
    )
    assert result["opened"] == 2
    pods = {a.labels["pod"] for a in SessionAlert.objects.all()}
    assert pods == {"api-1", "api-2"}
    assert TriageSession.objects.count() == 2


@pytest.mark.django_db
def test_the_same_alert_firing_again_later_opens_a_new_session(fire):
    fire(am_alert(runbook_url=k8s_url()))
    fire(am_alert(runbook_url=k8s_url(), status="resolved"))
    fire(am_alert(runbook_url=k8s_url(), starts="2026-11-26T14:00:00Z"))
    assert TriageSession.objects.count() == 2


@pytest.mark.django_db
def test_concurrent_identical_delivery_loses_the_race_quietly(fire, monkeypatch):
    """The other delivery committed between our look-up and our insert: the unique
    constraint refuses the second alert row, and we count a repeat instead of a session."""
    fire(am_alert(runbook_url=k8s_url()))
    real_known = alerts._known
    calls = []

    def not_yet_visible(alert):
        calls.append(alert)
        return None if len(calls) == 1 else real_known(alert)

    monkeypatch.setattr(alerts, "_known", not_yet_visible)
    result = fire(am_alert(runbook_url=k8s_url()))
    assert result["opened"] == 0 and result["repeats"] == 1
    assert TriageSession.objects.count() == 1
    assert SessionAlert.objects.get().notifications == 2


# --------------------------------------------------------------------------- resolving


@pytest.mark.django_db
def test_resolved_closes_a_session_nobody_touched(fire):
    fire(am_alert(runbook_url=k8s_url()))
    result = fire(am_alert(runbook_url=k8s_url(), status="resolved"))
    assert result["resolved"] == 1
    alert = SessionAlert.objects.get()
    session = alert.session
    assert alert.status == "resolved" and alert.resolved_at is not None
    assert alert.ends_at == datetime(2026, 11, 26, 10, 42, 0, 500000, tzinfo=UTC)
    assert session.status == TriageSession.Status.FINISHED and session.ended_at
    outcome = session.outcome
    assert outcome.resolution == Outcome.Resolution.RESOLVED_BY_ALERT
    assert outcome.get_resolution_display() == "resolved by the alert clearing"
    assert outcome.recorded_by.get_username() == "alertmanager"
    assert "KubePodCrashLooping" in outcome.notes
    again = fire(am_alert(runbook_url=k8s_url(), status="resolved"))
    assert again["resolved"] == 0 and again["repeats"] == 1


@pytest.mark.django_db
def test_resolved_only_annotates_a_session_with_work_in_progress(fire, engineer, record):
    fire(am_alert(runbook_url=k8s_url()))
    session = TriageSession.objects.get()
    record(session, engineer, "note", note="Looking at the api deployment.")
    fire(am_alert(runbook_url=k8s_url(), status="resolved"))
    session.refresh_from_db()
    assert session.status == TriageSession.Status.OPEN
    assert SessionAlert.objects.get().status == "resolved"
    kinds = list(session.steps.values_list("kind", "author__username"))
    assert kinds == [("join", "erin"), ("note", "erin"), ("note", "alertmanager")]
    assert "resolved at 2026-11-26 10:42:00 UTC" in session.steps.last().note


@pytest.mark.django_db
def test_resolved_while_put_aside_marks_the_alert_and_keeps_the_session(fire, engineer):
    from triage.services import session_set_abandoned

    fire(am_alert(runbook_url=k8s_url()))
    session = TriageSession.objects.get()
    session_set_abandoned(session=session, user=engineer, token=uuid.uuid4(), abandoned=True)
    assert fire(am_alert(runbook_url=k8s_url(), status="resolved"))["resolved"] == 1
    session.refresh_from_db()
    assert session.status == TriageSession.Status.ABANDONED
    assert SessionAlert.objects.get().status == "resolved"


@pytest.mark.django_db
def test_resolved_for_an_alert_never_seen_firing_records_nothing(fire):
    result = fire(am_alert(runbook_url=k8s_url(), status="resolved"))
    assert result["ignored"] == 1 and result["resolved"] == 0
    assert nothing_recorded()


@pytest.mark.django_db
def test_resolved_for_an_unmapped_alert_updates_its_row(fire):
    fire(am_alert("DiskWillFillIn4Hours"))
    assert fire(am_alert("DiskWillFillIn4Hours", status="resolved"))["unmapped"] == 1
    assert UnmappedAlert.objects.get().status == "resolved"
    assert TriageSession.objects.count() == 0


@pytest.mark.django_db
def test_a_late_firing_resend_does_not_reopen_a_resolved_alert(fire):
    fire(am_alert(runbook_url=k8s_url()))
    fire(am_alert(runbook_url=k8s_url(), status="resolved"))
    assert fire(am_alert(runbook_url=k8s_url()))["repeats"] == 1
    assert SessionAlert.objects.get().status == "resolved"
    assert TriageSession.objects.count() == 1


# --------------------------------------------------------------------------- picking up


@pytest.mark.django_db
def test_any_engineer_picks_up_a_session_by_recording_a_step(fire, client, make_user):
    fire(am_alert(runbook_url=k8s_url()))
    session = TriageSession.objects.get()
    first, second = make_user("ana", "engineer"), make_user("bo", "engineer")
    client.force_login(first)
    html = client.get(f"/triage/{session.pk}/").content.decode()
    assert "Join this session" not in html and "pick it up now" in html
    note = {"token": str(uuid.uuid4()), "kind": "note", "note": "on it"}
    assert client.post(f"/triage/{session.pk}/step/", note).status_code == 302
    session.refresh_from_db()
    assert session.status == TriageSession.Status.OPEN
    assert list(session.steps.values_list("kind", flat=True)) == ["join", "note"]
    # now an ordinary session: others join first, as usual
    client.force_login(second)
    note = {"token": str(uuid.uuid4()), "kind": "note", "note": "me too"}
    assert client.post(f"/triage/{session.pk}/step/", note).status_code == 403
    assert "Join this session" in client.get(f"/triage/{session.pk}/").content.decode()


@pytest.mark.django_db
def test_pick_up_button_joins_without_answering(fire, engineer_client, engineer):
    fire(am_alert(runbook_url=k8s_url()))
    session = TriageSession.objects.get()
    token = {"token": str(uuid.uuid4())}
    assert engineer_client.post(f"/triage/{session.pk}/join/", token).status_code == 302
    engineer_client.post(f"/triage/{session.pk}/join/", token)  # double click
    session.refresh_from_db()
    assert session.status == TriageSession.Status.OPEN
    assert list(session.steps.values_list("kind", "author__username")) == [("join", "erin")]
    from triage.selectors import open_sessions_for

    assert open_sessions_for(engineer) == [session]


@pytest.mark.django_db
def test_people_cannot_choose_the_alert_resolution():
    form = OutcomeForm({"token": str(uuid.uuid4()), "resolution": "resolved_by_alert"})
    assert not form.is_valid()


# --------------------------------------------------------------------------- pages and JSON


@pytest.mark.django_db
def test_session_page_shows_the_alert_and_json_includes_it(fire, engineer_client):
    fire(am_alert(runbook_url=k8s_url()))
    session = TriageSession.objects.get()
    html = engineer_client.get(f"/triage/{session.pk}/").content.decode()
    assert "Alert KubePodCrashLooping" in html
    assert "opened from an alert" in html
    assert "<code>pod</code></th><td>api-7d9f8c-x2k4q</td>" in html
    assert "Pod is crash looping." in html
    assert 'href="http://prometheus.example:9090/graph?g0.expr=' in html
    data = engineer_client.get(f"/triage/{session.pk}.json").json()
    assert data["status"] == "from_alert"
    assert data["alert"]["labels"]["alertname"] == "KubePodCrashLooping"
    assert data["alert"]["annotations"]["runbook_url"] == k8s_url()
    assert data["alert"]["starts_at"] == "2026-11-26T10:00:00.123456+00:00"
    assert data["alert"]["status"] == "firing"


@pytest.mark.django_db
def test_sessions_without_an_alert_have_a_null_alert_in_json(engineer_client, session):
    assert engineer_client.get(f"/triage/{session.pk}.json").json()["alert"] is None


@pytest.mark.django_db
def test_hostile_alert_text_is_escaped_and_bad_links_dropped(fire, engineer_client):
    evil = "<script>window.__pwned=1</script>"
    fire(
        am_alert(
            runbook_url=k8s_url(),
            labels={"alertname": f"Evil{evil}", "team": f'"><img src=x onerror=alert(1)>{evil}'},
            annotations={"summary": evil, "description": f"{{{{ request.user }}}} {evil}"},
        )
        | {"generatorURL": "javascript:alert(document.cookie)"}
    )
    session = TriageSession.objects.get()
    for url in (f"/triage/{session.pk}/", "/"):
        html = engineer_client.get(url).content.decode()
        assert "<script>window.__pwned" not in html
        assert "<img src=x" not in html
        assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html
    html = engineer_client.get(f"/triage/{session.pk}/").content.decode()
    assert "javascript:alert" not in html
    assert "{{ request.user }}" in html  # shown as text, never evaluated


@pytest.mark.django_db
def test_home_lists_sessions_open_from_alerts(fire, engineer_client):
    fire(am_alert(runbook_url=k8s_url()))
    session = TriageSession.objects.get()
    html = engineer_client.get("/").content.decode()
    section = html.split("Open from alerts")[1]
    assert f'href="/triage/{session.pk}/"' in section
    assert "KubePodCrashLooping firing" in section
    assert "waiting for someone to pick it up" in section
    fire(am_alert(runbook_url=k8s_url(), status="resolved"))  # closed: off the list
    assert "Open from alerts" not in engineer_client.get("/").content.decode()


# --------------------------------------------------------------------------- pure helpers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("alertname=KubePodCrashLooping", {"alertname": "KubePodCrashLooping"}),
        (
            'alertname = "KubePodCrashLooping", namespace="shop"',
            {"alertname": "KubePodCrashLooping", "namespace": "shop"},
        ),
        ('{alertname="A", severity="critical"}', {"alertname": "A", "severity": "critical"}),
        ("alertname=A\r\nteam=db\n\n", {"alertname": "A", "team": "db"}),
        ('job="a, b \\"c\\""', {"job": 'a, b "c"'}),
        ("alertname=A, canary=", {"alertname": "A", "canary": ""}),
    ],
)
def test_parse_matchers(text, expected):
    assert alerts.parse_matchers(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "  ,, ", "alertname", "alertname!=A", "alertname=~A.*", "a=1 b=2", "a=1, a=2", "9x=1"],
)
def test_parse_matchers_refuses(text):
    with pytest.raises(alerts.MatcherError):
        alerts.parse_matchers(text)


def test_matchers_all_must_hold_and_empty_matches_missing():
    labels = {"alertname": "A", "team": "db"}
    assert alerts.matchers_match({"alertname": "A", "team": "db"}, labels)
    assert not alerts.matchers_match({"alertname": "A", "team": "web"}, labels)
    assert alerts.matchers_match({"alertname": "A", "canary": ""}, labels)
    assert not alerts.matchers_match({"canary": "yes"}, labels)


def test_runbook_url_slugs():
    assert alerts.runbook_url_slugs("https://x.example/runbooks/cloud/kubernetes/")[0] == K8S
    assert alerts.runbook_url_slugs("https://x/a/runbooks/runbooks/db/lag.md")[0] == "db/lag"
    found = alerts.runbook_url_slugs("https://gh.example/acme/ops/blob/main/Cloud/Blue%20Green.md")
    assert found[0] == "acme/ops/blob/main/cloud/blue-green"  # longest first
    assert found[-2:] == ["cloud/blue-green", "blue-green"]
    assert alerts.runbook_url_slugs("https://x.example/") == []
    assert alerts.runbook_url_slugs("http://[::1/runbooks/a/") == []  # unparsable


def test_safe_http_url():
    assert alerts.safe_http_url("https://grafana.example/d/x") == "https://grafana.example/d/x"
    for bad in ("javascript:alert(1)", " JavaScript:alert(1)", "data:text/html,x", "//x", "x"):
        assert alerts.safe_http_url(bad) == ""
