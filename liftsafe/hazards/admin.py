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


@admin.register(StopUseOrder)
class StopUseOrderAdmin(SimpleHistoryAdmin):
    """Read-only: an order is issued by ``services.stop_use_order`` and lifted only by a verified close-out
    (it holds the elevator out of service; see ``liftsafe.registry.holds``)."""

    list_display = ("elevator", "hazard", "ordered_on", "lifted_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


for m in (Evidence, Campaign, Recheck):
    admin.site.register(m, SimpleHistoryAdmin)
