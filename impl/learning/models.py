"""The models a run can train, by name: softmax regression and a 2x100 ReLU MLP ("mlp").

Other hidden sizes are reached by name only, ``mlp-64x64`` or ``mlp-32x32`` (what an
experiment needs when the parameter dimension, and so the protocol's cost, matters); the
command line offers :data:`MODELS`."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
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


def mlp_model(hidden: Sequence[int]) -> Model:
    """The ReLU MLP with hidden layers ``hidden``, named ``mlp`` for the default 2x100."""
    h = tuple(hidden)
    if not h or any(n < 1 for n in h):
        raise ValueError(f"hidden layer sizes must be >= 1, got {h}")

    def gradient(
        params: FloatArray, X: FloatArray, y: NDArray[np.integer], n_classes: int, l2: float = 1e-4
    ) -> FloatArray:
        return mlp.gradient(params, X, y, n_classes, l2=l2, hidden=h)

    return Model(
        "mlp" if h == mlp.HIDDEN else "mlp-" + "x".join(map(str, h)),
        lambda n_f, n_c: mlp.param_dim(n_f, n_c, h),
        lambda n_f, n_c, rng: mlp.init_params(n_f, n_c, rng, h),
        gradient,
        lambda w, X, y, n_c: mlp.accuracy(w, X, y, n_c, h),
    )


MODELS: dict[str, Model] = {
    "softmax": Model(
        "softmax",
        softmax.param_dim,
        lambda n_f, n_c, _rng: softmax.init_params(n_f, n_c),
        softmax.gradient,
        softmax.accuracy,
    ),
    "mlp": mlp_model(mlp.HIDDEN),
}
_SIZED_MLP = re.compile(r"mlp-([1-9][0-9]{0,4}(?:x[1-9][0-9]{0,4}){0,3})")


def get_model(name: str) -> Model:
    """The model called ``name`` (one of :data:`MODELS`, or ``mlp-HxH...`` with one to four
    hidden sizes); ``ValueError`` names the valid ones."""
    if name in MODELS:
        return MODELS[name]
    if sized := _SIZED_MLP.fullmatch(name):
        return mlp_model([int(n) for n in sized.group(1).split("x")])
    raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODELS)} or mlp-HxH (hidden sizes)")
