//! Multivariate Gaussian prior N(μ, Σ) on θ.
//!
//! ```text
//! log p(θ) = −½ (θ−μ)ᵀ Σ⁻¹ (θ−μ) − ½ log|Σ| − (K/2) log 2π
//! ∇ log p  = −Σ⁻¹ (θ−μ)
//! ∇² log p = −Σ⁻¹
//! ```
//!
//! Σ is validated and factorised once, in [`MvGaussian::new`]; the precision Σ⁻¹, the
//! Cholesky factor and the log-normaliser are cached, so an evaluation is one K × K
//! matrix-vector product and allocates nothing.

use ndarray::{Array1, Array2, ArrayView1, ArrayViewMut1, ArrayViewMut2};
use rand::Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

use super::Prior;
use crate::Term;
use crate::check;
use crate::error::{Error, Result};
use crate::linalg;

/// The multivariate Gaussian N(μ, Σ) with full covariance.
///
/// ```
/// use ndarray::{arr1, arr2};
/// use rlgrad::{prior::MvGaussian, Term};
/// let prior = MvGaussian::new(arr1(&[0.0, 1.0]), arr2(&[[1.0, 0.3], [0.3, 2.0]]))?;
/// let at_mean = prior.value(arr1(&[0.0, 1.0]).view())?;
/// assert!(at_mean > prior.value(arr1(&[1.0, 1.0]).view())?);
/// // Invalid covariances are errors that say why.
/// let err = MvGaussian::new(arr1(&[0.0, 0.0]), arr2(&[[1.0, 2.0], [2.0, 1.0]])).unwrap_err();
/// assert!(err.to_string().contains("not positive definite"));
/// # Ok::<(), rlgrad::Error>(())
/// ```
///
/// With serde it is its mean and covariance (`{"mean": …, "covariance": …}`); reading one
/// back validates and factorises it again through [`MvGaussian::new`], so the cached
/// quantities are recomputed bit for bit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(into = "MvGaussianParts", try_from = "MvGaussianParts")]
pub struct MvGaussian {
    mean: Array1<f64>,
    cov: Array2<f64>,
    chol: Array2<f64>,
    precision: Array2<f64>,
    log_norm: f64,
}

/// The serde form of [`MvGaussian`]: what defines it, without the cached factorisation.
#[derive(Serialize, Deserialize)]
struct MvGaussianParts {
    mean: Array1<f64>,
    covariance: Array2<f64>,
}

impl From<MvGaussian> for MvGaussianParts {
    fn from(g: MvGaussian) -> Self {
        MvGaussianParts {
            mean: g.mean,
            covariance: g.cov,
        }
    }
}

impl TryFrom<MvGaussianParts> for MvGaussian {
    type Error = Error;

    fn try_from(p: MvGaussianParts) -> Result<Self> {
        MvGaussian::new(p.mean, p.covariance)
    }
}

impl MvGaussian {
    /// N(mean, cov).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] if the sizes differ; [`Error::EmptyData`] for K = 0;
    /// [`Error::InvalidOption`] for a K whose K × K matrices would exceed
    /// [`MAX_FLOATS`](crate::check::MAX_FLOATS) (checked before anything is allocated);
    /// [`Error::InvalidMatrix`] for a non-finite mean entry or a covariance that is not
    /// square, finite and symmetric; [`Error::NotPositiveDefinite`] (with its smallest
    /// eigenvalue) otherwise.
    pub fn new(mean: Array1<f64>, cov: Array2<f64>) -> Result<Self> {
        let k = mean.len();
        check_dim(k)?;
        if let Some(i) = mean.iter().position(|m| !m.is_finite()) {
            return Err(Error::InvalidMatrix {
                what: "prior mean".to_string(),
                reason: format!("entry {i} = {} is not finite", mean[i]),
            });
        }
        check::len("prior covariance rows (vs mean)", k, cov.nrows())?;
        let chol = linalg::cholesky(cov.view(), "prior covariance")?;
        let precision = linalg::inverse_from_cholesky(&chol);
        let log_norm = -0.5 * linalg::log_det_from_cholesky(&chol)
            - 0.5 * k as f64 * (2.0 * std::f64::consts::PI).ln();
        if !log_norm.is_finite() || precision.iter().any(|p| !p.is_finite()) {
            return Err(Error::NotPositiveDefinite {
                what: "prior covariance".to_string(),
                reason: "it is too close to singular to invert".to_string(),
            });
        }
        Ok(MvGaussian {
            mean,
            cov,
            chol,
            precision,
            log_norm,
        })
    }

    /// N(m·1, v·I) in `dim` dimensions.
    ///
    /// # Errors
    /// As [`MvGaussian::new`] (for example v ≤ 0).
    pub fn isotropic(dim: usize, mean: f64, variance: f64) -> Result<Self> {
        check_dim(dim)?;
        MvGaussian::new(
            Array1::from_elem(dim, mean),
            Array2::from_diag(&Array1::from_elem(dim, variance)),
        )
    }

    /// N(mean, diag(variances)).
    ///
    /// # Errors
    /// As [`MvGaussian::new`].
    pub fn diagonal(mean: Array1<f64>, variances: Array1<f64>) -> Result<Self> {
        check_dim(variances.len())?;
        MvGaussian::new(mean, Array2::from_diag(&variances))
    }

    /// Σ.
    pub fn covariance(&self) -> &Array2<f64> {
        &self.cov
    }

    /// Σ⁻¹ (cached).
    pub fn precision(&self) -> &Array2<f64> {
        &self.precision
    }

    /// The lower Cholesky factor L of Σ (cached).
    pub fn cholesky(&self) -> &Array2<f64> {
        &self.chol
    }

    /// The log density; with `grad`, also adds `alpha · (−Σ⁻¹(θ−μ))` into it. No allocation.
    fn eval(
        &self,
        theta: ArrayView1<f64>,
        mut grad: Option<(f64, &mut ArrayViewMut1<f64>)>,
    ) -> f64 {
        let k = self.mean.len();
        let mut quad = 0.0;
        for i in 0..k {
            let mut pr = 0.0;
            for j in 0..k {
                pr += self.precision[[i, j]] * (theta[j] - self.mean[j]);
            }
            quad += (theta[i] - self.mean[i]) * pr;
            if let Some((alpha, g)) = grad.as_mut() {
                g[i] -= *alpha * pr;
            }
        }
        self.log_norm - 0.5 * quad
    }

    fn finite(&self, v: f64, theta: ArrayView1<f64>) -> Result<f64> {
        check::finite_result(v, theta, || "prior log density".to_string())
    }
}

/// A prior dimension K: at least 1, and its K × K factor and precision within
/// [`MAX_FLOATS`](crate::check::MAX_FLOATS), checked before anything is allocated.
fn check_dim(k: usize) -> Result<()> {
    if k == 0 {
        return Err(Error::empty_data("prior mean has no entries"));
    }
    let what = "the prior's covariance, its Cholesky factor and its precision (K x K each)";
    check::floats(&[k, k], "prior dimension", k, what).map(|_| ())
}

impl Term for MvGaussian {
    fn dim(&self) -> usize {
        self.mean.len()
    }

    fn add_value_and_grad(
        &self,
        theta: ArrayView1<f64>,
        alpha: f64,
        mut grad: ArrayViewMut1<f64>,
    ) -> Result<f64> {
        check::term_args(self.dim(), theta, grad.len())?;
        check::alpha(alpha)?;
        // Check the value before touching the caller's buffer.
        self.finite(self.eval(theta, None), theta)?;
        Ok(self.eval(theta, Some((alpha, &mut grad))))
    }

    fn value(&self, theta: ArrayView1<f64>) -> Result<f64> {
        check::term_args(self.dim(), theta, self.dim())?;
        let v = self.eval(theta, None);
        self.finite(v, theta)
    }

    fn add_value_grad_hessian(
        &self,
        theta: ArrayView1<f64>,
        alpha: f64,
        mut grad: ArrayViewMut1<f64>,
        mut hess: ArrayViewMut2<f64>,
    ) -> Result<f64> {
        check::term_args(self.dim(), theta, grad.len())?;
        check::alpha(alpha)?;
        check::hessian_shape(self.dim(), &hess)?;
        self.finite(self.eval(theta, None), theta)?;
        let v = self.eval(theta, Some((alpha, &mut grad)));
        hess.scaled_add(-alpha, &self.precision);
        Ok(v)
    }

    fn has_exact_hessian(&self) -> bool {
        true
    }
}

impl Prior for MvGaussian {
    fn mean(&self) -> Array1<f64> {
        self.mean.clone()
    }

    /// √diag(Σ).
    fn marginal_sd(&self) -> Option<Array1<f64>> {
        Some(self.cov.diag().mapv(f64::sqrt))
    }

    /// θ = μ + L z with z ~ N(0, I).
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Array1<f64> {
        let z: Array1<f64> = (0..self.dim())
            .map(|_| rng.sample(StandardNormal))
            .collect();
        &self.mean + &self.chol.dot(&z)
    }
}
