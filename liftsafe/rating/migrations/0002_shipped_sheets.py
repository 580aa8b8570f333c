"""Install the shipped example sheets (docs/domain §15.4); an existing sheet of the same code is left as it is."""
from django.db import migrations


def install(apps, schema_editor):
    from liftsafe.rating.sheets import install_shipped

    install_shipped(apps.get_model("rating", "Sheet"))


class Migration(migrations.Migration):
    dependencies = [("rating", "0001_initial")]
    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
