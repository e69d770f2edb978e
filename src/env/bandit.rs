//! A multi-armed bandit with Bernoulli rewards, optionally reversing.

use rand::Rng;

use super::{Environment, Outcome};
use crate::check;
use crate::error::{Error, Result};

/// A bandit whose arm `j` pays 1 with probability `p[j]` and 0 otherwise. With reversals,
/// the list of probabilities is reversed every `every` trials (for two arms: the arms swap).
///
/// It has one state (0) and never ends an episode.
///
/// ```
/// use rand::SeedableRng;
/// use rlgrad::env::{Bandit, Environment};
/// let mut env = Bandit::new(vec![1.0, 0.0])?.with_reversals(2)?;
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
/// env.reset(&mut rng);
/// let r: Vec<f64> = (0..4).map(|_| env.step(0, &mut rng).map(|o| o.reward)).collect::<Result<_, _>>()?;
/// assert_eq!(r, [1.0, 1.0, 0.0, 0.0]);
/// # Ok::<(), rlgrad::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Bandit {
    probs: Vec<f64>,
    reverse_every: Option<usize>,
    trial: usize,
}

impl Bandit {
    /// A bandit with reward probabilities `probs` (at least two arms).
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for fewer than two arms or a probability outside [0, 1].
    pub fn new(probs: Vec<f64>) -> Result<Self> {
        if probs.len() < 2 {
            let reason = "a bandit needs at least two arms";
            return Err(Error::invalid_option("probs", format!("{probs:?}"), reason));
        }
        for (j, &p) in probs.iter().enumerate() {
            check::unit_interval(&format!("reward probability of arm {j}"), p)?;
        }
        Ok(Bandit {
            probs,
            reverse_every: None,
            trial: 0,
        })
    }

    /// Reverses the probabilities every `every` trials.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] if `every` is 0.
    pub fn with_reversals(mut self, every: usize) -> Result<Self> {
        check::at_least_one("every", every)?;
        self.reverse_every = Some(every);
        Ok(self)
    }

    /// The current reward probabilities.
    pub fn probabilities(&self) -> &[f64] {
        &self.probs
    }
}

impl Environment for Bandit {
    fn n_states(&self) -> usize {
        1
    }
    fn n_actions(&self) -> usize {
        self.probs.len()
    }
    fn reset<R: Rng + ?Sized>(&mut self, _rng: &mut R) -> usize {
        0
    }
    fn step<R: Rng + ?Sized>(&mut self, action: usize, rng: &mut R) -> Result<Outcome> {
        check::index("action", action, self.probs.len())?;
        let p = self.probs[action];
        let reward = if rng.random::<f64>() < p { 1.0 } else { 0.0 };
        self.trial += 1;
        if let Some(every) = self.reverse_every
            && self.trial.is_multiple_of(every)
        {
            self.probs.reverse();
        }
        Ok(Outcome {
            reward,
            next_state: Some(0),
        })
    }
}
