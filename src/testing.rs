//! The derivative checker: compares any [`Term`]'s analytic gradient and Hessian with central
//! finite differences, and checks the [`Term`] contract (axpy and overwrite semantics, value
//! bit-identical across methods).
//!
//! The crate proves its own components with this module (driven by proptest over random parameters
//! and sessions); downstream implementors of a [`LearningRule`](crate::learning::LearningRule) or
//! [`Observation`](crate::observation::Observation) use it the same way.
//!
//! The error measure is relative with a floor: |a − n| / max(floor, |a|, |n|), with the floor
//! 1 by default, so that entries near zero are compared absolutely.
//!
//! ```
//! use ndarray::arr1;
//! use rlgrad::prelude::*;
//! use rlgrad::testing::{check_term, CheckOptions};
//! let model = Model::new(RescorlaWagner::dual(), Softmax::with_perseveration(), 1, 3)?;
//! let session = Session::bandit("1", vec![0, 2, 1, 1, 0], vec![1.0, 0.0, 0.5, 1.0, -1.0])?;
//! let subject = Subject::new("s", vec![session])?;
//! let lik = model.likelihood(&subject)?;
//! let report = check_term(&lik, arr1(&[0.3, -0.5, 0.8, 0.2]).view(), &CheckOptions::default())?;
//! assert!(report.passed(), "{report}");
//! # Ok::<(), rlgrad::Error>(())
//! ```

use ndarray::{Array1, ArrayView1};

use crate::Term;
use crate::check;
use crate::error::{Error, Result};

use self::fd::FdOptions;

/// Central finite differences with Richardson extrapolation: the oracles of the checks
/// above, for quantities that are not [`Term`]s too (a network's output, a score vector:
/// [`fd::jacobian`]).
///
/// With step h, the central difference D(h) = (f(θ + h eₖ) − f(θ − h eₖ)) / 2h has error
/// O(h²); the extrapolation R = (4 D(h/2) − D(h)) / 3 cancels that term and leaves O(h⁴).
/// With the default relative step 10⁻³ this gives about 12 correct digits for smooth terms,
/// enough to hold analytic derivatives to 10⁻⁶ relative. The same differences are the
/// default Hessian of a [`Term`] that does not supply an exact one.
///
/// ```
/// use ndarray::arr1;
/// use rlgrad::testing::fd::{jacobian, FdOptions};
/// // The Jacobian of (θ₀θ₁, sin θ₀) at (1, 2).
/// let j = jacobian(arr1(&[1.0, 2.0]).view(), &FdOptions::default(), |t| {
///     Ok(arr1(&[t[0] * t[1], t[0].sin()]))
/// })?;
/// assert!((j[[0, 0]] - 2.0).abs() < 1e-10 && (j[[1, 0]] - 1f64.cos()).abs() < 1e-10);
/// # Ok::<(), rlgrad::Error>(())
/// ```
pub mod fd {
    use ndarray::{Array1, ArrayView1};

    pub use crate::fd::{FdOptions, jacobian};
    pub use crate::term::hessian_of_gradient;
    use crate::{Result, Term};

    /// Central-difference gradient of a term's value.
    ///
    /// # Errors
    /// Whatever the term returns at the perturbed points; an invalid step.
    pub fn gradient<T: Term + ?Sized>(
        term: &T,
        theta: ArrayView1<f64>,
        opts: &FdOptions,
    ) -> Result<Array1<f64>> {
        crate::fd::gradient_of(theta, opts, |x| term.value(x))
    }
}

/// Settings for the checks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CheckOptions {
    /// Finite-difference settings.
    pub fd: FdOptions,
    /// Largest accepted relative error.
    pub tolerance: f64,
    /// Floor of the relative error's denominator.
    pub floor: f64,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            fd: FdOptions::default(),
            tolerance: 1e-6,
            floor: 1.0,
        }
    }
}

/// An analytic derivative next to its finite-difference estimate.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// What was compared ("gradient", "hessian").
    pub what: &'static str,
    /// Analytic values, flattened row-major.
    pub analytic: Vec<f64>,
    /// Finite-difference values, flattened row-major.
    pub numeric: Vec<f64>,
    /// Largest relative error.
    pub max_error: f64,
    /// Flat index of the largest error.
    pub worst: usize,
    /// The tolerance it is held to.
    pub tolerance: f64,
}

impl Comparison {
    fn new(what: &'static str, analytic: Vec<f64>, numeric: Vec<f64>, o: &CheckOptions) -> Self {
        let mut max_error = 0.0;
        let mut worst = 0;
        for (i, (a, n)) in analytic.iter().zip(&numeric).enumerate() {
            let err = (a - n).abs() / o.floor.max(a.abs()).max(n.abs());
            // A NaN error must fail, so compare with `!(err <= max)`.
            if err.is_nan() || err > max_error {
                max_error = err;
                worst = i;
            }
        }
        Comparison {
            what,
            analytic,
            numeric,
            max_error,
            worst,
            tolerance: o.tolerance,
        }
    }

    /// Whether the largest relative error is within tolerance.
    pub fn passed(&self) -> bool {
        self.max_error <= self.tolerance
    }
}

impl std::fmt::Display for Comparison {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: max relative error {:.3e} (tolerance {:.1e}) at entry {}: analytic {:e}, \
             finite differences {:e}",
            self.what,
            self.max_error,
            self.tolerance,
            self.worst,
            self.analytic.get(self.worst).copied().unwrap_or(f64::NAN),
            self.numeric.get(self.worst).copied().unwrap_or(f64::NAN)
        )
    }
}

/// Compares the analytic gradient with central differences of the value.
///
/// # Errors
/// Whatever the term returns at θ or at the perturbed points.
pub fn check_gradient<T: Term + ?Sized>(
    term: &T,
    theta: ArrayView1<f64>,
    options: &CheckOptions,
) -> Result<Comparison> {
    let mut g = Array1::zeros(term.dim());
    term.value_and_grad(theta, g.view_mut())?;
    let n = fd::gradient(term, theta, &options.fd)?;
    Ok(Comparison::new("gradient", g.to_vec(), n.to_vec(), options))
}

/// Compares the analytic Hessian with central differences of the analytic gradient (which
/// [`check_gradient`] vouches for).
///
/// # Errors
/// Whatever the term returns at θ or at the perturbed points.
pub fn check_hessian<T: Term + ?Sized>(
    term: &T,
    theta: ArrayView1<f64>,
    options: &CheckOptions,
) -> Result<Comparison> {
    let k = term.dim();
    let mut g = Array1::zeros(k);
    let mut h = check::square_matrix(k, "the checked term's hessian")?;
    term.value_grad_hessian(theta, g.view_mut(), h.view_mut())?;
    let n = fd::hessian_of_gradient(term, theta, &options.fd)?;
    Ok(Comparison::new(
        "hessian",
        h.iter().copied().collect(),
        n.iter().copied().collect(),
        options,
    ))
}

/// The outcome of [`check_term`].
#[derive(Clone, Debug, PartialEq)]
pub struct TermReport {
    /// Gradient against finite differences.
    pub gradient: Comparison,
    /// Hessian against finite differences of the gradient.
    pub hessian: Comparison,
    /// Violations of the [`Term`] contract (empty when it holds).
    pub contract: Vec<String>,
}

impl TermReport {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.gradient.passed() && self.hessian.passed() && self.contract.is_empty()
    }
}

impl std::fmt::Display for TermReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{}", self.gradient)?;
        writeln!(f, "{}", self.hessian)?;
        for c in &self.contract {
            writeln!(f, "contract: {c}")?;
        }
        Ok(())
    }
}

/// Runs every check at θ: gradient and Hessian against finite differences, and the
/// [`Term`] contract:
///
/// - `value`, `value_and_grad`, `add_value_and_grad`, `value_grad_hessian` and
///   `add_value_grad_hessian` return the same value to the last bit;
/// - `add_value_and_grad(θ, α, g)` and `add_value_grad_hessian(θ, α, g, h)` add exactly α·∇g
///   and α·∇²g into buffers that already hold data;
/// - the overwriting forms ignore what their buffers held;
/// - the Hessian is symmetric;
/// - the `add_` methods refuse a non-finite alpha (NaN, ±∞).
///
/// # Errors
/// Whatever the term returns at θ or at the perturbed points.
pub fn check_term<T: Term + ?Sized>(
    term: &T,
    theta: ArrayView1<f64>,
    options: &CheckOptions,
) -> Result<TermReport> {
    let k = term.dim();
    let gradient = check_gradient(term, theta, options)?;
    let hessian = check_hessian(term, theta, options)?;
    let mut contract = Vec::new();

    let v0 = term.value(theta)?;
    let mut g1 = Array1::from_elem(k, f64::NAN);
    let v1 = term.value_and_grad(theta, g1.view_mut())?;
    let mut g2 = Array1::from_elem(k, 1.0);
    let v2 = term.add_value_and_grad(theta, 2.5, g2.view_mut())?;
    let mut g3 = Array1::from_elem(k, f64::NAN);
    let mut h3 = check::square_matrix(k, "the checked term's hessian")?;
    h3.fill(f64::NAN);
    let v3 = term.value_grad_hessian(theta, g3.view_mut(), h3.view_mut())?;
    let mut g4 = Array1::from_elem(k, 1.0);
    let mut h4 = check::square_matrix(k, "the checked term's hessian")?;
    h4.fill(1.0);
    let v4 = term.add_value_grad_hessian(theta, 2.5, g4.view_mut(), h4.view_mut())?;
    for (name, v) in [
        ("value_and_grad", v1),
        ("add_value_and_grad", v2),
        ("value_grad_hessian", v3),
        ("add_value_grad_hessian", v4),
    ] {
        if v.to_bits() != v0.to_bits() {
            contract.push(format!("{name} returned {v:e} but value returned {v0:e}"));
        }
    }
    for i in 0..k {
        let want = 1.0 + 2.5 * g1[i];
        if (g2[i] - want).abs() > 1e-12 * want.abs().max(1.0) {
            contract.push(format!(
                "add_value_and_grad with alpha = 2.5 gave {:e} at entry {i}, expected {want:e}",
                g2[i]
            ));
        }
        if g3[i].to_bits() != g1[i].to_bits()
            && (g3[i] - g1[i]).abs() > 1e-12 * g1[i].abs().max(1.0)
        {
            contract.push(format!(
                "value_grad_hessian gradient {:e} differs from value_and_grad {:e} at entry {i}",
                g3[i], g1[i]
            ));
        }
        if (g4[i] - want).abs() > 1e-12 * want.abs().max(1.0) {
            contract.push(format!(
                "add_value_grad_hessian with alpha = 2.5 gave gradient {:e} at entry {i}, \
                 expected {want:e}",
                g4[i]
            ));
        }
        for j in 0..k {
            if (h3[[i, j]] - h3[[j, i]]).abs() > 1e-12 * h3[[i, j]].abs().max(1.0) {
                contract.push(format!("hessian is not symmetric at ({i}, {j})"));
            }
            let want_h = 1.0 + 2.5 * h3[[i, j]];
            if (h4[[i, j]] - want_h).abs() > 1e-9 * want_h.abs().max(1.0) {
                contract.push(format!(
                    "add_value_grad_hessian with alpha = 2.5 gave hessian {:e} at ({i}, {j}), \
                     expected {want_h:e}",
                    h4[[i, j]]
                ));
            }
        }
    }
    if g1.iter().chain(h3.iter()).any(|x| !x.is_finite()) {
        contract.push("an overwriting form left a non-finite entry in its buffer".to_string());
    }
    // A non-finite alpha would write NaN or ±∞ into the caller's buffer: it must be refused.
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let mut g = Array1::zeros(k);
        let mut h = check::square_matrix(k, "the checked term's hessian")?;
        if term.add_value_and_grad(theta, bad, g.view_mut()).is_ok() {
            contract.push(format!("add_value_and_grad accepted alpha = {bad}"));
        }
        if term
            .add_value_grad_hessian(theta, bad, g.view_mut(), h.view_mut())
            .is_ok()
        {
            contract.push(format!("add_value_grad_hessian accepted alpha = {bad}"));
        }
    }
    Ok(TermReport {
        gradient,
        hessian,
        contract,
    })
}

/// As [`check_term`], but an error if any check fails (convenient in tests).
///
/// # Errors
/// [`Error::DerivativeCheck`] carrying the report, or whatever the term returns.
pub fn assert_term<T: Term + ?Sized>(
    term: &T,
    theta: ArrayView1<f64>,
    options: &CheckOptions,
) -> Result<TermReport> {
    let report = check_term(term, theta, options)?;
    if report.passed() {
        Ok(report)
    } else {
        Err(Error::DerivativeCheck {
            theta: theta.to_vec(),
            report: report.to_string(),
        })
    }
}
