"""The command-line contract of every subcommand (issue 13).

Every numeric flag of every subcommand has a bounded, finite type from asfl/cli_types.py;
Hypothesis drives each one with generated bad values (out of range, huge, ``nan``, ``inf``,
not a number) and each must end in one line on stderr, exit code 2, no traceback, quickly.
Unwritable and full outputs are one line too, and the budget flags are honoured.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asfl.cli import cli, main
from asfl.cli_types import Finite
from asfl.harness.world import SETUP_BOUNDS

ROOT = Path(__file__).resolve().parents[1]

FAST = 5.0  # seconds: a rejected flag is rejected before any work starts

# positional arguments a subcommand needs before its flags are looked at
POSITIONAL = {"check": ["trace.jsonl"], "experiment": ["noise"], "replay": ["schedule.json"]}


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # default outputs are relative: keep them out of the repo


def invoke(argv: list[str]) -> tuple[int, str, str, float]:
    """Run ``asfl argv`` in-process: exit code, stdout, stderr, seconds."""
    out, err = io.StringIO(), io.StringIO()
    t0 = time.monotonic()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue(), time.monotonic() - t0


def assert_one_line_exit_2(argv: list[str], needle: str | None = None, bound: float = FAST) -> str:
    code, _, err, seconds = invoke(argv)
    lines = err.splitlines()
    assert code == 2, (argv, code, err)
    assert len(lines) == 1 and lines[0].strip(), (argv, err)
    assert "Traceback" not in err and "error" in lines[0], (argv, err)
    assert seconds < bound, (argv, seconds)
    if needle is not None:
        assert needle in lines[0], (argv, lines[0])
    return lines[0]


def numeric_options() -> list[tuple[str, click.Option]]:
    """Every ``(subcommand, option)`` whose value is a number."""
    found = []
    for name, command in sorted(cli.commands.items()):
        for param in command.params:
            if isinstance(param, click.Option) and isinstance(param.type, click.types._NumberParamTypeBase):
                found.append((name, param))
    return found


OPTIONS = numeric_options()


def test_every_numeric_flag_is_bounded() -> None:
    """CLI contract (R-1 reporting, no S/P/I/L/F property): every numeric flag of every
    subcommand is a range with both ends and, for floats, finite: no flag is unbounded."""
    assert len({name for name, _ in OPTIONS}) >= 6 and len(OPTIONS) >= 30, OPTIONS
    loose = []
    for name, opt in OPTIONS:
        t = opt.type
        bounded = isinstance(t, click.IntRange | Finite) and t.min is not None and t.max is not None
        if not bounded or (isinstance(t, click.FloatRange) and not isinstance(t, Finite)):
            loose.append(f"{name} {opt.opts[0]}: {t!r}")
    assert loose == []


def bad_values(t: click.IntRange | Finite) -> st.SearchStrategy[str]:
    """Values ``t`` must refuse: outside its range (huge included), non-finite, not a number."""
    lo, hi = t.min, t.max
    assert lo is not None and hi is not None
    junk = st.sampled_from(["nan", "inf", "-inf", "1e999", "", "x", "0x10", "--", "1,2"])
    if isinstance(t, Finite):
        below = st.floats(max_value=lo, allow_nan=False, exclude_max=not t.min_open)
        above = st.floats(min_value=hi, allow_nan=False, exclude_min=not t.max_open)
        return st.one_of(junk, below.map(repr), above.map(repr))
    below_i = st.integers(max_value=lo - 1) | st.integers(max_value=-(10**30))
    above_i = st.integers(min_value=hi + 1) | st.integers(min_value=10**30)
    return st.one_of(junk, st.sampled_from(["1.5", "nan"]), below_i.map(str), above_i.map(str))


@pytest.mark.parametrize("name,opt", OPTIONS, ids=[f"{n}{o.opts[0]}" for n, o in OPTIONS])
@settings(max_examples=12)
@given(data=st.data())
def test_bad_numeric_values_are_one_line_and_exit_2(
    name: str, opt: click.Option, data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """CLI contract (R-1 reporting, no S/P/I/L/F property): a generated bad value of any
    numeric flag of any subcommand is one line on stderr naming the flag, exit 2, no
    traceback, within seconds (nothing starts)."""
    assert isinstance(opt.type, click.IntRange | Finite)
    value = data.draw(bad_values(opt.type), label=opt.opts[0])
    flag = opt.opts[0]
    argv = [name, *POSITIONAL.get(name, []), f"{flag}={value}"]
    line = assert_one_line_exit_2(argv)
    assert flag in line or any(o in line for o in opt.opts), line


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["prove", "--aggregators", "3", "--byzantine", "3"], "--byzantine"),
        (["prove", "--aggregators", "4"], "--byzantine"),
        (["explore", "--byzantine", "x"], "--byzantine"),
        (["explore", "--byzantine", "9"], "out of range"),
        (["explore", "--aggregators", "3", "--t-a", "1"], "R-1"),
        (["experiment", "noise", "--seeds", "1,-2"], "--seeds"),
        (["experiment", "noise", "--values", "0.1,nan"], "--values"),
        (["experiment", "noise", "--seeds", ",".join(["1"] * 100)], "--seeds"),
        (["run", "--noise-multiplier", "1e5"], "noise multiplier"),
        (["zoo", "--bug", "no-such-bug"], "no-such-bug"),
        (["replay", "/"], "/"),
    ],
)
def test_bad_combinations_are_one_line_and_exit_2(argv: list[str], needle: str) -> None:
    """CLI contract (R-1 reporting): values each in range but wrong together, lists with a
    bad item, and no misleading advice (the frac_bits hint names the noise multiplier first)."""
    assert_one_line_exit_2(argv, needle)


@pytest.mark.parametrize(
    "argv,path",
    [
        (["run", "--clients", "8", "--aggregators", "1", "--rounds", "1", "--trace"], "/dev/full"),
        (["run", "--trace"], "/proc/no/such/dir/t.jsonl"),
        (["experiment", "noise", "--rounds", "1", "--out"], "/proc/no-such-dir"),
        (["zoo", "--bug", "release-twice", "--json"], "/proc/no/such.json"),
    ],
)
def test_unwritable_or_full_outputs_are_one_line(argv: list[str], path: str) -> None:
    """CLI contract (R-16 reporting): an output that cannot be created or whose device is
    full is one line naming it, exit 2 (the run on /dev/full is tiny and stops at the first
    flush)."""
    if path == "/dev/full" and not Path(path).exists():
        pytest.skip("no /dev/full here")
    extra = ["--byzantine", "0", "--crashed", "0"] if path == "/dev/full" else []
    assert_one_line_exit_2([*argv, path, *extra], path, bound=60.0)


def test_explore_honours_its_time_budget() -> None:
    """CLI contract (budget flags): the largest configuration explore accepts stops within
    --max-seconds and a small margin, and says it was not exhaustive."""
    argv = ["explore", "--clients", "64", "--aggregators", "16", "--t-a", "5", "--rounds", "16"]
    code, out, _, seconds = invoke([*argv, "--max-seconds", "1"])
    assert code == 0 and "NOT exhaustive" in out
    assert seconds < 1 + 3.0, seconds


def test_fuzz_honours_its_time_budget() -> None:
    """CLI contract (budget flags): fuzz stops within --minutes and the length of one
    example (a whole simulated run), and reports what it covered."""
    code, out, _, seconds = invoke(["fuzz", "--minutes", "0.02", "--strategy", "random", "--seed", "1"])
    assert code == 0 and "examples" in out and "0 failures" in out
    assert seconds < 0.02 * 60 + 10.0, seconds


def test_entry_point_keeps_the_contract_in_a_subprocess(tmp_path: Path) -> None:
    """CLI contract: ``python -m asfl`` itself (not only ``main``) exits 2 with one line for a
    bad value (``fuzz --minutes inf`` used to run forever)."""
    proc = subprocess.run(
        [sys.executable, "-m", "asfl", "fuzz", "--minutes", "inf"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc
    assert len(proc.stderr.splitlines()) == 1 and "--minutes" in proc.stderr, proc.stderr


REGRESSION = ROOT / "tests" / "regressions" / "zoo-release-twice.json"


@pytest.mark.parametrize("field", sorted(SETUP_BOUNDS))
@settings(max_examples=8)
@given(data=st.data())
def test_bad_schedule_files_are_one_line_and_exit_2(
    field: str, data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """CLI contract (R-1 reporting): ``replay`` of a schedule whose setup has a generated bad
    field (out of range, huge, wrong type) is one line naming the file, exit 2, quickly (a
    huge round count used to run for minutes)."""
    low, high = SETUP_BOUNDS[field]
    bad = data.draw(
        st.one_of(
            st.integers(max_value=low - 1),
            st.integers(min_value=high + 1),
            st.sampled_from([None, "1", 1.5, True, [1], {}]),
        ),
        label=field,
    )
    sched = json.loads(REGRESSION.read_text(encoding="utf-8"))
    sched["setup"][field] = bad
    path = tmp_path_factory.mktemp("sched") / "bad.json"
    path.write_text(json.dumps(sched), encoding="utf-8")
    assert_one_line_exit_2(["replay", str(path)], str(path))
