"""Learned rankings, read through a provider named in settings.

The ranking is learned from triage sessions, and kb never imports triage (DESIGN.md §2), so
the project wires ``FIELDGUIDE_RANKING_PROVIDER`` ("triage.learning.runbook_ranking"): a
callable taking a Runbook (from ``with_parts()``) and returning an object with
``overall`` (a ranking with ``causes``, ``by_key``, ``sessions``, ``checks``) and
``pattern_orders`` (pattern key → cause keys, most probable first). Unset: authored order.
"""

from django.conf import settings
from django.utils.module_loading import import_string

from kb.models import Runbook


def learned_ranking(runbook: Runbook):
    path = getattr(settings, "FIELDGUIDE_RANKING_PROVIDER", "")
    return import_string(path)(runbook) if path else None
