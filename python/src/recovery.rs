//! Parameter and model recovery from Python: simulate cohorts from known parameters (or a
//! population), fit them back, and report how well the fit finds them.

use ndarray::Array1;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rlgrad::fit::{
    Candidate, Criterion, ModelRecoveryOptions, RecoveryFit, Truth, model_recovery,
    parameter_recovery,
};

use crate::arrays::{matrix, to_numpy2};
use crate::data::PyDataset;
use crate::error::OrPy;
use crate::fit::{em_options, fits_columns, map_options};
use crate::model::PyModel;
use crate::pool;
use crate::prior::PyGaussian;

/// The criterion argument.
fn criterion(s: &str) -> PyResult<Criterion> {
    Criterion::ALL
        .into_iter()
        .find(|c| c.name() == s.to_ascii_lowercase())
        .ok_or_else(|| {
            PyValueError::new_err(format!(
                "criterion = {s:?}: must be one of \"bic\", \"aic\", \"laplace\", \"ibic\""
            ))
        })
}

/// Parameter recovery (see `rlgrad.recover`).
#[pyfunction]
#[pyo3(signature = (model, n_trials, *, population = None, n_subjects = 30, thetas = None, em = false, prior = None, n_starts = 3, probs = None, reversal_every = None, seed = 0, threads = None))]
#[allow(clippy::too_many_arguments)]
pub fn _parameter_recovery<'py>(
    py: Python<'py>,
    model: PyRef<'py, PyModel>,
    n_trials: usize,
    population: Option<PyRef<'py, PyGaussian>>,
    n_subjects: usize,
    thetas: Option<&Bound<'py, PyAny>>,
    em: bool,
    prior: Option<PyRef<'py, PyGaussian>>,
    n_starts: usize,
    probs: Option<Vec<f64>>,
    reversal_every: Option<usize>,
    seed: u64,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let built = model.with_bandit(&model.bandit(probs, reversal_every)?)?;
    let names = built.names();
    let sim = built.simulator(n_trials).py()?;
    let given: Option<Vec<Array1<f64>>> = thetas
        .map(|t| matrix("thetas", t).map(|m| m.outer_iter().map(|r| r.to_owned()).collect()))
        .transpose()?;
    let default_population;
    let truth = match (&given, &population) {
        (Some(_), Some(_)) => {
            return Err(PyValueError::new_err(
                "give either thetas (one row per subject) or a population, not both",
            ));
        }
        (Some(g), None) => Truth::Given(g),
        (None, Some(p)) => Truth::Population(&p.inner, n_subjects),
        (None, None) => {
            default_population = model.name.default_prior(&names).py()?;
            Truth::Population(&default_population, n_subjects)
        }
    };
    let fit = if em {
        RecoveryFit::Em(em_options(n_starts, "full", 200, 1e-6)?)
    } else {
        let prior = match prior {
            Some(p) => p.inner.clone(),
            None => model.name.default_prior(&names).py()?,
        };
        RecoveryFit::Map(prior, map_options(n_starts))
    };
    let rec = pool::run(py, threads, || {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        parameter_recovery(&*sim, truth, &fit, &mut rng)
    })?;
    let d = PyDict::new(py);
    let stats = PyDict::new(py);
    let rows: Vec<_> = rec
        .theta
        .iter()
        .map(|s| ("theta", s))
        .chain(rec.natural.iter().map(|s| ("natural", s)))
        .collect();
    stats.set_item(
        "parameter",
        rows.iter().map(|(_, s)| s.name.clone()).collect::<Vec<_>>(),
    )?;
    stats.set_item("scale", rows.iter().map(|(c, _)| *c).collect::<Vec<_>>())?;
    stats.set_item("n", rows.iter().map(|(_, s)| s.n).collect::<Vec<_>>())?;
    stats.set_item(
        "correlation",
        rows.iter().map(|(_, s)| s.correlation).collect::<Vec<_>>(),
    )?;
    stats.set_item("bias", rows.iter().map(|(_, s)| s.bias).collect::<Vec<_>>())?;
    stats.set_item("rmse", rows.iter().map(|(_, s)| s.rmse).collect::<Vec<_>>())?;
    d.set_item("stats", stats)?;
    let subjects = PyDict::new(py);
    subjects.set_item(
        "subject",
        rec.subjects
            .iter()
            .map(|s| s.id.clone())
            .collect::<Vec<_>>(),
    )?;
    for (j, name) in names.iter().enumerate() {
        subjects.set_item(
            format!("true_{name}"),
            rec.subjects
                .iter()
                .map(|s| s.true_natural[j])
                .collect::<Vec<_>>(),
        )?;
        subjects.set_item(
            format!("fitted_{name}"),
            rec.subjects
                .iter()
                .map(|s| s.fitted_natural.as_ref().map_or(f64::NAN, |f| f[j]))
                .collect::<Vec<_>>(),
        )?;
    }
    for (j, name) in names.iter().enumerate() {
        subjects.set_item(
            format!("true_theta_{name}"),
            rec.subjects
                .iter()
                .map(|s| s.true_theta[j])
                .collect::<Vec<_>>(),
        )?;
        subjects.set_item(
            format!("fitted_theta_{name}"),
            rec.subjects
                .iter()
                .map(|s| s.fitted_theta.as_ref().map_or(f64::NAN, |f| f[j]))
                .collect::<Vec<_>>(),
        )?;
    }
    d.set_item("subjects", subjects)?;
    d.set_item(
        "fits",
        fits_columns(py, model.fit_model(), &rec.data, &rec.fits)?,
    )?;
    d.set_item("failed", rec.failed.clone())?;
    d.set_item(
        "svg",
        rlgrad::plots::recovery_scatter_svg(&rec, rlgrad::fit::Scale::Natural).py()?,
    )?;
    d.set_item(
        "svg_theta",
        rlgrad::plots::recovery_scatter_svg(&rec, rlgrad::fit::Scale::Theta).py()?,
    )?;
    d.set_item(
        "data",
        PyDataset {
            inner: std::sync::Arc::new(rec.data),
        },
    )?;
    Ok(d)
}

/// Model recovery (see `rlgrad.model_recovery`).
#[pyfunction]
#[pyo3(signature = (models, n_trials, *, n_subjects = 30, n_cohorts = 5, criterion = "ibic", n_starts = 3, ibic_samples = 2000, probs = None, reversal_every = None, seed = 0, threads = None))]
#[allow(clippy::too_many_arguments)]
pub fn _model_recovery<'py>(
    py: Python<'py>,
    models: Vec<(String, PyRef<'py, PyModel>, Option<PyRef<'py, PyGaussian>>)>,
    n_trials: usize,
    n_subjects: usize,
    n_cohorts: usize,
    criterion: &str,
    n_starts: usize,
    ibic_samples: usize,
    probs: Option<Vec<f64>>,
    reversal_every: Option<usize>,
    seed: u64,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let criterion = self::criterion(criterion)?;
    let mut sims = Vec::with_capacity(models.len());
    let mut populations = Vec::with_capacity(models.len());
    for (_, m, population) in &models {
        let built = m.with_bandit(&m.bandit(probs.clone(), reversal_every)?)?;
        populations.push(match population {
            Some(p) => p.inner.clone(),
            None => m.name.default_prior(&built.names()).py()?,
        });
        sims.push(built.simulator(n_trials).py()?);
    }
    let candidates: Vec<Candidate<'_>> = models
        .iter()
        .zip(&sims)
        .zip(&populations)
        .map(|(((name, _, _), sim), population)| Candidate {
            name,
            model: &**sim,
            population,
        })
        .collect();
    let options = ModelRecoveryOptions {
        n_subjects,
        n_cohorts,
        criterion,
        compare: rlgrad::fit::CompareOptions {
            em: em_options(n_starts, "full", 200, 1e-6)?,
            ibic_samples,
        },
    };
    let rec = pool::run(py, threads, || {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        model_recovery(&candidates, &options, &mut rng)
    })?;
    let d = PyDict::new(py);
    d.set_item("names", rec.names.clone())?;
    d.set_item("svg", rlgrad::plots::confusion_svg(&rec).py()?)?;
    d.set_item("criterion", rec.criterion.name())?;
    d.set_item("counts", to_numpy2(py, rec.counts.mapv(|c| c as f64)))?;
    d.set_item("fractions", to_numpy2(py, rec.fractions()))?;
    d.set_item(
        "generating",
        rec.cohorts
            .iter()
            .map(|c| rec.names[c.generating].clone())
            .collect::<Vec<_>>(),
    )?;
    d.set_item(
        "winner",
        rec.cohorts
            .iter()
            .map(|c| rec.names[c.winner].clone())
            .collect::<Vec<_>>(),
    )?;
    Ok(d)
}
