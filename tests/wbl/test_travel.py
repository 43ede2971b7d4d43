"""The default offline travel model: geodesic distance x 1.3 at a mode speed, plus an overhead."""

import pytest
from geopy.distance import geodesic
from hypothesis import given
from hypothesis import strategies as st

from wbl.models import Transport
from wbl.travel import (
    MODES,
    StraightLineModel,
    TravelModel,
    travel_minutes,
    travel_minutes_many,
)

UNION_STATION = (39.7527, -105.0001)
STATE_CAPITOL = (39.7393, -104.9848)


@pytest.mark.parametrize(
    ("mode", "speed_kmh", "overhead_min", "about_min"),
    [
        ("walk", 4.8, 0.0, 32.2),
        ("bike", 15.0, 0.0, 10.3),
        ("transit", 18.0, 10.0, 18.6),
        ("car", 35.0, 5.0, 9.4),
    ],
)
def test_travel_minutes_union_station_to_capitol(
    mode: str, speed_kmh: float, overhead_min: float, about_min: float
) -> None:
    km = geodesic(UNION_STATION, STATE_CAPITOL).km
    expected = km * 1.3 / speed_kmh * 60 + overhead_min

    minutes = travel_minutes(UNION_STATION, STATE_CAPITOL, mode)

    assert minutes == pytest.approx(expected, rel=1e-12)
    assert minutes == pytest.approx(about_min, abs=0.05)


def test_travel_minutes_same_place_is_the_overhead() -> None:
    assert travel_minutes(UNION_STATION, UNION_STATION, "transit") == 10.0
    assert travel_minutes(UNION_STATION, UNION_STATION, "car") == 5.0
    assert travel_minutes(UNION_STATION, UNION_STATION, "walk") == 0.0
    assert travel_minutes(UNION_STATION, UNION_STATION, "bike") == 0.0


def test_travel_minutes_unknown_mode_raises() -> None:
    with pytest.raises(ValueError, match=r"'teleport'.*walk, bike, transit, car"):
        travel_minutes(UNION_STATION, STATE_CAPITOL, "teleport")


def test_travel_minutes_accepts_transport_enum() -> None:
    assert travel_minutes(UNION_STATION, STATE_CAPITOL, Transport.BIKE) == travel_minutes(
        UNION_STATION, STATE_CAPITOL, "bike"
    )


def test_travel_minutes_modes_cover_every_transport() -> None:
    assert set(MODES) == {t.value for t in Transport}


def test_travel_minutes_is_symmetric() -> None:
    there = travel_minutes(UNION_STATION, STATE_CAPITOL, "walk")
    back = travel_minutes(STATE_CAPITOL, UNION_STATION, "walk")
    assert there == pytest.approx(back, rel=1e-12)


@given(
    near=st.floats(min_value=0.0, max_value=1.0),
    far=st.floats(min_value=0.0, max_value=1.0),
    mode=st.sampled_from(["walk", "bike", "transit", "car"]),
)
def test_travel_minutes_grows_with_distance(near: float, far: float, mode: str) -> None:
    near, far = sorted((near, far))
    origin = (39.75, -105.0)
    # Due north, so a larger latitude offset is a longer trip.
    closer = travel_minutes(origin, (39.75 + near, -105.0), mode)
    further = travel_minutes(origin, (39.75 + far, -105.0), mode)
    assert MODES[mode].overhead_min <= closer <= further


def test_travel_minutes_many_matches_single_pairs() -> None:
    lats = [39.7393, 39.7527, 40.0150]
    lons = [-104.9848, -105.0001, -105.2705]

    many = travel_minutes_many(39.7527, -105.0001, lats, lons, "transit")

    assert many == [
        travel_minutes((39.7527, -105.0001), (lat, lon), "transit")
        for lat, lon in zip(lats, lons, strict=True)
    ]
    assert many[1] == 10.0


def test_travel_minutes_many_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="2 destination latitudes but 1 longitudes"):
        travel_minutes_many(39.7, -105.0, [39.7, 39.8], [-105.0], "car")


def test_travel_minutes_many_unknown_mode_raises_even_when_empty() -> None:
    with pytest.raises(ValueError, match="'teleport'"):
        travel_minutes_many(39.7, -105.0, [], [], "teleport")


def test_straight_line_model_matches_travel_minutes() -> None:
    model: TravelModel = StraightLineModel()
    assert model.minutes(UNION_STATION, STATE_CAPITOL, "car") == travel_minutes(
        UNION_STATION, STATE_CAPITOL, "car"
    )
