"""Placement solves started from the web: each runs in a background thread with a database
session of its own, so the request that starts it returns at once and the server keeps
answering while it runs.

The work is :func:`wbl.services.solving.solve_term`, as for ``wbl solve``; this module adds
what a web page needs around it:

- **One solve per term at a time**, enforced in the database, not in memory, so it holds
  across server processes: a RUNNING :class:`SolveRun` of the term refuses a second start
  (:class:`SolveBusy`). Two starts racing each other both insert their row; the one with the
  higher id then sees the other and withdraws (see :func:`start_solve`).
- **Live progress**: the solver's reports (from its own threads) are kept in memory and a
  small writer thread stores the latest into ``SolveRun.progress`` at most every
  :data:`PROGRESS_EVERY_S` seconds, so the solver never waits on the database. Each write is
  also a heartbeat (``updated_at``).
- **Never stuck RUNNING**: an error in the solve ends the run FAILED with a message; a
  RUNNING row that no live solve owns (its server stopped) is marked FAILED by
  :func:`clear_stale_runs` once it is older than its time limit plus :data:`STALE_MARGIN_S`
  and its heartbeat has been silent for :data:`HEARTBEAT_SILENT_S`.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.orm import Session, object_session, sessionmaker

from solver.solve import Progress
from wbl.models import SolveRun, SolveStatus, Term, utcnow
from wbl.services.solving import SolveOptions, running_run, solve_term

logger = logging.getLogger(__name__)

PROGRESS_EVERY_S = 0.5
# Beyond its time limit a solve still builds its problem first and stores its placements
# after; on a 50,000-student term that takes a few minutes.
STALE_MARGIN_S = 600.0
HEARTBEAT_SILENT_S = 60.0

# Human names of the solver's objective levels (solver.objective.level_names).
LEVELS = {
    "placed": "students placed (priority-weighted)",
    "kept": "placements kept from before",
    "preference": "preference satisfaction (score)",
    "travel": "travel time, then new career clusters (score, lower is better)",
}

# This process's solves, by (database URL, run id): ids repeat across databases (tests).
_threads: dict[tuple[str, int], threading.Thread] = {}
_threads_lock = threading.Lock()


class SolveBusy(Exception):
    """The term already has a solve running; ``run`` is that run."""

    def __init__(self, run: SolveRun) -> None:
        self.run = run
        super().__init__(f"solve run {run.id} of this term is still running")


@dataclass(frozen=True)
class StartedSolve:
    """A solve that was started: its run row, and the stale rows cleared on the way."""

    run: SolveRun
    cleared: list[SolveRun]


def _key(session: Session | None, run_id: int) -> tuple[str, int]:
    url = session.get_bind().url.render_as_string(hide_password=True) if session else ""
    return (url, run_id)


def is_alive_here(run: SolveRun) -> bool:
    """Whether this process is running the solve of ``run`` now."""
    with _threads_lock:
        thread = _threads.get(_key(object_session(run), run.id))
    return thread is not None and thread.is_alive()


def time_limit_of(run: SolveRun) -> float:
    """The time limit the run was started with (the term's rule if it did not say)."""
    progress = run.progress or {}
    limit = progress.get("time_limit_s") or (run.rules_json or {}).get("time_limit_s") or 60
    return float(limit)


def _heartbeat(run: SolveRun) -> datetime:
    stamp = (run.progress or {}).get("updated_at")
    if isinstance(stamp, str):
        try:
            return datetime.fromisoformat(stamp)
        except ValueError:
            pass
    return run.started_at


def is_stale(run: SolveRun, now: datetime | None = None) -> bool:
    """A RUNNING row no server is working on: past its time limit plus the margin, with its
    heartbeat silent. Never true for a solve this process is running."""
    if run.status is not SolveStatus.RUNNING or is_alive_here(run):
        return False
    now = now or utcnow()
    overdue = now - run.started_at > timedelta(seconds=time_limit_of(run) + STALE_MARGIN_S)
    silent = now - _heartbeat(run) > timedelta(seconds=HEARTBEAT_SILENT_S)
    return overdue and silent


def clear_stale_runs(session: Session, term: Term, now: datetime | None = None) -> list[SolveRun]:
    """Mark the term's stale RUNNING rows FAILED (the caller commits); returns them."""
    cleared = []
    for run in session.scalars(
        select(SolveRun).where(SolveRun.term_id == term.id, SolveRun.status == SolveStatus.RUNNING)
    ):
        if is_stale(run, now):
            run.status = SolveStatus.FAILED
            run.finished_at = now or utcnow()
            run.message = (
                "The server stopped before this solve finished (nothing was stored). "
                "Start the solve again."
            )
            run.progress = {**(run.progress or {}), "phase": "failed"}
            cleared.append(run)
    return cleared


def start_solve(app: Flask, session: Session, term: Term, options: SolveOptions) -> StartedSolve:
    """Store a RUNNING row for a new solve of ``term`` and start it in the background.

    Commits. Raises :class:`SolveBusy` when the term has a solve running, and
    :class:`~wbl.services.solving.SolveOptionsError` for an option out of range (before
    anything is written).
    """
    params = options.params(term)
    cleared = clear_stale_runs(session, term)
    session.commit()
    busy = running_run(session, term)
    if busy is not None:
        raise SolveBusy(busy)
    run = SolveRun(
        term_id=term.id,
        started_at=utcnow(),
        status=SolveStatus.RUNNING,
        rules_json=term.rules.to_dict(),
        mode=params.mode,
        seed=params.seed,
        progress={
            "phase": "queued",
            "elapsed_s": 0.0,
            "time_limit_s": params.time_limit_s,
            "workers": params.workers,
            "keep_published": options.keep_published,
            "levels": [],
            "updated_at": utcnow().isoformat(),
        },
    )
    session.add(run)
    session.commit()
    # Another request may have inserted its row between our check and our commit: the
    # oldest running row wins and the others withdraw, so exactly one solve goes ahead.
    first = running_run(session, term)
    if first is not None and first.id != run.id:
        session.delete(run)
        session.commit()
        raise SolveBusy(first)
    sessions: sessionmaker[Session] = app.extensions["wbl_sessions"]
    key = _key(session, run.id)
    thread = threading.Thread(
        target=_solve_in_background,
        args=(sessions, key, options),
        name=f"wbl-solve-{run.id}",
        daemon=True,  # a server that stops leaves a RUNNING row, which clear_stale_runs ends
    )
    with _threads_lock:
        _threads[key] = thread
    thread.start()
    return StartedSolve(run, cleared)


def wait_for_all_solves(timeout_s: float | None = None) -> bool:
    """Wait for every solve this process started (tests, and a clean shutdown)."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    with _threads_lock:
        threads = list(_threads.values())
    for thread in threads:
        thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
    return not any(t.is_alive() for t in threads)


class ProgressRecorder:
    """Keeps the solver's latest report and writes it, with the elapsed time, into the run's
    ``progress`` from a thread of its own every :data:`PROGRESS_EVERY_S` seconds.

    :meth:`record` is the solver's progress callback; it runs on the solver's threads and
    only takes a lock, so the search is never held up by the database.
    """

    def __init__(self, sessions: sessionmaker[Session], run_id: int, base: dict[str, Any]):
        self._sessions = sessions
        self._run_id = run_id
        self._base = {key: base[key] for key in ("time_limit_s", "workers", "keep_published")}
        self._lock = threading.Lock()
        self._latest: Progress | None = None
        self._levels: dict[str, dict[str, float]] = {}
        self._started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, name=f"wbl-solve-{run_id}-progress", daemon=True
        )

    def start(self) -> None:
        self._write()
        self._thread.start()

    def stop(self) -> None:
        """Ask the writer to stop; it may be waiting on the row the solve is finishing, so
        this does not wait for it (see :meth:`join`)."""
        self._stop.set()

    def join(self) -> None:
        self._thread.join()

    def record(self, progress: Progress) -> None:
        with self._lock:
            self._latest = progress
            self._levels[progress.level] = {
                "objective": progress.objective,
                "bound": progress.bound,
            }

    def snapshot(self, phase: str | None = None) -> dict[str, Any]:
        """The progress JSON: options, elapsed, current level and its figures, every level
        reported so far, and a heartbeat."""
        with self._lock:
            latest = self._latest
            levels = [{"level": name, **values} for name, values in self._levels.items()]
        figures: dict[str, Any] = {"level": None, "objective": None, "bound": None, "gap": None}
        if latest is not None:
            figures = {
                "level": latest.level,
                "objective": latest.objective,
                "bound": latest.bound,
                "gap": gap_of(latest.objective, latest.bound),
            }
        return {
            **self._base,
            "phase": phase or ("solving" if latest is not None else "preparing"),
            "elapsed_s": round(time.monotonic() - self._started, 2),
            **figures,
            "levels": levels,
            "updated_at": utcnow().isoformat(),
        }

    def _loop(self) -> None:
        while not self._stop.wait(PROGRESS_EVERY_S):
            self._write()

    def _write(self) -> None:
        try:
            with self._sessions() as session:
                # Only while RUNNING: a write that waited on the finishing solve's lock must
                # not overwrite its final figures.
                session.execute(
                    update(SolveRun)
                    .where(SolveRun.id == self._run_id, SolveRun.status == SolveStatus.RUNNING)
                    .values(progress=self.snapshot())
                )
                session.commit()
        except Exception as exc:  # a busy database: the next write will catch up
            logger.warning("progress of solve run %s not saved: %s", self._run_id, type(exc))


def gap_of(objective: float | None, bound: float | None) -> float | None:
    """The relative gap between a level's best value and its bound, as ``wbl solve`` shows."""
    if objective is None or bound is None:
        return None
    return abs(bound - objective) / max(1.0, abs(bound))


def _solve_in_background(
    sessions: sessionmaker[Session], key: tuple[str, int], options: SolveOptions
) -> None:
    run_id = key[1]
    recorder: ProgressRecorder | None = None
    try:
        with sessions() as session:
            run = session.get(SolveRun, run_id)
            if run is None or run.status is not SolveStatus.RUNNING:
                return  # withdrawn, or its term was deleted meanwhile
            term = session.get(Term, run.term_id)
            if term is None:
                return
            recorder = ProgressRecorder(sessions, run_id, run.progress or {})
            recorder.start()
            solve_term(session, term, options, recorder.record, run=run)
            recorder.stop()
            run.progress = recorder.snapshot("done")
            session.commit()
    except Exception as exc:
        if recorder is not None:
            recorder.stop()
        # The traceback without the exception's text: a message may name a student.
        logger.error(
            "solve run %s failed (%s)\n%s",
            run_id,
            type(exc).__name__,
            "".join(traceback.format_tb(exc.__traceback__)),
        )
        _mark_failed(sessions, run_id, exc, recorder)
    finally:
        if recorder is not None:
            recorder.stop()
            recorder.join()
        with _threads_lock:
            _threads.pop(key, None)


def _mark_failed(
    sessions: sessionmaker[Session],
    run_id: int,
    exc: BaseException,
    recorder: ProgressRecorder | None,
) -> None:
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    message = f"The solve stopped with an error ({type(exc).__name__}{': ' if detail else ''}"
    message += f"{detail[:300]}). Nothing was stored; start it again or check the term's data."
    try:
        with sessions() as session:
            run = session.get(SolveRun, run_id)
            if run is None:
                return
            run.status = SolveStatus.FAILED
            run.finished_at = utcnow()
            run.message = message
            progress = recorder.snapshot("failed") if recorder else dict(run.progress or {})
            run.progress = {**progress, "phase": "failed"}
            session.commit()
    except Exception as error:  # the database is gone too: clear_stale_runs ends it later
        logger.error("solve run %s could not be marked failed (%s)", run_id, type(error))
