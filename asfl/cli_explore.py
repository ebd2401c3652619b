"""``asfl explore``: exhaustive bounded exploration of a small configuration."""

from __future__ import annotations

import json
from pathlib import Path

import click

from asfl.cli_report import check_report_path
from asfl.cli_types import count, seconds
from asfl.model.emit import path_trace
from asfl.model.explore import Counterexample, explore
from asfl.model.params import BUGS, Params, validity_errors
from asfl.model.system import BEHAVIOURS

# The explorer is for small configurations; these bounds keep one state small, and the
# --max-states / --max-seconds budget bounds how many are visited.
MAX_AGGREGATORS = 16
MAX_CLIENTS = 64
MAX_ROUNDS = 16


def _ids(s: str) -> frozenset[int]:
    return frozenset(int(x) for x in s.split(",") if x.strip())


@click.command("explore")
@click.option("--aggregators", "n_a", type=count(1, MAX_AGGREGATORS), default=4, show_default=True)
@click.option("--t-a", "t_a", type=count(0, MAX_AGGREGATORS), default=1, show_default=True)
@click.option("--clients", "n_c", type=count(1, MAX_CLIENTS), default=8, show_default=True)
@click.option("--t-c", "t_c", type=count(0, MAX_CLIENTS), default=0, show_default=True)
@click.option("--q-min", "q_min", type=count(1, MAX_CLIENTS), default=2, show_default=True)
@click.option("--lead-bound", "B", type=count(0, MAX_ROUNDS), default=0, show_default=True)
@click.option("--rounds", "R", type=count(1, MAX_ROUNDS), default=1, show_default=True)
@click.option("--byzantine", default="0", show_default=True, help="Byzantine aggregator ids, e.g. 0 or 0,1")
@click.option("--crashed", default="", help="crashed client ids (silent from the start)")
@click.option(
    "--behaviour",
    default=",".join(BEHAVIOURS),
    show_default=True,
    help=f"Byzantine behaviours (comma list of {', '.join(BEHAVIOURS)}; 'silent' for none)",
)
@click.option(
    "--bug", type=click.Choice(BUGS), default="none", show_default=True, help="a deliberately broken variant"
)
@click.option("--max-states", type=count(1, 5_000_000), default=2_000_000, show_default=True)
@click.option("--max-seconds", type=seconds(), default=60.0, show_default=True)
@click.option("--no-por", is_flag=True, help="disable partial-order reduction (model/por.py)")
@click.option(
    "--symmetry", is_flag=True, help="symmetry reduction (fewer states, each costlier: see model/symmetry.py)"
)
@click.option("--all-violations", is_flag=True, help="keep exploring after the first violation")
@click.option("--json", "as_json", is_flag=True)
@click.option("--progress", is_flag=True)
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="write the first counterexample's HTML report here (and its trace next to it, as .jsonl)",
)
def command(
    n_a: int,
    t_a: int,
    n_c: int,
    t_c: int,
    q_min: int,
    B: int,
    R: int,
    byzantine: str,
    crashed: str,
    behaviour: str,
    bug: str,
    max_states: int,
    max_seconds: float,
    no_por: bool,
    symmetry: bool,
    all_violations: bool,
    as_json: bool,
    progress: bool,
    report: Path | None,
) -> int:
    """Breadth-first search of every interleaving of a small configuration: safety
    invariants on every state, deadlocks (L-3) and fair non-progress cycles, shortest
    counterexample. Exit 0 no violation, 1 violation, 2 bad configuration."""
    try:
        byz, crash = _ids(byzantine), _ids(crashed)
    except ValueError:
        hint = "--byzantine/--crashed"
        raise click.BadParameter("ids must be comma-separated integers", param_hint=hint) from None
    bh = frozenset() if behaviour in ("", "silent") else frozenset(behaviour.split(","))
    if not bh <= set(BEHAVIOURS):
        raise click.BadParameter(f"unknown behaviour in {behaviour!r}")
    p = Params(
        n_a=n_a, t_a=t_a, n_c=n_c, t_c=t_c, q_min=q_min, B=B, R=R, byzantine=byz, crashed=crash, bug=bug
    )
    check_report_path(report)
    errs = validity_errors(p)
    if any(not 0 <= j < n_a for j in byz) or any(not 0 <= i < n_c for i in crash):
        errs.append("a Byzantine or crashed id is out of range")
    if errs:
        raise click.UsageError("invalid configuration (R-1): " + "; ".join(errs))
    res = explore(
        p,
        behaviours=bh,
        max_states=max_states,
        max_seconds=max_seconds,
        por=not no_por,
        symmetry=symmetry,
        stop_at_first=not all_violations,
        progress=progress,
    )
    if as_json:
        out = res.summary()
        out["counterexamples"] = [v.render(p, res.behaviours) for v in res.violations]
        click.echo(json.dumps(out, indent=1))
    else:
        s = res.summary()
        click.echo(
            f"explored {s['states']} distinct states, {s['transitions']} transitions, depth {s['depth']}, "
            f"{s['seconds']} s ({s['states_per_second']} states/s); "
            + ("exhaustive" if res.exhaustive else "NOT exhaustive (bound or first violation reached)")
        )
        click.echo(
            f"terminal states {s['terminal_states']} (complete {s['complete_states']}, "
            f"deadlocked {s['deadlocks']}); non-trivial SCCs {s['nontrivial_sccs']}, "
            f"fair non-progress cycles {s['fair_non_progress_cycles']}"
        )
        click.echo("reductions: " + ", ".join(f"{k}={v}" for k, v in s["reductions"].items()))
        if not p.within_bounds:
            click.echo("faults exceed t_a/t_c: deadlocks are expected stalls, not L-3 violations")
        for v in res.violations:
            click.echo("\nVIOLATION " + v.render(p, res.behaviours))
        if res.ok:
            click.echo("no violation found")
    if report is not None:
        if res.ok:
            click.echo("no counterexample: no report written")
        elif _report(p, res.behaviours, res.violations[0], report) == 2:
            return 2
    return 0 if res.ok else 1


def _report(p: Params, behaviours: frozenset[str], cex: Counterexample, out: Path) -> int:
    """The counterexample as a trace (``model.emit.path_trace``), checked and reported;
    the explorer's verdict joins the checker's, at the path's last event."""
    from asfl.checker.html.data import Finding
    from asfl.cli_report import write

    status = "stalled" if cex.prop == "L-3" else "step_limit"
    events = path_trace(p, behaviours, cex.actions, status, f"explorer counterexample: {cex.prop}")
    trace = out.with_suffix(".jsonl")
    trace.parent.mkdir(parents=True, exist_ok=True)
    trace.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    last = events[-2]["seq"] if len(events) > 2 else None
    found = Finding(cex.prop, last, f"{cex.message} (after {len(cex.actions)} actions)", (), "explorer")
    origin = f"explorer counterexample, model bug {p.bug}" if p.bug != "none" else "explorer counterexample"
    return write(
        trace, out, signatures="none", title="asfl explore: counterexample", origin=origin, extra=[found]
    )
