"""A client's local step: a minibatch gradient of the run's model on its own training samples."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from asfl.impl.learning import softmax
from asfl.impl.learning.data import Task
from asfl.impl.learning.models import Gradient


def local_gradient(
    params: NDArray[np.float64],
    task: Task,
    indices: NDArray[np.integer],
    batch_size: int,
    rng: np.random.Generator,
    l2: float = 1e-4,
    gradient: Gradient = softmax.gradient,
) -> NDArray[np.float64]:
    """``gradient`` (softmax regression's by default) on min(batch_size, len(indices)) of the
    client's training indices.

    The minibatch is drawn without replacement with `rng`, so a fixed seed gives a
    fixed batch.
    """
    idx = np.asarray(indices)
    if idx.ndim != 1 or idx.size == 0:
        raise ValueError(f"indices must be a non-empty 1-D array, got shape {idx.shape}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    n_train = task.X_train.shape[0]
    if idx.min() < 0 or idx.max() >= n_train:
        raise ValueError(f"indices must lie in [0, {n_train}), got [{idx.min()}, {idx.max()}]")
    batch = rng.choice(idx, size=min(batch_size, idx.size), replace=False)
    return gradient(params, task.X_train[batch], task.y_train[batch], task.n_classes, l2=l2)
