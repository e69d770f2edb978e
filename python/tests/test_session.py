"""The issue's session, as written (on a file of simulated choices)."""

import numpy as np
import pandas as pd

import rlgrad


def test_the_session_as_written(cohort, tmp_path, monkeypatch):
    cohort.to_csv(tmp_path / "choices.csv", index=False)
    monkeypatch.chdir(tmp_path)
    subjects = ["s01"]

    df = pd.read_csv("choices.csv")  # subject, session, trial, state, action, reward
    data = rlgrad.Dataset.from_frame(df)  # or rlgrad.read_csv(path)
    model = rlgrad.Model("rw", "softmax", n_actions=2)
    fits = rlgrad.fit_map(model, data)
    pop = rlgrad.fit_em(model, data)
    table = rlgrad.compare(
        {"rw": model, "dual": rlgrad.Model("rw_dual", "softmax", n_actions=2)}, data
    )
    ll, grad, hess = model.loglik(np.array([0.0, 1.0]), data[subjects[0]], hessian=True)
    f = model.objective(data["s01"], prior=rlgrad.Gaussian(np.zeros(2), 3 * np.eye(2)))
    from scipy.optimize import minimize

    res = minimize(f, np.zeros(2), jac=True, method="L-BFGS-B")
    lat = rlgrad.latents(model, data, fits)
    curves = rlgrad.dra.train(
        "gridworld", sigma0=3.0, runs=2, seed=1, n_trials=40, eval_every=20, eval_episodes=5
    )

    read = rlgrad.read_csv("choices.csv")
    assert read.ids == data.ids and read.n_missed == data.n_missed == 2
    assert list(fits.columns[:4]) == ["subject", "n_trials", "theta_alpha", "theta_beta"]
    assert {"alpha", "alpha_se", "beta", "beta_se", "log_likelihood", "converged"} <= set(fits.columns)
    assert len(fits) == 24 and fits["converged"].all() and fits["error"].isna().all()
    assert pop.mu.shape == (2,) and pop.cov.shape == (2, 2) and pop.converged
    assert len(pop.subjects) == 24 and len(pop.trace) >= 2
    assert list(table["model"]) == ["rw", "dual"]
    assert table.loc[table["ibic"].idxmin(), "model"] == "rw"  # the data are RW
    assert np.isfinite(ll) and grad.shape == (2,) and hess.shape == (2, 2)
    assert np.allclose(hess, hess.T)
    assert res.success
    assert len(lat) == data.n_trials and {"q_0", "q_1", "prediction_error", "p_0"} <= set(lat.columns)
    assert np.isclose(
        lat.loc[lat["subject"] == "s01", "log_likelihood"].sum(),
        fits.loc[fits["subject"] == "s01", "log_likelihood"].iloc[0],
    )
    assert list(curves.columns) == [
        "run", "seed", "trial", "return_mean", "return_se", "cost", "objective",
    ]
    assert len(curves) == 4
