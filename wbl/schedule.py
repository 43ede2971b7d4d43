"""Schedules and availability: the two time syntaxes of the term bundle.

``parse_windows`` reads a student's ``available`` column (weekly windows such as
``Tue,Thu 13:00-16:00|Mon-Fri 08:00-10:00``); ``parse_schedule`` reads an opportunity's
``schedule`` column (dated sessions, a weekly pattern, a flexible span, or an ``ics:`` calendar)
into the slots the solver places students in. Both are pure: no database, no Flask, and a
calendar file is read only through the ``read_calendar`` callback the caller supplies.

Time semantics, decided here so every caller agrees:

- All session times are wall-clock times in the term's timezone, built with ``zoneinfo`` per
  date, so a weekly 13:30 session stays 13:30 local across a daylight-saving change.
- A wall time that does not exist (inside a spring-forward gap) is read with the UTC offset in
  force before the change (PEP 495, ``fold=0``) and then shown as the real local time it
  denotes: 02:30 on a day the clocks jump from 02:00 to 03:00 becomes 03:30. A session that,
  so read, ends before it starts (02:30-03:00 that day) is an error. An ambiguous wall time
  (fall-back hour) means the first of its two occurrences.
- Hours are elapsed hours (from UTC instants), so a session spanning a clock change counts the
  time that really passes.
- ``24:00`` is accepted only as the end of an availability window, meaning end of day, and is
  held as ``END_OF_DAY`` (``time.max``). Sessions must end by 23:59 on the day they start.
- Availability windows on the same day that overlap or touch are merged, so a session that fits
  the student's combined availability fits one window.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar
import recurring_ical_events

END_OF_DAY = time.max
"""How a window ending at ``24:00`` is held; it formats back as ``24:00``."""

DAY_ABBREVIATIONS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

_DAY_NAMES = {
    "mon": 0,
    "monday": 0,
    "tue": 1,
    "tues": 1,
    "tuesday": 1,
    "wed": 2,
    "weds": 2,
    "wednesday": 2,
    "thu": 3,
    "thur": 3,
    "thurs": 3,
    "thursday": 3,
    "fri": 4,
    "friday": 4,
    "sat": 5,
    "saturday": 5,
    "sun": 6,
    "sunday": 6,
}

# Spreadsheets like to turn "-" into an en dash; both mean a range.
_DASH = re.compile(r"\s*[-–]\s*")
_TIME = re.compile(r"(\d{1,2}):(\d{2})")
_TIME_RANGE = re.compile(r"(\S+?)\s*[-–]\s*(\S+)")
_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_SPAN = re.compile(r"(\d[\d-]*)/(\d[\d-]*)\s+(.+)", re.DOTALL)
_SESSION_START = re.compile(r"\d{4}-\d{1,2}-\d{1,2}\s")
_SESSION = re.compile(r"(\S+)\s+(.+)", re.DOTALL)
_DIGIT = re.compile(r"\d")

_SHAPES = (
    'dated sessions "2027-02-10 09:00-12:00;2027-02-17 09:00-12:00", '
    'weekly "2027-02-01/2027-04-30 Tue,Thu 13:30-16:30", '
    'flexible "2027-02-01/2027-03-15 flexible", or "ics:calendars/NAME.ics"'
)


class ScheduleError(ValueError):
    """A schedule or availability text that cannot be used.

    ``problems`` lists every problem found; ``str(e)`` joins them into one user-facing message,
    e.g. ``session 2027-02-30 09:00-12:00: day is out of range for month``.
    """

    def __init__(self, *problems: str) -> None:
        self.problems: tuple[str, ...] = problems
        super().__init__("; ".join(problems))


class _Problem(Exception):
    """One thing wrong with a fragment; the caller adds which piece it was in."""


@dataclass(frozen=True)
class Window:
    """A weekly availability window: ``weekday`` 0 = Monday .. 6 = Sunday, ``start < end``."""

    weekday: int
    start: time
    end: time

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday must be 0..6, not {self.weekday}")
        if not self.start < self.end:
            raise ValueError(f"window start {self.start} is not before its end {self.end}")


DEFAULT_WINDOWS: tuple[Window, ...] = tuple(Window(d, time(8), time(18)) for d in range(5))
"""What a blank ``available`` means: any weekday, 08:00-18:00."""


@dataclass(frozen=True)
class SlotPlan:
    """One placeable slot of an opportunity, as read from its schedule.

    ``sessions`` are timezone-aware in the term's timezone, sorted, each ``start < end`` on one
    day; a flexible slot has none. ``weekly_hours`` is the busiest ISO week (flexible: ``hours``
    over the number of ISO weeks the span touches) and ``total_hours`` the sum.
    """

    label: str
    sessions: tuple[tuple[datetime, datetime], ...]
    flexible: bool
    span_start: date
    span_end: date
    weekly_hours: float
    total_hours: float


# --- availability windows -------------------------------------------------------------------


def parse_windows(text: str) -> tuple[Window, ...]:
    """Read an ``available`` cell into windows sorted by (weekday, start).

    Blank text means ``DEFAULT_WINDOWS``. Raises ``ScheduleError`` naming every bad window.
    """
    if not text or not text.strip():
        return DEFAULT_WINDOWS
    problems: list[str] = []
    windows: set[Window] = set()
    for raw in text.split("|"):
        piece = raw.strip()
        if not piece:
            continue
        try:
            days, start, end = _parse_days_and_range(piece, allow_end_of_day=True)
        except _Problem as e:
            problems.append(f"window {piece}: {e}")
            continue
        windows.update(Window(d, start, end) for d in days)
    if problems:
        raise ScheduleError(*problems)
    if not windows:
        raise ScheduleError(f'no availability windows in "{text.strip()}"')
    return _merge_windows(windows)


def format_windows(windows: Iterable[Window]) -> str:
    """Canonical text for windows, days sharing a time range grouped: ``Tue,Thu 13:00-16:00``.

    ``parse_windows(format_windows(w)) == w`` for anything ``parse_windows`` returns.
    """
    by_range: dict[tuple[time, time], set[int]] = {}
    for w in windows:
        by_range.setdefault((w.start, w.end), set()).add(w.weekday)
    groups = sorted(by_range.items(), key=lambda item: (min(item[1]), item[0]))
    return "|".join(
        f"{_format_days(days)} {_format_time(start)}-{_format_time(end)}"
        for (start, end), days in groups
    )


def _merge_windows(windows: Iterable[Window]) -> tuple[Window, ...]:
    # Touching windows merge too: Tue 09:00-12:00 and Tue 12:00-15:00 must admit 11:00-13:00.
    merged: list[Window] = []
    for w in sorted(windows, key=lambda w: (w.weekday, w.start, w.end)):
        last = merged[-1] if merged else None
        if last is not None and last.weekday == w.weekday and w.start <= last.end:
            if w.end > last.end:
                merged[-1] = Window(last.weekday, last.start, w.end)
        else:
            merged.append(w)
    return tuple(merged)


# --- shared fragments -----------------------------------------------------------------------


def _parse_days_and_range(
    piece: str, *, allow_end_of_day: bool
) -> tuple[frozenset[int], time, time]:
    """``DAYS HH:MM-HH:MM``: day names never contain digits, so the first digit splits them."""
    digit = _DIGIT.search(piece)
    if digit is None:
        raise _Problem("missing time range (e.g. 13:00-17:00)")
    days_text = piece[: digit.start()].strip()
    if not days_text:
        raise _Problem("missing days (e.g. Tue,Thu)")
    days = _parse_days(days_text)
    start, end = _parse_time_range(piece[digit.start() :].strip(), allow_end_of_day)
    return days, start, end


def _parse_days(text: str) -> frozenset[int]:
    days: set[int] = set()
    for raw in text.split(","):
        token = raw.strip()
        if not token:
            raise _Problem(f'empty day in "{text}"')
        ends = _DASH.split(token)
        if len(ends) == 1:
            days.add(_parse_day(token))
        elif len(ends) == 2:
            first, last = _parse_day(ends[0]), _parse_day(ends[1])
            if last < first:
                raise _Problem(f'day range "{token}" runs backwards (write e.g. Mon-Fri)')
            days.update(range(first, last + 1))
        else:
            raise _Problem(f'bad day range "{token}"')
    return frozenset(days)


def _parse_day(name: str) -> int:
    day = _DAY_NAMES.get(name.strip().lower())
    if day is None:
        raise _Problem(f'unknown day "{name.strip()}" (use Mon Tue Wed Thu Fri Sat Sun)')
    return day


def _parse_time_range(text: str, allow_end_of_day: bool) -> tuple[time, time]:
    match = _TIME_RANGE.fullmatch(text)
    if match is None:
        raise _Problem(f'bad time range "{text}" (expected e.g. 13:00-17:00)')
    start = _parse_time(match[1], allow_end_of_day=False)
    end = _parse_time(match[2], allow_end_of_day=allow_end_of_day)
    if end <= start:
        raise _Problem(f"end {match[2]} is not after start {match[1]}")
    return start, end


def _parse_time(text: str, *, allow_end_of_day: bool) -> time:
    match = _TIME.fullmatch(text)
    if match is None:
        raise _Problem(f'bad time "{text}" (expected HH:MM)')
    hour, minute = int(match[1]), int(match[2])
    if hour == 24 and minute == 0:
        if allow_end_of_day:
            return END_OF_DAY
        raise _Problem('bad time "24:00" (only an availability window may end at 24:00)')
    if hour > 23 or minute > 59:
        raise _Problem(f'bad time "{text}"')
    return time(hour, minute)


def _parse_date(text: str) -> date:
    match = _DATE.fullmatch(text)
    if match is None:
        raise _Problem(f'bad date "{text}" (expected YYYY-MM-DD)')
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError as e:
        raise _Problem(str(e)) from None


def _format_time(t: time) -> str:
    return "24:00" if t == END_OF_DAY else f"{t.hour:02d}:{t.minute:02d}"


def _format_days(days: Iterable[int]) -> str:
    """Runs of three or more days become ranges (``Mon-Wed,Fri``); pairs stay a list."""
    ordered = sorted(set(days))
    parts: list[str] = []
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        if j - i >= 2:
            parts.append(f"{DAY_ABBREVIATIONS[ordered[i]]}-{DAY_ABBREVIATIONS[ordered[j]]}")
        else:
            parts.extend(DAY_ABBREVIATIONS[d] for d in ordered[i : j + 1])
        i = j + 1
    return ",".join(parts)


# --- schedules ------------------------------------------------------------------------------


def parse_schedule(
    text: str,
    *,
    tz: str | ZoneInfo,
    term_start: date,
    term_end: date,
    hours: float | None = None,
    read_calendar: Callable[[str], bytes] | None = None,
) -> tuple[SlotPlan, ...]:
    """Read an opportunity's ``schedule`` cell into its slots.

    Dated sessions give one slot per session, in the order written; a weekly pattern or a
    flexible span gives one slot; an ``ics:`` calendar gives one slot per event (UID), in file
    order. ``hours`` is read only for a flexible span. ``read_calendar`` maps the path after
    ``ics:`` to the file's bytes. Raises ``ScheduleError`` listing every problem found.
    """
    zone = _zone(tz)
    stripped = text.strip() if text else ""
    if not stripped:
        raise ScheduleError(f"schedule is empty; expected {_SHAPES}")
    if stripped[:4].lower() == "ics:":
        return _parse_ics(stripped[4:].strip(), zone, term_start, term_end, read_calendar)
    span = _SPAN.fullmatch(stripped)
    if span is not None:
        return (_parse_span(span, zone, term_start, term_end, hours),)
    if _SESSION_START.match(stripped):
        return _parse_dated(stripped, zone, term_start, term_end)
    raise ScheduleError(f'schedule "{stripped}" is not one of: {_SHAPES}')


def weekly_hours(sessions: Sequence[tuple[datetime, datetime]], tz: str | tzinfo) -> float:
    """Hours in the busiest ISO week (Monday to Sunday in ``tz``); a session counts in the week
    it starts. No sessions: 0.0."""
    zone = _zone(tz)
    per_week: dict[tuple[int, int], float] = {}
    for start, end in sessions:
        iso = start.astimezone(zone).isocalendar()
        key = (iso.year, iso.week)
        per_week[key] = per_week.get(key, 0.0) + _hours(start, end)
    return max(per_week.values(), default=0.0)


def _parse_dated(text: str, zone: tzinfo, term_start: date, term_end: date) -> tuple[SlotPlan, ...]:
    problems: list[str] = []
    slots: list[SlotPlan] = []
    for raw in text.split(";"):
        piece = raw.strip()
        if not piece:
            continue  # a trailing ";" is harmless
        match = _SESSION.fullmatch(piece)
        try:
            if match is None:
                raise _Problem("expected YYYY-MM-DD HH:MM-HH:MM")
            day = _parse_date(match[1])
            start_t, end_t = _parse_time_range(match[2].strip(), allow_end_of_day=False)
            outside = _outside_term(day, term_start, term_end)
            if outside:
                problems.append(f"session {piece} {outside}")
                continue
            begins, ends, hours = _session(day, start_t, end_t, zone)
        except _Problem as e:
            problems.append(f"session {piece}: {e}")
            continue
        label = f"{day.isoformat()} {_format_time(start_t)}-{_format_time(end_t)}"
        slots.append(SlotPlan(label, ((begins, ends),), False, day, day, hours, hours))
    if problems:
        raise ScheduleError(*problems)
    if not slots:
        raise ScheduleError(f'schedule "{text}" has no sessions')
    return tuple(slots)


def _parse_span(
    match: re.Match[str], zone: tzinfo, term_start: date, term_end: date, hours: float | None
) -> SlotPlan:
    span_text = f"{match[1]}/{match[2]}"
    problems: list[str] = []
    dates: list[date] = []
    for part in (match[1], match[2]):
        try:
            dates.append(_parse_date(part))
        except _Problem as e:
            problems.append(f"span {span_text}: {part}: {e}")
    if problems:
        raise ScheduleError(*problems)
    first, last = dates
    if last < first:
        raise ScheduleError(f"span {span_text} ends before it starts")
    rest = match[3].strip()
    if rest.lower() == "flexible":
        return _flexible_slot(first, last, term_start, term_end, hours)
    return _weekly_slot(first, last, rest, zone, term_start, term_end)


def _flexible_slot(
    first: date, last: date, term_start: date, term_end: date, hours: float | None
) -> SlotPlan:
    span_text = f"{first.isoformat()}/{last.isoformat()}"
    problems: list[str] = []
    if hours is None or not math.isfinite(hours) or hours <= 0:
        problems.append("a flexible schedule needs hours > 0")
    if first < term_start:
        problems.append(f"flexible span {span_text} starts before the term starts on {term_start}")
    if last > term_end:
        problems.append(f"flexible span {span_text} ends after the term ends on {term_end}")
    if problems:
        raise ScheduleError(*problems)
    assert hours is not None  # for the type checker; checked above
    weeks = (_monday(last) - _monday(first)).days // 7 + 1
    return SlotPlan(f"flexible {span_text}", (), True, first, last, hours / weeks, float(hours))


def _weekly_slot(
    first: date, last: date, pattern: str, zone: tzinfo, term_start: date, term_end: date
) -> SlotPlan:
    try:
        days, start_t, end_t = _parse_days_and_range(pattern, allow_end_of_day=False)
    except _Problem as e:
        raise ScheduleError(f"weekly {pattern}: {e}") from None
    dates = sorted(
        first + timedelta(days=offset)
        for weekday in days
        for offset in range((weekday - first.weekday()) % 7, (last - first).days + 1, 7)
    )
    span_text = f"{first.isoformat()}/{last.isoformat()}"
    days_text = _format_days(days)
    if not dates:
        raise ScheduleError(f"span {span_text} contains no {days_text}")
    times_text = f"{_format_time(start_t)}-{_format_time(end_t)}"
    problems = [
        f"session {d.isoformat()} {times_text} {outside}"
        for d in (dates[0], dates[-1])
        if (outside := _outside_term(d, term_start, term_end))
    ]
    if problems:
        raise ScheduleError(*dict.fromkeys(problems))
    sessions: list[tuple[datetime, datetime]] = []
    per_week: dict[tuple[int, int], float] = {}
    total = 0.0
    try:
        for d in dates:
            begins, ends, hours = _session(d, start_t, end_t, zone)
            sessions.append((begins, ends))
            # The session's local date is d, so its ISO week needs no timezone work.
            iso = d.isocalendar()
            per_week[iso.year, iso.week] = per_week.get((iso.year, iso.week), 0.0) + hours
            total += hours
    except _Problem as e:
        raise ScheduleError(f"weekly {pattern}: {e}") from None
    return SlotPlan(
        label=f"{days_text} {times_text} from {first.isoformat()}",
        sessions=tuple(sessions),
        flexible=False,
        span_start=dates[0],
        span_end=dates[-1],
        weekly_hours=max(per_week.values()),
        total_hours=total,
    )


# --- ics calendars --------------------------------------------------------------------------


def _parse_ics(
    path: str,
    zone: tzinfo,
    term_start: date,
    term_end: date,
    read_calendar: Callable[[str], bytes] | None,
) -> tuple[SlotPlan, ...]:
    if not path:
        raise ScheduleError('an ics schedule needs a calendar path, e.g. "ics:calendars/NAME.ics"')
    if read_calendar is None:
        raise ScheduleError(f"calendar file {path} not found")
    try:
        data = read_calendar(path)
    except FileNotFoundError:
        raise ScheduleError(f"calendar file {path} not found") from None
    except OSError as e:
        raise ScheduleError(f"calendar file {path} could not be read: {e.strerror or e}") from None
    try:
        calendar = icalendar.Calendar.from_ical(data)
    # Any failure of the third-party parser on user input must become a message, not a crash.
    except Exception as e:
        raise ScheduleError(f"calendar file {path} is not valid iCalendar: {e}") from None
    if calendar.name != "VCALENDAR":
        raise ScheduleError(f"calendar file {path} is not an iCalendar file (no VCALENDAR)")
    events = calendar.walk("VEVENT")
    if not events:
        raise ScheduleError(f"calendar file {path} has no events (VEVENT)")

    problems: list[str] = []
    order: dict[str, None] = {}
    labels: dict[str, str] = {}
    recurring: dict[str, bool] = {}
    masters: dict[str, icalendar.Event] = {}
    for number, event in enumerate(events, start=1):
        if "UID" not in event:
            # recurring_ical_events would group by object id, which we cannot read back.
            event.add("UID", f"event {number}")
        uid = str(event["UID"])
        summary = str(event.get("SUMMARY", "")).strip()
        is_override = "RECURRENCE-ID" in event
        if summary and (uid not in labels or not is_override):
            labels[uid] = summary
        labels.setdefault(uid, uid)
        order.setdefault(uid, None)
        if not is_override:
            masters[uid] = event
            recurring[uid] = "RRULE" in event or "RDATE" in event
        problems.extend(_event_problems(event, summary or uid, zone))
    if problems:
        raise ScheduleError(*(f"calendar file {path}: {p}" for p in problems))

    # Two days either side cover any UTC offset; the exact cut is by local date below.
    query_start = datetime.combine(term_start - timedelta(days=2), time())
    query_end = datetime.combine(term_end + timedelta(days=3), time())
    try:
        occurrences = recurring_ical_events.of(calendar).between(query_start, query_end)
    except Exception as e:  # same reason as for the parser above
        raise ScheduleError(f"calendar file {path}: {e}") from None

    sessions: dict[str, list[tuple[datetime, datetime]]] = {uid: [] for uid in order}
    faulty: set[str] = set()
    for occurrence in occurrences:
        uid = str(occurrence["UID"])
        start, end = occurrence["DTSTART"].dt, occurrence["DTEND"].dt
        if not isinstance(start, datetime) or not isinstance(end, datetime):
            # An RDATE given as a bare date, say, on an otherwise timed event.
            problems.append(f'event "{labels[uid]}" has an all-day occurrence on {start}')
            faulty.add(uid)
            continue
        start, end = _to_zone(start, zone), _to_zone(end, zone)
        if not term_start <= start.date() <= term_end:
            continue  # a recurring event is clipped to the term
        problem = _same_day_problem(start, end)
        if problem:
            session_text = _format_session(start, end)
            problems.append(f'event "{labels[uid]}": session {session_text} {problem}')
            faulty.add(uid)
            continue
        sessions[uid].append((start, end))

    for uid, found in sessions.items():
        if found or uid in faulty:
            continue
        master = masters.get(uid)
        if master is not None and not recurring[uid]:
            # A one-off event outside the term is the same mistake as a dated session there.
            start = _to_zone(master["DTSTART"].dt, zone)
            end = _to_zone(_event_end(master), zone)
            outside = _outside_term(start.date(), term_start, term_end) or "is outside the term"
            problems.append(
                f'event "{labels[uid]}": session {_format_session(start, end)} {outside}'
            )
        else:
            problems.append(
                f'event "{labels[uid]}" has no sessions between {term_start} and {term_end}'
            )
    if problems:
        raise ScheduleError(*(f"calendar file {path}: {p}" for p in problems))

    slots = []
    for uid in order:
        found = sorted(sessions[uid], key=lambda s: (s[0].timestamp(), s[1].timestamp()))
        slots.append(
            SlotPlan(
                label=labels[uid],
                sessions=tuple(found),
                flexible=False,
                span_start=found[0][0].date(),
                span_end=found[-1][0].date(),
                weekly_hours=weekly_hours(found, zone),
                total_hours=sum(_hours(s, e) for s, e in found),
            )
        )
    return tuple(slots)


def _event_problems(event: icalendar.Event, label: str, zone: tzinfo) -> list[str]:
    # icalendar >= 7 keeps unparseable properties and lists them instead of raising.
    errors = getattr(event, "errors", ())
    problems = [f'event "{label}": {name}: {message}' for name, message in errors]
    if problems:
        return problems
    if "DTSTART" not in event:
        return [f'event "{label}" has no DTSTART']
    if not isinstance(event["DTSTART"].dt, datetime):
        return [f'event "{label}" is an all-day event; give it a start and an end time']
    if "DTEND" not in event and "DURATION" not in event:
        return [f'event "{label}" has neither DTEND nor DURATION']
    if any(isinstance(extra, date) and not isinstance(extra, datetime) for extra in _rdates(event)):
        # recurring_ical_events would turn a date-only RDATE into a session at midnight.
        return [f'event "{label}" has an all-day RDATE; give every date a start time']
    end = _event_end(event)
    if not isinstance(end, datetime):
        return [f'event "{label}" has a date-only end; give it an end time']
    start = _to_zone(event["DTSTART"].dt, zone)
    end = _to_zone(end, zone)
    problem = _same_day_problem(start, end)
    if problem:
        return [f'event "{label}": session {_format_session(start, end)} {problem}']
    return []


def _rdates(event: icalendar.Event) -> list[object]:
    found = event.get("RDATE", [])
    properties = found if isinstance(found, list) else [found]
    return [value.dt for prop in properties for value in prop.dts]


def _event_end(event: icalendar.Event) -> datetime:
    if "DTEND" in event:
        return event["DTEND"].dt
    return event["DTSTART"].dt + event["DURATION"].dt


def _to_zone(moment: datetime, zone: tzinfo) -> datetime:
    if moment.tzinfo is None:
        # Floating time: wall-clock time wherever the term is.
        moment = moment.replace(tzinfo=zone)
    # Via UTC even when already in ``zone``: astimezone to the same tzinfo is a no-op and would
    # keep a wall time that lies in a DST gap.
    return _normalize(moment, zone)


def _format_session(start: datetime, end: datetime) -> str:
    return f"{start.date().isoformat()} {start:%H:%M}-{end:%H:%M}"


# --- time helpers ---------------------------------------------------------------------------


def _zone(tz: str | tzinfo) -> tzinfo:
    if not isinstance(tz, str):
        return tz
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f'unknown timezone "{tz}"') from None


def _normalize(moment: datetime, zone: tzinfo) -> datetime:
    """The real local time a wall time denotes: only a time in a DST gap changes (see top)."""
    return moment.astimezone(UTC).astimezone(zone)


def _session(day: date, start: time, end: time, zone: tzinfo) -> tuple[datetime, datetime, float]:
    """A session's local start and end on ``day``, and its elapsed hours."""
    start_utc = datetime.combine(day, start, tzinfo=zone).astimezone(UTC)
    end_utc = datetime.combine(day, end, tzinfo=zone).astimezone(UTC)
    if end_utc <= start_utc:
        raise _Problem(
            f"ends before it starts once the daylight-saving gap on {day.isoformat()} is skipped"
        )
    # Back from UTC rather than keeping the combined values, so a wall time in a DST gap
    # becomes the real local time it denotes (see the module docstring).
    hours = (end_utc - start_utc).total_seconds() / 3600
    return start_utc.astimezone(zone), end_utc.astimezone(zone), hours


def _hours(start: datetime, end: datetime) -> float:
    # Timestamps, not end - start: aware datetimes sharing a tzinfo subtract as wall times.
    return (end.timestamp() - start.timestamp()) / 3600


def _same_day_problem(start: datetime, end: datetime) -> str:
    if end.timestamp() <= start.timestamp():
        return "does not end after it starts"
    if end.date() != start.date():
        return "crosses midnight (a session must end on the day it starts)"
    return ""


def _outside_term(day: date, term_start: date, term_end: date) -> str:
    if day < term_start:
        return f"is before the term starts on {term_start.isoformat()}"
    if day > term_end:
        return f"is after the term ends on {term_end.isoformat()}"
    return ""


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())
