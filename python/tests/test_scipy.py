"""scipy's L-BFGS-B on `Model.objective` reaches the crate's MAP estimate to 1e-6."""

import numpy as np
from scipy.optimize import minimize

import rlgrad


def test_lbfgsb_on_the_objective_reaches_the_crates_map(cohort):
    data = rlgrad.Dataset.from_frame(cohort)
    model = rlgrad.Model("rw", "softmax", n_actions=2)
    prior = rlgrad.Gaussian(np.zeros(2), 3 * np.eye(2))
    fits = rlgrad.fit_map(model, data, prior, n_starts=1)
    for sid in data.ids[:8]:
        f = model.objective(data[sid], prior=prior)
        res = minimize(f, np.zeros(2), jac=True, method="L-BFGS-B", options={"gtol": 1e-10, "ftol": 1e-15})
        row = fits.loc[fits["subject"] == sid].iloc[0]
        map_theta = np.array([row["theta_alpha"], row["theta_beta"]])
        assert np.max(np.abs(res.x - map_theta)) < 1e-6, sid
        # The cost is minus the log posterior.
        assert np.isclose(f(map_theta)[0], -row["log_posterior"], rtol=1e-12)


def test_objective_gradient_and_hessian_against_finite_differences(cohort):
    data = rlgrad.Dataset.from_frame(cohort)
    model = rlgrad.Model("rw_dual", "softmax_persev", n_actions=2)
    f = model.objective(data[0], prior=model.default_prior())
    theta = np.array([0.2, -0.4, 0.9, 0.3])
    cost, grad = f(theta)
    h = 1e-6
    fd = np.array([(f(theta + h * e)[0] - f(theta - h * e)[0]) / (2 * h) for e in np.eye(4)])
    assert np.allclose(grad, fd, rtol=1e-5, atol=1e-6)
    hess = f.hessian(theta)
    fd_h = np.array([(f(theta + h * e)[1] - f(theta - h * e)[1]) / (2 * h) for e in np.eye(4)])
    assert np.allclose(hess, fd_h, rtol=1e-4, atol=1e-5)
    # The likelihood alone (no prior) is minus loglik.
    g = model.objective(data[0])
    assert g(theta)[0] == -model.loglik(theta, data[0])[0]
