//! `Model`: a model of the crate's menu by name, with its log-likelihood (value, gradient,
//! Hessian) on one subject, its scipy-ready `Objective`, its parameters, its trial-wise
//! latents and its simulation.

use std::sync::Arc;

use ndarray::{Array1, Array2};
use numpy::{PyArray1, PyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rlgrad::argmin::core::{CostFunction, Gradient};
use rlgrad::data::{Dataset, MISSED, Subject};
use rlgrad::env::Bandit;
use rlgrad::fit::{FitModel, Minimize};
use rlgrad::menu::{MenuModel, ModelName, Table};
use rlgrad::prior::MvGaussian;
use rlgrad::{Objective, Term};

use crate::arrays::{to_numpy1, to_numpy2, vector};
use crate::data::{PyDataset, PySubject};
use crate::error::OrPy;
use crate::pool;
use crate::prior::PyGaussian;

/// A model of the crate's menu, built for a table of `n_states` states and `n_actions`
/// actions.
///
/// `Model("rw", "softmax", n_actions=2)` composes a learning rule (`rw`, `rw_dual`) with an
/// observation model (`softmax`, `softmax_persev`, `softmax_per_state`, `choice_kernel`);
/// `Model("two_step_hybrid")` names a model of the menu directly (`rlgrad.models()` lists
/// them all, with their parameters). θ is the unconstrained parameter vector in
/// `model.params` order (logit of rates, log of inverse temperatures, ...).
#[pyclass(module = "rlgrad._rlgrad", name = "Model", frozen)]
pub struct PyModel {
    pub name: ModelName,
    pub n_states: usize,
    pub n_actions: usize,
    pub menu: Arc<MenuModel>,
}

impl PyModel {
    /// The model to fit.
    pub fn fit_model(&self) -> &dyn FitModel {
        self.menu.model()
    }

    /// The model's θ from a Python argument, checked for its length.
    pub fn theta(&self, x: &Bound<'_, PyAny>) -> PyResult<Array1<f64>> {
        let theta = vector("theta", x)?;
        let k = self.fit_model().n_params();
        if theta.len() != k {
            return Err(PyValueError::new_err(format!(
                "theta has {} entries; model {} has {k} parameters ({})",
                theta.len(),
                self.name.name(),
                self.menu.names().join(", ")
            )));
        }
        Ok(theta)
    }

    /// The bandit the Rescorla-Wagner models simulate on: reward probabilities `probs`
    /// (default `rlgrad::menu::default_bandit_probs`: 0.8 for action 0, 0.2 for the
    /// others), reversed every `reversal_every` trials if given. A model that plays its own
    /// task refuses them.
    pub fn bandit(
        &self,
        probs: Option<Vec<f64>>,
        reversal_every: Option<usize>,
    ) -> PyResult<Bandit> {
        if let Some(task) = self.menu.own_task_name()
            && (probs.is_some() || reversal_every.is_some())
        {
            return Err(PyValueError::new_err(format!(
                "model {} plays its own task ({task}): probs and reversal_every set the \
                 bandit of the Rescorla-Wagner models and do not apply",
                self.name()
            )));
        }
        let probs = probs.unwrap_or_else(|| rlgrad::menu::default_bandit_probs(self.n_actions));
        let mut bandit = Bandit::new(probs).py()?;
        if let Some(every) = reversal_every {
            bandit = bandit.with_reversals(every).py()?;
        }
        Ok(bandit)
    }

    /// The model built again for `bandit` (to simulate).
    pub fn with_bandit(&self, bandit: &Bandit) -> PyResult<MenuModel> {
        self.name
            .build(&Table {
                n_states: self.n_states,
                n_actions: self.n_actions,
                bandit: Some(bandit),
            })
            .py()
    }
}

/// The menu model a rule and an observation compose into (`ModelName::compose`), or the
/// menu model `rule` names when there is no observation.
fn compose(rule: &str, observation: Option<&str>) -> PyResult<ModelName> {
    match observation {
        None => ModelName::from_name(rule).py(),
        Some(o) => ModelName::compose(rule, o).py(),
    }
}

#[pymethods]
impl PyModel {
    #[new]
    #[pyo3(signature = (rule, observation = None, *, n_actions = 2, n_states = 1))]
    fn new(
        rule: &str,
        observation: Option<&str>,
        n_actions: usize,
        n_states: usize,
    ) -> PyResult<PyModel> {
        let name = compose(rule, observation)?;
        let menu = name
            .build(&Table {
                n_states,
                n_actions,
                bandit: None,
            })
            .py()?;
        Ok(PyModel {
            name,
            n_states,
            n_actions,
            menu: Arc::new(menu),
        })
    }

    /// The model's name in the menu (snake case).
    #[getter]
    fn name(&self) -> String {
        self.name.name().replace('-', "_")
    }

    /// The parameter names, in θ order.
    #[getter]
    fn params(&self) -> Vec<String> {
        self.menu.names()
    }

    /// The number of parameters K.
    #[getter]
    fn n_params(&self) -> usize {
        self.fit_model().n_params()
    }

    /// The table the model was built for: (n_states, n_actions).
    #[getter]
    fn table(&self) -> (usize, usize) {
        (self.n_states, self.n_actions)
    }

    /// The weakly informative default MAP prior of the `rlgrad` program (one independent
    /// normal per parameter on θ, by name; `rlgrad fit --help` has the table).
    fn default_prior(&self) -> PyResult<PyGaussian> {
        Ok(PyGaussian {
            inner: self.name.default_prior(&self.menu.names()).py()?,
        })
    }

    /// The natural parameters ψ = g(θ) as a dict {name: value}.
    fn natural<'py>(
        &self,
        py: Python<'py>,
        theta: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let theta = self.theta(theta)?;
        let named = self.fit_model().layout().natural(theta.view()).py()?;
        let d = PyDict::new(py);
        for (name, v) in named.iter() {
            d.set_item(name, v)?;
        }
        Ok(d)
    }

    /// θ from natural values {name: value} (every parameter must be given, each in its
    /// range).
    fn theta_from_natural<'py>(
        &self,
        py: Python<'py>,
        values: std::collections::HashMap<String, f64>,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let pairs: Vec<(&str, f64)> = values.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        let theta = self.fit_model().layout().theta_from_natural(&pairs).py()?;
        Ok(to_numpy1(py, theta))
    }

    /// log p(choices | θ) of `subject`, its gradient with respect to θ, and with
    /// `hessian=True` its Hessian (exact where the model gives it, else central differences
    /// of the exact gradient). Returns `(ll, grad)` or `(ll, grad, hess)`.
    #[pyo3(signature = (theta, subject, *, hessian = false))]
    fn loglik<'py>(
        &self,
        py: Python<'py>,
        theta: &Bound<'py, PyAny>,
        subject: PyRef<'py, PySubject>,
        hessian: bool,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let theta = self.theta(theta)?;
        let k = theta.len();
        let model = self.fit_model();
        let s = subject.get();
        let (ll, grad, hess) = py
            .detach(
                || -> rlgrad::Result<(f64, Array1<f64>, Option<Array2<f64>>)> {
                    let term = model.likelihood(s)?;
                    let mut grad = Array1::zeros(k);
                    if hessian {
                        let mut hess = Array2::zeros((k, k));
                        let v = term.value_grad_hessian(
                            theta.view(),
                            grad.view_mut(),
                            hess.view_mut(),
                        )?;
                        Ok((v, grad, Some(hess)))
                    } else {
                        let v = term.value_and_grad(theta.view(), grad.view_mut())?;
                        Ok((v, grad, None))
                    }
                },
            )
            .py()?;
        let ll = ll.into_pyobject(py)?.into_any();
        let grad = to_numpy1(py, grad).into_any();
        match hess {
            Some(h) => PyTuple::new(py, [ll, grad, to_numpy2(py, h).into_any()]),
            None => PyTuple::new(py, [ll, grad]),
        }
    }

    /// The negative log posterior of `subject` under `prior` (or the negative
    /// log-likelihood, `prior=None`) as a scipy-ready callable: `f(theta) -> (cost,
    /// gradient)`, for `scipy.optimize.minimize(f, x0, jac=True)`; `f.hessian(theta)` gives
    /// the cost's Hessian.
    #[pyo3(signature = (subject, *, prior = None))]
    fn objective(
        slf: PyRef<'_, Self>,
        subject: PyRef<'_, PySubject>,
        prior: Option<PyRef<'_, PyGaussian>>,
    ) -> PyResult<PyObjective> {
        let k = slf.fit_model().n_params();
        let prior = prior.map(|p| p.inner.clone());
        if let Some(p) = &prior
            && p.dim() != k
        {
            return Err(PyValueError::new_err(format!(
                "the prior has dimension {}; model {} has {k} parameters",
                p.dim(),
                slf.name.name()
            )));
        }
        // The model must explain the subject: refuse now, not at the first call.
        slf.fit_model().likelihood(subject.get()).py()?;
        Ok(PyObjective {
            model: Arc::clone(&slf.menu),
            subject: subject.get().clone(),
            prior,
        })
    }

    /// The trial-wise latent variables at θ of `subject` (Rescorla-Wagner + softmax models):
    /// a dict of columns (session, trial, state, action, reward, q_<a>, chosen_value,
    /// prediction_error, p_<a>, log_likelihood), one entry per trial.
    fn latents<'py>(
        &self,
        py: Python<'py>,
        theta: &Bound<'py, PyAny>,
        subject: PyRef<'py, PySubject>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let theta = self.theta(theta)?;
        let rw = self.menu.rw().ok_or_else(|| {
            let with: Vec<String> = ModelName::ALL
                .iter()
                .filter(|m| m.has_latents())
                .map(|m| m.name().replace('-', "_"))
                .collect();
            PyValueError::new_err(format!(
                "model {} has no trial-wise latents: they are exported for the \
                 Rescorla-Wagner + softmax models ({})",
                self.name(),
                with.join(", ")
            ))
        })?;
        let lat = rw.latents(theta.view(), subject.get()).py()?;
        let d = PyDict::new(py);
        let ids = lat.session_ids();
        d.set_item(
            "session",
            lat.sessions()
                .iter()
                .map(|&s| ids[s].clone())
                .collect::<Vec<_>>(),
        )?;
        d.set_item(
            "trial",
            PyArray1::from_iter(py, lat.trials().iter().map(|&t| t as i64)),
        )?;
        d.set_item(
            "state",
            PyArray1::from_iter(py, lat.states().iter().map(|&s| i64::from(s))),
        )?;
        d.set_item(
            "action",
            PyArray1::from_iter(
                py,
                lat.actions()
                    .iter()
                    .map(|&a| if a == MISSED { -1 } else { i64::from(a) }),
            ),
        )?;
        d.set_item("reward", PyArray1::from_slice(py, lat.rewards()))?;
        for a in 0..lat.n_actions() {
            d.set_item(
                format!("q_{a}"),
                PyArray1::from_iter(py, lat.values().column(a).iter().copied()),
            )?;
        }
        d.set_item(
            "chosen_value",
            PyArray1::from_slice(py, lat.chosen_values()),
        )?;
        d.set_item(
            "prediction_error",
            PyArray1::from_slice(py, lat.prediction_errors()),
        )?;
        for a in 0..lat.n_actions() {
            d.set_item(
                format!("p_{a}"),
                PyArray1::from_iter(py, lat.probabilities().column(a).iter().copied()),
            )?;
        }
        d.set_item(
            "log_likelihood",
            PyArray1::from_slice(py, lat.log_likelihoods()),
        )?;
        Ok(d)
    }

    /// Simulates one subject per row of `thetas` (n × K) for `n_trials` trials: the
    /// Rescorla-Wagner models on a bandit with reward probabilities `probs` (reversed every
    /// `reversal_every` trials if given), the task models on their own task. Subject ids
    /// are `ids` or s1, s2, ...; seeded by `seed` (one generator, subject after subject).
    #[pyo3(signature = (thetas, n_trials, *, seed = 0, probs = None, reversal_every = None, ids = None))]
    #[allow(clippy::too_many_arguments)]
    fn simulate(
        &self,
        py: Python<'_>,
        thetas: &Bound<'_, PyAny>,
        n_trials: usize,
        seed: u64,
        probs: Option<Vec<f64>>,
        reversal_every: Option<usize>,
        ids: Option<Vec<String>>,
    ) -> PyResult<PyDataset> {
        let thetas = crate::arrays::matrix("thetas", thetas)?;
        let k = self.fit_model().n_params();
        if thetas.ncols() != k {
            return Err(PyValueError::new_err(format!(
                "thetas has {} columns; model {} has {k} parameters ({})",
                thetas.ncols(),
                self.name.name(),
                self.menu.names().join(", ")
            )));
        }
        let n = thetas.nrows();
        let ids = match ids {
            Some(ids) if ids.len() != n => {
                return Err(PyValueError::new_err(format!(
                    "ids has {} entries for {n} rows of thetas",
                    ids.len()
                )));
            }
            Some(ids) => ids,
            None => (1..=n).map(|i| format!("s{i}")).collect(),
        };
        let built = self.with_bandit(&self.bandit(probs, reversal_every)?)?;
        let sim = built.simulator(n_trials).py()?;
        // One generator in subject order (as `rlgrad simulate`): sequential, off the GIL.
        let data = pool::run(py, None, || {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let subjects = (0..n)
                .map(|i| sim.simulate_subject(thetas.row(i), i, &ids[i], &mut rng))
                .collect::<rlgrad::Result<Vec<Subject>>>()?;
            Dataset::new(subjects)
        })?;
        Ok(PyDataset {
            inner: Arc::new(data),
        })
    }

    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let rebuild = py.import("rlgrad._rlgrad")?.getattr("_model")?;
        let args = (self.name(), self.n_states, self.n_actions).into_pyobject(py)?;
        PyTuple::new(py, [rebuild, args.into_any()])
    }

    fn __repr__(&self) -> String {
        format!(
            "Model({:?}, params=[{}], n_states={}, n_actions={})",
            self.name(),
            self.menu.names().join(", "),
            self.n_states,
            self.n_actions
        )
    }
}

/// `Model(name, n_states, n_actions)` for unpickling.
#[pyfunction]
pub fn _model(name: &str, n_states: usize, n_actions: usize) -> PyResult<PyModel> {
    PyModel::new(name, None, n_actions, n_states)
}

/// The negative log posterior (or log-likelihood) of one subject as a function of θ, in the
/// minimisation sign scipy expects: `f(theta) -> (cost, gradient)`.
#[pyclass(module = "rlgrad._rlgrad", name = "Objective", frozen)]
pub struct PyObjective {
    model: Arc<MenuModel>,
    subject: Subject,
    prior: Option<MvGaussian>,
}

impl PyObjective {
    /// Runs `f` on the cost adapter of the subject's log posterior.
    fn with_cost<T>(
        &self,
        f: impl FnOnce(&Minimize<'_, Objective<'_>>) -> rlgrad::Result<T>,
    ) -> rlgrad::Result<T> {
        let model = self.model.model();
        let likelihood = model.likelihood(&self.subject)?;
        let mut objective =
            Objective::new(model.n_params()).with("likelihood", 1.0, &*likelihood)?;
        if let Some(prior) = &self.prior {
            objective = objective.with("prior", 1.0, prior)?;
        }
        f(&Minimize::new(&objective))
    }

    fn theta(&self, x: &Bound<'_, PyAny>) -> PyResult<Array1<f64>> {
        let theta = vector("theta", x)?;
        let k = self.model.model().n_params();
        if theta.len() != k {
            return Err(PyValueError::new_err(format!(
                "theta has {} entries; the objective has {k} parameters ({})",
                theta.len(),
                self.model.names().join(", ")
            )));
        }
        Ok(theta)
    }
}

#[pymethods]
impl PyObjective {
    /// `(cost, gradient)` at θ: cost = −(log-likelihood + log prior).
    fn __call__<'py>(
        &self,
        py: Python<'py>,
        theta: &Bound<'py, PyAny>,
    ) -> PyResult<(f64, Bound<'py, PyArray1<f64>>)> {
        let theta = self.theta(theta)?;
        let (cost, grad) = py
            .detach(|| {
                self.with_cost(|m| {
                    let cost = m.cost(&theta).map_err(argmin_error)?;
                    let grad = m.gradient(&theta).map_err(argmin_error)?;
                    Ok((cost, grad))
                })
            })
            .py()?;
        Ok((cost, to_numpy1(py, grad)))
    }

    /// The cost's Hessian at θ (exact where the model gives it).
    fn hessian<'py>(
        &self,
        py: Python<'py>,
        theta: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let theta = self.theta(theta)?;
        let h = py
            .detach(|| self.with_cost(|m| m.cost_hessian(&theta)))
            .py()?;
        Ok(to_numpy2(py, h))
    }

    /// The number of parameters K.
    #[getter]
    fn n_params(&self) -> usize {
        self.model.model().n_params()
    }

    fn __repr__(&self) -> String {
        format!(
            "Objective(model {}, subject {:?}, {})",
            self.model.name().name(),
            self.subject.id(),
            if self.prior.is_some() {
                "with a prior"
            } else {
                "likelihood alone"
            }
        )
    }
}

/// An argmin error from the cost adapter back to the crate's error (the adapter wraps the
/// crate's errors).
fn argmin_error(e: rlgrad::argmin::core::Error) -> rlgrad::Error {
    match e.downcast::<rlgrad::Error>() {
        Ok(e) => e,
        Err(other) => rlgrad::Error::Optimizer {
            reason: other.to_string(),
        },
    }
}

/// The menu: (name in snake case, description) of every model.
#[pyfunction]
pub fn _models() -> Vec<(String, &'static str)> {
    ModelName::ALL
        .iter()
        .map(|m| (m.name().replace('-', "_"), m.description()))
        .collect()
}
