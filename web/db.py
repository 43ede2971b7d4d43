"""One database session per request, closed when the request ends.

Views read and write through :func:`db`; a view that changes data commits it itself (services
never commit), so a request that fails half-way leaves nothing written.
"""

from __future__ import annotations

from flask import Flask, abort, current_app, g
from sqlalchemy.orm import Session

from wbl.db import make_engine, make_sessionmaker
from wbl.models import Term

MAX_ID = 2**31 - 1
"""The largest row id: ids are 32-bit integers in PostgreSQL (``<int:...>`` in a route is
capped at it, see :class:`web.RowId`)."""


def init_db(app: Flask) -> None:
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["wbl_engine"] = engine
    app.extensions["wbl_sessions"] = make_sessionmaker(engine)

    @app.teardown_appcontext
    def close_session(_error: BaseException | None) -> None:
        session: Session | None = g.pop("db_session", None)
        if session is not None:
            session.close()  # rolls back whatever the view did not commit


def db() -> Session:
    """This request's session."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["wbl_sessions"]()
    return g.db_session


def term_or_404(term_id: int) -> Term:
    """The term ``term_id``, or a 404 page."""
    term = db().get(Term, term_id)
    if term is None:
        abort(404)
    return term
