//! [`MemoryPolicy`]: the soft Thompson policy of a memory-limited agent (DRA, dynamic
//! resource allocation; Patel, Acerbi & Pouget 2020), whose every state–action memory is
//! N(q̄ₛₐ, σ²ₛₐ) and whose parameter θ is the resource allocation σ.
//!
//! ```text
//! decision (A.1):  ζ ~ N(0, I_A),  π(· | s, ζ; σ) = softmax(β (q̄ₛ + ζ ⊙ σₛ)),  a ~ π(· | s, ζ; σ)
//! score (A.3):     ∂ log π(a | s, ζ)/∂σₛⱼ = β ζⱼ (1[j = a] − πⱼ),  zero outside row s
//! marginal:        π(a | s; σ) = E_ζ[π(a | s, ζ; σ)]
//! ```
//!
//! The decision is the pair (a, ζ), with density N(ζ; 0, I) · π(a | s, ζ; σ); N(ζ; 0, I) does
//! not depend on σ, so the score of the pair is exactly A.3, and REINFORCE with it is
//! unbiased for the gradient of any expected reward under the marginal policy. This is how
//! the memory policy is a [`Policy`]: [`Policy::decide`] draws (a, ζ) with `Noise = Vec<f64>`
//! (ζ of the state's row), [`Policy::add_decision_score`] gives A.3, and the noise-free
//! methods ([`Policy::probabilities`], [`Policy::log_prob`], [`Policy::sample`],
//! [`Policy::add_log_prob_and_score`]) are those of the marginal policy: exact by quadrature
//! for two actions, and otherwise from a fixed set of draws (see [`MemoryPolicy`]).

mod marginal;

use self::marginal::with_buffer;

use std::ops::Range;

use rand::Rng;
use rand_distr::StandardNormal;

use super::Policy;
use super::logits::add_chained_score;
use crate::check;
use crate::error::{Error, Result};
use crate::numeric::{SoftmaxNorm, draw};

pub use self::marginal::MARGINAL_DRAWS;

/// The soft Thompson memory policy over a table of memories N(q̄ₛₐ, σ²ₛₐ), with θ = σ
/// (S × A, row-major: σ\[s·A + a\], every entry finite and > 0) and fixed q̄ and β held by the
/// policy (the DRA trainer updates q̄ between decisions through
/// [`MemoryPolicy::q_bar_mut`]).
///
/// | method | what |
/// |---|---|
/// | [`Policy::decide`], [`MemoryPolicy::decide_into`] | a soft Thompson decision: (a, ζ) and π(· \| s, ζ) |
/// | [`Policy::add_decision_score`] | ∂ log π(a \| s, ζ)/∂σ (seed A.3) |
/// | [`MemoryPolicy::thompson`] | a hard Thompson decision: argmaxₐ q̄ₛₐ + ζₐ σₛₐ |
/// | [`Policy::probabilities`] | the marginal choice probabilities E_ζ\[π(· \| s, ζ)\] |
/// | [`MemoryPolicy::thompson_probabilities`] | the hard Thompson choice probabilities |
/// | [`MemoryPolicy::choice_entropy`] | the entropy of the marginal choice in a state |
///
/// Marginal and hard Thompson probabilities are exact for two actions (one-dimensional
/// quadrature: the difference of the two logits is Gaussian), to about 10⁻¹² absolute. For
/// more actions they are averages over [`MARGINAL_DRAWS`] draws of ζ from a fixed seed (the
/// same draws in every call, so they are deterministic, and the marginal's score is the
/// exact gradient of that average), with a standard error below 0.5/√4096 ≈ 0.008 per
/// probability; those calls allocate two A-vectors.
///
/// ```
/// use rand::SeedableRng;
/// use rlgrad::policy::{MemoryPolicy, Policy};
/// // One state, two actions, q̄ = (1, 0), β = 10, σ = (0.5, 2).
/// let policy = MemoryPolicy::new(1, 2, 10.0)?.with_q_bar(vec![1.0, 0.0])?;
/// let sigma = [0.5, 2.0];
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
/// let mut zeta = Vec::new();
/// let a = policy.decide(&sigma, 0, &mut rng, &mut zeta)?;
/// let mut score = [0.0; 2];
/// let log_pi = policy.add_decision_score(&sigma, 0, a, &zeta, 1.0, &mut score)?;
/// assert!(log_pi <= 0.0);
/// // A.3: the score is β ζⱼ (1[j = a] − πⱼ); π sums to one, so Σⱼ score_j / (β ζⱼ) = 0.
/// let pi_a = log_pi.exp();
/// assert!((score[a] - 10.0 * zeta[a] * (1.0 - pi_a)).abs() < 1e-12);
/// // The marginal probability of action 0 (exact by quadrature) lies between the
/// // hard-Thompson one and 1/2.
/// let (mut soft, mut hard) = ([0.0; 2], [0.0; 2]);
/// policy.probabilities(&sigma, 0, &mut soft)?;
/// policy.thompson_probabilities(&sigma, 0, &mut hard)?;
/// assert!(0.5 < soft[0] && soft[0] < hard[0]);
/// # Ok::<(), rlgrad::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct MemoryPolicy {
    n_states: usize,
    n_actions: usize,
    beta: f64,
    q_bar: Vec<f64>,
}

impl MemoryPolicy {
    /// A policy over `n_states × n_actions` memories with q̄ = 0 and inverse temperature β.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for a size of 0, a table too large to allocate
    /// ([`check::MAX_FLOATS`]), or β not finite and > 0.
    pub fn new(n_states: usize, n_actions: usize, beta: f64) -> Result<Self> {
        let n = check::table(n_states, n_actions, 1, "the memory table (q-bar and sigma)")?;
        check::positive("beta", beta)?;
        let q_bar = check::filled(n, 0.0, "the memory means q-bar")?;
        Ok(MemoryPolicy {
            n_states,
            n_actions,
            beta,
            q_bar,
        })
    }

    /// The same policy with means `q_bar` (S × A, row-major).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] for the wrong length, [`Error::NonFiniteInput`] naming a
    /// non-finite entry.
    pub fn with_q_bar(mut self, q_bar: Vec<f64>) -> Result<Self> {
        check::len("q_bar", self.q_bar.len(), q_bar.len())?;
        check::finite_inputs("q_bar", &q_bar)?;
        self.q_bar = q_bar;
        Ok(self)
    }

    /// β, the inverse temperature.
    pub fn beta(&self) -> f64 {
        self.beta
    }

    /// Sets β (the DRA trainer anneals it on mountain car).
    ///
    /// # Errors
    /// [`Error::InvalidOption`] unless β is finite and > 0.
    pub fn set_beta(&mut self, beta: f64) -> Result<()> {
        check::positive("beta", beta)?;
        self.beta = beta;
        Ok(())
    }

    /// The memory means q̄ (S × A, row-major).
    pub fn q_bar(&self) -> &[f64] {
        &self.q_bar
    }

    /// The memory means, to update (the checked methods refuse a non-finite entry they read).
    pub fn q_bar_mut(&mut self) -> &mut [f64] {
        &mut self.q_bar
    }

    /// Checks a whole allocation σ: its length, and every entry finite and > 0.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`], [`Error::NonFiniteTheta`] or [`Error::InvalidParameter`]
    /// naming the entry (as `sigma[s, a]`).
    pub fn check_sigma(&self, sigma: &[f64]) -> Result<()> {
        check::len("sigma", self.q_bar.len(), sigma.len())?;
        self.check_sigma_entries(sigma, 0)
    }

    /// Checks σ entries (a row, or all of σ) starting at θ index `offset`.
    fn check_sigma_entries(&self, sigma: &[f64], offset: usize) -> Result<()> {
        let a_n = self.n_actions;
        for (i, &v) in sigma.iter().enumerate() {
            let k = offset + i;
            check::standard_deviation(k, v, || format!("sigma[{}, {}]", k / a_n, k % a_n))?;
        }
        Ok(())
    }

    /// The rows of q̄ and σ for state s, checked: σ's length, the state, the σ row (finite,
    /// > 0) and the q̄ row (finite).
    fn rows<'a>(&'a self, sigma: &'a [f64], state: usize) -> Result<(&'a [f64], &'a [f64])> {
        check::len("sigma", self.q_bar.len(), sigma.len())?;
        check::index("state", state, self.n_states)?;
        let r = self.block(state);
        let (q, s) = (&self.q_bar[r.clone()], &sigma[r.clone()]);
        self.check_sigma_entries(s, r.start)?;
        check::finite_inputs_with(q, |j| format!("q_bar[{state}, {j}]"))?;
        Ok((q, s))
    }

    /// The checks of a score method (action, alpha, σ, state, q̄ row, buffer length) and the
    /// rows they pass.
    fn score_args<'a>(
        &'a self,
        sigma: &'a [f64],
        state: usize,
        action: usize,
        alpha: f64,
        block_len: usize,
    ) -> Result<(&'a [f64], &'a [f64])> {
        check::index("action", action, self.n_actions)?;
        check::alpha(alpha)?;
        let rows = self.rows(sigma, state)?;
        check::len("score block", self.n_actions, block_len)?;
        Ok(rows)
    }

    fn block(&self, state: usize) -> Range<usize> {
        state * self.n_actions..(state + 1) * self.n_actions
    }

    /// A soft Thompson decision in state s (seed A.1): draws ζ ~ N(0, I) into `zeta`, writes
    /// π(· | s, ζ; σ) into `probs`, and returns the action drawn from it with log π(a | s, ζ).
    /// The checked form of what the DRA trainer does at every step; allocates nothing.
    ///
    /// # Errors
    /// A bad σ (length, an entry of the row not finite or ≤ 0), state, q̄ row, or buffers not
    /// of length A.
    pub fn decide_into<R: Rng + ?Sized>(
        &self,
        sigma: &[f64],
        state: usize,
        rng: &mut R,
        zeta: &mut [f64],
        probs: &mut [f64],
    ) -> Result<(usize, f64)> {
        let (q, s) = self.rows(sigma, state)?;
        check::len("zeta buffer", self.n_actions, zeta.len())?;
        check::len("probabilities buffer", self.n_actions, probs.len())?;
        let a = decide_kernel(self.beta, q, s, rng, zeta, probs);
        let log_p = probs[a].ln();
        check::finite_result(log_p, sigma, || {
            format!("log-probability of a decision in state {state}")
        })?;
        Ok((a, log_p))
    }

    /// The unchecked decision of the DRA trainer's hot loop, which checked σ and q̄ once.
    #[inline]
    pub(crate) fn decide_unchecked<R: Rng + ?Sized>(
        &self,
        sigma: &[f64],
        state: usize,
        rng: &mut R,
        zeta: &mut [f64],
        probs: &mut [f64],
    ) -> usize {
        let r = self.block(state);
        decide_kernel(
            self.beta,
            &self.q_bar[r.clone()],
            &sigma[r],
            rng,
            zeta,
            probs,
        )
    }

    /// Adds `alpha ·` A.3 for a decision with noise `zeta` and probabilities `probs` into the
    /// row's score buffer (unchecked).
    #[inline]
    pub(crate) fn add_score_unchecked(
        &self,
        action: usize,
        zeta: &[f64],
        probs: &[f64],
        alpha: f64,
        score_row: &mut [f64],
    ) {
        let beta = self.beta;
        add_chained_score(probs, action, |j| beta * zeta[j], alpha, score_row);
    }

    /// A hard Thompson decision: ζ ~ N(0, I), a = argmaxₐ q̄ₛₐ + ζₐ σₛₐ (the β → ∞ limit of
    /// the soft decision).
    ///
    /// # Errors
    /// A bad σ, state or q̄ row.
    pub fn thompson<R: Rng + ?Sized>(
        &self,
        sigma: &[f64],
        state: usize,
        rng: &mut R,
    ) -> Result<usize> {
        let (q, s) = self.rows(sigma, state)?;
        let mut best = (f64::NEG_INFINITY, 0);
        for j in 0..self.n_actions {
            let z: f64 = rng.sample(StandardNormal);
            let v = q[j] + z * s[j];
            if v > best.0 {
                best = (v, j);
            }
        }
        Ok(best.1)
    }

    /// The hard Thompson choice probabilities P(a = argmaxⱼ q̄ₛⱼ + ζⱼ σₛⱼ) into `out`: exact for
    /// two actions, from [`MARGINAL_DRAWS`] fixed draws otherwise (see the type docs).
    ///
    /// # Errors
    /// A bad σ, state, q̄ row or buffer length.
    pub fn thompson_probabilities(
        &self,
        sigma: &[f64],
        state: usize,
        out: &mut [f64],
    ) -> Result<()> {
        let (q, s) = self.rows(sigma, state)?;
        check::len("probabilities buffer", self.n_actions, out.len())?;
        marginal::hard(q, s, out);
        Ok(())
    }

    /// The entropy −Σₐ π(a|s) ln π(a|s) of the marginal choice in state s, in nats (0 for a
    /// certain choice, ln A for a uniform one).
    ///
    /// # Errors
    /// A bad σ, state or q̄ row.
    pub fn choice_entropy(&self, sigma: &[f64], state: usize) -> Result<f64> {
        with_buffer(self.n_actions, |p| {
            self.probabilities(sigma, state, p)?;
            Ok(-p
                .iter()
                .filter(|&&x| x > 0.0)
                .map(|&x| x * x.ln())
                .sum::<f64>())
        })
    }
}

/// ζ ~ N(0, I) into `zeta`, π = softmax(β(q̄ + ζ ⊙ σ)) into `probs`, a ~ π: returns a.
#[inline]
fn decide_kernel<R: Rng + ?Sized>(
    beta: f64,
    q: &[f64],
    sigma: &[f64],
    rng: &mut R,
    zeta: &mut [f64],
    probs: &mut [f64],
) -> usize {
    for z in zeta.iter_mut() {
        *z = rng.sample(StandardNormal);
    }
    let logit = |j: usize| beta * (q[j] + zeta[j] * sigma[j]);
    let norm = SoftmaxNorm::with_weights(logit, probs);
    let inv = 1.0 / norm.sum;
    for p in probs.iter_mut() {
        *p *= inv;
    }
    draw(probs.len(), |j| probs[j], rng.random::<f64>())
}

impl Policy for MemoryPolicy {
    /// ζ for the state's A actions.
    type Noise = Vec<f64>;

    fn dim(&self) -> usize {
        self.q_bar.len()
    }

    fn n_states(&self) -> usize {
        self.n_states
    }

    fn n_actions(&self) -> usize {
        self.n_actions
    }

    fn check_theta(&self, theta: &[f64]) -> Result<()> {
        self.check_sigma(theta)
    }

    fn score_block(&self, state: usize) -> Result<Range<usize>> {
        check::index("state", state, self.n_states)?;
        Ok(self.block(state))
    }

    fn probabilities(&self, theta: &[f64], state: usize, out: &mut [f64]) -> Result<()> {
        let (q, s) = self.rows(theta, state)?;
        check::len("probabilities buffer", self.n_actions, out.len())?;
        marginal::soft(self.beta, q, s, out);
        // Logits β(q̄ + ζσ) can overflow for finite β, q̄ and σ (β = 1e300, σ = 1e300): the
        // softmax, or m + s·u in the quadrature, is then NaN.
        if out.iter().any(|p| !p.is_finite()) {
            return Err(Error::non_finite_result(
                format!("marginal choice probabilities in state {state}"),
                theta.to_vec(),
            ));
        }
        Ok(())
    }

    fn sample<R: Rng + ?Sized>(&self, theta: &[f64], state: usize, rng: &mut R) -> Result<usize> {
        // A draw from the marginal: the action of a decision, its noise forgotten. The Gumbel
        // maximum of the logits is a softmax draw that needs no buffer.
        let (q, s) = self.rows(theta, state)?;
        let mut best = (f64::NEG_INFINITY, 0);
        for j in 0..self.n_actions {
            let z: f64 = rng.sample(StandardNormal);
            let u: f64 = rng.random::<f64>();
            let gumbel = -(-(u.max(f64::MIN_POSITIVE)).ln()).ln();
            let v = self.beta * (q[j] + z * s[j]) + gumbel;
            if v.is_nan() {
                return Err(Error::non_finite_result(
                    format!("logit of action {j} in state {state} (beta * (q_bar + zeta * sigma))"),
                    theta.to_vec(),
                ));
            }
            if v > best.0 {
                best = (v, j);
            }
        }
        Ok(best.1)
    }

    fn log_prob(&self, theta: &[f64], state: usize, action: usize) -> Result<f64> {
        check::index("action", action, self.n_actions)?;
        let (q, s) = self.rows(theta, state)?;
        let p = marginal::soft_with_score::<false>(self.beta, q, s, action, &mut []);
        check::finite_result(p.ln(), theta, || {
            format!("marginal log-probability of action {action} in state {state}")
        })
    }

    fn add_log_prob_and_score(
        &self,
        theta: &[f64],
        state: usize,
        action: usize,
        alpha: f64,
        score_block: &mut [f64],
    ) -> Result<f64> {
        let (q, s) = self.score_args(theta, state, action, alpha, score_block.len())?;
        let beta = self.beta;
        with_buffer(self.n_actions, |grad| {
            let p = marginal::soft_with_score::<true>(beta, q, s, action, grad);
            let log_p = check::finite_result(p.ln(), theta, || {
                format!("marginal log-probability of action {action} in state {state}")
            })?;
            let inv = 1.0 / p;
            if let Some(j) = (0..grad.len()).find(|&j| !(alpha * (grad[j] * inv)).is_finite()) {
                return Err(Error::non_finite_result(
                    format!("marginal score entry {j} in state {state}"),
                    theta.to_vec(),
                ));
            }
            for (o, g) in score_block.iter_mut().zip(grad.iter()) {
                *o += alpha * (g * inv);
            }
            Ok(log_p)
        })
    }

    fn decide<R: Rng + ?Sized>(
        &self,
        theta: &[f64],
        state: usize,
        rng: &mut R,
        noise: &mut Vec<f64>,
    ) -> Result<usize> {
        let (q, s) = self.rows(theta, state)?;
        noise.resize(self.n_actions, 0.0);
        let beta = self.beta;
        with_buffer(self.n_actions, |probs| {
            let a = decide_kernel(beta, q, s, rng, noise, probs);
            // Logits that overflow (β·σ·ζ beyond the double range) give no distribution.
            match probs.iter().position(|p| !p.is_finite()) {
                None => Ok(a),
                Some(j) => Err(Error::non_finite_result(
                    format!("probability of action {j} in state {state} given zeta"),
                    theta.to_vec(),
                )),
            }
        })
    }

    fn add_decision_score(
        &self,
        theta: &[f64],
        state: usize,
        action: usize,
        noise: &Vec<f64>,
        alpha: f64,
        score_block: &mut [f64],
    ) -> Result<f64> {
        let (q, s) = self.score_args(theta, state, action, alpha, score_block.len())?;
        check::len("noise (zeta)", self.n_actions, noise.len())?;
        check::finite_inputs("zeta", noise)?;
        let beta = self.beta;
        let logit = |j: usize| beta * (q[j] + noise[j] * s[j]);
        let norm = SoftmaxNorm::new(self.n_actions, logit);
        let log_p = check::finite_result(norm.log_prob(logit(action)), theta, || {
            format!("log-probability of action {action} in state {state} given zeta")
        })?;
        // βζⱼ(1[j = a] − πⱼ): |1[j = a] − πⱼ| ≤ 1, so a finite alpha·β·ζⱼ keeps it finite.
        if let Some(j) = (0..self.n_actions).find(|&j| !(alpha * beta * noise[j]).is_finite()) {
            return Err(Error::non_finite_result(
                format!("decision score entry {j} (alpha * beta * zeta[{j}])"),
                theta.to_vec(),
            ));
        }
        let inv = 1.0 / norm.sum;
        with_buffer(self.n_actions, |pi| {
            for (j, p) in pi.iter_mut().enumerate() {
                *p = norm.weight(logit(j)) * inv;
            }
            add_chained_score(pi, action, |j| beta * noise[j], alpha, score_block);
        });
        Ok(log_p)
    }
}
