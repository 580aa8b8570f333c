from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Campaign, Evidence, Hazard, Recheck, StopUseOrder


@admin.register(Hazard)
class HazardAdmin(SimpleHistoryAdmin):
    list_display = ("id", "title", "level", "state", "listed", "deadline", "area")
    list_filter = ("state", "level", "source", "listed")
    search_fields = ("title", "source_ref")
    raw_id_fields = ("elevator", "responsible_unit", "area", "filed_by", "closed_by")
    readonly_fields = ("version",)


for m in (Evidence, StopUseOrder, Campaign, Recheck):
    admin.site.register(m, SimpleHistoryAdmin)
