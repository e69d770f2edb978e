//! Rescorla–Wagner (delta-rule) learning, with one or two learning rates.
//!
//! ```text
//! δ = r − Q[s,a]
//! Q[s,a] ← Q[s,a] + α δ = (1 − α) Q[s,a] + α r   (other entries unchanged)
//! D[s,a,k] ← (1 − α) D[s,a,k] + 1[k = α] δ       (the carried term (1 − α)·D is essential)
//! E[s,a,k,l] ← (1 − α) E[s,a,k,l] − 1[k = α] D_old[s,a,l] − 1[l = α] D_old[s,a,k]
//! ```
//!
//! With two rates, α⁺ applies when δ ≥ 0 and α⁻ when δ < 0; "1[k = α]" then means the active
//! rate. Seed 000's derivation drops the carried term `(1 − α)·D`; that is wrong after the
//! first update of an entry, and the finite-difference tests catch it.
//!
//! The initial value q₀ is 0 by default, can be fixed to another number, or learned as a
//! parameter (then D starts at 1 in its column).

use super::{LearningRule, Step, TableShape};
use crate::error::{Error, Result};
use crate::params::{ParamSpec, Transform};

/// Rescorla–Wagner learning.
///
/// | constructor | parameters (default transform) |
/// |---|---|
/// | [`RescorlaWagner::new`] | `alpha` (logistic onto (0, 1)) |
/// | [`RescorlaWagner::dual`] | `alpha_pos`, `alpha_neg` (logistic onto (0, 1)) |
/// | `.with_learned_initial_value()` | adds `q0` (identity) |
///
/// ```
/// use rlgrad::learning::RescorlaWagner;
/// use rlgrad::learning::LearningRule;
/// let rw = RescorlaWagner::dual().with_learned_initial_value();
/// let names: Vec<String> = rw.params().into_iter().map(|p| p.name).collect();
/// assert_eq!(names, ["alpha_pos", "alpha_neg", "q0"]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct RescorlaWagner {
    dual: bool,
    q0: Option<f64>,
}

impl Default for RescorlaWagner {
    fn default() -> Self {
        Self::new()
    }
}

impl RescorlaWagner {
    /// One learning rate `alpha`; q₀ = 0.
    pub fn new() -> Self {
        RescorlaWagner {
            dual: false,
            q0: Some(0.0),
        }
    }

    /// Two learning rates, `alpha_pos` for δ ≥ 0 and `alpha_neg` for δ < 0; q₀ = 0.
    pub fn dual() -> Self {
        RescorlaWagner {
            dual: true,
            q0: Some(0.0),
        }
    }

    /// Fixes the initial value q₀ (for every state and action).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `q0` is not finite.
    pub fn with_initial_value(mut self, q0: f64) -> Result<Self> {
        if !q0.is_finite() {
            return Err(Error::invalid_parameter("q0", q0, "is not finite"));
        }
        self.q0 = Some(q0);
        Ok(self)
    }

    /// Learns q₀ as a parameter named `q0`.
    pub fn with_learned_initial_value(mut self) -> Self {
        self.q0 = None;
        self
    }

    /// The fixed initial value q₀ of a single-rate rule, or `None` for the dual rule or a
    /// learned q₀ (what the cohort kernel's plain configuration needs).
    pub(crate) fn single_rate_fixed_q0(&self) -> Option<f64> {
        if self.dual { None } else { self.q0 }
    }

    fn n_rates(&self) -> usize {
        if self.dual { 2 } else { 1 }
    }

    fn n_params(&self) -> usize {
        self.n_rates() + usize::from(self.q0.is_none())
    }
}

impl LearningRule for RescorlaWagner {
    fn params(&self) -> Vec<ParamSpec> {
        let mut p = if self.dual {
            vec![
                ParamSpec::new("alpha_pos", Transform::unit()),
                ParamSpec::new("alpha_neg", Transform::unit()),
            ]
        } else {
            vec![ParamSpec::new("alpha", Transform::unit())]
        };
        if self.q0.is_none() {
            p.push(ParamSpec::new("q0", Transform::Identity));
        }
        p
    }

    fn check_params(&self, psi: &[f64]) -> Result<()> {
        let names: &[&str] = if self.dual {
            &["alpha_pos", "alpha_neg"]
        } else {
            &["alpha"]
        };
        for (name, &a) in names.iter().zip(psi) {
            if !(0.0..=1.0).contains(&a) {
                return Err(Error::invalid_parameter(*name, a, "is outside [0, 1]"));
            }
        }
        Ok(())
    }

    #[inline]
    fn reset<const ORDER: usize>(
        &self,
        psi: &[f64],
        _shape: TableShape,
        q: &mut [f64],
        d: &mut [f64],
        e: &mut [f64],
    ) {
        let kq = self.n_rates();
        q.fill(self.q0.unwrap_or_else(|| psi[kq]));
        if ORDER >= 1 {
            d.fill(0.0);
            if self.q0.is_none() {
                let k = self.n_params();
                d.iter_mut().skip(kq).step_by(k).for_each(|x| *x = 1.0);
            }
        }
        if ORDER >= 2 {
            e.fill(0.0);
        }
    }

    #[inline(always)]
    fn update<const ORDER: usize>(
        &self,
        psi: &[f64],
        shape: TableShape,
        step: Step,
        q: &mut [f64],
        d: &mut [f64],
        e: &mut [f64],
    ) {
        // A copy per parameter count, so the sensitivity loops have constant lengths, and a
        // single-rate copy in which α does not depend on the sign of δ (a select there would
        // put a load on the loop-carried chain through Q).
        let i = shape.index(step.state, step.action);
        match (self.dual, self.q0.is_none()) {
            (false, false) => rw_step::<ORDER, false, 1>(psi, i, step.reward, q, d, e),
            (false, true) => rw_step::<ORDER, false, 2>(psi, i, step.reward, q, d, e),
            (true, false) => rw_step::<ORDER, true, 2>(psi, i, step.reward, q, d, e),
            (true, true) => rw_step::<ORDER, true, 3>(psi, i, step.reward, q, d, e),
        }
    }
}

/// One Rescorla–Wagner update of entry `i` with `K` sensitivity parameters.
#[inline(always)]
fn rw_step<const ORDER: usize, const DUAL: bool, const K: usize>(
    psi: &[f64],
    i: usize,
    reward: f64,
    q: &mut [f64],
    d: &mut [f64],
    e: &mut [f64],
) {
    let qi = q[i];
    let delta = reward - qi;
    // The α⁺ branch includes δ = 0 exactly.
    let ka = if DUAL { usize::from(delta < 0.0) } else { 0 };
    let alpha = psi[ka];
    let keep = 1.0 - alpha;
    if ORDER >= 1 {
        sensitivities::<ORDER, K>(i, ka, keep, delta, d, e);
    }
    // Single rate: (1 − α)·Q + α·r, one operation fewer on the loop-carried chain from this
    // trial's Q to the next (α·r does not depend on Q), which is what bounds the value-only
    // pass. It can round an ulp past r; harmless with one rate. With two, an overshoot would
    // make the next δ = r − Q spuriously negative and pick α⁻ (a different D recursion), so
    // the dual rule keeps Q + α·δ, which never passes r (δ is on its chain anyway, for the
    // sign test).
    q[i] = if DUAL {
        qi + alpha * delta
    } else {
        keep * qi + alpha * reward
    };
}

/// The D and E recursions for entry `i` with `K` parameters, `ka` the active rate:
/// E ← (1 − α) E − 1[k = ka] D_old[l] − 1[l = ka] D_old[k], then D ← (1 − α) D + 1[k = ka] δ.
#[inline(always)]
fn sensitivities<const ORDER: usize, const K: usize>(
    i: usize,
    ka: usize,
    keep: f64,
    delta: f64,
    d: &mut [f64],
    e: &mut [f64],
) {
    let base = i * K;
    // The buffers are S·A·K and S·A·K² long (the trait's contract): indexing cannot fail
    // for a caller that keeps it, and a caller that breaks it gets a panic, not wrong numbers.
    let di = &mut d[base..base + K];
    let mut old = [0.0; K];
    old.copy_from_slice(di);
    if ORDER >= 2 {
        let ei = &mut e[base * K..(base + K) * K];
        for r in 0..K {
            for c in 0..K {
                let mut v = keep * ei[r * K + c];
                if r == ka {
                    v -= old[c];
                }
                if c == ka {
                    v -= old[r];
                }
                ei[r * K + c] = v;
            }
        }
    }
    // One pass, one store per entry: this is on the loop-carried chain from trial to trial.
    for k in 0..K {
        di[k] = keep * old[k] + if k == ka { delta } else { 0.0 };
    }
}
