//! The two-layer critic Q̂(z; ω) = w₁ᵀ φ₁(W₂ᵀ φ₂(z)): activations, feature maps, the
//! workspace, and the value and gradient of Q̂.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut1};
use rand::Rng;

use crate::error::{check_len, Error, Result};
use crate::numeric::{fast_tanh, logistic_pair, softplus_with_logistic};

/// The hidden layer's elementwise activation φ₁, with its first and second derivatives.
///
/// | activation | φ₁(x) | φ₁′(x) | φ₁″(x) |
/// |---|---|---|---|
/// | `Tanh` (default) | tanh x | 1 − tanh² x | −2 tanh x · φ₁′(x) |
/// | `Logistic` | σ(x) = 1/(1 + e^(−x)) | σ(x) σ(−x) | φ₁′(x) (σ(−x) − σ(x)) |
/// | `Softplus` | ln(1 + eˣ) | σ(x) | σ(x) σ(−x) |
/// | `Identity` | x | 1 | 0 |
///
/// All are total on finite input (no overflow, no NaN at any finite x). tanh, logistic and
/// softplus are the crate's f64 kernels [`numeric::fast_tanh`](crate::numeric::fast_tanh),
/// [`numeric::logistic_pair`](crate::numeric::logistic_pair) and
/// [`numeric::softplus_with_logistic`](crate::numeric::softplus_with_logistic), on the
/// inlined exponential [`exp_nonpositive`](crate::numeric::exp_nonpositive); they agree
/// with `f64::tanh`, [`numeric::logistic`](crate::numeric::logistic) and
/// [`numeric::softplus`](crate::numeric::softplus) within 3 ulp (tested); φ₁, φ₁′ and φ₁″
/// come from one exponential.
///
/// ```
/// use rlgrad::critic::Activation;
/// let a = Activation::Logistic;
/// assert_eq!(a.value(0.0), 0.5);
/// assert_eq!(a.derivative(0.0), 0.25);
/// assert_eq!(a.second_derivative(0.0), 0.0);
/// assert_eq!(Activation::Softplus.derivative(1e3), 1.0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Activation {
    /// φ₁(x) = tanh x.
    #[default]
    Tanh,
    /// φ₁(x) = 1/(1 + e^(−x)).
    Logistic,
    /// φ₁(x) = ln(1 + eˣ).
    Softplus,
    /// φ₁(x) = x.
    Identity,
}

impl Activation {
    /// φ₁(x).
    #[inline]
    pub fn value(self, x: f64) -> f64 {
        self.eval::<0>(x).0
    }

    /// φ₁′(x).
    #[inline]
    pub fn derivative(self, x: f64) -> f64 {
        self.eval::<1>(x).1
    }

    /// φ₁″(x).
    #[inline]
    pub fn second_derivative(self, x: f64) -> f64 {
        self.eval::<2>(x).2
    }

    /// (φ₁, φ₁′, φ₁″) at x, computing derivatives up to `ORDER` (the others are 0). The value
    /// is the same bits whatever the order.
    #[inline(always)]
    pub(crate) fn eval<const ORDER: usize>(self, x: f64) -> (f64, f64, f64) {
        match self {
            Activation::Tanh => {
                let t = fast_tanh(x);
                if ORDER == 0 {
                    return (t, 0.0, 0.0);
                }
                // (1 − t)(1 + t) keeps more digits than 1 − t² when |t| is near 1.
                let d = (1.0 - t) * (1.0 + t);
                (t, d, if ORDER >= 2 { -2.0 * t * d } else { 0.0 })
            }
            Activation::Logistic => {
                let (s, c) = logistic_pair(x);
                if ORDER == 0 {
                    return (s, 0.0, 0.0);
                }
                let d = s * c;
                (s, d, if ORDER >= 2 { d * (c - s) } else { 0.0 })
            }
            Activation::Softplus => {
                let (v, s, c) = softplus_with_logistic(x);
                if ORDER == 0 {
                    return (v, 0.0, 0.0);
                }
                (v, s, if ORDER >= 2 { s * c } else { 0.0 })
            }
            Activation::Identity => (x, 1.0, 0.0),
        }
    }
}

/// The fixed input feature map φ₂: ℝ^(input_dim) → ℝⁿ of a [`ShallowCritic`].
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
    /// [`ShallowCritic`] always passes those lengths (it checks z at its public boundary).
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

/// A two-layer critic Q̂(z; ω) = w₁ᵀ φ₁(W₂ᵀ φ₂(z)).
///
/// Shapes: z ∈ ℝᵈ, features φ₂(z) ∈ ℝⁿ, W₂ ∈ ℝ^(n×p), hidden pre-activation
/// h = W₂ᵀ φ₂(z) ∈ ℝᵖ, w₁ ∈ ℝᵖ. The weight vector is ω = (w₁, vec W₂) with vec stacking the
/// columns of W₂, so ω has p(n + 1) entries: ω\[j\] = w₁\[j\] and
/// ω\[p + j·n + i\] = W₂\[i,j\] (see [`ShallowCritic::w2_index`]). The gradient is
///
/// ```text
/// ∂Q̂/∂w₁[j]    = φ₁(h_j)
/// ∂Q̂/∂W₂[i,j]  = φ₂(z)_i · w₁[j] · φ₁′(h_j)
/// ```
///
/// The critic holds only its shape, activation and feature map; the weights are the
/// caller's, passed to every call (as θ is to a [`Term`](crate::Term)). Evaluations write
/// into a [`CriticWorkspace`] made once by [`ShallowCritic::workspace`] and allocate nothing.
///
/// ```
/// use ndarray::{arr1, arr2, Array1};
/// use rlgrad::critic::{Activation, ShallowCritic};
/// // z = (x, u) ∈ ℝ², raw features with bias (n = 3), p = 2 tanh units.
/// let critic = ShallowCritic::new(2, 2, Activation::Tanh)?;
/// let w1 = arr1(&[1.0, -0.5]);
/// let w2 = arr2(&[[0.2, 0.0], [0.1, 0.3], [0.0, -0.1]]); // n × p
/// let omega = critic.weights_from(w1.view(), w2.view())?;
/// let z = arr1(&[0.5, 1.0]);
/// let mut ws = critic.workspace();
/// let mut grad = Array1::zeros(critic.dim());
/// let q = critic.value_and_grad(omega.view(), z.view(), grad.view_mut(), &mut ws)?;
/// let h: [f64; 2] = [0.2 * 0.5 + 0.1, 0.3 - 0.1]; // W₂ᵀ (0.5, 1, 1)
/// assert!((q - (h[0].tanh() - 0.5 * h[1].tanh())).abs() < 1e-15);
/// assert!((grad[0] - h[0].tanh()).abs() < 1e-15); // ∂Q̂/∂w₁[0]
/// # Ok::<(), rlgrad::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct ShallowCritic<M = RawWithBias> {
    features: M,
    activation: Activation,
    input_dim: usize,
    n: usize,
    p: usize,
    dim: usize,
}

impl ShallowCritic<RawWithBias> {
    /// A critic on z ∈ ℝ^input_dim with the raw features plus a bias (n = input_dim + 1)
    /// and `hidden` = p units.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for `hidden` = 0 or sizes above [`MAX_FLOATS`]: p(n + 1)
    /// weights or n = input_dim + 1 features.
    pub fn new(input_dim: usize, hidden: usize, activation: Activation) -> Result<Self> {
        if input_dim == usize::MAX {
            return Err(Error::InvalidOption {
                name: "input_dim".to_string(),
                value: input_dim.to_string(),
                reason: "leaves no room for the bias feature".to_string(),
            });
        }
        Self::with_features(RawWithBias::new(input_dim), hidden, activation)
    }
}

impl<M: FeatureMap> ShallowCritic<M> {
    /// A critic with a user-supplied feature map and `hidden` = p units.
    ///
    /// ```
    /// use rlgrad::critic::{Activation, FnFeatures, ShallowCritic};
    /// let squares = FnFeatures::new(1, 3, |z: &[f64], out: &mut [f64]| {
    ///     out.copy_from_slice(&[1.0, z[0], z[0] * z[0]]);
    /// });
    /// let critic = ShallowCritic::with_features(squares, 4, Activation::Softplus)?;
    /// assert_eq!((critic.n_features(), critic.hidden(), critic.dim()), (3, 4, 16));
    /// # Ok::<(), rlgrad::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for `hidden` = 0, a map with no features, or sizes above
    /// [`MAX_FLOATS`]: p(n + 1) weights, n features or an input of that length.
    pub fn with_features(features: M, hidden: usize, activation: Activation) -> Result<Self> {
        let n = features.n_features();
        if n == 0 {
            return Err(Error::InvalidOption {
                name: "n_features".to_string(),
                value: "0".to_string(),
                reason: "the critic's feature map must have at least one feature".to_string(),
            });
        }
        if hidden == 0 {
            return Err(Error::InvalidOption {
                name: "hidden".to_string(),
                value: "0".to_string(),
                reason: "the critic needs at least one hidden unit".to_string(),
            });
        }
        let input_dim = features.input_dim();
        // The workspace holds z, z₊ (input_dim), φ₂ (n) and ω-sized vectors (dim).
        buffer_floats(input_dim, 1, "input_dim", input_dim, "the critic's input z")?;
        buffer_floats(n, 1, "n_features", n, "the critic's feature vector")?;
        let dim = buffer_floats(
            hidden,
            n + 1,
            "hidden",
            hidden,
            "the critic's weight vector (hidden x (n_features + 1))",
        )?;
        Ok(ShallowCritic {
            input_dim,
            features,
            activation,
            n,
            p: hidden,
            dim,
        })
    }

    /// d, the length of z.
    pub fn input_dim(&self) -> usize {
        self.input_dim
    }

    /// n, the number of features φ₂(z).
    pub fn n_features(&self) -> usize {
        self.n
    }

    /// p, the number of hidden units.
    pub fn hidden(&self) -> usize {
        self.p
    }

    /// The length of ω: p(n + 1).
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The hidden activation φ₁.
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// The feature map φ₂.
    pub fn features(&self) -> &M {
        &self.features
    }

    /// The position of W₂\[i,j\] in ω: p + j·n + i (vec stacks the columns of W₂; w₁\[j\]
    /// is at j).
    ///
    /// ```
    /// let critic = rlgrad::critic::ShallowCritic::new(2, 4, Default::default())?; // n = 3
    /// assert_eq!(critic.w2_index(1, 2), 4 + 2 * 3 + 1);
    /// # Ok::<(), rlgrad::Error>(())
    /// ```
    pub fn w2_index(&self, i: usize, j: usize) -> usize {
        self.p + j * self.n + i
    }

    /// The name of entry k of ω: "w1\[j\]" or "W2\[i,j\]" (used in error messages).
    ///
    /// ```
    /// let critic = rlgrad::critic::ShallowCritic::new(2, 4, Default::default())?;
    /// assert_eq!(critic.weight_name(1), "w1[1]");
    /// assert_eq!(critic.weight_name(critic.w2_index(2, 3)), "W2[2,3]");
    /// # Ok::<(), rlgrad::Error>(())
    /// ```
    pub fn weight_name(&self, k: usize) -> String {
        if k < self.p {
            format!("w1[{k}]")
        } else if k < self.dim {
            let r = k - self.p;
            format!("W2[{},{}]", r % self.n, r / self.n)
        } else {
            format!("omega[{k}] (out of range)")
        }
    }

    /// ω = (w₁, vec W₂) from w₁ ∈ ℝᵖ and W₂ ∈ ℝ^(n×p).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] for wrong shapes.
    pub fn weights_from(&self, w1: ArrayView1<f64>, w2: ArrayView2<f64>) -> Result<Array1<f64>> {
        check_len("critic output weights w1", self.p, w1.len())?;
        check_len("critic hidden weights W2 rows", self.n, w2.nrows())?;
        check_len("critic hidden weights W2 columns", self.p, w2.ncols())?;
        let mut omega = Array1::zeros(self.dim);
        for j in 0..self.p {
            omega[j] = w1[j];
            for i in 0..self.n {
                omega[self.w2_index(i, j)] = w2[[i, j]];
            }
        }
        Ok(omega)
    }

    /// (w₁, W₂) from ω; the inverse of [`ShallowCritic::weights_from`].
    ///
    /// ```
    /// use ndarray::{arr1, arr2};
    /// use rlgrad::critic::{Activation, ShallowCritic};
    /// let critic = ShallowCritic::new(1, 2, Activation::Tanh)?; // n = 2 features, p = 2 units
    /// let (w1, w2) = (arr1(&[1.0, -1.0]), arr2(&[[0.1, 0.2], [0.3, 0.4]]));
    /// let omega = critic.weights_from(w1.view(), w2.view())?;
    /// assert_eq!(omega.to_vec(), [1.0, -1.0, 0.1, 0.3, 0.2, 0.4]); // w₁, then W₂'s columns
    /// let (back1, back2) = critic.split_weights(omega.view())?;
    /// assert_eq!((back1, back2), (w1, w2));
    /// # Ok::<(), rlgrad::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] if ω does not have [`ShallowCritic::dim`] entries.
    pub fn split_weights(&self, omega: ArrayView1<f64>) -> Result<(Array1<f64>, Array2<f64>)> {
        check_len("critic weights omega", self.dim, omega.len())?;
        let w1 = omega.slice(ndarray::s![..self.p]).to_owned();
        let w2 = Array2::from_shape_fn((self.n, self.p), |(i, j)| omega[self.w2_index(i, j)]);
        Ok((w1, w2))
    }

    /// Random weights, uniform on ±√(6/(n + p)) for W₂ and ±√(6/(p + 1)) for w₁ (Glorot's
    /// scale), from the caller's generator.
    ///
    /// ```
    /// use rand::SeedableRng;
    /// let critic = rlgrad::critic::ShallowCritic::new(3, 8, Default::default())?;
    /// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    /// let omega = critic.random_weights(&mut rng);
    /// assert_eq!(omega.len(), critic.dim());
    /// # Ok::<(), rlgrad::Error>(())
    /// ```
    pub fn random_weights<R: Rng + ?Sized>(&self, rng: &mut R) -> Array1<f64> {
        let s1 = (6.0 / (self.p as f64 + 1.0)).sqrt();
        let s2 = (6.0 / (self.n as f64 + self.p as f64)).sqrt();
        Array1::from_shape_fn(self.dim, |k| {
            let s = if k < self.p { s1 } else { s2 };
            rng.random_range(-s..=s)
        })
    }

    /// A workspace for this critic's evaluations (and for the TD and replay routines); make
    /// it once and reuse it, so that no evaluation allocates.
    pub fn workspace(&self) -> CriticWorkspace {
        CriticWorkspace {
            input_dim: self.input_dim,
            n: self.n,
            p: self.p,
            dim: self.dim,
            cur: Layer::new(self.n, self.p),
            next: Layer::new(self.n, self.p),
            omega: vec![0.0; self.dim],
            z: vec![0.0; self.input_dim],
            z_next: vec![0.0; self.input_dim],
            grad: vec![0.0; self.dim],
            step: vec![0.0; self.dim],
        }
    }

    /// Q̂(z; ω).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] for ω, z or a workspace of another shape;
    /// [`Error::NonFiniteTheta`] naming the weight (for example "W2\[1,0\]") for a
    /// non-finite ω entry; [`Error::NonFiniteInput`] for a non-finite z entry;
    /// [`Error::NonFiniteResult`] if Q̂ overflows.
    pub fn value(
        &self,
        omega: ArrayView1<f64>,
        z: ArrayView1<f64>,
        ws: &mut CriticWorkspace,
    ) -> Result<f64> {
        self.check_workspace(ws)?;
        self.check_weights(omega)?;
        self.check_z(z, "z")?;
        let w = slice_or_copy(&omega, &mut ws.omega);
        let zs = slice_or_copy(&z, &mut ws.z);
        let q = self.forward::<0>(w, zs, &mut ws.cur);
        if q.is_finite() {
            Ok(q)
        } else {
            Err(self.evaluation_error("critic value", &[(&ws.cur, "z")], omega))
        }
    }

    /// Q̂(z; ω), and ∇ω Q̂ written into `grad` (its old contents are ignored).
    ///
    /// # Errors
    /// As [`ShallowCritic::value`], plus a gradient buffer of the wrong length, and
    /// [`Error::NonFiniteResult`] if a gradient entry overflows. On `Err` the contents of
    /// `grad` are unspecified (as after an `Err` from a [`Term`](crate::Term)): a gradient
    /// is written in place and checked afterwards, which saves a copy per evaluation.
    pub fn value_and_grad(
        &self,
        omega: ArrayView1<f64>,
        z: ArrayView1<f64>,
        mut grad: ArrayViewMut1<f64>,
        ws: &mut CriticWorkspace,
    ) -> Result<f64> {
        self.check_workspace(ws)?;
        self.check_weights(omega)?;
        self.check_z(z, "z")?;
        check_len("critic gradient buffer", self.dim, grad.len())?;
        let CriticWorkspace {
            omega: ob,
            z: zb,
            cur,
            grad: gb,
            ..
        } = ws;
        let w = slice_or_copy(&omega, ob);
        let zs = slice_or_copy(&z, zb);
        let q = self.forward::<1>(w, zs, cur);
        if !q.is_finite() {
            return Err(self.evaluation_error("critic value", &[(cur, "z")], omega));
        }
        match grad.as_slice_mut() {
            Some(g) => self.write_grad::<true>(&w[..self.p], cur, 1.0, g, true),
            None => {
                self.write_grad::<true>(&w[..self.p], cur, 1.0, gb, true);
                grad.iter_mut().zip(gb.iter()).for_each(|(g, v)| *g = *v);
            }
        }
        if grad.iter().any(|g| !g.is_finite()) {
            return Err(non_finite("critic gradient", omega));
        }
        Ok(q)
    }

    // -------------------------------------------------------------------------------
    // Checks at the public boundary
    // -------------------------------------------------------------------------------

    pub(crate) fn check_workspace(&self, ws: &CriticWorkspace) -> Result<()> {
        check_len(
            "critic workspace (input length)",
            self.input_dim,
            ws.input_dim,
        )?;
        check_len("critic workspace (features)", self.n, ws.n)?;
        check_len("critic workspace (hidden units)", self.p, ws.p)
    }

    /// ω has length [`dim`](Self::dim) and finite entries; a bad entry is named.
    pub(crate) fn check_weights(&self, omega: ArrayView1<f64>) -> Result<()> {
        check_len("critic weights omega", self.dim, omega.len())?;
        match omega.iter().position(|v| !v.is_finite()) {
            None => Ok(()),
            Some(index) => Err(Error::NonFiniteTheta {
                index,
                name: self.weight_name(index),
                value: omega[index],
            }),
        }
    }

    pub(crate) fn check_z(&self, z: ArrayView1<f64>, what: &str) -> Result<()> {
        if z.len() != self.input_dim {
            // The message is built only on failure: the success path allocates nothing.
            return check_len(&format!("critic input {what}"), self.input_dim, z.len());
        }
        check_finite_input(z, what)
    }

    // -------------------------------------------------------------------------------
    // Kernels: slices in, no allocation, no Result
    // -------------------------------------------------------------------------------

    /// Forward pass at z: fills φ₂(z), φ₁(h) and, up to `ORDER`, φ₁′(h), φ₁″(h) in `l`;
    /// returns Q̂, or NaN if the feature map wrote a non-finite feature (tanh and the logistic
    /// saturate at ±∞, so without this a bad feature could give a finite Q̂ and a non-finite
    /// gradient). The value is the same bits whatever `ORDER`.
    #[inline]
    pub(crate) fn forward<const ORDER: usize>(&self, w: &[f64], z: &[f64], l: &mut Layer) -> f64 {
        let n = self.n;
        let phi = &mut l.phi[..n];
        self.features.features(z, phi);
        // Once per evaluation, O(n) next to the O(n·p) products below.
        let features_finite = phi.iter().all(|f| f.is_finite());
        let (w1, w2) = w.split_at(self.p);
        let mut q = 0.0;
        for (j, col) in w2.chunks_exact(n).enumerate() {
            let (a, da, dda) = self.activation.eval::<ORDER>(dot(col, phi));
            l.a[j] = a;
            if ORDER >= 1 {
                l.da[j] = da;
            }
            if ORDER >= 2 {
                l.dda[j] = dda;
            }
            q += w1[j] * a;
        }
        if features_finite {
            q
        } else {
            f64::NAN
        }
    }

    /// The error for a non-finite result of one evaluation whose forward passes are in
    /// `layers` (each with the name of its input): it names the first non-finite feature
    /// if the feature map wrote one, else reports `what`. Only called on failure.
    #[cold]
    pub(crate) fn evaluation_error(
        &self,
        what: &str,
        layers: &[(&Layer, &str)],
        omega: ArrayView1<f64>,
    ) -> Error {
        for (l, input) in layers {
            let phi = &l.phi[..self.n];
            if let Some(i) = phi.iter().position(|f| !f.is_finite()) {
                return non_finite(
                    &format!(
                        "critic feature {i} of {input} (the feature map wrote {})",
                        phi[i]
                    ),
                    omega,
                );
            }
        }
        non_finite(what, omega)
    }

    /// `out` (=, when `OVERWRITE`, else +=) alpha·∇ω Q̂ from a forward pass of order ≥ 1
    /// held in `l`. With `hidden` false only the w₁ block (`out` of length p) is touched.
    #[inline]
    pub(crate) fn write_grad<const OVERWRITE: bool>(
        &self,
        w1: &[f64],
        l: &Layer,
        alpha: f64,
        out: &mut [f64],
        hidden: bool,
    ) {
        let p = self.p;
        let (o1, o2) = out.split_at_mut(p);
        for (o, a) in o1.iter_mut().zip(&l.a[..p]) {
            if OVERWRITE {
                *o = alpha * a;
            } else {
                *o += alpha * a;
            }
        }
        if !hidden {
            return;
        }
        let phi = &l.phi[..self.n];
        for ((col, wj), da) in o2.chunks_exact_mut(self.n).zip(w1).zip(&l.da[..p]) {
            let c = alpha * wj * da;
            for (o, f) in col.iter_mut().zip(phi) {
                if OVERWRITE {
                    *o = c * f;
                } else {
                    *o += c * f;
                }
            }
        }
    }

    /// `out` (=, when `OVERWRITE`, else +=) s·d with the data vector
    /// d = ∇Q̂(z) − γ ∇Q̂(z₊), from forward passes of order ≥ 1 at z (`cur`) and, when
    /// `next` = Some((layer at z₊, γ)), at z₊; `next` = None gives d = ∇Q̂(z) (a terminal
    /// transition, or the semi-gradient). With `hidden` false only the w₁ block is touched.
    /// The one place a data vector is assembled (TD errors, the loss, the update, C).
    #[inline]
    pub(crate) fn write_data_vector<const OVERWRITE: bool>(
        &self,
        w1: &[f64],
        cur: &Layer,
        next: Option<(&Layer, f64)>,
        s: f64,
        out: &mut [f64],
        hidden: bool,
    ) {
        self.write_grad::<OVERWRITE>(w1, cur, s, out, hidden);
        if let Some((nl, gamma)) = next {
            self.write_grad::<false>(w1, nl, -gamma * s, out, hidden);
        }
    }

    /// Adds s·∇²ω Q̂ into `h` (dim × dim, row-major) from a forward pass of order 2 in `l`:
    ///
    /// ```text
    /// ∂²Q̂/∂w₁[j]∂W₂[i,j]     = φ₂ᵢ φ₁′(h_j)
    /// ∂²Q̂/∂W₂[i,j]∂W₂[k,j]   = w₁[j] φ₁″(h_j) φ₂ᵢ φ₂ₖ
    /// ```
    ///
    /// and zero elsewhere (w₁ enters linearly; different hidden units do not interact).
    pub(crate) fn add_hessian(&self, w1: &[f64], l: &Layer, s: f64, h: &mut [f64]) {
        let (n, p, dim) = (self.n, self.p, self.dim);
        let phi = &l.phi[..n];
        for j in 0..p {
            let base = p + j * n;
            let c1 = s * l.da[j];
            for (i, f) in phi.iter().enumerate() {
                let v = c1 * f;
                h[j * dim + base + i] += v;
                h[(base + i) * dim + j] += v;
            }
            let c2 = s * w1[j] * l.dda[j];
            if c2 != 0.0 {
                for (i, fi) in phi.iter().enumerate() {
                    let ci = c2 * fi;
                    let row = &mut h[(base + i) * dim + base..(base + i) * dim + base + n];
                    for (o, fk) in row.iter_mut().zip(phi) {
                        *o += ci * fk;
                    }
                }
            }
        }
    }
}

/// The buffers of one forward pass.
#[derive(Clone, Debug)]
pub(crate) struct Layer {
    /// φ₂(z), n.
    pub(crate) phi: Vec<f64>,
    /// φ₁(h), p.
    pub(crate) a: Vec<f64>,
    /// φ₁′(h), p.
    pub(crate) da: Vec<f64>,
    /// φ₁″(h), p.
    pub(crate) dda: Vec<f64>,
}

impl Layer {
    fn new(n: usize, p: usize) -> Self {
        Layer {
            phi: vec![0.0; n],
            a: vec![0.0; p],
            da: vec![0.0; p],
            dda: vec![0.0; p],
        }
    }
}

/// Scratch space for a [`ShallowCritic`]'s evaluations, TD errors and replay updates; made
/// by [`ShallowCritic::workspace`] and reusable across calls (and across critics of the same
/// shape). With it, no evaluation or update allocates.
///
/// ```
/// let critic = rlgrad::critic::ShallowCritic::new(2, 8, Default::default())?;
/// let mut ws = critic.workspace(); // allocate once …
/// # let omega = ndarray::Array1::<f64>::zeros(critic.dim());
/// for x in [0.0, 0.5, 1.0] {
///     let z = ndarray::arr1(&[x, 1.0]);
///     let _q = critic.value(omega.view(), z.view(), &mut ws)?; // … evaluate many times
/// }
/// # Ok::<(), rlgrad::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct CriticWorkspace {
    input_dim: usize,
    n: usize,
    p: usize,
    dim: usize,
    pub(crate) cur: Layer,
    pub(crate) next: Layer,
    pub(crate) omega: Vec<f64>,
    pub(crate) z: Vec<f64>,
    pub(crate) z_next: Vec<f64>,
    pub(crate) grad: Vec<f64>,
    pub(crate) step: Vec<f64>,
}

impl CriticWorkspace {
    /// The length of ω this workspace serves.
    pub fn dim(&self) -> usize {
        self.dim
    }
}

/// xᵀy with four accumulators (the same bits on every path that calls it).
#[inline]
pub(crate) fn dot(x: &[f64], y: &[f64]) -> f64 {
    let len = x.len().min(y.len());
    let (x, y) = (&x[..len], &y[..len]);
    let mut acc = [0.0; 4];
    let mut xc = x.chunks_exact(4);
    let mut yc = y.chunks_exact(4);
    for (a, b) in (&mut xc).zip(&mut yc) {
        acc[0] += a[0] * b[0];
        acc[1] += a[1] * b[1];
        acc[2] += a[2] * b[2];
        acc[3] += a[3] * b[3];
    }
    let mut tail = 0.0;
    for (a, b) in xc.remainder().iter().zip(yc.remainder()) {
        tail += a * b;
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// The view's slice when it is contiguous, else a copy into `buf` (no allocation).
#[inline]
pub(crate) fn slice_or_copy<'a>(v: &'a ArrayView1<'_, f64>, buf: &'a mut [f64]) -> &'a [f64] {
    match v.as_slice() {
        Some(s) => s,
        None => {
            copy_view(buf, v);
            &buf[..v.len()]
        }
    }
}

/// Copies `v` into the front of `buf` (ω into a workspace; lengths checked by the caller).
#[inline]
pub(crate) fn copy_view(buf: &mut [f64], v: &ArrayView1<'_, f64>) {
    match v.as_slice() {
        Some(s) => buf[..s.len()].copy_from_slice(s),
        None => buf.iter_mut().zip(v.iter()).for_each(|(b, x)| *b = *x),
    }
}

/// A zeroed vector of `len` floats, or an error naming `what` if it cannot be allocated
/// (instead of aborting the process).
pub(crate) fn try_zeros(len: usize, what: &str) -> Result<Vec<f64>> {
    let mut v = Vec::new();
    if v.try_reserve_exact(len).is_err() {
        return Err(Error::InvalidOption {
            name: what.to_string(),
            value: len.to_string(),
            reason: "cannot allocate this many floats".to_string(),
        });
    }
    v.resize(len, 0.0);
    Ok(v)
}

/// The most `f64`s that any one buffer of the critic module holds: 2²⁸ (2 GiB). The
/// constructors refuse larger sizes with [`Error::InvalidOption`] — the weight vector
/// p(n + 1) and n, z's length and the replay buffer's M · d (and M) — and so do the dense
/// matrices (the contraction matrix and the [`TdLoss`](super::TdLoss) Hessian, at most
/// 16 384 × 16 384), instead of accepting a size whose workspace, weights or matrix cannot
/// be allocated and aborting later. Below the limit the replay buffer and the matrices are
/// still allocated fallibly.
///
/// ```
/// use rlgrad::critic::{Activation, ReplayBuffer, ShallowCritic, MAX_FLOATS};
/// assert_eq!(MAX_FLOATS, 1 << 28);
/// assert!(ShallowCritic::new(1 << 40, 1, Activation::Tanh).is_err()); // n = 2⁴⁰ + 1
/// assert!(ShallowCritic::new(1, 1 << 27, Activation::Tanh).is_err()); // 3 · 2²⁷ weights
/// assert!(ReplayBuffer::new(1 << 20, 1 << 9).is_err());                // 2²⁹ floats of z
/// # Ok::<(), rlgrad::Error>(())
/// ```
pub const MAX_FLOATS: usize = 1 << 28;

/// `a · b` as a number of floats, if one buffer may hold that many (at most
/// [`MAX_FLOATS`]; the product must not overflow either); else
/// [`Error::InvalidOption`] for the option `name` = `value`, saying which buffer (`what`)
/// would be too large. The one size check of the critic module.
pub(crate) fn buffer_floats(
    a: usize,
    b: usize,
    name: &str,
    value: usize,
    what: &str,
) -> Result<usize> {
    match a.checked_mul(b) {
        Some(floats) if floats <= MAX_FLOATS => Ok(floats),
        _ => Err(Error::InvalidOption {
            name: name.to_string(),
            value: value.to_string(),
            reason: format!(
                "{what} would hold {a} x {b} floats, more than the critic's limit of \
                 {MAX_FLOATS} (2^28) per buffer"
            ),
        }),
    }
}

/// A zeroed dim × dim matrix's storage, within [`MAX_FLOATS`] and allocated fallibly.
pub(crate) fn square_zeros(dim: usize, what: &str) -> Result<Vec<f64>> {
    try_zeros(buffer_floats(dim, dim, what, dim, what)?, what)
}

pub(crate) fn check_finite_input(z: ArrayView1<f64>, what: &str) -> Result<()> {
    match z.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => Err(Error::NonFiniteInput {
            what: format!("{what}[{i}]"),
            value: z[i],
        }),
    }
}

pub(crate) fn non_finite(what: &str, omega: ArrayView1<f64>) -> Error {
    Error::NonFiniteResult {
        what: what.to_string(),
        theta: omega.to_vec(),
    }
}

pub(crate) fn finite_value(v: f64, what: &str, omega: ArrayView1<f64>) -> Result<f64> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(non_finite(what, omega))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The size arithmetic alone: no test here allocates a large buffer (asking the OS for
    /// terabytes is fragile under memory overcommit).
    #[test]
    fn buffer_floats_caps_every_product_at_max_floats() {
        let ok = |a, b| buffer_floats(a, b, "x", a, "buffer");
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
        let err = buffer_floats(1 << 20, 1 << 9, "capacity", 1 << 20, "z").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid option `capacity` = 1048576: z would hold 1048576 x 512 floats, more \
             than the critic's limit of 268435456 (2^28) per buffer"
        );
    }

    #[test]
    fn constructor_limits_are_those_of_buffer_floats() {
        // p(n + 1) = MAX_FLOATS exactly is accepted, one unit more is not (n = 3).
        let p = MAX_FLOATS / 4;
        let critic = ShallowCritic::new(2, p, Activation::Tanh).unwrap();
        assert_eq!(critic.dim(), MAX_FLOATS);
        assert!(ShallowCritic::new(2, p + 1, Activation::Tanh).is_err());
        // n alone too large, however few units; and the bias feature's overflow.
        assert!(ShallowCritic::new(MAX_FLOATS, 1, Activation::Tanh).is_err());
        assert!(ShallowCritic::new(usize::MAX, 1, Activation::Tanh).is_err());
        assert!(ShallowCritic::new(usize::MAX - 1, 1, Activation::Tanh).is_err());
        // A user map with a small n and a huge z.
        let wide = FnFeatures::new(MAX_FLOATS + 1, 2, |_: &[f64], out: &mut [f64]| {
            out.fill(0.0)
        });
        assert!(ShallowCritic::with_features(wide, 1, Activation::Tanh).is_err());
    }
}
