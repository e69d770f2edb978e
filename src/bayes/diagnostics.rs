//! Convergence diagnostics of one scalar quantity sampled by several Markov chains:
//! rank-normalised split-R̂, bulk and tail effective sample sizes, and the Monte Carlo
//! standard error of the mean (Vehtari, Gelman, Simpson, Carpenter & Bürkner 2021, "Rank-
//! normalization, folding, and localization: an improved R̂ for assessing convergence of
//! MCMC", Bayesian Analysis 16(2)).
//!
//! The computations are those of ArviZ (`az.rhat(method="rank")`, `az.ess(method="bulk")`,
//! `az.ess(method="tail")`, `az.ess(method="mean")`, `az.mcse(method="mean")`), step by step,
//! and match it to 3e-14 relative on the committed fixtures (`tests/fixtures/bayes/`; held
//! to 1e-12 there):
//!
//! ```text
//! split      each chain of n draws → its first and its last ⌊n/2⌋ draws (the middle draw of
//!            an odd chain is dropped): 2m chains of h draws
//! z-scale    r = average rank of a value among all 2m·h values (ties share the mean rank);
//!            z = Φ⁻¹((r − 3/8) / (2mh + 1/4))                           (Blom 1958)
//! R̂ (one)    B = h · var(chain means), W = mean(chain variances) (divisors count − 1);
//!            R̂ = √((B/W + h − 1) / h)
//! R̂          max(R̂ of the z-scaled split draws, R̂ of the z-scaled |split draws − median|)
//! ESS        ρ̂ₜ = 1 − (W′ − mean over chains of the lag-t autocovariance) / var⁺, the
//!            autocovariances (divisor h) by direct sums for the first lags and all at once
//!            by FFT when Geyer's sequence reaches further (both exact up to rounding), W′
//!            the mean within-chain variance (divisor h − 1) and
//!            var⁺ = W′(h − 1)/h + var(chain means); Geyer's initial positive sequence
//!            truncates the sum, his initial monotone sequence smooths it;
//!            τ̂ = max(−1 + 2 Σ ρ̂ₜ (+ the last positive even lag), 1/log₁₀(2mh));
//!            ESS = 2mh / τ̂ (so ESS ≤ 2mh · log₁₀(2mh); above 2mh for antithetic chains)
//! bulk ESS   ESS of the z-scaled split draws
//! tail ESS   min over p ∈ {0.05, 0.95} of the ESS of the split indicators 1{x ≤ q_p}, q_p the
//!            type-7 (R's default) quantile of all draws
//! MCSE       sd(all draws) / √(ESS of the split raw draws)
//! ```
//!
//! Input: one slice per chain (`&[Vec<f64>]`, `&[&[f64]]`, …), chains of equal length, at
//! least [`MIN_DRAWS`] draws each; R̂ (and so [`diagnostics`]) needs at least
//! [`MIN_CHAINS_RHAT`] chains, the ESS and the MCSE one. Every draw must be finite.
//!
//! Where ArviZ returns NaN, these functions return a number that says the same:
//! a quantity whose draws are all equal has R̂ = 1 (ArviZ: NaN), ESS = the number of split
//! draws and MCSE = 0; chains that are each constant at different values have R̂ = +∞. The
//! ESS of the raw draws (for the MCSE) treats draws as constant when their range is below
//! about 1e-15 times their largest magnitude (ArviZ: below 1e-15 absolutely), so that it does
//! not depend on the quantity's units; the draws are divided by a power of two first, so
//! nothing overflows.
//!
//! ```
//! use rlgrad::bayes::{diagnostics, RHAT_THRESHOLD};
//! let chains: Vec<Vec<f64>> = (0..4)
//!     .map(|c| (0..200).map(|i| ((i * 7 + c * 13) % 17) as f64).collect())
//!     .collect();
//! let d = diagnostics(&chains)?;
//! assert!(d.rhat < RHAT_THRESHOLD);
//! assert!(d.ess_bulk > 0.0 && d.mcse_mean > 0.0);
//! # Ok::<(), rlgrad::Error>(())
//! ```

use serde::Serialize;

use super::autocov::Autocov;
use crate::check;
use crate::error::Result;

/// The fewest draws per chain the diagnostics accept (as ArviZ: 4, so that each split half
/// has two).
pub const MIN_DRAWS: usize = 4;

/// The fewest chains R̂ accepts (as ArviZ).
pub const MIN_CHAINS_RHAT: usize = 2;

/// R̂ above this flags a quantity as not converged (Vehtari et al. 2021; Stan and ArviZ).
pub const RHAT_THRESHOLD: f64 = 1.01;

/// A bulk or tail ESS below this many draws *per chain* flags a quantity as too poorly
/// sampled for its R̂ and summaries to be trusted (Vehtari et al. 2021: 100 per chain).
pub const ESS_PER_CHAIN_THRESHOLD: f64 = 100.0;

/// The tail ESS's quantiles: the 5% and 95% points.
const TAIL_PROBS: [f64; 2] = [0.05, 0.95];

/// Draws whose range is below this (relative to their largest magnitude, for raw draws; in
/// absolute terms, for z-scores and indicators, as ArviZ's `np.finfo(float).resolution`) are
/// constant.
const CONSTANT_RANGE: f64 = 1e-15;

/// Whether an R̂ fails [`RHAT_THRESHOLD`] (an infinite R̂ does).
///
/// ```
/// use rlgrad::bayes::flag_rhat;
/// assert!(!flag_rhat(1.005) && flag_rhat(1.02) && flag_rhat(f64::INFINITY));
/// ```
pub fn flag_rhat(rhat: f64) -> bool {
    rhat > RHAT_THRESHOLD || rhat.is_nan()
}

/// Whether an ESS of draws from `n_chains` chains fails [`ESS_PER_CHAIN_THRESHOLD`]
/// (ESS < 100 × chains).
///
/// ```
/// use rlgrad::bayes::flag_ess;
/// assert!(flag_ess(399.0, 4) && !flag_ess(400.0, 4));
/// ```
pub fn flag_ess(ess: f64, n_chains: usize) -> bool {
    ess < ESS_PER_CHAIN_THRESHOLD * n_chains as f64
}

/// The convergence diagnostics of one scalar quantity (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Diagnostics {
    /// Rank-normalised split-R̂: the larger of the bulk and the folded one (≥ 1 up to
    /// sampling noise; +∞ for chains stuck at different values).
    pub rhat: f64,
    /// Bulk effective sample size (of the rank-normalised split draws).
    pub ess_bulk: f64,
    /// Tail effective sample size (the smaller of those of the 5% and 95% quantiles).
    pub ess_tail: f64,
    /// Monte Carlo standard error of the posterior mean.
    pub mcse_mean: f64,
    /// The number of chains.
    pub n_chains: usize,
    /// Draws per chain.
    pub n_draws: usize,
}

/// Which of a quantity's diagnostics fail their thresholds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Flags {
    /// R̂ > [`RHAT_THRESHOLD`].
    pub rhat: bool,
    /// Bulk ESS < [`ESS_PER_CHAIN_THRESHOLD`] × chains.
    pub ess_bulk: bool,
    /// Tail ESS < [`ESS_PER_CHAIN_THRESHOLD`] × chains.
    pub ess_tail: bool,
}

impl Flags {
    /// Whether any diagnostic is flagged.
    pub fn any(&self) -> bool {
        self.rhat || self.ess_bulk || self.ess_tail
    }
}

impl Diagnostics {
    /// The thresholds applied ([`flag_rhat`], [`flag_ess`]).
    ///
    /// ```
    /// use rlgrad::bayes::Diagnostics;
    /// let d = Diagnostics { rhat: 1.05, ess_bulk: 900.0, ess_tail: 300.0, mcse_mean: 0.01,
    ///                       n_chains: 4, n_draws: 1000 };
    /// let f = d.flags();
    /// assert!(f.rhat && !f.ess_bulk && f.ess_tail && f.any());
    /// ```
    pub fn flags(&self) -> Flags {
        Flags {
            rhat: flag_rhat(self.rhat),
            ess_bulk: flag_ess(self.ess_bulk, self.n_chains),
            ess_tail: flag_ess(self.ess_tail, self.n_chains),
        }
    }
}

/// R̂, bulk and tail ESS and the MCSE of the mean of one quantity, sharing the work (one
/// split, one ranking of the draws).
///
/// # Errors
/// [`Error::EmptyData`](crate::Error::EmptyData) for fewer than [`MIN_CHAINS_RHAT`] chains
/// or fewer than [`MIN_DRAWS`] draws per chain; [`Error::DimensionMismatch`](crate::Error::DimensionMismatch)
/// for chains of unequal lengths; [`Error::NonFiniteInput`](crate::Error::NonFiniteInput)
/// naming the chain and draw of a NaN or infinite draw.
pub fn diagnostics<C: AsRef<[f64]>>(chains: &[C]) -> Result<Diagnostics> {
    let chains = checked(chains, MIN_CHAINS_RHAT)?;
    let ranked = Ranked::new(&chains);
    Ok(Diagnostics {
        rhat: ranked.rhat(),
        ess_bulk: ranked.ess_bulk(),
        ess_tail: tail_ess(&chains),
        mcse_mean: mcse(&chains),
        n_chains: chains.len(),
        n_draws: chains[0].len(),
    })
}

/// Rank-normalised split-R̂ (`az.rhat(method="rank")`; see the module docs).
///
/// ```
/// // Two chains that disagree about the mean.
/// let a: Vec<f64> = (0..100).map(|i| (i % 10) as f64).collect();
/// let b: Vec<f64> = a.iter().map(|x| x + 5.0).collect();
/// assert!(rlgrad::bayes::rhat(&[a, b])? > 1.1);
/// # Ok::<(), rlgrad::Error>(())
/// ```
///
/// # Errors
/// As [`diagnostics`].
pub fn rhat<C: AsRef<[f64]>>(chains: &[C]) -> Result<f64> {
    let chains = checked(chains, MIN_CHAINS_RHAT)?;
    Ok(Ranked::new(&chains).rhat())
}

/// Bulk effective sample size (`az.ess(method="bulk")`): the ESS of the rank-normalised
/// split draws. One chain is enough.
///
/// # Errors
/// As [`diagnostics`], but one chain suffices.
pub fn ess_bulk<C: AsRef<[f64]>>(chains: &[C]) -> Result<f64> {
    let chains = checked(chains, 1)?;
    Ok(Ranked::new(&chains).ess_bulk())
}

/// Tail effective sample size (`az.ess(method="tail")`): the smaller ESS of the indicators of
/// the 5% and the 95% quantiles, on the split chains. One chain is enough.
///
/// # Errors
/// As [`diagnostics`], but one chain suffices.
pub fn ess_tail<C: AsRef<[f64]>>(chains: &[C]) -> Result<f64> {
    let chains = checked(chains, 1)?;
    Ok(tail_ess(&chains))
}

/// Effective sample size for the mean (`az.ess(method="mean")`): the ESS of the split raw
/// draws. Divided by the number of draws, it is the relative efficiency r_eff that
/// [`loo`](super::loo()) takes (ArviZ averages it over the posterior's quantities).
///
/// # Errors
/// As [`diagnostics`], but one chain suffices.
pub fn ess_mean<C: AsRef<[f64]>>(chains: &[C]) -> Result<f64> {
    let chains = checked(chains, 1)?;
    Ok(raw_ess(&chains).0)
}

/// Monte Carlo standard error of the posterior mean (`az.mcse(method="mean")`): the
/// standard deviation of all draws over the square root of [`ess_mean`].
///
/// # Errors
/// As [`diagnostics`], but one chain suffices.
pub fn mcse_mean<C: AsRef<[f64]>>(chains: &[C]) -> Result<f64> {
    let chains = checked(chains, 1)?;
    Ok(mcse(&chains))
}

/// The chains as slices, checked: at least `min_chains`, at least [`MIN_DRAWS`] draws each,
/// equal lengths, finite draws.
fn checked<C: AsRef<[f64]>>(chains: &[C], min_chains: usize) -> Result<Vec<&[f64]>> {
    check::enough("chains", min_chains.max(1), chains.len())?;
    let chains: Vec<&[f64]> = chains.iter().map(AsRef::as_ref).collect();
    let n = chains[0].len();
    check::enough("draws per chain", MIN_DRAWS, n)?;
    // The copies (and the u32 positions of the sort) hold at most MAX_FLOATS draws.
    check::floats(
        &[chains.len(), n],
        "draws",
        format_args!("{} chains x {n}", chains.len()),
        "the copy of the draws",
    )?;
    for (c, chain) in chains.iter().enumerate() {
        check::len(
            &format!("draws of chain {c} (chains must have equal lengths)"),
            n,
            chain.len(),
        )?;
        check::finite_inputs_with(*chain, |i| format!("draw {i} of chain {c}"))?;
    }
    Ok(chains)
}

/// The split chains: each chain's first and last ⌊n/2⌋ draws, first halves of every chain
/// then second halves (ArviZ's row order), row-major.
struct Split {
    values: Vec<f64>,
    rows: usize,
    len: usize,
}

impl Split {
    fn new(chains: &[&[f64]]) -> Self {
        Self::from_fn(chains, |x| x)
    }

    /// The split chains of `f(draw)`.
    fn from_fn(chains: &[&[f64]], f: impl Fn(f64) -> f64) -> Self {
        let n = chains[0].len();
        let len = n / 2;
        let mut values = Vec::with_capacity(2 * chains.len() * len);
        for chain in chains {
            values.extend(chain[..len].iter().map(|&x| f(x)));
        }
        for chain in chains {
            values.extend(chain[n - len..].iter().map(|&x| f(x)));
        }
        Split {
            values,
            rows: 2 * chains.len(),
            len,
        }
    }
}

/// The split draws ranked: their sorted (value, position) pairs, the normal scores of the
/// integer ranks, and the draws' normal scores z (what R̂ and the bulk ESS share).
struct Ranked {
    split: Split,
    sorted: Vec<(f64, u32)>,
    scores: Scores,
    z: Vec<f64>,
}

impl Ranked {
    fn new(chains: &[&[f64]]) -> Self {
        let split = Split::new(chains);
        let sorted = sorted_pairs(&split.values);
        let scores = Scores::new(sorted.len());
        let z = scores.of_sorted(&sorted);
        Ranked {
            split,
            sorted,
            scores,
            z,
        }
    }

    /// The larger of the bulk R̂ (of z) and the folded one (of the scores of
    /// |draw − median|).
    fn rhat(&self) -> f64 {
        let (rows, len) = (self.split.rows, self.split.len);
        let bulk = rhat_of(&self.z, rows, len);
        let median = median_of_sorted(&self.sorted);
        let folded = self.scores.of_sorted(&folded_pairs(&self.sorted, median));
        bulk.max(rhat_of(&folded, rows, len))
    }

    /// The ESS of z.
    fn ess_bulk(&self) -> f64 {
        ess_of(&self.z, self.split.rows, self.split.len, CONSTANT_RANGE)
    }
}

/// The values with their positions, in increasing order (−0 and +0 adjacent).
fn sorted_pairs(values: &[f64]) -> Vec<(f64, u32)> {
    let mut pairs: Vec<(f64, u32)> = values.iter().zip(0u32..).map(|(&v, i)| (v, i)).collect();
    pairs.sort_unstable_by_key(|p| total_order_key(p.0));
    pairs
}

/// An integer with the order of `f64::total_cmp`.
fn total_order_key(x: f64) -> u64 {
    let bits = x.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

/// The median of sorted, non-empty values (the mean of the two middle ones for an even
/// count, as numpy).
fn median_of_sorted(sorted: &[(f64, u32)]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2].0
    } else {
        (sorted[n / 2 - 1].0 + sorted[n / 2].0) / 2.0
    }
}

/// The pairs (|value − median|, position), in increasing order, from the sorted pairs: the
/// values below the median read backwards and those above read forwards are each sorted, so
/// one merge sorts them (rounding is monotone, so the computed folds are sorted too).
fn folded_pairs(sorted: &[(f64, u32)], median: f64) -> Vec<(f64, u32)> {
    let fold = |p: &(f64, u32)| ((p.0 - median).abs(), p.1);
    let split = sorted.partition_point(|p| p.0 < median);
    let mut below = sorted[..split].iter().rev().map(fold).peekable();
    let mut above = sorted[split..].iter().map(fold).peekable();
    let mut out = Vec::with_capacity(sorted.len());
    loop {
        let next = match (below.peek(), above.peek()) {
            (Some(a), Some(b)) => {
                if a.0 <= b.0 {
                    below.next()
                } else {
                    above.next()
                }
            }
            (Some(_), None) => below.next(),
            (None, Some(_)) => above.next(),
            (None, None) => break,
        };
        out.extend(next);
    }
    out
}

/// The basic R̂ of `rows` chains of `len` draws (row-major): √((B/W + len − 1)/len); 1 when
/// every draw is equal, +∞ when every chain is constant but they differ.
fn rhat_of(x: &[f64], rows: usize, len: usize) -> f64 {
    let means: Vec<f64> = x.chunks_exact(len).map(mean).collect();
    let within = x
        .chunks_exact(len)
        .zip(&means)
        .map(|(row, &m)| variance(row, m))
        .sum::<f64>()
        / rows as f64;
    let between = len as f64 * variance(&means, mean(&means));
    if within > 0.0 {
        ((between / within + len as f64 - 1.0) / len as f64).sqrt()
    } else if between > 0.0 {
        f64::INFINITY
    } else {
        1.0
    }
}

/// The mean of non-empty values.
fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// The sample variance (divisor n − 1) of at least two values with mean `m`.
fn variance(x: &[f64], m: f64) -> f64 {
    x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (x.len() - 1) as f64
}

/// Blom's normal scores Φ⁻¹((r − 3/8)/(n + 1/4)) of the integer ranks r = 1..=n, computed
/// once and shared by the bulk and the folded draws.
struct Scores {
    by_rank: Vec<f64>,
}

impl Scores {
    fn new(n: usize) -> Self {
        Scores {
            by_rank: (1..=n).map(|r| Self::score(r as f64, n)).collect(),
        }
    }

    fn score(rank: f64, n: usize) -> f64 {
        normal_quantile((rank - 0.375) / (n as f64 - 0.75 + 1.0))
    }

    /// The normal scores of the average ranks, at the positions of sorted (value, position)
    /// pairs: equal values share their mean rank.
    fn of_sorted(&self, sorted: &[(f64, u32)]) -> Vec<f64> {
        let n = sorted.len();
        let mut z = vec![0.0; n];
        let mut start = 0;
        while start < n {
            let mut end = start + 1;
            while end < n && sorted[end].0 == sorted[start].0 {
                end += 1;
            }
            // Ranks start + 1 ..= end share their mean, an integer when their count is odd.
            let score = if (end - start) % 2 == 1 {
                self.by_rank[(start + end - 1) / 2]
            } else {
                Self::score(0.5 * ((start + 1 + end) as f64), n)
            };
            for p in &sorted[start..end] {
                z[p.1 as usize] = score;
            }
            start = end;
        }
        z
    }
}

/// Normal scores of the values' average ranks (see [`Scores`]).
#[cfg(test)]
fn z_scale(values: &[f64]) -> Vec<f64> {
    Scores::new(values.len()).of_sorted(&sorted_pairs(values))
}

/// The tail ESS of checked chains.
fn tail_ess(chains: &[&[f64]]) -> f64 {
    let mut all: Vec<f64> = chains.iter().flat_map(|c| c.iter().copied()).collect();
    TAIL_PROBS
        .iter()
        .map(|&p| {
            let q = quantile_type7(&mut all, p);
            let split = Split::from_fn(chains, |x| if x <= q { 1.0 } else { 0.0 });
            ess_of(&split.values, split.rows, split.len, CONSTANT_RANGE)
        })
        .fold(f64::INFINITY, f64::min)
}

/// The quantile of values (at least two, reordered in place) as R's type 7 and scipy's
/// `mquantiles(alphap=1, betap=1)`, written as scipy computes it; the two order statistics
/// it needs are found by selection, not by a sort.
fn quantile_type7(values: &mut [f64], p: f64) -> f64 {
    let n = values.len();
    let aleph = n as f64 * p + (1.0 - p);
    let k = aleph.clamp(1.0, (n - 1) as f64).floor();
    let gamma = (aleph - k).clamp(0.0, 1.0);
    let k = k as usize;
    let (_, &mut lower, rest) = values.select_nth_unstable_by(k - 1, f64::total_cmp);
    let upper = rest.iter().copied().fold(f64::INFINITY, f64::min);
    (1.0 - gamma) * lower + gamma * upper
}

/// The ESS of the split raw draws, and the power of two they were divided by (so that the
/// largest magnitude lies in [0.5, 1): nothing overflows, and the ESS does not depend on
/// the units).
fn raw_ess(chains: &[&[f64]]) -> (f64, Pow2) {
    let largest = chains
        .iter()
        .flat_map(|c| c.iter())
        .fold(0.0_f64, |m, x| m.max(x.abs()));
    let scale = Pow2::of(largest);
    let split = Split::from_fn(chains, |x| scale.divide(x));
    (
        ess_of(&split.values, split.rows, split.len, CONSTANT_RANGE),
        scale,
    )
}

/// The MCSE of the mean of checked chains.
fn mcse(chains: &[&[f64]]) -> f64 {
    let (ess, scale) = raw_ess(chains);
    let all: Vec<f64> = chains
        .iter()
        .flat_map(|c| c.iter().map(|&x| scale.divide(x)))
        .collect();
    let sd = variance(&all, mean(&all)).sqrt();
    scale.multiply(sd / ess.sqrt())
}

/// A power of two 2ᵉ, applied in two exact steps so that neither factor overflows.
#[derive(Clone, Copy, Debug)]
struct Pow2 {
    e: i32,
}

impl Pow2 {
    /// The power of two e with |x| / 2ᵉ in [0.5, 1) (e = 0 for x = 0).
    fn of(x: f64) -> Self {
        if x == 0.0 || !x.is_finite() {
            return Pow2 { e: 0 };
        }
        let mut e = x.log2().floor() as i32 + 1;
        // log2 may round across a power of two: settle e exactly.
        let mut p = Pow2 { e };
        while p.divide(x) >= 1.0 {
            e += 1;
            p = Pow2 { e };
        }
        while p.divide(x) < 0.5 {
            e -= 1;
            p = Pow2 { e };
        }
        p
    }

    fn times(x: f64, e: i32) -> f64 {
        let half = e / 2;
        x * 2f64.powi(half) * 2f64.powi(e - half)
    }

    fn divide(self, x: f64) -> f64 {
        Self::times(x.abs(), -self.e).copysign(x)
    }

    fn multiply(self, x: f64) -> f64 {
        Self::times(x.abs(), self.e).copysign(x)
    }
}

/// ArviZ's `_ess` of `rows` chains of `len ≥ 2` draws (row-major): autocovariances (direct
/// sums for the first lags, FFT beyond), Geyer's initial positive and monotone sequences.
fn ess_of(x: &[f64], rows: usize, len: usize, constant_range: f64) -> f64 {
    let size = (rows * len) as f64;
    let (lo, hi) = x
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    if hi - lo < constant_range {
        return size;
    }
    let means: Vec<f64> = x.chunks_exact(len).map(mean).collect();
    let centred: Vec<f64> = x
        .chunks_exact(len)
        .zip(&means)
        .flat_map(|(row, &m)| row.iter().map(move |v| v - m))
        .collect();
    // Mean over chains of the biased lag-t autocovariance (1/len) Σᵢ cᵢ cᵢ₊ₜ.
    let mut acov = Autocov::new(&centred, rows, len);
    let n = len as f64;
    let mean_var = acov.at(0) * n / (n - 1.0);
    let mut var_plus = mean_var * (n - 1.0) / n;
    if rows > 1 {
        var_plus += variance(&means, mean(&means));
    }
    let mut rho = |t: usize| 1.0 - (mean_var - acov.at(t)) / var_plus;

    let mut rho_hat = vec![0.0; len];
    let mut rho_even = 1.0;
    rho_hat[0] = rho_even;
    let mut rho_odd = rho(1);
    rho_hat[1] = rho_odd;
    // Geyer's initial positive sequence.
    let mut t = 1;
    while t + 3 < len && rho_even + rho_odd > 0.0 {
        rho_even = rho(t + 1);
        rho_odd = rho(t + 2);
        if rho_even + rho_odd >= 0.0 {
            rho_hat[t + 1] = rho_even;
            rho_hat[t + 2] = rho_odd;
        }
        t += 2;
    }
    // max_t = t − 2 (−1 when the loop never ran); `last` = max_t + 1 ≥ 0.
    let last = t - 1;
    if rho_even > 0.0 {
        rho_hat[last] = rho_even;
    }
    // Geyer's initial monotone sequence (over pairs up to max_t).
    let mut t = 1;
    while t + 2 < last {
        if rho_hat[t + 1] + rho_hat[t + 2] > rho_hat[t - 1] + rho_hat[t] {
            rho_hat[t + 1] = (rho_hat[t - 1] + rho_hat[t]) / 2.0;
            rho_hat[t + 2] = rho_hat[t + 1];
        }
        t += 2;
    }
    let tau = -1.0 + 2.0 * rho_hat[..last].iter().sum::<f64>() + rho_hat[last];
    let tau = tau.max(1.0 / size.log10());
    size / tau
}

/// Wichura's AS 241 (PPND16) coefficients, as published (Applied Statistics 37(3), 1988),
/// highest power first: the numerator and denominator of the central region |p − ½| ≤ 0.425,
/// of the tail with r = √(−ln min(p, 1 − p)) ≤ 5, and of the far tail.
#[allow(clippy::excessive_precision)] // The published digits, kept verbatim.
const AS241: [[f64; 8]; 6] = [
    [
        2509.0809287301226727,
        33430.575583588128105,
        67265.770927008700853,
        45921.953931549871457,
        13731.693765509461125,
        1971.5909503065514427,
        133.14166789178437745,
        3.387132872796366608,
    ],
    [
        5226.495278852545925,
        28729.085735721942674,
        39307.89580009271061,
        21213.794301586595867,
        5394.1960214247511077,
        687.1870074920579083,
        42.313330701600911252,
        1.0,
    ],
    [
        7.7454501427834140764e-4,
        0.0227238449892691845833,
        0.24178072517745061177,
        1.27045825245236838258,
        3.64784832476320460504,
        5.7694972214606914055,
        4.6303378461565452959,
        1.42343711074968357734,
    ],
    [
        1.05075007164441684324e-9,
        5.475938084995344946e-4,
        0.0151986665636164571966,
        0.14810397642748007459,
        0.68976733498510000455,
        1.6763848301838038494,
        2.05319162663775882187,
        1.0,
    ],
    [
        2.01033439929228813265e-7,
        2.71155556874348757815e-5,
        0.0012426609473880784386,
        0.026532189526576123093,
        0.29656057182850489123,
        1.7848265399172913358,
        5.4637849111641143699,
        6.6579046435011037772,
    ],
    [
        2.04426310338993978564e-15,
        1.4215117583164458887e-7,
        1.8463183175100546818e-5,
        7.868691311456132591e-4,
        0.0148753612908506148525,
        0.13692988092273580531,
        0.59983220655588793769,
        1.0,
    ],
];

/// The polynomial with coefficients `c` (highest power first) at r, by Horner's rule.
fn horner(c: &[f64; 8], r: f64) -> f64 {
    c.iter().fold(0.0, |acc, &a| acc * r + a)
}

/// The standard normal quantile Φ⁻¹(p) for p in (0, 1): Wichura's AS 241 (PPND16), relative
/// error about 1e-16.
fn normal_quantile(p: f64) -> f64 {
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180625 - q * q;
        return q * horner(&AS241[0], r) / horner(&AS241[1], r);
    }
    let tail = if q < 0.0 { p } else { 1.0 - p };
    let r = (-tail.ln()).sqrt();
    let value = if r <= 5.0 {
        horner(&AS241[2], r - 1.6) / horner(&AS241[3], r - 1.6)
    } else {
        horner(&AS241[4], r - 5.0) / horner(&AS241[5], r - 5.0)
    };
    if q < 0.0 { -value } else { value }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_quantile_matches_scipy_ndtri() {
        // scipy.special.ndtri (scipy 1.17.1) at these p.
        let cases = [
            (1e-300, -37.0470962993612),
            (1e-20, -9.262340089798409),
            (1e-12, -7.034483825301131),
            (0.001, -3.090232306167813),
            (0.02425, -1.972961051311885),
            (0.075, -1.4395314709384563),
            (0.1, -1.2815515655446004),
            (0.3, -0.5244005127080409),
            (0.5, 0.0),
            (0.6, 0.2533471031357997),
            (0.925, 1.4395314709384563),
            (0.99, 2.3263478740408408),
            (0.9999999999, 6.361340889697422),
        ];
        for (p, z) in cases {
            let got = normal_quantile(p);
            assert!(
                (got - z).abs() <= 4.0 * f64::EPSILON * z.abs().max(1e-300),
                "p = {p}: {got} vs {z}"
            );
        }
    }

    #[test]
    fn quantile_is_type_7() {
        // R: quantile(c(1, 2, 4, 8, 16), c(0.05, 0.5, 0.95)) = 1.2, 4, 14.4.
        let mut x = [16.0, 2.0, 8.0, 1.0, 4.0];
        for (p, q) in [(0.05, 1.2), (0.5, 4.0), (0.95, 14.4)] {
            assert!((quantile_type7(&mut x, p) - q).abs() < 1e-12, "p = {p}");
        }
    }

    #[test]
    fn ties_share_their_mean_rank() {
        let z = z_scale(&[3.0, 1.0, 3.0, 2.0]);
        // Sorted 1, 2, 3, 3: ranks 1, 2, 3.5, 3.5.
        let score = |r: f64| normal_quantile((r - 0.375) / 4.25);
        assert_eq!(z, vec![score(3.5), score(1.0), score(3.5), score(2.0)]);
    }

    #[test]
    fn powers_of_two_are_exact() {
        for x in [1e-310, 3e-200, 0.75, 1.0, 6.0, 1e300, f64::MAX] {
            let p = Pow2::of(x);
            let y = p.divide(x);
            assert!((0.5..1.0).contains(&y), "{x}: {y}");
            assert_eq!(p.multiply(y), x);
            assert_eq!(p.divide(-x), -y);
        }
    }
}
