//! The sequential estimator: recorded [`Episodes`], [`SequentialReinforce`] over them (the
//! formulas are in the [estimator module docs](super)).

use ndarray::{ArrayView1, ArrayViewMut1};

use super::{
    batch_weights, finish, Baseline, Estimate, Estimator, FoldOnce, RunningMean, Stamp, Theta,
    Workspace,
};
use crate::error::{Error, Result};
use crate::policy::{check_block, Policy};

/// One step of an episode: the state, the action, the reward that followed, and optionally
/// the caller's weight Ψ for [`Weighting::Supplied`].
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
    /// The per-step weight Ψₜ (`None` unless the weighting is [`Weighting::Supplied`]).
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
    dim: usize,
    stamp: Stamp,
    states: Vec<usize>,
    actions: Vec<usize>,
    rewards: Vec<f64>,
    /// Ψ, NaN where not supplied.
    psi: Vec<f64>,
    missing_psi: usize,
    /// Steps recorded by `push_step` (scores a policy cannot recompute), and the first one.
    pushed: usize,
    first_pushed: usize,
    /// θ offset of each step's score block.
    blocks: Vec<usize>,
    /// Start of each step's score in `scores`, plus one final entry: steps + 1 entries.
    pos: Vec<usize>,
    scores: Vec<f64>,
    /// Exclusive end (a step index) of each finished episode.
    ends: Vec<usize>,
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
        if !step.reward.is_finite() {
            return Err(Error::NonFiniteInput {
                what: format!("reward of step {t}"),
                value: step.reward,
            });
        }
        if let Some(psi) = step.psi.filter(|p| !p.is_finite()) {
            return Err(Error::NonFiniteInput {
                what: format!("psi of step {t}"),
                value: psi,
            });
        }
        Ok(())
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
    /// Estimates use the score as given. A [`SequentialReinforce::surrogate`] cannot (it
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
            return Err(Error::IndexOutOfRange {
                what: format!("end of the score block of step {t} (start {block_start})"),
                index: end.unwrap_or(usize::MAX),
                limit: self.dim + 1,
            });
        }
        if let Some(j) = score.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFiniteInput {
                what: format!("score entry {j} of step {t}"),
                value: score[j],
            });
        }
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
        crate::error::check_len("policy dimension", self.dim, policy.dim())?;
        self.check_step(&step)?;
        let block = policy.score_block(step.state)?;
        check_block(&block, self.dim)?;
        let start = self.scores.len();
        self.scores
            .try_reserve(block.len())
            .map_err(|_| Error::InvalidOption {
                name: format!("score block of step {}", self.states.len()),
                value: format!("{block:?}"),
                reason: "cannot allocate its entries".to_string(),
            })?;
        self.scores.resize(start + block.len(), 0.0);
        match policy.add_log_prob_and_score(
            theta,
            step.state,
            step.action,
            1.0,
            &mut self.scores[start..],
        ) {
            Ok(lp) => {
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

/// A baseline b(s) for the reward-to-go form.
///
/// ```
/// use rlgrad::estimator::StateBaseline;
/// let b = StateBaseline::RunningAverage { n_states: 10, decay: 0.9 };
/// assert_ne!(b, StateBaseline::None);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum StateBaseline {
    /// b(s) = 0.
    None,
    /// b(s) = `table[s]`, fixed (for example a critic's values, computed before the batch).
    Fixed(Vec<f64>),
    /// b(s) = exponentially weighted mean of the rewards-to-go seen in state s in *earlier*
    /// calls (earlier buffers), as [`Baseline::RunningAverage`] per state, 0 before the first
    /// visit:
    ///
    /// ```text
    /// b(s) = Σ_c λ^{age_s(c)} Σ_{t in c: sₜ = s} Gₜ / Σ_c λ^{age_s(c)} N_c(s)
    /// ```
    ///
    /// over the earlier calls c that visited s, where age_s(c) counts the later calls that
    /// *visited s* (0 for the last one that did). A state's average ages with its own visits:
    /// a call that does not visit s leaves b(s) and its weight alone, so a rarely visited
    /// state keeps what it learned. Each buffer is folded in once, after its estimate, so b
    /// is independent of the current buffer.
    ///
    /// ```
    /// use rlgrad::estimator::{Episodes, Estimator, SequentialReinforce, StateBaseline, StepRecord, Weighting};
    /// let mut est = SequentialReinforce::new(Weighting::RewardToGo {
    ///     gamma: 1.0,
    ///     discount_weight: true,
    ///     baseline: StateBaseline::RunningAverage { n_states: 2, decay: 0.5 },
    /// })?;
    /// let mut episodes = Episodes::new(1);
    /// let mut g = ndarray::Array1::zeros(1);
    /// for (state, reward) in [(1, 5.0), (0, 1.0), (0, 3.0)] {
    ///     episodes.clear();
    ///     episodes.push_step(StepRecord::new(state, 0, reward), 0, &[1.0])?;
    ///     episodes.end_episode();
    ///     est.estimate(&episodes, g.view_mut())?;
    /// }
    /// // b(0) = (0.5·1 + 3) / (0.5 + 1); b(1) was not visited since, and keeps its 5.
    /// assert!((est.state_baseline(0).unwrap() - 3.5 / 1.5).abs() < 1e-15);
    /// assert_eq!(est.state_baseline(1), Some(5.0));
    /// # Ok::<(), rlgrad::Error>(())
    /// ```
    RunningAverage {
        /// Number of states (the table's length).
        n_states: usize,
        /// λ ∈ \[0, 1\]: the weight of a call's visits to a state shrinks by λ with every
        /// later call that visits that state.
        decay: f64,
    },
}

/// What multiplies each step's score gₜ in [`SequentialReinforce`] (formulas in the
/// [module docs](super)).
///
/// ```
/// use rlgrad::estimator::{Baseline, StateBaseline, Weighting};
/// // DRA's choices: supplied advantages Ψ, or the plain whole-trajectory return.
/// let advantage = Weighting::Supplied;
/// let plain = Weighting::TotalReturn { gamma: 1.0, baseline: Baseline::None };
/// let rtg = Weighting::RewardToGo {
///     gamma: 0.9,
///     discount_weight: true,
///     baseline: StateBaseline::RunningAverage { n_states: 54, decay: 0.9 },
/// };
/// assert_ne!(plain, rtg);
/// # let _ = advantage;
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Weighting {
    /// wₜ = (γᵗ if `discount_weight`) · (Gₜ − b(sₜ)), Gₜ = Σ_{k≥t} γ^{k−t} rₖ, t counted from
    /// the episode's start. Unbiased for ∇ E\[Σₜ γᵗ rₜ\] with `discount_weight: true` or
    /// γ = 1.
    RewardToGo {
        /// γ ∈ \[0, 1\].
        gamma: f64,
        /// Whether to multiply by γᵗ (needed for an unbiased gradient when γ < 1).
        discount_weight: bool,
        /// b(s).
        baseline: StateBaseline,
    },
    /// wₜ = R − b for every step of an episode with return R = Σₜ γᵗ rₜ; b is any
    /// [`Baseline`] across the episodes of the buffer (the "samples").
    TotalReturn {
        /// γ ∈ \[0, 1\].
        gamma: f64,
        /// The baseline across episodes.
        baseline: Baseline,
    },
    /// wₜ = Ψₜ as recorded with each [`StepRecord`] (every step must have one). Unbiased only if
    /// the caller's Ψ is (for example an exact advantage); DRA's advantage choices are
    /// approximations by design.
    Supplied,
}

/// REINFORCE over recorded [`Episodes`]: ĝ = (1/N) Σₙ Σₜ wₜ gₜ − c, N the number of
/// episodes, no normalisation by length, with wₜ from the [`Weighting`] (c ≠ 0 only for the
/// per-component [`Baseline::OptimalLeaveOneOut`] across episodes).
///
/// Running baselines are updated after each estimate (or surrogate), once per buffer: further
/// estimates or surrogates of the same unchanged [`Episodes`] use the same baselines as the
/// first (from earlier buffers only) and do not fold it in again, so `surrogate` and
/// `estimate` of one buffer agree. (The check remembers only the buffer folded in last.) The
/// workspace is kept
/// between calls: after the first call of a given size nothing is allocated, and a call costs
/// O(steps × block length) (plus O(N·K) for the per-component baseline and O(states) for a
/// running state baseline).
///
/// ```
/// use ndarray::Array1;
/// use rlgrad::estimator::{Episodes, Estimator, SequentialReinforce, StateBaseline, StepRecord, Weighting};
/// // One episode of two steps with unit scores on θ ∈ ℝ¹ and rewards 1, 2.
/// let mut episodes = Episodes::new(1);
/// episodes.push_step(StepRecord::new(0, 0, 1.0), 0, &[1.0])?;
/// episodes.push_step(StepRecord::new(0, 0, 2.0), 0, &[1.0])?;
/// episodes.end_episode();
/// let mut rtg = SequentialReinforce::new(Weighting::RewardToGo {
///     gamma: 0.5,
///     discount_weight: false,
///     baseline: StateBaseline::None,
/// })?;
/// let mut g = Array1::zeros(1);
/// rtg.estimate(&episodes, g.view_mut())?;
/// // G₀ = 1 + 0.5·2 = 2, G₁ = 2.
/// assert_eq!(g[0], 4.0);
/// # Ok::<(), rlgrad::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct SequentialReinforce {
    weighting: Weighting,
    /// Per-state running means (reward-to-go with a running baseline).
    state_means: FoldOnce<Vec<RunningMean>>,
    /// The running mean of episode returns (whole-episode form).
    total_mean: FoldOnce<RunningMean>,
    ws: Workspace,
    /// Per-step weights wₜ.
    step_w: Vec<f64>,
    /// Per-step reward-to-go Gₜ (for the running state baseline).
    to_go: Vec<f64>,
    /// Per-episode returns.
    returns: Vec<f64>,
    /// Per-episode summed scores, N × K (per-component baseline only).
    dense: Vec<f64>,
    /// Per-state means and counts of this call's rewards-to-go.
    visits: Vec<f64>,
}

impl SequentialReinforce {
    /// An estimator with the given weighting.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for γ or a decay outside \[0, 1\], a non-finite fixed
    /// baseline entry or constant, or a running state baseline over 0 states or over more
    /// states than can be allocated (its tables are allocated here, 48 bytes per state).
    pub fn new(weighting: Weighting) -> Result<Self> {
        let check_gamma = |gamma: f64| {
            if (0.0..=1.0).contains(&gamma) {
                Ok(())
            } else {
                Err(Error::InvalidOption {
                    name: "gamma".to_string(),
                    value: gamma.to_string(),
                    reason: "must be in [0, 1]".to_string(),
                })
            }
        };
        let (mut state_means, mut state_before, mut visits) = (Vec::new(), Vec::new(), Vec::new());
        match &weighting {
            Weighting::RewardToGo {
                gamma, baseline, ..
            } => {
                check_gamma(*gamma)?;
                match baseline {
                    StateBaseline::None => {}
                    StateBaseline::Fixed(table) => {
                        if let Some(s) = table.iter().position(|v| !v.is_finite()) {
                            return Err(Error::InvalidOption {
                                name: format!("fixed state baseline entry {s}"),
                                value: table[s].to_string(),
                                reason: "must be finite".to_string(),
                            });
                        }
                    }
                    StateBaseline::RunningAverage { n_states, decay } => {
                        Baseline::RunningAverage { decay: *decay }.check()?;
                        let n = *n_states;
                        let bad = |reason: &str| Error::InvalidOption {
                            name: "n_states".to_string(),
                            value: n.to_string(),
                            reason: reason.to_string(),
                        };
                        if n == 0 {
                            return Err(bad("must be at least 1"));
                        }
                        // Three tables of 16 bytes per state (the running means, the means
                        // before the last call, a call's visits); reserved now, so that a
                        // table that cannot be had is an error here, not an abort later.
                        let no_memory = || bad("cannot allocate a table of that many states");
                        if n > isize::MAX as usize / 32 {
                            return Err(no_memory());
                        }
                        for table in [&mut state_means, &mut state_before] {
                            table.try_reserve_exact(n).map_err(|_| no_memory())?;
                            table.resize(n, RunningMean::default());
                        }
                        visits.try_reserve_exact(2 * n).map_err(|_| no_memory())?;
                    }
                }
            }
            Weighting::TotalReturn { gamma, baseline } => {
                check_gamma(*gamma)?;
                baseline.check()?;
            }
            Weighting::Supplied => {}
        }
        Ok(SequentialReinforce {
            weighting,
            state_means: FoldOnce {
                current: state_means,
                before: state_before,
                last: None,
            },
            total_mean: FoldOnce::default(),
            ws: Workspace::default(),
            step_w: Vec::new(),
            to_go: Vec::new(),
            returns: Vec::new(),
            dense: Vec::new(),
            visits,
        })
    }

    /// The weighting.
    pub fn weighting(&self) -> &Weighting {
        &self.weighting
    }

    /// The current running state baseline b(s) (`None` unless the weighting has one, or for
    /// a state out of range).
    pub fn state_baseline(&self, state: usize) -> Option<f64> {
        self.state_means.current.get(state).map(RunningMean::value)
    }

    /// Forgets the running baselines' history.
    pub fn reset(&mut self) {
        self.state_means
            .reset(|table| table.fill(RunningMean::default()));
        self.total_mean.reset(|m| *m = RunningMean::default());
    }

    /// Fills `step_w` (and `ws.c`); returns (has correction, mean return, mean baseline).
    /// Updates nothing: see [`SequentialReinforce::update_running`].
    fn weights(&mut self, ep: &Episodes) -> Result<(bool, f64, f64)> {
        if ep.unfinished_steps() > 0 {
            return Err(Error::UnfinishedEpisode {
                steps: ep.unfinished_steps(),
            });
        }
        let n = ep.n_episodes();
        if n == 0 {
            return Err(Error::EmptyData {
                what: "episode buffer".to_string(),
            });
        }
        let steps = ep.n_steps();
        let k = ep.dim();
        let stamp = Some(ep.stamp());
        self.step_w.clear();
        self.step_w.resize(steps, 0.0);
        self.ws.c.clear();
        self.ws.c.resize(k, 0.0);
        match &self.weighting {
            Weighting::RewardToGo {
                gamma,
                discount_weight,
                baseline,
            } => {
                let gamma = *gamma;
                self.to_go.clear();
                self.to_go.resize(steps, 0.0);
                let inv_n = 1.0 / n as f64;
                let mut ret_mean = 0.0;
                // The mean baseline over steps, summed as Σ b/steps (finite for finite b).
                let mut b_sum = 0.0;
                let inv_steps = 1.0 / steps.max(1) as f64;
                for i in 0..n {
                    let range = ep.episode(i).expect("episode index below n_episodes");
                    let mut g = 0.0;
                    for t in range.clone().rev() {
                        g = ep.rewards[t] + gamma * g;
                        self.to_go[t] = g;
                    }
                    ret_mean += g * inv_n;
                    let mut disc = 1.0;
                    for t in range {
                        let s = ep.states[t];
                        let b = match baseline {
                            StateBaseline::None => 0.0,
                            StateBaseline::Fixed(table) => *table
                                .get(s)
                                .ok_or_else(|| state_out_of_range(s, t, i, table.len()))?,
                            StateBaseline::RunningAverage { n_states, .. } => self
                                .state_means
                                .for_call(stamp)
                                .get(s)
                                .ok_or_else(|| state_out_of_range(s, t, i, *n_states))?
                                .value(),
                        };
                        b_sum += b * inv_steps;
                        let scale = if *discount_weight { disc } else { 1.0 };
                        self.step_w[t] = scale * (self.to_go[t] - b);
                        disc *= gamma;
                    }
                }
                let mean_b = b_sum;
                Ok((false, ret_mean, mean_b))
            }
            Weighting::TotalReturn { gamma, baseline } => {
                let gamma = *gamma;
                self.returns.clear();
                for i in 0..n {
                    let range = ep.episode(i).expect("episode index below n_episodes");
                    let mut disc = 1.0;
                    let mut r = 0.0;
                    for t in range {
                        r += disc * ep.rewards[t];
                        disc *= gamma;
                    }
                    self.returns.push(r);
                }
                let optimal = matches!(baseline, Baseline::OptimalLeaveOneOut);
                self.dense.clear();
                if optimal {
                    self.dense.resize(n * k, 0.0);
                    for i in 0..n {
                        let row = &mut self.dense[i * k..(i + 1) * k];
                        for t in ep.episode(i).expect("episode index below n_episodes") {
                            let (off, g) = (ep.blocks[t], &ep.scores[ep.pos[t]..ep.pos[t + 1]]);
                            for (d, &x) in row[off..off + g.len()].iter_mut().zip(g) {
                                *d += x;
                            }
                        }
                    }
                }
                let (has_c, mean_b) = batch_weights(
                    baseline,
                    self.total_mean.for_call(stamp),
                    &self.returns,
                    &self.dense,
                    k,
                    &mut self.ws,
                );
                for i in 0..n {
                    let w = self.ws.w[i];
                    for t in ep.episode(i).expect("episode index below n_episodes") {
                        self.step_w[t] = w;
                    }
                }
                let mean_ret = super::mean_of(self.returns.iter().copied(), n);
                Ok((has_c, mean_ret, mean_b))
            }
            Weighting::Supplied => {
                if ep.missing_psi > 0 {
                    let t = ep.psi.iter().position(|p| p.is_nan()).unwrap_or(0);
                    return Err(Error::InvalidOption {
                        name: "weighting".to_string(),
                        value: "Supplied".to_string(),
                        reason: format!(
                            "step {t} has no psi (record every step with StepRecord::with_psi)"
                        ),
                    });
                }
                self.step_w.copy_from_slice(&ep.psi);
                Ok((false, super::mean_of(ep.rewards.iter().copied(), n), 0.0))
            }
        }
    }

    /// Folds the data of a call that succeeded into the running baselines (once per buffer).
    fn update_running(&mut self, ep: &Episodes) {
        let stamp = Some(ep.stamp());
        match &self.weighting {
            Weighting::RewardToGo {
                baseline: StateBaseline::RunningAverage { decay, .. },
                ..
            } => {
                if self.state_means.is_repeat(stamp) {
                    return;
                }
                let decay = *decay;
                let s_n = self.state_means.current.len();
                // Per state: the count of this call's visits, then the mean of their
                // rewards-to-go (summed as Σ G/count, which cannot overflow).
                self.visits.clear();
                self.visits.resize(2 * s_n, 0.0);
                for &s in &ep.states {
                    // Every state was checked against the table in `weights`.
                    self.visits[2 * s + 1] += 1.0;
                }
                for (t, &s) in ep.states.iter().enumerate() {
                    self.visits[2 * s] += self.to_go[t] / self.visits[2 * s + 1];
                }
                // Only the visited states are updated (`update` leaves a state with no visits
                // alone): a state's average ages with its own visits.
                let visits = &self.visits;
                self.state_means.fold(stamp, |table| {
                    for (s, m) in table.iter_mut().enumerate() {
                        m.update(decay, visits[2 * s], visits[2 * s + 1]);
                    }
                });
            }
            Weighting::TotalReturn {
                baseline: Baseline::RunningAverage { decay },
                ..
            } => {
                let n = self.returns.len();
                let mean = super::mean_of(self.returns.iter().copied(), n);
                self.total_mean
                    .fold(stamp, |m| m.update(*decay, mean, n as f64));
            }
            _ => {}
        }
    }

    /// The estimate of a buffer recorded with `policy` at θ₀ (by [`Episodes::record`]) as an
    /// [`EpisodeSurrogate`](super::EpisodeSurrogate) term, whose gradient at θ₀ is the
    /// estimate. Counts like an estimate for running baselines (the buffer is folded in once).
    ///
    /// The surrogate recomputes log π(aₜ | sₜ; θ) from `policy`, so the stored scores must be
    /// the policy's at θ₀. This is checked: every step's score block is recomputed at θ₀ and
    /// compared with the stored one (to 1e-12 relative to the block's largest entry), and
    /// steps recorded with [`Episodes::push_step`] are refused outright (their scores are the
    /// caller's, for example with respect to a DRA memory policy's σ with the decision's
    /// noise ζ, which no [`Policy`] can recompute: use the estimate itself for those).
    ///
    /// # Errors
    /// As [`Estimator::add_estimate`]; [`Error::DimensionMismatch`] if the policy's θ is not
    /// the buffer's; θ₀ rejected by the policy; a step whose state or action the policy
    /// rejects; [`Error::InvalidOption`] naming the buffer if it holds
    /// [`Episodes::push_step`] steps, or naming the first step whose stored score differs from
    /// the policy's at θ₀ (recorded at another θ, or by another policy).
    pub fn surrogate<'e, 'p, P: Policy>(
        &mut self,
        episodes: &'e Episodes,
        policy: &'p P,
        theta0: ArrayView1<f64>,
    ) -> Result<super::EpisodeSurrogate<'e, 'p, P>> {
        crate::error::check_len("policy dimension", episodes.dim(), policy.dim())?;
        if episodes.pushed > 0 {
            return Err(Error::InvalidOption {
                name: "episodes".to_string(),
                value: format!(
                    "{} steps recorded with push_step (the first: step {})",
                    episodes.pushed, episodes.first_pushed
                ),
                reason: "a surrogate recomputes log pi from the policy, so every step must be \
                         recorded with Episodes::record at theta0"
                    .to_string(),
            });
        }
        let theta0 = theta0.to_vec();
        policy.check_theta(&theta0)?;
        check_recorded_scores(episodes, policy, &theta0)?;
        let (has_c, _, _) = self.weights(episodes)?;
        let correction = has_c.then(|| self.ws.c.clone());
        let weights = self.step_w.clone();
        self.update_running(episodes);
        Ok(super::EpisodeSurrogate::new(
            episodes, policy, weights, correction, theta0,
        ))
    }
}

/// Every step's stored score block is the policy's at θ₀: same block, same entries to 1e-12
/// relative to the block's largest entry (bit-identical when recorded by `record` at θ₀).
fn check_recorded_scores<P: Policy>(ep: &Episodes, policy: &P, theta0: &[f64]) -> Result<()> {
    let mut scratch = Vec::new();
    for (t, (&s, &a)) in ep.states.iter().zip(&ep.actions).enumerate() {
        let block = policy.score_block(s)?;
        check_block(&block, ep.dim)?;
        crate::policy::check_index(&format!("action of step {t}"), a, policy.n_actions())?;
        let (off, stored) = ep.score(t).expect("step index below n_steps");
        let mismatch = |what: String, value: String| Error::InvalidOption {
            name: format!("{what} of step {t}"),
            value,
            reason: "differs from the policy's at theta0: the step was recorded at another \
                     theta or by another policy"
                .to_string(),
        };
        if off != block.start || stored.len() != block.len() {
            return Err(mismatch(
                "score block".to_string(),
                format!("{off}..{} (the policy's: {block:?})", off + stored.len()),
            ));
        }
        scratch.clear();
        scratch.resize(block.len(), 0.0);
        policy.log_prob_and_score(theta0, s, a, &mut scratch)?;
        let scale = stored
            .iter()
            .chain(&scratch)
            .fold(0.0f64, |m, x| m.max(x.abs()));
        if let Some(j) = (0..stored.len()).find(|&j| (stored[j] - scratch[j]).abs() > 1e-12 * scale)
        {
            return Err(mismatch(
                format!("score entry {j}"),
                format!("{} (the policy's: {})", stored[j], scratch[j]),
            ));
        }
    }
    Ok(())
}

fn state_out_of_range(state: usize, step: usize, episode: usize, limit: usize) -> Error {
    Error::IndexOutOfRange {
        what: format!("state of step {step} (episode {episode}) for the state baseline"),
        index: state,
        limit,
    }
}

impl Estimator<Episodes> for SequentialReinforce {
    fn add_estimate(
        &mut self,
        data: &Episodes,
        alpha: f64,
        grad: ArrayViewMut1<f64>,
    ) -> Result<Estimate> {
        crate::error::check_len("gradient buffer", data.dim(), grad.len())?;
        let (has_c, mean_value, mean_baseline) = self.weights(data)?;
        let ws = &mut self.ws;
        ws.acc.clear();
        ws.acc.resize(data.dim(), 0.0);
        for (t, &w) in self.step_w.iter().enumerate() {
            let off = data.blocks[t];
            let g = &data.scores[data.pos[t]..data.pos[t + 1]];
            for (a, &x) in ws.acc[off..off + g.len()].iter_mut().zip(g) {
                *a += w * x;
            }
        }
        let n = data.n_episodes();
        let inv = 1.0 / n as f64;
        for a in ws.acc.iter_mut() {
            *a *= inv;
        }
        if has_c {
            for (a, &c) in ws.acc.iter_mut().zip(&ws.c) {
                *a -= c;
            }
        }
        finish(
            &ws.acc,
            alpha,
            grad,
            "sequential reinforce estimate",
            Theta::NotKnown(" (theta is not recorded in an episode buffer)"),
        )?;
        self.update_running(data);
        Ok(Estimate {
            n,
            steps: data.n_steps(),
            mean_value,
            mean_baseline,
        })
    }
}
