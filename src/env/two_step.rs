//! The two-step task of Daw, Gershman, Seymour, Dayan & Dolan (2011): a choice between two
//! stage-1 actions leads, mostly, to one of two stage-2 states, where a second choice pays
//! with slowly drifting probabilities.

use rand::Rng;
use rand_distr::StandardNormal;

use super::{Environment, Outcome};
use crate::check;
use crate::error::{Error, Result};

/// The options of a [`TwoStepTask`]; the default is the task of Daw et al. (2011).
///
/// They are checked by the task's constructors: `common` in (0, 1), `drift_sd` finite and
/// ≥ 0, `bounds` finite with 0 < lower < upper < 1.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TwoStepOptions {
    /// The probability of the common transition (0.7): action a of stage 1 leads to state
    /// 1 + a with this probability, and to the other stage-2 state otherwise.
    pub common: f64,
    /// The standard deviation of the Gaussian step that each payoff probability takes after
    /// every stage-2 choice (0.025).
    pub drift_sd: f64,
    /// The reflecting bounds `[lower, upper]` of the payoff probabilities (\[0.25, 0.75\]).
    pub bounds: [f64; 2],
}

impl Default for TwoStepOptions {
    /// Daw et al. (2011): common transitions with probability 0.7, payoff probabilities
    /// "diffused at each trial by adding independent Gaussian noise (mean 0, SD 0.025), with
    /// reflecting boundaries at 0.25 and 0.75".
    fn default() -> Self {
        TwoStepOptions {
            common: 0.7,
            drift_sd: 0.025,
            bounds: [0.25, 0.75],
        }
    }
}

impl TwoStepOptions {
    /// Checks the options (see [`TwoStepOptions`]).
    pub(crate) fn check(&self) -> Result<()> {
        if !(self.common > 0.0 && self.common < 1.0) {
            return Err(Error::invalid_option(
                "common",
                self.common,
                "must be in (0, 1)",
            ));
        }
        check::non_negative("drift_sd", self.drift_sd)?;
        let [lo, hi] = self.bounds;
        if !(0.0 < lo && lo < hi && hi < 1.0) {
            return Err(Error::invalid_option(
                "bounds",
                format!("[{lo}, {hi}]"),
                "must satisfy 0 < lower < upper < 1",
            ));
        }
        Ok(())
    }

    /// Reflects `p` into the bounds, however far outside it lies: the reflections at both
    /// ends fold the line onto the interval with period 2·(upper − lower).
    fn reflect(&self, p: f64) -> f64 {
        let [lo, hi] = self.bounds;
        let width = hi - lo;
        let y = (p - lo).rem_euclid(2.0 * width);
        let y = if y > width { 2.0 * width - y } else { y };
        // The clamp only guards the last bit against rounding.
        (lo + y).clamp(lo, hi)
    }
}

/// The two-step task (Daw, Gershman, Seymour, Dayan & Dolan 2011, Neuron 69:1204).
///
/// States: 0 is stage 1, 1 and 2 are the stage-2 states; two actions in each. Each trial is
/// one episode of two steps:
///
/// - From state 0, action a leads to state 1 + a with the *common* probability
///   ([`TwoStepOptions::common`], 0.7) and to the other stage-2 state otherwise (the *rare*
///   transition). The step pays 0 and returns `next_state: Some(s)`. One uniform draw.
/// - From stage-2 state s, action b pays 1 with probability `p[s − 1][b]` and 0 otherwise,
///   and ends the episode (`next_state: None`). Then, after the payoff has been drawn, each of
///   the four probabilities takes an independent Gaussian step of s.d.
///   [`TwoStepOptions::drift_sd`] (0.025), reflected at the bounds (\[0.25, 0.75\]). One
///   uniform and four standard normal draws (in the order p\[0\]\[0\], p\[0\]\[1\],
///   p\[1\]\[0\], p\[1\]\[1\]).
///
/// [`Environment::reset`] returns state 0 and draws nothing. A step after the episode has
/// ended (without a reset) plays the stage-2 state again. [`TwoStepTask::last_transition_common`]
/// says whether the last stage-1 step took the common transition, for the analysis of stay
/// probabilities by common/rare × rewarded.
///
/// The type is `Copy` (no heap memory), so cloning, `clone_from` included, never allocates.
///
/// ```
/// use rand::SeedableRng;
/// use rlgrad::env::{Environment, TwoStepOptions, TwoStepTask};
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
/// let mut env = TwoStepTask::random(TwoStepOptions::default(), &mut rng)?;
/// assert_eq!((env.n_states(), env.n_actions()), (3, 2));
/// assert_eq!(env.reset(&mut rng), 0);
/// let first = env.step(1, &mut rng)?;
/// let s2 = first.next_state.unwrap();
/// // Action 1 leads to state 2 by the common transition, to state 1 by the rare one.
/// assert_eq!(env.last_transition_common(), Some(s2 == 2));
/// let p = env.probabilities()[s2 - 1][0];
/// let second = env.step(0, &mut rng)?;
/// assert!(second.reward == 0.0 || second.reward == 1.0);
/// assert_eq!(second.next_state, None);
/// // The probabilities have drifted, within their bounds.
/// assert_ne!(env.probabilities()[s2 - 1][0], p);
/// assert!(env.probabilities().iter().flatten().all(|p| (0.25..=0.75).contains(p)));
/// assert!(env.step(2, &mut rng).is_err()); // no action 2
/// # Ok::<(), rlgrad::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TwoStepTask {
    options: TwoStepOptions,
    /// `probs[s − 1][b]`: the payoff probability of action b in stage-2 state s.
    probs: [[f64; 2]; 2],
    state: usize,
    last_common: Option<bool>,
}

impl TwoStepTask {
    /// A task whose payoff probabilities start at `probs` (`probs[s − 1][b]` for action b in
    /// stage-2 state s), in state 0.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for options out of range (see [`TwoStepOptions`]), or a
    /// probability that is not finite or lies outside the options' bounds, naming it.
    pub fn new(probs: [[f64; 2]; 2], options: TwoStepOptions) -> Result<Self> {
        options.check()?;
        let [lo, hi] = options.bounds;
        for (s, row) in probs.iter().enumerate() {
            for (b, &p) in row.iter().enumerate() {
                if !(lo..=hi).contains(&p) {
                    return Err(Error::invalid_option(
                        format!("payoff probability of state {}, action {b}", s + 1),
                        p,
                        format!("must lie within the bounds [{lo}, {hi}]"),
                    ));
                }
            }
        }
        Ok(TwoStepTask {
            options,
            probs,
            state: 0,
            last_common: None,
        })
    }

    /// A task whose four payoff probabilities start at independent uniform draws within the
    /// options' bounds (four draws), in state 0.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for options out of range (see [`TwoStepOptions`]).
    pub fn random<R: Rng + ?Sized>(options: TwoStepOptions, rng: &mut R) -> Result<Self> {
        options.check()?;
        let [lo, hi] = options.bounds;
        let mut probs = [[0.0; 2]; 2];
        for p in probs.iter_mut().flatten() {
            *p = (lo + (hi - lo) * rng.random::<f64>()).min(hi);
        }
        Self::new(probs, options)
    }

    /// The options.
    pub fn options(&self) -> TwoStepOptions {
        self.options
    }

    /// The current payoff probabilities: `[s − 1][b]` for action b in stage-2 state s.
    pub fn probabilities(&self) -> [[f64; 2]; 2] {
        self.probs
    }

    /// The current state: 0 at stage 1, 1 or 2 at stage 2.
    pub fn state(&self) -> usize {
        self.state
    }

    /// The stage-2 state that stage-1 action `a` leads to by the common transition: 1 + a.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] for an action not below 2.
    pub fn common_successor(&self, action: usize) -> Result<usize> {
        check::index("action", action, 2)?;
        Ok(1 + action)
    }

    /// Whether the last stage-1 step took the common transition; `None` before the first
    /// stage-1 step. It keeps its value through the stage-2 step and [`Environment::reset`],
    /// until the next stage-1 step.
    pub fn last_transition_common(&self) -> Option<bool> {
        self.last_common
    }
}

impl Environment for TwoStepTask {
    fn n_states(&self) -> usize {
        3
    }
    fn n_actions(&self) -> usize {
        2
    }
    /// Returns state 0 (draws nothing).
    fn reset<R: Rng + ?Sized>(&mut self, _rng: &mut R) -> usize {
        self.state = 0;
        0
    }
    /// The stage-1 transition (one uniform draw), or the stage-2 payoff and the drift of the
    /// four probabilities (one uniform and four normal draws).
    fn step<R: Rng + ?Sized>(&mut self, action: usize, rng: &mut R) -> Result<Outcome> {
        check::index("action", action, 2)?;
        if self.state == 0 {
            let common = rng.random::<f64>() < self.options.common;
            let next = if common { 1 + action } else { 2 - action };
            self.state = next;
            self.last_common = Some(common);
            return Ok(Outcome {
                reward: 0.0,
                next_state: Some(next),
            });
        }
        let p = self.probs[self.state - 1][action];
        let reward = if rng.random::<f64>() < p { 1.0 } else { 0.0 };
        let sd = self.options.drift_sd;
        for p in self.probs.iter_mut().flatten() {
            let z: f64 = rng.sample(StandardNormal);
            *p = self.options.reflect(*p + sd * z);
        }
        Ok(Outcome {
            reward,
            next_state: None,
        })
    }
}
