//! The sequential estimator: recorded [`Episodes`], [`SequentialReinforce`] over them (the
//! formulas are in the [estimator module docs](super)).

use ndarray::{ArrayView1, ArrayViewMut1};

use super::baseline::{FoldOnce, RunningMean, Workspace, batch_weights};
use super::episodes::Episodes;
use super::{Baseline, Estimate, Estimator, Theta, finish};
use crate::check;
use crate::error::{Error, Result};
use crate::numeric::mean_of;
use crate::policy::Policy;

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
    /// wₜ = Ψₜ as recorded with each [`StepRecord`](super::StepRecord) (every step must have
    /// one). Unbiased only if the caller's Ψ is (for example an exact advantage); DRA's
    /// advantage choices are approximations by design.
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
    scratch: Scratch,
}

/// The buffers of one call, kept between calls so that nothing is allocated once they have
/// grown.
#[derive(Clone, Debug, Default)]
struct Scratch {
    /// The baseline kernel's workspace (the per-component correction c among it).
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

/// What the weights of a call come with: whether the correction c is used, the mean value
/// and the mean baseline (for [`Estimate`]).
struct Weights {
    has_c: bool,
    mean_value: f64,
    mean_baseline: f64,
}

impl SequentialReinforce {
    /// An estimator with the given weighting.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for γ or a decay outside \[0, 1\], a non-finite fixed
    /// baseline entry or constant, or a running state baseline over 0 states or over more
    /// states than can be allocated (its tables, 6 numbers per state, are allocated here).
    pub fn new(weighting: Weighting) -> Result<Self> {
        let mut state_means = FoldOnce::default();
        let mut scratch = Scratch::default();
        match &weighting {
            Weighting::RewardToGo {
                gamma, baseline, ..
            } => {
                check::discount(*gamma)?;
                match baseline {
                    StateBaseline::None => {}
                    StateBaseline::Fixed(table) => {
                        if let Some((s, v)) = check::first_non_finite(table) {
                            let name = format!("fixed state baseline entry {s}");
                            return Err(Error::invalid_option(name, v, "must be finite"));
                        }
                    }
                    StateBaseline::RunningAverage { n_states, decay } => {
                        Baseline::RunningAverage { decay: *decay }.check()?;
                        let n = *n_states;
                        check::at_least_one("n_states", n)?;
                        // The running means, the means before the last call and a call's
                        // visits, two numbers per state each: allocated now, so that a table
                        // that cannot be had is an error here, not an abort later.
                        let what = format_args!("the running state baseline's tables");
                        check::floats(&[n, 2], "n_states", n, what)?;
                        state_means.current = check::filled(n, RunningMean::default(), "n_states")?;
                        state_means.before = check::filled(n, RunningMean::default(), "n_states")?;
                        scratch.visits = check::filled(2 * n, 0.0, "n_states")?;
                        scratch.visits.clear();
                    }
                }
            }
            Weighting::TotalReturn { gamma, baseline } => {
                check::discount(*gamma)?;
                baseline.check()?;
            }
            Weighting::Supplied => {}
        }
        Ok(SequentialReinforce {
            weighting,
            state_means,
            total_mean: FoldOnce::default(),
            scratch,
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

    /// Fills the per-step weights (and the correction c) for a buffer. Updates nothing: see
    /// [`SequentialReinforce::update_running`].
    fn weights(&mut self, ep: &Episodes) -> Result<Weights> {
        if ep.unfinished_steps() > 0 {
            return Err(Error::UnfinishedEpisode {
                steps: ep.unfinished_steps(),
            });
        }
        if ep.n_episodes() == 0 {
            return Err(Error::empty_data("episode buffer"));
        }
        let stamp = Some(ep.stamp());
        let sc = &mut self.scratch;
        sc.step_w.clear();
        sc.step_w.resize(ep.n_steps(), 0.0);
        sc.ws.c.clear();
        sc.ws.c.resize(ep.dim(), 0.0);
        match &self.weighting {
            Weighting::RewardToGo {
                gamma,
                discount_weight,
                baseline,
            } => {
                let means = self.state_means.for_call(stamp);
                sc.reward_to_go(ep, *gamma, *discount_weight, baseline, means)
            }
            Weighting::TotalReturn { gamma, baseline } => {
                let running = self.total_mean.for_call(stamp);
                Ok(sc.total_return(ep, *gamma, baseline, running))
            }
            Weighting::Supplied => sc.supplied(ep),
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
                let visits = self
                    .scratch
                    .visits_per_state(ep, self.state_means.current.len());
                // Only the visited states are updated (`update` leaves a state with no visits
                // alone): a state's average ages with its own visits.
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
                let returns = &self.scratch.returns;
                let mean = mean_of(returns.iter().copied(), returns.len());
                self.total_mean
                    .fold(stamp, |m| m.update(*decay, mean, returns.len() as f64));
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
        check::len("policy dimension", episodes.dim(), policy.dim())?;
        if episodes.pushed > 0 {
            return Err(Error::invalid_option(
                "episodes",
                format!(
                    "{} steps recorded with push_step (the first: step {})",
                    episodes.pushed, episodes.first_pushed
                ),
                "a surrogate recomputes log pi from the policy, so every step must be \
                 recorded with Episodes::record at theta0",
            ));
        }
        let theta0 = theta0.to_vec();
        policy.check_theta(&theta0)?;
        check_recorded_scores(episodes, policy, &theta0)?;
        let w = self.weights(episodes)?;
        let correction = w.has_c.then(|| self.scratch.ws.c.clone());
        let weights = self.scratch.step_w.clone();
        self.update_running(episodes);
        Ok(super::EpisodeSurrogate::new(
            episodes, policy, weights, correction, theta0,
        ))
    }
}

impl Scratch {
    /// wₜ = (γᵗ if `discount_weight`) · (Gₜ − b(sₜ)), with Gₜ the discounted reward-to-go.
    fn reward_to_go(
        &mut self,
        ep: &Episodes,
        gamma: f64,
        discount_weight: bool,
        baseline: &StateBaseline,
        means: &[RunningMean],
    ) -> Result<Weights> {
        let (n, steps) = (ep.n_episodes(), ep.n_steps());
        self.to_go.clear();
        self.to_go.resize(steps, 0.0);
        let inv_n = 1.0 / n as f64;
        let mut ret_mean = 0.0;
        // The mean baseline over steps, summed as Σ b/steps (finite for finite b).
        let mut b_mean = 0.0;
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
                    StateBaseline::RunningAverage { n_states, .. } => means
                        .get(s)
                        .ok_or_else(|| state_out_of_range(s, t, i, *n_states))?
                        .value(),
                };
                b_mean += b * inv_steps;
                let scale = if discount_weight { disc } else { 1.0 };
                self.step_w[t] = scale * (self.to_go[t] - b);
                disc *= gamma;
            }
        }
        Ok(Weights {
            has_c: false,
            mean_value: ret_mean,
            mean_baseline: b_mean,
        })
    }

    /// wₜ = R − b for every step of an episode with return R, the baseline across episodes.
    fn total_return(
        &mut self,
        ep: &Episodes,
        gamma: f64,
        baseline: &Baseline,
        running: &RunningMean,
    ) -> Weights {
        let (n, k) = (ep.n_episodes(), ep.dim());
        self.returns.clear();
        for i in 0..n {
            let mut disc = 1.0;
            let mut r = 0.0;
            for t in ep.episode(i).expect("episode index below n_episodes") {
                r += disc * ep.rewards[t];
                disc *= gamma;
            }
            self.returns.push(r);
        }
        // The per-component baseline needs each episode's summed score as a dense row.
        self.dense.clear();
        if matches!(baseline, Baseline::OptimalLeaveOneOut) {
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
        let (has_c, mean_baseline) = batch_weights(
            baseline,
            running,
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
        Weights {
            has_c,
            mean_value: mean_of(self.returns.iter().copied(), n),
            mean_baseline,
        }
    }

    /// wₜ = Ψₜ as recorded.
    fn supplied(&mut self, ep: &Episodes) -> Result<Weights> {
        if ep.missing_psi > 0 {
            let t = ep.psi.iter().position(|p| p.is_nan()).unwrap_or(0);
            return Err(Error::invalid_option(
                "weighting",
                "Supplied",
                format!("step {t} has no psi (record every step with StepRecord::with_psi)"),
            ));
        }
        self.step_w.copy_from_slice(&ep.psi);
        Ok(Weights {
            has_c: false,
            mean_value: mean_of(ep.rewards.iter().copied(), ep.n_episodes()),
            mean_baseline: 0.0,
        })
    }

    /// Per state: (the mean of this call's rewards-to-go there, the number of visits), as
    /// `visits[2s]` and `visits[2s + 1]`; the mean summed as Σ G/count, which cannot
    /// overflow. Every state was checked against the table by [`Scratch::reward_to_go`].
    fn visits_per_state(&mut self, ep: &Episodes, n_states: usize) -> &[f64] {
        self.visits.clear();
        self.visits.resize(2 * n_states, 0.0);
        for &s in &ep.states {
            self.visits[2 * s + 1] += 1.0;
        }
        for (t, &s) in ep.states.iter().enumerate() {
            self.visits[2 * s] += self.to_go[t] / self.visits[2 * s + 1];
        }
        &self.visits
    }
}

/// Every step's stored score block is the policy's at θ₀: same block, same entries to 1e-12
/// relative to the block's largest entry (bit-identical when recorded by `record` at θ₀).
fn check_recorded_scores<P: Policy>(ep: &Episodes, policy: &P, theta0: &[f64]) -> Result<()> {
    let mut scratch = Vec::new();
    for (t, (&s, &a)) in ep.states.iter().zip(&ep.actions).enumerate() {
        let block = policy.score_block(s)?;
        check::block(&block, ep.dim)?;
        check::index(&format!("action of step {t}"), a, policy.n_actions())?;
        let (off, stored) = ep.score(t).expect("step index below n_steps");
        let mismatch = |what: String, value: String| {
            Error::invalid_option(
                format!("{what} of step {t}"),
                value,
                "differs from the policy's at theta0: the step was recorded at another theta \
                 or by another policy",
            )
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
    Error::index_out_of_range(
        format!("state of step {step} (episode {episode}) for the state baseline"),
        state,
        limit,
    )
}

impl Estimator<Episodes> for SequentialReinforce {
    fn add_estimate(
        &mut self,
        data: &Episodes,
        alpha: f64,
        grad: ArrayViewMut1<f64>,
    ) -> Result<Estimate> {
        check::len("gradient buffer", data.dim(), grad.len())?;
        let w = self.weights(data)?;
        let sc = &mut self.scratch;
        let acc = &mut sc.ws.acc;
        acc.clear();
        acc.resize(data.dim(), 0.0);
        for (t, &wt) in sc.step_w.iter().enumerate() {
            let off = data.blocks[t];
            let g = &data.scores[data.pos[t]..data.pos[t + 1]];
            for (a, &x) in acc[off..off + g.len()].iter_mut().zip(g) {
                *a += wt * x;
            }
        }
        let n = data.n_episodes();
        let inv = 1.0 / n as f64;
        for a in acc.iter_mut() {
            *a *= inv;
        }
        if w.has_c {
            for (a, &c) in acc.iter_mut().zip(&sc.ws.c) {
                *a -= c;
            }
        }
        finish(
            acc,
            alpha,
            grad,
            "sequential reinforce estimate",
            Theta::NotKnown(" (theta is not recorded in an episode buffer)"),
        )?;
        self.update_running(data);
        Ok(Estimate {
            n,
            steps: data.n_steps(),
            mean_value: w.mean_value,
            mean_baseline: w.mean_baseline,
        })
    }
}
