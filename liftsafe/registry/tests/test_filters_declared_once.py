"""One filter declaration for the elevator list (registry/filters.py), shared by the page, its exports, the API
search and the API exports: each accepts every declared filter and gives the same rows."""
import csv
import io

import pytest

from liftsafe.registry.api import ElevatorFilter
from liftsafe.registry.filters import FILTER_KEYS

pytestmark = pytest.mark.django_db


def _csv_codes(resp) -> set[str]:
    body = b"".join(resp.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    col = rows[0].index("source_id")
    return {r[col] for r in rows[1:]}


def test_api_schema_declares_exactly_the_list_filters():
    assert set(ElevatorFilter.model_fields) == set(FILTER_KEYS)


@pytest.mark.parametrize("params", [{"use_unit_name": "use_unit b"}, {"status": "in_use", "area": "320104", "source": "test"}, {"q": "b1 Test"}])
def test_page_export_and_api_give_the_same_rows(client, world, params):
    """The page's export ignored the page's use-unit name box and exported every elevator in scope."""
    client.force_login(world.users["admin"])
    page = client.get("/registry/elevators/", params)
    assert page.status_code == 200
    page_ids = {e.source_id for e in page.context["page"].object_list}
    export_ids = _csv_codes(client.get("/registry/elevators/export.csv", {**params, "header": "keys"}))
    api_ids = {e["source_id"] for e in client.get("/api/registry/elevators", params).json()["items"]}
    api_export_ids = _csv_codes(client.get("/api/registry/elevators/export.csv", {**params, "header": "keys"}))
    assert page_ids and page_ids == export_ids == api_ids == api_export_ids
    assert len(page_ids) < len(world.elevators)


def test_bad_filter_value_is_named_on_every_path(client, world):
    client.force_login(world.users["admin"])
    page = client.get("/registry/elevators/", {"place_type": "x"})
    assert page.status_code == 200 and "place_type" in page.content.decode()
    assert client.get("/registry/elevators/export.csv", {"place_type": "x"}).status_code == 400
    assert client.get("/api/registry/elevators", {"place_type": "x"}).status_code == 422
