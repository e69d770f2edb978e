//! Central finite differences with Richardson extrapolation.
//!
//! With step h, the central difference D(h) = (f(θ + h eₖ) − f(θ − h eₖ)) / 2h has error
//! O(h²); the extrapolation R = (4 D(h/2) − D(h)) / 3 cancels that term and leaves O(h⁴).
//! With the default relative step 10⁻³ this gives about 12 correct digits for smooth terms,
//! enough to hold analytic derivatives to 10⁻⁶ relative (see [`crate::testing`]).
//!
//! These are the oracles for the derivative checks, and the fallback Hessian of a term that
//! does not supply an exact one. The module works on closures, so it depends on nothing but
//! the floor; the `Term`-shaped helpers built on it are public as
//! [`rlgrad::testing::fd`](crate::testing::fd).
//!
//! ```
//! use ndarray::arr1;
//! use rlgrad::testing::fd;
//! use rlgrad::{prior::MvGaussian, Term};
//! let prior = MvGaussian::isotropic(2, 0.0, 4.0)?;
//! let theta = arr1(&[0.5, -1.0]);
//! let g = fd::gradient(&prior, theta.view(), &fd::FdOptions::default())?;
//! // ∇ log N(θ; 0, 4 I) = −θ / 4.
//! assert!((g[0] + 0.125).abs() < 1e-10 && (g[1] - 0.25).abs() < 1e-10);
//! # Ok::<(), rlgrad::Error>(())
//! ```

use ndarray::{Array1, Array2, ArrayView1};

use crate::check;
use crate::error::{Error, Result};

/// Settings for the finite differences.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FdOptions {
    /// Relative step: hₖ = step · max(1, |θₖ|).
    pub step: f64,
    /// Whether to apply Richardson extrapolation (four evaluations per coordinate instead of
    /// two, error O(h⁴) instead of O(h²)).
    pub richardson: bool,
}

impl Default for FdOptions {
    fn default() -> Self {
        FdOptions {
            step: 1e-3,
            richardson: true,
        }
    }
}

impl FdOptions {
    fn check(&self) -> Result<()> {
        check::positive("step", self.step)
    }
}

/// Differentiates a vector-valued function of θ along every coordinate: column k of the
/// result is ∂f/∂θₖ.
fn differentiate<F>(theta: ArrayView1<f64>, opts: &FdOptions, mut f: F) -> Result<Array2<f64>>
where
    F: FnMut(ArrayView1<f64>) -> Result<Array1<f64>>,
{
    opts.check()?;
    check::finite_theta(theta, |_| "?".to_string())?;
    let k = theta.len();
    let mut x = theta.to_owned();
    // Every evaluation must give the same number of finite outputs (the first fixes it), at
    // a finite point, and every difference must be finite: an error otherwise, never a panic
    // or a NaN.
    let mut m: Option<usize> = None;
    let mut eval = |x: &Array1<f64>| -> Result<Array1<f64>> {
        check::finite_theta(x, |i| format!("theta + step along {i}"))?;
        let y = f(x.view())?;
        if m.is_none() {
            // The jacobian will hold outputs × θ numbers: sized before it is built.
            let what = "a finite-difference jacobian (outputs x theta)";
            check::floats(&[y.len(), k], "theta", k, what)?;
        }
        let want = *m.get_or_insert(y.len());
        check::len("outputs of the differentiated function", want, y.len())?;
        if let Some((i, v)) = check::first_non_finite(&y) {
            let what = format!("output {i} of the differentiated function (= {v})");
            return Err(Error::non_finite_result(what, x.to_vec()));
        }
        Ok(y)
    };
    let mut central = |i: usize, h: f64, x: &mut Array1<f64>| -> Result<Array1<f64>> {
        let x0 = x[i];
        x[i] = x0 + h;
        let up = eval(x)?;
        x[i] = x0 - h;
        let down = eval(x)?;
        x[i] = x0;
        let d = (up - down) / (2.0 * h);
        if let Some((j, v)) = check::first_non_finite(&d) {
            let what = format!("central difference of output {j} along theta[{i}] (= {v})");
            return Err(Error::non_finite_result(what, x.to_vec()));
        }
        Ok(d)
    };
    let mut cols: Vec<Array1<f64>> = Vec::with_capacity(k);
    for i in 0..k {
        let h = opts.step * theta[i].abs().max(1.0);
        let d1 = central(i, h, &mut x)?;
        let col = if opts.richardson {
            let d2 = central(i, 0.5 * h, &mut x)?;
            (4.0 * d2 - d1) / 3.0
        } else {
            d1
        };
        if let Some((j, v)) = check::first_non_finite(&col) {
            let what = format!("extrapolated difference of output {j} along theta[{i}] (= {v})");
            return Err(Error::non_finite_result(what, theta.to_vec()));
        }
        cols.push(col);
    }
    let m = cols.first().map_or(0, Array1::len);
    let mut out = Array2::zeros((m, k));
    for (i, c) in cols.into_iter().enumerate() {
        out.column_mut(i).assign(&c);
    }
    Ok(out)
}

/// Central-difference gradient of a scalar function of θ (the value of a term, say).
///
/// # Errors
/// Whatever `f` returns at θ or at the perturbed points; an invalid step.
pub(crate) fn gradient_of<F>(
    theta: ArrayView1<f64>,
    opts: &FdOptions,
    mut f: F,
) -> Result<Array1<f64>>
where
    F: FnMut(ArrayView1<f64>) -> Result<f64>,
{
    if theta.is_empty() {
        f(theta)?;
        return Ok(Array1::zeros(0));
    }
    let d = differentiate(theta, opts, |x| Ok(Array1::from_elem(1, f(x)?)))?;
    Ok(d.row(0).to_owned())
}

/// Central-difference Jacobian of a vector function of θ, symmetrised: for the gradient of a
/// scalar function, a Hessian.
///
/// # Errors
/// Whatever `f` returns at the perturbed points; an invalid step.
pub(crate) fn symmetric_jacobian<F>(
    theta: ArrayView1<f64>,
    opts: &FdOptions,
    f: F,
) -> Result<Array2<f64>>
where
    F: FnMut(ArrayView1<f64>) -> Result<Array1<f64>>,
{
    let j = differentiate(theta, opts, f)?;
    Ok(0.5 * (&j + &j.t()))
}

/// Central-difference Jacobian of any vector function (rows: outputs, columns: θ).
///
/// Useful for checking derivatives of quantities that are not terms, such as a network's
/// output or a score vector.
///
/// # Errors
/// Whatever `f` returns; an invalid step.
pub fn jacobian<F>(theta: ArrayView1<f64>, opts: &FdOptions, f: F) -> Result<Array2<f64>>
where
    F: FnMut(ArrayView1<f64>) -> Result<Array1<f64>>,
{
    differentiate(theta, opts, f)
}
