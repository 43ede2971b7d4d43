"""The ``wbl`` command line: set up the database, import and export term bundles, demo.

Every command opens its own transaction and commits only when it succeeded. Errors a user can
cause are printed as plain messages with a non-zero exit (2 for a bad bundle), never a
traceback. Commands from other packages (``wbl serve`` from ``web``) plug in through the
``wbl.commands`` entry-point group, so this package never imports the web layer.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, NoReturn

import click
from sqlalchemy import Engine, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from solver.solve import Progress
from wbl.bundle import BundleError
from wbl.db import DEFAULT_SQLITE_PATH, database_url, ensure_schema, make_engine, transaction
from wbl.generate import generate_bundle
from wbl.geocode import AddressLocator, geocoder_from_url
from wbl.models import SolveRun, Term
from wbl.services.bundles import (
    ImportReport,
    PreparedImport,
    TermNotFound,
    export_term,
    get_term,
    prepare_import,
    store_bundle,
)
from wbl.services.exports import export_outcome
from wbl.services.outcome import compute_outcome, finished_run, format_outcome
from wbl.services.solving import (
    SolveAlreadyRunning,
    SolveOptions,
    SolveOptionsError,
    solve_term,
)
from wbl.services.summary import format_summary, summarize_term

SAMPLE_TERM = Path(__file__).resolve().parent.parent / "fixtures" / "sample-term"
EXIT_BAD_INPUT = 2


class PluginGroup(click.Group):
    """A group that also offers the commands other installed packages register."""

    def _plugins(self) -> dict[str, Any]:
        return {ep.name: ep for ep in entry_points(group="wbl.commands")}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._plugins()})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = super().get_command(ctx, name)
        if command is None and name in (plugins := self._plugins()):
            command = plugins[name].load()
        return command


@click.group(cls=PluginGroup)
@click.option(
    "--db",
    "db_url",
    envvar="WBL_DATABASE_URL",
    help=f"Database URL (env WBL_DATABASE_URL; default sqlite:///{DEFAULT_SQLITE_PATH}).",
)
@click.version_option(package_name="wbl-scheduler")
@click.pass_context
def cli(ctx: click.Context, db_url: str | None) -> None:
    """Work-based learning placement scheduler."""
    ctx.obj = {"db_url": database_url(db_url), "db_given": db_url is not None}


def _safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


@contextmanager
def open_database(ctx: click.Context, *, migrate: bool = True) -> Iterator[Engine]:
    """An engine on the configured database, schema brought up to date; friendly failures."""
    url = ctx.obj["db_url"]
    try:
        engine = make_engine(url)
    except Exception as exc:  # a malformed URL or a missing driver
        raise click.ClickException(f"cannot use database URL {url!r}: {exc}") from exc
    try:
        if migrate and ensure_schema(engine):
            click.echo(f"Database schema created or upgraded at {_safe_url(url)}", err=True)
        yield engine
    except OperationalError as exc:
        raise click.ClickException(
            f"cannot open the database at {_safe_url(url)}: {exc.orig or exc}"
        ) from exc
    finally:
        engine.dispose()


@cli.command("init-db")
@click.pass_context
def init_db(ctx: click.Context) -> None:
    """Create the database schema, or upgrade it to the latest version."""
    with open_database(ctx, migrate=False) as engine:
        changed = ensure_schema(engine)
    url = _safe_url(ctx.obj["db_url"])
    click.echo(f"Database at {url} {'is ready' if changed else 'was already up to date'}.")


def echo_import_report(report: ImportReport) -> None:
    verb = "Created" if report.created else "Updated"
    click.echo(f"{verb} term {report.term!r}:")
    for table, changes in report.changes.items():
        click.echo(f"  {table}: {changes}")
    if report.geocoder_unavailable:
        click.echo(
            f"  The geocoder failed ({report.geocoder_unavailable}); "
            "ZIP-code centroids were used instead."
        )
    if report.located:
        click.echo(
            f"  {len(report.located)} location(s) looked up from an address, "
            f"{report.approximated} of them approximate:"
        )
        for row in report.located:
            click.echo(f"    {row}")


def _reject(folder: Path, error: BundleError, headline: str = "Nothing was imported") -> NoReturn:
    """Print every problem of a rejected bundle and exit 2."""
    click.echo(f"{headline}: {len(error.problems)} problem(s) in {folder}:", err=True)
    for problem in error.problems:
        click.echo(f"  {problem}", err=True)
    sys.exit(EXIT_BAD_INPUT)


def _existing_folder(_ctx: click.Context, _param: click.Parameter, value: Path) -> Path:
    """Argument check, run before any command touches the database."""
    if not value.is_dir():
        raise click.BadParameter(f"{value} is not a folder")
    return value


def prepare_folder(
    engine: Engine, folder: Path, geocoder_url: str | None, headline: str = "Nothing was imported"
) -> PreparedImport:
    """Validate and locate a bundle, or print every problem under ``headline`` and exit 2.

    Addresses are located in a transaction of their own, committed even when the bundle is
    rejected, so that fixing a typo does not mean waiting for a rate-limited geocoder again.
    """
    try:
        geocoder = geocoder_from_url(geocoder_url)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--geocoder") from exc
    rejected: BundleError | None = None
    with transaction(engine) as session:
        try:
            return prepare_import(folder, AddressLocator(session, geocoder))
        except BundleError as exc:
            rejected = exc
    _reject(folder, rejected, headline)


def import_folder(
    engine: Engine, folder: Path, geocoder_url: str | None, *, force: bool = False
) -> ImportReport:
    """Import a bundle, or print every problem and exit 2 with nothing written."""
    prepared = prepare_folder(engine, folder, geocoder_url)
    try:
        with transaction(engine) as session:
            return store_bundle(session, prepared, force=force)
    except BundleError as exc:
        _reject(folder, exc)


@cli.command("import")
@click.argument(
    "folder", type=click.Path(file_okay=False, path_type=Path), callback=_existing_folder
)
@click.option(
    "--geocoder",
    envvar="WBL_GEOCODER",
    help="Geocoder URL, e.g. nominatim+https://nominatim.example.org "
    "(env WBL_GEOCODER; default: offline ZIP-code centroids only).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Import even if it deletes published or confirmed placements.",
)
@click.pass_context
def import_cmd(ctx: click.Context, folder: Path, geocoder: str | None, force: bool) -> None:
    """Import the term bundle in FOLDER (all or nothing; re-importing updates in place)."""
    started = time.perf_counter()
    with open_database(ctx) as engine:
        report = import_folder(engine, folder, geocoder, force=force)
    echo_import_report(report)
    click.echo(f"  took {time.perf_counter() - started:.1f} s")


@cli.command("check")
@click.argument(
    "folder", type=click.Path(file_okay=False, path_type=Path), callback=_existing_folder
)
@click.option("--geocoder", envvar="WBL_GEOCODER", help="Geocoder URL, as for `wbl import`.")
@click.pass_context
def check_cmd(ctx: click.Context, folder: Path, geocoder: str | None) -> None:
    """Check the term bundle in FOLDER as `wbl import` would, without importing it.

    Exit code 0 when it would import cleanly, 2 with every problem listed when not.
    Addresses it looks up are kept in the database's geocode cache.
    """
    with open_database(ctx) as engine:
        prepared = prepare_folder(engine, folder, geocoder, "The bundle would not import")
    bundle = prepared.bundle
    click.echo(
        f"{folder}: term {bundle.term.name!r} would import cleanly: "
        f"{len(bundle.students)} students, {len(bundle.hosts)} hosts, "
        f"{len(bundle.opportunities)} opportunities "
        f"({sum(len(v) for v in bundle.slots.values())} slots), "
        f"{len(bundle.preferences)} preferences, {len(bundle.reviews)} host reviews."
    )
    for row in prepared.located:
        click.echo(f"  {row}")


@cli.command("export")
@click.argument("term")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write the bundle into (created if needed).",
)
@click.pass_context
def export_cmd(ctx: click.Context, term: str, out: Path) -> None:
    """Write term TERM (its name) as a term bundle into --out; once solved, also
    placements.csv, unplaced.csv, calendars/ and report.html."""
    with open_database(ctx) as engine, _user_errors(), transaction(engine) as session:
        files = export_term(session, term, out)
        found = get_term(session, term)
        if finished_run(session, found) is not None:
            files += export_outcome(session, found, out)
    click.echo(f"Wrote {len(files)} files to {out}")


@cli.command("terms")
@click.pass_context
def terms_cmd(ctx: click.Context) -> None:
    """List the terms in the database."""
    with open_database(ctx) as engine, transaction(engine) as session:
        terms = session.scalars(select(Term).order_by(Term.start, Term.name)).all()
        if not terms:
            click.echo("No terms yet: import one with `wbl import FOLDER`.")
        for term in terms:
            click.echo(f"{term.name}\t{term.start} to {term.end}\t{len(term.students)} students")


@cli.command("summary")
@click.argument("term")
@click.pass_context
def summary_cmd(ctx: click.Context, term: str) -> None:
    """Print the counts of term TERM a coordinator checks before solving."""
    with open_database(ctx) as engine, _user_errors(), transaction(engine) as session:
        click.echo(format_summary(summarize_term(session, get_term(session, term))))


@cli.command("generate")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--students",
    "-n",
    type=click.IntRange(1, 1_000_000),
    default=1000,
    show_default=True,
    help="Number of students.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option("--name", default=None, help="Term name (default from the size and seed).")
def generate_cmd(out_dir: Path, students: int, seed: int, name: str | None) -> None:
    """Write a realistic generated term bundle (Denver metro) into OUT_DIR."""
    started = time.perf_counter()
    summary = generate_bundle(out_dir, students=students, seed=seed, name=name)
    click.echo(
        f"Wrote {summary.students} students, {summary.hosts} hosts, "
        f"{summary.opportunities} opportunities and {summary.preferences} preferences "
        f"to {summary.out_dir} in {time.perf_counter() - started:.1f} s"
    )


@cli.command("demo")
@click.option(
    "--bundle",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=SAMPLE_TERM,
    show_default="the sample term",
    help="Term bundle to load.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_SQLITE_PATH.parent / "demo-export",
    show_default=True,
    help="Folder for the exported placements, calendars and report.html.",
)
@click.option(
    "--time-limit",
    "time_limit",
    type=click.FloatRange(min=0.1),
    default=15.0,
    show_default=True,
    help="Seconds for the solve (the sample term's own rule allows 30).",
)
@click.pass_context
def demo_cmd(ctx: click.Context, bundle: Path, out: Path, time_limit: float) -> None:
    """Load the sample term into a fresh SQLite database, solve it, export and report.

    Uses instance/demo.sqlite3 (replaced each run) unless --db or WBL_DATABASE_URL says
    otherwise.
    """
    started = time.perf_counter()
    if not ctx.obj["db_given"]:
        path = DEFAULT_SQLITE_PATH.parent / "demo.sqlite3"
        for leftover in path.parent.glob(path.name + "*"):
            leftover.unlink()
        ctx.obj["db_url"] = f"sqlite:///{path.resolve()}"
    with open_database(ctx) as engine:
        report = import_folder(engine, bundle, None)
        echo_import_report(report)
        with transaction(engine) as session:
            term = get_term(session, report.term)
            click.echo("")
            click.echo(format_summary(summarize_term(session, term)))
            click.echo("")
            click.echo(f"Solving {term.name} ({time_limit:g} s limit, 2 workers)...")
            run = solve_term(session, term, SolveOptions(time_limit_s=time_limit), _echo_progress)
        with transaction(engine) as session:
            term = get_term(session, report.term)
            files = export_outcome(session, term, out)
            click.echo(_run_line(run))
            click.echo("")
            click.echo(format_outcome(compute_outcome(session, term)))
    click.echo("")
    click.echo(f"Wrote {len(files)} files to {out} (open {out / 'report.html'})")
    click.echo(f"Database: {_safe_url(ctx.obj['db_url'])}")
    click.echo(f"Demo took {time.perf_counter() - started:.1f} s")


@cli.command("solve")
@click.argument("term")
@click.option(
    "--time-limit",
    "time_limit",
    type=click.FloatRange(min=0.1),
    default=None,
    help="Seconds for the whole solve (default: the term's time_limit_s).",
)
@click.option(
    "--workers", type=click.IntRange(1, 64), default=2, show_default=True, help="Solver threads."
)
@click.option(
    "--mode",
    type=click.Choice(["welfare", "stable"]),
    default=None,
    help="welfare: best placements for everyone; stable: no blocking pairs (default: the term's).",
)
@click.option(
    "--keep-published",
    is_flag=True,
    help="Re-solve: keep published, pinned and (where possible) proposed placements; "
    "place newcomers moving as few students as possible.",
)
@click.option("--quiet", is_flag=True, help="No progress lines, only the outcome.")
@click.pass_context
def solve_cmd(
    ctx: click.Context,
    term: str,
    time_limit: float | None,
    workers: int,
    mode: str | None,
    keep_published: bool,
    quiet: bool,
) -> None:
    """Solve the placement of term TERM and store it as proposed placements.

    Published, confirmed and pinned placements are never changed.
    """
    options = SolveOptions(
        time_limit_s=time_limit, workers=workers, mode=mode, keep_published=keep_published
    )
    with open_database(ctx) as engine, _user_errors(), transaction(engine) as session:
        found = get_term(session, term)
        run = solve_term(session, found, options, None if quiet else _echo_progress)
        click.echo(_run_line(run))
        click.echo("")
        click.echo(format_outcome(compute_outcome(session, found)))


def _echo_progress(progress: Progress) -> None:
    gap = abs(progress.bound - progress.objective) / max(1.0, abs(progress.bound))
    click.echo(
        f"  {progress.elapsed_s:6.1f} s  {progress.level:<10}  objective {progress.objective:,.0f}"
        f"  bound {progress.bound:,.0f}  gap {gap:.2%}"
    )


def _run_line(run: SolveRun) -> str:
    metrics = run.metrics or {}
    proven = (
        "placed count proven optimal" if metrics.get("placed_proven") else "placed count not proven"
    )
    gap = f", gap on the rest {run.gap:.2%}" if run.gap is not None else ""
    extra = ""
    if metrics.get("moved") is not None:
        extra += f", {metrics['moved']} moved"
    if metrics.get("blocking_pairs") is not None:
        extra += f", {metrics['blocking_pairs']} blocking pairs"
    return f"Solve {run.status.value} in {run.wall_time_s or 0:.1f} s ({proven}{gap}{extra})" + (
        f": {run.message}" if run.message else ""
    )


@contextmanager
def _user_errors() -> Iterator[None]:
    try:
        yield
    except TermNotFound as exc:
        raise click.ClickException(str(exc)) from exc
    except SolveOptionsError as exc:
        raise click.UsageError(str(exc)) from exc
    except SolveAlreadyRunning as exc:
        raise click.ClickException(str(exc)) from exc


def main(argv: list[str] | None = None) -> Any:
    """Console entry point; database failures become one line, not a traceback."""
    try:
        return cli.main(args=argv, prog_name="wbl")
    except SQLAlchemyError as exc:  # pragma: no cover - last resort
        click.echo(f"Error: database: {exc.__class__.__name__}: {exc}", err=True)
        sys.exit(1)
