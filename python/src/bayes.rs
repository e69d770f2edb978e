//! The hierarchical Bayesian posterior by NUTS (what hBayesDM gives with Stan): sampling
//! with the GIL released, the summary with R̂ and ESS, draws, PSIS-LOO and WAIC.

use pyo3::prelude::*;
use pyo3::types::PyDict;
use rlgrad::bayes::{Correlation, Hierarchical, HyperPrior, Posterior, SampleOptions, sample};

use crate::arrays::to_numpy2;
use crate::data::PyDataset;
use crate::error::OrPy;
use crate::model::PyModel;
use crate::pool;

/// Draws from a hierarchical posterior (see `rlgrad.sample`).
#[pyclass(module = "rlgrad._rlgrad", name = "_Posterior", frozen)]
pub struct PyPosterior {
    inner: Posterior,
}

/// Samples the hierarchical posterior of `model` on `data` (see `rlgrad.sample`).
#[pyfunction]
#[pyo3(signature = (model, data, *, chains = 4, warmup = 1000, draws = 1000, seed = 1, max_depth = 10, target_accept = 0.8, diagonal = false, eta = 2.0, mu_sd = 2.0, tau_sd = 1.0, threads = None))]
#[allow(clippy::too_many_arguments)]
pub fn _sample(
    py: Python<'_>,
    model: PyRef<'_, PyModel>,
    data: PyRef<'_, PyDataset>,
    chains: usize,
    warmup: usize,
    draws: usize,
    seed: u64,
    max_depth: u64,
    target_accept: f64,
    diagonal: bool,
    eta: f64,
    mu_sd: f64,
    tau_sd: f64,
    threads: Option<usize>,
) -> PyResult<PyPosterior> {
    let fm = model.fit_model();
    let k = fm.n_params();
    let correlation = if diagonal {
        Correlation::Diagonal
    } else {
        Correlation::Lkj { eta }
    };
    let hyper = HyperPrior::new(vec![0.0; k], vec![mu_sd; k], vec![tau_sd; k])
        .and_then(|h| h.with_correlation(correlation))
        .py()?;
    let options = SampleOptions {
        chains,
        warmup,
        draws,
        seed,
        max_depth,
        target_accept,
        ..SampleOptions::default()
    };
    options.check().py()?;
    let dataset = &*data.inner;
    let inner = pool::run(py, threads, || {
        let post = Hierarchical::new(fm, dataset, hyper)?;
        sample(&post, &options)
    })?;
    Ok(PyPosterior { inner })
}

#[pymethods]
impl PyPosterior {
    /// The summary as columns: name, mean, sd, q05, q50, q95, rhat, ess_bulk, ess_tail,
    /// mcse_mean; its warnings; and its line over all quantities.
    fn _summary<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyDict>, Vec<String>, String)> {
        let s = py.detach(|| self.inner.summary()).py()?;
        let r = &s.rows;
        let d = PyDict::new(py);
        d.set_item("name", r.iter().map(|q| q.name.clone()).collect::<Vec<_>>())?;
        d.set_item("mean", r.iter().map(|q| q.mean).collect::<Vec<_>>())?;
        d.set_item("sd", r.iter().map(|q| q.sd).collect::<Vec<_>>())?;
        d.set_item("q05", r.iter().map(|q| q.q05).collect::<Vec<_>>())?;
        d.set_item("q50", r.iter().map(|q| q.q50).collect::<Vec<_>>())?;
        d.set_item("q95", r.iter().map(|q| q.q95).collect::<Vec<_>>())?;
        d.set_item(
            "rhat",
            r.iter().map(|q| q.diagnostics.rhat).collect::<Vec<_>>(),
        )?;
        d.set_item(
            "ess_bulk",
            r.iter().map(|q| q.diagnostics.ess_bulk).collect::<Vec<_>>(),
        )?;
        d.set_item(
            "ess_tail",
            r.iter().map(|q| q.diagnostics.ess_tail).collect::<Vec<_>>(),
        )?;
        d.set_item(
            "mcse_mean",
            r.iter()
                .map(|q| q.diagnostics.mcse_mean)
                .collect::<Vec<_>>(),
        )?;
        Ok((d, s.warnings(), s.overall()))
    }

    /// The draws as columns: chain, draw, then every quantity (`Posterior.draw_columns`
    /// order: μ, τ, correlations, then each subject's natural parameters).
    fn _draws<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let names = self.inner.draw_columns();
        let (c, n) = (self.inner.n_chains(), self.inner.n_draws());
        let d = PyDict::new(py);
        d.set_item(
            "chain",
            (0..c)
                .flat_map(|k| std::iter::repeat_n(k, n))
                .collect::<Vec<_>>(),
        )?;
        d.set_item("draw", (0..c).flat_map(|_| 0..n).collect::<Vec<_>>())?;
        for (q, name) in names.iter().enumerate() {
            let per_chain = self.inner.column_draws(q).py()?;
            d.set_item(name, per_chain.concat())?;
        }
        Ok(d)
    }

    /// The pointwise log-likelihoods, draws (chains concatenated) × subjects.
    fn log_lik_matrix<'py>(&self, py: Python<'py>) -> Bound<'py, numpy::PyArray2<f64>> {
        to_numpy2(py, self.inner.log_lik_matrix())
    }

    /// PSIS-LOO with subjects as the observations: elpd_loo, se, p_loo, looic, pareto_k
    /// (per subject), warning.
    fn loo<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let l = py.detach(|| self.inner.loo()).py()?;
        let d = PyDict::new(py);
        d.set_item("elpd_loo", l.elpd_loo)?;
        d.set_item("se", l.se)?;
        d.set_item("p_loo", l.p_loo)?;
        d.set_item("looic", l.looic)?;
        d.set_item("pareto_k", l.pareto_k.clone())?;
        d.set_item("elpd_loo_i", l.elpd_loo_i.clone())?;
        d.set_item("warning", l.warning())?;
        Ok(d)
    }

    /// WAIC with subjects as the observations: elpd_waic, se, p_waic, waic, warning.
    fn waic<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let w = py.detach(|| self.inner.waic()).py()?;
        let d = PyDict::new(py);
        d.set_item("elpd_waic", w.elpd_waic)?;
        d.set_item("se", w.se)?;
        d.set_item("p_waic", w.p_waic)?;
        d.set_item("waic", w.waic)?;
        d.set_item("warning", w.warning())?;
        Ok(d)
    }

    /// Divergent transitions after warm-up.
    #[getter]
    fn divergences(&self) -> usize {
        self.inner.divergences()
    }

    /// Draws that hit the maximum tree depth.
    #[getter]
    fn max_depth_hits(&self) -> usize {
        self.inner.max_depth_hits()
    }

    /// Chains.
    #[getter]
    fn n_chains(&self) -> usize {
        self.inner.n_chains()
    }

    /// Draws per chain.
    #[getter]
    fn n_draws(&self) -> usize {
        self.inner.n_draws()
    }

    /// The subjects' ids.
    #[getter]
    fn subjects(&self) -> Vec<String> {
        self.inner.subject_ids().to_vec()
    }

    /// Wall-clock seconds of sampling.
    #[getter]
    fn seconds(&self) -> f64 {
        self.inner.seconds().1
    }
}
