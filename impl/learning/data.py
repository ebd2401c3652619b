"""Learning task data and client partitions.

Two tasks, both available offline: scikit-learn's bundled *digits* (1797 8x8
images, 64 features scaled to [0, 1], 10 classes; the small default) and
MNIST-1D (Greydanus 2020), generated on the spot by the ``mnist1d`` package's
``make_dataset`` (40 features, 10 classes, as many samples as asked; no download).
Partitions assign training-sample indices to clients, either IID or with the
standard per-class Dirichlet split used to model heterogeneous clients.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

IndexArray = NDArray[np.int64]
_A = TypeVar("_A", bound=np.ndarray[Any, Any])


@dataclass(frozen=True, eq=False)
class Task:
    """A supervised classification task; arrays are read-only."""

    X_train: NDArray[np.float64]
    y_train: NDArray[np.int64]
    X_test: NDArray[np.float64]
    y_test: NDArray[np.int64]
    n_features: int
    n_classes: int
    name: str


def _frozen(a: _A) -> _A:
    """A C-contiguous read-only copy of `a`."""
    out = a.copy(order="C")
    out.flags.writeable = False
    return out


def load_digits_task(test_fraction: float = 0.25, seed: int = 0) -> Task:
    """Load digits, scale features to [0, 1] (divide by 16), split stratified with `seed`."""
    from sklearn.datasets import load_digits  # lazily: node processes load a cached task
    from sklearn.model_selection import train_test_split

    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")

    X, y = load_digits(return_X_y=True)
    X = np.asarray(X, dtype=np.float64) / 16.0
    y = np.asarray(y, dtype=np.int64)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=test_fraction, random_state=seed, stratify=y)
    return Task(
        X_train=_frozen(np.asarray(X_tr, dtype=np.float64)),
        y_train=_frozen(np.asarray(y_tr, dtype=np.int64)),
        X_test=_frozen(np.asarray(X_te, dtype=np.float64)),
        y_test=_frozen(np.asarray(y_te, dtype=np.int64)),
        n_features=int(X.shape[1]),
        n_classes=int(y.max()) + 1,
        name="digits",
    )


MNIST1D_SAMPLES = 20_000
MNIST1D_FEATURES, MNIST1D_CLASSES = 40, 10  # make_dataset's defaults: 40-point signals, 10 digits


def load_mnist1d_task(n_samples: int = MNIST1D_SAMPLES, seed: int = 0) -> Task:
    """Generate MNIST-1D with ``make_dataset`` (its default transforms, seed ``seed``),
    split 80/20 as the package does. Numpy's global random state is left as it was."""
    if n_samples < 100:
        raise ValueError(f"MNIST-1D needs at least 100 samples, got {n_samples}")
    from mnist1d.data import get_dataset_args, make_dataset  # slow import: only when asked for

    args = get_dataset_args()
    args.num_samples, args.seed = n_samples, seed
    saved = np.random.get_state()
    try:
        data = make_dataset(args)
    finally:
        np.random.set_state(saved)
    X, X_test = np.asarray(data["x"], dtype=np.float64), np.asarray(data["x_test"], dtype=np.float64)
    y, y_test = np.asarray(data["y"], dtype=np.int64), np.asarray(data["y_test"], dtype=np.int64)
    return Task(
        X_train=_frozen(X),
        y_train=_frozen(y),
        X_test=_frozen(X_test),
        y_test=_frozen(y_test),
        n_features=int(X.shape[1]),
        n_classes=MNIST1D_CLASSES,
        name="mnist1d",
    )


TASKS = ("digits", "mnist1d")


def load_task(name: str, seed: int = 0) -> Task:
    """The task called ``name`` (one of :data:`TASKS`); ``ValueError`` names the valid ones."""
    if name == "digits":
        return load_digits_task(seed=seed)
    if name == "mnist1d":
        return load_mnist1d_task(seed=seed)
    raise ValueError(f"unknown task {name!r}; choose from {', '.join(TASKS)}")


def _check_clients(n_clients: int, n_samples: int, min_size: int) -> None:
    if n_clients < 1:
        raise ValueError(f"n_clients must be >= 1, got {n_clients}")
    if min_size < 0:
        raise ValueError(f"min_size must be >= 0, got {min_size}")
    if n_clients * min_size > n_samples:
        raise ValueError(
            f"cannot give {n_clients} clients at least {min_size} sample(s) each "
            f"from only {n_samples} samples"
        )


def partition_iid(n_samples: int, n_clients: int, rng: np.random.Generator) -> list[IndexArray]:
    """Shuffle 0..n_samples-1 and split into `n_clients` near-equal parts (sizes differ by <= 1).

    Every client gets at least one sample; each part is returned sorted.
    """
    _check_clients(n_clients, n_samples, 1)
    perm = rng.permutation(n_samples).astype(np.int64)
    return [np.sort(part) for part in np.array_split(perm, n_clients)]


def partition_dirichlet(
    labels: NDArray[np.integer],
    n_clients: int,
    alpha: float,
    rng: np.random.Generator,
    min_size: int = 1,
) -> list[IndexArray]:
    """Per-class Dirichlet(alpha) split of sample indices over `n_clients`.

    For each class, the class's shuffled indices are cut according to proportions
    drawn from Dirichlet(alpha, ..., alpha). Small `alpha` gives very skewed
    clients, large `alpha` approaches IID. Afterwards every client is topped up to
    `min_size` samples deterministically: while some client is short, the largest
    client (lowest id on ties) gives its largest index to the shortest client
    (lowest id on ties). This always terminates because n_clients * min_size <= n.
    Parts are disjoint, cover all samples, and are returned sorted.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be 1-D, got shape {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be integers, got dtype {labels.dtype}")
    if not (math.isfinite(alpha) and alpha > 0):
        raise ValueError(f"alpha must be a finite number > 0, got {alpha}")
    n = int(labels.shape[0])
    _check_clients(n_clients, n, min_size)

    parts: list[list[int]] = [[] for _ in range(n_clients)]
    for cls in np.unique(labels):
        idx = np.flatnonzero(labels == cls)
        idx = idx[rng.permutation(idx.shape[0])]
        props = rng.dirichlet(np.full(n_clients, alpha))
        cuts = (np.cumsum(props)[:-1] * idx.shape[0]).astype(np.int64)
        for client, chunk in enumerate(np.split(idx, cuts)):
            parts[client].extend(int(i) for i in chunk)

    sets = [sorted(p) for p in parts]
    while True:
        sizes = [len(p) for p in sets]
        short = min(range(n_clients), key=lambda c: (sizes[c], c))
        if sizes[short] >= min_size:
            break
        donor = max(range(n_clients), key=lambda c: (sizes[c], -c))
        sets[short].append(sets[donor].pop())  # donor's largest index
        sets[short].sort()
    return [np.asarray(p, dtype=np.int64) for p in sets]
