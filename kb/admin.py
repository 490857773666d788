from django.contrib import admin

from kb import models


class CauseInline(admin.TabularInline):
    model = models.Cause
    fields = ["rank", "key", "title", "detail", "retired"]
    extra = 0


class CheckInline(admin.TabularInline):
    model = models.Check
    fields = ["position", "key", "title", "detail", "minutes", "minutes_authored", "retired"]
    extra = 0


class PatternInline(admin.TabularInline):
    model = models.Pattern
    fields = ["position", "key", "observation", "diagnosis", "retired"]
    extra = 0


class FixPatternInline(admin.TabularInline):
    model = models.FixPattern
    fields = ["position", "key", "text", "retired"]
    extra = 0


class DrillPathInline(admin.TabularInline):
    fk_name = "runbook"
    model = models.DrillPath
    fields = ["position", "suspect", "target_slug", "target"]
    raw_id_fields = ["target"]
    extra = 0


class PivotInline(admin.TabularInline):
    fk_name = "runbook"
    model = models.Pivot
    fields = ["position", "target_slug", "note", "target"]
    raw_id_fields = ["target"]
    extra = 0


class ConnectionInline(admin.TabularInline):
    fk_name = "runbook"
    model = models.Connection
    fields = ["position", "target_slug", "target"]
    raw_id_fields = ["target"]
    extra = 0


class RunbookItemInline(admin.TabularInline):
    model = models.RunbookItem
    fields = ["kind", "position", "text"]
    extra = 0


class ExtraSectionInline(admin.StackedInline):
    model = models.ExtraSection
    fields = ["position", "title", "body"]
    extra = 0


@admin.register(models.Runbook)
class RunbookAdmin(admin.ModelAdmin):
    list_display = ["slug", "title", "category", "revision", "updated_at"]
    list_filter = ["category"]
    search_fields = ["slug", "title", "symptom"]
    readonly_fields = ["source_path", "source_hash", "revision", "created_at", "updated_at"]
    inlines = [
        PatternInline,
        CauseInline,
        CheckInline,
        DrillPathInline,
        FixPatternInline,
        PivotInline,
        ConnectionInline,
        RunbookItemInline,
        ExtraSectionInline,
    ]


@admin.register(models.RunbookRevision)
class RunbookRevisionAdmin(admin.ModelAdmin):
    list_display = ["runbook", "number", "author", "created_at", "note"]
    list_select_related = ["runbook", "author"]
    search_fields = ["runbook__slug", "note"]
    readonly_fields = ["runbook", "number", "markdown", "source_hash", "author", "created_at"]


class LinkAdmin(admin.ModelAdmin):
    list_display = ["__str__", "cause", "status"]
    list_filter = ["status"]
    raw_id_fields = ["cause"]


@admin.register(models.PatternCause)
class PatternCauseAdmin(LinkAdmin):
    raw_id_fields = ["cause", "pattern"]


@admin.register(models.CheckCause)
class CheckCauseAdmin(LinkAdmin):
    raw_id_fields = ["cause", "check_item"]


@admin.register(models.FixCause)
class FixCauseAdmin(LinkAdmin):
    raw_id_fields = ["cause", "fix"]


class RunbookPartAdmin(admin.ModelAdmin):
    list_select_related = ["runbook"]
    search_fields = ["runbook__slug"]
    raw_id_fields = ["runbook"]


for part in (
    models.Cause,
    models.Check,
    models.Pattern,
    models.FixPattern,
    models.DrillPath,
    models.Pivot,
    models.Connection,
    models.RunbookItem,
    models.ExtraSection,
):
    admin.site.register(part, RunbookPartAdmin)


@admin.register(models.SearchSynonym)
class SearchSynonymAdmin(admin.ModelAdmin):
    """Synonym groups apply to every search as soon as they are saved."""

    list_display = ["terms", "enabled"]
    list_editable = ["enabled"]
    search_fields = ["terms"]


@admin.register(models.RunbookAlert)
class RunbookAlertAdmin(admin.ModelAdmin):
    """Read-only: alert names come from front matter, alert mappings and alert sessions."""

    list_display = ["name", "runbook", "source"]
    list_filter = ["source"]
    search_fields = ["name", "runbook__slug"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
