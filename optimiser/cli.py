"""The ``optimiser`` command: a thin click layer over the Python API.

Each command parses its options, calls the API, and turns the library's own
errors into exit status 2 with every problem listed (never a traceback).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import math
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import click
import numpy as np
from sqlalchemy import exc as sa_exc

from optimiser.analysis.explain import explain as explain_patient
from optimiser.analysis.value import capacity_value
from optimiser.analysis.whatif import parse_change
from optimiser.analysis.whatif import whatif as run_whatif
from optimiser.api import SOLVERS, allocate, proven_bound
from optimiser.constants import BED_DAY_COST
from optimiser.data.database import shown
from optimiser.data.files import plan_placements, read_plan_placements, safe_csv, write_atomic, write_folder
from optimiser.data.identifiers import KEY_VARIABLE, pseudonym_key
from optimiser.data.problems import InputError
from optimiser.data.schema import TABLES
from optimiser.data.workbook import write_template
from optimiser.generate import generate_snapshot
from optimiser.history import History, HistoryError, RunRecord, history_url
from optimiser.history.diff import diff_runs
from optimiser.history.recording import folder_files, plan_rows, snapshot_copy, source_label
from optimiser.ipacs.compare import compare_ipacs
from optimiser.ipacs.convert import converted_files
from optimiser.ipacs.outputs import run_ipacs
from optimiser.ipacs.report import render_ipacs_report
from optimiser.ipacs.run import MODES
from optimiser.ipacs.workbook import read_workbook
from optimiser.model.loading import load_snapshot
from optimiser.model.previous import placement_triples
from optimiser.report.html import write_report
from optimiser.report.sweep import cost_curve_svg, point_labels, render_sweep_report
from optimiser.simulate import check_places, simulate
from optimiser.simulate.bound import METHODS, BoundSettings
from optimiser.simulate.flow import POLICIES, read_flow
from optimiser.simulate.sweep import parse_vary, sweep
from optimiser.solve.progress import Board
from optimiser.solve.result import relative_gap

RECORDED = ("allocate", "whatif", "value", "simulate", "sweep")  # the commands the run history records


class SnapshotSource(click.ParamType):
    """A snapshot folder, an .xlsx workbook, or a database URL (kept as text)."""

    name = "snapshot"

    def convert(self, value, param, ctx):
        return value if isinstance(value, str) and "://" in value else Path(value)


SNAPSHOT = click.argument("snapshot", type=SnapshotSource())


class SnapshotProblem(click.ClickException):
    """A broken snapshot: exit status 2 and every problem on stderr."""

    exit_code = 2

    def __init__(self, error: InputError):
        super().__init__(error.report())

    def show(self, file=None) -> None:
        click.echo(self.format_message(), err=True)


def _load(path: Path):
    """Load the snapshot (pseudonymised when the command line says so); exit 2 on bad input."""
    root = click.get_current_context().find_root().params
    key = None
    if root.get("pseudonymise"):
        try:
            key = pseudonym_key(root.get("pseudonym_key"))
        except (OSError, ValueError) as error:
            raise click.UsageError(f"--pseudonymise: {error}") from None
    try:
        snapshot = load_snapshot(path, pseudonym_key=key)
    except InputError as error:
        raise SnapshotProblem(error) from None
    for note in snapshot.notes:
        click.echo(f"Warning: {note}", err=True)
    return snapshot


GLOBAL_FLAGS = ("--pseudonymise", "--no-history", "--quiet")
GLOBAL_VALUED = ("--db", "--pseudonym-key")


class GlobalOptionsAnywhere(click.Group):
    """The group's own options (``--no-history``, ``--db URL``, ``--quiet``, ...) are accepted
    after the command as well, as a user types them (``optimiser allocate snap --out plan
    --no-history``): they are moved in front of the command before click parses. Nothing after
    a ``--`` is moved."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoist_global_options(args))


def hoist_global_options(args: list[str]) -> list[str]:
    """``args`` with every global option (and its value) moved to the front, order kept."""
    hoisted, rest = [], []
    i = 0
    while i < len(args):
        token = args[i]
        if token == "--":
            rest += args[i:]
            break
        name = token.split("=", 1)[0]
        if token in GLOBAL_FLAGS:
            hoisted.append(token)
        elif name in GLOBAL_VALUED and "=" in token:
            hoisted.append(token)
        elif token in GLOBAL_VALUED and i + 1 < len(args):
            hoisted += args[i : i + 2]
            i += 1
        else:
            rest.append(token)
        i += 1
    return hoisted + rest


@click.group(cls=GlobalOptionsAnywhere, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="optimiser")
@click.option(
    "--pseudonymise",
    is_flag=True,
    help=f"Replace each patient's id by a keyed pseudonym of its NHS number (key: --pseudonym-key FILE or ${KEY_VARIABLE}).",
)
@click.option("--pseudonym-key", type=click.Path(path_type=Path, dir_okay=False), default=None, help="File holding the key.")
@click.option(
    "--db",
    default=None,
    metavar="URL",
    help="The run history: a database URL (sqlite:///FILE, postgresql://...) or a SQLite file "
    "[default: $OPTIMISER_DB, the config file's [history] db, or ~/.local/share/optimiser/history.db].",
)
@click.option("--no-history", is_flag=True, help="Record nothing in the run history.")
@click.option("--quiet", is_flag=True, help="No progress lines (they are shown only on a terminal anyway).")
def main(pseudonymise: bool, pseudonym_key: Path | None, db: str | None, no_history: bool, quiet: bool) -> None:
    """Match discharge-ready hospital patients to pathway places, exactly.

    Typical morning: optimiser validate SNAPSHOT, then
    optimiser allocate SNAPSHOT --out PLAN_DIR.

    File formats: docs/snapshot.md (snapshot and plan folders) and
    docs/simulation.md (flow files and simulation outputs), docs/ipacs.md (the IPACS workbook),
    docs/history.md (the run history).
    """


@main.command()
@SNAPSHOT
@click.option("--json", "as_json", is_flag=True, help="Print what was loaded as JSON.")
def validate(snapshot: Path, as_json: bool) -> None:
    """Check SNAPSHOT against the contract and say what was loaded."""
    loaded = _load(snapshot)
    summary = loaded.summary()
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    click.echo(
        f"{snapshot}: valid. Snapshot {summary['snapshot_date']}, horizon {summary['horizon_days']} days, "
        f"{summary['localities']} localities, {summary['equipment_stores']} equipment stores, {summary['pinned']} pinned."
    )
    click.echo(f"{'pathway':>8} {'patients':>9} {'services':>9} {'capacity':>12}")
    for pathway, row in summary["by_pathway"].items():
        unit = "carer-h/day" if pathway == 1 else "beds"
        click.echo(f"{pathway:>8} {row['patients']:>9} {row['services']:>9} {row['capacity']:>8g} {unit}")


def _seconds(context, parameter, value):
    """A time limit: a number of seconds > 0; inf means no limit (None); nan is refused."""
    if value is None:
        return None
    if math.isnan(value):
        raise click.BadParameter("nan is not a number of seconds; give seconds > 0, or inf for no limit")
    return None if math.isinf(value) else value


def solve_options(command):
    """The options every solving command shares: solver, time limit, threads, gap, seed, log."""
    options = [
        click.option(
            "--solver",
            type=click.Choice(SOLVERS),
            default="highs",
            show_default=True,
            help="highs, cpsat (OR-Tools), pyomo (Pyomo + HiGHS) or greedy (first come first served).",
        ),
        click.option(
            "--time-limit",
            type=click.FloatRange(min=0, min_open=True),
            default=300.0,
            show_default=True,
            callback=_seconds,
            help="Seconds for the whole run, loading and building included; then the best plan found (status feasible, bound, gap). "
            "inf: no limit.",
        ),
        click.option(
            "--threads",
            type=click.IntRange(min=1),
            default=2,
            show_default=True,
            help="Threads: independent parts solve in parallel.",
        ),
        click.option(
            "--mip-gap",
            type=click.FloatRange(min=0),
            default=1e-6,
            show_default=True,
            help="Relative gap at which a plan counts as optimal.",
        ),
        click.option("--seed", type=int, default=0, show_default=True, help="Solver random seed."),
        click.option(
            "--work-limit",
            type=click.IntRange(min=0),
            default=None,
            help="Reproducible run: count work instead of seconds (HiGHS stops each part after its "
            "root node, then the search gets this many neighbourhoods in all), so the same "
            "snapshot and options give the same plan on any machine; --time-limit stays a safety cap. highs only.",
        ),
        click.option("--log", is_flag=True, help="Show the solver's log on stderr."),
    ]

    @functools.wraps(command)
    def checked(*args, **kwargs):
        if kwargs.get("work_limit") is not None and kwargs.get("solver") != "highs":
            raise click.UsageError("--work-limit applies to --solver highs only")
        return command(*args, **kwargs)

    for option in reversed(options):
        checked = option(checked)
    return checked


@main.command()
@SNAPSHOT
@click.option("--out", "out", type=click.Path(path_type=Path), required=True, help="Folder to write the plan to.")
@solve_options
@click.option("--json", "as_json", is_flag=True, help="Print summary.json to stdout instead of the human summary.")
@click.option(
    "--details", is_flag=True, help="plan.csv also gets service name, pathway, site, locality, priority and start weekday."
)
@click.option(
    "--keep",
    default=None,
    metavar="PLAN_DIR|last|RUN",
    help="An earlier plan (a plan folder, or from the history: last, or a run id): its placements are the default; "
    "moving a patient costs --disruption-penalty.",
)
@click.option(
    "--disruption-penalty",
    type=click.FloatRange(min=0),
    default=3.0,
    show_default=True,
    help="With --keep: objective units per patient moved from the earlier plan (3 = three days' wait at priority 1).",
)
def allocate_command(snapshot, out, as_json, details, keep, disruption_penalty, **solve) -> None:
    """Allocate SNAPSHOT's patients to places; write plan.csv, unplaced.csv, summary.json to --out."""
    _writable_folder(out)
    began = dt.datetime.now(dt.timezone.utc)
    started = time.perf_counter()
    loaded = _load(snapshot)
    requested = solve["time_limit"]
    if requested is not None:
        solve["time_limit"] = max(requested - (time.perf_counter() - started), 0.05)  # the limit counts loading too
    if keep is not None:
        try:
            earlier = _earlier_plan(keep)
        except InputError as error:
            raise SnapshotProblem(error) from None
        matched = len(placement_triples(loaded, earlier))
        if matched < len(earlier):
            click.echo(
                f"--keep: {len(earlier) - matched} of the {len(earlier)} earlier placements name patients, services or "
                "dates (within the horizon) this snapshot does not have; only the others are kept by default.",
                err=True,
            )
        solve.update(keep=earlier, disruption_penalty=disruption_penalty)
    with _solve_line("solving", requested, show=_progress_shown(as_json)) as board:
        plan = allocate(loaded, progress=board, **solve)
    plan.summary["options"]["time_limit"] = requested  # as asked, not what was left after loading
    plan.write(out, details=details)
    _record("allocate", began, loaded, out=out, summary=plan.summary)
    if as_json:
        click.echo(plan.summary_json(), nl=False)
        return
    click.echo(human_summary(plan.summary))
    if "keep" in plan.summary:
        kept = plan.summary["keep"]
        click.echo(
            f"Kept {kept['kept']} of {kept['previous_placements']} earlier placements, moved {kept['moved']} "
            f"(penalty {kept['disruption_penalty']:g} each; penalised solve {kept['status']})."
        )
    click.echo(f"Wrote {out / 'plan.csv'}, {out / 'unplaced.csv'}, {out / 'summary.json'}")


allocate_command.name = "allocate"


def _progress_shown(as_json: bool = False) -> bool:
    """Progress lines: on a terminal (stderr), not with --json or --quiet."""
    quiet = click.get_current_context().find_root().params.get("quiet")
    return sys.stderr.isatty() and not as_json and not quiet


@contextlib.contextmanager
def _solve_line(label: str, time_limit: float | None, show: bool):
    """While the solve runs, a line on stderr (tqdm): its plan, bound, gap and time so far.
    Yields the ``Board`` the solve reports to, or None when nothing is shown."""
    if not show:
        yield None
        return
    from tqdm import tqdm

    board = Board()
    line = tqdm(file=sys.stderr, bar_format="{desc}", leave=False, dynamic_ncols=True)
    stop = threading.Event()
    limit = "" if time_limit is None or not math.isfinite(time_limit) else f" of {time_limit:g}"

    def render() -> None:
        state = board.state()
        plan = "-" if state.plan is None else f"{state.plan:,.2f}"
        bound = "-" if state.bound is None else f"{state.bound:,.2f}"
        gap = "-" if state.gap is None else f"{100 * state.gap:.2f}%"
        parts = f", parts {state.parts_done}/{state.parts}" if state.parts > 1 else ""
        line.set_description_str(f"{label}: plan {plan}, bound {bound}, gap {gap}{parts}, {state.elapsed:.0f} s{limit}")

    def tick() -> None:
        while not stop.wait(0.5):
            render()

    ticker = threading.Thread(target=tick, daemon=True)
    render()
    ticker.start()
    try:
        yield board
    finally:
        stop.set()
        ticker.join()
        render()
        line.close()


@contextlib.contextmanager
def _steps_bar(label: str, show: bool):
    """A bar on stderr (tqdm) of solves done of all; yields its ``on_step(done, total)``."""
    if not show:
        yield None
        return
    from tqdm import tqdm

    bar = tqdm(file=sys.stderr, desc=label, unit="solve", leave=False, dynamic_ncols=True)

    def step(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        yield step
    finally:
        bar.close()


def human_summary(summary: dict) -> str:
    """A few lines a coordinator reads: status, who is placed, waits, objective and timings."""
    gap = summary["gap"]
    gap_text = "n/a" if gap is None else f"{100 * gap:.3g}%"
    bound = summary["bound"]
    why = "" if summary["status"] == "optimal" or not summary.get("message") else f"; {summary['message']}"
    lines = [
        f"Status {summary['status']} ({summary['solver']}{why}): placed {summary['placed']} of {summary['patients']} patients, "
        f"{summary['unplaced']} unplaced"
        + (
            f" ({summary['interim']} into an interim bed, {summary['onward']} of them moved on in the horizon)."
            if "interim" in summary
            else "."
        ),
        f"Objective {summary['objective']:.4f}, bound {'n/a' if bound is None else format(bound, '.4f')}, gap {gap_text}; "
        f"build {summary['build_seconds']:.2f} s, solve {summary['solve_seconds']:.2f} s.",
        f"{'pathway':>8} {'patients':>9} {'placed':>7} {'unplaced':>9} {'mean wait':>10} {'longest':>8}",
    ]
    for pathway, row in summary["by_pathway"].items():
        mean = "-" if row["mean_wait_days"] is None else f"{row['mean_wait_days']:.1f} d"
        longest = "-" if row["longest_wait_days"] is None else f"{row['longest_wait_days']} d"
        lines.append(f"{pathway:>8} {row['patients']:>9} {row['placed']:>7} {row['unplaced']:>9} {mean:>10} {longest:>8}")
    parts = summary.get("parts")
    if parts and parts["open"]:
        lines.append(_open_parts_line(parts))
    if summary["unplaced_by_cause"]:
        causes = ", ".join(f"{cause.replace('_', ' ')} {count}" for cause, count in summary["unplaced_by_cause"].items())
        lines.append(f"Unplaced by reason: {causes} (see unplaced.csv).")
    if summary["status"] == "feasible" and summary.get("message") == "stopped at a limit":
        lines.append(
            "The time limit ended the search: a rerun can give another plan of about this quality; "
            "--work-limit N gives one that repeats exactly, a longer --time-limit a smaller gap."
        )
    return "\n".join(lines)


def _open_parts_line(parts: dict) -> str:
    """Where the gap is, e.g. "Proven optimal: 55 of 57 independent parts; the gap is in 2 (pathway 1),
    the largest (138 patients, 18 services) holds 83% of it."."""
    listed = parts["open"]
    still_open = parts["count"] - parts["proven_optimal"]
    pathways = sorted({pathway for part in listed for pathway in part["pathways"]})
    named = f"pathway{'s' if len(pathways) > 1 else ''} {', '.join(str(pathway) for pathway in pathways)}"
    largest = listed[0]
    size = f"{largest['patients']} patients, {largest['services']} services"
    line = f"Proven optimal: {parts['proven_optimal']} of {parts['count']} independent parts; "
    if still_open == 1:
        return line + f"the gap is all in one ({named}: {size})."
    line += f"the gap is in {still_open} ({named})"
    if largest["share_of_gap"] is not None:
        line += f", the largest ({size}) holds {100 * largest['share_of_gap']:.0f}% of it"
    return line + "."


@main.command()
@SNAPSHOT
@click.option(
    "--add-capacity",
    multiple=True,
    metavar="SERVICE:DATE:AMOUNT[:BAND]",
    help="More beds or carer-hours from DATE on (in one time-of-day BAND of a v2 snapshot).",
)
@click.option("--close", multiple=True, metavar="SERVICE", help="The service takes no new patients.")
@click.option("--add-stock", multiple=True, metavar="STORE:ITEM:DATE:QTY", help="More equipment arriving at a store.")
@click.option(
    "--make-interim",
    multiple=True,
    metavar="SERVICE",
    help="The pathway-2 service also takes patients waiting for pathway 1 or 3, as interim stays (v2).",
)
@solve_options
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
def whatif(snapshot, add_capacity, close, add_stock, make_interim, as_json, **solve) -> None:
    """Solve SNAPSHOT as it is and with the changes; print what differs."""
    changes, errors = [], []
    for option, texts in (
        ("add-capacity", add_capacity),
        ("close", close),
        ("add-stock", add_stock),
        ("make-interim", make_interim),
    ):
        for text in texts:
            try:
                changes.append(parse_change(option, text))
            except ValueError as error:
                errors.append(str(error))
    if not changes and not errors:
        errors.append("give at least one change: --add-capacity, --close, --add-stock or --make-interim")
    if errors:
        raise click.UsageError("\n".join(errors))
    began = dt.datetime.now(dt.timezone.utc)
    loaded = _load(snapshot)
    try:
        with _steps_bar("what-if solves", show=_progress_shown(as_json)) as step:
            comparison = run_whatif(loaded, changes, on_step=step, **solve)
    except InputError as error:
        raise SnapshotProblem(error) from None
    for note in comparison.variant.formulation.snapshot.notes:
        click.echo(f"Warning: {note}", err=True)
    figures = {
        row.measure: {"base": row.base, "variant": row.variant, "difference": row.difference}
        for row in comparison.figures.itertuples(index=False)
    }
    document = {
        "changes": [str(change) for change in changes],
        "figures": figures,
        "status": {"base": comparison.base.status, "variant": comparison.variant.status},
        "moved": comparison.moved.to_dict(orient="records"),
    }
    text = json.dumps(document, indent=2)
    variant = comparison.variant.summary
    _record("whatif", began, loaded, files={"whatif.json": (text + "\n").encode()}, summary=variant)
    if as_json:
        click.echo(text)
        return
    click.echo(comparison.to_text())
    if len(comparison.moved):
        click.echo(comparison.moved.to_string(index=False))


@main.command()
@SNAPSHOT
@click.option(
    "--out", type=click.Path(path_type=Path), default=Path("."), show_default=True, help="Folder for capacity_value.csv."
)
@click.option("--candidates", type=click.IntRange(min=1), default=30, show_default=True, help="Most re-solves to make.")
@click.option(
    "--bed-day-cost", type=click.FloatRange(min=0), default=BED_DAY_COST, show_default=True, help="Pounds per acute bed-day."
)
@click.option("--top", type=click.IntRange(min=0), default=10, show_default=True, help="Rows to print.")
@solve_options
def value(snapshot, out, candidates, bed_day_cost, top, **solve) -> None:
    """Write capacity_value.csv: what one more bed, carer-hour or item is worth (exact re-solves)."""
    _writable_folder(out)
    began = dt.datetime.now(dt.timezone.utc)
    loaded = _load(snapshot)
    with _steps_bar("re-solves", show=_progress_shown()) as step:
        table = capacity_value(loaded, candidates=candidates, bed_day_cost=bed_day_cost, on_step=step, **solve)
    out.mkdir(parents=True, exist_ok=True)
    written = safe_csv(table.assign(snapshot_hash=loaded.content_hash))
    write_atomic(out / "capacity_value.csv", written)
    _record("value", began, loaded, files={"capacity_value.csv": written.encode("utf-8")})
    shown = table.head(top).assign(
        what=lambda t: np.where(
            t["kind"] == "service",
            t["service_id"],
            np.where(t["kind"] == "band", t["service_id"] + " " + t.get("band", ""), t["store_id"] + " " + t["item"]),
        )
    )
    if len(shown):
        click.echo(
            shown[["what", "from_date", "unit", "objective_saved", "bed_days_saved", "pounds_saved", "exact"]].to_string(
                index=False, float_format=lambda v: f"{v:,.2f}"
            )
        )
    click.echo(f"Wrote {out / 'capacity_value.csv'} ({len(table)} candidates re-solved).")


@main.command()
@SNAPSHOT
@click.option(
    "--plan",
    "plan_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="A plan made from SNAPSHOT: say how far its objective (PLAN/summary.json) is from the bound.",
)
@click.option("--time-limit", type=float, default=600.0, show_default=True, help="Seconds, about.")
@click.option("--threads", type=click.IntRange(1, 64), default=1, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the bound and its pieces as JSON.")
def bound(snapshot, plan_dir, time_limit, threads, as_json) -> None:
    """A proven lower bound on SNAPSHOT's best objective: no plan can cost less. Where home
    care has time-of-day bands it is stronger than the solve's own bound (column generation
    over the services; minutes, not seconds)."""
    if not math.isfinite(time_limit) or time_limit <= 0:
        raise click.BadParameter(f"{time_limit} is not a number of seconds > 0", param_hint="--time-limit")
    loaded = _load(snapshot)
    objective = None
    if plan_dir is not None:
        objective = _plan_objective(plan_dir, loaded)
    found = proven_bound(loaded, time_limit=time_limit, threads=threads)
    result = found.to_dict()
    if objective is not None:
        result["plan_objective"] = objective
        result["plan_gap"] = relative_gap(objective, found.bound)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    click.echo(f"Proven bound {found.bound:.2f} ({found.seconds:.0f} s): no plan of {snapshot} costs less.")
    for piece in found.pieces:
        if piece.priced is not None:
            click.echo(
                f"  home care with bands ({piece.columns} columns): LP {piece.priced.lp:.2f}, "
                f"HiGHS {piece.highs:.2f}, priced {piece.priced.bound:.2f}"
                + ("" if piece.priced.converged else " (not converged)")
            )
    if objective is not None:
        click.echo(f"The plan in {plan_dir} costs {objective:.2f}: within {100 * result['plan_gap']:.2f}% of the bound.")


def _plan_objective(plan_dir: Path, snapshot) -> float:
    """The objective PLAN_DIR/summary.json records, if the plan was made from this snapshot."""
    try:
        summary = json.loads((plan_dir / "summary.json").read_text())
        objective = float(summary["objective"])
    except (OSError, ValueError, KeyError, TypeError):
        raise click.UsageError(f"{plan_dir}/summary.json: no plan objective there; give a folder allocate wrote") from None
    recorded = summary.get("snapshot_hash")
    if recorded and snapshot.content_hash is not None and recorded != snapshot.content_hash:
        raise click.UsageError(f"{plan_dir} was made from another snapshot (its summary.json records another hash)")
    return objective


@main.command()
@click.argument("plan_dir", type=click.Path(path_type=Path))
@click.argument("patient_id")
@click.option(
    "--snapshot",
    type=SnapshotSource(),
    default=None,
    help="The snapshot the plan was made from (default: the one named in PLAN_DIR/summary.json).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the explanation as JSON.")
def explain(plan_dir, patient_id, snapshot, as_json) -> None:
    """Explain PATIENT_ID in the plan in PLAN_DIR: the choice, every alternative, what binds."""
    if snapshot is None:
        snapshot = _snapshot_of(plan_dir)
    loaded = _load(snapshot)
    try:
        placements = read_plan_placements(plan_dir)
    except InputError as error:
        raise SnapshotProblem(error) from None
    try:
        explanation = explain_patient(loaded, placements, patient_id)
    except KeyError:
        raise click.UsageError(f"{patient_id!r} is not a patient_id of {snapshot}/patients.csv") from None
    except ValueError as error:
        raise click.UsageError(f"{plan_dir}: {error}") from None
    click.echo(json.dumps(explanation.to_dict(), indent=2) if as_json else explanation.to_text())


@main.command()
@click.argument("plan_dir", type=click.Path(path_type=Path))
@click.option(
    "--snapshot",
    type=SnapshotSource(),
    default=None,
    help="The snapshot the plan was made from (default: the one named in PLAN_DIR/summary.json).",
)
@click.option("--out", type=click.Path(path_type=Path), default=None, help="HTML file to write [default: PLAN_DIR/report.html].")
@click.option(
    "--bed-day-cost", type=click.FloatRange(min=0), default=BED_DAY_COST, show_default=True, help="Pounds per acute bed-day."
)
def report(plan_dir, snapshot, out, bed_day_cost) -> None:
    """Write one self-contained HTML report of the plan in PLAN_DIR (opens offline)."""
    for name in ("plan.csv", "unplaced.csv", "summary.json"):
        if not (plan_dir / name).is_file():
            raise click.UsageError(f"{plan_dir / name} is missing; give a folder that `optimiser allocate` wrote")
    if out is not None and out.is_dir():
        raise click.UsageError(f"--out {out} is a folder; give the HTML file to write")
    _writable_folder(plan_dir if out is None else out.parent)
    if snapshot is None:
        snapshot = _snapshot_of(plan_dir)
    loaded = _load(snapshot)
    made_from = _recorded_hash(plan_dir)
    if made_from is not None and loaded.content_hash is not None and made_from != loaded.content_hash:
        raise click.UsageError(
            f"{snapshot} has changed since the plan in {plan_dir} was made from it (its files differ); "
            "run allocate again, or give --snapshot with the snapshot the plan was made from"
        )
    written = write_report(plan_dir, loaded, out, bed_day_cost=bed_day_cost)
    click.echo(f"Wrote {written}")


def _recorded_hash(plan_dir: Path) -> str | None:
    """The snapshot hash PLAN_DIR/summary.json records (None for a plan that records none)."""
    try:
        return json.loads((plan_dir / "summary.json").read_text()).get("snapshot_hash")
    except (OSError, ValueError):
        return None


def _snapshot_of(plan_dir: Path) -> Path:
    """The snapshot folder recorded in PLAN_DIR/summary.json."""
    try:
        recorded = json.loads((plan_dir / "summary.json").read_text()).get("snapshot")
    except (OSError, ValueError):
        recorded = None
    if not recorded:
        raise click.UsageError(f"{plan_dir}/summary.json does not name the snapshot; give --snapshot")
    return recorded if "://" in recorded else Path(recorded)  # a database URL (its password hidden: give --snapshot)


@main.command()
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--size", type=click.Choice(["demo", "ics", "region", "national"]), default="demo", show_default=True)
@click.option("--seed", type=click.IntRange(min=0), default=1, show_default=True)
@click.option("--snapshot-date", default="2026-11-26", show_default=True, help="Snapshot date (YYYY-MM-DD).")
@click.option(
    "--force", is_flag=True, help="Write into a folder that is not empty (snapshot files it does not write are removed)."
)
@click.option("--bands", is_flag=True, help="A v2 snapshot: pathway-1 care and carer-hours by time of day (no flow.toml).")
@click.option(
    "--interim", is_flag=True, help="A v2 snapshot: some step-down units also take bridging (interim) stays (no flow.toml)."
)
def generate(out: Path, size: str, seed: int, snapshot_date: str, force: bool, bands: bool, interim: bool) -> None:
    """Write a synthetic snapshot calibrated to public figures (see instances/README.md)."""
    import datetime as dt

    _writable_folder(out)
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise click.UsageError(f"{out} is not empty; give a new or empty folder, or --force to write into it")
        for table in TABLES:
            (out / table.file).unlink(missing_ok=True)  # an old pinned.csv would make the new snapshot invalid
    try:
        date = dt.date.fromisoformat(snapshot_date)
    except ValueError:
        raise click.BadParameter(f"{snapshot_date!r} is not a date; write YYYY-MM-DD", param_hint="--snapshot-date") from None
    counts = generate_snapshot(out, size=size, seed=seed, snapshot_date=date, bands=bands, interim=interim)
    click.echo(f"Wrote {size} snapshot to {out}: {counts['patients']} patients, {counts['services']} services.")


def _writable_folder(out: Path) -> None:
    """--out must be a folder this run can write, in a folder it can write (checked before
    any work is done, so that no solve is lost to a folder that cannot be written)."""
    if out.exists() and not out.is_dir():
        raise click.UsageError(f"--out {out} is a file; give a folder")
    parent = out.resolve().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise click.UsageError(f"--out {out}: {parent} is a file, not a folder; give a folder")
    for where in [out, parent] if out.is_dir() else [parent]:
        try:
            tempfile.TemporaryDirectory(dir=where).cleanup()
        except OSError as error:
            raise click.UsageError(
                f"--out {out}: cannot write in {where} ({error.strerror}); give a folder you can write"
            ) from None


def flow_options(command):
    """The options simulate and sweep share: the flow file and what overrides it, and where
    the runs are run."""
    options = [
        click.option(
            "--flow", "flow_file", type=click.Path(path_type=Path), default=None, help="Flow file [default: SNAPSHOT/flow.toml]."
        ),
        click.option("--days", type=click.IntRange(min=1), default=None, help="Days simulated (overrides the flow file)."),
        click.option("--runs", type=click.IntRange(min=1), default=None, help="Independent runs (overrides the flow file)."),
        click.option(
            "--seed", type=click.IntRange(min=0), default=None, help="Seed of the runs' streams (overrides the flow file)."
        ),
        click.option(
            "--policy", "policies", type=click.Choice(POLICIES), multiple=True, help="Placement policy; repeat for several."
        ),
        click.option(
            "--policy-time-limit",
            type=click.FloatRange(min=0, min_open=True),
            default=None,
            callback=_seconds,
            help="Seconds per daily solve.",
        ),
        click.option(
            "--policy-work-limit", type=click.IntRange(min=0), default=None, help="Neighbourhoods per daily solve (reproducible)."
        ),
        click.option("--policy-threads", type=click.IntRange(min=1), default=None, help="Threads per daily solve [default 1]."),
        click.option(
            "--workers",
            type=click.IntRange(min=0),
            default=None,
            help="Dask worker processes [default: one per core; 0: run here].",
        ),
        click.option("--scheduler", default=None, help="Address of a running Dask scheduler, e.g. tcp://127.0.0.1:8786."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@main.command("simulate")
@SNAPSHOT
@click.option(
    "--out", type=click.Path(path_type=Path), required=True, help="Folder for daily.csv, patients.csv, summary.json, report.html."
)
@flow_options
@click.option(
    "--bound",
    "with_bound",
    is_flag=True,
    help="Also solve each run's perfect-information bound (all its arrivals known in advance): the floor no policy can beat.",
)
@click.option(
    "--bound-method",
    type=click.Choice(METHODS),
    default="lp",
    show_default=True,
    help="lp: the bound's LP relaxation; mip: whole-number starts, the MILP's proven bound (tighter, slower).",
)
@click.option(
    "--bound-time-limit",
    type=click.FloatRange(min=0, min_open=True),
    default=600.0,
    show_default=True,
    help="Seconds per run's bound (an LP not solved in time is an error; a MILP gives its bound so far).",
)
@click.option("--json", "as_json", is_flag=True, help="Print summary.json instead of the human summary.")
def simulate_command(
    snapshot,
    flow_file,
    out,
    days,
    runs,
    seed,
    policies,
    policy_time_limit,
    policy_work_limit,
    policy_threads,
    workers,
    scheduler,
    with_bound,
    bound_method,
    bound_time_limit,
    as_json,
):
    """Run the daily allocation forward over weeks under each policy; write the flow's outcomes to --out."""
    _writable_folder(out)
    began = dt.datetime.now(dt.timezone.utc)
    loaded = _load(snapshot)
    try:
        check_places(loaded)
        flow = read_flow(flow_file or Path(snapshot) / "flow.toml", loaded)
    except InputError as error:
        raise SnapshotProblem(error) from None
    result = simulate(
        loaded,
        flow,
        days=days,
        runs=runs,
        seed=seed,
        policies=policies or None,
        time_limit=policy_time_limit,
        work_limit=policy_work_limit,
        threads=policy_threads,
        workers=workers,
        scheduler=scheduler,
        progress=None if _progress_shown(as_json) else False,
        bound=BoundSettings(method=bound_method, time_limit=bound_time_limit) if with_bound else False,
    )
    result.write(out)
    _record("simulate", began, loaded, out=out, summary={"status": "done"})
    if as_json:
        click.echo(json.dumps(result.summary_safe(), indent=2))
        return
    click.echo(simulation_summary(result.summary))
    written = ["daily.csv", "patients.csv", "summary.json", "report.html"] + (["bound.csv"] if with_bound else [])
    click.echo("Wrote " + ", ".join(str(out / name) for name in written))


@main.command("sweep")
@SNAPSHOT
@click.option("--vary", multiple=True, help="pathwayK=START:STOP:STEP: multiply pathway K's places and free capacity; repeat.")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Folder for sweep.csv, cost_curve.svg, report.html.")
@flow_options
def sweep_command(
    snapshot,
    vary,
    out,
    flow_file,
    days,
    runs,
    seed,
    policies,
    policy_time_limit,
    policy_work_limit,
    policy_threads,
    workers,
    scheduler,
):
    """Simulate at each point of a grid of capacity factors; write the cost table and curve to --out."""
    _writable_folder(out)
    began = dt.datetime.now(dt.timezone.utc)
    loaded = _load(snapshot)
    try:
        grid = parse_vary(list(vary))
        check_places(loaded)
        flow = read_flow(flow_file or Path(snapshot) / "flow.toml", loaded)
    except InputError as error:
        raise SnapshotProblem(error) from None
    flow = flow.with_options(
        days=days,
        runs=runs,
        seed=seed,
        policies=tuple(policies) or None,
        time_limit=policy_time_limit,
        work_limit=policy_work_limit,
        threads=policy_threads,
    )
    table = sweep(loaded, flow, grid, workers=workers, scheduler=scheduler, progress=None if _progress_shown() else False)
    write_folder(
        out,
        {
            "sweep.csv": safe_csv(table),
            "cost_curve.svg": cost_curve_svg(table),
            "report.html": render_sweep_report(table),
        },
    )
    _record("sweep", began, loaded, out=out, summary={"status": "done"})
    labels = point_labels(table)
    for row in table[table["cheapest"]].itertuples(index=False):
        click.echo(
            f"{row.policy:>10}: cheapest at {labels[row.point]}, total £{row.total_cost:,.0f} a run "
            f"({row.delayed_bed_days:,.0f} delayed bed-days)"
        )
    click.echo(f"Wrote {out / 'sweep.csv'}, {out / 'cost_curve.svg'}, {out / 'report.html'}")


# -- run history ------------------------------------------------------------------------


def _history_url() -> str | None:
    return click.get_current_context().find_root().params.get("db")


def _open_history() -> History:
    """The history for a history command; exit 2 with the reason when it cannot be opened."""
    try:
        return History(_history_url())
    except HistoryError as error:
        raise HistoryProblem(str(error)) from None
    except (sa_exc.SQLAlchemyError, OSError) as error:
        raise HistoryProblem(
            f"{shown(history_url(_history_url()))}: cannot be opened ({type(error).__name__}: {error})"
        ) from None


class HistoryProblem(click.ClickException):
    """A history command that cannot do what was asked: exit status 2 and why."""

    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"Error: {self.format_message()}", err=True)


def _record(command: str, started: dt.datetime, snapshot=None, out: Path | None = None, files=None, summary=None) -> None:
    """Record the run in the history (unless --no-history); a failure warns and changes nothing else."""
    context = click.get_current_context()
    root = context.find_root().params
    if root.get("no_history"):
        return
    try:
        written = dict(files or {})
        if out is not None:
            written.update(folder_files(out))
        placements, unplaced_rows = plan_rows(written) if "plan.csv" in written else (None, None)
        summary = summary or {}
        record = RunRecord(
            command=command,
            options={key: (str(value) if isinstance(value, Path) else value) for key, value in context.params.items()},
            started_at=started,
            ended_at=dt.datetime.now(dt.timezone.utc),
            files=written,
            snapshot_hash=None if snapshot is None else snapshot.content_hash,
            snapshot_source=None if snapshot is None else source_label(snapshot),
            snapshot_files={} if snapshot is None else snapshot_copy(snapshot, pseudonymised=bool(root.get("pseudonymise"))),
            out_dir=None if out is None else str(Path(out).resolve()),
            status=summary.get("status"),
            objective=summary.get("objective"),
            bound=summary.get("bound"),
            gap=summary.get("gap"),
            placed=summary.get("placed"),
            unplaced=summary.get("unplaced"),
            placements=placements,
            unplaced_rows=unplaced_rows,
        )
        with History(root.get("db")) as history:
            run_id = history.record(record)
    except Exception as error:  # locked, full disk, server down, no driver: the outputs stand
        click.echo(f"Warning: the run was not recorded in the history ({type(error).__name__}: {error}).", err=True)
        return
    if _progress_shown(bool(context.params.get("as_json"))):  # on a terminal; scripts ask `history list --json`
        click.echo(f"Recorded as run {run_id} (optimiser history show {run_id}).", err=True)


def _earlier_plan(keep: str):
    """--keep: an earlier plan folder, or ``last`` / a run id from the history."""
    if keep != "last" and (Path(keep).exists() or "/" in keep or os.sep in keep):  # a folder (run ids have no slash)
        return read_plan_placements(keep)
    with _open_history() as history:
        found = _run_of(history, keep, command="allocate", what=f"--keep {keep}: ")
        files = history.files(found.run_id)
    if "plan.csv" not in files:
        raise HistoryProblem(f"--keep {keep}: run {found.run_id} ({found.command}) wrote no plan.csv")
    return plan_placements(files["plan.csv"].decode("utf-8-sig"), f"run {found.run_id} plan.csv")


def _run_of(history: History, reference: str, command: str | None = None, what: str = ""):
    """The run a reference names; exit 2 saying why when none (or more than one) does."""
    try:
        return history.run(reference, command=command)
    except HistoryError as error:
        raise HistoryProblem(f"{what}{error}") from None


@main.group("history")
def history_group() -> None:
    """Recorded runs: list, show, diff, export (the database: --db, $OPTIMISER_DB, config, or the per-user file)."""


def _day(context, parameter, value):
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date; write YYYY-MM-DD") from None


@history_group.command("list")
@click.option("--since", callback=_day, help="Runs started on this date (UTC, YYYY-MM-DD) or later.")
@click.option("--until", callback=_day, help="Runs started on this date (UTC) or earlier.")
@click.option("--command", "command", type=click.Choice(RECORDED), default=None, help="Runs of one command.")
@click.option("--snapshot", default=None, help="Runs of the snapshot whose content hash starts so.")
@click.option(
    "--limit", type=click.IntRange(min=1), default=None, help="At most this many (newest first) [default: 20; all with --json]."
)
@click.option("--json", "as_json", is_flag=True, help="Print the records as JSON (each with its run_id).")
def history_list(since, until, command, snapshot, limit, as_json) -> None:
    """The recorded runs, newest first."""
    with _open_history() as history:
        runs = history.runs(
            since=since, until=until, command=command, snapshot=snapshot, limit=limit or (None if as_json else 20)
        )
    if as_json:
        click.echo(json.dumps([run.as_dict() for run in runs], indent=2))
        return
    if not runs:
        click.echo("No runs recorded" + (" that match." if any((since, until, command, snapshot)) else "."))
        return
    for run in runs:
        objective = "" if run.objective is None else f" objective {run.objective:,.6g}"
        placed = "" if run.placed is None else f" placed {run.placed}, unplaced {run.unplaced}"
        click.echo(
            f"{run.run_id}  {run.started_at[:19].replace('T', ' ')}  {run.command:<9} {run.status or '':<9}"
            f"{objective}{placed}  snapshot {(run.snapshot_hash or '')[:12]}"
        )


@history_group.command("show")
@click.argument("run_ref", metavar="RUN")
@click.option("--json", "as_json", is_flag=True, help="Print the record as JSON.")
def history_show(run_ref, as_json) -> None:
    """One run: what it was asked, what it found, the files it wrote (RUN: an id, its start, or last)."""
    with _open_history() as history:
        run = _run_of(history, run_ref)
        files = history.files(run.run_id)
        placements = history.placements(run.run_id)
        unplaced = history.unplaced(run.run_id)
        snapshot = history.snapshot_files(run.snapshot_hash) if run.snapshot_hash else {}
    document = {
        "run": run.as_dict(),
        "files": sorted(files),
        "placements": len(placements),
        "unplaced": len(unplaced),
        "snapshot_files": sorted(snapshot),
    }
    if as_json:
        click.echo(json.dumps(document, indent=2))
        return
    click.echo(
        f"Run {run.run_id}: {run.command}, {run.started_at} to {run.ended_at}, by {run.user_name or '?'} on {run.host or '?'}"
    )
    click.echo(f"  snapshot {run.snapshot_hash or '-'} from {run.snapshot_source or '-'}")
    if run.status is not None:
        gap = "n/a" if run.gap is None else f"{100 * run.gap:.3g}%"
        click.echo(
            f"  {run.status}: objective {run.objective}, bound {run.bound}, gap {gap}; placed {run.placed}, unplaced {run.unplaced}"
        )
    click.echo(f"  options: {json.dumps(run.options, sort_keys=True)}")
    click.echo(f"  wrote {', '.join(sorted(files)) or 'nothing'}" + (f" to {run.out_dir}" if run.out_dir else ""))


@history_group.command("diff")
@click.argument("first_ref", metavar="RUN_A")
@click.argument("second_ref", metavar="RUN_B")
@click.option("--json", "as_json", is_flag=True, help="Print the differences as JSON.")
def history_diff(first_ref, second_ref, as_json) -> None:
    """What changed from RUN_A's plan to RUN_B's: who moved, who was newly placed or left out."""
    with _open_history() as history:
        first, second = _run_of(history, first_ref), _run_of(history, second_ref)
        found = diff_runs(history, first, second)
    click.echo(json.dumps(found.as_dict(), indent=2) if as_json else found.to_text())


@history_group.command("export")
@click.argument("run_ref", metavar="RUN")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Folder to write the run's files to.")
def history_export(run_ref, out) -> None:
    """Write the files RUN wrote, byte for byte, to --out."""
    with _open_history() as history:
        run = _run_of(history, run_ref)
        files = history.files(run.run_id)
    if not files:
        raise HistoryProblem(f"run {run.run_id} ({run.command}) wrote no files")
    _writable_folder(out)
    write_folder(out, files)
    click.echo(f"Wrote {', '.join(str(out / name) for name in files)}")


@main.command()
@click.option("--xlsx", "xlsx", type=click.Path(path_type=Path, dir_okay=False), required=True, help="Workbook to write.")
@click.option("--force", is_flag=True, help="Replace the file if it exists.")
def template(xlsx: Path, force: bool) -> None:
    """Write an empty snapshot workbook to fill in by hand: a sheet per file with its header,
    a note on each column, drop-down lists, and the snapshot sheet (docs/snapshot.md)."""
    if xlsx.exists() and not force:
        raise click.UsageError(f"{xlsx} exists; give a new file, or --force to replace it")
    if xlsx.suffix.lower() != ".xlsx":
        raise click.UsageError(f"{xlsx}: give a file name ending .xlsx")
    _writable_folder(xlsx.parent if str(xlsx.parent) else Path("."))
    write_template(xlsx)
    click.echo(f"Wrote {xlsx}: fill in its sheets, then: optimiser allocate {xlsx} --out PLAN")


@main.group("ipacs")
def ipacs_group() -> None:
    """IPACS: run its workbook as IPACS does (compat) or as it means to (textbook), compare the two, convert it to patients.

    The workbook is IPACS_params.xlsx as analysts keep it (docs/ipacs.md)."""


WORKBOOK = click.argument("workbook", type=click.Path(path_type=Path))


def _workbook(path: Path):
    try:
        return read_workbook(path)
    except InputError as error:
        raise SnapshotProblem(error) from None


def _ipacs_options(command):
    options = [
        click.option("--runs", type=click.IntRange(min=1), default=50, show_default=True, help="Runs (seeds 1 .. N, as IPACS)."),
        click.option("--seed", type=click.IntRange(min=0), default=1, show_default=True, help="Seed of every run's streams."),
        click.option(
            "--workers", type=click.IntRange(min=0), default=None, help="Dask worker processes [default: one per core; 0: here]."
        ),
        click.option("--scheduler", default=None, help="Address of a running Dask scheduler, e.g. tcp://127.0.0.1:8786."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@ipacs_group.command("run")
@WORKBOOK
@click.option(
    "--out", type=click.Path(path_type=Path), required=True, help="Folder for IPACS's output files, ours and report.html."
)
@click.option(
    "--mode", type=click.Choice(MODES), default="textbook", show_default=True, help="compat: IPACS's numbers, quirks and all."
)
@click.option(
    "--scenario", "scenarios", multiple=True, help="Run only this scenario (e.g. P2_B_BCap_Blos_BArr); repeat for several."
)
@_ipacs_options
def ipacs_run_command(workbook, out, mode, scenarios, runs, seed, workers, scheduler):
    """Run every scenario of the workbook; write IPACS's output files (same layout) and ours to --out."""
    _writable_folder(out)
    book = _workbook(workbook)
    try:
        result = run_ipacs(book, runs, seed, mode, list(scenarios) or None, workers, scheduler)
    except InputError as error:
        raise SnapshotProblem(error) from None
    files = result.files()
    files["report.html"] = render_ipacs_report(result)
    write_folder(out, files)
    click.echo(f"{len(result.scenarios)} scenarios x {runs} runs, {mode} mode.")
    click.echo(f"Wrote {', '.join(str(out / name) for name in files)}")


@ipacs_group.command("compare")
@WORKBOOK
@click.option(
    "--out", type=click.Path(path_type=Path), required=True, help="Folder for differences.csv, cost_curves.csv, picks.csv."
)
@_ipacs_options
def ipacs_compare_command(workbook, out, runs, seed, workers, scheduler):
    """Both modes on the same streams: what IPACS's quirks do to each scenario and to the capacity a cost curve picks."""
    _writable_folder(out)
    book = _workbook(workbook)
    comparison = compare_ipacs(book, runs, seed, workers, scheduler)
    files = comparison.files()
    write_folder(out, files)
    for line in comparison.headlines():
        click.echo(line)
    click.echo(f"Wrote {', '.join(str(out / name) for name in files)}")


@ipacs_group.command("convert")
@WORKBOOK
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Folder for the snapshot and its flow.toml.")
@click.option("--scenario", default=None, help="CAPACITY_LOS_ARRIVALS of every node, e.g. BCap_Blos_BArr [default: the first].")
@click.option(
    "--travel-minutes",
    type=click.FloatRange(min=0),
    default=None,
    help="Let bed patients go to other places' services this many minutes away [default: own place only, as IPACS].",
)
@click.option("--runs", type=click.IntRange(min=1), default=20, show_default=True, help="Runs written to flow.toml.")
@click.option("--seed", type=click.IntRange(min=0), default=1, show_default=True, help="Seed written to flow.toml.")
def ipacs_convert_command(workbook, out, scenario, travel_minutes, runs, seed):
    """Write a patient-level snapshot and flow.toml for one scenario, for optimiser simulate."""
    _writable_folder(out)
    book = _workbook(workbook)
    try:
        files = converted_files(book, scenario, travel_minutes, runs, seed)
    except InputError as error:
        raise SnapshotProblem(error) from None
    write_folder(out, files)
    click.echo(f"Wrote {len(files)} files to {out}; run: optimiser simulate {out} --out SIM")


def simulation_summary(summary: dict) -> str:
    """A few lines a person reads: each policy's delayed bed-days and waits, and the paired difference."""

    def figure(interval: dict, digits: int = 0) -> str:
        if interval["low"] is None:
            return f"{interval['mean']:,.{digits}f}"
        return f"{interval['mean']:,.{digits}f} (95% {interval['low']:,.{digits}f} to {interval['high']:,.{digits}f})"

    lines = [f"{summary['runs']} runs of {summary['days']} days, seed {summary['seed']}."]
    for policy, figures in summary["policies"].items():
        lines.append(
            f"{policy:>10}: delayed bed-days {figure(figures['delayed_bed_days'])}; "
            f"wait mean {figures['mean_wait_days'] or 0:.1f} d, 95th percentile {figures['p95_wait_days'] or 0:.0f} d"
            + (
                f", longest of priority 3 {figures['longest_wait_days_by_priority']['3']['max']} d; "
                if "3" in figures.get("longest_wait_days_by_priority", {})
                else "; "
            )
            + f"{figures['seconds_per_day']:.2f} s a day"
            + (
                f"; {figures['interim_entries_per_run']:,.1f} interim entries a run, "
                f"{figures['interim_bed_days']['mean']:,.0f} days waited in interim beds"
                if "interim_bed_days" in figures
                else ""
            )
        )
    for pair in summary["paired_differences"]:
        first, second = pair["policies"]
        by = ", ".join(f"pathway {k} {pair['by_pathway'][k]['mean']:+,.0f}" for k in ("1", "2", "3"))
        lines.append(f"{first} - {second}: {figure(pair['delayed_bed_days_difference'])} delayed bed-days ({by}).")
    if "bound" in summary:
        bound = summary["bound"]
        lines.append(
            f"{'bound':>10}: delayed bed-days {figure(bound['delayed_bed_days'])} "
            f"(perfect information, {bound['method'].upper()}; no policy can do better on these runs)"
        )
        for policy, figures in bound["policies"].items():
            share = figures["gap_closed"]
            if share is None or share["mean"] is None or policy == "fifo":
                continue
            closed = f"{100 * share['mean']:.1f}%" + (
                f" (95% {100 * share['low']:.1f}% to {100 * share['high']:.1f}%)" if share["low"] is not None else ""
            )
            lines.append(f"{policy:>10}: closes {closed} of the fifo-to-bound gap")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
