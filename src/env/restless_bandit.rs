//! The restless four-armed bandit of Daw, O'Doherty, Dayan, Seymour & Dolan (2006): Gaussian
//! payoffs around means that follow decaying Gaussian random walks.

use rand::Rng;
use rand_distr::StandardNormal;

use super::{Environment, Outcome};
use crate::check;
use crate::error::{Error, Result};

/// The options of a [`RestlessBandit`]; the default is the task of Daw et al. (2006).
///
/// They are checked by the bandit's constructors: the standard deviations finite and ≥ 0,
/// `decay` in \[0, 1\], `center` finite, `payoff_range` with lower ≤ upper.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RestlessOptions {
    /// σ_o, the standard deviation of a payoff around its arm's mean (4).
    pub payoff_sd: f64,
    /// λ, the decay of the means' walk (0.9836).
    pub decay: f64,
    /// θ, the centre the means decay towards (50).
    pub center: f64,
    /// σ_d, the standard deviation of the means' diffusion noise ν (2.8).
    pub drift_sd: f64,
    /// The smallest and largest payoff, `[lower, upper]` (\[1, 100\]): a payoff is rounded to
    /// the nearest integer and clipped to this range.
    pub payoff_range: [i32; 2],
}

impl Default for RestlessOptions {
    /// Daw et al. (2006), supplementary methods: payoffs "between 1 and 100 points, drawn
    /// from a Gaussian distribution (standard deviation σ_o = 4) around a mean μᵢ,ₜ and
    /// rounded to the nearest integer"; μᵢ,ₜ₊₁ = λμᵢ,ₜ + (1 − λ)θ + ν with λ = 0.9836,
    /// θ = 50 and ν ~ N(0, σ_d²), σ_d = 2.8.
    fn default() -> Self {
        RestlessOptions {
            payoff_sd: 4.0,
            decay: 0.9836,
            center: 50.0,
            drift_sd: 2.8,
            payoff_range: [1, 100],
        }
    }
}

impl RestlessOptions {
    /// The standard deviation of the means' stationary distribution,
    /// σ_d / √(1 − λ²) (about 15.5 for the defaults); `None` for λ = 1 (a random walk without
    /// decay has no stationary distribution). Its mean is θ.
    pub fn stationary_sd(&self) -> Option<f64> {
        (self.decay < 1.0).then(|| self.drift_sd / (1.0 - self.decay * self.decay).sqrt())
    }

    /// Checks the options (see [`RestlessOptions`]).
    fn check(&self) -> Result<()> {
        check::non_negative("payoff_sd", self.payoff_sd)?;
        check::unit_interval("decay", self.decay)?;
        check::finite_option("center", self.center)?;
        check::non_negative("drift_sd", self.drift_sd)?;
        let [lo, hi] = self.payoff_range;
        if lo > hi {
            return Err(Error::invalid_option(
                "payoff_range",
                format!("[{lo}, {hi}]"),
                "the lower end must not exceed the upper end",
            ));
        }
        Ok(())
    }
}

/// The restless bandit (Daw, O'Doherty, Dayan, Seymour & Dolan 2006, Nature 441:876): one
/// state, n ≥ 2 arms (4 in the paper).
///
/// Choosing arm i pays round(μᵢ + σ_o z), z ~ N(0, 1), clipped to the payoff range
/// (\[1, 100\]): always an integer. Then, after every trial, every mean moves:
/// μⱼ ← λμⱼ + (1 − λ)θ + σ_d zⱼ. A step draws n + 1 standard normals (the payoff's first,
/// then one for each arm in order) and never ends the episode (`next_state: Some(0)`);
/// [`Environment::reset`] returns 0, draws nothing and leaves the means alone.
///
/// The means start where the caller says ([`RestlessBandit::with_means`]) or at independent
/// draws from the walk's stationary distribution N(θ, σ_d² / (1 − λ²))
/// ([`RestlessBandit::new`]), so that the means of every trial are stationary. (The
/// paper's methods give the walk but, in the passage we could check, not its start.)
///
/// Cloning: the means live on the heap, and [`Clone::clone_from`] copies into the existing
/// buffer, so restoring a bandit of the same number of arms allocates nothing.
///
/// ```
/// use rand::SeedableRng;
/// use rlgrad::env::{Environment, RestlessBandit, RestlessOptions};
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
/// let mut env = RestlessBandit::new(4, RestlessOptions::default(), &mut rng)?;
/// assert_eq!((env.n_states(), env.n_actions()), (1, 4));
/// assert_eq!(env.reset(&mut rng), 0);
/// let before = env.means().to_vec();
/// let out = env.step(2, &mut rng)?;
/// assert_eq!(out.next_state, Some(0));
/// assert!(out.reward.fract() == 0.0 && (1.0..=100.0).contains(&out.reward));
/// assert!(env.means().iter().zip(&before).all(|(now, then)| now != then)); // all moved
/// assert!(env.step(4, &mut rng).is_err()); // no arm 4
///
/// // Fixed means (no diffusion, no payoff noise): the payoff is the rounded mean.
/// let options = RestlessOptions { payoff_sd: 0.0, drift_sd: 0.0, decay: 1.0, ..RestlessOptions::default() };
/// let mut fixed = RestlessBandit::with_means(vec![20.4, 150.0], options)?;
/// assert_eq!(fixed.step(0, &mut rng)?.reward, 20.0);
/// assert_eq!(fixed.step(1, &mut rng)?.reward, 100.0); // clipped
/// # Ok::<(), rlgrad::Error>(())
/// ```
#[derive(Debug, PartialEq)]
pub struct RestlessBandit {
    options: RestlessOptions,
    means: Vec<f64>,
}

impl Clone for RestlessBandit {
    fn clone(&self) -> Self {
        RestlessBandit {
            options: self.options,
            means: self.means.clone(),
        }
    }

    /// Copies `source` into `self`, reusing `self`'s buffer: no allocation when `self` has
    /// room for the source's arms.
    fn clone_from(&mut self, source: &Self) {
        self.options = source.options;
        self.means.clone_from(&source.means);
    }
}

impl RestlessBandit {
    /// A bandit of `n_arms` arms whose means start at independent draws from the walk's
    /// stationary distribution N(θ, σ_d² / (1 − λ²)) (`n_arms` normal draws).
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for fewer than two arms, more than
    /// [`MAX_ACTIONS`](crate::check::MAX_ACTIONS) (no model could play them), options out of
    /// range (see [`RestlessOptions`]), or `decay` = 1, for which the walk has no stationary
    /// distribution (give the means with [`RestlessBandit::with_means`]).
    pub fn new<R: Rng + ?Sized>(
        n_arms: usize,
        options: RestlessOptions,
        rng: &mut R,
    ) -> Result<Self> {
        check_arms(n_arms)?;
        options.check()?;
        let Some(sd) = options.stationary_sd() else {
            return Err(Error::invalid_option(
                "decay",
                options.decay,
                "a walk without decay has no stationary distribution to draw the initial \
                 means from: give them (RestlessBandit::with_means)",
            ));
        };
        let mut means = check::filled(n_arms, 0.0, "the arms' means")?;
        for mean in &mut means {
            let z: f64 = rng.sample(StandardNormal);
            *mean = options.center + sd * z;
        }
        Ok(RestlessBandit { options, means })
    }

    /// A bandit whose arms' means start at `means` (at least two arms).
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for fewer than two arms or more than
    /// [`MAX_ACTIONS`](crate::check::MAX_ACTIONS), options out of range (see
    /// [`RestlessOptions`]), or a mean that is not finite, naming it.
    pub fn with_means(means: Vec<f64>, options: RestlessOptions) -> Result<Self> {
        check_arms(means.len())?;
        options.check()?;
        for (i, &mean) in means.iter().enumerate() {
            check::finite_option(&format!("mean of arm {i}"), mean)?;
        }
        Ok(RestlessBandit { options, means })
    }

    /// The options.
    pub fn options(&self) -> RestlessOptions {
        self.options
    }

    /// The arms' current means μ.
    pub fn means(&self) -> &[f64] {
        &self.means
    }
}

/// Checks a number of arms: at least two, at most [`check::MAX_ACTIONS`].
fn check_arms(n_arms: usize) -> Result<()> {
    if !(2..=check::MAX_ACTIONS).contains(&n_arms) {
        let reason = format!(
            "a restless bandit needs at least two arms and at most {}",
            check::MAX_ACTIONS
        );
        return Err(Error::invalid_option("n_arms", n_arms, reason));
    }
    Ok(())
}

impl Environment for RestlessBandit {
    fn n_states(&self) -> usize {
        1
    }
    fn n_actions(&self) -> usize {
        self.means.len()
    }
    /// Returns 0 (draws nothing; the means stay).
    fn reset<R: Rng + ?Sized>(&mut self, _rng: &mut R) -> usize {
        0
    }
    /// Draws the payoff of the arm, then moves every mean (n + 1 normal draws).
    fn step<R: Rng + ?Sized>(&mut self, action: usize, rng: &mut R) -> Result<Outcome> {
        check::index("action", action, self.means.len())?;
        let o = &self.options;
        let z: f64 = rng.sample(StandardNormal);
        let [lo, hi] = o.payoff_range;
        // `max` then `min` rather than `clamp`: a NaN (only from absurdly large options)
        // becomes the lower end instead of passing through.
        let reward = (self.means[action] + o.payoff_sd * z)
            .round()
            .max(f64::from(lo))
            .min(f64::from(hi));
        let pull = (1.0 - o.decay) * o.center;
        for mean in &mut self.means {
            let z: f64 = rng.sample(StandardNormal);
            *mean = o.decay * *mean + pull + o.drift_sd * z;
        }
        Ok(Outcome {
            reward,
            next_state: Some(0),
        })
    }
}
