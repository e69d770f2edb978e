//! Model comparison: per-subject BIC, AIC and Laplace log evidence, the integrated BIC of a
//! cohort (Huys et al. 2011), and a table over models.
//!
//! The exact definitions (the field's tools differ; these are the ones used here):
//!
//! ```text
//! BIC_i     = −2 ℓᵢ(θ̂ᵢ) + K ln nᵢ          nᵢ = subject i's choices (missed trials aside), K = parameters
//! AIC_i     = −2 ℓᵢ(θ̂ᵢ) + 2K
//! Laplace_i = ℓᵢ(θ̂ᵢ) + ln N(θ̂ᵢ; μ, Σ) + (K/2) ln 2π − ½ ln |Hᵢ|
//!             (log evidence, larger is better; Hᵢ = −∇² log posterior at θ̂ᵢ, repaired if needed)
//! iBIC      = −2 Σᵢ ln( (1/S) Σₛ p(Aᵢ | θₛ) ) + G ln n,   θₛ ~ N(μ, Σ) (the same S draws for
//!             every subject), n = all choices of the cohort, G = group parameters:
//!             2K for a diagonal Σ (μ and the variances: Huys et al. 2011 count 2K),
//!             K + K(K + 1)/2 for a full Σ; the inner sum by log-sum-exp
//! ```
//!
//! BIC, AIC and iBIC: smaller is better; Laplace evidence: larger is better. The per-subject
//! criteria are those of the subject's MAP fit in the last E-step of its model's EM (under
//! the prior before the last M-step, within the EM tolerances of the final one); the iBIC uses
//! the final prior. Summed criteria and per-subject wins are over the subjects every model
//! fitted, so that a model cannot gain by failing on a subject. A subject that a model
//! cannot explain at all (an action outside its table) makes the comparison an error.

use ndarray::Array1;
use rand::Rng;
use rayon::prelude::*;
use serde::Serialize;

use super::em::{Covariance, EmFit, EmOptions, em};
use super::map::MapFit;
use super::model::FitModel;
use crate::Term;
use crate::check;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::numeric::log_sum_exp;
use crate::prior::{MvGaussian, Prior};

/// ln 2π.
const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// The Laplace approximation to a subject's log model evidence, ln p(Aᵢ | model, μ, Σ), from
/// its MAP fit under the prior N(μ, Σ) (see the module docs).
///
/// ```
/// use rlgrad::fit::{laplace_log_evidence, map_subject};
/// use rlgrad::prelude::*;
/// let model = Model::new(RescorlaWagner::new(), Softmax::new(), 1, 2)?;
/// let session = Session::bandit("1", vec![0, 0, 1, 0, 1, 1], vec![1., 0., 1., 1., 0., 1.])?;
/// let subject = Subject::new("s1", vec![session])?;
/// let prior = MvGaussian::isotropic(2, 0.0, 4.0)?;
/// let mut rng = ChaCha8Rng::seed_from_u64(5);
/// let fit = map_subject(&model, &subject, &prior, &MapOptions::default(), &mut rng)?;
/// let f = fit.fit().unwrap();
/// let k = 2.0;
/// let expected = f.log_posterior + 0.5 * k * (2.0 * std::f64::consts::PI).ln() - 0.5 * f.log_det_hessian;
/// assert!((laplace_log_evidence(f) - expected).abs() < 1e-12);
/// # Ok::<(), rlgrad::Error>(())
/// ```
pub fn laplace_log_evidence(fit: &MapFit) -> f64 {
    let k = fit.theta.len() as f64;
    fit.log_posterior + 0.5 * k * LN_2PI - 0.5 * fit.log_det_hessian
}

/// The integrated BIC of a cohort under a group prior, with what went into it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Ibic {
    /// iBIC (smaller is better).
    pub ibic: f64,
    /// Per subject, ln((1/S) Σₛ p(Aᵢ | θₛ)), in dataset order.
    pub log_marginal: Vec<f64>,
    /// S, the number of draws from the group prior.
    pub n_samples: usize,
    /// (Subject, draw) pairs at which the likelihood could not be evaluated (a transform that
    /// overflows at an extreme θ): counted as p = 0 there, and reported here.
    pub failed_evaluations: usize,
    /// n, the number of choices of the cohort (trials with a response; missed trials are not
    /// observations).
    pub n_choices: usize,
    /// G, the number of group parameters in the penalty.
    pub n_group_params: usize,
}

/// The integrated BIC of `data` under `model` with group prior `prior` (see the module docs),
/// from `n_samples` draws of `rng`; subjects run in parallel.
///
/// # Errors
/// [`Error::InvalidOption`] for `n_samples` = 0; [`Error::DimensionMismatch`] for a prior
/// that is not of the model's dimension; [`Error::EmptyData`] for an empty cohort; a subject
/// the model cannot explain; [`Error::NonFiniteResult`] if a subject's likelihood is 0 at
/// every draw.
pub fn ibic<M, R>(
    model: &M,
    data: &Dataset,
    prior: &MvGaussian,
    covariance: Covariance,
    n_samples: usize,
    rng: &mut R,
) -> Result<Ibic>
where
    M: FitModel + ?Sized,
    R: Rng + ?Sized,
{
    check::at_least_one("n_samples", n_samples)?;
    let k = model.n_params();
    check::len("group prior (vs model parameters)", k, prior.dim())?;
    if data.subjects().is_empty() {
        return Err(Error::empty_data("the cohort has no subjects"));
    }
    check::floats(&[n_samples, k], "n_samples", n_samples, "the iBIC draws")?;
    let draws: Vec<Array1<f64>> = (0..n_samples).map(|_| prior.sample(rng)).collect();
    let per_subject: Vec<(f64, usize)> = data
        .subjects()
        .par_iter()
        .map(|subject| {
            let likelihood = model.likelihood(subject)?;
            let mut failed = 0;
            let values: Vec<f64> = draws
                .iter()
                .map(|theta| match likelihood.value(theta.view()) {
                    Ok(v) => v,
                    Err(_) => {
                        failed += 1;
                        f64::NEG_INFINITY
                    }
                })
                .collect();
            let lm = log_sum_exp(&values) - (n_samples as f64).ln();
            if !lm.is_finite() {
                return Err(Error::non_finite_result(
                    format!(
                        "the integrated likelihood of subject `{}` (zero at all {n_samples} draws)",
                        subject.id()
                    ),
                    prior.mean().to_vec(),
                ));
            }
            Ok((lm, failed))
        })
        .collect::<Result<_>>()?;
    let n_choices = data.n_choices();
    let n_group_params = match covariance {
        Covariance::Diagonal => 2 * k,
        Covariance::Full => k + k * (k + 1) / 2,
    };
    let log_marginal: Vec<f64> = per_subject.iter().map(|p| p.0).collect();
    let ibic =
        -2.0 * log_marginal.iter().sum::<f64>() + n_group_params as f64 * (n_choices as f64).ln();
    Ok(Ibic {
        ibic,
        log_marginal,
        n_samples,
        failed_evaluations: per_subject.iter().map(|p| p.1).sum(),
        n_choices,
        n_group_params,
    })
}

/// A comparison criterion.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Criterion {
    /// Summed BIC (smaller is better).
    Bic,
    /// Summed AIC (smaller is better).
    Aic,
    /// Summed Laplace log evidence (larger is better).
    Laplace,
    /// Integrated BIC (smaller is better).
    Ibic,
}

impl Criterion {
    /// Every criterion.
    pub const ALL: [Criterion; 4] = [
        Criterion::Bic,
        Criterion::Aic,
        Criterion::Laplace,
        Criterion::Ibic,
    ];

    /// `bic`, `aic`, `laplace`, `ibic`.
    pub fn name(self) -> &'static str {
        match self {
            Criterion::Bic => "bic",
            Criterion::Aic => "aic",
            Criterion::Laplace => "laplace",
            Criterion::Ibic => "ibic",
        }
    }

    /// The value with the better score made smaller (Laplace evidence negated).
    fn loss(self, v: f64) -> f64 {
        if self == Criterion::Laplace { -v } else { v }
    }
}

/// Settings for [`compare`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CompareOptions {
    /// The EM run for each model.
    pub em: EmOptions,
    /// S for the iBIC (default 2000).
    pub ibic_samples: usize,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions {
            em: EmOptions::default(),
            ibic_samples: 2000,
        }
    }
}

/// One subject's criteria under one model (`None` where its fit failed).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct SubjectScores {
    /// BIC.
    pub bic: f64,
    /// AIC.
    pub aic: f64,
    /// Laplace log evidence.
    pub laplace: f64,
}

/// One model's scores in a [`Comparison`].
#[derive(Debug, Serialize)]
pub struct ModelScore {
    /// The model's name.
    pub name: String,
    /// K.
    pub n_params: usize,
    /// Summed over the subjects every model fitted ([`Comparison::n_compared`]).
    pub bic: f64,
    /// Summed over the subjects every model fitted.
    pub aic: f64,
    /// Summed over the subjects every model fitted.
    pub laplace: f64,
    /// The integrated BIC under the model's EM prior.
    pub ibic: Ibic,
    /// Per subject, in dataset order.
    pub subjects: Vec<Option<SubjectScores>>,
    /// Subjects whose fit failed under this model (left out of every model's sums).
    pub n_failed: usize,
    /// The EM fit (group prior, subject fits, trace).
    pub em: EmFit,
    /// For BIC, AIC and Laplace: the subjects for which this model is the best (among the
    /// subjects every model fitted).
    pub wins: [usize; 3],
}

impl ModelScore {
    /// The model's value of a criterion.
    pub fn value(&self, criterion: Criterion) -> f64 {
        match criterion {
            Criterion::Bic => self.bic,
            Criterion::Aic => self.aic,
            Criterion::Laplace => self.laplace,
            Criterion::Ibic => self.ibic.ibic,
        }
    }
}

/// Several models fitted to one data set, with their scores.
#[derive(Debug, Serialize)]
pub struct Comparison {
    /// One entry per model, in the order given.
    pub models: Vec<ModelScore>,
    /// The subjects every model fitted: the summed criteria and the wins are over these.
    pub n_compared: usize,
}

impl Comparison {
    /// The best model by `criterion` (its index and name).
    ///
    /// # Panics
    /// For a comparison with no models, which [`compare`] never returns (it refuses an empty
    /// list); only a hand-built `Comparison` can be empty.
    pub fn best(&self, criterion: Criterion) -> (usize, &str) {
        let i = (0..self.models.len())
            .min_by(|&a, &b| {
                let (x, y) = (
                    self.models[a].value(criterion),
                    self.models[b].value(criterion),
                );
                criterion.loss(x).total_cmp(&criterion.loss(y))
            })
            .unwrap_or(0);
        (i, &self.models[i].name)
    }

    /// A Markdown table: per model K, summed BIC, AIC and Laplace evidence, iBIC, its
    /// difference from the best iBIC, and the subjects won by BIC, AIC and Laplace.
    pub fn table(&self) -> String {
        let best = self
            .models
            .iter()
            .map(|m| m.ibic.ibic)
            .fold(f64::INFINITY, f64::min);
        let mut out = String::from(
            "| model | K | BIC | AIC | Laplace log evidence | iBIC | ΔiBIC | wins BIC/AIC/Laplace | failed |\n\
             |---|---|---|---|---|---|---|---|---|\n",
        );
        for m in &self.models {
            out.push_str(&format!(
                "| {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {}/{}/{} | {} |\n",
                m.name,
                m.n_params,
                m.bic,
                m.aic,
                m.laplace,
                m.ibic.ibic,
                m.ibic.ibic - best,
                m.wins[0],
                m.wins[1],
                m.wins[2],
                m.n_failed
            ));
        }
        out
    }
}

/// Fits every model to `data` by [`em`] and scores it (see the module docs): per-subject BIC,
/// AIC and Laplace evidence at the EM fits, their sums, the iBIC under each model's group
/// prior, and the number of subjects each model wins per criterion.
///
/// # Errors
/// [`Error::EmptyData`] for no models or an empty cohort; [`Error::InvalidOption`] for two
/// models with the same name or `ibic_samples` = 0; any model's EM or iBIC error.
pub fn compare<R: Rng + ?Sized>(
    models: &[(&str, &dyn FitModel)],
    data: &Dataset,
    options: &CompareOptions,
    rng: &mut R,
) -> Result<Comparison> {
    if models.is_empty() {
        return Err(Error::empty_data("models to compare"));
    }
    check::at_least_one("ibic_samples", options.ibic_samples)?;
    for (i, (name, _)) in models.iter().enumerate() {
        if models[..i].iter().any(|(other, _)| other == name) {
            return Err(Error::invalid_option("model name", name, "appears twice"));
        }
    }
    let mut scores = Vec::with_capacity(models.len());
    for &(name, model) in models {
        let fit = em(model, data, &options.em, rng)?;
        let ibic = ibic(
            model,
            data,
            &fit.prior,
            options.em.covariance,
            options.ibic_samples,
            rng,
        )?;
        let subjects: Vec<Option<SubjectScores>> = fit
            .fits
            .iter()
            .map(|f| {
                f.fit().map(|m| SubjectScores {
                    bic: m.bic,
                    aic: m.aic,
                    laplace: laplace_log_evidence(m),
                })
            })
            .collect();
        scores.push(ModelScore {
            name: name.to_string(),
            n_params: model.n_params(),
            bic: 0.0,
            aic: 0.0,
            laplace: 0.0,
            n_failed: subjects.iter().filter(|s| s.is_none()).count(),
            ibic,
            subjects,
            em: fit,
            wins: [0; 3],
        });
    }
    // Sums and wins over the subjects every model fitted: a model that fails on a subject
    // must not gain by losing its terms.
    let mut n_compared = 0;
    for i in 0..data.subjects().len() {
        let row: Option<Vec<SubjectScores>> = scores.iter().map(|m| m.subjects[i]).collect();
        let Some(row) = row else { continue };
        n_compared += 1;
        for (m, s) in scores.iter_mut().zip(&row) {
            m.bic += s.bic;
            m.aic += s.aic;
            m.laplace += s.laplace;
        }
        for (c, criterion) in [Criterion::Bic, Criterion::Aic, Criterion::Laplace]
            .into_iter()
            .enumerate()
        {
            let value = |s: &SubjectScores| match criterion {
                Criterion::Bic => s.bic,
                Criterion::Aic => s.aic,
                _ => s.laplace,
            };
            let winner = (0..row.len())
                .min_by(|&a, &b| {
                    criterion
                        .loss(value(&row[a]))
                        .total_cmp(&criterion.loss(value(&row[b])))
                })
                .unwrap_or(0);
            scores[winner].wins[c] += 1;
        }
    }
    Ok(Comparison {
        models: scores,
        n_compared,
    })
}
