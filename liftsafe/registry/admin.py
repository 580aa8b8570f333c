"""Registry admin. Elevators and maintenance contracts save through :mod:`liftsafe.registry.services`
(so status holds, contract overlap and audit attribution apply exactly as on the pages and the API);
contracts are shown read-only under their elevator and edited on their own admin page."""
from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from liftsafe.core.messages import encode

from . import services
from .models import Building, Elevator, ImportRun, LifecycleEvent, MaintenanceContract, Organisation


class ContractInline(admin.TabularInline):
    """Read-only: a contract is added or changed on the maintenance-contract admin (through the services)."""

    model = MaintenanceContract
    extra = 0
    can_delete = False
    fields = readonly_fields = ("maintenance_unit", "contract_no", "start_date", "end_date", "generated")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ServiceSavingAdmin(SimpleHistoryAdmin):
    """Saves through the registry services; the form's model validation runs first (field errors show on the form)."""

    def _changes(self, form) -> dict:
        return {name: form.cleaned_data[name] for name in form.changed_data if name in form.cleaned_data}

    def save_model(self, request, obj, form, change):
        saved = self.service_save(request.user, obj, form, change)
        obj.pk, obj._state.adding, obj._state.db = saved.pk, False, saved._state.db

    def service_save(self, user, obj, form, change):  # pragma: no cover - overridden
        raise NotImplementedError


@admin.register(Organisation)
class OrganisationAdmin(SimpleHistoryAdmin):
    list_display = ("name", "kind", "licence_no", "grade", "area", "generated")
    list_filter = ("kind", "grade", "generated")
    search_fields = ("name", "credit_code", "licence_no")
    autocomplete_fields = ("area",)


@admin.register(Elevator)
class ElevatorAdmin(ServiceSavingAdmin):
    list_display = ("source_id", "registration_code", "rescue_code", "category", "status", "area", "address")
    list_filter = ("status", "category", "source", "crowded_place", "urban")
    search_fields = ("source_id", "registration_code", "equipment_code", "use_certificate_no", "rescue_code", "address")
    autocomplete_fields = ("area", "building", "use_unit", "manufacturer", "inspection_agency", "insurer")
    inlines = [ContractInline]
    list_select_related = ("area",)
    show_full_result_count = False
    # derived from the inspection records (liftsafe.inspection.services.validity_recompute)
    readonly_fields = ("last_inspection_date", "last_inspection_conclusion", "last_inspection_disposition", "next_inspection_due")

    def service_save(self, user, obj, form, change):
        if not change:
            return services.elevator_create(user, _reason="admin", **form.cleaned_data)
        return services.elevator_update(user, obj, self._changes(form), reason=encode("core.via_admin"))


class ContractAdminForm(forms.ModelForm):
    """A new contract supersedes an open-ended earlier one (closed the day before, as ``contract_create`` does);
    any other overlap is a form error from :meth:`MaintenanceContract.clean`."""

    class Meta:
        model = MaintenanceContract
        fields = "__all__"

    def _post_clean(self):
        if self.instance._state.adding:
            self.instance._supersede_open = True
        super()._post_clean()


@admin.register(MaintenanceContract)
class MaintenanceContractAdmin(ServiceSavingAdmin):
    form = ContractAdminForm
    list_display = ("elevator", "maintenance_unit", "start_date", "end_date", "generated")
    list_filter = ("generated",)
    search_fields = ("elevator__source_id", "maintenance_unit__name", "contract_no")
    autocomplete_fields = ("elevator", "maintenance_unit")
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        """A recorded contract keeps its elevator (its period may be corrected)."""
        fields = tuple(super().get_readonly_fields(request, obj))
        return fields + ("elevator",) if obj is not None else fields

    def service_save(self, user, obj, form, change):
        if not change:
            d = form.cleaned_data
            return services.contract_create(user, elevator=d["elevator"], maintenance_unit=d["maintenance_unit"],
                                            start_date=d["start_date"], end_date=d.get("end_date"),
                                            contract_no=d.get("contract_no", ""), generated=d.get("generated", False))
        return services.contract_update(user, obj, self._changes(form), reason=encode("core.via_admin"))


@admin.register(LifecycleEvent)
class LifecycleEventAdmin(SimpleHistoryAdmin):
    list_display = ("elevator", "kind", "occurred_on", "source", "note_shown")
    readonly_fields = ("note_kind", "note_params")  # a platform note: written by the platform, shown translated
    list_filter = ("kind",)
    autocomplete_fields = ("elevator",)
    show_full_result_count = False

    @admin.display(description=_("note"))
    def note_shown(self, obj):
        return obj.note_display


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
