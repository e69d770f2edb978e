//! [`HyperPrior`]: the group-level priors of the hierarchical model, and how subjects'
//! parameters are allowed to correlate ([`Correlation`]).

use serde::Serialize;

use crate::check;
use crate::error::{Error, Result};

/// How the subjects' parameters may correlate at the group level.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Correlation {
    /// A full correlation matrix Ω with an LKJ(η) prior on its Cholesky factor; η = 1 is
    /// uniform over correlation matrices, η > 1 favours weaker correlations.
    Lkj {
        /// The LKJ shape η (> 0).
        eta: f64,
    },
    /// No correlations: Ω = I (the scales alone are fitted).
    Diagonal,
}

/// The group-level priors of [`Hierarchical`](super::Hierarchical), on the unconstrained θ
/// scale of the model's parameters:
///
/// ```text
/// μₖ ~ Normal(mu_mean[k], mu_sd[k]²)     τₖ ~ HalfNormal(tau_sd[k])     Ω ~ LKJ(η)  (or Ω = I)
/// θᵢ = μ + diag(τ) · L_Ω · zᵢ,  zᵢ ~ N(0, I)   (non-centred)
/// ```
///
/// The default is weakly informative for the crate's transforms (a logistic α, an exp β):
/// μ ~ N(0, 2²), τ ~ HalfNormal(1), Ω ~ LKJ(2).
///
/// ```
/// use rlgrad::bayes::{Correlation, HyperPrior};
/// let hp = HyperPrior::weakly_informative(2).with_correlation(Correlation::Diagonal)?;
/// assert_eq!(hp.mu_sd(), &[2.0, 2.0]);
/// assert!(HyperPrior::new(vec![0.0], vec![-1.0], vec![1.0]).is_err());
/// # Ok::<(), rlgrad::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HyperPrior {
    mu_mean: Vec<f64>,
    mu_sd: Vec<f64>,
    tau_sd: Vec<f64>,
    correlation: Correlation,
}

impl HyperPrior {
    /// μₖ ~ N(`mu_mean[k]`, `mu_sd[k]`²) and τₖ ~ HalfNormal(`tau_sd[k]`), with LKJ(2)
    /// correlations.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] for vectors of different lengths, [`Error::EmptyData`]
    /// for none, [`Error::InvalidOption`] for a non-finite mean or a scale that is not finite
    /// and > 0 (naming the entry).
    pub fn new(mu_mean: Vec<f64>, mu_sd: Vec<f64>, tau_sd: Vec<f64>) -> Result<Self> {
        if mu_mean.is_empty() {
            return Err(Error::empty_data(
                "a hyperprior needs at least one parameter",
            ));
        }
        check::len("hyperprior mu_sd", mu_mean.len(), mu_sd.len())?;
        check::len("hyperprior tau_sd", mu_mean.len(), tau_sd.len())?;
        for (k, &m) in mu_mean.iter().enumerate() {
            check::finite_option(&format!("mu_mean[{k}]"), m)?;
        }
        for (k, &s) in mu_sd.iter().enumerate() {
            check::positive(&format!("mu_sd[{k}]"), s)?;
        }
        for (k, &s) in tau_sd.iter().enumerate() {
            check::positive(&format!("tau_sd[{k}]"), s)?;
        }
        Ok(HyperPrior {
            mu_mean,
            mu_sd,
            tau_sd,
            correlation: Correlation::Lkj { eta: 2.0 },
        })
    }

    /// The default for `k` parameters: μ ~ N(0, 2²), τ ~ HalfNormal(1), Ω ~ LKJ(2).
    pub fn weakly_informative(k: usize) -> Self {
        HyperPrior {
            mu_mean: vec![0.0; k],
            mu_sd: vec![2.0; k],
            tau_sd: vec![1.0; k],
            correlation: Correlation::Lkj { eta: 2.0 },
        }
    }

    /// The same priors with another correlation structure.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for an LKJ η that is not finite and > 0.
    pub fn with_correlation(mut self, correlation: Correlation) -> Result<Self> {
        if let Correlation::Lkj { eta } = correlation {
            check::positive("lkj eta", eta)?;
        }
        self.correlation = correlation;
        Ok(self)
    }

    /// The number of parameters K.
    pub fn len(&self) -> usize {
        self.mu_mean.len()
    }

    /// Whether K = 0 (never, for a hyperprior built by [`HyperPrior::new`]).
    pub fn is_empty(&self) -> bool {
        self.mu_mean.is_empty()
    }

    /// The prior means of μ.
    pub fn mu_mean(&self) -> &[f64] {
        &self.mu_mean
    }

    /// The prior standard deviations of μ.
    pub fn mu_sd(&self) -> &[f64] {
        &self.mu_sd
    }

    /// The half-normal scales of τ.
    pub fn tau_sd(&self) -> &[f64] {
        &self.tau_sd
    }

    /// The correlation structure.
    pub fn correlation(&self) -> Correlation {
        self.correlation
    }

    /// Checks that the hyperprior is for a model of `k` parameters (its entries were
    /// checked when it was built).
    pub(crate) fn check(&self, k: usize) -> Result<()> {
        check::len("hyperprior parameters", k, self.len())
    }
}
