"""``asfl explore``: exhaustive bounded exploration of a small configuration."""

from __future__ import annotations

import json

import click

from asfl.model.explore import explore
from asfl.model.params import BUGS, Params, validity_errors
from asfl.model.system import BEHAVIOURS


def _ids(s: str) -> frozenset[int]:
    return frozenset(int(x) for x in s.split(",") if x.strip())


@click.command("explore")
@click.option("--aggregators", "n_a", type=click.IntRange(1), default=4, show_default=True)
@click.option("--t-a", "t_a", type=click.IntRange(0), default=1, show_default=True)
@click.option("--clients", "n_c", type=click.IntRange(1), default=8, show_default=True)
@click.option("--t-c", "t_c", type=click.IntRange(0), default=0, show_default=True)
@click.option("--q-min", "q_min", type=click.IntRange(1), default=2, show_default=True)
@click.option("--lead-bound", "B", type=click.IntRange(0), default=0, show_default=True)
@click.option("--rounds", "R", type=click.IntRange(1), default=1, show_default=True)
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
@click.option("--max-states", type=int, default=2_000_000, show_default=True)
@click.option("--max-seconds", type=float, default=60.0, show_default=True)
@click.option("--no-por", is_flag=True, help="disable partial-order reduction (model/por.py)")
@click.option(
    "--symmetry", is_flag=True, help="symmetry reduction (fewer states, each costlier: see model/symmetry.py)"
)
@click.option("--all-violations", is_flag=True, help="keep exploring after the first violation")
@click.option("--json", "as_json", is_flag=True)
@click.option("--progress", is_flag=True)
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
) -> int:
    """Breadth-first search of every interleaving of a small configuration: safety
    invariants on every state, deadlocks (L-3) and fair non-progress cycles, shortest
    counterexample. Exit 0 no violation, 1 violation, 2 bad configuration."""
    try:
        byz, crash = _ids(byzantine), _ids(crashed)
    except ValueError:
        raise click.BadParameter("ids must be comma-separated integers") from None
    bh = frozenset() if behaviour in ("", "silent") else frozenset(behaviour.split(","))
    if not bh <= set(BEHAVIOURS):
        raise click.BadParameter(f"unknown behaviour in {behaviour!r}")
    p = Params(
        n_a=n_a, t_a=t_a, n_c=n_c, t_c=t_c, q_min=q_min, B=B, R=R, byzantine=byz, crashed=crash, bug=bug
    )
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
    return 0 if res.ok else 1
