"""Time and score the placement solve against its bound and baselines, on generated terms.

    python -m benchmarks.solve_bench --students 1000 10000 50000 \
        [--time-limit 60] [--time-limit-50k 120] [--highs-time-limit 600] \
        [--out benchmarks/solve_results.md]

Per size: generate a bundle (seed 1), import it into a temporary SQLite database (ZIP-centroid
geocoding, no network), build the Problem once, pickle it, and run every method on that same
Problem, each in a fresh process of its own (so peak RSS is that method's alone):

- ``ours``: :func:`solver.solve.solve` (2 workers, seed 0);
- ``mcf``: :func:`solver.flow.solve_flow` without host caps or travel, the min-cost-flow
  relaxation: no overlaps, weekly hours, groups or host caps, so it breaks those rules and
  its placed count and preference are upper bounds, not a placement;
- ``da`` and ``rsd``: :func:`solver.matching.deferred_acceptance` and
  :func:`solver.matching.serial_dictatorship` (seed 0);
- ``highs``: the same model as a MIP in HiGHS (:mod:`benchmarks.highs_mip`), in a process
  that never imports OR-Tools, killed from outside 30 s after its time limit.

Wall time is the method's only (Problem in, assignments out); peak RSS includes the Python
start-up and the unpickled Problem, shown separately as "loaded". With the 10,000-student size
it also runs the "pure capacity" variant (no sessions, weekly minutes or caps, groups or host
caps), on which our solve must equal the flow in placed count and preference.
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from benchmarks.import_bench import machine
from benchmarks.instances import build_instance, dump, load, pure_capacity
from solver.check import check_assignments
from solver.objective import evaluate, level_names
from solver.problem import Problem

ROOT = Path(__file__).resolve().parent.parent
LARGE = 50_000  # sizes from here on get --time-limit-50k
QUALITY_GAP = 0.005  # "same quality as ours": placed proven, the other levels within 0.5%
METHODS = ("ours", "mcf", "da", "rsd", "highs")
LABELS = {
    "ours": "ours (flow + CP-SAT)",
    "mcf": "min-cost flow relaxation",
    "da": "deferred acceptance",
    "rsd": "serial dictatorship",
    "highs": "HiGHS MIP",
}


# --- the worker: one method in its own process ---------------------------------------------


def run_method(method: str, problem: Problem, time_limit: float) -> dict[str, Any]:
    """Run one OR-Tools-side method; returns assignments, wall time and method details."""
    if method == "ours":
        from solver.problem import Params
        from solver.solve import solve

        params = Params(time_limit_s=time_limit, workers=2, seed=0)
        started = time.perf_counter()
        solution = solve(problem, params)
        wall = time.perf_counter() - started
        return {
            "assignments": solution.assignments,
            "wall_s": wall,
            "status": solution.status,
            "gap": solution.gap,
            "placed_proven": solution.placed_proven,
            "objective": solution.objective,
            "bound": solution.bound,
            "stages": [
                {
                    "level": s.level,
                    "method": s.method,
                    "status": s.status,
                    "objective": s.objective,
                    "bound": s.bound,
                    "wall_s": s.wall_s,
                }
                for s in solution.stages
            ],
            "message": solution.message,
            "metrics": solution.metrics,
        }
    if method == "mcf":
        from solver.flow import solve_flow

        started = time.perf_counter()
        flow = solve_flow(problem, host_caps=False, travel=False)
        return {
            "assignments": flow.assignments,
            "wall_s": time.perf_counter() - started,
            "status": "optimal",
            "gap": 0.0,
        }
    if method in ("da", "rsd"):
        from solver.matching import deferred_acceptance, serial_dictatorship

        algorithm = deferred_acceptance if method == "da" else serial_dictatorship
        started = time.perf_counter()
        assignments = algorithm(problem, seed=0)
        return {"assignments": assignments, "wall_s": time.perf_counter() - started}
    raise ValueError(f"unknown method {method!r}")


def worker(method: str, problem_path: Path, result_path: Path, time_limit: float) -> None:
    # The parent sends SIGUSR1 before it kills an overrunning worker: say where it is.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    if method in ("ours", "mcf"):
        import ortools.graph.python.min_cost_flow  # noqa: F401  (start-up, not solve time)
    problem = load(problem_path)
    loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = run_method(method, problem, time_limit)
    result["assignments"] = [list(p) for p in result["assignments"]]
    result["loaded_mib"] = loaded
    result["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result_path.write_text(json.dumps(result))


# --- the parent: run workers, score their placements ---------------------------------------


@dataclass
class Run:
    """One method on one problem: what the worker said, and how its process ended."""

    method: str
    result: dict[str, Any] | None
    wall_s: float | None
    peak_mib: float | None
    loaded_mib: float | None
    killed: bool = False
    timeout: float = 0.0
    error: str = ""
    # 1-minute load average before and after the run (other processes on the machine).
    load: tuple[float, float] = (0.0, 0.0)
    scores: dict[str, Any] = field(default_factory=dict)


def _spawn(args: list[str], result_path: Path, timeout: float, method: str) -> Run:
    """Run ``python -m ...args`` and read its JSON result; kill it at ``timeout`` seconds."""
    with tempfile.TemporaryFile("w+") as log:
        child = subprocess.Popen(
            [sys.executable, "-m", *args], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
        )
        killed = threading.Event()

        def kill() -> None:
            killed.set()
            child.send_signal(signal.SIGUSR1)  # a traceback into the log first
            time.sleep(3)
            child.kill()

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(child.pid, 0)
        finally:
            timer.cancel()
        child.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        output = log.read()
    result = json.loads(result_path.read_text()) if result_path.exists() else None
    error = ""
    if killed.is_set():
        error = f"killed after {timeout:.0f} s, in: {_where(output)}"
    elif child.returncode != 0:
        error = f"exit {child.returncode}: " + " | ".join(output.strip().splitlines()[-3:])
    peak = result.get("peak_mib") if result else None
    return Run(
        method=method,
        result=result,
        wall_s=result.get("wall_s") if result else None,
        # A killed process has no say; the kernel's figure is the same measure.
        peak_mib=peak if peak is not None and not killed.is_set() else usage.ru_maxrss / 1024,
        loaded_mib=result.get("loaded_mib") if result else None,
        killed=killed.is_set(),
        timeout=timeout,
        error=error,
    )


def _where(output: str) -> str:
    """The innermost frames of the main thread in a faulthandler dump, innermost first."""
    lines = output.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("Current thread")]
    if not starts:
        return "unknown (no traceback)"
    frames = []
    for line in lines[starts[-1] + 1 :]:
        line = line.strip()
        if not line.startswith("File "):
            break
        # File "/path/solver/solve.py", line 123 in _cp_sat_stage
        path, _, rest = line[6:].partition('", line ')
        number, _, func = rest.partition(" in ")
        frames.append(f"{func} ({'/'.join(Path(path).parts[-2:])}:{number})")
    return " < ".join(frames[:5]) or "unknown"


def run_worker(method: str, problem_path: Path, workdir: Path, limit: float) -> Run:
    result_path = workdir / f"{problem_path.stem}-{method}.json"
    result_path.unlink(missing_ok=True)
    if method == "highs":
        args = ["benchmarks.highs_mip", str(problem_path), "--time-limit", str(limit)]
        args += ["--gap", str(QUALITY_GAP - 0.0001), "--out", str(result_path)]
        timeout = limit + 30
    else:
        args = ["benchmarks.solve_bench", "--worker", method, str(problem_path), str(result_path)]
        args += ["--time-limit", str(limit)]
        timeout = 2 * limit + 300 if method == "ours" else 3600
    return _spawn(args, result_path, timeout, method)


def score(problem: Problem, assignments: list[tuple[int, int]]) -> dict[str, Any]:
    """The quality of a placement: who is placed, how well ranked, and what rules it breaks."""
    arcs = {(a.student, a.slot): a for a in problem.arcs}
    chosen = sorted({(int(s), int(t)) for s, t in assignments})
    values = dict(zip(level_names(problem), evaluate(problem, chosen), strict=True))
    best: dict[int, int | None] = {}
    ranks: list[int] = []
    for pair in chosen:
        rank = arcs[pair].rank if pair in arcs else None
        if rank is not None:
            ranks.append(rank)
        student = pair[0]
        if rank is not None and (best.get(student) is None or rank < best[student]):  # type: ignore[operator]
            best[student] = rank
        else:
            best.setdefault(student, None)
    placed = len(best)
    top3 = sum(1 for r in best.values() if r is not None and r <= 3)
    violations = check_assignments(problem, chosen)
    return {
        "placements": len(chosen),
        "placed": placed,
        "weighted": values["placed"],
        "preference": values["preference"],
        "travel": values["travel"],
        "mean_rank": sum(ranks) / len(ranks) if ranks else None,
        "top3": top3 / placed if placed else None,
        "violations": len(violations),
        "by_rule": dict(Counter(v.rule for v in violations)),
    }


# --- report -----------------------------------------------------------------------------------


def _machine() -> str:
    """The import benchmark's machine line, plus the solver libraries' versions."""
    from importlib.metadata import PackageNotFoundError, version

    versions = []
    for package in ("ortools", "highspy"):
        try:
            versions.append(f"{package} {version(package)}")
        except PackageNotFoundError:
            versions.append(f"{package} not installed")
    return f"{machine()}, {', '.join(versions)}"


def _wall(run: Run, fmt: str = ",.1f") -> str:
    if run.killed and (run.wall_s is None or run.method != "highs"):
        return f"> {run.timeout:,.0f} (killed)"
    return _num(run.wall_s, fmt)


def _num(value: float | int | None, fmt: str = ",") -> str:
    return "—" if value is None else format(value, fmt)


def _percent(gap: float | None) -> str:
    """A relative gap; a level whose bound is 0 (travel, when CP-SAT proved nothing) gives a
    ratio in the millions, shown as such rather than as a huge percentage."""
    if gap is None:
        return "—"
    return f"{gap:.2%}" if gap < 10 else "> 1000% (bound 0)"


def _gap(run: Run) -> str:
    r = run.result or {}
    if run.method == "ours":
        proven = "placed proven" if r.get("placed_proven") else "placed NOT proven"
        return f"{_percent(r.get('gap'))} ({proven})"
    if run.method == "mcf":
        return "0 (relaxation optimum)"
    if run.method == "highs":
        stages = r.get("stages", [])
        if not stages or "gap" not in stages[0]:
            return "— (no feasible solution)" if stages else "—"
        rest = [s.get("gap") for s in stages[1:] if "gap" in s]
        proven = "placed proven" if stages[0]["gap"] == 0 else "placed NOT proven"
        missing = len(level_names_of(run)) - len(stages)
        text = _percent(max(rest)) if rest else "—"
        if missing > 0 or len(rest) < len(stages) - 1:
            text += " (levels unsolved)"
        return f"{text} ({proven})"
    return "— (none reported)"


def level_names_of(run: Run) -> tuple[str, ...]:
    return tuple((run.result or {}).get("levels") or ("placed", "preference", "travel"))


def _status(run: Run) -> str:
    r = run.result or {}
    if run.error and not run.killed:
        return "error"
    text = r.get("status", "done" if r else "no result")
    if run.method == "highs":
        stages = r.get("stages", [])
        text = "/".join(s["status"] for s in stages) or "no stage finished"
    if run.killed:
        text += ", killed"
    return text


def table_rows(n: int, runs: list[Run]) -> list[str]:
    rows = []
    for run in runs:
        s = run.scores
        placed = s.get("placed")
        share = f" ({placed / n:.1%})" if placed is not None else ""
        rows.append(
            f"| {n:,} | {LABELS[run.method]} | {_status(run)} | {_wall(run)} "
            f"| {_num(run.peak_mib, ',.0f')} | {_num(run.loaded_mib, ',.0f')} "
            f"| {_num(placed)}{share} | {_num(s.get('weighted'))} "
            f"| {_num(s.get('preference'))} | {_num(s.get('mean_rank'), '.2f')} "
            f"| {_num(s.get('top3'), '.1%')} | {_gap(run)} | {_num(s.get('violations'))} |"
        )
    return rows


TABLE_HEAD = [
    "| students | method | status | wall (s) | peak RSS (MiB) | loaded (MiB) | placed "
    "| weighted placed | preference | mean rank | top-3 | gap | violations |",
    "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
]


def notes(n: int, info: dict[str, Any], runs: list[Run], highs_limit: float) -> list[str]:
    by = {r.method: r for r in runs}
    out = [
        f"- {n:,} students: {info['slots']:,} slots, {info['arcs']:,} arcs "
        f"({info['ranked']:,} ranked); generate {info['generate_s']:.1f} s, import "
        f"{info['import_s']:.1f} s, build_problem {info['build_s']:.1f} s; our time limit "
        f"{info['time_limit']:g} s."
    ]
    ours = by.get("ours")
    if ours and ours.result:
        stages = "; ".join(
            f"{s['level']}: {s['method']} {s['status']} {s['wall_s']:.1f} s "
            f"({s['objective']:,} / bound {s['bound']:,})"
            for s in ours.result["stages"]
        )
        out.append(f"  - ours, stages: {stages}; {ours.result.get('metrics')}.")
    loads = ", ".join(f"{r.method} {r.load[0]:.1f}/{r.load[1]:.1f}" for r in runs)
    out.append(f"  - load average before/after each run (2 cores): {loads}.")
    for run in runs:
        if run.error:
            out.append(f"  - {LABELS[run.method]} failed: {run.error}")
        if run.scores.get("by_rule"):
            rules = ", ".join(f"{k} {v:,}" for k, v in sorted(run.scores["by_rule"].items()))
            out.append(f"  - {LABELS[run.method]} violations by rule: {rules}.")
    mcf, ours_scores = by.get("mcf"), (ours.scores if ours else {})
    if mcf and mcf.scores and ours_scores:
        out.append(
            f"  - ours vs the relaxation bound: weighted placed {ours_scores['weighted']:,} of "
            f"{mcf.scores['weighted']:,}, preference {ours_scores['preference']:,} of "
            f"{mcf.scores['preference']:,} (that bound holds only at the relaxation's placed "
            "count)."
        )
    highs = by.get("highs")
    if highs and highs.result:
        r = highs.result
        stages = "; ".join(
            f"{s['level']}: {s['status']} {s['wall_s']:.1f} s"
            + (
                f" ({s['objective']:,} / bound {s['bound']:,})"
                if "bound" in s
                else f" ({s['objective']:,}, no bound yet)"
                if "objective" in s
                else ""
            )
            for s in r.get("stages", [])
        )
        reached = r.get("reached_s")
        quality = (
            f"reached our quality target (placed proven, other levels within "
            f"{QUALITY_GAP:.1%}) in {reached:.1f} s"
            if reached is not None
            else f"quality target not reached in {highs_limit:g} s"
        )
        out.append(
            f"  - HiGHS {r.get('highs_version')}: {r['columns']:,} columns, {r['rows']:,} rows, "
            f"{r['nonzeros']:,} nonzeros, built in {r['build_s']:.1f} s; stages: "
            f"{stages or 'none finished'}; {quality}; OR-Tools loaded in its process: "
            f"{r.get('ortools_loaded')}."
        )
    elif highs:
        out.append(f"  - HiGHS: no result ({'killed' if highs.killed else highs.error}).")
    return out


def pure_rows(runs: list[Run]) -> list[str]:
    by = {r.method: r for r in runs}
    rows = [
        "| method | wall (s) | peak RSS (MiB) | placed | weighted placed | preference "
        "| mean rank | travel | violations |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for run in runs:
        s = run.scores
        rows.append(
            f"| {LABELS[run.method]} | {_wall(run, ',.2f')} | {_num(run.peak_mib, ',.0f')} "
            f"| {_num(s.get('placed'))} | {_num(s.get('weighted'))} "
            f"| {_num(s.get('preference'))} | {_num(s.get('mean_rank'), '.3f')} "
            f"| {_num(s.get('travel'))} | {_num(s.get('violations'))} |"
        )
    for run in runs:
        if run.error:
            rows += ["", f"{LABELS[run.method]} failed: {run.error}"]
    ours, mcf = by.get("ours"), by.get("mcf")
    if ours and mcf and ours.scores and mcf.scores and ours.wall_s and mcf.wall_s:
        same = all(ours.scores[k] == mcf.scores[k] for k in ("placed", "weighted", "preference"))
        ratio = ours.wall_s / mcf.wall_s
        rows += [
            "",
            f"Ours equals the flow in placed count and preference: **{'yes' if same else 'NO'}**. "
            f"Wall-time ratio ours / flow: **{ratio:.1f}x** (acceptance: at most 5x: "
            f"{'met' if ratio <= 5 else 'NOT met'}). Ours: {_status(ours)}, stages "
            + "; ".join(
                f"{s['level']}: {s['method']} {s['status']} {s['wall_s']:.2f} s"
                for s in (ours.result or {}).get("stages", [])
            )
            + ".",
        ]
    return rows


def _has_solution(run: Run) -> bool:
    """Whether the method returned a placement (HiGHS may end without a feasible one)."""
    if run.result is None:
        return False
    if run.method == "highs":
        return any("objective" in s for s in run.result.get("stages", []))
    return True


def measure(
    problem: Problem, path: Path, workdir: Path, methods: tuple[str, ...], limits: dict[str, float]
) -> list[Run]:
    dump(problem, path)
    runs = []
    for method in methods:
        print(f"  {method} ...", end=" ", flush=True)
        before = os.getloadavg()[0]
        run = run_worker(method, path, workdir, limits[method])
        run.load = (before, os.getloadavg()[0])
        if _has_solution(run):
            run.scores = score(problem, [tuple(p) for p in run.result["assignments"]])
        print(
            f"{_status(run)}, {_num(run.wall_s, '.1f')} s, {_num(run.peak_mib, ',.0f')} MiB, "
            f"placed {_num(run.scores.get('placed'))}, violations "
            f"{_num(run.scores.get('violations'))}" + (f" [{run.error}]" if run.error else ""),
            flush=True,
        )
        runs.append(run)
    return runs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--students", type=int, nargs="+", default=[1000, 10000, 50000])
    parser.add_argument("--time-limit", type=float, default=60.0, help="our solve, below 50k")
    parser.add_argument("--time-limit-50k", type=float, default=120.0, help="our solve at 50k+")
    parser.add_argument("--highs-time-limit", type=float, default=600.0)
    parser.add_argument("--pure-capacity", type=int, default=10000, help="size for the variant")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "solve_results.md")
    parser.add_argument(
        "--keep", type=Path, help="keep the pickled problems and raw results in this folder"
    )
    parser.add_argument("--worker", nargs=3, metavar=("METHOD", "PROBLEM", "RESULT"),
                        help=argparse.SUPPRESS)  # fmt: skip
    args = parser.parse_args(argv)
    if args.worker:
        method, problem_path, result_path = args.worker
        worker(method, Path(problem_path), Path(result_path), args.time_limit)
        return

    methods = tuple(args.methods)
    rows: list[str] = []
    note_lines: list[str] = []
    pure: list[str] = []
    with tempfile.TemporaryDirectory(prefix="solve_bench") as tmp:
        workdir = Path(tmp)
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            workdir = args.keep
        for n in args.students:
            print(f"{n:,} students: generating, importing, building ...", flush=True)
            instance = build_instance(n, workdir)
            problem = instance.problem
            ours_limit = args.time_limit_50k if n >= LARGE else args.time_limit
            limits = dict.fromkeys(methods, ours_limit)
            limits["highs"] = args.highs_time_limit
            info = {
                "slots": len(problem.slots),
                "arcs": len(problem.arcs),
                "ranked": sum(1 for a in problem.arcs if a.rank is not None),
                "generate_s": instance.generate_s,
                "import_s": instance.import_s,
                "build_s": instance.build_s,
                "time_limit": ours_limit,
            }
            print(f"  {info}", flush=True)
            runs = measure(problem, workdir / f"problem{n}.pickle", workdir, methods, limits)
            rows += table_rows(n, runs)
            note_lines += notes(n, info, runs, args.highs_time_limit)
            if n == args.pure_capacity:
                print(f"  pure capacity variant of {n:,}:", flush=True)
                variant = pure_capacity(problem)
                pure_methods = tuple(m for m in ("ours", "mcf") if m in methods)
                pure_runs = measure(
                    variant, workdir / f"pure{n}.pickle", workdir, pure_methods, limits
                )
                pure = [
                    f"## Pure capacity variant ({n:,} students)",
                    "",
                    "The same instance with every slot's sessions and weekly minutes emptied, "
                    "no weekly caps, no groups and no host caps: min-cost flow is exact there "
                    "for placed count and preference.",
                    "",
                    *pure_rows(pure_runs),
                    "",
                ]
            del instance, problem

    command = "python -m benchmarks.solve_bench --students " + " ".join(map(str, args.students))
    command += (
        f" --time-limit {args.time_limit:g} --time-limit-50k {args.time_limit_50k:g}"
        f" --highs-time-limit {args.highs_time_limit:g}"
    )
    text = "\n".join(
        [
            "# Solve benchmark",
            "",
            f"Measured {date.today().isoformat()} on {_machine()} with `{command}`.",
            "Each method runs on the same Problem in its own process: wall time is the method "
            "alone (Problem in, assignments out); peak RSS is that process's "
            '(`ru_maxrss`), including Python and the unpickled Problem ("loaded"). '
            "Placed: students with at least one placement; preference: objective level 2 "
            "(solver.objective, higher is better); mean rank over ranked placements; top-3: "
            "share of placed students whose best placement is ranked 1 to 3; violations: "
            "`solver.check.check_assignments` (the relaxation ignores side rules, so it "
            "breaks them: it is a bound, not a placement). HiGHS stops each level at "
            f"{QUALITY_GAP - 0.0001:.2%} relative gap (placed: proven optimal).",
            "",
            *TABLE_HEAD,
            *rows,
            "",
            *note_lines,
            "",
            *pure,
        ]
    )
    print(text)
    args.out.write_text(text)


if __name__ == "__main__":
    main()
