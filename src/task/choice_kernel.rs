//! Rescorla–Wagner learning with a choice kernel (Wilson & Collins 2019, *eLife* 8:e49547,
//! box 2, model 5), optionally with a lapse.
//!
//! Per state s, values Q(s, ·) and a choice kernel CK(s, ·), all starting at 0. Each trial,
//!
//! ```text
//! P(a | s) = (1 − ε)·softmax_a(β·Q(s, ·) + β_c·CK(s, ·)) + ε/A        (ε = 0 without a lapse)
//! Q(s, a)  ← Q(s, a) + α·(r − Q(s, a))            (α⁺ for r − Q ≥ 0, α⁻ below, if dual)
//! CK(s, j) ← CK(s, j) + α_c·(1[j = a] − CK(s, j))  for every action j
//! ```
//!
//! The kernel is a habit: it grows for the actions chosen, whatever they paid, and with β_c > 0
//! makes them likelier; with β_c = 0 the model is RW + softmax
//! ([`Model`](crate::Model)`<RescorlaWagner, Softmax>`, tested equal to it). Parameters:
//! `alpha` (or `alpha_pos`, `alpha_neg`), `beta` (exp), `alpha_c` (logistic onto (0, 1)),
//! `beta_c` (identity), and `lapse` (logistic onto (0, 1)) with [`RwChoiceKernel::with_lapse`].
//! Missed trials ([`MISSED`](crate::data::MISSED)) add nothing and change nothing (the model
//! has no action-independent values).
//!
//! ```
//! use rlgrad::fit::FitModel;
//! use rlgrad::prelude::*;
//! use rlgrad::task::RwChoiceKernel;
//! let model = RwChoiceKernel::new(1, 2)?;
//! let names: Vec<&str> = model.layout().names().collect();
//! assert_eq!(names, ["alpha", "beta", "alpha_c", "beta_c"]);
//! let subject = Subject::new("s", vec![Session::bandit("1", vec![0, 0, 1], vec![1.0, 0.0, 1.0])?])?;
//! let theta = model.layout().theta_from_natural(&[
//!     ("alpha", 0.3), ("beta", 3.0), ("alpha_c", 0.5), ("beta_c", 1.0),
//! ])?;
//! assert!(model.likelihood(&subject)?.value(theta.view())? < 0.0);
//! # Ok::<(), rlgrad::Error>(())
//! ```

use rand::Rng;

use crate::ad::{LogLik, Scalar};
use crate::check;
use crate::data::{MISSED, Session, Subject};
use crate::env::{Bandit, Environment};
use crate::error::{Error, Result};
use crate::numeric::{draw, softmax_probabilities};
use crate::params::{ParamLayout, ParamSpec, Transform};

use super::pieces::{choice_kernel_update, lapse};
use super::{MAX_PARAMS, TaskModel, check_layout, check_natural};

/// RW + softmax with a choice kernel and an optional lapse (see the module docs).
#[derive(Clone, Debug)]
pub struct RwChoiceKernel {
    layout: ParamLayout,
    n_states: usize,
    n_actions: usize,
    dual: bool,
    lapse: bool,
    task: Bandit,
}

impl RwChoiceKernel {
    /// A single learning rate, for `n_states` × `n_actions` values; it simulates on a bandit
    /// whose arms pay with probabilities evenly spaced from 0.8 down to 0.2 (change it with
    /// [`RwChoiceKernel::with_task`]).
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for a size of 0, fewer than 2 actions, or tables beyond
    /// [`MAX_FLOATS`](crate::check::MAX_FLOATS).
    pub fn new(n_states: usize, n_actions: usize) -> Result<Self> {
        check::at_least_one("n_states", n_states)?;
        if n_actions < 2 {
            return Err(Error::invalid_option(
                "n_actions",
                n_actions,
                "must be at least 2",
            ));
        }
        // The tables hold scalars of up to 1 + 12 + 12² numbers (a Hessian at MAX_PARAMS).
        check::floats(
            &[
                n_states,
                n_actions,
                1 + MAX_PARAMS + MAX_PARAMS * MAX_PARAMS,
            ],
            "n_states x n_actions",
            n_states.saturating_mul(n_actions),
            "the values and the choice kernel, with their second derivatives",
        )?;
        let probs = (0..n_actions)
            .map(|j| 0.8 - 0.6 * j as f64 / (n_actions - 1) as f64)
            .collect();
        let mut model = RwChoiceKernel {
            layout: ParamLayout::new(Vec::new())?,
            n_states,
            n_actions,
            dual: false,
            lapse: false,
            task: Bandit::new(probs)?,
        };
        model.layout = model.specs()?;
        Ok(model)
    }

    /// Two learning rates: `alpha_pos` for prediction errors ≥ 0, `alpha_neg` below.
    pub fn dual(mut self) -> Result<Self> {
        self.dual = true;
        self.layout = self.specs()?;
        Ok(self)
    }

    /// Adds the lapse ε (parameter `lapse`, last).
    pub fn with_lapse(mut self) -> Result<Self> {
        self.lapse = true;
        self.layout = self.specs()?;
        Ok(self)
    }

    /// The bandit the model simulates on (its number of arms must be the model's actions, and
    /// the model must have one state).
    ///
    /// # Errors
    /// [`Error::InvalidOption`] if the bandit does not fit the model.
    pub fn with_task(mut self, bandit: Bandit) -> Result<Self> {
        if bandit.n_actions() != self.n_actions || self.n_states != 1 {
            return Err(Error::invalid_option(
                "task",
                format!("a bandit of {} arms", bandit.n_actions()),
                format!(
                    "does not fit a model of {} states x {} actions (one state, as many arms)",
                    self.n_states, self.n_actions
                ),
            ));
        }
        self.task = bandit;
        Ok(self)
    }

    /// Replaces the transform of the parameter `name` (after the variants are chosen).
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

    fn specs(&self) -> Result<ParamLayout> {
        let unit = || Transform::logistic(0.0, 1.0);
        let mut specs = Vec::new();
        if self.dual {
            specs.push(ParamSpec::new("alpha_pos", unit()?));
            specs.push(ParamSpec::new("alpha_neg", unit()?));
        } else {
            specs.push(ParamSpec::new("alpha", unit()?));
        }
        specs.push(ParamSpec::new("beta", Transform::Exp));
        specs.push(ParamSpec::new("alpha_c", unit()?));
        specs.push(ParamSpec::new("beta_c", Transform::Identity));
        if self.lapse {
            specs.push(ParamSpec::new("lapse", unit()?));
        }
        let layout = ParamLayout::new(specs)?;
        check_layout(&layout)?;
        Ok(layout)
    }

    /// (α⁺, α⁻, β, α_c, β_c, ε) from ψ.
    #[inline(always)]
    fn params<T: Scalar>(&self, psi: &[T]) -> [T; 6] {
        let (rates, rest) = psi.split_at(if self.dual { 2 } else { 1 });
        let eps = if self.lapse {
            rest[3]
        } else {
            T::constant(0.0)
        };
        [
            rates[0],
            rates[rates.len() - 1],
            rest[0],
            rest[1],
            rest[2],
            eps,
        ]
    }

    /// The probabilities of the actions of state `s` (f64 only: for simulation).
    fn probabilities(&self, p: &[f64; 6], q: &[f64], ck: &[f64], out: &mut [f64]) {
        softmax_probabilities(|j| p[2] * q[j] + p[4] * ck[j], out);
        for o in out.iter_mut() {
            *o = lapse(*o, p[5], self.n_actions);
        }
    }
}

impl TaskModel for RwChoiceKernel {
    fn layout(&self) -> &ParamLayout {
        &self.layout
    }

    fn check_params(&self, psi: &[f64]) -> Result<()> {
        check_natural(&self.layout, psi)?;
        let names = self.layout.names().collect::<Vec<_>>();
        for (name, &v) in names.iter().zip(psi) {
            if name.starts_with("alpha") || *name == "lapse" {
                check::unit_parameter(name, v)?;
            }
        }
        Ok(())
    }

    fn check_subject(&self, subject: &Subject) -> Result<()> {
        subject.check_shape(self.n_states, self.n_actions)
    }

    fn session_log_lik<T: Scalar>(&self, psi: &[T], session: &Session) -> T {
        let [a_pos, a_neg, beta, alpha_c, beta_c, eps] = self.params(psi);
        let na = self.n_actions;
        // Per evaluation, not per trial: the tables, sized at construction.
        let mut q = vec![T::constant(0.0); self.n_states * na];
        let mut ck = q.clone();
        let mut z = vec![T::constant(0.0); na];
        let mut ll = LogLik::new();
        let (states, actions, rewards) = (session.states(), session.actions(), session.rewards());
        for t in 0..states.len() {
            if actions[t] == MISSED {
                continue;
            }
            let (row, a) = (states[t] as usize * na, actions[t] as usize);
            for j in 0..na {
                z[j] = q[row + j] * beta + ck[row + j] * beta_c;
            }
            if self.lapse {
                let mut soft = LogLik::new();
                soft.add_ln_softmax(&z, a);
                ll.add(lapse(soft.total().exp(), eps, na).ln());
            } else {
                ll.add_ln_softmax(&z, a);
            }
            let delta = -q[row + a] + rewards[t];
            let rate = if delta.value() >= 0.0 { a_pos } else { a_neg };
            q[row + a] += delta * rate;
            choice_kernel_update(&mut ck[row..row + na], a, alpha_c);
        }
        ll.total()
    }

    fn simulate_session<R: Rng + ?Sized>(
        &self,
        psi: &[f64],
        n_trials: usize,
        session_id: &str,
        rng: &mut R,
    ) -> Result<Session> {
        self.check_params(psi)?;
        check::at_least_one("n_trials", n_trials)?;
        check::floats(&[n_trials], "n_trials", n_trials, "a simulated session")?;
        if self.n_states != 1 {
            return Err(Error::invalid_option(
                "n_states",
                self.n_states,
                "simulation plays a bandit (one state)",
            ));
        }
        let p = self.params(psi);
        let mut env = self.task.clone();
        let na = self.n_actions;
        let (mut q, mut ck, mut probs) = (vec![0.0; na], vec![0.0; na], vec![0.0; na]);
        let (mut actions, mut rewards) = (Vec::new(), Vec::new());
        check::reserve(&mut actions, n_trials, "n_trials", n_trials)?;
        check::reserve(&mut rewards, n_trials, "n_trials", n_trials)?;
        env.reset(rng);
        for _ in 0..n_trials {
            self.probabilities(&p, &q, &ck, &mut probs);
            let a = draw(na, |j| probs[j], rng.random());
            let r = env.step(a, rng)?.reward;
            actions.push(a as u32);
            rewards.push(r);
            let delta = r - q[a];
            q[a] += delta * if delta >= 0.0 { p[0] } else { p[1] };
            choice_kernel_update(&mut ck, a, p[3]);
        }
        Session::bandit(session_id, actions, rewards)
    }
}
