from django.contrib import admin

from triage.models import AlertRunbookMapping, SessionAlert, UnmappedAlert


@admin.register(AlertRunbookMapping)
class AlertRunbookMappingAdmin(admin.ModelAdmin):
    """Label matchers → runbook, for alerts without a usable ``runbook_url`` (issue 7)."""

    list_display = ["priority", "matchers", "runbook", "note"]
    list_display_links = ["matchers"]
    list_editable = ["priority"]
    list_select_related = ["runbook"]
    search_fields = ["matchers", "runbook__slug", "note"]
    autocomplete_fields = ["runbook"]


@admin.register(UnmappedAlert)
class UnmappedAlertAdmin(admin.ModelAdmin):
    list_display = ["alertname", "status", "count", "receiver", "first_seen", "last_seen"]
    list_filter = ["status", "receiver"]
    search_fields = ["alertname", "fingerprint"]
    readonly_fields = [f.name for f in UnmappedAlert._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(SessionAlert)
class SessionAlertAdmin(admin.ModelAdmin):
    list_display = ["alertname", "session", "status", "starts_at", "resolved_at", "notifications"]
    list_filter = ["status", "receiver"]
    list_select_related = ["session__runbook"]
    search_fields = ["alertname", "fingerprint"]
    readonly_fields = [f.name for f in SessionAlert._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
