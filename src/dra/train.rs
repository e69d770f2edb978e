//! The DRA training loop (spec §4): per trial an online episode with expected-SARSA updates
//! of q̄, N_traj offline rollouts whose decision scores go into an
//! [`Episodes`] buffer, a [`SequentialReinforce`] estimate of the σ gradient, the KL cost's
//! gradient from [`KlCost`], and a clipped σ step; evaluations with learning off.

use ndarray::{Array1, ArrayView1};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::config::{Allocation, DraConfig, Psi, QInit};
use super::log::{EvalPoint, Snapshot, TrainingLog};
use super::task::DraTask;
use crate::Term;
use crate::check;
use crate::cost::KlCost;
use crate::error::{Error, Result};
use crate::estimator::{Episodes, Estimator, SequentialReinforce, StepRecord, Weighting};
use crate::numeric::mean_and_se;
use crate::policy::{MemoryPolicy, Policy};

/// What the progress callback sees after each trial.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Progress {
    /// The trial just finished (0-based).
    pub trial: usize,
    /// The number of trials of the run.
    pub n_trials: usize,
    /// The evaluation taken after this trial, if any.
    pub evaluation: Option<EvalPoint>,
}

/// The stream of the run's seed that evaluation draws from (training draws from stream 0),
/// so that how often a run is evaluated does not change how it learns, and no seed's
/// evaluation stream is another seed's training stream.
const EVAL_STREAM: u64 = 1;

/// Trains a memory-limited agent on `task` with DRA: see [`train_with`].
///
/// # Errors
/// As [`train_with`].
pub fn train<T: DraTask>(task: &T, config: &DraConfig, seed: u64) -> Result<TrainingLog> {
    train_with(task, config, seed, |_| {})
}

/// Trains a memory-limited agent on `task` with DRA, calling `progress` after every trial.
///
/// One trial (spec §4): (1) the environment change, if `config.change_at` is this trial;
/// (2) an online episode from a fresh start, acting by soft Thompson decisions and updating
/// q̄(s, a) ← q̄(s, a) + α₁ \[r + γ Σₐ′ π′(a′) q̄(s′, a′) − q̄(s, a)\] (target r at the end),
/// where π′ is the policy of the next decision (fresh ζ′); (3) N_traj offline rollouts from
/// the same start through clones of the task, q̄ unchanged, each decision's score (seed A.3)
/// recorded with its weight Ψ in an [`Episodes`] buffer; (4) σ ← clip(σ + α₂ (ĝ − λ ∇D_KL)),
/// ĝ the [`SequentialReinforce`] estimate (Ψ supplied, or the whole return for
/// [`Psi::Return`]), fixed memories unmoved; (5) an evaluation after every trial whose index
/// is a multiple of `eval_every`.
///
/// The run is reproducible from `seed` (training and evaluation use separate streams).
/// After the first trials nothing is allocated per step.
///
/// # Errors
/// A bad configuration ([`DraConfig::check`]); a table the policy cannot hold; an
/// environment that returns an error or a non-finite reward; a non-finite gradient.
pub fn train_with<T: DraTask>(
    task: &T,
    config: &DraConfig,
    seed: u64,
    mut progress: impl FnMut(&Progress),
) -> Result<TrainingLog> {
    let mut trainer = Trainer::new(task, config, seed)?;
    while trainer.trials_done() < config.n_trials {
        let evaluation = trainer.run_trial()?;
        progress(&Progress {
            trial: trainer.trials_done() - 1,
            n_trials: config.n_trials,
            evaluation,
        });
    }
    Ok(trainer.into_log())
}

/// A DRA run, trial by trial: what [`train_with`] drives, for callers who want to look at
/// the agent between trials (or time one trial, as the `dra` benchmark does).
///
/// ```
/// use rlgrad::dra::{DraConfig, Trainer};
/// use rlgrad::env::GridWorld;
/// let config = DraConfig::grid_world_published(3.0);
/// let mut trainer = Trainer::new(&GridWorld::paper(), &config, 1)?;
/// let first = trainer.run_trial()?; // trial 0 is evaluated
/// assert!(first.is_some());
/// assert!(trainer.run_trial()?.is_none());
/// assert_eq!(trainer.trials_done(), 2);
/// assert!(trainer.sigma().iter().all(|&s| (0.01..=100.0).contains(&s)));
/// # Ok::<(), rlgrad::Error>(())
/// ```
pub struct Trainer<'c, T> {
    run: Run<'c, T>,
    log: TrainingLog,
    done: usize,
}

impl<'c, T: DraTask> Trainer<'c, T> {
    /// A run of `config` on `task` from `seed`, before its first trial.
    ///
    /// # Errors
    /// A bad configuration ([`DraConfig::check`]); a table the policy cannot hold; a task
    /// whose fixed memories are bad or cover every memory.
    pub fn new(task: &T, config: &'c DraConfig, seed: u64) -> Result<Self> {
        config.check()?;
        let run = Run::new(task, config, seed)?;
        let log = TrainingLog {
            seed,
            n_states: task.n_states(),
            n_actions: task.n_actions(),
            config: config.clone(),
            curve: Vec::new(),
            snapshots: Vec::new(),
            sigma: Vec::new(),
            q_bar: Vec::new(),
            fixed: run.fixed.clone(),
            truncated: 0,
            steps: 0,
        };
        Ok(Trainer { run, log, done: 0 })
    }

    /// Runs the next trial (it may go past `config.n_trials`) and returns its evaluation,
    /// if it had one.
    ///
    /// # Errors
    /// An environment that returns an error or a non-finite reward; a non-finite gradient;
    /// `change_at` on a task without a change.
    pub fn run_trial(&mut self) -> Result<Option<EvalPoint>> {
        let trial = self.done;
        let config = self.run.config;
        if config.change_at == Some(trial) {
            self.run.env.change_environment()?;
        }
        self.run.policy.set_beta(config.beta.at(trial))?;
        self.run.trial()?;
        self.done += 1;
        let evaluation = if trial.is_multiple_of(config.eval_every) {
            let point = self.run.evaluate(trial)?;
            self.log.curve.push(point);
            Some(point)
        } else {
            None
        };
        if config.snapshots.contains(&trial) {
            self.log.snapshots.push(Snapshot {
                trial,
                sigma: self.run.sigma.clone(),
                q_bar: self.run.policy.q_bar().to_vec(),
            });
        }
        Ok(evaluation)
    }

    /// Trials run so far.
    pub fn trials_done(&self) -> usize {
        self.done
    }

    /// The allocation σ now.
    pub fn sigma(&self) -> &[f64] {
        &self.run.sigma
    }

    /// The agent's policy now (q̄, β).
    pub fn policy(&self) -> &MemoryPolicy {
        &self.run.policy
    }

    /// The log so far, with σ, q̄ and the counters as they are now.
    pub fn into_log(mut self) -> TrainingLog {
        self.log.sigma = self.run.sigma;
        self.log.q_bar = self.run.policy.q_bar().to_vec();
        self.log.truncated = self.run.truncated;
        self.log.steps = self.run.steps;
        self.log
    }
}

/// One step of a rollout, kept until its search ends (for Ψ = the search's return).
#[derive(Clone, Copy, Debug)]
struct Pending {
    state: usize,
    action: usize,
    reward: f64,
    psi: f64,
}

/// The state of one run.
struct Run<'c, T> {
    config: &'c DraConfig,
    /// The task as it is now (changed at `change_at`).
    env: T,
    /// The start of the current trial, and the rollouts' working copy.
    snapshot: T,
    roll: T,
    policy: MemoryPolicy,
    sigma: Vec<f64>,
    fixed: Vec<bool>,
    kl: KlCost,
    estimator: SequentialReinforce,
    episodes: Episodes,
    grad: Array1<f64>,
    zeta: Vec<f64>,
    zeta_next: Vec<f64>,
    probs: Vec<f64>,
    probs_next: Vec<f64>,
    pending: Vec<Pending>,
    pending_scores: Vec<f64>,
    /// The returns of an evaluation.
    returns: Vec<f64>,
    rng: ChaCha8Rng,
    eval_rng: ChaCha8Rng,
    truncated: u64,
    steps: u64,
}

impl<'c, T: DraTask> Run<'c, T> {
    fn new(task: &T, config: &'c DraConfig, seed: u64) -> Result<Self> {
        let (n_s, n_a) = (task.n_states(), task.n_actions());
        let mut policy = MemoryPolicy::new(n_s, n_a, config.beta.at(0))?;
        let n = policy.q_bar().len();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut sigma = check::filled(n, config.sigma0, "sigma")?;
        let mut fixed = check::filled(n, false, "the fixed-memory mask")?;
        let q = policy.q_bar_mut();
        match config.q_init {
            QInit::Constant(v) => q.fill(v),
            QInit::Uniform { lo, hi } => q
                .iter_mut()
                .for_each(|x| *x = lo + (hi - lo) * rng.random::<f64>()),
        }
        for m in task.fixed_memories() {
            check::index("fixed memory index", m.index, n)?;
            check::finite_input_with(m.q_bar, || format!("q_bar of fixed memory {}", m.index))?;
            if !(m.sigma.is_finite() && m.sigma > 0.0) {
                return Err(Error::invalid_parameter(
                    format!("sigma of fixed memory {}", m.index),
                    m.sigma,
                    "must be finite and > 0",
                ));
            }
            q[m.index] = m.q_bar;
            sigma[m.index] = m.sigma;
            fixed[m.index] = true;
        }
        if fixed.iter().all(|&f| f) {
            return Err(Error::invalid_option(
                "task",
                "every memory fixed",
                "DRA needs at least one memory to allocate",
            ));
        }
        let free: Vec<bool> = fixed.iter().map(|f| !f).collect();
        let kl = KlCost::new(n, config.sigma_base)?.with_mask(free)?;
        let weighting = match config.psi {
            Psi::Return => Weighting::TotalReturn {
                gamma: 1.0,
                baseline: config.return_baseline,
            },
            _ => Weighting::Supplied,
        };
        Ok(Run {
            config,
            env: task.clone(),
            snapshot: task.clone(),
            roll: task.clone(),
            policy,
            sigma,
            fixed,
            kl,
            estimator: SequentialReinforce::new(weighting)?,
            episodes: Episodes::new(n),
            grad: Array1::zeros(n),
            zeta: vec![0.0; n_a],
            zeta_next: vec![0.0; n_a],
            probs: vec![0.0; n_a],
            probs_next: vec![0.0; n_a],
            pending: Vec::new(),
            pending_scores: Vec::new(),
            returns: Vec::new(),
            eval_rng: {
                let mut r = ChaCha8Rng::seed_from_u64(seed);
                r.set_stream(EVAL_STREAM);
                r
            },
            rng,
            truncated: 0,
            steps: 0,
        })
    }

    /// One trial: online episode, offline rollouts, σ step.
    fn trial(&mut self) -> Result<()> {
        let start = self.env.reset(&mut self.rng);
        check::index("start state from the task", start, self.policy.n_states())?;
        self.snapshot.clone_from(&self.env);
        self.online(start)?;
        self.episodes.clear();
        for _ in 0..self.config.n_traj {
            self.search(start)?;
        }
        self.step_sigma()
    }

    /// The online episode with expected-SARSA updates of q̄.
    fn online(&mut self, start: usize) -> Result<()> {
        let a_n = self.policy.n_actions();
        let gamma = self.config.gamma;
        let mut s = start;
        let mut a = self.policy.decide_unchecked(
            &self.sigma,
            s,
            &mut self.rng,
            &mut self.zeta,
            &mut self.probs,
        );
        for t in 0..self.config.max_steps {
            let outcome = self.env.step(a, &mut self.rng)?;
            self.steps += 1;
            let r = outcome.reward;
            check::finite_input_with(r, || format!("reward at step {t} of an online episode"))?;
            let target = match outcome.next_state {
                None => r,
                Some(next) => {
                    check::index("next state from the task", next, self.policy.n_states())?;
                    let a_next = self.policy.decide_unchecked(
                        &self.sigma,
                        next,
                        &mut self.rng,
                        &mut self.zeta_next,
                        &mut self.probs_next,
                    );
                    let row = &self.policy.q_bar()[next * a_n..(next + 1) * a_n];
                    let expected: f64 = row.iter().zip(&self.probs_next).map(|(q, p)| q * p).sum();
                    std::mem::swap(&mut self.zeta, &mut self.zeta_next);
                    std::mem::swap(&mut self.probs, &mut self.probs_next);
                    let target = r + gamma * expected;
                    self.learn(s * a_n + a, target);
                    s = next;
                    a = a_next;
                    continue;
                }
            };
            self.learn(s * a_n + a, target);
            return Ok(());
        }
        self.truncated += 1;
        Ok(())
    }

    /// q̄ ← q̄ + α₁ (target − q̄) for memory i, unless it is fixed (known).
    #[inline]
    fn learn(&mut self, i: usize, target: f64) {
        if !self.fixed[i] {
            let q = &mut self.policy.q_bar_mut()[i];
            *q += self.config.alpha_q * (target - *q);
        }
    }

    /// One offline search from `start` (one episode, or as many as the budget asks), its
    /// steps recorded as one episode of the buffer. Returns the search's return.
    fn search(&mut self, start: usize) -> Result<f64> {
        self.pending.clear();
        self.pending_scores.clear();
        let best = self.play(start, true)?;
        let a_n = self.policy.n_actions();
        let last = self.pending.len().saturating_sub(1);
        for (k, p) in self.pending.iter().enumerate() {
            let step = match (self.config.psi, self.config.search_budget) {
                // The estimator weighs every step by the episode's return.
                (Psi::Return, None) => StepRecord::new(p.state, p.action, p.reward),
                // A search's return is its best episode's: delivered at its last step.
                (Psi::Return, Some(_)) => {
                    let reward = if k == last { best } else { 0.0 };
                    StepRecord::new(p.state, p.action, reward)
                }
                _ => StepRecord::new(p.state, p.action, p.reward).with_psi(p.psi),
            };
            let score = &self.pending_scores[k * a_n..(k + 1) * a_n];
            self.episodes.push_step(step, p.state * a_n, score)?;
        }
        self.episodes.end_episode();
        Ok(best)
    }

    /// Plays a search from `start` (through clones of the trial's start) and returns its
    /// return: the best episode's, under a search budget. With `record`, every step goes to
    /// `pending` with its score and Ψ.
    fn play(&mut self, start: usize, record: bool) -> Result<f64> {
        let budget = self.config.search_budget.unwrap_or(1);
        let mut spent = 0;
        let mut best = f64::NEG_INFINITY;
        while spent < budget {
            let (ret, steps) = self.episode(start, record)?;
            best = best.max(ret);
            spent += steps.max(1);
            if self.config.search_budget.is_none() {
                break;
            }
        }
        Ok(best)
    }

    /// One episode from the trial's start through `roll`; returns (return, steps).
    fn episode(&mut self, start: usize, record: bool) -> Result<(f64, usize)> {
        let a_n = self.policy.n_actions();
        self.roll.clone_from(&self.snapshot);
        let rng = if record {
            &mut self.rng
        } else {
            &mut self.eval_rng
        };
        let mut s = start;
        let mut ret = 0.0;
        for t in 0..self.config.max_steps {
            let a =
                self.policy
                    .decide_unchecked(&self.sigma, s, rng, &mut self.zeta, &mut self.probs);
            let outcome = self.roll.step(a, rng)?;
            let r = outcome.reward;
            check::finite_input_with(r, || format!("reward at step {t} of a rollout"))?;
            ret += r;
            if record {
                self.steps += 1;
                let q = &self.policy.q_bar()[s * a_n..(s + 1) * a_n];
                let psi = match self.config.psi {
                    Psi::Advantage => q[a] - q.iter().sum::<f64>() / a_n as f64,
                    Psi::QBar => q[a],
                    Psi::Return => 0.0,
                    Psi::PolicyAdvantage => {
                        q[a] - q.iter().zip(&self.probs).map(|(q, p)| q * p).sum::<f64>()
                    }
                };
                self.pending.push(Pending {
                    state: s,
                    action: a,
                    reward: r,
                    psi,
                });
                let at = self.pending_scores.len();
                self.pending_scores.resize(at + a_n, 0.0);
                self.policy.add_score_unchecked(
                    a,
                    &self.zeta,
                    &self.probs,
                    1.0,
                    &mut self.pending_scores[at..],
                );
            }
            match outcome.next_state {
                None => return Ok((ret, t + 1)),
                Some(next) => {
                    check::index("next state from the task", next, self.policy.n_states())?;
                    s = next;
                }
            }
        }
        self.truncated += 1;
        Ok((ret, self.config.max_steps))
    }

    /// σ ← clip(σ + α₂ (ĝ − λ ∇D_KL)) over the free memories.
    fn step_sigma(&mut self) -> Result<()> {
        self.estimator
            .estimate(&self.episodes, self.grad.view_mut())?;
        let grad = self
            .grad
            .as_slice_mut()
            .expect("a fresh Array1 is contiguous");
        // σ stays in the checked clip range [σ_min > 0, σ_max]: the gradient needs no check.
        self.kl.add_grad(&self.sigma, -self.config.lambda, grad);
        check::finite_inputs_with(grad.iter(), |i| format!("sigma gradient entry {i}"))?;
        let (lo, hi) = self.config.sigma_clip;
        let step = self.config.alpha_sigma;
        match self.config.allocation {
            Allocation::Flexible => {
                for (i, s) in self.sigma.iter_mut().enumerate() {
                    if !self.fixed[i] {
                        *s = (*s + step * self.grad[i]).clamp(lo, hi);
                    }
                }
            }
            Allocation::Equal => {
                let g: f64 = (0..self.sigma.len())
                    .filter(|&i| !self.fixed[i])
                    .map(|i| self.grad[i])
                    .sum();
                for (i, s) in self.sigma.iter_mut().enumerate() {
                    if !self.fixed[i] {
                        *s = (*s + step * g).clamp(lo, hi);
                    }
                }
            }
        }
        Ok(())
    }

    /// Evaluation with learning off: mean return over `eval_episodes` searches from fresh
    /// starts, cost λ·D_KL, objective.
    fn evaluate(&mut self, trial: usize) -> Result<EvalPoint> {
        self.returns.clear();
        for _ in 0..self.config.eval_episodes {
            let start = self.env.reset(&mut self.eval_rng);
            check::index("start state from the task", start, self.policy.n_states())?;
            self.snapshot.clone_from(&self.env);
            let ret = self.play(start, false)?;
            self.returns.push(ret);
        }
        let (mean, se) = mean_and_se(&self.returns);
        let cost = self.config.lambda * self.kl.value(ArrayView1::from(&self.sigma[..]))?;
        Ok(EvalPoint {
            trial,
            return_mean: mean,
            return_se: se,
            cost,
            objective: mean - cost,
        })
    }
}
