"""Turning addresses into coordinates, each address looked up once.

:class:`AddressLocator` asks, in order: the ``geocode_cache`` table, the configured geocoder (any
geopy geocoder, configured by URL with :func:`geocoder_from_url`), then an offline fallback that
places an address at its US ZIP code's centroid and marks the result approximate. When the
configured geocoder cannot be reached it is not asked again in the same run, and the locator
says so, so the caller can tell the user which locations are only approximate.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

import zipcodes
from geopy.exc import GeocoderQueryError, GeocoderServiceError
from geopy.extra.rate_limiter import RateLimiter
from geopy.geocoders import ArcGIS, Nominatim, Photon
from sqlalchemy import select
from sqlalchemy.orm import Session

from wbl.models import GeocodeCache, utcnow

USER_AGENT = "wbl-scheduler"
DEFAULT_DELAY_S = 1.0  # Nominatim's usage policy: at most one request per second.
DEFAULT_TIMEOUT_S = 10.0
MAX_QUERY_CHARS = 500  # the width of geocode_cache.query

ACCEPTED_URLS = (
    "nominatim+https://HOST[:PORT][/PATH]",
    "nominatim+http://HOST[:PORT][/PATH]",
    "photon+https://HOST[:PORT][/PATH]",
    "photon+http://HOST[:PORT][/PATH]",
    "arcgis",
)


@dataclass(frozen=True)
class Location:
    """Where an address is, which geocoder said so, and whether it is only approximate."""

    lat: float
    lon: float
    source: str
    approximate: bool


class GeocoderUnavailable(Exception):
    """The geocoding service could not be reached or did not answer properly."""


class Geocoder(Protocol):
    name: str

    def geocode(self, address: str) -> Location | None:
        """The address's location, or None if not found.

        Raises GeocoderUnavailable when the service cannot be reached.
        """
        ...


class GeopyGeocoder:
    """Any geopy geocoder, rate-limited, with its failures turned into GeocoderUnavailable."""

    def __init__(
        self,
        geocoder: Any,
        *,
        name: str | None = None,
        min_delay_seconds: float = DEFAULT_DELAY_S,
    ) -> None:
        self.name = name or type(geocoder).__name__.lower()
        # No retries: a service that fails once is abandoned for the run (see AddressLocator).
        self._geocode = RateLimiter(
            geocoder.geocode,
            min_delay_seconds=min_delay_seconds,
            max_retries=0,
            error_wait_seconds=min_delay_seconds,
            swallow_exceptions=False,
        )

    def geocode(self, address: str) -> Location | None:
        try:
            found = self._geocode(address, exactly_one=True)
        except GeocoderQueryError:
            # The service refused this one query (400, 414...): the query's fault, not the
            # service's, so it counts as not found rather than as the service being down.
            return None
        except GeocoderServiceError as error:
            raise GeocoderUnavailable(f"{self.name}: {error}") from error
        if found is None:
            return None
        return Location(
            lat=float(found.latitude),
            lon=float(found.longitude),
            source=self.name,
            approximate=False,
        )


# --- the offline fallback: US ZIP code centroids -------------------------------------------

US_STATE_CODES = frozenset(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH "
    "NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY AS GU MP PR VI AA AE AP".split()
)
_ZIP = re.compile(r"(?<!\d)(\d{5})(?:-\d{4})?(?!\d)")
_STATE_BEFORE = re.compile(r"(?:^|[\s,])([A-Za-z]{2})\.?$")


def _follows_state_or_comma(prefix: str) -> bool:
    prefix = prefix.rstrip()
    if prefix.endswith(","):
        return True
    match = _STATE_BEFORE.search(prefix)
    return match is not None and match.group(1).upper() in US_STATE_CODES


def extract_zip(address: str) -> str | None:
    """The 5-digit US ZIP code in ``address``, or None.

    The last 5-digit group (ZIP+4 allowed) that follows a state code or a comma wins;
    otherwise the last 5-digit group, except a leading one followed by more text (a house
    number, as in "10001 W Colfax Ave").
    """
    text = address.strip()
    candidates = list(_ZIP.finditer(text))
    after_state = [m for m in candidates if _follows_state_or_comma(text[: m.start()])]
    if after_state:
        return after_state[-1].group(1)
    others = [m for m in candidates if m.start() > 0 or not text[m.end() :].strip()]
    return others[-1].group(1) if others else None


@functools.cache
def zip_centroid(zip_code: str) -> tuple[float, float] | None:
    """The (lat, lon) centroid of a 5-digit US ZIP code, or None if there is no such ZIP."""
    # Measured: zipcodes loads its table on the first call (~0.5 s), then scans it in ~1 ms;
    # memoising per ZIP beats building a dict of all 42,000 (~1 s), since a term's addresses
    # share few ZIPs.
    if not re.fullmatch(r"\d{5}", zip_code):
        return None
    for record in zipcodes.matching(zip_code):
        if record.get("lat") and record.get("long"):
            return float(record["lat"]), float(record["long"])
    return None


class ZipCentroidGeocoder:
    """Offline: an address is placed at the centroid of its US ZIP code (approximate)."""

    name = "zip-centroid"

    def geocode(self, address: str) -> Location | None:
        zip_code = extract_zip(address)
        if zip_code is None:
            return None
        centroid = zip_centroid(zip_code)
        if centroid is None:
            return None
        lat, lon = centroid
        return Location(lat=lat, lon=lon, source=self.name, approximate=True)


ZIP_CENTROIDS = ZipCentroidGeocoder()


# --- configuration by URL ------------------------------------------------------------------


def _url_error(url: str, problem: str) -> ValueError:
    accepted = ", ".join(ACCEPTED_URLS)
    return ValueError(
        f"geocoder URL {url!r}: {problem}; accepted forms: {accepted}, "
        "each optionally followed by ?delay=SECONDS&timeout=SECONDS"
    )


def _url_options(url: str, query: str) -> tuple[float, float]:
    delay, timeout = DEFAULT_DELAY_S, DEFAULT_TIMEOUT_S
    for key, value in parse_qsl(query, keep_blank_values=True):
        try:
            number = float(value)
        except ValueError:
            raise _url_error(url, f"{key}={value!r} is not a number of seconds") from None
        if key == "delay" and number >= 0:
            delay = number
        elif key == "timeout" and number > 0:
            timeout = number
        elif key in ("delay", "timeout"):
            raise _url_error(url, f"{key}={value!r} is out of range")
        else:
            raise _url_error(url, f"unknown option {key!r}")
    return delay, timeout


def geocoder_from_url(url: str | None) -> Geocoder | None:
    """The geocoder a URL names (see ACCEPTED_URLS), or None for no URL (offline only).

    ``nominatim+http://127.0.0.1:8080`` is a Nominatim server at that address;
    ``?delay=0.5`` sets the minimum seconds between requests (default 1, Nominatim's policy)
    and ``?timeout=5`` the seconds to wait for an answer (default 10).
    """
    if url is None or not url.strip():
        return None
    url = url.strip()
    parts = urlsplit(url)
    delay, timeout = _url_options(url, parts.query)
    service, _, transport = parts.scheme.lower().partition("+")
    if not parts.scheme and parts.path.lower() == "arcgis":
        service = "arcgis"
    if service == "arcgis" and not transport and not parts.netloc:
        return GeopyGeocoder(
            ArcGIS(user_agent=USER_AGENT, timeout=timeout), name="arcgis", min_delay_seconds=delay
        )
    if service not in ("nominatim", "photon"):
        raise _url_error(url, "unknown geocoder")
    if transport not in ("http", "https"):
        raise _url_error(url, f"{service} needs {service}+http:// or {service}+https://")
    if not parts.netloc:
        raise _url_error(url, "no host given")
    domain = parts.netloc + parts.path.rstrip("/")
    cls = Nominatim if service == "nominatim" else Photon
    backend = cls(domain=domain, scheme=transport, user_agent=USER_AGENT, timeout=timeout)
    return GeopyGeocoder(backend, name=service, min_delay_seconds=delay)


# --- the locator ---------------------------------------------------------------------------


def normalize_address(address: str) -> str:
    """The cache key of an address: trimmed, whitespace collapsed, case folded."""
    return " ".join(address.split()).casefold()


def _location(row: GeocodeCache) -> Location:
    return Location(lat=row.lat, lon=row.lon, source=row.source, approximate=row.approximate)


class AddressLocator:
    """Looks addresses up once: DB cache first, then the configured geocoder, then the
    ZIP-centroid fallback.

    Results are added to the session's ``geocode_cache`` and flushed, never committed: the
    caller owns the transaction. An address found nowhere is not cached, so a later run with
    a geocoder can still find it. A cached approximate location is asked of the geocoder
    again (once per run) and replaced when the geocoder knows better, so a run made offline
    does not pin approximate locations for good.
    """

    def __init__(
        self,
        session: Session,
        geocoder: Geocoder | None,
        fallback: Geocoder | None = ZIP_CENTROIDS,
    ) -> None:
        self._session = session
        self._geocoder = geocoder
        self._fallback = fallback
        self._failure: str | None = None
        self._seen: dict[str, Location | None] = {}

    @property
    def unavailable(self) -> bool:
        """The configured geocoder failed during this run; later addresses skipped it."""
        return self._failure is not None

    @property
    def unavailable_reason(self) -> str | None:
        """Why the configured geocoder was given up on, if it was."""
        return self._failure

    def locate(self, address: str) -> Location | None:
        key = normalize_address(address)
        if not key:
            return None
        if key in self._seen:
            return self._seen[key]
        cacheable = len(key) <= MAX_QUERY_CHARS
        row = self._cached(key) if cacheable else None
        if row is not None:
            found = self._refresh(row, address)
        else:
            found = self._ask_geocoder(address) or self._ask_fallback(address)
            if found is not None and cacheable:
                self._store(key, found)
        self._seen[key] = found
        return found

    def _cached(self, key: str) -> GeocodeCache | None:
        return self._session.scalar(select(GeocodeCache).where(GeocodeCache.query == key))

    def _refresh(self, row: GeocodeCache, address: str) -> Location:
        if not row.approximate:
            return _location(row)
        better = self._ask_geocoder(address)
        if better is None or better.approximate:
            return _location(row)
        row.lat, row.lon = better.lat, better.lon
        row.source, row.approximate = better.source, better.approximate
        row.created_at = utcnow()
        self._session.flush()
        return better

    def _ask_geocoder(self, address: str) -> Location | None:
        if self._geocoder is None or self._failure is not None:
            return None
        try:
            return self._geocoder.geocode(address)
        except GeocoderUnavailable as error:
            self._failure = str(error) or self._geocoder.name
            return None

    def _ask_fallback(self, address: str) -> Location | None:
        if self._fallback is None:
            return None
        try:
            return self._fallback.geocode(address)
        except GeocoderUnavailable:
            return None

    def _store(self, key: str, found: Location) -> None:
        self._session.add(
            GeocodeCache(
                query=key,
                lat=found.lat,
                lon=found.lon,
                source=found.source,
                approximate=found.approximate,
            )
        )
        self._session.flush()
