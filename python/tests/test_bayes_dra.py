"""The hierarchical posterior, the model menu, simulation and DRA training from Python."""

import numpy as np
import pandas as pd

import rlgrad


def test_sample_a_small_posterior(cohort):
    data = rlgrad.Dataset.from_frame(cohort).subset([f"s{i:02d}" for i in range(1, 4)])
    model = rlgrad.Model("rw", "softmax", n_actions=2)
    post = rlgrad.sample(model, data, chains=2, warmup=40, draws=30, seed=4, threads=2)
    summary = post.summary()
    assert list(summary["name"][:2]) == ["mu[alpha]", "mu[beta]"]
    assert len(summary) == 2 + 2 + 1 + 3 * 2
    assert summary.attrs["overall"].startswith("over all 11 quantities: max R-hat")
    draws = post.draws()
    assert len(draws) == 60 and "corr[alpha,beta]" in draws.columns
    assert post.log_lik().shape == (60, 3)
    assert np.isfinite(post.loo()["elpd_loo"]) and np.isfinite(post.waic()["waic"])
    again = rlgrad.sample(model, data, chains=2, warmup=40, draws=30, seed=4, threads=1)
    assert again.draws().equals(draws)  # the thread count does not change the draws


def test_every_model_of_the_menu_builds_simulates_and_evaluates():
    table = rlgrad.models()
    assert len(table) == 16 and "two_step_hybrid" in set(table["model"])
    for name in table["model"]:
        model = rlgrad.Model(name, n_actions=2, n_states=1 if not name.startswith("rw_per") else 2)
        theta = np.zeros(model.n_params)
        data = model.simulate(np.tile(theta, (2, 1)), 30, seed=2)
        ll, grad = model.loglik(theta, data[0])
        assert np.isfinite(ll) and np.all(np.isfinite(grad)), name
        nat = model.natural(theta)
        assert list(nat) == model.params
        assert np.allclose(model.theta_from_natural(nat), theta, atol=1e-9)
        prior = model.default_prior()
        assert prior.dim == model.n_params


def test_simulate_is_seeded():
    model = rlgrad.Model("rw", "softmax")
    params = pd.DataFrame({"alpha": [0.3, 0.5], "beta": [3.0, 4.0]})
    a = rlgrad.simulate(model, params, 50, seed=9)
    b = rlgrad.simulate(model, params, 50, seed=9)
    c = rlgrad.simulate(model, params, 50, seed=10)
    assert a.ids == ["s1", "s2"]
    ca, cb, cc = a._columns(), b._columns(), c._columns()
    assert np.array_equal(ca["action"], cb["action"])
    assert not np.array_equal(ca["action"], cc["action"])


def test_dra_training_runs_in_parallel_and_is_seeded():
    a = rlgrad.dra.train("gridworld", runs=2, seed=5, n_trials=30, eval_every=10, eval_episodes=3, threads=2)
    b = rlgrad.dra.train("gridworld", runs=2, seed=5, n_trials=30, eval_every=10, eval_episodes=3, threads=1)
    assert a.equals(b)
    curves, runs = rlgrad.dra.train_runs("gridworld", runs=1, n_trials=20, eval_every=10, eval_episodes=2)
    assert runs[0]["sigma"].shape == (runs[0]["n_states"] * runs[0]["n_actions"],)
