"""Every zoo bug's snippet occurs exactly once in the implementation file it patches.

Regression: a change to ``impl/node.py`` (the ``once=`` argument of the envelope check)
left ``endorse-signature-skipped``'s snippet matching nothing, so its hunt raised
``PatchError`` instead of planting the bug."""

from __future__ import annotations

from pathlib import Path

import pytest

from asfl.harness.zoo import BUGS, patch_text

IMPL = Path(__file__).resolve().parents[2] / "impl"


@pytest.mark.parametrize("bug", BUGS, ids=lambda b: b.id)
def test_zoo_patch_applies(bug: object) -> None:
    text = (IMPL / bug.file).read_text(encoding="utf-8")  # type: ignore[attr-defined]
    assert patch_text(bug, text) != text  # type: ignore[arg-type]
