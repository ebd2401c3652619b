"""Rule names (R-13): parsing, composition, validation and their use by the protocol."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from asfl.impl.certify import next_model
from asfl.impl.config import RULES, ConfigError, ProtocolConfig
from asfl.impl.learning import robust


def _X(n=5, d=3, seed=0):
    X = np.random.default_rng(seed).normal(size=(n, d))
    X.flags.writeable = False
    return X


def test_composed_names_are_composition():
    X = _X(7)
    got = robust.get_aggregator("nnm+trimmed_mean")(X, 2)
    np.testing.assert_array_equal(got, robust.trimmed_mean(robust.nnm(X, 2), 2))
    got = robust.get_aggregator("clip(0.5)+bucketing(2)+krum")(X, 1)
    want = robust.krum(robust.bucketing(robust.clipping(X, 1, c=0.5), 1, s=2), 1)
    np.testing.assert_array_equal(got, want)
    assert robust.get_aggregator("nnm+krum") is robust.get_aggregator("nnm+krum")  # cached


def test_compose_function():
    X = _X(6)
    rule = robust.compose([robust.nnm, robust.nnm], robust.coordinate_median)
    want = robust.coordinate_median(robust.nnm(robust.nnm(X, 1), 1), 1)
    np.testing.assert_array_equal(rule(X, 1), want)


@pytest.mark.parametrize(
    "name, message",
    [
        ("krumm", "unknown aggregator"),
        ("foo+krum", "unknown pre-aggregator"),
        ("nnm(3)+krum", "takes no parameter"),
        ("bucketing(2.5)+krum", "integer parameter"),
        ("krum+nnm", "unknown aggregator"),
    ],
)
def test_bad_names(name, message):
    with pytest.raises(ValueError, match=message):
        robust.get_aggregator(name)


def test_check_rule_catches_impossible_sizes():
    assert robust.check_rule("trimmed_mean", 3, 4, 1) is None
    assert "cannot aggregate 3" in robust.check_rule("bucketing+trimmed_mean", 3, 4, 1)
    assert robust.check_rule("bucketing+trimmed_mean", 10, 13, 1) is None
    assert "unknown" in robust.check_rule("nope", 3, 4, 1)


def test_config_accepts_composed_rules_and_rejects_impossible_ones():
    base = ProtocolConfig()
    for rule in RULES:
        replace(base, rule=rule).validate()
    replace(base, rule="clip(1.5)+nnm+geometric_median").validate()
    with pytest.raises(ConfigError, match="aggregation rule"):
        replace(base, rule="bucketing+krum").validate()  # 3..4 results -> 2 buckets <= 2 t_a
    with pytest.raises(ConfigError, match="aggregation rule"):
        replace(base, rule="median").validate()


@pytest.mark.parametrize("rule", RULES)
def test_next_model_is_deterministic_for_every_rule(rule):
    """A client recomputes the model bit for bit (R-15d), in any process."""
    cfg = replace(ProtocolConfig(), rule=rule, dim=5)
    prev = np.arange(5.0)
    means = list(_X(4, 5, seed=1))
    a, b = next_model(cfg, prev, means), next_model(cfg, prev.copy(), [m.copy() for m in means])
    assert np.array_equal(a, b)


def test_kappa_values():
    # Allouah et al. 2023, Table 1, at n = 10, f = 2 (f / (n - 2f) = 1/3)
    assert robust.kappa("trimmed_mean", 10, 2) == pytest.approx(6 / 3 * (4 / 3))
    assert robust.kappa("coordinate_median", 10, 2) == pytest.approx(4 * (4 / 3) ** 2)
    assert robust.kappa("geometric_median", 10, 2) == pytest.approx(4 * (4 / 3) ** 2)
    assert robust.kappa("krum", 10, 2) == pytest.approx(6 * (4 / 3))
    # NNM (Thm. 1): 8f/(n-f) (kappa + 1)
    assert robust.kappa("nnm+krum", 10, 2) == pytest.approx(8 * 2 / 8 * (8 + 1))
    assert robust.kappa("mda", 10, 2) is None and robust.kappa("bucketing+krum", 10, 2) is None
    # never below the lower bound f / (n - 2f)
    for rule in ("trimmed_mean", "coordinate_median", "krum", "nnm+trimmed_mean"):
        assert robust.kappa(rule, 10, 2) >= 2 / 6
