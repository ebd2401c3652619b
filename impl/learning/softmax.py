"""Multinomial logistic regression (softmax) in numpy on one flat parameter vector.

Layout of the flat float64 vector of dimension `n_features * n_classes + n_classes`:
first the weight matrix W of shape (n_features, n_classes) in row-major (C) order,
then the bias b of shape (n_classes,). The objective is the mean cross-entropy
plus `l2 / 2 * ||W||^2` (the bias is not regularised).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


def param_dim(n_features: int, n_classes: int) -> int:
    """Dimension of the flat parameter vector."""
    if n_features < 1 or n_classes < 2:
        raise ValueError(f"need n_features >= 1 and n_classes >= 2, got {n_features}, {n_classes}")
    return n_features * n_classes + n_classes


def init_params(n_features: int, n_classes: int) -> FloatArray:
    """All-zero parameters (the objective is convex, so zeros are a fine start)."""
    return np.zeros(param_dim(n_features, n_classes), dtype=np.float64)


def _unpack(params: FloatArray, n_features: int, n_classes: int) -> tuple[FloatArray, FloatArray]:
    params = np.asarray(params, dtype=np.float64)
    expected = param_dim(n_features, n_classes)
    if params.shape != (expected,):
        raise ValueError(
            f"params must have shape ({expected},) for {n_features} features and "
            f"{n_classes} classes, got {params.shape}"
        )
    k = n_features * n_classes
    return params[:k].reshape(n_features, n_classes), params[k:]


def _check_data(X: FloatArray, y: NDArray[np.integer] | None, n_classes: int) -> FloatArray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"X must be a non-empty 2-D array, got shape {X.shape}")
    if y is not None:
        y = np.asarray(y)
        if y.shape != (X.shape[0],):
            raise ValueError(f"y must have shape ({X.shape[0]},), got {y.shape}")
        if y.size and (y.min() < 0 or y.max() >= n_classes):
            raise ValueError(f"labels must lie in [0, {n_classes}), got [{y.min()}, {y.max()}]")
    return X


def _log_softmax(params: FloatArray, X: FloatArray, n_classes: int) -> FloatArray:
    W, b = _unpack(params, X.shape[1], n_classes)
    z = X @ W + b
    z = z - z.max(axis=1, keepdims=True)  # numerically stable
    return np.asarray(z - np.log(np.exp(z).sum(axis=1, keepdims=True)))


def loss(
    params: FloatArray, X: FloatArray, y: NDArray[np.integer], n_classes: int, l2: float = 1e-4
) -> float:
    """Mean cross-entropy of (X, y) plus `l2 / 2 * ||W||^2`."""
    X = _check_data(X, y, n_classes)
    logp = _log_softmax(params, X, n_classes)
    W, _ = _unpack(params, X.shape[1], n_classes)
    ce = -float(np.mean(logp[np.arange(X.shape[0]), np.asarray(y)]))
    return ce + 0.5 * l2 * float(np.sum(W * W))


def gradient(
    params: FloatArray, X: FloatArray, y: NDArray[np.integer], n_classes: int, l2: float = 1e-4
) -> FloatArray:
    """Gradient of `loss` with respect to the flat parameter vector (same layout)."""
    X = _check_data(X, y, n_classes)
    n = X.shape[0]
    W, _ = _unpack(params, X.shape[1], n_classes)
    residual = np.exp(_log_softmax(params, X, n_classes))  # P - onehot(y), scaled below
    residual[np.arange(n), np.asarray(y)] -= 1.0
    residual /= n
    gW = X.T @ residual + l2 * W
    gb = residual.sum(axis=0)
    return np.concatenate([gW.ravel(), gb])


def predict(params: FloatArray, X: FloatArray, n_classes: int) -> NDArray[np.int64]:
    """Most likely class per row of X."""
    X = _check_data(X, None, n_classes)
    W, b = _unpack(params, X.shape[1], n_classes)
    return np.asarray(np.argmax(X @ W + b, axis=1), dtype=np.int64)


def accuracy(params: FloatArray, X: FloatArray, y: NDArray[np.integer], n_classes: int) -> float:
    """Fraction of rows of X whose predicted class equals y."""
    X = _check_data(X, y, n_classes)
    return float(np.mean(predict(params, X, n_classes) == np.asarray(y)))
