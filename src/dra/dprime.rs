//! The discriminability analysis of the planning task (the paper's Fig. 4 and B.1): d′ of each
//! allocated state's two memories against the state's impact on cumulative reward, with a
//! least-squares slope.
//!
//! ```text
//! d′(s)     = |Q*(s, a₀) − Q*(s, a₁)| / √(σ²(s, a₀) + σ²(s, a₁))
//! impact(s) = ρ(s) · |Q*(s, a₀) − Q*(s, a₁)|
//! ```
//!
//! ρ(s) is the probability that the agent reaches state s = (k, node) in a trial (uniform
//! start, then the agent's own marginal choice probabilities, exact for two actions): the
//! impact is then the expected reward a trial loses when the agent takes the worse move in
//! s, had it reached s. A memory that is rarely needed, or whose actions hardly differ, has
//! little impact; the paper's claim is that DRA makes the high-impact memories the
//! discriminable ones.

use serde::{Deserialize, Serialize};

use crate::env::{Environment, PlanningTask};
use crate::error::{Error, Result};
use crate::policy::{MemoryPolicy, Policy};

/// One allocated state of the planning task.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct DprimePoint {
    /// The state index (k·6 + node).
    pub state: usize,
    /// Moves made, k.
    pub level: usize,
    /// The node (0-based).
    pub node: usize,
    /// ρ(s), the probability of reaching it.
    pub reach: f64,
    /// ρ(s) · |ΔQ*(s)|.
    pub impact: f64,
    /// d′(s).
    pub dprime: f64,
}

/// d′ and impact for every allocated state (levels 0 … M − 2) of `task`, for an agent with
/// means q̄ and inverse temperature β (which set its choice probabilities) and allocation σ.
///
/// ```
/// use rlgrad::dra::dprime::{dprime_points, LinearFit};
/// use rlgrad::env::PlanningTask;
/// let task = PlanningTask::new(3)?;
/// let q_star = task.optimal_values();
/// // An agent that knows Q* and holds every memory at σ = 10.
/// let points = dprime_points(&task, &q_star, 10.0, &vec![10.0; q_star.len()])?;
/// assert_eq!(points.len(), 12); // levels 0 and 1, six nodes each
/// let level0: f64 = points.iter().filter(|p| p.level == 0).map(|p| p.reach).sum();
/// assert!((level0 - 1.0).abs() < 1e-12); // the start is uniform
/// let fit = LinearFit::of(
///     &points.iter().map(|p| p.impact).collect::<Vec<_>>(),
///     &points.iter().map(|p| p.dprime).collect::<Vec<_>>(),
/// )?;
/// assert!(fit.slope.is_finite());
/// # Ok::<(), rlgrad::Error>(())
/// ```
///
/// # Errors
/// [`Error::DimensionMismatch`] for q̄ or σ not of the task's 6·M·2 entries; the policy's
/// errors for a bad β, q̄ or σ.
pub fn dprime_points(
    task: &PlanningTask,
    q_bar: &[f64],
    beta: f64,
    sigma: &[f64],
) -> Result<Vec<DprimePoint>> {
    let policy = MemoryPolicy::new(task.n_states(), 2, beta)?.with_q_bar(q_bar.to_vec())?;
    policy.check_sigma(sigma)?;
    let q_star = task.optimal_values();
    let m = task.moves();
    // ρ by levels: uniform start, then the agent's marginal choice probabilities.
    let mut reach = vec![0.0; 6 * m];
    reach[..6].fill(1.0 / 6.0);
    let mut p = [0.0; 2];
    for k in 0..m.saturating_sub(1) {
        for node in 0..6 {
            let s = task.state_of(k, node)?;
            policy.probabilities(sigma, s, &mut p)?;
            for (a, pa) in p.iter().enumerate() {
                let next = task.state_of(k + 1, task.successor(node, a)?)?;
                reach[next] += reach[s] * pa;
            }
        }
    }
    let mut points = Vec::new();
    for k in 0..m.saturating_sub(1) {
        for node in 0..6 {
            let s = task.state_of(k, node)?;
            let gap = (q_star[2 * s] - q_star[2 * s + 1]).abs();
            points.push(DprimePoint {
                state: s,
                level: k,
                node,
                reach: reach[s],
                impact: reach[s] * gap,
                dprime: gap / sigma[2 * s].hypot(sigma[2 * s + 1]),
            });
        }
    }
    Ok(points)
}

/// A least-squares line y = intercept + slope · x.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinearFit {
    /// The slope.
    pub slope: f64,
    /// The intercept.
    pub intercept: f64,
    /// The slope's standard error (NaN-free: 0 for a perfect fit, ∞ for two points).
    pub slope_se: f64,
    /// The coefficient of determination R².
    pub r2: f64,
}

impl LinearFit {
    /// Fits y on x.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] for lengths that differ; [`Error::EmptyData`] for fewer
    /// than two points; [`Error::NonFiniteInput`] for a non-finite value;
    /// [`Error::InvalidOption`] if every x is the same.
    pub fn of(x: &[f64], y: &[f64]) -> Result<LinearFit> {
        crate::check::len("y", x.len(), y.len())?;
        if x.len() < 2 {
            return Err(Error::empty_data("a line needs at least two points"));
        }
        crate::check::finite_inputs("x", x)?;
        crate::check::finite_inputs("y", y)?;
        let n = x.len() as f64;
        let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
        let sxx: f64 = x.iter().map(|v| (v - mx).powi(2)).sum();
        let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
        let syy: f64 = y.iter().map(|v| (v - my).powi(2)).sum();
        if sxx == 0.0 {
            return Err(Error::invalid_option(
                "x",
                mx,
                "every x is the same: no slope",
            ));
        }
        let slope = sxy / sxx;
        let intercept = my - slope * mx;
        let rss: f64 = x
            .iter()
            .zip(y)
            .map(|(a, b)| (b - intercept - slope * a).powi(2))
            .sum();
        let slope_se = if x.len() > 2 {
            (rss / (n - 2.0) / sxx).sqrt()
        } else {
            f64::INFINITY
        };
        let r2 = if syy > 0.0 { 1.0 - rss / syy } else { 1.0 };
        Ok(LinearFit {
            slope,
            intercept,
            slope_se,
            r2,
        })
    }
}
