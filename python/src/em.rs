//! EM in steps, for cohorts that outgrow one process: `EmRun` hands out `EStepTask`s, any
//! worker runs `e_step` on its shard of subjects, the shards' `EStep`s merge, and `EmRun`
//! takes the merged sum (the M-step and the convergence test). Tasks and E-steps pickle
//! (as exact JSON), so Dask, multiprocessing or any queue can carry them. With the same
//! seed, the steps are those of `fit_em`: the fit matches it to rounding.

use std::collections::BTreeMap;

use ndarray::Array1;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rlgrad::fit::{EStep, EStepTask, EmRun, e_step};

use crate::arrays::to_numpy1;
use crate::data::PyDataset;
use crate::error::OrPy;
use crate::fit::{em_options, fits_columns};
use crate::model::PyModel;
use crate::pool;
use crate::prior::PyGaussian;

/// A value as exact JSON (floats round-trip bit for bit).
fn to_json<T: serde::Serialize>(what: &str, v: &T) -> PyResult<String> {
    serde_json::to_string(v)
        .map_err(|e| PyValueError::new_err(format!("cannot serialise the {what}: {e}")))
}

/// A value from `to_json`'s JSON.
fn from_json<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> PyResult<T> {
    serde_json::from_str(s).map_err(|e| PyValueError::new_err(format!("not a pickled {what}: {e}")))
}

/// One EM iteration's E-step as a value a worker can run on any shard of subjects:
/// the prior, the MAP settings, the seed and the warm starts. Pickles.
#[pyclass(module = "rlgrad._rlgrad", name = "EStepTask", frozen)]
pub struct PyEStepTask {
    inner: EStepTask,
}

#[pymethods]
impl PyEStepTask {
    /// The EM iteration (0-based).
    #[getter]
    fn iteration(&self) -> usize {
        self.inner.iteration
    }

    /// The seed of the subjects' generators.
    #[getter]
    fn seed(&self) -> u64 {
        self.inner.seed
    }

    /// The prior of this E-step.
    #[getter]
    fn prior(&self) -> PyGaussian {
        PyGaussian {
            inner: self.inner.prior.clone(),
        }
    }

    /// Optimiser starts per subject.
    #[getter]
    fn n_starts(&self) -> usize {
        self.inner.map.n_starts
    }

    #[staticmethod]
    fn _from_json(s: &str) -> PyResult<PyEStepTask> {
        Ok(PyEStepTask {
            inner: from_json("EStepTask", s)?,
        })
    }

    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let f = py.get_type::<PyEStepTask>().getattr("_from_json")?;
        let json = to_json("EStepTask", &self.inner)?;
        PyTuple::new(py, [f, PyTuple::new(py, [json])?.into_any()])
    }

    fn __repr__(&self) -> String {
        format!(
            "EStepTask(iteration={}, seed={}, n_starts={}, warm starts for {} subjects)",
            self.inner.iteration,
            self.inner.seed,
            self.inner.map.n_starts,
            self.inner.warm_starts.len()
        )
    }
}

/// The sums an E-step contributes to the M-step (subjects, Σθ̂, Σ(θ̂θ̂ᵀ + H⁻¹), summed log
/// posterior and log-likelihood, repaired and failed subjects, each subject's θ̂). Shards'
/// E-steps merge with `a.merge(b)` (a subject in both is an error) or `EStep.merge_all`.
/// Pickles.
#[pyclass(module = "rlgrad._rlgrad", name = "EStep", frozen)]
pub struct PyEStep {
    inner: EStep,
}

#[pymethods]
impl PyEStep {
    /// This E-step merged with `other` (a new value; neither is changed).
    fn merge(&self, other: PyRef<'_, PyEStep>) -> PyResult<PyEStep> {
        let mut merged = self.inner.clone();
        merged.merge(other.inner.clone()).py()?;
        Ok(PyEStep { inner: merged })
    }

    /// The E-steps of all shards merged (at least one).
    #[staticmethod]
    fn merge_all(steps: Vec<PyRef<'_, PyEStep>>) -> PyResult<PyEStep> {
        let mut it = steps.iter();
        let first = it
            .next()
            .ok_or_else(|| PyValueError::new_err("merge_all of no E-steps"))?;
        let mut merged = first.inner.clone();
        for s in it {
            merged.merge(s.inner.clone()).py()?;
        }
        Ok(PyEStep { inner: merged })
    }

    /// Subjects fitted.
    #[getter]
    fn n(&self) -> usize {
        self.inner.n
    }

    /// Σ log posterior.
    #[getter]
    fn log_posterior(&self) -> f64 {
        self.inner.log_posterior
    }

    /// Σ log-likelihood.
    #[getter]
    fn log_likelihood(&self) -> f64 {
        self.inner.log_likelihood
    }

    /// Subjects whose Hessian was repaired.
    #[getter]
    fn repaired(&self) -> usize {
        self.inner.repaired
    }

    /// Subjects whose fit failed, with the reason.
    #[getter]
    fn failed(&self) -> Vec<String> {
        self.inner.failed.clone()
    }

    /// θ̂ by subject id.
    #[getter]
    fn thetas<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (id, t) in &self.inner.thetas {
            d.set_item(id, to_numpy1(py, t.clone()))?;
        }
        Ok(d)
    }

    #[staticmethod]
    fn _from_json(s: &str) -> PyResult<PyEStep> {
        Ok(PyEStep {
            inner: from_json("EStep", s)?,
        })
    }

    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let f = py.get_type::<PyEStep>().getattr("_from_json")?;
        let json = to_json("EStep", &self.inner)?;
        PyTuple::new(py, [f, PyTuple::new(py, [json])?.into_any()])
    }

    fn __repr__(&self) -> String {
        format!(
            "EStep(n={}, log_posterior={}, repaired={}, failed={})",
            self.inner.n,
            self.inner.log_posterior,
            self.inner.repaired,
            self.inner.failed.len()
        )
    }
}

/// Runs `task`'s E-step on `data` (the whole cohort or a shard): `(EStep, fits)` with the
/// fits as columns (see `rlgrad.fit_map`).
#[pyfunction]
#[pyo3(signature = (model, data, task, *, threads = None))]
pub fn _e_step<'py>(
    py: Python<'py>,
    model: PyRef<'py, PyModel>,
    data: PyRef<'py, PyDataset>,
    task: PyRef<'py, PyEStepTask>,
    threads: Option<usize>,
) -> PyResult<(PyEStep, Bound<'py, PyDict>)> {
    let fm = model.fit_model();
    let dataset = &*data.inner;
    let t = &task.inner;
    let (stats, fits) = pool::run(py, threads, || e_step(fm, dataset, t))?;
    Ok((
        PyEStep { inner: stats },
        fits_columns(py, fm, dataset, &fits)?,
    ))
}

/// EM as a state machine, for E-steps run elsewhere (Dask workers, processes): `task =
/// run.next_task()`, run `rlgrad.e_step(model, shard, task)` on every shard, then
/// `run.update(EStep.merge_all(steps))`, until `next_task()` is None. With the same seed
/// and options its steps are `fit_em`'s.
#[pyclass(module = "rlgrad._rlgrad", name = "EmRun")]
pub struct PyEmRun {
    run: EmRun,
    rng: ChaCha8Rng,
    params: Vec<String>,
}

#[pymethods]
impl PyEmRun {
    #[new]
    #[pyo3(signature = (model, *, covariance = "full", n_starts = 3, max_iterations = 200, tolerance = 1e-6, seed = 0))]
    fn new(
        model: PyRef<'_, PyModel>,
        covariance: &str,
        n_starts: usize,
        max_iterations: usize,
        tolerance: f64,
        seed: u64,
    ) -> PyResult<PyEmRun> {
        let options = em_options(n_starts, covariance, max_iterations, tolerance)?;
        let fm = model.fit_model();
        Ok(PyEmRun {
            run: EmRun::new(fm.n_params(), &options).py()?,
            rng: ChaCha8Rng::seed_from_u64(seed),
            params: fm.layout().names().map(str::to_string).collect(),
        })
    }

    /// The next E-step to run, or None when EM has converged or reached max_iterations.
    fn next_task(&mut self) -> Option<PyEStepTask> {
        self.run
            .next_task(&mut self.rng)
            .map(|inner| PyEStepTask { inner })
    }

    /// Records the whole cohort's merged E-step: M-step, convergence test, warm starts.
    /// Returns the iteration's trace entry as a dict.
    fn update<'py>(
        &mut self,
        py: Python<'py>,
        stats: PyRef<'py, PyEStep>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let entry = self.run.update(&stats.inner).py()?;
        let d = PyDict::new(py);
        d.set_item("iteration", entry.iteration)?;
        d.set_item("log_posterior", entry.log_posterior)?;
        d.set_item("log_likelihood", entry.log_likelihood)?;
        d.set_item("repaired", entry.repaired)?;
        d.set_item("failed", entry.failed)?;
        d.set_item("mu", to_numpy1(py, entry.mu.clone()))?;
        d.set_item("cov", crate::arrays::to_numpy2(py, entry.sigma.clone()))?;
        Ok(d)
    }

    /// Whether EM has finished (converged or out of iterations).
    #[getter]
    fn done(&self) -> bool {
        self.run.is_done()
    }

    /// Whether EM converged.
    #[getter]
    fn converged(&self) -> bool {
        self.run.converged()
    }

    /// The current group prior N(μ, Σ).
    #[getter]
    fn prior(&self) -> PyGaussian {
        PyGaussian {
            inner: self.run.prior().clone(),
        }
    }

    /// The fit so far, as `fit_em` gives it but without the subjects: params, mu, cov,
    /// converged, prior, trace (columns).
    fn _result<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        let prior = self.run.prior();
        d.set_item("params", self.params.clone())?;
        d.set_item("mu", to_numpy1(py, rlgrad::prior::Prior::mean(prior)))?;
        d.set_item(
            "cov",
            crate::arrays::to_numpy2(py, prior.covariance().clone()),
        )?;
        d.set_item("converged", self.run.converged())?;
        d.set_item(
            "prior",
            PyGaussian {
                inner: prior.clone(),
            },
        )?;
        d.set_item(
            "trace",
            crate::fit::trace_columns(py, &self.params, self.run.trace())?,
        )?;
        // The picture of the iterations so far (none before the first update).
        let svg = if self.run.trace().is_empty() {
            String::new()
        } else {
            rlgrad::plots::em_trace_svg(self.run.trace(), &self.params).py()?
        };
        d.set_item("svg", svg)?;
        Ok(d)
    }

    /// Warm starts for the next E-step, {subject id: θ}.
    fn set_warm_starts(&mut self, starts: BTreeMap<String, Vec<f64>>) -> PyResult<()> {
        let starts = starts
            .into_iter()
            .map(|(k, v)| (k, Array1::from(v)))
            .collect();
        self.run.set_warm_starts(starts).py()
    }
}
