from django.contrib import admin
from django.utils.translation import gettext_lazy as _
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
    """Read-only: tokens are issued by their user (account page) or by an operator (``liftsafe token create``),
    which shows the secret once; the admin can only look and revoke."""

    list_display = ("name", "user", "prefix", "created_at", "expires_at", "last_used_at", "revoked")
    list_filter = ("revoked",)
    search_fields = ("name", "user__username", "prefix")
    readonly_fields = ("user", "name", "prefix", "created_at", "expires_at", "last_used_at", "revoked", "revoked_at")
    exclude = ("digest",)
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_revoke_permission(self, request):
        return request.user.has_perm("core.change_apitoken")

    @admin.action(description=_("Revoke selected tokens"), permissions=["revoke"])
    def revoke(self, request, queryset):
        from .auth import token_revoke_by_operator

        for pk in queryset.values_list("pk", flat=True):
            token_revoke_by_operator(pk)
        self.message_user(request, _("%(n)d token(s) revoked.") % {"n": len(queryset)})


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
