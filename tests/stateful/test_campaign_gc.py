"""``campaign_gc`` (the collector's setting while a campaign runs) is restored when the
last of several nested or concurrent campaigns ends, also when one raises, and gives the
objects it froze back to the collector."""

from __future__ import annotations

import gc

import pytest

from asfl.harness.campaign import GC_THRESHOLD, campaign_gc


def test_campaign_gc_raises_the_threshold_and_restores_it() -> None:
    before = gc.get_threshold()
    with campaign_gc():
        assert gc.get_threshold()[0] == GC_THRESHOLD and gc.get_freeze_count() > 0
        with pytest.raises(RuntimeError), campaign_gc():
            raise RuntimeError("a failing inner campaign")
        assert gc.get_threshold()[0] == GC_THRESHOLD  # the outer one still runs
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
