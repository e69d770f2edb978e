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

use crate::Likelihood;
use crate::check;
use crate::data::{NO_STATE, Session, Subject};
use crate::env::Environment;
use crate::error::{Error, Result};
use crate::learning::{LearningRule, Missed, Step, TableShape, order};
use crate::numeric::draw;
use crate::observation::{Context, Observation};
use crate::params::{NamedParams, ParamLayout, Transform};

/// A learning rule and an observation model, for `n_states × n_actions` values.
#[derive(Clone, Debug)]
pub struct Model<L, O> {
    rule: L,
    obs: O,
    shape: TableShape,
    layout: ParamLayout,
    n_rule: usize,
    missed: Missed,
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
    /// [`Error::InvalidOption`] if a size is 0, or if a buffer of the likelihood would exceed
    /// [`MAX_FLOATS`](crate::check::MAX_FLOATS): the values and their second-order
    /// sensitivities (S·A·K_rule² numbers, K_rule the rule's parameters), or more than
    /// [`MAX_ACTIONS`](crate::check::MAX_ACTIONS) actions; the error of
    /// [`Observation::check_shape`] if the observation model does not fit the table (a
    /// per-state [`Softmax`](crate::observation::Softmax) with another number of states);
    /// [`Error::InvalidLayout`] if the rule and the observation model use the same parameter
    /// name.
    pub fn new(rule: L, obs: O, n_states: usize, n_actions: usize) -> Result<Self> {
        let rule_params = rule.params();
        let n_rule = rule_params.len();
        check::table(
            n_states,
            n_actions,
            n_rule.saturating_mul(n_rule),
            "the values and their second-order sensitivities (n_states x n_actions x rule \
             parameters squared)",
        )?;
        if n_actions > check::MAX_ACTIONS {
            return Err(Error::invalid_option(
                "n_actions",
                n_actions,
                format!(
                    "a model has at most {} actions (MAX_ACTIONS: the observation model's \
                     n_actions x n_actions second derivatives fit in MAX_FLOATS)",
                    check::MAX_ACTIONS
                ),
            ));
        }
        obs.check_shape(n_states, n_actions)?;
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
            missed: Missed::Skip,
        })
    }

    /// Sets what a missed trial (no response) does (see [`Missed`]; the default is
    /// [`Missed::Skip`]).
    pub fn with_missed(mut self, missed: Missed) -> Self {
        self.missed = missed;
        self
    }

    /// What a missed trial does.
    pub fn missed(&self) -> Missed {
        self.missed
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
        self.check_psi(&vals[..self.n_params()])?;
        Ok(Natural { vals })
    }

    /// As [`Model::natural_checked`], into `vals` (ψ, g′, g″: 3K long), allocating nothing
    /// unless it fails (for callers that evaluate many θ, such as a cohort).
    ///
    /// # Panics
    /// If `vals` is not 3K long.
    pub(crate) fn natural_checked_into(
        &self,
        theta: ArrayView1<f64>,
        vals: &mut [f64],
    ) -> Result<()> {
        self.layout.natural_with_derivatives_into(theta, vals)?;
        self.check_psi(&vals[..self.n_params()])
    }

    /// ψ in the range the components accept.
    fn check_psi(&self, psi: &[f64]) -> Result<()> {
        self.rule.check_params(&psi[..self.n_rule])?;
        self.obs.check_params(&psi[self.n_rule..])
    }

    /// Simulates one session of `n_trials` choices in an environment, with parameters θ.
    ///
    /// The agent starts from the rule's initial values, chooses by the observation model's
    /// probabilities, and learns from each outcome; when an episode ends the environment is
    /// reset (values carry over within the session). The agent responds on every trial: a
    /// simulated session has no missed trials.
    ///
    /// # Errors
    /// θ as in [`Model::natural`]; [`Error::InvalidOption`] if the environment's actions or
    /// states do not fit the model's table, or `n_trials` is 0 or above
    /// [`MAX_FLOATS`](crate::check::MAX_FLOATS); [`Error::IndexOutOfRange`]
    /// for a state or next state from the environment outside the model's table, and
    /// [`Error::NonFiniteInput`] for a non-finite reward from it, each naming the trial; an
    /// error returned by the environment's [`Environment::step`] is passed on.
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
        check::at_least_one("n_trials", n_trials)?;
        if env.n_actions() != self.shape.n_actions || env.n_states() > self.shape.n_states {
            return Err(Error::invalid_option(
                "environment",
                format!("{} states x {} actions", env.n_states(), env.n_actions()),
                format!(
                    "does not fit the model's {} states x {} actions",
                    self.shape.n_states, self.shape.n_actions
                ),
            ));
        }
        let (psi_l, psi_o) = nat.psi().split_at(self.n_rule);
        let a_n = self.shape.n_actions;
        let mut q = vec![0.0; self.shape.len()];
        self.rule
            .reset::<{ order::VALUE }>(psi_l, self.shape, &mut q, &mut [], &mut []);
        let mut probs = vec![0.0; a_n];
        // The session's columns, sized before anything is allocated, and allocated fallibly.
        check::floats(
            &[n_trials],
            "n_trials",
            n_trials,
            "a simulated session's columns",
        )?;
        let (mut states, mut actions, mut next) = (Vec::new(), Vec::new(), Vec::new());
        let mut rewards = Vec::new();
        for column in [&mut states, &mut actions, &mut next] {
            check::reserve(column, n_trials, "n_trials", n_trials)?;
        }
        check::reserve(&mut rewards, n_trials, "n_trials", n_trials)?;
        let n_states = self.shape.n_states;
        // The environment is the caller's code: check what it hands back. Each message is
        // built only on failure.
        let from_env = |what: &str, t: usize| {
            format!("{what} from the environment at trial {t} of simulated session `{session_id}`")
        };
        let mut s = env.reset(rng);
        let mut previous = None;
        for t in 0..n_trials {
            if s >= n_states {
                return Err(Error::index_out_of_range(from_env("state", t), s, n_states));
            }
            let row = self.shape.index(s, 0);
            let context = Context { state: s, previous };
            self.obs
                .probabilities(psi_o, &q[row..row + a_n], context, &mut probs);
            if probs.iter().any(|p| !p.is_finite()) {
                return Err(Error::non_finite_result(
                    format!(
                        "choice probabilities at trial {t} of simulated session `{session_id}`"
                    ),
                    theta.to_vec(),
                ));
            }
            let a = draw(a_n, |j| probs[j], rng.random());
            let outcome = env.step(a, rng)?;
            check::finite_input_with(outcome.reward, || from_env("reward", t))?;
            if let Some(ns) = outcome.next_state.filter(|&ns| ns >= n_states) {
                return Err(Error::index_out_of_range(
                    from_env("next state", t),
                    ns,
                    n_states,
                ));
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
