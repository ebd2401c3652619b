"""``asfl report``, ``asfl replay --report`` and ``asfl explore --report``: exit codes,
where files go, and the checker's one-line error (exit 2) for malformed or truncated
traces."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from asfl.cli import main

REGRESSIONS = Path(__file__).resolve().parents[1] / "regressions"


def _embedded(page: Path) -> dict:
    blob = page.read_text().split('<script id="data" type="application/json">')[1].split("</script>")[0]
    return json.loads(blob.replace("<\\/", "</"))


def test_report_valid_trace_default_output(
    run_trace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["report", str(run_trace), "--no-signatures", "--no-z3"]) == 0
    out = tmp_path / "runs" / "reports" / "run.html"
    assert out.exists() and "report: runs/reports/run.html" in capsys.readouterr().out
    assert _embedded(out)["verdict"]["ok"] is True


def test_report_violation_and_shiviz(cex_trace: Path, tmp_path: Path) -> None:
    html, log = tmp_path / "x" / "cex.html", tmp_path / "cex.log"
    assert main(["report", str(cex_trace), "-o", str(html), "--shiviz", str(log), "--no-signatures"]) == 1
    assert _embedded(html)["verdict"]["findings"][0]["prop"] == "S-3"
    first = log.read_text().splitlines()[:2]
    assert first[0].startswith("#1 ") and json.loads(first[1].split(" ", 1)[1])


@pytest.mark.parametrize("case", ["bad json", "truncated", "schema", "missing", "binary"])
def test_report_unusable_trace(
    case: str, run_trace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = run_trace.read_text().splitlines()
    bad = tmp_path / "bad.jsonl"
    if case == "bad json":
        bad.write_text("\n".join(lines[:10] + ["{oops"] + lines[10:]) + "\n")
        want = f"{bad}:11: unusable trace: invalid JSON"
    elif case == "truncated":
        bad.write_text("\n".join(lines[:40]) + "\n" + lines[40][: len(lines[40]) // 2])
        want = f"{bad}:41: unusable trace: invalid JSON"
    elif case == "schema":
        ev = json.loads(lines[5])
        ev["seq"] = "five"
        bad.write_text("\n".join(lines[:5] + [json.dumps(ev)] + lines[6:]) + "\n")
        want = f"{bad}:6: unusable trace:"
    elif case == "binary":
        bad.write_bytes(b"\xff\xfe\x00garbage")
        want = f"{bad}:1: unusable trace: not UTF-8"
    else:
        want = f"{bad}: unusable trace: No such file or directory"
    out = tmp_path / "bad.html"
    assert main(["report", str(bad), "-o", str(out), "--no-signatures", "--no-z3"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(want), err
    assert not out.exists()


def test_explore_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "explore.html"
    code = main(["explore", "--bug", "double-release", "--max-seconds", "60", "--report", str(out)])
    assert code == 1 and out.exists() and out.with_suffix(".jsonl").exists()
    found = _embedded(out)["verdict"]["findings"]
    assert [f["source"] for f in found] == ["checker", "explorer"] and {f["prop"] for f in found} == {"S-3"}


def test_replay_report_clean_and_under_bug(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sched = REGRESSIONS / "zoo-release-twice.json"
    ok = tmp_path / "clean.html"
    assert main(["replay", str(sched), "--report", str(ok)]) == 0
    assert _embedded(ok)["verdict"]["ok"] is True
    bad = tmp_path / "bug.html"
    assert main(["replay", str(sched), "--bug", "--report", str(bad)]) == 1
    d = _embedded(bad)
    first = d["verdict"]["findings"][0]
    assert first["prop"] == "S-3" and first["seq"] is not None
    assert d["origin"] == "replay of zoo-release-twice.json against zoo bug release-twice"
    assert not (tmp_path / "bug.violations.json").exists()


def test_report_path_must_not_be_the_trace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sched = REGRESSIONS / "zoo-release-twice.json"
    assert main(["replay", str(sched), "--report", str(tmp_path / "r.jsonl")]) == 2
    assert main(["explore", "--report", str(tmp_path / "r.jsonl")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and all("name it .html" in ln for ln in err)
    assert not list(tmp_path.iterdir())
