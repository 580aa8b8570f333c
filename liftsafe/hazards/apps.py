from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django.db.models.signals import pre_save


def _guard_elevator_status(sender, instance, raw=False, **kwargs):
    """Pre-save guard: an elevator under an active stop-use order cannot be put back in use
    (only a verified close-out lifts the order; see hazards.services.assert_status_change_allowed)."""
    if raw or instance.pk is None or instance.status != "in_use":
        return
    old = sender.objects.filter(pk=instance.pk).values_list("status", flat=True).first()
    if old == "in_use":
        return
    from .services import assert_status_change_allowed

    assert_status_change_allowed(instance, instance.status)


class HazardsConfig(AppConfig):
    name = "liftsafe.hazards"
    label = "hazards"
    verbose_name = _("Hazards and problem elevators")

    def ready(self):
        from liftsafe.registry.models import Elevator

        pre_save.connect(_guard_elevator_status, sender=Elevator, dispatch_uid="hazards_stop_use_guard")
