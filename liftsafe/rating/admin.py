from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import CreditEntry, Objection, Rating, Sheet


@admin.register(Sheet)
class SheetAdmin(SimpleHistoryAdmin):
    list_display = ("code", "name", "active", "shipped")


@admin.register(Rating)
class RatingAdmin(SimpleHistoryAdmin):
    list_display = ("unit", "sheet", "period_start", "state", "rated", "grade", "published_on")
    list_filter = ("state", "grade", "sheet")
    readonly_fields = [f.name for f in Rating._meta.fields]


@admin.register(Objection)
class ObjectionAdmin(SimpleHistoryAdmin):
    list_display = ("rating", "filed_at", "decide_by", "decision")
    readonly_fields = [f.name for f in Objection._meta.fields]


@admin.register(CreditEntry)
class CreditEntryAdmin(SimpleHistoryAdmin):
    list_display = ("unit", "kind", "rule_code", "state", "listed_on", "lifted_on")
    readonly_fields = [f.name for f in CreditEntry._meta.fields]
