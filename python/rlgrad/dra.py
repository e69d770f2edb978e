"""Memory-limited agents: dynamic resource allocation (Patel, Acerbi & Pouget 2020)."""

from __future__ import annotations

from typing import Optional

import pandas as pd

from . import _rlgrad
from ._frames import frame


def train_runs(
    task: str,
    *,
    sigma0: Optional[float] = None,
    runs: int = 5,
    seed: int = 1,
    n_trials: Optional[int] = None,
    eval_every: Optional[int] = None,
    eval_episodes: Optional[int] = None,
    cost_weight: Optional[float] = None,
    moves: int = 3,
    threads: Optional[int] = None,
) -> "tuple[pd.DataFrame, list]":
    """As `train`, also returning each run's final memories: a list of dicts with seed,
    sigma and q_bar (numpy, one entry per state-action, state-major), n_states, n_actions,
    steps, truncated."""
    d = _rlgrad._dra_train(
        task,
        sigma0=sigma0,
        runs=runs,
        seed=seed,
        n_trials=n_trials,
        eval_every=eval_every,
        eval_episodes=eval_episodes,
        cost_weight=cost_weight,
        moves=moves,
        threads=threads,
    )
    return frame(d["curves"]), d["runs"]


def train(task: str, **kwargs) -> pd.DataFrame:
    """Trains `runs` agents with seeds `seed`, `seed + 1`, ... on `task` ("gridworld",
    "mountain_car" or "planning"), with the paper's preset (grid world: the published
    runs with `sigma0`, default 3; mountain car: the authors' annealed runs; planning:
    Table B.1 with a search of `moves` moves), any of n_trials, eval_every, eval_episodes,
    sigma0 and cost_weight (λ) overriding it. Runs in parallel with the GIL released.

    Returns the learning curves: one row per run and evaluation, with run, seed, trial,
    return_mean, return_se (over the evaluation episodes), cost (the KL resource cost) and
    objective (return − λ·cost)."""
    curves, _ = train_runs(task, **kwargs)
    return curves
