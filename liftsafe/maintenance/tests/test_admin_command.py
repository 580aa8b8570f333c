"""Frozen records through the admin; the verify command on an intact and a tampered chain."""
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client

from liftsafe.maintenance import services
from liftsafe.maintenance.models import Visit

from .test_services import complete


def test_admin_cannot_change_or_delete_a_frozen_visit(mw):
    v = services.visit_countersign(mw.users["use_unit"], complete(mw).pk)
    c = Client()
    c.force_login(mw.users["admin"])
    url = f"/admin/maintenance/visit/{v.pk}/change/"
    assert c.get(url).status_code == 200  # viewable (read-only)
    r = c.post(url, {"tier": "yearly"})
    assert r.status_code == 403
    r = c.post(f"/admin/maintenance/visit/{v.pk}/delete/", {"post": "yes"})
    assert r.status_code == 403
    assert Visit.objects.get(pk=v.pk).tier == "half_monthly"
    # an open visit is still editable in the admin
    other = Visit.objects.create(elevator=v.elevator, maintenance_unit=v.maintenance_unit, tier="half_monthly")
    assert c.post(f"/admin/maintenance/visit/{other.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not Visit.objects.filter(pk=other.pk).exists()


def test_verify_command_reports_a_tampered_row(mw):
    v = services.visit_countersign(mw.users["use_unit"], complete(mw).pk)
    out = io.StringIO()
    call_command("maintenance_verify", stdout=out)
    assert "1 records verified, 0 broken" in out.getvalue()
    with connection.cursor() as c:
        if connection.vendor == "postgresql":
            c.execute("SET LOCAL session_replication_role = replica")
        c.execute("UPDATE maintenance_visit SET results = %s WHERE id = %s", ['{"A-1-29": {"r": "normal", "value": 12}}', v.pk])
        if connection.vendor == "postgresql":
            c.execute("SET LOCAL session_replication_role = origin")
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("maintenance_verify", "--elevator", str(v.elevator_id), stdout=out)
    assert f"BROKEN elevator {v.elevator_id}: link 1 (visit {v.pk})" in out.getvalue()
