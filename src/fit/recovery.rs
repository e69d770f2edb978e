//! Parameter and model recovery: simulate cohorts from known parameters and models, fit them,
//! and measure how well the truth comes back.
//!
//! **Simulation needs an object-safe seam.** [`Environment`] has generic methods (over the
//! generator), so a list of different models, each with its own task, cannot be held as
//! `dyn Environment`s. The seam is [`Simulate`]: a [`FitModel`] that can also generate a
//! subject at θ. [`Simulator`] implements it by bundling a [`Model`] with an environment
//! factory (`Fn(usize) -> Result<E>`, called once per subject with the subject's index, so
//! each subject gets a fresh task: a reversal bandit, a bandit of its own probabilities) and
//! the number of trials. Because `Simulate: FitModel`, one `&dyn Simulate` is both the
//! generating model and a candidate to fit, and [`model_recovery`] takes one list.
//!
//! **Reproducible.** θ's are drawn from the caller's generator first, in subject order; then
//! one number is drawn from it and subject i simulates on stream i of a [`ChaCha8Rng`]
//! seeded with that number (in parallel with rayon, the same data on any thread count); the
//! fits then draw from the caller's generator as [`map`] and [`em`] do.
//!
//! **Figures** (per parameter, over the subjects whose fit succeeded, on θ and on the natural
//! scale ψ = g(θ); xᵢ true, yᵢ fitted, n subjects):
//!
//! ```text
//! r    = Σ (xᵢ − x̄)(yᵢ − ȳ) / √(Σ (xᵢ − x̄)² Σ (yᵢ − ȳ)²)   (Pearson; NaN if either is constant)
//! bias = (1/n) Σ (yᵢ − xᵢ)
//! RMSE = √((1/n) Σ (yᵢ − xᵢ)²)
//! ```
//!
//! **Model recovery.** For each generating model g and each of `n_cohorts` cohorts: draw
//! `n_subjects` θ's from g's population prior, simulate, [`compare`] every candidate on the
//! cohort (each by EM), and count the winner by the chosen [`Criterion`]: row g of the
//! confusion matrix (rows generating, columns winning).

use ndarray::{Array1, Array2, ArrayView1};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;

use super::compare::{CompareOptions, Criterion, compare};
use super::em::{EmFit, EmOptions, em};
use super::map::{MapOptions, SubjectFit, map};
use super::model::FitModel;
use crate::check;
use crate::cohort::Cohort;
use crate::data::{Dataset, Subject};
use crate::env::Environment;
use crate::error::{Error, Result};
use crate::learning::LearningRule;
use crate::observation::Observation;
use crate::params::ParamLayout;
use crate::prior::{MvGaussian, Prior};
use crate::task::TaskModel;
use crate::{Model, Term};

/// A model that can generate subjects as well as be fitted (see the module docs).
///
/// Object-safe: [`model_recovery`] takes a list of `&dyn Simulate` of different models.
pub trait Simulate: FitModel {
    /// Simulates subject `index`, named `subject_id`, at θ (one or more sessions).
    ///
    /// # Errors
    /// θ not of the model's layout or outside its range; an environment the model cannot
    /// play; an error of the environment.
    fn simulate_subject(
        &self,
        theta: ArrayView1<f64>,
        index: usize,
        subject_id: &str,
        rng: &mut ChaCha8Rng,
    ) -> Result<Subject>;
}

/// A [`Model`] with an environment factory and a session length: a [`Simulate`].
///
/// ```
/// use rlgrad::fit::{Simulate, Simulator};
/// use rlgrad::prelude::*;
/// let model = Model::new(RescorlaWagner::new(), Softmax::new(), 1, 2)?;
/// let sim = Simulator::new(model, |_| Bandit::new(vec![0.8, 0.2])?.with_reversals(30), 100)?;
/// let theta = sim.model().layout().theta_from_natural(&[("alpha", 0.3), ("beta", 4.0)])?;
/// let mut rng = ChaCha8Rng::seed_from_u64(1);
/// let subject = sim.simulate_subject(theta.view(), 0, "s0", &mut rng)?;
/// assert_eq!(subject.n_trials(), 100);
/// # Ok::<(), rlgrad::Error>(())
/// ```
pub struct Simulator<L, O, F> {
    model: Model<L, O>,
    env: F,
    n_trials: usize,
}

impl<L, O, F, E> Simulator<L, O, F>
where
    L: LearningRule,
    O: Observation,
    F: Fn(usize) -> Result<E> + Send + Sync,
    E: Environment,
{
    /// `model` playing one session of `n_trials` trials in `env(i)` for subject i.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for `n_trials` = 0.
    pub fn new(model: Model<L, O>, env: F, n_trials: usize) -> Result<Self> {
        check::at_least_one("n_trials", n_trials)?;
        Ok(Simulator {
            model,
            env,
            n_trials,
        })
    }

    /// The model.
    pub fn model(&self) -> &Model<L, O> {
        &self.model
    }

    /// Trials per subject.
    pub fn n_trials(&self) -> usize {
        self.n_trials
    }
}

impl<L, O, F, E> FitModel for Simulator<L, O, F>
where
    L: LearningRule + 'static,
    O: Observation + 'static,
    F: Fn(usize) -> Result<E> + Send + Sync,
    E: Environment,
{
    fn layout(&self) -> &ParamLayout {
        self.model.layout()
    }

    fn likelihood<'a>(&'a self, subject: &'a Subject) -> Result<Box<dyn Term + 'a>> {
        FitModel::likelihood(&self.model, subject)
    }

    fn cohort<'a>(&'a self, subjects: &'a [Subject]) -> Result<Box<dyn Cohort + 'a>> {
        FitModel::cohort(&self.model, subjects)
    }
}

impl<L, O, F, E> Simulate for Simulator<L, O, F>
where
    L: LearningRule + 'static,
    O: Observation + 'static,
    F: Fn(usize) -> Result<E> + Send + Sync,
    E: Environment,
{
    fn simulate_subject(
        &self,
        theta: ArrayView1<f64>,
        index: usize,
        subject_id: &str,
        rng: &mut ChaCha8Rng,
    ) -> Result<Subject> {
        let mut env = (self.env)(index)?;
        let session = self
            .model
            .simulate(theta, &mut env, self.n_trials, "1", rng)?;
        Subject::new(subject_id, vec![session])
    }
}

/// A [`TaskModel`] with a session length: a [`Simulate`] (each subject plays one session of
/// the model's own task).
///
/// ```
/// use rlgrad::fit::{FitModel, Simulate, TaskSimulator};
/// use rlgrad::prelude::*;
/// use rlgrad::task::TwoStep;
/// let sim = TaskSimulator::new(TwoStep::hybrid(), 50)?;
/// let theta = sim.layout().theta_from_natural(&[
///     ("alpha_1", 0.5), ("alpha_2", 0.5), ("lambda", 0.6), ("w", 0.5),
///     ("beta_1", 4.0), ("beta_2", 4.0), ("kappa", 0.2),
/// ])?;
/// let subject = sim.simulate_subject(theta.view(), 0, "s0", &mut ChaCha8Rng::seed_from_u64(1))?;
/// assert_eq!(subject.n_trials(), 100); // two rows (stages) per trial
/// # Ok::<(), rlgrad::Error>(())
/// ```
pub struct TaskSimulator<M> {
    model: M,
    n_trials: usize,
}

impl<M: TaskModel> TaskSimulator<M> {
    /// `model` playing one session of `n_trials` trials of its task per subject.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for `n_trials` = 0.
    pub fn new(model: M, n_trials: usize) -> Result<Self> {
        check::at_least_one("n_trials", n_trials)?;
        Ok(TaskSimulator { model, n_trials })
    }

    /// The model.
    pub fn model(&self) -> &M {
        &self.model
    }
}

impl<M: TaskModel> FitModel for TaskSimulator<M> {
    fn layout(&self) -> &ParamLayout {
        TaskModel::layout(&self.model)
    }

    fn likelihood<'a>(&'a self, subject: &'a Subject) -> Result<Box<dyn Term + 'a>> {
        FitModel::likelihood(&self.model, subject)
    }
}

impl<M: TaskModel> Simulate for TaskSimulator<M> {
    fn simulate_subject(
        &self,
        theta: ArrayView1<f64>,
        _index: usize,
        subject_id: &str,
        rng: &mut ChaCha8Rng,
    ) -> Result<Subject> {
        let mut psi = TaskModel::layout(&self.model).natural_with_derivatives(theta)?;
        psi.truncate(theta.len());
        self.model.check_params(&psi)?;
        let session = self.model.simulate_session(&psi, self.n_trials, "1", rng)?;
        Subject::new(subject_id, vec![session])
    }
}

/// Where the true θ's of a parameter recovery come from.
#[derive(Clone, Copy, Debug)]
pub enum Truth<'a> {
    /// `n` subjects drawn from a population prior N(μ, Σ) on θ.
    Population(&'a MvGaussian, usize),
    /// The given θ's, one subject each.
    Given(&'a [Array1<f64>]),
}

/// How a parameter recovery fits the simulated cohort.
#[derive(Clone, Debug)]
pub enum RecoveryFit {
    /// Per-subject MAP under a fixed prior.
    Map(MvGaussian, MapOptions),
    /// Empirical-Bayes EM (the group prior estimated from the cohort).
    Em(EmOptions),
}

/// Correlation, bias and RMSE of one parameter on one scale (see the module docs).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RecoveryStats {
    /// The parameter's name.
    pub name: String,
    /// Subjects used (those fitted).
    pub n: usize,
    /// Pearson r between true and fitted (NaN if either is constant or n < 2).
    pub correlation: f64,
    /// Mean of fitted − true.
    pub bias: f64,
    /// Root mean squared error of fitted − true.
    pub rmse: f64,
}

/// The figures of one parameter from its true and fitted values (see the module docs).
///
/// ```
/// let s = rlgrad::fit::recovery_stats("alpha", &[1.0, 2.0, 3.0], &[1.5, 2.5, 2.0])?;
/// assert!((s.bias - 0.0).abs() < 1e-15);
/// assert!((s.rmse - 0.5_f64.sqrt()).abs() < 1e-15);
/// # Ok::<(), rlgrad::Error>(())
/// ```
///
/// # Errors
/// [`Error::DimensionMismatch`] for slices of different lengths; [`Error::EmptyData`] for
/// none; [`Error::NonFiniteInput`] for a non-finite value.
pub fn recovery_stats(name: &str, truth: &[f64], fitted: &[f64]) -> Result<RecoveryStats> {
    check::len(
        &format!("fitted values of `{name}`"),
        truth.len(),
        fitted.len(),
    )?;
    if truth.is_empty() {
        return Err(Error::empty_data(format!(
            "no fitted subject to measure the recovery of `{name}`"
        )));
    }
    check::finite_inputs(&format!("true `{name}`"), truth)?;
    check::finite_inputs(&format!("fitted `{name}`"), fitted)?;
    let n = truth.len() as f64;
    let mx = truth.iter().sum::<f64>() / n;
    let my = fitted.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx, mut syy, mut se, mut sd) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (x, y) in truth.iter().zip(fitted) {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx) * (x - mx);
        syy += (y - my) * (y - my);
        sd += y - x;
        se += (y - x) * (y - x);
    }
    // Constant means all equal: rounding in the means can leave sxx or syy a hair above 0
    // for equal values, which would give r ≈ 0 instead of "undefined".
    let constant = |v: &[f64]| v.iter().all(|&x| x == v[0]);
    let correlation = if constant(truth) || constant(fitted) {
        f64::NAN
    } else {
        sxy / (sxx * syy).sqrt()
    };
    Ok(RecoveryStats {
        name: name.to_string(),
        n: truth.len(),
        correlation,
        bias: sd / n,
        rmse: (se / n).sqrt(),
    })
}

/// One simulated subject: its true and fitted parameters.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RecoveredSubject {
    /// The subject's id (`s0`, `s1`, …).
    pub id: String,
    /// True θ.
    pub true_theta: Array1<f64>,
    /// True ψ = g(θ).
    pub true_natural: Vec<f64>,
    /// Fitted θ̂ (`None` if the fit failed).
    pub fitted_theta: Option<Array1<f64>>,
    /// Fitted ψ̂ = g(θ̂).
    pub fitted_natural: Option<Vec<f64>>,
}

/// The scale of a parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Scale {
    /// Unconstrained θ.
    Theta,
    /// Natural ψ = g(θ).
    Natural,
}

/// The result of [`parameter_recovery`].
#[derive(Debug, Serialize)]
pub struct ParameterRecovery {
    /// Parameter names, in layout order.
    pub names: Vec<String>,
    /// Per parameter, on θ.
    pub theta: Vec<RecoveryStats>,
    /// Per parameter, on the natural scale.
    pub natural: Vec<RecoveryStats>,
    /// Per subject, in order.
    pub subjects: Vec<RecoveredSubject>,
    /// Subjects whose fit failed (left out of the figures), with the reason.
    pub failed: Vec<String>,
    /// The simulated cohort.
    #[serde(skip)]
    pub data: Dataset,
    /// Every subject's fit, in order (for EM, that of its last E-step, moved here from
    /// [`EmFit::fits`], which is left empty).
    #[serde(skip)]
    pub fits: Vec<SubjectFit>,
    /// The EM fit (group prior, trace, fits), if fitted by EM.
    pub em: Option<EmFit>,
}

impl ParameterRecovery {
    /// Number of subjects whose fit failed.
    pub fn n_failed(&self) -> usize {
        self.failed.len()
    }

    /// (true, fitted) values of parameter `k` on `scale`, over the fitted subjects (for a
    /// scatter plot); empty vectors for a `k` beyond the parameters.
    pub fn pairs(&self, k: usize, scale: Scale) -> (Vec<f64>, Vec<f64>) {
        let mut xs = Vec::new();
        let mut ys = Vec::new();
        for s in &self.subjects {
            let pair = match scale {
                Scale::Theta => s
                    .fitted_theta
                    .as_ref()
                    .and_then(|f| Some((*s.true_theta.get(k)?, *f.get(k)?))),
                Scale::Natural => s
                    .fitted_natural
                    .as_ref()
                    .and_then(|f| Some((*s.true_natural.get(k)?, *f.get(k)?))),
            };
            if let Some((x, y)) = pair {
                xs.push(x);
                ys.push(y);
            }
        }
        (xs, ys)
    }

    /// The figures on `scale`.
    pub fn stats(&self, scale: Scale) -> &[RecoveryStats] {
        match scale {
            Scale::Theta => &self.theta,
            Scale::Natural => &self.natural,
        }
    }

    /// A Markdown table: per parameter r, bias and RMSE on θ and on the natural scale.
    pub fn table(&self) -> String {
        let mut out = String::from(
            "| parameter | n | r (θ) | bias (θ) | RMSE (θ) | r (natural) | bias (natural) | RMSE (natural) |\n\
             |---|---|---|---|---|---|---|---|\n",
        );
        for (t, n) in self.theta.iter().zip(&self.natural) {
            out.push_str(&format!(
                "| {} | {} | {:.3} | {:+.3} | {:.3} | {:.3} | {:+.3} | {:.3} |\n",
                t.name, t.n, t.correlation, t.bias, t.rmse, n.correlation, n.bias, n.rmse
            ));
        }
        out
    }
}

/// θ's of a cohort: drawn from `truth` (checked against the model's dimension).
fn draw_thetas<R: Rng + ?Sized>(
    k: usize,
    truth: Truth<'_>,
    rng: &mut R,
) -> Result<Vec<Array1<f64>>> {
    match truth {
        Truth::Population(prior, n) => {
            check::at_least_one("n_subjects", n)?;
            check::len("population prior (vs model parameters)", k, prior.dim())?;
            Ok((0..n).map(|_| prior.sample(rng)).collect())
        }
        Truth::Given(thetas) => {
            if thetas.is_empty() {
                return Err(Error::empty_data(
                    "no true theta given: the cohort would be empty",
                ));
            }
            for (i, t) in thetas.iter().enumerate() {
                check::len(&format!("true theta of subject {i}"), k, t.len())?;
            }
            Ok(thetas.to_vec())
        }
    }
}

/// Simulates subject `s{i}` at `thetas[i]` for every i (see the module docs for the seeding).
fn simulate_cohort<S: Simulate + ?Sized, R: Rng + ?Sized>(
    sim: &S,
    thetas: &[Array1<f64>],
    rng: &mut R,
) -> Result<Dataset> {
    let seed: u64 = rng.random();
    let subjects = thetas
        .par_iter()
        .enumerate()
        .map(|(i, theta)| {
            let mut r = ChaCha8Rng::seed_from_u64(seed);
            r.set_stream(i as u64);
            sim.simulate_subject(theta.view(), i, &format!("s{i}"), &mut r)
        })
        .collect::<Result<Vec<_>>>()?;
    Dataset::new(subjects)
}

/// Parameter recovery: simulates a cohort from `truth` with `sim`, fits it by `fit`, and
/// reports per parameter the correlation, bias and RMSE between true and fitted values on θ
/// and on the natural scale (see the module docs).
///
/// ```
/// use rlgrad::fit::{RecoveryFit, Simulator, Truth, parameter_recovery};
/// use rlgrad::prelude::*;
/// let model = Model::new(RescorlaWagner::new(), Softmax::new(), 1, 2)?;
/// let sim = Simulator::new(model, |_| Bandit::new(vec![0.8, 0.2])?.with_reversals(40), 150)?;
/// let population = MvGaussian::diagonal(ndarray::arr1(&[-0.5, 1.3]), ndarray::arr1(&[0.6, 0.2]))?;
/// let mut rng = ChaCha8Rng::seed_from_u64(4);
/// let fit = RecoveryFit::Map(population.clone(), MapOptions::default());
/// let rec = parameter_recovery(&sim, Truth::Population(&population, 12), &fit, &mut rng)?;
/// assert_eq!(rec.n_failed(), 0);
/// println!("{}", rec.table());
/// # Ok::<(), rlgrad::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidOption`] for 0 subjects; [`Error::EmptyData`] for an empty list of given
/// θ's; [`Error::DimensionMismatch`] for a population prior, a given θ or a MAP prior not of
/// the model's dimension; a simulation error; the fit's errors; [`Error::EmptyData`] if no
/// subject could be fitted.
pub fn parameter_recovery<S, R>(
    sim: &S,
    truth: Truth<'_>,
    fit: &RecoveryFit,
    rng: &mut R,
) -> Result<ParameterRecovery>
where
    S: Simulate + ?Sized,
    R: Rng + ?Sized,
{
    let layout = sim.layout();
    let k = layout.len();
    if let RecoveryFit::Map(prior, _) = fit {
        check::len("MAP prior (vs model parameters)", k, prior.dim())?;
    }
    let thetas = draw_thetas(k, truth, rng)?;
    let data = simulate_cohort(sim, &thetas, rng)?;
    let (fits, em_fit) = match fit {
        RecoveryFit::Map(prior, options) => (map(sim, &data, prior, options, rng)?, None),
        RecoveryFit::Em(options) => {
            let mut fitted = em(sim, &data, options, rng)?;
            (std::mem::take(&mut fitted.fits), Some(fitted))
        }
    };
    let mut subjects = Vec::with_capacity(thetas.len());
    let mut failed = Vec::new();
    for ((theta, f), subject) in thetas.into_iter().zip(&fits).zip(data.subjects()) {
        let true_natural = layout.natural(theta.view())?.values().to_vec();
        let (fitted_theta, fitted_natural) = match f {
            SubjectFit::Fitted(m) => (Some(m.theta.clone()), Some(m.params.values().to_vec())),
            SubjectFit::Failed(e) => {
                failed.push(format!("subject `{}`: {}", e.subject, e.error));
                (None, None)
            }
        };
        subjects.push(RecoveredSubject {
            id: subject.id().to_string(),
            true_theta: theta,
            true_natural,
            fitted_theta,
            fitted_natural,
        });
    }
    let names: Vec<String> = layout.names().map(str::to_string).collect();
    let mut rec = ParameterRecovery {
        names,
        theta: Vec::new(),
        natural: Vec::new(),
        subjects,
        failed,
        data,
        fits,
        em: em_fit,
    };
    for (i, name) in rec.names.iter().enumerate() {
        let (x, y) = rec.pairs(i, Scale::Theta);
        rec.theta.push(recovery_stats(name, &x, &y)?);
        let (x, y) = rec.pairs(i, Scale::Natural);
        rec.natural.push(recovery_stats(name, &x, &y)?);
    }
    Ok(rec)
}

/// A candidate of a model recovery: a named model that generates and is fitted, with the
/// population prior its cohorts are drawn from.
#[derive(Clone, Copy)]
pub struct Candidate<'a> {
    /// The model's name (unique in the list).
    pub name: &'a str,
    /// The model.
    pub model: &'a dyn Simulate,
    /// N(μ, Σ) on θ, of the model's dimension.
    pub population: &'a MvGaussian,
}

/// Settings for [`model_recovery`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelRecoveryOptions {
    /// Subjects per cohort (≥ 1).
    pub n_subjects: usize,
    /// Cohorts per generating model (≥ 1); each is one [`compare`].
    pub n_cohorts: usize,
    /// The criterion that picks the winner.
    pub criterion: Criterion,
    /// The comparison settings (EM per model, iBIC samples).
    pub compare: CompareOptions,
}

impl Default for ModelRecoveryOptions {
    fn default() -> Self {
        ModelRecoveryOptions {
            n_subjects: 30,
            n_cohorts: 5,
            criterion: Criterion::Ibic,
            compare: CompareOptions::default(),
        }
    }
}

/// One cohort of a model recovery.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RecoveryCohort {
    /// Index of the generating model.
    pub generating: usize,
    /// Index of the winning model.
    pub winner: usize,
    /// Every candidate's value of the criterion, in candidate order.
    pub values: Vec<f64>,
}

/// The result of [`model_recovery`]: the confusion matrix.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelRecovery {
    /// Candidate names, in order (rows and columns).
    pub names: Vec<String>,
    /// The criterion used.
    pub criterion: Criterion,
    /// counts\[g, w\]: cohorts generated by g that w won.
    pub counts: Array2<usize>,
    /// Every cohort, generating model by generating model.
    pub cohorts: Vec<RecoveryCohort>,
}

impl ModelRecovery {
    /// Row fractions: counts\[g, w\] / Σ_w counts\[g, w\] (the probability that w wins given
    /// g generated).
    pub fn fractions(&self) -> Array2<f64> {
        let mut f = self.counts.mapv(|c| c as f64);
        for mut row in f.rows_mut() {
            let total: f64 = row.sum();
            if total > 0.0 {
                row /= total;
            }
        }
        f
    }

    /// A Markdown table of counts and row fractions.
    pub fn table(&self) -> String {
        let fr = self.fractions();
        let mut out = format!("| generating \\ winning ({}) |", self.criterion.name());
        for n in &self.names {
            out.push_str(&format!(" {n} |"));
        }
        out.push_str("\n|---|");
        out.push_str(&"---|".repeat(self.names.len()));
        out.push('\n');
        for (g, name) in self.names.iter().enumerate() {
            out.push_str(&format!("| {name} |"));
            for w in 0..self.names.len() {
                out.push_str(&format!(" {} ({:.2}) |", self.counts[[g, w]], fr[[g, w]]));
            }
            out.push('\n');
        }
        out
    }
}

/// Model recovery: for each candidate as the generating model, `n_cohorts` cohorts drawn
/// from its population and simulated, every candidate compared on each, the winner by
/// `options.criterion` counted (see the module docs).
///
/// # Errors
/// [`Error::EmptyData`] for no candidates; [`Error::InvalidOption`] for 0 subjects or
/// cohorts, or two candidates of one name; [`Error::DimensionMismatch`] for a population
/// prior not of its model's dimension; any simulation or [`compare`] error.
pub fn model_recovery<R: Rng + ?Sized>(
    candidates: &[Candidate<'_>],
    options: &ModelRecoveryOptions,
    rng: &mut R,
) -> Result<ModelRecovery> {
    if candidates.is_empty() {
        return Err(Error::empty_data(
            "no candidate models for the model recovery",
        ));
    }
    check::at_least_one("n_subjects", options.n_subjects)?;
    check::at_least_one("n_cohorts", options.n_cohorts)?;
    for (i, c) in candidates.iter().enumerate() {
        check::len(
            &format!("population prior of model `{}` (vs its parameters)", c.name),
            c.model.n_params(),
            c.population.dim(),
        )?;
        if candidates[..i].iter().any(|o| o.name == c.name) {
            return Err(Error::invalid_option("model name", c.name, "appears twice"));
        }
    }
    let fit_models: Vec<(&str, &dyn FitModel)> = candidates
        .iter()
        .map(|c| (c.name, c.model as &dyn FitModel))
        .collect();
    let m = candidates.len();
    let mut counts = Array2::zeros((m, m));
    let mut cohorts = Vec::with_capacity(m * options.n_cohorts);
    for (g, c) in candidates.iter().enumerate() {
        for _ in 0..options.n_cohorts {
            let thetas = draw_thetas(
                c.model.n_params(),
                Truth::Population(c.population, options.n_subjects),
                rng,
            )?;
            let data = simulate_cohort(c.model, &thetas, rng)?;
            let cmp = compare(&fit_models, &data, &options.compare, rng)?;
            let (winner, _) = cmp.best(options.criterion);
            counts[[g, winner]] += 1;
            cohorts.push(RecoveryCohort {
                generating: g,
                winner,
                values: cmp
                    .models
                    .iter()
                    .map(|s| s.value(options.criterion))
                    .collect(),
            });
        }
    }
    Ok(ModelRecovery {
        names: candidates.iter().map(|c| c.name.to_string()).collect(),
        criterion: options.criterion,
        counts,
        cohorts,
    })
}
