"""Deliverable 6 of issue 9: ``asfl zoo`` writes its counterexamples where the user says
(default ``runs/zoo/`` under the working directory), never into the source tree unless
``--save-regressions`` asks for it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from asfl.cli import main

REPO = Path(__file__).resolve().parents[2]
CACHES = {".git", "__pycache__", ".mypy_cache", ".ruff_cache"}


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every file of the source tree with its size and modification time (not the
    top-level ``runs/``)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        # the top-level runs/ holds outputs (git-ignored), where other commands may be writing
        skip = CACHES | ({"runs"} if Path(dirpath) == root else set())
        dirnames[:] = [d for d in dirnames if d not in skip]
        for f in filenames:
            p = Path(dirpath) / f
            st = p.stat()
            out[str(p.relative_to(root))] = (st.st_size, st.st_mtime_ns)
    return out


def test_zoo_run_leaves_the_source_tree_untouched(tmp_path: Path) -> None:
    before = _tree(REPO)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    cmd = [sys.executable, "-m", "asfl", "zoo", "--bug", "release-twice", "--budget", "30", "--shrink", "0.5"]
    cmd += ["--jobs", "1", "--json", str(tmp_path / "zoo.json")]
    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "CAUGHT release-twice" in done.stdout
    saved = tmp_path / "runs" / "zoo" / "zoo-release-twice.json"
    assert saved.is_file()
    assert json.loads(saved.read_text(encoding="utf-8"))["bug"] == "release-twice"
    (result,) = json.loads((tmp_path / "zoo.json").read_text(encoding="utf-8"))
    assert result["corpus_file"] is None and Path(result["saved_file"]).name == saved.name
    assert _tree(REPO) == before, "asfl zoo wrote into the source tree"


def test_zoo_rejects_contradictory_save_flags(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["zoo", "--no-save", "--save-regressions"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--save-regressions" in err[0]
