import uuid

import pytest

from kb.models import Runbook
from tests.conftest import SEED_SLUG
from triage.services import StepInput, session_start, step_record


@pytest.fixture
def founding(samples) -> Runbook:
    return Runbook.objects.get(slug=SEED_SLUG)


@pytest.fixture
def other_engineer(make_user):
    return make_user("olga", "engineer")


@pytest.fixture
def session(founding, engineer):
    return session_start(runbook=founding, user=engineer, incident_ref="INC-42")


@pytest.fixture
def record():
    def run(session, user, kind, token=None, **answer):
        step, _created = step_record(
            session=session,
            user=user,
            token=token or uuid.uuid4(),
            answer=StepInput(kind=kind, **answer),
        )
        return step

    return run
