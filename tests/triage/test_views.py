"""The guided triage pages: full page, htmx partial, forged input refused."""

import json
import re
import uuid

import pytest
from django.test import Client

from kb.models import Cause
from triage.models import TriageSession, TriageStep

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "triage-panel"}


def url(session, action="") -> str:
    return f"/triage/{session.pk}/{action + '/' if action else ''}"


def post_step(client, session, **data):
    return client.post(url(session, "step"), {"token": str(uuid.uuid4()), **data})


def test_start_triage_creates_a_session_and_redirects(engineer_client, founding):
    response = engineer_client.post(f"/triage/new/{founding.slug}/", {"incident_ref": "INC-7"})
    session = TriageSession.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/triage/{session.pk}/"
    assert session.incident_ref == "INC-7"


def test_start_triage_twice_with_one_token_opens_one_session(engineer_client, founding):
    page = engineer_client.get(f"/runbooks/{founding.slug}/").content.decode()
    token = re.search(r'name="token" value="([0-9a-f-]{36})"', page).group(1)
    first = engineer_client.post(f"/triage/new/{founding.slug}/", {"token": token})
    again = engineer_client.post(f"/triage/new/{founding.slug}/", {"token": token})
    assert first["Location"] == again["Location"]
    assert TriageSession.objects.count() == 1


def test_start_triage_token_is_fresh_on_every_page_view(engineer_client, founding):
    def token() -> str:
        page = engineer_client.get(f"/runbooks/{founding.slug}/").content.decode()
        return re.search(r'name="token" value="([0-9a-f-]{36})"', page).group(1)

    assert token() != token()  # the page itself is shared and cached


def test_start_triage_refuses_a_malformed_token(engineer_client, founding):
    response = engineer_client.post(f"/triage/new/{founding.slug}/", {"token": "nope"})
    assert response.status_code == 400 and b"token" in response.content
    assert not TriageSession.objects.exists()


def test_start_triage_needs_post(engineer_client, founding):
    assert engineer_client.get(f"/triage/new/{founding.slug}/").status_code == 405


def test_runbook_page_has_start_triage_button(engineer_client, founding):
    html = engineer_client.get(f"/runbooks/{founding.slug}/").content.decode()
    assert f'action="/triage/new/{founding.slug}/"' in html
    assert "Start triage" in html


def test_session_page_asks_the_gate_first(engineer_client, session):
    html = engineer_client.get(url(session)).content.decode()
    assert "is this the right runbook?" in html
    assert "If errors appeared before the deploy" in html
    assert 'data-key="y"' in html and 'data-key="n"' in html
    assert 'id="triage-panel"' in html and "<html" in html


def test_session_step_with_htmx_returns_the_panel(engineer_client, session):
    response = engineer_client.post(
        url(session, "step"), {"token": str(uuid.uuid4()), "kind": "gate", "gate": "no"}, **HTMX
    )
    html = response.content.decode().strip()
    assert response.status_code == 200
    assert html.startswith('<div id="triage-panel"')
    assert "Which pattern matches what you see?" in html


def test_session_step_without_javascript_redirects(engineer_client, session):
    response = post_step(engineer_client, session, kind="gate", gate="no")
    assert response.status_code == 302 and response["Location"] == url(session)


def test_session_walk_to_a_confirmed_cause_shows_best_guess(engineer_client, session, founding):
    post_step(engineer_client, session, kind="gate", gate="no")
    pattern = founding.patterns.get(key="errors-on-all-endpoints-immediately")
    post_step(engineer_client, session, kind="pattern", pattern=pattern.pk)
    html = engineer_client.get(url(session)).content.decode()
    assert "Pattern: Errors on all endpoints immediately" in html
    assert "Missing or changed environment variable" in html.split("Best guess")[1][:300]
    cause = founding.causes.get(key="missing-or-changed-environment-variable")
    check = founding.checks.get(key="check-error-logs-immediately")
    post_step(
        engineer_client,
        session,
        kind="check",
        check_id=check.pk,
        cause=cause.pk,
        result="confirms",
        minutes="4",
    )
    html = engineer_client.get(url(session)).content.decode()
    assert "A cause is confirmed" in html
    assert f'<option value="{cause.pk}" selected>' in html


def test_same_step_posted_twice_is_stored_once(engineer_client, session):
    data = {"token": str(uuid.uuid4()), "kind": "gate", "gate": "no"}
    engineer_client.post(url(session, "step"), data)
    engineer_client.post(url(session, "step"), data)
    assert session.steps.count() == 1


def test_step_from_someone_not_in_the_session_is_403(client, session, other_engineer):
    client.force_login(other_engineer)
    response = post_step(client, session, kind="gate", gate="no")
    assert response.status_code == 403
    assert b"Only the owner and engineers who joined" in response.content
    assert session.steps.count() == 0
    # but they can view it, and join
    assert b"Join this session" in client.get(url(session)).content
    client.post(url(session, "join"), {"token": str(uuid.uuid4())})
    assert post_step(client, session, kind="gate", gate="no").status_code == 302
    assert list(session.steps.values_list("kind", flat=True)) == ["join", "gate"]


def test_forged_cause_from_another_runbook_is_400(engineer_client, session, founding):
    post_step(engineer_client, session, kind="gate", gate="no")
    foreign = Cause.objects.exclude(runbook=founding).first()
    check = founding.checks.first()
    response = post_step(
        engineer_client,
        session,
        kind="check",
        check_id=check.pk,
        cause=foreign.pk,
        result="confirms",
    )
    assert response.status_code == 400
    assert b"That cause is not part of this runbook" in response.content
    assert session.steps.count() == 1


def test_nonexistent_check_is_400(engineer_client, session, founding):
    cause = founding.causes.first()
    response = post_step(
        engineer_client, session, kind="check", check_id=987654, cause=cause.pk, result="confirms"
    )
    assert response.status_code == 400
    assert session.steps.count() == 0


def test_missing_token_or_bad_kind_is_400(engineer_client, session):
    response = engineer_client.post(url(session, "step"), {"kind": "gate", "gate": "no"})
    assert response.status_code == 400
    assert b"missing its step token" in response.content
    assert post_step(engineer_client, session, kind="teleport").status_code == 400
    assert session.steps.count() == 0


def test_missing_csrf_token_is_403(engineer, session):
    client = Client(enforce_csrf_checks=True)
    client.force_login(engineer)
    response = post_step(client, session, kind="gate", gate="no")
    assert response.status_code == 403
    assert session.steps.count() == 0


def test_unknown_session_is_404(engineer_client):
    assert engineer_client.get("/triage/99999/").status_code == 404


def test_finished_session_is_read_only(engineer_client, session, founding):
    response = engineer_client.post(
        url(session, "finish"), {"token": str(uuid.uuid4()), "resolution": "rolled_back"}
    )
    assert response.status_code == 302
    html = engineer_client.get(url(session)).content.decode()
    assert "Finished: rolled back" in html
    assert "read-only" in html
    assert f'action="/triage/{session.pk}/step/"' not in html
    assert post_step(engineer_client, session, kind="note", note="late").status_code == 409
    assert session.steps.filter(kind=TriageStep.Kind.NOTE).count() == 0


def test_session_json_lists_steps_in_order_with_timestamps(engineer_client, session, founding):
    post_step(engineer_client, session, kind="gate", gate="no")
    post_step(engineer_client, session, kind="pattern", pattern="none")
    post_step(engineer_client, session, kind="note", note="<b>careful</b>")
    data = json.loads(engineer_client.get(f"/triage/{session.pk}.json").content)
    assert data["runbook"] == founding.slug
    assert [s["kind"] for s in data["steps"]] == ["gate", "pattern", "note"]
    times = [s["at"] for s in data["steps"]]
    assert times == sorted(times)
    assert data["steps"][2]["note"] == "<b>careful</b>"
    assert data["outcome"] is None


def test_timeline_shows_steps_in_order(engineer_client, session):
    post_step(engineer_client, session, kind="gate", gate="yes")
    post_step(engineer_client, session, kind="gate", gate="no")
    html = engineer_client.get(url(session, "timeline")).content.decode()
    assert html.index("Gate: the condition holds") < html.index("Gate: no, continue here")
    assert "changed an earlier answer" in html
    assert re.search(r"\+0:\d\d", html)


def test_home_lists_my_open_sessions(engineer_client, session):
    html = engineer_client.get("/").content.decode()
    assert "My open sessions" in html
    assert f'href="/triage/{session.pk}/"' in html


def test_abandon_and_resume_through_the_page(engineer_client, session):
    engineer_client.post(url(session, "abandon"), {"token": str(uuid.uuid4())})
    assert "Resume" in engineer_client.get(url(session)).content.decode()
    engineer_client.post(url(session, "resume"), {"token": str(uuid.uuid4())})
    session.refresh_from_db()
    assert session.status == TriageSession.Status.OPEN


def test_changing_an_earlier_answer_records_a_new_step(engineer_client, session, founding):
    post_step(engineer_client, session, kind="gate", gate="no")
    first = founding.patterns.get(key="errors-on-all-endpoints-immediately")
    second = founding.patterns.get(key="errors-only-under-load")
    post_step(engineer_client, session, kind="pattern", pattern=first.pk)
    html = engineer_client.get(url(session)).content.decode()
    assert "Change an earlier answer" in html
    assert f'name="pattern" value="{second.pk}"' in html
    post_step(engineer_client, session, kind="pattern", pattern=second.pk)
    html = engineer_client.get(url(session)).content.decode()
    assert "Pattern: Errors only under load" in html
    patterns = list(session.steps.filter(kind="pattern").order_by("created_at"))
    assert [p.pattern_id for p in patterns] == [first.pk, second.pk]
    assert patterns[1].supersedes == patterns[0]


def test_session_page_shows_a_runbook_edit_made_mid_session(
    engineer_client, session, founding, seed_text
):
    from kb.services import runbook_import

    post_step(engineer_client, session, kind="gate", gate="no")
    post_step(engineer_client, session, kind="pattern", pattern="none")
    before = engineer_client.get(url(session)).content.decode()
    assert "Check whether all instances are on the new version" in before
    edited = seed_text.replace(
        "Check whether all instances are on the new version",
        "Check whether every instance runs the new build",
    )
    runbook_import(text=edited, path=f"{founding.slug}.txt")
    after = engineer_client.get(url(session)).content.decode()
    assert "Check whether every instance runs the new build" in after
    assert "Check whether all instances are on the new version" not in after
