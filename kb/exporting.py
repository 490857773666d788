"""A stored runbook → its Markdown source form or its JSON shape (DESIGN.md §4).

Reads only prefetched relations, so export a queryset from ``Runbook.objects.with_parts()``.
"""

from __future__ import annotations

from typing import Any

from kb.markdown_io import (
    ParsedCause,
    ParsedCheck,
    ParsedFix,
    ParsedLink,
    ParsedPattern,
    ParsedRunbook,
    ParsedSection,
    render_runbook,
)
from kb.models import EXTRA_PREFIX, ItemKind, LinkStatus, Runbook
from kb.services import default_category


def _linked(item) -> tuple[list[str], bool]:
    links = sorted(
        (link for link in item.cause_links.all() if not link.cause.retired),
        key=lambda link: link.cause.rank,
    )
    confirmed = any(link.status == LinkStatus.CONFIRMED for link in links)
    return [link.cause.key for link in links], confirmed


def runbook_to_parsed(runbook: Runbook) -> ParsedRunbook:
    parsed = ParsedRunbook(
        title=runbook.title,
        summary=runbook.summary,
        symptom=runbook.symptom,
        slug=runbook.slug,
        category=None if runbook.category == default_category(runbook.slug) else runbook.category,
        tags=list(runbook.tags),
        front_matter=dict(runbook.front_matter),
        not_the_issue_condition=runbook.not_the_issue_condition,
    )
    parsed.causes = [
        ParsedCause(c.key, c.title, c.detail) for c in runbook.causes.all() if not c.retired
    ]
    for p in runbook.patterns.all():
        if not p.retired:
            causes, confirmed = _linked(p)
            parsed.patterns.append(
                ParsedPattern(p.key, p.observation, p.diagnosis, causes, confirmed)
            )
    for c in runbook.checks.all():
        if not c.retired:
            causes, confirmed = _linked(c)
            minutes = c.minutes if c.minutes_authored else None
            parsed.checks.append(ParsedCheck(c.key, c.title, c.detail, minutes, causes, confirmed))
    for f in runbook.fix_patterns.all():
        if not f.retired:
            causes, confirmed = _linked(f)
            parsed.fix_patterns.append(ParsedFix(f.key, f.text, causes, confirmed))
    parsed.drill_paths = [ParsedLink(d.target_slug, d.suspect) for d in runbook.drill_paths.all()]
    parsed.pivots = [ParsedLink(p.target_slug, p.note) for p in runbook.pivots.all()]
    parsed.connections = [ParsedLink(c.target_slug) for c in runbook.connections.all()]
    items = sorted(runbook.items.all(), key=lambda i: (i.kind, i.position))
    parsed.signal_examples = [i.text for i in items if i.kind == ItemKind.SIGNAL_EXAMPLE]
    parsed.not_the_issue_items = [i.text for i in items if i.kind == ItemKind.NOT_THE_ISSUE]
    parsed.open_questions = [i.text for i in items if i.kind == ItemKind.OPEN_QUESTION]
    parsed.related_reading = [i.text for i in items if i.kind == ItemKind.RELATED_READING]
    parsed.extra_sections = [ParsedSection(s.title, s.body) for s in runbook.extra_sections.all()]
    # The order the page shows (every section the runbook has, the author's order first),
    # so the Markdown writer keeps it and a re-import stores the same order.
    parsed.section_order = runbook.section_keys()
    intros = runbook.section_intros
    parsed.section_intros = {
        str(k): v for k, v in (intros.items() if isinstance(intros, dict) else ()) if v
    }
    return parsed


def runbook_to_markdown(runbook: Runbook) -> str:
    return render_runbook(runbook_to_parsed(runbook))


def runbook_to_dict(runbook: Runbook, learned=None) -> dict[str, Any]:
    """The JSON shape of DESIGN.md §4; ``learned`` (kb.learned) fills the ranking block."""
    parsed = runbook_to_parsed(runbook)
    minutes = {c.key: c.minutes for c in runbook.checks.all()}
    return {
        "slug": runbook.slug,
        "title": runbook.title,
        "summary": runbook.summary,
        "symptom": runbook.symptom,
        "revision": runbook.revision,
        "category": runbook.category,
        "tags": list(runbook.tags),
        # Every front-matter key the import kept that has no field of its own above
        # (owner, alerts, updated, nested values…), as imported. title, slug, tldr
        # (summary), tags, category and cause_links are the fields above. The Markdown
        # export writes these keys back, so the round trip keeps them.
        "metadata": dict(runbook.front_matter) if isinstance(runbook.front_matter, dict) else {},
        "patterns": [
            {
                "key": p.key,
                "observation": p.observation,
                "diagnosis": p.diagnosis,
                "causes": p.causes,
            }
            for p in parsed.patterns
        ],
        "causes": [
            {"key": c.key, "rank": rank, "title": c.title, "detail": c.detail}
            for rank, c in enumerate(parsed.causes, start=1)
        ],
        "checks": [
            {
                "key": c.key,
                "position": position,
                "title": c.title,
                "detail": c.detail,
                "causes": c.causes,
                "minutes": minutes[c.key],
            }
            for position, c in enumerate(parsed.checks, start=1)
        ],
        "signal_examples": parsed.signal_examples,
        "drill_paths": [
            {"suspect": d.suspect, "target": d.target_slug, "exists": d.exists}
            for d in runbook.drill_paths.all()
        ],
        "fix_patterns": [f.text for f in parsed.fix_patterns],
        "not_the_issue": {
            "condition": runbook.not_the_issue_condition,
            "items": parsed.not_the_issue_items,
            "pivots": [p.target_slug for p in runbook.pivots.all()],
            "pivot_notes": [
                {"target": p.target_slug, "note": p.note, "exists": p.exists}
                for p in runbook.pivots.all()
            ],
        },
        "connections": [
            {"target": c.target_slug, "exists": c.exists} for c in runbook.connections.all()
        ],
        "open_questions": parsed.open_questions,
        "related_reading": parsed.related_reading,
        "extra_sections": [{"title": s.title, "body": s.body} for s in parsed.extra_sections],
        # The page's order: canonical kinds ("symptom", "causes", …) and extra sections by
        # title, as in "extra_sections".
        "sections": [_section_name(name, parsed) for name in parsed.section_order],
        "ranking": _ranking_block(learned),
    }


def _section_name(name: str, parsed: ParsedRunbook) -> str:
    if name.startswith(EXTRA_PREFIX):
        return parsed.extra_sections[int(name.removeprefix(EXTRA_PREFIX))].title
    return name


def _ranking_block(learned) -> dict[str, Any] | None:
    if learned is None:
        return None
    overall = learned.overall
    return {
        "sessions": overall.sessions,
        "unlisted_probability": round(overall.unlisted_probability, 6),
        "causes": [
            {
                "key": c.key,
                "probability": round(c.probability, 6),
                "sessions": c.confirmations,
                "authored_rank": c.authored_rank,
            }
            for c in overall.causes
        ],
        "checks": [
            {"key": c.key, "minutes": round(c.minutes, 3), "efficiency": round(c.efficiency, 6)}
            for c in overall.checks
        ],
    }
