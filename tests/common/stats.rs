//! Sample statistics: per-component means, variances and their standard errors, and the
//! Pearson correlation.
//!
//! Also compiled into `examples/reinforce_bandit.rs` and `examples/quickstart.rs` (with
//! `#[path]`), hence the allows of its own.
#![allow(dead_code)]
// The formulas index components the way they are written on paper.
#![allow(clippy::needless_range_loop)]

/// Per-component sample mean, variance and their standard errors.
#[derive(Clone, Debug)]
pub struct Stats {
    pub mean: Vec<f64>,
    pub var: Vec<f64>,
    pub mean_se: Vec<f64>,
    pub var_se: Vec<f64>,
}

impl Stats {
    /// From M samples of K components each: SE(mean) = √(s²/M) and SE(s²) ≈ √((m₄ − s⁴)/M)
    /// from the sample's fourth central moment.
    pub fn new(samples: &[Vec<f64>]) -> Self {
        let m = samples.len();
        let k = samples[0].len();
        let mf = m as f64;
        let mut mean = vec![0.0; k];
        for s in samples {
            for j in 0..k {
                mean[j] += s[j] / mf;
            }
        }
        let (mut m2, mut m4) = (vec![0.0; k], vec![0.0; k]);
        for s in samples {
            for j in 0..k {
                let d = s[j] - mean[j];
                m2[j] += d * d;
                m4[j] += d * d * d * d / mf;
            }
        }
        let var: Vec<f64> = m2.iter().map(|v| v / (mf - 1.0)).collect();
        let mean_se = var.iter().map(|v| (v / mf).sqrt()).collect();
        let var_se = (0..k)
            .map(|j| ((m4[j] - var[j] * var[j]).max(0.0) / mf).sqrt())
            .collect();
        Stats {
            mean,
            var,
            mean_se,
            var_se,
        }
    }

    /// Largest |mean − exact| / SE over components.
    pub fn bias_in_se(&self, exact: &[f64]) -> f64 {
        (0..exact.len())
            .map(|j| (self.mean[j] - exact[j]).abs() / self.mean_se[j])
            .fold(0.0, f64::max)
    }

    /// Largest |var − exact| / SE(var) over components.
    pub fn var_error_in_se(&self, exact: &[f64]) -> f64 {
        (0..exact.len())
            .map(|j| (self.var[j] - exact[j]).abs() / self.var_se[j])
            .fold(0.0, f64::max)
    }
}

/// Pearson correlation; NaN when either variable is constant or there are fewer than 2 pairs.
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len().min(y.len());
    if n < 2 {
        return f64::NAN;
    }
    let mx = x[..n].iter().sum::<f64>() / n as f64;
    let my = y[..n].iter().sum::<f64>() / n as f64;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    sxy / (sxx * syy).sqrt()
}
