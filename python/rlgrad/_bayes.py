"""The hierarchical Bayesian posterior by NUTS."""

from __future__ import annotations

from typing import Optional

import numpy as np
import pandas as pd

from . import _rlgrad
from ._frames import frame
from ._rlgrad import Dataset, Model


class Posterior:
    """Draws from the hierarchical posterior of a model on a cohort: θᵢ = μ + diag(τ) L zᵢ
    with μ ~ N(0, mu_sd²), τ ~ HalfNormal(tau_sd), correlations ~ LKJ(eta)."""

    def __init__(self, native):
        self._native = native

    def summary(self) -> pd.DataFrame:
        """One row per quantity (mu[p], tau[p], corr[p,q], then p[subject] on the natural
        scale): mean, sd, q05, q50, q95, rhat, ess_bulk, ess_tail, mcse_mean.
        `table.attrs["warnings"]` lists divergences, R-hat > 1.01 and ESS < 100 per chain;
        `table.attrs["overall"]` is one line with the largest R-hat and the smallest ESS."""
        columns, warnings, overall = self._native._summary()
        table = frame(columns)
        table.attrs["warnings"] = warnings
        table.attrs["overall"] = overall
        return table

    def draws(self) -> pd.DataFrame:
        """Every draw after warm-up: chain, draw, then every quantity of `summary`."""
        return frame(self._native._draws())

    def log_lik(self) -> np.ndarray:
        """Each subject's log-likelihood at each draw: draws (chains concatenated) x
        subjects."""
        return self._native.log_lik_matrix()

    def loo(self) -> dict:
        """PSIS-LOO (ArviZ's algorithm) with subjects as the observations."""
        return self._native.loo()

    def waic(self) -> dict:
        """WAIC with subjects as the observations."""
        return self._native.waic()

    @property
    def divergences(self) -> int:
        """Divergent transitions after warm-up."""
        return self._native.divergences

    @property
    def seconds(self) -> float:
        """Wall-clock seconds of sampling."""
        return self._native.seconds

    def __repr__(self) -> str:
        n = self._native
        return (
            f"Posterior({n.n_chains} chains x {n.n_draws} draws, {len(n.subjects)} subjects, "
            f"{n.divergences} divergences, {n.seconds:.1f} s)"
        )


def sample(
    model: Model,
    data: Dataset,
    *,
    chains: int = 4,
    warmup: int = 1000,
    draws: int = 1000,
    seed: int = 1,
    max_depth: int = 10,
    target_accept: float = 0.8,
    diagonal: bool = False,
    eta: float = 2.0,
    mu_sd: float = 2.0,
    tau_sd: float = 1.0,
    threads: Optional[int] = None,
) -> Posterior:
    """Samples the hierarchical posterior of `model` on `data` by NUTS (nuts-rs), chains in
    parallel on `threads` threads with the GIL released; chain c uses stream c of `seed`,
    so the draws do not depend on the thread count."""
    return Posterior(
        _rlgrad._sample(
            model,
            data,
            chains=chains,
            warmup=warmup,
            draws=draws,
            seed=seed,
            max_depth=max_depth,
            target_accept=target_accept,
            diagonal=diagonal,
            eta=eta,
            mu_sd=mu_sd,
            tau_sd=tau_sd,
            threads=threads,
        )
    )
