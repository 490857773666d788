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


@pytest.mark.parametrize(
    ("terms", "message"),
    [
        (",,,, ,", "at least two"),
        ("pods", "at least two"),
        ("pods, pods", "at least two"),
        ("the, a, pods", "only common words"),
        ("pods, " + "word " * 9, "too long"),
        ("pods, ---", "no letters"),
    ],
)
def test_search_synonym_clean_refuses_groups_that_would_break_search(terms, message):
    from django.core.exceptions import ValidationError

    from kb.models import SearchSynonym

    with pytest.raises(ValidationError, match=message):
        SearchSynonym(terms=terms).clean()


def test_search_synonym_clean_accepts_a_real_group():
    from kb.models import SearchSynonym

    SearchSynonym(terms="cert, certificate, TLS, x509").clean()


def test_search_synonym_defaults_are_valid_groups():
    from kb.models import SearchSynonym
    from kb.search_query import DEFAULT_SYNONYMS

    for group in DEFAULT_SYNONYMS:
        SearchSynonym(terms=", ".join(group)).clean()
