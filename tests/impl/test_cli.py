"""The ``asfl`` command line (R-1 reporting, R-16 stall reporting, the CLI error contract).

Every user error ends in exactly one line on stderr and exit code 2; a complete run exits
0 and writes its trace; a run that cannot progress exits 1 and says so.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from asfl.cli import main

TINY = ["--clients", "16", "--rounds", "1"]


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the default trace path is relative: keep it out of the repo


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["run", "--bogus"], "--bogus"),
        (["--bogus"], "--bogus"),
        (["run", "--behaviour", "nope"], "nope"),
        (["run", "--clients", "zero"], "zero"),
        (["run", "--rounds", "0"], "--rounds"),
        (["nosuchcommand"], "nosuchcommand"),
    ],
)
def test_bad_flag_is_one_line_and_exit_2(
    argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """R-1 reporting (CLI contract, no S/P/I/L/F property); CLI contract (R-1 reporting): a bad
    flag, value or command exits 2 with exactly one line on stderr naming the offending input, never
    a traceback."""
    assert main(argv) == 2
    line = one_error_line(capsys)
    assert needle in line and "error" in line


@pytest.mark.parametrize(
    "argv,condition",
    [
        (["--aggregators", "3", "--t-a", "1"], "n_a >= 3 t_a + 1"),
        (["--q-min", "9"], "q_min <= k_min - t_c"),
        (["--clients", "7"], "at least 2 clients per cluster"),
        (["--clients", "16", "--t-c", "3"], "q_min <= k_min - t_c"),
        (["--byzantine", "5"], "--byzantine 5 exceeds --aggregators 4"),
    ],
)
def test_invalid_configuration_names_the_condition(
    argv: list[str], condition: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """S-6, S-5, L-1 (their R-1 preconditions), R-1: an invalid configuration starts no node: exit 2
    and one line naming the violated condition."""
    assert main(["run", *argv]) == 2
    line = one_error_line(capsys)
    assert condition in line
    assert not Path("runs").exists()  # nothing ran, no trace written


def test_unusable_trace_path_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """R-16 reporting (CLI contract, no S/P/I/L/F property); CLI contract (regression): a trace path
    that cannot be created (its parent is a file) is a one-line error with exit 2, not a
    traceback."""
    (tmp_path / "afile").write_text("x")
    assert main(["run", *TINY, "--trace", str(tmp_path / "afile" / "t.jsonl")]) == 2
    line = one_error_line(capsys)
    assert "afile" in line


def test_tiny_run_completes_and_writes_its_trace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """L-1, L-2, spec §9: a tiny valid run exits 0, reports completion and writes a trace
    that starts with the header and ends with a complete end event."""
    trace = tmp_path / "out" / "t.jsonl"
    assert main(["run", *TINY, "--trace", str(trace), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["status"] == "complete"
    assert Path(summary["trace"]) == trace and trace.exists()
    lines = trace.read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0])["kind"] == "header"
    end = json.loads(lines[-1])
    assert end["kind"] == "end" and end["status"] == "complete"


def test_human_summary_of_a_complete_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """L-1, F-3: the human-readable summary reports the status, every honest aggregator's
    rounds, inclusion counts and privacy spent."""
    assert (
        main(["run", *TINY, "--trace", str(tmp_path / "t.jsonl"), "--byzantine", "0", "--crashed", "0"]) == 0
    )
    out = " ".join(capsys.readouterr().out.split())
    assert "status: complete" in out
    assert "1/1" in out and "inclusion counts per client" in out and "epsilon" in out


def test_too_many_byzantine_exits_1_and_says_it_cannot_progress(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """L-3, R-16: with more Byzantine aggregators than t_a the run stalls: exit 1, and the
    output says it cannot progress, where it is stuck and that t_a is exceeded."""
    trace = tmp_path / "stall.jsonl"
    code = main(["run", *TINY, "--byzantine", "2", "--behaviour", "silent", "--trace", str(trace)])
    assert code == 1
    out = " ".join(capsys.readouterr().out.split())  # rich wraps long lines
    assert "status: stalled" in out and "cannot progress" in out
    assert "stuck in round 0" in out and "exceed t_a = 1" in out
    end = json.loads(trace.read_text(encoding="utf-8").splitlines()[-1])
    assert end["status"] == "stalled"


def test_inclusion_counts_are_listed_per_client_only_for_small_runs() -> None:
    """D-10: a small run lists every client's inclusion count; a large one says how many
    clients have each count (10,000 entries would bury the summary)."""
    from asfl.cli_run import LIST_LIMIT, inclusion_line

    small = {i: 3 for i in range(LIST_LIMIT)}
    assert inclusion_line(small).startswith("inclusion counts per client: C0:3, C1:3")
    large = {i: (19 if i % 10 else 18) for i in range(1000)}
    large[7] = 0
    line = inclusion_line(large)
    assert line == (
        "inclusion counts (1000 clients; per client with --json): "
        "1 client at 0, 100 clients at 18, 899 clients at 19"
    )
