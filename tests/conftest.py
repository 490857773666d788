from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User

PROJECT_DIR = Path(__file__).resolve().parent.parent
SHARED_DIR = PROJECT_DIR.parent / "shared"
SEED_PATH = SHARED_DIR / "seeds" / "000_131d5d6a3ce7968b.txt"
SEED_SLUG = "000_131d5d6a3ce7968b"
PUBLIC_RUNBOOKS = SHARED_DIR / "fixtures" / "public-runbooks"
SAMPLES_DIR = PROJECT_DIR / "samples" / "runbooks"
DATA_DIR = Path(__file__).resolve().parent / "kb" / "data"


@pytest.fixture(autouse=True)
def empty_cache():
    """Each test starts with nothing cached: rolled-back databases reuse ids."""
    from django.core.cache import caches

    for name in ("default", "local"):
        caches[name].clear()


@pytest.fixture
def seed_text() -> str:
    return SEED_PATH.read_text(encoding="utf-8")


@pytest.fixture
def make_user(db):
    def make(username: str, *groups: str, **fields) -> User:
        user = User.objects.create_user(username=username, password="pw-for-tests-9", **fields)
        # get_or_create: a transactional test's flush empties the groups the migration made.
        user.groups.set([Group.objects.get_or_create(name=name)[0] for name in groups])
        return user

    return make


@pytest.fixture
def engineer(make_user) -> User:
    return make_user("erin", "engineer")


@pytest.fixture
def engineer_client(client, engineer):
    client.force_login(engineer)
    return client


@pytest.fixture
def import_samples(db):
    """The demo runbooks plus the founding seed, imported through the real service."""
    from kb.services import runbooks_import
    from kb.sources import collect_sources

    def run():
        sources, errors = collect_sources([SAMPLES_DIR, SEED_PATH])
        return runbooks_import(sources=sources, errors=errors)

    return run


@pytest.fixture
def samples(import_samples):
    return import_samples()


@pytest.fixture
def default_synonyms(db):
    from kb.models import SearchSynonym
    from kb.search_query import DEFAULT_SYNONYMS

    SearchSynonym.objects.bulk_create(
        [SearchSynonym(terms=", ".join(group)) for group in DEFAULT_SYNONYMS],
        ignore_conflicts=True,
    )
