"""``wbl serve``: run the web app (registered with the ``wbl`` CLI through an entry point).

With ``--sample`` it also imports the sample term (if the database has no term yet) and gives
a coordinator, a host and a student of it a fresh password each start, printed for you to
sign in with. Development only: ``WBL_ENV=production`` refuses ``--sample``.
"""

from __future__ import annotations

import logging
import os
import secrets

import click
from sqlalchemy import select

from wbl.cli import SAMPLE_TERM, echo_import_report, import_folder, open_database
from wbl.db import transaction
from wbl.models import Host, Preference, Role, Student, Term

DEMO = {
    Role.COORDINATOR: "coordinator@example.org",
    Role.HOST: "host@example.org",
    Role.STUDENT: "student@example.org",
}


def _demo_logins() -> list[tuple[str, str, str]]:
    """(role, email, password) for the three demo accounts, made or given new passwords."""
    from web.accounts import create_user, find_user, set_password
    from web.db import db

    session = db()
    term = session.scalars(select(Term).order_by(Term.id)).first()
    if term is None:
        return []
    host = session.scalars(select(Host).where(Host.term_id == term.id).order_by(Host.code)).first()
    student = session.scalars(
        select(Student)
        .where(Student.term_id == term.id, Student.id.in_(select(Preference.student_id)))
        .order_by(Student.code)
    ).first()
    logins = []
    rows = {Role.COORDINATOR: None, Role.HOST: host, Role.STUDENT: student}
    for role, email in DEMO.items():
        user = find_user(session, email)
        if user is None:
            row = rows[role]
            if role is not Role.COORDINATOR and row is None:
                continue
            user = create_user(
                session,
                email,
                role,
                name=row.name if row is not None else "Demo Coordinator",
                host=host if role is Role.HOST else None,
                student=student if role is Role.STUDENT else None,
            )
        password = secrets.token_urlsafe(9)
        set_password(user, password)
        user.active = True
        logins.append((role.value, email, password))
    session.commit()
    return logins


def redact_query(record: logging.LogRecord) -> bool:
    """Drop the query string from the development server's access-log lines: searches such
    as ``?q=<a student's name>`` are personal data and must not reach the log."""
    if isinstance(record.args, tuple) and record.args and isinstance(record.args[0], str):
        line = record.args[0]
        method, _, rest = line.partition(" ")
        target, _, version = rest.partition(" ")
        if "?" in target:
            record.args = (f"{method} {target.split('?', 1)[0]}?… {version}", *record.args[1:])
    return True


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--sample",
    is_flag=True,
    help="Import the sample term if there is none, and print demo logins.",
)
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, sample: bool) -> None:
    """Run the web app (development server)."""
    from web import create_app

    if sample and os.environ.get("WBL_ENV", "").lower() == "production":
        raise click.UsageError("--sample is for development; it is refused in production")
    with open_database(ctx) as engine:
        if sample:
            with transaction(engine) as session:
                empty = session.scalar(select(Term.id).limit(1)) is None
            if empty:
                echo_import_report(import_folder(engine, SAMPLE_TERM, None))
    app = create_app({"DATABASE_URL": ctx.obj["db_url"]})
    if sample:
        with app.app_context():
            logins = _demo_logins()
        click.echo(f"\nSign in at http://{host}:{port}/login with (new passwords each start):")
        for role, email, password in logins:
            click.echo(f"  {role:<12} {email:<26} {password}")
        click.echo("")
    logging.getLogger("werkzeug").addFilter(redact_query)
    app.run(host=host, port=port)
