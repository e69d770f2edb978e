//! [`Objective`]: a weighted sum of [`Term`]s, itself a term.
//!
//! ```text
//! F(θ) = Σᵢ wᵢ gᵢ(θ),   ∇F = Σᵢ wᵢ ∇gᵢ,   ∇²F = Σᵢ wᵢ ∇²gᵢ
//! ```
//!
//! A log posterior is a likelihood (weight 1) plus a prior (weight 1); a resource cost enters
//! with a negative weight. Each term adds `weight · alpha · ∇gᵢ` straight into the caller's
//! buffer: no temporary per term.
//!
//! ```
//! use ndarray::{arr1, Array1};
//! use rlgrad::{prior::MvGaussian, Objective, Term};
//! let a = MvGaussian::isotropic(2, 0.0, 1.0)?;
//! let b = MvGaussian::isotropic(2, 1.0, 1.0)?;
//! let objective = Objective::new(2).with("a", 1.0, &a)?.with("b", 0.5, &b)?;
//! let theta = arr1(&[0.2, 0.3]);
//! let mut g = Array1::zeros(2);
//! let v = objective.value_and_grad(theta.view(), g.view_mut())?;
//! assert!((v - (a.value(theta.view())? + 0.5 * b.value(theta.view())?)).abs() < 1e-14);
//! # Ok::<(), rlgrad::Error>(())
//! ```

use ndarray::{ArrayView1, ArrayViewMut1, ArrayViewMut2};

use crate::Term;
use crate::check;
use crate::error::{Error, Result};

struct Weighted<'a> {
    name: String,
    weight: f64,
    term: Box<dyn Term + 'a>,
}

/// A weighted sum of terms over the same θ.
pub struct Objective<'a> {
    dim: usize,
    terms: Vec<Weighted<'a>>,
}

impl<'a> Objective<'a> {
    /// An empty objective (value 0) over θ ∈ ℝ^dim.
    pub fn new(dim: usize) -> Self {
        Objective {
            dim,
            terms: Vec::new(),
        }
    }

    /// Adds a named term with a weight (builder form).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] if the term's dimension differs from the objective's;
    /// [`Error::InvalidOption`] for a non-finite weight.
    pub fn with(mut self, name: &str, weight: f64, term: impl Term + 'a) -> Result<Self> {
        self.push(name, weight, term)?;
        Ok(self)
    }

    /// Adds a named term with a weight.
    ///
    /// # Errors
    /// As [`Objective::with`].
    pub fn push(&mut self, name: &str, weight: f64, term: impl Term + 'a) -> Result<()> {
        check::len(&format!("term `{name}`"), self.dim, term.dim())?;
        check::finite_option(&format!("weight of term `{name}`"), weight)?;
        self.terms.push(Weighted {
            name: name.to_string(),
            weight,
            term: Box::new(term),
        });
        Ok(())
    }

    /// Number of terms.
    pub fn len(&self) -> usize {
        self.terms.len()
    }

    /// Whether there are no terms.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The value of each term (unweighted), by name, in the order they were added.
    ///
    /// # Errors
    /// Whatever a term returns.
    pub fn term_values(&self, theta: ArrayView1<f64>) -> Result<Vec<(String, f64)>> {
        self.terms
            .iter()
            .map(|t| Ok((t.name.clone(), t.term.value(theta)?)))
            .collect()
    }

    /// θ's length; its entries too when there is no term to check them (terms that know
    /// their parameter names report a bad entry by name).
    fn check_theta(&self, theta: ArrayView1<f64>) -> Result<()> {
        check::len("theta", self.dim, theta.len())?;
        if self.terms.is_empty() {
            check::finite_theta(theta, |_| "?".to_string())?;
        }
        Ok(())
    }

    /// The value, if it and every entry of the accumulated buffers are finite. (Each term
    /// checks its own unweighted output; the weighted sum can still overflow.)
    fn finite<'b>(
        &self,
        value: f64,
        theta: ArrayView1<f64>,
        buffers: impl IntoIterator<Item = &'b f64>,
    ) -> Result<f64> {
        let what = if !value.is_finite() {
            "objective value"
        } else if buffers.into_iter().any(|v| !v.is_finite()) {
            "objective gradient or hessian"
        } else {
            return Ok(value);
        };
        Err(Error::non_finite_result(what, theta.to_vec()))
    }
}

impl Term for Objective<'_> {
    fn dim(&self) -> usize {
        self.dim
    }

    fn add_value_and_grad(
        &self,
        theta: ArrayView1<f64>,
        alpha: f64,
        mut grad: ArrayViewMut1<f64>,
    ) -> Result<f64> {
        self.check_theta(theta)?;
        check::alpha(alpha)?;
        check::len("gradient buffer", self.dim, grad.len())?;
        let mut total = 0.0;
        for t in &self.terms {
            total += t.weight
                * t.term
                    .add_value_and_grad(theta, alpha * t.weight, grad.view_mut())?;
        }
        self.finite(total, theta, grad.iter())
    }

    fn value(&self, theta: ArrayView1<f64>) -> Result<f64> {
        self.check_theta(theta)?;
        let mut total = 0.0;
        for t in &self.terms {
            total += t.weight * t.term.value(theta)?;
        }
        self.finite(total, theta, [])
    }

    fn add_value_grad_hessian(
        &self,
        theta: ArrayView1<f64>,
        alpha: f64,
        mut grad: ArrayViewMut1<f64>,
        mut hess: ArrayViewMut2<f64>,
    ) -> Result<f64> {
        self.check_theta(theta)?;
        check::alpha(alpha)?;
        check::len("gradient buffer", self.dim, grad.len())?;
        check::hessian_shape(self.dim, &hess)?;
        let mut total = 0.0;
        for t in &self.terms {
            total += t.weight
                * t.term.add_value_grad_hessian(
                    theta,
                    alpha * t.weight,
                    grad.view_mut(),
                    hess.view_mut(),
                )?;
        }
        self.finite(total, theta, grad.iter().chain(hess.iter()))
    }

    fn has_exact_hessian(&self) -> bool {
        self.terms.iter().all(|t| t.term.has_exact_hessian())
    }
}
