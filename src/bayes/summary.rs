//! [`Summary`]: posterior means, standard deviations, quantiles and convergence diagnostics
//! of every quantity of a [`Posterior`], with the sampler's warnings.

use std::fmt::Write as _;
use std::io::Write;

use rayon::prelude::*;
use serde::Serialize;

use super::diagnostics::{Diagnostics, diagnostics};
use super::posterior::Posterior;
use crate::error::{Error, Result};

/// One quantity's posterior summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuantitySummary {
    /// The quantity: `mu[p]`, `tau[p]`, `corr[p,q]`, or `p[subject]` (natural scale).
    pub name: String,
    /// The posterior mean.
    pub mean: f64,
    /// The posterior standard deviation.
    pub sd: f64,
    /// The 5%, 50% and 95% quantiles (linear interpolation between order statistics).
    pub q05: f64,
    /// The median.
    pub q50: f64,
    /// The 95% quantile.
    pub q95: f64,
    /// R̂, bulk and tail ESS, the mean's Monte Carlo standard error.
    pub diagnostics: Diagnostics,
}

/// The posterior summary of every group quantity and every subject's natural parameters,
/// with the sampler's statistics and the warnings a user must read.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Group quantities first, then subject by subject, parameter by parameter.
    pub rows: Vec<QuantitySummary>,
    /// How many of `rows` are group quantities (μ, τ, correlations).
    pub n_group: usize,
    /// Chains and draws per chain.
    pub n_chains: usize,
    /// Draws per chain after warm-up.
    pub n_draws: usize,
    /// Divergent transitions after warm-up.
    pub divergences: usize,
    /// Draws whose tree stopped at the maximum depth.
    pub max_depth_hits: usize,
    /// The largest R̂ over the quantities.
    pub max_rhat: f64,
    /// The smallest bulk ESS over the quantities.
    pub min_ess_bulk: f64,
    /// The smallest tail ESS over the quantities.
    pub min_ess_tail: f64,
    /// Wall time of the sampling, seconds (chains in parallel).
    pub seconds: f64,
}

impl Summary {
    /// The smallest bulk ESS per second of wall time.
    pub fn min_ess_per_second(&self) -> f64 {
        self.min_ess_bulk / self.seconds
    }

    /// The warnings, one sentence each (empty when none): divergences, maximum tree depth,
    /// and every quantity whose R̂ or ESS fails its threshold.
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if self.divergences > 0 {
            w.push(format!(
                "{} divergent transition(s) after warm-up: the posterior may be biased; raise \
                 the target acceptance rate or reparameterise",
                self.divergences
            ));
        }
        if self.max_depth_hits > 0 {
            w.push(format!(
                "{} draw(s) reached the maximum tree depth: sampling was inefficient there",
                self.max_depth_hits
            ));
        }
        for r in &self.rows {
            let f = r.diagnostics.flags();
            if f.any() {
                w.push(format!(
                    "{}: R-hat {:.3}, bulk ESS {:.0}, tail ESS {:.0} (thresholds R-hat <= {}, ESS >= {} per chain)",
                    r.name,
                    r.diagnostics.rhat,
                    r.diagnostics.ess_bulk,
                    r.diagnostics.ess_tail,
                    super::diagnostics::RHAT_THRESHOLD,
                    super::diagnostics::ESS_PER_CHAIN_THRESHOLD
                ));
            }
        }
        w
    }

    /// One line over all quantities: their number, the largest R̂, the smallest bulk and
    /// tail ESS, and the smallest bulk ESS per second of sampling.
    pub fn overall(&self) -> String {
        format!(
            "over all {} quantities: max R-hat {:.4}, min bulk ESS {:.0}, min tail ESS {:.0}, \
             min bulk ESS per second {:.1}",
            self.rows.len(),
            self.max_rhat,
            self.min_ess_bulk,
            self.min_ess_tail,
            self.min_ess_per_second()
        )
    }

    /// The summary as a text table: one row per quantity with mean, sd, the 5/50/95%
    /// quantiles, R̂, bulk and tail ESS; `*` marks a flagged row. `subjects` false keeps the
    /// group quantities only (the first [`n_group`](Summary::n_group) rows).
    pub fn table(&self, subjects: bool) -> String {
        let mut t = String::new();
        let _ = writeln!(
            t,
            "{:<24} {:>10} {:>9} {:>10} {:>10} {:>10} {:>7} {:>8} {:>8}",
            "quantity", "mean", "sd", "5%", "50%", "95%", "R-hat", "ESS bulk", "ESS tail"
        );
        let rows = if subjects {
            &self.rows[..]
        } else {
            &self.rows[..self.n_group.min(self.rows.len())]
        };
        for r in rows {
            let d = &r.diagnostics;
            let _ = writeln!(
                t,
                "{:<24} {:>10.4} {:>9.4} {:>10.4} {:>10.4} {:>10.4} {:>7.3} {:>8.0} {:>8.0}{}",
                r.name,
                r.mean,
                r.sd,
                r.q05,
                r.q50,
                r.q95,
                d.rhat,
                d.ess_bulk,
                d.ess_tail,
                if d.flags().any() { " *" } else { "" }
            );
        }
        t
    }

    /// Writes the summary as CSV: `quantity,mean,sd,q05,q50,q95,rhat,ess_bulk,ess_tail,
    /// mcse_mean,flagged`, numbers in the shortest form that reads back to the same bits.
    ///
    /// # Errors
    /// [`Error::Write`] if the writer fails.
    pub fn write_csv<W: Write>(&self, out: W) -> Result<()> {
        let fail = |source: std::io::Error| Error::Write {
            what: "the posterior summary as CSV".to_string(),
            source,
        };
        let mut w = csv::Writer::from_writer(out);
        w.write_record([
            "quantity",
            "mean",
            "sd",
            "q05",
            "q50",
            "q95",
            "rhat",
            "ess_bulk",
            "ess_tail",
            "mcse_mean",
            "flagged",
        ])
        .map_err(|e| fail(e.into()))?;
        for r in &self.rows {
            let d = &r.diagnostics;
            let nums = [
                r.mean,
                r.sd,
                r.q05,
                r.q50,
                r.q95,
                d.rhat,
                d.ess_bulk,
                d.ess_tail,
                d.mcse_mean,
            ];
            let mut row = vec![r.name.clone()];
            row.extend(nums.iter().map(f64::to_string));
            row.push(d.flags().any().to_string());
            w.write_record(&row).map_err(|e| fail(e.into()))?;
        }
        w.flush().map_err(fail)
    }
}

/// The p-quantile of sorted values, by linear interpolation (R's type 7, numpy's default).
fn quantile(sorted: &[f64], p: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

fn summarise(name: String, chains: Vec<Vec<f64>>) -> Result<QuantitySummary> {
    let diagnostics = diagnostics(&chains)?;
    let mut all: Vec<f64> = chains.concat();
    let n = all.len() as f64;
    let mean = all.iter().sum::<f64>() / n;
    let sd = (all.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0)).sqrt();
    all.sort_by(f64::total_cmp);
    Ok(QuantitySummary {
        name,
        mean,
        sd,
        q05: quantile(&all, 0.05),
        q50: quantile(&all, 0.5),
        q95: quantile(&all, 0.95),
        diagnostics,
    })
}

impl Posterior {
    /// The summary of every group quantity and every subject's natural parameters, with
    /// R̂ and ESS (in parallel with rayon).
    ///
    /// # Errors
    /// Fewer chains or draws than the diagnostics need (2 chains, 4 draws per chain: see
    /// [`diagnostics`](super::diagnostics())).
    pub fn summary(&self) -> Result<Summary> {
        let columns = self.draw_columns();
        let rows = (0..columns.len())
            .into_par_iter()
            .map(|q| summarise(columns[q].clone(), self.column_draws(q)?))
            .collect::<Result<Vec<_>>>()?;
        let fold = |f: fn(&Diagnostics) -> f64, init: f64, pick: fn(f64, f64) -> f64| {
            rows.iter().map(|r| f(&r.diagnostics)).fold(init, pick)
        };
        Ok(Summary {
            n_group: self.group_names().len(),
            n_chains: self.n_chains(),
            n_draws: self.n_draws(),
            divergences: self.divergences(),
            max_depth_hits: self.max_depth_hits(),
            max_rhat: fold(|d| d.rhat, f64::NEG_INFINITY, f64::max),
            min_ess_bulk: fold(|d| d.ess_bulk, f64::INFINITY, f64::min),
            min_ess_tail: fold(|d| d.ess_tail, f64::INFINITY, f64::min),
            seconds: self.seconds().1,
            rows,
        })
    }
}
