"""Read-side queries for pages."""

from itertools import groupby

from kb.models import Runbook


def runbooks_by_category() -> list[tuple[str, list[Runbook]]]:
    runbooks = Runbook.objects.only("slug", "title", "summary", "category").order_by(
        "category", "title"
    )
    return [(category, list(group)) for category, group in groupby(runbooks, lambda r: r.category)]
