//! Resource costs over a memory allocation σ: [`KlCost`], the Kullback–Leibler divergence of
//! the agent's memories from a base distribution (DRA, seed 001 A.2).
//!
//! ```text
//! D_KL(N(q̄, diag σ²) ‖ N(q̄, σ_b² I)) = ½ Σᵢ [ σᵢ²/σ_b² − 1 − ln(σᵢ²/σ_b²) ]
//! ∂D/∂σᵢ   = σᵢ/σ_b² − 1/σᵢ                  (A.7)
//! ∂²D/∂σᵢ² = 1/σ_b² + 1/σᵢ²,  off-diagonal 0
//! ```
//!
//! The divergence does not depend on q̄ (the means are shared), is 0 at σ = σ_b, and is
//! convex in σ.

use ndarray::{ArrayView1, ArrayViewMut1, ArrayViewMut2};

use crate::Term;
use crate::check;
use crate::error::{Error, Result};

/// The KL resource cost D_KL(N(q̄, diag σ²) ‖ N(q̄, σ_b² I)) as a [`Term`] over θ = σ, with
/// value, gradient (seed A.7) and exact Hessian.
///
/// The value is the divergence itself, a cost: by the crate's sign convention it enters an
/// [`Objective`](crate::Objective) with weight −λ, F(σ) = E\[return\] − λ·D_KL.
///
/// The sum runs over every memory of θ, or over those a mask includes ([`KlCost::with_mask`]:
/// the planning task's known last-level memories are not part of the allocation).
///
/// ```
/// use ndarray::{arr1, Array1};
/// use rlgrad::Term;
/// use rlgrad::cost::KlCost;
/// let cost = KlCost::new(3, 5.0)?;
/// let sigma = arr1(&[5.0, 2.5, 10.0]);
/// let mut grad = Array1::zeros(3);
/// let d = cost.value_and_grad(sigma.view(), grad.view_mut())?;
/// // ½[(0.25 − 1 − ln 0.25) + (4 − 1 − ln 4)] = ½[0.636… + 1.613…]
/// let expected = 0.5 * ((0.25 - 1.0 - 0.25f64.ln()) + (4.0 - 1.0 - 4f64.ln()));
/// assert!((d - expected).abs() < 1e-15);
/// assert_eq!(grad[0], 0.0); // σ = σ_b is the minimum
/// assert!((grad[1] - (2.5 / 25.0 - 1.0 / 2.5)).abs() < 1e-15);
/// // σ ≤ 0 is not a standard deviation.
/// assert!(cost.value(arr1(&[1.0, 0.0, 1.0]).view()).is_err());
/// # Ok::<(), rlgrad::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct KlCost {
    dim: usize,
    sigma_base: f64,
    /// Which memories count (`None`: all).
    mask: Option<Vec<bool>>,
}

impl KlCost {
    /// The cost over `dim` memories against base standard deviation σ_b.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for `dim` = 0 or σ_b not finite and > 0.
    pub fn new(dim: usize, sigma_base: f64) -> Result<Self> {
        check::at_least_one("dim", dim)?;
        check::positive("sigma_base", sigma_base)?;
        Ok(KlCost {
            dim,
            sigma_base,
            mask: None,
        })
    }

    /// The same cost over the memories `i` with `mask[i]` only.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] for a mask not of length `dim`.
    pub fn with_mask(mut self, mask: Vec<bool>) -> Result<Self> {
        check::len("mask", self.dim, mask.len())?;
        self.mask = Some(mask);
        Ok(self)
    }

    /// σ_b.
    pub fn sigma_base(&self) -> f64 {
        self.sigma_base
    }

    /// Whether memory i counts.
    #[inline]
    fn counts(&self, i: usize) -> bool {
        self.mask.as_ref().is_none_or(|m| m[i])
    }

    /// The divergence of one memory: ½ (r² − 1 − 2 ln r), r = σ/σ_b.
    #[inline]
    fn term(&self, sigma: f64) -> f64 {
        let r = sigma / self.sigma_base;
        0.5 * (r * r - 1.0 - 2.0 * r.ln())
    }

    /// Checks θ = σ: its length and the gradient buffer's, every entry finite (the `Term`
    /// contract), and every counted entry > 0 (an entry the mask leaves out may be anything
    /// finite).
    fn check_sigma(&self, theta: ArrayView1<f64>, grad_len: usize) -> Result<()> {
        check::term_args(self.dim, theta, grad_len)?;
        for i in (0..self.dim).filter(|&i| self.counts(i)) {
            check::standard_deviation(i, theta[i], || format!("sigma[{i}]"))?;
        }
        Ok(())
    }

    /// Adds `alpha · ∇D` (A.7) into `grad`, without the value or checks: for the DRA
    /// trainer, which checked σ (its entries stay within the clip range) once.
    #[inline]
    pub(crate) fn add_grad(&self, sigma: &[f64], alpha: f64, grad: &mut [f64]) {
        for (i, (g, &s)) in grad.iter_mut().zip(sigma).enumerate() {
            if self.counts(i) {
                *g += alpha * self.grad_entry(s);
            }
        }
    }

    /// ∂D/∂σ of one memory: σ/σ_b² − 1/σ (A.7).
    #[inline]
    fn grad_entry(&self, sigma: f64) -> f64 {
        sigma * (1.0 / (self.sigma_base * self.sigma_base)) - 1.0 / sigma
    }

    /// D over the counted memories, unchecked.
    fn sum(&self, theta: ArrayView1<f64>) -> f64 {
        (0..self.dim)
            .filter(|&i| self.counts(i))
            .map(|i| self.term(theta[i]))
            .sum()
    }

    fn finish(&self, value: f64, theta: ArrayView1<f64>) -> Result<f64> {
        check::finite_result(value, theta.iter(), || "KL resource cost".to_string())
    }
}

impl Term for KlCost {
    fn dim(&self) -> usize {
        self.dim
    }

    fn value(&self, theta: ArrayView1<f64>) -> Result<f64> {
        self.check_sigma(theta, self.dim)?;
        self.finish(self.sum(theta), theta)
    }

    fn add_value_and_grad(
        &self,
        theta: ArrayView1<f64>,
        alpha: f64,
        mut grad: ArrayViewMut1<f64>,
    ) -> Result<f64> {
        self.check_sigma(theta, grad.len())?;
        check::alpha(alpha)?;
        let v = self.finish(self.sum(theta), theta)?;
        let d = |i: usize| alpha * self.grad_entry(theta[i]);
        // 1/σ overflows for a subnormal σ (and alpha · d for a huge alpha) although the value
        // is finite: refuse before writing.
        if let Some(i) = (0..self.dim).find(|&i| self.counts(i) && !d(i).is_finite()) {
            return Err(Error::non_finite_result(
                format!("KL resource cost gradient entry {i}"),
                theta.to_vec(),
            ));
        }
        for i in (0..self.dim).filter(|&i| self.counts(i)) {
            grad[i] += d(i);
        }
        Ok(v)
    }

    fn add_value_grad_hessian(
        &self,
        theta: ArrayView1<f64>,
        alpha: f64,
        grad: ArrayViewMut1<f64>,
        mut hess: ArrayViewMut2<f64>,
    ) -> Result<f64> {
        check::hessian_shape(self.dim, &hess)?;
        let inv_b2 = 1.0 / (self.sigma_base * self.sigma_base);
        let d2 = |i: usize| alpha * (inv_b2 + 1.0 / (theta[i] * theta[i]));
        // 1/σ² overflows for σ below about 1e-154, where the value and gradient are finite:
        // refuse before writing anything.
        self.check_sigma(theta, grad.len())?;
        check::alpha(alpha)?;
        if let Some(i) = (0..self.dim).find(|&i| self.counts(i) && !d2(i).is_finite()) {
            return Err(Error::non_finite_result(
                format!("KL resource cost hessian entry ({i}, {i})"),
                theta.to_vec(),
            ));
        }
        let v = self.add_value_and_grad(theta, alpha, grad)?;
        for i in (0..self.dim).filter(|&i| self.counts(i)) {
            hess[[i, i]] += d2(i);
        }
        Ok(v)
    }

    fn has_exact_hessian(&self) -> bool {
        true
    }
}
