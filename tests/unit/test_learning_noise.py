"""Tests for impl.learning.noise (Decision D-9)."""

import math

import numpy as np
import pytest

from asfl.impl.learning.noise import add_noise, client_noise_std


def test_client_noise_std_calibration():
    s = client_noise_std(1.2, 0.5, 9)
    assert s == pytest.approx(1.2 * 0.5 / 3)
    for q in (9, 10, 50):  # any sum of >= q_min clients gets std >= z*c
        assert s * math.sqrt(q) >= 1.2 * 0.5 - 1e-12
    assert client_noise_std(0.0, 1.0, 1) == 0.0


@pytest.mark.parametrize(
    ("args", "match"),
    [((-1.0, 1.0, 3), "noise_multiplier"), ((1.0, 0.0, 3), "clip"), ((1.0, 1.0, 0), "q_min")],
)
def test_client_noise_std_validation(args, match):
    with pytest.raises(ValueError, match=match):
        client_noise_std(*args)


def test_add_noise_new_array_reproducible_and_calibrated():
    v = np.arange(4, dtype=np.float64)
    v0 = v.copy()
    a = add_noise(v, 0.3, np.random.default_rng(7))
    b = add_noise(v, 0.3, np.random.default_rng(7))
    assert np.array_equal(v, v0) and a is not v and np.array_equal(a, b)
    assert np.array_equal(add_noise(v, 0.0, np.random.default_rng(0)), v)
    # the sum of q_min clients' noise has std close to z*c
    z, c, q_min = 1.0, 2.0, 16
    std = client_noise_std(z, c, q_min)
    rng = np.random.default_rng(0)
    total = sum(add_noise(np.zeros(20000), std, rng) for _ in range(q_min))
    assert np.std(total) == pytest.approx(z * c, rel=0.03)
    with pytest.raises(ValueError, match="std"):
        add_noise(v, -1.0, rng)
