//! The two-layer critic Q̂(z; ω) = w₁ᵀ φ₁(W₂ᵀ φ₂(z)): its shape and weights, the value and
//! gradient of Q̂, and the kernels the TD routines build on.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut1};
use rand::Rng;

use super::activation::Activation;
use super::features::{FeatureMap, RawWithBias};
use super::workspace::{CriticWorkspace, Layer};
use crate::check;
use crate::error::{Error, Result};
use crate::numeric::dot;
use crate::slices::slice_or_copy;

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
    /// [`Error::InvalidOption`] for `hidden` = 0 or sizes above
    /// [`MAX_FLOATS`](crate::check::MAX_FLOATS): p(n + 1)
    /// weights or n = input_dim + 1 features.
    pub fn new(input_dim: usize, hidden: usize, activation: Activation) -> Result<Self> {
        if input_dim == usize::MAX {
            let reason = "leaves no room for the bias feature";
            return Err(Error::invalid_option("input_dim", input_dim, reason));
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
    /// [`MAX_FLOATS`](crate::check::MAX_FLOATS): p(n + 1) weights, n features or an input of
    /// that length.
    pub fn with_features(features: M, hidden: usize, activation: Activation) -> Result<Self> {
        let n = features.n_features();
        if n == 0 {
            let reason = "the critic's feature map must have at least one feature";
            return Err(Error::invalid_option("n_features", 0, reason));
        }
        if hidden == 0 {
            let reason = "the critic needs at least one hidden unit";
            return Err(Error::invalid_option("hidden", 0, reason));
        }
        let input_dim = features.input_dim();
        // The workspace holds z, z₊ (input_dim), φ₂ (n) and ω-sized vectors (dim).
        check::floats(&[input_dim], "input_dim", input_dim, "the critic's input z")?;
        check::floats(&[n], "n_features", n, "the critic's feature vector")?;
        let dim = check::floats(
            &[hidden, n.saturating_add(1)],
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
        check::len("critic output weights w1", self.p, w1.len())?;
        check::len("critic hidden weights W2 rows", self.n, w2.nrows())?;
        check::len("critic hidden weights W2 columns", self.p, w2.ncols())?;
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
        check::len("critic weights omega", self.dim, omega.len())?;
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
        CriticWorkspace::new(self.input_dim, self.n, self.p, self.dim)
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
        check::len("critic gradient buffer", self.dim, grad.len())?;
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
            return Err(Error::non_finite_result("critic gradient", omega.to_vec()));
        }
        Ok(q)
    }

    // -------------------------------------------------------------------------------
    // Checks at the public boundary
    // -------------------------------------------------------------------------------

    pub(crate) fn check_workspace(&self, ws: &CriticWorkspace) -> Result<()> {
        check::len(
            "critic workspace (input length)",
            self.input_dim,
            ws.input_dim,
        )?;
        check::len("critic workspace (features)", self.n, ws.n)?;
        check::len("critic workspace (hidden units)", self.p, ws.p)
    }

    /// ω has length [`dim`](Self::dim) and finite entries; a bad entry is named.
    pub(crate) fn check_weights(&self, omega: ArrayView1<f64>) -> Result<()> {
        check::len("critic weights omega", self.dim, omega.len())?;
        check::finite_theta(omega, |i| self.weight_name(i))
    }

    pub(crate) fn check_z(&self, z: ArrayView1<f64>, what: &str) -> Result<()> {
        if z.len() != self.input_dim {
            // The message is built only on failure: the success path allocates nothing.
            return check::len(&format!("critic input {what}"), self.input_dim, z.len());
        }
        check::finite_inputs(what, z)
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
        if features_finite { q } else { f64::NAN }
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
                let what = format!(
                    "critic feature {i} of {input} (the feature map wrote {})",
                    phi[i]
                );
                return Error::non_finite_result(what, omega.to_vec());
            }
        }
        Error::non_finite_result(what, omega.to_vec())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::MAX_FLOATS;
    use crate::critic::FnFeatures;

    #[test]
    fn constructor_limits_are_those_of_the_shared_cap() {
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
