"""Importing bundles into the database and exporting them back, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tests.bundles import (
    HOST_REVIEWS_CSV,
    OPPORTUNITIES_CSV,
    PREFERENCES_CSV,
    STUDENTS_CSV,
    write_tiny_bundle,
)
from wbl.bundle import (
    Bundle,
    BundleError,
    HostRow,
    OpportunityRow,
    PreferenceRow,
    ReviewRow,
    StudentRow,
    TermSpec,
    bundle_files,
    read_bundle,
    write_bundle,
)
from wbl.db import transaction
from wbl.geocode import AddressLocator
from wbl.models import (
    Base,
    Host,
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
from wbl.services.bundles import (
    TermNotFound,
    bundle_from_term,
    export_term,
    get_term,
    import_bundle,
)


def _import(session: Session, folder: Path):
    return import_bundle(session, folder, AddressLocator(session, None))


def _counts(session: Session) -> dict[str, int]:
    return {
        table.name: session.scalar(select(func.count()).select_from(table)) or 0
        for table in Base.metadata.sorted_tables
    }


def test_import_bundle_writes_every_row(session: Session, tmp_path: Path) -> None:
    report = _import(session, write_tiny_bundle(tmp_path))
    session.commit()
    assert report.created
    counts = _counts(session)
    assert counts["term"] == 1
    assert counts["student"] == 3
    assert counts["host"] == 2
    assert counts["opportunity"] == 3
    assert counts["slot"] == 4  # 2 dated shadows + 1 weekly internship + 1 flexible
    assert counts["session"] == 2 + 26
    assert counts["preference"] == 4
    assert counts["host_review"] == 3
    term = get_term(session, "Tiny Term")
    assert term.rules.priority == {"first_gen": 3}
    cai = session.scalars(select(Student).where(Student.code == "S3")).one()
    # Address only, no geocoder configured: placed at the ZIP 80205 centroid and said so.
    assert cai.origin_geocoded
    assert 39.7 < cai.origin_lat < 39.8 and -105.0 < cai.origin_lon < -104.9
    assert report.approximated == 1
    assert str(report.located[0]).startswith(
        "students.csv:4: S3: approximated by ZIP-code centroid"
    )


def test_import_bundle_twice_changes_nothing(session: Session, tmp_path: Path) -> None:
    folder = write_tiny_bundle(tmp_path)
    _import(session, folder)
    session.commit()
    before = _counts(session)
    ids = sorted(session.scalars(select(Slot.id)))
    report = _import(session, folder)
    session.commit()
    assert not report.created
    assert _counts(session) == before
    assert sorted(session.scalars(select(Slot.id))) == ids
    for table, changes in report.changes.items():
        assert (changes.added, changes.updated, changes.removed) == (0, 0, 0), table


def test_import_bundle_edit_updates_in_place_and_keeps_placements(
    session: Session, tmp_path: Path
) -> None:
    _import(session, write_tiny_bundle(tmp_path / "v1"))
    ana = session.scalars(select(Student).where(Student.code == "S1")).one()
    shadow_slot = session.scalars(
        select(Slot).join(Slot.opportunity).where(Opportunity.code == "O1")
    ).first()
    assert shadow_slot is not None
    term = get_term(session, "Tiny Term")
    session.add(
        Placement(term=term, student=ana, slot=shadow_slot, status=PlacementStatus.PUBLISHED)
    )
    session.commit()

    students = STUDENTS_CSV.replace("Ana Ruiz", "Ana Ruiz-Soto").replace(
        STUDENTS_CSV.splitlines()[3] + "\n", ""
    )  # rename S1, drop S3
    preferences = PREFERENCES_CSV.replace("S1,O2,2", "S1,O2,3")
    reviews = HOST_REVIEWS_CSV.replace("O1,S3,veto,\n", "")
    report = _import(
        session,
        write_tiny_bundle(
            tmp_path / "v2",
            students_csv=students,
            preferences_csv=preferences,
            host_reviews_csv=reviews,
        ),
    )
    session.commit()
    assert report.changes["students"].updated == 1
    assert report.changes["students"].removed == 1
    assert report.changes["preferences"].updated == 1
    assert report.changes["host reviews"].removed == 1
    assert session.get(Student, ana.id).name == "Ana Ruiz-Soto"  # same row, same id
    placement = session.scalars(select(Placement)).one()  # schedule unchanged: slot kept
    assert placement.slot_id == shadow_slot.id
    assert session.scalar(select(func.count(Student.id))) == 2


def test_import_bundle_changed_schedule_rebuilds_slots(session: Session, tmp_path: Path) -> None:
    _import(session, write_tiny_bundle(tmp_path / "v1"))
    session.commit()
    changed = OPPORTUNITIES_CSV.replace("Tue,Thu 13:30-16:30", "Mon,Wed,Fri 14:00-16:00")
    report = _import(session, write_tiny_bundle(tmp_path / "v2", opportunities_csv=changed))
    session.commit()
    assert report.changes["opportunities"].updated == 1
    assert report.changes["slots"].removed == 1 and report.changes["slots"].added == 1
    sessions = session.scalars(
        select(SlotSession).join(SlotSession.slot).join(Slot.opportunity)
        .where(Opportunity.code == "O2")
    ).all()  # fmt: skip
    assert len(sessions) == 39  # Mon/Wed/Fri, 2027-02-01 (a Monday) to 2027-04-30 (a Friday)


def test_import_bundle_new_date_keeps_the_students_of_the_other_dates(
    session: Session, tmp_path: Path
) -> None:
    _import(session, write_tiny_bundle(tmp_path / "v1"))
    term = get_term(session, "Tiny Term")
    ben = session.scalars(select(Student).where(Student.code == "S2")).one()
    first, second = session.scalars(
        select(Slot).join(Slot.opportunity).where(Opportunity.code == "O1").order_by(Slot.position)
    ).all()
    session.add(Placement(term=term, student=ben, slot=second, status=PlacementStatus.PUBLISHED))
    session.commit()
    # A date added before the others, and the first one (nobody placed) dropped.
    changed = OPPORTUNITIES_CSV.replace(
        "2027-02-10 09:00-12:00;2027-02-17 09:00-12:00",
        "2027-02-03 09:00-12:00;2027-02-17 09:00-12:00;2027-02-24 09:00-12:00",
    )
    report = _import(session, write_tiny_bundle(tmp_path / "v2", opportunities_csv=changed))
    session.commit()
    slots = report.changes["slots"]
    assert (slots.added, slots.removed) == (2, 1)
    placement = session.scalars(select(Placement)).one()  # kept, in the same slot row
    assert placement.slot_id == second.id
    session.expire_all()
    by_position = session.scalars(
        select(Slot).join(Slot.opportunity).where(Opportunity.code == "O1").order_by(Slot.position)
    ).all()
    assert [s.label for s in by_position] == [
        "2027-02-03 09:00-12:00", "2027-02-17 09:00-12:00", "2027-02-24 09:00-12:00",
    ]  # fmt: skip
    assert [s.position for s in by_position] == [0, 1, 2]
    assert by_position[1].id == second.id and session.get(Slot, first.id) is None


def test_import_bundle_bad_bundle_writes_nothing(engine: Engine, tmp_path: Path) -> None:
    with transaction(engine) as session:
        _import(session, write_tiny_bundle(tmp_path / "good"))
    with transaction(engine) as session:
        before = _counts(session)
    broken = write_tiny_bundle(
        tmp_path / "bad", preferences_csv=PREFERENCES_CSV + "S1,O3,-1\n",
        students_csv=STUDENTS_CSV.replace("Ana Ruiz", "Ana Changed"),
    )  # fmt: skip
    with pytest.raises(BundleError), transaction(engine) as session:
        _import(session, broken)
    with transaction(engine) as session:
        assert _counts(session) == before
        assert session.scalars(select(Student.name).where(Student.code == "S1")).one() == "Ana Ruiz"


def test_import_bundle_unlocatable_address_is_an_error(session: Session, tmp_path: Path) -> None:
    students = STUDENTS_CSV.replace("3210 Race St, Denver, CO 80205", "behind the old mill")
    with pytest.raises(BundleError) as caught:
        _import(session, write_tiny_bundle(tmp_path, students_csv=students))
    assert [str(p) for p in caught.value.problems] == [
        "students.csv:4: origin_address: cannot locate 'behind the old mill'; give coordinates "
        "or a full street address with a ZIP code"
    ]


def test_export_term_round_trips(session: Session, tmp_path: Path) -> None:
    source = write_tiny_bundle(tmp_path / "in")
    _import(session, source)
    session.commit()
    export_term(session, "Tiny Term", tmp_path / "out")
    # The geocoded student is exported as the coordinator wrote them: address, no coordinates.
    for name in ("students.csv", "hosts.csv", "preferences.csv", "host_reviews.csv"):
        assert (tmp_path / "out" / name).read_text() == (source / name).read_text(), name
    report = _import(session, tmp_path / "out")
    assert all(c.added == c.updated == c.removed == 0 for c in report.changes.values())


def test_export_term_unknown_name_lists_terms(session: Session, tmp_path: Path) -> None:
    _import(session, write_tiny_bundle(tmp_path))
    with pytest.raises(TermNotFound, match="no term named 'Fall' \\(terms: 'Tiny Term'\\)"):
        export_term(session, "Fall", tmp_path / "out")


def test_delete_term_cascades_on_both_backends(session: Session, tmp_path: Path) -> None:
    _import(session, write_tiny_bundle(tmp_path))
    session.commit()
    session.delete(get_term(session, "Tiny Term"))
    session.commit()
    assert all(n == 0 for name, n in _counts(session).items() if name != "geocode_cache")


# ---------------------------------------------------------------------------------------------
# Property: import -> export -> import gives identical data, for generated bundles.

_names = (
    st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")),
        min_size=1,
        max_size=30,
    )
    .map(str.strip)
    .filter(bool)
)
_codes = st.from_regex(r"[A-Za-z0-9_-]{1,12}", fullmatch=True)
_clusters = st.sampled_from(["Health Science", "Finance", "Arts, A/V Technology & Communications"])
_schedules = st.sampled_from(
    [
        "2027-02-10 09:00-12:00",
        "2027-02-10 09:00-12:00;2027-03-17 08:30-11:15",
        "2027-02-01/2027-04-30 Tue,Thu 13:30-16:30",
        "2027-03-01/2027-03-31 Mon-Fri 15:00-17:00",
    ]
)
_coords = st.tuples(st.floats(-90, 90, allow_nan=False), st.floats(-180, 180, allow_nan=False))


@st.composite
def bundles(draw: st.DrawFn) -> Bundle:
    n_hosts = draw(st.integers(1, 4))
    host_codes = draw(st.lists(_codes, min_size=n_hosts, max_size=n_hosts, unique=True))
    hosts = []
    for code in host_codes:
        lat, lon = draw(_coords)
        hosts.append(HostRow(
            code=code, name=draw(_names), career_cluster=draw(_clusters), lat=lat, lon=lon,
            address=draw(st.sampled_from(["", "1 Main St, Denver, CO 80202"])),
            max_students=draw(st.none() | st.integers(0, 50)),
            mentor_background_checked=draw(st.booleans()),
        ))  # fmt: skip
    opp_codes = draw(st.lists(_codes, min_size=1, max_size=5, unique=True))
    opportunities = []
    for code in opp_codes:
        flexible = draw(st.booleans())
        opportunities.append(OpportunityRow(
            code=code, host=draw(st.sampled_from(host_codes)),
            kind=draw(st.sampled_from(["job_shadow", "internship", "micro_internship"])),
            title=draw(_names), capacity=draw(st.integers(0, 9)),
            schedule="2027-02-01/2027-03-15 flexible" if flexible else draw(_schedules),
            career_cluster=draw(_clusters), min_age=draw(st.none() | st.integers(14, 18)),
            min_grade=draw(st.none() | st.integers(9, 12)),
            requires_consent=draw(st.booleans()), requires_work_permit=draw(st.booleans()),
            hazardous=draw(st.booleans()), remote=draw(st.booleans()),
            hours=draw(st.floats(0.5, 80).map(lambda h: round(h, 2))) if flexible else None,
        ))  # fmt: skip
    student_codes = draw(st.lists(_codes, min_size=1, max_size=6, unique=True))
    students = []
    for code in student_codes:
        lat, lon = draw(_coords)
        students.append(StudentRow(
            code=code, name=draw(_names), grade=draw(st.integers(9, 12)),
            birth_date=draw(st.dates(date(2007, 1, 1), date(2013, 12, 31))),
            transport=draw(st.sampled_from(["walk", "bike", "transit", "car"])),
            email=draw(st.sampled_from(["", "a.b@students.example.org"])), school=draw(_names),
            origin_lat=lat, origin_lon=lon, origin_address=draw(st.sampled_from(["", "x"])),
            max_travel_min=draw(st.none() | st.integers(1, 120)),
            available=draw(st.sampled_from(["", "Tue,Thu 13:00-17:00", "Mon-Fri 14:00-17:00"])),
            flags=tuple(draw(st.lists(st.sampled_from(["first_gen", "ell"]), unique=True))),
            guardian_consent=draw(st.booleans()), work_permit=draw(st.booleans()),
            prior_clusters=tuple(draw(st.lists(_clusters, unique=True, max_size=2))),
            group=draw(st.sampled_from(["", "G1", "G2"])),
        ))  # fmt: skip
    pairs = draw(st.lists(
        st.tuples(st.sampled_from(student_codes), st.sampled_from(opp_codes)),
        unique=True, max_size=10,
    ))  # fmt: skip
    preferences = [PreferenceRow(s, o, draw(st.integers(1, 5))) for s, o in pairs]
    reviewed = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=3)) if pairs else []
    reviews = [
        ReviewRow(
            o, s, draw(st.sampled_from(["accept", "veto"])), draw(st.none() | st.integers(1, 3))
        )
        for s, o in reviewed
    ]
    rules = Rules(
        max_travel_min=draw(st.integers(5, 90)), seed=draw(st.integers(0, 10**6)),
        place_unranked=draw(st.booleans()), mode=draw(st.sampled_from(["welfare", "stable"])),
        weekly_hours_cap_16_17=draw(st.none() | st.floats(1, 40).map(lambda h: round(h, 1))),
        priority=draw(st.dictionaries(st.sampled_from(["first_gen", "ell"]), st.integers(0, 5))),
    )  # fmt: skip
    term = TermSpec(draw(_names), date(2027, 1, 25), date(2027, 5, 28), "America/Denver", rules)
    return Bundle(term, students, hosts, opportunities, preferences, reviews)


_round = itertools.count()


@settings(
    max_examples=20, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)  # fmt: skip
@given(bundle=bundles())
def test_import_export_import_round_trips(bundle: Bundle, session: Session, tmp_path: Path) -> None:
    folder = tmp_path / f"round{next(_round)}"
    write_bundle(bundle, folder / "in")
    report = _import(session, folder / "in")
    session.flush()
    term = get_term(session, bundle.term.name)
    exported = bundle_from_term(session, term)
    assert exported == bundle
    write_bundle(exported, folder / "out")
    assert bundle_files(exported) == bundle_files(bundle)
    again = _import(session, folder / "out")
    assert all(c.added == c.updated == c.removed == 0 for c in again.changes.values())
    assert report.created
    session.rollback()
    assert session.scalar(select(func.count(Term.id)).where(Term.name == bundle.term.name)) == 0


def test_models_hold_what_was_imported(session: Session, tmp_path: Path) -> None:
    """Spot-check the ORM view of the tiny bundle a coordinator would see."""
    _import(session, write_tiny_bundle(tmp_path))
    dental = session.scalars(select(Host).where(Host.code == "H1")).one()
    assert [o.code for o in dental.opportunities] == ["O1"]
    shadow = dental.opportunities[0]
    assert [s.label for s in shadow.slots] == ["2027-02-10 09:00-12:00", "2027-02-17 09:00-12:00"]
    first = shadow.slots[0].sessions[0]
    assert first.start == datetime(2027, 2, 10, 16, tzinfo=UTC)  # 09:00 MST
    ranks = session.execute(
        select(Student.code, Opportunity.code, Preference.rank)
        .join(Preference.student).join(Preference.opportunity).order_by(Preference.id)
    ).all()  # fmt: skip
    assert [tuple(r) for r in ranks] == [("S1", "O1", 1), ("S1", "O2", 2), ("S2", "O2", 1),
                                         ("S2", "O3", 1)]  # fmt: skip


def test_export_term_sample_term_round_trips(session: Session, tmp_path: Path) -> None:
    """The 400-student sample, calendars included, comes back out with the same data."""
    from tests.conftest import SAMPLE_TERM

    _import(session, SAMPLE_TERM)
    session.commit()
    written = export_term(session, "Spring 2027", tmp_path)
    names = sorted(str(p.relative_to(tmp_path)) for p in written)
    expected = sorted(
        str(p.relative_to(SAMPLE_TERM))
        for p in SAMPLE_TERM.rglob("*")
        if p.is_file() and p.name != "README.md"
    )
    assert names == expected
    exported, original = read_bundle(tmp_path), read_bundle(SAMPLE_TERM)
    assert exported == original  # numbers may be written shorter (39.75639 for 39.756390)
    assert len(exported.students) == 400 and len(exported.calendars) == 3
    for name in names:
        if name.startswith("calendars/"):
            assert (tmp_path / name).read_bytes() == (SAMPLE_TERM / name).read_bytes(), name


def test_import_bundle_refuses_to_delete_published_placements(
    session: Session, tmp_path: Path
) -> None:
    _import(session, write_tiny_bundle(tmp_path / "v1"))
    term = get_term(session, "Tiny Term")
    slots = {s.opportunity.code + "/" + str(s.position): s for s in session.scalars(select(Slot))}
    cai = session.scalars(select(Student).where(Student.code == "S3")).one()
    ana = session.scalars(select(Student).where(Student.code == "S1")).one()
    session.add_all([
        Placement(term=term, student=cai, slot=slots["O1/0"], status=PlacementStatus.PUBLISHED),
        Placement(term=term, student=ana, slot=slots["O2/0"], status=PlacementStatus.PROPOSED),
    ])  # fmt: skip
    session.commit()
    # S3 dropped from the bundle, and the internship (ana's proposal) rescheduled.
    without_cai = write_tiny_bundle(
        tmp_path / "v2",
        students_csv=STUDENTS_CSV.replace(STUDENTS_CSV.splitlines()[3] + "\n", ""),
        host_reviews_csv=HOST_REVIEWS_CSV.replace("O1,S3,veto,\n", ""),
        opportunities_csv=OPPORTUNITIES_CSV.replace("Tue,Thu 13:30", "Mon,Wed 13:30"),
    )
    with pytest.raises(BundleError) as caught:
        _import(session, without_cai)
    assert [str(p) for p in caught.value.problems] == [
        "Tiny Term: this import would delete the published placement of S3 in O1 "
        "(2027-02-10 09:00-12:00); keep them in the bundle, withdraw the placement first, "
        "or import with --force"
    ]
    session.rollback()
    assert session.scalar(select(func.count(Placement.id))) == 2
    # Forced: the published placement goes with its student, the proposal with its old slot.
    report = import_bundle(session, without_cai, AddressLocator(session, None), force=True)
    assert report.changes["students"].removed == 1
    assert session.scalar(select(func.count(Placement.id))) == 0
