//! [`Latents`]: the trial-wise latent variables of a [`Model`] at fitted parameters, the
//! regressors of model-based fMRI and EEG analyses; built by [`Model::latents`].
//!
//! For every trial t of every session, in order, with values Q that restart at each session
//! exactly as in the [`Likelihood`](crate::Likelihood):
//!
//! ```text
//! Q[sₜ,·]    the values the choice was made on (before this trial's update)
//! Q[sₜ,aₜ]   the chosen value
//! δₜ         the rule's prediction error (LearningRule::prediction_error; r − Q[s,a] for RW)
//! p(· | Q)   the choice probabilities (Observation::probabilities, previous action included)
//! ℓₜ         log p(aₜ | Q[sₜ,·]), the trial's log-likelihood contribution (Σₜ ℓₜ = ℓ)
//! ```
//!
//! The values are computed once, by the same rule and observation model as the likelihood,
//! at value order (no derivatives).
//!
//! A missed trial (no response, [`MISSED`]) keeps its row, with its state, reward and the
//! values Q\[sₜ,·\] at that time, but it has no chosen value, prediction error, choice
//! probabilities or ℓₜ: these are NaN in the columns and empty fields in the CSV, and its
//! action is [`MISSED`] (an empty field in the CSV, which [`read_csv`](crate::data::read_csv)
//! reads back as a missed trial).

use std::fmt::Write as _;

use ndarray::{ArrayView1, ArrayView2};

use crate::check;
use crate::data::{MISSED, NO_STATE, Subject};
use crate::error::{Error, Result};
use crate::learning::{LearningRule, Missed, Step, order};
use crate::model::Model;
use crate::observation::{Choice, ObsBuffers, Observation};

/// The trial-wise latent variables of one subject at one θ, stored by columns: one row per
/// trial, sessions in the subject's order and trials in each session's order. Build it with
/// [`Model::latents`]; write it with [`Latents::write_csv`].
///
/// The values and the probabilities are n_trials × n_actions matrices (row-major); every
/// other column has one entry per row. Actions and states are 0-based, as in
/// [`Session`](crate::data::Session) (a CSV read with 1-based actions was shifted on
/// reading; see [`CsvReport`](crate::data::CsvReport)).
///
/// ```
/// use rlgrad::prelude::*;
/// let model = Model::new(RescorlaWagner::new(), Softmax::new(), 1, 2)?;
/// let theta = model.layout().theta_from_natural(&[("alpha", 0.5), ("beta", 2.0)])?;
/// let session = Session::bandit("day1", vec![1, 1, 0], vec![1.0, 0.0, 1.0])?;
/// let subject = Subject::new("s1", vec![session])?;
/// let latents = model.latents(theta.view(), &subject)?;
///
/// assert_eq!(latents.len(), 3);
/// assert_eq!(latents.prediction_errors(), [1.0, -0.5, 1.0]); // r − Q[s,a] before the update
/// assert_eq!(latents.values().row(1).to_vec(), [0.0, 0.5]); // Q after one update, α = 0.5
/// assert_eq!(latents.chosen_values(), [0.0, 0.5, 0.0]);
/// // The trials' log-likelihood contributions add up to the likelihood.
/// let ll = model.likelihood(&subject)?.value(theta.view())?;
/// assert!((latents.log_likelihood() - ll).abs() <= 1e-12 * ll.abs());
///
/// let mut csv = Vec::new();
/// latents.write_csv(&mut csv)?;
/// let text = String::from_utf8(csv).unwrap();
/// let mut lines = text.lines();
/// assert_eq!(
///     lines.next(),
///     Some("subject,session,trial,state,action,reward,q_0,q_1,q_chosen,delta,p_0,p_1,log_lik")
/// );
/// assert!(lines.next().unwrap().starts_with("s1,day1,0,0,1,1,0,0,0,1,0.5,0.5,"));
/// # Ok::<(), rlgrad::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Latents {
    subject: String,
    session_ids: Vec<String>,
    n_actions: usize,
    session: Vec<usize>,
    trial: Vec<usize>,
    state: Vec<u32>,
    action: Vec<u32>,
    reward: Vec<f64>,
    q: Vec<f64>,
    q_chosen: Vec<f64>,
    delta: Vec<f64>,
    p: Vec<f64>,
    log_lik: Vec<f64>,
}

impl Latents {
    /// The subject's identifier.
    pub fn subject(&self) -> &str {
        &self.subject
    }
    /// The identifiers of the subject's sessions, in order; [`Latents::sessions`] indexes
    /// them.
    pub fn session_ids(&self) -> &[String] {
        &self.session_ids
    }
    /// Per row, the index of its session in [`Latents::session_ids`].
    pub fn sessions(&self) -> &[usize] {
        &self.session
    }
    /// Per row, the trial's index within its session, 0-based: its position in the session's
    /// columns (the `trial` of [`Error::InvalidTrial`]), not a trial number from a CSV file,
    /// which is not kept.
    pub fn trials(&self) -> &[usize] {
        &self.trial
    }
    /// Per row, the state sₜ.
    pub fn states(&self) -> &[u32] {
        &self.state
    }
    /// Per row, the chosen action aₜ (0-based), or [`MISSED`] for a trial without a
    /// response.
    pub fn actions(&self) -> &[u32] {
        &self.action
    }
    /// Per row, the reward rₜ.
    pub fn rewards(&self) -> &[f64] {
        &self.reward
    }
    /// Q\[sₜ, ·\] before the trial's update (the values the choice was made on), one row per
    /// trial: n_trials × n_actions.
    pub fn values(&self) -> ArrayView2<'_, f64> {
        self.matrix(&self.q)
    }
    /// Per row, the chosen value Q\[sₜ, aₜ\] before the update (NaN for a missed trial).
    pub fn chosen_values(&self) -> &[f64] {
        &self.q_chosen
    }
    /// Per row, the prediction error δₜ ([`LearningRule::prediction_error`]; r − Q\[s,a\] for
    /// [`RescorlaWagner`](crate::learning::RescorlaWagner)); NaN for a missed trial.
    pub fn prediction_errors(&self) -> &[f64] {
        &self.delta
    }
    /// The choice probabilities p(· | Q\[sₜ, ·\]) (the previous action of the session
    /// included, for perseveration), one row per trial: n_trials × n_actions. A missed
    /// trial's row is NaN.
    pub fn probabilities(&self) -> ArrayView2<'_, f64> {
        self.matrix(&self.p)
    }
    /// Per row, the log-likelihood contribution ℓₜ = log p(aₜ | Q\[sₜ, ·\]); NaN for a missed
    /// trial, which contributes nothing.
    pub fn log_likelihoods(&self) -> &[f64] {
        &self.log_lik
    }
    /// Σₜ ℓₜ over the trials with a response: the subject's log-likelihood, equal to the
    /// [`Likelihood`](crate::Likelihood)'s value up to rounding (it sums the same ℓₜ in
    /// another order).
    pub fn log_likelihood(&self) -> f64 {
        self.log_lik
            .iter()
            .zip(&self.action)
            .filter(|&(_, &a)| a != MISSED)
            .map(|(l, _)| l)
            .sum()
    }
    /// Whether row `i` is a missed trial (no response; `false` past the end).
    pub fn is_missed(&self, i: usize) -> bool {
        self.action.get(i) == Some(&MISSED)
    }
    /// Number of rows (trials over all sessions).
    pub fn len(&self) -> usize {
        self.trial.len()
    }
    /// Whether there are no rows (never, for a valid [`Subject`]).
    pub fn is_empty(&self) -> bool {
        self.trial.is_empty()
    }
    /// Number of actions A (the columns of [`Latents::values`] and
    /// [`Latents::probabilities`]).
    pub fn n_actions(&self) -> usize {
        self.n_actions
    }

    fn matrix<'a>(&self, flat: &'a [f64]) -> ArrayView2<'a, f64> {
        ArrayView2::from_shape((self.len(), self.n_actions), flat)
            .expect("built with n_trials x n_actions entries")
    }

    /// Writes the latents as CSV: a header, then one line per trial,
    ///
    /// ```text
    /// subject,session,trial,state,action,reward,q_0,…,q_{A−1},q_chosen,delta,p_0,…,p_{A−1},log_lik
    /// ```
    ///
    /// with `trial` 0-based within its session ([`Latents::trials`]), actions 0-based, and
    /// numbers in Rust's shortest round-trip form (parsing one gives back the same `f64`).
    /// A missed trial's action, q_chosen, delta, probabilities and log_lik are empty fields.
    /// Identifiers are quoted where CSV needs it. The writer is not buffered here: wrap a
    /// file in a [`std::io::BufWriter`].
    ///
    /// # Errors
    /// [`Error::Write`] if the writer fails.
    pub fn write_csv(&self, writer: impl std::io::Write) -> Result<()> {
        let fail = |source: std::io::Error| Error::Write {
            what: format!("the latents of subject `{}` as CSV", self.subject),
            source,
        };
        let mut out = csv::Writer::from_writer(writer);
        let mut header = vec![
            "subject".to_string(),
            "session".to_string(),
            "trial".to_string(),
            "state".to_string(),
            "action".to_string(),
            "reward".to_string(),
        ];
        header.extend((0..self.n_actions).map(|j| format!("q_{j}")));
        header.extend(["q_chosen".to_string(), "delta".to_string()]);
        header.extend((0..self.n_actions).map(|j| format!("p_{j}")));
        header.push("log_lik".to_string());
        out.write_record(&header).map_err(|e| fail(e.into()))?;
        let mut field = String::new();
        for i in 0..self.len() {
            self.write_row(&mut out, i, &mut field)
                .map_err(|e| fail(e.into()))?;
        }
        out.flush().map_err(fail)
    }
}

impl<L: LearningRule, O: Observation> Model<L, O> {
    /// The trial-wise latent variables of `subject` at θ (typically the fitted θ̂): per trial
    /// the values before the update, the chosen value, the prediction error, the choice
    /// probabilities and the log-likelihood contribution (see [`Latents`]).
    ///
    /// Values restart at each session and the previous action (for perseveration) is the
    /// last one chosen in the same session, as in the [`Likelihood`](crate::Likelihood); the
    /// contributions add up to its value. A missed trial keeps its row (see [`Latents`]) and
    /// is learned from as the model says ([`Model::missed`]).
    ///
    /// # Errors
    /// As [`Model::likelihood`] and its value: [`Error::InvalidTrial`] if an action or
    /// state does not fit the model's table, naming subject, session and trial;
    /// [`Error::DimensionMismatch`] for θ of the wrong length, [`Error::NonFiniteTheta`] for a
    /// non-finite entry, [`Error::InvalidParameter`] for a natural parameter out of range;
    /// [`Error::NonFiniteResult`] if a latent variable is not finite, naming it, the trial,
    /// the session and the subject; [`Error::InvalidOption`] if the columns would exceed
    /// [`MAX_FLOATS`](crate::check::MAX_FLOATS) or cannot be allocated.
    pub fn latents(&self, theta: ArrayView1<f64>, subject: &Subject) -> Result<Latents> {
        // The likelihood's own checks, in its order: the table shape, then θ.
        self.likelihood(subject)?;
        let nat = self.natural_checked(theta)?;
        let shape = self.shape();
        let a_n = shape.n_actions;
        let n = subject.n_trials();
        let wide = check::floats(
            &[n, a_n],
            "n_trials",
            n,
            format_args!(
                "the latent values of subject `{}` (n_trials x n_actions)",
                subject.id()
            ),
        )?;
        let column = |len: usize| check::filled(len, 0.0, "latents column");
        let mut lat = Latents {
            subject: subject.id().to_string(),
            session_ids: subject
                .sessions()
                .iter()
                .map(|s| s.id().to_string())
                .collect(),
            n_actions: a_n,
            session: check::filled(n, 0, "latents column")?,
            trial: check::filled(n, 0, "latents column")?,
            state: check::filled(n, 0, "latents column")?,
            action: check::filled(n, 0, "latents column")?,
            reward: column(n)?,
            q: column(wide)?,
            q_chosen: column(n)?,
            delta: column(n)?,
            p: column(wide)?,
            log_lik: column(n)?,
        };
        let (rule, obs) = (self.rule(), self.observation());
        let (psi_l, psi_o) = nat.psi().split_at(self.n_rule_params());
        // The table's size was checked by `Model::new`.
        let mut q = check::filled(shape.len(), 0.0, "values")?;
        let mut buffers = ObsBuffers::for_order(a_n, psi_o.len(), order::VALUE)?;
        let mut i = 0;
        for (k, sess) in subject.sessions().iter().enumerate() {
            rule.reset::<{ order::VALUE }>(psi_l, shape, &mut q, &mut [], &mut []);
            let next = if L::USES_NEXT_STATE {
                sess.next_states()
            } else {
                None
            };
            let mut previous = None;
            for t in 0..sess.len() {
                let (s, a) = (sess.states()[t] as usize, sess.actions()[t]);
                let reward = sess.rewards()[t];
                let row = shape.index(s, 0);
                lat.session[i] = k;
                lat.trial[i] = t;
                lat.state[i] = s as u32;
                lat.action[i] = a;
                lat.reward[i] = reward;
                if a == MISSED {
                    let out = i * a_n..(i + 1) * a_n;
                    lat.q[out.clone()].copy_from_slice(&q[row..row + a_n]);
                    lat.p[out].fill(f64::NAN);
                    lat.q_chosen[i] = f64::NAN;
                    lat.delta[i] = f64::NAN;
                    lat.log_lik[i] = f64::NAN;
                    lat.check_row(i, theta)?;
                    if self.missed() == Missed::Learn {
                        rule.update_missed::<{ order::VALUE }>(
                            psi_l,
                            shape,
                            s,
                            reward,
                            &mut q,
                            &mut [],
                            &mut [],
                        );
                    }
                    i += 1;
                    continue;
                }
                let a = a as usize;
                let step = Step {
                    state: s,
                    action: a,
                    reward,
                    next_state: next.and_then(|ns| (ns[t] != NO_STATE).then_some(ns[t] as usize)),
                };
                let values = &q[row..row + a_n];
                let out = i * a_n..(i + 1) * a_n;
                lat.q[out.clone()].copy_from_slice(values);
                let choice = Choice {
                    action: a,
                    state: s,
                    previous,
                };
                obs.probabilities(psi_o, values, choice.context(), &mut lat.p[out]);
                lat.log_lik[i] = obs
                    .log_prob::<{ order::VALUE }>(psi_o, values, choice, &mut buffers.derivs())
                    .value();
                lat.q_chosen[i] = values[a];
                lat.delta[i] = rule.prediction_error(psi_l, shape, step, &q);
                lat.check_row(i, theta)?;
                rule.update::<{ order::VALUE }>(psi_l, shape, step, &mut q, &mut [], &mut []);
                previous = Some(a);
                i += 1;
            }
        }
        Ok(lat)
    }
}

impl Latents {
    /// Row `i` as one CSV record; `field` is the reused formatting buffer.
    fn write_row<W: std::io::Write>(
        &self,
        out: &mut csv::Writer<W>,
        i: usize,
        field: &mut String,
    ) -> csv::Result<()> {
        let mut put = |out: &mut csv::Writer<W>, x: &dyn std::fmt::Display| {
            field.clear();
            write!(field, "{x}").expect("formatting into a String cannot fail");
            out.write_field(field.as_str())
        };
        let row = i * self.n_actions..(i + 1) * self.n_actions;
        out.write_field(&self.subject)?;
        out.write_field(&self.session_ids[self.session[i]])?;
        put(out, &self.trial[i])?;
        put(out, &self.state[i])?;
        let missed = self.is_missed(i);
        if missed {
            out.write_field("")?;
        } else {
            put(out, &self.action[i])?;
        }
        put(out, &self.reward[i])?;
        for x in &self.q[row.clone()] {
            put(out, x)?;
        }
        if missed {
            // q_chosen, delta, the probabilities and log_lik: not defined without a choice.
            for _ in 0..self.n_actions + 3 {
                out.write_field("")?;
            }
        } else {
            put(out, &self.q_chosen[i])?;
            put(out, &self.delta[i])?;
            for x in &self.p[row] {
                put(out, x)?;
            }
            put(out, &self.log_lik[i])?;
        }
        out.write_record(None::<&[u8]>)
    }

    /// [`Error::NonFiniteResult`] naming the first latent variable of row `i` that is not
    /// finite (the reward was checked by [`Subject::new`]; a missed trial has only its
    /// values).
    fn check_row(&self, i: usize, theta: ArrayView1<f64>) -> Result<()> {
        let a_n = self.n_actions;
        let row = i * a_n..(i + 1) * a_n;
        let bad = if self.q[row.clone()].iter().any(|x| !x.is_finite()) {
            "value Q"
        } else if self.is_missed(i) {
            // No choice: the other latents are not defined (NaN by design).
            return Ok(());
        } else if !self.delta[i].is_finite() {
            "prediction error"
        } else if self.p[row].iter().any(|x| !x.is_finite()) {
            "choice probabilities"
        } else if !self.log_lik[i].is_finite() {
            "log-likelihood contribution"
        } else {
            return Ok(());
        };
        Err(Error::non_finite_result(
            format!(
                "the {bad} at trial {} of session `{}` of subject `{}`",
                self.trial[i], self.session_ids[self.session[i]], self.subject
            ),
            theta.to_vec(),
        ))
    }
}
