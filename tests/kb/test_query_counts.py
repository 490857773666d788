"""Page query counts are bounded and independent of how much a runbook or the KB holds."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kb.services import runbooks_import
from kb.sources import SourceFile

pytestmark = pytest.mark.django_db

MAX_QUERIES = 30


def big_runbook(n: int) -> str:
    lines = [
        "Debug: Alpha big runbook",
        "Summary alpha.",
        "Symptom: alpha breaks.",
        "Quick Diagnosis",
    ]
    lines += ["| Pattern | Likely cause |", "|---|---|"]
    lines += [f"| Alpha pattern {i} seen | cause number {i} |" for i in range(n)]
    lines += ["Likely Causes (ranked by frequency)"]
    lines += [f"- Cause number {i} — alpha detail {i}" for i in range(n)]
    lines += ["First Checks (fastest signal first)"]
    lines += [f"- Check cause number {i} — look at alpha {i}" for i in range(n)]
    lines += ["Drill Paths", "| Suspect | Go to |", "|---|---|"]
    lines += [f"| Suspect {i} | other/r{i if i % 2 else f'missing-{i}'} |" for i in range(n)]
    lines += ["Fix Patterns"] + [f"- Fix alpha {i} — cause number {i}" for i in range(n)]
    lines += ["When This Is Not the Issue", "If alpha is fine:"]
    lines += [f"- Not alpha {i}" for i in range(n)] + ["Pivot to other/r1 for more."]
    lines += ["Connections", " · ".join(f"other/r{i}" for i in range(n))]
    return "\n".join(lines) + "\n"


def build_kb(n: int) -> None:
    sources = [SourceFile("big/main.txt", "big/main", big_runbook(n).encode())]
    sources += [
        SourceFile(
            f"other/r{i}.txt",
            f"other/r{i}",
            f"Debug: Alpha other {i}\nSummary.\nConnections\nbig/main\n".encode(),
        )
        for i in range(n)
    ]
    runbooks_import(sources=sources)


PAGES = [
    "/",
    "/runbooks/",
    "/runbooks/big/main/",
    "/runbooks/big/main.md",
    "/runbooks/big/main.json",
    "/tree/big/main/",
    "/tree/big/main/?open=p-alpha-pattern-1-seen/c-cause-number-1",
    "/tree/big/main/?open=none",
    "/runbooks/graph/",
    "/search/?q=alpha",
]


def session_url(user) -> str:
    from kb.models import Runbook
    from triage.services import session_start

    session = session_start(runbook=Runbook.objects.get(slug="big/main"), user=user)
    return f"/triage/{session.pk}/"


def count_queries(client, url: str) -> tuple[int, int]:
    """(queries with nothing cached, queries when rendered parts are cached)."""
    from django.core.cache import caches

    client.get(url)  # first visits create rows (recently viewed, ...)
    counts = []
    for _cold_then_warm in range(2):
        if not counts:
            caches["local"].clear()
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        counts.append(len(ctx.captured_queries))
    return counts[0], counts[1]


EDITOR_PAGES = [
    "/runbooks/big/main/edit/",
    "/runbooks/big/main/history/",
    "/runbooks/big/main/links/",
    "/runbooks/health/",
    "/runbooks/new/",
    "/alerts/unmapped/",
]


@pytest.fixture
def counts_for(engineer_client, engineer, make_user):
    from django.test import Client

    editor = Client()
    editor.force_login(make_user("eddie", "editor"))

    def run(n: int) -> dict[str, int]:
        build_kb(n)
        counts = {url: count_queries(engineer_client, url) for url in PAGES}
        counts["triage"] = count_queries(engineer_client, session_url(engineer))
        counts |= {url: count_queries(editor, url) for url in EDITOR_PAGES}
        return counts

    return run


def test_page_queries_do_not_grow_with_size(counts_for):
    from kb.models import Runbook
    from triage.models import TriageSession

    small = counts_for(10)

    TriageSession.objects.all().delete()
    Runbook.objects.all().delete()
    large = counts_for(200)
    assert small == large
    assert max(cold for cold, _warm in large.values()) <= MAX_QUERIES, large
    # Rendered parts cached: the runbook page and tree need the signed-in user, their roles
    # and the runbook's versions.
    for url in ("/runbooks/big/main/", "/tree/big/main/"):
        assert large[url][1] <= 5, (url, large[url])
    # Search, ranked afresh: session, user, roles; the versions it is cached under (runbooks
    # and incidents, one query); synonyms, ranking, the runbooks, their sections and alert
    # names; past incidents (the newest one, the floor of the newest 5,000 (cached under
    # it), the ranking and their sessions). No vocabulary query: "alpha" is an English word,
    # never taken for a misspelling. PostgreSQL's ranking reads the document count and the
    # terms' document frequencies first (cached under the runbooks' version). Cached: the
    # session, user, roles and the versions.
    cold, warm = large["/search/?q=alpha"]
    assert cold <= (12 if connection.vendor == "postgresql" else 11), (cold, warm)
    assert warm <= 4, (cold, warm)
