"""Admin: inspection records are append-only (view and add through the service only), validity is derived (view only)."""
from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Finding, InspectionRecord, Validity


class ReadOnlyAdmin(SimpleHistoryAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(InspectionRecord)
class InspectionRecordAdmin(ReadOnlyAdmin):
    list_display = ("elevator", "kind", "inspected_on", "conclusion", "agency", "source")
    list_filter = ("kind", "conclusion", "source")
    search_fields = ("elevator__source_id", "report_no", "source_ref")
    raw_id_fields = ("elevator", "agency", "reinspection_of")
    show_full_result_count = False


@admin.register(Finding)
class FindingAdmin(ReadOnlyAdmin):
    list_display = ("record", "clause", "finding_class", "deadline", "state")
    list_filter = ("state", "finding_class")
    raw_id_fields = ("record",)


@admin.register(Validity)
class ValidityAdmin(ReadOnlyAdmin):
    list_display = ("elevator", "policy", "state", "next_due", "valid_until", "last_conclusion", "base_estimated")
    list_filter = ("state", "policy", "base_estimated")
    raw_id_fields = ("elevator",)
    show_full_result_count = False
