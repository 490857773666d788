"""The runbook page shows the sections a runbook has, in its author's order."""

import io
import json
import re
import uuid

import pytest
from django.core.management import call_command

from kb.exporting import runbook_to_parsed
from kb.markdown_io import parse_runbook
from kb.models import Runbook, order_sections
from kb.services import runbook_save_parsed
from tests.conftest import SEED_SLUG

# An invented runbook in the shape of the public collections (Meaning / Impact / Diagnosis /
# Mitigation): Meaning is read as the symptom, Diagnosis as checks, Mitigation as fix
# patterns, and Impact, which Fieldguide has no part for, as an extra section.
GENERIC = """# OrdersConsumerLagging

## Meaning

The orders consumer group is more than five minutes behind its producers.

## Impact

Order confirmations reach customers late and refunds queue behind them.

## Diagnosis

Compare the lag of each partition in the broker console.

Look for consumer pods restarted within the last hour.

## Mitigation

Scale the consumer deployment out until the backlog drains.
"""
SLUG = "queues/orders-consumer-lagging"
URL = f"/runbooks/{SLUG}/"
AUTHORS_ORDER = ["symptom", "extra:0", "checks", "fix_patterns"]

# What the reader sees of each section, in the author's order.
MEANING = "more than five minutes behind its producers"
IMPACT = ">Impact</h2>"
DIAGNOSIS = "Compare the lag of each partition"
MITIGATION = "Scale the consumer deployment out"
# Every placeholder the page used to show for a section a runbook does not have.
PLACEHOLDERS = re.compile(r"No [^<]*(listed|patterns|drill paths|connections)", re.IGNORECASE)
NOTE = "need a “Likely causes” section"


def save(text: str = GENERIC, order: list[str] | None = None) -> Runbook:
    """Save through the import service with the order a reader that records it gives."""
    parsed = parse_runbook(text, slug=SLUG)
    parsed.section_order = list(AUTHORS_ORDER if order is None else order)
    runbook, _status = runbook_save_parsed(parsed=parsed, text=text, slug=SLUG, path="x.md")
    return runbook


def assert_in_order(html: str, *needles: str) -> None:
    positions = []
    for needle in needles:
        assert html.count(needle) == 1, needle
        positions.append(html.index(needle))
    assert positions == sorted(positions), dict(zip(needles, positions, strict=True))


def body(html: str) -> str:
    """The page from the runbook's header on, so layout text around it cannot match."""
    return html[html.index('<article class="runbook">') :]


# --- the order, without a database ---------------------------------------------------------


def test_order_sections_puts_authored_first_and_never_hides_a_section():
    present = ["symptom", "causes", "checks", "extra:0", "extra:1"]
    authored = ["extra:1", "nonsense", "checks", "checks", "extra:7", "patterns", 3]
    assert order_sections(authored, present) == [
        "extra:1",
        "checks",
        "symptom",
        "causes",
        "extra:0",
    ]
    assert order_sections([], present) == present  # not recorded: canonical, then extras
    assert order_sections({"not": "a list"}, present) == present


# --- the page ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_generic_runbook_page_shows_its_sections_in_the_authors_order(engineer_client):
    save()
    response = engineer_client.get(URL)
    assert response.status_code == 200
    html = body(response.content.decode())
    assert_in_order(html, '<h2 id="symptom-h">Symptom</h2>', MEANING, IMPACT)
    assert_in_order(html, MEANING, IMPACT, DIAGNOSIS, MITIGATION)
    assert_in_order(html, IMPACT, 'id="checks-h"', 'id="fix-h"')
    assert "Look for consumer pods restarted" in html


@pytest.mark.django_db
def test_generic_runbook_page_leaves_out_sections_it_does_not_have(engineer_client):
    save()
    html = body(engineer_client.get(URL).content.decode())
    assert not PLACEHOLDERS.search(html), PLACEHOLDERS.search(html)
    for absent in ("Quick diagnosis", "Likely causes</h2>", "Drill paths", "Connections"):
        assert absent not in html, absent
    for absent in ('id="causes-h"', 'id="drill-h"', 'id="nti-h"', 'id="conn-h"'):
        assert absent not in html, absent
    # One quiet line says why its decision tree has nothing to branch on.
    assert html.count(NOTE) == 1


@pytest.mark.django_db
def test_runbook_page_without_a_recorded_order_uses_the_canonical_one(engineer_client):
    save(order=[])
    html = body(engineer_client.get(URL).content.decode())
    assert_in_order(html, MEANING, DIAGNOSIS, MITIGATION, IMPACT)
    assert not PLACEHOLDERS.search(html)


@pytest.mark.django_db
def test_runbook_page_shows_a_new_order_at_once(engineer_client):
    save()
    assert_in_order(engineer_client.get(URL).content.decode(), IMPACT, DIAGNOSIS)  # now cached
    moved = GENERIC.replace("## Mitigation", "## Mitigation\n\nFirst, tell support.")
    save(moved, order=["symptom", "checks", "fix_patterns", "extra:0"])
    html = engineer_client.get(URL).content.decode()
    assert_in_order(html, MEANING, DIAGNOSIS, MITIGATION, IMPACT)


@pytest.mark.django_db
def test_founding_runbook_page_still_shows_every_part_in_its_order(engineer_client, samples):
    html = body(engineer_client.get(f"/runbooks/{SEED_SLUG}/").content.decode())
    # The seed's own order, which is also the canonical one.
    assert_in_order(
        html,
        'id="symptom-h"',
        'id="patterns-h"',
        'id="causes-h"',
        'id="checks-h"',
        "PAYMENT_SERVICE_URL",  # its signal example, written after the checks
        'id="drill-h"',
        'id="fix-h"',
        'id="nti-h"',
        'id="conn-h"',
        'id="questions-h"',
        'id="back-h"',
    )
    assert html.count('<tr id="pattern-') == 5
    assert html.count('<li id="cause-') == 5
    assert html.count('<li id="check-') == 5
    assert html.count('class="pivot"') == 1
    assert html.count('class="question"') == 2
    assert 'class="cause-ref' in html  # patterns and checks point at their causes
    assert not PLACEHOLDERS.search(html)
    assert NOTE not in html
    assert "Related reading" not in html  # an empty heading in the seed: nothing to show


@pytest.mark.django_db
def test_founding_runbook_page_shows_what_sessions_taught(engineer_client, engineer, samples):
    from triage.services import OutcomeInput, session_finish, session_start

    founding = Runbook.objects.get(slug=SEED_SLUG)
    cause = founding.causes.get(rank=3)
    session = session_start(runbook=founding, user=engineer)
    session_finish(
        session=session,
        user=engineer,
        token=uuid.uuid4(),
        outcome=OutcomeInput(resolution="resolved", cause_id=cause.pk),
    )
    html = body(engineer_client.get(f"/runbooks/{SEED_SLUG}/").content.decode())
    assert "based on 1 session" in html
    learned = html[html.index(f'<li id="cause-{cause.key}">') :]
    learned = learned[: learned.index("</li>")]
    assert 'class="learned"' in learned and "confirmed 1×" in learned


@pytest.mark.django_db
def test_runbook_exports_keep_the_authors_order(engineer_client):
    save()
    runbook = Runbook.objects.with_parts().get(slug=SLUG)
    assert runbook.section_order == AUTHORS_ORDER
    assert runbook_to_parsed(runbook).section_order == AUTHORS_ORDER
    data = json.loads(engineer_client.get(f"/runbooks/{SLUG}.json").content)
    assert data["sections"] == ["symptom", "Impact", "checks", "fix_patterns"]
    assert data["extra_sections"][0]["title"] == "Impact"


@pytest.mark.django_db
def test_imported_generic_runbook_page_follows_the_file(engineer_client, tmp_path):
    path = tmp_path / "queues" / "orders-consumer-lagging.md"
    path.parent.mkdir()
    path.write_text(GENERIC, encoding="utf-8")
    call_command("import_runbooks", str(tmp_path), stdout=io.StringIO())
    assert Runbook.objects.get(slug=SLUG).section_order == AUTHORS_ORDER
    html = body(engineer_client.get(URL).content.decode())
    assert_in_order(html, MEANING, IMPACT, DIAGNOSIS, MITIGATION)


@pytest.mark.django_db
def test_runbook_page_shows_a_sections_lead_in_before_its_items(engineer_client, tmp_path):
    (tmp_path / "queues").mkdir()
    (tmp_path / "queues" / "backlog.md").write_text(
        "# Queue backlog\n\n## Diagnosis\n\nCheck the following:\n\n"
        "- Consumer lag in Grafana\n- Dead-letter queue size\n\n"
        "## Mitigation\n\n```shell\n$ kubectl rollout restart deploy/consumer\n```\n",
        encoding="utf-8",
    )
    call_command("import_runbooks", str(tmp_path), stdout=io.StringIO())
    html = body(engineer_client.get("/runbooks/queues/backlog/").content.decode())
    assert_in_order(html, "Check the following:", "Consumer lag in Grafana", "Dead-letter queue")
    # A section that is only code still shows it: nothing the author wrote is hidden.
    assert "kubectl rollout restart deploy/consumer" in html
    parsed = runbook_to_parsed(Runbook.objects.get(slug="queues/backlog"))
    assert parsed.section_intros["checks"] == "Check the following:"
