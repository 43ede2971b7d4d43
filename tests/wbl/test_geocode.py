"""Geocoding: geopy geocoders configured by URL, the ZIP-centroid fallback, the DB cache.

The geocoding service here is a fake Nominatim (and Photon) on 127.0.0.1 that the tests start
and stop themselves; nothing reaches the internet.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wbl.geocode import (
    AddressLocator,
    GeocoderUnavailable,
    GeopyGeocoder,
    Location,
    ZipCentroidGeocoder,
    extract_zip,
    geocoder_from_url,
)
from wbl.models import GeocodeCache

UNION_STATION = "1701 Wynkoop St, Denver, CO 80202"
CAPITOL = "200 E Colfax Ave, Denver, CO 80203"
WHITE_HOUSE = "1600 Pennsylvania Ave NW, Washington, DC 20500"

# What Nominatim's /search?format=json answers: a list of places, coordinates as strings.
NOMINATIM_PLACES: dict[str, dict[str, Any]] = {
    UNION_STATION: {
        "place_id": 297412,
        "licence": "Data © OpenStreetMap contributors, ODbL 1.0. http://osm.org/copyright",
        "osm_type": "way",
        "osm_id": 25397290,
        "lat": "39.7527",
        "lon": "-105.0001",
        "class": "railway",
        "type": "station",
        "place_rank": 30,
        "importance": 0.42,
        "addresstype": "railway",
        "name": "Denver Union Station",
        "display_name": "Denver Union Station, 1701, Wynkoop Street, Denver, Colorado, 80202, "
        "United States",
        "boundingbox": ["39.7522", "39.7532", "-105.0008", "-104.9994"],
    },
    CAPITOL: {
        "place_id": 297413,
        "licence": "Data © OpenStreetMap contributors, ODbL 1.0. http://osm.org/copyright",
        "osm_type": "way",
        "osm_id": 25397291,
        "lat": "39.7393",
        "lon": "-104.9848",
        "class": "building",
        "type": "government",
        "place_rank": 30,
        "importance": 0.51,
        "addresstype": "building",
        "name": "Colorado State Capitol",
        "display_name": "Colorado State Capitol, 200, East Colfax Avenue, Denver, Colorado, "
        "80203, United States",
        "boundingbox": ["39.7388", "39.7398", "-104.9855", "-104.9841"],
    },
}


@dataclass
class FakeGeocodingService:
    """A fake Nominatim (/search) and Photon (/api) that records every request it gets."""

    base_url: str = ""
    status: int = 200
    requests: list[tuple[str, dict[str, str], str]] = field(default_factory=list)

    def answer(self, path: str, params: dict[str, str]) -> Any:
        place = NOMINATIM_PLACES.get(params.get("q", ""))
        if path.endswith("/search"):
            return [place] if place else []
        if path.endswith("/api"):
            features = []
            if place:
                features.append(
                    {
                        "type": "Feature",
                        "geometry": {
                            "type": "Point",
                            "coordinates": [float(place["lon"]), float(place["lat"])],
                        },
                        "properties": {"name": place["name"], "city": "Denver"},
                    }
                )
            return {"type": "FeatureCollection", "features": features}
        return None


class _Handler(BaseHTTPRequestHandler):
    server: _FakeServer

    def do_GET(self) -> None:
        fake = self.server.fake
        url = urlsplit(self.path)
        params = dict(parse_qsl(url.query))
        fake.requests.append((url.path, params, self.headers.get("User-Agent", "")))
        body = fake.answer(url.path, params)
        status = fake.status if body is not None else 404
        payload = json.dumps(body if status == 200 else {"error": "failed"}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep the test output quiet


class _FakeServer(HTTPServer):
    fake: FakeGeocodingService


@pytest.fixture
def service() -> Iterator[FakeGeocodingService]:
    server = _FakeServer(("127.0.0.1", 0), _Handler)
    server.fake = FakeGeocodingService(base_url=f"127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def closed_port() -> int:
    """A local port nothing listens on, so connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def nominatim(service: FakeGeocodingService) -> GeopyGeocoder:
    geocoder = geocoder_from_url(f"nominatim+http://{service.base_url}?delay=0")
    assert isinstance(geocoder, GeopyGeocoder)
    return geocoder


def cached_rows(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(GeocodeCache)) or 0


# --- geocoder_from_url and GeopyGeocoder ---------------------------------------------------


def test_geocoder_from_url_nominatim_resolves_address(service: FakeGeocodingService) -> None:
    found = nominatim(service).geocode(UNION_STATION)

    assert found == Location(lat=39.7527, lon=-105.0001, source="nominatim", approximate=False)
    [(path, params, user_agent)] = service.requests
    assert path == "/search"
    assert params == {"q": UNION_STATION, "format": "json", "limit": "1"}
    assert user_agent == "wbl-scheduler"


def test_geocoder_from_url_nominatim_unknown_address_is_none(
    service: FakeGeocodingService,
) -> None:
    assert nominatim(service).geocode("1 Nowhere Lane, Atlantis") is None
    assert len(service.requests) == 1


def test_geocoder_from_url_nominatim_keeps_path(service: FakeGeocodingService) -> None:
    geocoder = geocoder_from_url(f"nominatim+http://{service.base_url}/osm/?delay=0&timeout=5")
    assert geocoder is not None

    geocoder.geocode(CAPITOL)

    assert [path for path, _, _ in service.requests] == ["/osm/search"]


def test_geocoder_from_url_photon_resolves_address(service: FakeGeocodingService) -> None:
    geocoder = geocoder_from_url(f"photon+http://{service.base_url}?delay=0")
    assert geocoder is not None

    found = geocoder.geocode(CAPITOL)

    assert found == Location(lat=39.7393, lon=-104.9848, source="photon", approximate=False)
    assert [path for path, _, _ in service.requests] == ["/api"]


def test_geocoder_from_url_server_error_raises_unavailable(
    service: FakeGeocodingService,
) -> None:
    service.status = 500
    with pytest.raises(GeocoderUnavailable, match="nominatim"):
        nominatim(service).geocode(UNION_STATION)
    assert len(service.requests) == 1  # no retries


def test_geocoder_from_url_closed_port_raises_unavailable(closed_port: int) -> None:
    geocoder = geocoder_from_url(f"nominatim+http://127.0.0.1:{closed_port}?delay=0")
    assert geocoder is not None
    with pytest.raises(GeocoderUnavailable):
        geocoder.geocode(UNION_STATION)


@pytest.mark.parametrize("url", [None, "", "   "])
def test_geocoder_from_url_nothing_means_offline(url: str | None) -> None:
    assert geocoder_from_url(url) is None


def test_geocoder_from_url_arcgis_needs_no_host() -> None:
    geocoder = geocoder_from_url("arcgis")
    assert geocoder is not None
    assert geocoder.name == "arcgis"


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("google+https://maps.example.org", "unknown geocoder"),
        ("https://nominatim.example.org", "unknown geocoder"),
        ("nominatim", "unknown geocoder"),
        ("nominatim://nominatim.example.org", "needs nominatim\\+http:// or"),
        ("nominatim+ftp://nominatim.example.org", "needs nominatim\\+http:// or"),
        ("nominatim+https://", "no host given"),
        ("nominatim+https://nominatim.example.org?delay=soon", "'soon' is not a number"),
        ("nominatim+https://nominatim.example.org?delay=-1", "delay='-1' is out of range"),
        ("nominatim+https://nominatim.example.org?timeout=0", "timeout='0' is out of range"),
        ("nominatim+https://nominatim.example.org?colour=1", "unknown option 'colour'"),
    ],
)
def test_geocoder_from_url_rejects_bad_url(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as raised:
        geocoder_from_url(url)
    message = str(raised.value)
    assert url in message
    assert "nominatim+https://HOST[:PORT][/PATH]" in message
    assert "?delay=SECONDS&timeout=SECONDS" in message


# --- the ZIP-centroid fallback ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "zip_code"),
    [
        (WHITE_HOUSE, "20500"),
        ("10001 W Colfax Ave, Lakewood, CO 80215", "80215"),
        ("10001 W Colfax Ave, Lakewood, Colorado", None),
        ("1701 Wynkoop St, Denver, CO 80202-1234", "80202"),
        ("1701 Wynkoop St, Denver, co 80202", "80202"),
        ("1701 Wynkoop St, Denver, Colorado 80202", "80202"),
        ("PO Box 12345, Denver CO 80217", "80217"),
        ("Denver, 80202", "80202"),
        ("80202", "80202"),
        ("Main Street Library, Springfield", None),
        ("Call 303-555-0100", None),
    ],
)
def test_extract_zip_cases(address: str, zip_code: str | None) -> None:
    assert extract_zip(address) == zip_code


def test_zip_centroid_geocoder_finds_centroid() -> None:
    found = ZipCentroidGeocoder().geocode(WHITE_HOUSE)
    assert found is not None
    assert (found.source, found.approximate) == ("zip-centroid", True)
    assert (found.lat, found.lon) == pytest.approx((38.8946, -77.0355))


def test_zip_centroid_geocoder_unknown_zip_is_none() -> None:
    assert ZipCentroidGeocoder().geocode("1 Test Rd, Nowhere, CO 00000") is None


def test_zip_centroid_geocoder_no_zip_is_none() -> None:
    assert ZipCentroidGeocoder().geocode("1 Test Rd, Nowhere") is None


# --- AddressLocator: cache, geocoder, fallback -----------------------------------------------


def test_address_locator_geocodes_once_and_caches(
    session: Session, service: FakeGeocodingService
) -> None:
    locator = AddressLocator(session, nominatim(service))

    first = locator.locate(UNION_STATION)
    again = locator.locate(UNION_STATION)

    assert first == Location(lat=39.7527, lon=-105.0001, source="nominatim", approximate=False)
    assert again == first
    assert len(service.requests) == 1
    assert cached_rows(session) == 1
    assert not locator.unavailable


def test_address_locator_new_locator_uses_db_cache(
    session: Session, service: FakeGeocodingService
) -> None:
    AddressLocator(session, nominatim(service)).locate(UNION_STATION)
    session.flush()

    # Spacing and case differ, so the fake server would not know it: only the cache can.
    respelled = "  1701 WYNKOOP st,   Denver, CO   80202 "
    online = AddressLocator(session, nominatim(service)).locate(respelled)
    offline = AddressLocator(session, None).locate(UNION_STATION)

    expected = Location(lat=39.7527, lon=-105.0001, source="nominatim", approximate=False)
    assert online == expected
    assert offline == expected
    assert len(service.requests) == 1


def test_address_locator_cache_survives_commit(
    session: Session, service: FakeGeocodingService
) -> None:
    AddressLocator(session, nominatim(service)).locate(CAPITOL)
    session.commit()
    session.expunge_all()

    found = AddressLocator(session, nominatim(service)).locate(CAPITOL)

    assert found == Location(lat=39.7393, lon=-104.9848, source="nominatim", approximate=False)
    assert len(service.requests) == 1


def test_address_locator_never_commits(session: Session, service: FakeGeocodingService) -> None:
    AddressLocator(session, nominatim(service)).locate(UNION_STATION)
    session.rollback()
    assert cached_rows(session) == 0


def test_address_locator_server_error_falls_back_to_zip_centroid(
    session: Session, service: FakeGeocodingService
) -> None:
    service.status = 500
    locator = AddressLocator(session, nominatim(service))

    station = locator.locate(UNION_STATION)
    capitol = locator.locate(CAPITOL)
    white_house = locator.locate(WHITE_HOUSE)

    assert locator.unavailable
    assert locator.unavailable_reason is not None
    assert len(service.requests) == 1  # given up on after the first failure
    assert station == Location(39.7491, -104.9946, source="zip-centroid", approximate=True)
    assert capitol is not None
    assert (capitol.source, capitol.approximate) == ("zip-centroid", True)
    assert white_house == Location(38.8946, -77.0355, source="zip-centroid", approximate=True)
    assert cached_rows(session) == 3


def test_address_locator_closed_port_falls_back_to_zip_centroid(
    session: Session, closed_port: int
) -> None:
    geocoder = geocoder_from_url(f"nominatim+http://127.0.0.1:{closed_port}?delay=0")
    locator = AddressLocator(session, geocoder)

    found = locator.locate(UNION_STATION)

    assert locator.unavailable
    assert found == Location(39.7491, -104.9946, source="zip-centroid", approximate=True)


def test_address_locator_not_found_by_geocoder_uses_zip_centroid(
    session: Session, service: FakeGeocodingService
) -> None:
    locator = AddressLocator(session, nominatim(service))

    found = locator.locate("1 Unmapped Alley, Washington, DC 20500")

    assert found == Location(38.8946, -77.0355, source="zip-centroid", approximate=True)
    assert not locator.unavailable


def test_address_locator_unknown_address_without_zip_is_none_and_not_cached(
    session: Session, service: FakeGeocodingService
) -> None:
    locator = AddressLocator(session, nominatim(service))

    assert locator.locate("1 Nowhere Lane, Atlantis") is None
    assert locator.locate("1 Nowhere Lane, Atlantis") is None
    assert len(service.requests) == 1  # asked once per run
    assert cached_rows(session) == 0

    # A later run asks the geocoder again: it may know the address by then.
    assert AddressLocator(session, nominatim(service)).locate("1 Nowhere Lane, Atlantis") is None
    assert len(service.requests) == 2


def test_address_locator_offline_without_zip_is_none(session: Session) -> None:
    locator = AddressLocator(session, None)
    assert locator.locate("Main Street Library, Springfield") is None
    assert locator.locate("   ") is None
    assert not locator.unavailable


def test_address_locator_without_fallback_returns_none_when_unavailable(
    session: Session, service: FakeGeocodingService
) -> None:
    service.status = 500
    locator = AddressLocator(session, nominatim(service), fallback=None)

    assert locator.locate(UNION_STATION) is None
    assert locator.unavailable
    assert cached_rows(session) == 0


def test_address_locator_replaces_cached_centroid_when_geocoder_answers(
    session: Session, service: FakeGeocodingService
) -> None:
    offline = AddressLocator(session, None).locate(UNION_STATION)
    assert offline is not None
    assert offline.approximate

    online = AddressLocator(session, nominatim(service)).locate(UNION_STATION)
    later = AddressLocator(session, nominatim(service)).locate(UNION_STATION)

    exact = Location(lat=39.7527, lon=-105.0001, source="nominatim", approximate=False)
    assert online == exact
    assert later == exact
    assert len(service.requests) == 1
    assert cached_rows(session) == 1


def test_address_locator_keeps_cached_centroid_when_geocoder_is_down(
    session: Session, service: FakeGeocodingService
) -> None:
    AddressLocator(session, None).locate(UNION_STATION)
    service.status = 500
    locator = AddressLocator(session, nominatim(service))

    found = locator.locate(UNION_STATION)
    locator.locate(CAPITOL)

    assert found == Location(39.7491, -104.9946, source="zip-centroid", approximate=True)
    assert locator.unavailable
    assert len(service.requests) == 1
