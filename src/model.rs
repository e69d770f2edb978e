//! [`Model`]: a learning rule and an observation model over a table of states × actions,
//! with the named parameter layout they share.
//!
//! θ is laid out as the rule's parameters followed by the observation model's, each with its
//! default transform unless changed with [`Model::with_transform`].
//!
//! ```
//! use rlgrad::prelude::*;
//! let model = Model::new(RescorlaWagner::dual(), Softmax::with_perseveration(), 1, 2)?
//!     .with_transform("beta", Transform::logistic(0.0, 50.0)?)?;
//! let names: Vec<&str> = model.layout().names().collect();
//! assert_eq!(names, ["alpha_pos", "alpha_neg", "beta", "kappa"]);
//! # Ok::<(), rlgrad::Error>(())
//! ```

use ndarray::ArrayView1;
use rand::Rng;

use crate::data::{Session, Subject, NO_STATE};
use crate::env::Environment;
use crate::error::{Error, Result};
use crate::learning::{order, LearningRule, Step, TableShape};
use crate::params::{NamedParams, ParamLayout, Transform};
use crate::{Likelihood, Observation};

/// A learning rule and an observation model, for `n_states × n_actions` values.
#[derive(Clone, Debug)]
pub struct Model<L, O> {
    rule: L,
    obs: O,
    shape: TableShape,
    layout: ParamLayout,
    n_rule: usize,
}

/// Natural parameters of a model at some θ, with the transforms' derivatives (ψ, g′, g″ in
/// one allocation).
pub(crate) struct Natural {
    vals: Vec<f64>,
}

impl Natural {
    /// ψ = g(θ).
    pub fn psi(&self) -> &[f64] {
        &self.vals[..self.vals.len() / 3]
    }
    /// g′(θ).
    pub fn d1(&self) -> &[f64] {
        let k = self.vals.len() / 3;
        &self.vals[k..2 * k]
    }
    /// g″(θ).
    pub fn d2(&self) -> &[f64] {
        let k = self.vals.len() / 3;
        &self.vals[2 * k..]
    }
}

impl<L: LearningRule, O: Observation> Model<L, O> {
    /// A model over `n_states` states and `n_actions` actions.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] if a size is 0; [`Error::InvalidLayout`] if the rule and the
    /// observation model use the same parameter name.
    pub fn new(rule: L, obs: O, n_states: usize, n_actions: usize) -> Result<Self> {
        for (name, v) in [("n_states", n_states), ("n_actions", n_actions)] {
            if v == 0 {
                return Err(Error::InvalidOption {
                    name: name.to_string(),
                    value: v.to_string(),
                    reason: "must be at least 1".to_string(),
                });
            }
        }
        let rule_params = rule.params();
        // The sensitivity tables hold S·A·K² entries: that must be a size a machine can have.
        let k = rule_params.len() + obs.params().len();
        let entries = [n_states, n_actions, k.max(1), k.max(1)]
            .iter()
            .try_fold(1usize, |acc, &x| acc.checked_mul(x))
            .filter(|&n| n <= isize::MAX as usize / 8);
        if entries.is_none() {
            return Err(Error::InvalidOption {
                name: "n_states x n_actions".to_string(),
                value: format!("{n_states} x {n_actions}"),
                reason: "the value table and its sensitivities would not fit in memory".to_string(),
            });
        }
        let n_rule = rule_params.len();
        let mut specs = rule_params;
        specs.extend(obs.params());
        let layout = ParamLayout::new(specs)?;
        Ok(Model {
            rule,
            obs,
            shape: TableShape {
                n_states,
                n_actions,
            },
            layout,
            n_rule,
        })
    }

    /// Replaces the transform of the parameter `name`.
    ///
    /// # Errors
    /// As [`ParamLayout::with_transform`].
    pub fn with_transform(mut self, name: &str, transform: Transform) -> Result<Self> {
        self.layout = self.layout.with_transform(name, transform)?;
        Ok(self)
    }

    /// The named layout of θ.
    pub fn layout(&self) -> &ParamLayout {
        &self.layout
    }
    /// Number of parameters K.
    pub fn n_params(&self) -> usize {
        self.layout.len()
    }
    /// Number of the learning rule's parameters (they come first in θ).
    pub fn n_rule_params(&self) -> usize {
        self.n_rule
    }
    /// The learning rule.
    pub fn rule(&self) -> &L {
        &self.rule
    }
    /// The observation model.
    pub fn observation(&self) -> &O {
        &self.obs
    }
    /// The value table's shape.
    pub fn shape(&self) -> TableShape {
        self.shape
    }

    /// The log-likelihood of one subject's choices, as a [`Term`](crate::Term).
    ///
    /// # Errors
    /// [`Error::InvalidTrial`] if an action or state does not fit this model's table, naming
    /// subject, session and trial.
    pub fn likelihood<'a>(&'a self, subject: &'a Subject) -> Result<Likelihood<'a, L, O>> {
        subject.check_shape(self.shape.n_states, self.shape.n_actions)?;
        Ok(Likelihood::new(self, subject))
    }

    /// Named natural parameters ψ = g(θ).
    ///
    /// # Errors
    /// As [`ParamLayout::natural`].
    pub fn natural(&self, theta: ArrayView1<f64>) -> Result<NamedParams> {
        self.layout.natural(theta)
    }

    /// ψ, g′ and g″ at θ, checked: θ finite and of the right length, every ψ finite (a
    /// transform can overflow), and in the range the components accept.
    pub(crate) fn natural_checked(&self, theta: ArrayView1<f64>) -> Result<Natural> {
        let vals = self.layout.natural_with_derivatives(theta)?;
        let nat = Natural { vals };
        self.rule.check_params(&nat.psi()[..self.n_rule])?;
        self.obs.check_params(&nat.psi()[self.n_rule..])?;
        Ok(nat)
    }

    /// Simulates one session of `n_trials` choices in an environment, with parameters θ.
    ///
    /// The agent starts from the rule's initial values, chooses by the observation model's
    /// probabilities, and learns from each outcome; when an episode ends the environment is
    /// reset (values carry over within the session).
    ///
    /// # Errors
    /// θ as in [`Model::natural`]; [`Error::InvalidOption`] if the environment's actions or
    /// states do not fit the model's table, or `n_trials` is 0.
    ///
    /// ```
    /// use rand::SeedableRng;
    /// use rlgrad::prelude::*;
    /// let model = Model::new(RescorlaWagner::new(), Softmax::new(), 1, 2)?;
    /// let theta = model.layout().theta_from_natural(&[("alpha", 0.3), ("beta", 4.0)])?;
    /// let mut env = Bandit::new(vec![0.8, 0.2])?;
    /// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    /// let session = model.simulate(theta.view(), &mut env, 100, "s1", &mut rng)?;
    /// assert_eq!(session.len(), 100);
    /// # Ok::<(), rlgrad::Error>(())
    /// ```
    pub fn simulate<E: Environment, R: Rng + ?Sized>(
        &self,
        theta: ArrayView1<f64>,
        env: &mut E,
        n_trials: usize,
        session_id: &str,
        rng: &mut R,
    ) -> Result<Session> {
        let nat = self.natural_checked(theta)?;
        if n_trials == 0 {
            return Err(Error::InvalidOption {
                name: "n_trials".to_string(),
                value: "0".to_string(),
                reason: "a session needs at least one trial".to_string(),
            });
        }
        if env.n_actions() != self.shape.n_actions || env.n_states() > self.shape.n_states {
            return Err(Error::InvalidOption {
                name: "environment".to_string(),
                value: format!("{} states x {} actions", env.n_states(), env.n_actions()),
                reason: format!(
                    "does not fit the model's {} states x {} actions",
                    self.shape.n_states, self.shape.n_actions
                ),
            });
        }
        let (psi_l, psi_o) = nat.psi().split_at(self.n_rule);
        let a_n = self.shape.n_actions;
        let mut q = vec![0.0; self.shape.len()];
        self.rule
            .reset::<{ order::VALUE }>(psi_l, self.shape, &mut q, &mut [], &mut []);
        let mut probs = vec![0.0; a_n];
        let (mut states, mut actions, mut rewards, mut next) = (
            Vec::with_capacity(n_trials),
            Vec::with_capacity(n_trials),
            Vec::with_capacity(n_trials),
            Vec::with_capacity(n_trials),
        );
        let mut s = env.reset(rng);
        let mut previous = None;
        for t in 0..n_trials {
            // The environment is the caller's code: check what it hands back.
            if s >= self.shape.n_states {
                return Err(Error::InvalidOption {
                    name: "environment".to_string(),
                    value: format!("state {s} at trial {t} of simulated session `{session_id}`"),
                    reason: format!(
                        "is not below the model's n_states = {}",
                        self.shape.n_states
                    ),
                });
            }
            let row = self.shape.index(s, 0);
            self.obs
                .probabilities(psi_o, &q[row..row + a_n], previous, &mut probs);
            if probs.iter().any(|p| !p.is_finite()) {
                return Err(Error::NonFiniteResult {
                    what: format!(
                        "choice probabilities at trial {t} of simulated session `{session_id}`"
                    ),
                    theta: theta.to_vec(),
                });
            }
            let a = sample_index(&probs, rng);
            let outcome = env.step(a, rng);
            if !outcome.reward.is_finite() {
                return Err(Error::InvalidOption {
                    name: "environment".to_string(),
                    value: format!(
                        "reward {} at trial {t} of simulated session `{session_id}`",
                        outcome.reward
                    ),
                    reason: "is not finite".to_string(),
                });
            }
            if let Some(ns) = outcome.next_state.filter(|&ns| ns >= self.shape.n_states) {
                return Err(Error::InvalidOption {
                    name: "environment".to_string(),
                    value: format!(
                        "next state {ns} at trial {t} of simulated session `{session_id}`"
                    ),
                    reason: format!(
                        "is not below the model's n_states = {}",
                        self.shape.n_states
                    ),
                });
            }
            states.push(s as u32);
            actions.push(a as u32);
            rewards.push(outcome.reward);
            next.push(outcome.next_state.map_or(NO_STATE, |x| x as u32));
            let step = Step {
                state: s,
                action: a,
                reward: outcome.reward,
                next_state: outcome.next_state,
            };
            self.rule
                .update::<{ order::VALUE }>(psi_l, self.shape, step, &mut q, &mut [], &mut []);
            previous = Some(a);
            s = match outcome.next_state {
                Some(ns) => ns,
                None => env.reset(rng),
            };
        }
        Session::new(session_id, states, actions, rewards)?.with_next_states(next)
    }
}

/// Draws an index with the given probabilities (which sum to 1 up to rounding).
pub(crate) fn sample_index<R: Rng + ?Sized>(probs: &[f64], rng: &mut R) -> usize {
    let u: f64 = rng.random();
    let mut acc = 0.0;
    let mut last = 0;
    for (j, &p) in probs.iter().enumerate() {
        if p > 0.0 {
            last = j;
        }
        acc += p;
        if u < acc {
            return j;
        }
    }
    last
}
