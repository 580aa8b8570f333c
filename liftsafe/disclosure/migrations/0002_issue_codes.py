"""Issue a public code to every existing lift (the periodic job ``issue_public_codes`` and the label and panel
paths cover lifts added later). Random codes over the alphabet of ``disclosure.domain`` (copied here: a
migration must not change when the app's code does)."""
import secrets

from django.db import IntegrityError, migrations, transaction

ALPHABET = "234679ACDEFGHJKMNPQRTUVWXYZ"


def issue(apps, schema_editor):
    Elevator = apps.get_model("registry", "Elevator")
    PublicCode = apps.get_model("disclosure", "PublicCode")
    last = 0
    while True:
        ids = list(Elevator.objects.filter(pk__gt=last, public_code__isnull=True).order_by("pk").values_list("pk", flat=True)[:2000])
        if not ids:
            return
        for _attempt in range(5):
            try:
                with transaction.atomic():
                    PublicCode.objects.bulk_create([PublicCode(elevator_id=i, code="".join(secrets.choice(ALPHABET) for _ in range(9)))
                                                    for i in ids])
                break
            except IntegrityError:
                continue
        last = ids[-1]


class Migration(migrations.Migration):
    dependencies = [("disclosure", "0001_initial"), ("registry", "0006_merge_20261208_0416")]
    operations = [migrations.RunPython(issue, migrations.RunPython.noop)]
