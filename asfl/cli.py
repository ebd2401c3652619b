"""The ``asfl`` command line: a thin composition root over impl/, model/ and checker/.

Every error a user can cause (a bad flag, an invalid configuration, an unusable
file) ends in one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import sys

import click

from asfl import (
    cli_check,
    cli_deploy,
    cli_experiment,
    cli_explore,
    cli_fuzz,
    cli_keygen,
    cli_merge,
    cli_node,
    cli_prove,
    cli_replay,
    cli_report,
    cli_run,
    cli_zoo,
)

COMMANDS = [
    cli_run.command,
    cli_deploy.command,
    cli_keygen.command,
    cli_node.command,
    cli_merge.command,
    cli_check.command,
    cli_explore.command,
    cli_prove.command,
    cli_replay.command,
    cli_report.command,
    cli_zoo.command,
    cli_fuzz.command,
    cli_experiment.command,
]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="asfl")
def cli() -> None:
    """asfl: asynchronous secure federated learning with Byzantine aggregators.

    Run the protocol (`asfl run`), check a trace (`asfl check`), explore the model
    (`asfl explore`), prove its invariants (`asfl prove`).
    """


for _command in COMMANDS:
    cli.add_command(_command)


def main(argv: list[str] | None = None) -> int:
    """Entry point: turns every usage error into one line and exit code 2."""
    try:
        result = cli.main(args=argv, prog_name="asfl", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("asfl: aborted", err=True)
        return 130
    except click.ClickException as exc:
        ctx = getattr(exc, "ctx", None)
        where = ctx.command_path if ctx is not None else "asfl"
        click.echo(f"{where}: error: {exc.format_message()}", err=True)
        return 2
    except OSError as exc:  # a file the environment refuses (no command should let one through)
        name = f"{exc.filename}: " if exc.filename else ""
        click.echo(f"asfl: error: {name}{exc.strerror or exc}", err=True)
        return 2
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
