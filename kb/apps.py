from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _index_unindexed_runbooks(sender, using: str = "default", **kwargs) -> None:
    # Runbooks stored before search documents existed are indexed once, right after the
    # migration that created the index (with today's code, not a migration's frozen models).
    from kb.models import Runbook, SearchDocument
    from kb.services import search_index_rebuild

    indexed = SearchDocument.objects.using(using).filter(kind=SearchDocument.Kind.RUNBOOK)
    if Runbook.objects.using(using).exclude(pk__in=indexed.values("ref")).exists():
        search_index_rebuild(only_missing=True)


class KbConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "kb"
    verbose_name = "Knowledge base"

    def ready(self) -> None:
        post_migrate.connect(_index_unindexed_runbooks, sender=self)
