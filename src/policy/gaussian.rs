//! A Gaussian with a learnable mean: z ∼ N(μ, σ² I), θ = μ.
//!
//! ```text
//! log p(z; μ) = −‖z − μ‖² / (2σ²) − (K/2) ln(2πσ²)
//! ∇μ log p    = (z − μ) / σ²
//! ∇²μ log p   = −I / σ²
//! ```

use rand::Rng;
use rand_distr::StandardNormal;

use super::ScoreFunction;
use crate::check;
use crate::error::{Error, Result};

/// z ∼ N(μ, σ² I) over ℝᴷ with θ = μ and a fixed σ > 0: the continuous test case of the
/// score-function estimators, where ∇μ E\[f(z)\] has closed forms for polynomial f.
///
/// ```
/// use rlgrad::policy::{GaussianMean, ScoreFunction};
/// let dist = GaussianMean::new(1, 2.0)?;
/// let log_p = dist.log_prob(&[0.0], &vec![0.0])?;
/// assert!((log_p + 0.5 * (2.0 * std::f64::consts::PI * 4.0).ln()).abs() < 1e-15);
/// assert!(GaussianMean::new(1, 0.0).is_err());
/// # Ok::<(), rlgrad::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct GaussianMean {
    dim: usize,
    sigma: f64,
    inv_var: f64,
    log_norm: f64,
}

impl GaussianMean {
    /// N(μ, σ² I) over ℝ^dim with θ = μ.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] if `dim` is 0, or σ is not finite and positive, or σ is so
    /// small or large that 1/σ² or ln σ² overflows.
    pub fn new(dim: usize, sigma: f64) -> Result<Self> {
        check::at_least_one("dim", dim)?;
        check::floats(&[dim], "dim", dim, "a sample (one vector of dim entries)")?;
        let inv_var = 1.0 / (sigma * sigma);
        let log_norm = -0.5 * dim as f64 * (2.0 * std::f64::consts::PI * sigma * sigma).ln();
        if !(sigma.is_finite() && sigma > 0.0 && inv_var.is_finite() && log_norm.is_finite()) {
            return Err(Error::invalid_option(
                "sigma",
                sigma,
                "must be finite and > 0, with 1/sigma² and ln sigma² finite",
            ));
        }
        Ok(GaussianMean {
            dim,
            sigma,
            inv_var,
            log_norm,
        })
    }

    /// σ.
    pub fn sigma(&self) -> f64 {
        self.sigma
    }

    /// Checks lengths and finiteness of θ and z.
    fn check(&self, theta: &[f64], z: &[f64]) -> Result<()> {
        check::len("theta", self.dim, theta.len())?;
        check::len("sample", self.dim, z.len())?;
        check::finite_theta(theta, |i| format!("mu[{i}]"))?;
        check::finite_inputs_with(z, |i| format!("sample entry {i}"))
    }

    fn log_prob_checked(&self, theta: &[f64], z: &[f64]) -> Result<f64> {
        let ss: f64 = z.iter().zip(theta).map(|(a, m)| (a - m) * (a - m)).sum();
        let lp = -0.5 * ss * self.inv_var + self.log_norm;
        check::finite_result(lp, theta, || "gaussian log-density".to_string())
    }
}

impl ScoreFunction for GaussianMean {
    type Sample = Vec<f64>;

    fn dim(&self) -> usize {
        self.dim
    }

    fn sample_into<R: Rng + ?Sized>(
        &self,
        theta: &[f64],
        rng: &mut R,
        out: &mut Vec<f64>,
    ) -> Result<()> {
        self.check_theta(theta)?;
        out.clear();
        for &m in theta {
            let e: f64 = rng.sample(StandardNormal);
            out.push(m + self.sigma * e);
        }
        if let Some((i, _)) = check::first_non_finite(out.iter()) {
            let what = format!("gaussian sample entry {i}");
            return Err(Error::non_finite_result(what, theta.to_vec()));
        }
        Ok(())
    }

    fn log_prob(&self, theta: &[f64], z: &Vec<f64>) -> Result<f64> {
        self.check(theta, z)?;
        self.log_prob_checked(theta, z)
    }

    fn add_log_prob_and_score(
        &self,
        theta: &[f64],
        z: &Vec<f64>,
        alpha: f64,
        score: &mut [f64],
    ) -> Result<f64> {
        self.check(theta, z)?;
        check::alpha(alpha)?;
        check::len("score buffer", self.dim, score.len())?;
        let lp = self.log_prob_checked(theta, z)?;
        let c = alpha * self.inv_var;
        let bad = z.iter().zip(theta).any(|(a, m)| !(c * (a - m)).is_finite());
        if bad {
            let what = "gaussian score";
            return Err(Error::non_finite_result(what, theta.to_vec()));
        }
        for ((s, a), m) in score.iter_mut().zip(z).zip(theta) {
            *s += c * (a - m);
        }
        Ok(lp)
    }

    fn has_log_prob_hessian(&self) -> bool {
        true
    }

    fn add_log_prob_hessian(
        &self,
        theta: &[f64],
        z: &Vec<f64>,
        alpha: f64,
        hess: &mut [f64],
    ) -> Result<bool> {
        self.check(theta, z)?;
        check::alpha(alpha)?;
        check::square_len("hessian buffer", self.dim, hess.len())?;
        let h = check::finite_result(-alpha * self.inv_var, theta, || {
            "gaussian log-density hessian (-alpha / sigma²)".to_string()
        })?;
        for i in 0..self.dim {
            hess[i * self.dim + i] += h;
        }
        Ok(true)
    }
}
