from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate, post_save


def _index_unindexed_incidents(sender, **kwargs) -> None:
    # Sessions finished, alerts mapped and alerts seen before search documents existed
    # become searchable once, right after the migration that created the index (later
    # runs find nothing to do).
    from triage.alerts import mapping_alert_names_sync, seen_alert_names_sync
    from triage.search import index_unindexed_incidents

    index_unindexed_incidents()
    mapping_alert_names_sync()
    seen_alert_names_sync()


class TriageConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "triage"
    verbose_name = "Triage"

    def ready(self) -> None:
        post_migrate.connect(_index_unindexed_incidents, sender=self)
        from triage.alerts import mapping_alert_names_sync
        from triage.models import AlertRunbookMapping

        # Mappings are edited in the admin: its saves and deletes (bulk ones included, which
        # Django deletes one by one when signals are connected) keep search's alert names.
        for signal in (post_save, post_delete):
            signal.connect(
                mapping_alert_names_sync,
                sender=AlertRunbookMapping,
                dispatch_uid=f"search-alert-names-{id(signal)}",
            )
