//! The argmin adapter and a single-start maximiser.

use std::cell::{Cell, RefCell};

use argmin::core::{CostFunction, Executor, Gradient, Hessian, State, TerminationReason};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use ndarray::{Array1, Array2, ArrayView1};

use crate::Term;
use crate::check;
use crate::error::{Error, Result};
use crate::numeric::norm2;

/// A term seen as a function to **minimise**: cost = −g(θ)/s, gradient = −∇g/s, Hessian
/// = −∇²g/s, with a positive scale s (1 unless set).
///
/// This adapter is the one place in the crate where the sign flips. The scale exists for the
/// optimiser: [`maximize`] sets s to the gradient norm at the start, so that L-BFGS's first
/// step (along the raw gradient, of length one) stays near the start even when a long
/// session makes the gradient large.
///
/// argmin asks for cost and gradient in separate calls, usually at the same point; the
/// adapter evaluates value and gradient together once and answers the second call from a
/// one-point cache. [`Minimize::evaluations`] counts the real evaluations.
///
/// ```
/// use argmin::core::{CostFunction, Gradient};
/// use ndarray::arr1;
/// use rlgrad::{fit::Minimize, prior::MvGaussian};
/// let prior = MvGaussian::isotropic(2, 1.0, 1.0)?;
/// let problem = Minimize::new(&prior);
/// let theta = arr1(&[0.0, 0.0]);
/// let cost = problem.cost(&theta).unwrap();
/// let grad = problem.gradient(&theta).unwrap();
/// assert!(cost > 0.0);
/// assert_eq!(grad, arr1(&[-1.0, -1.0])); // −∇ log N(θ; 1, I) at 0
/// assert_eq!(problem.evaluations(), 1);
/// # Ok::<(), rlgrad::Error>(())
/// ```
pub struct Minimize<'t, T: Term + ?Sized> {
    term: &'t T,
    scale: f64,
    cache: RefCell<Option<Evaluated>>,
    evaluations: Cell<u64>,
}

/// (θ, the term's value g(θ), the gradient of the cost −∇g/s) at the last point evaluated.
type Evaluated = (Array1<f64>, f64, Array1<f64>);

impl<'t, T: Term + ?Sized> Minimize<'t, T> {
    /// Wraps a term (scale 1).
    pub fn new(term: &'t T) -> Self {
        Minimize {
            term,
            scale: 1.0,
            cache: RefCell::new(None),
            evaluations: Cell::new(0),
        }
    }

    /// Sets the scale s (cost = −g/s); the cached point, if any, is kept.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] unless s is finite and positive.
    pub fn set_scale(&mut self, scale: f64) -> Result<()> {
        check::positive("scale", scale)?;
        if let Some((_, _, g)) = self.cache.get_mut().as_mut() {
            *g *= self.scale / scale;
        }
        self.scale = scale;
        Ok(())
    }

    /// The scale s.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// Number of value-and-gradient evaluations of the term so far.
    pub fn evaluations(&self) -> u64 {
        self.evaluations.get()
    }

    /// (g(θ), −∇g(θ)/s): the term's own value and the gradient of the cost, from the cache
    /// when θ is the last point evaluated.
    ///
    /// # Errors
    /// Whatever the term returns at θ.
    ///
    /// ```
    /// use ndarray::arr1;
    /// use rlgrad::{fit::Minimize, prior::MvGaussian, Term};
    /// let prior = MvGaussian::isotropic(1, 0.0, 1.0)?;
    /// let (value, cost_grad) = Minimize::new(&prior).evaluate(&arr1(&[2.0]))?;
    /// assert_eq!(value, prior.value(arr1(&[2.0]).view())?);
    /// assert_eq!(cost_grad[0], 2.0);
    /// # Ok::<(), rlgrad::Error>(())
    /// ```
    pub fn evaluate(&self, theta: &Array1<f64>) -> Result<(f64, Array1<f64>)> {
        let mut cache = self.cache.borrow_mut();
        if let Some((t, v, g)) = cache.as_ref()
            && t == theta
        {
            return Ok((*v, g.clone()));
        }
        // Reuse the cache's buffers: one allocation per evaluation (the copy argmin keeps).
        let k = self.term.dim();
        let (t, v, grad) =
            cache.get_or_insert_with(|| (Array1::zeros(k), f64::NAN, Array1::zeros(k)));
        grad.fill(0.0);
        // The sign flip (and the scale): alpha = −1/s adds −∇g/s into the zeroed buffer.
        match self
            .term
            .add_value_and_grad(theta.view(), -1.0 / self.scale, grad.view_mut())
        {
            Ok(value) => {
                self.evaluations.set(self.evaluations.get() + 1);
                t.assign(theta);
                *v = value;
                Ok((value, grad.clone()))
            }
            Err(e) => {
                *cache = None;
                Err(e)
            }
        }
    }

    /// The Hessian of the cost, −∇²g(θ)/s (exact when the term's is).
    ///
    /// # Errors
    /// Whatever the term returns at θ.
    pub fn cost_hessian(&self, theta: &Array1<f64>) -> Result<Array2<f64>> {
        let k = self.term.dim();
        let mut grad = Array1::zeros(k);
        let mut hess = check::square_matrix(k, "the cost's hessian")?;
        self.term.add_value_grad_hessian(
            theta.view(),
            -1.0 / self.scale,
            grad.view_mut(),
            hess.view_mut(),
        )?;
        Ok(hess)
    }
}

impl<T: Term + ?Sized> CostFunction for Minimize<'_, T> {
    type Param = Array1<f64>;
    type Output = f64;
    fn cost(&self, theta: &Array1<f64>) -> std::result::Result<f64, argmin::core::Error> {
        Ok(-self.evaluate(theta)?.0 / self.scale)
    }
}

impl<T: Term + ?Sized> Gradient for Minimize<'_, T> {
    type Param = Array1<f64>;
    type Gradient = Array1<f64>;
    fn gradient(
        &self,
        theta: &Array1<f64>,
    ) -> std::result::Result<Array1<f64>, argmin::core::Error> {
        Ok(self.evaluate(theta)?.1)
    }
}

impl<T: Term + ?Sized> Hessian for Minimize<'_, T> {
    type Param = Array1<f64>;
    type Hessian = Array2<f64>;
    fn hessian(
        &self,
        theta: &Array1<f64>,
    ) -> std::result::Result<Array2<f64>, argmin::core::Error> {
        Ok(self.cost_hessian(theta)?)
    }
}

/// The most L-BFGS correction pairs [`MaximizeOptions::history`] may ask for (the optimiser
/// reserves room for all of them at once; 3 to 20 is usual).
pub const MAX_HISTORY: usize = 1024;

/// Settings for [`maximize`].
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MaximizeOptions {
    /// Iteration cap.
    pub max_iters: u64,
    /// argmin stops when the gradient norm falls below this.
    pub grad_tol: f64,
    /// A run counts as converged when the final gradient norm is at most this.
    pub converged_grad_norm: f64,
    /// Number of L-BFGS correction pairs kept, 1 to [`MAX_HISTORY`].
    pub history: usize,
}

impl Default for MaximizeOptions {
    fn default() -> Self {
        MaximizeOptions {
            max_iters: 500,
            grad_tol: 1e-6,
            converged_grad_norm: 1e-3,
            history: 10,
        }
    }
}

impl MaximizeOptions {
    /// Checks the settings.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] naming the first bad setting.
    pub fn check(&self) -> Result<()> {
        if self.max_iters == 0 {
            return Err(Error::invalid_option("max_iters", 0, "must be at least 1"));
        }
        check::non_negative("grad_tol", self.grad_tol)?;
        check::positive("converged_grad_norm", self.converged_grad_norm)?;
        check::at_least_one("history", self.history)?;
        if self.history > MAX_HISTORY {
            return Err(Error::invalid_option(
                "history",
                self.history,
                format!(
                    "must be at most {MAX_HISTORY} (L-BFGS reserves room for every pair up \
                     front; 3 to 20 is usual)"
                ),
            ));
        }
        Ok(())
    }
}

/// The result of one maximisation.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Maximum {
    /// The best θ found.
    pub theta: Array1<f64>,
    /// g(θ) there.
    pub value: f64,
    /// ‖∇g(θ)‖₂ there.
    pub grad_norm: f64,
    /// L-BFGS iterations.
    pub iterations: u64,
    /// Value-and-gradient evaluations.
    pub evaluations: u64,
    /// Whether the final gradient norm is at most
    /// [`MaximizeOptions::converged_grad_norm`].
    pub converged: bool,
    /// Why the optimiser stopped, in argmin's words.
    pub stop_reason: String,
}

/// Maximises a term from one start with L-BFGS (More–Thuente line search).
///
/// # Errors
/// Invalid options, a start of the wrong length or with non-finite entries, or a term that
/// fails at the start. Failures at trial points of the line search end the run early with
/// the reason in [`Maximum::stop_reason`] and the best point so far.
///
/// ```
/// use ndarray::arr1;
/// use rlgrad::{fit, prior::MvGaussian};
/// let prior = MvGaussian::isotropic(3, 2.0, 1.0)?;
/// let best = fit::maximize(&prior, arr1(&[0.0, 5.0, -1.0]).view(), &Default::default())?;
/// assert!(best.converged);
/// assert!(best.theta.iter().all(|t| (t - 2.0).abs() < 1e-6));
/// # Ok::<(), rlgrad::Error>(())
/// ```
pub fn maximize<T: Term + ?Sized>(
    term: &T,
    start: ArrayView1<f64>,
    options: &MaximizeOptions,
) -> Result<Maximum> {
    options.check()?;
    check::len("start", term.dim(), start.len())?;
    let pairs = format_args!("L-BFGS's correction pairs (history x 2 x dim)");
    check::floats(
        &[options.history, 2, term.dim()],
        "history",
        options.history,
        pairs,
    )?;
    let mut problem = Minimize::new(term);
    let x0 = start.to_owned();
    // Evaluate the start through the adapter: errors here are the caller's to see. (argmin
    // evaluates it again in `init`, from the cache. Passing the cost in `configure` instead
    // would make L-BFGS stop at once: it then sees no change of cost.)
    let (_, g0) = problem.evaluate(&x0)?;
    // Scale the cost so that its gradient at the start has norm ≤ 1: L-BFGS's first step is
    // the raw gradient, which for a long session can be in the thousands and would jump to
    // parameters whose transforms overflow. Later steps use curvature and are unaffected.
    let scale = norm2(g0.view()).max(1.0);
    problem.set_scale(scale)?;

    let optimizer_error = |e: argmin::core::Error| Error::Optimizer {
        reason: e.to_string(),
    };
    let linesearch = MoreThuenteLineSearch::new()
        .with_c(1e-4, 0.9)
        .map_err(optimizer_error)?;
    let solver = LBFGS::new(linesearch, options.history)
        .with_tolerance_grad(options.grad_tol / scale)
        .map_err(optimizer_error)?;
    let result = Executor::new(&problem, solver)
        .configure(|state| state.param(x0.clone()).max_iters(options.max_iters))
        .timer(false)
        .run();
    let (theta, iterations, stop_reason) = match result {
        Ok(res) => {
            let state = res.state();
            let theta = state
                .get_best_param()
                .or_else(|| state.get_param())
                .cloned()
                .unwrap_or_else(|| x0.clone());
            let reason = state.get_termination_reason().map_or_else(
                || "not terminated".to_string(),
                TerminationReason::to_string,
            );
            (theta, state.get_iter(), reason)
        }
        // An error escaping argmin (not caught by its line search): keep the start.
        Err(e) => (x0.clone(), 0, format!("optimiser error: {e}")),
    };
    let (value, cost_grad) = problem.evaluate(&theta)?;
    let grad_norm = norm2(cost_grad.view()) * scale;
    Ok(Maximum {
        theta,
        value,
        grad_norm,
        iterations,
        evaluations: problem.evaluations(),
        converged: grad_norm <= options.converged_grad_norm,
        stop_reason,
    })
}

/// Lets [`Minimize`] (which argmin borrows) be used by reference in an `Executor`.
impl<T: Term + ?Sized> CostFunction for &Minimize<'_, T> {
    type Param = Array1<f64>;
    type Output = f64;
    fn cost(&self, theta: &Array1<f64>) -> std::result::Result<f64, argmin::core::Error> {
        (**self).cost(theta)
    }
}

impl<T: Term + ?Sized> Gradient for &Minimize<'_, T> {
    type Param = Array1<f64>;
    type Gradient = Array1<f64>;
    fn gradient(
        &self,
        theta: &Array1<f64>,
    ) -> std::result::Result<Array1<f64>, argmin::core::Error> {
        (**self).gradient(theta)
    }
}
