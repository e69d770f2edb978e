//! The crate's argument checks, each written once: every public boundary of the crate validates
//! through these, so that the same fault gets the same [`Error`] variant and the same wording
//! wherever it happens. Implementors of [`Term`](crate::Term), [`Policy`](crate::policy::Policy) or
//! [`LearningRule`](crate::learning::LearningRule) can use them too, so that their errors read like
//! the crate's.
//!
//! | check | fault | error |
//! |---|---|---|
//! | [`len`] | a buffer or vector of the wrong length | [`Error::DimensionMismatch`] |
//! | [`square_len`] | a k × k buffer of the wrong length | [`Error::DimensionMismatch`] |
//! | [`index`] | a state, action or block outside its range | [`Error::IndexOutOfRange`] |
//! | [`finite_theta`], [`theta`] | a NaN or infinite entry of θ | [`Error::NonFiniteTheta`] |
//! | [`term_args`], [`hessian_shape`], [`alpha`] | what every [`Term`](crate::Term) method checks | the above |
//! | [`finite_input`], [`finite_inputs`] | a NaN or infinite input number (a reward, a weight, a sample) | [`Error::NonFiniteInput`] |
//! | [`finite_result`] | a computation that overflowed | [`Error::NonFiniteResult`] |
//! | [`finite_input_with`], [`finite_inputs_with`] | the same, named lazily (no allocation unless it fails) | [`Error::NonFiniteInput`] |
//! | [`enough`] | fewer draws, chains or points than a computation needs | [`Error::EmptyData`] |
//! | [`unit_interval`], [`discount`], [`positive`], [`non_negative`], [`finite_option`], [`at_least_one`] | an option outside its range | [`Error::InvalidOption`] |
//! | [`MAX_FLOATS`] | a size whose buffers could not be allocated | [`Error::InvalidOption`] |
//!
//! Sizes are checked before anything is allocated, with checked arithmetic, against one cap:
//! no buffer of the crate holds more than [`MAX_FLOATS`] numbers.
//!
//! ```
//! use rlgrad::{check, Error};
//! assert!(check::len("gradient buffer", 3, 3).is_ok());
//! let err = check::index("action", 4, 3).unwrap_err();
//! assert_eq!(err.to_string(), "action = 4 is out of range: must be below 3");
//! let err = check::finite_theta(&[0.5, f64::NAN], |i| ["alpha", "beta"][i].to_string());
//! assert!(matches!(err, Err(Error::NonFiniteTheta { index: 1, .. })));
//! ```

mod alloc;

pub use self::alloc::{MAX_ACTIONS, MAX_FLOATS};
pub(crate) use self::alloc::{filled, floats, reserve, square_matrix, square_zeros};

use ndarray::{ArrayView1, ArrayViewMut2};

use crate::error::{Error, Result};

/// Checks that a length matches.
///
/// # Errors
/// [`Error::DimensionMismatch`] naming `what`.
#[inline]
pub fn len(what: &str, expected: usize, found: usize) -> Result<()> {
    if expected == found {
        Ok(())
    } else {
        Err(Error::dimension_mismatch(what, expected, found))
    }
}

/// Checks that a k × k row-major buffer has k² entries (without overflowing).
///
/// # Errors
/// [`Error::DimensionMismatch`] naming `what`.
pub fn square_len(what: &str, k: usize, found: usize) -> Result<()> {
    match k.checked_mul(k) {
        Some(n) => len(what, n, found),
        None => Err(Error::dimension_mismatch(
            format!("{what} (dim x dim overflows)"),
            usize::MAX,
            found,
        )),
    }
}

/// Checks that `index < limit`.
///
/// # Errors
/// [`Error::IndexOutOfRange`] naming `what`.
#[inline]
pub fn index(what: &str, index: usize, limit: usize) -> Result<()> {
    if index < limit {
        Ok(())
    } else {
        Err(Error::index_out_of_range(what, index, limit))
    }
}

/// The position and value of the first non-finite number, if any.
#[inline]
pub(crate) fn first_non_finite<'a>(
    values: impl IntoIterator<Item = &'a f64>,
) -> Option<(usize, f64)> {
    values
        .into_iter()
        .enumerate()
        .find(|(_, v)| !v.is_finite())
        .map(|(i, v)| (i, *v))
}

/// Checks that every entry of θ is finite; `name(i)` names entry i in the error (a
/// parameter's name, "W2\[1,0\]", …).
///
/// # Errors
/// [`Error::NonFiniteTheta`] for the first entry that is not finite.
pub fn finite_theta<'a>(
    theta: impl IntoIterator<Item = &'a f64>,
    name: impl Fn(usize) -> String,
) -> Result<()> {
    match first_non_finite(theta) {
        None => Ok(()),
        Some((i, v)) => Err(Error::non_finite_theta(i, name(i), v)),
    }
}

/// Checks θ's length and the finiteness of every entry (named "?": for components without
/// parameter names).
///
/// # Errors
/// [`Error::DimensionMismatch`] or [`Error::NonFiniteTheta`].
pub fn theta(dim: usize, theta: &[f64]) -> Result<()> {
    len("theta", dim, theta.len())?;
    finite_theta(theta, |_| "?".to_string())
}

/// The argument checks every [`Term`](crate::Term) performs at its public boundary: θ has
/// length `dim` and finite entries, and the gradient buffer has length `dim` (the
/// [`Term`](crate::Term) docs show it in a term of one's own).
///
/// ```
/// use ndarray::arr1;
/// assert!(rlgrad::check::term_args(2, arr1(&[1.0, 2.0]).view(), 2).is_ok());
/// assert!(rlgrad::check::term_args(2, arr1(&[1.0, f64::NAN]).view(), 2).is_err());
/// assert!(rlgrad::check::term_args(2, arr1(&[1.0, 2.0]).view(), 3).is_err());
/// ```
///
/// # Errors
/// [`Error::DimensionMismatch`] or [`Error::NonFiniteTheta`].
pub fn term_args(dim: usize, theta: ArrayView1<f64>, grad_len: usize) -> Result<()> {
    len("theta", dim, theta.len())?;
    len("gradient buffer", dim, grad_len)?;
    finite_theta(theta, |_| "?".to_string())
}

/// Checks the `alpha` of an axpy method (`add_value_and_grad`, `add_estimate`, …): a NaN or
/// infinite alpha would write NaN or ±∞ into the caller's buffer, so every such method refuses
/// it before touching the buffer.
///
/// # Errors
/// [`Error::NonFiniteInput`] naming `alpha`.
#[inline]
pub fn alpha(alpha: f64) -> Result<()> {
    finite_input("alpha", alpha)
}

/// Checks that a Hessian buffer is `dim × dim`.
///
/// # Errors
/// [`Error::DimensionMismatch`] naming the wrong side.
pub fn hessian_shape(dim: usize, hess: &ArrayViewMut2<f64>) -> Result<()> {
    len("hessian buffer rows", dim, hess.nrows())?;
    len("hessian buffer columns", dim, hess.ncols())
}

/// Checks that an input number is finite.
///
/// # Errors
/// [`Error::NonFiniteInput`] naming `what`.
#[inline]
pub fn finite_input(what: &str, value: f64) -> Result<()> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(Error::non_finite_input(what, value))
    }
}

/// Checks that every input number is finite, naming the first that is not as `what[i]`.
///
/// # Errors
/// [`Error::NonFiniteInput`].
pub fn finite_inputs<'a>(what: &str, values: impl IntoIterator<Item = &'a f64>) -> Result<()> {
    finite_inputs_with(values, |i| format!("{what}[{i}]"))
}

/// Checks that an input number is finite; `what()` names it, built only on failure (for
/// names with an index, in paths that must not allocate).
///
/// # Errors
/// [`Error::NonFiniteInput`].
#[inline]
pub fn finite_input_with(value: f64, what: impl FnOnce() -> String) -> Result<()> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(Error::non_finite_input(what(), value))
    }
}

/// Checks that every input number is finite; `what(i)` names entry i, built only on failure.
///
/// # Errors
/// [`Error::NonFiniteInput`] for the first entry that is not finite.
#[inline]
pub fn finite_inputs_with<'a>(
    values: impl IntoIterator<Item = &'a f64>,
    what: impl FnOnce(usize) -> String,
) -> Result<()> {
    match first_non_finite(values) {
        None => Ok(()),
        Some((i, v)) => Err(Error::non_finite_input(what(i), v)),
    }
}

/// Returns `value` if it is finite. The message `what()` is built only on failure, so the
/// check allocates nothing on the success path (it runs in per-sample and per-decision
/// paths that the crate keeps allocation-free).
///
/// # Errors
/// [`Error::NonFiniteResult`] naming `what()` and the θ it was computed at.
#[inline]
pub fn finite_result<'a>(
    value: f64,
    theta: impl IntoIterator<Item = &'a f64>,
    what: impl FnOnce() -> String,
) -> Result<f64> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(Error::non_finite_result(
            what(),
            theta.into_iter().copied().collect(),
        ))
    }
}

/// Checks a subject's log-likelihood ℓ, its gradient `g` and its Hessian `h` (empty when not
/// computed), naming the first that is not finite.
///
/// # Errors
/// [`Error::NonFiniteResult`] naming the quantity, the subject, and θ.
pub(crate) fn finite_log_likelihood(
    subject: &str,
    ll: f64,
    g: &[f64],
    h: &[f64],
    theta: ndarray::ArrayView1<f64>,
) -> Result<()> {
    let bad = |what: &str| {
        Err(Error::non_finite_result(
            format!("{what} of subject `{subject}`"),
            theta.to_vec(),
        ))
    };
    if !ll.is_finite() {
        return bad("log-likelihood");
    }
    if g.iter().any(|v| !v.is_finite()) {
        return bad("gradient of the log-likelihood");
    }
    if h.iter().any(|v| !v.is_finite()) {
        return bad("hessian of the log-likelihood");
    }
    Ok(())
}

/// Checks that an option is finite.
///
/// # Errors
/// [`Error::InvalidOption`] naming the option.
pub fn finite_option(name: &str, value: f64) -> Result<()> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(Error::invalid_option(name, value, "must be finite"))
    }
}

/// Checks a standard deviation that is a parameter (θ entry `index`, named by `name()`, built
/// only on failure): finite and > 0.
///
/// ```
/// use rlgrad::Error;
/// assert!(rlgrad::check::standard_deviation(0, 0.5, || "sigma[0]".into()).is_ok());
/// let e = rlgrad::check::standard_deviation(3, 0.0, || "sigma[3]".into()).unwrap_err();
/// assert!(matches!(e, Error::InvalidParameter { .. }));
/// let e = rlgrad::check::standard_deviation(3, f64::NAN, || "sigma[3]".into()).unwrap_err();
/// assert!(matches!(e, Error::NonFiniteTheta { index: 3, .. }));
/// ```
///
/// # Errors
/// [`Error::NonFiniteTheta`] for a NaN or infinite value, [`Error::InvalidParameter`] for a
/// value ≤ 0.
#[inline]
pub fn standard_deviation(index: usize, value: f64, name: impl FnOnce() -> String) -> Result<()> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else if value.is_finite() {
        Err(Error::invalid_parameter(
            name(),
            value,
            "must be > 0 (a standard deviation)",
        ))
    } else {
        Err(Error::non_finite_theta(index, name(), value))
    }
}

/// Checks that an option is finite and positive.
///
/// # Errors
/// [`Error::InvalidOption`] naming the option.
pub fn positive(name: &str, value: f64) -> Result<()> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(Error::invalid_option(name, value, "must be finite and > 0"))
    }
}

/// Checks that an option is finite and not negative.
///
/// # Errors
/// [`Error::InvalidOption`] naming the option.
pub fn non_negative(name: &str, value: f64) -> Result<()> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(Error::invalid_option(
            name,
            value,
            "must be finite and >= 0",
        ))
    }
}

/// Checks that an option lies in \[0, 1\] (a probability, a decay).
///
/// # Errors
/// [`Error::InvalidOption`] naming the option.
pub fn unit_interval(name: &str, value: f64) -> Result<()> {
    if (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(Error::invalid_option(name, value, "must be in [0, 1]"))
    }
}

/// Checks that a model parameter lies in \[0, 1\] (a learning rate, a weight, a lapse).
///
/// # Errors
/// [`Error::InvalidParameter`] naming the parameter.
pub fn unit_parameter(name: &str, value: f64) -> Result<()> {
    if (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(Error::invalid_parameter(name, value, "is outside [0, 1]"))
    }
}

/// Checks a discount factor γ ∈ \[0, 1\].
///
/// # Errors
/// [`Error::InvalidOption`] naming `gamma`.
pub fn discount(gamma: f64) -> Result<()> {
    if (0.0..=1.0).contains(&gamma) {
        Ok(())
    } else {
        Err(Error::invalid_option(
            "gamma",
            gamma,
            "the discount must be in [0, 1]",
        ))
    }
}

/// Checks that there are at least `needed` items of data (draws, chains, points) where
/// `found` were given; `what` names the items.
///
/// ```
/// use rlgrad::{check, Error};
/// assert!(check::enough("draws per chain", 4, 4).is_ok());
/// let e = check::enough("draws per chain", 4, 3).unwrap_err();
/// assert!(matches!(e, Error::EmptyData { .. }));
/// assert_eq!(e.to_string(), "empty data: draws per chain: 3 given, at least 4 needed");
/// ```
///
/// # Errors
/// [`Error::EmptyData`] saying how many were given and how many are needed.
pub fn enough(what: &str, needed: usize, found: usize) -> Result<()> {
    if found >= needed {
        Ok(())
    } else {
        Err(Error::empty_data(format!(
            "{what}: {found} given, at least {needed} needed"
        )))
    }
}

/// Checks that a count or size option is at least 1.
///
/// # Errors
/// [`Error::InvalidOption`] naming the option.
pub fn at_least_one(name: &str, value: usize) -> Result<()> {
    if value >= 1 {
        Ok(())
    } else {
        Err(Error::invalid_option(name, value, "must be at least 1"))
    }
}

/// Checks the shape of a table of `n_states × n_actions` entries: both at least 1, and the
/// table (times `per_entry` numbers for each entry) within [`MAX_FLOATS`]; `what` names
/// the table in the error. Returns the number of entries S · A.
///
/// # Errors
/// [`Error::InvalidOption`] naming `n_states`, `n_actions`, or both for a table too large.
pub(crate) fn table(
    n_states: usize,
    n_actions: usize,
    per_entry: usize,
    what: &str,
) -> Result<usize> {
    at_least_one("n_states", n_states)?;
    at_least_one("n_actions", n_actions)?;
    floats(
        &[n_states, n_actions, per_entry.max(1)],
        "n_states x n_actions",
        format_args!("{n_states} x {n_actions}"),
        what,
    )?;
    Ok(n_states * n_actions)
}

/// Checks that a block of θ reported by a component (a policy's score block) lies inside θ of
/// length `dim`: a bug of the component otherwise, but a user's component must not make the
/// crate panic.
///
/// # Errors
/// [`Error::IndexOutOfRange`] naming the block.
pub(crate) fn block(block: &std::ops::Range<usize>, dim: usize) -> Result<()> {
    if block.start <= block.end && block.end <= dim {
        Ok(())
    } else {
        Err(Error::index_out_of_range(
            format!("end of the score block {block:?} reported by the policy"),
            block.end.max(block.start),
            dim.saturating_add(1),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_option_and_value() {
        let e = unit_interval("decay", 1.5).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid option `decay` = 1.5: must be in [0, 1]"
        );
        assert!(unit_interval("decay", f64::NAN).is_err());
        assert!(discount(0.0).is_ok() && discount(1.0).is_ok());
        assert!(positive("eta", 0.0).is_err() && positive("eta", f64::INFINITY).is_err());
        assert!(at_least_one("n", 0).is_err() && at_least_one("n", 1).is_ok());
        assert!(finite_option("w", f64::NEG_INFINITY).is_err());
    }

    #[test]
    fn first_non_finite_entry_is_named() {
        let e = finite_inputs("z", &[0.0, 1.0, f64::INFINITY]).unwrap_err();
        assert_eq!(e.to_string(), "z[2] = inf is not finite");
        let e = theta(2, &[0.0, f64::NAN]).unwrap_err();
        assert!(matches!(e, Error::NonFiniteTheta { index: 1, .. }), "{e}");
        assert!(theta(3, &[0.0, 1.0]).is_err());
        assert!(square_len("h", usize::MAX, 0).is_err());
        assert!(square_len("h", 3, 9).is_ok());
    }

    #[test]
    fn tables_are_capped() {
        assert_eq!(table(3, 2, 4, "t").unwrap(), 6);
        assert!(table(0, 2, 1, "t").is_err() && table(2, 0, 1, "t").is_err());
        assert!(table(1 << 20, 1 << 20, 1, "t").is_err());
        assert!(table(usize::MAX, 2, 1, "t").is_err());
        assert!(block(&(2..5), 5).is_ok() && block(&(2..6), 5).is_err());
        assert!(non_negative("tol", 0.0).is_ok() && non_negative("tol", -1e-300).is_err());
    }
}
