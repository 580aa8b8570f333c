"""The area where a case happened, kept on the case (reports filter cases by it without joining elevators).

Backfill: every existing case gets its elevator's current area (the best knowledge of "the area at intake" for
old rows), as set-based UPDATEs with a correlated subquery, one statement per range of ``CHUNK`` primary keys
(never one per row), on SQLite and PostgreSQL alike. The audit history rows are filled the same way. Reversible:
going back drops the column (and its index); the backfill's reverse has nothing to undo.
"""
import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Max, Min, OuterRef, Subquery

CHUNK = 50_000


def _fill(model, Elevator, pk_name: str) -> None:
    area_of_elevator = Subquery(Elevator.objects.filter(pk=OuterRef("elevator_id")).values("area_id")[:1])
    bounds = model.objects.filter(area__isnull=True).aggregate(lo=Min(pk_name), hi=Max(pk_name))
    if bounds["lo"] is None:
        return
    for start in range(bounds["lo"], bounds["hi"] + 1, CHUNK):
        model.objects.filter(area__isnull=True, **{f"{pk_name}__gte": start, f"{pk_name}__lt": start + CHUNK}).update(
            area_id=area_of_elevator)


def backfill(apps, schema_editor):
    """Set ``area`` of every case (and history row) without one to its elevator's area."""
    Elevator = apps.get_model("registry", "Elevator")
    _fill(apps.get_model("emergency", "EmergencyCase"), Elevator, "id")
    _fill(apps.get_model("emergency", "HistoricalEmergencyCase"), Elevator, "history_id")


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0003_notification_notificationattempt_and_more'),
        ('registry', '0002_category_labels_translatable'),
        ('emergency', '0003_case_time_cache'),
    ]

    operations = [
        migrations.AddField(
            model_name='emergencycase',
            name='area',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT,
                                    related_name='+', to='core.area', verbose_name='area (at intake)'),
        ),
        migrations.AddField(
            model_name='historicalemergencycase',
            name='area',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING,
                                    related_name='+', to='core.area', verbose_name='area (at intake)'),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name='emergencycase',
            index=models.Index(fields=['area', 'received_at'], name='emergency_case_area_recv_idx'),
        ),
    ]
