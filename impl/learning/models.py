"""The models a run can train, by name: softmax regression and a 2x100 ReLU MLP."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from asfl.impl.learning import mlp, softmax

FloatArray = NDArray[np.float64]


class Gradient(Protocol):
    """``gradient(params, X, y, n_classes, l2=...)`` of the mean cross-entropy plus L2."""

    def __call__(
        self, params: FloatArray, X: FloatArray, y: NDArray[np.integer], n_classes: int, l2: float = ...
    ) -> FloatArray: ...


@dataclass(frozen=True)
class Model:
    """A differentiable classifier on one flat float64 parameter vector."""

    name: str
    param_dim: Callable[[int, int], int]
    init: Callable[[int, int, np.random.Generator], FloatArray]
    gradient: Gradient
    accuracy: Callable[[FloatArray, FloatArray, NDArray[np.integer], int], float]


MODELS: dict[str, Model] = {
    "softmax": Model(
        "softmax",
        softmax.param_dim,
        lambda n_f, n_c, _rng: softmax.init_params(n_f, n_c),
        softmax.gradient,
        softmax.accuracy,
    ),
    "mlp": Model("mlp", mlp.param_dim, mlp.init_params, mlp.gradient, mlp.accuracy),
}


def get_model(name: str) -> Model:
    """The model called ``name``; ``ValueError`` names the valid ones."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    return MODELS[name]
