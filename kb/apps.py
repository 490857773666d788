from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate, post_save


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
        from kb.models import SearchSynonym
        from kb.search import synonyms_changed

        post_migrate.connect(_index_unindexed_runbooks, sender=self)
        for signal in (post_save, post_delete):
            signal.connect(
                synonyms_changed, sender=SearchSynonym, dispatch_uid=f"synonyms-{id(signal)}"
            )
