//! [`DraConfig`]: the parameters of a DRA run, their checks, and the presets of the paper
//! (Table B.1 and the published grid-world runs).

use serde::{Deserialize, Serialize};

use crate::check;
use crate::error::{Error, Result};
use crate::estimator::Baseline;

/// The weight Ψ that multiplies each step's score in the σ gradient (spec §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Psi {
    /// Ψ = q̄(s, a) − (1/A) Σₐ′ q̄(s, a′): the advantage over the uniform mean (the default).
    Advantage,
    /// Ψ = q̄(s, a).
    QBar,
    /// Ψ = the whole trajectory's return Σₜ rₜ for every step (plain REINFORCE).
    Return,
    /// Ψ = q̄(s, a) − Σₐ′ π(a′ | s, ζ) q̄(s, a′): the advantage over the decision's policy.
    PolicyAdvantage,
}

impl Psi {
    /// The four forms, in the order above.
    pub const ALL: [Psi; 4] = [Psi::Advantage, Psi::QBar, Psi::Return, Psi::PolicyAdvantage];

    /// A short name: `advantage`, `q_bar`, `return`, `policy_advantage`.
    pub fn name(self) -> &'static str {
        match self {
            Psi::Advantage => "advantage",
            Psi::QBar => "q_bar",
            Psi::Return => "return",
            Psi::PolicyAdvantage => "policy_advantage",
        }
    }
}

/// How σ is allocated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Allocation {
    /// One σ per memory (DRA).
    Flexible,
    /// One σ shared by every free memory, moved by the gradient of the same objective with
    /// respect to the shared value (the sum of the per-memory gradients): the equal-precision
    /// baseline.
    Equal,
}

impl Allocation {
    /// `flexible` or `equal`.
    pub fn name(self) -> &'static str {
        match self {
            Allocation::Flexible => "flexible",
            Allocation::Equal => "equal",
        }
    }
}

/// The inverse temperature β of trial t.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum BetaSchedule {
    /// β for every trial.
    Constant(f64),
    /// β(t) = min(base^(t / every), max): the authors' mountain-car schedule
    /// (base 1.5, every 1000, max 10). The base must be at least 1 (β grows).
    Annealed {
        /// The base (> 0).
        base: f64,
        /// Trials per power of the base (> 0).
        every: f64,
        /// The largest β (> 0).
        max: f64,
    },
}

impl BetaSchedule {
    /// β at trial t (0-based).
    pub fn at(&self, trial: usize) -> f64 {
        match *self {
            BetaSchedule::Constant(b) => b,
            BetaSchedule::Annealed { base, every, max } => base.powf(trial as f64 / every).min(max),
        }
    }

    fn check(&self) -> Result<()> {
        match *self {
            BetaSchedule::Constant(b) => check::positive("beta", b),
            BetaSchedule::Annealed { base, every, max } => {
                check::positive("beta base", base)?;
                if base < 1.0 {
                    // β would shrink towards 0 and stop being a valid inverse temperature.
                    return Err(Error::invalid_option(
                        "beta base",
                        base,
                        "must be at least 1",
                    ));
                }
                check::positive("beta every", every)?;
                check::positive("beta max", max)
            }
        }
    }
}

/// How q̄ starts.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum QInit {
    /// Every free mean starts at this value (0 in the grid world and the planning task).
    Constant(f64),
    /// Every free mean is drawn from U(lo, hi) (mountain car: U(−1, 1)).
    Uniform {
        /// Lower end.
        lo: f64,
        /// Upper end (≥ lo).
        hi: f64,
    },
}

/// The parameters of one DRA run (spec §4–5). Build from a preset and adjust the public
/// fields; [`DraConfig::check`] runs before training.
///
/// ```
/// use rlgrad::dra::{DraConfig, Psi};
/// let mut config = DraConfig::grid_world_published(3.0);
/// config.psi = Psi::Return;
/// config.n_trials = 200;
/// assert!(config.check().is_ok());
/// config.sigma_clip = (1.0, 0.5); // reversed
/// assert!(config.check().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DraConfig {
    /// α₁, the learning rate of q̄ (expected SARSA), in (0, 1].
    pub alpha_q: f64,
    /// α₂, the step size of σ (> 0).
    pub alpha_sigma: f64,
    /// β per trial.
    pub beta: BetaSchedule,
    /// γ ∈ \[0, 1\], the discount of the q̄ updates (evaluation returns are undiscounted).
    pub gamma: f64,
    /// λ ≥ 0, the price of precision.
    pub lambda: f64,
    /// σ_base > 0, the standard deviation of the base distribution.
    pub sigma_base: f64,
    /// σ₀ > 0, the starting standard deviation of every free memory (inside the clip range).
    pub sigma0: f64,
    /// The clip range (σ_min, σ_max), 0 < σ_min ≤ σ_max.
    pub sigma_clip: (f64, f64),
    /// N_traj ≥ 1, offline rollouts per trial.
    pub n_traj: usize,
    /// Number of trials (≥ 1).
    pub n_trials: usize,
    /// Ψ.
    pub psi: Psi,
    /// The baseline across the N_traj rollouts of a trial for [`Psi::Return`] (the spec's
    /// plain REINFORCE: [`Baseline::None`]; any unbiased one keeps the estimate unbiased).
    pub return_baseline: Baseline,
    /// Flexible (DRA) or equal precision.
    pub allocation: Allocation,
    /// Evaluate after every trial whose 0-based index is a multiple of this (≥ 1).
    pub eval_every: usize,
    /// Episodes per evaluation (≥ 1).
    pub eval_episodes: usize,
    /// A safety cap on the steps of one episode (≥ 1; an episode that reaches it is cut
    /// there and counted in [`TrainingLog::truncated`](super::TrainingLog::truncated)).
    pub max_steps: usize,
    /// The planning task's time limit: sample complete episodes until at least this many
    /// steps are spent; the search's return is the best episode's. `None`: one episode.
    pub search_budget: Option<usize>,
    /// How q̄ starts.
    pub q_init: QInit,
    /// Apply the task's environment change before this trial (the grid world's).
    pub change_at: Option<usize>,
    /// Record σ and q̄ after these trials (0-based), for σ maps.
    pub snapshots: Vec<usize>,
}

impl DraConfig {
    /// Table B.1, grid world: α₁ 0.1, α₂ 0.1, β 10, γ 1, λ 0.2, σ_base 5, σ₀ 3, N_traj 10;
    /// the authors' clip range \[0.01, 100\]; 5000 trials evaluated every 100 over 100
    /// episodes.
    pub fn grid_world() -> Self {
        DraConfig {
            alpha_q: 0.1,
            alpha_sigma: 0.1,
            beta: BetaSchedule::Constant(10.0),
            gamma: 1.0,
            lambda: 0.2,
            sigma_base: 5.0,
            sigma0: 3.0,
            sigma_clip: (0.01, 100.0),
            n_traj: 10,
            n_trials: 5000,
            psi: Psi::Advantage,
            return_baseline: Baseline::None,
            allocation: Allocation::Flexible,
            eval_every: 100,
            eval_episodes: 100,
            max_steps: 100_000,
            search_budget: None,
            q_init: QInit::Constant(0.0),
            change_at: None,
            snapshots: Vec::new(),
        }
    }

    /// The published grid-world runs: as [`DraConfig::grid_world`] with γ 0.9, λ 0.1 and the
    /// given σ₀ (the paper shows 1, 3, 4, 5).
    pub fn grid_world_published(sigma0: f64) -> Self {
        DraConfig {
            gamma: 0.9,
            lambda: 0.1,
            sigma0,
            ..Self::grid_world()
        }
    }

    /// Table B.1, mountain car: α₁ 0.1, α₂ 0.1, β 10, γ 1, λ 0.1, σ_base 5, σ₀ 3, N_traj 10;
    /// clip \[0.01, 10\]; q̄ ~ U(−1, 1); 5000 episodes evaluated every 100 over 20.
    pub fn mountain_car() -> Self {
        DraConfig {
            lambda: 0.1,
            sigma_clip: (0.01, 10.0),
            q_init: QInit::Uniform { lo: -1.0, hi: 1.0 },
            eval_episodes: 20,
            max_steps: 200,
            ..Self::grid_world()
        }
    }

    /// The authors' mountain-car runs: as [`DraConfig::mountain_car`] with α₁ 0.2, σ₀ 1 and
    /// β annealed as min(1.5^(episode/1000), 10) (10 from episode 5679 on), over 10 000
    /// episodes.
    pub fn mountain_car_published() -> Self {
        DraConfig {
            n_trials: 10_000,
            alpha_q: 0.2,
            sigma0: 1.0,
            beta: BetaSchedule::Annealed {
                base: 1.5,
                every: 1000.0,
                max: 10.0,
            },
            ..Self::mountain_car()
        }
    }

    /// Table B.1, planning task: α₁ 0.1, α₂ 0.1, β 10, γ 1, λ 1, σ_base 100, σ₀ 50,
    /// N_traj 10; clip \[1, 100\]; 50 000 trials evaluated every 1000 over 200 trials.
    ///
    /// Ψ is the search's return ([`Psi::Return`]) with a leave-one-out baseline across the
    /// N_traj searches of a trial: under a search budget the trial's reward is the best
    /// sampled path's return, and only this Ψ sees it (the advantage forms weigh each
    /// decision by q̄ alone, whatever the budget, and so drive the same allocation for every
    /// budget). The per-memory gradient is small at σ ≈ 50 with β = 10 (the soft decision is
    /// then nearly hard, and its score nearly zero), hence the many trials.
    pub fn planning() -> Self {
        DraConfig {
            lambda: 1.0,
            sigma_base: 100.0,
            sigma0: 50.0,
            sigma_clip: (1.0, 100.0),
            n_trials: 50_000,
            eval_every: 1000,
            eval_episodes: 200,
            psi: Psi::Return,
            return_baseline: Baseline::LeaveOneOut,
            ..Self::grid_world()
        }
    }

    /// Checks every field.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] naming the field and its value.
    pub fn check(&self) -> Result<()> {
        check::positive("alpha_q", self.alpha_q)?;
        if self.alpha_q > 1.0 {
            return Err(Error::invalid_option(
                "alpha_q",
                self.alpha_q,
                "must be in (0, 1]",
            ));
        }
        check::positive("alpha_sigma", self.alpha_sigma)?;
        self.beta.check()?;
        check::discount(self.gamma)?;
        check::non_negative("lambda", self.lambda)?;
        check::positive("sigma_base", self.sigma_base)?;
        check::positive("sigma0", self.sigma0)?;
        let (lo, hi) = self.sigma_clip;
        check::positive("sigma_clip.0 (sigma_min)", lo)?;
        check::positive("sigma_clip.1 (sigma_max)", hi)?;
        if lo > hi {
            return Err(Error::invalid_option(
                "sigma_clip",
                format!("({lo}, {hi})"),
                "is reversed: sigma_min must not exceed sigma_max",
            ));
        }
        if !(lo..=hi).contains(&self.sigma0) {
            return Err(Error::invalid_option(
                "sigma0",
                self.sigma0,
                format!("must lie in the clip range [{lo}, {hi}]"),
            ));
        }
        check::at_least_one("n_traj", self.n_traj)?;
        check::at_least_one("n_trials", self.n_trials)?;
        check::at_least_one("eval_every", self.eval_every)?;
        check::at_least_one("eval_episodes", self.eval_episodes)?;
        check::at_least_one("max_steps", self.max_steps)?;
        if let Some(b) = self.search_budget {
            check::at_least_one("search_budget", b)?;
        }
        match self.q_init {
            QInit::Constant(v) => check::finite_option("q_init", v)?,
            QInit::Uniform { lo, hi } => {
                check::finite_option("q_init lo", lo)?;
                check::finite_option("q_init hi", hi)?;
                if lo > hi {
                    return Err(Error::invalid_option(
                        "q_init",
                        format!("U({lo}, {hi})"),
                        "is reversed",
                    ));
                }
            }
        }
        Ok(())
    }
}
