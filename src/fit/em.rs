//! Empirical-Bayes EM with the Laplace approximation (Huys et al. 2011): the group prior
//! N(μ, Σ) of a cohort, and every subject's MAP estimate under it.
//!
//! ```text
//! E-step:  per subject i, MAP under N(μ, Σ):  θ̂ᵢ, Hᵢ = −∇² log posterior at θ̂ᵢ   (fit::map)
//! M-step:  μ = (1/N) Σᵢ θ̂ᵢ
//!          Σ = (1/N) Σᵢ [ (θ̂ᵢ − μ)(θ̂ᵢ − μ)ᵀ + Hᵢ⁻¹ ] = (1/N) Σᵢ [ θ̂ᵢθ̂ᵢᵀ + Hᵢ⁻¹ ] − μμᵀ
//!          (Diagonal: the off-diagonal entries set to 0), plus `variance_floor` on the diagonal
//! stop:    |Δ Σᵢ log posteriorᵢ| ≤ tolerance · max(1, |Σᵢ log posteriorᵢ|) and
//!          maxₖ |Δμₖ| ≤ mu_tolerance, or after max_iterations
//! ```
//!
//! **Mergeable E-step.** What the M-step needs from the subjects is a sum: [`EStep`] holds N,
//! Σ θ̂ᵢ, Σ (θ̂ᵢθ̂ᵢᵀ + Hᵢ⁻¹), the summed log posterior and log-likelihood, and the counts of
//! repaired and failed subjects. [`EStep::merge`] adds two of them, so an E-step can run over
//! shards of subjects on any engine (processes, machines, the Python bindings' workers) and
//! be merged before [`EStep::m_step`]; in process, [`em`] runs the subjects in parallel with
//! rayon. Merging in another order changes the sums only by rounding.
//!
//! **Subjects are never dropped silently.** A subject whose Hessian is not positive definite
//! is repaired (eigenvalue floor, see [`map`](super::map)), counted in
//! [`EmIteration::repaired`] and flagged in its [`MapFit`]; it contributes its repaired H⁻¹.
//! A subject whose fit fails outright is counted in [`EmIteration::failed`], named in
//! [`EStep::failed`], and left out of that M-step (there is no θ̂ to add).

use ndarray::{Array1, Array2};
use rand::Rng;
use serde::Serialize;

use super::map::{MapFit, MapOptions, SubjectFit, map};
use super::model::FitModel;
use crate::check;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::prior::{MvGaussian, Prior};

/// The group covariance Σ of [`em`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Covariance {
    /// A full K × K covariance.
    Full,
    /// Independent parameters: a diagonal Σ.
    Diagonal,
}

/// Settings for [`em`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EmOptions {
    /// The MAP settings of each E-step. The first E-step uses all `n_starts`; later ones
    /// start each subject from its last θ̂ alone (a warm start).
    pub map: MapOptions,
    /// Full or diagonal Σ.
    pub covariance: Covariance,
    /// At most this many iterations (≥ 1).
    pub max_iterations: usize,
    /// Relative tolerance on the summed log posterior (> 0).
    pub tolerance: f64,
    /// Absolute tolerance on μ, in θ units (> 0).
    pub mu_tolerance: f64,
    /// The starting prior is N(0, initial_variance · I) (> 0).
    pub initial_variance: f64,
    /// Added to the diagonal of each new Σ, so that a parameter every subject agrees on
    /// keeps a proper prior (≥ 0). A cohort with no spread in a parameter (simulated
    /// identical subjects) shrinks its variance towards this floor a little every iteration,
    /// and may reach `max_iterations` before the tolerances: raise the floor (to the smallest
    /// variance that matters, say 1e-3) if that happens.
    pub variance_floor: f64,
}

impl Default for EmOptions {
    fn default() -> Self {
        EmOptions {
            map: MapOptions::default(),
            covariance: Covariance::Full,
            max_iterations: 200,
            tolerance: 1e-6,
            mu_tolerance: 1e-3,
            initial_variance: 10.0,
            variance_floor: 1e-6,
        }
    }
}

impl EmOptions {
    fn check(&self) -> Result<()> {
        check::at_least_one("max_iterations", self.max_iterations)?;
        check::positive("tolerance", self.tolerance)?;
        check::positive("mu_tolerance", self.mu_tolerance)?;
        check::positive("initial_variance", self.initial_variance)?;
        check::non_negative("variance_floor", self.variance_floor)
    }
}

/// The E-step's contribution to the M-step: sums over subjects, mergeable across shards.
///
/// ```
/// use ndarray::{arr1, arr2};
/// use rlgrad::fit::{Covariance, EStep};
/// use rlgrad::prior::Prior;
/// // Two shards of one subject each, merged, give the M-step of both.
/// let mut a = EStep::new(1);
/// a.add_point(arr1(&[1.0]).view(), arr2(&[[0.5]]).view(), -3.0, -2.0, false)?;
/// let mut b = EStep::new(1);
/// b.add_point(arr1(&[3.0]).view(), arr2(&[[0.5]]).view(), -4.0, -3.0, false)?;
/// a.merge(b)?;
/// let prior = a.m_step(Covariance::Full, 0.0)?;
/// assert_eq!(prior.mean()[0], 2.0);
/// // Σ = mean of θ̂² + H⁻¹ − μ² = (1 + 9)/2 + 0.5 − 4 = 1.5
/// assert!((prior.covariance()[[0, 0]] - 1.5).abs() < 1e-15);
/// # Ok::<(), rlgrad::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EStep {
    /// Subjects added (fitted).
    pub n: usize,
    /// Σ θ̂ᵢ.
    pub sum_theta: Array1<f64>,
    /// Σ (θ̂ᵢθ̂ᵢᵀ + Hᵢ⁻¹).
    pub sum_second: Array2<f64>,
    /// Σ log posteriorᵢ.
    pub log_posterior: f64,
    /// Σ log-likelihoodᵢ.
    pub log_likelihood: f64,
    /// Subjects whose Hessian was repaired.
    pub repaired: usize,
    /// Subjects whose fit failed, with the reason.
    pub failed: Vec<String>,
}

impl EStep {
    /// An empty contribution for K parameters.
    pub fn new(k: usize) -> EStep {
        EStep {
            n: 0,
            sum_theta: Array1::zeros(k),
            sum_second: Array2::zeros((k, k)),
            log_posterior: 0.0,
            log_likelihood: 0.0,
            repaired: 0,
            failed: Vec::new(),
        }
    }

    /// Adds one subject's outcome.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] for a fit of another dimension.
    pub fn add(&mut self, fit: &SubjectFit) -> Result<()> {
        match fit {
            SubjectFit::Fitted(f) => self.add_fit(f),
            SubjectFit::Failed(e) => {
                self.failed
                    .push(format!("subject `{}`: {}", e.subject, e.error));
                Ok(())
            }
        }
    }

    fn add_fit(&mut self, f: &MapFit) -> Result<()> {
        self.add_point(
            f.theta.view(),
            f.covariance.view(),
            f.log_posterior,
            f.log_likelihood,
            f.hessian_repaired,
        )
    }

    /// Adds a subject given θ̂, H⁻¹, its log posterior and log-likelihood, and whether H was
    /// repaired (for an E-step computed elsewhere).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] for sizes that are not K and K × K;
    /// [`Error::NonFiniteInput`] for a non-finite number.
    pub fn add_point(
        &mut self,
        theta: ndarray::ArrayView1<f64>,
        covariance: ndarray::ArrayView2<f64>,
        log_posterior: f64,
        log_likelihood: f64,
        repaired: bool,
    ) -> Result<()> {
        let k = self.sum_theta.len();
        check::len("theta-hat", k, theta.len())?;
        check::len("posterior covariance rows", k, covariance.nrows())?;
        check::len("posterior covariance columns", k, covariance.ncols())?;
        check::finite_inputs("theta-hat", theta.iter())?;
        check::finite_inputs("posterior covariance", covariance.iter())?;
        check::finite_input("log posterior", log_posterior)?;
        check::finite_input("log-likelihood", log_likelihood)?;
        self.n += 1;
        self.sum_theta += &theta;
        for i in 0..k {
            for j in 0..k {
                self.sum_second[[i, j]] += theta[i] * theta[j] + covariance[[i, j]];
            }
        }
        self.log_posterior += log_posterior;
        self.log_likelihood += log_likelihood;
        self.repaired += usize::from(repaired);
        Ok(())
    }

    /// Adds another shard's contribution.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] for shards of different K.
    pub fn merge(&mut self, other: EStep) -> Result<()> {
        check::len(
            "merged E-step (K)",
            self.sum_theta.len(),
            other.sum_theta.len(),
        )?;
        self.n += other.n;
        self.sum_theta += &other.sum_theta;
        self.sum_second += &other.sum_second;
        self.log_posterior += other.log_posterior;
        self.log_likelihood += other.log_likelihood;
        self.repaired += other.repaired;
        self.failed.extend(other.failed);
        Ok(())
    }

    /// The M-step: the new group prior N(μ, Σ) (see the module docs).
    ///
    /// # Errors
    /// [`Error::EmptyData`] if no subject was fitted; [`Error::NotPositiveDefinite`] if Σ is
    /// not positive definite (a floor of 0 with subjects that all agree, say).
    pub fn m_step(&self, covariance: Covariance, variance_floor: f64) -> Result<MvGaussian> {
        if self.n == 0 {
            let why = if self.failed.is_empty() {
                "no subject in the E-step".to_string()
            } else {
                format!("no subject could be fitted: {}", self.failed.join("; "))
            };
            return Err(Error::empty_data(why));
        }
        let n = self.n as f64;
        let mu = &self.sum_theta / n;
        let k = mu.len();
        let mut sigma = Array2::zeros((k, k));
        for i in 0..k {
            for j in 0..k {
                if i == j || covariance == Covariance::Full {
                    // Symmetrised: the sums are symmetric up to rounding.
                    let s = 0.5 * (self.sum_second[[i, j]] + self.sum_second[[j, i]]);
                    sigma[[i, j]] = s / n - mu[i] * mu[j];
                }
            }
            sigma[[i, i]] += variance_floor;
        }
        MvGaussian::new(mu, sigma).map_err(|e| match e {
            Error::NotPositiveDefinite { reason, .. } => Error::NotPositiveDefinite {
                what: "the group covariance of the M-step".to_string(),
                reason,
            },
            other => other,
        })
    }
}

/// One EM iteration: the E-step under the prior of the previous M-step, and the new prior.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EmIteration {
    /// 0-based.
    pub iteration: usize,
    /// Σᵢ log posterior of the E-step.
    pub log_posterior: f64,
    /// Σᵢ log-likelihood of the E-step.
    pub log_likelihood: f64,
    /// μ after the M-step.
    pub mu: Array1<f64>,
    /// Σ after the M-step.
    pub sigma: Array2<f64>,
    /// Subjects whose Hessian was repaired in the E-step.
    pub repaired: usize,
    /// Subjects whose fit failed in the E-step (left out of its M-step).
    pub failed: usize,
}

/// The result of [`em`].
#[derive(Debug, Serialize)]
pub struct EmFit {
    /// The group prior N(μ, Σ) of the last M-step.
    #[serde(skip)]
    pub prior: MvGaussian,
    /// μ.
    pub mu: Array1<f64>,
    /// Σ.
    pub sigma: Array2<f64>,
    /// Every subject's fit in the last E-step (under the prior before the last M-step, which
    /// differs from `prior` by less than the tolerances once converged), in dataset order.
    pub fits: Vec<SubjectFit>,
    /// One entry per iteration.
    pub trace: Vec<EmIteration>,
    /// Whether the tolerances were met before `max_iterations`.
    pub converged: bool,
}

/// Fits a cohort by empirical-Bayes EM (see the module docs).
///
/// ```
/// use rlgrad::fit::{em, EmOptions};
/// use rlgrad::prelude::*;
/// let model = Model::new(RescorlaWagner::new(), Softmax::new(), 1, 2)?;
/// let mut rng = ChaCha8Rng::seed_from_u64(3);
/// let mut subjects = Vec::new();
/// for (i, (alpha, beta)) in [(0.2, 3.0), (0.4, 5.0), (0.3, 2.0), (0.5, 4.0)].into_iter().enumerate() {
///     let theta = model.layout().theta_from_natural(&[("alpha", alpha), ("beta", beta)])?;
///     let mut env = Bandit::new(vec![0.8, 0.2])?.with_reversals(40)?;
///     let session = model.simulate(theta.view(), &mut env, 120, "1", &mut rng)?;
///     subjects.push(Subject::new(format!("s{i}"), vec![session])?);
/// }
/// let data = Dataset::new(subjects)?;
/// let fit = em(&model, &data, &EmOptions::default(), &mut rng)?;
/// assert!(fit.converged);
/// println!("mu = {}, iterations = {}", fit.mu, fit.trace.len());
/// # Ok::<(), rlgrad::Error>(())
/// ```
///
/// # Errors
/// Invalid options; an empty dataset ([`Error::EmptyData`]); an M-step with no fitted subject
/// or a group covariance that is not positive definite.
pub fn em<M, R>(model: &M, data: &Dataset, options: &EmOptions, rng: &mut R) -> Result<EmFit>
where
    M: FitModel + ?Sized,
    R: Rng + ?Sized,
{
    em_with_progress(model, data, options, rng, |_| {})
}

/// As [`em`], calling `progress` after every iteration.
///
/// # Errors
/// As [`em`].
pub fn em_with_progress<M, R>(
    model: &M,
    data: &Dataset,
    options: &EmOptions,
    rng: &mut R,
    mut progress: impl FnMut(&EmIteration),
) -> Result<EmFit>
where
    M: FitModel + ?Sized,
    R: Rng + ?Sized,
{
    options.check()?;
    if data.subjects().is_empty() {
        return Err(Error::empty_data("the cohort has no subjects"));
    }
    let k = model.n_params();
    let mut prior = MvGaussian::isotropic(k, 0.0, options.initial_variance)?;
    let mut map_options = options.map.clone();
    let mut trace: Vec<EmIteration> = Vec::new();
    let mut converged = false;
    let mut fits;
    loop {
        let iteration = trace.len();
        fits = map(model, data, &prior, &map_options, rng)?;
        let mut stats = EStep::new(k);
        for fit in &fits {
            stats.add(fit)?;
        }
        let next = stats.m_step(options.covariance, options.variance_floor)?;
        let entry = EmIteration {
            iteration,
            log_posterior: stats.log_posterior,
            log_likelihood: stats.log_likelihood,
            mu: next.mean(),
            sigma: next.covariance().clone(),
            repaired: stats.repaired,
            failed: stats.failed.len(),
        };
        progress(&entry);
        if let Some(last) = trace.last() {
            let d_lp = (entry.log_posterior - last.log_posterior).abs();
            let d_mu = (&entry.mu - &last.mu)
                .iter()
                .fold(0.0_f64, |m, d| m.max(d.abs()));
            if d_lp <= options.tolerance * entry.log_posterior.abs().max(1.0)
                && d_mu <= options.mu_tolerance
            {
                converged = true;
            }
        }
        trace.push(entry);
        prior = next;
        if converged || trace.len() >= options.max_iterations {
            break;
        }
        // Warm starts: each subject from its last θ̂ (the prior's new mean if it failed).
        map_options.n_starts = 1;
        map_options.warm_starts = Some(
            fits.iter()
                .map(|f| f.fit().map_or_else(|| prior.mean(), |m| m.theta.clone()))
                .collect(),
        );
    }
    Ok(EmFit {
        mu: prior.mean(),
        sigma: prior.covariance().clone(),
        prior,
        fits,
        trace,
        converged,
    })
}
