//! The Pavlovian go/no-go model, [`GoNoGo`] (its docs hold the equations, parameters and data
//! layout), and the task's behavioural read-out, [`cue_accuracy`].

use rand::Rng;

use super::pieces::{lapse, ln_lapse_logistic};
use super::{TaskModel, check_layout, check_natural};
use crate::ad::{LogLik, Scalar};
use crate::check;
use crate::data::{MISSED, Session, Subject};
use crate::env::{Environment, GoNoGoTask};
use crate::error::{Error, Result};
use crate::learning::Missed;
use crate::params::{ParamLayout, ParamSpec, Transform};

/// Number of cues.
const N_CUES: usize = 4;

/// Which parts a [`GoNoGo`] model has beyond the noise ξ, the rate ε and one sensitivity ρ
/// (the default: hBayesDM's `gng_m1`).
///
/// ```
/// use rlgrad::task::{GoNoGo, GoNoGoVariant};
/// let v = GoNoGoVariant { go_bias: true, ..GoNoGoVariant::default() };
/// assert_eq!(GoNoGo::new(v)?.variant(), GoNoGo::m2()?.variant());
/// # Ok::<(), rlgrad::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GoNoGoVariant {
    /// A go bias `b`, added to W(s, go).
    pub go_bias: bool,
    /// A Pavlovian bias `pi`: π·V(s) added to W(s, go).
    pub pavlovian: bool,
    /// Two sensitivities `rho_rew` (r > 0) and `rho_pun` (r < 0) instead of one `rho`.
    pub separate_sensitivities: bool,
}

/// Where each parameter sits in ψ.
#[derive(Clone, Copy, Debug)]
struct Slots {
    b: Option<usize>,
    pi: Option<usize>,
    rho_rew: usize,
    rho_pun: usize,
}

/// Index of ξ in ψ.
const XI: usize = 0;
/// Index of ε in ψ.
const EPSILON: usize = 1;

/// The Pavlovian go/no-go model of Guitart-Masip, Huys, Fuentemilla, Dayan, Duzel & Dolan
/// (2012), "Go and no-go learning in reward and punishment: interactions between affect and
/// effect", NeuroImage 62:154–166; the family `gng_m1`–`gng_m4` of hBayesDM (Ahn, Haines &
/// Zhang 2017, Computational Psychiatry 1:24–57) is the same.
///
/// **The task** ([`GoNoGoTask`]): four cues cross the action (go, no-go) with the valence
/// (win, avoid losing). Data layout, one row per trial:
///
/// | column | values |
/// |---|---|
/// | state | the cue: 0 go to win, 1 go to avoid losing, 2 no-go to win, 3 no-go to avoid losing |
/// | action | 0 no-go, 1 go, or [`MISSED`] (no usable response) |
/// | reward | the outcome: +1 or 0 on the win cues, 0 or −1 on the avoid cues (any finite number is accepted) |
///
/// **The model.** Per cue s, instrumental values Q(s, go), Q(s, no-go) and a Pavlovian
/// (stimulus) value V(s), all 0 at the start of each session. On a trial with cue s:
///
/// ```text
/// W(s, go)    = Q(s, go) + b + π·V(s)
/// W(s, no-go) = Q(s, no-go)
/// p(go | s)   = (1 − ξ)·σ(W(s, go) − W(s, no-go)) + ξ/2
/// ```
///
/// and after action a with outcome r:
///
/// ```text
/// Q(s, a) ← Q(s, a) + ε·(ρ·r − Q(s, a))
/// V(s)    ← V(s)    + ε·(ρ·r − V(s))
/// ```
///
/// with one sensitivity ρ, or two: ρ = ρ_rew for r > 0 and ρ_pun for r < 0 (r = 0 gives ρ·r = 0
/// either way, as in hBayesDM). ξ is the irreducible noise (a lapse towards a coin flip), ε
/// the learning rate, b the go bias and π the Pavlovian bias: a cue that predicts reward
/// (V > 0) invigorates go, one that predicts punishment (V < 0) suppresses it, whatever the
/// instrumental contingency.
///
/// **Parameters** (θ in this order; transforms as hBayesDM's, where its Φ-approximation onto
/// (0, 1) is a logistic here):
///
/// | preset | parameters (default transform) |
/// |---|---|
/// | [`GoNoGo::m1`] | `xi` (logistic (0, 1)), `epsilon` (logistic (0, 1)), `rho` (Exp) |
/// | [`GoNoGo::m2`] | m1 + `b` (Identity) |
/// | [`GoNoGo::m3`] | m2 + `pi` (Identity) |
/// | [`GoNoGo::m4`] | `xi`, `epsilon`, `b`, `pi`, `rho_rew` (Exp), `rho_pun` (Exp) |
///
/// in the order xi, epsilon, b, pi, rho (or rho_rew, rho_pun); [`GoNoGo::new`] takes any
/// combination ([`GoNoGoVariant`]). π is unconstrained by default, as in hBayesDM (the paper
/// takes π ≥ 0): a subject without a Pavlovian bias sits at π = 0 rather than at θ → −∞,
/// and a population prior on θ is a Gaussian on π itself. For π ≥ 0, use
/// [`GoNoGo::with_transform`]`("pi", Transform::Exp)`. ξ and ε must lie in [0, 1]
/// ([`TaskModel::check_params`]); b, π and the sensitivities may take any finite value under
/// another transform.
///
/// **Missed trials** ([`MISSED`] in the action column): by default a missed trial adds nothing
/// to the likelihood and changes no value. With [`GoNoGo::with_missed`]`(`[`Missed::Learn`]`)` the
/// action-independent part of the model, the Pavlovian value V(s), learns from the trial's
/// recorded outcome (V(s) ← V(s) + ε·(ρ·r − V(s))); Q does not (no action was taken). Without
/// π (m1, m2) V does not enter the choice, so the option then changes nothing.
///
/// ```
/// use rlgrad::prelude::*;
/// use rlgrad::task::{GoNoGo, TaskLikelihood, TaskModel};
/// let model = GoNoGo::m3()?;
/// let names: Vec<&str> = model.layout().names().collect();
/// assert_eq!(names, ["xi", "epsilon", "b", "pi", "rho"]);
/// // ξ, ε, b, π, ρ on the natural scale, and θ for them.
/// let psi = [0.05, 0.2, 0.3, 0.8, 4.0];
/// let session = model.simulate_session(&psi, 80, "1", &mut ChaCha8Rng::seed_from_u64(3))?;
/// let subject = Subject::new("s1", vec![session])?;
/// let lik = TaskLikelihood::new(&model, &subject)?;
/// let named: Vec<(&str, f64)> = model.layout().names().zip(psi).collect();
/// let theta = model.layout().theta_from_natural(&named)?;
/// let ll = lik.value(theta.view())?;
/// assert!(ll.is_finite() && ll < 0.0);
/// # Ok::<(), rlgrad::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct GoNoGo {
    layout: ParamLayout,
    variant: GoNoGoVariant,
    slots: Slots,
    missed: Missed,
    task: GoNoGoTask,
}

impl GoNoGo {
    /// The model with the parts of `variant` (parameters in the order xi, epsilon, b, pi,
    /// rho or rho_rew, rho_pun; default transforms as in the module docs), simulating on
    /// [`GoNoGoTask::new`].
    ///
    /// # Errors
    /// As [`ParamLayout::new`] and the task models' size check (neither can fail for the
    /// layouts built here; they are the shared constructors' checks).
    pub fn new(variant: GoNoGoVariant) -> Result<Self> {
        let mut specs = vec![
            ParamSpec::new("xi", Transform::unit()),
            ParamSpec::new("epsilon", Transform::unit()),
        ];
        let mut slot = |name: &str, t: Transform| {
            specs.push(ParamSpec::new(name, t));
            specs.len() - 1
        };
        let b = variant.go_bias.then(|| slot("b", Transform::Identity));
        let pi = variant.pavlovian.then(|| slot("pi", Transform::Identity));
        let (rho_rew, rho_pun) = if variant.separate_sensitivities {
            (
                slot("rho_rew", Transform::Exp),
                slot("rho_pun", Transform::Exp),
            )
        } else {
            let rho = slot("rho", Transform::Exp);
            (rho, rho)
        };
        let layout = ParamLayout::new(specs)?;
        check_layout(&layout)?;
        Ok(GoNoGo {
            layout,
            variant,
            slots: Slots {
                b,
                pi,
                rho_rew,
                rho_pun,
            },
            missed: Missed::Skip,
            task: GoNoGoTask::new(),
        })
    }

    /// hBayesDM's `gng_m1`: `xi`, `epsilon`, `rho` (Rescorla–Wagner with noise).
    ///
    /// # Errors
    /// As [`GoNoGo::new`].
    pub fn m1() -> Result<Self> {
        Self::new(GoNoGoVariant::default())
    }

    /// hBayesDM's `gng_m2`: m1 with a go bias `b`.
    ///
    /// # Errors
    /// As [`GoNoGo::new`].
    pub fn m2() -> Result<Self> {
        Self::new(GoNoGoVariant {
            go_bias: true,
            ..GoNoGoVariant::default()
        })
    }

    /// hBayesDM's `gng_m3`: m2 with a Pavlovian bias `pi`.
    ///
    /// # Errors
    /// As [`GoNoGo::new`].
    pub fn m3() -> Result<Self> {
        Self::new(GoNoGoVariant {
            go_bias: true,
            pavlovian: true,
            separate_sensitivities: false,
        })
    }

    /// hBayesDM's `gng_m4` (the winning model of the paper): m3 with separate reward and
    /// punishment sensitivities `rho_rew`, `rho_pun`.
    ///
    /// # Errors
    /// As [`GoNoGo::new`].
    pub fn m4() -> Result<Self> {
        Self::new(GoNoGoVariant {
            go_bias: true,
            pavlovian: true,
            separate_sensitivities: true,
        })
    }

    /// The same model with parameter `name` under `transform` (as
    /// [`ParamLayout::with_transform`]).
    ///
    /// ```
    /// use rlgrad::params::Transform;
    /// use rlgrad::task::GoNoGo;
    /// let model = GoNoGo::m3()?.with_transform("pi", Transform::Exp)?; // π ≥ 0, as in the paper
    /// assert_eq!(model.layout().specs()[3].transform, Transform::Exp);
    /// assert!(GoNoGo::m3()?.with_transform("gamma", Transform::Exp).is_err());
    /// # Ok::<(), rlgrad::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidLayout`] for a name the model does not have;
    /// [`Error::InvalidTransform`] for an invalid transform.
    pub fn with_transform(mut self, name: &str, transform: Transform) -> Result<Self> {
        self.layout = self.layout.with_transform(name, transform)?;
        Ok(self)
    }

    /// What missed trials do: [`Missed::Skip`] (the default) or [`Missed::Learn`], which
    /// teaches the Pavlovian value V(s) the trial's outcome (see the module docs).
    pub fn with_missed(mut self, missed: Missed) -> Self {
        self.missed = missed;
        self
    }

    /// The task simulated by [`TaskModel::simulate_session`] (its reward probability and cue
    /// order; [`GoNoGoTask::new`] by default).
    pub fn with_task(mut self, task: GoNoGoTask) -> Self {
        self.task = task;
        self
    }

    /// The model's parts.
    pub fn variant(&self) -> GoNoGoVariant {
        self.variant
    }

    /// What missed trials do ([`GoNoGo::with_missed`]).
    pub fn missed(&self) -> Missed {
        self.missed
    }

    /// The task simulated ([`GoNoGo::with_task`]).
    pub fn task(&self) -> &GoNoGoTask {
        &self.task
    }

    /// The named parameters θ and their transforms.
    pub fn layout(&self) -> &ParamLayout {
        &self.layout
    }

    /// ψ unpacked for the trial loop.
    #[inline(always)]
    fn params<T: Scalar>(&self, psi: &[T]) -> Params<T> {
        Params {
            xi: psi[XI],
            epsilon: psi[EPSILON],
            b: self.slots.b.map(|i| psi[i]),
            pi: self.slots.pi.map(|i| psi[i]),
            rho_rew: psi[self.slots.rho_rew],
            rho_pun: psi[self.slots.rho_pun],
        }
    }
}

/// The natural parameters of one evaluation.
#[derive(Clone, Copy)]
struct Params<T> {
    xi: T,
    epsilon: T,
    b: Option<T>,
    pi: Option<T>,
    rho_rew: T,
    rho_pun: T,
}

/// The values of one session: Q(s, no-go), Q(s, go) and V(s) per cue.
struct Values<T> {
    q: [[T; 2]; N_CUES],
    v: [T; N_CUES],
}

impl<T: Scalar> Values<T> {
    fn new() -> Self {
        Values {
            q: [[T::constant(0.0); 2]; N_CUES],
            v: [T::constant(0.0); N_CUES],
        }
    }

    /// W(s, go) − W(s, no-go) = Q(s, go) − Q(s, no-go) + b + π·V(s).
    #[inline(always)]
    fn go_logit(&self, p: &Params<T>, s: usize) -> T {
        let mut x = self.q[s][1] - self.q[s][0];
        if let Some(b) = p.b {
            x += b;
        }
        if let Some(pi) = p.pi {
            x += pi * self.v[s];
        }
        x
    }

    /// After cue `s`, action `a` (or [`MISSED`]) and outcome `r`: Q(s, a) and V(s) move
    /// towards ρ·r (V only when it enters the model, and on a missed trial only under `Missed::Learn`).
    #[inline(always)]
    fn learn(&mut self, p: &Params<T>, s: usize, a: u32, r: f64, learn_missed: bool) {
        let missed = a == MISSED;
        let pavlovian = p.pi.is_some() && (!missed || learn_missed);
        if missed && !pavlovian {
            return;
        }
        let target = if r > 0.0 {
            p.rho_rew * r
        } else {
            p.rho_pun * r
        };
        if pavlovian {
            self.v[s] += (target - self.v[s]) * p.epsilon;
        }
        if !missed {
            let q = &mut self.q[s][a as usize];
            *q += (target - *q) * p.epsilon;
        }
    }
}

/// Checks that every state of `subject` is a cue (0–3) and every action 0, 1 or [`MISSED`].
fn check_cues(subject: &Subject) -> Result<()> {
    for session in subject.sessions() {
        let bad = |t: usize, field: &'static str, value: u32, reason: &str| Error::InvalidTrial {
            subject: subject.id().to_string(),
            session: session.id().to_string(),
            trial: t,
            field,
            value: value.to_string(),
            reason: reason.to_string(),
        };
        let states = session.states();
        if let Some(t) = states.iter().position(|&s| s as usize >= N_CUES) {
            let reason = "is not a cue of the go/no-go task (0 to 3)";
            return Err(bad(t, "state", states[t], reason));
        }
        let actions = session.actions();
        if let Some(t) = actions.iter().position(|&a| a > 1 && a != MISSED) {
            let reason = "is not 0 (no-go), 1 (go) or missed";
            return Err(bad(t, "action", actions[t], reason));
        }
    }
    Ok(())
}

/// The classic behavioural read-out of the task: per cue (0 go to win, 1 go to avoid losing,
/// 2 no-go to win, 3 no-go to avoid losing), how many responses were correct (go on cues 0
/// and 1, no-go on 2 and 3) out of how many, over all of `subject`'s sessions; missed trials
/// are not counted. A Pavlovian bias shows as go to win above no-go to win (and no-go to
/// avoid losing above go to avoid losing).
///
/// ```
/// use rlgrad::data::{MISSED, Session, Subject};
/// use rlgrad::task::cue_accuracy;
/// let s = Session::new("1", vec![0, 0, 2, 3, 3], vec![1, 0, 1, 0, MISSED], vec![0.0; 5])?;
/// let counts = cue_accuracy(&Subject::new("s1", vec![s])?)?;
/// assert_eq!(counts, [(1, 2), (0, 0), (0, 1), (1, 1)]);
/// # Ok::<(), rlgrad::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidTrial`] for a state that is not a cue or an action that is not 0, 1 or
/// missed, naming subject, session and trial.
pub fn cue_accuracy(subject: &Subject) -> Result<[(usize, usize); N_CUES]> {
    check_cues(subject)?;
    let task = GoNoGoTask::new();
    let mut counts = [(0, 0); N_CUES];
    for session in subject.sessions() {
        for (&s, &a) in session.states().iter().zip(session.actions()) {
            if a == MISSED {
                continue;
            }
            let s = s as usize;
            counts[s].0 += usize::from(a as usize == task.correct_action(s)?);
            counts[s].1 += 1;
        }
    }
    Ok(counts)
}

impl TaskModel for GoNoGo {
    fn layout(&self) -> &ParamLayout {
        &self.layout
    }

    /// ξ and ε in [0, 1]; every parameter finite.
    fn check_params(&self, psi: &[f64]) -> Result<()> {
        check_natural(&self.layout, psi)?;
        for i in [XI, EPSILON] {
            check::unit_parameter(self.layout.specs()[i].name.as_str(), psi[i])?;
        }
        Ok(())
    }

    /// Every state a cue (0–3) and every action 0 (no-go), 1 (go) or [`MISSED`].
    fn check_subject(&self, subject: &Subject) -> Result<()> {
        check_cues(subject)
    }

    fn session_log_lik<T: Scalar>(&self, psi: &[T], session: &Session) -> T {
        let p = self.params(psi);
        let mut values = Values::new();
        let mut ll = LogLik::new();
        let trials = session
            .states()
            .iter()
            .zip(session.actions())
            .zip(session.rewards());
        for ((&s, &a), &r) in trials {
            let s = s as usize;
            if a != MISSED {
                // The piece's first option (index 0) has probability σ(x): here, go.
                let x = values.go_logit(&p, s);
                ll.add(ln_lapse_logistic(x, p.xi, 1 - a as usize));
            }
            values.learn(&p, s, a, r, self.missed == Missed::Learn);
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
        let what = "a simulated session's columns";
        check::floats(&[n_trials], "n_trials", n_trials, what)?;
        let mut states = check::filled(n_trials, 0u32, "n_trials")?;
        let mut actions = check::filled(n_trials, 0u32, "n_trials")?;
        let mut rewards = check::filled(n_trials, 0.0, "n_trials")?;
        let p = self.params(psi);
        let mut values = Values::<f64>::new();
        let mut env = self.task;
        for t in 0..n_trials {
            let s = env.reset(rng);
            let p_go = lapse(Scalar::logistic(values.go_logit(&p, s)), p.xi, 2);
            let a = if rng.random::<f64>() < p_go {
                GoNoGoTask::GO
            } else {
                GoNoGoTask::NO_GO
            };
            let r = env.step(a, rng)?.reward;
            values.learn(&p, s, a as u32, r, self.missed == Missed::Learn);
            (states[t], actions[t], rewards[t]) = (s as u32, a as u32, r);
        }
        Session::new(session_id, states, actions, rewards)
    }
}
