//! [`Term`]: the composition contract every log-quantity implements (a private module; the
//! trait is public as `rlgrad::Term`).

use ndarray::{Array1, Array2, ArrayView1, ArrayViewMut1, ArrayViewMut2};

use crate::check;
use crate::error::Result;
use crate::fd;

/// A scalar function of θ with its gradient (and Hessian): the composition contract every
/// log-quantity implements.
///
/// A term is a scalar function g(θ) of the unconstrained parameter vector, in its natural
/// direction (a log-likelihood, a log-prior, a negative cost). Terms add up into an
/// [`Objective`](crate::Objective), which is itself a term.
///
/// The core method has BLAS `axpy` semantics: [`Term::add_value_and_grad`] returns g(θ) and
/// **adds** `alpha · ∇g(θ)` into the caller's buffer. An objective passes `alpha = weight`
/// to each of its terms, and the minimiser adapter passes `alpha = −1` — the one place where
/// the sign flips. The overwriting forms ([`Term::value_and_grad`],
/// [`Term::value_grad_hessian`]) never read the buffers they are given.
///
/// ```
/// use ndarray::{arr1, Array1, ArrayView1, ArrayViewMut1};
/// use rlgrad::{Term, Result};
///
/// /// g(θ) = −½‖θ‖².
/// struct HalfSquare(usize);
/// impl Term for HalfSquare {
///     fn dim(&self) -> usize { self.0 }
///     fn add_value_and_grad(&self, theta: ArrayView1<f64>, alpha: f64,
///                           mut grad: ArrayViewMut1<f64>) -> Result<f64> {
///         rlgrad::check::term_args(self.dim(), theta, grad.len())?;
///         rlgrad::check::alpha(alpha)?;
///         grad.scaled_add(-alpha, &theta);
///         Ok(-0.5 * theta.dot(&theta))
///     }
/// }
/// let mut g = Array1::zeros(2);
/// let v = HalfSquare(2).value_and_grad(arr1(&[1.0, 2.0]).view(), g.view_mut())?;
/// assert_eq!(v, -2.5);
/// assert_eq!(g, arr1(&[-1.0, -2.0]));
/// # Ok::<(), rlgrad::Error>(())
/// ```
///
/// Implementors provide [`dim`](Term::dim) and [`add_value_and_grad`](Term::add_value_and_grad);
/// they override [`value`](Term::value) when a value-only pass is cheaper, and
/// [`add_value_grad_hessian`](Term::add_value_grad_hessian) when they can give the Hessian
/// exactly (the default uses central differences of the gradient).
///
/// Every method validates θ (length, finiteness) and the buffer shapes, and returns
/// [`Error::NonFiniteResult`](crate::Error::NonFiniteResult) rather than a NaN. After an
/// `Err` the contents of the caller's buffers are unspecified (a composite term may have
/// added part of its sum before a later part failed).
pub trait Term: Send + Sync {
    /// The length of θ.
    fn dim(&self) -> usize;

    /// Returns g(θ) and adds `alpha · ∇g(θ)` into `grad`.
    ///
    /// # Errors
    /// Wrong lengths, non-finite θ, a non-finite `alpha` ([`check::alpha`](crate::check::alpha):
    /// it would write NaN or ±∞ into the buffer), or a non-finite result.
    fn add_value_and_grad(
        &self,
        theta: ArrayView1<f64>,
        alpha: f64,
        grad: ArrayViewMut1<f64>,
    ) -> Result<f64>;

    /// g(θ) alone.
    ///
    /// # Errors
    /// As [`Term::add_value_and_grad`].
    fn value(&self, theta: ArrayView1<f64>) -> Result<f64> {
        let mut scratch = Array1::zeros(self.dim());
        self.add_value_and_grad(theta, 0.0, scratch.view_mut())
    }

    /// Returns g(θ) and writes ∇g(θ) into `grad` (its old contents are ignored).
    ///
    /// # Errors
    /// As [`Term::add_value_and_grad`].
    fn value_and_grad(&self, theta: ArrayView1<f64>, mut grad: ArrayViewMut1<f64>) -> Result<f64> {
        check::len("gradient buffer", self.dim(), grad.len())?;
        grad.fill(0.0);
        self.add_value_and_grad(theta, 1.0, grad)
    }

    /// Returns g(θ), adds `alpha · ∇g(θ)` into `grad` and `alpha · ∇²g(θ)` into `hess`.
    ///
    /// The default differentiates the analytic gradient by symmetric central differences (see
    /// [`testing::fd::hessian_of_gradient`](crate::testing::fd::hessian_of_gradient)); components
    /// that can give the Hessian exactly override this and return `true` from
    /// [`Term::has_exact_hessian`].
    ///
    /// # Errors
    /// As [`Term::add_value_and_grad`], plus a Hessian buffer that is not `dim × dim`.
    fn add_value_grad_hessian(
        &self,
        theta: ArrayView1<f64>,
        alpha: f64,
        mut grad: ArrayViewMut1<f64>,
        mut hess: ArrayViewMut2<f64>,
    ) -> Result<f64> {
        check::hessian_shape(self.dim(), &hess)?;
        check::alpha(alpha)?;
        let value = self.add_value_and_grad(theta, alpha, grad.view_mut())?;
        let h = hessian_of_gradient(self, theta, &fd::FdOptions::default())?;
        hess.scaled_add(alpha, &h);
        Ok(value)
    }

    /// Returns g(θ) and writes ∇g(θ) and ∇²g(θ) into the buffers (old contents ignored).
    ///
    /// # Errors
    /// As [`Term::add_value_grad_hessian`].
    fn value_grad_hessian(
        &self,
        theta: ArrayView1<f64>,
        mut grad: ArrayViewMut1<f64>,
        mut hess: ArrayViewMut2<f64>,
    ) -> Result<f64> {
        check::len("gradient buffer", self.dim(), grad.len())?;
        check::hessian_shape(self.dim(), &hess)?;
        grad.fill(0.0);
        hess.fill(0.0);
        self.add_value_grad_hessian(theta, 1.0, grad, hess)
    }

    /// Whether [`Term::add_value_grad_hessian`] is exact (not finite differences).
    fn has_exact_hessian(&self) -> bool {
        false
    }
}

/// Central-difference Jacobian of a term's analytic gradient, symmetrised: a Hessian. The
/// default [`Term::add_value_grad_hessian`]; public as
/// [`testing::fd::hessian_of_gradient`](crate::testing::fd::hessian_of_gradient).
///
/// # Errors
/// Whatever the term returns at the perturbed points; an invalid step.
pub fn hessian_of_gradient<T: Term + ?Sized>(
    term: &T,
    theta: ArrayView1<f64>,
    opts: &fd::FdOptions,
) -> Result<Array2<f64>> {
    let n = term.dim();
    fd::symmetric_jacobian(theta, opts, |x| {
        let mut g = Array1::zeros(n);
        term.value_and_grad(x, g.view_mut())?;
        Ok(g)
    })
}

/// Forwards every method (overrides included) through a pointer type.
macro_rules! forward_term {
    ($($ptr:ty),*) => {$(
        impl<T: Term + ?Sized> Term for $ptr {
            fn dim(&self) -> usize {
                (**self).dim()
            }
            fn add_value_and_grad(
                &self,
                theta: ArrayView1<f64>,
                alpha: f64,
                grad: ArrayViewMut1<f64>,
            ) -> Result<f64> {
                (**self).add_value_and_grad(theta, alpha, grad)
            }
            fn value(&self, theta: ArrayView1<f64>) -> Result<f64> {
                (**self).value(theta)
            }
            fn value_and_grad(
                &self,
                theta: ArrayView1<f64>,
                grad: ArrayViewMut1<f64>,
            ) -> Result<f64> {
                (**self).value_and_grad(theta, grad)
            }
            fn value_grad_hessian(
                &self,
                theta: ArrayView1<f64>,
                grad: ArrayViewMut1<f64>,
                hess: ArrayViewMut2<f64>,
            ) -> Result<f64> {
                (**self).value_grad_hessian(theta, grad, hess)
            }
            fn add_value_grad_hessian(
                &self,
                theta: ArrayView1<f64>,
                alpha: f64,
                grad: ArrayViewMut1<f64>,
                hess: ArrayViewMut2<f64>,
            ) -> Result<f64> {
                (**self).add_value_grad_hessian(theta, alpha, grad, hess)
            }
            fn has_exact_hessian(&self) -> bool {
                (**self).has_exact_hessian()
            }
        }
    )*};
}

forward_term!(&T, Box<T>);
