"""What triage adds to kb pages, through callables named in settings.

Rankings are learned from triage sessions and leads' panels are built from them, but kb
never imports triage (DESIGN.md §2). The project wires:

- ``FIELDGUIDE_RANKING_PROVIDER`` ("triage.learning.runbook_ranking"): Runbook (from
  ``with_parts()``) → an object with ``overall`` (``causes``, ``by_key``, ``sessions``,
  ``checks``) and ``pattern_orders`` (pattern key → cause keys, most probable first).
- ``FIELDGUIDE_RUNBOOK_PANEL`` ("triage.insights.runbook_panel"): Runbook → an object with
  a ``template`` to include, shown to leads on the runbook page.

Unset, kb falls back to authored order and no panel.
"""

from django.conf import settings
from django.utils.module_loading import import_string

from kb.models import Runbook


def _call(setting: str, runbook: Runbook):
    path = getattr(settings, setting, "")
    return import_string(path)(runbook) if path else None


def learned_ranking(runbook: Runbook):
    return _call("FIELDGUIDE_RANKING_PROVIDER", runbook)


def lead_panel(runbook: Runbook):
    return _call("FIELDGUIDE_RUNBOOK_PANEL", runbook)
