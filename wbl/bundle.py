"""Term bundles: the folder of plain files a coordinator edits in a spreadsheet.

:func:`read_bundle` turns a folder into a validated :class:`Bundle`, collecting *every*
problem as ``file:line: column: message`` in one :class:`BundleError`; :func:`write_bundle`
writes a :class:`Bundle` back out. Nothing here touches the database (see
``wbl.services.bundles`` for import and export).
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import shutil
import tempfile
import tomllib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import tomli_w

from wbl.rules import Rules, parse_rules
from wbl.schedule import ScheduleError, SlotPlan, parse_schedule, parse_windows

TERM_FILE = "term.toml"
STUDENTS_FILE = "students.csv"
HOSTS_FILE = "hosts.csv"
OPPORTUNITIES_FILE = "opportunities.csv"
PREFERENCES_FILE = "preferences.csv"
REVIEWS_FILE = "host_reviews.csv"

STUDENT_COLUMNS = (
    "student_id",
    "name",
    "email",
    "school",
    "grade",
    "birth_date",
    "origin_lat",
    "origin_lon",
    "origin_address",
    "transport",
    "max_travel_min",
    "available",
    "flags",
    "guardian_consent",
    "work_permit",
    "prior_clusters",
    "group",
)
HOST_COLUMNS = (
    "host_id",
    "name",
    "career_cluster",
    "lat",
    "lon",
    "address",
    "max_students",
    "mentor_background_checked",
)
OPPORTUNITY_COLUMNS = (
    "opportunity_id",
    "host_id",
    "kind",
    "title",
    "career_cluster",
    "capacity",
    "schedule",
    "min_age",
    "min_grade",
    "requires_consent",
    "requires_work_permit",
    "hazardous",
    "remote",
    "hours",
)
PREFERENCE_COLUMNS = ("student_id", "opportunity_id", "rank")
REVIEW_COLUMNS = ("opportunity_id", "student_id", "decision", "rank")

# Columns a row cannot do without; every other column may be left out of the file entirely.
REQUIRED = {
    STUDENTS_FILE: ("student_id", "name", "grade", "birth_date", "transport"),
    HOSTS_FILE: ("host_id", "name"),
    OPPORTUNITIES_FILE: ("opportunity_id", "host_id", "kind", "title", "capacity", "schedule"),
    PREFERENCES_FILE: PREFERENCE_COLUMNS,
    REVIEWS_FILE: ("opportunity_id", "student_id", "decision"),
}

TRANSPORTS = ("walk", "bike", "transit", "car")
KINDS = ("job_shadow", "internship", "micro_internship")
DECISIONS = ("accept", "veto")
_TRUE = {"true", "yes", "1", "y"}
_FALSE = {"false", "no", "0", "n", ""}
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a bundle, located as precisely as the file allows."""

    file: str
    line: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return (
            f"{where}: {self.column}: {self.message}" if self.column else f"{where}: {self.message}"
        )


class BundleError(Exception):
    """A bundle that cannot be imported; ``problems`` lists everything found, not just the first."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted(set(problems), key=_problem_order)
        super().__init__(f"{len(self.problems)} problem(s) in the term bundle")

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


_FILE_ORDER = (
    TERM_FILE,
    STUDENTS_FILE,
    HOSTS_FILE,
    OPPORTUNITIES_FILE,
    PREFERENCES_FILE,
    REVIEWS_FILE,
)


def _problem_order(p: Problem) -> tuple[Any, ...]:
    rank = _FILE_ORDER.index(p.file) if p.file in _FILE_ORDER else len(_FILE_ORDER)
    return (rank, p.file, p.line or 0, p.column or "", p.message)


@dataclass(frozen=True)
class TermSpec:
    name: str
    start: date
    end: date
    timezone: str
    rules: Rules = field(default_factory=Rules)


@dataclass(frozen=True)
class StudentRow:
    code: str
    name: str
    grade: int
    birth_date: date
    transport: str
    email: str = ""
    school: str = ""
    origin_lat: float | None = None
    origin_lon: float | None = None
    origin_address: str = ""
    max_travel_min: int | None = None
    available: str = ""
    flags: tuple[str, ...] = ()
    guardian_consent: bool = False
    work_permit: bool = False
    prior_clusters: tuple[str, ...] = ()
    group: str = ""
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class HostRow:
    code: str
    name: str
    career_cluster: str = ""
    lat: float | None = None
    lon: float | None = None
    address: str = ""
    max_students: int | None = None
    mentor_background_checked: bool = False
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class OpportunityRow:
    code: str
    host: str
    kind: str
    title: str
    capacity: int
    schedule: str
    career_cluster: str = ""
    min_age: int | None = None
    min_grade: int | None = None
    requires_consent: bool = False
    requires_work_permit: bool = False
    hazardous: bool = False
    remote: bool = False
    hours: float | None = None
    line: int = field(default=0, compare=False)


# What an opportunity row and a host's opportunity form (wbl.services.opportunities) both
# give, stored in the opportunity's columns of the same names.
OPPORTUNITY_FIELDS = (
    "title", "career_cluster", "capacity", "schedule", "min_age", "min_grade",
    "requires_consent", "requires_work_permit", "hazardous", "remote", "hours",
)  # fmt: skip


@dataclass(frozen=True)
class PreferenceRow:
    student: str
    opportunity: str
    rank: int
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class ReviewRow:
    opportunity: str
    student: str
    decision: str
    rank: int | None = None
    line: int = field(default=0, compare=False)


@dataclass
class Bundle:
    """A term bundle in memory; ``calendars`` maps a bundle-relative path to the file's text."""

    term: TermSpec
    students: list[StudentRow] = field(default_factory=list)
    hosts: list[HostRow] = field(default_factory=list)
    opportunities: list[OpportunityRow] = field(default_factory=list)
    preferences: list[PreferenceRow] = field(default_factory=list)
    reviews: list[ReviewRow] = field(default_factory=list)
    calendars: dict[str, str] = field(default_factory=dict)
    # Slots derived from each opportunity's schedule, by opportunity code (filled by read_bundle).
    slots: dict[str, tuple[SlotPlan, ...]] = field(default_factory=dict, compare=False)


# ---------------------------------------------------------------------------------------------
# Reading


class _Collector:
    """Gathers problems while the reader carries on to find the rest."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        # Files whose rows could not be read at all: ids that refer to them are not checked,
        # so one broken header does not echo as an "unknown id" on every row elsewhere.
        self.unreadable: set[str] = set()

    def add(self, file: str, line: int | None, column: str | None, message: str) -> None:
        self.problems.append(Problem(file, line, column, message))


def _decode(raw: bytes, file: str, out: _Collector) -> str:
    """UTF-8 text of a file; a BOM or bytes that are not UTF-8 are problems, not crashes."""
    for bom in _BOMS:
        if raw.startswith(bom):
            out.add(
                file,
                1,
                None,
                "file starts with a byte-order mark (BOM); save it as UTF-8 "
                "without BOM (in Excel: 'CSV (Comma delimited)', not 'CSV UTF-8')",
            )
            if bom != _BOMS[0]:
                return ""  # UTF-16: nothing readable as UTF-8 follows
            raw = raw[len(bom) :]
            break
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    # Report each bad line once, then read the rest with replacement characters so that ids
    # on good lines still resolve and their own problems are found too.
    seen: set[int] = set()
    for number, line in enumerate(raw.split(b"\n"), start=1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as exc:
            if number not in seen:
                seen.add(number)
                out.add(
                    file,
                    number,
                    None,
                    f"not valid UTF-8 (byte 0x{line[exc.start]:02x} at "
                    f"character {exc.start + 1}); save the file as UTF-8",
                )
    return raw.decode("utf-8", errors="replace")


def _read_csv(
    folder: Path, file: str, columns: tuple[str, ...], out: _Collector, *, optional: bool = False
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield ``(line, row)`` for each non-blank data row; values stripped, absent columns ''."""
    path = folder / file
    if not path.is_file():
        if not optional:
            out.add(file, None, None, "file is missing from the bundle")
            out.unreadable.add(file)
        return
    text = _decode(path.read_bytes(), file, out)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        out.add(file, 1, None, "file is empty; it needs a header row: " + ",".join(columns))
        out.unreadable.add(file)
        return
    except csv.Error as exc:
        out.add(file, 1, None, f"cannot read the header row: {exc}")
        out.unreadable.add(file)
        return
    header = [h.strip() for h in header]
    index: dict[str, int] = {}
    for position, name in enumerate(header):
        if name in index:
            out.add(file, 1, name, "column appears twice in the header")
        elif name in columns:
            index[name] = position
        elif name:
            out.add(file, 1, name, "unknown column; expected columns: " + ", ".join(columns))
    missing = [c for c in REQUIRED[file] if c not in index]
    for name in missing:
        out.add(file, 1, name, "required column is missing from the header")
    if missing:
        out.unreadable.add(file)
        return
    last_line = reader.line_num
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            out.add(file, reader.line_num, None, f"cannot read the row: {exc}")
            return
        line, last_line = last_line + 1, reader.line_num
        if not any(v.strip() for v in values):
            continue
        if len(values) > len(header):
            out.add(
                file,
                line,
                None,
                f"row has {len(values)} fields but the header has "
                f"{len(header)}; quote values that contain commas",
            )
            continue
        yield line, {c: (values[i].strip() if i < len(values) else "") for c, i in index.items()}


class _Row:
    """Typed access to one CSV row's fields, recording a problem for each bad value."""

    def __init__(self, file: str, line: int, values: dict[str, str], out: _Collector) -> None:
        self.file, self.line, self.values, self.out = file, line, values, out
        self.ok = True

    def bad(self, column: str, message: str) -> None:
        self.ok = False
        self.out.add(self.file, self.line, column, message)

    def text(self, column: str, *, required: bool = False, max_len: int = 200) -> str:
        value = self.values.get(column, "")
        if required and not value:
            self.bad(column, "is required")
        elif len(value) > max_len:
            self.bad(column, f"is too long ({len(value)} characters; at most {max_len})")
        return value

    def integer(
        self,
        column: str,
        *,
        required: bool = False,
        low: int | None = None,
        high: int | None = None,
        what: str = "a whole number",
    ) -> int | None:
        value = self.values.get(column, "")
        if not value:
            if required:
                self.bad(column, "is required")
            return None
        try:
            number = int(value)
        except ValueError:
            self.bad(column, f"must be {what}, got {value!r}")
            return None
        if (low is not None and number < low) or (high is not None and number > high):
            self.bad(column, f"must be {what}, got {value!r}")
            return None
        return number

    def real(self, column: str, *, low: float, high: float, what: str) -> float | None:
        value = self.values.get(column, "")
        if not value:
            return None
        try:
            number = float(value)
        except ValueError:
            self.bad(column, f"must be {what}, got {value!r}")
            return None
        if not (math.isfinite(number) and low <= number <= high):
            self.bad(column, f"must be {what}, got {value!r}")
            return None
        return number

    def boolean(self, column: str) -> bool:
        value = self.values.get(column, "").lower()
        if value in _TRUE:
            return True
        if value not in _FALSE:
            self.bad(column, f"must be true or false, got {self.values[column]!r}")
        return False

    def day(self, column: str) -> date | None:
        value = self.values.get(column, "")
        if not value:
            self.bad(column, "is required")
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.bad(column, f"must be a date as YYYY-MM-DD, got {value!r}")
            return None

    def choice(self, column: str, choices: tuple[str, ...]) -> str:
        value = self.values.get(column, "").lower()
        if value not in choices:
            shown = repr(self.values.get(column, "")) if value else "nothing"
            self.bad(column, f"must be one of {', '.join(choices)}; got {shown}")
        return value

    def items(self, column: str) -> tuple[str, ...]:
        return tuple(x.strip() for x in self.values.get(column, "").split(";") if x.strip())

    def location(
        self, lat_col: str, lon_col: str, address_col: str
    ) -> tuple[float | None, float | None, str]:
        """Coordinates and address: both coordinates or neither, and an address without them."""
        lat = self.real(lat_col, low=-90, high=90, what="a latitude between -90 and 90")
        lon = self.real(lon_col, low=-180, high=180, what="a longitude between -180 and 180")
        address = self.text(address_col, max_len=500)
        given_lat, given_lon = bool(self.values.get(lat_col)), bool(self.values.get(lon_col))
        if given_lat != given_lon:
            blank, given = (lon_col, lat_col) if given_lat else (lat_col, lon_col)
            self.bad(blank, f"is blank while {given} is given; give both or neither")
        elif not given_lat and not address:
            self.bad(address_col, f"is required when {lat_col} and {lon_col} are blank")
        return lat, lon, address


def _unique(
    file: str, column: str, line: int, code: str, seen: dict[str, int], out: _Collector
) -> bool:
    if code in seen:
        out.add(file, line, column, f"duplicate id {code!r} (first on line {seen[code]})")
        return False
    seen[code] = line
    return True


def _toml_line(text: str, key: str) -> int | None:
    """The line of ``key = ...`` in a TOML text, so a bad value can be pointed at."""
    leaf = key.rsplit(".", 1)[-1]
    pattern = re.compile(rf"^\s*(\"?){re.escape(leaf)}\1\s*=", re.MULTILINE)
    match = pattern.search(text)
    return text.count("\n", 0, match.start()) + 1 if match else None


def _read_term(folder: Path, out: _Collector) -> TermSpec | None:
    path = folder / TERM_FILE
    if not path.is_file():
        out.add(TERM_FILE, None, None, "file is missing from the bundle")
        return None
    text = _decode(path.read_bytes(), TERM_FILE, out)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"at line (\d+)", str(exc))
        # tomllib says "at end of document" for an unfinished last line.
        line = int(found.group(1)) if found else len(text.rstrip("\n").split("\n"))
        out.add(TERM_FILE, line, None, f"not valid TOML: {exc}")
        return None
    problems_before = len(out.problems)

    def bad(key: str, message: str) -> None:
        out.add(TERM_FILE, _toml_line(text, key), key, message)

    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        bad("name", 'is required (the term\'s name, e.g. "Spring 2027")')
    elif len(name.strip()) > 200:
        bad("name", "is too long (at most 200 characters)")
    days: dict[str, date] = {}
    for key in ("start", "end"):
        value = data.get(key)
        if isinstance(value, date) and not hasattr(value, "hour"):
            days[key] = value
        elif isinstance(value, str):
            try:
                days[key] = date.fromisoformat(value)
            except ValueError:
                bad(key, f"must be a date as YYYY-MM-DD, got {value!r}")
        else:
            bad(key, "is required (a date as YYYY-MM-DD)")
    if len(days) == 2 and days["start"] > days["end"]:
        bad("end", f"{days['end']} is before the start {days['start']}")
    tz = data.get("timezone")
    if not isinstance(tz, str) or not tz:
        bad("timezone", 'is required (an IANA name such as "America/Denver")')
    else:
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            bad("timezone", f"unknown time zone {tz!r}; use an IANA name such as America/Denver")
    raw_rules = data.get("rules", {})
    rules = Rules()
    if not isinstance(raw_rules, dict):
        bad("rules", "must be a table: [rules]")
    else:
        rules, rule_problems = parse_rules(raw_rules)
        for key, message in rule_problems:
            bad(f"rules.{key}", message)
    for key in data:
        if key not in ("name", "start", "end", "timezone", "rules"):
            bad(key, "unknown setting; term.toml takes name, start, end, timezone and [rules]")
    if len(out.problems) > problems_before:
        return None
    assert isinstance(name, str) and isinstance(tz, str)
    return TermSpec(name.strip(), days["start"], days["end"], tz, rules)


def calendar_path(schedule: str) -> str | None:
    """The bundle-relative calendar file of an ``ics:`` schedule, else None."""
    text = schedule.strip()
    if not text.lower().startswith("ics:"):
        return None
    return Path(text[4:].strip()).as_posix()


def _calendar_reader(folder: Path, calendars: dict[str, str]) -> Callable[[str], bytes]:
    """Reads ``ics:`` calendars from inside the bundle only, remembering each file's text."""
    root = folder.resolve()

    def read(relative: str) -> bytes:
        path = (folder / relative).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise FileNotFoundError(relative)
        raw = path.read_bytes()
        calendars[Path(relative).as_posix()] = raw.decode("utf-8", errors="replace")
        return raw

    return read


def read_bundle(folder: Path | str) -> Bundle:
    """Read and validate a term bundle; raise :class:`BundleError` listing every problem.

    Rows with an address but no coordinates keep ``None`` coordinates: locating them needs a
    geocoder and is the importer's job.
    """
    bundle, problems = check_bundle(folder)
    if problems:
        raise BundleError(problems)
    return bundle


def check_bundle(folder: Path | str) -> tuple[Bundle, list[Problem]]:
    """Read a term bundle as far as it can be read, and every problem found on the way.

    A row keeps what could be read of it (a repeated id keeps only its first row); where
    ``term.toml`` itself is unusable the bundle's term is a placeholder. Only a bundle with no
    problems is fit to import.
    """
    folder = Path(folder)
    out = _Collector()
    if not folder.is_dir():
        return Bundle(term=TermSpec("", date.min, date.max, "UTC")), [
            Problem(str(folder), None, None, "is not a folder")
        ]
    term = _read_term(folder, out)
    bundle = Bundle(term=term or TermSpec("", date.min, date.max, "UTC"))

    student_lines: dict[str, int] = {}
    for line, values in _read_csv(folder, STUDENTS_FILE, STUDENT_COLUMNS, out):
        row = _Row(STUDENTS_FILE, line, values, out)
        code = row.text("student_id", required=True, max_len=64)
        fresh = bool(code) and _unique(STUDENTS_FILE, "student_id", line, code, student_lines, out)
        lat, lon, address = row.location("origin_lat", "origin_lon", "origin_address")
        available = row.text("available", max_len=500)
        try:
            parse_windows(available)
        except ScheduleError as exc:
            row.bad("available", str(exc))
        student = StudentRow(
            code=code,
            name=row.text("name", required=True),
            email=row.text("email", max_len=254),
            school=row.text("school"),
            grade=row.integer("grade", required=True, low=0, high=13, what="a grade from 0 to 13")
            or 0,
            birth_date=row.day("birth_date") or date.min,
            origin_lat=lat,
            origin_lon=lon,
            origin_address=address,
            transport=row.choice("transport", TRANSPORTS),
            max_travel_min=row.integer(
                "max_travel_min", low=1, high=24 * 60, what="minutes from 1 to 1440"
            ),
            available=available,
            flags=row.items("flags"),
            guardian_consent=row.boolean("guardian_consent"),
            work_permit=row.boolean("work_permit"),
            prior_clusters=row.items("prior_clusters"),
            group=row.text("group", max_len=64),
            line=line,
        )
        if fresh:
            bundle.students.append(student)

    host_lines: dict[str, int] = {}
    for line, values in _read_csv(folder, HOSTS_FILE, HOST_COLUMNS, out):
        row = _Row(HOSTS_FILE, line, values, out)
        code = row.text("host_id", required=True, max_len=64)
        fresh = bool(code) and _unique(HOSTS_FILE, "host_id", line, code, host_lines, out)
        lat, lon, address = row.location("lat", "lon", "address")
        host = HostRow(
            code=code,
            name=row.text("name", required=True),
            career_cluster=row.text("career_cluster", max_len=100),
            lat=lat,
            lon=lon,
            address=address,
            max_students=row.integer("max_students", low=0, what="a whole number >= 0"),
            mentor_background_checked=row.boolean("mentor_background_checked"),
            line=line,
        )
        if fresh:
            bundle.hosts.append(host)

    opp_lines: dict[str, int] = {}
    read_calendar = _calendar_reader(folder, bundle.calendars)
    for line, values in _read_csv(folder, OPPORTUNITIES_FILE, OPPORTUNITY_COLUMNS, out):
        row = _Row(OPPORTUNITIES_FILE, line, values, out)
        code = row.text("opportunity_id", required=True, max_len=64)
        fresh = bool(code) and _unique(
            OPPORTUNITIES_FILE, "opportunity_id", line, code, opp_lines, out
        )
        host = row.text("host_id", required=True, max_len=64)
        if host and host not in host_lines and HOSTS_FILE not in out.unreadable:
            row.bad("host_id", f"unknown host {host!r} (not in {HOSTS_FILE})")
        hours = row.real("hours", low=0, high=10_000, what="a number of hours from 0 to 10000")
        schedule = row.text("schedule", required=True, max_len=10_000)
        opportunity = OpportunityRow(
            code=code,
            host=host,
            kind=row.choice("kind", KINDS),
            title=row.text("title", required=True),
            capacity=row.integer(
                "capacity", required=True, low=0, high=100_000, what="a whole number >= 0"
            )
            or 0,
            schedule=schedule,
            career_cluster=row.text("career_cluster", max_len=100),
            min_age=row.integer("min_age", low=0, high=120, what="an age from 0 to 120"),
            min_grade=row.integer("min_grade", low=0, high=13, what="a grade from 0 to 13"),
            requires_consent=row.boolean("requires_consent"),
            requires_work_permit=row.boolean("requires_work_permit"),
            hazardous=row.boolean("hazardous"),
            remote=row.boolean("remote"),
            hours=hours,
            line=line,
        )
        if schedule and term is not None:
            try:
                plans = parse_schedule(
                    schedule,
                    tz=term.timezone,
                    term_start=term.start,
                    term_end=term.end,
                    hours=hours,
                    read_calendar=read_calendar,
                )
            except ScheduleError as exc:
                row.bad("schedule", str(exc))
            else:
                if fresh:
                    bundle.slots[code] = plans
        if fresh:
            bundle.opportunities.append(opportunity)

    pairs: dict[tuple[str, str], int] = {}
    for line, values in _read_csv(folder, PREFERENCES_FILE, PREFERENCE_COLUMNS, out):
        row = _Row(PREFERENCES_FILE, line, values, out)
        preference = PreferenceRow(
            student=_known(row, "student_id", student_lines, "student", STUDENTS_FILE),
            opportunity=_known(row, "opportunity_id", opp_lines, "opportunity", OPPORTUNITIES_FILE),
            rank=row.integer(
                "rank", required=True, low=1, what="a positive whole number (1 is best)"
            )
            or 0,
            line=line,
        )
        key = (preference.student, preference.opportunity)
        if row.ok and _unique(PREFERENCES_FILE, "opportunity_id", line, "/".join(key), pairs, out):
            bundle.preferences.append(preference)

    pairs = {}
    for line, values in _read_csv(folder, REVIEWS_FILE, REVIEW_COLUMNS, out, optional=True):
        row = _Row(REVIEWS_FILE, line, values, out)
        review = ReviewRow(
            opportunity=_known(row, "opportunity_id", opp_lines, "opportunity", OPPORTUNITIES_FILE),
            student=_known(row, "student_id", student_lines, "student", STUDENTS_FILE),
            decision=row.choice("decision", DECISIONS),
            rank=row.integer("rank", low=1, what="a positive whole number (1 is best)"),
            line=line,
        )
        key = (review.opportunity, review.student)
        if row.ok and _unique(REVIEWS_FILE, "student_id", line, "/".join(key), pairs, out):
            bundle.reviews.append(review)

    return bundle, out.problems


def _known(row: _Row, column: str, lines: dict[str, int], what: str, file: str) -> str:
    code = row.text(column, required=True, max_len=64)
    if code and code not in lines and file not in row.out.unreadable:
        row.bad(column, f"unknown {what} {code!r} (not in {file})")
    return code


# ---------------------------------------------------------------------------------------------
# Writing


def _fmt(value: Any) -> str:
    """A value as a cell: blank for None, true/false, shortest exact form for numbers."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, tuple | list):
        return ";".join(value)
    return str(value)


def _csv_text(columns: tuple[str, ...], rows: Iterable[tuple[Any, ...]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([_fmt(v) for v in row] for row in rows)
    return buffer.getvalue()


def bundle_files(bundle: Bundle) -> dict[str, str]:
    """Every file of the bundle as ``relative path -> text``."""
    term = bundle.term
    files = {
        TERM_FILE: tomli_w.dumps(
            {
                "name": term.name,
                "start": term.start,
                "end": term.end,
                "timezone": term.timezone,
                "rules": term.rules.to_toml(),
            }
        ),
        STUDENTS_FILE: _csv_text(
            STUDENT_COLUMNS,
            (
                (
                    s.code,
                    s.name,
                    s.email,
                    s.school,
                    s.grade,
                    s.birth_date.isoformat(),
                    s.origin_lat,
                    s.origin_lon,
                    s.origin_address,
                    s.transport,
                    s.max_travel_min,
                    s.available,
                    s.flags,
                    s.guardian_consent,
                    s.work_permit,
                    s.prior_clusters,
                    s.group,
                )
                for s in bundle.students
            ),
        ),
        HOSTS_FILE: _csv_text(
            HOST_COLUMNS,
            (
                (
                    h.code,
                    h.name,
                    h.career_cluster,
                    h.lat,
                    h.lon,
                    h.address,
                    h.max_students,
                    h.mentor_background_checked,
                )
                for h in bundle.hosts
            ),
        ),
        OPPORTUNITIES_FILE: _csv_text(
            OPPORTUNITY_COLUMNS,
            (
                (
                    o.code,
                    o.host,
                    o.kind,
                    o.title,
                    o.career_cluster,
                    o.capacity,
                    o.schedule,
                    o.min_age,
                    o.min_grade,
                    o.requires_consent,
                    o.requires_work_permit,
                    o.hazardous,
                    o.remote,
                    o.hours,
                )
                for o in bundle.opportunities
            ),
        ),
        PREFERENCES_FILE: _csv_text(
            PREFERENCE_COLUMNS, ((p.student, p.opportunity, p.rank) for p in bundle.preferences)
        ),
    }
    if bundle.reviews:
        files[REVIEWS_FILE] = _csv_text(
            REVIEW_COLUMNS,
            ((r.opportunity, r.student, r.decision, r.rank) for r in bundle.reviews),
        )
    for path, text in bundle.calendars.items():
        files[path] = text
    return files


def write_bundle(bundle: Bundle, folder: Path | str) -> list[Path]:
    """Write the bundle's files into ``folder``; each file appears whole or not at all."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = bundle_files(bundle)
    written: list[Path] = []
    # Stage everything first so a failure (disk full, bad path) leaves the old files alone.
    staging = Path(tempfile.mkdtemp(prefix=".wbl-export-", dir=folder))
    try:
        for relative, text in files.items():
            staged = staging / relative
            staged.parent.mkdir(parents=True, exist_ok=True)
            staged.write_text(text, encoding="utf-8", newline="")
        for relative in files:
            target = folder / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / relative, target)
            written.append(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return written
