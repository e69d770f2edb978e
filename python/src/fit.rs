//! Fitting from Python: MAP per subject, empirical-Bayes EM and model comparison, each run
//! with the GIL released on the crate's thread pool; results as dicts of columns (the
//! Python layer makes DataFrames).

use ndarray::Array1;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rlgrad::fit::{
    CompareOptions, Covariance, EmFit, EmOptions, FitModel, MapOptions, SubjectFit, compare, em,
    map,
};

use crate::arrays::{to_numpy1, to_numpy2};
use crate::data::PyDataset;
use crate::error::OrPy;
use crate::model::PyModel;
use crate::pool;
use crate::prior::PyGaussian;

/// The covariance argument: "full" or "diagonal".
pub fn covariance(s: &str) -> PyResult<Covariance> {
    match s.to_ascii_lowercase().as_str() {
        "full" => Ok(Covariance::Full),
        "diagonal" | "diag" => Ok(Covariance::Diagonal),
        _ => Err(PyValueError::new_err(format!(
            "covariance = {s:?}: must be \"full\" or \"diagonal\""
        ))),
    }
}

/// MAP options with `n_starts` starts per subject.
pub fn map_options(n_starts: usize) -> MapOptions {
    MapOptions {
        n_starts,
        ..MapOptions::default()
    }
}

/// EM options.
pub fn em_options(
    n_starts: usize,
    covariance_name: &str,
    max_iterations: usize,
    tolerance: f64,
) -> PyResult<EmOptions> {
    Ok(EmOptions {
        map: map_options(n_starts),
        covariance: covariance(covariance_name)?,
        max_iterations,
        tolerance,
        ..EmOptions::default()
    })
}

/// The subjects' fits as typed columns, one entry per subject in the fits' order: the
/// columns of `rlgrad fit --out` (subject, n_trials, theta_<p>, <p>, <p>_se,
/// log_likelihood, log_posterior, bic, aic, converged, stop_reason, iterations, grad_norm,
/// hessian_repaired, <p>_weak, error) and also log_prior and evaluations. A failed subject has NaN numbers,
/// converged False and its reason in `error`.
pub fn fits_columns<'py>(
    py: Python<'py>,
    model: &dyn FitModel,
    data: &rlgrad::data::Dataset,
    fits: &[SubjectFit],
) -> PyResult<Bound<'py, PyDict>> {
    let names: Vec<String> = model.layout().names().map(str::to_string).collect();
    let k = names.len();
    let n = fits.len();
    let nan = f64::NAN;
    let mut theta = vec![Vec::with_capacity(n); k];
    let mut natural = vec![Vec::with_capacity(n); k];
    let mut se = vec![Vec::with_capacity(n); k];
    let mut weak: Vec<Vec<Option<bool>>> = vec![Vec::with_capacity(n); k];
    let num = |get: &dyn Fn(&rlgrad::fit::MapFit) -> f64| -> Vec<f64> {
        fits.iter().map(|f| f.fit().map_or(nan, get)).collect()
    };
    let log_likelihood = num(&|f| f.log_likelihood);
    let log_prior = num(&|f| f.log_prior);
    let log_posterior = num(&|f| f.log_posterior);
    let bic = num(&|f| f.bic);
    let aic = num(&|f| f.aic);
    let grad_norm = num(&|f| f.grad_norm);
    for fit in fits {
        for j in 0..k {
            match fit.fit() {
                Some(f) => {
                    theta[j].push(f.theta[j]);
                    natural[j].push(f.params.get(&names[j]).unwrap_or(nan));
                    se[j].push(f.se.get(&names[j]).unwrap_or(nan));
                    weak[j].push(
                        f.identification
                            .iter()
                            .find(|i| i.name == names[j])
                            .map(|i| i.weak),
                    );
                }
                None => {
                    theta[j].push(nan);
                    natural[j].push(nan);
                    se[j].push(nan);
                    weak[j].push(None);
                }
            }
        }
    }
    let d = PyDict::new(py);
    d.set_item(
        "subject",
        fits.iter().map(|f| f.subject()).collect::<Vec<_>>(),
    )?;
    d.set_item(
        "n_trials",
        fits.iter()
            .map(|f| data.subject(f.subject()).map_or(0, |s| s.n_trials()))
            .collect::<Vec<_>>(),
    )?;
    for j in 0..k {
        d.set_item(
            format!("theta_{}", names[j]),
            to_numpy1(py, Array1::from(theta[j].clone())),
        )?;
    }
    for j in 0..k {
        d.set_item(&names[j], to_numpy1(py, Array1::from(natural[j].clone())))?;
        d.set_item(
            format!("{}_se", names[j]),
            to_numpy1(py, Array1::from(se[j].clone())),
        )?;
    }
    d.set_item(
        "log_likelihood",
        to_numpy1(py, Array1::from(log_likelihood)),
    )?;
    d.set_item("log_prior", to_numpy1(py, Array1::from(log_prior)))?;
    d.set_item("log_posterior", to_numpy1(py, Array1::from(log_posterior)))?;
    d.set_item("bic", to_numpy1(py, Array1::from(bic)))?;
    d.set_item("aic", to_numpy1(py, Array1::from(aic)))?;
    d.set_item(
        "converged",
        fits.iter()
            .map(|f| f.fit().is_some_and(|m| m.converged))
            .collect::<Vec<_>>(),
    )?;
    d.set_item(
        "stop_reason",
        fits.iter()
            .map(|f| f.fit().map(|m| m.stop_reason.clone()))
            .collect::<Vec<_>>(),
    )?;
    d.set_item(
        "iterations",
        fits.iter()
            .map(|f| f.fit().map_or(0, |m| m.iterations))
            .collect::<Vec<_>>(),
    )?;
    d.set_item(
        "evaluations",
        fits.iter()
            .map(|f| f.fit().map_or(0, |m| m.evaluations))
            .collect::<Vec<_>>(),
    )?;
    d.set_item("grad_norm", to_numpy1(py, Array1::from(grad_norm)))?;
    d.set_item(
        "hessian_repaired",
        fits.iter()
            .map(|f| f.fit().is_some_and(|m| m.hessian_repaired))
            .collect::<Vec<_>>(),
    )?;
    for j in 0..k {
        d.set_item(format!("{}_weak", names[j]), weak[j].clone())?;
    }
    d.set_item(
        "error",
        fits.iter()
            .map(|f| match f {
                SubjectFit::Fitted(_) => None,
                SubjectFit::Failed(e) => Some(e.error.to_string()),
            })
            .collect::<Vec<_>>(),
    )?;
    Ok(d)
}

/// An EM fit as a dict: params, mu, cov, converged, prior, subjects (columns), trace
/// (columns: iteration, log_posterior, log_likelihood, repaired, failed, mu_<p>, sd_<p>).
pub fn em_dict<'py>(
    py: Python<'py>,
    model: &dyn FitModel,
    data: &rlgrad::data::Dataset,
    fit: EmFit,
) -> PyResult<Bound<'py, PyDict>> {
    let names: Vec<String> = model.layout().names().map(str::to_string).collect();
    let d = PyDict::new(py);
    d.set_item("params", names.clone())?;
    d.set_item("mu", to_numpy1(py, fit.mu.clone()))?;
    d.set_item("cov", to_numpy2(py, fit.sigma.clone()))?;
    d.set_item("converged", fit.converged)?;
    d.set_item(
        "prior",
        PyGaussian {
            inner: fit.prior.clone(),
        },
    )?;
    d.set_item("subjects", fits_columns(py, model, data, &fit.fits)?)?;
    d.set_item("trace", trace_columns(py, &names, &fit.trace)?)?;
    d.set_item("svg", rlgrad::plots::em_trace_svg(&fit.trace, &names).py()?)?;
    Ok(d)
}

/// An EM trace as columns: iteration, log_posterior, log_likelihood, repaired, failed,
/// mu_<p>, sd_<p>.
pub fn trace_columns<'py>(
    py: Python<'py>,
    names: &[String],
    trace: &[rlgrad::fit::EmIteration],
) -> PyResult<Bound<'py, PyDict>> {
    let t = PyDict::new(py);
    t.set_item(
        "iteration",
        trace.iter().map(|i| i.iteration).collect::<Vec<_>>(),
    )?;
    t.set_item(
        "log_posterior",
        trace.iter().map(|i| i.log_posterior).collect::<Vec<_>>(),
    )?;
    t.set_item(
        "log_likelihood",
        trace.iter().map(|i| i.log_likelihood).collect::<Vec<_>>(),
    )?;
    t.set_item(
        "repaired",
        trace.iter().map(|i| i.repaired).collect::<Vec<_>>(),
    )?;
    t.set_item("failed", trace.iter().map(|i| i.failed).collect::<Vec<_>>())?;
    for (j, name) in names.iter().enumerate() {
        t.set_item(
            format!("mu_{name}"),
            trace.iter().map(|i| i.mu[j]).collect::<Vec<_>>(),
        )?;
    }
    for (j, name) in names.iter().enumerate() {
        t.set_item(
            format!("sd_{name}"),
            trace
                .iter()
                .map(|i| i.sigma[[j, j]].sqrt())
                .collect::<Vec<_>>(),
        )?;
    }
    Ok(t)
}

/// MAP fits of every subject (see `rlgrad.fit_map`).
#[pyfunction]
#[pyo3(signature = (model, data, prior = None, *, n_starts = 3, seed = 0, threads = None))]
pub fn _fit_map<'py>(
    py: Python<'py>,
    model: PyRef<'py, PyModel>,
    data: PyRef<'py, PyDataset>,
    prior: Option<PyRef<'py, PyGaussian>>,
    n_starts: usize,
    seed: u64,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let fm = model.fit_model();
    let prior = match prior {
        Some(p) => p.inner.clone(),
        None => model.name.default_prior(&model.menu.names()).py()?,
    };
    let options = map_options(n_starts);
    let dataset = &*data.inner;
    let fits = pool::run(py, threads, || {
        // Data the model cannot explain (a state beyond its table) is refused up front, as
        // fit_em refuses it, not reported as every subject failing.
        rlgrad::fit::check_explains(fm, dataset)?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        map(fm, dataset, &prior, &options, &mut rng)
    })?;
    fits_columns(py, fm, dataset, &fits)
}

/// Empirical-Bayes EM (see `rlgrad.fit_em`).
#[pyfunction]
#[pyo3(signature = (model, data, *, covariance = "full", n_starts = 3, max_iterations = 200, tolerance = 1e-6, seed = 0, threads = None))]
#[allow(clippy::too_many_arguments)]
pub fn _fit_em<'py>(
    py: Python<'py>,
    model: PyRef<'py, PyModel>,
    data: PyRef<'py, PyDataset>,
    covariance: &str,
    n_starts: usize,
    max_iterations: usize,
    tolerance: f64,
    seed: u64,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let options = em_options(n_starts, covariance, max_iterations, tolerance)?;
    let fm = model.fit_model();
    let dataset = &*data.inner;
    let fit = pool::run(py, threads, || {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        em(fm, dataset, &options, &mut rng)
    })?;
    em_dict(py, fm, dataset, fit)
}

/// Model comparison by BIC, AIC, Laplace evidence and iBIC (see `rlgrad.compare`).
#[pyfunction]
#[pyo3(signature = (models, data, *, covariance = "full", n_starts = 3, max_iterations = 200, ibic_samples = 2000, seed = 0, threads = None))]
#[allow(clippy::too_many_arguments)]
pub fn _compare<'py>(
    py: Python<'py>,
    models: Vec<(String, PyRef<'py, PyModel>)>,
    data: PyRef<'py, PyDataset>,
    covariance: &str,
    n_starts: usize,
    max_iterations: usize,
    ibic_samples: usize,
    seed: u64,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let options = CompareOptions {
        em: em_options(n_starts, covariance, max_iterations, 1e-6)?,
        ibic_samples,
    };
    let named: Vec<(&str, &dyn FitModel)> = models
        .iter()
        .map(|(n, m)| (n.as_str(), m.fit_model()))
        .collect();
    let dataset = &*data.inner;
    let comparison = pool::run(py, threads, || {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        compare(&named, dataset, &options, &mut rng)
    })?;
    let svg = rlgrad::plots::comparison_svg(&comparison, rlgrad::fit::Criterion::Ibic).py()?;
    let ms = &comparison.models;
    let best = ms.iter().map(|m| m.ibic.ibic).fold(f64::INFINITY, f64::min);
    let d = PyDict::new(py);
    d.set_item(
        "model",
        ms.iter().map(|m| m.name.clone()).collect::<Vec<_>>(),
    )?;
    d.set_item(
        "n_params",
        ms.iter().map(|m| m.n_params).collect::<Vec<_>>(),
    )?;
    d.set_item("bic", ms.iter().map(|m| m.bic).collect::<Vec<_>>())?;
    d.set_item("aic", ms.iter().map(|m| m.aic).collect::<Vec<_>>())?;
    d.set_item("laplace", ms.iter().map(|m| m.laplace).collect::<Vec<_>>())?;
    d.set_item("ibic", ms.iter().map(|m| m.ibic.ibic).collect::<Vec<_>>())?;
    d.set_item(
        "delta_ibic",
        ms.iter().map(|m| m.ibic.ibic - best).collect::<Vec<_>>(),
    )?;
    for (i, c) in ["bic", "aic", "laplace"].iter().enumerate() {
        d.set_item(
            format!("wins_{c}"),
            ms.iter().map(|m| m.wins[i]).collect::<Vec<_>>(),
        )?;
    }
    d.set_item(
        "n_failed",
        ms.iter().map(|m| m.n_failed).collect::<Vec<_>>(),
    )?;
    d.set_item("n_compared", comparison.n_compared)?;
    d.set_item("svg", svg)?;
    let ems = PyList::empty(py);
    for (m, (_, pm)) in comparison.models.into_iter().zip(&models) {
        ems.append(em_dict(py, pm.fit_model(), dataset, m.em)?)?;
    }
    d.set_item("em", ems)?;
    Ok(d)
}
