"""Schedules and availability windows: the time syntaxes of the term bundle."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wbl.schedule import (
    DEFAULT_WINDOWS,
    END_OF_DAY,
    ScheduleError,
    SlotPlan,
    Window,
    format_windows,
    parse_schedule,
    parse_windows,
    weekly_hours,
)

TZ = "America/Denver"
DENVER = ZoneInfo(TZ)
TERM_START = date(2027, 1, 11)
TERM_END = date(2027, 5, 28)
MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


def parse(text: str, **kwargs: object) -> tuple[SlotPlan, ...]:
    options: dict[str, object] = {"tz": TZ, "term_start": TERM_START, "term_end": TERM_END}
    options.update(kwargs)
    return parse_schedule(text, **options)  # type: ignore[arg-type]


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=DENVER)  # type: ignore[misc]


def offset_hours(moment: datetime) -> float:
    offset = moment.utcoffset()
    assert offset is not None
    return offset.total_seconds() / 3600


def calendar(*events: str, extra: str = "") -> bytes:
    """An iCalendar file around the given VEVENT bodies (property lines, one per line)."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//wbl tests//EN"]
    if extra:
        lines.append(extra)
    for body in events:
        lines += ["BEGIN:VEVENT", *body.strip().splitlines(), "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return ("\r\n".join(line.strip() for line in lines) + "\r\n").encode()


def reader(files: dict[str, bytes]) -> Callable[[str], bytes]:
    def read(path: str) -> bytes:
        if path not in files:
            raise FileNotFoundError(path)
        return files[path]

    return read


def parse_ics(content: bytes, **kwargs: object) -> tuple[SlotPlan, ...]:
    return parse(
        "ics:calendars/host.ics", read_calendar=reader({"calendars/host.ics": content}), **kwargs
    )


def error_of(call: Callable[[], object]) -> str:
    with pytest.raises(ScheduleError) as info:
        call()
    return str(info.value)


# --- availability windows ---------------------------------------------------------------------


def test_parse_windows_pipe_separated() -> None:
    assert parse_windows("Tue 13:00-17:00|Thu 13:00-17:00") == (
        Window(TUE, time(13), time(17)),
        Window(THU, time(13), time(17)),
    )


def test_parse_windows_comma_day_list() -> None:
    assert parse_windows("Tue,Thu 13:00-16:00") == (
        Window(TUE, time(13), time(16)),
        Window(THU, time(13), time(16)),
    )


def test_parse_windows_day_range() -> None:
    windows = parse_windows("Mon-Fri 14:00-17:00")
    assert [w.weekday for w in windows] == [MON, TUE, WED, THU, FRI]
    assert {(w.start, w.end) for w in windows} == {(time(14), time(17))}


def test_parse_windows_ranges_mixed_with_days() -> None:
    windows = parse_windows("Mon-Wed,Fri 09:00-12:00")
    assert [w.weekday for w in windows] == [MON, TUE, WED, FRI]


def test_parse_windows_day_names_any_case_and_full() -> None:
    assert parse_windows("tuesday, THU 9:00 - 16:00") == parse_windows("Tue,Thu 09:00-16:00")


def test_parse_windows_blank_means_weekdays_8_to_6() -> None:
    assert parse_windows("") == DEFAULT_WINDOWS
    assert parse_windows("   ") == DEFAULT_WINDOWS
    assert format_windows(DEFAULT_WINDOWS) == "Mon-Fri 08:00-18:00"


def test_parse_windows_sorted_by_day_then_start() -> None:
    windows = parse_windows("Thu 15:00-17:00|Sat 09:00-10:00|Thu 08:00-09:00|Mon 12:00-13:00")
    assert [(w.weekday, w.start) for w in windows] == [
        (MON, time(12)),
        (THU, time(8)),
        (THU, time(15)),
        (SAT, time(9)),
    ]


def test_parse_windows_merges_overlapping_and_touching_windows() -> None:
    # Available 09:00-15:00 on Wednesday, so a 11:00-14:00 session must fit one window.
    windows = parse_windows("Mon-Fri 09:00-12:00|Wed 12:00-15:00|Wed 10:00-11:00")
    assert Window(WED, time(9), time(15)) in windows
    assert len(windows) == 5


def test_parse_windows_24_00_ends_the_day() -> None:
    (window,) = parse_windows("Sat 18:00-24:00")
    assert window == Window(SAT, time(18), END_OF_DAY)
    assert format_windows([window]) == "Sat 18:00-24:00"


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("Tue 13:00-17:00|Xyz 13:00-17:00", "Xyz"),
        ("Tue 25:00-26:00", "25:00"),
        ("Tue 13:61-14:00", "13:61"),
        ("Tue 17:00-13:00", "Tue 17:00-13:00"),
        ("Tue 13:00-13:00", "Tue 13:00-13:00"),
        ("Tue", "Tue"),
        ("13:00-17:00", "13:00-17:00"),
        ("Fri-Mon 09:00-12:00", "Fri-Mon"),
        ("Tue 24:00-24:00", "24:00"),
        ("Tue 1pm-5pm", "1pm-5pm"),
    ],
)
def test_parse_windows_bad_window_names_the_piece(text: str, quoted: str) -> None:
    message = error_of(lambda: parse_windows(text))
    assert quoted in message
    assert "window" in message


def test_parse_windows_reports_every_bad_window() -> None:
    with pytest.raises(ScheduleError) as info:
        parse_windows("Xyz 09:00-10:00|Tue 13:00-17:00|Thu 25:00-26:00")
    assert len(info.value.problems) == 2
    assert "Xyz" in str(info.value)
    assert "25:00" in str(info.value)


def test_format_windows_groups_days_sharing_a_range() -> None:
    windows = parse_windows("Thu 13:00-16:00|Tue 13:00-16:00|Wed 09:00-10:00")
    assert format_windows(windows) == "Tue,Thu 13:00-16:00|Wed 09:00-10:00"


def test_format_windows_writes_runs_of_days_as_ranges() -> None:
    windows = parse_windows("Mon 09:00-12:00|Tue 09:00-12:00|Wed 09:00-12:00|Fri 09:00-12:00")
    assert format_windows(windows) == "Mon-Wed,Fri 09:00-12:00"


def test_format_windows_empty_is_blank() -> None:
    assert format_windows([]) == ""


def test_window_rejects_end_not_after_start() -> None:
    with pytest.raises(ValueError):
        Window(TUE, time(13), time(13))


@st.composite
def windows_strategy(draw: st.DrawFn) -> Window:
    weekday = draw(st.integers(0, 6))
    start = draw(st.integers(0, 24 * 60 - 1))
    end = draw(st.integers(start + 1, 24 * 60))
    as_time = END_OF_DAY if end == 24 * 60 else time(end // 60, end % 60)
    return Window(weekday, time(start // 60, start % 60), as_time)


def covered_minutes(windows: tuple[Window, ...] | list[Window]) -> set[tuple[int, int]]:
    def minute(t: time) -> int:
        return 24 * 60 if t == END_OF_DAY else t.hour * 60 + t.minute

    return {(w.weekday, m) for w in windows for m in range(minute(w.start), minute(w.end))}


@settings(database=None, derandomize=True, max_examples=300)
@given(st.lists(windows_strategy(), min_size=1, max_size=12))
def test_format_windows_round_trips_through_parse(raw: list[Window]) -> None:
    canonical = parse_windows(format_windows(raw))
    assert parse_windows(format_windows(canonical)) == canonical
    # Formatting and merging never change when the student is available.
    assert covered_minutes(canonical) == covered_minutes(raw)
    assert list(canonical) == sorted(canonical, key=lambda w: (w.weekday, w.start))


# --- dated sessions ---------------------------------------------------------------------------


def test_parse_schedule_dated_sessions_are_one_slot_each() -> None:
    slots = parse("2027-02-10 09:00-12:00;2027-02-17 09:00-12:00")
    assert [s.label for s in slots] == ["2027-02-10 09:00-12:00", "2027-02-17 09:00-12:00"]
    first = slots[0]
    assert first.sessions == ((local(2027, 2, 10, 9), local(2027, 2, 10, 12)),)
    assert not first.flexible
    assert (first.span_start, first.span_end) == (date(2027, 2, 10), date(2027, 2, 10))
    assert first.weekly_hours == first.total_hours == 3.0


def test_parse_schedule_dated_sessions_allow_spaces_around_semicolons() -> None:
    slots = parse(" 2027-02-10 09:00-12:00 ;  2027-02-17 13:00-14:30 ")
    assert [s.total_hours for s in slots] == [3.0, 1.5]


def test_parse_schedule_overlapping_dated_sessions_stay_separate_slots() -> None:
    slots = parse("2027-02-10 09:00-12:00;2027-02-10 09:00-12:00;2027-02-10 11:00-13:00")
    assert len(slots) == 3


def test_parse_schedule_dated_sessions_reports_every_bad_session() -> None:
    with pytest.raises(ScheduleError) as info:
        parse("2027-02-30 09:00-12:00;2027-02-17 09:00-12:00;2027-06-03 09:00-12:00")
    assert info.value.problems == (
        "session 2027-02-30 09:00-12:00: day is out of range for month",
        "session 2027-06-03 09:00-12:00 is after the term ends on 2027-05-28",
    )


# --- weekly -----------------------------------------------------------------------------------


def test_parse_schedule_weekly_is_one_slot_on_every_matching_day() -> None:
    (slot,) = parse("2027-02-01/2027-04-30 Tue,Thu 13:30-16:30")
    assert slot.label == "Tue,Thu 13:30-16:30 from 2027-02-01"
    assert len(slot.sessions) == 26
    assert {s.weekday() for s, _ in slot.sessions} == {TUE, THU}
    assert slot.sessions[0] == (local(2027, 2, 2, 13, 30), local(2027, 2, 2, 16, 30))
    assert slot.sessions[-1] == (local(2027, 4, 29, 13, 30), local(2027, 4, 29, 16, 30))
    assert (slot.span_start, slot.span_end) == (date(2027, 2, 2), date(2027, 4, 29))
    assert slot.weekly_hours == 6.0
    assert slot.total_hours == 78.0


def test_parse_schedule_weekly_span_is_inclusive() -> None:
    # 2027-02-02 and 2027-02-09 are Tuesdays: both ends count.
    (slot,) = parse("2027-02-02/2027-02-09 Tue 13:00-14:00")
    assert [s.date() for s, _ in slot.sessions] == [date(2027, 2, 2), date(2027, 2, 9)]


def test_parse_schedule_weekly_day_range() -> None:
    (slot,) = parse("2027-02-01/2027-02-07 Mon-Wed,Fri 09:00-10:00")
    assert [s.date().day for s, _ in slot.sessions] == [1, 2, 3, 5]


def test_parse_schedule_weekly_keeps_local_time_across_dst() -> None:
    # US daylight saving starts on Sunday 2027-03-14: MST (-07:00) becomes MDT (-06:00).
    (slot,) = parse("2027-03-01/2027-03-31 Tue 13:30-16:30")
    before = slot.sessions[1][0]  # 2027-03-09
    after = slot.sessions[2][0]  # 2027-03-16
    assert before.date() == date(2027, 3, 9)
    assert after.date() == date(2027, 3, 16)
    assert all((s.hour, s.minute) == (13, 30) for s, _ in slot.sessions)
    assert offset_hours(before) == -7
    assert offset_hours(after) == -6
    assert before.isoformat() == "2027-03-09T13:30:00-07:00"
    assert after.isoformat() == "2027-03-16T13:30:00-06:00"
    assert slot.total_hours == 5 * 3.0


def test_parse_schedule_weekly_without_a_matching_day_is_an_error() -> None:
    message = error_of(lambda: parse("2027-02-01/2027-02-03 Fri 09:00-12:00"))
    assert "2027-02-01/2027-02-03" in message
    assert "Fri" in message


def test_parse_schedule_weekly_busiest_week_counts_sessions_per_iso_week() -> None:
    # Wed 3 and Fri 5 fall in one ISO week; Mon 8, Wed 10 and Fri 12 in the next.
    (slot,) = parse("2027-02-03/2027-02-12 Mon,Wed,Fri 09:00-11:00")
    assert len(slot.sessions) == 5
    assert slot.weekly_hours == 6.0
    assert slot.total_hours == 10.0


def test_parse_schedule_weekly_bad_day_names_the_day() -> None:
    message = error_of(lambda: parse("2027-02-01/2027-03-30 Tue,Xyz 13:30-16:30"))
    assert '"Xyz"' in message


def test_parse_schedule_compact_syntax_never_calls_recurring_ical_events(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import recurring_ical_events

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("recurring_ical_events is for ics only")

    monkeypatch.setattr(recurring_ical_events, "of", fail)
    parse("2027-02-01/2027-04-30 Tue,Thu 13:30-16:30")
    parse("2027-02-10 09:00-12:00")


# --- flexible ---------------------------------------------------------------------------------


def test_parse_schedule_flexible_is_one_slot_without_sessions() -> None:
    (slot,) = parse("2027-02-01/2027-03-15 flexible", hours=14)
    assert slot.flexible
    assert slot.sessions == ()
    assert slot.label == "flexible 2027-02-01/2027-03-15"
    assert (slot.span_start, slot.span_end) == (date(2027, 2, 1), date(2027, 3, 15))
    assert slot.total_hours == 14.0


def test_parse_schedule_flexible_hours_spread_over_iso_weeks_touched() -> None:
    # Monday 2027-02-01 to Monday 2027-03-15: weeks of Feb 1, 8, 15, 22, Mar 1, 8, 15.
    assert date(2027, 2, 1).weekday() == MON
    assert date(2027, 3, 15).weekday() == MON
    (slot,) = parse("2027-02-01/2027-03-15 flexible", hours=21)
    assert slot.weekly_hours == pytest.approx(21 / 7)


def test_parse_schedule_flexible_short_span_across_a_weekend_touches_two_weeks() -> None:
    # Friday 2027-02-05 to Monday 2027-02-08.
    (slot,) = parse("2027-02-05/2027-02-08 flexible", hours=10)
    assert slot.weekly_hours == 5.0


@pytest.mark.parametrize("hours", [None, 0, -3, float("nan")])
def test_parse_schedule_flexible_needs_positive_hours(hours: float | None) -> None:
    message = error_of(lambda: parse("2027-02-01/2027-03-15 flexible", hours=hours))
    assert message == "a flexible schedule needs hours > 0"


def test_parse_schedule_flexible_span_outside_the_term_is_an_error() -> None:
    message = error_of(lambda: parse("2027-01-04/2027-06-15 flexible", hours=10))
    assert "2027-01-04/2027-06-15 starts before the term starts on 2027-01-11" in message
    assert "ends after the term ends on 2027-05-28" in message


# --- whole-text rules -------------------------------------------------------------------------


def test_parse_schedule_session_after_the_term_is_an_error() -> None:
    message = error_of(lambda: parse("2027-06-03 09:00-12:00"))
    assert message == "session 2027-06-03 09:00-12:00 is after the term ends on 2027-05-28"


def test_parse_schedule_session_before_the_term_is_an_error() -> None:
    message = error_of(lambda: parse("2027-01-05 09:00-12:00"))
    assert message == "session 2027-01-05 09:00-12:00 is before the term starts on 2027-01-11"


def test_parse_schedule_weekly_session_after_the_term_is_an_error() -> None:
    message = error_of(lambda: parse("2027-05-01/2027-06-30 Tue 13:30-16:30"))
    assert message == "session 2027-06-29 13:30-16:30 is after the term ends on 2027-05-28"


def test_parse_schedule_weekly_span_past_the_term_without_sessions_there_is_fine() -> None:
    # The term ends on Friday 2027-05-28; the span's extra weekend holds no Tuesday.
    (slot,) = parse("2027-05-01/2027-05-30 Tue 13:30-16:30")
    assert slot.span_end == date(2027, 5, 25)


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("2027-02-30 09:00-12:00", "2027-02-30 09:00-12:00: day is out of range for month"),
        ("2027-13-01 09:00-12:00", "2027-13-01"),
        ("2027-02-10 25:00-26:00", '"25:00"'),
        ("2027-02-10 09:00-09:60", '"09:60"'),
        ("2027-02-10 12:00-09:00", "2027-02-10 12:00-09:00"),
        ("2027-02-10 09:00-09:00", "2027-02-10 09:00-09:00"),
        ("2027-02-10 22:00-01:00", "2027-02-10 22:00-01:00"),
        ("2027-02-10 09:00-24:00", '"24:00"'),
        ("2027-02-10 morning", "2027-02-10 morning"),
        ("2027-03-01/2027-02-01 Tue 09:00-12:00", "2027-03-01/2027-02-01 ends before it starts"),
        ("2027-03-01/2027-02-01 flexible", "2027-03-01/2027-02-01 ends before it starts"),
        ("2027-02-01/2027-02-31 flexible", "2027-02-31"),
        ("2027-02-01/2027-03-01 Tue 13:00", "Tue 13:00"),
        ("2027-02-01/2027-03-01 13:00-14:00", "13:00-14:00"),
    ],
)
def test_parse_schedule_bad_piece_is_quoted(text: str, quoted: str) -> None:
    assert quoted in error_of(lambda: parse(text, hours=10))


@pytest.mark.parametrize("text", ["", "   ", "every Tuesday", "Tue 13:00-16:00", "flexible"])
def test_parse_schedule_unknown_shape_lists_the_accepted_ones(text: str) -> None:
    message = error_of(lambda: parse(text))
    assert "2027-02-01/2027-04-30 Tue,Thu 13:30-16:30" in message
    assert "flexible" in message
    assert "ics:" in message
    if text.strip():
        assert text.strip() in message


def test_parse_schedule_unknown_timezone_is_an_error() -> None:
    assert "Mars/Olympus" in error_of(lambda: parse("2027-02-10 09:00-12:00", tz="Mars/Olympus"))


def test_parse_schedule_accepts_a_zoneinfo() -> None:
    (slot,) = parse("2027-02-10 09:00-12:00", tz=ZoneInfo("Europe/London"))
    assert slot.sessions[0][0].isoformat() == "2027-02-10T09:00:00+00:00"


def test_parse_schedule_time_in_the_dst_gap_moves_forward() -> None:
    # On 2027-03-14 Denver clocks jump from 02:00 to 03:00, so 02:30 means 03:30 MDT.
    (slot,) = parse("2027-03-14 02:30-04:00")
    start, end = slot.sessions[0]
    assert start.isoformat() == "2027-03-14T03:30:00-06:00"
    assert end.isoformat() == "2027-03-14T04:00:00-06:00"
    assert slot.total_hours == 0.5


def test_parse_schedule_session_swallowed_by_the_dst_gap_is_an_error() -> None:
    message = error_of(lambda: parse("2027-03-14 02:30-03:00"))
    assert "2027-03-14 02:30-03:00" in message
    assert "daylight-saving" in message


def test_parse_schedule_hours_are_elapsed_across_a_clock_change() -> None:
    # 01:00-04:00 on spring-forward day is only two real hours.
    (slot,) = parse("2027-03-14 01:00-04:00")
    assert slot.total_hours == 2.0


# --- weekly_hours -----------------------------------------------------------------------------


def test_weekly_hours_is_the_busiest_iso_week() -> None:
    sessions = [
        (local(2027, 2, day, 9), local(2027, 2, day, 11))
        for day in (1, 3, 5, 9, 11)  # three sessions in the week of Feb 1, two in the next
    ]
    assert weekly_hours(sessions, TZ) == 6.0


def test_weekly_hours_sunday_and_monday_are_different_weeks() -> None:
    sessions = [
        (local(2027, 2, 7, 9), local(2027, 2, 7, 12)),
        (local(2027, 2, 8, 9), local(2027, 2, 8, 11)),
    ]
    assert weekly_hours(sessions, TZ) == 3.0


def test_weekly_hours_weeks_are_in_the_term_timezone() -> None:
    # 01:00 UTC on Monday Feb 8 is still Sunday Feb 7 in Denver: same week as Monday Feb 1.
    sessions = [
        (local(2027, 2, 1, 9), local(2027, 2, 1, 11)),
        (datetime(2027, 2, 8, 1, tzinfo=UTC), datetime(2027, 2, 8, 3, tzinfo=UTC)),
    ]
    assert weekly_hours(sessions, TZ) == 4.0
    assert weekly_hours(sessions, ZoneInfo("UTC")) == 2.0


def test_weekly_hours_of_nothing_is_zero() -> None:
    assert weekly_hours([], TZ) == 0.0


# --- ics calendars ----------------------------------------------------------------------------


WEEKLY_DENVER = """
    UID:weekly@host
    SUMMARY:Lab internship
    DTSTART;TZID=America/Denver:20270302T133000
    DTEND;TZID=America/Denver:20270302T163000
    RRULE:FREQ=WEEKLY;BYDAY=TU;COUNT=4
"""


def test_parse_schedule_ics_each_event_is_one_slot() -> None:
    content = calendar(
        WEEKLY_DENVER,
        """
        UID:shadow@host
        SUMMARY:Shadow day
        DTSTART:20270210T090000
        DTEND:20270210T120000
        """,
    )
    slots = parse_ics(content)
    assert [s.label for s in slots] == ["Lab internship", "Shadow day"]
    assert len(slots[0].sessions) == 4
    assert slots[1].sessions == ((local(2027, 2, 10, 9), local(2027, 2, 10, 12)),)
    assert not any(s.flexible for s in slots)


def test_parse_schedule_ics_reads_the_named_calendar_file() -> None:
    asked: list[str] = []

    def read(path: str) -> bytes:
        asked.append(path)
        return calendar(WEEKLY_DENVER)

    parse("ics:calendars/lab.ics", read_calendar=read)
    assert asked == ["calendars/lab.ics"]


def test_parse_schedule_ics_rrule_keeps_local_time_across_dst() -> None:
    (slot,) = parse_ics(calendar(WEEKLY_DENVER))
    starts = [s for s, _ in slot.sessions]
    assert [s.date() for s in starts] == [
        date(2027, 3, 2),
        date(2027, 3, 9),
        date(2027, 3, 16),
        date(2027, 3, 23),
    ]
    assert all((s.hour, s.minute) == (13, 30) for s in starts)
    assert starts[1].isoformat() == "2027-03-09T13:30:00-07:00"
    assert starts[2].isoformat() == "2027-03-16T13:30:00-06:00"
    assert all(s.tzinfo == DENVER for s in starts)
    assert slot.weekly_hours == 3.0
    assert slot.total_hours == 12.0
    assert (slot.span_start, slot.span_end) == (date(2027, 3, 2), date(2027, 3, 23))


def test_parse_schedule_ics_exdate_removes_an_occurrence() -> None:
    event = WEEKLY_DENVER + "EXDATE;TZID=America/Denver:20270309T133000\n"
    (slot,) = parse_ics(calendar(event))
    assert [s.date().day for s, _ in slot.sessions] == [2, 16, 23]


def test_parse_schedule_ics_rdate_adds_an_occurrence() -> None:
    event = WEEKLY_DENVER + "RDATE;TZID=America/Denver:20270304T133000\n"
    (slot,) = parse_ics(calendar(event))
    assert [s.date().day for s, _ in slot.sessions] == [2, 4, 9, 16, 23]


def test_parse_schedule_ics_recurrence_id_moves_one_occurrence_within_its_slot() -> None:
    moved = """
        UID:weekly@host
        RECURRENCE-ID;TZID=America/Denver:20270316T133000
        SUMMARY:Lab internship (moved)
        DTSTART;TZID=America/Denver:20270317T090000
        DTEND;TZID=America/Denver:20270317T120000
    """
    (slot,) = parse_ics(calendar(WEEKLY_DENVER, moved))
    assert slot.label == "Lab internship"
    assert [s for s, _ in slot.sessions] == [
        local(2027, 3, 2, 13, 30),
        local(2027, 3, 9, 13, 30),
        local(2027, 3, 17, 9),
        local(2027, 3, 23, 13, 30),
    ]


def test_parse_schedule_ics_floating_times_are_in_the_term_timezone() -> None:
    event = """
        UID:floating@host
        SUMMARY:Floating
        DTSTART:20270316T133000
        DTEND:20270316T150000
    """
    (slot,) = parse_ics(calendar(event))
    start, end = slot.sessions[0]
    assert start.isoformat() == "2027-03-16T13:30:00-06:00"
    assert end.isoformat() == "2027-03-16T15:00:00-06:00"


def test_parse_schedule_ics_utc_times_are_converted_to_the_term_timezone() -> None:
    event = """
        UID:utc@host
        SUMMARY:UTC
        DTSTART:20270210T160000Z
        DTEND:20270210T190000Z
    """
    (slot,) = parse_ics(calendar(event))
    assert slot.sessions[0] == (local(2027, 2, 10, 9), local(2027, 2, 10, 12))
    assert slot.sessions[0][0].tzinfo == DENVER


def test_parse_schedule_ics_duration_stands_in_for_dtend() -> None:
    event = """
        UID:duration@host
        SUMMARY:Duration
        DTSTART:20270210T090000
        DURATION:PT2H30M
    """
    (slot,) = parse_ics(calendar(event))
    assert slot.sessions[0][1] == local(2027, 2, 10, 11, 30)
    assert slot.total_hours == 2.5


def test_parse_schedule_ics_event_without_end_or_duration_is_an_error() -> None:
    event = """
        UID:open@host
        SUMMARY:Open ended
        DTSTART:20270210T090000
    """
    message = error_of(lambda: parse_ics(calendar(event)))
    assert "Open ended" in message
    assert "DTEND" in message


def test_parse_schedule_ics_label_falls_back_to_uid() -> None:
    event = """
        UID:no-summary@host
        DTSTART:20270210T090000
        DTEND:20270210T100000
    """
    (slot,) = parse_ics(calendar(event))
    assert slot.label == "no-summary@host"


def test_parse_schedule_ics_all_day_event_is_an_error() -> None:
    event = """
        UID:allday@host
        SUMMARY:Career fair
        DTSTART;VALUE=DATE:20270210
        DTEND;VALUE=DATE:20270211
    """
    message = error_of(lambda: parse_ics(calendar(event)))
    assert "Career fair" in message
    assert "all-day" in message


def test_parse_schedule_ics_all_day_rdate_is_an_error() -> None:
    event = WEEKLY_DENVER + "RDATE;VALUE=DATE:20270304\n"
    message = error_of(lambda: parse_ics(calendar(event)))
    assert "Lab internship" in message
    assert "all-day RDATE" in message


def test_parse_schedule_ics_event_crossing_midnight_is_an_error() -> None:
    event = """
        UID:late@host
        SUMMARY:Night shift
        DTSTART:20270210T220000
        DTEND:20270211T020000
    """
    message = error_of(lambda: parse_ics(calendar(event)))
    assert "Night shift" in message
    assert "midnight" in message


def test_parse_schedule_ics_recurring_event_is_clipped_to_the_term() -> None:
    event = """
        UID:forever@host
        SUMMARY:Every Tuesday
        DTSTART;TZID=America/Denver:20261201T130000
        DTEND;TZID=America/Denver:20261201T140000
        RRULE:FREQ=WEEKLY
    """
    (slot,) = parse_ics(calendar(event))
    assert slot.span_start == date(2027, 1, 12)
    assert slot.span_end == date(2027, 5, 25)
    assert len(slot.sessions) == 20


def test_parse_schedule_ics_one_off_event_outside_the_term_is_an_error() -> None:
    event = """
        UID:late@host
        SUMMARY:Summer shadow
        DTSTART:20270603T090000
        DTEND:20270603T120000
    """
    message = error_of(lambda: parse_ics(calendar(event)))
    assert "Summer shadow" in message
    assert "session 2027-06-03 09:00-12:00 is after the term ends on 2027-05-28" in message


def test_parse_schedule_ics_recurring_event_with_nothing_in_the_term_is_an_error() -> None:
    event = """
        UID:old@host
        SUMMARY:Last year
        DTSTART:20260105T090000
        DTEND:20260105T100000
        RRULE:FREQ=DAILY;COUNT=3
    """
    message = error_of(lambda: parse_ics(calendar(event)))
    assert "Last year" in message
    assert "no sessions" in message


def test_parse_schedule_ics_missing_calendar_file_is_an_error() -> None:
    expected = "calendar file calendars/missing.ics not found"
    assert error_of(lambda: parse("ics:calendars/missing.ics")) == expected
    assert (
        error_of(lambda: parse("ics:calendars/missing.ics", read_calendar=reader({}))) == expected
    )


def test_parse_schedule_ics_unreadable_calendar_file_is_an_error() -> None:
    def read(path: str) -> bytes:
        raise PermissionError(13, "Permission denied")

    message = error_of(lambda: parse("ics:calendars/locked.ics", read_calendar=read))
    assert "calendars/locked.ics" in message
    assert "Permission denied" in message


def test_parse_schedule_ics_calendar_without_events_is_an_error() -> None:
    message = error_of(lambda: parse_ics(calendar()))
    assert "calendars/host.ics" in message
    assert "VEVENT" in message


@pytest.mark.parametrize(
    "content",
    [
        b"this is not a calendar",
        b"",
        b"\xff\xfe\x00garbage",
        calendar("UID:x\nDTSTART:2027XX\nDTEND:20270210T100000"),
        calendar("UID:x\nDTSTART:20270210T090000\nDTEND:20270210T100000\nRRULE:FREQ=SOMETIMES"),
    ],
)
def test_parse_schedule_ics_unparseable_calendar_is_an_error(content: bytes) -> None:
    assert "calendars/host.ics" in error_of(lambda: parse_ics(content))


def test_parse_schedule_ics_error_names_the_path() -> None:
    assert "ics:" in error_of(lambda: parse("ics:", read_calendar=reader({})))


def test_parse_schedule_ics_sessions_are_sorted() -> None:
    event = WEEKLY_DENVER + "RDATE;TZID=America/Denver:20270301T080000\n"
    (slot,) = parse_ics(calendar(event))
    starts = [s for s, _ in slot.sessions]
    assert starts == sorted(starts)
    assert starts[0] == local(2027, 3, 1, 8)
    assert all(end - start == timedelta(hours=3) for start, end in slot.sessions)
