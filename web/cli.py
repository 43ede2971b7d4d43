"""``wbl serve``: run the web app (registered with the ``wbl`` CLI through an entry point)."""

from __future__ import annotations

import click
from sqlalchemy import select

from wbl.cli import SAMPLE_TERM, echo_import_report, import_folder, open_database
from wbl.db import transaction
from wbl.models import Term


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--sample", is_flag=True, help="Import the sample term first if it is not there.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, sample: bool) -> None:
    """Run the web app (development server)."""
    from web import create_app

    with open_database(ctx) as engine:
        if sample:
            with transaction(engine) as session:
                empty = session.scalar(select(Term.id).limit(1)) is None
            if empty:
                echo_import_report(import_folder(engine, SAMPLE_TERM, None))
    app = create_app({"DATABASE_URL": ctx.obj["db_url"]})
    app.run(host=host, port=port)
