"""Fitting and simulation: the native functions with DataFrames in and out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional

import numpy as np
import pandas as pd

from . import _rlgrad
from ._frames import frame
from ._rlgrad import Dataset, EStep, EStepTask, Gaussian, Model


read_csv = Dataset.read_csv
"""Reads a long-format CSV file (columns subject, trial, action, reward; optional session,
state, next_state; an empty or NA action is a missed trial): `Dataset.read_csv`."""


def models() -> pd.DataFrame:
    """The models of the menu: name (for `Model(name)`), parameters, description."""
    rows = []
    for name, description in _rlgrad._models():
        # Every model of the menu builds for this table (the crate's menu tests say so).
        params = ", ".join(Model(name, n_actions=2, n_states=3).params)
        rows.append({"model": name, "params": params, "description": description})
    return pd.DataFrame(rows)


def fit_map(
    model: Model,
    data: Dataset,
    prior: Optional[Gaussian] = None,
    *,
    n_starts: int = 3,
    seed: int = 0,
    threads: Optional[int] = None,
) -> pd.DataFrame:
    """MAP estimates of every subject under `prior` (default: `model.default_prior()`).

    One row per subject, in the data's order: subject, n_trials, theta_<p> (unconstrained
    estimates), <p> and <p>_se (natural scale, delta-method standard errors),
    log_likelihood, log_prior, log_posterior, bic, aic, converged, stop_reason,
    iterations, evaluations, grad_norm, hessian_repaired, <p>_weak (weakly identified),
    error (why a subject's fit failed; its numbers are then NaN). Subjects are fitted in
    parallel on `threads` threads (None: one per core), with the GIL released; `seed` makes
    the extra starts (draws from the prior) reproducible."""
    return frame(
        _rlgrad._fit_map(model, data, prior, n_starts=n_starts, seed=seed, threads=threads)
    )


@dataclass(eq=False)
class Population:
    """An empirical-Bayes EM fit (Huys et al. 2011): the group prior N(mu, cov) on θ and
    every subject's MAP estimate under it."""

    params: list
    """The parameter names, in θ order."""
    mu: np.ndarray
    """The group mean of θ."""
    cov: np.ndarray
    """The group covariance of θ."""
    converged: bool
    """Whether EM met its tolerances before max_iterations."""
    prior: Gaussian
    """N(mu, cov) as a prior (for `fit_map` or `Model.objective`)."""
    subjects: pd.DataFrame
    """Every subject's fit in the last E-step (the columns of `fit_map`)."""
    trace: pd.DataFrame = field(repr=False)
    """One row per iteration: log_posterior, log_likelihood, repaired, failed, mu_<p>,
    sd_<p>."""
    svg: str = field(default="", repr=False)
    """The EM trace as an SVG picture (summed log posterior and group means by iteration);
    `open("em.svg", "w").write(pop.svg)`, or `IPython.display.SVG(pop.svg)`."""

    @classmethod
    def _from(cls, d: dict, subjects: Optional[pd.DataFrame] = None) -> "Population":
        return cls(
            params=list(d["params"]),
            mu=d["mu"],
            cov=d["cov"],
            converged=bool(d["converged"]),
            prior=d["prior"],
            subjects=frame(d["subjects"]) if subjects is None else subjects,
            trace=frame(d["trace"]),
            svg=d.get("svg", ""),
        )

    @property
    def sd(self) -> pd.Series:
        """The group standard deviations of θ, by parameter."""
        return pd.Series(np.sqrt(np.diag(self.cov)), index=self.params)


def fit_em(
    model: Model,
    data: Dataset,
    *,
    covariance: str = "full",
    n_starts: int = 3,
    max_iterations: int = 200,
    tolerance: float = 1e-6,
    seed: int = 0,
    threads: Optional[int] = None,
) -> Population:
    """Empirical-Bayes EM with the Laplace approximation (Huys et al. 2011): the group
    prior N(mu, cov) on θ ("full" or "diagonal" covariance) and every subject's MAP fit
    under it. Subjects run in parallel on `threads` threads with the GIL released."""
    d = _rlgrad._fit_em(
        model,
        data,
        covariance=covariance,
        n_starts=n_starts,
        max_iterations=max_iterations,
        tolerance=tolerance,
        seed=seed,
        threads=threads,
    )
    return Population._from(d)


def e_step(
    model: Model, data: Dataset, task: EStepTask, *, threads: Optional[int] = None
) -> "tuple[EStep, pd.DataFrame]":
    """Runs one EM iteration's E-step (`task`, from `EmRun.next_task()`) on `data`, the
    whole cohort or a shard of it: returns its `EStep` (merge the shards' with
    `EStep.merge_all` before `EmRun.update`) and the subjects' fits (the columns of
    `fit_map`). Runs anywhere: the model, the shard and the task pickle."""
    stats, fits = _rlgrad._e_step(model, data, task, threads=threads)
    return stats, frame(fits)


def em_result(run: "_rlgrad.EmRun", subjects: pd.DataFrame) -> Population:
    """The `Population` of a finished `EmRun`, with the subjects' fits of its last E-step
    (the shards' tables concatenated in data order)."""
    return Population._from(run._result(), subjects=subjects.reset_index(drop=True))


def compare(
    models: Mapping[str, Model],
    data: Dataset,
    *,
    covariance: str = "full",
    n_starts: int = 3,
    max_iterations: int = 200,
    ibic_samples: int = 2000,
    seed: int = 0,
    threads: Optional[int] = None,
) -> pd.DataFrame:
    """Compares models fitted by EM to the same data: one row per model with n_params,
    summed bic and aic of the subjects' MAP fits, the Laplace log evidence (larger is
    better), the integrated BIC (ibic, Huys et al. 2011; smaller is better) and delta_ibic,
    the subjects each criterion prefers the model for (wins_bic, wins_aic, wins_laplace),
    and failed fits. `table.attrs["em"]` holds each model's `Population`, `table.attrs["svg"]`
    the comparison as an SVG picture (iBIC per model, relative to the best)."""
    if not isinstance(models, Mapping):
        raise TypeError(f"models must be a dict {{name: Model}}, got {type(models).__name__}")
    if not models:
        raise ValueError("compare: no models given")
    names = list(models)
    d = _rlgrad._compare(
        [(n, models[n]) for n in names],
        data,
        covariance=covariance,
        n_starts=n_starts,
        max_iterations=max_iterations,
        ibic_samples=ibic_samples,
        seed=seed,
        threads=threads,
    )
    ems = d.pop("em")
    n_compared = d.pop("n_compared")
    svg = d.pop("svg")
    table = frame(d)
    table.attrs["em"] = {n: Population._from(e) for n, e in zip(names, ems)}
    table.attrs["n_compared"] = n_compared
    table.attrs["svg"] = svg
    return table


def latents(model: Model, data: Dataset, fits: pd.DataFrame) -> pd.DataFrame:
    """Trial-wise latent variables at each subject's fitted θ (the Rescorla-Wagner +
    softmax models): one row per trial with subject, session, trial, state, action,
    reward, q_<a> (values before the update), chosen_value, prediction_error, p_<a>
    (choice probabilities), log_likelihood. `fits` is a `fit_map` table (or
    `Population.subjects`): its theta_<p> columns are read; a subject whose fit failed is
    left out with a warning."""
    if not isinstance(fits, pd.DataFrame):
        raise TypeError(f"fits must be a DataFrame of rlgrad.fit_map, got {type(fits).__name__}")
    columns = [f"theta_{p}" for p in model.params]
    missing = [c for c in ["subject", *columns] if c not in fits.columns]
    if missing:
        raise ValueError(
            f"fits lacks the column(s) {', '.join(missing)}: pass the table of "
            f"rlgrad.fit_map (or Population.subjects) for model {model.name}"
        )
    parts = []
    for _, row in fits.iterrows():
        theta = row[columns].to_numpy(dtype=float)
        if not np.all(np.isfinite(theta)):
            import warnings

            warnings.warn(f"subject {row['subject']!r} has no fitted θ: left out", stacklevel=2)
            continue
        part = frame(model.latents(theta, data[str(row["subject"])]))
        part.insert(0, "subject", str(row["subject"]))
        parts.append(part)
    if not parts:
        raise ValueError("latents: no subject of `fits` has a fitted θ")
    return pd.concat(parts, ignore_index=True)


def _thetas(model: Model, params) -> np.ndarray:
    """θ (n × K) from natural values: a DataFrame with one row per subject and a column per
    parameter, or a dict for one subject."""
    if isinstance(params, Mapping):
        params = pd.DataFrame([dict(params)])
    if not isinstance(params, pd.DataFrame):
        raise TypeError("params must be a DataFrame (one row per subject) or a dict")
    missing = [p for p in model.params if p not in params.columns]
    if missing:
        raise ValueError(
            f"params lacks {', '.join(missing)} (model {model.name} has {', '.join(model.params)})"
        )
    return np.array(
        [
            model.theta_from_natural({p: float(row[p]) for p in model.params})
            for _, row in params.iterrows()
        ],
        dtype=float,
    ).reshape(len(params), model.n_params)


def simulate(
    model: Model,
    params,
    n_trials: int,
    *,
    seed: int = 0,
    probs=None,
    reversal_every: Optional[int] = None,
) -> Dataset:
    """Simulates subjects choosing under `model` for `n_trials` trials each.

    `params` is a DataFrame with one row per subject and a column per parameter, on the
    natural scale (a `subject` column, if there, names the subjects), or a dict
    {parameter: value} for one subject. The Rescorla-Wagner models play a bandit with
    reward probabilities `probs` (default 0.8 for action 0, 0.2 for the others), reversed
    every `reversal_every` trials if given; the task models play their own task."""
    thetas = _thetas(model, params)
    if isinstance(params, Mapping):
        params = pd.DataFrame([dict(params)])
    ids = [str(s) for s in params["subject"]] if "subject" in params.columns else None
    return model.simulate(
        thetas,
        n_trials,
        seed=seed,
        probs=None if probs is None else [float(p) for p in probs],
        reversal_every=reversal_every,
        ids=ids,
    )


@dataclass(eq=False)
class Recovery:
    """A parameter recovery: subjects simulated from known parameters, fitted back."""

    stats: pd.DataFrame
    """One row per parameter and scale ("theta", "natural"): n, correlation (Pearson r of
    true and fitted), bias (mean fitted − true), rmse."""
    subjects: pd.DataFrame
    """One row per subject: true_<p>, fitted_<p> (natural), true_theta_<p>,
    fitted_theta_<p>."""
    fits: pd.DataFrame = field(repr=False)
    """The fits (the columns of `fit_map`)."""
    data: Dataset = field(repr=False)
    """The simulated cohort."""
    failed: list = field(default_factory=list)
    """Subjects whose fit failed, with the reason (left out of `stats`)."""
    svg: str = field(default="", repr=False)
    """True against fitted per parameter (natural scale) as an SVG picture, with the
    identity line and r."""
    svg_theta: str = field(default="", repr=False)
    """The same on θ."""


def recover(
    model: Model,
    n_trials: int,
    *,
    population: Optional[Gaussian] = None,
    n_subjects: int = 30,
    params: Optional[pd.DataFrame] = None,
    em: bool = False,
    prior: Optional[Gaussian] = None,
    n_starts: int = 3,
    probs=None,
    reversal_every: Optional[int] = None,
    seed: int = 0,
    threads: Optional[int] = None,
) -> Recovery:
    """Parameter recovery: simulates subjects (from `params`, one row per subject on the
    natural scale, or `n_subjects` draws of θ from `population`, default the model's default
    prior), fits them back (MAP under `prior`, or EM with `em=True`) and reports r, bias
    and RMSE per parameter. RW models play the bandit of `probs`/`reversal_every`; task
    models their own task."""
    thetas = None if params is None else _thetas(model, params)
    d = _rlgrad._parameter_recovery(
        model,
        n_trials,
        population=population,
        n_subjects=n_subjects,
        thetas=thetas,
        em=em,
        prior=prior,
        n_starts=n_starts,
        probs=None if probs is None else [float(p) for p in probs],
        reversal_every=reversal_every,
        seed=seed,
        threads=threads,
    )
    return Recovery(
        stats=frame(d["stats"]),
        subjects=frame(d["subjects"]),
        fits=frame(d["fits"]),
        data=d["data"],
        failed=list(d["failed"]),
        svg=d["svg"],
        svg_theta=d["svg_theta"],
    )


@dataclass(eq=False)
class ModelRecovery:
    """A model recovery: cohorts simulated from each model, compared by a criterion."""

    counts: pd.DataFrame
    """Generating model (rows) by winning model (columns): cohorts."""
    fractions: pd.DataFrame
    """The same as fractions of each row."""
    cohorts: pd.DataFrame
    """One row per cohort: generating, winner."""
    criterion: str
    svg: str = field(default="", repr=False)
    """The confusion matrix as an SVG picture."""


def model_recovery(
    models: Mapping[str, object],
    n_trials: int,
    *,
    n_subjects: int = 30,
    n_cohorts: int = 5,
    criterion: str = "ibic",
    n_starts: int = 3,
    ibic_samples: int = 2000,
    probs=None,
    reversal_every: Optional[int] = None,
    seed: int = 0,
    threads: Optional[int] = None,
) -> ModelRecovery:
    """Model recovery: `n_cohorts` cohorts of `n_subjects` from each model (values: a
    `Model`, drawing θ from its default prior, or `(Model, Gaussian)` with the population to
    draw from), each cohort fitted by every model (EM) and compared by `criterion` ("bic",
    "aic", "laplace", "ibic"). Returns who wins for whom."""
    if not isinstance(models, Mapping):
        raise TypeError(f"models must be a dict {{name: Model}}, got {type(models).__name__}")
    if not models:
        raise ValueError("model_recovery: no models given")
    entries = []
    for name, value in models.items():
        model, population = (value if isinstance(value, tuple) else (value, None))
        entries.append((name, model, population))
    d = _rlgrad._model_recovery(
        entries,
        n_trials,
        n_subjects=n_subjects,
        n_cohorts=n_cohorts,
        criterion=criterion,
        n_starts=n_starts,
        ibic_samples=ibic_samples,
        probs=None if probs is None else [float(p) for p in probs],
        reversal_every=reversal_every,
        seed=seed,
        threads=threads,
    )
    names = list(d["names"])
    return ModelRecovery(
        counts=pd.DataFrame(d["counts"].astype(int), index=names, columns=names),
        fractions=pd.DataFrame(d["fractions"], index=names, columns=names),
        cohorts=pd.DataFrame({"generating": d["generating"], "winner": d["winner"]}),
        criterion=d["criterion"],
        svg=d["svg"],
    )
