//! The normalised experience-replay update ω ← ω − η Σⱼ dⱼ eⱼ / (dⱼᵀdⱼ + 1)², with its
//! contraction matrix and spectral radius.

use ndarray::{Array2, ArrayView1, ArrayViewMut1};

use super::features::FeatureMap;
use super::network::ShallowCritic;
use super::replay::{ReplayBuffer, td_error_of};
use super::td::TdGradient;
use super::workspace::CriticWorkspace;
use crate::check;
use crate::error::{Error, Result};
use crate::linalg;
use crate::numeric::dot;
use crate::slices::copy_into;

/// Which weights an update trains.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Trainable {
    /// Every weight: ω = (w₁, vec W₂).
    #[default]
    All,
    /// Only the output weights w₁; the hidden layer W₂ stays fixed. This makes the critic
    /// linear in the trained weights, Q̂ = w₁ᵀ ψ(z) with fixed features
    /// ψ(z) = φ₁(W₂ᵀ φ₂(z)) — the "linear critic" of the step-size bound.
    OutputLayer,
}

/// The normalised experience-replay update of the critic weights,
///
/// ```text
/// ω ← ω − η Σⱼ dⱼ eⱼ / (dⱼᵀdⱼ + 1)²        (j over the len ≤ M stored transitions)
/// ```
///
/// with eⱼ the TD error and dⱼ its data vector ([`TdGradient::Full`] by default, or the
/// semi-gradient), all evaluated at the current ω; with [`Trainable::OutputLayer`] only the
/// w₁ block of dⱼ is used and only w₁ moves.
///
/// **Step size.** For a *linear critic* — one whose TD error is affine in the trained
/// weights, eⱼ(ω) = dⱼᵀ(ω − ω*) + εⱼ with dⱼ independent of ω: the output layer alone
/// ([`Trainable::OutputLayer`], any activation), which includes the identity activation with
/// W₂ = I, i.e. the features φ₂ as the only layer — the full-gradient update is
///
/// ```text
/// ω̃ₖ₊₁ = C ω̃ₖ − η Σⱼ dⱼ εⱼ / (dⱼᵀdⱼ + 1)²,    C = I − η Σⱼ dⱼdⱼᵀ / (dⱼᵀdⱼ + 1)²
/// ```
///
/// (ω̃ = ω − ω*). Each term of A = Σⱼ dⱼdⱼᵀ/(dⱼᵀdⱼ + 1)² has the single non-zero eigenvalue
/// ‖dⱼ‖²/(‖dⱼ‖² + 1)² ≤ ¼, so 0 ⪯ A ⪯ (len/4) I ⪯ (M/4) I with M the buffer's capacity, and
/// the eigenvalues of C lie in \[1 − ηM/4, 1 − η λ_min(A)\]. Hence if the stored dⱼ are
/// exciting (they span the weight space: λ_min(A) > 0) and 0 < η < 8/M
/// ([`ReplayBuffer::step_size_bound`], valid at every fill level), the spectral radius of C
/// is below 1 and the error contracts. Above 8/M it can exceed 1: data vectors that are
/// nearly parallel with ‖dⱼ‖ ≈ 1 make λ_max(A) ≈ M/4 in a full buffer, and the update then
/// diverges (shown in the tests).
///
/// **Nonlinear critics.** [`NormalizedUpdate::contraction_matrix`] and
/// [`NormalizedUpdate::spectral_radius`] compute C and ρ(C) at any ω, so a user can check
/// η. In general C is only the Gauss–Newton part of the update's Jacobian,
///
/// ```text
/// ∂ω₊/∂ω = C − η Σⱼ eⱼ ∂/∂ω [dⱼ / (dⱼᵀdⱼ + 1)²]
/// ```
///
/// which is exact for a linear critic ([`Trainable::OutputLayer`], where dⱼ does not
/// depend on the trained weights) and where every eⱼ = 0. With every weight of a nonlinear
/// critic trained and non-zero TD errors the update linearised at ω differs from C (the
/// tests measure max |∂ω₊/∂ω − C| ≈ 0.18 on a 6-weight tanh critic).
///
/// An update allocates nothing (it uses the [`CriticWorkspace`]); it costs
/// O(M · n · p).
///
/// ```
/// use ndarray::{arr1, Array1};
/// use rand::SeedableRng;
/// use rlgrad::critic::{Activation, NormalizedUpdate, ReplayBuffer, ShallowCritic, Trainable, Transition};
/// let critic = ShallowCritic::new(1, 4, Activation::Tanh)?;
/// let mut buffer = ReplayBuffer::new(8, 1)?;
/// for k in 0..8 {
///     let (z, zn) = (arr1(&[k as f64 / 2.0 - 2.0]), arr1(&[k as f64 / 2.0 - 1.5]));
///     buffer.push(Transition::new(z.view(), 0.1, zn.view()))?;
/// }
/// let update = NormalizedUpdate::new(0.5 * buffer.step_size_bound(), 0.9)?;
/// // Distinct hidden units (equal weights would stay equal, and act as one unit).
/// let mut omega = critic.random_weights(&mut rand_chacha::ChaCha8Rng::seed_from_u64(5));
/// let mut ws = critic.workspace();
/// let before = update.apply(&critic, &buffer, omega.view_mut(), &mut ws)?; // ½Σe² before
/// for _ in 0..50 {
///     update.apply(&critic, &buffer, omega.view_mut(), &mut ws)?;
/// }
/// let mut e = Array1::zeros(buffer.len());
/// let after = buffer.td_errors(&critic, omega.view(), 0.9, e.view_mut(), &mut ws)?;
/// assert!(after < before);
/// // Over all 12 weights ρ ≥ 1 by rank alone (8 transitions); the 4 output weights
/// // contract (slowly: one of their directions is only weakly excited by z on a line).
/// let output = update.with_trainable(Trainable::OutputLayer);
/// let rho = output.spectral_radius(&critic, &buffer, omega.view(), &mut ws)?;
/// assert!(rho < 1.0, "rho = {rho}");
/// # Ok::<(), rlgrad::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NormalizedUpdate {
    eta: f64,
    gamma: f64,
    gradient: TdGradient,
    trainable: Trainable,
}

impl NormalizedUpdate {
    /// The full-gradient update of every weight with step size η and discount γ.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for η not finite and positive, or γ outside \[0, 1\].
    pub fn new(eta: f64, gamma: f64) -> Result<Self> {
        check::positive("eta", eta)?;
        check::discount(gamma)?;
        Ok(NormalizedUpdate {
            eta,
            gamma,
            gradient: TdGradient::Full,
            trainable: Trainable::All,
        })
    }

    /// The same update with another data vector (full or semi-gradient).
    pub fn with_gradient(mut self, gradient: TdGradient) -> Self {
        self.gradient = gradient;
        self
    }

    /// The same update training only the given weights.
    pub fn with_trainable(mut self, trainable: Trainable) -> Self {
        self.trainable = trainable;
        self
    }

    /// η.
    pub fn eta(&self) -> f64 {
        self.eta
    }

    /// γ.
    pub fn gamma(&self) -> f64 {
        self.gamma
    }

    /// The data vector used.
    pub fn gradient(&self) -> TdGradient {
        self.gradient
    }

    /// The weights trained.
    pub fn trainable(&self) -> Trainable {
        self.trainable
    }

    /// One update of ω in place, over every transition in the buffer; returns ½ Σⱼ eⱼ² at
    /// the weights *before* the update. An empty buffer leaves ω unchanged.
    ///
    /// The update needs finite eⱼ and a finite step, not a finite sum of squares: if every
    /// eⱼ and the new ω are finite but ½ Σⱼ eⱼ² overflows (|eⱼ| above about 1.3e154, say
    /// from a reward of 1e200), the update is taken and the returned loss is +∞.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] for ω, the buffer's z length or a workspace of another
    /// shape; [`Error::NonFiniteTheta`] naming a non-finite weight; [`Error::NonFiniteResult`]
    /// naming the first stored transition whose TD error is not finite (a non-finite
    /// feature, or overflow), or if the new ω is not finite (a data vector or the step
    /// overflowed) — ω is then left unchanged.
    pub fn apply<M: FeatureMap>(
        &self,
        critic: &ShallowCritic<M>,
        buffer: &ReplayBuffer,
        mut omega: ArrayViewMut1<f64>,
        ws: &mut CriticWorkspace,
    ) -> Result<f64> {
        buffer.check_call(critic, omega.view(), self.gamma, ws)?;
        copy_into(&mut ws.omega, &omega.view());
        let (loss, len, bad) = match self.trainable {
            Trainable::All => self.accumulate_step::<1, M>(critic, buffer, ws),
            Trainable::OutputLayer => self.accumulate_step::<0, M>(critic, buffer, ws),
        };
        let old = omega.view();
        if let Some(j) = bad {
            return Err(td_error_of(j, old));
        }
        // Every eⱼ is finite, so the loss is finite or +∞ (reported as such); what must be
        // finite is the new ω, checked next.
        let step = &ws.step[..len];
        let eta = self.eta;
        let moved = |(w, s): (&f64, &f64)| w - eta * s;
        if ws.omega[..len]
            .iter()
            .zip(step)
            .map(moved)
            .any(|v| !v.is_finite())
        {
            let what = "critic weights after the normalised update";
            return Err(Error::non_finite_result(what, old.to_vec()));
        }
        for (o, v) in omega
            .iter_mut()
            .zip(ws.omega[..len].iter().zip(step).map(moved))
        {
            *o = v;
        }
        Ok(loss)
    }

    /// Σⱼ dⱼ eⱼ/(dⱼᵀdⱼ + 1)² into ws.step\[..len\], at the weights in ws.omega; returns
    /// (½ Σ eⱼ², len, the first j whose eⱼ is not finite) with len = dim or p. `ORDER` = 1
    /// when the hidden layer is trained.
    fn accumulate_step<const ORDER: usize, M: FeatureMap>(
        &self,
        critic: &ShallowCritic<M>,
        buffer: &ReplayBuffer,
        ws: &mut CriticWorkspace,
    ) -> (f64, usize, Option<usize>) {
        let p = critic.hidden();
        let hidden = ORDER >= 1;
        let len = if hidden { critic.dim() } else { p };
        let full = self.gradient == TdGradient::Full;
        let CriticWorkspace {
            omega: w,
            cur,
            next,
            grad: d,
            step,
            ..
        } = ws;
        let (w, d, step) = (&w[..], &mut d[..len], &mut step[..len]);
        step.fill(0.0);
        let mut loss = 0.0;
        let mut bad = None;
        for j in 0..buffer.len() {
            let (z, r, zn) = buffer.raw(j);
            let (e, g) = critic.td_forward::<ORDER>(w, z, r, zn, self.gamma, cur, next);
            if !e.is_finite() && bad.is_none() {
                bad = Some(j);
            }
            loss += 0.5 * e * e;
            let at_next = (full && zn.is_some()).then_some((&*next, g));
            critic.write_data_vector::<true>(&w[..p], cur, at_next, 1.0, d, hidden);
            let dd = dot(d, d) + 1.0;
            let c = e / (dd * dd);
            for (s, v) in step.iter_mut().zip(d.iter()) {
                *s += c * v;
            }
        }
        (loss, len, bad)
    }

    /// The contraction matrix C = I − η Σⱼ dⱼdⱼᵀ/(dⱼᵀdⱼ + 1)² at ω, over the trained weights
    /// (dim × dim, or p × p with [`Trainable::OutputLayer`]), with the full-gradient data
    /// vectors. It is symmetric. It is the Jacobian of [`NormalizedUpdate::apply`] for a
    /// linear critic ([`Trainable::OutputLayer`]) and where every eⱼ = 0, and otherwise its
    /// Gauss–Newton part (see [`NormalizedUpdate`]). Costs O(M · dim²) time and O(dim²)
    /// memory.
    ///
    /// # Errors
    /// As [`NormalizedUpdate::apply`]; [`Error::InvalidOption`] for a matrix of more than
    /// [`MAX_FLOATS`](crate::check::MAX_FLOATS) entries (more than 16 384 trained weights) or one
    /// that cannot be allocated, or for a semi-gradient update,
    /// whose linearised dynamics I − η Σⱼ sⱼ dⱼᵀ/(sⱼᵀsⱼ + 1)² (sⱼ = ∇Q̂(zⱼ)) are not
    /// symmetric and have no such bound.
    pub fn contraction_matrix<M: FeatureMap>(
        &self,
        critic: &ShallowCritic<M>,
        buffer: &ReplayBuffer,
        omega: ArrayView1<f64>,
        ws: &mut CriticWorkspace,
    ) -> Result<Array2<f64>> {
        if self.gradient != TdGradient::Full {
            return Err(Error::invalid_option(
                "gradient",
                "semi",
                "the contraction matrix is defined for the full-gradient update (the \
                 semi-gradient one is not symmetric)",
            ));
        }
        buffer.check_call(critic, omega, self.gamma, ws)?;
        copy_into(&mut ws.omega, &omega);
        let p = critic.hidden();
        let hidden = self.trainable == Trainable::All;
        let len = if hidden { critic.dim() } else { p };
        // Row-major len × len; the upper triangle is accumulated through row slices, then
        // mirrored.
        let mut c = check::square_zeros(len, "contraction matrix")?;
        for a in 0..len {
            c[a * len + a] = 1.0;
        }
        let CriticWorkspace {
            omega: w,
            cur,
            next,
            grad: d,
            ..
        } = ws;
        let (w, d) = (&w[..], &mut d[..len]);
        for j in 0..buffer.len() {
            let (z, r, zn) = buffer.raw(j);
            let (e, g) = match self.trainable {
                Trainable::All => critic.td_forward::<1>(w, z, r, zn, self.gamma, cur, next),
                Trainable::OutputLayer => {
                    critic.td_forward::<0>(w, z, r, zn, self.gamma, cur, next)
                }
            };
            // C does not use e, but a non-finite e (a non-finite feature, or overflow) means
            // the update at ω fails, so C would describe nothing.
            if !e.is_finite() {
                return Err(td_error_of(j, omega));
            }
            let at_next = zn.is_some().then_some((&*next, g));
            critic.write_data_vector::<true>(&w[..p], cur, at_next, 1.0, d, hidden);
            let dd = dot(d, d) + 1.0;
            let s = self.eta / (dd * dd);
            for (a, (row, da)) in c.chunks_exact_mut(len).zip(d.iter()).enumerate() {
                let sa = s * da;
                for (o, db) in row[a..].iter_mut().zip(&d[a..]) {
                    *o -= sa * db;
                }
            }
        }
        if c.iter().any(|v| !v.is_finite()) {
            return Err(Error::non_finite_result(
                "contraction matrix",
                omega.to_vec(),
            ));
        }
        // Once, O(len²): the lower triangle from the upper.
        for a in 1..len {
            let (above, rest) = c.split_at_mut(a * len);
            for (b, o) in rest[..a].iter_mut().enumerate() {
                *o = above[b * len + a];
            }
        }
        Ok(Array2::from_shape_vec((len, len), c).expect("the length is len * len"))
    }

    /// ρ(C) = max |λ(C)|, the spectral radius of [`NormalizedUpdate::contraction_matrix`]
    /// (through a symmetric eigen-decomposition, whose eigenvectors are discarded). Below 1,
    /// the update of a linear critic contracts.
    ///
    /// **Rank.** A = (I − C)/η = Σⱼ dⱼdⱼᵀ/(dⱼᵀdⱼ + 1)² has rank at most the number k of
    /// distinct stored transitions, so C has the eigenvalue 1 at least (trained weights − k)
    /// times: ρ(C) ≥ 1 whenever there are more trained weights than distinct transitions —
    /// typically with [`Trainable::All`], where dim = p(n + 1) — and then ρ says nothing
    /// about η. To check η, use [`Trainable::OutputLayer`] (p weights) with at least p
    /// distinct transitions that excite them:
    ///
    /// ```
    /// use ndarray::arr1;
    /// use rand::SeedableRng;
    /// use rlgrad::critic::{Activation, NormalizedUpdate, ReplayBuffer, ShallowCritic, Trainable, Transition};
    /// let critic = ShallowCritic::new(1, 4, Activation::Tanh)?; // dim = 4 · (2 + 1) = 12
    /// let mut buffer = ReplayBuffer::new(6, 1)?;
    /// for k in 0..6 {
    ///     buffer.push(Transition::terminal(arr1(&[k as f64 / 3.0 - 1.0]).view(), 0.5))?;
    /// }
    /// let omega = critic.random_weights(&mut rand_chacha::ChaCha8Rng::seed_from_u64(2));
    /// let mut ws = critic.workspace();
    /// let update = NormalizedUpdate::new(0.9 * buffer.step_size_bound(), 0.9)?;
    /// let all = update.spectral_radius(&critic, &buffer, omega.view(), &mut ws)?;
    /// assert!(all >= 1.0 - 1e-12); // 12 weights, 6 transitions: rank ≤ 6
    /// let output = update.with_trainable(Trainable::OutputLayer);
    /// assert!(output.spectral_radius(&critic, &buffer, omega.view(), &mut ws)? < 1.0);
    /// # Ok::<(), rlgrad::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`NormalizedUpdate::contraction_matrix`].
    pub fn spectral_radius<M: FeatureMap>(
        &self,
        critic: &ShallowCritic<M>,
        buffer: &ReplayBuffer,
        omega: ArrayView1<f64>,
        ws: &mut CriticWorkspace,
    ) -> Result<f64> {
        let c = self.contraction_matrix(critic, buffer, omega, ws)?;
        let (values, _) = linalg::symmetric_eigen(c.view(), "contraction matrix")?;
        Ok(values.iter().fold(0.0_f64, |m, v| m.max(v.abs())))
    }
}
