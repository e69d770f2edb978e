//! The classic mountain car, with its continuous state discretised onto a 19 × 15 grid: the
//! second task of the DRA paper.

use rand::Rng;

use super::{Environment, Outcome};
use crate::check;
use crate::error::{Error, Result};

/// The mountain car (Moore 1990; Sutton & Barto): a car in a valley must rock back and forth
/// to reach the hill top on the right.
///
/// Position p ∈ \[−1.2, 0.6\], velocity v ∈ \[−0.07, 0.07\]; actions 0 push left, 1 no push,
/// 2 push right. One step:
///
/// ```text
/// v ← clip(v + (a − 1) · 0.001 − 0.0025 · cos(3p), −0.07, 0.07)
/// p ← clip(p + v, −1.2, 0.6)
/// if p = −1.2 and v < 0 then v ← 0
/// ```
///
/// Every step pays −1. The episode ends (`next_state: None`) when p ≥ 0.5, or at the time
/// limit (200 steps unless [`MountainCar::with_time_limit`] says otherwise); an end by the
/// time limit is reported the same way as reaching the goal (use
/// [`MountainCar::position`] to tell them apart). A step after the end continues the
/// dynamics and ends the episode again. [`Environment::reset`] draws p ~ U(−0.6, −0.4) and
/// sets v = 0 and the step counter to 0; [`MountainCar::reset_to`] starts from a given
/// state.
///
/// The discrete state is `ip · 15 + iv` with ip = round((p + 1.2) · 10) ∈ 0..19 and
/// iv = round((v + 0.07) · 100) ∈ 0..15: 285 states, 3 actions.
///
/// The type is `Copy` (no heap memory), so cloning, `clone_from` included, never allocates.
///
/// ```
/// use rand::SeedableRng;
/// use rlgrad::env::{Environment, MountainCar};
/// let mut env = MountainCar::new();
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
/// assert_eq!((env.n_states(), env.n_actions()), (285, 3));
/// env.reset(&mut rng);
/// assert!((-0.6..=-0.4).contains(&env.position()) && env.velocity() == 0.0);
/// // Energy pumping: push in the direction of motion.
/// let mut steps = 0;
/// loop {
///     steps += 1;
///     let a = if env.velocity() >= 0.0 { 2 } else { 0 };
///     if env.step(a, &mut rng)?.next_state.is_none() {
///         break;
///     }
/// }
/// assert!(env.position() >= 0.5 && steps < 200);
/// # Ok::<(), rlgrad::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MountainCar {
    position: f64,
    velocity: f64,
    steps: usize,
    time_limit: usize,
}

impl Default for MountainCar {
    fn default() -> Self {
        Self::new()
    }
}

impl MountainCar {
    /// The smallest position.
    pub const MIN_POSITION: f64 = -1.2;
    /// The largest position.
    pub const MAX_POSITION: f64 = 0.6;
    /// The speed limit: v ∈ \[−0.07, 0.07\].
    pub const MAX_SPEED: f64 = 0.07;
    /// The episode ends when the position reaches this.
    pub const GOAL_POSITION: f64 = 0.5;
    /// The default time limit (steps per episode).
    pub const DEFAULT_TIME_LIMIT: usize = 200;
    /// Number of discrete positions.
    pub const N_POSITIONS: usize = 19;
    /// Number of discrete velocities.
    pub const N_VELOCITIES: usize = 15;

    /// The classic task with a time limit of 200 steps; the car stands at p = −0.5, v = 0
    /// until the first [`Environment::reset`].
    pub fn new() -> Self {
        MountainCar {
            position: -0.5,
            velocity: 0.0,
            steps: 0,
            time_limit: Self::DEFAULT_TIME_LIMIT,
        }
    }

    /// Ends each episode after `steps` steps at the latest.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] naming `time_limit` if `steps` is 0.
    pub fn with_time_limit(mut self, steps: usize) -> Result<Self> {
        check::at_least_one("time_limit", steps)?;
        self.time_limit = steps;
        Ok(self)
    }

    /// The time limit (steps per episode).
    pub fn time_limit(&self) -> usize {
        self.time_limit
    }

    /// The continuous position p.
    pub fn position(&self) -> f64 {
        self.position
    }

    /// The continuous velocity v.
    pub fn velocity(&self) -> f64 {
        self.velocity
    }

    /// Steps taken since the last reset.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// The current discrete state.
    pub fn state(&self) -> usize {
        discretise(self.position, self.velocity)
    }

    /// The discrete state of position `p` and velocity `v`:
    /// `round((p + 1.2) · 10) · 15 + round((v + 0.07) · 100)`.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] naming `position` or `velocity` if it is not finite or lies
    /// outside its range.
    pub fn state_of(&self, p: f64, v: f64) -> Result<usize> {
        check_state(p, v)?;
        Ok(discretise(p, v))
    }

    /// Starts an episode at position `p` and velocity `v` (step counter 0) and returns its
    /// discrete state.
    ///
    /// # Errors
    /// As [`MountainCar::state_of`]; the car is then unchanged.
    pub fn reset_to(&mut self, p: f64, v: f64) -> Result<usize> {
        check_state(p, v)?;
        self.position = p;
        self.velocity = v;
        self.steps = 0;
        Ok(discretise(p, v))
    }
}

/// Checks a continuous state against its ranges.
fn check_state(p: f64, v: f64) -> Result<()> {
    let (lo, hi) = (MountainCar::MIN_POSITION, MountainCar::MAX_POSITION);
    if !(lo..=hi).contains(&p) {
        return Err(Error::invalid_option(
            "position",
            p,
            format!("must be finite and in [{lo}, {hi}]"),
        ));
    }
    let s = MountainCar::MAX_SPEED;
    if !(-s..=s).contains(&v) {
        return Err(Error::invalid_option(
            "velocity",
            v,
            format!("must be finite and in [-{s}, {s}]"),
        ));
    }
    Ok(())
}

/// The discrete state of a state inside the ranges (rounded to the nearest cell; the `min`
/// guards the last cell against rounding).
fn discretise(p: f64, v: f64) -> usize {
    let ip = ((p - MountainCar::MIN_POSITION) * 10.0).round() as usize;
    let iv = ((v + MountainCar::MAX_SPEED) * 100.0).round() as usize;
    ip.min(MountainCar::N_POSITIONS - 1) * MountainCar::N_VELOCITIES
        + iv.min(MountainCar::N_VELOCITIES - 1)
}

impl Environment for MountainCar {
    fn n_states(&self) -> usize {
        Self::N_POSITIONS * Self::N_VELOCITIES
    }
    fn n_actions(&self) -> usize {
        3
    }
    /// Draws p ~ U(−0.6, −0.4) (one draw), sets v = 0 and the step counter to 0.
    fn reset<R: Rng + ?Sized>(&mut self, rng: &mut R) -> usize {
        self.position = -0.6 + 0.2 * rng.random::<f64>();
        self.velocity = 0.0;
        self.steps = 0;
        self.state()
    }
    /// One step of the dynamics (draws nothing).
    fn step<R: Rng + ?Sized>(&mut self, action: usize, _rng: &mut R) -> Result<Outcome> {
        check::index("action", action, 3)?;
        let s = Self::MAX_SPEED;
        let push = (action as f64 - 1.0) * 0.001;
        let v = (self.velocity + push - 0.0025 * (3.0 * self.position).cos()).clamp(-s, s);
        let p = (self.position + v).clamp(Self::MIN_POSITION, Self::MAX_POSITION);
        self.velocity = if p == Self::MIN_POSITION && v < 0.0 {
            0.0
        } else {
            v
        };
        self.position = p;
        self.steps = self.steps.saturating_add(1);
        let done = p >= Self::GOAL_POSITION || self.steps >= self.time_limit;
        Ok(Outcome {
            reward: -1.0,
            next_state: if done { None } else { Some(self.state()) },
        })
    }
}
