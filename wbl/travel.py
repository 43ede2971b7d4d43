"""Travel time between two points: the default offline model of DESIGN.md, "Travel time".

Straight-line (geodesic) distance times a circuity factor, at a speed per mode, plus a fixed
overhead per mode (waiting for transit, parking a car). A real router (OSRM's table service,
OpenTripPlanner) can replace it by implementing :class:`TravelModel`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from geopy.distance import geodesic

Point = tuple[float, float]
"""(latitude, longitude) in decimal degrees."""

CIRCUITY = 1.3
"""Streets are not straight: the route is taken to be this much longer than the geodesic."""


@dataclass(frozen=True)
class Mode:
    """How fast a way of travelling covers ground, and the fixed minutes it costs to start."""

    speed_kmh: float
    overhead_min: float


MODES: dict[str, Mode] = {
    "walk": Mode(speed_kmh=4.8, overhead_min=0.0),
    "bike": Mode(speed_kmh=15.0, overhead_min=0.0),
    "transit": Mode(speed_kmh=18.0, overhead_min=10.0),
    "car": Mode(speed_kmh=35.0, overhead_min=5.0),
}


def mode_named(mode: str) -> Mode:
    """The :class:`Mode` called ``mode``; a ValueError naming the known modes otherwise."""
    try:
        return MODES[mode]
    except KeyError:
        known = ", ".join(MODES)
        raise ValueError(f"unknown travel mode {mode!r} (known: {known})") from None


def travel_minutes(origin: Point, dest: Point, mode: str) -> float:
    """Minutes from ``origin`` to ``dest`` by ``mode`` under the straight-line model."""
    chosen = mode_named(mode)
    km = geodesic(origin, dest).km * CIRCUITY
    return km / chosen.speed_kmh * 60.0 + chosen.overhead_min


def travel_minutes_many(
    origin_lat: float,
    origin_lon: float,
    dest_lats: Sequence[float],
    dest_lons: Sequence[float],
    mode: str,
) -> list[float]:
    """:func:`travel_minutes` from one origin to many destinations, in the same order.

    The values are exactly those of :func:`travel_minutes`, so a matrix built here and a single
    pair computed elsewhere never disagree.
    """
    if len(dest_lats) != len(dest_lons):
        raise ValueError(f"{len(dest_lats)} destination latitudes but {len(dest_lons)} longitudes")
    mode_named(mode)
    origin = (origin_lat, origin_lon)
    return [
        travel_minutes(origin, (lat, lon), mode)
        for lat, lon in zip(dest_lats, dest_lons, strict=True)
    ]


class TravelModel(Protocol):
    """Anything that can say how many minutes a trip takes (OSRM, OpenTripPlanner, ...)."""

    def minutes(self, origin: Point, dest: Point, mode: str) -> float: ...


class StraightLineModel:
    """The default offline :class:`TravelModel`: :func:`travel_minutes`."""

    def minutes(self, origin: Point, dest: Point, mode: str) -> float:
        return travel_minutes(origin, dest, mode)
