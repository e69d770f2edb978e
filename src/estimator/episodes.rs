//! [`Episodes`]: a reusable buffer of finished episodes with the score block of every step,
//! for the sequential estimator and for agents that record their own scores (the DRA memory
//! policy).

use super::stamp::Stamp;
use crate::check;
use crate::error::{Error, Result};
use crate::policy::Policy;

/// One step of an episode: the state, the action, the reward that followed, and optionally
/// the caller's weight Ψ for [`Weighting::Supplied`](super::Weighting::Supplied).
///
/// ```
/// use rlgrad::estimator::StepRecord;
/// let step = StepRecord::new(3, 1, -1.0).with_psi(0.25);
/// assert_eq!((step.state, step.action, step.reward, step.psi), (3, 1, -1.0, Some(0.25)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepRecord {
    /// The state sₜ (an index into a state baseline's table, if one is used).
    pub state: usize,
    /// The action aₜ.
    pub action: usize,
    /// The reward rₜ received after aₜ.
    pub reward: f64,
    /// The per-step weight Ψₜ (`None` unless the weighting is
    /// [`Weighting::Supplied`](super::Weighting::Supplied)).
    pub psi: Option<f64>,
}

impl StepRecord {
    /// A step without Ψ.
    pub fn new(state: usize, action: usize, reward: f64) -> Self {
        StepRecord {
            state,
            action,
            reward,
            psi: None,
        }
    }

    /// The same step with weight Ψ.
    pub fn with_psi(mut self, psi: f64) -> Self {
        self.psi = Some(psi);
        self
    }
}

/// A reusable buffer of finished episodes: per step the state, action, reward, optional Ψ
/// and the score block ∇θ log π(aₜ | sₜ) (an offset into θ and its entries), in flat vectors
/// that [`Episodes::clear`] empties without giving back the memory.
///
/// Scores are stored as blocks so that a policy over a table of states (whose score in state
/// s is zero outside that state's row) costs O(actions) per step, not O(dim θ). A score is
/// recorded at decision time: by [`Episodes::record`] from a [`Policy`], or by
/// [`Episodes::push_step`] from the caller's own computation (the DRA memory policy's score
/// depends on the noise ζ drawn at that decision; see
/// [`softmax_score`](crate::policy::softmax_score) and
/// [`softmax_log_prob`](crate::policy::softmax_log_prob)).
///
/// Like a [`Batch`](super::Batch), the buffer knows when its contents change (every
/// [`Episodes::clear`], [`Episodes::push_step`], [`Episodes::record`] and
/// [`Episodes::end_episode`] starts a new generation), so that running baselines fold each
/// buffer in once however many estimates and surrogates are taken from it. A clone is a new
/// buffer.
///
/// ```
/// use rand::SeedableRng;
/// use rlgrad::estimator::{Episodes, StepRecord};
/// use rlgrad::policy::{Policy, SoftmaxPolicy};
/// let policy = SoftmaxPolicy::logits(2, 2)?;
/// let theta = [0.0, 0.5, -0.5, 0.0];
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
/// let mut episodes = Episodes::new(policy.dim());
/// for _ in 0..3 {
///     let mut s = 0;
///     for _ in 0..4 {
///         let a = policy.sample(&theta, s, &mut rng)?;
///         let reward = if a == 1 { 1.0 } else { 0.0 };
///         episodes.record(&policy, &theta, StepRecord::new(s, a, reward))?;
///         s = a; // a toy transition
///     }
///     episodes.end_episode();
/// }
/// assert_eq!((episodes.n_episodes(), episodes.n_steps()), (3, 12));
/// assert_eq!(episodes.score(0).unwrap().1.len(), 2); // one row of logits
/// episodes.clear();
/// assert!(episodes.is_empty());
/// # Ok::<(), rlgrad::Error>(())
/// ```
#[derive(Debug)]
pub struct Episodes {
    pub(super) dim: usize,
    pub(super) stamp: Stamp,
    pub(super) states: Vec<usize>,
    pub(super) actions: Vec<usize>,
    pub(super) rewards: Vec<f64>,
    /// Ψ, NaN where not supplied.
    pub(super) psi: Vec<f64>,
    pub(super) missing_psi: usize,
    /// Steps recorded by `push_step` (scores a policy cannot recompute), and the first one.
    pub(super) pushed: usize,
    pub(super) first_pushed: usize,
    /// θ offset of each step's score block.
    pub(super) blocks: Vec<usize>,
    /// Start of each step's score in `scores`, plus one final entry: steps + 1 entries.
    pub(super) pos: Vec<usize>,
    pub(super) scores: Vec<f64>,
    /// Exclusive end (a step index) of each finished episode.
    pub(super) ends: Vec<usize>,
}

impl Episodes {
    /// An empty buffer for a policy with θ ∈ ℝ^dim.
    pub fn new(dim: usize) -> Self {
        Episodes {
            dim,
            stamp: Stamp::fresh(),
            states: Vec::new(),
            actions: Vec::new(),
            rewards: Vec::new(),
            psi: Vec::new(),
            missing_psi: 0,
            pushed: 0,
            first_pushed: 0,
            blocks: Vec::new(),
            pos: vec![0],
            scores: Vec::new(),
            ends: Vec::new(),
        }
    }

    /// Empties the buffer, keeping its memory.
    pub fn clear(&mut self) {
        self.stamp.bump();
        self.states.clear();
        self.actions.clear();
        self.rewards.clear();
        self.psi.clear();
        self.missing_psi = 0;
        self.pushed = 0;
        self.first_pushed = 0;
        self.blocks.clear();
        self.pos.truncate(1);
        self.scores.clear();
        self.ends.clear();
    }

    /// The length of θ.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Checks a step's numbers before anything is stored.
    fn check_step(&self, step: &StepRecord) -> Result<()> {
        let t = self.states.len();
        check::finite_input_with(step.reward, || format!("reward of step {t}"))?;
        match step.psi {
            Some(psi) => check::finite_input_with(psi, || format!("psi of step {t}")),
            None => Ok(()),
        }
    }

    /// Stores a step whose score block is already in `scores[pos..]`.
    fn commit(&mut self, step: StepRecord, block: usize) {
        self.states.push(step.state);
        self.actions.push(step.action);
        self.rewards.push(step.reward);
        match step.psi {
            Some(p) => self.psi.push(p),
            None => {
                self.psi.push(f64::NAN);
                self.missing_psi += 1;
            }
        }
        self.blocks.push(block);
        self.pos.push(self.scores.len());
        self.stamp.bump();
    }

    /// Records a step whose score block (entries `block_start .. block_start + score.len()`
    /// of ∇θ log π(aₜ | sₜ), zero elsewhere) the caller computed at decision time.
    ///
    /// Estimates use the score as given. A
    /// [`SequentialReinforce::surrogate`](super::SequentialReinforce::surrogate) cannot (it
    /// recomputes log π from a [`Policy`]) and refuses a buffer with such steps.
    ///
    /// # Errors
    /// [`Error::NonFiniteInput`] for a non-finite reward, Ψ or score entry;
    /// [`Error::IndexOutOfRange`] if the block does not fit in θ. Nothing is stored on error.
    pub fn push_step(&mut self, step: StepRecord, block_start: usize, score: &[f64]) -> Result<()> {
        self.check_step(&step)?;
        let t = self.states.len();
        let end = block_start.checked_add(score.len());
        if end.is_none_or(|e| e > self.dim) {
            return Err(Error::index_out_of_range(
                format!("end of the score block of step {t} (start {block_start})"),
                end.unwrap_or(usize::MAX),
                self.dim.saturating_add(1),
            ));
        }
        check::finite_inputs_with(score, |j| format!("score entry {j} of step {t}"))?;
        let name = format_args!("score block of step {t}");
        check::reserve(&mut self.scores, score.len(), name, score.len())?;
        self.scores.extend_from_slice(score);
        if self.pushed == 0 {
            self.first_pushed = t;
        }
        self.pushed += 1;
        self.commit(step, block_start);
        Ok(())
    }

    /// Records a step of `policy` at θ, computing its score block now; returns
    /// log π(aₜ | sₜ; θ). Call it with the θ the action was drawn with.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] if the policy's θ is not this buffer's length; whatever
    /// the policy reports (θ, state, action); a non-finite reward or Ψ. Nothing is stored on
    /// error.
    pub fn record<P: Policy>(
        &mut self,
        policy: &P,
        theta: &[f64],
        step: StepRecord,
    ) -> Result<f64> {
        self.record_by(policy, step, false, |score| {
            policy.add_log_prob_and_score(theta, step.state, step.action, 1.0, score)
        })
    }

    /// Records a decision (aₜ, ξₜ) of `policy` drawn by [`Policy::decide`] with noise ξₜ,
    /// computing its score block ∇θ log π(aₜ | sₜ, ξₜ; θ) now
    /// ([`Policy::add_decision_score`]); returns log π(aₜ | sₜ, ξₜ; θ). For a policy with
    /// noise (the [`MemoryPolicy`](crate::policy::MemoryPolicy)) the step counts as pushed
    /// ([`Episodes::pushed_steps`]): a surrogate cannot recompute its score without ξₜ.
    ///
    /// ```
    /// use rand::SeedableRng;
    /// use rlgrad::estimator::{Episodes, StepRecord};
    /// use rlgrad::policy::{MemoryPolicy, Policy};
    /// let policy = MemoryPolicy::new(2, 3, 10.0)?;
    /// let sigma = vec![1.0; 6];
    /// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
    /// let (mut episodes, mut zeta) = (Episodes::new(policy.dim()), Vec::new());
    /// let a = policy.decide(&sigma, 1, &mut rng, &mut zeta)?;
    /// episodes.record_decision(&policy, &sigma, StepRecord::new(1, a, -1.0), &zeta)?;
    /// episodes.end_episode();
    /// assert_eq!((episodes.n_steps(), episodes.pushed_steps()), (1, 1));
    /// assert_eq!(episodes.score(0).unwrap().0, 3); // the block of state 1
    /// # Ok::<(), rlgrad::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Episodes::record`], and noise the policy refuses.
    pub fn record_decision<P: Policy>(
        &mut self,
        policy: &P,
        theta: &[f64],
        step: StepRecord,
        noise: &P::Noise,
    ) -> Result<f64> {
        let noisy = std::mem::size_of::<P::Noise>() != 0;
        self.record_by(policy, step, noisy, |score| {
            policy.add_decision_score(theta, step.state, step.action, noise, 1.0, score)
        })
    }

    /// Stores a step whose score block `add_score` adds into a zeroed buffer; `pushed` says
    /// whether a policy could not recompute it.
    fn record_by<P: Policy>(
        &mut self,
        policy: &P,
        step: StepRecord,
        pushed: bool,
        add_score: impl FnOnce(&mut [f64]) -> Result<f64>,
    ) -> Result<f64> {
        check::len("policy dimension", self.dim, policy.dim())?;
        self.check_step(&step)?;
        let block = policy.score_block(step.state)?;
        check::block(&block, self.dim)?;
        let start = self.scores.len();
        check::reserve(
            &mut self.scores,
            block.len(),
            format_args!("score block of step {}", self.states.len()),
            format_args!("{block:?}"),
        )?;
        self.scores.resize(start + block.len(), 0.0);
        match add_score(&mut self.scores[start..]) {
            Ok(lp) => {
                if pushed {
                    if self.pushed == 0 {
                        self.first_pushed = self.states.len();
                    }
                    self.pushed += 1;
                }
                self.commit(step, block.start);
                Ok(lp)
            }
            Err(e) => {
                self.scores.truncate(start);
                Err(e)
            }
        }
    }

    /// Ends the current episode (an episode may have no steps: it then counts in N and adds
    /// nothing).
    pub fn end_episode(&mut self) {
        self.ends.push(self.states.len());
        self.stamp.bump();
    }

    /// Number of finished episodes.
    pub fn n_episodes(&self) -> usize {
        self.ends.len()
    }

    /// Number of steps, the unfinished episode's included.
    pub fn n_steps(&self) -> usize {
        self.states.len()
    }

    /// Number of steps recorded with [`Episodes::push_step`] (the caller's own scores), rather
    /// than by [`Episodes::record`] from a policy.
    ///
    /// ```
    /// use rlgrad::estimator::{Episodes, StepRecord};
    /// let mut episodes = Episodes::new(2);
    /// episodes.push_step(StepRecord::new(0, 1, 1.0), 0, &[-0.5, 0.5])?;
    /// assert_eq!(episodes.pushed_steps(), 1);
    /// # Ok::<(), rlgrad::Error>(())
    /// ```
    pub fn pushed_steps(&self) -> usize {
        self.pushed
    }

    /// Steps recorded after the last [`Episodes::end_episode`].
    pub fn unfinished_steps(&self) -> usize {
        self.states.len() - self.ends.last().copied().unwrap_or(0)
    }

    /// Whether there are no steps and no episodes.
    pub fn is_empty(&self) -> bool {
        self.states.is_empty() && self.ends.is_empty()
    }

    /// The step indices of finished episode `i`.
    pub fn episode(&self, i: usize) -> Option<std::ops::Range<usize>> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(start..end)
    }

    /// Step `t` (Ψ included if it was given).
    pub fn step(&self, t: usize) -> Option<StepRecord> {
        Some(StepRecord {
            state: *self.states.get(t)?,
            action: self.actions[t],
            reward: self.rewards[t],
            psi: Some(self.psi[t]).filter(|p| !p.is_nan()),
        })
    }

    /// The score block of step `t`: its offset in θ and its entries.
    pub fn score(&self, t: usize) -> Option<(usize, &[f64])> {
        let block = *self.blocks.get(t)?;
        Some((block, &self.scores[self.pos[t]..self.pos[t + 1]]))
    }

    /// The states of all steps.
    pub fn states(&self) -> &[usize] {
        &self.states
    }

    /// The actions of all steps.
    pub fn actions(&self) -> &[usize] {
        &self.actions
    }

    /// The rewards of all steps.
    pub fn rewards(&self) -> &[f64] {
        &self.rewards
    }

    pub(crate) fn stamp(&self) -> Stamp {
        self.stamp
    }
}

impl Clone for Episodes {
    /// A copy with the same steps that counts as a new buffer (see the type docs).
    fn clone(&self) -> Self {
        Episodes {
            dim: self.dim,
            stamp: Stamp::fresh(),
            states: self.states.clone(),
            actions: self.actions.clone(),
            rewards: self.rewards.clone(),
            psi: self.psi.clone(),
            missing_psi: self.missing_psi,
            pushed: self.pushed,
            first_pushed: self.first_pushed,
            blocks: self.blocks.clone(),
            pos: self.pos.clone(),
            scores: self.scores.clone(),
            ends: self.ends.clone(),
        }
    }
}
