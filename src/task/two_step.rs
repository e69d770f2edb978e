//! The two-step task's hybrid model-based / model-free learner (Daw, Gershman, Seymour, Dayan
//! & Dolan 2011, *Neuron* 69:1204–1215).
//!
//! **Task.** Each trial has two stages. At stage 1 (state 0) the subject picks one of two
//! actions; action a leads to stage-2 state 1 + a with the common probability (0.7) and to the
//! other one with the rare probability (0.3). At stage 2 (state 1 or 2) the subject picks one
//! of two actions and is paid (usually 1 or 0, with probabilities that drift slowly:
//! [`TwoStepTask`]).
//!
//! **Model.** Model-free values Q_MF(0, a) at stage 1 and Q(s, b) at stage 2, all starting at
//! 0, learned by SARSA(λ) after each trial (a₁ at stage 1, then s₂, a₂ and the reward r):
//!
//! ```text
//! δ₁ = Q(s₂, a₂) − Q_MF(0, a₁)        Q_MF(0, a₁) ← Q_MF(0, a₁) + α₁ δ₁
//! δ₂ = r − Q(s₂, a₂)                  Q(s₂, a₂)  ← Q(s₂, a₂) + α₂ δ₂
//!                                     Q_MF(0, a₁) ← Q_MF(0, a₁) + α₁ λ δ₂
//! ```
//!
//! Model-based stage-1 values from the known transitions and the best stage-2 values,
//! Q_MB(0, a) = P(1 + a | a)·max_b Q(1 + a, b) + P(2 − a | a)·max_b Q(2 − a, b), and the choices:
//!
//! ```text
//! Q_net(a) = w·Q_MB(0, a) + (1 − w)·Q_MF(0, a)
//! P(a₁ = a) ∝ exp(β₁·Q_net(a) + κ·1[a = previous a₁])     P(a₂ = b | s₂) ∝ exp(β₂·Q(s₂, b))
//! ```
//!
//! κ is the stickiness of Daw et al.'s rep(a) term outside β₁ (their p is κ/β₁), as in the
//! crate's [`Softmax::with_perseveration`](crate::observation::Softmax::with_perseveration).
//!
//! **The maximum's derivative.** max_b Q(s, b) is not differentiable where the two values
//! tie. There the derivative returned is that of action 0's value (a one-sided derivative);
//! ties of values that depend on the parameters have probability zero under continuous
//! parameters, and the derivative tests skip cases within a small margin of one.
//!
//! **Data layout.** One row per stage, in order: a stage-1 row (state 0, its action, reward
//! ignored; `next_state`, if recorded, the stage-2 state), then the stage-2 row (state 1 or 2,
//! its action, the reward). Actions are 0 and 1. A missed stage-1 choice
//! ([`MISSED`](crate::data::MISSED)) may have its stage-2 row or not (if it has one, that row's
//! choice is still explained by the stage-2 values, and nothing is learned); a missed stage-2
//! choice keeps the stage-1 choice's probability but nothing is learned on that trial (δ₁
//! needs the stage-2 action). The model has no action-independent values, so missed trials
//! never change them.
//!
//! **Presets.** [`TwoStep::hybrid`] (α₁, α₂, λ, w, β₁, β₂, κ), the nested
//! [`TwoStep::model_free`] (w = 0) and [`TwoStep::model_based`] (w = 1: α₁ and λ have no
//! effect and are dropped).
//!
//! ```
//! use rlgrad::fit::FitModel;
//! use rlgrad::prelude::*;
//! use rlgrad::task::TwoStep;
//! // Two trials: stage 1 (state 0), stage 2 (state 1 or 2) with the reward.
//! let session = Session::new("1", vec![0, 1, 0, 2], vec![0, 1, 1, 0], vec![0.0, 1.0, 0.0, 0.0])?;
//! let subject = Subject::new("s1", vec![session])?;
//! let model = TwoStep::hybrid();
//! let theta = model.layout().theta_from_natural(&[
//!     ("alpha_1", 0.5), ("alpha_2", 0.5), ("lambda", 0.6), ("w", 0.5),
//!     ("beta_1", 3.0), ("beta_2", 3.0), ("kappa", 0.2),
//! ])?;
//! let lik = model.likelihood(&subject)?;
//! // Trial 1: both stages at chance (ln ½ each); trial 2's stage 2 (state 2, unvisited) at
//! // chance; trial 2's stage 1: action 0 was rewarded (and is sticky), so choosing 1 has
//! // probability below ½.
//! assert!(lik.value(theta.view())? < 4.0 * 0.5f64.ln());
//! # Ok::<(), rlgrad::Error>(())
//! ```

use rand::Rng;

use crate::ad::{LogLik, Scalar, max};
use crate::check;
use crate::data::{MISSED, NO_STATE, Session, Subject};
use crate::env::{Environment, TwoStepOptions, TwoStepTask};
use crate::error::{Error, Result};
use crate::numeric::logistic_pair;
use crate::params::{ParamLayout, ParamSpec, Transform};

use super::{TaskModel, check_layout, check_natural};

/// Where a parameter's value comes from: θ (its index in ψ) or a constant.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Source {
    Fitted(usize),
    Fixed(f64),
}

impl Source {
    #[inline(always)]
    fn get<T: Scalar>(self, psi: &[T]) -> T {
        match self {
            Source::Fitted(i) => psi[i],
            Source::Fixed(v) => T::constant(v),
        }
    }
}

/// The parameters of the two-step model, each fitted or fixed.
#[derive(Clone, Copy, Debug)]
struct Sources {
    alpha_1: Source,
    alpha_2: Source,
    lambda: Source,
    w: Source,
    beta_1: Source,
    beta_2: Source,
    kappa: Source,
}

/// The hybrid model of the two-step task and its nested variants (see the module docs).
#[derive(Clone, Debug)]
pub struct TwoStep {
    layout: ParamLayout,
    src: Sources,
    task: TwoStepOptions,
}

/// The natural parameters of one evaluation, read once per session.
#[derive(Clone, Copy)]
struct Params<T> {
    alpha_1: T,
    alpha_2: T,
    lambda: T,
    w: T,
    beta_1: T,
    beta_2: T,
    kappa: T,
}

impl TwoStep {
    /// The hybrid learner: `alpha_1`, `alpha_2`, `lambda`, `w` (logistic onto (0, 1)),
    /// `beta_1`, `beta_2` (exp), `kappa` (identity).
    pub fn hybrid() -> Self {
        Self::with_fixed(None)
    }

    /// The pure model-free learner (w = 0): `alpha_1`, `alpha_2`, `lambda`, `beta_1`,
    /// `beta_2`, `kappa`.
    pub fn model_free() -> Self {
        Self::with_fixed(Some(0.0))
    }

    /// The pure model-based learner (w = 1): `alpha_2`, `beta_1`, `beta_2`, `kappa` (the
    /// stage-1 model-free values, and with them α₁ and λ, have no effect).
    pub fn model_based() -> Self {
        Self::with_fixed(Some(1.0))
    }

    fn with_fixed(w: Option<f64>) -> Self {
        let unit = || Transform::logistic(0.0, 1.0).expect("(0, 1) is a valid interval");
        let mut specs = Vec::new();
        let mut fitted = |name: &str, t: Transform| {
            specs.push(ParamSpec::new(name, t));
            Source::Fitted(specs.len() - 1)
        };
        let model_based = w == Some(1.0);
        let alpha_1 = if model_based {
            Source::Fixed(0.0)
        } else {
            fitted("alpha_1", unit())
        };
        let alpha_2 = fitted("alpha_2", unit());
        let lambda = if model_based {
            Source::Fixed(0.0)
        } else {
            fitted("lambda", unit())
        };
        let w = match w {
            Some(v) => Source::Fixed(v),
            None => fitted("w", unit()),
        };
        let beta_1 = fitted("beta_1", Transform::Exp);
        let beta_2 = fitted("beta_2", Transform::Exp);
        let kappa = fitted("kappa", Transform::Identity);
        let layout = ParamLayout::new(specs).expect("distinct, non-empty names");
        check_layout(&layout).expect("at most 7 parameters");
        TwoStep {
            layout,
            src: Sources {
                alpha_1,
                alpha_2,
                lambda,
                w,
                beta_1,
                beta_2,
                kappa,
            },
            task: TwoStepOptions::default(),
        }
    }

    /// The named layout of θ (also [`TaskModel::layout`]; this inherent method saves naming the
    /// trait where [`FitModel`](crate::fit::FitModel) is in scope too).
    pub fn layout(&self) -> &ParamLayout {
        &self.layout
    }

    /// Replaces the transform of the parameter `name`.
    ///
    /// # Errors
    /// As [`ParamLayout::with_transform`].
    pub fn with_transform(mut self, name: &str, transform: Transform) -> Result<Self> {
        self.layout = self.layout.with_transform(name, transform)?;
        Ok(self)
    }

    /// The task: the model's transition probabilities are its common probability (after
    /// stage-1 action a, state 1 + a with that probability), and it is the task the model
    /// simulates (default: Daw et al. 2011, [`TwoStepOptions::default`]).
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for invalid options (as [`TwoStepTask::random`]).
    pub fn with_task(mut self, task: TwoStepOptions) -> Result<Self> {
        task.check()?;
        self.task = task;
        Ok(self)
    }

    /// The task's options.
    pub fn task(&self) -> TwoStepOptions {
        self.task
    }

    fn params<T: Scalar>(&self, psi: &[T]) -> Params<T> {
        let s = &self.src;
        Params {
            alpha_1: s.alpha_1.get(psi),
            alpha_2: s.alpha_2.get(psi),
            lambda: s.lambda.get(psi),
            w: s.w.get(psi),
            beta_1: s.beta_1.get(psi),
            beta_2: s.beta_2.get(psi),
            kappa: s.kappa.get(psi),
        }
    }
}

/// The learner's values: stage-1 model-free values and the stage-2 values of states 1 and 2.
#[derive(Clone, Copy)]
struct Values<T> {
    mf: [T; 2],
    q2: [[T; 2]; 2],
}

impl<T: Scalar> Values<T> {
    fn new() -> Self {
        let z = T::constant(0.0);
        Values {
            mf: [z; 2],
            q2: [[z; 2]; 2],
        }
    }

    /// The stage-1 logit difference x = z(0) − z(1) of P(a₁ = 0) = σ(x).
    #[inline(always)]
    fn stage_1_logit(&self, p: &Params<T>, common: f64, previous: Option<usize>) -> T {
        // Q_MB(0) − Q_MB(1) = (2c − 1)(m₁ − m₂), with m_s the best value in state s.
        let m1 = max(self.q2[0][0], self.q2[0][1]);
        let m2 = max(self.q2[1][0], self.q2[1][1]);
        let mb = (m1 - m2) * (2.0 * common - 1.0);
        let mf = self.mf[0] - self.mf[1];
        let net = mf + (mb - mf) * p.w;
        let x = net * p.beta_1;
        match previous {
            Some(0) => x + p.kappa,
            Some(_) => x - p.kappa,
            None => x,
        }
    }

    /// The stage-2 logit difference in state `s2` (1 or 2).
    #[inline(always)]
    fn stage_2_logit(&self, p: &Params<T>, s2: usize) -> T {
        let q = self.q2[s2 - 1];
        (q[0] - q[1]) * p.beta_2
    }

    /// SARSA(λ) after a complete trial.
    #[inline(always)]
    fn learn(&mut self, p: &Params<T>, a1: usize, s2: usize, a2: usize, reward: f64) {
        let q = self.q2[s2 - 1][a2];
        let delta_1 = q - self.mf[a1];
        let delta_2 = -q + reward;
        self.q2[s2 - 1][a2] += delta_2 * p.alpha_2;
        self.mf[a1] += (delta_1 + delta_2 * p.lambda) * p.alpha_1;
    }
}

/// The log-probability of choosing `a` when the logit difference (first minus second) is x.
#[inline(always)]
fn add_choice<T: Scalar>(ll: &mut LogLik<T>, x: T, a: usize) {
    ll.add_ln_sigmoid(if a == 0 { x } else { -x });
}

impl TaskModel for TwoStep {
    fn layout(&self) -> &ParamLayout {
        &self.layout
    }

    fn check_params(&self, psi: &[f64]) -> Result<()> {
        check_natural(&self.layout, psi)?;
        let p = self.params(psi);
        for (name, v) in [
            ("alpha_1", p.alpha_1),
            ("alpha_2", p.alpha_2),
            ("lambda", p.lambda),
            ("w", p.w),
        ] {
            check::unit_parameter(name, v)?;
        }
        Ok(())
    }

    fn check_subject(&self, subject: &Subject) -> Result<()> {
        for session in subject.sessions() {
            let bad =
                |t: usize, field: &'static str, value: String, reason: &str| Error::InvalidTrial {
                    subject: subject.id().to_string(),
                    session: session.id().to_string(),
                    trial: t,
                    field,
                    value,
                    reason: reason.to_string(),
                };
            let (states, actions) = (session.states(), session.actions());
            let next = session.next_states();
            // A stage-1 choice (not a missed one) whose stage-2 row never came.
            let unfinished = |open: Option<usize>| match open {
                Some(t1) if actions[t1] != MISSED => Err(bad(
                    t1,
                    "state",
                    "0".to_string(),
                    "a stage-1 choice must be followed by its stage-2 row (state 1 or 2; a \
                     missed stage-2 response is a row with an empty action)",
                )),
                _ => Ok(()),
            };
            // The stage-1 row waiting for its stage-2 row, if any.
            let mut open: Option<usize> = None;
            for t in 0..states.len() {
                let (s, a) = (states[t], actions[t]);
                if a != MISSED && a > 1 {
                    return Err(bad(
                        t,
                        "action",
                        a.to_string(),
                        "the two-step task has actions 0 and 1 (or a missed response)",
                    ));
                }
                match s {
                    0 => {
                        unfinished(open)?;
                        open = Some(t);
                    }
                    1 | 2 => {
                        let Some(t1) = open.take() else {
                            return Err(bad(
                                t,
                                "state",
                                s.to_string(),
                                "a stage-2 row (state 1 or 2) must follow its stage-1 row \
                                 (state 0)",
                            ));
                        };
                        if let Some(ns) = next
                            && ns[t1] != NO_STATE
                            && ns[t1] != s
                        {
                            return Err(bad(
                                t1,
                                "next_state",
                                ns[t1].to_string(),
                                &format!("differs from the state {s} of the next row"),
                            ));
                        }
                    }
                    _ => {
                        return Err(bad(
                            t,
                            "state",
                            s.to_string(),
                            "the two-step task has states 0 (stage 1), 1 and 2 (stage 2)",
                        ));
                    }
                }
            }
            unfinished(open)?;
        }
        Ok(())
    }

    fn session_log_lik<T: Scalar>(&self, psi: &[T], session: &Session) -> T {
        let p = self.params(psi);
        let mut v = Values::<T>::new();
        let mut ll = LogLik::new();
        let (states, actions, rewards) = (session.states(), session.actions(), session.rewards());
        let mut previous = None;
        // The stage-1 action of the trial in progress (None after a missed stage-1 choice).
        let mut a1: Option<usize> = None;
        for t in 0..states.len() {
            let (s, a) = (states[t] as usize, actions[t]);
            if s == 0 {
                a1 = (a != MISSED).then_some(a as usize);
                if let Some(a1) = a1 {
                    add_choice(&mut ll, v.stage_1_logit(&p, self.task.common, previous), a1);
                    previous = Some(a1);
                }
            } else if a != MISSED {
                let a2 = a as usize;
                add_choice(&mut ll, v.stage_2_logit(&p, s), a2);
                if let Some(a1) = a1.take() {
                    v.learn(&p, a1, s, a2, rewards[t]);
                }
            }
        }
        ll.total()
    }

    /// The gradient written out: the stage-2 values depend on α₂ alone and the stage-1
    /// model-free values on (α₁, α₂, λ), so the forward sensitivities are 1 and 3 numbers per
    /// value instead of K (about three times fewer operations than [`Grad`](crate::ad::Grad)).
    /// The values go through the same functions as [`TaskModel::session_log_lik`], so the
    /// log-likelihood is the same bits.
    fn session_value_and_grad(
        &self,
        psi: &[f64],
        session: &Session,
        grad: &mut [f64],
    ) -> Option<f64> {
        let p = self.params(psi);
        let c = 2.0 * self.task.common - 1.0;
        let mut v = Values::<f64>::new();
        // ∂Q(s, b)/∂α₂ and ∂Q_MF(0, a)/∂(α₁, α₂, λ).
        let mut dq2 = [[0.0f64; 2]; 2];
        let mut dmf = [[0.0f64; 3]; 2];
        // ∂ℓ/∂(α₁, α₂, λ, w, β₁, β₂, κ).
        let mut g = [0.0f64; 7];
        let mut ll = LogLik::<f64>::new();
        let (states, actions, rewards) = (session.states(), session.actions(), session.rewards());
        let mut previous = None;
        let mut a1: Option<usize> = None;
        // Adds ln σ(±x) with the sign of the choice, and returns ∂ℓ/∂x.
        let choose = |ll: &mut LogLik<f64>, x: f64, a: usize| -> f64 {
            if a == 0 {
                ll.add_ln_sigmoid_with_slope(x)
            } else {
                -ll.add_ln_sigmoid_with_slope(-x)
            }
        };
        for t in 0..states.len() {
            let (s, a) = (states[t] as usize, actions[t]);
            if s == 0 {
                a1 = (a != MISSED).then_some(a as usize);
                let Some(a1) = a1 else { continue };
                let x = v.stage_1_logit(&p, self.task.common, previous);
                let dl = choose(&mut ll, x, a1);
                // The maxima's arguments, with ad::max's rule (the first unless the second
                // is larger).
                let i1 = usize::from(v.q2[0][1] > v.q2[0][0]);
                let i2 = usize::from(v.q2[1][1] > v.q2[1][0]);
                let mb = (v.q2[0][i1] - v.q2[1][i2]) * c;
                let mf = v.mf[0] - v.mf[1];
                let net = mf + (mb - mf) * p.w;
                let (bw, bmf) = (p.beta_1 * p.w, p.beta_1 * (1.0 - p.w));
                let dmb = (dq2[0][i1] - dq2[1][i2]) * c;
                g[0] += dl * bmf * (dmf[0][0] - dmf[1][0]);
                g[1] += dl * (bw * dmb + bmf * (dmf[0][1] - dmf[1][1]));
                g[2] += dl * bmf * (dmf[0][2] - dmf[1][2]);
                g[3] += dl * p.beta_1 * (mb - mf);
                g[4] += dl * net;
                g[6] += match previous {
                    Some(0) => dl,
                    Some(_) => -dl,
                    None => 0.0,
                };
                previous = Some(a1);
            } else if a != MISSED {
                let (a2, row) = (a as usize, s - 1);
                let x = v.stage_2_logit(&p, s);
                let dl = choose(&mut ll, x, a2);
                g[1] += dl * p.beta_2 * (dq2[row][0] - dq2[row][1]);
                g[5] += dl * (v.q2[row][0] - v.q2[row][1]);
                if let Some(a1) = a1.take() {
                    let q = v.q2[row][a2];
                    let (d1, d2) = (q - v.mf[a1], rewards[t] - q);
                    let keep = 1.0 - p.alpha_1;
                    let m = &mut dmf[a1];
                    m[0] = keep * m[0] + d1 + p.lambda * d2;
                    m[1] = keep * m[1] + p.alpha_1 * (1.0 - p.lambda) * dq2[row][a2];
                    m[2] = keep * m[2] + p.alpha_1 * d2;
                    dq2[row][a2] = (1.0 - p.alpha_2) * dq2[row][a2] + d2;
                    v.learn(&p, a1, s, a2, rewards[t]);
                }
            }
        }
        let src = &self.src;
        for (source, gk) in [
            src.alpha_1,
            src.alpha_2,
            src.lambda,
            src.w,
            src.beta_1,
            src.beta_2,
            src.kappa,
        ]
        .into_iter()
        .zip(g)
        {
            if let Source::Fitted(i) = source {
                grad[i] += gk;
            }
        }
        Some(ll.total())
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
        let rows = n_trials.saturating_mul(2);
        check::floats(
            &[rows],
            "n_trials",
            n_trials,
            "a simulated two-step session",
        )?;
        let p = self.params(psi);
        let mut env = TwoStepTask::random(self.task, rng)?;
        let (mut states, mut actions, mut rewards, mut next) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for column in [&mut states, &mut actions, &mut next] {
            check::reserve(column, rows, "n_trials", n_trials)?;
        }
        check::reserve(&mut rewards, rows, "n_trials", n_trials)?;
        let mut v = Values::<f64>::new();
        let mut previous = None;
        // P(first option) = σ(x).
        let choose = |x: f64, u: f64| usize::from(u >= logistic_pair(x).0);
        for _ in 0..n_trials {
            let s0 = env.reset(rng);
            let a1 = choose(
                v.stage_1_logit(&p, self.task.common, previous),
                rng.random(),
            );
            let out = env.step(a1, rng)?;
            let s2 = out.next_state.ok_or_else(|| {
                Error::invalid_option("two-step task", "stage 1", "ended without a stage 2")
            })?;
            let a2 = choose(v.stage_2_logit(&p, s2), rng.random());
            let out2 = env.step(a2, rng)?;
            states.extend([s0 as u32, s2 as u32]);
            actions.extend([a1 as u32, a2 as u32]);
            rewards.extend([out.reward, out2.reward]);
            next.extend([s2 as u32, NO_STATE]);
            v.learn(&p, a1, s2, a2, out2.reward);
            previous = Some(a1);
        }
        Session::new(session_id, states, actions, rewards)?.with_next_states(next)
    }
}
