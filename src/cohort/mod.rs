//! Cohorts: the log-likelihoods of many subjects, each at its own θ, in one call.
//!
//! A hierarchical posterior, iBIC's sampling and a recovery study all evaluate many subjects
//! at once. A [`Cohort`] is that evaluation as one object: subject i's log-likelihood
//! ℓᵢ(θᵢ) and its gradient, for all i, from a matrix of θ (one row per subject).
//!
//! [`TermCohort`] does it for any model, one [`Term`] per subject. Models with a faster
//! path give their own cohort through [`FitModel::cohort`](crate::fit::FitModel::cohort):
//! Rescorla–Wagner + softmax in its plain configuration gives [`RwSoftmaxCohort`], which
//! evaluates eight subjects per SIMD instruction (its module docs describe the data layout
//! and the run-time choice among AVX-512, AVX2 and the baseline, [`SimdLevel`]).

mod kernel;
mod rw_softmax;

pub use self::kernel::{MAX_COHORT_ACTIONS, SimdLevel};
pub use self::rw_softmax::RwSoftmaxCohort;

use ndarray::{ArrayView1, ArrayViewMut1};

use crate::check;
use crate::error::Result;
use crate::term::Term;

/// The log-likelihoods of a fixed list of subjects, each at its own θ.
///
/// θ is passed as one row-major `n_subjects × n_params` slice; subject i's θ is
/// `thetas[i * K..(i + 1) * K]`, its log-likelihood goes to `values[i]` and its gradient to
/// `grads[i * K..(i + 1) * K]` (overwritten, never read). Values are the same bits as the
/// subject's own [`Term`] would give, up to the documented tolerance of a fast path.
pub trait Cohort: Send + Sync {
    /// The number of subjects n.
    fn n_subjects(&self) -> usize;

    /// The number of parameters K per subject.
    fn n_params(&self) -> usize;

    /// Every subject's log-likelihood and its gradient with respect to θᵢ.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`](crate::Error::DimensionMismatch) for buffers of the wrong
    /// length, [`Error::NonFiniteTheta`](crate::Error::NonFiniteTheta) for a non-finite θ,
    /// [`Error::NonFiniteResult`](crate::Error::NonFiniteResult) naming the subject whose
    /// value or gradient is not finite.
    fn values_and_grads(&self, thetas: &[f64], values: &mut [f64], grads: &mut [f64])
    -> Result<()>;

    /// Every subject's log-likelihood alone (the same bits as
    /// [`values_and_grads`](Cohort::values_and_grads) gives).
    ///
    /// # Errors
    /// As [`values_and_grads`](Cohort::values_and_grads).
    fn values(&self, thetas: &[f64], values: &mut [f64]) -> Result<()>;
}

/// Checks the buffers of a cohort call: `thetas` is n × K and finite, `values` has n
/// entries and `grads` (when given) n × K.
///
/// # Errors
/// As [`Cohort::values_and_grads`].
pub fn check_args(
    n: usize,
    k: usize,
    thetas: &[f64],
    values: &[f64],
    grads: Option<&[f64]>,
) -> Result<()> {
    let nk = n.checked_mul(k).ok_or_else(|| {
        crate::Error::dimension_mismatch("cohort θ (n × K overflows)", usize::MAX, thetas.len())
    })?;
    check::len("cohort θ (n_subjects × n_params)", nk, thetas.len())?;
    check::len("cohort values (n_subjects)", n, values.len())?;
    if let Some(g) = grads {
        check::len("cohort gradients (n_subjects × n_params)", nk, g.len())?;
    }
    check::theta(nk, thetas)
}

/// A cohort of any model: one [`Term`] per subject, evaluated one after another.
pub struct TermCohort<'a> {
    terms: Vec<Box<dyn Term + 'a>>,
    k: usize,
}

impl<'a> TermCohort<'a> {
    /// A cohort from one term per subject, all of dimension `k`.
    ///
    /// # Errors
    /// [`Error::EmptyData`](crate::Error::EmptyData) for no terms,
    /// [`Error::DimensionMismatch`](crate::Error::DimensionMismatch) for a term whose
    /// dimension is not `k`.
    pub fn new(terms: Vec<Box<dyn Term + 'a>>, k: usize) -> Result<Self> {
        if terms.is_empty() {
            return Err(crate::Error::empty_data(
                "a cohort needs at least one subject",
            ));
        }
        for t in &terms {
            check::len("a subject's parameters", k, t.dim())?;
        }
        Ok(TermCohort { terms, k })
    }
}

impl Cohort for TermCohort<'_> {
    fn n_subjects(&self) -> usize {
        self.terms.len()
    }

    fn n_params(&self) -> usize {
        self.k
    }

    fn values_and_grads(
        &self,
        thetas: &[f64],
        values: &mut [f64],
        grads: &mut [f64],
    ) -> Result<()> {
        check_args(self.terms.len(), self.k, thetas, values, Some(grads))?;
        let k = self.k;
        for (i, term) in self.terms.iter().enumerate() {
            let theta = ArrayView1::from(&thetas[i * k..(i + 1) * k]);
            let grad = ArrayViewMut1::from(&mut grads[i * k..(i + 1) * k]);
            values[i] = term.value_and_grad(theta, grad)?;
        }
        Ok(())
    }

    fn values(&self, thetas: &[f64], values: &mut [f64]) -> Result<()> {
        check_args(self.terms.len(), self.k, thetas, values, None)?;
        let k = self.k;
        for (i, term) in self.terms.iter().enumerate() {
            values[i] = term.value(ArrayView1::from(&thetas[i * k..(i + 1) * k]))?;
        }
        Ok(())
    }
}
