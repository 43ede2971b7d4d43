"""The schema: migrations build exactly the models' schema, on both backends."""

from datetime import UTC, date, datetime, timedelta, timezone

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from wbl.models import Base, Host, Kind, Opportunity, Slot, Term
from wbl.models import Session as SlotSession


def test_migrations_match_models(engine: Engine) -> None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []


def test_session_times_round_trip_as_utc(session: Session) -> None:
    term = Term(name="T", start=date(2027, 1, 1), end=date(2027, 6, 1), timezone="America/Denver")
    host = Host(term=term, code="H1", name="Host", lat=39.7, lon=-104.9)
    opp = Opportunity(
        host=host, term=term, code="O1", kind=Kind.INTERNSHIP, title="t", capacity=1, schedule="x"
    )
    slot = Slot(
        opportunity=opp,
        position=0,
        span_start=date(2027, 2, 1),
        span_end=date(2027, 2, 1),
        weekly_hours=3,
        total_hours=3,
    )
    mountain = timezone(timedelta(hours=-7))
    slot.sessions.append(
        SlotSession(
            start=datetime(2027, 2, 1, 9, tzinfo=mountain),
            end=datetime(2027, 2, 1, 12, tzinfo=mountain),
        )
    )
    session.add(term)
    session.commit()
    session.expunge_all()
    stored = session.scalars(select(SlotSession)).one()
    assert stored.start == datetime(2027, 2, 1, 16, tzinfo=UTC)
    assert stored.end - stored.start == timedelta(hours=3)
