"""The numpy MLP and the MNIST-1D task (issue 11, data at scale)."""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

from asfl.impl.learning import mlp
from asfl.impl.learning.data import load_mnist1d_task
from asfl.impl.learning.models import MODELS, get_model

HIDDEN = (4, 6)


def test_gradient_matches_finite_differences() -> None:
    """Backpropagation equals central finite differences of the loss, L2 term included."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(7, 5)), rng.integers(0, 3, 7)
    # random biases too: with zero biases a sample that no first-layer unit fires for sits
    # exactly on the second layer's ReLU kink, where finite differences disagree
    p = mlp.init_params(5, 3, rng, hidden=HIDDEN) + rng.normal(0.0, 0.1, mlp.param_dim(5, 3, HIDDEN))
    assert p.size == mlp.param_dim(5, 3, HIDDEN) == 5 * 4 + 4 + 4 * 6 + 6 + 6 * 3 + 3
    g = mlp.gradient(p, X, y, 3, l2=0.1, hidden=HIDDEN)
    h = 1e-6
    num = np.array(
        [
            (mlp.loss(p + e, X, y, 3, 0.1, HIDDEN) - mlp.loss(p - e, X, y, 3, 0.1, HIDDEN)) / (2 * h)
            for e in np.eye(p.size) * h
        ]
    )
    np.testing.assert_allclose(g, num, atol=1e-6)


def test_mlp_learns_mnist1d_beyond_softmax() -> None:
    """Full-batch gradient descent on a small MNIST-1D: the MLP fits the training set far
    better than chance and than softmax regression does (a linear model is weak here)."""
    task = load_mnist1d_task(n_samples=400, seed=1)
    assert task.X_train.shape == (320, 40) and task.X_test.shape == (80, 40)
    assert set(np.unique(task.y_train)) == set(range(10))
    rng = np.random.default_rng(0)
    train_acc = {}
    for name in ("softmax", "mlp"):
        model = get_model(name)
        w = model.init(task.n_features, task.n_classes, rng)
        with threadpool_limits(1):  # small products: threads only contend
            for _ in range(200):
                w = w - 0.5 * model.gradient(w, task.X_train, task.y_train, task.n_classes)
        train_acc[name] = model.accuracy(w, task.X_train, task.y_train, task.n_classes)
    assert train_acc["mlp"] > 0.6 and train_acc["mlp"] > train_acc["softmax"] + 0.15, train_acc
    assert sorted(MODELS) == ["mlp", "softmax"]


def test_mnist1d_is_deterministic_and_leaves_numpy_global_state() -> None:
    """Same seed, same data; make_dataset's global seeding does not leak out."""
    np.random.seed(123)
    expected = np.random.random()
    np.random.seed(123)
    a = load_mnist1d_task(n_samples=200, seed=5)
    assert np.random.random() == expected
    b = load_mnist1d_task(n_samples=200, seed=5)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)


def test_simulated_run_trains_the_mlp_on_mnist1d(tmp_path) -> None:
    """``--task mnist1d --model mlp`` end to end at a tiny size: the genesis model is the MLP's
    seeded initialisation (not zeros), every honest aggregator finishes, and the model moved."""
    from asfl.impl.config import ProtocolConfig
    from asfl.impl.sim.run import RunConfig, execute

    task = load_mnist1d_task(n_samples=400, seed=0)
    cfg = ProtocolConfig(n_clients=8, n_aggregators=4, t_a=1, t_c=0, q_min=2, rounds=2)
    summary, built = execute(RunConfig(cfg, byzantine=0, model="mlp", ghost=False), task=task)
    assert summary.status == "complete"
    assert built.cfg.dim == mlp.param_dim(40, 10)
    genesis = next(iter(built.aggregators.values())).models[0]
    assert np.count_nonzero(genesis) > 0
    assert all(not np.array_equal(a.models[a.round], genesis) for a in built.aggregators.values())
