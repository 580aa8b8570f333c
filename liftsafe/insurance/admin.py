from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Claim, Policy


@admin.register(Policy)
class PolicyAdmin(SimpleHistoryAdmin):
    list_display = ("policy_no", "insurer", "insured_party", "start_date", "end_date")
    search_fields = ("policy_no",)
    raw_id_fields = ("elevators", "insurer", "insured_party")


@admin.register(Claim)
class ClaimAdmin(SimpleHistoryAdmin):
    list_display = ("id", "policy", "elevator", "state", "trapped_s", "band", "suggested_total")
    list_filter = ("state",)
    raw_id_fields = ("policy", "elevator", "case")

    # a claim changes only through its workflow (insurance.services.claim_transition): read-only here
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
