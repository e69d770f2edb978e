//! A policy's log-probability at a fixed (state, action) as a [`Term`] over θ, so the shared
//! derivative checker (`rlgrad::testing::check_term`) checks a policy's score like any other
//! derivative.
//!
//! - [`PolicyTerm::marginal`]: value log π(a | s; θ), gradient its score
//!   ([`Policy::add_log_prob_and_score`]) written into the state's block of a dense gradient;
//! - [`PolicyTerm::decision`]: value log π(a | s, ξ; θ) for fixed noise ξ, gradient the score
//!   of the decision (a, ξ) ([`Policy::add_decision_score`]).
//!
//! No exact Hessian: the checker's Hessian is then finite differences of the gradient, which
//! checks that the gradient is itself smooth and consistent.

use ndarray::{ArrayView1, ArrayViewMut1};
use rlgrad::policy::Policy;
use rlgrad::{Result, Term};

/// log π(a | s[, ξ]; θ) of `policy` as a term over θ (length `policy.dim()`).
pub struct PolicyTerm<'a, P: Policy> {
    policy: &'a P,
    state: usize,
    action: usize,
    /// `Some(ξ)`: the decision's log-probability given ξ; `None`: the marginal.
    noise: Option<P::Noise>,
}

impl<'a, P: Policy> PolicyTerm<'a, P> {
    /// log π(a | s; θ), the marginal (noise-free) log-probability.
    pub fn marginal(policy: &'a P, state: usize, action: usize) -> Self {
        PolicyTerm {
            policy,
            state,
            action,
            noise: None,
        }
    }

    /// log π(a | s, ξ; θ) for the fixed noise ξ of a decision.
    pub fn decision(policy: &'a P, state: usize, action: usize, noise: P::Noise) -> Self {
        PolicyTerm {
            policy,
            state,
            action,
            noise: Some(noise),
        }
    }
}

impl<P: Policy> Term for PolicyTerm<'_, P> {
    fn dim(&self) -> usize {
        self.policy.dim()
    }

    fn add_value_and_grad(
        &self,
        theta: ArrayView1<f64>,
        alpha: f64,
        mut grad: ArrayViewMut1<f64>,
    ) -> Result<f64> {
        rlgrad::check::term_args(self.dim(), theta, grad.len())?;
        let theta = theta.to_vec();
        let block = self.policy.score_block(self.state)?;
        // The policy adds alpha · score into a zeroed block; the block is then added into the
        // dense gradient, so the axpy semantics are the policy's own.
        let mut score = vec![0.0; block.len()];
        let value = match &self.noise {
            None => self.policy.add_log_prob_and_score(
                &theta,
                self.state,
                self.action,
                alpha,
                &mut score,
            )?,
            Some(noise) => self.policy.add_decision_score(
                &theta,
                self.state,
                self.action,
                noise,
                alpha,
                &mut score,
            )?,
        };
        for (g, s) in grad
            .slice_mut(ndarray::s![block.start..block.end])
            .iter_mut()
            .zip(&score)
        {
            *g += s;
        }
        Ok(value)
    }

    fn value(&self, theta: ArrayView1<f64>) -> Result<f64> {
        rlgrad::check::term_args(self.dim(), theta, self.dim())?;
        let theta = theta.to_vec();
        match &self.noise {
            None => self.policy.log_prob(&theta, self.state, self.action),
            // No noise-aware log_prob in the trait: the score call with alpha = 0 into a
            // scratch block gives the value alone.
            Some(noise) => {
                let mut scratch = vec![0.0; self.policy.score_block(self.state)?.len()];
                self.policy.add_decision_score(
                    &theta,
                    self.state,
                    self.action,
                    noise,
                    0.0,
                    &mut scratch,
                )
            }
        }
    }
}
