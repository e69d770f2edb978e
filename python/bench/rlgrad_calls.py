"""The rlgrad calls of the benchmark, in one place (so an API change is adapted here only).

    data = rlgrad.Dataset.from_frame(df)
    model = rlgrad.Model("rw", "softmax", n_actions=2)
    prior = rlgrad.Gaussian(np.zeros(2), 3 * np.eye(2))
    fits = rlgrad.fit_map(model, data, prior=prior, n_starts=1, threads=1)   # DataFrame
    pop = rlgrad.fit_em(model, data, threads=1)          # pop.mu, pop.cov, pop.trace
"""

import numpy as np


def _rlgrad():
    import rlgrad
    return rlgrad


def prepare(df):
    """(model, data, prior): built once, outside the timings."""
    rlgrad = _rlgrad()
    data = rlgrad.Dataset.from_frame(df)
    model = rlgrad.Model("rw", "softmax", n_actions=2)
    prior = rlgrad.Gaussian(np.zeros(2), 3 * np.eye(2))
    return model, data, prior


def theta_of(fits):
    """The (n, 2) unconstrained MAP estimates (logit alpha, log beta) from fit_map's frame."""
    cols = [c for c in fits.columns if str(c).startswith("theta_")]
    if len(cols) != 2:
        raise KeyError(f"expected two theta_ columns in fit_map's frame, got {list(fits.columns)}")
    order = sorted(cols, key=lambda c: 0 if "alpha" in c else 1)
    return fits[order].to_numpy(dtype=float)


def fit_map(model, data, prior, threads=1):
    return _rlgrad().fit_map(model, data, prior=prior, n_starts=1, threads=threads)


def fit_em(model, data, threads=1, **kw):
    return _rlgrad().fit_em(model, data, threads=threads, **kw)


def em_summary(pop):
    """(mu (2,), cov (2, 2), iterations)"""
    mu = np.asarray(pop.mu, dtype=float)
    cov = np.asarray(pop.cov, dtype=float)
    trace = getattr(pop, "trace", None)
    iters = len(trace) if trace is not None else None
    return mu, cov, iters


def rlgrad_fit_map(df, threads=1):
    """Convenience for numba_map.py's check: (theta (n, 2), fits DataFrame)."""
    model, data, prior = prepare(df)
    fits = fit_map(model, data, prior, threads=threads)
    return theta_of(fits), fits
