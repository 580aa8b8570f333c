"""API tokens get an expiry (issue 18 item 11 / issue 16): existing tokens keep working for the default
validity from now (``rules.api_token_default_days``) instead of failing at once; they already store only
a SHA-256 digest, so no secret has to be re-hashed."""
import datetime as dt

from django.db import migrations, models
from django.utils import timezone


def set_expiry(apps, schema_editor):
    from liftsafe.rules import rule

    ApiToken = apps.get_model("core", "ApiToken")
    until = timezone.now() + dt.timedelta(days=int(rule("api_token_default_days")))
    ApiToken.objects.filter(expires_at__isnull=True).update(expires_at=until)


class Migration(migrations.Migration):
    dependencies = [("core", "0003_notification_notificationattempt_and_more")]

    operations = [
        migrations.AddField("apitoken", "expires_at", models.DateTimeField(null=True, verbose_name="expires at")),
        migrations.RunPython(set_expiry, migrations.RunPython.noop),
        migrations.AlterField("apitoken", "expires_at", models.DateTimeField(verbose_name="expires at")),
        migrations.AddField("apitoken", "prefix", models.CharField(blank=True, editable=False, max_length=12,
                                                                   verbose_name="token begins with")),
        migrations.AddField("apitoken", "revoked_at", models.DateTimeField(blank=True, null=True, verbose_name="revoked at")),
        migrations.AlterField("apitoken", "created_at", models.DateTimeField(auto_now_add=True, verbose_name="created at")),
        migrations.AlterField("apitoken", "last_used_at", models.DateTimeField(blank=True, null=True, verbose_name="last used at")),
        migrations.AlterField("apitoken", "revoked", models.BooleanField(default=False, verbose_name="revoked")),
    ]
