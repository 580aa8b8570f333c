from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import ApiToken, Area, Profile


@admin.register(Area)
class AreaAdmin(SimpleHistoryAdmin):
    list_display = ("code", "name", "name_en", "level", "parent", "urban", "time_zone")
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


from .models import Notification, NotificationAttempt  # noqa: E402


class NotificationAttemptInline(admin.TabularInline):
    model = NotificationAttempt
    extra = 0
    can_delete = False
    readonly_fields = ("channel", "at", "ok", "error", "duration_ms")


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """The outbox: what was queued, for whom, and every delivery attempt."""

    list_display = ("created_at", "kind", "subject", "status", "attempts", "next_attempt_at")
    list_filter = ("status", "kind")
    search_fields = ("subject", "dedupe_key")
    readonly_fields = [f.name for f in Notification._meta.fields]
    inlines = [NotificationAttemptInline]
