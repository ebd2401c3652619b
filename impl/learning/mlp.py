"""A multilayer perceptron in numpy on one flat parameter vector: ReLU hidden layers, softmax output.

Layout of the flat float64 vector, layer by layer: the weight matrix of shape
``(fan_in, fan_out)`` in row-major (C) order, then the bias ``(fan_out,)``. The
objective is the mean cross-entropy plus ``l2 / 2`` times the squared norm of the
weights (biases are not regularised), as for :mod:`softmax`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
HIDDEN = (100, 100)


def layer_sizes(n_features: int, n_classes: int, hidden: Sequence[int] = HIDDEN) -> list[int]:
    if n_features < 1 or n_classes < 2 or any(h < 1 for h in hidden):
        raise ValueError(f"need n_features >= 1, n_classes >= 2, hidden >= 1: {n_features}, {n_classes}")
    return [n_features, *hidden, n_classes]


def param_dim(n_features: int, n_classes: int, hidden: Sequence[int] = HIDDEN) -> int:
    """Dimension of the flat parameter vector."""
    sizes = layer_sizes(n_features, n_classes, hidden)
    return sum(a * b + b for a, b in zip(sizes, sizes[1:], strict=False))


def init_params(
    n_features: int, n_classes: int, rng: np.random.Generator, hidden: Sequence[int] = HIDDEN
) -> FloatArray:
    """He-normal weights, zero biases (a ReLU network cannot start from all zeros)."""
    sizes = layer_sizes(n_features, n_classes, hidden)
    parts: list[FloatArray] = []
    for a, b in zip(sizes, sizes[1:], strict=False):
        parts += [rng.normal(0.0, np.sqrt(2.0 / a), size=a * b), np.zeros(b)]
    return np.concatenate(parts)


def _layers(params: FloatArray, sizes: list[int]) -> list[tuple[FloatArray, FloatArray]]:
    params = np.asarray(params, dtype=np.float64)
    expected = sum(a * b + b for a, b in zip(sizes, sizes[1:], strict=False))
    if params.shape != (expected,):
        raise ValueError(f"params must have shape ({expected},) for layers {sizes}, got {params.shape}")
    out, k = [], 0
    for a, b in zip(sizes, sizes[1:], strict=False):
        W = params[k : k + a * b].reshape(a, b)
        k += a * b
        out.append((W, params[k : k + b]))
        k += b
    return out


def _forward(layers: list[tuple[FloatArray, FloatArray]], X: FloatArray) -> list[FloatArray]:
    """Activations: the input, each hidden ReLU output, then the output logits."""
    acts = [X]
    for n, (W, b) in enumerate(layers):
        z = acts[-1] @ W + b
        acts.append(np.maximum(z, 0.0) if n < len(layers) - 1 else z)
    return acts


def _log_softmax(z: FloatArray) -> FloatArray:
    z = z - z.max(axis=1, keepdims=True)
    return np.asarray(z - np.log(np.exp(z).sum(axis=1, keepdims=True)))


def _prepare(
    params: FloatArray, X: FloatArray, n_classes: int, hidden: Sequence[int]
) -> tuple[FloatArray, list[tuple[FloatArray, FloatArray]]]:
    """The checked inputs and the layers of ``params``; ``ValueError`` on a shape mismatch."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"X must be a non-empty 2-D array, got shape {X.shape}")
    return X, _layers(params, layer_sizes(X.shape[1], n_classes, hidden))


def loss(
    params: FloatArray,
    X: FloatArray,
    y: NDArray[np.integer],
    n_classes: int,
    l2: float = 1e-4,
    hidden: Sequence[int] = HIDDEN,
) -> float:
    """Mean cross-entropy of (X, y) plus ``l2 / 2`` times the squared weights."""
    X, layers = _prepare(params, X, n_classes, hidden)
    logp = _log_softmax(_forward(layers, X)[-1])
    ce = -float(np.mean(logp[np.arange(X.shape[0]), np.asarray(y)]))
    return ce + 0.5 * l2 * sum(float(np.sum(W * W)) for W, _ in layers)


def gradient(
    params: FloatArray,
    X: FloatArray,
    y: NDArray[np.integer],
    n_classes: int,
    l2: float = 1e-4,
    hidden: Sequence[int] = HIDDEN,
) -> FloatArray:
    """Gradient of :func:`loss` with respect to the flat parameter vector (backpropagation)."""
    X, layers = _prepare(params, X, n_classes, hidden)
    n = X.shape[0]
    acts = _forward(layers, X)
    delta = np.exp(_log_softmax(acts[-1]))
    delta[np.arange(n), np.asarray(y)] -= 1.0
    delta /= n
    grads: list[FloatArray] = []
    for k in range(len(layers) - 1, -1, -1):
        W, _ = layers[k]
        grads += [delta.sum(axis=0), (acts[k].T @ delta + l2 * W).ravel()]
        if k > 0:
            delta = (delta @ W.T) * (acts[k] > 0)
    return np.concatenate(grads[::-1])


def predict(
    params: FloatArray, X: FloatArray, n_classes: int, hidden: Sequence[int] = HIDDEN
) -> NDArray[np.int64]:
    X, layers = _prepare(params, X, n_classes, hidden)
    return np.asarray(np.argmax(_forward(layers, X)[-1], axis=1), dtype=np.int64)


def accuracy(
    params: FloatArray, X: FloatArray, y: NDArray[np.integer], n_classes: int, hidden: Sequence[int] = HIDDEN
) -> float:
    """Fraction of rows of X whose predicted class equals y."""
    return float(np.mean(predict(params, X, n_classes, hidden) == np.asarray(y)))
