//! Garbage: the inputs the no-panic suites feed to every public entry point.

use std::fmt::Debug;
use std::ops::Range;

use ndarray::Array1;
use proptest::arbitrary::Arbitrary;
use proptest::collection::SizeRange;
use proptest::prelude::*;
use proptest::sample::select;

/// Special values every numeric input is tried with.
pub const SPECIAL: [f64; 30] = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::MAX,
    f64::MIN,
    1e308,
    -1e308,
    1e200,
    -1e200,
    1e15,
    -1e15,
    f64::MIN_POSITIVE,
    -f64::MIN_POSITIVE,
    5e-324,
    -5e-324,
    1e-300,
    1e-12,
    709.0,
    710.0,
    -745.0,
    800.0,
    -800.0,
    27.631,
    -27.631,
    f64::EPSILON,
];

/// Any f64: moderate numbers, the special values, and proptest's full-range f64 (all
/// classes: normal, subnormal, zero, infinite, NaN).
pub fn nasty() -> BoxedStrategy<f64> {
    prop_oneof![
        3 => -40.0..40.0f64,
        2 => select(SPECIAL.to_vec()),
        2 => any::<f64>(),
    ]
    .boxed()
}

/// Any finite f64 (rewards must be finite to make a subject at all).
pub fn nasty_finite() -> BoxedStrategy<f64> {
    nasty().prop_filter("finite", |x| x.is_finite()).boxed()
}

/// A vector of [`nasty`] numbers, of a length in `len` (one length or a range).
pub fn nasty_vec(len: impl Into<SizeRange>) -> BoxedStrategy<Vec<f64>> {
    proptest::collection::vec(nasty(), len).boxed()
}

/// [`nasty`] numbers for an input of length `k` (θ, weights, z): usually of that length,
/// sometimes of another (0 to 7).
pub fn nasty_array(k: usize) -> BoxedStrategy<Array1<f64>> {
    prop_oneof![
        6 => nasty_vec(k),
        1 => nasty_vec(0..8),
    ]
    .prop_map(Array1::from)
    .boxed()
}

/// An index (a state, an action, a size): mostly in `small`, sometimes in `medium`, now and
/// then any value of the type or one of the `extremes`.
pub fn index<T>(small: Range<T>, medium: Range<T>, extremes: Vec<T>) -> BoxedStrategy<T>
where
    T: Arbitrary + Clone + Debug + 'static,
    Range<T>: Strategy<Value = T> + 'static,
{
    prop_oneof![
        12 => small,
        2 => medium,
        1 => any::<T>(),
        1 => select(extremes),
    ]
    .boxed()
}
