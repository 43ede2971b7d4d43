"""The domain model: SQLAlchemy 2.x typed ORM classes for terms, people, slots and placements.

Every row that came from a term bundle keeps its bundle id in ``code`` (``student_id``,
``host_id``, ``opportunity_id``), unique within its term, so a bundle can be re-imported
in place and exported back unchanged. Datetimes are stored in UTC and come back timezone-aware.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from wbl.rules import Rules, rules_from_dict


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime stored as naive UTC, so SQLite and PostgreSQL agree."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Kind(enum.StrEnum):
    JOB_SHADOW = "job_shadow"
    INTERNSHIP = "internship"
    MICRO_INTERNSHIP = "micro_internship"


class Transport(enum.StrEnum):
    WALK = "walk"
    BIKE = "bike"
    TRANSIT = "transit"
    CAR = "car"


class Decision(enum.StrEnum):
    ACCEPT = "accept"
    VETO = "veto"


class PlacementStatus(enum.StrEnum):
    PROPOSED = "proposed"
    PUBLISHED = "published"
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


class Role(enum.StrEnum):
    COORDINATOR = "coordinator"
    HOST = "host"
    STUDENT = "student"


class Party(enum.StrEnum):
    """Who decided something about a placement."""

    COORDINATOR = "coordinator"
    HOST = "host"
    STUDENT = "student"


class SolveStatus(enum.StrEnum):
    RUNNING = "running"
    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    TIMED_OUT = "timed_out"
    FAILED = "failed"


def _enum(cls: type[enum.StrEnum], name: str) -> Enum:
    # Store the values ("job_shadow"), not the member names, and as plain VARCHAR with a
    # CHECK so adding a member is a small migration on both SQLite and PostgreSQL.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=24,
        values_callable=lambda c: [m.value for m in c],
    )


class Term(Base):
    """One placement period: its dates, timezone and rules."""

    __tablename__ = "term"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date] = mapped_column(Date)
    timezone: Mapped[str] = mapped_column(String(64))
    rules_json: Mapped[dict[str, Any]] = mapped_column("rules", JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    students: Mapped[list[Student]] = relationship(
        back_populates="term", cascade="all, delete-orphan", passive_deletes=True
    )
    hosts: Mapped[list[Host]] = relationship(
        back_populates="term", cascade="all, delete-orphan", passive_deletes=True
    )
    solve_runs: Mapped[list[SolveRun]] = relationship(
        back_populates="term", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (CheckConstraint('start <= "end"', name="term_dates_ordered"),)

    @property
    def rules(self) -> Rules:
        return rules_from_dict(self.rules_json)

    @rules.setter
    def rules(self, value: Rules) -> None:
        self.rules_json = value.to_dict()


class Student(Base):
    """A student in a term, with where they start from and when they are released."""

    __tablename__ = "student"

    id: Mapped[int] = mapped_column(primary_key=True)
    term_id: Mapped[int] = mapped_column(ForeignKey("term.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254), default="")
    school: Mapped[str] = mapped_column(String(200), default="")
    grade: Mapped[int] = mapped_column(Integer)
    birth_date: Mapped[date] = mapped_column(Date)
    origin_lat: Mapped[float] = mapped_column(Float)
    origin_lon: Mapped[float] = mapped_column(Float)
    origin_address: Mapped[str] = mapped_column(String(500), default="")
    # True when the origin was geocoded from the address (not given in the bundle); the
    # export then leaves lat/lon blank so the bundle stays as the coordinator wrote it.
    origin_geocoded: Mapped[bool] = mapped_column(Boolean, default=False)
    transport: Mapped[Transport] = mapped_column(_enum(Transport, "transport"))
    max_travel_min: Mapped[int | None] = mapped_column(Integer)
    available: Mapped[str] = mapped_column(String(500), default="")
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    guardian_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    work_permit: Mapped[bool] = mapped_column(Boolean, default=False)
    prior_clusters: Mapped[list[str]] = mapped_column(JSON, default=list)
    group_code: Mapped[str | None] = mapped_column(String(64))

    term: Mapped[Term] = relationship(back_populates="students")
    preferences: Mapped[list[Preference]] = relationship(
        back_populates="student", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (UniqueConstraint("term_id", "code", name="student_code_unique"),)


class Host(Base):
    """An employer site that takes students, with its mentor's background-check status."""

    __tablename__ = "host"

    id: Mapped[int] = mapped_column(primary_key=True)
    term_id: Mapped[int] = mapped_column(ForeignKey("term.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    career_cluster: Mapped[str] = mapped_column(String(100), default="")
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    address: Mapped[str] = mapped_column(String(500), default="")
    geocoded: Mapped[bool] = mapped_column(Boolean, default=False)
    max_students: Mapped[int | None] = mapped_column(Integer)
    mentor_background_checked: Mapped[bool] = mapped_column(Boolean, default=False)

    term: Mapped[Term] = relationship(back_populates="hosts")
    opportunities: Mapped[list[Opportunity]] = relationship(
        back_populates="host", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (
        UniqueConstraint("term_id", "code", name="host_code_unique"),
        CheckConstraint("max_students IS NULL OR max_students >= 0", name="host_max_students"),
    )


class Opportunity(Base):
    """A job shadow, internship or micro-internship a host offers; its schedule makes slots."""

    __tablename__ = "opportunity"

    id: Mapped[int] = mapped_column(primary_key=True)
    term_id: Mapped[int] = mapped_column(ForeignKey("term.id", ondelete="CASCADE"), index=True)
    host_id: Mapped[int] = mapped_column(ForeignKey("host.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    kind: Mapped[Kind] = mapped_column(_enum(Kind, "opportunity_kind"))
    title: Mapped[str] = mapped_column(String(200))
    career_cluster: Mapped[str] = mapped_column(String(100), default="")
    capacity: Mapped[int] = mapped_column(Integer)
    # The schedule as written in the bundle; its slots and sessions are derived from it.
    schedule: Mapped[str] = mapped_column(Text)
    # For an ``ics:`` schedule, the calendar file's text, so the bundle can be exported again.
    schedule_ics: Mapped[str | None] = mapped_column(Text)
    min_age: Mapped[int | None] = mapped_column(Integer)
    min_grade: Mapped[int | None] = mapped_column(Integer)
    requires_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    requires_work_permit: Mapped[bool] = mapped_column(Boolean, default=False)
    hazardous: Mapped[bool] = mapped_column(Boolean, default=False)
    remote: Mapped[bool] = mapped_column(Boolean, default=False)
    hours: Mapped[float | None] = mapped_column(Float)
    # A closed opportunity takes no new students (the solve leaves it out); kept placements stay.
    closed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    term: Mapped[Term] = relationship()
    host: Mapped[Host] = relationship(back_populates="opportunities")
    slots: Mapped[list[Slot]] = relationship(
        back_populates="opportunity",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Slot.position",
    )

    __table_args__ = (
        UniqueConstraint("term_id", "code", name="opportunity_code_unique"),
        CheckConstraint("capacity >= 0", name="opportunity_capacity"),
    )


class Slot(Base):
    """One placeable unit of an opportunity: ``capacity`` students share its sessions."""

    __tablename__ = "slot"

    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(
        ForeignKey("opportunity.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(200), default="")
    flexible: Mapped[bool] = mapped_column(Boolean, default=False)
    span_start: Mapped[date] = mapped_column(Date)
    span_end: Mapped[date] = mapped_column(Date)
    # Hours in the busiest ISO week (term timezone), the figure the weekly-hours caps use.
    weekly_hours: Mapped[float] = mapped_column(Float)
    total_hours: Mapped[float] = mapped_column(Float)

    opportunity: Mapped[Opportunity] = relationship(back_populates="slots")
    sessions: Mapped[list[Session]] = relationship(
        back_populates="slot",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Session.start",
    )

    __table_args__ = (UniqueConstraint("opportunity_id", "position", name="slot_position_unique"),)


class Session(Base):
    """A concrete meeting of a slot, in UTC."""

    __tablename__ = "session"

    id: Mapped[int] = mapped_column(primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("slot.id", ondelete="CASCADE"), index=True)
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)

    slot: Mapped[Slot] = relationship(back_populates="sessions")

    __table_args__ = (CheckConstraint('start < "end"', name="session_ordered"),)


class Preference(Base):
    """A student's rank for an opportunity (1 is best; equal ranks are ties)."""

    __tablename__ = "preference"

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id", ondelete="CASCADE"))
    opportunity_id: Mapped[int] = mapped_column(
        ForeignKey("opportunity.id", ondelete="CASCADE"), index=True
    )
    rank: Mapped[int] = mapped_column(Integer)

    student: Mapped[Student] = relationship(back_populates="preferences")
    opportunity: Mapped[Opportunity] = relationship()

    __table_args__ = (
        UniqueConstraint("student_id", "opportunity_id", name="preference_unique"),
        CheckConstraint("rank >= 1", name="preference_rank_positive"),
    )


class HostReview(Base):
    """A host's decision on a student for an opportunity: accept (with a rank) or veto."""

    __tablename__ = "host_review"

    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(
        ForeignKey("opportunity.id", ondelete="CASCADE"), index=True
    )
    student_id: Mapped[int] = mapped_column(
        ForeignKey("student.id", ondelete="CASCADE"), index=True
    )
    decision: Mapped[Decision] = mapped_column(_enum(Decision, "review_decision"))
    rank: Mapped[int | None] = mapped_column(Integer)

    opportunity: Mapped[Opportunity] = relationship()
    student: Mapped[Student] = relationship()

    __table_args__ = (
        UniqueConstraint("opportunity_id", "student_id", name="host_review_unique"),
        CheckConstraint("rank IS NULL OR rank >= 1", name="host_review_rank_positive"),
    )


class SolveRun(Base):
    """One run of the placement solve: its inputs, settings, outcome and timing."""

    __tablename__ = "solve_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    term_id: Mapped[int] = mapped_column(ForeignKey("term.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    inputs_hash: Mapped[str] = mapped_column(String(64), default="")
    rules_json: Mapped[dict[str, Any]] = mapped_column("rules", JSON, default=dict)
    mode: Mapped[str] = mapped_column(String(16), default="welfare")
    seed: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[SolveStatus] = mapped_column(
        _enum(SolveStatus, "solve_status"), default=SolveStatus.RUNNING
    )
    objective: Mapped[float | None] = mapped_column(Float)
    best_bound: Mapped[float | None] = mapped_column(Float)
    gap: Mapped[float | None] = mapped_column(Float)
    wall_time_s: Mapped[float | None] = mapped_column(Float)
    message: Mapped[str] = mapped_column(Text, default="")
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Live figures while it runs (elapsed_s, level, objective, bound, gap), for the web page.
    progress: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")

    term: Mapped[Term] = relationship(back_populates="solve_runs")


class Placement(Base):
    """A student in a slot: proposed by a solve, then published, confirmed or ended."""

    __tablename__ = "placement"

    id: Mapped[int] = mapped_column(primary_key=True)
    term_id: Mapped[int] = mapped_column(ForeignKey("term.id", ondelete="CASCADE"), index=True)
    student_id: Mapped[int] = mapped_column(
        ForeignKey("student.id", ondelete="CASCADE"), index=True
    )
    slot_id: Mapped[int] = mapped_column(ForeignKey("slot.id", ondelete="CASCADE"), index=True)
    solve_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("solve_run.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[PlacementStatus] = mapped_column(
        _enum(PlacementStatus, "placement_status"), default=PlacementStatus.PROPOSED
    )
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    rank: Mapped[int | None] = mapped_column(Integer)
    travel_min: Mapped[float | None] = mapped_column(Float)
    # The host's answer to a proposed or published student (None: not yet answered), and
    # who ended a declined placement.
    host_response: Mapped[Decision | None] = mapped_column(_enum(Decision, "host_response"))
    declined_by: Mapped[Party | None] = mapped_column(_enum(Party, "declined_by"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    term: Mapped[Term] = relationship()
    student: Mapped[Student] = relationship()
    slot: Mapped[Slot] = relationship()
    solve_run: Mapped[SolveRun | None] = relationship()


class User(Base):
    """Someone who signs in: a coordinator, or the account of one host or one student.

    ``password_hash`` is empty until the invitee follows their link and sets one.
    ``nonce`` is in every signed link and every login session; it changes whenever the
    password is set, so a used link is dead and other sessions are signed out.
    ``feed_token`` is the secret in the calendar-feed URL; revoking makes a new one.
    """

    __tablename__ = "app_user"  # "user" is reserved in PostgreSQL

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[Role] = mapped_column(_enum(Role, "user_role"))
    host_id: Mapped[int | None] = mapped_column(
        ForeignKey("host.id", ondelete="CASCADE"), index=True
    )
    student_id: Mapped[int | None] = mapped_column(
        ForeignKey("student.id", ondelete="CASCADE"), index=True
    )
    password_hash: Mapped[str] = mapped_column(String(256), default="")
    nonce: Mapped[str] = mapped_column(String(32))
    feed_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    host: Mapped[Host | None] = relationship()
    student: Mapped[Student | None] = relationship()

    __table_args__ = (
        CheckConstraint(
            "(role = 'coordinator' AND host_id IS NULL AND student_id IS NULL)"
            " OR (role = 'host' AND host_id IS NOT NULL AND student_id IS NULL)"
            " OR (role = 'student' AND student_id IS NOT NULL AND host_id IS NULL)",
            name="user_role_link",
        ),
    )


class GeocodeCache(Base):
    """An address looked up once: where it is, which geocoder said so, and how exactly."""

    __tablename__ = "geocode_cache"

    id: Mapped[int] = mapped_column(primary_key=True)
    query: Mapped[str] = mapped_column(String(500), unique=True)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(64))
    approximate: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


Index("preference_student", Preference.student_id, Preference.rank)
