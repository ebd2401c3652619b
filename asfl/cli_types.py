"""The parameter types every subcommand shares: the command-line contract in one place.

Every numeric flag is finite, in range and bounded (so that no flag makes a command
allocate past memory or run past its budget); every output path is checked before the
work starts and every failed write becomes one line. Each violation is a
:class:`click.BadParameter` or :class:`click.ClickException`, which ``asfl.cli.main``
prints as one line on stderr with exit code 2.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

MAX_SEED = 2**63 - 1
DAY_SECONDS = 24 * 3600.0


class Finite(click.FloatRange):
    """A float range that also refuses ``nan`` and ``inf`` (no comparison fails on ``nan``)."""

    name = "number"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return super().convert(number, param, ctx)


def count(low: int, high: int) -> click.IntRange:
    """An integer in ``[low, high]``."""
    return click.IntRange(low, high)


def number(low: float, high: float, *, low_open: bool = False, high_open: bool = False) -> Finite:
    """A finite float in ``[low, high]`` (either end open if asked)."""
    return Finite(low, high, min_open=low_open, max_open=high_open)


def seconds(high: float = DAY_SECONDS, *, allow_zero: bool = False) -> Finite:
    """A time budget: finite, positive (or zero if allowed), at most ``high`` seconds."""
    return Finite(0.0, high, min_open=not allow_zero)


SEED = count(0, MAX_SEED)


def parse_list(text: str | None, kind: click.ParamType, flag: str, *, most: int = 64) -> list[Any] | None:
    """A comma-separated list of ``kind`` values (at most ``most``), or ``None`` if empty."""
    if not text:
        return None
    items = [x.strip() for x in text.split(",")]
    if len(items) > most:
        raise click.BadParameter(f"at most {most} values, got {len(items)}", param_hint=flag)
    out = []
    for item in items:
        try:
            out.append(kind.convert(item, None, None))
        except click.BadParameter as exc:
            raise click.BadParameter(f"{item!r}: {exc.message}", param_hint=flag) from None
    return out


class OutputError(click.ClickException):
    """An output path cannot be created or written: one line naming it."""

    exit_code = 2

    def __init__(self, path: Path | str, exc: OSError) -> None:
        super().__init__(f"{path}: cannot write: {exc.strerror or exc}")
        self.ctx = click.get_current_context(silent=True)  # names the command in the message


def writable_file(path: Path) -> Path:
    """Create ``path``'s directory and check the file can be opened for writing (before the work)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            raise IsADirectoryError(21, "is a directory")
        with path.open("a"):
            pass
    except OSError as exc:
        raise OutputError(path, exc) from None
    return path


def writable_dir(path: Path) -> Path:
    """Create directory ``path`` and check a file can be written in it (before the work)."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path, prefix=".asfl-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(path, exc) from None
    return path


@contextmanager
def writing(path: Path | str) -> Iterator[None]:
    """Turn a failed write to ``path`` (full disk, lost permission) into one :class:`OutputError`."""
    try:
        yield
    except OSError as exc:
        raise OutputError(path, exc) from None
