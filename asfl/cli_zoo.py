"""``asfl zoo``: run the adversarial campaign against every bug of the bug zoo.

Each bug is a textual patch applied to a temporary copy of ``impl`` and searched for in
its own subprocess; the report says, per bug, whether it was caught, the time and the
number of examples to the first failure and the length of the shrunk counterexample,
which is written to ``--out`` (default ``runs/zoo/``) as ``zoo-<bug>.json`` after checking
that the correct implementation passes it; ``--save-regressions`` also saves it to the
regression corpus ``tests/regressions/`` (replayed by the default test run). Nothing is
written into the source tree otherwise. The shrinker keeps only candidates that fail the
bugged copy and pass the correct implementation; a counterexample the correct
implementation fails too is a real bug, reported (``REAL BUG``) and saved the same way as
``real-<bug>.json``. Exit status 1 if any bug is missed. A bug with a
focus (``harness.zoo.FOCUS``) gets three setups in four from it and its search family (``--no-focus``: none).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import click

from asfl.cli_types import SEED, count, seconds, writable_dir, writable_file, writing


@click.command("zoo")
@click.option("--bug", "bugs", multiple=True, help="Only this bug (repeatable); default all.")
@click.option(
    "--strategy",
    type=click.Choice(["stateful", "random", "pct", "targeted"]),
    default="stateful",
    show_default=True,
    help="Search strategy.",
)
@click.option(
    "--budget",
    type=seconds(),
    default=60.0,
    show_default=True,
    help="Seconds of search per bug before it counts as missed.",
)
@click.option(
    "--shrink",
    "shrink_s",
    type=seconds(allow_zero=True),
    default=40.0,
    show_default=True,
    help="CPU seconds of second-stage shrinking per counterexample (the shrinker's and its "
    "correct-implementation oracle's), so that witnesses do not depend on the machine's load; "
    "half as much again for order-only candidates when a witness is still over 20 actions.",
)
@click.option("--jobs", type=count(1, 64), default=2, show_default=True, help="Bugs searched in parallel.")
@click.option(
    "--seed",
    type=SEED,
    default=0,
    show_default=True,
    help="Hypothesis seed; also added to every drawn setup's simulation seed, so that "
    "seeds differ from the first example on.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("runs/zoo"),
    show_default=True,
    help="Directory the counterexamples are written to.",
)
@click.option("--no-save", is_flag=True, help="Write no counterexample at all.")
@click.option(
    "--save-regressions",
    is_flag=True,
    help="Also save each counterexample to tests/regressions/ (the replayed corpus).",
)
@click.option(
    "--json",
    "json_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the results as JSON.",
)
@click.option(
    "--no-focus",
    is_flag=True,
    help="Draw every setup from all configurations (by default 3 in 4 come from the bug's focus).",
)
@click.option("--list", "list_only", is_flag=True, help="List the bugs and exit.")
def command(
    bugs: tuple[str, ...],
    strategy: str,
    budget: float,
    shrink_s: float,
    jobs: int,
    seed: int,
    out_dir: Path,
    no_save: bool,
    save_regressions: bool,
    json_out: Path | None,
    no_focus: bool,
    list_only: bool,
) -> int:
    """Hunt every zoo bug with the campaign; report caught/missed and counterexamples."""
    from asfl.harness.zoo import BUGS, BY_ID, PatchError, check_patches, hunt

    if list_only:
        for b in BUGS:
            click.echo(f"{b.id:<30} impl/{b.file:<14} {b.breaks:<12} {b.what}")
        return 0
    unknown = [b for b in bugs if b not in BY_ID]
    if unknown:
        raise click.UsageError(f"unknown bug(s) {unknown}; see `asfl zoo --list`")
    if json_out is not None:
        writable_file(json_out)
    if no_save and save_regressions:
        raise click.UsageError("--no-save and --save-regressions contradict each other")
    if not no_save:
        writable_dir(out_dir)
    chosen = [BY_ID[b] for b in bugs] if bugs else list(BUGS)
    try:
        check_patches(tuple(chosen))
    except PatchError as exc:
        raise click.ClickException(str(exc)) from None

    def one(bug):  # noqa: ANN001, ANN202
        try:
            return hunt(
                bug,
                strategy,
                budget_s=budget,
                seed=seed,
                shrink_budget_s=shrink_s,
                out_dir=None if no_save else out_dir,
                save_regression=save_regressions and not no_save,
                directed=not no_focus,
            ).to_json()
        except Exception as exc:  # noqa: BLE001 - report and go on with the other bugs
            return {"bug": bug.id, "caught": False, "error": str(exc)[-500:]}

    click.echo(f"zoo: {len(chosen)} bugs, strategy {strategy}, {budget:.0f} s each, {jobs} jobs")
    results = []
    with ThreadPoolExecutor(jobs) as pool:
        for r in pool.map(one, chosen):
            results.append(r)
            v = r.get("violation") or {}
            if r.get("caught") and not r.get("error"):
                click.echo(
                    f"  CAUGHT {r['bug']:<30} first failure {r['time_to_first']:>6.2f} s "
                    f"after {r['examples_to_first']:>4} examples; counterexample "
                    f"{r['raw_length']} -> {r['shrunk_length']} scheduled actions; {v.get('prop')}: "
                    f"{v.get('message', '')[:70]}"
                    + (f"; saved {r['saved_file']}" if r.get("saved_file") else "")
                )
            elif r.get("real_bug_file"):
                click.echo(f"  REAL BUG {r['bug']:<28} {r['error']}; saved {r['real_bug_file']}")
            else:
                click.echo(f"  MISSED {r['bug']:<30} {r.get('error') or ''}")
    caught = sum(1 for r in results if r.get("caught") and not r.get("error"))
    click.echo(f"caught {caught} of {len(results)}")
    if json_out is not None:
        with writing(json_out):
            json_out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0 if caught == len(results) else 1
