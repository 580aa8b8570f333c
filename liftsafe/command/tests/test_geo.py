"""Datum conversions (docs/map.md): known offsets, round trips, no offset outside China."""
import pytest

from liftsafe.command import geo


def test_gcj02_offset_in_beijing_matches_the_published_transform():
    # Tiananmen (WGS-84 39.9087, 116.3975): the published transform moves it about +0.0014 lat, +0.0062 lon
    lat, lon = geo.wgs84_to_gcj02(39.9087, 116.3975)
    assert lat - 39.9087 == pytest.approx(0.00140, abs=0.0002)
    assert lon - 116.3975 == pytest.approx(0.00624, abs=0.0002)


def test_round_trips_are_below_a_centimetre():
    for lat, lon in ((32.04, 118.79), (22.54, 114.06), (45.75, 126.65), (30.66, 104.06)):
        assert geo.gcj02_to_wgs84(*geo.wgs84_to_gcj02(lat, lon)) == pytest.approx((lat, lon), abs=1e-7)
        assert geo.to_wgs84(*geo.from_wgs84(lat, lon, "bd09"), "bd09") == pytest.approx((lat, lon), abs=2e-6)
        assert geo.bd09_to_gcj02(*geo.gcj02_to_bd09(lat, lon)) == pytest.approx((lat, lon), abs=2e-6)


def test_offset_is_hundreds_of_metres_and_none_outside_china():
    from liftsafe.maintenance.domain import distance_m

    lat, lon = geo.wgs84_to_gcj02(32.04, 118.79)
    assert 100 < distance_m(32.04, 118.79, lat, lon) < 800
    bd = geo.from_wgs84(32.04, 118.79, "bd09")
    assert distance_m(lat, lon, *bd) > 500  # BD-09 shifts GCJ-02 again (about 0.006° lat, 0.0065° lon)
    assert geo.wgs84_to_gcj02(40.7128, -74.0060) == (40.7128, -74.0060)  # New York: unchanged
    assert geo.from_wgs84(40.7128, -74.0060, "wgs84") == (40.7128, -74.0060)


def test_unknown_datum_is_refused():
    with pytest.raises(ValueError, match="unknown map datum"):
        geo.from_wgs84(32.0, 118.0, "epsg3857")
