//! MAP estimation per subject, with a Laplace approximation at the optimum.
//!
//! For each subject: maximise log p(choices | θ) + log p(θ) with L-BFGS from the prior mean
//! and from `n_starts − 1` draws from the prior (each subject draws from its own stream,
//! keyed by the caller's generator and the subject's id, so results do not depend on thread
//! scheduling, nor on the order or the other subjects of the dataset), keep the best, then
//! compute the exact Hessian H = −∇² log posterior at θ̂. If H is not safely positive
//! definite the result says so and its eigenvalues are floored before inverting (never an
//! inverse of garbage); standard errors are √diag(H⁻¹) on θ, and |g′(θ̂)|·SE on the natural
//! scale (delta method).

use std::collections::BTreeMap;

use ndarray::{Array1, Array2, ArrayView1};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::identification::{Identification, identify};
use super::minimize::{MaximizeOptions, Maximum, Minimize, maximize};
use super::model::FitModel;
use crate::check;
use crate::data::{Dataset, Subject};
use crate::error::{Error, Result};
use crate::linalg;
use crate::params::NamedParams;
use crate::prior::Prior;
use crate::{Objective, Term};

/// Settings for [`map`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MapOptions {
    /// Number of starts: the prior mean, then draws from the prior.
    pub n_starts: usize,
    /// Optimiser settings.
    pub optimizer: MaximizeOptions,
    /// Eigenvalue floor for repairing H, relative to max(1, largest |eigenvalue|).
    pub hessian_floor: f64,
    /// Fit subjects in parallel with rayon (in the current rayon pool).
    pub parallel: bool,
    /// A parameter whose Laplace posterior variance on θ is at least this fraction of the
    /// prior's is flagged as weakly identified (see [`Identification`]); in (0, 1\].
    pub weak_variance_ratio: f64,
    /// A bounded parameter whose 95% interval covers at least this fraction of its natural
    /// range is flagged as weakly identified; in (0, 1\].
    pub weak_range_fraction: f64,
    /// Warm starts: each subject's first start, in dataset order (one for
    /// [`map_subject`]), in place of the prior mean; the other starts are still draws from
    /// the prior. [`em`](super::em) restarts each subject from its last θ̂ this way. `None`
    /// (the default): the prior mean.
    pub warm_starts: Option<Vec<Array1<f64>>>,
}

impl Default for MapOptions {
    fn default() -> Self {
        MapOptions {
            n_starts: 3,
            optimizer: MaximizeOptions::default(),
            hessian_floor: 1e-8,
            parallel: true,
            weak_variance_ratio: 0.5,
            weak_range_fraction: 0.5,
            warm_starts: None,
        }
    }
}

impl MapOptions {
    fn check(&self) -> Result<()> {
        self.optimizer.check()?;
        check::at_least_one("n_starts", self.n_starts)?;
        check::positive("hessian_floor", self.hessian_floor)?;
        for (name, v) in [
            ("weak_variance_ratio", self.weak_variance_ratio),
            ("weak_range_fraction", self.weak_range_fraction),
        ] {
            if !(v > 0.0 && v <= 1.0) {
                return Err(Error::invalid_option(name, v, "must be in (0, 1]"));
            }
        }
        Ok(())
    }
}

/// A subject's MAP estimate.
#[derive(Clone, Debug, Serialize)]
pub struct MapFit {
    /// Subject identifier.
    pub subject: String,
    /// Number of trials over all sessions, missed ones (no response) included.
    pub n_trials: usize,
    /// Number of choices (trials with a response): the observations, what BIC counts.
    pub n_choices: usize,
    /// θ̂ (unconstrained).
    pub theta: Array1<f64>,
    /// Natural parameters ψ̂ = g(θ̂), by name.
    pub params: NamedParams,
    /// Standard errors of θ̂: √diag(H⁻¹).
    pub theta_se: Array1<f64>,
    /// Standard errors of the natural parameters, |g′(θ̂)|·SE(θ̂), by name.
    pub se: NamedParams,
    /// log p(choices | θ̂).
    pub log_likelihood: f64,
    /// log p(θ̂).
    pub log_prior: f64,
    /// log p(choices | θ̂) + log p(θ̂).
    pub log_posterior: f64,
    /// ‖∇ log posterior‖₂ at θ̂.
    pub grad_norm: f64,
    /// L-BFGS iterations of the best start.
    pub iterations: u64,
    /// Value-and-gradient evaluations over all starts.
    pub evaluations: u64,
    /// Whether the best start converged (see [`MaximizeOptions::converged_grad_norm`]).
    pub converged: bool,
    /// Why the best start stopped.
    pub stop_reason: String,
    /// Which start won (0 = prior mean).
    pub best_start: usize,
    /// Starts that failed outright, with the reason.
    pub failed_starts: Vec<String>,
    /// H = −∇² log posterior at θ̂ (exact), before any repair.
    pub hessian: Array2<f64>,
    /// Whether H's smallest eigenvalue was below `hessian_floor · max(1, largest |eigenvalue|)`
    /// (H not positive definite, or too close to singular to invert safely), so that its
    /// eigenvalues were floored before inverting.
    pub hessian_repaired: bool,
    /// Smallest eigenvalue of H before repair.
    pub hessian_min_eigenvalue: f64,
    /// ln |H| after repair (for Laplace evidence).
    pub log_det_hessian: f64,
    /// Posterior covariance of θ ≈ H⁻¹ (after repair).
    pub covariance: Array2<f64>,
    /// BIC = −2 log p(choices | θ̂) + K ln(n_choices), at the MAP estimate (missed trials are
    /// not observations).
    pub bic: f64,
    /// AIC = −2 log p(choices | θ̂) + 2K, at the MAP estimate.
    pub aic: f64,
    /// Per parameter, whether the data informed it or the prior decided it (see
    /// [`Identification`]).
    pub identification: Vec<Identification>,
}

impl MapFit {
    /// The names of the weakly identified parameters (empty when the data informed all).
    ///
    /// ```
    /// use rlgrad::prelude::*;
    /// // Always arm 0, always rewarded: nothing tells the learning rate apart.
    /// let model = Model::new(RescorlaWagner::new(), Softmax::new(), 1, 2)?;
    /// let session = Session::bandit("1", vec![0; 40], vec![1.0; 40])?;
    /// let data = Dataset::new(vec![Subject::new("s", vec![session])?])?;
    /// let prior = MvGaussian::isotropic(2, 0.0, 9.0)?;
    /// let mut rng = ChaCha8Rng::seed_from_u64(1);
    /// let fits = rlgrad::fit::map(&model, &data, &prior, &MapOptions::default(), &mut rng)?;
    /// assert!(fits[0].fit().unwrap().weakly_identified().contains(&"alpha"));
    /// # Ok::<(), rlgrad::Error>(())
    /// ```
    pub fn weakly_identified(&self) -> Vec<&str> {
        self.identification
            .iter()
            .filter(|i| i.weak)
            .map(|i| i.name.as_str())
            .collect()
    }
}

/// A subject whose fit failed, and why.
#[derive(Debug, Serialize)]
pub struct FitFailure {
    /// Subject identifier.
    pub subject: String,
    /// The reason.
    #[serde(serialize_with = "serialize_display")]
    pub error: Error,
}

fn serialize_display<S: serde::Serializer>(
    e: &Error,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(e)
}

/// One subject's outcome: fitted, or failed with a reason. Never dropped.
#[derive(Debug, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum SubjectFit {
    /// The fit ran (check [`MapFit::converged`] and [`MapFit::hessian_repaired`]).
    Fitted(Box<MapFit>),
    /// No start could be evaluated, or the subject's data do not fit the model.
    Failed(FitFailure),
}

impl SubjectFit {
    /// The subject's identifier.
    pub fn subject(&self) -> &str {
        match self {
            SubjectFit::Fitted(f) => &f.subject,
            SubjectFit::Failed(f) => &f.subject,
        }
    }

    /// The fit, if there is one.
    pub fn fit(&self) -> Option<&MapFit> {
        match self {
            SubjectFit::Fitted(f) => Some(f),
            SubjectFit::Failed(_) => None,
        }
    }

    /// Whether there is a fit and it converged with a positive-definite Hessian.
    pub fn is_ok(&self) -> bool {
        self.fit()
            .is_some_and(|f| f.converged && !f.hessian_repaired)
    }
}

/// Fits one subject by MAP, drawing the extra starts from `rng`.
///
/// # Errors
/// Only for invalid options or a prior whose dimension differs from the model's; anything
/// that goes wrong with the subject itself is a [`SubjectFit::Failed`].
///
/// ```
/// use rand::SeedableRng;
/// use rlgrad::prelude::*;
/// let model = Model::new(RescorlaWagner::new(), Softmax::new(), 1, 2)?;
/// let session = Session::bandit("1", vec![0, 0, 1, 0, 1, 1], vec![1., 0., 1., 1., 0., 1.])?;
/// let subject = Subject::new("s1", vec![session])?;
/// let prior = MvGaussian::isotropic(2, 0.0, 4.0)?;
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
/// let fit = rlgrad::fit::map_subject(&model, &subject, &prior, &MapOptions::default(), &mut rng)?;
/// assert!(fit.is_ok());
/// # Ok::<(), rlgrad::Error>(())
/// ```
pub fn map_subject<M, P, R>(
    model: &M,
    subject: &Subject,
    prior: &P,
    options: &MapOptions,
    rng: &mut R,
) -> Result<SubjectFit>
where
    M: FitModel + ?Sized,
    P: Prior,
    R: Rng + ?Sized,
{
    check_inputs(model, prior, options, 1)?;
    let warm = options.warm_starts.as_ref().map(|w| w[0].view());
    Ok(fit_checked(model, subject, prior, options, warm, rng))
}

/// Options valid, the prior of the model's dimension, and one finite warm start of that
/// dimension per subject (if any): checked once per call.
fn check_inputs<M: FitModel + ?Sized, P: Prior>(
    model: &M,
    prior: &P,
    options: &MapOptions,
    n_subjects: usize,
) -> Result<()> {
    check_options_and_prior(model, prior, options)?;
    if let Some(starts) = &options.warm_starts {
        check::len("warm_starts (one per subject)", n_subjects, starts.len())?;
        for (i, start) in starts.iter().enumerate() {
            check::len(&format!("warm start {i}"), model.n_params(), start.len())?;
            check::finite_inputs_with(start.iter(), |k| format!("warm start {i}, entry {k}"))?;
        }
    }
    Ok(())
}

/// Options valid (their warm starts aside) and the prior of the model's dimension.
fn check_options_and_prior<M: FitModel + ?Sized, P: Prior>(
    model: &M,
    prior: &P,
    options: &MapOptions,
) -> Result<()> {
    options.check()?;
    check::len("prior (vs model parameters)", model.n_params(), prior.dim())
}

/// One subject, inputs already checked: its outcome, fitted or failed.
fn fit_checked<M, P, R>(
    model: &M,
    subject: &Subject,
    prior: &P,
    options: &MapOptions,
    warm: Option<ArrayView1<f64>>,
    rng: &mut R,
) -> SubjectFit
where
    M: FitModel + ?Sized,
    P: Prior,
    R: Rng + ?Sized,
{
    match fit_one(model, subject, prior, options, warm, rng) {
        Ok(fit) => SubjectFit::Fitted(Box::new(fit)),
        Err(error) => SubjectFit::Failed(FitFailure {
            subject: subject.id().to_string(),
            error,
        }),
    }
}

/// A stable 64-bit hash of a subject id (FNV-1a): its stream number.
fn stream_of(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Fits every subject of a dataset by MAP (see the module docs).
///
/// # Errors
/// As [`map_subject`]; per-subject failures are reported in the result, in dataset order.
///
/// ```
/// use rand::SeedableRng;
/// use rlgrad::prelude::*;
/// let model = Model::new(RescorlaWagner::new(), Softmax::new(), 1, 2)?;
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
/// let theta = model.layout().theta_from_natural(&[("alpha", 0.4), ("beta", 3.0)])?;
/// let mut env = Bandit::new(vec![0.8, 0.2])?;
/// let session = model.simulate(theta.view(), &mut env, 200, "1", &mut rng)?;
/// let data = Dataset::new(vec![Subject::new("s1", vec![session])?])?;
/// let prior = MvGaussian::isotropic(2, 0.0, 4.0)?;
/// let fits = rlgrad::fit::map(&model, &data, &prior, &MapOptions::default(), &mut rng)?;
/// let fit = fits[0].fit().expect("fitted");
/// assert!(fit.converged);
/// println!("{}", fit.params);
/// # Ok::<(), rlgrad::Error>(())
/// ```
pub fn map<M, P, R>(
    model: &M,
    data: &Dataset,
    prior: &P,
    options: &MapOptions,
    rng: &mut R,
) -> Result<Vec<SubjectFit>>
where
    M: FitModel + ?Sized,
    P: Prior + Sync,
    R: Rng + ?Sized,
{
    map_with_progress(model, data, prior, options, rng, |_| {})
}

/// As [`map`], calling `progress` with each subject's outcome as soon as it is done (from
/// whichever thread did it; for a progress bar).
///
/// One number is drawn from `rng`; each subject then draws its starts from its own stream of
/// a generator seeded with it, the stream chosen by a hash of the subject's id.
///
/// # Errors
/// As [`map`].
///
/// ```
/// use rand::SeedableRng;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use rlgrad::prelude::*;
/// let model = Model::new(RescorlaWagner::new(), Softmax::new(), 1, 2)?;
/// let s = |id: &str| Subject::new(id, vec![Session::bandit("1", vec![0, 1, 1], vec![1., 0., 1.])?]);
/// let data = Dataset::new(vec![s("a")?, s("b")?])?;
/// let prior = MvGaussian::isotropic(2, 0.0, 4.0)?;
/// let done = AtomicUsize::new(0);
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
/// let fits = rlgrad::fit::map_with_progress(&model, &data, &prior, &MapOptions::default(),
///     &mut rng, |_| { done.fetch_add(1, Ordering::Relaxed); })?;
/// assert_eq!(done.into_inner(), fits.len());
/// # Ok::<(), rlgrad::Error>(())
/// ```
pub fn map_with_progress<M, P, R, F>(
    model: &M,
    data: &Dataset,
    prior: &P,
    options: &MapOptions,
    rng: &mut R,
    progress: F,
) -> Result<Vec<SubjectFit>>
where
    M: FitModel + ?Sized,
    P: Prior + Sync,
    R: Rng + ?Sized,
    F: Fn(&SubjectFit) + Sync,
{
    check_inputs(model, prior, options, data.subjects().len())?;
    let base: u64 = rng.random();
    let warm = |i: usize, _: &Subject| options.warm_starts.as_ref().map(|w| w[i].view());
    Ok(map_seeded(
        model, data, prior, options, base, warm, progress,
    ))
}

/// As [`map`] with the warm starts given by subject id (a subject without one starts at the
/// prior mean) and the seed `base` given instead of drawn, so that any shard of a dataset
/// fits each of its subjects exactly as the whole dataset would. `options.warm_starts` is
/// not used.
///
/// # Errors
/// As [`map`], and a warm start of the wrong length or with a non-finite entry (named by
/// its subject). Warm starts of subjects that are not in `data` are ignored (they belong to
/// other shards).
pub(crate) fn map_by_id<M, P>(
    model: &M,
    data: &Dataset,
    prior: &P,
    options: &MapOptions,
    warm_starts: &BTreeMap<String, Array1<f64>>,
    base: u64,
) -> Result<Vec<SubjectFit>>
where
    M: FitModel + ?Sized,
    P: Prior + Sync,
{
    check_options_and_prior(model, prior, options)?;
    for subject in data.subjects() {
        if let Some(start) = warm_starts.get(subject.id()) {
            check_warm_start(subject.id(), model.n_params(), start)?;
        }
    }
    let warm = |_: usize, s: &Subject| warm_starts.get(s.id()).map(|w| w.view());
    Ok(map_seeded(model, data, prior, options, base, warm, |_| {}))
}

/// A subject's warm start is K finite numbers; the error names the subject.
pub(super) fn check_warm_start(id: &str, k: usize, start: &Array1<f64>) -> Result<()> {
    if start.len() != k {
        return Err(Error::dimension_mismatch(
            format!("warm start of subject `{id}`"),
            k,
            start.len(),
        ));
    }
    check::finite_inputs_with(start.iter(), |i| {
        format!("warm start of subject `{id}`, entry {i}")
    })
}

/// Every subject of `data`, inputs already checked, each from its own stream of a generator
/// seeded with `base`, its first start `warm(index, subject)` (`None`: the prior mean).
fn map_seeded<'w, M, P, W, F>(
    model: &M,
    data: &Dataset,
    prior: &P,
    options: &MapOptions,
    base: u64,
    warm: W,
    progress: F,
) -> Vec<SubjectFit>
where
    M: FitModel + ?Sized,
    P: Prior + Sync,
    W: Fn(usize, &Subject) -> Option<ArrayView1<'w, f64>> + Sync,
    F: Fn(&SubjectFit) + Sync,
{
    let one = |(i, subject): (usize, &Subject)| {
        let mut own = ChaCha8Rng::seed_from_u64(base);
        own.set_stream(stream_of(subject.id()));
        let fit = fit_checked(model, subject, prior, options, warm(i, subject), &mut own);
        progress(&fit);
        fit
    };
    if options.parallel {
        data.subjects().par_iter().enumerate().map(one).collect()
    } else {
        data.subjects().iter().enumerate().map(one).collect()
    }
}

fn fit_one<M, P, R>(
    model: &M,
    subject: &Subject,
    prior: &P,
    options: &MapOptions,
    warm: Option<ArrayView1<f64>>,
    rng: &mut R,
) -> Result<MapFit>
where
    M: FitModel + ?Sized,
    P: Prior,
    R: Rng + ?Sized,
{
    let likelihood = model.likelihood(subject)?;
    let posterior = Objective::new(model.n_params())
        .with("likelihood", 1.0, &*likelihood)?
        .with("prior", 1.0, prior)?;

    let mut best: Option<(usize, Maximum)> = None;
    let mut failed_starts = Vec::new();
    let mut evaluations = 0;
    for s in 0..options.n_starts {
        let start = if s == 0 {
            warm.map_or_else(|| prior.mean(), |w| w.to_owned())
        } else {
            prior.sample(rng)
        };
        match maximize(&posterior, start.view(), &options.optimizer) {
            Ok(m) => {
                evaluations += m.evaluations;
                if best.as_ref().is_none_or(|(_, b)| m.value > b.value) {
                    best = Some((s, m));
                }
            }
            Err(e) => failed_starts.push(format!("start {s}: {e}")),
        }
    }
    let Some((best_start, m)) = best else {
        return Err(Error::Optimizer {
            reason: format!(
                "all {} starts failed for subject `{}`: {}",
                options.n_starts,
                subject.id(),
                failed_starts.join("; ")
            ),
        });
    };

    // H = −∇² log posterior, from the adapter (the one place that negates).
    let neg_hess = Minimize::new(&posterior).cost_hessian(&m.theta)?;
    let laplace = laplace(&neg_hess, options.hessian_floor)?;
    let log_likelihood = likelihood.value(m.theta.view())?;
    let log_prior = prior.value(m.theta.view())?;

    let layout = model.layout();
    let names: Vec<String> = layout.names().map(str::to_string).collect();
    let theta_se = laplace.covariance.diag().mapv(f64::sqrt);
    let prior_sd = prior.marginal_sd();
    let identification = identify(
        layout,
        m.theta.view(),
        theta_se.view(),
        prior_sd.as_ref().map(|sd| sd.view()),
        options.weak_variance_ratio,
        options.weak_range_fraction,
    );
    let k = model.n_params() as f64;
    let bic = -2.0 * log_likelihood + k * (subject.n_choices() as f64).ln();
    let aic = -2.0 * log_likelihood + 2.0 * k;
    let nat_se: Vec<f64> = layout
        .specs()
        .iter()
        .zip(m.theta.iter().zip(theta_se.iter()))
        .map(|(spec, (&t, &se))| spec.transform.derivatives(t).1.abs() * se)
        .collect();
    Ok(MapFit {
        subject: subject.id().to_string(),
        n_trials: subject.n_trials(),
        n_choices: subject.n_choices(),
        params: layout.natural(m.theta.view())?,
        se: NamedParams::new(names, nat_se)?,
        theta_se,
        theta: m.theta,
        log_likelihood,
        log_prior,
        log_posterior: m.value,
        grad_norm: m.grad_norm,
        iterations: m.iterations,
        evaluations,
        converged: m.converged,
        stop_reason: m.stop_reason,
        best_start,
        failed_starts,
        hessian: neg_hess,
        hessian_repaired: laplace.repaired,
        hessian_min_eigenvalue: laplace.min_eigenvalue,
        log_det_hessian: laplace.log_det,
        covariance: laplace.covariance,
        bic,
        aic,
        identification,
    })
}

struct Laplace {
    covariance: Array2<f64>,
    repaired: bool,
    min_eigenvalue: f64,
    log_det: f64,
}

/// Inverts H through its eigen-decomposition, flooring eigenvalues below
/// `floor · max(1, max |λ|)`.
fn laplace(h: &Array2<f64>, floor: f64) -> Result<Laplace> {
    let (values, vectors) = linalg::symmetric_eigen(h.view(), "hessian of the log posterior")?;
    let min_eigenvalue = values.iter().copied().fold(f64::INFINITY, f64::min);
    let scale = values.iter().fold(1.0_f64, |m, v| m.max(v.abs()));
    let lo = floor * scale;
    let repaired = min_eigenvalue < lo;
    let fixed = values.mapv(|v| v.max(lo));
    let inv = fixed.mapv(|v| 1.0 / v);
    let covariance = vectors.dot(&Array2::from_diag(&inv)).dot(&vectors.t());
    Ok(Laplace {
        covariance: 0.5 * (&covariance + &covariance.t()),
        repaired,
        min_eigenvalue,
        log_det: fixed.iter().map(|v| v.ln()).sum(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::arr2;

    #[test]
    fn laplace_repairs_indefinite_hessians() {
        let h = arr2(&[[2.0, 0.0], [0.0, -1.0]]);
        let l = laplace(&h, 1e-8).unwrap();
        assert!(l.repaired);
        assert_eq!(l.min_eigenvalue, -1.0);
        assert!(l.covariance.iter().all(|v| v.is_finite()));
        assert!((l.covariance[[0, 0]] - 0.5).abs() < 1e-12);
        let ok = laplace(&arr2(&[[2.0, 0.5], [0.5, 1.0]]), 1e-8).unwrap();
        assert!(!ok.repaired);
        let inv = linalg::inverse_spd(arr2(&[[2.0, 0.5], [0.5, 1.0]]).view(), "h").unwrap();
        assert!((&ok.covariance - &inv).iter().all(|e| e.abs() < 1e-12));
    }
}
