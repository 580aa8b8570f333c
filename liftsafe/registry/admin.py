from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from .models import Building, Elevator, ImportRun, LifecycleEvent, MaintenanceContract, Organisation


class ContractInline(admin.TabularInline):
    model = MaintenanceContract
    extra = 0
    autocomplete_fields = ("maintenance_unit",)


@admin.register(Organisation)
class OrganisationAdmin(SimpleHistoryAdmin):
    list_display = ("name", "kind", "licence_no", "grade", "area", "generated")
    list_filter = ("kind", "grade", "generated")
    search_fields = ("name", "credit_code", "licence_no")
    autocomplete_fields = ("area",)


@admin.register(Elevator)
class ElevatorAdmin(SimpleHistoryAdmin):
    list_display = ("source_id", "registration_code", "rescue_code", "category", "status", "area", "address")
    list_filter = ("status", "category", "source", "crowded_place", "urban")
    search_fields = ("source_id", "registration_code", "equipment_code", "use_certificate_no", "rescue_code", "address")
    autocomplete_fields = ("area", "building", "use_unit", "manufacturer", "inspection_agency", "insurer")
    inlines = [ContractInline]
    list_select_related = ("area",)
    show_full_result_count = False


@admin.register(MaintenanceContract)
class MaintenanceContractAdmin(SimpleHistoryAdmin):
    list_display = ("elevator", "maintenance_unit", "start_date", "end_date", "generated")
    list_filter = ("generated",)
    search_fields = ("elevator__source_id", "maintenance_unit__name", "contract_no")
    autocomplete_fields = ("elevator", "maintenance_unit")
    show_full_result_count = False


@admin.register(LifecycleEvent)
class LifecycleEventAdmin(SimpleHistoryAdmin):
    list_display = ("elevator", "kind", "occurred_on", "source")
    list_filter = ("kind",)
    autocomplete_fields = ("elevator",)
    show_full_result_count = False


@admin.register(Building)
class BuildingAdmin(admin.ModelAdmin):
    list_display = ("source_key", "name", "address", "area")
    search_fields = ("source_key", "name", "address")


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    list_display = ("mapping", "file_name", "started_at", "status_shown", "rows_total", "rows_created", "rows_updated", "rows_unchanged", "rows_rejected", "dry_run")
    list_filter = ("mapping", "status", "dry_run")
    readonly_fields = [f.name for f in ImportRun._meta.fields]

    @admin.display(description=_("status"), ordering="status")
    def status_shown(self, obj):
        return obj.status_text  # "Failed: interrupted (…)" for a killed import
