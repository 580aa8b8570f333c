"""Admin for emergency cases (read-mostly: writes go through the services); audit history via simple_history."""
from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import EmergencyCase, Milestone


class MilestoneInline(admin.TabularInline):
    model = Milestone
    extra = 0
    can_delete = False
    readonly_fields = ("kind", "at", "recorded_at", "actor", "level", "responder", "data", "idempotency_key")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(EmergencyCase)
class EmergencyCaseAdmin(SimpleHistoryAdmin):
    list_display = ("order_number", "elevator", "case_type", "channel", "state", "level", "responder", "received_at")
    list_filter = ("state", "case_type", "channel", "level")
    search_fields = ("order_number", "source_ref", "elevator__source_id", "elevator__registration_code")
    raw_id_fields = ("elevator", "responder", "created_by")
    readonly_fields = ("area", "state", "level", "responder", "level_dispatched_at", "created_at", "updated_at")
    inlines = [MilestoneInline]

    def has_add_permission(self, request):
        """Cases are opened only through ``emergency.services.intake_alarm`` (order number, area, dispatch clock)."""
        return False

    def get_readonly_fields(self, request, obj=None):
        """A recorded case keeps its elevator (and so the area it happened in, set by ``intake_alarm``): cases
        are opened through the intake service, not re-pointed in the admin."""
        fields = tuple(super().get_readonly_fields(request, obj))
        return fields + ("elevator",) if obj is not None else fields
