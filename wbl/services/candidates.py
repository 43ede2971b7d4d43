"""Candidate generation: a term in the database becomes a solver :class:`~solver.problem.Problem`.

Every per-pair hard rule of DESIGN.md ("Feasibility", rules 1 to 3, plus a slot whose busiest
week alone exceeds the student's weekly-hours cap) is decided here, once: a student-slot pair
that passes them all becomes an :class:`~solver.problem.Arc`, and the solver never sees the
others. Alongside the problem, :class:`BuiltProblem` says why each ranked opportunity was cut
(in words a coordinator can act on), how many opportunities each student can reach, and which
pins break a rule. :func:`student_options` applies the same rules to one student against every
slot of the term, for the student's own pages (what they can take, and why not).

The semantics decided here:

- Ages are taken on the slot's first day (its first session's local date; a flexible slot's
  ``span_start``). Consent and a work permit are asked only of students under 18 on that day;
  the weekly cap is ``weekly_hours_cap_under_16`` below 16, ``weekly_hours_cap_16_17`` at 16
  and 17, and none from 18.
- Travel is :func:`wbl.travel.travel_minutes` (or the :class:`~wbl.travel.TravelModel` given);
  a remote opportunity takes no travel (0 minutes). A session "widened by the travel time"
  starts ``travel`` minutes earlier on the local wall clock and must still lie inside one
  release window of that weekday; flexible slots need no window.
- ``reachable`` counts, per student, the distinct opportunities with at least one slot that
  passes every per-pair rule, ranked or not, whether or not ``place_unranked`` is set, and
  before the unranked limit below; pins that break a rule do not count.
- Host ranks: the ``accept`` rows of an opportunity that carry a rank are put in rank order,
  and students the host ranked equally are ordered by a lottery: the accepted students' codes,
  sorted, shuffled by ``random.Random(f"{rules.seed}:{opportunity code}")``. ``host_rank`` is
  the 1-based position in that order, so it is distinct per opportunity, depends only on the
  bundle and the seed (not on database ids), and keeps the host's order.
- Pins are placements with ``pinned`` set and a status other than declined or withdrawn, and,
  with ``keep_published``, every published or confirmed placement. A pin always gets an arc;
  one that breaks a per-pair rule is kept as the coordinator's override and named in
  ``warnings`` (one that alone breaks the weekly cap gets no cap on its arc, or no solution
  could keep it). ``previous`` is the proposed, unpinned placements; such a pair that still
  passes every rule keeps its arc even when the unranked limit would have dropped it, so a
  re-solve can leave the student where they are.

Deliberate modelling limit (``unranked_limit``): with ``place_unranked`` every feasible
opportunity a student did not rank is a candidate too, and at 50,000 students that is hundreds
of millions of arcs. So each student keeps only the ``unranked_limit`` unranked opportunities
with the shortest travel (remote ones count as 0 minutes; ties go by a lottery per student,
:func:`tie_key`, so unranked students spread over the remote opportunities; every feasible
slot of a kept opportunity is kept). A student is therefore never placed in an
unranked opportunity further away than their nearest ``unranked_limit`` feasible ones, even when
those are all full. Where remote opportunities abound, they are all equally near (0 minutes),
and each student's lottery keeps a different ``unranked_limit`` of them, so the unranked
students spread over all the remote seats. ``None`` keeps them all (small terms, tests).

How it stays fast (no Python loop over student-slot pairs): rows are read with set-based column
selects; students are grouped into eligibility classes (same release windows, grade, consent,
permit, and age bracket on every slot's first day), so every eligibility rule and the window
check is worked out once per class and slot, leaving each slot with the most travel a class
member can afford (``min(lead before its sessions, max_travel_min)``). Distances from 256
students at a time to every host come from one matrix product of WGS-84 Earth-centred
coordinates (squared chords), which bound the geodesic to about 1e-7; only pairs inside that
error band of their limit get the exact ellipsoidal distance (Vincenty's inverse formula,
vectorised; it matches geopy's geodesic, used by ``travel_minutes``, to about 1e-9 minutes).
Arcs then get exact travel times the same way. Another :class:`~wbl.travel.TravelModel` is
asked once per student-host pair, which suits small terms or a router with its own cache.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from geopy.distance import ELLIPSOIDS
from sqlalchemy import DateTime, select, type_coerce
from sqlalchemy.orm import Session

from solver.problem import (
    INTERNSHIP,
    JOB_SHADOW,
    MICRO_INTERNSHIP,
    Arc,
    HostSpec,
    Problem,
    SlotSpec,
    StudentSpec,
)
from wbl.models import (
    Decision,
    Host,
    HostReview,
    Kind,
    Opportunity,
    Placement,
    PlacementStatus,
    Preference,
    Slot,
    Student,
    Term,
)
from wbl.models import Session as SlotSession
from wbl.rules import Rules
from wbl.schedule import DAY_ABBREVIATIONS, END_OF_DAY, Window, format_windows, parse_windows
from wbl.travel import CIRCUITY, MODES, StraightLineModel, TravelModel

UNRANKED_LIMIT = 20
"""Unranked opportunities kept per student (see the module docstring). A student holds at most
four placements (two shadows, an internship, a micro-internship by default), so 20 is five
times what they could take; arcs and memory grow linearly with it (a generated 50,000-student
term: 1.07 million arcs at 20, 1.57 million at 30), and beyond 20 the extra ones are further
away or, where remote opportunities abound, the ones everybody else got too."""

MAX_REASONS = 3
"""Distinct reasons given for a multi-slot opportunity (a single slot gets all of its own)."""

_KINDS = {Kind.JOB_SHADOW: JOB_SHADOW, Kind.INTERNSHIP: INTERNSHIP,
          Kind.MICRO_INTERNSHIP: MICRO_INTERNSHIP}  # fmt: skip
_MODE_NAMES = tuple(MODES)
_SPEED = np.array([MODES[m].speed_kmh for m in _MODE_NAMES])
_OVERHEAD = np.array([MODES[m].overhead_min for m in _MODE_NAMES])
_NO_MINIMUM = -(10**9)  # min_age / min_grade left blank
_NO_CAP = 2**62  # weekly minutes when no cap applies
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_CHUNK = 256  # students per distance block: 256 x 15,000 hosts of float64 is 30 MB

# One bit per per-pair rule, in the order reasons are given.
AGE, GRADE, CONSENT, PERMIT, HAZARD, BACKGROUND, VETO, TRAVEL, WINDOW, CAP, CLOSED = (
    1 << k for k in range(11)
)

_PINNED_OUT = (PlacementStatus.DECLINED, PlacementStatus.WITHDRAWN)
_PUBLISHED = (PlacementStatus.PUBLISHED, PlacementStatus.CONFIRMED)


@dataclass(frozen=True)
class Cut:
    """A ranked opportunity that gave the student no arc, and why (plain English)."""

    opportunity_id: int
    rank: int
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class BuiltProblem:
    """A solver problem and what a coordinator needs to explain it.

    ``travel`` holds the exact travel minutes of every arc, ``(student id, slot id)``, 0.0 for
    remote. ``ranked_cuts`` has an entry for every student: the ranked opportunities that gave
    no arc, best rank first. ``reachable`` counts, per student, the opportunities with at least
    one feasible slot (see the module docstring). ``unranked_before_limit`` is the number of
    feasible unranked student-slot pairs before ``unranked_limit`` kept the nearest (0 when
    ``place_unranked`` is off).
    """

    problem: Problem
    travel: dict[tuple[int, int], float]
    ranked_cuts: dict[int, list[Cut]]
    reachable: dict[int, int]
    warnings: list[str] = field(default_factory=list)
    unranked_before_limit: int = 0


# ---------------------------------------------------------------------------------------------
# Loading


@dataclass
class _Data:
    """A term's rows as column arrays; students, hosts, opportunities and slots are indexed by
    position, students and opportunities in id order, slots grouped by opportunity."""

    term: Term
    rules: Rules
    # students
    s_id: np.ndarray
    s_code: list[str]
    s_lat: np.ndarray
    s_lon: np.ndarray
    s_mode: np.ndarray
    s_limit: np.ndarray
    s_birth: np.ndarray  # yyyymmdd, so age on a day is (day - birth) // 10000
    s_grade: np.ndarray
    s_consent: np.ndarray
    s_permit: np.ndarray
    s_ws: np.ndarray  # index into windows
    s_flags: list[list[str]]
    s_prior: list[list[str]]
    s_group: list[str | None]
    windows: list[tuple[Window, ...]]
    # hosts
    h_id: np.ndarray
    h_lat: np.ndarray
    h_lon: np.ndarray
    h_checked: np.ndarray
    h_max: list[int | None]
    # opportunities
    o_id: np.ndarray
    o_code: list[str]
    o_host: np.ndarray
    o_kind: np.ndarray
    o_capacity: np.ndarray
    o_min_age: np.ndarray
    o_min_grade: np.ndarray
    o_consent: np.ndarray
    o_permit: np.ndarray
    o_hazard: np.ndarray
    o_remote: np.ndarray
    o_closed: np.ndarray
    o_cluster: list[str]
    o_first: np.ndarray  # first slot index; slots of o are o_first[o] .. o_first[o + 1] - 1
    # slots
    x_id: np.ndarray
    x_opp: np.ndarray
    x_day: np.ndarray  # first day, yyyymmdd
    x_busiest: np.ndarray  # minutes in the busiest ISO week
    x_sessions: list[tuple[tuple[int, int], ...]]
    x_weeks: list[tuple[tuple[int, int], ...]]
    x_tri_first: np.ndarray  # distinct (weekday, start, end) of slot x: tri_of[first[x]:first[x+1]]
    tri_of: np.ndarray
    tri_lead: np.ndarray  # [window set, distinct (weekday, local start, local end) of sessions]:
    # the minutes a session leaves between a window's start and its own; -inf: no window holds it
    # sessions, sorted by (slot, start), for the reasons given
    e_first: np.ndarray
    e_tri: np.ndarray  # index into triples
    e_weekday: np.ndarray
    e_start: np.ndarray  # local minute of day
    e_day: np.ndarray  # local date as days since 1970-01-01
    # preferences and reviews: keys student * n_opps + opportunity, sorted
    pref_key: np.ndarray
    pref_rank: np.ndarray
    veto_key: np.ndarray
    host_rank_key: np.ndarray
    host_rank: np.ndarray
    window_texts: dict[tuple[int, int], str] = field(default_factory=dict)
    # The opportunity's requirements per slot, so rule checks index one array each.
    x_min_age: np.ndarray = field(init=False)
    x_min_grade: np.ndarray = field(init=False)
    x_consent: np.ndarray = field(init=False)
    x_permit: np.ndarray = field(init=False)
    x_hazard: np.ndarray = field(init=False)
    x_unchecked: np.ndarray = field(init=False)
    # Lottery numbers that order equally near unranked opportunities (see tie_key).
    s_tie: np.ndarray = field(init=False)
    o_tie: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.s_tie = np.array(
            [_code_hash(f"{self.rules.seed}:{code}") for code in self.s_code], dtype=np.uint64
        )
        self.o_tie = np.array([_code_hash(code) for code in self.o_code], dtype=np.uint64)
        opp = self.x_opp
        self.x_min_age = self.o_min_age[opp]
        self.x_min_grade = self.o_min_grade[opp]
        self.x_consent = self.o_consent[opp]
        self.x_permit = self.o_permit[opp]
        self.x_hazard = self.o_hazard[opp]
        self.x_unchecked = ~self.h_checked[self.o_host[opp]]

    @property
    def n_opps(self) -> int:
        return len(self.o_id)


def _code_hash(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


_MASK = (1 << 64) - 1


def tie_key(seed: int, student_code: str, opportunity_code: str) -> int:
    """Where ``opportunity_code`` comes among the unranked opportunities equally near the
    student (all remote ones, say): a lottery per student, fixed by the seed and the codes.
    Ordering ties by id would send every unranked student to the same few remote
    opportunities; this spreads them over all of them. :func:`_ties` is the same, in bulk."""
    z = _code_hash(f"{seed}:{student_code}") ^ _code_hash(opportunity_code)
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK  # splitmix64's finaliser
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def _ties(d: _Data, s: int, opportunities: np.ndarray) -> np.ndarray:
    """:func:`tie_key` of student ``s`` for each of ``opportunities`` (uint64 arithmetic
    wraps around like the masked one)."""
    z = np.bitwise_xor(d.o_tie[opportunities], d.s_tie[s])
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _ymd(day: date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


def _window_minutes(t: time) -> float:
    if t == END_OF_DAY:
        return 1440.0
    return t.hour * 60 + t.minute + t.second / 60


_EPOCH = datetime(1970, 1, 1)


def _utc_seconds(values: list[datetime]) -> np.ndarray:
    """UTC datetimes, naive or aware, as seconds since the epoch."""
    if values and values[0].tzinfo is not None:
        return np.fromiter((v.timestamp() for v in values), np.float64, len(values))
    return np.fromiter(((v - _EPOCH).total_seconds() for v in values), np.float64, len(values))


def _local_seconds(ts: np.ndarray, zone: ZoneInfo) -> np.ndarray:
    """UTC seconds since the epoch -> seconds on the local wall clock (one offset lookup per
    distinct instant: sessions repeat the same few times)."""
    if len(ts) == 0:
        return ts.copy()
    uniq, inverse = np.unique(ts, return_inverse=True)
    offsets = np.array(
        [datetime.fromtimestamp(t, zone).utcoffset().total_seconds() for t in uniq.tolist()]  # type: ignore[union-attr]
    )
    return ts + offsets[inverse]


def _load(session: Session, term: Term, student_id: int | None = None) -> _Data:
    """The term's rows; with ``student_id``, only that student (and their preferences and
    reviews), which is all the per-pair rules need (host ranks then cover them alone)."""
    rules = term.rules
    zone = ZoneInfo(term.timezone)

    def just(column: Any) -> list[Any]:
        """No condition for the whole term; ``column == student_id`` for one student."""
        return [] if student_id is None else [column == student_id]

    # Students.
    rows = session.execute(
        select(
            Student.id, Student.code, Student.grade, Student.birth_date, Student.origin_lat,
            Student.origin_lon, Student.transport, Student.max_travel_min, Student.available,
            Student.flags, Student.guardian_consent, Student.work_permit, Student.prior_clusters,
            Student.group_code,
        )
        .where(Student.term_id == term.id, *just(Student.id))
        .order_by(Student.id)
    ).all()  # fmt: skip
    window_index: dict[tuple[Window, ...], int] = {}
    text_index: dict[str, int] = {}
    for row in rows:
        if row.available not in text_index:
            windows = parse_windows(row.available)
            text_index[row.available] = window_index.setdefault(windows, len(window_index))
    mode_index = {m: i for i, m in enumerate(_MODE_NAMES)}
    n = len(rows)
    s_id = np.fromiter((r.id for r in rows), np.int64, n)
    s_code = [r.code for r in rows]
    s_lat = np.fromiter((r.origin_lat for r in rows), np.float64, n)
    s_lon = np.fromiter((r.origin_lon for r in rows), np.float64, n)
    s_mode = np.fromiter((mode_index[r.transport.value] for r in rows), np.int64, n)
    s_limit = np.fromiter(
        (rules.max_travel_min if r.max_travel_min is None else r.max_travel_min for r in rows),
        np.float64,
        n,
    )
    s_birth = np.fromiter((_ymd(r.birth_date) for r in rows), np.int64, n)
    s_grade = np.fromiter((r.grade for r in rows), np.int64, n)
    s_consent = np.fromiter((bool(r.guardian_consent) for r in rows), np.bool_, n)
    s_permit = np.fromiter((bool(r.work_permit) for r in rows), np.bool_, n)
    s_ws = np.fromiter((text_index[r.available] for r in rows), np.int64, n)

    # Hosts.
    hosts = session.execute(
        select(Host.id, Host.career_cluster, Host.lat, Host.lon, Host.max_students,
               Host.mentor_background_checked)
        .where(Host.term_id == term.id)
        .order_by(Host.id)
    ).all()  # fmt: skip
    host_index = {h.id: i for i, h in enumerate(hosts)}
    nh = len(hosts)

    # Opportunities.
    opps = session.execute(
        select(
            Opportunity.id, Opportunity.code, Opportunity.host_id, Opportunity.kind,
            Opportunity.career_cluster, Opportunity.capacity, Opportunity.min_age,
            Opportunity.min_grade, Opportunity.requires_consent, Opportunity.requires_work_permit,
            Opportunity.hazardous, Opportunity.remote, Opportunity.closed,
        )
        .where(Opportunity.term_id == term.id)
        .order_by(Opportunity.id)
    ).all()  # fmt: skip
    opp_index = {o.id: i for i, o in enumerate(opps)}
    no = len(opps)
    o_host = np.fromiter((host_index[o.host_id] for o in opps), np.int64, no)

    # Slots, grouped by opportunity in id order.
    slots = session.execute(
        select(Slot.id, Slot.opportunity_id, Slot.flexible, Slot.span_start, Slot.span_end,
               Slot.total_hours)
        .join(Slot.opportunity)
        .where(Opportunity.term_id == term.id)
        .order_by(Slot.opportunity_id, Slot.position)
    ).all()  # fmt: skip
    slot_index = {x.id: i for i, x in enumerate(slots)}
    ns = len(slots)
    x_opp = np.fromiter((opp_index[x.opportunity_id] for x in slots), np.int64, ns)
    o_first = np.searchsorted(x_opp, np.arange(no + 1))

    # Sessions, as UTC seconds, sorted by (slot index, start).
    # Read as the naive UTC values they are stored as: UTCDateTime would make 600,000
    # aware datetimes only to turn them into numbers again.
    sess = session.execute(
        select(
            SlotSession.slot_id,
            type_coerce(SlotSession.start, DateTime()),
            type_coerce(SlotSession.end, DateTime()),
        )
        .join(SlotSession.slot)
        .join(Slot.opportunity)
        .where(Opportunity.term_id == term.id)
    ).all()
    ne = len(sess)
    e_slot = np.fromiter((slot_index[r[0]] for r in sess), np.int64, ne)
    e_ts = _utc_seconds([r[1] for r in sess])
    e_te = _utc_seconds([r[2] for r in sess])
    order = np.lexsort((e_te, e_ts, e_slot))
    e_slot, e_ts, e_te = e_slot[order], e_ts[order], e_te[order]
    e_first = np.searchsorted(e_slot, np.arange(ns + 1))
    local_start = _local_seconds(e_ts, zone)
    local_end = _local_seconds(e_te, zone)
    e_day = np.floor_divide(local_start, 86400).astype(np.int64)
    e_weekday = (e_day + 3) % 7  # 1970-01-01 was a Thursday
    e_start = (local_start - e_day * 86400) / 60
    e_end = (local_end - e_day * 86400) / 60
    # Integer minutes on the UTC clock, widened outwards if a time has seconds.
    e_min_start = np.floor(e_ts / 60).astype(np.int64)
    e_min_end = np.ceil(e_te / 60).astype(np.int64)
    e_week = _EPOCH_ORDINAL + e_day - e_weekday  # ordinal of the local week's Monday

    sessions_py = list(zip(e_min_start.tolist(), e_min_end.tolist(), strict=True))
    x_sessions = [tuple(sessions_py[e_first[i] : e_first[i + 1]]) for i in range(ns)]

    # Minutes per (slot, ISO week); a session counts in the week it starts.
    x_weeks: list[tuple[tuple[int, int], ...]] = [()] * ns
    if ne:
        key = e_slot * 10_000_000 + e_week
        uniq, inverse = np.unique(key, return_inverse=True)
        minutes = np.bincount(inverse, weights=(e_min_end - e_min_start).astype(np.float64))
        per_slot: list[list[tuple[int, int]]] = [[] for _ in range(ns)]
        for k, m in zip(uniq.tolist(), minutes.tolist(), strict=True):
            per_slot[k // 10_000_000].append((k % 10_000_000, round(m)))
        x_weeks = [tuple(w) for w in per_slot]
    x_day = np.zeros(ns, np.int64)
    for i, x in enumerate(slots):
        x_day[i] = _ymd(x.span_start)
        if x.flexible:
            first_monday = x.span_start - timedelta(days=x.span_start.weekday())
            last_monday = x.span_end - timedelta(days=x.span_end.weekday())
            weeks = (last_monday - first_monday).days // 7 + 1
            per_week = round(x.total_hours * 60 / weeks)
            x_weeks[i] = tuple(
                ((first_monday + timedelta(weeks=k)).toordinal(), per_week) for k in range(weeks)
            )
    x_busiest = np.array([max((m for _, m in w), default=0) for w in x_weeks], np.int64)

    # Release windows: how many minutes each distinct session (weekday, start, end) leaves
    # before its start inside a window, per distinct set of windows.
    windows = list(window_index)
    if ne:
        tri_rows = np.column_stack([e_weekday.astype(np.float64), e_start, e_end])
        triples, tri_inverse = np.unique(tri_rows, axis=0, return_inverse=True)
        e_tri = tri_inverse.reshape(-1)
        pair_key = np.unique(e_slot * len(triples) + e_tri)
        tri_of = pair_key % len(triples)
        x_tri_first = np.searchsorted(pair_key // len(triples), np.arange(ns + 1))
    else:
        triples = np.zeros((0, 3))
        e_tri = np.zeros(0, np.int64)
        tri_of = np.zeros(0, np.int64)
        x_tri_first = np.zeros(ns + 1, np.int64)
    tri_lead = np.full((len(windows), len(triples)), -np.inf)
    for w_index, window_set in enumerate(windows):
        lead = tri_lead[w_index]
        for w in window_set:
            w_start, w_end = _window_minutes(w.start), _window_minutes(w.end)
            fits = (triples[:, 0] == w.weekday) & (triples[:, 1] >= w_start)
            fits &= triples[:, 2] <= w_end
            # Windows of one day are merged, so at most one window holds a session.
            lead[fits] = triples[fits, 1] - w_start

    # Preferences, vetoes and host ranks, keyed student * n_opps + opportunity.
    student_index = {sid: i for i, sid in enumerate(s_id.tolist())}
    prefs = session.execute(
        select(Preference.student_id, Preference.opportunity_id, Preference.rank)
        .join(Preference.student)
        .where(Student.term_id == term.id, *just(Preference.student_id))
    ).all()
    pref_key = np.fromiter(
        (student_index[p[0]] * no + opp_index[p[1]] for p in prefs), np.int64, len(prefs)
    )
    pref_rank = np.fromiter((p[2] for p in prefs), np.int64, len(prefs))
    order = np.argsort(pref_key)
    reviews = session.execute(
        select(HostReview.opportunity_id, HostReview.student_id, HostReview.decision,
               HostReview.rank)
        .join(HostReview.opportunity)
        .where(Opportunity.term_id == term.id, *just(HostReview.student_id))
    ).all()  # fmt: skip
    vetoes = sorted(
        student_index[r[1]] * no + opp_index[r[0]] for r in reviews if r[2] == Decision.VETO
    )
    host_rank_key, host_rank = _host_ranks(
        reviews, rules.seed, opp_index, student_index, [o.code for o in opps], s_code
    )

    return _Data(
        term=term, rules=rules,
        s_id=s_id, s_code=s_code, s_lat=s_lat, s_lon=s_lon, s_mode=s_mode, s_limit=s_limit,
        s_birth=s_birth, s_grade=s_grade, s_consent=s_consent, s_permit=s_permit, s_ws=s_ws,
        s_flags=[list(r.flags or ()) for r in rows],
        s_prior=[list(r.prior_clusters or ()) for r in rows],
        s_group=[r.group_code for r in rows],
        windows=windows,
        h_id=np.fromiter((h.id for h in hosts), np.int64, nh),
        h_lat=np.fromiter((h.lat for h in hosts), np.float64, nh),
        h_lon=np.fromiter((h.lon for h in hosts), np.float64, nh),
        h_checked=np.fromiter((bool(h.mentor_background_checked) for h in hosts), np.bool_, nh),
        h_max=[h.max_students for h in hosts],
        o_id=np.fromiter((o.id for o in opps), np.int64, no),
        o_code=[o.code for o in opps],
        o_host=o_host,
        o_kind=np.fromiter((_KINDS[o.kind] for o in opps), np.int64, no),
        o_capacity=np.fromiter((o.capacity for o in opps), np.int64, no),
        o_min_age=np.fromiter(
            (_NO_MINIMUM if o.min_age is None else o.min_age for o in opps), np.int64, no
        ),
        o_min_grade=np.fromiter(
            (_NO_MINIMUM if o.min_grade is None else o.min_grade for o in opps), np.int64, no
        ),
        o_consent=np.fromiter((bool(o.requires_consent) for o in opps), np.bool_, no),
        o_permit=np.fromiter((bool(o.requires_work_permit) for o in opps), np.bool_, no),
        o_hazard=np.fromiter((bool(o.hazardous) for o in opps), np.bool_, no),
        o_remote=np.fromiter((bool(o.remote) for o in opps), np.bool_, no),
        o_closed=np.fromiter((bool(o.closed) for o in opps), np.bool_, no),
        o_cluster=[o.career_cluster or hosts[host_index[o.host_id]].career_cluster
                   for o in opps],
        o_first=o_first,
        x_id=np.fromiter((x.id for x in slots), np.int64, ns),
        x_opp=x_opp, x_day=x_day, x_busiest=x_busiest,
        x_sessions=x_sessions, x_weeks=x_weeks,
        x_tri_first=x_tri_first, tri_of=tri_of, tri_lead=tri_lead,
        e_first=e_first, e_tri=e_tri, e_weekday=e_weekday, e_start=e_start,
        e_day=e_day,
        pref_key=pref_key[order], pref_rank=pref_rank[order],
        veto_key=np.array(vetoes, np.int64),
        host_rank_key=host_rank_key, host_rank=host_rank,
    )  # fmt: skip


def _host_ranks(
    reviews: Iterable[Any],
    seed: int,
    opp_index: dict[int, int],
    student_index: dict[int, int],
    opp_codes: list[str],
    student_codes: list[str],
) -> tuple[np.ndarray, np.ndarray]:
    """Keys (student * n_opps + opportunity) and 1-based host ranks, ties broken by the seeded
    lottery of the module docstring."""
    ranked: dict[int, list[tuple[int, int]]] = {}
    for opp_id, student_id, decision, rank in reviews:
        if decision == Decision.ACCEPT and rank is not None:
            ranked.setdefault(opp_index[opp_id], []).append((rank, student_index[student_id]))
    n_opps = len(opp_codes)
    keys: list[int] = []
    values: list[int] = []
    for o, members in sorted(ranked.items()):
        codes = sorted(student_codes[s] for _, s in members)
        random.Random(f"{seed}:{opp_codes[o]}").shuffle(codes)
        lottery = {code: k for k, code in enumerate(codes)}
        ordered = sorted(members, key=lambda m: (m[0], lottery[student_codes[m[1]]]))
        for position, (_, s) in enumerate(ordered, start=1):
            keys.append(s * n_opps + o)
            values.append(position)
    key_array = np.array(keys, np.int64)
    order = np.argsort(key_array)
    return key_array[order], np.array(values, np.int64)[order]


def _lookup(keys: np.ndarray, values: np.ndarray, wanted: np.ndarray, missing: int) -> np.ndarray:
    """``values`` at ``wanted`` keys (``keys`` sorted); ``missing`` where absent."""
    if len(keys) == 0:
        return np.full(len(wanted), missing, np.int64)
    pos = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
    return np.where(keys[pos] == wanted, values[pos], missing)


def _member(keys: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    if len(keys) == 0:
        return np.zeros(len(wanted), np.bool_)
    pos = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
    return keys[pos] == wanted


# ---------------------------------------------------------------------------------------------
# Distances and travel times

_A_KM, _B_KM, _F = ELLIPSOIDS["WGS-84"]  # the ellipsoid geopy's geodesic uses
_B_KM = _A_KM * (1 - _F)
_E2 = _F * (2 - _F)
_R_KM = 6371.0088  # mean radius: only scales the chord-to-arc correction


def geodesic_km(
    lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray
) -> np.ndarray:
    """Geodesic distance on WGS-84 in km, elementwise: Vincenty's inverse formula, iterated to
    convergence. It agrees with geopy's geodesic (Karney's algorithm) to about 1e-12 km at
    metro distances; the rare nearly antipodal pair that does not converge is handed to geopy.
    """
    lat1, lon1, lat2, lon2 = (np.asarray(v, np.float64) for v in (lat1, lon1, lat2, lon2))
    big_l = np.radians(lon2 - lon1)
    u1 = np.arctan((1 - _F) * np.tan(np.radians(lat1)))
    u2 = np.arctan((1 - _F) * np.tan(np.radians(lat2)))
    su1, cu1, su2, cu2 = np.sin(u1), np.cos(u1), np.sin(u2), np.cos(u2)

    def terms(lam: np.ndarray) -> tuple[np.ndarray, ...]:
        sl, cl = np.sin(lam), np.cos(lam)
        ss = np.hypot(cu2 * sl, cu1 * su2 - su1 * cu2 * cl)
        cs = su1 * su2 + cu1 * cu2 * cl
        sig = np.arctan2(ss, cs)
        with np.errstate(invalid="ignore", divide="ignore"):
            sa = np.where(ss > 0, cu1 * cu2 * sl / ss, 0.0)
            c2a = 1 - sa * sa
            c2sm = np.where(c2a > 0, cs - 2 * su1 * su2 / c2a, 0.0)
        return ss, cs, sig, sa, c2a, c2sm

    lam = big_l
    converged = np.ones(big_l.shape, np.bool_)
    for _ in range(100):
        ss, cs, sig, sa, c2a, c2sm = terms(lam)
        c = _F / 16 * c2a * (4 + _F * (4 - 3 * c2a))
        new = big_l + (1 - c) * _F * sa * (sig + c * ss * (c2sm + c * cs * (-1 + 2 * c2sm * c2sm)))
        converged = np.abs(new - lam) <= 1e-13
        lam = new
        if converged.all():
            break
    ss, cs, sig, sa, c2a, c2sm = terms(lam)
    u_sq = c2a * (_A_KM**2 - _B_KM**2) / _B_KM**2
    big_a = 1 + u_sq / 16384 * (4096 + u_sq * (-768 + u_sq * (320 - 175 * u_sq)))
    big_b = u_sq / 1024 * (256 + u_sq * (-128 + u_sq * (74 - 47 * u_sq)))
    delta = big_b * ss * (
        c2sm + big_b / 4 * (cs * (-1 + 2 * c2sm**2)
                            - big_b / 6 * c2sm * (-3 + 4 * ss**2) * (-3 + 4 * c2sm**2))
    )  # fmt: skip
    km = _B_KM * big_a * (sig - delta)
    if not converged.all():
        from geopy.distance import geodesic

        for i in np.flatnonzero(~converged).tolist():
            km[i] = geodesic((lat1[i], lon1[i]), (lat2[i], lon2[i])).km
    return km


def _ecef(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Earth-centred coordinates (km) of points on the WGS-84 ellipsoid."""
    la, lo = np.radians(lat), np.radians(lon)
    n = _A_KM / np.sqrt(1 - _E2 * np.sin(la) ** 2)
    return np.column_stack(
        [n * np.cos(la) * np.cos(lo), n * np.cos(la) * np.sin(lo), n * (1 - _E2) * np.sin(la)]
    )


def _geodesic_band(g: np.ndarray) -> np.ndarray:
    """How far the chord-based estimate of a geodesic of length ``g`` km may be off (measured
    errors are 10 to 100 times smaller, from 10 m to 1,000 km)."""
    return 2e-3 * (g / _R_KM) ** 2 * g + 1e-7 * g + 1e-8


def _chord_for(g: np.ndarray) -> np.ndarray:
    """The chord whose arc estimate ``c + c^3 / (24 R^2)`` is ``g`` (Newton's method)."""
    c = g.copy()
    for _ in range(4):
        c = c - (c + c**3 / (24 * _R_KM**2) - g) / (1 + c**2 / (8 * _R_KM**2))
    return c


class _StraightLine:
    """The default travel model, vectorised: a student-host "distance key" (squared chord) that
    orders and bounds the travel time, and the exact time where the bound is not enough."""

    min_minutes = _OVERHEAD

    def __init__(self, d: _Data) -> None:
        self.d = d
        hosts = _ecef(d.h_lat, d.h_lon)
        students = _ecef(d.s_lat, d.s_lon)
        # Centring keeps the squared norms small, so |p|^2 + |q|^2 - 2 p.q loses little.
        centre = hosts.mean(axis=0) if len(hosts) else np.zeros(3)
        hosts -= centre
        students -= centre
        hn = (hosts**2).sum(axis=1)
        sn = (students**2).sum(axis=1)
        self.p = np.column_stack([-2 * students, sn, np.ones(len(sn))])
        self.q = np.column_stack([hosts, np.ones(len(hn)), hn]).T.copy()
        scale = math.sqrt(sn.max(initial=0.0)) + math.sqrt(hn.max(initial=0.0))
        self.slack = 32 * np.finfo(np.float64).eps * scale**2 + 1e-18
        # The largest key that may still be 0 minutes of travel, per mode.
        self.zero_key = [float(self.keys(m, np.zeros(1))[1][0]) for m in range(len(_SPEED))]

    def matrix(self, students: np.ndarray) -> np.ndarray:
        """Squared chord (km^2) from each of ``students`` (rows) to every host (columns)."""
        return self.p[students] @ self.q

    def keys(self, mode: int, limit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Distance keys for travel limits: a key <= the first is surely within the limit,
        a key > the second surely not; in between, ask :meth:`exact`."""
        g = np.maximum(limit - _OVERHEAD[mode], 0.0) * _SPEED[mode] / (60.0 * CIRCUITY)
        band = _geodesic_band(g)
        sure = _chord_for(np.maximum(g - band, 0.0)) ** 2 - self.slack
        maybe = _chord_for(g + band) ** 2 + self.slack
        sure[limit < _OVERHEAD[mode]] = -1.0
        return sure, maybe

    def order_slack(self, key: float) -> float:
        """How close two keys must be for their travel order to need exact times."""
        return key * 1e-5 + 4 * self.slack

    def exact(self, students: np.ndarray, hosts: np.ndarray) -> np.ndarray:
        """Travel minutes, elementwise: ``travel_minutes`` to within about 1e-9 minutes."""
        d = self.d
        km = geodesic_km(d.s_lat[students], d.s_lon[students], d.h_lat[hosts], d.h_lon[hosts])
        mode = d.s_mode[students]
        # The same operations, in the same order, as wbl.travel.travel_minutes.
        return (km * CIRCUITY) / _SPEED[mode] * 60.0 + _OVERHEAD[mode]


class _AnyModel:
    """Any :class:`TravelModel`, asked once per student-host pair it is needed for (so a slow
    router should cache): the distance key is the travel time itself."""

    min_minutes = np.zeros(len(_MODE_NAMES))
    zero_key = [0.0] * len(_MODE_NAMES)

    def __init__(self, d: _Data, model: TravelModel) -> None:
        self.d = d
        self.model = model
        self.cache: dict[tuple[int, int], float] = {}

    def exact(self, students: np.ndarray, hosts: np.ndarray) -> np.ndarray:
        d = self.d
        out = np.empty(len(students))
        for k, (s, h) in enumerate(zip(students.tolist(), hosts.tolist(), strict=True)):
            value = self.cache.get((s, h))
            if value is None:
                value = self.model.minutes(
                    (float(d.s_lat[s]), float(d.s_lon[s])),
                    (float(d.h_lat[h]), float(d.h_lon[h])),
                    _MODE_NAMES[d.s_mode[s]],
                )
                self.cache[s, h] = value
            out[k] = value
        return out

    def matrix(self, students: np.ndarray) -> np.ndarray:
        nh = len(self.d.h_id)
        hosts = np.tile(np.arange(nh), len(students))
        return self.exact(np.repeat(students, nh), hosts).reshape(len(students), nh)

    def keys(self, mode: int, limit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return limit, limit

    def order_slack(self, key: float) -> float:
        return 0.0


_Oracle = _StraightLine | _AnyModel


# ---------------------------------------------------------------------------------------------
# The per-pair rules


def _segment_min(values: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Minimum of each segment ``values[first[i]:first[i+1]]``; +inf for an empty one."""
    out = np.full(len(first) - 1, np.inf)
    nonempty = first[1:] > first[:-1]
    if len(values) and nonempty.any():
        out[nonempty] = np.minimum.reduceat(values, first[:-1][nonempty])
    return out


def _lead_row(d: _Data, ws: int) -> np.ndarray:
    """Per slot, the most travel minutes a student with window set ``ws`` can add before its
    sessions and still be inside a window; +inf for a flexible slot, -inf when no session or
    not every session fits."""
    return _segment_min(d.tri_lead[ws][d.tri_of], d.x_tri_first)


def _lead_pairs(d: _Data, students: np.ndarray, slots: np.ndarray) -> np.ndarray:
    """:func:`_lead_row` for student-slot pairs."""
    first, last = d.x_tri_first[slots], d.x_tri_first[slots + 1]
    counts = last - first
    bounds = np.zeros(len(slots) + 1, np.int64)
    np.cumsum(counts, out=bounds[1:])
    owner = np.repeat(np.arange(len(slots)), counts)
    tri = d.tri_of[first[owner] + np.arange(bounds[-1]) - bounds[owner]]
    return _segment_min(d.tri_lead[d.s_ws[students[owner]], tri], bounds)


def _caps(d: _Data) -> tuple[int, int]:
    rules = d.rules

    def minutes(hours: float | None) -> int:
        return _NO_CAP if hours is None else round(hours * 60)

    return minutes(rules.weekly_hours_cap_under_16), minutes(rules.weekly_hours_cap_16_17)


def _ages(d: _Data, students: np.ndarray | int, slots: np.ndarray | slice) -> np.ndarray:
    return (d.x_day[slots] - d.s_birth[students]) // 10000


def _eligibility(d: _Data, students: np.ndarray | int, slots: np.ndarray | slice) -> np.ndarray:
    """Rule bits (rule 1 of DESIGN.md and the weekly cap) broken by each student-slot pair;
    ``students`` may be one index, broadcast over ``slots`` (indices, or a slice)."""
    age = _ages(d, students, slots)
    minor = age < 18
    bits = np.where(age < d.x_min_age[slots], AGE, 0)
    bits |= np.where(d.s_grade[students] < d.x_min_grade[slots], GRADE, 0)
    bits |= np.where(minor & d.x_consent[slots] & ~d.s_consent[students], CONSENT, 0)
    bits |= np.where(minor & d.x_permit[slots] & ~d.s_permit[students], PERMIT, 0)
    bits |= np.where(minor & d.x_hazard[slots], HAZARD, 0)
    if d.rules.background_check_for_minors:
        bits |= np.where(minor & d.x_unchecked[slots], BACKGROUND, 0)
    under_16, under_18 = _caps(d)
    cap = np.where(age < 16, under_16, np.where(minor, under_18, _NO_CAP))
    bits |= np.where(d.x_busiest[slots] > cap, CAP, 0)
    bits |= np.where(d.o_closed[d.x_opp[slots]], CLOSED, 0)
    return bits


def _failures(d: _Data, students: np.ndarray, slots: np.ndarray, minutes: np.ndarray) -> np.ndarray:
    """Every rule bit each student-slot pair breaks, given its exact travel minutes."""
    bits = _eligibility(d, students, slots)
    keys = students * d.n_opps + d.x_opp[slots]
    bits |= np.where(_member(d.veto_key, keys), VETO, 0)
    bits |= np.where(minutes > d.s_limit[students], TRAVEL, 0)
    bits |= np.where(minutes > _lead_pairs(d, students, slots), WINDOW, 0)
    return bits


def _travel_pairs(d: _Data, oracle: _Oracle, students: np.ndarray, slots: np.ndarray) -> np.ndarray:
    """Exact travel minutes per student-slot pair (0 for remote), each student-host pair
    computed once."""
    out = np.zeros(len(slots))
    opp = d.x_opp[slots]
    local = ~d.o_remote[opp]
    if local.any():
        hosts = d.o_host[opp[local]]
        key = students[local] * len(d.h_id) + hosts
        uniq, inverse = np.unique(key, return_inverse=True)
        times = oracle.exact(uniq // len(d.h_id), uniq % len(d.h_id))
        out[local] = times[inverse]
    return out


def _expand(d: _Data, students: np.ndarray, opps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (student, slot) of the given (student, opportunity) pairs."""
    first, last = d.o_first[opps], d.o_first[opps + 1]
    counts = last - first
    owner = np.repeat(np.arange(len(opps)), counts)
    starts = np.zeros(len(opps), np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    slots = first[owner] + np.arange(counts.sum()) - starts[owner]
    return students[owner], slots


# ---------------------------------------------------------------------------------------------
# Reasons


def _hhmm(minutes: float) -> str:
    minutes = math.floor(minutes + 1e-9)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _reasons(d: _Data, s: int, x: int, minutes: float, bits: int, late: int = -1) -> list[str]:
    """The broken rules of one student-slot pair, as sentences a coordinator can act on;
    ``late`` is the first session outside the windows, if known (see :func:`_late_sessions`)."""
    o = int(d.x_opp[x])
    age = int((d.x_day[x] - d.s_birth[s]) // 10000)
    day = _date_of(int(d.x_day[x]))
    out: list[str] = []
    if bits & CLOSED:
        out.append("opportunity closed by the host")
    if bits & AGE:
        out.append(f"age {age} on {day.isoformat()} < minimum {d.o_min_age[o]}")
    if bits & GRADE:
        out.append(f"grade {d.s_grade[s]} < minimum {d.o_min_grade[o]}")
    if bits & CONSENT:
        out.append("no guardian consent")
    if bits & PERMIT:
        out.append("no work permit")
    if bits & HAZARD:
        out.append(f"hazardous work needs age 18 (age {age})")
    if bits & BACKGROUND:
        out.append("host mentor not background-checked (student is a minor)")
    if bits & VETO:
        out.append("vetoed by the host")
    shown = math.ceil(minutes - 1e-9)  # shown rounded up, so "52 min > 45" never reads "45 > 45"
    if bits & TRAVEL:
        limit = d.s_limit[s]
        limit_text = f"{limit:g}"
        out.append(f"too far: {shown} min by {_MODE_NAMES[d.s_mode[s]]} > {limit_text}")
    if bits & WINDOW:
        if late < 0:
            late = int(_late_sessions(d, np.array([s]), np.array([x]), np.array([minutes]))[0])
        out.append(_window_reason(d, s, late, minutes, shown))
    if bits & CAP:
        cap_h = d.rules.weekly_hours_cap_under_16 if age < 16 else d.rules.weekly_hours_cap_16_17
        out.append(
            f"busiest week {d.x_busiest[x] / 60:.1f} h > weekly cap {cap_h:g} h for age {age}"
        )
    return out


def _date_of(ymd: int) -> date:
    return date(ymd // 10000, ymd // 100 % 100, ymd % 100)


def _late_sessions(
    d: _Data, students: np.ndarray, slots: np.ndarray, minutes: np.ndarray
) -> np.ndarray:
    """Per student-slot pair, the first session that, widened by the travel time, is outside
    every window (a session index; -1 if none is)."""
    first = d.e_first[slots]
    counts = d.e_first[slots + 1] - first
    bounds = np.zeros(len(slots) + 1, np.int64)
    np.cumsum(counts, out=bounds[1:])
    owner = np.repeat(np.arange(len(slots)), counts)
    session = first[owner] + np.arange(bounds[-1]) - bounds[owner]
    late = d.tri_lead[d.s_ws[students[owner]], d.e_tri[session]] < minutes[owner]
    out = np.full(len(slots), -1, np.int64)
    owners, at = np.unique(owner[late], return_index=True)
    out[owners] = session[late][at]
    return out


def _window_reason(d: _Data, s: int, e: int, minutes: float, shown: int) -> str:
    """Session ``e`` is outside the windows: say when, and which windows that weekday has."""
    ws = int(d.s_ws[s])
    weekday, start = int(d.e_weekday[e]), float(d.e_start[e])
    if (ws, weekday) not in d.window_texts:
        same_day = [w for w in d.windows[ws] if w.weekday == weekday]
        d.window_texts[ws, weekday] = (
            format_windows(same_day) if same_day else f"(none on {DAY_ABBREVIATIONS[weekday]})"
        )
    day = date.fromordinal(_EPOCH_ORDINAL + int(d.e_day[e]))
    travel = f" (with {shown} min travel from {_hhmm(start - shown)})" if minutes > 0 else ""
    return (
        f"session {DAY_ABBREVIATIONS[weekday]} {day.isoformat()} {_hhmm(start)}{travel} "
        f"outside release windows {d.window_texts[ws, weekday]}"
    )


def _summarise(per_slot: list[list[str]]) -> tuple[str, ...]:
    """Distinct reasons over an opportunity's slots, most common first (first seen on a tie);
    at most MAX_REASONS for several slots."""
    if len(per_slot) == 1:
        return tuple(dict.fromkeys(per_slot[0]))
    counts = Counter(r for reasons in per_slot for r in dict.fromkeys(reasons))
    first_seen = {r: i for i, r in reversed(list(enumerate(r for rs in per_slot for r in rs)))}
    ordered = sorted(counts, key=lambda r: (-counts[r], first_seen[r]))
    return tuple(ordered[:MAX_REASONS])


# ---------------------------------------------------------------------------------------------
# Building the problem


@dataclass
class _Tally:
    """What the dense pass over every student found, before the unranked limit."""

    reach_opps: np.ndarray
    reach_slots: np.ndarray
    kept_students: list[int] = field(default_factory=list)
    kept_opps: list[int] = field(default_factory=list)


def build_problem(
    session: Session,
    term: Term,
    *,
    keep_published: bool = False,
    travel: TravelModel | None = None,
    unranked_limit: int | None = UNRANKED_LIMIT,
) -> BuiltProblem:
    """Turn ``term`` into a solver problem: one arc per student-slot pair that passes every
    per-pair hard rule (see the module docstring for the exact semantics and limits)."""
    if unranked_limit is not None and unranked_limit < 0:
        raise ValueError(f"unranked_limit must be None or >= 0, got {unranked_limit}")
    d = _load(session, term)
    rules = d.rules
    oracle = _make_oracle(d, travel)
    # Ranked and vetoed pairs are checked one by one: their arcs, cuts and tally corrections.
    special = _special_pairs(d, oracle)
    excluded: dict[int, set[int]] = {}
    for s, o in zip(special.students.tolist(), d.x_opp[special.slots].tolist(), strict=True):
        excluded.setdefault(s, set()).add(o)
    tally = _dense_pass(d, oracle, excluded, unranked_limit if rules.place_unranked else 0)

    # The dense pass ignored vetoes and counted ranked pairs too: a vetoed opportunity is not
    # reachable, and neither vetoed nor ranked slots are unranked candidates.
    width = max(d.n_opps, 1)
    ok_but_veto = (special.bits & ~VETO) == 0
    np.subtract.at(tally.reach_slots, special.students[ok_but_veto], 1)
    vetoed = np.unique(special.keys[ok_but_veto & _member(d.veto_key, special.keys)])
    np.subtract.at(tally.reach_opps, vetoed // width, 1)

    # Arcs: ranked pairs that pass, the kept unranked pairs, then what pins and previous
    # placements need.
    ranked = _member(d.pref_key, special.keys)
    good = ranked & (special.bits == 0)
    parts = [(special.students[good], special.slots[good], special.minutes[good])]
    if tally.kept_students:
        students, slots = _expand(
            d, np.array(tally.kept_students, np.int64), np.array(tally.kept_opps, np.int64)
        )
        minutes = _travel_pairs(d, oracle, students, slots)
        ok = _failures(d, students, slots, minutes) == 0
        parts.append((students[ok], slots[ok], minutes[ok]))
    warnings: list[str] = []
    placed = _placements(session, d, oracle, keep_published, warnings)
    parts.append((placed.students, placed.slots, placed.minutes))
    uncapped = placed.students[placed.uncapped] * max(len(d.x_id), 1)
    uncapped += placed.slots[placed.uncapped]
    every = [np.concatenate(column) for column in zip(*parts, strict=True)]
    arcs, travel_map = _arcs(d, every[0], every[1], every[2], np.sort(uncapped))

    problem = Problem(
        students=_student_specs(d),
        hosts=tuple(HostSpec(h, m) for h, m in zip(d.h_id.tolist(), d.h_max, strict=True)),
        slots=_slot_specs(d),
        arcs=arcs,
        max_per_kind=(rules.max_job_shadows, rules.max_internships, rules.max_micro_internships),
        pins=placed.pins,
        previous=placed.previous,
    )
    return BuiltProblem(
        problem=problem,
        travel=travel_map,
        ranked_cuts=_cuts(d, special, ranked, placed.pins),
        reachable=dict(zip(d.s_id.tolist(), tally.reach_opps.tolist(), strict=True)),
        warnings=warnings,
        unranked_before_limit=int(tally.reach_slots.sum()) if rules.place_unranked else 0,
    )


def _make_oracle(d: _Data, travel: TravelModel | None) -> _Oracle:
    if travel is None or type(travel) is StraightLineModel:
        return _StraightLine(d)
    return _AnyModel(d, travel)


@dataclass
class _Pairs:
    """Student-slot pairs checked one by one: travel minutes and the rule bits they break."""

    students: np.ndarray
    slots: np.ndarray
    minutes: np.ndarray
    bits: np.ndarray
    keys: np.ndarray  # student * n_opps + opportunity


def _special_pairs(d: _Data, oracle: _Oracle) -> _Pairs:
    """Every slot of every ranked or vetoed (student, opportunity)."""
    width = max(d.n_opps, 1)
    special = np.union1d(d.pref_key, d.veto_key)
    students, slots = _expand(d, special // width, special % width)
    minutes = _travel_pairs(d, oracle, students, slots)
    bits = _failures(d, students, slots, minutes)
    return _Pairs(students, slots, minutes, bits, students * width + d.x_opp[slots])


def _cuts(
    d: _Data, pairs: _Pairs, ranked: np.ndarray, pins: tuple[tuple[int, int], ...]
) -> dict[int, list[Cut]]:
    """Per student (every one), the ranked opportunities without a passing slot, best rank
    first, each with its reasons; a pinned one has its arc, so it is no cut."""
    cuts: dict[int, list[Cut]] = {sid: [] for sid in d.s_id.tolist()}
    slot_opp = dict(zip(d.x_id.tolist(), d.o_id[d.x_opp].tolist(), strict=True))
    pinned = {(student, slot_opp[slot]) for student, slot in pins}
    passing = np.zeros(len(pairs.keys), np.bool_)
    if len(pairs.keys):
        uniq, inverse = np.unique(pairs.keys, return_inverse=True)
        any_pass = np.zeros(len(uniq), np.bool_)
        np.logical_or.at(any_pass, inverse, pairs.bits == 0)
        passing = any_pass[inverse]
    rank_of = _lookup(d.pref_key, d.pref_rank, pairs.keys, 0)
    rows = np.flatnonzero(ranked & ~passing)
    late = _late_sessions(d, pairs.students[rows], pairs.slots[rows], pairs.minutes[rows])
    per_pair: dict[tuple[int, int, int], list[list[str]]] = {}
    for i, e in zip(rows.tolist(), late.tolist(), strict=True):
        s, x = int(pairs.students[i]), int(pairs.slots[i])
        per_pair.setdefault((s, int(rank_of[i]), int(d.x_opp[x])), []).append(
            _reasons(d, s, x, float(pairs.minutes[i]), int(pairs.bits[i]), e)
        )
    for (s, rank, o), reasons in sorted(per_pair.items()):
        student, opportunity = int(d.s_id[s]), int(d.o_id[o])
        if (student, opportunity) not in pinned:
            cuts[student].append(Cut(opportunity, rank, _summarise(reasons)))
    return cuts


def _slot_specs(d: _Data) -> tuple[SlotSpec, ...]:
    opp = d.x_opp
    host_ids, opp_ids = d.h_id[d.o_host[opp]].tolist(), d.o_id[opp].tolist()
    kinds, capacities = d.o_kind[opp].tolist(), d.o_capacity[opp].tolist()
    return tuple(
        SlotSpec(
            id=int(d.x_id[x]),
            host=host_ids[x],
            opportunity=opp_ids[x],
            kind=kinds[x],
            capacity=capacities[x],
            sessions=d.x_sessions[x],
            week_minutes=d.x_weeks[x],
        )
        for x in np.argsort(d.x_id).tolist()
    )


def _classes(d: _Data) -> tuple[np.ndarray, np.ndarray]:
    """Eligibility class per student, and the class with windows left out: students of one
    class break exactly the same rules (all but veto and travel) on every slot, with the same
    release windows. Ages enter only through the limits the rules compare them with (16, 18
    and every ``min_age``): the key holds, per limit, the first slot day the student has
    reached it."""
    days = np.unique(d.x_day)
    limits = np.unique(np.r_[16, 18, d.o_min_age[d.o_min_age != _NO_MINIMUM]]).astype(np.int64)
    # age on day >= limit  <=>  day >= birth + limit years, both as yyyymmdd.
    reached = np.searchsorted(days, d.s_birth[:, None] + limits[None, :] * 10000)
    rules_key = np.column_stack([d.s_grade, d.s_consent, d.s_permit, reached])
    _, rules_class = np.unique(rules_key, axis=0, return_inverse=True)
    rules_class = rules_class.reshape(-1)
    _, full_class = np.unique(np.column_stack([rules_class, d.s_ws]), axis=0, return_inverse=True)
    return full_class.reshape(-1), rules_class


@dataclass
class _Class:
    """What the students of one class can take, before distances: the remote opportunities,
    and the local slots no rule but travel rules out, each with its lead (the most travel
    minutes its sessions leave, an index into the window set's distinct leads)."""

    ws: int
    remote_opps: np.ndarray
    remote_slots: int
    cols: np.ndarray
    col_host: np.ndarray
    col_lead: np.ndarray
    col_opp: np.ndarray  # sorted: slots are grouped by opportunity
    single: np.ndarray  # the column of each opportunity with one column here
    multi: np.ndarray  # [opportunity, k]: its columns, padded with its first one

    def count_opportunities(self, fits: np.ndarray) -> np.ndarray:
        """Per student (row of ``fits``), the opportunities with some column that fits."""
        count = _row_counts(np.take(fits, self.single, axis=1))
        if self.multi.size:
            some = np.take(fits, self.multi[:, 0], axis=1)
            for k in range(1, self.multi.shape[1]):
                some |= np.take(fits, self.multi[:, k], axis=1)
            count += _row_counts(some)
        return count

    def opportunities(self, fits_row: np.ndarray) -> np.ndarray:
        """The opportunities with some column that fits, for one student."""
        opps = self.col_opp[fits_row]
        return opps[np.r_[True, opps[1:] != opps[:-1]]] if len(opps) else opps


def _row_counts(mask: np.ndarray) -> np.ndarray:
    """``np.count_nonzero(mask, axis=1)``, row by row: counting a contiguous row is a fast
    popcount, while the axis form goes through a slow generic sum."""
    return np.fromiter((np.count_nonzero(row) for row in mask), np.int64, len(mask))


@dataclass
class _Limits:
    """Per column of a class, for one mode and travel limit: the travel minutes allowed and
    the distance keys (<= ``sure`` fits, > ``maybe`` does not, in between: ask exactly)."""

    minutes: np.ndarray
    sure: np.ndarray
    maybe: np.ndarray


class _Classes:
    """Builds :class:`_Class` and :class:`_Limits`, caching what neighbours share."""

    def __init__(self, d: _Data, oracle: _Oracle) -> None:
        self.d, self.oracle = d, oracle
        self.local = ~d.o_remote[d.x_opp]
        self.local_slots = np.flatnonzero(self.local)
        self.remote_slots = np.flatnonzero(~self.local)
        self.local_opp = d.x_opp[self.local_slots]
        self.leads: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self.keys: dict[tuple[int, int, float], tuple[np.ndarray, ...]] = {}
        self.rules: tuple[int, np.ndarray, np.ndarray] | None = None

    def lead(self, ws: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Distinct lead values of window set ``ws``, and each local and remote slot's index
        into them (-1: no session fits), so travel limits become keys once per value."""
        if ws not in self.leads:
            if len(self.leads) >= 64:
                self.leads.clear()
                self.keys.clear()
            row = _lead_row(self.d, ws)
            values, code = np.unique(row, return_inverse=True)
            code = np.where(row == -np.inf, -1, code.reshape(-1))
            self.leads[ws] = (values, code[self.local_slots], code[self.remote_slots])
        return self.leads[ws]

    def build(self, rules_cls: int, rep: int) -> _Class:
        d = self.d
        if self.rules is None or self.rules[0] != rules_cls:
            ok = _eligibility(d, rep, slice(None)) == 0
            self.rules = (rules_cls, ok[self.local_slots], ok[self.remote_slots])
        _, rules_local, rules_remote = self.rules
        ws = int(d.s_ws[rep])
        _, code_local, code_remote = self.lead(ws)
        # Remote slots take no travel: the class decides them alone.
        remote_ok = self.remote_slots[rules_remote & (code_remote >= 0)]
        remote_opp = d.x_opp[remote_ok]  # sorted: slots are grouped by opportunity
        first = np.ones(len(remote_opp), np.bool_)
        first[1:] = remote_opp[1:] != remote_opp[:-1]

        at = np.flatnonzero(rules_local & (code_local >= 0))
        col_opp = self.local_opp[at]
        starts = np.ones(len(at), np.bool_)
        starts[1:] = col_opp[1:] != col_opp[:-1]
        run_first = np.flatnonzero(starts)
        run_length = np.diff(np.r_[run_first, len(at)])
        # Most opportunities have one slot here; the others get a row of their columns.
        multi_first = run_first[run_length > 1]
        multi = multi_first[:, None] + np.arange(int(run_length.max(initial=1)))[None, :]
        multi = np.where(multi < (multi_first + run_length[run_length > 1])[:, None], multi,
                         multi_first[:, None])  # fmt: skip
        return _Class(
            ws=ws,
            remote_opps=remote_opp[first],
            remote_slots=len(remote_ok),
            cols=self.local_slots[at],
            col_host=d.o_host[col_opp],
            col_lead=code_local[at],
            col_opp=col_opp,
            single=run_first[run_length == 1],
            multi=multi,
        )

    def limits(self, klass: _Class, mode: int, limit: float) -> _Limits:
        cached = self.keys.get((klass.ws, mode, limit))
        if cached is None:
            allowed = np.minimum(self.lead(klass.ws)[0], limit)
            sure, maybe = self.oracle.keys(mode, allowed)
            # Travel never takes less than the mode's fixed overhead.
            short = allowed < self.oracle.min_minutes[mode]
            sure[short] = maybe[short] = -1.0
            cached = self.keys[klass.ws, mode, limit] = (allowed, sure, maybe)
        allowed, sure, maybe = cached
        return _Limits(allowed[klass.col_lead], sure[klass.col_lead], maybe[klass.col_lead])


def _dense_pass(
    d: _Data, oracle: _Oracle, excluded: dict[int, set[int]], limit: int | None
) -> _Tally:
    """Every student against every slot, by class and distance block: how many slots and
    opportunities each can take (vetoes not yet removed), and which unranked opportunities
    are kept (``limit`` nearest; None: all; 0: none)."""
    n = len(d.s_id)
    tally = _Tally(np.zeros(n, np.int64), np.zeros(n, np.int64))
    if n == 0 or len(d.x_id) == 0:
        return tally
    classes, rules_classes = _classes(d)
    order = np.lexsort((d.s_limit, d.s_mode, classes))
    new_class = np.ones(n, np.bool_)
    new_class[1:] = np.diff(classes[order]) != 0
    new_group = new_class.copy()
    new_group[1:] |= (np.diff(d.s_mode[order]) != 0) | (np.diff(d.s_limit[order]) != 0)
    builder = _Classes(d, oracle)
    klass: _Class | None = None
    limits: _Limits | None = None
    for c0 in range(0, n, _CHUNK):
        chunk = order[c0 : c0 + _CHUNK]
        # One matrix product per chunk of students: distance keys, student by host.
        keys = oracle.matrix(chunk)
        edges = np.flatnonzero(new_group[c0 : c0 + _CHUNK]).tolist()
        for r0, r1 in itertools.pairwise([0, *(e for e in edges if e), len(chunk)]):
            students = chunk[r0:r1]
            rep = int(students[0])
            mode = int(d.s_mode[rep])
            if klass is None or new_class[c0 + r0]:
                klass = builder.build(int(rules_classes[rep]), rep)
            if limits is None or new_group[c0 + r0]:
                limits = builder.limits(klass, mode, float(d.s_limit[rep]))
            block = keys[r0:r1]
            fits = _fits(oracle, block, students, klass, limits)
            tally.reach_slots[students] += klass.remote_slots + _row_counts(fits)
            tally.reach_opps[students] += len(klass.remote_opps) + klass.count_opportunities(fits)
            if limit == 0:
                continue
            # Only a local opportunity 0 minutes away could compete with a remote one.
            near_zero = (
                block.min(axis=1) <= oracle.zero_key[mode]
                if oracle.min_minutes[mode] <= 0 and block.shape[1]
                else np.zeros(len(students), np.bool_)
            )
            for b, s in enumerate(students.tolist()):
                kept = _keep_unranked(
                    d, oracle, s, limit, excluded.get(s, set()), klass, fits[b], block[b],
                    bool(near_zero[b]),
                )  # fmt: skip
                tally.kept_students.extend([s] * len(kept))
                tally.kept_opps.extend(kept)
    return tally


def _fits(
    oracle: _Oracle, keys: np.ndarray, students: np.ndarray, klass: _Class, limits: _Limits
) -> np.ndarray:
    """Which of the class's local slots (columns) each student (row) can take, every rule but
    veto: by distance key, and by exact travel time where the key is too close to call."""
    gathered = np.take(keys, klass.col_host, axis=1)
    fits = gathered <= limits.sure
    unsure = gathered <= limits.maybe
    unsure ^= fits  # sure implies maybe
    if unsure.any():
        rows, at = np.divmod(np.flatnonzero(unsure), len(klass.cols))
        minutes = oracle.exact(students[rows], klass.col_host[at])
        fits[rows, at] = minutes <= limits.minutes[at]
    return fits


def _keep_unranked(
    d: _Data,
    oracle: _Oracle,
    s: int,
    limit: int | None,
    excluded: set[int],
    klass: _Class,
    fits_row: np.ndarray,
    key_row: np.ndarray,
    near_zero: bool,
) -> list[int]:
    """The unranked opportunities kept for student ``s``: the ``limit`` with the shortest
    travel (remote: 0), ties by the student's lottery (:func:`tie_key`); all of them when
    ``limit`` is None. ``excluded`` are the ones the student ranked or the host vetoed;
    ``fits_row`` the class's local slots the student can take; ``near_zero``: some host may
    be 0 minutes away."""
    remote_opps = klass.remote_opps
    if limit is None:
        remote = [o for o in remote_opps.tolist() if o not in excluded]
        local = klass.opportunities(fits_row).tolist()
        return remote + [o for o in local if o not in excluded]
    if len(remote_opps):
        open_remote = np.array([o not in excluded for o in remote_opps.tolist()], np.bool_)
        remote_opps = remote_opps[open_remote]
        remote_opps = remote_opps[np.argsort(_ties(d, s, remote_opps), kind="stable")]
    remote = remote_opps[:limit].tolist()
    if len(remote) == limit and not near_zero:
        return remote
    local_opps = klass.opportunities(fits_row)
    if len(local_opps) == 0:
        return remote
    hosts = d.o_host[local_opps]
    keys = key_row[hosts]
    wanted = limit + len(excluded)
    if len(local_opps) > wanted:
        kth = np.partition(keys, wanted - 1)[wanted - 1]
        near = keys <= kth + oracle.order_slack(float(kth))
        local_opps, hosts = local_opps[near], hosts[near]
    minutes = oracle.exact(np.full(len(local_opps), s), hosts)
    ties = _ties(d, s, local_opps).tolist()
    local = [
        (m, t, o)
        for m, t, o in zip(minutes.tolist(), ties, local_opps.tolist(), strict=True)
        if o not in excluded
    ]
    remote_ties = _ties(d, s, np.asarray(remote, dtype=np.int64)).tolist()
    ranked = sorted([(0.0, t, o) for t, o in zip(remote_ties, remote, strict=True)] + local)
    return [o for _, _, o in ranked[:limit]]


@dataclass
class _Placed:
    """Pins and previous placements (database ids), and the arcs they need beyond the
    candidates: student and slot indices, travel minutes, and whether the weekly cap is
    lifted (a pin that alone breaks it would otherwise make the whole problem infeasible)."""

    pins: tuple[tuple[int, int], ...] = ()
    previous: tuple[tuple[int, int], ...] = ()
    students: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    slots: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    minutes: np.ndarray = field(default_factory=lambda: np.zeros(0))
    uncapped: np.ndarray = field(default_factory=lambda: np.zeros(0, np.bool_))


def _placements(
    session: Session, d: _Data, oracle: _Oracle, keep_published: bool, warnings: list[str]
) -> _Placed:
    """Pins (with a warning for each that breaks a rule) and previous placements."""
    rows = session.execute(
        select(Placement.student_id, Placement.slot_id, Placement.status, Placement.pinned)
        .where(Placement.term_id == d.term.id)
        .order_by(Placement.id)
    ).all()
    student_index = {sid: i for i, sid in enumerate(d.s_id.tolist())}
    slot_index = {xid: i for i, xid in enumerate(d.x_id.tolist())}
    pins: dict[tuple[int, int], str] = {}
    previous: dict[tuple[int, int], None] = {}
    for student_id, slot_id, status, pinned in rows:
        s, x = student_index.get(student_id), slot_index.get(slot_id)
        if s is None or x is None:
            continue  # a slot of another term: nothing to keep here
        if pinned and status not in _PINNED_OUT:
            pins.setdefault((s, x), "pinned")
        elif keep_published and status in _PUBLISHED:
            pins.setdefault((s, x), status.value)
        elif status == PlacementStatus.PROPOSED and not pinned:
            previous[s, x] = None
    previous = {pair: None for pair in previous if pair not in pins}
    pairs = [*pins, *previous]
    if not pairs:
        return _Placed()
    students = np.array([p[0] for p in pairs], np.int64)
    slots = np.array([p[1] for p in pairs], np.int64)
    minutes = _travel_pairs(d, oracle, students, slots)
    bits = _failures(d, students, slots, minutes)
    for i, ((s, x), how) in enumerate(pins.items()):
        if bits[i]:
            reasons = "; ".join(_reasons(d, s, x, float(minutes[i]), int(bits[i])))
            warnings.append(
                f"{how} placement of {d.s_code[s]} in {d.o_code[d.x_opp[x]]} breaks a rule "
                f"({reasons}); kept as the coordinator's override"
            )
    # Every pin gets its arc; a previous placement only if it is still a candidate.
    keys = students * d.n_opps + d.x_opp[slots]
    keep = (bits == 0) & (_member(d.pref_key, keys) | d.rules.place_unranked)
    keep[: len(pins)] = True

    def ids(chosen: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
        return tuple(sorted((int(d.s_id[s]), int(d.x_id[x])) for s, x in chosen))

    uncapped = np.zeros(len(pairs), np.bool_)
    uncapped[: len(pins)] = (bits[: len(pins)] & CAP) != 0
    return _Placed(
        ids(pins), ids(previous), students[keep], slots[keep], minutes[keep], uncapped[keep]
    )


def _arcs(
    d: _Data, students: np.ndarray, slots: np.ndarray, minutes: np.ndarray, uncapped: np.ndarray
) -> tuple[tuple[Arc, ...], dict[tuple[int, int], float]]:
    """Arc objects (first occurrence of a pair wins), sorted by student and slot id, and their
    exact travel minutes; ``uncapped`` (student * n_slots + slot, sorted) get no weekly cap."""
    n_slots = max(len(d.x_id), 1)
    pair_keys, first = np.unique(students * n_slots + slots, return_index=True)
    s, x, t = students[first], slots[first], minutes[first]
    lifted = _member(uncapped, pair_keys)
    order = np.lexsort((d.x_id[x], d.s_id[s]))
    s, x, t, lifted = s[order], x[order], t[order], lifted[order]
    o = d.x_opp[x]
    keys = s * d.n_opps + o
    rank = _lookup(d.pref_key, d.pref_rank, keys, 0)
    host_rank = _lookup(d.host_rank_key, d.host_rank, keys, 0)
    age = _ages(d, s, x)
    under_16, under_18 = _caps(d)
    cap = np.where(age < 16, under_16, np.where(age < 18, under_18, _NO_CAP))
    cap[lifted] = _NO_CAP
    # New cluster: (student, the opportunity's cluster) is not among (student, prior cluster).
    cluster_ids: dict[str, int] = {}
    o_cluster = np.fromiter(
        (cluster_ids.setdefault(c, len(cluster_ids)) for c in d.o_cluster), np.int64, d.n_opps
    )
    width = len(cluster_ids) + 1
    prior = sorted(
        i * width + cluster_ids[c]
        for i, clusters in enumerate(d.s_prior)
        for c in clusters
        if c in cluster_ids
    )
    new = ~_member(np.array(prior, np.int64), s * width + o_cluster[o])
    sid, xid = d.s_id.tolist(), d.x_id.tolist()
    arcs = tuple(
        Arc(sid[si], xid[xi], r or None, tm, nc, None if cp == _NO_CAP else cp, hr or None)
        for si, xi, r, tm, nc, cp, hr in zip(
            s.tolist(), x.tolist(), rank.tolist(), np.rint(t).astype(np.int64).tolist(),
            new.tolist(), cap.tolist(), host_rank.tolist(), strict=True,
        )
    )  # fmt: skip
    travel = dict(zip(((a.student, a.slot) for a in arcs), t.tolist(), strict=True))
    return arcs, travel


def _student_specs(d: _Data) -> tuple[StudentSpec, ...]:
    groups = {code: k for k, code in enumerate(sorted({g for g in d.s_group if g}), start=1)}
    return tuple(
        StudentSpec(sid, d.rules.priority_weight(flags), groups.get(group) if group else None)
        for sid, flags, group in zip(d.s_id.tolist(), d.s_flags, d.s_group, strict=True)
    )


# ---------------------------------------------------------------------------------------------
# One student's view

NOTHING_SCHEDULED = "nothing scheduled yet"
"""The reason given for an opportunity with no slot (build_problem gives it no arc either)."""


@dataclass(frozen=True)
class Option:
    """One opportunity of a term as one student sees it (see :func:`student_options`).

    ``travel_min`` is the exact travel time by ``mode`` (the student's transport), 0.0 for a
    remote opportunity. ``open_slots`` are the slots (ids, in schedule order) for which the
    student passes every per-pair hard rule; the opportunity is ``ok`` when there is one.
    Otherwise ``reasons`` says why not, in the same sentences as :class:`Cut`.
    ``slot_reasons`` holds every slot that fails with its own reasons, so a page can say which
    date of a job shadow does not fit.
    """

    opportunity_id: int
    travel_min: float
    mode: str
    remote: bool
    open_slots: tuple[int, ...]
    reasons: tuple[str, ...]
    slot_reasons: dict[int, tuple[str, ...]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.open_slots)


def student_options(
    session: Session, term: Term, student_id: int, *, travel: TravelModel | None = None
) -> dict[int, Option]:
    """Every opportunity of ``term`` as the student ``student_id`` sees it, by opportunity id
    (in id order): the same per-pair rules, travel times and sentences as
    :func:`build_problem`, for one student against every slot. An opportunity is ``ok``
    exactly when ``build_problem`` would give the pair an arc were it ranked (pins aside), and
    its ``reasons`` are then what the ranked cut would say. Raises ``LookupError`` when the
    student is not in the term."""
    d = _load(session, term, student_id)
    if len(d.s_id) != 1:
        raise LookupError(f"no student {student_id} in term {term.name!r}")
    oracle = _make_oracle(d, travel)
    # Travel once per opportunity (its host, or 0 when remote); a slot takes its opportunity's.
    o_minutes = np.zeros(d.n_opps)
    local = np.flatnonzero(~d.o_remote)
    if len(local):
        hosts, inverse = np.unique(d.o_host[local], return_inverse=True)
        o_minutes[local] = oracle.exact(np.zeros(len(hosts), np.int64), hosts)[inverse]
    slots = np.arange(len(d.x_id), dtype=np.int64)
    students = np.zeros(len(slots), np.int64)
    minutes = o_minutes[d.x_opp]
    bits = _failures(d, students, slots, minutes)
    failing = np.flatnonzero(bits)
    late = _late_sessions(d, students[failing], failing, minutes[failing])
    slot_reasons = {
        x: tuple(_reasons(d, 0, x, float(minutes[x]), int(bits[x]), e))
        for x, e in zip(failing.tolist(), late.tolist(), strict=True)
    }
    mode = _MODE_NAMES[int(d.s_mode[0])]
    options: dict[int, Option] = {}
    for o in range(d.n_opps):
        own = range(int(d.o_first[o]), int(d.o_first[o + 1]))
        open_slots = tuple(int(d.x_id[x]) for x in own if not bits[x])
        if open_slots:
            reasons: tuple[str, ...] = ()
        elif len(own):
            reasons = _summarise([list(slot_reasons[x]) for x in own])
        else:
            reasons = (NOTHING_SCHEDULED,)
        opportunity_id = int(d.o_id[o])
        options[opportunity_id] = Option(
            opportunity_id=opportunity_id,
            travel_min=float(o_minutes[o]),
            mode=mode,
            remote=bool(d.o_remote[o]),
            open_slots=open_slots,
            reasons=reasons,
            slot_reasons={int(d.x_id[x]): slot_reasons[x] for x in own if bits[x]},
        )
    return options
