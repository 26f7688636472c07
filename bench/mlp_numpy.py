"""NumPy reference for `npm run bench:mlp`: the same float64 training loops as lib/mlp (the same
matrix products per mini-batch, elementwise passes, optimiser updates), on random data of the
given shape, one BLAS thread. Prints one JSON line: CPU seconds per network.

  OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/mlp_numpy.py ROWS DIMS OUTPUTS LOSS_PASS

LOSS_PASS: 1 adds the seed's loss pass over all rows after every epoch, 0 leaves it out (as the
repetition over seeds does). The networks as in lib/config/study2.ts: SNN [512, 256] 20 epochs,
BNN 3 members x 10 epochs with clipping, Adam 20 epochs, GBNN 10 members [128, 64] x 10 epochs
with linear outputs; batch 32.
"""
import json
import sys
import time

import numpy as np


def train(X, Y, hidden, epochs, lr, rng, loss_pass, clip=None, adam=False, linear=False):
    n, d = X.shape
    k = Y.shape[1]
    sizes = [d, hidden[0], hidden[1], k]
    W = [rng.standard_normal((sizes[i], sizes[i + 1])) * 0.01 for i in range(3)]
    b = [np.zeros((1, sizes[i + 1])) for i in range(3)]
    params = W + b
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    t = 0

    def forward(x):
        z1 = x @ W[0] + b[0]
        a1 = np.maximum(0, z1)
        z2 = a1 @ W[1] + b[1]
        a2 = np.maximum(0, z2)
        z3 = a2 @ W[2] + b[2]
        a3 = z3 if linear else 1 / (1 + np.exp(-z3))
        return z1, a1, z2, a2, a3

    for _ in range(epochs):
        order = rng.permutation(n)
        for s in range(0, n, 32):
            idx = order[s : s + 32]
            x, y = X[idx], Y[idx]
            z1, a1, z2, a2, a3 = forward(x)
            bs = x.shape[0]
            dz3 = a3 - y
            dw3 = a2.T @ dz3 / bs
            db3 = dz3.sum(0, keepdims=True) / bs
            dz2 = (dz3 @ W[2].T) * (z2 > 0)
            dw2 = a1.T @ dz2 / bs
            db2 = dz2.sum(0, keepdims=True) / bs
            dz1 = (dz2 @ W[1].T) * (z1 > 0)
            dw1 = x.T @ dz1 / bs
            db1 = dz1.sum(0, keepdims=True) / bs
            grads = [dw1, dw2, dw3, db1, db2, db3]
            if clip is not None:
                for g in grads[:3]:
                    np.clip(g, -clip, clip, out=g)
            if adam:
                t += 1
                for p, g, mm, vv in zip(params, grads, m, v):
                    mm *= 0.9
                    mm += 0.1 * g
                    vv *= 0.999
                    vv += 0.001 * g * g
                    p -= lr * (mm / (1 - 0.9**t)) / (np.sqrt(vv / (1 - 0.999**t)) + 1e-8)
            else:
                for p, g in zip(params, grads):
                    p -= lr * g
        if loss_pass:
            a3 = forward(X)[-1]
            if linear:
                float(((a3 - Y) ** 2).sum() / (2 * n))
            else:
                float(-(Y * np.log(a3 + 1e-10) + (1 - Y) * np.log(1 - a3 + 1e-10)).sum() / n)
    return forward


def cpu(f):
    t0 = time.process_time()
    f()
    return time.process_time() - t0


def main():
    n, d, k, loss_pass = (int(a) for a in sys.argv[1:5])
    rng = np.random.default_rng(1)
    X = rng.standard_normal((n, d))
    Y = (rng.random((n, k)) < 0.06).astype(np.float64)
    out = {}
    out["SNN"] = cpu(lambda: train(X, Y, (512, 256), 20, 0.01, rng, loss_pass))

    def bnn():
        r = Y.copy()
        for _ in range(3):
            f = train(X, r, (512, 256), 10, 0.01, rng, loss_pass, clip=0.5)
            r -= f(X)[-1]

    out["BNN"] = cpu(bnn)
    out["Adam"] = cpu(lambda: train(X, Y, (512, 256), 20, 0.001, rng, loss_pass, adam=True))

    def gbnn():
        F = np.zeros_like(Y)
        for _ in range(10):
            r = Y - 1 / (1 + np.exp(-F))
            h = train(X, r, (128, 64), 10, 0.05, rng, loss_pass, linear=True)(X)[-1]
            F += 0.5 * h

    out["GBNN"] = cpu(gbnn)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
