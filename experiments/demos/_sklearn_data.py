"""Small real data sets bundled with scikit-learn, split and standardised for the demos.

Both sets ship inside the scikit-learn wheel (no download):

* ``digits``: 1797 8x8 images of handwritten digits, 64 features (pixel
  intensities 0..16), 10 classes.
* ``breast_cancer``: the Wisconsin diagnostic breast-cancer data, 569 samples,
  30 real features, 2 classes.

The split is stratified and seeded; features are standardised with the mean and
standard deviation of the training part only (no test statistics leak in).
The module name starts with ``_`` so that the demos package does not take it for
an experiment.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["Split", "load_digits_split", "load_breast_cancer_split"]


class Split(NamedTuple):
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def _split_standardise(X, y, *, test_size, seed, dtype) -> Split:
    from sklearn.model_selection import train_test_split

    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=test_size, random_state=seed,
                                              stratify=y)
    mean = X_tr.mean(axis=0)
    std = X_tr.std(axis=0)
    std[std == 0] = 1.0                       # constant pixels (always 0 in digits)
    X_tr = ((X_tr - mean) / std).astype(dtype)
    X_te = ((X_te - mean) / std).astype(dtype)
    return Split(X_tr, y_tr.astype(np.int64), X_te, y_te.astype(np.int64))


def load_digits_split(seed: int = 0, test_size: float = 0.25, dtype=np.float32) -> Split:
    """scikit-learn's digits: 64 standardised features, labels 0..9."""
    from sklearn.datasets import load_digits

    data = load_digits()
    return _split_standardise(data.data, data.target, test_size=test_size, seed=seed,
                              dtype=dtype)


def load_breast_cancer_split(seed: int = 0, test_size: float = 0.25,
                             dtype=np.float64) -> Split:
    """scikit-learn's breast-cancer data: 30 standardised features, labels 0/1."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    return _split_standardise(data.data, data.target, test_size=test_size, seed=seed,
                              dtype=dtype)
