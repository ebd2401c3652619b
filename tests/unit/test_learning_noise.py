"""Tests for impl.learning.noise.add_noise, the one noise draw the client calls (D-9).

The calibration ``sigma_c = z C / sqrt(q_min)`` is checked on the noise the client node
actually adds, in tests/impl/test_noise_node.py.
"""

import numpy as np
import pytest

from asfl.impl.learning.noise import add_noise


def test_add_noise_new_array_reproducible_and_calibrated():
    v = np.arange(4, dtype=np.float64)
    v0 = v.copy()
    a = add_noise(v, 0.3, np.random.default_rng(7))
    b = add_noise(v, 0.3, np.random.default_rng(7))
    assert np.array_equal(v, v0) and a is not v and np.array_equal(a, b)
    assert np.array_equal(add_noise(v, 0.0, np.random.default_rng(0)), v)
    rng = np.random.default_rng(0)
    assert np.std(add_noise(np.zeros(20000), 0.5, rng)) == pytest.approx(0.5, rel=0.03)
    with pytest.raises(ValueError, match="std"):
        add_noise(v, -1.0, rng)
    with pytest.raises(ValueError, match="std"):
        add_noise(v, float("nan"), rng)
