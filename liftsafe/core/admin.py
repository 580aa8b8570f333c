from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import ApiToken, Area, Profile


@admin.register(Area)
class AreaAdmin(SimpleHistoryAdmin):
    list_display = ("code", "name", "name_en", "level", "parent", "urban")
    list_filter = ("level", "urban")
    search_fields = ("code", "name", "name_en")
    readonly_fields = ("path",)


@admin.register(Profile)
class ProfileAdmin(SimpleHistoryAdmin):
    list_display = ("user", "role", "organisation", "area")
    list_filter = ("role",)
    search_fields = ("user__username", "organisation__name")
    autocomplete_fields = ("organisation", "area")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "created_at", "last_used_at", "revoked")
    readonly_fields = ("digest", "created_at", "last_used_at")
