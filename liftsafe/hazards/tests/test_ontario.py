"""Ontario TSSA incidents (real data) → incident-report leads in jurisdiction CA-ON; idempotent."""
import pytest

from liftsafe.hazards import ontario
from liftsafe.hazards.models import Hazard
from liftsafe.registry.models import Elevator


@pytest.mark.django_db
def test_import_counts_levels_causes_and_rerun():
    res = ontario.import_ontario()
    assert res.rows == 2446 and res.leads_created == 2446 and not res.rejected
    assert res.elevators_created == 2132 == Elevator.objects.filter(source="on-tssa", jurisdiction="CA-ON").count()
    assert dict(res.levels) == {"major": 53, "significant": 917, "general": 1476}
    assert res.level_reasons["fatal"] == 6 and res.level_reasons["permanent"] == 47
    assert sum(res.classes.values()) == 2446 and res.bases["unknown"] == 236
    leads = Hazard.objects.filter(source="incident", state="lead")
    assert leads.count() == 2446 and leads.filter(area__code="CA-ON-ALL", area__parent__code="CA-ON").count() == 2446
    fatal = leads.filter(extra__tssa__level_reason="fatal")
    assert fatal.count() == 6 and set(fatal.values_list("level", flat=True)) == {"major"}
    assert leads.filter(cause_class="external", cause_item="power_cut").exists()
    busiest = Elevator.objects.get(source="on-tssa", source_id="11323")
    assert busiest.hazards.count() == 8
    again = ontario.import_ontario()
    assert again.leads_created == 0 and again.leads_existing == 2446 and again.elevators_created == 0
    assert Hazard.objects.count() == 2446 and Elevator.objects.filter(source="on-tssa").count() == 2132
    report = ontario.mapping_report(res)
    assert "| 7.6 | human |" in report and "not_mapped" in report


def test_classify_examples():
    assert ontario.classify("8.2 Utilities (power, water, telecomm, sewage)", "Elevator-power outage, passengers trapped")[:2] == ("external", "power_cut")
    assert ontario.classify("1.2 Defective or failed component including safety devices", "Elevator-door interlock failed")[:2] == ("door_system", "landing_door_lock")
    assert ontario.classify("1.2 Defective or failed component including safety devices", "Elevator-something broke")[2] == "equipment_other"
    assert ontario.classify("6.3 Improper or negligent work practices", "Elevator-mechanic")[2] == "not_mapped"
    assert ontario.classify("", "Elevator-xyz")[2] == "unknown"
