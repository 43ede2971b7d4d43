"""The Flask web app: ``create_app`` builds it over the ``wbl`` services.

For now it shows the terms and their summaries; the coordinator, host and student areas
arrive with issue 4.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, abort, render_template
from sqlalchemy import select

from wbl.db import database_url, make_engine, make_sessionmaker
from wbl.models import Term
from wbl.services.bundles import TermNotFound, get_term
from wbl.services.summary import summarize_term


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        SECRET_KEY=os.environ.get("WBL_SECRET_KEY", "dev"),
        DATABASE_URL=database_url(None),
    )
    if test_config:
        app.config.update(test_config)
    engine = make_engine(app.config["DATABASE_URL"])
    sessions = make_sessionmaker(engine)
    app.extensions["wbl_engine"] = engine

    @app.get("/")
    def index() -> str:
        with sessions() as session:
            terms = session.scalars(select(Term).order_by(Term.start, Term.name)).all()
            return render_template("index.html", terms=terms)

    @app.get("/terms/<name>")
    def term(name: str) -> str:
        with sessions() as session:
            try:
                summary = summarize_term(session, get_term(session, name))
            except TermNotFound:
                abort(404)
            return render_template("term.html", s=summary)

    return app
