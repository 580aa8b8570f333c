"""Install the shipped example sheets (docs/domain §15.4); an existing sheet of the same code is left as it is."""
from django.db import migrations


def install(apps, schema_editor):
    from liftsafe.rating.sheets import SHIPPED_SHEETS

    Sheet = apps.get_model("rating", "Sheet")
    for code, cfg in SHIPPED_SHEETS.items():
        Sheet.objects.get_or_create(code=code, defaults={"name": cfg["name"], "config": cfg, "shipped": True})


class Migration(migrations.Migration):
    dependencies = [("rating", "0001_initial")]
    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
