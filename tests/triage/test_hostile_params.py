"""Hostile values in a triage step: a form error (400), never a 500."""

import uuid

import pytest

from triage.forms import StepForm

pytestmark = pytest.mark.django_db

HUGE = "9" * 20  # past a 64-bit integer: no pattern has that id


def step_form(**data) -> StepForm:
    return StepForm({"token": str(uuid.uuid4()), "kind": "pattern", **data})


# "²" and "١" are digits to str.isdigit() (and int() reads "١"), not a pattern's number.
@pytest.mark.parametrize("value", ["²", "١", "٣٤", "1²", "-1", "0x1", "1.0", "\x00"])
def test_step_form_refuses_a_pattern_that_is_not_a_plain_number(value):
    form = step_form(pattern=value)
    assert not form.is_valid() and "pattern" in form.errors


@pytest.mark.parametrize(
    ("value", "expected"), [("12", 12), (" 7 ", 7), ("none", None), ("", None), (" ", None)]
)
def test_step_form_reads_a_pattern_number_or_none_of_these(value, expected):
    form = step_form(pattern=value)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["pattern"] == expected


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("²", "Choose a pattern"),
        ("١", "Choose a pattern"),
        ("\x00", "Null characters are not allowed"),
        (HUGE, "That pattern is not part of this runbook"),
    ],
)
def test_session_step_with_a_hostile_pattern_is_400(engineer_client, session, value, error):
    step = f"/triage/{session.pk}/step/"
    engineer_client.post(step, {"token": str(uuid.uuid4()), "kind": "gate", "gate": "no"})
    data = {"token": str(uuid.uuid4()), "kind": "pattern", "pattern": value}
    response = engineer_client.post(step, data)
    assert response.status_code == 400
    assert error in response.content.decode()
    assert session.steps.count() == 1  # only the gate


@pytest.mark.parametrize("value", ["\x00", "a\x00b", "x" * 500, "no/such-runbook"])
def test_insights_page_with_a_hostile_runbook_shows_the_busiest(client, make_user, value):
    client.force_login(make_user("lena", "lead"))
    response = client.get("/insights/", {"runbook": value})
    assert response.status_code == 200
