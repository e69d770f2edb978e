//! The input feature maps φ₂ of a critic: raw z with a bias, or the user's own.

/// The fixed input feature map φ₂: ℝ^(input_dim) → ℝⁿ of a [`ShallowCritic`](super::ShallowCritic).
///
/// [`features`](FeatureMap::features) is called once per evaluation of Q̂, so it must not
/// allocate; it receives a z of length [`input_dim`](FeatureMap::input_dim) with finite
/// entries and writes exactly [`n_features`](FeatureMap::n_features) values. A map that
/// writes a non-finite feature makes every evaluation that reads it return
/// [`Error::NonFiniteResult`](crate::Error::NonFiniteResult) — the value alone too, although
/// tanh and the logistic would saturate at ±∞ — naming the feature when one evaluation
/// is asked for, and leaves an update's ω unchanged.
///
/// ```
/// use rlgrad::critic::FeatureMap;
/// /// φ₂(x, u) = (x, u, x·u, 1).
/// struct WithProduct;
/// impl FeatureMap for WithProduct {
///     fn input_dim(&self) -> usize { 2 }
///     fn n_features(&self) -> usize { 4 }
///     fn features(&self, z: &[f64], out: &mut [f64]) {
///         out.copy_from_slice(&[z[0], z[1], z[0] * z[1], 1.0]);
///     }
/// }
/// let mut out = [0.0; 4];
/// WithProduct.features(&[2.0, 3.0], &mut out);
/// assert_eq!(out, [2.0, 3.0, 6.0, 1.0]);
/// ```
pub trait FeatureMap: Send + Sync {
    /// Length of z (state and action entries together).
    fn input_dim(&self) -> usize;
    /// n, the number of features.
    fn n_features(&self) -> usize;
    /// Writes φ₂(z) into `out` (length n).
    fn features(&self, z: &[f64], out: &mut [f64]);
}

/// The default feature map: the raw z with a bias entry, φ₂(z) = (z₁, …, z_d, 1), so
/// n = d + 1.
///
/// ```
/// use rlgrad::critic::{FeatureMap, RawWithBias};
/// let map = RawWithBias::new(2);
/// let mut out = [0.0; 3];
/// map.features(&[0.5, -1.0], &mut out);
/// assert_eq!(out, [0.5, -1.0, 1.0]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawWithBias {
    input_dim: usize,
}

impl RawWithBias {
    /// Raw features with a bias for z ∈ ℝ^input_dim.
    pub fn new(input_dim: usize) -> Self {
        RawWithBias { input_dim }
    }
}

impl FeatureMap for RawWithBias {
    fn input_dim(&self) -> usize {
        self.input_dim
    }
    fn n_features(&self) -> usize {
        self.input_dim + 1
    }
    /// Writes (z, 1) into `out`.
    ///
    /// # Panics
    /// If `z` does not have `input_dim` entries or `out` does not have `input_dim + 1`. A
    /// [`ShallowCritic`](super::ShallowCritic) always passes those lengths (it checks z at its
    /// public boundary).
    #[inline]
    fn features(&self, z: &[f64], out: &mut [f64]) {
        let (head, bias) = out.split_at_mut(self.input_dim);
        head.copy_from_slice(z);
        bias[0] = 1.0;
    }
}

/// A user-supplied feature map from a closure `f(z, out)` that writes n features.
///
/// ```
/// use rlgrad::critic::{FeatureMap, FnFeatures};
/// // One-hot code of a discrete pair z = (state, action) with 3 states and 2 actions.
/// let one_hot = FnFeatures::new(2, 6, |z: &[f64], out: &mut [f64]| {
///     out.fill(0.0);
///     out[2 * z[0] as usize + z[1] as usize] = 1.0;
/// });
/// let mut out = [0.0; 6];
/// one_hot.features(&[1.0, 1.0], &mut out);
/// assert_eq!(out, [0.0, 0.0, 0.0, 1.0, 0.0, 0.0]);
/// ```
///
/// The closure must not panic on any finite z of the right length (clamp indices, as a
/// real one-hot map should); that is the caller's contract, not checked here.
#[derive(Clone)]
pub struct FnFeatures<F> {
    input_dim: usize,
    n_features: usize,
    f: F,
}

impl<F: Fn(&[f64], &mut [f64]) + Send + Sync> FnFeatures<F> {
    /// A map from ℝ^input_dim to ℝ^n_features computed by `f(z, out)`.
    pub fn new(input_dim: usize, n_features: usize, f: F) -> Self {
        FnFeatures {
            input_dim,
            n_features,
            f,
        }
    }
}

impl<F> std::fmt::Debug for FnFeatures<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FnFeatures")
            .field("input_dim", &self.input_dim)
            .field("n_features", &self.n_features)
            .finish_non_exhaustive()
    }
}

impl<F: Fn(&[f64], &mut [f64]) + Send + Sync> FeatureMap for FnFeatures<F> {
    fn input_dim(&self) -> usize {
        self.input_dim
    }
    fn n_features(&self) -> usize {
        self.n_features
    }
    #[inline]
    fn features(&self, z: &[f64], out: &mut [f64]) {
        (self.f)(z, out)
    }
}

impl<T: FeatureMap + ?Sized> FeatureMap for Box<T> {
    fn input_dim(&self) -> usize {
        (**self).input_dim()
    }
    fn n_features(&self) -> usize {
        (**self).n_features()
    }
    fn features(&self, z: &[f64], out: &mut [f64]) {
        (**self).features(z, out)
    }
}
