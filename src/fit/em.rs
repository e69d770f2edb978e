//! Empirical-Bayes EM with the Laplace approximation (Huys et al. 2011): the group prior
//! N(μ, Σ) of a cohort, and every subject's MAP estimate under it.
//!
//! ```text
//! E-step:  per subject i, MAP under N(μ, Σ):  θ̂ᵢ, Hᵢ = −∇² log posterior at θ̂ᵢ   (fit::map)
//! M-step:  μ = (1/N) Σᵢ θ̂ᵢ
//!          Σ = (1/N) Σᵢ [ (θ̂ᵢ − μ)(θ̂ᵢ − μ)ᵀ + Hᵢ⁻¹ ] = (1/N) Σᵢ [ θ̂ᵢθ̂ᵢᵀ + Hᵢ⁻¹ ] − μμᵀ
//!          (Diagonal: the off-diagonal entries set to 0), plus `variance_floor` on the diagonal
//! stop:    |Δ Σᵢ log posteriorᵢ| ≤ tolerance · max(1, |Σᵢ log posteriorᵢ|) and
//!          maxₖ |Δμₖ| ≤ mu_tolerance, or after max_iterations
//! ```
//!
//! **Mergeable E-step.** What the M-step needs from the subjects is a sum: [`EStep`] holds N,
//! Σ θ̂ᵢ, Σ (θ̂ᵢθ̂ᵢᵀ + Hᵢ⁻¹), the summed log posterior and log-likelihood, and the counts of
//! repaired and failed subjects. [`EStep::merge`] adds two of them, so an E-step can run over
//! shards of subjects on any engine (processes, machines, the Python bindings' workers) and
//! be merged before [`EStep::m_step`]; in process, [`em`] runs the subjects in parallel with
//! rayon. Merging in another order changes the sums only by rounding.
//!
//! **Subjects are never dropped silently.** A subject whose Hessian is not positive definite
//! is repaired (eigenvalue floor, see [`map`](super::map)), counted in
//! [`EmIteration::repaired`] and flagged in its [`MapFit`]; it contributes its repaired H⁻¹.
//! A subject whose fit fails outright is counted in [`EmIteration::failed`], named in
//! [`EStep::failed`], and left out of that M-step (there is no θ̂ to add).

use std::collections::BTreeMap;

use ndarray::{Array1, Array2};
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::map::{MapFit, MapOptions, SubjectFit, check_warm_start, map_by_id};
use super::model::FitModel;
use crate::check;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::prior::{MvGaussian, Prior};

/// The group covariance Σ of [`em`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Covariance {
    /// A full K × K covariance.
    Full,
    /// Independent parameters: a diagonal Σ.
    Diagonal,
}

/// Settings for [`em`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EmOptions {
    /// The MAP settings of each E-step. The first E-step uses all `n_starts` (and
    /// `map.warm_starts`, if given, as [`map`](super::map) does); later ones start each
    /// subject from its last θ̂ alone (a warm start).
    pub map: MapOptions,
    /// Full or diagonal Σ.
    pub covariance: Covariance,
    /// At most this many iterations (≥ 1).
    pub max_iterations: usize,
    /// Relative tolerance on the summed log posterior (> 0).
    pub tolerance: f64,
    /// Absolute tolerance on μ, in θ units (> 0).
    pub mu_tolerance: f64,
    /// The starting prior is N(0, initial_variance · I) (> 0).
    pub initial_variance: f64,
    /// Added to the diagonal of each new Σ, so that a parameter every subject agrees on
    /// keeps a proper prior (≥ 0). A cohort with no spread in a parameter (simulated
    /// identical subjects) shrinks its variance towards this floor a little every iteration,
    /// and may reach `max_iterations` before the tolerances: raise the floor (to the smallest
    /// variance that matters, say 1e-3) if that happens.
    pub variance_floor: f64,
}

impl Default for EmOptions {
    fn default() -> Self {
        EmOptions {
            map: MapOptions::default(),
            covariance: Covariance::Full,
            max_iterations: 200,
            tolerance: 1e-6,
            mu_tolerance: 1e-3,
            initial_variance: 10.0,
            variance_floor: 1e-6,
        }
    }
}

impl EmOptions {
    fn check(&self) -> Result<()> {
        check::at_least_one("max_iterations", self.max_iterations)?;
        check::positive("tolerance", self.tolerance)?;
        check::positive("mu_tolerance", self.mu_tolerance)?;
        check::positive("initial_variance", self.initial_variance)?;
        check::non_negative("variance_floor", self.variance_floor)
    }
}

/// The E-step's contribution to the M-step: sums over subjects, mergeable across shards.
///
/// ```
/// use ndarray::{arr1, arr2};
/// use rlgrad::fit::{Covariance, EStep};
/// use rlgrad::prior::Prior;
/// // Two shards of one subject each, merged, give the M-step of both.
/// let mut a = EStep::new(1);
/// a.add_point(arr1(&[1.0]).view(), arr2(&[[0.5]]).view(), -3.0, -2.0, false)?;
/// let mut b = EStep::new(1);
/// b.add_point(arr1(&[3.0]).view(), arr2(&[[0.5]]).view(), -4.0, -3.0, false)?;
/// a.merge(b)?;
/// let prior = a.m_step(Covariance::Full, 0.0)?;
/// assert_eq!(prior.mean()[0], 2.0);
/// // Σ = mean of θ̂² + H⁻¹ − μ² = (1 + 9)/2 + 0.5 − 4 = 1.5
/// assert!((prior.covariance()[[0, 0]] - 1.5).abs() < 1e-15);
/// # Ok::<(), rlgrad::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EStep {
    /// The task whose E-step this is ([`e_step`] sets it; `None` for an E-step built by
    /// hand). [`EStep::merge`] refuses shards of different tasks and [`EmRun::update`] an
    /// E-step of a task other than the outstanding one, so that a stale or mixed E-step (a
    /// retried worker, a shard of the previous iteration) cannot enter an M-step.
    pub task: Option<TaskId>,
    /// Subjects added (fitted).
    pub n: usize,
    /// Σ θ̂ᵢ.
    pub sum_theta: Array1<f64>,
    /// Σ (θ̂ᵢθ̂ᵢᵀ + Hᵢ⁻¹).
    pub sum_second: Array2<f64>,
    /// Σ log posteriorᵢ.
    pub log_posterior: f64,
    /// Σ log-likelihoodᵢ.
    pub log_likelihood: f64,
    /// Subjects whose Hessian was repaired.
    pub repaired: usize,
    /// Subjects whose fit failed, with the reason.
    pub failed: Vec<String>,
    /// θ̂ of every subject added with [`EStep::add`] and fitted, by subject id: the warm
    /// starts of the next E-step (see [`EmRun::update`]). Subjects added with
    /// [`EStep::add_point`] are counted in the sums but not here.
    pub thetas: BTreeMap<String, Array1<f64>>,
}

/// Which [`EStepTask`] an [`EStep`] belongs to: its iteration and seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskId {
    /// The EM iteration.
    pub iteration: usize,
    /// The task's seed (a task handed out again for the same iteration has a new one).
    pub seed: u64,
}

impl std::fmt::Display for TaskId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "iteration {} (seed {})", self.iteration, self.seed)
    }
}

/// `task` as words, for messages.
fn task_words(task: Option<TaskId>) -> String {
    task.map_or_else(
        || "no task (built by hand)".to_string(),
        |t| format!("the task of {t}"),
    )
}

/// `a + b` of two counts, or an error naming `what` (counts read from elsewhere may be
/// anything).
fn add_count(what: &str, a: usize, b: usize) -> Result<usize> {
    a.checked_add(b).ok_or_else(|| {
        Error::invalid_option(
            what,
            format_args!("{a} + {b}"),
            "overflows: not a real count",
        )
    })
}

impl EStep {
    /// An empty contribution for K parameters (of no task).
    pub fn new(k: usize) -> EStep {
        EStep {
            task: None,
            n: 0,
            sum_theta: Array1::zeros(k),
            sum_second: Array2::zeros((k, k)),
            log_posterior: 0.0,
            log_likelihood: 0.0,
            repaired: 0,
            failed: Vec::new(),
            thetas: BTreeMap::new(),
        }
    }

    /// Adds one subject's outcome; a fitted subject's θ̂ also goes to
    /// [`thetas`](EStep::thetas).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] for a fit of another dimension;
    /// [`Error::DuplicateSubject`] for a fitted subject already in [`thetas`](EStep::thetas).
    /// Nothing is added on an error.
    pub fn add(&mut self, fit: &SubjectFit) -> Result<()> {
        match fit {
            SubjectFit::Fitted(f) => {
                if self.thetas.contains_key(&f.subject) {
                    return Err(Error::DuplicateSubject {
                        subject: f.subject.clone(),
                    });
                }
                self.add_fit(f)?;
                self.thetas.insert(f.subject.clone(), f.theta.clone());
                Ok(())
            }
            SubjectFit::Failed(e) => {
                self.failed
                    .push(format!("subject `{}`: {}", e.subject, e.error));
                Ok(())
            }
        }
    }

    fn add_fit(&mut self, f: &MapFit) -> Result<()> {
        self.add_point(
            f.theta.view(),
            f.covariance.view(),
            f.log_posterior,
            f.log_likelihood,
            f.hessian_repaired,
        )
    }

    /// Adds a subject given θ̂, H⁻¹, its log posterior and log-likelihood, and whether H was
    /// repaired (for an E-step computed elsewhere).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] for sizes that are not K and K × K;
    /// [`Error::NonFiniteInput`] for a non-finite number.
    pub fn add_point(
        &mut self,
        theta: ndarray::ArrayView1<f64>,
        covariance: ndarray::ArrayView2<f64>,
        log_posterior: f64,
        log_likelihood: f64,
        repaired: bool,
    ) -> Result<()> {
        let k = self.sum_theta.len();
        check::len("theta-hat", k, theta.len())?;
        check::len("posterior covariance rows", k, covariance.nrows())?;
        check::len("posterior covariance columns", k, covariance.ncols())?;
        check::finite_inputs("theta-hat", theta.iter())?;
        check::finite_inputs("posterior covariance", covariance.iter())?;
        check::finite_input("log posterior", log_posterior)?;
        check::finite_input("log-likelihood", log_likelihood)?;
        self.n = add_count("E-step subjects", self.n, 1)?;
        self.sum_theta += &theta;
        for i in 0..k {
            for j in 0..k {
                self.sum_second[[i, j]] += theta[i] * theta[j] + covariance[[i, j]];
            }
        }
        self.log_posterior += log_posterior;
        self.log_likelihood += log_likelihood;
        self.repaired = self.repaired.saturating_add(usize::from(repaired));
        Ok(())
    }

    /// Adds another shard's contribution. An empty E-step of no task (a fresh
    /// [`EStep::new`]) takes the other's task.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for E-steps of different tasks (shards of different
    /// iterations, or of a task handed out again) or counts that overflow;
    /// [`Error::DimensionMismatch`] for shards of different K;
    /// [`Error::DuplicateSubject`] naming a subject whose θ̂ both hold (it was in two
    /// shards). Nothing is merged on an error.
    pub fn merge(&mut self, other: EStep) -> Result<()> {
        let fresh = self.task.is_none() && self.n == 0 && self.failed.is_empty();
        if self.task != other.task && !fresh {
            return Err(Error::invalid_option(
                "merged E-step",
                task_words(other.task),
                format!(
                    "is not of the task of the E-step it is merged into ({}): shards of one \
                     M-step must run the same task",
                    task_words(self.task)
                ),
            ));
        }
        let n = add_count("merged E-step subjects", self.n, other.n)?;
        let repaired = add_count(
            "merged E-step repaired subjects",
            self.repaired,
            other.repaired,
        )?;
        let k = self.sum_theta.len();
        check::len("merged E-step (K)", k, other.sum_theta.len())?;
        self.check_square("E-step merged into")?;
        other.check_square("merged E-step")?;
        if let Some(id) = other.thetas.keys().find(|id| self.thetas.contains_key(*id)) {
            return Err(Error::DuplicateSubject {
                subject: id.clone(),
            });
        }
        self.task = other.task;
        self.n = n;
        self.sum_theta += &other.sum_theta;
        self.sum_second += &other.sum_second;
        self.log_posterior += other.log_posterior;
        self.log_likelihood += other.log_likelihood;
        self.repaired = repaired;
        self.failed.extend(other.failed);
        self.thetas.extend(other.thetas);
        Ok(())
    }

    /// `sum_second` is K × K, K = `sum_theta.len()` (the fields are public: an E-step may
    /// have been built or read elsewhere).
    fn check_square(&self, what: &str) -> Result<()> {
        let k = self.sum_theta.len();
        let (rows, columns) = self.sum_second.dim();
        for (side, found) in [("rows", rows), ("columns", columns)] {
            if found != k {
                return Err(Error::dimension_mismatch(
                    format!("{what}: sum_second {side} (vs K, the length of sum_theta)"),
                    k,
                    found,
                ));
            }
        }
        Ok(())
    }

    /// The M-step: the new group prior N(μ, Σ) (see the module docs).
    ///
    /// # Errors
    /// [`Error::EmptyData`] if no subject was fitted; [`Error::NotPositiveDefinite`] if Σ is
    /// not positive definite (a floor of 0 with subjects that all agree, say);
    /// [`Error::DimensionMismatch`] if `sum_second` is not K × K (an E-step built by hand).
    pub fn m_step(&self, covariance: Covariance, variance_floor: f64) -> Result<MvGaussian> {
        self.check_square("E-step")?;
        let k = self.sum_theta.len();
        if self.n == 0 {
            let why = if self.failed.is_empty() {
                "no subject in the E-step".to_string()
            } else {
                format!("no subject could be fitted: {}", self.failed.join("; "))
            };
            return Err(Error::empty_data(why));
        }
        let n = self.n as f64;
        let mu = &self.sum_theta / n;
        let mut sigma = Array2::zeros((k, k));
        for i in 0..k {
            for j in 0..k {
                if i == j || covariance == Covariance::Full {
                    // Symmetrised: the sums are symmetric up to rounding.
                    let s = 0.5 * (self.sum_second[[i, j]] + self.sum_second[[j, i]]);
                    sigma[[i, j]] = s / n - mu[i] * mu[j];
                }
            }
            sigma[[i, i]] += variance_floor;
        }
        MvGaussian::new(mu, sigma).map_err(|e| match e {
            Error::NotPositiveDefinite { reason, .. } => Error::NotPositiveDefinite {
                what: "the group covariance of the M-step".to_string(),
                reason,
            },
            other => other,
        })
    }
}

/// One EM iteration: the E-step under the prior of the previous M-step, and the new prior.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EmIteration {
    /// 0-based.
    pub iteration: usize,
    /// Σᵢ log posterior of the E-step.
    pub log_posterior: f64,
    /// Σᵢ log-likelihood of the E-step.
    pub log_likelihood: f64,
    /// μ after the M-step.
    pub mu: Array1<f64>,
    /// Σ after the M-step.
    pub sigma: Array2<f64>,
    /// Subjects whose Hessian was repaired in the E-step.
    pub repaired: usize,
    /// Subjects whose fit failed in the E-step (left out of its M-step).
    pub failed: usize,
}

/// The result of [`em`].
#[derive(Debug, Serialize)]
pub struct EmFit {
    /// The group prior N(μ, Σ) of the last M-step.
    #[serde(skip)]
    pub prior: MvGaussian,
    /// μ.
    pub mu: Array1<f64>,
    /// Σ.
    pub sigma: Array2<f64>,
    /// Every subject's fit in the last E-step (under the prior before the last M-step, which
    /// differs from `prior` by less than the tolerances once converged), in dataset order.
    pub fits: Vec<SubjectFit>,
    /// One entry per iteration.
    pub trace: Vec<EmIteration>,
    /// Whether the tolerances were met before `max_iterations`.
    pub converged: bool,
}

/// One iteration's E-step, as a value a worker can run on any shard of subjects: made by
/// [`EmRun::next_task`], run by [`e_step`].
///
/// It holds everything the subjects' MAP fits depend on, so the fits are the same bits
/// whichever shard a subject is in and whichever worker runs it (each subject draws its
/// starts from its own stream of a generator seeded with `seed`, chosen by its id; see
/// [`map`](super::map)). With serde it round-trips exactly (the prior as its mean and
/// covariance, validated again on reading).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EStepTask {
    /// The EM iteration (0-based) this E-step belongs to.
    pub iteration: usize,
    /// The prior of this E-step: the previous M-step's (at first N(0, initial_variance · I)).
    pub prior: MvGaussian,
    /// The MAP settings: all of [`EmOptions::map`]'s starts at iteration 0, one (the warm
    /// start) later. Its `warm_starts` field is not used (see `warm_starts` below).
    pub map: MapOptions,
    /// The seed of the subjects' generators (the one number [`map`](super::map) draws).
    pub seed: u64,
    /// Each subject's first start, by subject id: its θ̂ of the previous E-step. A subject
    /// not in it (a first iteration, or a fit that failed) starts at the prior mean.
    pub warm_starts: BTreeMap<String, Array1<f64>>,
}

/// Runs a task's E-step on `data` (the whole cohort or a shard of it): the subjects' MAP
/// fits under `task.prior`, in data order (in parallel with rayon when `task.map.parallel`),
/// and their [`EStep`], summed in data order.
///
/// Shards' E-steps [`merge`](EStep::merge) into the whole cohort's: each subject's fit is
/// the same bits in any shard, and the sums differ from the unsharded ones by rounding only.
///
/// ```
/// use rlgrad::fit::{e_step, EmOptions, EmRun};
/// use rlgrad::prelude::*;
/// let model = Model::new(RescorlaWagner::new(), Softmax::new(), 1, 2)?;
/// let s = |id: &str| Subject::new(id, vec![Session::bandit("1", vec![0, 1, 1, 0], vec![1., 0., 1., 1.])?]);
/// let (a, b) = (Dataset::new(vec![s("a")?])?, Dataset::new(vec![s("b")?])?);
/// let mut run = EmRun::new(model.n_params(), &EmOptions::default())?;
/// let mut rng = ChaCha8Rng::seed_from_u64(1);
/// let task = run.next_task(&mut rng).expect("a first iteration");
/// let (mut stats, _) = e_step(&model, &a, &task)?; // on one worker
/// let (other, _) = e_step(&model, &b, &task)?;     // on another
/// stats.merge(other)?;
/// let entry = run.update(&stats)?;
/// assert_eq!(entry.iteration, 0);
/// # Ok::<(), rlgrad::Error>(())
/// ```
///
/// # Errors
/// Invalid MAP options; a prior whose dimension differs from the model's; a warm start of
/// the wrong length or not finite (named by its subject). A subject whose fit fails is not an error: it is in
/// [`EStep::failed`] and a [`SubjectFit::Failed`].
pub fn e_step<M: FitModel + ?Sized>(
    model: &M,
    data: &Dataset,
    task: &EStepTask,
) -> Result<(EStep, Vec<SubjectFit>)> {
    let fits = map_by_id(
        model,
        data,
        &task.prior,
        &task.map,
        &task.warm_starts,
        task.seed,
    )?;
    let mut stats = EStep::new(model.n_params());
    stats.task = Some(TaskId {
        iteration: task.iteration,
        seed: task.seed,
    });
    for fit in &fits {
        stats.add(fit)?;
    }
    Ok((stats, fits))
}

/// EM as a state machine: [`em`] and a distributed run (E-steps over shards on other
/// processes or machines) take the same steps, so with the same generator they give the
/// same fit, to rounding in the merged sums.
///
/// ```text
/// run = EmRun::new(K, options)
/// while let Some(task) = run.next_task(rng):      // draws the task's seed from rng
///     stats = merge of e_step(model, shard, task) over the shards
///     run.update(stats)                            // M-step, convergence, warm starts
/// run.finish(fits of the last E-step, in data order)
/// ```
///
/// ```
/// use rlgrad::fit::{e_step, em, EmOptions, EmRun};
/// use rlgrad::prelude::*;
/// let model = Model::new(RescorlaWagner::new(), Softmax::new(), 1, 2)?;
/// let s = |id: &str, c: Vec<u32>| Subject::new(id, vec![Session::bandit("1", c, vec![1., 0., 1., 1., 0., 1.])?]);
/// let data = Dataset::new(vec![s("a", vec![0, 0, 1, 0, 1, 1])?, s("b", vec![1, 1, 0, 1, 1, 0])?])?;
/// let options = EmOptions::default();
/// let mut run = EmRun::new(model.n_params(), &options)?;
/// let mut rng = ChaCha8Rng::seed_from_u64(4);
/// let mut fits = Vec::new();
/// while let Some(task) = run.next_task(&mut rng) {
///     let (stats, f) = e_step(&model, &data, &task)?;
///     run.update(&stats)?;
///     fits = f;
/// }
/// let by_hand = run.finish(fits);
/// let fit = em(&model, &data, &options, &mut ChaCha8Rng::seed_from_u64(4))?;
/// assert_eq!(by_hand.mu, fit.mu);
/// assert_eq!(by_hand.trace, fit.trace);
/// # Ok::<(), rlgrad::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct EmRun {
    options: EmOptions,
    k: usize,
    prior: MvGaussian,
    trace: Vec<EmIteration>,
    converged: bool,
    /// θ̂ by subject id from the last E-step (or given before the first).
    warm_starts: BTreeMap<String, Array1<f64>>,
    /// Whether a task was handed out and its E-step not yet recorded.
    pending: Option<TaskId>,
    /// Subjects (fitted + failed) of the first E-step: every later one must cover as many.
    n_subjects: Option<usize>,
}

impl EmRun {
    /// A run for a model of `n_params` parameters, from the prior N(0, initial_variance · I).
    ///
    /// # Errors
    /// Invalid options ([`Error::InvalidOption`]); `n_params` = 0 ([`Error::EmptyData`]).
    pub fn new(n_params: usize, options: &EmOptions) -> Result<EmRun> {
        options.check()?;
        let prior = MvGaussian::isotropic(n_params, 0.0, options.initial_variance)?;
        Ok(EmRun {
            options: options.clone(),
            k: n_params,
            prior,
            trace: Vec::new(),
            converged: false,
            warm_starts: BTreeMap::new(),
            pending: None,
            n_subjects: None,
        })
    }

    /// Sets the first starts of the next E-step, by subject id (a subject not in it starts
    /// at the prior mean). [`em`] passes `options.map.warm_starts` here; later iterations
    /// take them from [`update`](EmRun::update).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] or [`Error::NonFiniteInput`] for a start that is not K
    /// finite numbers (named by its subject); nothing is set then.
    pub fn set_warm_starts(&mut self, starts: BTreeMap<String, Array1<f64>>) -> Result<()> {
        for (id, start) in &starts {
            check_warm_start(id, self.k, start)?;
        }
        self.warm_starts = starts;
        Ok(())
    }

    /// The next E-step to run, its seed drawn from `rng` (one `u64`, as
    /// [`map`](super::map) draws); `None` when EM has converged or reached
    /// `max_iterations`. Asking again before [`update`](EmRun::update) hands out the same
    /// iteration with a new seed (the earlier task is abandoned).
    pub fn next_task<R: Rng + ?Sized>(&mut self, rng: &mut R) -> Option<EStepTask> {
        if self.is_done() {
            return None;
        }
        let iteration = self.trace.len();
        let mut map = self.options.map.clone();
        map.warm_starts = None;
        if iteration > 0 {
            map.n_starts = 1;
        }
        let seed = rng.random();
        self.pending = Some(TaskId { iteration, seed });
        Some(EStepTask {
            iteration,
            prior: self.prior.clone(),
            map,
            seed,
            warm_starts: self.warm_starts.clone(),
        })
    }

    /// Records the E-step of the whole cohort (all shards merged) of the task last handed
    /// out: the M-step gives the new prior, the convergence test is made (see the module
    /// docs), and the subjects' θ̂ in `stats.thetas` become the next warm starts. Returns
    /// the iteration's trace entry.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] when no task is outstanding (call
    /// [`next_task`](EmRun::next_task) first, once per update);
    /// [`Error::DimensionMismatch`] for an E-step of another K, or one that covers another
    /// number of subjects (fitted + failed) than the first iteration's (a shard lost or
    /// counted twice); the M-step's errors ([`EStep::m_step`]). Nothing is recorded on an
    /// error, and the task stays outstanding.
    pub fn update(&mut self, stats: &EStep) -> Result<&EmIteration> {
        let Some(pending) = self.pending else {
            return Err(Error::invalid_option(
                "EmRun::update",
                "an E-step",
                "no task is outstanding: call next_task first, once per update",
            ));
        };
        if stats.task.is_some_and(|t| t != pending) {
            return Err(Error::invalid_option(
                "EmRun::update",
                task_words(stats.task),
                format!(
                    "is not the outstanding task ({pending}): a stale E-step, or one of an \
                     earlier hand-out of this iteration"
                ),
            ));
        }
        check::len(
            "E-step (K, vs model parameters)",
            self.k,
            stats.sum_theta.len(),
        )?;
        let covered = add_count(
            "E-step subjects (fitted + failed)",
            stats.n,
            stats.failed.len(),
        )?;
        if let Some(n) = self.n_subjects {
            check::len(
                "subjects in the merged E-step (fitted + failed, vs the first iteration)",
                n,
                covered,
            )?;
        }
        let next = stats.m_step(self.options.covariance, self.options.variance_floor)?;
        let entry = EmIteration {
            iteration: self.trace.len(),
            log_posterior: stats.log_posterior,
            log_likelihood: stats.log_likelihood,
            mu: next.mean(),
            sigma: next.covariance().clone(),
            repaired: stats.repaired,
            failed: stats.failed.len(),
        };
        if let Some(last) = self.trace.last() {
            let d_lp = (entry.log_posterior - last.log_posterior).abs();
            let d_mu = (&entry.mu - &last.mu)
                .iter()
                .fold(0.0_f64, |m, d| m.max(d.abs()));
            if d_lp <= self.options.tolerance * entry.log_posterior.abs().max(1.0)
                && d_mu <= self.options.mu_tolerance
            {
                self.converged = true;
            }
        }
        self.n_subjects = Some(covered);
        self.trace.push(entry);
        self.prior = next;
        self.warm_starts.clone_from(&stats.thetas);
        self.pending = None;
        Ok(&self.trace[self.trace.len() - 1])
    }

    /// Whether EM has converged or reached `max_iterations` (then
    /// [`next_task`](EmRun::next_task) gives `None`).
    pub fn is_done(&self) -> bool {
        self.converged || self.trace.len() >= self.options.max_iterations
    }

    /// The current group prior: the last M-step's (at first N(0, initial_variance · I)).
    pub fn prior(&self) -> &MvGaussian {
        &self.prior
    }

    /// One entry per recorded iteration.
    pub fn trace(&self) -> &[EmIteration] {
        &self.trace
    }

    /// Whether the tolerances were met.
    pub fn converged(&self) -> bool {
        self.converged
    }

    /// The fit: the last M-step's prior, its μ and Σ, the trace, whether it converged, and
    /// `fits`, the subjects' fits of the last E-step (in data order; they are not checked).
    pub fn finish(self, fits: Vec<SubjectFit>) -> EmFit {
        EmFit {
            mu: self.prior.mean(),
            sigma: self.prior.covariance().clone(),
            prior: self.prior,
            fits,
            trace: self.trace,
            converged: self.converged,
        }
    }
}

/// Fits a cohort by empirical-Bayes EM (see the module docs).
///
/// ```
/// use rlgrad::fit::{em, EmOptions};
/// use rlgrad::prelude::*;
/// let model = Model::new(RescorlaWagner::new(), Softmax::new(), 1, 2)?;
/// let mut rng = ChaCha8Rng::seed_from_u64(3);
/// let mut subjects = Vec::new();
/// for (i, (alpha, beta)) in [(0.2, 3.0), (0.4, 5.0), (0.3, 2.0), (0.5, 4.0)].into_iter().enumerate() {
///     let theta = model.layout().theta_from_natural(&[("alpha", alpha), ("beta", beta)])?;
///     let mut env = Bandit::new(vec![0.8, 0.2])?.with_reversals(40)?;
///     let session = model.simulate(theta.view(), &mut env, 120, "1", &mut rng)?;
///     subjects.push(Subject::new(format!("s{i}"), vec![session])?);
/// }
/// let data = Dataset::new(subjects)?;
/// let fit = em(&model, &data, &EmOptions::default(), &mut rng)?;
/// assert!(fit.converged);
/// println!("mu = {}, iterations = {}", fit.mu, fit.trace.len());
/// # Ok::<(), rlgrad::Error>(())
/// ```
///
/// # Errors
/// Invalid options; an empty dataset ([`Error::EmptyData`]); an M-step with no fitted subject
/// or a group covariance that is not positive definite.
pub fn em<M, R>(model: &M, data: &Dataset, options: &EmOptions, rng: &mut R) -> Result<EmFit>
where
    M: FitModel + ?Sized,
    R: Rng + ?Sized,
{
    em_with_progress(model, data, options, rng, |_| {})
}

/// As [`em`], calling `progress` after every iteration.
///
/// # Errors
/// As [`em`].
pub fn em_with_progress<M, R>(
    model: &M,
    data: &Dataset,
    options: &EmOptions,
    rng: &mut R,
    mut progress: impl FnMut(&EmIteration),
) -> Result<EmFit>
where
    M: FitModel + ?Sized,
    R: Rng + ?Sized,
{
    options.check()?;
    if data.subjects().is_empty() {
        return Err(Error::empty_data("the cohort has no subjects"));
    }
    let mut run = EmRun::new(model.n_params(), options)?;
    if let Some(starts) = &options.map.warm_starts {
        check::len(
            "warm_starts (one per subject)",
            data.subjects().len(),
            starts.len(),
        )?;
        let ids = data.subjects().iter().map(|s| s.id().to_string());
        run.set_warm_starts(ids.zip(starts.iter().cloned()).collect())?;
    }
    let mut fits = Vec::new();
    while let Some(task) = run.next_task(rng) {
        let (stats, f) = e_step(model, data, &task)?;
        progress(run.update(&stats)?);
        fits = f;
    }
    Ok(run.finish(fits))
}
