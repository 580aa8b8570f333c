"""Admin: frozen visits are read-only and cannot be deleted (the model and queryset refuse too)."""
from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Certificate, LocalItem, Visit


@admin.register(Visit)
class VisitAdmin(SimpleHistoryAdmin):
    list_display = ("id", "elevator", "tier", "planned_date", "state", "frozen")
    list_filter = ("state", "tier", "frozen")
    raw_id_fields = ("elevator", "maintenance_unit", "worker1", "worker2", "checked_in_by", "checked_out_by",
                     "countersigned_by", "corrects")
    actions = None  # no bulk delete

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.frozen:
            return [f.name for f in obj._meta.fields]
        return ("frozen", "content_hash", "prev_hash", "chain_seq", "countersigned_by", "countersigned_at")

    def has_delete_permission(self, request, obj=None):
        return (obj is None or not obj.frozen) and super().has_delete_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return (obj is None or not obj.frozen) and super().has_change_permission(request, obj)


@admin.register(Certificate)
class CertificateAdmin(SimpleHistoryAdmin):
    list_display = ("number", "user", "valid_from", "valid_until")
    raw_id_fields = ("user",)


@admin.register(LocalItem)
class LocalItemAdmin(SimpleHistoryAdmin):
    list_display = ("code", "annex", "tier", "location", "text", "active")
