from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Report


@admin.register(Report)
class ReportAdmin(SimpleHistoryAdmin):
    list_display = ("period_label", "area", "language", "status", "scheduled", "generated_at", "published_at")
    list_filter = ("status", "period_kind", "language", "scheduled")
    search_fields = ("period_label", "area__code", "area__name")
    readonly_fields = ("data", "generated_at", "generated_by", "published_at", "published_by")
