//! Model comparison from posterior draws: Pareto-smoothed importance sampling leave-one-out
//! cross-validation (PSIS-LOO, with its Pareto k̂ diagnostics) and WAIC.
//!
//! Input: a log-likelihood matrix `log_lik[[s, i]] = ln p(yᵢ | θₛ)` of S draws (rows; the
//! chains' draws one chain after another) by N observations (columns; for the crate's
//! cohorts, an observation is a subject and its entry the sum of the subject's trials).
//!
//! ```text
//! lppdᵢ        ln (1/S) Σₛ p(yᵢ | θₛ)                         (the in-sample log density)
//! PSIS         raw log weights rₛ = −ln p(yᵢ | θₛ); the M = ⌈min(S/5, 3 √(S / r_eff))⌉
//!              largest are replaced by the expected order statistics of a generalized
//!              Pareto fitted to them (Zhang & Stephens 2009, with the weakly informative
//!              prior on k of Vehtari et al. 2024: (n k + 5)/(n + 10)), then truncated at the
//!              largest raw weight and normalised; k̂ᵢ is the fitted shape
//! elpd_looᵢ    ln Σₛ wₛ p(yᵢ | θₛ) with the smoothed normalised weights w
//! elpd_loo     Σᵢ elpd_looᵢ;  se = √(N · var(elpd_looᵢ));  p_loo = Σᵢ lppdᵢ − elpd_loo;
//!              looic = −2 elpd_loo
//! k̂ bands      good: k̂ ≤ min(1 − 1/log₁₀ S, 0.7); bad: up to 1; very bad: above 1
//! WAIC         p_waicᵢ = var_s ln p(yᵢ | θₛ);  elpd_waicᵢ = lppdᵢ − p_waicᵢ;
//!              se = √(N · var(elpd_waicᵢ));  waic = −2 elpd_waic; flagged when any
//!              p_waicᵢ > 0.4
//! ```
//!
//! Variances (of pointwise values and of the log-likelihood over draws) divide by their
//! count, as ArviZ does (the R package `loo` divides WAIC's by S − 1). The computations follow
//! ArviZ's `az.loo`, `az.psislw` and `az.waic` step by step and match them to 3e-14 on the
//! committed fixtures (`tests/fixtures/bayes/`; held to 1e-12 there), k̂ included.
//!
//! **r_eff.** The relative efficiency r_eff (ESS / S) only sets the number of tail draws M.
//! It is the caller's argument: `1.0` is ArviZ's default for arrays (`az.psislw`) and is
//! right for independent draws; for MCMC draws ArviZ's `az.loo` uses the mean over the
//! posterior's quantities of [`ess_mean`](super::ess_mean) / S, which the caller can compute
//! from the chains with that function.
//!
//! **k̂ = +∞.** When at most 4 draws lie strictly above the cutoff (fewer than about 25 draws,
//! or a log-likelihood that takes few distinct values), no Pareto is fitted: the raw weights
//! are used and k̂ is +∞ (in the very bad band), as in ArviZ and `loo`. The same holds for a
//! degenerate fit (ArviZ would return NaN there).

use ndarray::ArrayView2;
use rayon::prelude::*;
use serde::Serialize;

use super::diagnostics::MIN_DRAWS;
use crate::check;
use crate::error::{Error, Result};
use crate::numeric::log_sum_exp;

/// k̂ above this is bad whatever the number of draws (the ceiling of the sample-size
/// dependent threshold, [`pareto_k_threshold`]).
pub const PARETO_K_BAD: f64 = 0.7;

/// k̂ above this is very bad: the importance weights have no finite mean.
pub const PARETO_K_VERY_BAD: f64 = 1.0;

/// A pointwise p_waic (the variance of an observation's log-likelihood over the draws) above
/// this flags WAIC as unreliable (Vehtari, Gelman & Gabry 2017).
pub const WAIC_VARIANCE_THRESHOLD: f64 = 0.4;

/// The k̂ threshold for S draws: min(1 − 1/log₁₀ S, 0.7) (Vehtari et al. 2024), below which
/// PSIS estimates are reliable.
///
/// ```
/// use rlgrad::bayes::pareto_k_threshold;
/// assert_eq!(pareto_k_threshold(4000), 0.7);
/// assert!((pareto_k_threshold(100) - 0.5).abs() < 1e-15);
/// ```
pub fn pareto_k_threshold(n_draws: usize) -> f64 {
    (1.0 - 1.0 / (n_draws as f64).log10()).min(PARETO_K_BAD)
}

/// Pareto-smoothed log importance weights of one observation, and the fitted shape.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Psis {
    /// Smoothed log weights, normalised (their exponentials sum to 1), in the draws' order.
    pub log_weights: Vec<f64>,
    /// The generalized Pareto shape k̂ of the tail (+∞ when none was fitted; see the module
    /// docs).
    pub pareto_k: f64,
}

/// How many observations' k̂ fall in each band (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ParetoKCounts {
    /// k̂ ≤ the threshold: PSIS-LOO is reliable.
    pub good: usize,
    /// threshold < k̂ ≤ 1: the estimate is biased and noisy.
    pub bad: usize,
    /// k̂ > 1 (including +∞): the estimate is unreliable.
    pub very_bad: usize,
}

/// PSIS-LOO of a log-likelihood matrix (see the module docs).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Loo {
    /// Σᵢ elpd_looᵢ (larger is better).
    pub elpd_loo: f64,
    /// The standard error of `elpd_loo`.
    pub se: f64,
    /// The effective number of parameters, lppd − elpd_loo.
    pub p_loo: f64,
    /// −2 elpd_loo (smaller is better).
    pub looic: f64,
    /// The in-sample log pointwise predictive density Σᵢ lppdᵢ.
    pub lppd: f64,
    /// Per observation, elpd_looᵢ.
    pub elpd_loo_i: Vec<f64>,
    /// Per observation, lppdᵢ − elpd_looᵢ.
    pub p_loo_i: Vec<f64>,
    /// Per observation, k̂ᵢ (+∞ where no tail was fitted).
    pub pareto_k: Vec<f64>,
    /// The good band's upper end, [`pareto_k_threshold`] of S.
    pub k_threshold: f64,
    /// How many k̂ lie in each band.
    pub k_counts: ParetoKCounts,
    /// S, the number of draws.
    pub n_draws: usize,
    /// The relative efficiency used.
    pub r_eff: f64,
}

impl Loo {
    /// Whether any k̂ exceeds the threshold (ArviZ's `warning`).
    pub fn warning(&self) -> bool {
        self.k_counts.bad + self.k_counts.very_bad > 0
    }
}

/// WAIC of a log-likelihood matrix (see the module docs).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Waic {
    /// Σᵢ elpd_waicᵢ (larger is better).
    pub elpd_waic: f64,
    /// The standard error of `elpd_waic`.
    pub se: f64,
    /// The effective number of parameters Σᵢ p_waicᵢ.
    pub p_waic: f64,
    /// −2 elpd_waic (smaller is better).
    pub waic: f64,
    /// Per observation, elpd_waicᵢ.
    pub elpd_waic_i: Vec<f64>,
    /// Per observation, p_waicᵢ (the variance of its log-likelihood over the draws).
    pub p_waic_i: Vec<f64>,
    /// S, the number of draws.
    pub n_draws: usize,
}

impl Waic {
    /// Whether any p_waicᵢ exceeds [`WAIC_VARIANCE_THRESHOLD`] (ArviZ's `warning`).
    pub fn warning(&self) -> bool {
        self.p_waic_i.iter().any(|&v| v > WAIC_VARIANCE_THRESHOLD)
    }
}

/// Pareto-smoothed importance sampling of one vector of log importance ratios (for LOO,
/// `−log_lik` of one observation), as `az.psislw(log_ratios, reff=r_eff)`.
///
/// ```
/// let ratios: Vec<f64> = (0..400).map(|s| ((s * 37 % 400) as f64 / 400.0).ln_1p()).collect();
/// let psis = rlgrad::bayes::psis(&ratios, 1.0)?;
/// let total: f64 = psis.log_weights.iter().map(|w| w.exp()).sum();
/// assert!((total - 1.0).abs() < 1e-12 && psis.pareto_k < 0.7);
/// # Ok::<(), rlgrad::Error>(())
/// ```
///
/// # Errors
/// [`Error::EmptyData`] for fewer than [`MIN_DRAWS`] ratios;
/// [`Error::NonFiniteInput`] naming a NaN or infinite ratio; [`Error::InvalidOption`] for an
/// `r_eff` that is not finite and positive.
pub fn psis(log_ratios: &[f64], r_eff: f64) -> Result<Psis> {
    check::enough("draws", MIN_DRAWS, log_ratios.len())?;
    check::positive("r_eff", r_eff)?;
    check::finite_inputs_with(log_ratios, |s| format!("log ratio of draw {s}"))?;
    let m = tail_length(log_ratios.len(), r_eff);
    let mut x = log_ratios.to_vec();
    let pareto_k = smooth(&mut x, m);
    Ok(Psis {
        log_weights: x,
        pareto_k,
    })
}

/// PSIS-LOO of `log_lik`, draws × observations (see the module docs); observations in
/// parallel.
///
/// ```
/// use ndarray::Array2;
/// // 400 draws of a normal mean μ, 10 observations y_i ~ N(μ, 1).
/// let y: Vec<f64> = (0..10).map(|i| (i as f64 - 4.5) / 3.0).collect();
/// let ll = Array2::from_shape_fn((400, 10), |(s, i)| {
///     let mu = ((s * 97 % 400) as f64 / 400.0 - 0.5) * 0.6;
///     -0.5 * (2.0 * std::f64::consts::PI).ln() - 0.5 * (y[i] - mu).powi(2)
/// });
/// let loo = rlgrad::bayes::loo(ll.view(), 1.0)?;
/// assert!(loo.elpd_loo < loo.lppd && loo.p_loo > 0.0);
/// assert_eq!(loo.k_counts.good, 10);
/// # Ok::<(), rlgrad::Error>(())
/// ```
///
/// # Errors
/// [`Error::EmptyData`] for no observations or fewer than [`MIN_DRAWS`] draws;
/// [`Error::NonFiniteInput`] naming the observation and draw of a NaN or infinite entry;
/// [`Error::InvalidOption`] for an `r_eff` that is not finite and positive;
/// [`Error::NonFiniteResult`] if the entries are so large that the sums overflow.
pub fn loo(log_lik: ArrayView2<f64>, r_eff: f64) -> Result<Loo> {
    check_log_lik(log_lik)?;
    check::positive("r_eff", r_eff)?;
    let (n_draws, n_obs) = log_lik.dim();
    let m = tail_length(n_draws, r_eff);
    let per_obs: Vec<(f64, f64, f64)> = (0..n_obs)
        .into_par_iter()
        .map(|i| {
            let ll: Vec<f64> = log_lik.column(i).to_vec();
            let mut x: Vec<f64> = ll.iter().map(|v| -v).collect();
            let k = smooth(&mut x, m);
            for (w, l) in x.iter_mut().zip(&ll) {
                *w += l;
            }
            (log_sum_exp(&x), lppd_of(&ll), k)
        })
        .collect();
    let elpd_loo_i: Vec<f64> = per_obs.iter().map(|p| p.0).collect();
    let p_loo_i: Vec<f64> = per_obs.iter().map(|p| p.1 - p.0).collect();
    let pareto_k: Vec<f64> = per_obs.iter().map(|p| p.2).collect();
    let elpd_loo: f64 = elpd_loo_i.iter().sum();
    let lppd: f64 = per_obs.iter().map(|p| p.1).sum();
    let k_threshold = pareto_k_threshold(n_draws);
    let k_counts = ParetoKCounts {
        good: pareto_k.iter().filter(|&&k| k <= k_threshold).count(),
        bad: pareto_k
            .iter()
            .filter(|&&k| k > k_threshold && k <= PARETO_K_VERY_BAD)
            .count(),
        very_bad: pareto_k.iter().filter(|&&k| k > PARETO_K_VERY_BAD).count(),
    };
    let out = Loo {
        elpd_loo,
        se: pointwise_se(&elpd_loo_i),
        p_loo: lppd - elpd_loo,
        looic: -2.0 * elpd_loo,
        lppd,
        elpd_loo_i,
        p_loo_i,
        pareto_k,
        k_threshold,
        k_counts,
        n_draws,
        r_eff,
    };
    finite_results(
        "PSIS-LOO",
        [out.elpd_loo, out.se, out.p_loo, out.looic, out.lppd]
            .iter()
            .chain(&out.elpd_loo_i)
            .chain(&out.p_loo_i),
    )?;
    Ok(out)
}

/// WAIC of `log_lik`, draws × observations (see the module docs).
///
/// ```
/// use ndarray::Array2;
/// let ll = Array2::from_shape_fn((100, 3), |(s, i)| -1.0 - 0.01 * ((s * 7 + i) % 13) as f64);
/// let waic = rlgrad::bayes::waic(ll.view())?;
/// assert!(waic.p_waic > 0.0 && !waic.warning());
/// assert!((waic.waic + 2.0 * waic.elpd_waic).abs() < 1e-12);
/// # Ok::<(), rlgrad::Error>(())
/// ```
///
/// # Errors
/// As [`loo`] (without `r_eff`).
pub fn waic(log_lik: ArrayView2<f64>) -> Result<Waic> {
    check_log_lik(log_lik)?;
    let (n_draws, _) = log_lik.dim();
    let mut elpd_waic_i = Vec::with_capacity(log_lik.ncols());
    let mut p_waic_i = Vec::with_capacity(log_lik.ncols());
    for column in log_lik.columns() {
        let ll = column.to_vec();
        let mean = crate::numeric::mean_of(ll.iter().copied(), n_draws);
        let var = ll.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n_draws as f64;
        elpd_waic_i.push(lppd_of(&ll) - var);
        p_waic_i.push(var);
    }
    let elpd_waic: f64 = elpd_waic_i.iter().sum();
    let out = Waic {
        elpd_waic,
        se: pointwise_se(&elpd_waic_i),
        p_waic: p_waic_i.iter().sum(),
        waic: -2.0 * elpd_waic,
        elpd_waic_i,
        p_waic_i,
        n_draws,
    };
    finite_results(
        "WAIC",
        [out.elpd_waic, out.se, out.p_waic, out.waic]
            .iter()
            .chain(&out.elpd_waic_i)
            .chain(&out.p_waic_i),
    )?;
    Ok(out)
}

/// Checks a log-likelihood matrix: at least one observation, at least [`MIN_DRAWS`] draws,
/// finite entries.
fn check_log_lik(log_lik: ArrayView2<f64>) -> Result<()> {
    let (n_draws, n_obs) = log_lik.dim();
    check::enough("observations (columns of the log-likelihood)", 1, n_obs)?;
    check::enough("draws (rows of the log-likelihood)", MIN_DRAWS, n_draws)?;
    for (i, column) in log_lik.columns().into_iter().enumerate() {
        check::finite_inputs_with(column, |s| {
            format!("log-likelihood of observation {i} at draw {s}")
        })?;
    }
    Ok(())
}

/// Refuses a NaN or infinite summary (entries so large that sums or squares overflow).
fn finite_results<'a>(what: &str, values: impl IntoIterator<Item = &'a f64>) -> Result<()> {
    if values.into_iter().all(|v| v.is_finite()) {
        Ok(())
    } else {
        Err(Error::non_finite_result(
            format!("{what} (the log-likelihoods are too large: a sum or a square overflows)"),
            Vec::new(),
        ))
    }
}

/// ln (1/S) Σₛ exp(llₛ).
fn lppd_of(ll: &[f64]) -> f64 {
    log_sum_exp(ll) - (ll.len() as f64).ln()
}

/// √(N · var(values)) with the variance divided by N (ArviZ's standard error of a sum of
/// pointwise values).
fn pointwise_se(values: &[f64]) -> f64 {
    let n = values.len();
    let mean = crate::numeric::mean_of(values.iter().copied(), n);
    let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64;
    (n as f64 * var).sqrt()
}

/// M, the number of tail draws: ⌈min(S/5, 3 √(S / r_eff))⌉.
fn tail_length(n_draws: usize, r_eff: f64) -> usize {
    let s = n_draws as f64;
    (s / 5.0).min(3.0 * (s / r_eff).sqrt()).ceil() as usize
}

/// ln of the smallest positive normal double: the cutoff never goes below it.
const LN_TINY: f64 = -708.396_418_532_264_1;

/// ArviZ's `_psislw` on one vector of log ratios (at least 4), in place: smooths the tail of
/// M draws, truncates, normalises; returns k̂.
fn smooth(x: &mut [f64], m: usize) -> f64 {
    let n = x.len();
    let max = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    for v in x.iter_mut() {
        *v -= max;
    }
    // The (M + 1)-th largest value (M ≤ ⌈S/5⌉ < S for S ≥ 4) by selection, the M above it
    // sorted: O(S + M log M).
    let mut order: Vec<usize> = (0..n).collect();
    let (_, &mut at_cutoff, above) =
        order.select_nth_unstable_by(n - m - 1, |&a, &b| x[a].total_cmp(&x[b]));
    let cutoff = x[at_cutoff].max(LN_TINY);
    let exp_cutoff = cutoff.exp();
    // The tail, in increasing order (ties at the cutoff stay in the body).
    let mut tail: Vec<usize> = above.iter().copied().filter(|&s| x[s] > cutoff).collect();
    tail.sort_unstable_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut k = f64::INFINITY;
    if tail.len() > 4 {
        let excess: Vec<f64> = tail.iter().map(|&s| x[s].exp() - exp_cutoff).collect();
        if let Some((shape, sigma)) = gpd_fit(&excess) {
            k = shape;
            let len = tail.len() as f64;
            for (j, &s) in tail.iter().enumerate() {
                let p = (j as f64 + 0.5) / len;
                x[s] = (gpd_quantile(p, shape, sigma) + exp_cutoff).ln();
            }
            for v in x.iter_mut() {
                if *v > 0.0 {
                    *v = 0.0;
                }
            }
        }
    }
    let norm = log_sum_exp(x);
    for v in x.iter_mut() {
        *v -= norm;
    }
    k
}

/// The generalized Pareto fit of Zhang & Stephens (2009) to sorted positive exceedances
/// (at least 5), with the prior of ArviZ and `loo` on k: (k, σ), or `None` for a degenerate
/// fit (no finite positive σ).
fn gpd_fit(x: &[f64]) -> Option<(f64, f64)> {
    const PRIOR_BS: f64 = 3.0;
    const PRIOR_K: f64 = 10.0;
    let n = x.len();
    let nf = n as f64;
    let m_est = 30 + (nf.sqrt() as usize);
    let quartile = x[(nf / 4.0 + 0.5) as usize - 1];
    let largest = x[n - 1];
    let b: Vec<f64> = (1..=m_est)
        .map(|j| {
            (1.0 - (m_est as f64 / (j as f64 - 0.5)).sqrt()) / (PRIOR_BS * quartile) + 1.0 / largest
        })
        .collect();
    let mean_log1p = |bj: f64| x.iter().map(|&v| (-bj * v).ln_1p()).sum::<f64>() / nf;
    let len_scale: Vec<f64> = b
        .iter()
        .map(|&bj| {
            let kj = mean_log1p(bj);
            nf * ((-(bj / kj)).ln() - kj - 1.0)
        })
        .collect();
    let weights: Vec<f64> = len_scale
        .iter()
        .map(|&lj| 1.0 / len_scale.iter().map(|&li| (li - lj).exp()).sum::<f64>())
        .collect();
    // Negligible (and NaN) weights are dropped, the rest normalised.
    let kept: Vec<(f64, f64)> = b
        .iter()
        .zip(&weights)
        .filter(|&(_, &w)| w >= 10.0 * f64::EPSILON)
        .map(|(&bj, &w)| (bj, w))
        .collect();
    let total: f64 = kept.iter().map(|p| p.1).sum();
    let b_post: f64 = kept.iter().map(|&(bj, w)| bj * (w / total)).sum();
    let k_post = mean_log1p(b_post);
    let sigma = -k_post / b_post;
    let k = (nf * k_post + PRIOR_K * 0.5) / (nf + PRIOR_K);
    (k.is_finite() && sigma.is_finite() && sigma > 0.0).then_some((k, sigma))
}

/// The generalized Pareto quantile at p ∈ (0, 1) with shape k and scale σ > 0.
fn gpd_quantile(p: f64, k: f64, sigma: f64) -> f64 {
    let q = if k.abs() < f64::EPSILON {
        -(-p).ln_1p()
    } else {
        (-k * (-p).ln_1p()).exp_m1() / k
    };
    q * sigma
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_lengths() {
        // S/5 when it is the smaller, 3 √(S / r_eff) otherwise.
        assert_eq!(tail_length(400, 1.0), 60);
        assert_eq!(tail_length(400, 0.5), 80);
        assert_eq!(tail_length(1000, 1.0), 95);
        assert_eq!(tail_length(20, 1.0), 4);
        assert_eq!(tail_length(4, 1.0), 1);
    }

    #[test]
    fn gpd_quantile_inverts_the_cdf() {
        for (k, sigma) in [(0.0, 1.0), (0.5, 2.0), (-0.3, 0.7)] {
            for p in [0.01, 0.5, 0.99] {
                let x: f64 = gpd_quantile(p, k, sigma);
                let cdf = if k == 0.0 {
                    1.0 - (-x / sigma).exp()
                } else {
                    1.0 - (1.0 + k * x / sigma).powf(-1.0 / k)
                };
                assert!((cdf - p).abs() < 1e-12, "k = {k}, p = {p}");
            }
        }
    }
}
