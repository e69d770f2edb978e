//! Capped, fallible allocation: a size is checked with checked arithmetic against one cap
//! before anything is allocated, and what is allocated is allocated fallibly, so that a size
//! from a user's data or arguments is an error, never an abort of the process.

use std::fmt::Display;

use crate::error::{Error, Result};

/// The most numbers (`f64`s, or entries of the same size) that any one buffer of the crate
/// holds: 2²⁸ (2 GiB of `f64`). Constructors refuse sizes whose buffers would be larger with
/// [`Error::InvalidOption`], before allocating anything; below the cap, buffers are still
/// allocated fallibly.
///
/// ```
/// use rlgrad::check::MAX_FLOATS;
/// use rlgrad::critic::{Activation, ReplayBuffer, ShallowCritic};
/// assert_eq!(MAX_FLOATS, 1 << 28);
/// assert!(ShallowCritic::new(1 << 40, 1, Activation::Tanh).is_err()); // n = 2⁴⁰ + 1
/// assert!(ShallowCritic::new(1, 1 << 27, Activation::Tanh).is_err()); // 3 · 2²⁷ weights
/// assert!(ReplayBuffer::new(1 << 20, 1 << 9).is_err());                // 2²⁹ floats of z
/// ```
pub const MAX_FLOATS: usize = 1 << 28;

/// The most actions a model can have: 2¹⁴ = 16 384, so that the observation model's A × A
/// second derivatives fit in [`MAX_FLOATS`]. The CSV reader refuses a larger action at its
/// line (a typo such as `1000000` would otherwise size a model by it).
pub const MAX_ACTIONS: usize = 1 << 14;

/// The product of `factors` as a number of floats, if one buffer may hold that many (at most
/// [`MAX_FLOATS`]; the product must not overflow either); else [`Error::InvalidOption`] for
/// the option `name` = `value`, saying which buffer (`what`) would be too large. The one
/// size check of the crate. `value` and `what` are formatted only on failure (pass
/// `format_args!`), so the check allocates nothing when the size is fine.
pub(crate) fn floats(
    factors: &[usize],
    name: &str,
    value: impl Display,
    what: impl Display,
) -> Result<usize> {
    match factors
        .iter()
        .try_fold(1usize, |acc, &f| acc.checked_mul(f))
    {
        Some(n) if n <= MAX_FLOATS => Ok(n),
        _ => {
            let sizes: Vec<String> = factors.iter().map(usize::to_string).collect();
            Err(Error::invalid_option(
                name,
                value,
                format!(
                    "{what} would hold {} floats, more than the limit of {MAX_FLOATS} (2^28) \
                     per buffer",
                    sizes.join(" x ")
                ),
            ))
        }
    }
}

/// A vector of `len` copies of `fill`, allocated fallibly; [`Error::InvalidOption`] for the
/// option `name` = `len` if the memory cannot be had. Callers check `len` with [`floats`]
/// first.
pub(crate) fn filled<T: Clone>(len: usize, fill: T, name: &str) -> Result<Vec<T>> {
    let mut v = Vec::new();
    if v.try_reserve_exact(len).is_err() {
        return Err(cannot_allocate(name, len, len));
    }
    v.resize(len, fill);
    Ok(v)
}

/// A zeroed dim × dim matrix's storage (row-major), within [`MAX_FLOATS`] and allocated
/// fallibly; the errors name `what`.
pub(crate) fn square_zeros(dim: usize, what: &str) -> Result<Vec<f64>> {
    let len = floats(&[dim, dim], what, dim, what)?;
    filled(len, 0.0, what)
}

/// A zeroed dim × dim matrix, within [`MAX_FLOATS`] and allocated fallibly; the errors name
/// `what`.
pub(crate) fn square_matrix(dim: usize, what: &str) -> Result<ndarray::Array2<f64>> {
    let data = square_zeros(dim, what)?;
    Ok(ndarray::Array2::from_shape_vec((dim, dim), data).expect("dim * dim entries"))
}

/// Room for `additional` more entries in `v` (amortised growth, as `Vec::reserve`), allocated
/// fallibly; [`Error::InvalidOption`] for the option `name` = `value` if the memory cannot be
/// had (`v` is then unchanged). `name` and `value` are formatted only on failure (pass
/// `format_args!`): a push that fits allocates nothing more than the vector's own growth.
pub(crate) fn reserve<T>(
    v: &mut Vec<T>,
    additional: usize,
    name: impl Display,
    value: impl Display,
) -> Result<()> {
    v.try_reserve(additional)
        .map_err(|_| cannot_allocate(name, value, additional))
}

#[cold]
fn cannot_allocate(name: impl Display, value: impl Display, entries: usize) -> Error {
    Error::invalid_option(
        name.to_string(),
        value,
        format!("cannot allocate {entries} more entries"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The size arithmetic alone: no test here allocates a large buffer (asking the OS for
    /// terabytes is fragile under memory overcommit).
    #[test]
    fn floats_caps_every_product_at_max_floats() {
        let ok = |a: usize, b: usize| floats(&[a, b], "x", a, "buffer");
        assert_eq!(ok(1 << 14, 1 << 14).unwrap(), MAX_FLOATS);
        assert_eq!(ok(MAX_FLOATS, 1).unwrap(), MAX_FLOATS);
        assert_eq!(ok(0, usize::MAX).unwrap(), 0);
        assert_eq!(ok(usize::MAX, 0).unwrap(), 0);
        for (a, b) in [
            ((1 << 14) + 1, 1 << 14),
            (MAX_FLOATS + 1, 1),
            (usize::MAX, 2), // the product overflows
            (1 << 32, 1 << 32),
            (3 << 20, 3 << 20), // the ~79 TB contraction matrix of a 3·2²⁰-weight critic
        ] {
            let err = ok(a, b).unwrap_err();
            assert!(matches!(err, Error::InvalidOption { .. }), "{a} x {b}");
        }
        let err = floats(&[1 << 20, 1 << 9], "capacity", 1 << 20, "z").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid option `capacity` = 1048576: z would hold 1048576 x 512 floats, more \
             than the limit of 268435456 (2^28) per buffer"
        );
    }

    #[test]
    fn allocation_failures_are_errors() {
        let mut v: Vec<f64> = Vec::new();
        assert!(reserve(&mut v, usize::MAX, "n", usize::MAX).is_err());
        assert!(v.capacity() == 0);
        assert_eq!(filled(3, 0.0, "n").unwrap(), [0.0; 3]);
    }
}
