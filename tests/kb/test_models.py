"""Model and queryset methods of the runbook domain."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kb.models import Runbook, RunbookVisit
from tests.conftest import SEED_SLUG

pytestmark = pytest.mark.django_db


def test_runbook_visit_record_writes_once_a_minute(engineer, samples):
    runbook = Runbook.objects.get(slug=SEED_SLUG)
    RunbookVisit.objects.record(user=engineer, runbook_id=runbook.pk)
    first = RunbookVisit.objects.get(user=engineer, runbook=runbook).visited_at
    with CaptureQueriesContext(connection) as queries:
        RunbookVisit.objects.record(user=engineer, runbook_id=runbook.pk)
    assert len(queries) == 0  # re-reading within the minute writes nothing
    assert RunbookVisit.objects.get(user=engineer, runbook=runbook).visited_at == first


def test_runbook_visit_record_refreshes_after_the_minute(engineer, samples):
    from django.core.cache import caches

    runbook = Runbook.objects.get(slug=SEED_SLUG)
    RunbookVisit.objects.record(user=engineer, runbook_id=runbook.pk)
    first = RunbookVisit.objects.get(user=engineer, runbook=runbook).visited_at
    caches["local"].clear()  # the minute has passed
    RunbookVisit.objects.record(user=engineer, runbook_id=runbook.pk)
    assert RunbookVisit.objects.get(user=engineer, runbook=runbook).visited_at > first
    assert RunbookVisit.objects.count() == 1
