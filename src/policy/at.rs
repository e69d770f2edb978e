//! [`PolicyAt`]: a policy in a fixed state, as a score function over actions.

use rand::Rng;

use super::{Policy, ScoreFunction};
use crate::check;
use crate::error::Result;

/// A [`Policy`] in a fixed state: a [`ScoreFunction`] over actions, with a dense score of
/// length [`Policy::dim`] (zero outside the state's block). Made by [`Policy::at`].
///
/// ```
/// use rand::SeedableRng;
/// use rlgrad::policy::{Policy, ScoreFunction, SoftmaxPolicy};
/// let policy = SoftmaxPolicy::logits(1, 3)?;
/// let bandit = policy.at(0);
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
/// let a: usize = bandit.sample(&[0.0, 0.0, 0.0], &mut rng)?;
/// assert!(a < 3);
/// # Ok::<(), rlgrad::Error>(())
/// ```
#[derive(Debug)]
pub struct PolicyAt<'a, P> {
    pub(super) policy: &'a P,
    pub(super) state: usize,
}

impl<P> Clone for PolicyAt<'_, P> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<P> Copy for PolicyAt<'_, P> {}

impl<P: Policy> PolicyAt<'_, P> {
    /// The fixed state.
    pub fn state(&self) -> usize {
        self.state
    }
    /// The policy.
    pub fn policy(&self) -> &P {
        self.policy
    }
}

impl<P: Policy> ScoreFunction for PolicyAt<'_, P> {
    type Sample = usize;

    fn dim(&self) -> usize {
        self.policy.dim()
    }
    fn check_theta(&self, theta: &[f64]) -> Result<()> {
        self.policy.check_theta(theta)?;
        self.policy.score_block(self.state).map(|_| ())
    }
    fn sample_into<R: Rng + ?Sized>(
        &self,
        theta: &[f64],
        rng: &mut R,
        out: &mut usize,
    ) -> Result<()> {
        *out = self.policy.sample(theta, self.state, rng)?;
        Ok(())
    }
    fn log_prob(&self, theta: &[f64], z: &usize) -> Result<f64> {
        self.policy.log_prob(theta, self.state, *z)
    }
    fn add_log_prob_and_score(
        &self,
        theta: &[f64],
        z: &usize,
        alpha: f64,
        score: &mut [f64],
    ) -> Result<f64> {
        check::len("score buffer", self.dim(), score.len())?;
        let block = self.policy.score_block(self.state)?;
        check::block(&block, self.dim())?;
        self.policy
            .add_log_prob_and_score(theta, self.state, *z, alpha, &mut score[block])
    }
    fn has_log_prob_hessian(&self) -> bool {
        self.policy.has_log_prob_hessian()
    }
    fn add_log_prob_hessian(
        &self,
        theta: &[f64],
        z: &usize,
        alpha: f64,
        hess: &mut [f64],
    ) -> Result<bool> {
        let k = self.dim();
        check::square_len("hessian buffer", k, hess.len())?;
        let block = self.policy.score_block(self.state)?;
        check::block(&block, k)?;
        if block.is_empty() {
            return Ok(self.policy.has_log_prob_hessian());
        }
        let start = block.start * k + block.start;
        self.policy
            .add_log_prob_hessian(theta, self.state, *z, alpha, &mut hess[start..], k)
    }
}
