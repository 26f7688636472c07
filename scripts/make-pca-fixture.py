"""Writes test/fixtures/pca/sklearn-pca.json: small inputs and scikit-learn's PCA of them.

Run with Debian's Python and scikit-learn 1.2 (apt-get install python3-sklearn):
    /usr/bin/python3 scripts/make-pca-fixture.py
The tests read the JSON; they never need Python.
"""
import json
import os

import numpy as np
import sklearn
from sklearn.decomposition import PCA


def noise(n, d):
    # A deterministic pattern the TypeScript test recomputes, instead of storing n x d numbers.
    i = np.arange(n)[:, None]
    j = np.arange(d)[None, :]
    return np.sin(1.7 * i + 2.3 * j + 0.1 * i * j)


def fitted(pca, x):
    return {
        "components": pca.components_.tolist(),
        "explained_variance": pca.explained_variance_.tolist(),
        "explained_variance_ratio": pca.explained_variance_ratio_.tolist(),
        "singular_values": pca.singular_values_.tolist(),
        "mean": pca.mean_.tolist(),
        "transformed_first_rows": pca.transform(x[:5]).tolist(),
    }


rng = np.random.RandomState(0)

# Case 1: 30 x 40 with a decaying spectrum, 'auto' picks the full solver (max(n, d) <= 500).
x_full = rng.normal(size=(30, 40)) * np.linspace(3.0, 0.2, 40) + rng.normal(size=40)
pca_full = PCA(n_components=6, random_state=42).fit(x_full)

# Case 2: 60 x 520, rank 8 plus a small deterministic perturbation, 'auto' picks randomized.
a = rng.normal(size=(60, 8)) * np.array([10, 8, 6, 5, 4, 3, 2, 1.5])
b = rng.normal(size=(8, 520))
x_rand = a @ b + 1e-3 * noise(60, 520) + 0.5
pca_rand = PCA(n_components=5, random_state=42).fit(x_rand)
assert pca_rand._fit_svd_solver == "randomized"

out = {
    "generator": "scripts/make-pca-fixture.py",
    "sklearn_version": sklearn.__version__,
    "full": {"solver": pca_full._fit_svd_solver, "n_components": 6, "x": x_full.tolist(), **fitted(pca_full, x_full)},
    "randomized": {
        "solver": pca_rand._fit_svd_solver,
        "n_components": 5,
        "x_formula": "a @ b + 1e-3 * sin(1.7 i + 2.3 j + 0.1 i j) + 0.5",
        "a": a.tolist(),
        "b": b.tolist(),
        **fitted(pca_rand, x_rand),
    },
}
path = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "pca", "sklearn-pca.json")
with open(path + ".tmp", "w") as f:
    json.dump(out, f)
os.replace(path + ".tmp", path)
print("wrote", os.path.normpath(path))
