"""``asfl prove``: the Z3 obligations of specs/properties.md, each with its ID and time."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

import click

from asfl.checker.proofs import (
    ProofResult,
    check_honest_in_decoding_set,
    check_quorum_sizes,
    decoding_correct,
    format_results,
    prove_all,
    prove_quorum_intersection,
)
from asfl.cli_types import count

MAX_AGGREGATORS = 64  # the explicit-set encodings grow with n_a; Z3 timeouts bound each query


def for_sizes(n_a: int, t_a: int) -> Iterator[ProofResult]:
    """The obligations that depend on ``(n_a, t_a)``: S-6 and I-1 at these sizes."""
    yield check_quorum_sizes(n_a, t_a)
    yield prove_quorum_intersection(n_a, t_a)
    yield check_honest_in_decoding_set(n_a, t_a)
    yield decoding_correct(n_a, t_a)


def _report(results: Iterable[ProofResult], as_json: bool) -> int:
    done = list(results)
    if as_json:
        click.echo(json.dumps([r.__dict__ for r in done], default=str, indent=1))
    else:
        click.echo(format_results(done))
        for r in done:
            if r.status != "proved":
                click.echo(f"\n{r.prop_id} {r.status}: {r.title} {r.params}")
                if r.counterexample is not None:
                    click.echo(f"  counterexample: {json.dumps(r.counterexample, default=str)}")
                if r.detail:
                    click.echo(f"  {r.detail}")
    return 0 if all(r.status == "proved" for r in done) else 1


@click.command("prove")
@click.option(
    "--aggregators",
    "n_a",
    type=count(1, MAX_AGGREGATORS),
    default=None,
    help="prove S-6 and I-1 at this n_a only (with --byzantine)",
)
@click.option(
    "--byzantine", "t_a", type=count(0, MAX_AGGREGATORS), default=None, help="t_a for --aggregators"
)
@click.option("--full", is_flag=True, help="the full parameter ranges (minutes) instead of the quick ones")
@click.option("--json", "as_json", is_flag=True, help="results as JSON")
def command(n_a: int | None, t_a: int | None, full: bool, as_json: bool) -> int:
    """Run the Z3 obligations; exit 0 if all are proved, 1 if any is refuted or unknown.

    With --aggregators N --byzantine T, only the obligations at those sizes run: for
    N <= 3T they are refuted and a counterexample (two quorums and a Byzantine set
    with no honest aggregator in common) is printed.
    """
    if (n_a is None) != (t_a is None):
        raise click.UsageError("--aggregators and --byzantine go together")
    if n_a is not None and t_a is not None:
        if t_a >= n_a:
            raise click.BadParameter(f"{t_a} is not below --aggregators {n_a}", param_hint="--byzantine")
        return _report(for_sizes(n_a, t_a), as_json)
    return _report(prove_all(quick=not full), as_json)
