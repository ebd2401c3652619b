"""``asfl check TRACE``: validate a trace and replay it against the model.

Exit status: 0 valid, 1 at least one violation, 2 unusable input."""

from __future__ import annotations

import json

import click

from asfl.checker.replay import Checker, Unusable
from asfl.checker.report import as_json, render, render_unusable
from asfl.cli_types import count, number


@click.command("check")
@click.argument("trace", type=click.Path(dir_okay=False))
@click.option("--json", "as_json_", is_flag=True, help="print the report as JSON")
@click.option(
    "--signatures",
    type=click.Choice(["all", "none"]),
    default="all",
    show_default=True,
    help="verify the Ed25519 signature of every honest send (I-4), or skip it",
)
@click.option("--no-signatures", is_flag=True, help="same as --signatures none")
@click.option(
    "--delta",
    type=number(0, 1, low_open=True, high_open=True),
    default=1e-5,
    show_default=True,
    help="delta for the privacy report, in (0, 1)",
)
@click.option(
    "--max-violations",
    type=count(1, 1_000_000),
    default=1000,
    show_default=True,
    help="stop replaying after this many violations (at least 1)",
)
@click.option("--no-z3", is_flag=True, help="skip the per-trace Z3 obligations (S-6, I-1, P-1)")
@click.option("-v", "--verbose", is_flag=True, help="per-client counts and every certificate")
def command(
    trace: str,
    as_json_: bool,
    signatures: str,
    no_signatures: bool,
    delta: float,
    max_violations: int,
    no_z3: bool,
    verbose: bool,
) -> int:
    """Check TRACE (JSON Lines, specs/trace.schema.json): schema, message flow,
    signatures, safety (S-*), privacy (P-*), integrity (I-*), fairness (F-*) and
    liveness (L-*) properties. Exit 0 valid, 1 violation, 2 unusable input."""
    if no_signatures:
        signatures = "none"
    checker = Checker(signatures=signatures, delta=delta, max_violations=max_violations, z3=not no_z3)
    try:
        rep = checker.check_file(trace)
    except OSError as e:
        click.echo(f"{trace}: unusable trace: {e.strerror}", err=True)
        return 2
    except Unusable as e:
        if as_json_:
            click.echo(
                json.dumps({"file": trace, "valid": None, "unusable": {"line": e.line, "message": e.message}})
            )
        else:
            click.echo(render_unusable(trace, e), err=True)
        return 2
    if as_json_:
        click.echo(json.dumps(as_json(rep), indent=1))
    else:
        click.echo(render(rep, verbose=verbose))
    return 0 if rep.ok else 1
