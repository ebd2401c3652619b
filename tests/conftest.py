"""Shared test configuration.

Hypothesis profiles: ``ci`` (default: deterministic, bounded) and ``deep`` (campaigns);
select with ``HYPOTHESIS_PROFILE=deep pytest ...``. Fixtures ``small_cfg`` and
``tiny_task``: a small valid configuration and a tiny task (2 features, 2 classes,
model dimension 6) that keep every simulated run well under a second; the protocol
logic does not depend on the dimension.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

from asfl.impl.config import ProtocolConfig
from asfl.impl.learning.data import Task

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("deep", max_examples=2000, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


SMALL = ProtocolConfig(n_clients=16, n_aggregators=4, t_a=1, t_c=1, q_min=2, rounds=2, batch_size=4)


def make_tiny_task() -> Task:
    rng = np.random.default_rng(0)
    x = rng.random((64, 2))
    y = (x[:, 0] > x[:, 1]).astype(np.int64)
    return Task(x, y, x[:16].copy(), y[:16].copy(), 2, 2, "tiny")


@pytest.fixture(scope="session")
def small_cfg() -> ProtocolConfig:
    return SMALL


@pytest.fixture(scope="session")
def tiny_task() -> Task:
    return make_tiny_task()
