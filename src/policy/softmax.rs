//! Softmax policies: over a table of logits, or over β·Q with θ = β. (For logits built
//! elsewhere, see [`softmax_log_prob`](super::softmax_log_prob) and its siblings.)
//!
//! ```text
//! logits:  zⱼ = θ[s·A + j]        ∂ log π(a|s)/∂θ[s·A + j] = 1[j = a] − πⱼ
//!                                 ∂² log π(a|s)/∂θ[s,i]∂θ[s,j] = −(πᵢ 1[i = j] − πᵢ πⱼ)
//! values:  zⱼ = β Q[s,j], θ = (β)  ∂ log π(a|s)/∂β = Q[s,a] − Σⱼ πⱼ Q[s,j]
//!                                 ∂² log π(a|s)/∂β² = −Σⱼ πⱼ (Q[s,j] − Q̄)²
//! ```
//!
//! Every path goes through the crate's one softmax kernel,
//! [`numeric::SoftmaxNorm`](crate::numeric::SoftmaxNorm): shifted by the maximum logit (a logit
//! of 10⁶ neither overflows nor loses the small probabilities; equal logits give exactly
//! uniform probabilities), with the rounding error of the normaliser recovered so that a
//! log-probability near 0 keeps its relative accuracy. Here, 1 − π_a (in the score and the
//! Hessian) is summed from the other actions' weights, Σ_{j≠a} eⱼ / S, so it keeps its relative
//! accuracy as π_a → 1.
//!
//! Nothing allocates: sampling and the score recompute e^(zⱼ − m) in a second pass instead of
//! keeping the probabilities in a buffer.

use std::ops::Range;

use rand::Rng;

use super::Policy;
use crate::check;
use crate::error::{Error, Result};
use crate::numeric::{SoftmaxNorm, softmax_probabilities};

#[derive(Clone, Debug, PartialEq)]
enum Kind {
    /// θ is the S × A table of logits.
    Logits,
    /// θ = (β); logits β·Q\[s,·\] for the fixed S × A table `q`.
    Values { q: Vec<f64> },
}

/// A softmax (Boltzmann) policy over discrete actions.
///
/// | constructor | θ | π(a \| s) | score block in state s |
/// |---|---|---|---|
/// | [`SoftmaxPolicy::logits`] | the S × A logits, row by row | softmax(θ\[s·A ..(s+1)·A\]) | s·A .. (s+1)·A |
/// | [`SoftmaxPolicy::values`] | (β), any real | softmax(β Q\[s,·\]) | 0 .. 1 |
///
/// A bandit is one state: `SoftmaxPolicy::logits(1, arms)`, and [`Policy::at`]`(0)` makes
/// it a [`ScoreFunction`](super::ScoreFunction) over arms. The log-probability Hessian is
/// exact (see the module docs), so surrogate terms built on this policy have exact
/// Hessians.
///
/// ```
/// use rlgrad::policy::{Policy, SoftmaxPolicy};
/// let policy = SoftmaxPolicy::logits(1, 3)?;
/// let theta = [1.0, 1.0, 1.0];
/// assert!((policy.log_prob(&theta, 0, 2)? + 3f64.ln()).abs() < 1e-15);
/// // A NaN logit is an error naming its θ entry, not a NaN probability.
/// assert!(policy.log_prob(&[0.0, f64::NAN, 0.0], 0, 0).is_err());
/// # Ok::<(), rlgrad::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct SoftmaxPolicy {
    kind: Kind,
    n_states: usize,
    n_actions: usize,
}

impl SoftmaxPolicy {
    /// A policy whose θ is the `n_states × n_actions` table of logits (row-major: θ\[s·A + a\]).
    ///
    /// # Errors
    /// [`Error::InvalidOption`] if a size is 0 or the table would not fit in memory.
    pub fn logits(n_states: usize, n_actions: usize) -> Result<Self> {
        check::table(n_states, n_actions, 1, "the policy's logits (theta)")?;
        Ok(SoftmaxPolicy {
            kind: Kind::Logits,
            n_states,
            n_actions,
        })
    }

    /// A policy softmax(β Q\[s,·\]) over the fixed values `q` (states × actions), with θ = (β).
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for an empty table; [`Error::NonFiniteInput`] for a NaN or
    /// infinite value, naming its row and column.
    pub fn values(q: ndarray::ArrayView2<f64>) -> Result<Self> {
        let (n_states, n_actions) = q.dim();
        check::table(n_states, n_actions, 1, "the policy's value table")?;
        if let Some(((s, a), v)) = q.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(Error::non_finite_input(format!("q[{s}, {a}]"), *v));
        }
        Ok(SoftmaxPolicy {
            kind: Kind::Values {
                q: q.iter().copied().collect(),
            },
            n_states,
            n_actions,
        })
    }

    /// The value table of a [`SoftmaxPolicy::values`] policy (row-major, states × actions).
    pub fn q(&self) -> Option<&[f64]> {
        match &self.kind {
            Kind::Logits => None,
            Kind::Values { q } => Some(q),
        }
    }

    /// Validates θ's length, the state, and the logits of that state; returns the row's
    /// start in the logits (θ for `Logits`, Q for `Values`) and the scale β (1 for logits).
    #[inline]
    fn row(&self, theta: &[f64], state: usize) -> Result<(usize, f64)> {
        check::len("theta", self.dim(), theta.len())?;
        check::index("state", state, self.n_states)?;
        let a_n = self.n_actions;
        let start = state * a_n;
        match &self.kind {
            Kind::Logits => {
                let row = &theta[start..start + a_n];
                if let Some((j, v)) = check::first_non_finite(row) {
                    let name = format!("logit[{state}, {j}]");
                    return Err(Error::non_finite_theta(start + j, name, v));
                }
                Ok((start, 1.0))
            }
            Kind::Values { q } => {
                let beta = theta[0];
                check::finite_theta(&theta[..1], |_| "beta".to_string())?;
                let row = &q[start..start + a_n];
                if row.iter().any(|&v| !(beta * v).is_finite()) {
                    let what = format!("logits beta * q[{state}, ·]");
                    return Err(Error::non_finite_result(what, theta.to_vec()));
                }
                Ok((start, beta))
            }
        }
    }

    /// The logits source of a row: θ (logits) or Q (values).
    #[inline]
    fn source<'a>(&'a self, theta: &'a [f64]) -> &'a [f64] {
        match &self.kind {
            Kind::Logits => theta,
            Kind::Values { q } => q,
        }
    }
}

impl Policy for SoftmaxPolicy {
    type Noise = ();

    fn dim(&self) -> usize {
        match self.kind {
            Kind::Logits => self.n_states * self.n_actions,
            Kind::Values { .. } => 1,
        }
    }

    fn n_states(&self) -> usize {
        self.n_states
    }

    fn n_actions(&self) -> usize {
        self.n_actions
    }

    fn score_block(&self, state: usize) -> Result<Range<usize>> {
        check::index("state", state, self.n_states)?;
        Ok(match self.kind {
            Kind::Logits => state * self.n_actions..(state + 1) * self.n_actions,
            Kind::Values { .. } => 0..1,
        })
    }

    fn probabilities(&self, theta: &[f64], state: usize, out: &mut [f64]) -> Result<()> {
        check::len("probabilities buffer", self.n_actions, out.len())?;
        let (start, beta) = self.row(theta, state)?;
        let src = &self.source(theta)[start..start + self.n_actions];
        softmax_probabilities(|j| beta * src[j], out);
        Ok(())
    }

    fn sample<R: Rng + ?Sized>(&self, theta: &[f64], state: usize, rng: &mut R) -> Result<usize> {
        let (start, beta) = self.row(theta, state)?;
        let src = &self.source(theta)[start..start + self.n_actions];
        let z = |j: usize| beta * src[j];
        Ok(SoftmaxNorm::new(src.len(), z).sample(src.len(), z, rng.random()))
    }

    fn log_prob(&self, theta: &[f64], state: usize, action: usize) -> Result<f64> {
        check::index("action", action, self.n_actions)?;
        let (start, beta) = self.row(theta, state)?;
        let src = &self.source(theta)[start..start + self.n_actions];
        let norm = SoftmaxNorm::new(src.len(), |j| beta * src[j]);
        finite_log_prob(norm.log_prob(beta * src[action]), state, action, theta)
    }

    fn add_log_prob_and_score(
        &self,
        theta: &[f64],
        state: usize,
        action: usize,
        alpha: f64,
        score_block: &mut [f64],
    ) -> Result<f64> {
        check::index("action", action, self.n_actions)?;
        check::alpha(alpha)?;
        let (start, beta) = self.row(theta, state)?;
        let a_n = self.n_actions;
        match &self.kind {
            Kind::Logits => {
                check::len("score block", a_n, score_block.len())?;
                let row = &theta[start..start + a_n];
                let norm = SoftmaxNorm::new(a_n, |j| row[j]);
                let log_p = finite_log_prob(norm.log_prob(row[action]), state, action, theta)?;
                let inv = 1.0 / norm.sum;
                // 1[j = a] − πⱼ is in [−1, 1]: with a finite alpha every entry is finite.
                // 1 − π_a = Σ_{j≠a} eⱼ / S, from the other weights: as π_a → 1, 1 − π_a
                // would lose its relative accuracy (and round to 0 below e^−37).
                let mut others = 0.0;
                for (j, (s, &z)) in score_block.iter_mut().zip(row).enumerate() {
                    if j != action {
                        let w = norm.weight(z);
                        others += w;
                        *s -= alpha * (w * inv);
                    }
                }
                score_block[action] += alpha * (others * inv);
                Ok(log_p)
            }
            Kind::Values { q } => {
                check::len("score block", 1, score_block.len())?;
                let row = &q[start..start + a_n];
                let norm = SoftmaxNorm::new(a_n, |j| beta * row[j]);
                let log_p =
                    finite_log_prob(norm.log_prob(beta * row[action]), state, action, theta)?;
                let inv = 1.0 / norm.sum;
                // Q_a − Σⱼ πⱼ Qⱼ = Σ_{j≠a} πⱼ (Q_a − Qⱼ): no cancellation as π_a → 1. (Q_a − Qⱼ
                // can overflow where the plain difference does not: then the plain one.)
                let qa = row[action];
                let spread: f64 = (0..a_n)
                    .filter(|&j| j != action)
                    .map(|j| norm.weight(beta * row[j]) * inv * (qa - row[j]))
                    .sum();
                let diff = if spread.is_finite() {
                    spread
                } else {
                    qa - row
                        .iter()
                        .map(|&v| norm.weight(beta * v) * inv * v)
                        .sum::<f64>()
                };
                score_block[0] += check::finite_result(alpha * diff, theta, || {
                    format!("score of action {action} in state {state}")
                })?;
                Ok(log_p)
            }
        }
    }

    fn has_log_prob_hessian(&self) -> bool {
        true
    }

    fn add_log_prob_hessian(
        &self,
        theta: &[f64],
        state: usize,
        action: usize,
        alpha: f64,
        hess: &mut [f64],
        stride: usize,
    ) -> Result<bool> {
        check::index("action", action, self.n_actions)?;
        let (start, beta) = self.row(theta, state)?;
        check::alpha(alpha)?;
        let a_n = self.n_actions;
        match &self.kind {
            Kind::Logits => {
                check_block_buffer(a_n, stride, hess.len())?;
                let row = &theta[start..start + a_n];
                let norm = SoftmaxNorm::new(a_n, |j| row[j]);
                let inv = 1.0 / norm.sum;
                // Off the diagonal πᵢπⱼ; on it −πᵢ(1 − πᵢ) with 1 − πᵢ = Σ_{j≠i} πⱼ, accurate
                // as πᵢ → 1 (πᵢπᵢ − πᵢ would cancel).
                for i in 0..a_n {
                    let pi = norm.weight(row[i]) * inv;
                    let mut others = 0.0;
                    for j in 0..a_n {
                        if j != i {
                            let pj = norm.weight(row[j]) * inv;
                            others += pj;
                            hess[i * stride + j] += alpha * (pi * pj);
                        }
                    }
                    hess[i * stride + i] -= alpha * (pi * others);
                }
            }
            Kind::Values { q } => {
                check_block_buffer(1, stride, hess.len())?;
                let row = &q[start..start + a_n];
                let norm = SoftmaxNorm::new(a_n, |j| beta * row[j]);
                let inv = 1.0 / norm.sum;
                let p = |j: usize| norm.weight(beta * row[j]) * inv;
                let mean: f64 = (0..a_n).map(|j| p(j) * row[j]).sum();
                let var: f64 = (0..a_n).map(|j| p(j) * (row[j] - mean).powi(2)).sum();
                hess[0] += check::finite_result(-alpha * var, theta, || {
                    format!("log-probability hessian in state {state}")
                })?;
            }
        }
        Ok(true)
    }
}

fn finite_log_prob(log_p: f64, state: usize, action: usize, theta: &[f64]) -> Result<f64> {
    check::finite_result(log_p, theta, || {
        format!("log-probability of action {action} in state {state}")
    })
}

/// A B × B block with row stride `stride` needs (B − 1)·stride + B entries.
fn check_block_buffer(b: usize, stride: usize, len: usize) -> Result<()> {
    if stride < b {
        let reason = format!("must be at least the block length {b}");
        return Err(Error::invalid_option("stride", stride, reason));
    }
    let need = (b - 1).saturating_mul(stride).saturating_add(b);
    if len < need {
        return Err(Error::dimension_mismatch(
            "hessian block buffer (at least)",
            need,
            len,
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn normaliser_is_stable_and_exact_for_equal_logits() {
        let policy = SoftmaxPolicy::logits(1, 4).unwrap();
        let mut p = [0.0; 4];
        policy.probabilities(&[1e6; 4], 0, &mut p).unwrap();
        assert_eq!(p, [0.25; 4]);
        let lp = policy.log_prob(&[1e300, -1e300, 0.0, 5.0], 0, 0).unwrap();
        assert_eq!(lp, 0.0);
        let lp = policy.log_prob(&[40.0, 0.0, 0.0, 0.0], 0, 0).unwrap();
        let exact = -(3.0 * (-40.0f64).exp()); // ln(1/(1 + 3e^-40)) ≈ −3e^-40
        assert!((lp - exact).abs() <= 1e-15 * exact.abs(), "{lp} vs {exact}");
    }

    #[test]
    fn sampling_follows_the_probabilities() {
        let policy = SoftmaxPolicy::logits(1, 3).unwrap();
        let theta = [0.5, -0.5, 0.0];
        let mut p = [0.0; 3];
        policy.probabilities(&theta, 0, &mut p).unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let n = 60_000;
        let mut counts = [0usize; 3];
        for _ in 0..n {
            counts[policy.sample(&theta, 0, &mut rng).unwrap()] += 1;
        }
        for j in 0..3 {
            let freq = counts[j] as f64 / n as f64;
            let se = (p[j] * (1.0 - p[j]) / n as f64).sqrt();
            assert!(
                (freq - p[j]).abs() < 4.0 * se,
                "action {j}: {freq} vs {}",
                p[j]
            );
        }
    }
}
