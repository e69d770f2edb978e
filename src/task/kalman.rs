//! The Kalman-filter model of the restless bandit (Daw et al. 2006): [`KalmanBandit`].

use rand::Rng;

use super::{TaskModel, check_layout, check_natural};
use crate::ad::{LogLik, Scalar};
use crate::check;
use crate::data::{MISSED, Session, Subject};
use crate::env::{Environment, RestlessBandit, RestlessOptions};
use crate::error::{Error, Result};
use crate::learning::Missed;
use crate::numeric::SoftmaxNorm;
use crate::params::{ParamLayout, ParamSpec, Transform};

/// [`KalmanBandit::MAX_ARMS`], for the stack arrays.
const MAX_ARMS: usize = 16;

/// Every parameter name, in θ order: the choice parameters, then the [`KalmanConstant`]s.
const NAMES: [&str; 9] = [
    "beta", "phi", "kappa", "sigma_o", "sigma_d", "lambda", "center", "mu0", "sigma0",
];

/// One of the task constants of the Kalman filter, which a [`KalmanBandit`] fixes unless asked
/// to fit it ([`KalmanBandit::fit_constants`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KalmanConstant {
    /// σo, the s.d. of a payoff around its arm's mean (`sigma_o`, `Exp`).
    SigmaO,
    /// σd, the s.d. of the means' diffusion per trial (`sigma_d`, `Exp`).
    SigmaD,
    /// λ, the decay of the means towards the centre (`lambda`, logistic onto (0, 1)).
    Lambda,
    /// θ, the centre the means decay towards (`center`, `Identity`).
    Center,
    /// μ̂₀, every arm's mean at the start of a session (`mu0`, `Identity`).
    Mu0,
    /// σ̂₀, every arm's s.d. at the start of a session (`sigma0`, `Exp`).
    Sigma0,
}

impl KalmanConstant {
    /// The six constants, in θ order.
    pub const ALL: [KalmanConstant; 6] = [
        KalmanConstant::SigmaO,
        KalmanConstant::SigmaD,
        KalmanConstant::Lambda,
        KalmanConstant::Center,
        KalmanConstant::Mu0,
        KalmanConstant::Sigma0,
    ];

    /// The parameter's name when fitted.
    ///
    /// ```
    /// use rlgrad::task::KalmanConstant;
    /// assert_eq!(KalmanConstant::Center.name(), "center");
    /// ```
    pub fn name(self) -> &'static str {
        NAMES[3 + self as usize]
    }

    /// The default transform when fitted: `Exp` for the standard deviations, logistic onto
    /// (0, 1) for λ, `Identity` for the centre and μ̂₀.
    pub fn transform(self) -> Transform {
        match self {
            KalmanConstant::SigmaO | KalmanConstant::SigmaD | KalmanConstant::Sigma0 => {
                Transform::Exp
            }
            KalmanConstant::Lambda => Transform::unit(),
            KalmanConstant::Center | KalmanConstant::Mu0 => Transform::Identity,
        }
    }

    /// Checks a value of the constant: σo finite and > 0, σd and σ̂₀ finite and ≥ 0, λ in
    /// \[0, 1\], θ and μ̂₀ finite.
    fn check(self, value: f64) -> Result<()> {
        let name = self.name();
        match self {
            KalmanConstant::SigmaO => check::positive(name, value),
            KalmanConstant::SigmaD | KalmanConstant::Sigma0 => check::non_negative(name, value),
            KalmanConstant::Lambda => check::unit_interval(name, value),
            KalmanConstant::Center | KalmanConstant::Mu0 => check::finite_option(name, value),
        }
    }
}

/// The values of the task constants of a [`KalmanBandit`] (those it does not fit).
///
/// The default is the ideal observer of the task of Daw et al. (2006) (see the
/// [`KalmanBandit`] docs); [`KalmanConstants::ideal_observer`] gives it for another task.
///
/// ```
/// use rlgrad::task::KalmanConstants;
/// let c = KalmanConstants::default();
/// assert_eq!((c.sigma_o, c.sigma_d, c.lambda, c.center, c.mu0), (4.0, 2.8, 0.9836, 50.0, 50.0));
/// assert!((c.sigma0 - 15.52).abs() < 0.01);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KalmanConstants {
    /// σo, the s.d. of a payoff around its arm's mean.
    pub sigma_o: f64,
    /// σd, the s.d. of the means' diffusion per trial.
    pub sigma_d: f64,
    /// λ, the decay of the means towards the centre.
    pub lambda: f64,
    /// θ, the centre the means decay towards.
    pub center: f64,
    /// μ̂₀, every arm's mean at the start of a session.
    pub mu0: f64,
    /// σ̂₀, every arm's s.d. at the start of a session.
    pub sigma0: f64,
}

impl Default for KalmanConstants {
    /// The ideal observer of [`RestlessOptions::default`] (see
    /// [`KalmanConstants::ideal_observer`]).
    fn default() -> Self {
        let task = RestlessOptions::default();
        Self::from_task(&task, task.stationary_sd().unwrap_or(task.drift_sd))
    }
}

impl KalmanConstants {
    /// The ideal observer of a restless bandit with these options: σo, σd, λ and θ those of
    /// the task, μ̂₀ = θ and σ̂₀ the stationary s.d. of the means (where
    /// [`RestlessBandit::new`] draws them from). Rounding and clipping of the payoffs are not
    /// modelled.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for a task without decay (λ = 1: no stationary distribution)
    /// or with a payoff s.d. of 0 (the filter needs σo > 0), and for options out of range.
    pub fn ideal_observer(task: &RestlessOptions) -> Result<Self> {
        check::unit_interval("decay", task.decay)?;
        let Some(sigma0) = task.stationary_sd() else {
            return Err(Error::invalid_option(
                "decay",
                task.decay,
                "a walk without decay has no stationary distribution for the initial beliefs",
            ));
        };
        let c = Self::from_task(task, sigma0);
        c.check()?;
        Ok(c)
    }

    /// The task's values, μ̂₀ = θ and the given σ̂₀ (unchecked).
    fn from_task(task: &RestlessOptions, sigma0: f64) -> Self {
        KalmanConstants {
            sigma_o: task.payoff_sd,
            sigma_d: task.drift_sd,
            lambda: task.decay,
            center: task.center,
            mu0: task.center,
            sigma0,
        }
    }

    /// The value of one constant.
    pub fn get(&self, c: KalmanConstant) -> f64 {
        match c {
            KalmanConstant::SigmaO => self.sigma_o,
            KalmanConstant::SigmaD => self.sigma_d,
            KalmanConstant::Lambda => self.lambda,
            KalmanConstant::Center => self.center,
            KalmanConstant::Mu0 => self.mu0,
            KalmanConstant::Sigma0 => self.sigma0,
        }
    }

    /// Checks every value (see [`KalmanConstant`]).
    fn check(&self) -> Result<()> {
        KalmanConstant::ALL
            .iter()
            .try_for_each(|&c| c.check(self.get(c)))
    }
}

/// Where each optional parameter sits in θ.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Slots {
    phi: Option<usize>,
    kappa: Option<usize>,
    constants: [Option<usize>; 6],
}

/// The Kalman-filter model of the restless bandit (Daw, O'Doherty, Dayan, Seymour & Dolan
/// 2006, Nature 441:876–879, supplementary methods): per arm a Gaussian belief about the
/// arm's drifting mean payoff, updated by a Kalman filter, and a softmax over the beliefs'
/// means with an optional exploration bonus for their uncertainty and an optional
/// perseveration bonus.
///
/// # The model
///
/// Each arm i carries a posterior mean μ̂ᵢ and variance σ̂²ᵢ of its mean payoff, starting every
/// session at μ̂ᵢ = μ̂₀ and σ̂²ᵢ = σ̂₀². On a trial with a response:
///
/// ```text
/// choice   P(c) = exp(zc) / Σⱼ exp(zⱼ),   zⱼ = β·(μ̂ⱼ + φ·σ̂ⱼ + κ·1[j = previous choice])
/// update   (chosen arm c, payoff r)
///          δ = r − μ̂c,   k = σ̂²c / (σ̂²c + σo²),   μ̂c ← μ̂c + k·δ,   σ̂²c ← (1 − k)·σ̂²c
/// diffuse  (every arm, after the update)
///          μ̂ᵢ ← λ·μ̂ᵢ + (1 − λ)·θ,   σ̂²ᵢ ← λ²·σ̂²ᵢ + σd²
/// ```
///
/// The bonus and the perseveration sit inside β, as in Daw et al.'s choice rule
/// (exp(β[μ̂ + φσ̂]), σ̂ the standard deviation) and its extension with perseveration (Chakroun,
/// Mathar, Wiehler, Ganzer & Peters 2020, eLife 9:e51260; "Kalman SMEP" in Danwitz, Mathar,
/// Smith, Tuzsus & Peters 2022, Computational Brain & Behavior,
/// doi:10.1007/s42113-022-00139-0), so φ and κ are in points, like μ̂ (unlike the crate's
/// other perseveration weights, which are added to the logits outside β). The posterior
/// variance is computed as k·σo² (equal to (1 − k)·σ̂²c, without the cancellation of 1 − k
/// when k is near 1). The previous choice is the last trial with a response (see missed
/// trials below); the first trial of a session has none.
///
/// Payoffs are points (1 to 100 in the task), so β is small: Daw et al. report β ≈ 0.1.
///
/// # Parameters
///
/// | name | symbol | default transform | when fitted |
/// |---|---|---|---|
/// | `beta` | β, inverse temperature | `Exp` | always |
/// | `phi` | φ, exploration bonus per s.d. | `Identity` | [`KalmanBandit::with_bonus`] |
/// | `kappa` | κ, perseveration bonus | `Identity` | [`KalmanBandit::with_perseveration`] |
/// | `sigma_o` | σo, payoff noise s.d. | `Exp` | [`KalmanBandit::fit_constants`] |
/// | `sigma_d` | σd, diffusion s.d. | `Exp` | idem |
/// | `lambda` | λ, decay | logistic onto (0, 1) | idem |
/// | `center` | θ, decay centre | `Identity` | idem |
/// | `mu0` | μ̂₀, initial mean | `Identity` | idem |
/// | `sigma0` | σ̂₀, initial s.d. | `Exp` | idem |
///
/// The decay centre is called `center` (Daw et al.'s θ) because θ names the unconstrained
/// parameters everywhere in this crate. In θ the parameters come in the order of the table,
/// whatever order the constants were asked for in. A constant that is not fitted is fixed at
/// its value in [`KalmanConstants`]; the default is the ideal observer of the task of Daw et
/// al.: σo = 4, σd = 2.8, λ = 0.9836, θ = 50 (the task's own values), μ̂₀ = θ and σ̂₀ the
/// stationary s.d. of the means' walk, σd/√(1 − λ²) ≈ 15.5 (the means of
/// [`RestlessBandit::new`] start at draws from that distribution). Transforms can be changed
/// with [`KalmanBandit::with_transform`].
///
/// Identification: the gains k depend on the three variances only through their ratios, so
/// σo, σd and σ̂₀ multiplied by one factor, and φ divided by it, leave the likelihood
/// unchanged. Fit at most two of them (Daw et al. fixed σo).
///
/// # Data
///
/// One state (every trial's state 0); actions are arms 0, …, n − 1 or
/// [`MISSED`](crate::data::MISSED); rewards are the payoffs (any finite number; the task's
/// are integers from 1 to 100). Next states are not used (if recorded, they must be 0 or
/// none). [`TaskModel::check_subject`] refuses another state or an action that is not an arm
/// of the model, naming subject, session, trial and value.
///
/// **Missed trials.** By default a missed trial adds nothing to the likelihood and changes
/// nothing: as if it had not happened. With [`KalmanBandit::with_missed`]`(`[`Missed::Learn`]`)` time
/// passes on a missed trial: there is no choice and no payoff to observe (the trial's reward
/// is ignored), but every arm diffuses as after a trial with a response (the task's means
/// move on every trial, answered or not). In both cases the perseveration bonus goes to the
/// last arm chosen before the missed trial.
///
/// # Derivatives
///
/// With every constant fixed (the default), the beliefs depend on the data alone and the
/// logits are linear in w = (β, βφ, βκ): the gradient and Hessian come from the multinomial
/// logit's sums over trials, in `f64`, and reach θ through w (no derivative scalars in the
/// trial loop). With constants fitted, the whole filter runs in forward-mode scalars
/// ([`crate::ad`]), several times slower per trial for the Hessian.
///
/// # Simulation
///
/// [`TaskModel::simulate_session`] plays a [`RestlessBandit`] of the model's arms whose
/// options are [`KalmanBandit::task`] (the task of Daw et al. by default), its means drawn
/// from their stationary distribution; [`KalmanBandit::simulate_in`] plays a bandit the
/// caller made (fixed means from an experiment, another drift). A simulation has no missed
/// trials.
///
/// # Example
///
/// ```
/// use ndarray::Array1;
/// use rlgrad::fit::{FitModel, Simulate, TaskSimulator};
/// use rlgrad::prelude::*;
/// use rlgrad::task::KalmanBandit;
///
/// // β, φ and κ fitted; the task constants fixed at the ideal observer's values.
/// let model = KalmanBandit::new(4)?.with_bonus()?.with_perseveration()?;
/// let names: Vec<&str> = FitModel::layout(&model).names().collect();
/// assert_eq!(names, ["beta", "phi", "kappa"]);
///
/// // One simulated subject of 150 trials, and its log-likelihood with gradient and Hessian.
/// let sim = TaskSimulator::new(model, 150)?;
/// let theta = sim.layout().theta_from_natural(&[("beta", 0.15), ("phi", 1.0), ("kappa", 5.0)])?;
/// let subject = sim.simulate_subject(theta.view(), 0, "s1", &mut ChaCha8Rng::seed_from_u64(7))?;
/// let lik = sim.likelihood(&subject)?;
/// let (mut g, mut h) = (Array1::zeros(3), ndarray::Array2::zeros((3, 3)));
/// let ll = lik.value_grad_hessian(theta.view(), g.view_mut(), h.view_mut())?;
/// assert!(ll < 0.0 && ll > 150.0 * 0.25f64.ln()); // better than chance
/// assert_eq!(ll, lik.value(theta.view())?); // the same bits at every order
/// # Ok::<(), rlgrad::Error>(())
/// ```
///
/// # Layouts
///
/// ```
/// use rlgrad::fit::FitModel;
/// use rlgrad::task::{KalmanBandit, KalmanConstant};
/// let model = KalmanBandit::smep(4)?
///     .fit_constants(&[KalmanConstant::Mu0, KalmanConstant::SigmaD])?;
/// let names: Vec<&str> = model.layout().names().collect();
/// assert_eq!(names, ["beta", "phi", "kappa", "sigma_d", "mu0"]);
/// assert!(KalmanBandit::new(1).is_err()); // a bandit has at least two arms
/// # Ok::<(), rlgrad::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct KalmanBandit {
    n_arms: usize,
    bonus: bool,
    perseveration: bool,
    fitted: [bool; 6],
    constants: KalmanConstants,
    /// The transform of every parameter of [`NAMES`], used or not (so a re-layout keeps the
    /// caller's choices).
    transforms: [Transform; 9],
    missed: Missed,
    task: RestlessOptions,
    layout: ParamLayout,
    slots: Slots,
}

impl KalmanBandit {
    /// The most arms a model may have (its beliefs live in stack arrays of this size).
    pub const MAX_ARMS: usize = MAX_ARMS;

    /// The model of `n_arms` arms with one parameter, `beta`; the constants fixed at their
    /// defaults ([`KalmanConstants::default`]), missed trials skipped, simulation in the task
    /// of Daw et al.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for fewer than 2 or more than [`KalmanBandit::MAX_ARMS`] arms.
    pub fn new(n_arms: usize) -> Result<Self> {
        if !(2..=MAX_ARMS).contains(&n_arms) {
            return Err(Error::invalid_option(
                "n_arms",
                n_arms,
                format!("the Kalman-filter bandit model has 2 to {MAX_ARMS} arms"),
            ));
        }
        let mut transforms = [Transform::Identity; 9];
        transforms[0] = Transform::Exp;
        for c in KalmanConstant::ALL {
            transforms[3 + c as usize] = c.transform();
        }
        let mut model = KalmanBandit {
            n_arms,
            bonus: false,
            perseveration: false,
            fitted: [false; 6],
            constants: KalmanConstants::default(),
            transforms,
            missed: Missed::Skip,
            task: RestlessOptions::default(),
            layout: ParamLayout::new(Vec::new())?,
            slots: Slots {
                phi: None,
                kappa: None,
                constants: [None; 6],
            },
        };
        model.relayout()?;
        Ok(model)
    }

    /// The model of Daw et al. (2006): `beta` and the exploration bonus `phi`.
    ///
    /// # Errors
    /// As [`KalmanBandit::new`].
    pub fn daw2006(n_arms: usize) -> Result<Self> {
        Self::new(n_arms)?.with_bonus()
    }

    /// Softmax with exploration and perseveration bonuses ("Kalman SMEP", Chakroun et al.
    /// 2020): `beta`, `phi` and `kappa`.
    ///
    /// # Errors
    /// As [`KalmanBandit::new`].
    pub fn smep(n_arms: usize) -> Result<Self> {
        Self::daw2006(n_arms)?.with_perseveration()
    }

    /// Adds the exploration bonus φ·σ̂ (parameter `phi`).
    ///
    /// # Errors
    /// None in practice (the layout is rebuilt and checked).
    pub fn with_bonus(mut self) -> Result<Self> {
        self.bonus = true;
        self.relayout()?;
        Ok(self)
    }

    /// Adds the perseveration bonus κ for the previous choice (parameter `kappa`).
    ///
    /// # Errors
    /// None in practice (the layout is rebuilt and checked).
    pub fn with_perseveration(mut self) -> Result<Self> {
        self.perseveration = true;
        self.relayout()?;
        Ok(self)
    }

    /// Fits the given task constants too (in addition to any fitted already); they take
    /// their places in θ after the choice parameters, in the order of [`KalmanConstant::ALL`].
    ///
    /// # Errors
    /// None in practice (the layout is rebuilt and checked).
    pub fn fit_constants(mut self, constants: &[KalmanConstant]) -> Result<Self> {
        for &c in constants {
            self.fitted[c as usize] = true;
        }
        self.relayout()?;
        Ok(self)
    }

    /// Sets the values of the constants that are not fitted.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] naming a value out of range (see [`KalmanConstant`]), whether that
    /// constant is fitted or not.
    pub fn with_constants(mut self, constants: KalmanConstants) -> Result<Self> {
        constants.check()?;
        self.constants = constants;
        Ok(self)
    }

    /// Replaces the transform of the parameter `name` (kept if the layout changes later).
    ///
    /// # Errors
    /// As [`ParamLayout::with_transform`]: no such parameter in the model (yet), or an
    /// invalid transform.
    pub fn with_transform(mut self, name: &str, transform: Transform) -> Result<Self> {
        self.layout = self.layout.with_transform(name, transform)?;
        if let Some(i) = NAMES.iter().position(|&n| n == name) {
            self.transforms[i] = transform;
        }
        Ok(self)
    }

    /// What a missed trial does: [`Missed::Skip`] (the default) changes nothing;
    /// [`Missed::Learn`] lets time pass (every arm diffuses; see the [`KalmanBandit`] docs).
    pub fn with_missed(mut self, missed: Missed) -> Self {
        self.missed = missed;
        self
    }

    /// The task [`TaskModel::simulate_session`] plays (a [`RestlessBandit`] with these
    /// options; by default the task of Daw et al.). It does not change the model's constants.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for options a [`RestlessBandit`] refuses, or without decay
    /// (λ = 1: [`RestlessBandit::new`] cannot draw the initial means).
    pub fn with_task(mut self, task: RestlessOptions) -> Result<Self> {
        RestlessBandit::with_means(vec![task.center; self.n_arms], task)?;
        if task.stationary_sd().is_none() {
            return Err(Error::invalid_option(
                "decay",
                task.decay,
                "a walk without decay has no stationary distribution to draw the means from",
            ));
        }
        self.task = task;
        Ok(self)
    }

    /// The number of arms.
    pub fn n_arms(&self) -> usize {
        self.n_arms
    }

    /// The values of the constants (those fitted are not used).
    pub fn constants(&self) -> &KalmanConstants {
        &self.constants
    }

    /// Whether a constant is fitted.
    pub fn fits(&self, c: KalmanConstant) -> bool {
        self.fitted[c as usize]
    }

    /// What missed trials do ([`KalmanBandit::with_missed`]).
    pub fn missed(&self) -> Missed {
        self.missed
    }

    /// The task of [`TaskModel::simulate_session`].
    pub fn task(&self) -> &RestlessOptions {
        &self.task
    }

    /// Rebuilds the layout and the slots from the flags and transforms.
    fn relayout(&mut self) -> Result<()> {
        let used = [true, self.bonus, self.perseveration]
            .into_iter()
            .chain(self.fitted);
        let mut specs = Vec::new();
        let mut slot = [None; 9];
        for (i, on) in used.enumerate() {
            if on {
                slot[i] = Some(specs.len());
                specs.push(ParamSpec::new(NAMES[i], self.transforms[i]));
            }
        }
        let layout = ParamLayout::new(specs)?;
        check_layout(&layout)?;
        self.layout = layout;
        self.slots = Slots {
            phi: slot[1],
            kappa: slot[2],
            constants: std::array::from_fn(|c| slot[3 + c]),
        };
        Ok(())
    }

    /// The filter's constants at ψ: fitted ones from ψ, the others fixed (a caller whose
    /// constants are all fixed may pass an empty ψ of another scalar type).
    fn filter_constants<F: Scalar>(&self, psi: &[F]) -> [F; 6] {
        std::array::from_fn(|c| match self.slots.constants[c] {
            Some(k) => psi[k],
            None => F::constant(self.constants.get(KalmanConstant::ALL[c])),
        })
    }

    /// β, β·φ and β·κ at ψ.
    fn choice_weights<T: Scalar>(&self, psi: &[T]) -> ChoiceWeights<T> {
        let beta = psi[0];
        ChoiceWeights {
            beta,
            beta_phi: self.slots.phi.map(|k| beta * psi[k]),
            beta_kappa: self.slots.kappa.map(|k| beta * psi[k]),
        }
    }

    /// Runs the beliefs through a session: on each answered trial, `choose(beliefs, previous
    /// choice, choice)` before the Kalman update and the diffusion; on a missed trial, the
    /// diffusion alone if the model learns from missed trials.
    #[inline(always)]
    fn walk<F: Scalar>(
        &self,
        belief: &mut Belief<F>,
        session: &Session,
        mut choose: impl FnMut(&Belief<F>, Option<usize>, usize),
    ) {
        let mut previous = None;
        for (&a, &r) in session.actions().iter().zip(session.rewards()) {
            if a == MISSED {
                if self.missed == Missed::Learn {
                    belief.diffuse();
                }
                continue;
            }
            let a = a as usize;
            choose(belief, previous, a);
            belief.observe(a, r);
            belief.diffuse();
            previous = Some(a);
        }
    }

    /// The log-likelihood of one session with fitted constants: the beliefs depend on ψ and
    /// are carried in `T` with everything else.
    fn log_lik_general<T: Scalar>(&self, psi: &[T], session: &Session) -> T {
        let n = self.n_arms;
        let w = self.choice_weights(psi);
        let mut belief = Belief::new(n, self.filter_constants(psi));
        let mut z = [T::constant(0.0); MAX_ARMS];
        let mut ll = LogLik::new();
        self.walk(&mut belief, session, |b, previous, a| {
            b.logits(&w, previous, &mut z[..n], None);
            ll.add_ln_softmax(&z[..n], a);
        });
        ll.total()
    }

    /// The log-likelihood of one session with every constant fixed. The beliefs then depend
    /// on the data alone (they are carried in `f64`), and the logits zⱼ = w·uⱼ are linear in
    /// the weights w = (β, βφ, βκ) with features uⱼ = (μ̂ⱼ, σ̂ⱼ, 1[j = previous]): ln p(a)
    /// is a multinomial logit in w, whose gradient u_a − Σⱼ pⱼuⱼ and Hessian −Cov_p(u) are
    /// summed over the trials in `f64` ([`LogitMoments`]). The result in `T` is
    /// ℓ + g·Δw + ½ Δwᵀ H Δw with Δw = w − value(w) (value 0): the value ℓ exactly, and the
    /// exact first and second derivatives through w's own.
    fn log_lik_linear<T: Scalar>(&self, psi: &[T], session: &Session) -> T {
        let n = self.n_arms;
        let w = self.choice_weights(psi);
        let w0 = ChoiceWeights {
            beta: w.beta.value(),
            beta_phi: w.beta_phi.map(T::value),
            beta_kappa: w.beta_kappa.map(T::value),
        };
        let mut belief = Belief::new(n, self.filter_constants::<f64>(&[]));
        let (mut z, mut e) = ([0.0; MAX_ARMS], [0.0; MAX_ARMS]);
        let mut u = [[0.0; 3]; MAX_ARMS];
        let mut ll = LogLik::new();
        let mut moments = LogitMoments::default();
        self.walk(&mut belief, session, |b, previous, a| {
            if T::ORDER == 0 {
                b.logits(&w0, previous, &mut z[..n], None);
            } else {
                b.logits(&w0, previous, &mut z[..n], Some(&mut u[..n]));
                moments.add(T::ORDER >= 2, &u[..n], &z[..n], a, &mut e[..n]);
            }
            ll.add_ln_softmax(&z[..n], a);
        });
        let mut out = T::constant(ll.total());
        if T::ORDER >= 1 {
            let delta = |x: Option<T>| x.map_or(T::constant(0.0), |x| x - x.value());
            let dw = [delta(Some(w.beta)), delta(w.beta_phi), delta(w.beta_kappa)];
            out += moments.expand(&dw);
        }
        out
    }

    /// Simulates one session of `n_trials` trials at natural parameters ψ in `env` (which
    /// keeps its state: the means move on from where they are).
    ///
    /// ```
    /// use rlgrad::env::{RestlessBandit, RestlessOptions};
    /// use rlgrad::prelude::*;
    /// use rlgrad::task::KalmanBandit;
    /// // Fixed, well separated means: a greedy model soon settles on the best arm.
    /// let still = RestlessOptions { drift_sd: 0.0, ..RestlessOptions::default() };
    /// let mut env = RestlessBandit::with_means(vec![20.0, 80.0, 40.0], still)?;
    /// let model = KalmanBandit::new(3)?;
    /// let mut rng = ChaCha8Rng::seed_from_u64(3);
    /// let session = model.simulate_in(&mut env, &[1.0], 60, "1", &mut rng)?;
    /// assert!(session.actions()[30..].iter().all(|&a| a == 1));
    /// # Ok::<(), rlgrad::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for `n_trials` = 0, too many trials to hold, or a bandit whose
    /// number of arms is not the model's; [`TaskModel::check_params`]' errors;
    /// [`Error::NonFiniteResult`] if the choice logits overflow (at absurd ψ; the values
    /// shown are ψ).
    pub fn simulate_in<R: Rng + ?Sized>(
        &self,
        env: &mut RestlessBandit,
        psi: &[f64],
        n_trials: usize,
        session_id: &str,
        rng: &mut R,
    ) -> Result<Session> {
        self.check_params(psi)?;
        check::at_least_one("n_trials", n_trials)?;
        let n = self.n_arms;
        if env.n_actions() != n {
            return Err(Error::invalid_option(
                "environment",
                format!("a restless bandit of {} arms", env.n_actions()),
                format!("does not fit the model's {n} arms"),
            ));
        }
        let len = check::floats(
            &[n_trials],
            "n_trials",
            n_trials,
            "a simulated session's columns",
        )?;
        let (mut actions, mut rewards) = (Vec::new(), Vec::new());
        check::reserve(&mut actions, len, "n_trials", n_trials)?;
        check::reserve(&mut rewards, len, "n_trials", n_trials)?;
        let states = check::filled(len, 0u32, "n_trials")?;
        let w = self.choice_weights(psi);
        let mut belief = Belief::new(n, self.filter_constants(psi));
        let mut z = [0.0; MAX_ARMS];
        env.reset(rng);
        let mut previous = None;
        for t in 0..n_trials {
            belief.logits(&w, previous, &mut z[..n], None);
            if z[..n].iter().any(|x| !x.is_finite()) {
                return Err(Error::non_finite_result(
                    format!(
                        "the choice logits at trial {t} of simulated session `{session_id}` \
                         (the values shown are the natural parameters psi)"
                    ),
                    psi.to_vec(),
                ));
            }
            let a = SoftmaxNorm::new(n, |j| z[j]).sample(n, |j| z[j], rng.random());
            let reward = env.step(a, rng)?.reward;
            actions.push(a as u32);
            rewards.push(reward);
            belief.observe(a, reward);
            belief.diffuse();
            previous = Some(a);
        }
        Session::new(session_id, states, actions, rewards)
    }
}

impl TaskModel for KalmanBandit {
    fn layout(&self) -> &ParamLayout {
        &self.layout
    }

    /// Checks ψ: its length, every value finite, the fitted standard deviations > 0 and a
    /// fitted λ in \[0, 1\].
    fn check_params(&self, psi: &[f64]) -> Result<()> {
        check_natural(&self.layout, psi)?;
        for (&c, slot) in KalmanConstant::ALL.iter().zip(self.slots.constants) {
            let Some(k) = slot else { continue };
            match c {
                KalmanConstant::SigmaO | KalmanConstant::SigmaD | KalmanConstant::Sigma0 => {
                    check::standard_deviation(k, psi[k], || c.name().to_string())?;
                }
                KalmanConstant::Lambda => check::unit_parameter(c.name(), psi[k])?,
                KalmanConstant::Center | KalmanConstant::Mu0 => {}
            }
        }
        Ok(())
    }

    /// Every trial's state (and next state, if recorded) must be 0 and its action an arm
    /// (below the model's number of arms) or [`MISSED`] ([`Subject::check_shape`]).
    fn check_subject(&self, subject: &Subject) -> Result<()> {
        subject.check_shape(1, self.n_arms)
    }

    fn session_log_lik<T: Scalar>(&self, psi: &[T], session: &Session) -> T {
        if self.fitted.iter().any(|&f| f) {
            self.log_lik_general(psi, session)
        } else {
            self.log_lik_linear(psi, session)
        }
    }

    /// Plays a fresh [`RestlessBandit`] of [`KalmanBandit::task`] (means drawn from their
    /// stationary distribution) through [`KalmanBandit::simulate_in`].
    fn simulate_session<R: Rng + ?Sized>(
        &self,
        psi: &[f64],
        n_trials: usize,
        session_id: &str,
        rng: &mut R,
    ) -> Result<Session> {
        let mut env = RestlessBandit::new(self.n_arms, self.task, rng)?;
        self.simulate_in(&mut env, psi, n_trials, session_id, rng)
    }
}

/// β and the products β·φ, β·κ of the choice rule (the bonuses are inside β).
struct ChoiceWeights<T> {
    beta: T,
    beta_phi: Option<T>,
    beta_kappa: Option<T>,
}

/// The gradient g and Hessian H of Σ ln p(aₜ) with respect to the weights w of logits
/// linear in them, zⱼ = w·uⱼ (see [`KalmanBandit::log_lik_linear`]); H's lower triangle.
#[derive(Default)]
struct LogitMoments {
    grad: [f64; 3],
    hess: [[f64; 3]; 3],
}

impl LogitMoments {
    /// Adds one trial: features `u`, logits `z`, choice `a` (`e` is room for the softmax
    /// weights). With cⱼ = uⱼ − u_a (the covariance is the same, the numbers smaller):
    /// g += −Σ pⱼcⱼ and, if `second`, H −= Σ pⱼcⱼcⱼᵀ − c̄c̄ᵀ.
    #[inline(always)]
    fn add(&mut self, second: bool, u: &[[f64; 3]], z: &[f64], a: usize, e: &mut [f64]) {
        let inv = 1.0 / SoftmaxNorm::with_weights(|j| z[j], e).sum;
        let ua = u[a];
        let mut mean = [0.0; 3];
        let mut sq = [[0.0; 3]; 3];
        for (uj, &ej) in u.iter().zip(e.iter()) {
            let p = ej * inv;
            let c = [uj[0] - ua[0], uj[1] - ua[1], uj[2] - ua[2]];
            for k in 0..3 {
                mean[k] += p * c[k];
                if second {
                    for l in 0..=k {
                        sq[k][l] += p * c[k] * c[l];
                    }
                }
            }
        }
        for k in 0..3 {
            self.grad[k] -= mean[k];
            if second {
                for l in 0..=k {
                    self.hess[k][l] -= sq[k][l] - mean[k] * mean[l];
                }
            }
        }
    }

    /// g·Δw + ½ ΔwᵀHΔw (the Hessian's part only if `T` carries second derivatives).
    #[inline(always)]
    fn expand<T: Scalar>(&self, dw: &[T; 3]) -> T {
        let mut out = T::constant(0.0);
        for k in 0..3 {
            out += dw[k] * self.grad[k];
            if T::ORDER >= 2 {
                for l in 0..k {
                    out += dw[k] * dw[l] * self.hess[k][l];
                }
                out += dw[k] * dw[k] * (0.5 * self.hess[k][k]);
            }
        }
        out
    }
}

/// The beliefs N(μ̂ᵢ, σ̂²ᵢ) of the arms (the first n entries of each array) and the filter's
/// constants, in the scalar F.
struct Belief<F> {
    n: usize,
    mean: [F; MAX_ARMS],
    var: [F; MAX_ARMS],
    lambda: F,
    lambda_sq: F,
    /// (1 − λ)·θ.
    pull: F,
    /// σo².
    noise_o: F,
    /// σd².
    noise_d: F,
}

impl<F: Scalar> Belief<F> {
    /// The beliefs at the start of a session from [σo, σd, λ, θ, μ̂₀, σ̂₀].
    #[inline(always)]
    fn new(n: usize, c: [F; 6]) -> Self {
        let [sigma_o, sigma_d, lambda, center, mu0, sigma0] = c;
        Belief {
            n,
            mean: [mu0; MAX_ARMS],
            var: [sigma0 * sigma0; MAX_ARMS],
            lambda,
            lambda_sq: lambda * lambda,
            pull: (-lambda + 1.0) * center,
            noise_o: sigma_o * sigma_o,
            noise_d: sigma_d * sigma_d,
        }
    }

    /// zⱼ = β·μ̂ⱼ + βφ·σ̂ⱼ + βκ·1[j = previous], into `z` (length n), and if asked the
    /// features uⱼ = (μ̂ⱼ, σ̂ⱼ, 1[j = previous]) (σ̂ⱼ = 0 without the bonus).
    #[inline(always)]
    fn logits(
        &self,
        w: &ChoiceWeights<F>,
        previous: Option<usize>,
        z: &mut [F],
        mut features: Option<&mut [[F; 3]]>,
    ) {
        let zero = F::constant(0.0);
        for (j, zj) in z.iter_mut().enumerate() {
            let mut x = w.beta * self.mean[j];
            let mut sd = zero;
            if let Some(bp) = w.beta_phi {
                sd = self.sd(j);
                x += bp * sd;
            }
            *zj = x;
            if let Some(u) = features.as_deref_mut() {
                u[j] = [self.mean[j], sd, zero];
            }
        }
        if let (Some(bk), Some(p)) = (w.beta_kappa, previous) {
            z[p] += bk;
            if let Some(u) = features {
                u[p][2] = F::constant(1.0);
            }
        }
    }

    /// σ̂ⱼ; 0 (with zero derivatives) for a variance of exactly 0, where the square root has
    /// no derivative (only when σ̂₀ and σd are 0).
    #[inline(always)]
    fn sd(&self, j: usize) -> F {
        let v = self.var[j];
        if v.value() > 0.0 {
            v.sqrt()
        } else {
            F::constant(0.0)
        }
    }

    /// The Kalman update of arm `c` after payoff `r`.
    #[inline(always)]
    fn observe(&mut self, c: usize, r: f64) {
        let v = self.var[c];
        let gain = v / (v + self.noise_o);
        self.mean[c] += gain * (-self.mean[c] + r);
        self.var[c] = gain * self.noise_o;
    }

    /// One trial of the means' walk for every arm.
    #[inline(always)]
    fn diffuse(&mut self) {
        for j in 0..self.n {
            self.mean[j] = self.mean[j] * self.lambda + self.pull;
            self.var[j] = self.var[j] * self.lambda_sq + self.noise_d;
        }
    }
}
